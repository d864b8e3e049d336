#include "services/supervision/schedule.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace peerwell::supervision {
namespace {

int Weekday(const absl::CivilDay& day) {
  switch (absl::GetWeekday(day)) {
    case absl::Weekday::monday:
      return 1;
    case absl::Weekday::tuesday:
      return 2;
    case absl::Weekday::wednesday:
      return 3;
    case absl::Weekday::thursday:
      return 4;
    case absl::Weekday::friday:
      return 5;
    case absl::Weekday::saturday:
      return 6;
    case absl::Weekday::sunday:
      return 7;
  }
  return 1;
}

bool Overlaps(absl::Time a_start, absl::Time a_end, absl::Time b_start, absl::Time b_end) {
  return a_start < b_end && b_start < a_end;
}

// The weekly windows of one local day as absolute intervals, adjacent ones joined.
std::vector<std::pair<absl::Time, absl::Time>> DayWindows(const Availability& availability,
                                                          const absl::TimeZone& zone,
                                                          const absl::CivilDay& day) {
  std::vector<std::pair<int, int>> minutes;
  int weekday = Weekday(day);
  for (const WeeklyWindow& window : availability.weekly) {
    if (window.weekday == weekday) minutes.push_back({window.start_minute, window.end_minute});
  }
  std::sort(minutes.begin(), minutes.end());
  std::vector<std::pair<absl::Time, absl::Time>> out;
  for (const auto& [start, end] : minutes) {
    absl::Time s = absl::FromCivil(absl::CivilMinute(day) + start, zone);
    absl::Time e = absl::FromCivil(absl::CivilMinute(day) + end, zone);
    if (!out.empty() && s <= out.back().second) {
      out.back().second = std::max(out.back().second, e);
    } else {
      out.push_back({s, e});
    }
  }
  return out;
}

}  // namespace

absl::CivilDay WeekOf(absl::Time time, const absl::TimeZone& zone) {
  absl::CivilDay day = absl::ToCivilDay(time, zone);
  return day - (Weekday(day) - 1);
}

bool InsideAvailability(const Availability& availability, const absl::TimeZone& zone,
                        absl::Time start, absl::Time end) {
  for (const AvailabilityException& exception : availability.exceptions) {
    if (!exception.available && Overlaps(start, end, exception.start_time, exception.end_time)) {
      return false;
    }
  }
  for (const AvailabilityException& exception : availability.exceptions) {
    if (exception.available && exception.start_time <= start && end <= exception.end_time) {
      return true;
    }
  }
  absl::CivilDay day = absl::ToCivilDay(start, zone);
  for (const auto& [s, e] : DayWindows(availability, zone, day)) {
    if (s <= start && end <= e) return true;
  }
  return false;
}

bool InQuietHours(const PersonSchedule& person, absl::Time start, absl::Time end) {
  return person.quiet_hours.has_value() &&
         peerwell::InQuietHours(*person.quiet_hours, person.zone, start, end);
}

const BusyInterval* FirstOverlap(const std::vector<BusyInterval>& busy, absl::Time start,
                                 absl::Time end) {
  for (const BusyInterval& interval : busy) {
    if (Overlaps(start, end, interval.start, interval.end)) return &interval;
  }
  return nullptr;
}

namespace {

// Intervals sorted by start, with the latest end so far at each, so that whether [start, end)
// touches any of them is one binary search however they overlap one another.
class IntervalSet {
 public:
  explicit IntervalSet(std::vector<std::pair<absl::Time, absl::Time>> intervals)
      : intervals_(std::move(intervals)) {
    std::sort(intervals_.begin(), intervals_.end());
    absl::Time latest = absl::InfinitePast();
    for (const auto& interval : intervals_) {
      latest = std::max(latest, interval.second);
      latest_end_.push_back(latest);
    }
  }
  bool Overlaps(absl::Time start, absl::Time end) const {
    // The intervals that start before `end`; one of them reaches past `start`?
    auto after = std::lower_bound(intervals_.begin(), intervals_.end(), end,
                                  [](const std::pair<absl::Time, absl::Time>& interval,
                                     absl::Time t) { return interval.first < t; });
    if (after == intervals_.begin()) return false;
    return latest_end_[after - intervals_.begin() - 1] > start;
  }

