#include "tools/peerwellctl/format.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "google/protobuf/util/json_util.h"
#include "services/common/log.h"
#include "services/common/validation.h"
#include "tools/peerwellctl/args.h"

namespace peerwell::ctl {
namespace {

std::string PadRight(absl::string_view text, size_t width) {
  size_t length = Utf8Length(text);
  return absl::StrCat(text, std::string(length < width ? width - length : 0, ' '));
}

}  // namespace

std::string NormalizedWord(absl::string_view text) {
  std::string word = absl::AsciiStrToLower(text);
  std::replace(word.begin(), word.end(), '_', '-');
  return word;
}

absl::Status BadChoice(absl::string_view flag, absl::string_view text, absl::string_view choices) {
  return UsageError(absl::StrCat("--", flag, ": '", text, "' is not one of ", choices));
}

absl::StatusOr<v1::Role> ParseRole(absl::string_view flag, absl::string_view text) {
  std::string word = NormalizedWord(text);
  if (word == "volunteer" || word == "role-volunteer") return v1::ROLE_VOLUNTEER;
  if (word == "supervisor" || word == "role-supervisor") return v1::ROLE_SUPERVISOR;
  if (word == "coordinator" || word == "role-coordinator") return v1::ROLE_COORDINATOR;
  return BadChoice(flag, text, "volunteer, supervisor, coordinator");
}

absl::StatusOr<v1::PersonStatus> ParseStatus(absl::string_view flag, absl::string_view text) {
  std::string normalized = NormalizedWord(text);
  absl::string_view word = normalized;
  absl::ConsumePrefix(&word, "person-status-");
  if (word == "active") return v1::PERSON_STATUS_ACTIVE;
  if (word == "on-break") return v1::PERSON_STATUS_ON_BREAK;
  if (word == "inactive") return v1::PERSON_STATUS_INACTIVE;
  return BadChoice(flag, text, "active, on-break, inactive");
}

absl::StatusOr<bool> ParseOnOff(absl::string_view flag, absl::string_view text) {
  std::string word = NormalizedWord(text);
  if (word == "on" || word == "true" || word == "yes") return true;
  if (word == "off" || word == "false" || word == "no") return false;
  return BadChoice(flag, text, "on, off");
}

absl::StatusOr<v1::QuietHours> ParseQuietHours(absl::string_view flag, absl::string_view text) {
  v1::QuietHours quiet_hours;
  if (NormalizedWord(text) == "none") return quiet_hours;  // empty start and end: no quiet hours
  std::vector<std::string> parts = absl::StrSplit(text, '-');
  if (parts.size() != 2 || parts[0].empty() || parts[1].empty()) {
    return UsageError(
        absl::StrCat("--", flag, ": expected START-END such as 22:00-07:00, or none"));
  }
  quiet_hours.set_start(parts[0]);
  quiet_hours.set_end(parts[1]);
  return quiet_hours;
}

absl::StatusOr<int> ParseCount(absl::string_view flag, absl::string_view text) {
  int value = 0;
  if (!absl::SimpleAtoi(text, &value) || value < 0) {
    return UsageError(absl::StrCat("--", flag, ": expected a whole number >= 0, got '", text, "'"));
  }
  return value;
}

absl::StatusOr<absl::Duration> ParsePositiveDuration(absl::string_view flag,
                                                     absl::string_view text) {
  absl::Duration duration;
  int64_t seconds = 0;
  if (absl::SimpleAtoi(text, &seconds)) {
    duration = absl::Seconds(seconds);
  } else if (!absl::ParseDuration(text, &duration)) {
    return UsageError(
        absl::StrCat("--", flag, ": expected a duration such as 30s, 5m or 12h, got '", text, "'"));
  }
  if (duration <= absl::ZeroDuration() || duration == absl::InfiniteDuration()) {
    return UsageError(absl::StrCat("--", flag, ": must be a positive duration"));
  }
  return duration;
}

std::string RoleWord(v1::Role role) {
  switch (role) {
    case v1::ROLE_VOLUNTEER:
      return "volunteer";
    case v1::ROLE_SUPERVISOR:
      return "supervisor";
    case v1::ROLE_COORDINATOR:
      return "coordinator";
    default:
      return "-";
  }
}

std::string StatusWord(v1::PersonStatus status) {
  switch (status) {
    case v1::PERSON_STATUS_ACTIVE:
      return "active";
    case v1::PERSON_STATUS_ON_BREAK:
      return "on-break";
    case v1::PERSON_STATUS_INACTIVE:
      return "inactive";
    default:
      return "-";
  }
}

std::string OnOff(bool value) { return value ? "on" : "off"; }

std::string HumanTime(absl::Time time) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", time, absl::UTCTimeZone());
}

std::string JsonTime(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", time, absl::UTCTimeZone());
}

std::string FormatTimestamp(const google::protobuf::Timestamp& time) {
  if (time.seconds() == 0 && time.nanos() == 0) return "-";
  return HumanTime(absl::FromUnixSeconds(time.seconds()));
}

