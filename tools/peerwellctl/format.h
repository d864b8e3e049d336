#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"
#include "peerwell/directory/v1/directory.pb.h"

namespace peerwell::ctl {

namespace v1 = ::peerwell::directory::v1;

// --- Words on the command line <-> enum values ---------------------------------------------

// Lower case with '-' for '_', so that "On_Break", "on_break" and "on-break" read the same.
std::string NormalizedWord(absl::string_view text);
// The usage error for a word that is not one of `choices` (listed in the message).
absl::Status BadChoice(absl::string_view flag, absl::string_view text, absl::string_view choices);

// A word on the command line and the enum value it stands for; a table of them per enum.
template <typename Enum>
struct EnumName {
  absl::string_view word;
  Enum value;
};

// `text` as one of `names`, with or without the proto's `prefix` ("priority-" for PRIORITY_...).
template <typename Enum, size_t N>
absl::StatusOr<Enum> ParseWord(const EnumName<Enum> (&names)[N], absl::string_view prefix,
                               absl::string_view flag, absl::string_view text) {
  std::string normalized = NormalizedWord(text);
  absl::string_view word = normalized;
  absl::ConsumePrefix(&word, prefix);
  std::vector<absl::string_view> words;
  for (const EnumName<Enum>& name : names) {
    if (word == name.word) return name.value;
    words.push_back(name.word);
  }
  return BadChoice(flag, text, absl::StrJoin(words, ", "));
}

// The word of `value` in `names`, or "-" when it has none (unspecified).
template <typename Enum, size_t N>
std::string Word(const EnumName<Enum> (&names)[N], Enum value) {
  for (const EnumName<Enum>& name : names) {
    if (name.value == value) return std::string(name.word);
  }
  return "-";
}

// "volunteer", "supervisor", "coordinator" (any case; the proto names ROLE_... also work).
absl::StatusOr<v1::Role> ParseRole(absl::string_view flag, absl::string_view text);
// "active", "on-break", "inactive" (also on_break and the proto names PERSON_STATUS_...).
absl::StatusOr<v1::PersonStatus> ParseStatus(absl::string_view flag, absl::string_view text);
// "on" / "off" (also true/false, yes/no).
absl::StatusOr<bool> ParseOnOff(absl::string_view flag, absl::string_view text);
// "22:00-07:00" into a QuietHours; "none" clears them. The service checks the times themselves.
absl::StatusOr<v1::QuietHours> ParseQuietHours(absl::string_view flag, absl::string_view text);
// A non-negative count such as --page-size or --commitment-hours.
absl::StatusOr<int> ParseCount(absl::string_view flag, absl::string_view text);
// "5s", "1h30m", "500ms"; a bare number is seconds. Must be positive.
absl::StatusOr<absl::Duration> ParsePositiveDuration(absl::string_view flag,
                                                     absl::string_view text);

std::string RoleWord(v1::Role role);
std::string StatusWord(v1::PersonStatus status);
std::string OnOff(bool value);
// "2025-03-01 09:30:00 UTC", or "-" for an unset timestamp.
std::string FormatTimestamp(const google::protobuf::Timestamp& time);

// Display names by person id, for output that people read: supervisors think in names. An id
// with no known name shows as itself.
class PersonNames {
 public:
  void Add(const std::string& id, const std::string& name) { names_[id] = name; }
  std::string operator()(const std::string& id) const {
    auto it = names_.find(id);
    return it == names_.end() || it->second.empty() ? id : it->second;
  }

 private:
  std::map<std::string, std::string> names_;
};
std::string HumanTime(absl::Time time);
// RFC 3339 in UTC with a "Z", as protobuf's JSON mapping writes times.
std::string JsonTime(absl::Time time);

// --- Human-readable output -------------------------------------------------------------------

using Fields = std::vector<std::pair<std::string, std::string>>;

// Where wrapped text (attributions, descriptions) breaks, as the help does.
inline constexpr size_t kTextWidth = 96;
// `text` broken into lines of at most kTextWidth characters, each starting with `indent`.
std::string Wrap(absl::string_view text, absl::string_view indent);

// "key:   value" lines with the values aligned.
std::string FormatFields(const Fields& fields);
// Columns padded to their widest cell (counted in characters, not bytes, so names with
// accents line up); the last column is not padded.
std::string FormatTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows);

Fields PersonFields(const v1::Person& person);
Fields OrganizationFields(const v1::Organization& organization);
Fields ConsentFields(const v1::Consent& consent);
Fields ApiKeyFields(const v1::ApiKey& api_key);
std::string PeopleTable(const std::vector<v1::Person>& people);
std::string ApiKeysTable(const std::vector<v1::ApiKey>& api_keys);

// --- JSON --------------------------------------------------------------------------------------

// protobuf's JSON mapping on one line, with fields at their default values printed too, so that
// a script sees "riskMonitoring": false rather than a missing key.
absl::StatusOr<std::string> MessageToJson(const google::protobuf::Message& message);
// A JSON string literal ("..." with escapes) for hand-assembled JSON.
std::string JsonString(absl::string_view text);

}  // namespace peerwell::ctl
