#include <sys/stat.h>

#include <fstream>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "services/common/caller.h"
#include "services/common/proto_time.h"
#include "tools/peerwellctl/checkin_format.h"
#include "tools/peerwellctl/command.h"
#include "tools/peerwellctl/command_support.h"
#include "tools/peerwellctl/format.h"
#include "tools/peerwellctl/identity.h"

namespace peerwell::ctl {
namespace {

using Stub = v1::DirectoryService::Stub;

// A person's field as a flag of `person create` and `person update`: the flag, the field's
// update_mask path, and how the flag's value goes into the person.
struct PersonFieldFlag {
  absl::string_view flag;
  absl::string_view mask_path;
  absl::Status (*apply)(absl::string_view flag, const std::string& value, v1::Person& person);
};

constexpr PersonFieldFlag kPersonFieldFlags[] = {
    {"name", "display_name",
     [](absl::string_view, const std::string& value, v1::Person& person) -> absl::Status {
       person.set_display_name(value);
       return absl::OkStatus();
     }},
    {"role", "role",
     [](absl::string_view flag, const std::string& value, v1::Person& person) -> absl::Status {
       auto role = ParseRole(flag, value);
       if (!role.ok()) return role.status();
       person.set_role(*role);
       return absl::OkStatus();
     }},
    {"status", "status",
     [](absl::string_view flag, const std::string& value, v1::Person& person) -> absl::Status {
       auto status = ParseStatus(flag, value);
       if (!status.ok()) return status.status();
       person.set_status(*status);
       return absl::OkStatus();
     }},
    {"timezone", "timezone",
     [](absl::string_view, const std::string& value, v1::Person& person) -> absl::Status {
       person.set_timezone(value);
       return absl::OkStatus();
     }},
    {"quiet-hours", "quiet_hours",
     [](absl::string_view flag, const std::string& value, v1::Person& person) -> absl::Status {
       auto quiet_hours = ParseQuietHours(flag, value);
       if (!quiet_hours.ok()) return quiet_hours.status();
       *person.mutable_quiet_hours() = *quiet_hours;
       return absl::OkStatus();
     }},
    {"commitment-hours", "commitment_hours_per_month",
     [](absl::string_view flag, const std::string& value, v1::Person& person) -> absl::Status {
       auto hours = ParseCount(flag, value);
       if (!hours.ok()) return hours.status();
       person.set_commitment_hours_per_month(*hours);
       return absl::OkStatus();
     }},
    {"lived-experience", "lived_experience",
     [](absl::string_view flag, const std::string& value, v1::Person& person) -> absl::Status {
       auto lived = ParseOnOff(flag, value);
       if (!lived.ok()) return lived.status();
       person.set_lived_experience(*lived);
       return absl::OkStatus();
     }},
};

absl::Status PrintPerson(const Context& context, const google::protobuf::Message& response,
                         const v1::Person& person, absl::string_view headline = "") {
  std::string human = headline.empty() ? "" : absl::StrCat(headline, "\n");
  absl::StrAppend(&human, FormatFields(PersonFields(person)));
  return Print(context, response, human);
}

}  // namespace

absl::Status RunToken(Context& context, const ParsedArgs& args) {
  absl::Duration lifetime = absl::Hours(12);
  if (auto ttl = args.Get("ttl")) {
    auto parsed = ParsePositiveDuration("ttl", *ttl);
    if (!parsed.ok()) return parsed.status();
    lifetime = *parsed;
  }
  auto claims =
      MakeClaims(*args.Get("role"), *args.Get("subject"), args.Get("org").value_or(""), lifetime);
  if (!claims.ok()) return claims.status();
  auto secret = LoadSigningSecret();
  if (!secret.ok()) return secret.status();
  absl::Time now = absl::Now();
  std::string token = MintToken(*secret, *claims, now);
  if (!context.json) {
    // The bare token, so that `export PEERWELL_TOKEN=$(peerwellctl token ...)` works.
    std::cout << token << "\n";
    return absl::OkStatus();
  }
  std::cout << "{\"token\":" << JsonString(token)
            << ",\"role\":" << JsonString(CallerRoleName(claims->role))
            << ",\"subject\":" << JsonString(claims->subject)
            << ",\"organizationId\":" << JsonString(claims->organization_id)
            << ",\"expireTime\":" << JsonString(JsonTime(now + lifetime)) << "}\n";
  return absl::OkStatus();
}

absl::Status RunDashboardUrl(Context& context, const ParsedArgs& args) {
  if (context.token.empty()) {
    return UsageError("say who signs in: --as ROLE:PERSON_ID:ORG_ID, --token or $PEERWELL_TOKEN");
  }
  std::string url = DashboardUrl(GatewayUrl(args), context.token);
  if (context.json) {
    std::cout << "{\"url\":" << JsonString(url) << "}\n";
  } else {
    std::cout << url << "\n";
  }
  return absl::OkStatus();
}

absl::Status RunOrgCreate(Context& context, const ParsedArgs& args) {
  v1::CreateOrganizationRequest request;
  request.set_display_name(args.positionals()[0]);
  request.set_request_id(args.Get("request-id").value_or(""));
  auto response = context.directory.Call(&Stub::CreateOrganization, request, context.token);
  if (!response.ok()) return response.status();
  const v1::Organization& organization = response->organization();
  return Print(context, *response,
               absl::StrCat(FormatFields(OrganizationFields(organization)),
                            "\nnext: create its first coordinator with an admin token for it:\n"
                            "  peerwellctl --as admin:YOUR_NAME:",
                            organization.organization_id(),
                            " person create --role coordinator --name NAME\n"));
}

absl::Status RunPersonCreate(Context& context, const ParsedArgs& args) {
  v1::CreatePersonRequest request;
  v1::Person& person = *request.mutable_person();
  for (const PersonFieldFlag& field : kPersonFieldFlags) {
    // On create, --lived-experience is a switch (new people start without it), not on|off.
    if (field.flag == "lived-experience") continue;
    auto value = args.Get(field.flag);
    if (!value.has_value()) continue;
    if (auto status = field.apply(field.flag, *value, person); !status.ok()) return status;
  }
  for (const std::string& supervisor_id : args.GetAll("supervisor")) {
    person.add_supervisor_ids(supervisor_id);
  }
  person.set_lived_experience(args.Has("lived-experience"));
  request.set_request_id(args.Get("request-id").value_or(""));
  auto response = context.directory.Call(&Stub::CreatePerson, request, context.token);
  if (!response.ok()) return response.status();
  return PrintPerson(context, *response, response->person());
}

absl::Status RunPersonGet(Context& context, const ParsedArgs& args) {
  v1::GetPersonRequest request;
  request.set_person_id(args.positionals()[0]);
  auto response = context.directory.Call(&Stub::GetPerson, request, context.token);
  if (!response.ok()) return response.status();
  return PrintPerson(context, *response, response->person());
}

absl::Status RunPersonList(Context& context, const ParsedArgs& args) {
  v1::ListPeopleRequest request;
  if (auto role = args.Get("role")) {
    auto parsed = ParseRole("role", *role);
    if (!parsed.ok()) return parsed.status();
    request.set_role(*parsed);
  }
  if (auto status = args.Get("status")) {
    auto parsed = ParseStatus("status", *status);
    if (!parsed.ok()) return parsed.status();
    request.set_status(*parsed);
  }
  if (auto status = ApplyPaging(args, request); !status.ok()) return status;
  auto response =
      FetchPages(context.directory, context.token, &Stub::ListPeople, request, args.Has("all"));
  if (!response.ok()) return response.status();
  std::vector<v1::Person> people(response->people().begin(), response->people().end());
  std::string human = people.empty() ? "no people found\n" : PeopleTable(people);
  if (absl::Status printed = Print(context, *response, human); !printed.ok()) return printed;
  if (!context.json) NoteMorePages(response->next_page_token(), "people");
  return absl::OkStatus();
}

absl::Status RunPersonUpdate(Context& context, const ParsedArgs& args) {
  v1::UpdatePersonRequest request;
  v1::Person& person = *request.mutable_person();
  person.set_person_id(args.positionals()[0]);
  google::protobuf::FieldMask& mask = *request.mutable_update_mask();
  // Only the fields named on the command line go into the mask, so the rest stay as they are.
  for (const PersonFieldFlag& field : kPersonFieldFlags) {
    auto value = args.Get(field.flag);
    if (!value.has_value()) continue;
    if (auto status = field.apply(field.flag, *value, person); !status.ok()) return status;
    mask.add_paths(std::string(field.mask_path));
  }
  if (mask.paths().empty()) {
    return UsageError(
        "nothing to update: give at least one of --name, --status, --timezone, "
        "--quiet-hours, --commitment-hours, --role, --lived-experience");
  }
  auto response = context.directory.Call(&Stub::UpdatePerson, request, context.token);
  if (!response.ok()) return response.status();
  return PrintPerson(context, *response, response->person());
}

absl::Status RunAssign(Context& context, const ParsedArgs& args) {
  v1::AssignSupervisorRequest request;
  request.set_volunteer_id(args.positionals()[0]);
  request.set_supervisor_id(args.positionals()[1]);
  auto response = context.directory.Call(&Stub::AssignSupervisor, request, context.token);
  if (!response.ok()) return response.status();
  return PrintPerson(context, *response, response->person(),
                     absl::StrCat("assigned supervisor ", request.supervisor_id(), "\n"));
}

absl::Status RunUnassign(Context& context, const ParsedArgs& args) {
  v1::UnassignSupervisorRequest request;
  request.set_volunteer_id(args.positionals()[0]);
  request.set_supervisor_id(args.positionals()[1]);
  auto response = context.directory.Call(&Stub::UnassignSupervisor, request, context.token);
  if (!response.ok()) return response.status();
  return PrintPerson(context, *response, response->person(),
                     absl::StrCat("unassigned supervisor ", request.supervisor_id(), "\n"));
}

absl::Status RunConsentGet(Context& context, const ParsedArgs& args) {
  v1::GetConsentRequest request;
  if (!args.positionals().empty()) request.set_volunteer_id(args.positionals()[0]);
  auto response = context.directory.Call(&Stub::GetConsent, request, context.token);
  if (!response.ok()) return response.status();
  return Print(context, *response, FormatFields(ConsentFields(response->consent())));
}

absl::Status RunConsentSet(Context& context, const ParsedArgs& args) {
  // SetConsent replaces all three choices; read them first so that only the flags given change.
  // Only the volunteer sets their consent, so there is no one else to race with but themselves.
  auto current = context.directory.Call(&Stub::GetConsent, v1::GetConsentRequest(), context.token);
  if (!current.ok()) return current.status();
  v1::SetConsentRequest request;
  v1::Consent& consent = *request.mutable_consent();
  consent = current->consent();
  consent.clear_update_time();
  int changes = 0;
  struct Choice {
    absl::string_view flag;
    void (v1::Consent::*set)(bool);
  };
  static constexpr Choice kChoices[] = {
      {"risk-monitoring", &v1::Consent::set_risk_monitoring},
      {"share-scores", &v1::Consent::set_share_scores_with_supervisor},
      {"research-export", &v1::Consent::set_research_export},
  };
  for (const Choice& choice : kChoices) {
    auto value = args.Get(choice.flag);
    if (!value.has_value()) continue;
    auto on = ParseOnOff(choice.flag, *value);
    if (!on.ok()) return on.status();
    (consent.*choice.set)(*on);
    ++changes;
  }
  if (changes == 0) {
    return UsageError(
        "nothing to set: give at least one of --risk-monitoring, --share-scores, "
        "--research-export");
  }
  auto response = context.directory.Call(&Stub::SetConsent, request, context.token);
  if (!response.ok()) return response.status();
  return Print(context, *response, FormatFields(ConsentFields(response->consent())));
}

absl::Status RunApiKeyCreate(Context& context, const ParsedArgs& args) {
  v1::CreateApiKeyRequest request;
  request.set_display_name(args.positionals()[0]);
  for (const std::string& scope : args.GetAll("scope")) request.add_scopes(scope);
  request.set_request_id(args.Get("request-id").value_or(""));
  auto response = context.directory.Call(&Stub::CreateApiKey, request, context.token);
  if (!response.ok()) return response.status();
  absl::Status printed = Print(context, *response,
                               absl::StrCat(FormatFields(ApiKeyFields(response->api_key())),
                                            "\nsecret: ", response->secret(), "\n"));
  if (!printed.ok()) return printed;
  // On stderr, so that a script capturing the output still gets only the key.
  std::cerr << "warning: the secret is shown only now; the directory keeps just its hash. "
               "Hand it to the partner over a secure channel.\n";
  return absl::OkStatus();
}

absl::Status RunApiKeyList(Context& context, const ParsedArgs& args) {
  v1::ListApiKeysRequest request;
  if (auto status = ApplyPaging(args, request); !status.ok()) return status;
  auto response =
      FetchPages(context.directory, context.token, &Stub::ListApiKeys, request, args.Has("all"));
  if (!response.ok()) return response.status();
  std::vector<v1::ApiKey> keys(response->api_keys().begin(), response->api_keys().end());
  std::string human = keys.empty() ? "no API keys\n" : ApiKeysTable(keys);
  if (absl::Status printed = Print(context, *response, human); !printed.ok()) return printed;
  if (!context.json) NoteMorePages(response->next_page_token(), "API keys");
  return absl::OkStatus();
}

absl::Status RunApiKeyRevoke(Context& context, const ParsedArgs& args) {
  v1::RevokeApiKeyRequest request;
  request.set_api_key_id(args.positionals()[0]);
  auto response = context.directory.Call(&Stub::RevokeApiKey, request, context.token);
  if (!response.ok()) return response.status();
  return Print(context, *response,
               absl::StrCat("revoked\n", FormatFields(ApiKeyFields(response->api_key()))));
}

absl::Status RunPersonExport(Context& context, const ParsedArgs& args) {
  v1::ExportPersonDataRequest request;
  if (!args.positionals().empty()) request.set_person_id(args.positionals()[0]);
  auto response = context.directory.Call(&Stub::ExportPersonData, request, context.token);
  if (!response.ok()) return response.status();
  auto output = args.Get("output");
  if (!output.has_value()) {
    std::cout << response->export_json() << "\n";
    return absl::OkStatus();
  }
  // Health data: readable by its owner alone, from the moment it exists.
  mode_t previous = umask(077);
  std::ofstream file(*output, std::ios::trunc);
  umask(previous);
  file << response->export_json() << "\n";
  file.close();
  if (!file) return absl::UnavailableError(absl::StrCat("cannot write ", *output));
  std::cerr << "wrote the export to " << *output << "\n";
  return absl::OkStatus();
}

std::string ErasureText(const v1::Erasure& erasure) {
  std::vector<std::vector<std::string>> rows;
  for (const v1::ErasureProgress& service : erasure.services()) {
    rows.push_back({service.service(), service.done() ? "done" : "pending",
                    service.done() ? FormatTimestamp(service.done_time()) : ""});
  }
  return absl::StrCat(
      FormatFields({{"erasure", erasure.erasure_id()},
                    {"person", erasure.person_id()},
                    {"state", erasure.state() == v1::ERASURE_STATE_DONE ? "done" : "in progress"},
                    {"erased by", erasure.erased_by()},
                    {"started", FormatTimestamp(erasure.create_time())},
                    {"completed",
                     erasure.has_complete_time() ? FormatTimestamp(erasure.complete_time()) : ""}}),
      "\n", FormatTable({"SERVICE", "STATE", "WHEN"}, rows));
}

absl::Status RunPersonErase(Context& context, const ParsedArgs& args) {
  v1::ErasePersonRequest request;
  request.set_person_id(args.positionals()[0]);
  request.set_request_id(args.Get("request-id").value_or(""));
  auto response = context.directory.Call(&Stub::ErasePerson, request, context.token);
  if (!response.ok()) return response.status();
  return Print(context, *response, ErasureText(response->erasure()));
}

absl::Status RunPersonErasure(Context& context, const ParsedArgs& args) {
  v1::GetErasureRequest request;
  request.set_erasure_id(args.positionals()[0]);
  auto response = context.directory.Call(&Stub::GetErasure, request, context.token);
  if (!response.ok()) return response.status();
  return Print(context, *response, ErasureText(response->erasure()));
}

absl::Status RunPersonAudit(Context& context, const ParsedArgs& args) {
  v1::ListAuditRecordsRequest request;
  request.set_subject_id(args.Get("subject").value_or(""));
  request.set_reader_id(args.Get("reader").value_or(""));
  for (auto [flag, field] : {std::pair{"since", &v1::ListAuditRecordsRequest::mutable_start_time},
                             std::pair{"until", &v1::ListAuditRecordsRequest::mutable_end_time}}) {
    if (auto text = args.Get(flag)) {
      auto time = ParsePointInTime(flag, *text, absl::Now());
      if (!time.ok()) return time.status();
      *(request.*field)() = TimestampToProto(*time);
    }
  }
  if (auto status = ApplyPaging(args, request); !status.ok()) return status;
  auto response = FetchPages(context.directory, context.token, &Stub::ListAuditRecords, request,
                             args.Has("all"));
  if (!response.ok()) return response.status();
  std::vector<std::vector<std::string>> rows;
  for (const v1::AuditRecord& record : response->records()) {
    std::string reader =
        record.reader_display_name().empty()
            ? record.reader_id()
            : absl::StrCat(record.reader_display_name(), " (", record.reader_id(), ")");
    std::string rpc = record.rpc().substr(record.rpc().rfind('/') + 1);
    rows.push_back({FormatTimestamp(record.time()), reader, record.reader_role(),
                    record.subject_id(), rpc, record.outcome()});
  }
  std::string human =
      rows.empty() ? "no reads recorded\n"
                   : FormatTable({"TIME", "READER", "ROLE", "WHOSE DATA", "RPC", "OUTCOME"}, rows);
  if (absl::Status printed = Print(context, *response, human); !printed.ok()) return printed;
  if (!context.json) NoteMorePages(response->next_page_token(), "audit records");
  return absl::OkStatus();
}

const std::vector<Command>& AllCommands() {
  static const auto* commands = [] {
    auto* all = new std::vector<Command>{
        {"token",
         {},
         "mint a token locally from the services' signing secret",
         {{"role", FlagKind::kValue, "ROLE", "admin, coordinator, supervisor, volunteer or service",
           true},
          {"subject", FlagKind::kValue, "ID", "the person id (or a name for admin and service)",
           true},
          {"org", FlagKind::kValue, "ORG", "the organisation id; required except for admin"},
          {"ttl", FlagKind::kValue, "DURATION", "lifetime, e.g. 30m or 12h (default 12h)"}},
         "Needs PEERWELL_JWT_SECRET or PEERWELL_JWT_SECRET_FILE, the same secret the services "
         "use.\n"
         "Prints only the token:  export PEERWELL_TOKEN=$(peerwellctl token --role ... )\n"
         "An admin token with --org may create that organisation's first coordinator.",
         false,
         RunToken},
        {"dashboard-url",
         {},
         "print a link that signs into the dashboard in a browser",
         {{"gateway", FlagKind::kValue, "URL",
           "the gateway (default $PEERWELL_GATEWAY_URL, else http://127.0.0.1:8080)"}},
         "Signs in as the identity of --as (a token minted for 8 hours), --token or\n"
         "$PEERWELL_TOKEN: peerwellctl --as supervisor:PERSON_ID:ORG_ID dashboard-url\n"
         "Anyone holding the link acts as that person until the token expires: share it\n"
         "only with them. A volunteer's link opens the volunteers' app.",
         true,
         RunDashboardUrl,
         Backend::kDirectory,
         absl::Hours(8)},
        {"org create",
         {"NAME"},
         "create an organisation (admin)",
         {{"request-id", FlagKind::kValue, "ID",
           "retries with the same id return the first organisation"}},
         "",
         true,
         RunOrgCreate},
        {"person create",
         {},
         "create a person (coordinator; an admin creates the first one)",
         {{"name", FlagKind::kValue, "NAME", "display name", true},
          {"role", FlagKind::kValue, "ROLE", "volunteer, supervisor or coordinator", true},
          {"timezone", FlagKind::kValue, "TZ", "IANA time zone, e.g. Europe/London (default UTC)"},
          {"quiet-hours", FlagKind::kValue, "HH:MM-HH:MM", "local quiet hours, e.g. 22:00-07:00"},
          {"commitment-hours", FlagKind::kValue, "N", "hours per month the person commits to"},
          {"supervisor", FlagKind::kRepeated, "ID", "a supervisor of a new volunteer (repeatable)"},
          {"lived-experience", FlagKind::kSwitch, "",
           "a supervisor with lived experience of mental-health difficulties"},
          {"request-id", FlagKind::kValue, "ID",
           "retries with the same id return the first person"}},
         "",
         true,
         RunPersonCreate},
        {"person get", {"ID"}, "show one person", {}, "", true, RunPersonGet},
        {"person list",
         {},
         "list the people you may see",
         [] {
           std::vector<FlagSpec> flags = {
               {"role", FlagKind::kValue, "ROLE", "only volunteer, supervisor or coordinator"},
               {"status", FlagKind::kValue, "STATUS", "only active, on-break or inactive"}};
           for (FlagSpec& flag : PagingFlags()) flags.push_back(std::move(flag));
           return flags;
         }(),
         "",
         true,
         RunPersonList},
        {"person update",
         {"ID"},
         "change some fields of a person (only the flags given change)",
         {{"name", FlagKind::kValue, "NAME", "display name"},
          {"status", FlagKind::kValue, "STATUS", "active, on-break or inactive"},
          {"timezone", FlagKind::kValue, "TZ", "IANA time zone"},
          {"quiet-hours", FlagKind::kValue, "HH:MM-HH:MM", "quiet hours, or none to clear them"},
          {"commitment-hours", FlagKind::kValue, "N", "hours per month"},
          {"role", FlagKind::kValue, "ROLE", "volunteer, supervisor or coordinator"},
          {"lived-experience", FlagKind::kValue, "on|off", "supervisors: lived experience"}},
         "Volunteers and supervisors may change their own name, timezone, quiet hours and switch\n"
         "between active and on-break; everything else is for a coordinator.",
         true,
         RunPersonUpdate},
        {"person export",
         {"[ID]"},
         "everything the services hold about a person, as one JSON document (yourself when no "
         "id is given)",
         {{"output", FlagKind::kValue, "FILE",
           "write it to FILE (readable by you alone) instead of standard output"}},
         "The person themselves or a coordinator (whose export is audited). Check-in notes,\n"
         "incident descriptions and the person's own messages are in it, decrypted: keep the\n"
         "file safe and delete it when it has been handed over.",
         true,
         RunPersonExport},
        {"person audit",
         {},
         "who read whose data: your own, or the organisation's for a coordinator",
         [] {
           std::vector<FlagSpec> flags = {
               {"subject", FlagKind::kValue, "ID", "only reads of this person's data"},
               {"reader", FlagKind::kValue, "ID", "only reads by this person, key or service"},
               {"since", FlagKind::kValue, "TIME", "from an RFC 3339 time, or a span ago (-30d)"},
               {"until", FlagKind::kValue, "TIME", "before an RFC 3339 time, or a span ago"}};
           for (FlagSpec& flag : PagingFlags()) flags.push_back(std::move(flag));
           return flags;
         }(),
         "Newest first. Every read of a volunteer's health data by someone other than the\n"
         "volunteer is recorded (SPEC 1.5), refused ones too.",
         true,
         RunPersonAudit},
        {"person erase",
         {"ID"},
         "erase a person from every service (coordinator); cannot be undone",
         {{"request-id", FlagKind::kValue, "ID",
           "retries with the same id answer the first erasure and erase nothing again"}},
         "Their data keys go first (nothing of theirs can be decrypted again), then every\n"
         "service removes their records; messages they posted in shared channels keep their\n"
         "place, without the text, from a former member. The audit stream keeps one record that\n"
         "the erasure happened. Follow it with: peerwellctl person erasure ERASURE_ID",
         true,
         RunPersonErase},
        {"person erasure",
         {"ERASURE_ID"},
         "how far an erasure is, service by service (coordinator)",
         {},
         "",
         true,
         RunPersonErasure},
        {"assign",
         {"VOLUNTEER_ID", "SUPERVISOR_ID"},
         "assign a supervisor to a volunteer (coordinator)",
         {},
         "",
         true,
         RunAssign},
        {"unassign",
         {"VOLUNTEER_ID", "SUPERVISOR_ID"},
         "remove a supervisor from a volunteer (coordinator)",
         {},
         "",
         true,
         RunUnassign},
        {"consent get",
         {"[VOLUNTEER_ID]"},
         "show a volunteer's consent (yourself when no id is given)",
         {},
         "A coordinator's or supervisor's read of someone else's consent is audited.",
         true,
         RunConsentGet},
        {"consent set",
         {},
         "change your own consent (volunteers only)",
         {{"risk-monitoring", FlagKind::kValue, "on|off",
           "your check-ins feed the burnout-risk engine"},
          {"share-scores", FlagKind::kValue, "on|off",
           "your supervisors may see your individual scores and trends"},
          {"research-export", FlagKind::kValue, "on|off",
           "de-identified export of your check-ins to research partners"}},
         "Only the choices given change; the others keep their current value. Everything is off\n"
         "until you turn it on.",
         true,
         RunConsentSet},
        {"apikey create",
         {"NAME"},
         "create a partner API key (coordinator); shows its secret once",
         {{"scope", FlagKind::kRepeated, "SCOPE",
           "aggregates:read, exports:read or webhooks:manage (repeatable)", true},
          {"request-id", FlagKind::kValue, "ID",
           "retries with the same id return the first key and its secret (for 7 days)"}},
         "",
         true,
         RunApiKeyCreate},
        {"apikey list",
         {},
         "list the organisation's API keys (coordinator)",
         PagingFlags(),
         "",
         true,
         RunApiKeyList},
        {"apikey revoke", {"ID"}, "revoke an API key (coordinator)", {}, "", true, RunApiKeyRevoke},
    };
    for (Command& command : CheckinCommands()) all->push_back(std::move(command));
    for (Command& command : AlertsCommands()) all->push_back(std::move(command));
    for (Command& command : SupervisionCommands()) all->push_back(std::move(command));
    for (Command& command : NetworkCommands()) all->push_back(std::move(command));
    for (Command& command : PartnerCommands()) all->push_back(std::move(command));
    all->push_back(
        {"demo seed",
         {},
         "seed a demo organisation: people, consent, check-ins, supervision, peer network",
         {{"gateway", FlagKind::kValue, "URL",
           "where the dashboard links printed at the end point (default $PEERWELL_GATEWAY_URL, "
           "else http://127.0.0.1:8080)"}},
         "Needs PEERWELL_JWT_SECRET or PEERWELL_JWT_SECRET_FILE: it acts as the platform operator\n"
         "(admin subject \"demo-admin\") and mints every other identity itself, so --token and\n"
         "--as are not used. Creates \"Harbour Peer Support (demo)\", its coordinator, 2\n"
         "supervisors and 6 volunteers, assigns 3 volunteers to each supervisor and sets each\n"
         "volunteer's consent. When the check-in service answers (--checkin-addr), imports about\n"
         "8 weeks of check-ins per volunteer (WHO-5 every 14 days, CBI every 30, 2-3 pulses a\n"
         "week); Jonas Nielsen's show rising burnout and Zofia Wiśniewska reports a critical\n"
         "incident, so that with the alerts service running their supervisor (the printed one)\n"
         "gets alerts about them, and nobody else. Fixed request ids make a re-run\n"
         "(within the services' 7-day request-id retention) return the same organisation, people\n"
         "and check-ins. Then, with the supervision service (--supervision-addr; it must answer),\n"
         "gives both supervisors Monday-Thursday 09:00-17:00 (unless they set their own), a\n"
         "fortnightly reflective practice group on Wednesdays (8 seats, 4 taken, both "
         "supervisors)\n"
         "and one-to-ones for five volunteers with their own supervisor in the next two weeks; a\n"
         "re-run finds them and creates nothing twice. When the peer network answers\n"
         "(--network-addr), opens its channels: announcements with the coordinator's welcome,\n"
         "the volunteers' cohort group (Kwame Mensah invited), Amira Haddad and Jonas Nielsen\n"
         "as buddies and a direct conversation between Priya Natarajan and Seán O'Brien, each\n"
         "message posted by its author; a re-run finds the channels and messages and adds\n"
         "nothing. Prints tokens (12h) for the coordinator, a supervisor and a volunteer.",
         false,
         RunDemoSeed});
    all->push_back(
        {"migrate",
         {},
         "move a Redis written before events and schedules were per organisation to this layout",
         {{"redis-addr", FlagKind::kValue, "ADDR",
           "the Redis (host:port or unix:/path; default $PEERWELL_REDIS_ADDR, else "
           "127.0.0.1:6379)"},
          {"redis-user", FlagKind::kValue, "USER",
           "a Redis user that may read and write every key (default $PEERWELL_REDIS_USER)"},
          {"redis-password-file", FlagKind::kValue, "FILE",
           "file holding that user's password (default $PEERWELL_REDIS_PASSWORD_FILE, or the "
           "password in $PEERWELL_REDIS_PASSWORD)"},
          {"redis-password-dir", FlagKind::kValue, "DIR",
           "instead: a folder of the services' Redis passwords, a file each named after the "
           "service; each part is moved as the service whose keys it is"}},
         "Run it once between stopping the services of the older release and starting this\n"
         "one's, against their one Redis (not a cluster: that layout never ran on one). It\n"
         "registers every organisation of the directory (pw:platform:directory:organizations),\n"
         "copies each service's events (pw:events:<service> and its dead letters) to each\n"
         "organisation's stream under their own ids, with every consumer group where it had got\n"
         "to (an entry it had read and not acknowledged is read again), then deletes the old\n"
         "streams; and moves the alert deadlines and last check-ins, the webhook deliveries due\n"
         "and the erasures due to each organisation's schedule. A run that stopped halfway is\n"
         "finished by running it again; a second run changes nothing. Prints what it moved\n"
         "(--json: as JSON). With --redis-user, that user needs every key; with\n"
         "--redis-password-dir, each service's own user does its part.",
         false,
         RunMigrate,
         Backend::kRedis});
    return all;
  }();
  return *commands;
}

}  // namespace peerwell::ctl
