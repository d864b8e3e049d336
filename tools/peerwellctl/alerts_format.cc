#include "tools/peerwellctl/alerts_format.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "tools/peerwellctl/args.h"
#include "tools/peerwellctl/checkin_format.h"
#include "tools/peerwellctl/format.h"

namespace peerwell::ctl {
namespace {

constexpr EnumName<alerts_v1::Priority> kPriorities[] = {
    {"low", alerts_v1::PRIORITY_LOW},
    {"medium", alerts_v1::PRIORITY_MEDIUM},
    {"high", alerts_v1::PRIORITY_HIGH},
    {"critical", alerts_v1::PRIORITY_CRITICAL},
};

constexpr EnumName<alerts_v1::AlertState> kAlertStates[] = {
    {"triggered", alerts_v1::ALERT_STATE_TRIGGERED},
    {"acknowledged", alerts_v1::ALERT_STATE_ACKNOWLEDGED},
    {"resolved", alerts_v1::ALERT_STATE_RESOLVED},
};

constexpr EnumName<alerts_v1::Outcome> kOutcomes[] = {
    {"talked", alerts_v1::OUTCOME_TALKED},
    {"referred", alerts_v1::OUTCOME_REFERRED},
    {"rota-changed", alerts_v1::OUTCOME_ROTA_CHANGED},
    {"volunteer-declined", alerts_v1::OUTCOME_VOLUNTEER_DECLINED},
    {"no-action-needed", alerts_v1::OUTCOME_NO_ACTION_NEEDED},
};

constexpr EnumName<alerts_v1::RiskBand> kRiskBands[] = {
    {"low", alerts_v1::RISK_BAND_LOW},
    {"moderate", alerts_v1::RISK_BAND_MODERATE},
    {"high", alerts_v1::RISK_BAND_HIGH},
    {"severe", alerts_v1::RISK_BAND_SEVERE},
};

constexpr EnumName<alerts_v1::AlertEventType> kEventTypes[] = {
    {"triggered", alerts_v1::ALERT_EVENT_TYPE_TRIGGERED},
    {"updated", alerts_v1::ALERT_EVENT_TYPE_UPDATED},
    {"acknowledged", alerts_v1::ALERT_EVENT_TYPE_ACKNOWLEDGED},
    {"escalated", alerts_v1::ALERT_EVENT_TYPE_ESCALATED},
    {"resolved", alerts_v1::ALERT_EVENT_TYPE_RESOLVED},
};

// The state, with why a supervisor was not told when they were not.
std::string StateCell(const alerts_v1::Alert& alert) {
  std::string state = AlertStateWord(alert.state());
  if (alert.silenced()) absl::StrAppend(&state, " (silenced)");
  if (alert.inhibited()) absl::StrAppend(&state, " (inhibited)");
  return state;
}

// When the event happened, as far as the alert tells.
const google::protobuf::Timestamp& EventTime(const alerts_v1::AlertEvent& event) {
  const alerts_v1::Alert& alert = event.alert();
  switch (event.event_type()) {
    case alerts_v1::ALERT_EVENT_TYPE_ACKNOWLEDGED:
      return alert.acknowledge_time();
    case alerts_v1::ALERT_EVENT_TYPE_RESOLVED:
      return alert.resolve_time();
    case alerts_v1::ALERT_EVENT_TYPE_UPDATED:
      return alert.last_occurrence_time();
    default:
      return alert.trigger_time();
  }
}

}  // namespace

absl::StatusOr<alerts_v1::Priority> ParsePriority(absl::string_view flag, absl::string_view text) {
  return ParseWord(kPriorities, "priority-", flag, text);
}

absl::StatusOr<alerts_v1::AlertState> ParseAlertState(absl::string_view flag,
                                                      absl::string_view text) {
  return ParseWord(kAlertStates, "alert-state-", flag, text);
}

absl::StatusOr<alerts_v1::Outcome> ParseOutcome(absl::string_view flag, absl::string_view text) {
  return ParseWord(kOutcomes, "outcome-", flag, text);
}

absl::StatusOr<absl::Time> ParseUntil(absl::string_view flag, absl::string_view text,
                                      absl::Time now) {
  absl::string_view span = text;
  if (absl::ConsumePrefix(&span, "+")) {
    auto parsed = ParseSpan(flag, span);
    if (!parsed.ok()) {
      return UsageError(absl::StrCat(
          "--", flag, ": expected a span from now such as +3d or +12h, got '", text, "'"));
    }
    return now + *parsed;
  }
  absl::Time time;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, text, &time, &error)) {
    return UsageError(absl::StrCat(
        "--", flag,
        ": expected an RFC 3339 time such as 2025-03-01T09:30:00Z or a span from now such as "
        "+3d; got '",
        text, "'"));
  }
  return time;
}

