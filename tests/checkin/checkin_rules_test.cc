// Pure rules of the check-in domain: trends and due check-ins.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/checkin/checkin_service.h"

namespace peerwell::checkin {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);
absl::Time DaysAgo(int days) { return kNow - absl::Hours(24 * days); }

TEST(TrendTest, BaselineIsTheMedianOfThe90DaysBeforeTheLatestPoint) {
  Trend trend = ComputeTrend({{DaysAgo(120), 10},  // older than 90 days before the latest
                              {DaysAgo(60), 60},
                              {DaysAgo(40), 40},
                              {DaysAgo(20), 80},
                              {DaysAgo(0), 44}});
  ASSERT_TRUE(trend.baseline.has_value());
  EXPECT_EQ(*trend.baseline, 60);
  EXPECT_EQ(*trend.latest, 44);
  EXPECT_EQ(*trend.change, -16);
  EXPECT_EQ(trend.points.size(), 5u);
}

TEST(TrendTest, EvenCountAveragesTheMiddleTwo) {
  Trend trend = ComputeTrend({{DaysAgo(30), 40}, {DaysAgo(20), 50}, {DaysAgo(0), 70}});
  EXPECT_EQ(*trend.baseline, 45);
  EXPECT_EQ(*trend.change, 25);
}

TEST(TrendTest, NoBaselineWithoutEarlierPoints) {
  Trend single = ComputeTrend({{kNow, 52}});
  EXPECT_FALSE(single.baseline.has_value());
  EXPECT_FALSE(single.change.has_value());
  EXPECT_EQ(*single.latest, 52);
  EXPECT_FALSE(ComputeTrend({}).latest.has_value());
}

TEST(DueCheckinsTest, FirstCheckinsAreDueAtOnce) {
  auto due = ComputeDueCheckins(DefaultCheckinSettings(), {}, {}, {}, kNow);
  ASSERT_EQ(due.size(), 3u);
  for (const auto& entry : due) {
    EXPECT_EQ(entry.reason, "first_checkin");
    EXPECT_EQ(entry.due_time, kNow);
  }
}

TEST(DueCheckinsTest, CadenceFromTheLastCheckin) {
  std::map<std::string, absl::Time> last{
      {"who5", DaysAgo(14)}, {"cbi", DaysAgo(29)}, {"proqol5", DaysAgo(91)}};
  auto due = ComputeDueCheckins(DefaultCheckinSettings(), last, {}, {}, kNow);
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[0].instrument_id, "proqol5");  // earliest due first
  EXPECT_EQ(due[0].due_time, DaysAgo(1));
  EXPECT_EQ(due[1].instrument_id, "who5");
  EXPECT_EQ(due[1].due_time, kNow);
}

TEST(DueCheckinsTest, IncidentFollowUpsAtSevenAndThirtyDays) {
  std::map<std::string, absl::Time> last{
      {"who5", DaysAgo(2)}, {"cbi", DaysAgo(2)}, {"proqol5", DaysAgo(2)}};
  // Six days after the incident: nothing yet.
  EXPECT_TRUE(
      ComputeDueCheckins(DefaultCheckinSettings(), last, {DaysAgo(2)}, {DaysAgo(6)}, kNow).empty());
  // Seven days after: a WHO-5 follow-up, until one is completed after it.
  auto due = ComputeDueCheckins(DefaultCheckinSettings(), last, {DaysAgo(2)}, {DaysAgo(7)}, kNow);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].reason, "incident_follow_up");
  EXPECT_EQ(due[0].due_time, kNow);
  EXPECT_TRUE(
      ComputeDueCheckins(DefaultCheckinSettings(), last, {kNow}, {DaysAgo(7)}, kNow).empty());
  // Thirty days after, the second follow-up, even though the first was done.
  due = ComputeDueCheckins(DefaultCheckinSettings(), last, {DaysAgo(23)}, {DaysAgo(30)}, kNow);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].due_time, kNow);
  // Long past both: no more nagging.
  EXPECT_TRUE(ComputeDueCheckins(DefaultCheckinSettings(), last, {DaysAgo(2)}, {DaysAgo(90)}, kNow)
                  .empty());
}

TEST(DueCheckinsTest, OrganisationCadenceReplacesTheDefault) {
  CheckinSettings settings;
  settings.cadence_days = {{"who5", 7}};
  auto due = ComputeDueCheckins(settings, {{"who5", DaysAgo(8)}}, {}, {}, kNow);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].due_time, DaysAgo(1));
}

}  // namespace
}  // namespace peerwell::checkin