std::string Wrap(absl::string_view text, absl::string_view indent) {
  std::string out;
  std::string line;
  for (absl::string_view word : absl::StrSplit(text, ' ', absl::SkipEmpty())) {
    if (!line.empty() &&
        Utf8Length(indent) + Utf8Length(line) + 1 + Utf8Length(word) > kTextWidth) {
      absl::StrAppend(&out, indent, line, "\n");
      line.clear();
    }
    absl::StrAppend(&line, line.empty() ? "" : " ", word);
  }
  if (!line.empty()) absl::StrAppend(&out, indent, line, "\n");
  return out;
}

std::string FormatFields(const Fields& fields) {
  size_t width = 0;
  for (const auto& [key, value] : fields) width = std::max(width, Utf8Length(key) + 1);
  std::string out;
  for (const auto& [key, value] : fields) {
    absl::StrAppend(&out, PadRight(absl::StrCat(key, ":"), width + 1), value, "\n");
  }
  return out;
}

std::string FormatTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths(header.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], Utf8Length(row[i]));
    }
  };
  measure(header);
  for (const auto& row : rows) measure(row);
  auto render = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      bool last = i + 1 == row.size();
      absl::StrAppend(&line, last ? row[i] : PadRight(row[i], widths[i] + 2));
    }
    return absl::StrCat(line, "\n");
  };
  std::string out = render(header);
  for (const auto& row : rows) absl::StrAppend(&out, render(row));
  return out;
}

Fields PersonFields(const v1::Person& person) {
  Fields fields = {{"id", person.person_id()},
                   {"organisation", person.organization_id()},
                   {"name", person.display_name()},
                   {"role", RoleWord(person.role())}};
  // A person the caller may see only by name comes back without a status: show what there is.
  if (person.status() == v1::PERSON_STATUS_UNSPECIFIED) return fields;
  fields.emplace_back("status", StatusWord(person.status()));
  fields.emplace_back("timezone", person.timezone());
  fields.emplace_back("quiet hours", person.quiet_hours().start().empty()
                                         ? "none"
                                         : absl::StrCat(person.quiet_hours().start(), "-",
                                                        person.quiet_hours().end()));
  fields.emplace_back("commitment",
                      absl::StrCat(person.commitment_hours_per_month(), " hours/month"));
  if (person.role() == v1::ROLE_VOLUNTEER) {
    fields.emplace_back("supervisors", person.supervisor_ids().empty()
                                           ? "none"
                                           : absl::StrJoin(person.supervisor_ids(), ", "));
  }
  if (person.role() == v1::ROLE_SUPERVISOR) {
    fields.emplace_back("lived experience", person.lived_experience() ? "yes" : "no");
  }
  for (const v1::Qualification& qualification : person.qualifications()) {
    fields.emplace_back("qualification",
                        qualification.has_expire_time()
                            ? absl::StrCat(qualification.kind(), " (expires ",
                                           FormatTimestamp(qualification.expire_time()), ")")
                            : qualification.kind());
  }
  fields.emplace_back("created", FormatTimestamp(person.create_time()));
  fields.emplace_back("updated", FormatTimestamp(person.update_time()));
  return fields;
}

Fields OrganizationFields(const v1::Organization& organization) {
  return {{"id", organization.organization_id()},
          {"name", organization.display_name()},
          {"created", FormatTimestamp(organization.create_time())}};
}

Fields ConsentFields(const v1::Consent& consent) {
  return {{"risk monitoring", OnOff(consent.risk_monitoring())},
          {"share scores with supervisor", OnOff(consent.share_scores_with_supervisor())},
          {"research export", OnOff(consent.research_export())},
          {"updated", consent.has_update_time() ? FormatTimestamp(consent.update_time())
                                                : "never (everything is off until the "
                                                  "volunteer opts in)"}};
}

Fields ApiKeyFields(const v1::ApiKey& api_key) {
  Fields fields = {{"id", api_key.api_key_id()},
                   {"name", api_key.display_name()},
                   {"scopes", absl::StrJoin(api_key.scopes(), ", ")},
                   {"created", FormatTimestamp(api_key.create_time())}};
  if (api_key.has_revoke_time()) {
    fields.emplace_back("revoked", FormatTimestamp(api_key.revoke_time()));
  }
  return fields;
}

std::string PeopleTable(const std::vector<v1::Person>& people) {
  std::vector<std::vector<std::string>> rows;
  for (const v1::Person& person : people) {
    rows.push_back({person.person_id(), RoleWord(person.role()), StatusWord(person.status()),
                    person.display_name()});
  }
  return FormatTable({"ID", "ROLE", "STATUS", "NAME"}, rows);
}

std::string ApiKeysTable(const std::vector<v1::ApiKey>& api_keys) {
  std::vector<std::vector<std::string>> rows;
  for (const v1::ApiKey& api_key : api_keys) {
    rows.push_back({api_key.api_key_id(), api_key.has_revoke_time() ? "revoked" : "active",
                    FormatTimestamp(api_key.create_time()), absl::StrJoin(api_key.scopes(), ","),
                    api_key.display_name()});
  }
  return FormatTable({"ID", "STATE", "CREATED", "SCOPES", "NAME"}, rows);
}

absl::StatusOr<std::string> MessageToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  std::string json;
  // protobuf 3.21 answers with its own util::Status, not absl::Status.
  auto status = google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat("cannot print JSON: ", status.ToString()));
  }
  return json;
}

std::string JsonString(absl::string_view text) {
  return absl::StrCat("\"", JsonEscape(text), "\"");
}

}  // namespace peerwell::ctl