std::string PriorityWord(alerts_v1::Priority priority) { return Word(kPriorities, priority); }
std::string AlertStateWord(alerts_v1::AlertState state) { return Word(kAlertStates, state); }
std::string OutcomeWord(alerts_v1::Outcome outcome) { return Word(kOutcomes, outcome); }
std::string RiskBandWord(alerts_v1::RiskBand band) { return Word(kRiskBands, band); }
std::string AlertEventTypeWord(alerts_v1::AlertEventType type) { return Word(kEventTypes, type); }

std::string FormatDurationProto(const google::protobuf::Duration& duration) {
  if (duration.seconds() == 0 && duration.nanos() == 0) return "-";
  constexpr int64_t kDay = 24 * 60 * 60;
  if (duration.nanos() == 0 && duration.seconds() % kDay == 0) {
    return absl::StrCat(duration.seconds() / kDay, "d");
  }
  return absl::FormatDuration(absl::Seconds(duration.seconds()) +
                              absl::Nanoseconds(duration.nanos()));
}

std::string AlertsTable(const std::vector<alerts_v1::Alert>& alerts, const PersonNames& names) {
  std::vector<std::vector<std::string>> rows;
  for (const alerts_v1::Alert& alert : alerts) {
    rows.push_back({alert.alert_id(), PriorityWord(alert.priority()), StateCell(alert),
                    alert.rule_id(), names(alert.volunteer_id()),
                    absl::StrCat(alert.escalation_level()),
                    absl::StrCat(alert.occurrence_count()), FormatTimestamp(alert.trigger_time())});
  }
  return FormatTable(
      {"ID", "PRIORITY", "STATE", "RULE", "VOLUNTEER", "ESCALATION", "OCCURRENCES", "TRIGGERED"},
      rows);
}

std::string AlertText(const alerts_v1::Alert& alert, const PersonNames& names) {
  Fields fields = {{"alert", alert.alert_id()},
                   {"priority", PriorityWord(alert.priority())},
                   {"state", StateCell(alert)},
                   {"rule", alert.rule_id()},
                   {"volunteer", names(alert.volunteer_id()) == alert.volunteer_id()
                                     ? alert.volunteer_id()
                                     : absl::StrCat(names(alert.volunteer_id()), " (",
                                                    alert.volunteer_id(), ")")},
                   {"triggered", FormatTimestamp(alert.trigger_time())},
                   {"occurrences", absl::StrCat(alert.occurrence_count(), ", last ",
                                                FormatTimestamp(alert.last_occurrence_time()))},
                   {"ack deadline", FormatTimestamp(alert.ack_deadline_time())},
                   {"escalation", absl::StrCat(alert.escalation_level())}};
  if (!alert.acknowledged_by().empty()) {
    fields.emplace_back("acknowledged", absl::StrCat(FormatTimestamp(alert.acknowledge_time()),
                                                     " by ", names(alert.acknowledged_by())));
  }
  if (alert.state() == alerts_v1::ALERT_STATE_RESOLVED) {
    fields.emplace_back("resolved",
                        absl::StrCat(FormatTimestamp(alert.resolve_time()), " by ",
                                     alert.resolved_by().empty() ? "-" : names(alert.resolved_by())));
    fields.emplace_back("outcome", OutcomeWord(alert.outcome()));
  }
  std::string out = FormatFields(fields);
  std::vector<alerts_v1::Factor> factors(alert.factors().begin(), alert.factors().end());
  if (!factors.empty()) absl::StrAppend(&out, "\nfactors:\n", FactorsText(factors));
  return out;
}

