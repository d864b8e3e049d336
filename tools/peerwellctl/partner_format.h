#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "peerwell/checkin/v1/checkin.pb.h"

namespace peerwell::ctl {

namespace checkin_v1 = ::peerwell::checkin::v1;

// "month" or "week" (also AGGREGATE_PERIOD_MONTH, AGGREGATE_PERIOD_WEEK).
absl::StatusOr<checkin_v1::AggregatePeriod> ParseAggregatePeriod(absl::string_view flag,
                                                                 absl::string_view text);
// One row per cell: the period, the session kind when by kind, and the figures or that the cell
// is suppressed.
std::string AggregatesTable(const checkin_v1::GetAggregatesResponse& response, bool by_kind);

}  // namespace peerwell::ctl
