#pragma once

#include "absl/status/status.h"
#include "services/alerts/risk_engine.h"
#include "services/common/events.h"

namespace peerwell::alerts {

// The consumer-group handler of the risk engine: reads a check-in service event
// (checkin.submitted, incident.reported, support.requested) and hands it to the engine. Other
// event types are acknowledged and ignored; a malformed event is an error, so that it ends in the
// dead-letter stream after its retries.
absl::Status HandleCheckinServiceEvent(RiskEngine& engine, const StreamEntry& entry);
// The same for entries of different volunteers at once (a round of the consumer), judged
// together (RiskEngine::OnEvents): one status per entry.
std::vector<absl::Status> HandleCheckinServiceEvents(
    RiskEngine& engine, const std::vector<const StreamEntry*>& entries);

// The handler of the supervision service's events: supervision.overdue raises
// supervision_overdue; session.attended of supervision that counts for the cadence closes it for
// every volunteer present.
absl::Status HandleSupervisionServiceEvent(RiskEngine& engine, const StreamEntry& entry);

}  // namespace peerwell::alerts
