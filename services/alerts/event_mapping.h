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

// The handler of the supervision service's events: supervision.overdue raises
// supervision_overdue; session.attended of supervision that counts for the cadence closes it for
// every volunteer present.
absl::Status HandleSupervisionServiceEvent(RiskEngine& engine, const StreamEntry& entry);

}  // namespace peerwell::alerts
