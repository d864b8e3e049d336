#include "services/alerts/risk_rules.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace peerwell::alerts {
namespace {

// Risk-score points per rule (docs/RISK.md explains the choice).
constexpr double kCriticalIncidentPoints = 40;
constexpr double kSupportRequestedPoints = 25;
constexpr double kCbiRisePoints = 20;
constexpr double kCbiSecondRisePoints = 30;
constexpr double kCbiHighPoints = 10;
constexpr double kWho5DropPoints = 15;
constexpr double kWho5LowPoints = 25;
constexpr double kProqolHighPoints = 10;
constexpr double kTalkRepeatedPoints = 10;
constexpr double kHoursOverPoints = 5;
constexpr double kCheckinsMissedPoints = 5;
constexpr double kSupervisionOverduePoints = 5;

const std::map<std::string, std::string>& ScaleNames() {
  static const auto* names = new std::map<std::string, std::string>{
      {"cbi_personal", "Personal burnout (CBI)"},
      {"cbi_volunteering", "Volunteering-related burnout (CBI)"},
      {"cbi_people_supported", "Burnout related to the people supported (CBI)"},
      {"proqol_burnout", "Burnout (ProQOL)"},
      {"proqol_secondary_traumatic_stress", "Secondary traumatic stress (ProQOL)"},
  };
  return *names;
}

std::string Number(double value) { return absl::StrFormat("%.3g", value); }

// Shares the rule's risk points among its factors.
RuleHit Finish(RuleHit hit, double points) {
  for (Factor& factor : hit.factors) factor.contribution = points / hit.factors.size();
  return hit;
}

const std::vector<ScorePoint>* Points(const VolunteerHistory& history, const std::string& scale) {
  auto it = history.scores.find(scale);
  return it == history.scores.end() || it->second.empty() ? nullptr : &it->second;
}

bool Applies(const std::string& instrument_id, const char* rule_instrument) {
  return instrument_id.empty() || instrument_id == rule_instrument;
}

// The rise of the point at `index` over its own baseline, if it has one.
std::optional<double> RiseAt(const std::vector<ScorePoint>& points, size_t index,
                             absl::Duration window) {
  std::vector<ScorePoint> before(points.begin(), points.begin() + index);
  auto baseline = Baseline(before, points[index].time, window);
  if (!baseline.has_value()) return std::nullopt;
  return points[index].value - *baseline;
}

std::optional<RuleHit> CbiRise(const AlertPolicy& policy, const VolunteerHistory& history) {
  RuleHit hit{"cbi_rise", Priority::kMedium, {}};
  bool second = false;
  for (const auto& [scale, name] : ScaleNames()) {
    if (scale.rfind("cbi_", 0) != 0) continue;
    const auto* points = Points(history, scale);
    if (points == nullptr) continue;
    size_t last = points->size() - 1;
    auto rise = RiseAt(*points, last, policy.baseline_window);
    if (!rise.has_value() || *rise < policy.cbi_rise_points) continue;
    bool consecutive = false;
    if (last > 0) {
      auto previous = RiseAt(*points, last - 1, policy.baseline_window);
      consecutive = previous.has_value() && *previous >= policy.cbi_rise_points;
    }
    second = second || consecutive;
    hit.factors.push_back(
        {scale,
         absl::StrCat(name, " rose to ", Number(points->back().value), ", ", Number(*rise),
                      " points above the volunteer's own usual level",
                      consecutive ? ", for the second check-in in a row." : "."),
         *rise, policy.cbi_rise_points, 0});
  }
  if (hit.factors.empty()) return std::nullopt;
  if (second) hit.priority = Priority::kHigh;
  return Finish(std::move(hit), second ? kCbiSecondRisePoints : kCbiRisePoints);
}

std::optional<RuleHit> CbiHigh(const AlertPolicy& policy, const VolunteerHistory& history) {
  if (!policy.cbi_high_enabled) return std::nullopt;
  RuleHit hit{"cbi_high", Priority::kMedium, {}};
  for (const auto& [scale, name] : ScaleNames()) {
    if (scale.rfind("cbi_", 0) != 0) continue;
    const auto* points = Points(history, scale);
    if (points == nullptr || points->back().value < policy.cbi_high_threshold) continue;
    hit.factors.push_back({scale,
                           absl::StrCat(name, " is ", Number(points->back().value),
                                        ", at or above ", Number(policy.cbi_high_threshold), "."),
                           points->back().value, policy.cbi_high_threshold, 0});
  }
  if (hit.factors.empty()) return std::nullopt;
  return Finish(std::move(hit), kCbiHighPoints);
}

std::optional<RuleHit> Who5Drop(const AlertPolicy& policy, const VolunteerHistory& history) {
  const auto* points = Points(history, "who5");
  if (points == nullptr) return std::nullopt;
  const ScorePoint& latest = points->back();
  RuleHit hit{"who5_drop", Priority::kMedium, {}};
  std::vector<ScorePoint> before(points->begin(), points->end() - 1);
  auto baseline = Baseline(before, latest.time, policy.baseline_window);
  if (baseline.has_value() && *baseline - latest.value >= policy.who5_drop_points) {
    hit.factors.push_back({"who5_drop",
                           absl::StrCat("Wellbeing (WHO-5) fell to ", Number(latest.value), "%, ",
                                        Number(*baseline - latest.value),
                                        " points below the volunteer's own usual level."),
                           *baseline - latest.value, policy.who5_drop_points, kWho5DropPoints});
  }
  if (latest.value <= policy.who5_low_threshold) {
    hit.priority = Priority::kHigh;
    hit.factors.push_back(
        {"who5_low",
         absl::StrCat("Wellbeing (WHO-5) is ", Number(latest.value),
                      "%, in the range where depression is likely; a conversation is due."),
         latest.value, policy.who5_low_threshold, kWho5LowPoints});
  }
  if (hit.factors.empty()) return std::nullopt;
  return hit;  // each factor carries its own points
}

std::optional<RuleHit> ProqolHigh(const AlertPolicy& policy, const VolunteerHistory& history) {
  RuleHit hit{"proqol_high", Priority::kMedium, {}};
  for (const char* scale : {"proqol_burnout", "proqol_secondary_traumatic_stress"}) {
    const auto* points = Points(history, scale);
    if (points == nullptr || points->back().value < policy.proqol_high_threshold) continue;
    hit.factors.push_back(
        {scale,
         absl::StrCat(ScaleNames().at(scale), " is ", Number(points->back().value),
                      ", in the high range (", Number(policy.proqol_high_threshold), " or more)."),
         points->back().value, policy.proqol_high_threshold, 0});
  }
  if (hit.factors.empty()) return std::nullopt;
  return Finish(std::move(hit), kProqolHighPoints);
}

std::optional<RuleHit> TalkRepeated(const AlertPolicy& policy, const VolunteerHistory& history,
                                    absl::Time now) {
  int count = 0;
  for (const PulsePoint& pulse : history.pulses) {
    if (pulse.time > now - policy.talk_repeated_window && pulse.time <= now &&
        (pulse.stayed_with_me || pulse.want_to_talk)) {
      ++count;
    }
  }
  if (count < policy.talk_repeated_count) return std::nullopt;
  int days = static_cast<int>(absl::ToInt64Hours(policy.talk_repeated_window) / 24);
  return Finish(
      RuleHit{"talk_repeated",
              Priority::kMedium,
              {{"talk_repeated",
                absl::StrCat(count, " sessions in the last ", days,
                             " days stayed with the volunteer or left them wanting "
                             "to talk."),
                static_cast<double>(count), static_cast<double>(policy.talk_repeated_count), 0}}},
      kTalkRepeatedPoints);
}

std::optional<RuleHit> HoursOverCommitment(const AlertPolicy& policy,
                                           const VolunteerHistory& history, absl::Time now) {
  if (history.commitment_hours_per_month <= 0) return std::nullopt;
  double hours = 0;
  for (const HoursPoint& point : history.hours) {
    if (point.time > now - policy.hours_window && point.time <= now) hours += point.hours;
  }
  double limit = policy.hours_over_commitment_ratio * history.commitment_hours_per_month;
  if (hours <= limit) return std::nullopt;
  return Finish(
      RuleHit{"hours_over_commitment",
              Priority::kLow,
              {{"hours_over_commitment",
                absl::StrCat(Number(hours),
                             " hours of sessions in the last 28 days, "
                             "over ",
                             Number(limit), " (", Number(policy.hours_over_commitment_ratio * 100),
                             "% of the ", history.commitment_hours_per_month,
                             " hours a month agreed)."),
                hours, limit, 0}}},
      kHoursOverPoints);
}

}  // namespace