 private:
  std::vector<std::pair<absl::Time, absl::Time>> intervals_;
  std::vector<absl::Time> latest_end_;
};

// A person's quiet hours between `from` and `to`, as absolute intervals.
IntervalSet QuietIntervals(const PersonSchedule& person, absl::Time from, absl::Time to) {
  std::vector<std::pair<absl::Time, absl::Time>> intervals;
  if (person.quiet_hours.has_value() &&
      person.quiet_hours->start_minute != person.quiet_hours->end_minute) {
    const QuietHours& quiet = *person.quiet_hours;
    int end_minute = quiet.end_minute + (quiet.end_minute < quiet.start_minute ? 24 * 60 : 0);
    for (absl::CivilDay day = absl::ToCivilDay(from, person.zone) - 1;
         day <= absl::ToCivilDay(to, person.zone); ++day) {
      absl::CivilMinute midnight(day);
      intervals.push_back({absl::FromCivil(midnight + quiet.start_minute, person.zone),
                           absl::FromCivil(midnight + end_minute, person.zone)});
    }
  }
  return IntervalSet(std::move(intervals));
}

IntervalSet BusySet(const std::vector<BusyInterval>& busy) {
  std::vector<std::pair<absl::Time, absl::Time>> intervals;
  for (const BusyInterval& interval : busy) intervals.push_back({interval.start, interval.end});
  return IntervalSet(std::move(intervals));
}

struct Ranked {
  bool own = false;
  int load = 0;
  absl::Time start;
  size_t candidate = 0;
};

bool RanksBefore(const Ranked& a, const Ranked& b) {
  if (a.own != b.own) return a.own;
  if (a.load != b.load) return a.load < b.load;
  if (a.start != b.start) return a.start < b.start;
  return a.candidate < b.candidate;
}

// The free starts of one supervisor in the window.
void CandidateSlots(const SlotRequest& request, const IntervalSet& volunteer_quiet,
                    const IntervalSet& volunteer_busy, const SlotCandidate& candidate, size_t index,
                    std::vector<Ranked>& out) {
  const absl::TimeZone& zone = candidate.supervisor.zone;
  IntervalSet quiet =
      QuietIntervals(candidate.supervisor, request.window_start, request.window_end);
  IntervalSet busy = BusySet(candidate.busy);
  std::vector<std::pair<absl::Time, absl::Time>> leave;
  for (const AvailabilityException& exception : candidate.availability.exceptions) {
    if (!exception.available) leave.push_back({exception.start_time, exception.end_time});
  }
  IntervalSet on_leave(std::move(leave));
  int step_minutes = static_cast<int>(absl::ToInt64Minutes(request.step));
  absl::CivilDay first = absl::ToCivilDay(request.window_start, zone);
  absl::CivilDay last = absl::ToCivilDay(request.window_end, zone);
  for (absl::CivilDay day = first; day <= last; ++day) {
    std::vector<std::pair<absl::Time, absl::Time>> stretches =
        DayWindows(candidate.availability, zone, day);
    for (const AvailabilityException& extra : candidate.availability.exceptions) {
      if (extra.available && absl::ToCivilDay(extra.start_time, zone) == day) {
        stretches.push_back({extra.start_time, extra.end_time});
      }
    }
    std::sort(stretches.begin(), stretches.end());
    int taken_today = 0;
    absl::Time next_free = absl::InfinitePast();  // stretches may overlap: no start twice
    for (const auto& [stretch_start, stretch_end] : stretches) {
      // Starts on the step grid of the local hour, inside the window.
      absl::Time start = std::max({stretch_start, request.window_start, next_free});
      absl::CivilMinute local = absl::ToCivilMinute(start, zone);
      int misaligned = (local.hour() * 60 + local.minute()) % step_minutes;
      if (misaligned != 0 || absl::ToCivilSecond(start, zone).second() != 0) {
        start = absl::FromCivil(local + (step_minutes - misaligned), zone);
      }
      for (; start + request.duration <= stretch_end &&
             start + request.duration <= request.window_end &&
             taken_today < request.per_supervisor_per_day;
           start += request.step) {
        next_free = start + request.step;
        absl::Time end = start + request.duration;
        if (on_leave.Overlaps(start, end) || quiet.Overlaps(start, end) ||
            volunteer_quiet.Overlaps(start, end) ||
            busy.Overlaps(start, end + request.supervisor_buffer) ||
            volunteer_busy.Overlaps(start, end)) {
          continue;
        }
        auto week = candidate.sessions_per_week.find(WeekOf(start, zone));
        out.push_back({candidate.own_supervisor,
                       week == candidate.sessions_per_week.end() ? 0 : week->second, start, index});
        ++taken_today;
      }
    }
  }
}

}  // namespace

std::vector<Slot> ProposeSlots(const SlotRequest& request,
                               const std::vector<SlotCandidate>& candidates) {
  if (request.duration <= absl::ZeroDuration() || request.step < absl::Minutes(1) ||
      request.max_results <= 0) {
    return {};
  }
  IntervalSet volunteer_quiet =
      QuietIntervals(request.volunteer, request.window_start, request.window_end);
  IntervalSet volunteer_busy = BusySet(request.volunteer_busy);
  std::vector<Ranked> ranked;
  // The own supervisors rank first: when they fill the answer, nobody else is looked at.
  for (bool own : {true, false}) {
    if (!own && static_cast<int>(ranked.size()) >= request.max_results) break;
    for (size_t i = 0; i < candidates.size(); ++i) {
      if (candidates[i].own_supervisor != own) continue;
      CandidateSlots(request, volunteer_quiet, volunteer_busy, candidates[i], i, ranked);
    }
  }
  size_t count = std::min(ranked.size(), static_cast<size_t>(request.max_results));
  std::partial_sort(ranked.begin(), ranked.begin() + count, ranked.end(), RanksBefore);
  std::vector<Slot> slots;
  for (size_t i = 0; i < count; ++i) {
    const Ranked& entry = ranked[i];
    Slot slot;
    slot.supervisor_id = candidates[entry.candidate].supervisor.person_id;
    slot.start_time = entry.start;
    slot.end_time = entry.start + request.duration;
    if (entry.own) slot.reasons.push_back("your own supervisor (continuity)");
    slot.reasons.push_back(absl::StrCat(entry.load, entry.load == 1 ? " session" : " sessions",
                                        " booked with this supervisor that week"));
    slot.reasons.push_back("inside the supervisor's availability");
    slot.reasons.push_back("outside everyone's quiet hours");
    // Best first, 100 down: own supervisor adds 50, each booked session that week takes 2.
    slot.score = std::max(
        0.0, 50.0 + (entry.own ? 50.0 : 0.0) - 2.0 * entry.load - static_cast<double>(i) * 0.01);
    slots.push_back(std::move(slot));
  }
  return slots;
}

}  // namespace peerwell::supervision
