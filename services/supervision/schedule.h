#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "services/common/quiet_hours.h"
#include "services/supervision/supervision.h"

namespace peerwell::supervision {

// The time rules of scheduling as pure functions: weekly availability in a supervisor's zone with
// dated exceptions, quiet hours in a person's zone, and ranked free slots.

// One person as scheduling sees them.
struct PersonSchedule {
  std::string person_id;
  absl::TimeZone zone = absl::UTCTimeZone();
  std::optional<QuietHours> quiet_hours;
};

// A stretch of time a person is taken by an active session (for a debrief's supervisors, the
// buffer after it too).
struct BusyInterval {
  std::string session_id;
  absl::Time start;
  absl::Time end;
};

// Whether [start, end) lies inside the supervisor's availability: within one local day's weekly
// windows (adjacent windows join), or within an extra-hours exception, and touching no leave.
bool InsideAvailability(const Availability& availability, const absl::TimeZone& zone,
                        absl::Time start, absl::Time end);

// Whether [start, end) touches the person's quiet hours.
bool InQuietHours(const PersonSchedule& person, absl::Time start, absl::Time end);

// The first interval of `busy` that overlaps [start, end), if any.
const BusyInterval* FirstOverlap(const std::vector<BusyInterval>& busy, absl::Time start,
                                 absl::Time end);

// A supervisor who may take the slot, with what ranking needs to know.
struct SlotCandidate {
  PersonSchedule supervisor;
  Availability availability;
  std::vector<BusyInterval> busy;
  bool own_supervisor = false;
  // Sessions the supervisor has in each ISO week (keyed by the Monday, local), for the load.
  std::map<absl::CivilDay, int> sessions_per_week;
};

struct SlotRequest {
  PersonSchedule volunteer;
  std::vector<BusyInterval> volunteer_busy;
  absl::Duration duration;
  // Time the supervisor must also have free after the slot (a debrief's buffer).
  absl::Duration supervisor_buffer = absl::ZeroDuration();
  absl::Time window_start;
  absl::Time window_end;
  int max_results = 10;
  // Slots start on this grid of the supervisor's local hour (e.g. :00 and :30).
  absl::Duration step = absl::Minutes(30);
  // At most this many slots per supervisor and local day, so the answer offers days to choose.
  int per_supervisor_per_day = 2;
};

// Free slots, best first: the volunteer's own supervisor first (continuity), then the supervisors
// with the fewest sessions that week, then the earliest. A slot lies inside the supervisor's
// availability, outside everyone's quiet hours, and clear of both people's sessions; each says
// why it ranks where it does.
std::vector<Slot> ProposeSlots(const SlotRequest& request,
                               const std::vector<SlotCandidate>& candidates);

// The Monday of the local week `time` falls in.
absl::CivilDay WeekOf(absl::Time time, const absl::TimeZone& zone);

}  // namespace peerwell::supervision
