#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "services/checkin/checkin.h"

namespace peerwell::checkin {

// Aggregates that coordinators and partners see (SPEC §1.4, Appendix C). k-anonymity comes from
// one rule applied before any cell is computed: a score enters the aggregates only if its
// *segment* — the part of one ISO week inside one calendar month, for one session kind — holds
// at least kMinCellVolunteers distinct volunteers. Every cell (a month or a week, by session kind
// or not) is a union of whole segments and is suppressed again below kMinCellVolunteers. So the
// difference between any two published figures — a month and its weeks, a total and its session
// kinds, two overlapping time ranges (cells are always whole periods) — is itself a union of
// segments of at least kMinCellVolunteers people, and never isolates one volunteer. The figures
// are pooled the same way: a volunteer contributes once per segment (their mean there), so that a
// cell's mean is exactly its segments' combined, and means cannot be weighed against each other
// to recover a score either.
inline constexpr int kMinCellVolunteers = 5;

enum class AggregatePeriod { kMonth, kWeek };

// One scale's score from one check-in.
struct ScaleValue {
  std::string volunteer_id;
  absl::Time time;
  std::string session_kind;
  double value = 0;
};

struct AggregateCell {
  absl::Time period_start;
  std::string session_kind;  // "" for every kind when not by session kind
  bool suppressed = true;
  // Only when not suppressed: the distinct volunteers, the mean of their contributions (each
  // volunteer's mean in each segment), and the volunteers by the band of the mean of their own
  // contributions, in the scale's band order.
  int volunteer_count = 0;
  double mean = 0;
  std::vector<std::pair<std::string, int>> band_counts;
};

// The start (UTC) of the month or ISO week holding `time`, and of the one `count` periods after
// (or before, when negative) the one starting at `period_start`.
absl::Time PeriodStart(AggregatePeriod period, absl::Time time);
absl::Time ShiftPeriods(AggregatePeriod period, absl::Time period_start, int count);

// The cells of `scale` for every period of [window_start, window_end), which must be whole
// periods: by period, then session kind. Without by_session_kind one cell per period (suppressed
// when empty); with it one per session kind that has any score in the period. Values outside
// the window are ignored.
std::vector<AggregateCell> ComputeAggregates(const Scale& scale, AggregatePeriod period,
                                             absl::Time window_start, absl::Time window_end,
                                             bool by_session_kind,
                                             const std::vector<ScaleValue>& values);

}  // namespace peerwell::checkin
