#pragma once

#include "absl/status/status.h"
#include "services/common/events.h"
#include "services/common/person_erasure.h"
#include "services/supervision/supervision_service.h"

namespace peerwell::supervision {

// The consumer-group handlers of the supervision service. From the check-in service:
// incident.reported becomes a debrief offer (none for a volunteer the directory no longer
// knows, e.g. one erased since). From the directory: person.created registers the organisation
// for the periodic sweep (top-ups, lapsed offers, overdue supervision); person.erased is
// `erase`, then `report` (HandlePersonErased). Other event types are acknowledged and ignored;
// a malformed event is an error, so that it ends in the dead-letter stream after its retries.
absl::Status HandleCheckinServiceEvent(SupervisionService& service, const StreamEntry& entry);
absl::Status HandleDirectoryEvent(SupervisionService& service, const StreamEntry& entry,
                                  const ErasureStep& erase, const ErasureStep& report);

}  // namespace peerwell::supervision
