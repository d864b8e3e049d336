#include "tools/peerwellctl/checkin_format.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "tools/peerwellctl/args.h"
#include "tools/peerwellctl/format.h"

namespace peerwell::ctl {
namespace {

// The longest trend bar; with the date and value in front a line stays within kTextWidth.
constexpr int kBarWidth = 50;

struct IncidentTypeName {
  absl::string_view word;
  checkin_v1::IncidentType type;
};

constexpr IncidentTypeName kIncidentTypes[] = {
    {"aggression", checkin_v1::INCIDENT_TYPE_AGGRESSION},
    {"suicide-disclosure", checkin_v1::INCIDENT_TYPE_SUICIDE_DISCLOSURE},
    {"suicide-attempt", checkin_v1::INCIDENT_TYPE_SUICIDE_ATTEMPT},
    {"death-of-supported-person", checkin_v1::INCIDENT_TYPE_DEATH_OF_SUPPORTED_PERSON},
    {"safeguarding", checkin_v1::INCIDENT_TYPE_SAFEGUARDING},
    {"other", checkin_v1::INCIDENT_TYPE_OTHER},
};

// The range a scale's values can take, so that a trend's bars mean the same from one run to the
// next rather than stretching to whatever the points happen to be.
std::pair<double, double> ScaleRange(absl::string_view scale_id) {
  if (scale_id == "who5_raw") return {0, 25};
  if (scale_id == "swemwbs") return {7, 35};
  if (absl::StartsWith(scale_id, "proqol")) return {10, 50};
  return {0, 100};  // who5 (a percentage) and the CBI subscales
}

std::string Bar(double value, std::pair<double, double> range) {
  double share = (value - range.first) / (range.second - range.first);
  int length = static_cast<int>(std::lround(std::clamp(share, 0.0, 1.0) * kBarWidth));
  return std::string(length, '#');
}

std::string DueReason(absl::string_view reason) {
  if (reason == "cadence") return "the organisation's cadence";
  if (reason == "first_checkin") return "not completed yet";
  if (reason == "incident_follow_up") return "follow-up after a critical incident";
  return std::string(reason);
}

}  // namespace

absl::StatusOr<checkin_v1::IncidentType> ParseIncidentType(absl::string_view flag,
                                                           absl::string_view text) {
  std::string normalized = NormalizedWord(text);
  absl::string_view word = normalized;
  absl::ConsumePrefix(&word, "incident-type-");
  std::vector<absl::string_view> words;
  for (const IncidentTypeName& name : kIncidentTypes) {
    if (word == name.word) return name.type;
    words.push_back(name.word);
  }
  return BadChoice(flag, text, absl::StrJoin(words, ", "));
}

absl::StatusOr<checkin_v1::Urgency> ParseUrgency(absl::string_view flag, absl::string_view text) {
  std::string normalized = NormalizedWord(text);
  absl::string_view word = normalized;
  absl::ConsumePrefix(&word, "urgency-");
  if (word == "low") return checkin_v1::URGENCY_LOW;
  if (word == "high") return checkin_v1::URGENCY_HIGH;
  return BadChoice(flag, text, "low, high");
}

absl::StatusOr<absl::Duration> ParseSpan(absl::string_view flag, absl::string_view text) {
  absl::string_view number = text;
  for (auto [suffix, unit] : {std::pair<absl::string_view, int>{"d", 24}, {"w", 24 * 7}}) {
    if (!absl::ConsumeSuffix(&number, suffix)) continue;
    int count = 0;
    if (!absl::SimpleAtoi(number, &count) || count <= 0) break;
    return absl::Hours(static_cast<int64_t>(count) * unit);
  }
  absl::Duration span;
  if (!absl::ParseDuration(text, &span) || span <= absl::ZeroDuration() ||
      span == absl::InfiniteDuration()) {
    return UsageError(
        absl::StrCat("--", flag, ": expected a span such as 90d, 2w or 36h, got '", text, "'"));
  }
  return span;
}

absl::StatusOr<absl::Time> ParsePointInTime(absl::string_view flag, absl::string_view text,
                                            absl::Time now) {
  if (NormalizedWord(text) == "now") return now;
  absl::string_view ago = text;
  if (absl::ConsumePrefix(&ago, "-")) {
    auto span = ParseSpan(flag, ago);
    if (!span.ok()) {
      return UsageError(
          absl::StrCat("--", flag, ": expected a span ago such as -2h or -30d, got '", text, "'"));
    }
    return now - *span;
  }
  absl::Time time;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, text, &time, &error)) {
    return UsageError(absl::StrCat("--", flag,
                                   ": expected an RFC 3339 time such as 2025-03-01T09:30:00Z, "
                                   "now, or a span ago such as -2h; got '",
                                   text, "'"));
  }
  return time;
}

