#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "peerwell/checkin/v1/checkin.pb.h"
#include "peerwell/gateway/v1/webhooks.pb.h"

namespace peerwell::ctl {

namespace checkin_v1 = ::peerwell::checkin::v1;
namespace webhooks_v1 = ::peerwell::gateway::v1;

// "month" or "week" (also AGGREGATE_PERIOD_MONTH, AGGREGATE_PERIOD_WEEK).
absl::StatusOr<checkin_v1::AggregatePeriod> ParseAggregatePeriod(absl::string_view flag,
                                                                 absl::string_view text);
// One row per cell: the period, the session kind when by kind, and the figures or that the cell
// is suppressed.
std::string AggregatesTable(const checkin_v1::GetAggregatesResponse& response, bool by_kind);

// One row per webhook: id, created, event types, URL.
std::string WebhooksTable(const webhooks_v1::ListWebhooksResponse& response);
// One row per attempt, newest first: when, event, attempt, the answer (or why none came), how
// long it took, and when the next attempt is due.
std::string DeliveriesTable(const webhooks_v1::ListWebhookDeliveriesResponse& response);

}  // namespace peerwell::ctl
