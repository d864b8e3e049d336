#pragma once

// Words on the command line and human-readable output for the check-in commands; format.h holds
// the shared pieces (tables, fields, times, JSON).

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "peerwell/checkin/v1/checkin.pb.h"

namespace peerwell::ctl {

namespace checkin_v1 = ::peerwell::checkin::v1;

// --- Words on the command line <-> values --------------------------------------------------

// "aggression", "suicide-disclosure", "suicide-attempt", "death-of-supported-person",
// "safeguarding", "other" (any case; underscores and the proto names INCIDENT_TYPE_... work too).
absl::StatusOr<checkin_v1::IncidentType> ParseIncidentType(absl::string_view flag,
                                                           absl::string_view text);
// "low" or "high" (also URGENCY_LOW, URGENCY_HIGH).
absl::StatusOr<checkin_v1::Urgency> ParseUrgency(absl::string_view flag, absl::string_view text);
// A positive span such as "90d", "2w", "36h" or "1h30m": Abseil's durations plus days and weeks,
// which are what people mean by a window or "since".
absl::StatusOr<absl::Duration> ParseSpan(absl::string_view flag, absl::string_view text);
// An RFC 3339 time ("2025-03-01T09:30:00Z"), "now", or a span ago ("-2h", "-30d").
absl::StatusOr<absl::Time> ParsePointInTime(absl::string_view flag, absl::string_view text,
                                            absl::Time now);
// ITEM=VALUE, e.g. "1=3"; whether the value fits the item is the service's to say.
absl::StatusOr<checkin_v1::Answer> ParseAnswer(absl::string_view flag, absl::string_view text);
// A number such as 2.5 (hours).
absl::StatusOr<double> ParseNumber(absl::string_view flag, absl::string_view text);

std::string IncidentTypeWord(checkin_v1::IncidentType type);
std::string UrgencyWord(checkin_v1::Urgency urgency);
// A score as people read it: "52", "53.6" (one decimal at most).
std::string FormatScoreValue(double value);

// --- Human-readable output -------------------------------------------------------------------

// What a volunteer reads before answering an instrument on the terminal: title, instruction and
// recall period.
std::string InstrumentIntro(const checkin_v1::Instrument& instrument);
// One item to answer: "[2/5] text" and its options, one "value  label" line each.
std::string ItemPrompt(const checkin_v1::Item& item, int number, int count);
// Each instrument's row (id, version, number of items, title) with its attribution (and how it
// was adapted, when it was) on wrapped lines below.
std::string InstrumentsText(
    const google::protobuf::RepeatedPtrField<checkin_v1::Instrument>& instruments);
// "who5_raw=13, who5=52 (good)"; for an instrument without scales (the pulse), its answers.
std::string CompactScores(const checkin_v1::Checkin& checkin);
std::string ScoresTable(const google::protobuf::RepeatedPtrField<checkin_v1::Score>& scores);
std::string CheckinsTable(const std::vector<checkin_v1::Checkin>& checkins);
// One line per point (date, value, a bar of '#' scaled to the scale's range), then baseline,
// latest and change.
std::string TrendText(absl::string_view scale_id, absl::Duration window,
                      const checkin_v1::GetTrendResponse& trend);
std::string DueTable(const google::protobuf::RepeatedPtrField<checkin_v1::DueCheckin>& due);
std::string SupportResourcesText(
    const google::protobuf::RepeatedPtrField<checkin_v1::SupportResource>& resources);
std::string SettingsText(const checkin_v1::CheckinSettings& settings);

}  // namespace peerwell::ctl
