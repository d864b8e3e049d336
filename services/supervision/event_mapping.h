#pragma once

#include "absl/status/status.h"
#include "services/common/events.h"
#include "services/supervision/supervision_service.h"

namespace peerwell::supervision {

// The consumer-group handlers of the supervision service. From the check-in service:
// incident.reported becomes a debrief offer. From the directory: person.created registers the
// organisation for the periodic sweep (top-ups, lapsed offers, overdue supervision). Other event
// types are acknowledged and ignored; a malformed event is an error, so that it ends in the
// dead-letter stream after its retries.
absl::Status HandleCheckinServiceEvent(SupervisionService& service, const StreamEntry& entry);
absl::Status HandleDirectoryEvent(SupervisionService& service, const StreamEntry& entry);

}  // namespace peerwell::supervision
