// Golden scoring tests, worked out by hand from each instrument's published scoring rules.
#include "services/checkin/scoring.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/checkin/instrument_registry.h"

namespace peerwell::checkin {
namespace {

using ::testing::HasSubstr;

struct Expected {
  double value;
  std::string band;
};

struct Golden {
  std::string name;
  std::vector<Answer> answers;
  std::map<std::string, Expected> scores;  // scales not listed must be absent
};

// Answers "1".."n" from a list of values; kSkip leaves an item unanswered.
constexpr int kSkip = -1000;
std::vector<Answer> Numbered(std::vector<int> values, int first = 1) {
  std::vector<Answer> answers;
  for (size_t i = 0; i < values.size(); ++i) {
    if (values[i] != kSkip) answers.push_back({absl::StrCat(first + i), values[i]});
  }
  return answers;
}

void ExpectGolden(const std::string& instrument_id, const std::vector<Golden>& cases) {
  const Instrument* instrument = FindInstrument(instrument_id);
  ASSERT_NE(instrument, nullptr);
  for (const Golden& golden : cases) {
    auto scores = ValidateAndScore(*instrument, golden.answers);
    ASSERT_TRUE(scores.ok()) << golden.name << ": " << scores.status();
    std::map<std::string, Score> by_scale;
    for (const Score& score : *scores) by_scale[score.scale_id] = score;
    EXPECT_EQ(by_scale.size(), golden.scores.size()) << golden.name;
    for (const auto& [scale, expected] : golden.scores) {
      ASSERT_EQ(by_scale.count(scale), 1u) << golden.name << ": no " << scale;
      EXPECT_NEAR(by_scale[scale].value, expected.value, 0.005) << golden.name << " " << scale;
      EXPECT_EQ(by_scale[scale].band, expected.band) << golden.name << " " << scale;
    }
  }
}

absl::Status Validate(const std::string& instrument_id, const std::vector<Answer>& answers) {
  return ValidateAnswers(*FindInstrument(instrument_id), answers);
}

// --- WHO-5: raw 0-25, percentage = raw x 4; <= 28 likely depression, <= 50 poor -------------

TEST(Who5ScoringTest, GoldenCases) {
  ExpectGolden(
      "who5",
      {
          {"best", Numbered({5, 5, 5, 5, 5}), {{"who5_raw", {25, ""}}, {"who5", {100, "good"}}}},
          {"worst",
           Numbered({0, 0, 0, 0, 0}),
           {{"who5_raw", {0, ""}}, {"who5", {0, "likely_depression"}}}},
          {"28 is likely depression",
           Numbered({2, 2, 1, 1, 1}),
           {{"who5_raw", {7, ""}}, {"who5", {28, "likely_depression"}}}},
          {"32 is poor",
           Numbered({2, 2, 2, 1, 1}),
           {{"who5_raw", {8, ""}}, {"who5", {32, "poor"}}}},
          {"48 is poor",
           Numbered({3, 3, 2, 2, 2}),
           {{"who5_raw", {12, ""}}, {"who5", {48, "poor"}}}},
          {"52 is good",
           Numbered({3, 3, 3, 2, 2}),
           {{"who5_raw", {13, ""}}, {"who5", {52, "good"}}}},
          {"mixed answers in any order",
           {{"5", 1}, {"3", 5}, {"1", 4}, {"4", 0}, {"2", 3}},
           {{"who5_raw", {13, ""}}, {"who5", {52, "good"}}}},
      });
}

TEST(Who5ScoringTest, RefusesMissingOrOutOfRangeAnswers) {
  EXPECT_THAT(Validate("who5", Numbered({5, 5, 5, 5})).message(), HasSubstr("item 5"));
  absl::Status six = Validate("who5", Numbered({5, 5, 6, 5, 5}));
  EXPECT_EQ(six.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(six.message(), HasSubstr("answers[2].value"));
  EXPECT_THAT(Validate("who5", Numbered({5, 5, 5, 5, 5, 5})).message(), HasSubstr("answers"));
}

// --- CBI: 100/75/50/25/0, item 13 reversed, mean of answered items if at least half ----------

TEST(CbiScoringTest, GoldenCases) {
  ExpectGolden(
      "cbi",
      {
          {"personal all always",
           Numbered({100, 100, 100, 100, 100, 100}),
           {{"cbi_personal", {100, "severe"}}}},
          {"personal all never", Numbered({0, 0, 0, 0, 0, 0}), {{"cbi_personal", {0, "low"}}}},
          {"personal exactly 50 is moderate",
           Numbered({50, 50, 50, 50, 50, 50}),
           {{"cbi_personal", {50, "moderate"}}}},
          {"personal 62.5",
           Numbered({50, 50, 50, 75, 75, 75}),
           {{"cbi_personal", {62.5, "moderate"}}}},
          {"personal exactly 75 is high",
           Numbered({75, 75, 75, 75, 75, 75}),
           {{"cbi_personal", {75, "high"}}}},
          {"personal three of six answered",
           Numbered({50, 50, 25, kSkip, kSkip, kSkip}),
           {{"cbi_personal", {41.667, "low"}}}},
          {"personal two of six answered is absent",
           Numbered({100, 100, kSkip, kSkip, kSkip, kSkip, 50, 50, 50, 50, kSkip, kSkip, kSkip}),
           {{"cbi_volunteering", {50, "moderate"}}}},
          {"item 13 always has energy: reversed to 0",
           Numbered({50, 50, 50, 50, 50, 50, 100}, 7),
           {{"cbi_volunteering", {42.857, "low"}}}},
          {"item 13 never has energy: reversed to 100",
           Numbered({50, 50, 50, 50, 50, 50, 0}, 7),
           {{"cbi_volunteering", {57.143, "moderate"}}}},
          {"volunteering four of seven answered",
           Numbered({75, 75, 75, kSkip, kSkip, kSkip, 25}, 7),
           {{"cbi_volunteering", {75, "high"}}}},
          {"volunteering three of seven is absent",
           Numbered({75, 75, 75, kSkip, kSkip, kSkip, kSkip, 25, 25, 25}, 7),
           {{"cbi_people_supported", {25, "low"}}}},
          {"people supported 87.5",
           Numbered({100, 75, 100, 75, 100, 75}, 14),
           {{"cbi_people_supported", {87.5, "high"}}}},
          {"people supported just under 100 is high",
           Numbered({100, 100, 100, 100, 100, 75}, 14),
           {{"cbi_people_supported", {95.833, "high"}}}},
          {"people supported three of six",
           Numbered({kSkip, kSkip, kSkip, 0, 25, 50}, 14),
           {{"cbi_people_supported", {25, "low"}}}},
          {"all three scales at their maximum",
           Numbered({100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 0, 100, 100, 100,
                     100, 100, 100}),
           {{"cbi_personal", {100, "severe"}},
            {"cbi_volunteering", {100, "severe"}},
            {"cbi_people_supported", {100, "severe"}}}},
      });
}

TEST(CbiScoringTest, RefusesValuesThatAreNotOptions) {
  absl::Status status = Validate("cbi", {{"1", 60}});
  EXPECT_THAT(status.message(), HasSubstr("answers[0].value"));
  EXPECT_THAT(status.message(), HasSubstr("100, 75, 50, 25, 0"));
  EXPECT_THAT(Validate("cbi", {{"20", 50}}).message(), HasSubstr("answers[0].item_id"));
  EXPECT_THAT(Validate("cbi", {{"3", 50}, {"3", 75}}).message(), HasSubstr("twice"));
  EXPECT_TRUE(Validate("cbi", {}).ok());  // every item optional: the scale rules decide
  EXPECT_THAT(ValidateAndScore(*FindInstrument("cbi"), {{"1", 50}}).status().message(),
              HasSubstr("too few answers"));
}

// --- ProQOL 5: sums of 10 items 1-5; burnout 1, 4, 15, 17, 29 reversed; <= 22 / 23-41 / >= 42 -

std::vector<int> Proqol(std::map<int, int> overrides, int rest) {
  std::vector<int> values(30, rest);
  for (const auto& [item, value] : overrides) values[item - 1] = value;
  return values;
}

TEST(Proqol5ScoringTest, GoldenCases) {
  const std::vector<int> cs = {3, 6, 12, 16, 18, 20, 22, 24, 27, 30};
  const std::vector<int> sts = {2, 5, 7, 9, 11, 13, 14, 23, 25, 28};
  auto with = [](const std::vector<int>& items, int value, std::map<int, int> base = {}) {
    for (int item : items) base[item] = value;
    return base;
  };
  ExpectGolden(
      "proqol5",
      {
          {"all sometimes",
           Numbered(Proqol({}, 3)),
           {{"proqol_compassion_satisfaction", {30, "moderate"}},
            {"proqol_burnout", {30, "moderate"}},
            {"proqol_secondary_traumatic_stress", {30, "moderate"}}}},
          {"high satisfaction, low stress",
           Numbered(Proqol(with(sts, 1, with(cs, 5)), 3)),
           {{"proqol_compassion_satisfaction", {50, "high"}},
            {"proqol_burnout", {30, "moderate"}},
            {"proqol_secondary_traumatic_stress", {10, "low"}}}},
          {"reversed burnout items answered very often",
           Numbered(Proqol({{1, 5},
                            {4, 5},
                            {15, 5},
                            {17, 5},
                            {29, 5},
                            {8, 1},
                            {10, 1},
                            {19, 1},
                            {21, 1},
                            {26, 1}},
                           3)),
           {{"proqol_compassion_satisfaction", {30, "moderate"}},
            {"proqol_burnout", {10, "low"}},
            {"proqol_secondary_traumatic_stress", {30, "moderate"}}}},
          {"reversed burnout items answered never",
           Numbered(Proqol({{1, 1},
                            {4, 1},
                            {15, 1},
                            {17, 1},
                            {29, 1},
                            {8, 5},
                            {10, 5},
                            {19, 5},
                            {21, 5},
                            {26, 5}},
                           3)),
           {{"proqol_compassion_satisfaction", {30, "moderate"}},
            {"proqol_burnout", {50, "high"}},
            {"proqol_secondary_traumatic_stress", {30, "moderate"}}}},
          {"22 is low",
           Numbered(Proqol(with({3, 6}, 3, with(cs, 2)), 3)),
           {{"proqol_compassion_satisfaction", {22, "low"}},
            {"proqol_burnout", {30, "moderate"}},
            {"proqol_secondary_traumatic_stress", {30, "moderate"}}}},
          {"23 is moderate",
           Numbered(Proqol(with({3, 6, 12}, 3, with(cs, 2)), 3)),
           {{"proqol_compassion_satisfaction", {23, "moderate"}},
            {"proqol_burnout", {30, "moderate"}},
            {"proqol_secondary_traumatic_stress", {30, "moderate"}}}},
          {"41 is moderate",
           Numbered(Proqol(with({3}, 5, with(cs, 4)), 3)),
           {{"proqol_compassion_satisfaction", {41, "moderate"}},
            {"proqol_burnout", {30, "moderate"}},
            {"proqol_secondary_traumatic_stress", {30, "moderate"}}}},
          {"42 is high",
           Numbered(Proqol(with({3, 6}, 5, with(cs, 4)), 3)),
           {{"proqol_compassion_satisfaction", {42, "high"}},
            {"proqol_burnout", {30, "moderate"}},
            {"proqol_secondary_traumatic_stress", {30, "moderate"}}}},
          {"a missing stress item leaves that scale out",
           [] {
             auto answers = Numbered(Proqol({}, 4));
             answers.erase(answers.begin() + 27);  // item 28
             return answers;
           }(),
           {
               {"proqol_compassion_satisfaction", {40, "moderate"}},
               {"proqol_burnout", {30, "moderate"}},  // 5 reversed items 4 -> 2, 5 others 4
           }},
      });
}

// --- SWEMWBS: raw 7-35 through the official conversion table ----------------------------------

TEST(SwemwbsScoringTest, GoldenCases) {
  ExpectGolden("swemwbs",
               {
                   {"lowest", Numbered({1, 1, 1, 1, 1, 1, 1}), {{"swemwbs", {7.00, ""}}}},
                   {"raw 8", Numbered({2, 1, 1, 1, 1, 1, 1}), {{"swemwbs", {9.51, ""}}}},
                   {"raw 21", Numbered({3, 3, 3, 3, 3, 3, 3}), {{"swemwbs", {19.25, ""}}}},
                   {"raw 29", Numbered({5, 5, 5, 5, 3, 3, 3}), {{"swemwbs", {26.02, ""}}}},
                   {"raw 34", Numbered({5, 5, 5, 5, 5, 5, 4}), {{"swemwbs", {32.55, ""}}}},
                   {"highest", Numbered({5, 5, 5, 5, 5, 5, 5}), {{"swemwbs", {35.00, ""}}}},
               });
  EXPECT_THAT(Validate("swemwbs", Numbered({3, 3, 3, 3, 3, 3})).message(), HasSubstr("item 7"));
}

TEST(SwemwbsScoringTest, ConversionTableCoversEveryRawScore) {
  const Instrument* swemwbs = FindInstrument("swemwbs");
  const auto& table = swemwbs->scales.at(0).table;
  ASSERT_EQ(table.size(), 29u);
  for (size_t i = 0; i < table.size(); ++i) {
    EXPECT_EQ(table[i].first, static_cast<int>(7 + i));
    if (i > 0) {
      EXPECT_GT(table[i].second, table[i - 1].second);
    }
  }
}

// --- pulse: no score, but strict answers -----------------------------------------------------

TEST(PulseScoringTest, HasNoScoreAndStrictAnswers) {
  ExpectGolden("pulse", {
                            {"tired, something stayed, wants to talk",
                             {{"energy", 2}, {"stayed_with_me", 1}, {"want_to_talk", 1}},
                             {}},
                        });
  EXPECT_THAT(
      Validate("pulse", {{"energy", 0}, {"stayed_with_me", 0}, {"want_to_talk", 0}}).message(),
      HasSubstr("answers[0].value"));
  EXPECT_THAT(
      Validate("pulse", {{"energy", 3}, {"stayed_with_me", 2}, {"want_to_talk", 0}}).message(),
      HasSubstr("answers[1].value"));
  EXPECT_THAT(Validate("pulse", {{"energy", 3}, {"want_to_talk", 0}}).message(),
              HasSubstr("item stayed_with_me"));
}

// --- the registry ---------------------------------------------------------------------------

TEST(InstrumentRegistryTest, SwemwbsOnlyForRegisteredOrganisations) {
  auto ids = [](const std::vector<const Instrument*>& instruments) {
    std::vector<std::string> out;
    for (const Instrument* instrument : instruments) out.push_back(instrument->id);
    return out;
  };
  EXPECT_THAT(ids(EnabledInstruments(false)),
              ::testing::ElementsAre("pulse", "who5", "cbi", "proqol5"));
  EXPECT_THAT(ids(EnabledInstruments(true)),
              ::testing::ElementsAre("pulse", "who5", "cbi", "proqol5", "swemwbs"));
}

TEST(InstrumentRegistryTest, EveryInstrumentIsAttributedAndConsistent) {
  for (const Instrument& instrument : AllInstruments()) {
    EXPECT_FALSE(instrument.attribution.empty()) << instrument.id;
    EXPECT_FALSE(instrument.licence.empty()) << instrument.id;
    EXPECT_FALSE(instrument.recall_period.empty()) << instrument.id;
    for (const Scale& scale : instrument.scales) {
      for (const std::string& item : scale.item_ids) {
        EXPECT_NE(instrument.FindItem(item), nullptr) << instrument.id << " " << scale.id;
      }
    }
  }
  const Instrument* proqol = FindInstrument("proqol5");
  EXPECT_THAT(proqol->attribution, HasSubstr("Center for Victims of Torture"));
  EXPECT_THAT(proqol->attribution, HasSubstr("www.ProQOL.org"));
  EXPECT_THAT(proqol->adaptation, HasSubstr("Adapted from the ProQOL"));
  EXPECT_THAT(FindInstrument("cbi")->adaptation, HasSubstr("volunteering"));
  EXPECT_THAT(FindInstrument("cbi")->FindItem("13")->text, HasSubstr("family and friends"));
  EXPECT_TRUE(FindInstrument("cbi")->FindItem("13")->reversed);
  int reversed = 0;
  for (const Item& item : proqol->items) reversed += item.reversed ? 1 : 0;
  EXPECT_EQ(reversed, 5);
}

}  // namespace
}  // namespace peerwell::checkin