absl::StatusOr<checkin_v1::Answer> ParseAnswer(absl::string_view flag, absl::string_view text) {
  std::pair<absl::string_view, absl::string_view> parts =
      absl::StrSplit(text, absl::MaxSplits('=', 1));
  checkin_v1::Answer answer;
  int value = 0;
  if (parts.first.empty() || !absl::SimpleAtoi(parts.second, &value)) {
    return UsageError(absl::StrCat("--", flag, ": expected ITEM=VALUE such as 1=3, got '", text,
                                   "' (see 'peerwellctl checkin instruments')"));
  }
  answer.set_item_id(std::string(parts.first));
  answer.set_value(value);
  return answer;
}

absl::StatusOr<double> ParseNumber(absl::string_view flag, absl::string_view text) {
  double value = 0;
  if (!absl::SimpleAtod(text, &value) || !std::isfinite(value)) {
    return UsageError(
        absl::StrCat("--", flag, ": expected a number such as 2.5, got '", text, "'"));
  }
  return value;
}

std::string IncidentTypeWord(checkin_v1::IncidentType type) {
  for (const IncidentTypeName& name : kIncidentTypes) {
    if (name.type == type) return std::string(name.word);
  }
  return "-";
}

std::string UrgencyWord(checkin_v1::Urgency urgency) {
  switch (urgency) {
    case checkin_v1::URGENCY_LOW:
      return "low";
    case checkin_v1::URGENCY_HIGH:
      return "high";
    default:
      return "-";
  }
}

std::string FormatScoreValue(double value) {
  std::string text = absl::StrFormat("%.1f", value);
  if (absl::EndsWith(text, ".0")) text.resize(text.size() - 2);
  return text == "-0" ? "0" : text;
}

std::string InstrumentIntro(const checkin_v1::Instrument& instrument) {
  std::string out = absl::StrCat(instrument.title(), "\n");
  if (!instrument.instruction().empty()) absl::StrAppend(&out, Wrap(instrument.instruction(), ""));
  if (!instrument.recall_period().empty()) {
    absl::StrAppend(&out, "Recall period: ", instrument.recall_period(), ".\n");
  }
  return out;
}

std::string ItemPrompt(const checkin_v1::Item& item, int number, int count) {
  std::string out = absl::StrCat("\n[", number, "/", count, "] ", item.text(), "\n");
  std::vector<std::vector<std::string>> rows;
  for (const checkin_v1::ResponseOption& option : item.options()) {
    rows.push_back({absl::StrCat("      ", option.value()), option.label()});
  }
  std::string table = FormatTable({"", ""}, rows);
  return absl::StrCat(out, table.substr(table.find('\n') + 1));
}

std::string InstrumentsText(
    const google::protobuf::RepeatedPtrField<checkin_v1::Instrument>& instruments) {
  if (instruments.empty()) return "no instruments are enabled\n";
  std::vector<std::vector<std::string>> rows;
  for (const checkin_v1::Instrument& instrument : instruments) {
    rows.push_back({instrument.instrument_id(), absl::StrCat(instrument.version()),
                    absl::StrCat(instrument.items_size()), instrument.title()});
  }
  std::vector<std::string> lines =
      absl::StrSplit(FormatTable({"ID", "VERSION", "ITEMS", "TITLE"}, rows), '\n');
  std::string out = absl::StrCat(lines[0], "\n");
  for (int i = 0; i < instruments.size(); ++i) {
    const checkin_v1::Instrument& instrument = instruments[i];
    absl::StrAppend(&out, lines[i + 1], "\n", Wrap(instrument.attribution(), "    "));
    // The ProQOL's licence asks for adaptations to be labelled wherever the instrument shows.
    if (!instrument.adaptation().empty()) {
      absl::StrAppend(&out, Wrap(instrument.adaptation(), "    "));
    }
  }
  return out;
}

std::string CompactScores(const checkin_v1::Checkin& checkin) {
  std::vector<std::string> parts;
  for (const checkin_v1::Score& score : checkin.scores()) {
    std::string part = absl::StrCat(score.scale_id(), "=", FormatScoreValue(score.value()));
    if (!score.band().empty()) absl::StrAppend(&part, " (", score.band(), ")");
    parts.push_back(std::move(part));
  }
  if (!parts.empty()) return absl::StrJoin(parts, ", ");
  for (const checkin_v1::Answer& answer : checkin.answers()) {
    parts.push_back(absl::StrCat(answer.item_id(), "=", answer.value()));
  }
  if (checkin.context().hours() > 0) {
    parts.push_back(absl::StrCat(FormatScoreValue(checkin.context().hours()), "h"));
  }
  return absl::StrCat("no score: ", parts.empty() ? "-" : absl::StrJoin(parts, " "));
}

