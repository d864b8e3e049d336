#pragma once

// Words on the command line and human-readable output for the supervision commands; format.h
// holds the shared pieces (tables, fields, times, JSON), checkin_format.h the spans and points in
// time, alerts_format.h the printing of a Duration.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "peerwell/supervision/v1/supervision.pb.h"

namespace peerwell::ctl {

namespace supervision_v1 = ::peerwell::supervision::v1;

// --- Words on the command line <-> values --------------------------------------------------

// "individual", "group", "reflective" (or "reflective-practice"), "debrief", "peer" (any case;
// underscores and the proto names SESSION_KIND_... work too).
absl::StatusOr<supervision_v1::SessionKind> ParseSessionKind(absl::string_view flag,
                                                             absl::string_view text);
// "scheduled", "offered", "cancelled", "completed", "declined" (also SESSION_STATE_...).
absl::StatusOr<supervision_v1::SessionState> ParseSessionState(absl::string_view flag,
                                                               absl::string_view text);
// DAYS=HH:MM-HH:MM, e.g. "mon=09:00-12:00", "mon-thu=09:00-17:00" or "tue,thu=13:00-16:00": one
// window per day named. Days are mon..sun (or monday..sunday, or 1..7 with 1 = Monday). Whether
// the times are valid is the service's to say.
absl::StatusOr<std::vector<supervision_v1::WeeklyWindow>> ParseWeeklyWindows(
    absl::string_view flag, absl::string_view text);
// An RFC 3339 time, "now", a span ago ("-2h") or a span from now ("+3d", "+1w").
absl::StatusOr<absl::Time> ParseTimeArgument(absl::string_view flag, absl::string_view text,
                                             absl::Time now);
// START..END, each as ParseTimeArgument reads it: a dated exception to the weekly windows.
absl::StatusOr<supervision_v1::AvailabilityException> ParseException(absl::string_view flag,
                                                                     absl::string_view text,
                                                                     bool available,
                                                                     absl::Time now);

google::protobuf::Duration DurationToProto(absl::Duration duration);

std::string SessionKindWord(supervision_v1::SessionKind kind);
std::string SessionStateWord(supervision_v1::SessionState state);
std::string AttendanceStatusWord(supervision_v1::AttendanceStatus status);
// "Mon" … "Sun" for 1 … 7; the number itself when out of range.
std::string WeekdayWord(int weekday);

// --- Human-readable output -------------------------------------------------------------------

// The supervisor, their timezone, the weekly windows by day and the exceptions by start.
std::string AvailabilityText(const supervision_v1::Availability& availability);
// Every field that is set: times, people, seats, recurrence, attendance, offer, cancellation.
std::string SessionText(const supervision_v1::Session& session);
// One row per session: id, start, duration, kind, state, seats, title.
std::string SessionsTable(const std::vector<supervision_v1::Session>& sessions);
// One row per slot, best first, with the reasons for its rank on wrapped lines below.
std::string SlotsTable(const google::protobuf::RepeatedPtrField<supervision_v1::Slot>& slots);
// Sessions offered to the caller (debriefs after an incident): when, with whom, answer by when.
std::string OffersTable(const std::vector<supervision_v1::Session>& offers);
std::string OverdueTable(const std::vector<supervision_v1::OverdueVolunteer>& overdue);
std::string SupervisionPolicyText(const supervision_v1::SupervisionPolicy& policy);
// A calendar feed's id, person and creation time, and `address` (its URL or path) when given.
std::string CalendarFeedText(const supervision_v1::CalendarFeed& feed, absl::string_view address);
// One row per feed: id, person, created.
std::string CalendarFeedsTable(const std::vector<supervision_v1::CalendarFeed>& feeds);

}  // namespace peerwell::ctl
