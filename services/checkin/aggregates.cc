#include "services/checkin/aggregates.h"

#include <map>
#include <set>
#include <tuple>
#include <vector>

#include "services/checkin/scoring.h"

namespace peerwell::checkin {
namespace {

absl::Time MonthStart(absl::Time time) {
  return absl::FromCivil(absl::CivilMonth(absl::ToCivilSecond(time, absl::UTCTimeZone())),
                         absl::UTCTimeZone());
}

absl::Time WeekStart(absl::Time time) {
  absl::CivilDay day(absl::ToCivilSecond(time, absl::UTCTimeZone()));
  // absl numbers the weekdays from Monday = 0.
  day -= static_cast<int>(absl::GetWeekday(day));
  return absl::FromCivil(day, absl::UTCTimeZone());
}

struct VolunteerScores {
  double sum = 0;
  int count = 0;
};

AggregateCell CellOf(const Scale& scale, absl::Time period_start, const std::string& session_kind,
                     const std::map<std::string, VolunteerScores>* volunteers) {
  AggregateCell cell;
  cell.period_start = period_start;
  cell.session_kind = session_kind;
  if (volunteers == nullptr || static_cast<int>(volunteers->size()) < kMinCellVolunteers) {
    return cell;
  }
  cell.suppressed = false;
  cell.volunteer_count = static_cast<int>(volunteers->size());
  for (const Band& band : scale.bands) cell.band_counts.push_back({band.name, 0});
  double total = 0;
  for (const auto& [volunteer, scores] : *volunteers) {
    double own_mean = scores.sum / scores.count;
    total += own_mean;
    std::string band = BandOf(scale, own_mean);
    for (auto& [name, count] : cell.band_counts) {
      if (name == band) ++count;
    }
  }
  cell.mean = total / cell.volunteer_count;
  return cell;
}

}  // namespace

absl::Time PeriodStart(AggregatePeriod period, absl::Time time) {
  return period == AggregatePeriod::kMonth ? MonthStart(time) : WeekStart(time);
}

absl::Time ShiftPeriods(AggregatePeriod period, absl::Time period_start, int count) {
  if (period == AggregatePeriod::kWeek) return period_start + absl::Hours(24 * 7) * count;
  absl::CivilMonth month(absl::ToCivilSecond(period_start, absl::UTCTimeZone()));
  return absl::FromCivil(month + count, absl::UTCTimeZone());
}

std::vector<AggregateCell> ComputeAggregates(const Scale& scale, AggregatePeriod period,
                                             absl::Time window_start, absl::Time window_end,
                                             bool by_session_kind,
                                             const std::vector<ScaleValue>& values) {
  // Segments: (week start, month start, session kind) → distinct volunteers.
  using SegmentKey = std::tuple<absl::Time, absl::Time, std::string>;
  std::map<SegmentKey, std::set<std::string>> segments;
  // The session kinds seen in each period, published or not (by_session_kind lists them all).
  std::map<absl::Time, std::set<std::string>> kinds_by_period;
  // The values inside the window, each with its segment's volunteers.
  std::vector<std::pair<const ScaleValue*, const std::set<std::string>*>> inside;
  for (const ScaleValue& v : values) {
    if (v.time < window_start || v.time >= window_end) continue;
    auto& segment = segments[{WeekStart(v.time), MonthStart(v.time), v.session_kind}];
    segment.insert(v.volunteer_id);
    inside.push_back({&v, &segment});
    kinds_by_period[PeriodStart(period, v.time)].insert(v.session_kind);
  }
  using CellKey = std::pair<absl::Time, std::string>;
  std::map<CellKey, std::map<std::string, VolunteerScores>> cells;
  for (const auto& [value, segment] : inside) {
    const ScaleValue& v = *value;
    if (static_cast<int>(segment->size()) < kMinCellVolunteers) continue;
    VolunteerScores& scores =
        cells[{PeriodStart(period, v.time), by_session_kind ? v.session_kind : ""}][v.volunteer_id];
    scores.sum += v.value;
    ++scores.count;
  }
  std::vector<AggregateCell> out;
  for (absl::Time start = window_start; start < window_end;
       start = ShiftPeriods(period, start, 1)) {
    std::set<std::string> kinds{""};
    if (by_session_kind) kinds = kinds_by_period[start];
    for (const std::string& kind : kinds) {
      auto it = cells.find({start, kind});
      out.push_back(CellOf(scale, start, kind, it == cells.end() ? nullptr : &it->second));
    }
  }
  return out;
}

}  // namespace peerwell::checkin
