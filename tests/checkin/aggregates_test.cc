// Small-cell suppression of aggregates: the published figures, and what two of them can and
// cannot be subtracted to reveal.

#include "services/checkin/aggregates.h"

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/checkin/instrument_registry.h"

namespace peerwell::checkin {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

const Scale& Who5() {
  for (const Scale& scale : FindInstrument("who5")->scales) {
    if (scale.id == "who5") return scale;
  }
  throw std::logic_error("no who5 scale");
}

absl::Time Utc(int year, int month, int day, int hour = 12) {
  return absl::FromCivil(absl::CivilSecond(year, month, day, hour, 0, 0), absl::UTCTimeZone());
}

// `count` volunteers named <prefix>0.. each scoring `value` at `time`.
void AddVolunteers(std::vector<ScaleValue>& values, const std::string& prefix, int count,
                   absl::Time time, double value, const std::string& kind = "") {
  for (int i = 0; i < count; ++i) values.push_back({absl::StrCat(prefix, i), time, kind, value});
}

std::vector<AggregateCell> Months(const std::vector<ScaleValue>& values, int first_month,
                                  int months, bool by_kind = false) {
  absl::Time start = Utc(2026, first_month, 1, 0);
  return ComputeAggregates(Who5(), AggregatePeriod::kMonth, start,
                           ShiftPeriods(AggregatePeriod::kMonth, start, months), by_kind, values);
}

TEST(PeriodsTest, MonthsAndIsoWeeksStartAtUtcMidnight) {
  EXPECT_EQ(PeriodStart(AggregatePeriod::kMonth, Utc(2026, 11, 17)), Utc(2026, 11, 1, 0));
  // 2026-11-17 is a Tuesday; its ISO week began on Monday the 16th.
  EXPECT_EQ(PeriodStart(AggregatePeriod::kWeek, Utc(2026, 11, 17)), Utc(2026, 11, 16, 0));
  EXPECT_EQ(PeriodStart(AggregatePeriod::kWeek, Utc(2026, 11, 16, 0)), Utc(2026, 11, 16, 0));
  EXPECT_EQ(PeriodStart(AggregatePeriod::kWeek, Utc(2026, 11, 22, 23)), Utc(2026, 11, 16, 0));
  EXPECT_EQ(ShiftPeriods(AggregatePeriod::kMonth, Utc(2026, 11, 1, 0), 2), Utc(2027, 1, 1, 0));
  EXPECT_EQ(ShiftPeriods(AggregatePeriod::kMonth, Utc(2026, 1, 1, 0), -1), Utc(2025, 12, 1, 0));
  EXPECT_EQ(ShiftPeriods(AggregatePeriod::kWeek, Utc(2026, 11, 16, 0), -1), Utc(2026, 11, 9, 0));
}

TEST(AggregatesTest, FiveVolunteersArePublishedFourAreNot) {
  std::vector<ScaleValue> values;
  AddVolunteers(values, "a", 5, Utc(2026, 10, 6), 40);  // October: 5 volunteers
  AddVolunteers(values, "b", 4, Utc(2026, 11, 3), 80);  // November: 4
  auto cells = Months(values, 10, 2);
  ASSERT_EQ(cells.size(), 2u);
  EXPECT_FALSE(cells[0].suppressed);
  EXPECT_EQ(cells[0].period_start, Utc(2026, 10, 1, 0));
  EXPECT_EQ(cells[0].volunteer_count, 5);
  EXPECT_DOUBLE_EQ(cells[0].mean, 40);
  EXPECT_THAT(cells[0].band_counts,
              ElementsAre(Pair("likely_depression", 0), Pair("poor", 5), Pair("good", 0)));
  EXPECT_TRUE(cells[1].suppressed);
  EXPECT_EQ(cells[1].volunteer_count, 0);
  EXPECT_EQ(cells[1].mean, 0);
  EXPECT_TRUE(cells[1].band_counts.empty());
}

TEST(AggregatesTest, EachVolunteerCountsOnceWithTheirOwnMean) {
  std::vector<ScaleValue> values;
  AddVolunteers(values, "a", 4, Utc(2026, 10, 6), 60);
  // One volunteer checks in three times; they weigh as much as anyone else.
  for (double value : {20.0, 24.0, 28.0}) values.push_back({"frequent", Utc(2026, 10, 7), "", value});
  auto cells = Months(values, 10, 1);
  ASSERT_EQ(cells.size(), 1u);
  EXPECT_EQ(cells[0].volunteer_count, 5);
  EXPECT_DOUBLE_EQ(cells[0].mean, (4 * 60 + 24) / 5.0);
  EXPECT_THAT(cells[0].band_counts,
              ElementsAre(Pair("likely_depression", 1), Pair("poor", 0), Pair("good", 4)));
}

TEST(AggregatesTest, EveryPeriodOfTheWindowHasACell) {
  std::vector<ScaleValue> values;
  AddVolunteers(values, "a", 5, Utc(2026, 11, 3), 60);
  auto cells = Months(values, 9, 3);
  ASSERT_EQ(cells.size(), 3u);
  EXPECT_TRUE(cells[0].suppressed);
  EXPECT_TRUE(cells[1].suppressed);
  EXPECT_FALSE(cells[2].suppressed);
}

// Month minus its published weeks would isolate a volunteer who was alone in their week: their
// score enters no figure at all.
TEST(AggregatesTest, AMonthHoldsOnlyWeeksThatArePublishedThemselves) {
  std::vector<ScaleValue> values;
  AddVolunteers(values, "a", 5, Utc(2026, 11, 3), 60);    // week of 2 November: 5 volunteers
  values.push_back({"alone", Utc(2026, 11, 18), "", 8});  // week of 16 November: 1 volunteer
  auto month = Months(values, 11, 1);
  ASSERT_EQ(month.size(), 1u);
  EXPECT_EQ(month[0].volunteer_count, 5);
  EXPECT_DOUBLE_EQ(month[0].mean, 60);
  absl::Time weeks_start = Utc(2026, 11, 2, 0);
  auto weeks = ComputeAggregates(Who5(), AggregatePeriod::kWeek, weeks_start,
                                 weeks_start + absl::Hours(24 * 28), false, values);
  ASSERT_EQ(weeks.size(), 4u);
  EXPECT_EQ(weeks[0].volunteer_count, 5);
  EXPECT_TRUE(weeks[2].suppressed);
}

// A week across two months splits into two segments: the part in one month cannot be taken
// from the week's figure and the other month's.
TEST(AggregatesTest, AWeekAcrossTwoMonthsIsTwoSegments) {
  std::vector<ScaleValue> values;
  // The ISO week of Monday 28 September 2026 ends on Sunday 4 October.
  AddVolunteers(values, "sept", 5, Utc(2026, 9, 29), 60);
  values.push_back({"oct", Utc(2026, 10, 2), "", 8});
  absl::Time week = Utc(2026, 9, 28, 0);
  auto cells = ComputeAggregates(Who5(), AggregatePeriod::kWeek, week,
                                 week + absl::Hours(24 * 7), false, values);
  ASSERT_EQ(cells.size(), 1u);
  EXPECT_EQ(cells[0].volunteer_count, 5);
  EXPECT_DOUBLE_EQ(cells[0].mean, 60);
}

// A total minus its session kinds would isolate the one volunteer of a small kind: totals hold
// only published kinds.
TEST(AggregatesTest, ATotalHoldsOnlySessionKindsThatArePublished) {
  std::vector<ScaleValue> values;
  AddVolunteers(values, "g", 6, Utc(2026, 11, 3), 60, "group");
  values.push_back({"solo", Utc(2026, 11, 3), "one_to_one", 8});
  auto by_kind = Months(values, 11, 1, true);
  ASSERT_EQ(by_kind.size(), 2u);
  EXPECT_EQ(by_kind[0].session_kind, "group");
  EXPECT_EQ(by_kind[0].volunteer_count, 6);
  EXPECT_EQ(by_kind[1].session_kind, "one_to_one");
  EXPECT_TRUE(by_kind[1].suppressed);
  auto total = Months(values, 11, 1, false);
  ASSERT_EQ(total.size(), 1u);
  EXPECT_EQ(total[0].session_kind, "");
  EXPECT_EQ(total[0].volunteer_count, 6);
  EXPECT_DOUBLE_EQ(total[0].mean, by_kind[0].mean);
}

// A cell's mean pooled from parts in which each volunteer contributes once (one segment each):
// their means weighted by their volunteers.
void ExpectPooled(const AggregateCell& whole, const std::vector<AggregateCell>& parts) {
  double sum = 0;
  int contributions = 0;
  for (const AggregateCell& part : parts) {
    ASSERT_FALSE(part.suppressed);
    sum += part.mean * part.volunteer_count;
    contributions += part.volunteer_count;
  }
  EXPECT_DOUBLE_EQ(whole.mean, sum / contributions);
}

// Five volunteers check in every week of November and a sixth once. Were the month the mean of
// each volunteer's own monthly mean, the month and its weeks together would give away the sixth
// one's score; pooled by week, they only restate the weeks.
TEST(AggregatesTest, AMonthIsItsWeeksPooledSoNoScoreCanBeWeighedOut) {
  std::vector<ScaleValue> values;
  for (int week = 0; week < 4; ++week) {
    for (int i = 0; i < 5; ++i) {
      values.push_back({absl::StrCat("a", i), Utc(2026, 11, 3 + 7 * week), "", 40.0 + 8 * i});
    }
  }
  values.push_back({"once", Utc(2026, 11, 10), "", 20});
  auto month = Months(values, 11, 1);
  absl::Time weeks_start = Utc(2026, 11, 2, 0);
  auto weeks = ComputeAggregates(Who5(), AggregatePeriod::kWeek, weeks_start,
                                 weeks_start + absl::Hours(24 * 28), false, values);
  ASSERT_EQ(month.size(), 1u);
  ASSERT_EQ(weeks.size(), 4u);
  EXPECT_EQ(month[0].volunteer_count, 6);
  EXPECT_EQ(weeks[1].volunteer_count, 6);
  ExpectPooled(month[0], weeks);
}

// Likewise a total and its session kinds, when volunteers work in several kinds.
TEST(AggregatesTest, ATotalIsItsSessionKindsPooled) {
  std::vector<ScaleValue> values;
  for (int i = 0; i < 5; ++i) {
    values.push_back({absl::StrCat("a", i), Utc(2026, 11, 3), "group", 40.0 + 8 * i});
    values.push_back({absl::StrCat("a", i), Utc(2026, 11, 4), "one_to_one", 76.0 - 8 * i});
  }
  values.push_back({"once", Utc(2026, 11, 4), "group", 20});
  auto total = Months(values, 11, 1);
  auto by_kind = Months(values, 11, 1, true);
  ASSERT_EQ(total.size(), 1u);
  ASSERT_EQ(by_kind.size(), 2u);
  EXPECT_EQ(total[0].volunteer_count, 6);
  ExpectPooled(total[0], by_kind);
}

TEST(AggregatesTest, ValuesOutsideTheWindowAreIgnored) {
  std::vector<ScaleValue> values;
  AddVolunteers(values, "a", 5, Utc(2026, 12, 1, 0), 60);
  auto cells = Months(values, 11, 1);
  ASSERT_EQ(cells.size(), 1u);
  EXPECT_TRUE(cells[0].suppressed);
}

}  // namespace
}  // namespace peerwell::checkin
