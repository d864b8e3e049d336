// Golden tests of the risk rules at and around their thresholds (SPEC §4 defaults).
#include "services/alerts/risk_rules.h"

#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace peerwell::alerts {
namespace {

using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);
absl::Time DaysAgo(double days) { return kNow - absl::Hours(24 * days); }

VolunteerHistory WithScores(const std::string& scale,
                            std::vector<std::pair<double, double>> days_ago_and_values) {
  VolunteerHistory history;
  for (const auto& [days, value] : days_ago_and_values) {
    history.scores[scale].push_back({DaysAgo(days), value});
  }
  return history;
}

std::optional<RuleHit> Find(const std::vector<RuleHit>& hits, const std::string& rule) {
  for (const RuleHit& hit : hits) {
    if (hit.rule_id == rule) return hit;
  }
  return std::nullopt;
}

std::optional<RuleHit> Evaluate(const VolunteerHistory& history, const std::string& instrument,
                                const std::string& rule, const AlertPolicy& policy = {}) {
  return Find(EvaluateCheckinRules(policy, history, instrument, kNow), rule);
}

TEST(BaselineTest, MedianOfThePrevious90DaysOnly) {
  std::vector<ScorePoint> points{
      {DaysAgo(100), 90}, {DaysAgo(80), 40}, {DaysAgo(50), 60}, {DaysAgo(20), 50}, {kNow, 10}};
  EXPECT_EQ(*Baseline(points, kNow, absl::Hours(24 * 90)), 50);
  EXPECT_EQ(*Baseline(points, DaysAgo(20), absl::Hours(24 * 90)), 60);  // 90, 40 and 60
  EXPECT_FALSE(Baseline(points, DaysAgo(100), absl::Hours(24 * 90)).has_value());
}

TEST(CbiRiseTest, FiresAtFifteenPointsAboveTheOwnMedian) {
  EXPECT_FALSE(
      Evaluate(WithScores("cbi_volunteering", {{60, 40}, {30, 40}, {0, 54}}), "cbi", "cbi_rise"));
  auto hit =
      Evaluate(WithScores("cbi_volunteering", {{60, 40}, {30, 40}, {0, 55}}), "cbi", "cbi_rise");
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->priority, Priority::kMedium);
  ASSERT_EQ(hit->factors.size(), 1u);
  EXPECT_EQ(hit->factors[0].factor_id, "cbi_volunteering");
  EXPECT_EQ(hit->factors[0].value, 15);
  EXPECT_EQ(hit->factors[0].threshold, 15);
  EXPECT_THAT(hit->factors[0].description, HasSubstr("Volunteering-related burnout"));
}

TEST(CbiRiseTest, SecondConsecutiveRiseIsHighPriorityInOneHit) {
  // 40, then 55 (15 above 40), then 75 (27.5 above the median 47.5 of 40 and 55).
  auto hit =
      Evaluate(WithScores("cbi_volunteering", {{60, 40}, {30, 55}, {0, 75}}), "cbi", "cbi_rise");
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->priority, Priority::kHigh);
  EXPECT_EQ(hit->factors[0].value, 27.5);
  EXPECT_THAT(hit->factors[0].description, HasSubstr("second check-in in a row"));
  // A rise after a non-rise is not the second.
  auto single =
      Evaluate(WithScores("cbi_volunteering", {{60, 40}, {30, 45}, {0, 75}}), "cbi", "cbi_rise");
  EXPECT_EQ(single->priority, Priority::kMedium);
}

TEST(CbiRiseTest, NeedsABaselineInsideTheWindow) {
  EXPECT_FALSE(Evaluate(WithScores("cbi_personal", {{0, 90}}), "cbi", "cbi_rise"));
  EXPECT_FALSE(Evaluate(WithScores("cbi_personal", {{120, 10}, {0, 90}}), "cbi", "cbi_rise"));
  AlertPolicy strict;
  strict.cbi_rise_points = 20;
  EXPECT_FALSE(
      Evaluate(WithScores("cbi_personal", {{30, 40}, {0, 59}}), "cbi", "cbi_rise", strict));
}

TEST(CbiRiseTest, SeveralSubscalesMakeOneAlertWithAFactorEach) {
  VolunteerHistory history = WithScores("cbi_personal", {{30, 30}, {0, 50}});
  history.scores["cbi_people_supported"] = {{DaysAgo(30), 20}, {kNow, 40}};
  auto hit = Evaluate(history, "cbi", "cbi_rise");
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->factors.size(), 2u);
  EXPECT_DOUBLE_EQ(hit->factors[0].contribution + hit->factors[1].contribution, 20);
}

TEST(CbiHighTest, FiresAtFiftyUnlessTurnedOff) {
  EXPECT_FALSE(Evaluate(WithScores("cbi_personal", {{0, 49.99}}), "cbi", "cbi_high"));
  auto hit = Evaluate(WithScores("cbi_personal", {{0, 50}}), "cbi", "cbi_high");
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->priority, Priority::kMedium);
  AlertPolicy off;
  off.cbi_high_enabled = false;
  EXPECT_FALSE(Evaluate(WithScores("cbi_personal", {{0, 100}}), "cbi", "cbi_high", off));
}