std::string FactorsText(const std::vector<alerts_v1::Factor>& factors) {
  std::vector<std::vector<std::string>> rows;
  for (const alerts_v1::Factor& factor : factors) {
    rows.push_back({factor.factor_id(), FormatScoreValue(factor.value()),
                    FormatScoreValue(factor.threshold()), FormatScoreValue(factor.contribution())});
  }
  std::string table = FormatTable({"FACTOR", "VALUE", "THRESHOLD", "POINTS"}, rows);
  std::vector<std::string> lines = absl::StrSplit(table, '\n');
  std::string out = absl::StrCat(lines[0], "\n");
  for (size_t i = 0; i < factors.size(); ++i) {
    absl::StrAppend(&out, lines[i + 1], "\n", Wrap(factors[i].description(), "    "));
  }
  return out;
}

std::string RiskProfileText(const alerts_v1::RiskProfile& profile) {
  std::string out = FormatFields({{"volunteer", profile.volunteer_id()},
                                  {"risk score", FormatScoreValue(profile.risk_score())},
                                  {"band", RiskBandWord(profile.band())},
                                  {"evaluated", FormatTimestamp(profile.evaluate_time())}});
  std::vector<alerts_v1::Factor> factors(profile.factors().begin(), profile.factors().end());
  std::stable_sort(factors.begin(), factors.end(),
                   [](const alerts_v1::Factor& a, const alerts_v1::Factor& b) {
                     return a.contribution() > b.contribution();
                   });
  absl::StrAppend(&out, "\n",
                  factors.empty()
                      ? "no factors: nothing adds to the score\n"
                      : absl::StrCat("factors, largest first:\n", FactorsText(factors)));
  return out;
}

std::string SilencesTable(const std::vector<alerts_v1::Silence>& silences) {
  std::vector<std::vector<std::string>> rows;
  for (const alerts_v1::Silence& silence : silences) {
    rows.push_back({silence.silence_id(), silence.volunteer_id(),
                    FormatTimestamp(silence.end_time()), silence.created_by(), silence.reason()});
  }
  return FormatTable({"ID", "VOLUNTEER", "UNTIL", "BY", "REASON"}, rows);
}

std::string SilenceText(const alerts_v1::Silence& silence) {
  return FormatFields({{"silence", silence.silence_id()},
                       {"volunteer", silence.volunteer_id()},
                       {"until", FormatTimestamp(silence.end_time())},
                       {"reason", silence.reason()},
                       {"by", silence.created_by()},
                       {"created", FormatTimestamp(silence.create_time())}});
}

std::string PolicyText(const alerts_v1::AlertPolicy& policy) {
  return FormatFields({
      {"ack deadline critical", FormatDurationProto(policy.ack_deadline_critical())},
      {"ack deadline high", FormatDurationProto(policy.ack_deadline_high())},
      {"ack deadline medium", FormatDurationProto(policy.ack_deadline_medium())},
      {"ack deadline low", FormatDurationProto(policy.ack_deadline_low())},
      {"max escalations", absl::StrCat(policy.max_escalations())},
      {"cbi rise points", FormatScoreValue(policy.cbi_rise_points())},
      {"cbi high", absl::StrCat(OnOff(policy.cbi_high_enabled()), ", threshold ",
                                FormatScoreValue(policy.cbi_high_threshold()))},
      {"who5 drop points", FormatScoreValue(policy.who5_drop_points())},
      {"who5 low threshold", FormatScoreValue(policy.who5_low_threshold())},
      {"proqol high threshold", FormatScoreValue(policy.proqol_high_threshold())},
      {"talk repeated", absl::StrCat(policy.talk_repeated_count(), " in ",
                                     FormatDurationProto(policy.talk_repeated_window()))},
      {"hours over commitment",
       absl::StrCat(policy.hours_over_commitment_ratio(), " x commitment over ",
                    FormatDurationProto(policy.hours_window()))},
      {"check-ins missed after", FormatDurationProto(policy.checkins_missed_after())},
      {"baseline window", FormatDurationProto(policy.baseline_window())},
  });
}

std::string AlertEventLine(const alerts_v1::AlertEvent& event, const PersonNames& names) {
  const alerts_v1::Alert& alert = event.alert();
  return absl::StrCat(FormatTimestamp(EventTime(event)), "  ",
                      AlertEventTypeWord(event.event_type()), "  ", PriorityWord(alert.priority()),
                      "  ", alert.rule_id(), "  ", names(alert.volunteer_id()), "  ",
                      alert.alert_id());
}

}  // namespace peerwell::ctl
