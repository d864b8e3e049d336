#pragma once

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "services/supervision/supervision.h"

namespace peerwell::supervision {

// The RFC 5545 iCalendar of `sessions` (what ExportCalendar and a calendar feed serve), written
// with libical: one VEVENT per session with a stable UID (one per occurrence), SEQUENCE from the
// session's change counter, STATUS CONFIRMED, TENTATIVE (an offer) or CANCELLED (cancelled or
// declined), DTSTART/DTEND in the session's time zone with its VTIMEZONE. Titles and kinds only:
// no names, notes or contact details.
std::string CalendarIcs(const std::vector<Session>& sessions, absl::Time now);

// The words for a kind, e.g. "Reflective practice".
std::string SessionKindTitle(SessionKind kind);

}  // namespace peerwell::supervision