std::optional<double> Baseline(const std::vector<ScorePoint>& points, absl::Time before,
                               absl::Duration window) {
  std::vector<double> values;
  for (const ScorePoint& point : points) {
    if (point.time >= before - window && point.time < before) values.push_back(point.value);
  }
  if (values.empty()) return std::nullopt;
  std::sort(values.begin(), values.end());
  size_t middle = values.size() / 2;
  return values.size() % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
}

VolunteerHistory HistoryOf(const std::vector<CheckinEvent>& checkins) {
  VolunteerHistory history;
  for (const CheckinEvent& checkin : checkins) {
    absl::Time time = checkin.submit_time;
    for (const auto& [scale, value] : checkin.scores) {
      history.scores[scale].push_back({time, value});
    }
    if (checkin.instrument_id == "pulse") {
      auto yes = [&checkin](const std::string& item) {
        auto it = checkin.answers.find(item);
        return it != checkin.answers.end() && it->second == 1;
      };
      history.pulses.push_back({time, yes("stayed_with_me"), yes("want_to_talk")});
    }
    if (checkin.hours > 0) history.hours.push_back({time, checkin.hours});
    if (!history.last_checkin.has_value() || time > *history.last_checkin) {
      history.last_checkin = time;
    }
  }
  return history;
}

