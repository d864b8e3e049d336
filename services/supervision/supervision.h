#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace peerwell::supervision {

// The domain types of supervision scheduling. Times are absolute (UTC); weekly windows and quiet
// hours are local times of day in a person's IANA time zone, and recurring sessions are expanded
// in the time zone of their first supervisor, so a weekly session keeps its local hour across
// daylight-saving changes.

enum class SessionKind {
  kUnspecified = 0,
  kIndividual = 1,
  kGroup = 2,
  kReflectivePractice = 3,
  kDebrief = 4,
  kPeer = 5,
};

enum class SessionState {
  kUnspecified = 0,
  kScheduled = 1,
  kOffered = 2,
  kCancelled = 3,
  kCompleted = 4,
  kDeclined = 5,
};

enum class AttendanceStatus { kUnspecified = 0, kPresent = 1, kAbsent = 2, kExcused = 3 };

enum class SeriesScope { kUnspecified = 0, kThis = 1, kThisAndFollowing = 2 };

// Minutes since local midnight.
struct WeeklyWindow {
  int weekday = 1;  // 1 = Monday … 7 = Sunday
  int start_minute = 0;
  int end_minute = 0;
};

struct AvailabilityException {
  absl::Time start_time;
  absl::Time end_time;
  bool available = false;  // false: leave; true: extra hours
};

struct Availability {
  std::string supervisor_id;
  std::vector<WeeklyWindow> weekly;
  std::vector<AvailabilityException> exceptions;
  std::string timezone;  // from the directory; output only
};

struct Attendance {
  std::string person_id;
  AttendanceStatus status = AttendanceStatus::kUnspecified;
};

struct Session {
  std::string id;
  std::string organization_id;
  std::string series_id;
  SessionKind kind = SessionKind::kUnspecified;
  SessionState state = SessionState::kUnspecified;
  std::string title;
  std::vector<std::string> supervisor_ids;
  std::vector<std::string> participant_ids;
  absl::Time start_time = absl::InfinitePast();
  absl::Duration duration = absl::ZeroDuration();
  int capacity = 0;  // seats for participants; 0: no limit
  std::string recurrence_rule;
  std::vector<Attendance> attendance;
  std::string incident_id;
  absl::Time offer_expire_time = absl::InfinitePast();
  std::string cancel_reason;
  absl::Time create_time = absl::InfinitePast();
  absl::Time update_time = absl::InfinitePast();
  std::string timezone;  // the zone its series is expanded in (its first supervisor's)
  // Time kept free for its supervisors after it (a debrief's buffer).
  absl::Duration supervisor_buffer = absl::ZeroDuration();
  int sequence = 0;       // bumped on every change: the calendar's SEQUENCE
  long long version = 0;  // the store's optimistic-concurrency counter; 0 before the first write
  // Participants holding a seat where participant_ids are withheld from the caller; -1: count
  // participant_ids.
  int withheld_participants = -1;

  absl::Time end_time() const { return start_time + duration; }
  // Scheduled or offered: it holds its people's time.
  bool Active() const {
    return state == SessionState::kScheduled || state == SessionState::kOffered;
  }
  bool Involves(const std::string& person_id) const;
  // Free seats when capacity is set; 0 without a limit.
  int SeatsLeft() const;
};

// A recurring session: the rule and what its occurrences are made from.
struct Series {
  std::string id;
  std::string organization_id;
  std::string recurrence_rule;
  std::string timezone;
  absl::Time first_start = absl::InfinitePast();  // DTSTART
  // Occurrences exist up to here; the top-up generates later ones as time passes.
  absl::Time generated_until = absl::InfinitePast();
  // Set when the series was cut (cancelled or moved from an occurrence on): no occurrence at or
  // after it is generated.
  absl::Time end_before = absl::InfiniteFuture();
  Session prototype;  // kind, title, people, duration, capacity of every new occurrence
  long long version = 0;
};

struct SupervisionPolicy {
  absl::Duration cadence = absl::Hours(24 * 30);
  absl::Duration debrief_offer_window = absl::Hours(24);
  absl::Duration debrief_buffer = absl::Minutes(30);
  bool require_two_facilitators = false;
};

struct Slot {
  std::string supervisor_id;
  absl::Time start_time;
  absl::Time end_time;
  double score = 0;
  std::vector<std::string> reasons;
};

struct OverdueVolunteer {
  std::string volunteer_id;
  std::optional<absl::Time> last_session_time;
  int days_overdue = 0;
};

// A calendar feed: a secret address that serves its person's calendar (what ExportCalendar
// gives them) to calendar applications without other credentials, until it is revoked. Its token
// ("pcf_<organization id>_<feed id>_<random>", services/common/api_key_secret.h) is shown once,
// when the feed is created; only a hash of it is stored.
struct CalendarFeed {
  std::string id;  // "cf…"
  std::string organization_id;
  std::string person_id;
  std::string token_hash;
  absl::Time create_time = absl::InfinitePast();
};

// A feed just created, with the token that is not stored anywhere.
struct CreatedCalendarFeed {
  CalendarFeed feed;
  std::string token;
};

// The gap last announced for a volunteer with supervision.overdue (once per gap): since their
// last supervision, or since they joined when they never had one (nullopt).
struct AnnouncedGap {
  std::optional<absl::Time> last_session_time;
};

// Everything the service holds about one person: its part of their data export (GDPR articles
// 15 and 20).
struct PersonRecords {
  std::string person_id;
  std::vector<Session> sessions;  // every one they run or take part in, in any state, by start
  // The recurring sessions made with them (their occurrences are among `sessions`).
  std::vector<Series> series;
  std::optional<Availability> availability;  // a supervisor's, if they set one
  std::vector<CalendarFeed> calendar_feeds;  // oldest first, without their token hashes
  // Their latest attended supervision that counts for the cadence.
  std::optional<absl::Time> last_supervised;
  std::optional<AnnouncedGap> announced_gap;
};

// The record families of the export, named once for the mapping that fills them and the store
// that says which of its keys each one shows.
inline constexpr char kSessionsRecords[] = "sessions";
inline constexpr char kSeriesRecords[] = "series";
inline constexpr char kAvailabilityRecords[] = "availability";
inline constexpr char kCalendarFeedsRecords[] = "calendarFeeds";
inline constexpr char kLastSupervisedRecords[] = "lastSupervised";
inline constexpr char kOverdueAnnouncedRecords[] = "overdueAnnounced";

// The conflict reasons of Appendix B, first in a FAILED_PRECONDITION message.
inline constexpr char kSupervisorDoubleBooked[] = "SUPERVISOR_DOUBLE_BOOKED";
inline constexpr char kParticipantDoubleBooked[] = "PARTICIPANT_DOUBLE_BOOKED";
inline constexpr char kOutsideAvailability[] = "OUTSIDE_AVAILABILITY";
inline constexpr char kOverCapacity[] = "OVER_CAPACITY";
inline constexpr char kTooFewFacilitators[] = "TOO_FEW_FACILITATORS";
inline constexpr char kInQuietHours[] = "IN_QUIET_HOURS";
inline constexpr char kOfferExpired[] = "OFFER_EXPIRED";

}  // namespace peerwell::supervision
