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

// The part of one ISO week inside one calendar month, for one session kind.
using SegmentKey = std::tuple<absl::Time, absl::Time, std::string>;

struct VolunteerScores {
  double sum = 0;
  int count = 0;
};

// A cell's contributions: each volunteer's scores in each segment of the cell.
using Contributions = std::map<std::pair<std::string, SegmentKey>, VolunteerScores>;

AggregateCell CellOf(const Scale& scale, absl::Time period_start, const std::string& session_kind,
                     const Contributions* contributions) {
  AggregateCell cell;
  cell.period_start = period_start;
  cell.session_kind = session_kind;
  if (contributions == nullptr) return cell;
  std::set<std::string> volunteers;
  for (const auto& [key, scores] : *contributions) volunteers.insert(key.first);
  if (static_cast<int>(volunteers.size()) < kMinCellVolunteers) return cell;
  cell.suppressed = false;
  cell.volunteer_count = static_cast<int>(volunteers.size());
  double total = 0;
  std::map<std::string, VolunteerScores> volunteer_means;  // over their contributions
  for (const auto& [key, scores] : *contributions) {
    double segment_mean = scores.sum / scores.count;
    total += segment_mean;
    VolunteerScores& own = volunteer_means[key.first];
    own.sum += segment_mean;
    ++own.count;
  }
  cell.mean = total / static_cast<double>(contributions->size());
  for (const Band& band : scale.bands) cell.band_counts.push_back({band.name, 0});
  for (const auto& [volunteer, own] : volunteer_means) {
    std::string band = BandOf(scale, own.sum / own.count);
    for (auto& [name, count] : cell.band_counts) {
      if (name == band) ++count;
    }
  }
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
  // Segments → distinct volunteers.
  std::map<SegmentKey, std::set<std::string>> segments;
  // The session kinds seen in each period, published or not (by_session_kind lists them all).
  std::map<absl::Time, std::set<std::string>> kinds_by_period;
  // The values inside the window, each with its segment.
  std::vector<std::pair<const ScaleValue*, decltype(segments)::iterator>> inside;
  for (const ScaleValue& v : values) {
    if (v.time < window_start || v.time >= window_end) continue;
    auto segment =
        segments.try_emplace({WeekStart(v.time), MonthStart(v.time), v.session_kind}).first;
    segment->second.insert(v.volunteer_id);
    inside.push_back({&v, segment});
    kinds_by_period[PeriodStart(period, v.time)].insert(v.session_kind);
  }
  // A volunteer contributes once per segment, with their mean there: every figure of a cell is
  // then the pooled figure of its segments, so that a month is exactly its weeks' figures
  // combined and a total its session kinds', and no two figures combine into one person's.
  using CellKey = std::pair<absl::Time, std::string>;
  std::map<CellKey, Contributions> cells;
  for (const auto& [value, segment] : inside) {
    const ScaleValue& v = *value;
    if (static_cast<int>(segment->second.size()) < kMinCellVolunteers) continue;
    VolunteerScores& scores =
        cells[{PeriodStart(period, v.time), by_session_kind ? v.session_kind : ""}]
             [{v.volunteer_id, segment->first}];
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