std::vector<RuleHit> EvaluateCheckinRules(const AlertPolicy& policy,
                                          const VolunteerHistory& history,
                                          const std::string& instrument_id, absl::Time now) {
  std::vector<RuleHit> hits;
  auto add = [&hits](std::optional<RuleHit> hit) {
    if (hit.has_value()) hits.push_back(*std::move(hit));
  };
  if (Applies(instrument_id, "cbi")) {
    add(CbiRise(policy, history));
    add(CbiHigh(policy, history));
  }
  if (Applies(instrument_id, "who5")) add(Who5Drop(policy, history));
  if (Applies(instrument_id, "proqol5")) add(ProqolHigh(policy, history));
  if (Applies(instrument_id, "pulse")) {
    add(TalkRepeated(policy, history, now));
    add(HoursOverCommitment(policy, history, now));
  }
  return hits;
}

RuleHit CriticalIncidentHit(const std::string& incident_type, absl::Time occur_time) {
  return Finish(
      RuleHit{"critical_incident",
              Priority::kCritical,
              {{"critical_incident",
                absl::StrCat("The volunteer reported a critical incident (", incident_type, ") on ",
                             absl::FormatTime("%Y-%m-%d", occur_time, absl::UTCTimeZone()),
                             ": offer a debrief."),
                1, 1, 0}}},
      kCriticalIncidentPoints);
}

RuleHit SupportRequestedHit(const std::string& source, bool urgent) {
  std::string what = source == "pulse" ? "said after a session they would like to talk"
                     : urgent          ? "said they are struggling"
                                       : "asked to talk to someone";
  return Finish(
      RuleHit{"support_requested",
              Priority::kHigh,
              {{"support_requested", absl::StrCat("The volunteer ", what, "."), 1, 1, 0}}},
      kSupportRequestedPoints);
}

std::optional<RuleHit> CheckinsMissedHit(const AlertPolicy& policy, const VolunteerHistory& history,
                                         absl::Time now) {
  if (!history.active || !history.last_checkin.has_value()) return std::nullopt;
  absl::Duration since = now - *history.last_checkin;
  if (since < policy.checkins_missed_after) return std::nullopt;
  double days = absl::ToDoubleHours(since) / 24;
  double limit = absl::ToDoubleHours(policy.checkins_missed_after) / 24;
  return Finish(RuleHit{"checkins_missed",
                        Priority::kLow,
                        {{"checkins_missed",
                          absl::StrCat("No check-in for ", static_cast<int>(days), " days."), days,
                          limit, 0}}},
                kCheckinsMissedPoints);
}

const std::vector<std::string>& AllRuleIds() {
  static const auto* ids = new std::vector<std::string>{
      "critical_incident", "support_requested",  "cbi_rise",      "cbi_high",
      "who5_drop",         "proqol_high",        "talk_repeated", "hours_over_commitment",
      "checkins_missed",   "supervision_overdue"};
  return *ids;
}

Factor RedactFactor(const Factor& factor) {
  // What happened, not how someone scored.
  static const auto* score_free = new std::set<std::string>{
      "critical_incident", "support_requested", "checkins_missed", "supervision_overdue"};
  if (score_free->count(factor.factor_id) > 0) return factor;
  static const auto* words = new std::map<std::string, std::string>{
      {"who5_drop", "Wellbeing (WHO-5) fell below the volunteer's usual level."},
      {"who5_low", "Wellbeing (WHO-5) is low."},
      {"talk_repeated", "Sessions have repeatedly stayed with the volunteer."},
      {"hours_over_commitment", "Hours are over the agreed commitment."},
  };
  std::string sentence = "A wellbeing score is a factor.";
  if (auto scale = ScaleNames().find(factor.factor_id); scale != ScaleNames().end()) {
    sentence = absl::StrCat(scale->second, " is a factor.");
  } else if (auto worded = words->find(factor.factor_id); worded != words->end()) {
    sentence = worded->second;
  }
  return Factor{factor.factor_id, sentence, 0, 0, factor.contribution};
}

std::optional<RuleHit> SupervisionOverdueHit(int days_overdue) {
  if (days_overdue <= 0) return std::nullopt;
  return Finish(RuleHit{"supervision_overdue",
                        Priority::kLow,
                        {{"supervision_overdue",
                          absl::StrCat("Supervision is ", days_overdue, " days overdue."),
                          static_cast<double>(days_overdue), 0, 0}}},
                kSupervisionOverduePoints);
}

RiskProfile ComposeRiskProfile(const std::vector<RuleHit>& hits) {
  RiskProfile profile;
  for (const RuleHit& hit : hits) {
    for (const Factor& factor : hit.factors) {
      profile.factors.push_back(factor);
      profile.risk_score += factor.contribution;
    }
  }
  profile.risk_score = std::min(profile.risk_score, 100.0);
  std::stable_sort(
      profile.factors.begin(), profile.factors.end(),
      [](const Factor& a, const Factor& b) { return a.contribution > b.contribution; });
  profile.band = profile.risk_score < 25   ? RiskBand::kLow
                 : profile.risk_score < 50 ? RiskBand::kModerate
                 : profile.risk_score < 75 ? RiskBand::kHigh
                                           : RiskBand::kSevere;
  return profile;
}

}  // namespace peerwell::alerts