TEST(Who5DropTest, TenPointsBelowBaselineIsMediumAndTwentyEightOrLessIsHigh) {
  EXPECT_FALSE(Evaluate(WithScores("who5", {{28, 60}, {14, 60}, {0, 52}}), "who5", "who5_drop"));
  auto drop = Evaluate(WithScores("who5", {{28, 60}, {14, 60}, {0, 48}}), "who5", "who5_drop");
  ASSERT_TRUE(drop.has_value());
  EXPECT_EQ(drop->priority, Priority::kMedium);
  EXPECT_EQ(drop->factors[0].value, 12);
  auto edge = Evaluate(WithScores("who5", {{14, 60}, {0, 50}}), "who5", "who5_drop");
  ASSERT_TRUE(edge.has_value());  // exactly 10 points
  auto low = Evaluate(WithScores("who5", {{28, 60}, {14, 60}, {0, 28}}), "who5", "who5_drop");
  ASSERT_TRUE(low.has_value());
  EXPECT_EQ(low->priority, Priority::kHigh);
  EXPECT_EQ(low->factors.size(), 2u);  // the drop and the low value
  auto low_alone = Evaluate(WithScores("who5", {{0, 28}}), "who5", "who5_drop");
  ASSERT_TRUE(low_alone.has_value());
  EXPECT_EQ(low_alone->priority, Priority::kHigh);
  EXPECT_FALSE(Evaluate(WithScores("who5", {{0, 32}}), "who5", "who5_drop"));
}

TEST(ProqolHighTest, BurnoutOrSecondaryStressOfFortyTwo) {
  EXPECT_FALSE(Evaluate(WithScores("proqol_burnout", {{0, 41}}), "proqol5", "proqol_high"));
  EXPECT_TRUE(Evaluate(WithScores("proqol_burnout", {{0, 42}}), "proqol5", "proqol_high"));
  EXPECT_TRUE(Evaluate(WithScores("proqol_secondary_traumatic_stress", {{0, 42}}), "proqol5",
                       "proqol_high"));
  EXPECT_FALSE(
      Evaluate(WithScores("proqol_compassion_satisfaction", {{0, 50}}), "proqol5", "proqol_high"));
}

TEST(TalkRepeatedTest, TwoStayedOrTalkAnswersInFourteenDays) {
  VolunteerHistory history;
  history.pulses = {{DaysAgo(3), true, false}};
  EXPECT_FALSE(Evaluate(history, "pulse", "talk_repeated"));
  history.pulses.push_back({kNow, false, true});
  auto hit = Evaluate(history, "pulse", "talk_repeated");
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->factors[0].value, 2);
  history.pulses = {{DaysAgo(15), true, true}, {kNow, true, false}, {DaysAgo(1), false, false}};
  EXPECT_FALSE(Evaluate(history, "pulse", "talk_repeated"));
}

TEST(HoursOverCommitmentTest, MoreThanOneQuarterOverTheMonthlyCommitment) {
  VolunteerHistory history;
  history.commitment_hours_per_month = 20;  // limit 25 hours
  history.hours = {{DaysAgo(30), 40}, {DaysAgo(20), 12.5}, {DaysAgo(1), 12.5}};
  EXPECT_FALSE(Evaluate(history, "pulse", "hours_over_commitment"));
  history.hours.push_back({kNow, 0.5});
  auto hit = Evaluate(history, "pulse", "hours_over_commitment");
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->priority, Priority::kLow);
  EXPECT_EQ(hit->factors[0].value, 25.5);
  EXPECT_EQ(hit->factors[0].threshold, 25);
  history.commitment_hours_per_month = 0;
  EXPECT_FALSE(Evaluate(history, "pulse", "hours_over_commitment"));
}

TEST(RuleScopeTest, ACheckinFiresOnlyItsInstrumentsRules) {
  VolunteerHistory history = WithScores("cbi_personal", {{0, 80}});
  history.scores["who5"] = {{kNow, 20}};
  EXPECT_FALSE(Evaluate(history, "who5", "cbi_high"));
  EXPECT_TRUE(Evaluate(history, "who5", "who5_drop"));
  EXPECT_EQ(EvaluateCheckinRules({}, history, "", kNow).size(), 2u);  // everything
}

TEST(CheckinsMissedTest, TwentyOneDaysWithoutACheckinFromAnActiveVolunteer) {
  VolunteerHistory history;
  history.last_checkin = DaysAgo(20.9);
  EXPECT_FALSE(CheckinsMissedHit({}, history, kNow));
  history.last_checkin = DaysAgo(21);
  auto hit = CheckinsMissedHit({}, history, kNow);
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->priority, Priority::kLow);
  history.active = false;
  EXPECT_FALSE(CheckinsMissedHit({}, history, kNow));
}

