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
  if (!person.quiet_hours.has_value()) return false;
  const QuietHours& quiet = *person.quiet_hours;
  if (quiet.start_minute == quiet.end_minute) return false;
  // Every local day whose quiet stretch could reach into [start, end).
  absl::CivilDay first = absl::ToCivilDay(start, person.zone) - 1;
  absl::CivilDay last = absl::ToCivilDay(end, person.zone);
  for (absl::CivilDay day = first; day <= last; ++day) {
    absl::CivilMinute midnight(day);
    absl::Time quiet_start = absl::FromCivil(midnight + quiet.start_minute, person.zone);
    int end_minute = quiet.end_minute + (quiet.end_minute < quiet.start_minute ? 24 * 60 : 0);
    absl::Time quiet_end = absl::FromCivil(midnight + end_minute, person.zone);
    if (Overlaps(start, end, quiet_start, quiet_end)) return true;
  }
  return false;
}

const BusyInterval* FirstOverlap(const std::vector<BusyInterval>& busy, absl::Time start,
                                 absl::Time end) {
  for (const BusyInterval& interval : busy) {
    if (Overlaps(start, end, interval.start, interval.end)) return &interval;
  }
  return nullptr;
}

std::vector<Slot> ProposeSlots(const SlotRequest& request,
                               const std::vector<SlotCandidate>& candidates) {
  struct Ranked {
    Slot slot;
    bool own = false;
    int load = 0;
  };
  std::vector<Ranked> ranked;
  if (request.duration <= absl::ZeroDuration() || request.step <= absl::ZeroDuration()) return {};
  for (const SlotCandidate& candidate : candidates) {
    const absl::TimeZone& zone = candidate.supervisor.zone;
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
      int taken_today = 0;
      for (const auto& [stretch_start, stretch_end] : stretches) {
        // Starts on the step grid of the local hour, inside the window.
        absl::Time start = std::max(stretch_start, request.window_start);
        absl::CivilMinute local = absl::ToCivilMinute(start, zone);
        int step_minutes = static_cast<int>(absl::ToInt64Minutes(request.step));
        int misaligned = (local.hour() * 60 + local.minute()) % step_minutes;
        if (misaligned != 0 || absl::ToCivilSecond(start, zone).second() != 0) {
          start = absl::FromCivil(local + (step_minutes - misaligned), zone);
        }
        for (; start + request.duration <= stretch_end && start + request.duration <=
                                                               request.window_end;
             start += request.step) {
          if (taken_today >= request.per_supervisor_per_day) break;
          absl::Time end = start + request.duration;
          if (!InsideAvailability(candidate.availability, zone, start, end)) continue;
          if (InQuietHours(candidate.supervisor, start, end) ||
              InQuietHours(request.volunteer, start, end)) {
            continue;
          }
          if (FirstOverlap(candidate.busy, start, end + request.supervisor_buffer) != nullptr ||
              FirstOverlap(request.volunteer_busy, start, end) != nullptr) {
            continue;
          }
          Ranked entry;
          entry.own = candidate.own_supervisor;
          auto week = candidate.sessions_per_week.find(WeekOf(start, zone));
          entry.load = week == candidate.sessions_per_week.end() ? 0 : week->second;
          entry.slot.supervisor_id = candidate.supervisor.person_id;
          entry.slot.start_time = start;
          entry.slot.end_time = end;
          if (entry.own) {
            entry.slot.reasons.push_back("your own supervisor (continuity)");
          }
          entry.slot.reasons.push_back(
              absl::StrCat(entry.load, entry.load == 1 ? " session" : " sessions",
                           " booked with this supervisor that week"));
          entry.slot.reasons.push_back("inside the supervisor's availability");
          entry.slot.reasons.push_back("outside everyone's quiet hours");
          ranked.push_back(std::move(entry));
          ++taken_today;
        }
      }
    }
  }
  std::stable_sort(ranked.begin(), ranked.end(), [](const Ranked& a, const Ranked& b) {
    if (a.own != b.own) return a.own;
    if (a.load != b.load) return a.load < b.load;
    if (a.slot.start_time != b.slot.start_time) return a.slot.start_time < b.slot.start_time;
    return a.slot.supervisor_id < b.slot.supervisor_id;
  });
  std::vector<Slot> slots;
  for (size_t i = 0; i < ranked.size() && static_cast<int>(i) < request.max_results; ++i) {
    Slot slot = std::move(ranked[i].slot);
    // Best first, 100 down: own supervisor adds 50, each booked session that week takes 2.
    slot.score = std::max(0.0, 50.0 + (ranked[i].own ? 50.0 : 0.0) - 2.0 * ranked[i].load -
                                   static_cast<double>(i) * 0.01);
    slots.push_back(std::move(slot));
  }
  return slots;
}

}  // namespace peerwell::supervision