std::string ScoresTable(const google::protobuf::RepeatedPtrField<checkin_v1::Score>& scores) {
  if (scores.empty()) return "no scores (this instrument is an operational signal, not a scale)\n";
  std::vector<std::vector<std::string>> rows;
  for (const checkin_v1::Score& score : scores) {
    rows.push_back({score.scale_id(), FormatScoreValue(score.value()),
                    score.band().empty() ? "-" : score.band()});
  }
  return FormatTable({"SCALE", "VALUE", "BAND"}, rows);
}

std::string CheckinsTable(const std::vector<checkin_v1::Checkin>& checkins) {
  std::vector<std::vector<std::string>> rows;
  for (const checkin_v1::Checkin& checkin : checkins) {
    rows.push_back(
        {FormatTimestamp(checkin.submit_time()), checkin.instrument_id(), CompactScores(checkin)});
  }
  return FormatTable({"TIME", "INSTRUMENT", "SCORES"}, rows);
}

std::string TrendText(absl::string_view scale_id, absl::Duration window,
                      const checkin_v1::GetTrendResponse& trend) {
  std::pair<double, double> range = ScaleRange(scale_id);
  std::string out = absl::StrCat(scale_id, " over the last ", absl::ToInt64Hours(window) / 24,
                                 " days (bars from ", FormatScoreValue(range.first), " to ",
                                 FormatScoreValue(range.second), ")\n");
  if (trend.points().empty()) return absl::StrCat(out, "no values in this window\n");
  std::vector<std::vector<std::string>> rows;
  for (const checkin_v1::TrendPoint& point : trend.points()) {
    rows.push_back({absl::FormatTime("%Y-%m-%d", absl::FromUnixSeconds(point.time().seconds()),
                                     absl::UTCTimeZone()),
                    FormatScoreValue(point.value()), Bar(point.value(), range)});
  }
  std::string table = FormatTable({"", "", ""}, rows);
  absl::StrAppend(&out, table.substr(table.find('\n') + 1), "\n");
  Fields fields;
  if (trend.has_baseline()) {
    fields.emplace_back("baseline", absl::StrCat(FormatScoreValue(trend.baseline()),
                                                 " (median of the 90 days before the latest)"));
  } else {
    fields.emplace_back("baseline", "none yet (no values in the 90 days before the latest)");
  }
  fields.emplace_back("latest", FormatScoreValue(trend.latest()));
  if (trend.has_baseline()) {
    std::string change = FormatScoreValue(trend.change());
    fields.emplace_back("change", trend.change() > 0 ? absl::StrCat("+", change) : change);
  }
  return absl::StrCat(out, FormatFields(fields));
}

std::string DueTable(const google::protobuf::RepeatedPtrField<checkin_v1::DueCheckin>& due) {
  if (due.empty()) return "nothing is due\n";
  std::vector<std::vector<std::string>> rows;
  for (const checkin_v1::DueCheckin& entry : due) {
    rows.push_back(
        {entry.instrument_id(), FormatTimestamp(entry.due_time()), DueReason(entry.reason())});
  }
  return FormatTable({"INSTRUMENT", "DUE SINCE", "REASON"}, rows);
}

std::string SupportResourcesText(
    const google::protobuf::RepeatedPtrField<checkin_v1::SupportResource>& resources) {
  if (resources.empty()) return "  none recorded: ask your coordinator\n";
  std::string out;
  for (const checkin_v1::SupportResource& resource : resources) {
    absl::StrAppend(&out, "  ", resource.title(), "\n", Wrap(resource.description(), "    "));
    if (!resource.contact().empty())
      absl::StrAppend(&out, "    contact: ", resource.contact(), "\n");
  }
  return out;
}

std::string SettingsText(const checkin_v1::CheckinSettings& settings) {
  // A protobuf map has no order; sorted, the output is the same from one run to the next.
  std::map<std::string, int> cadence(settings.cadence_days().begin(),
                                     settings.cadence_days().end());
  std::vector<std::string> cadence_parts;
  for (const auto& [instrument, days] : cadence) {
    cadence_parts.push_back(absl::StrCat(instrument, " every ", days, " days"));
  }
  Fields fields = {
      {"cadence", cadence_parts.empty() ? "none" : absl::StrJoin(cadence_parts, ", ")},
      {"swemwbs registration", settings.swemwbs_registration().empty()
                                   ? "none (swemwbs is not offered)"
                                   : settings.swemwbs_registration()},
  };
  return absl::StrCat(FormatFields(fields), "support resources (shown with every incident):\n",
                      SupportResourcesText(settings.support_resources()));
}

}  // namespace peerwell::ctl