TEST(EventRulesTest, IncidentIsCriticalSupportIsHighOverdueIsLow) {
  EXPECT_EQ(CriticalIncidentHit("aggression", kNow).priority, Priority::kCritical);
  EXPECT_THAT(SupportRequestedHit("pulse", false).factors[0].description,
              HasSubstr("after a session"));
  EXPECT_EQ(SupportRequestedHit("request", true).priority, Priority::kHigh);
  EXPECT_FALSE(SupervisionOverdueHit(0).has_value());
  EXPECT_EQ(SupervisionOverdueHit(3)->priority, Priority::kLow);
}

TEST(RiskProfileTest, SumsContributionsIntoBands) {
  EXPECT_EQ(ComposeRiskProfile({}).band, RiskBand::kLow);
  EXPECT_EQ(ComposeRiskProfile({}).risk_score, 0);
  RuleHit rise = *Evaluate(WithScores("cbi_volunteering", {{30, 40}, {0, 60}}), "cbi", "cbi_rise");
  EXPECT_EQ(ComposeRiskProfile({rise}).risk_score, 20);
  EXPECT_EQ(ComposeRiskProfile({rise}).band, RiskBand::kLow);
  VolunteerHistory busy;
  busy.commitment_hours_per_month = 4;
  busy.hours = {{kNow, 10}};
  RuleHit hours = *Evaluate(busy, "pulse", "hours_over_commitment");
  EXPECT_EQ(ComposeRiskProfile({rise, hours}).risk_score, 25);
  EXPECT_EQ(ComposeRiskProfile({rise, hours}).band, RiskBand::kModerate);
  RiskProfile serious = ComposeRiskProfile(
      {CriticalIncidentHit("aggression", kNow), SupportRequestedHit("request", true)});
  EXPECT_EQ(serious.risk_score, 65);
  EXPECT_EQ(serious.band, RiskBand::kHigh);
  EXPECT_EQ(serious.factors[0].factor_id, "critical_incident");  // biggest first
  RuleHit low = *Evaluate(WithScores("who5", {{14, 80}, {0, 20}}), "who5", "who5_drop");
  RiskProfile severe = ComposeRiskProfile(
      {CriticalIncidentHit("aggression", kNow), SupportRequestedHit("request", true), low});
  EXPECT_EQ(severe.risk_score, 100);  // 40 + 25 + 15 + 25, capped
  EXPECT_EQ(severe.band, RiskBand::kSevere);
}

TEST(RedactFactorTest, DropsEveryScoreAndPassesOnlyFactsWithoutOne) {
  Factor cbi{"cbi_personal", "Personal burnout (CBI) is 71, above 60.", 71, 60, 12};
  Factor redacted = RedactFactor(cbi);
  EXPECT_EQ(redacted.description, "Personal burnout (CBI) is a factor.");
  EXPECT_EQ(redacted.value, 0);
  EXPECT_EQ(redacted.threshold, 0);
  EXPECT_EQ(redacted.contribution, 12);
  // A factor no one has worded yet is private by default, not passed through.
  Factor unknown{"new_scale_high", "New scale is 93.", 93, 80, 5};
  EXPECT_EQ(RedactFactor(unknown).description, "A wellbeing score is a factor.");
  EXPECT_EQ(RedactFactor(unknown).value, 0);
  Factor incident{"critical_incident", "An aggression incident was reported.", 0, 0, 40};
  EXPECT_EQ(RedactFactor(incident).description, incident.description);
}

TEST(AllRuleIdsTest, NamesEveryRuleThatCanFire) {
  // Open alerts are looked up by these ids: a rule missing here would never count as open.
  std::set<std::string> known(AllRuleIds().begin(), AllRuleIds().end());
  absl::Time now = absl::FromUnixSeconds(1'790'000'000);
  VolunteerHistory history;
  history.active = true;
  history.commitment_hours_per_month = 10;
  history.last_checkin = now - absl::Hours(24 * 60);
  for (int day = 119; day >= 0; day -= 7) {
    absl::Time t = now - absl::Hours(24 * day);
    bool last = day == 0;
    for (const char* scale : {"cbi_personal", "cbi_volunteering", "cbi_people_supported"}) {
      history.scores[scale].push_back({t, last ? 95.0 : 20.0});
    }
    history.scores["who5"].push_back({t, last ? 0.0 : 80.0});
    history.scores["proqol_burnout"].push_back({t, 50});
    history.pulses.push_back({t, true, false});
    history.hours.push_back({t, 30});
  }
  std::set<std::string> fired;
  for (const RuleHit& hit : EvaluateCheckinRules({}, history, "", now)) fired.insert(hit.rule_id);
  fired.insert(CriticalIncidentHit("aggression", now).rule_id);
  fired.insert(SupportRequestedHit("request", false).rule_id);
  fired.insert(CheckinsMissedHit({}, history, now)->rule_id);
  fired.insert(SupervisionOverdueHit(30)->rule_id);
  EXPECT_EQ(fired, known);
}

}  // namespace
}  // namespace peerwell::alerts
