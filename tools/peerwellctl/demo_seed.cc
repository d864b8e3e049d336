// `peerwellctl demo seed`: a small, realistic organisation to click through locally.

#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "services/common/auth.h"
#include "tools/peerwellctl/command.h"
#include "tools/peerwellctl/format.h"
#include "tools/peerwellctl/identity.h"

namespace peerwell::ctl {
namespace {

using Stub = v1::DirectoryService::Stub;

constexpr absl::string_view kOrganizationName = "Harbour Peer Support (demo)";
// The platform operator's subject: CreateOrganization and the first coordinator are idempotent
// per caller and request_id, so a fixed subject plus fixed request ids make a re-run return
// the same organisation and people instead of a second copy.
constexpr absl::string_view kAdminSubject = "demo-admin";
// Bump to seed a fresh copy instead of replaying the earlier one.
constexpr absl::string_view kRequestPrefix = "demo-seed-v1";
// Long enough to copy into a browser session or a shell for a working day.
constexpr absl::Duration kPrintedTokenLifetime = absl::Hours(12);
// The identities used only while seeding.
constexpr absl::Duration kSeedingTokenLifetime = absl::Minutes(10);

struct DemoConsent {
  bool risk_monitoring = false;
  bool share_scores_with_supervisor = false;
  bool research_export = false;
};

struct DemoPerson {
  absl::string_view key;  // stable part of the request_id
  absl::string_view display_name;
  v1::Role role;
  absl::string_view timezone;
  absl::string_view quiet_start;
  absl::string_view quiet_end;
  int commitment_hours_per_month;
  bool lived_experience;
  int supervisor;  // index into kDemoSupervisors, volunteers only
  DemoConsent consent;
};

// One person per row reads better than one field per line.
// clang-format off
constexpr DemoPerson kDemoCoordinator = {
    "coordinator", "Grace Okafor", v1::ROLE_COORDINATOR, "Europe/London", "19:00", "08:00",
    0, false, -1, {}};

constexpr DemoPerson kDemoSupervisors[] = {
    {"supervisor-mette", "Mette Rasmussen", v1::ROLE_SUPERVISOR, "Europe/Copenhagen",
     "20:00", "08:00", 0, true, -1, {}},
    {"supervisor-daniel", "Daniel Hughes", v1::ROLE_SUPERVISOR, "Europe/London",
     "21:00", "07:30", 0, false, -1, {}},
};

// Most volunteers opt in to risk monitoring and to sharing scores; one shares alerts but not
// scores, and one has left everything off (the default), so the consent rules show.
constexpr DemoPerson kDemoVolunteers[] = {
    {"volunteer-amira", "Amira Haddad", v1::ROLE_VOLUNTEER, "Europe/London",
     "22:00", "07:00", 12, false, 0, {true, true, true}},
    {"volunteer-jonas", "Jonas Nielsen", v1::ROLE_VOLUNTEER, "Europe/Copenhagen",
     "22:30", "07:30", 8, false, 0, {true, true, false}},
    {"volunteer-zofia", "Zofia Wiśniewska", v1::ROLE_VOLUNTEER, "Europe/Warsaw",
     "23:00", "07:00", 10, false, 0, {true, true, true}},
    {"volunteer-sean", "Seán O'Brien", v1::ROLE_VOLUNTEER, "Europe/Dublin",
     "22:00", "08:00", 16, false, 1, {true, true, false}},
    {"volunteer-priya", "Priya Natarajan", v1::ROLE_VOLUNTEER, "Europe/London",
     "21:30", "07:00", 6, false, 1, {true, false, false}},
    {"volunteer-kwame", "Kwame Mensah", v1::ROLE_VOLUNTEER, "Europe/London",
     "22:00", "06:30", 12, false, 1, {false, false, false}},
};
// clang-format on

std::string RequestId(absl::string_view key) { return absl::StrCat(kRequestPrefix, ":", key); }

// Keeps the service's code and says which step failed.
absl::Status InStep(absl::string_view step, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat("demo seed: ", step, ": ", status.message()));
}

std::string Mint(const std::string& secret, v1::Role role, const std::string& subject,
                 const std::string& organization_id, absl::Duration lifetime) {
  TokenClaims claims;
  claims.subject = subject;
  claims.organization_id = organization_id;
  claims.lifetime = lifetime;
  switch (role) {
    case v1::ROLE_COORDINATOR:
      claims.role = CallerRole::kCoordinator;
      break;
    case v1::ROLE_SUPERVISOR:
      claims.role = CallerRole::kSupervisor;
      break;
    default:
      claims.role = CallerRole::kVolunteer;
      break;
  }
  return MintToken(secret, claims, absl::Now());
}

absl::StatusOr<v1::Person> CreateDemoPerson(Context& context, const std::string& token,
                                            const DemoPerson& demo) {
  v1::CreatePersonRequest request;
  v1::Person& person = *request.mutable_person();
  person.set_display_name(std::string(demo.display_name));
  person.set_role(demo.role);
  person.set_timezone(std::string(demo.timezone));
  person.mutable_quiet_hours()->set_start(std::string(demo.quiet_start));
  person.mutable_quiet_hours()->set_end(std::string(demo.quiet_end));
  person.set_commitment_hours_per_month(demo.commitment_hours_per_month);
  person.set_lived_experience(demo.lived_experience);
  request.set_request_id(RequestId(demo.key));
  auto response = context.directory.Call(&Stub::CreatePerson, request, token);
  if (!response.ok()) {
    return InStep(absl::StrCat("creating ", demo.display_name), response.status());
  }
  return response->person();
}

// Everything the seed created, for the summary.
struct SeededDemo {
  v1::Organization organization;
  v1::Person coordinator;
  std::vector<v1::Person> supervisors;
  std::vector<v1::Person> volunteers;
  std::vector<v1::Consent> consents;  // one per volunteer
  std::string coordinator_token;
  std::string supervisor_token;
  std::string volunteer_token;
  absl::Time tokens_expire;
};

absl::StatusOr<SeededDemo> Seed(Context& context, const std::string& secret) {
  SeededDemo demo;
  TokenClaims admin{std::string(kAdminSubject), "", CallerRole::kAdmin, kSeedingTokenLifetime};

  v1::CreateOrganizationRequest create_org;
  create_org.set_display_name(std::string(kOrganizationName));
  create_org.set_request_id(RequestId("organization"));
  auto org = context.directory.Call(&Stub::CreateOrganization, create_org,
                                    MintToken(secret, admin, absl::Now()));
  if (!org.ok()) return InStep("creating the organisation", org.status());
  demo.organization = org->organization();
  const std::string& org_id = demo.organization.organization_id();

  // SPEC §8: an admin token whose org claim is the new organisation creates its first
  // coordinator; from then on the coordinator creates everyone else.
  admin.organization_id = org_id;
  auto coordinator =
      CreateDemoPerson(context, MintToken(secret, admin, absl::Now()), kDemoCoordinator);
  if (!coordinator.ok()) return coordinator.status();
  demo.coordinator = *coordinator;
  demo.coordinator_token = Mint(secret, v1::ROLE_COORDINATOR, demo.coordinator.person_id(), org_id,
                                kPrintedTokenLifetime);
  demo.tokens_expire = absl::Now() + kPrintedTokenLifetime;

  for (const DemoPerson& supervisor : kDemoSupervisors) {
    auto created = CreateDemoPerson(context, demo.coordinator_token, supervisor);
    if (!created.ok()) return created.status();
    demo.supervisors.push_back(*created);
  }
  for (const DemoPerson& volunteer : kDemoVolunteers) {
    auto created = CreateDemoPerson(context, demo.coordinator_token, volunteer);
    if (!created.ok()) return created.status();
    // Assigning twice is harmless, so a re-run needs no check first.
    v1::AssignSupervisorRequest assign;
    assign.set_volunteer_id(created->person_id());
    assign.set_supervisor_id(demo.supervisors[volunteer.supervisor].person_id());
    auto assigned = context.directory.Call(&Stub::AssignSupervisor, assign, demo.coordinator_token);
    if (!assigned.ok()) {
      return InStep(absl::StrCat("assigning a supervisor to ", volunteer.display_name),
                    assigned.status());
    }
    demo.volunteers.push_back(assigned->person());
  }

  // Consent is the volunteer's alone to give, so each volunteer's own token sets it.
  for (size_t i = 0; i < demo.volunteers.size(); ++i) {
    const DemoConsent& wanted = kDemoVolunteers[i].consent;
    v1::SetConsentRequest set;
    set.mutable_consent()->set_risk_monitoring(wanted.risk_monitoring);
    set.mutable_consent()->set_share_scores_with_supervisor(wanted.share_scores_with_supervisor);
    set.mutable_consent()->set_research_export(wanted.research_export);
    std::string token = Mint(secret, v1::ROLE_VOLUNTEER, demo.volunteers[i].person_id(), org_id,
                             kSeedingTokenLifetime);
    auto consent = context.directory.Call(&Stub::SetConsent, set, token);
    if (!consent.ok()) {
      return InStep(absl::StrCat("setting the consent of ", kDemoVolunteers[i].display_name),
                    consent.status());
    }
    demo.consents.push_back(consent->consent());
  }

  demo.supervisor_token = Mint(secret, v1::ROLE_SUPERVISOR, demo.supervisors[0].person_id(), org_id,
                               kPrintedTokenLifetime);
  demo.volunteer_token = Mint(secret, v1::ROLE_VOLUNTEER, demo.volunteers[0].person_id(), org_id,
                              kPrintedTokenLifetime);
  return demo;
}

std::string ConsentSummary(const v1::Consent& consent) {
  std::vector<absl::string_view> given;
  if (consent.risk_monitoring()) given.push_back("risk-monitoring");
  if (consent.share_scores_with_supervisor()) given.push_back("share-scores");
  if (consent.research_export()) given.push_back("research-export");
  return given.empty() ? "none" : absl::StrJoin(given, ", ");
}

std::string HumanSummary(const SeededDemo& demo) {
  std::vector<std::vector<std::string>> rows;
  auto add = [&rows](const v1::Person& person, absl::string_view supervisor,
                     absl::string_view consent) {
    rows.push_back({person.person_id(), RoleWord(person.role()), person.display_name(),
                    person.timezone(), std::string(supervisor), std::string(consent)});
  };
  add(demo.coordinator, "-", "-");
  for (const v1::Person& supervisor : demo.supervisors) add(supervisor, "-", "-");
  for (size_t i = 0; i < demo.volunteers.size(); ++i) {
    add(demo.volunteers[i], demo.supervisors[kDemoVolunteers[i].supervisor].display_name(),
        ConsentSummary(demo.consents[i]));
  }
  std::string out =
      absl::StrCat("Demo organisation seeded (a re-run returns the same one).\n\n",
                   FormatFields(OrganizationFields(demo.organization)), "\n",
                   FormatTable({"ID", "ROLE", "NAME", "TIMEZONE", "SUPERVISOR", "CONSENT"}, rows),
                   "\nTokens for local use, valid until ", HumanTime(demo.tokens_expire),
                   ". Use one with: export PEERWELL_TOKEN=<token>\n");
  auto token = [&out](absl::string_view role, const v1::Person& person, absl::string_view value) {
    absl::StrAppend(&out, "\n", role, " (", person.display_name(), "):\n", value, "\n");
  };
  token("coordinator", demo.coordinator, demo.coordinator_token);
  token("supervisor", demo.supervisors[0], demo.supervisor_token);
  token("volunteer", demo.volunteers[0], demo.volunteer_token);
  return out;
}

// One JSON object: protobuf's JSON mapping for the organisation, people and consents (as every
// other --json output), with the tokens alongside.
absl::StatusOr<std::string> JsonSummary(const SeededDemo& demo) {
  auto organization = MessageToJson(demo.organization);
  if (!organization.ok()) return organization.status();
  std::vector<std::string> people;
  std::vector<const v1::Person*> everyone = {&demo.coordinator};
  for (const v1::Person& person : demo.supervisors) everyone.push_back(&person);
  for (const v1::Person& person : demo.volunteers) everyone.push_back(&person);
  for (const v1::Person* person : everyone) {
    auto json = MessageToJson(*person);
    if (!json.ok()) return json.status();
    people.push_back(*json);
  }
  std::vector<std::string> consents;
  for (size_t i = 0; i < demo.volunteers.size(); ++i) {
    auto json = MessageToJson(demo.consents[i]);
    if (!json.ok()) return json.status();
    consents.push_back(absl::StrCat(JsonString(demo.volunteers[i].person_id()), ":", *json));
  }
  return absl::StrCat("{\"organization\":", *organization, ",\"people\":[",
                      absl::StrJoin(people, ","), "],\"consents\":{", absl::StrJoin(consents, ","),
                      "},\"tokens\":{\"coordinator\":", JsonString(demo.coordinator_token),
                      ",\"supervisor\":", JsonString(demo.supervisor_token),
                      ",\"volunteer\":", JsonString(demo.volunteer_token),
                      ",\"expireTime\":", JsonString(JsonTime(demo.tokens_expire)), "}}");
}

}  // namespace

absl::Status RunDemoSeed(Context& context, const ParsedArgs&) {
  auto secret = LoadSigningSecret();
  if (!secret.ok()) return secret.status();
  auto demo = Seed(context, *secret);
  if (!demo.ok()) return demo.status();
  if (!context.json) {
    std::cout << HumanSummary(*demo);
    return absl::OkStatus();
  }
  auto json = JsonSummary(*demo);
  if (!json.ok()) return json.status();
  std::cout << *json << "\n";
  return absl::OkStatus();
}

}  // namespace peerwell::ctl
