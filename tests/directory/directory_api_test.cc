// The directory over a real gRPC channel against a real redis-server: authentication, tenancy,
// roles and visibility, validation, idempotency, paging, events and audit.
#include <algorithm>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "services/common/events.h"
#include "services/common/ids.h"
#include "services/common/organization_registry.h"
#include "tests/directory/directory_test_server.h"
#include "tests/testing/redis_text.h"

namespace peerwell::directory::testing {
namespace {

using ::peerwell::testing::TestToken;
using ::testing::HasSubstr;

struct Org {
  std::string id;
  std::string coordinator_id;
  std::string coordinator_token;
};

class DirectoryApiTest : public ::testing::Test {
 protected:
  std::unique_ptr<grpc::ClientContext> As(const std::string& token) {
    auto context = std::make_unique<grpc::ClientContext>();
    if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return context;
  }

  Org NewOrganization(const std::string& name) {
    std::string admin = TestToken(CallerRole::kAdmin, "operator", "");
    v1::CreateOrganizationRequest request;
    request.set_display_name(name);
    v1::CreateOrganizationResponse response;
    grpc::Status status = server_.stub().CreateOrganization(As(admin).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    Org org;
    org.id = response.organization().organization_id();
    // The operator creates the first coordinator with the organisation as its org claim.
    std::string admin_for_org = TestToken(CallerRole::kAdmin, "operator", org.id);
    v1::CreatePersonRequest create;
    create.mutable_person()->set_display_name("Coordinator of " + name);
    create.mutable_person()->set_role(v1::ROLE_COORDINATOR);
    v1::CreatePersonResponse created;
    status = server_.stub().CreatePerson(As(admin_for_org).get(), create, &created);
    EXPECT_TRUE(status.ok()) << status.error_message();
    org.coordinator_id = created.person().person_id();
    org.coordinator_token = TestToken(CallerRole::kCoordinator, org.coordinator_id, org.id);
    return org;
  }

  v1::Person CreatePerson(const Org& org, v1::Role role, const std::string& name,
                          std::vector<std::string> supervisors = {}) {
    v1::CreatePersonRequest request;
    request.mutable_person()->set_display_name(name);
    request.mutable_person()->set_role(role);
    request.mutable_person()->set_timezone("Europe/Copenhagen");
    for (const auto& s : supervisors) request.mutable_person()->add_supervisor_ids(s);
    v1::CreatePersonResponse response;
    grpc::Status status =
        server_.stub().CreatePerson(As(org.coordinator_token).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.person();
  }

  std::string TokenFor(const Org& org, const v1::Person& person) {
    CallerRole role = person.role() == v1::ROLE_VOLUNTEER    ? CallerRole::kVolunteer
                      : person.role() == v1::ROLE_SUPERVISOR ? CallerRole::kSupervisor
                                                             : CallerRole::kCoordinator;
    return TestToken(role, person.person_id(), org.id);
  }

  grpc::Status Get(const std::string& token, const std::string& id, v1::Person* out = nullptr) {
    v1::GetPersonRequest request;
    request.set_person_id(id);
    v1::GetPersonResponse response;
    grpc::Status status = server_.stub().GetPerson(As(token).get(), request, &response);
    if (out != nullptr) *out = response.person();
    return status;
  }

  std::vector<v1::Person> ListAll(const std::string& token, v1::Role role = v1::ROLE_UNSPECIFIED,
                                  int page_size = 0) {
    std::vector<v1::Person> people;
    v1::ListPeopleRequest request;
    request.set_role(role);
    request.set_page_size(page_size);
    for (int pages = 0; pages < 100; ++pages) {
      v1::ListPeopleResponse response;
      grpc::Status status = server_.stub().ListPeople(As(token).get(), request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      people.insert(people.end(), response.people().begin(), response.people().end());
      if (response.next_page_token().empty()) break;
      request.set_page_token(response.next_page_token());
    }
    return people;
  }

  long long KeyCount() { return server_.redis().Execute({"DBSIZE"})->integer; }

  // Every organisation's, oldest first.
  std::vector<StreamEntry> Events() {
    std::vector<StreamEntry> events;
    auto streams = MatchingKeys(server_.redis(), EventStreamKey("directory", "*"));
    EXPECT_TRUE(streams.ok()) << streams.status();
    std::set<std::string> read;
    for (const std::string& stream : streams.ok() ? *streams : std::vector<std::string>{}) {
      if (!read.insert(stream).second) continue;
      auto reply = server_.redis().Execute({"XRANGE", stream, "-", "+"});
      for (StreamEntry& event : ParseStreamEntries(*reply)) events.push_back(std::move(event));
    }
    // A stream id is "<milliseconds>-<sequence>".
    auto order = [](const StreamEntry& entry) {
      const size_t dash = entry.id.find('-');
      return std::pair(std::stoll(entry.id.substr(0, dash)), std::stoll(entry.id.substr(dash + 1)));
    };
    std::stable_sort(events.begin(), events.end(), [&](const StreamEntry& a, const StreamEntry& b) {
      return order(a) < order(b);
    });
    return events;
  }

  DirectoryTestServer server_;
};

// --- Authentication ------------------------------------------------------------------------------

TEST_F(DirectoryApiTest, RefusesMissingAndBadCredentials) {
  Org org = NewOrganization("Harbour");
  v1::Person person;
  EXPECT_EQ(Get("", org.coordinator_id).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Get("not-a-token", org.coordinator_id).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  std::string expired =
      MintToken(peerwell::testing::kTestJwtSecret,
                {org.coordinator_id, org.id, CallerRole::kCoordinator, absl::Minutes(1)},
                absl::Now() - absl::Hours(2));
  EXPECT_EQ(Get(expired, org.coordinator_id).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  std::string wrong_secret = MintToken(
      "a-different-secret-that-is-32-bytes-long",
      {org.coordinator_id, org.id, CallerRole::kCoordinator, absl::Hours(1)}, absl::Now());
  EXPECT_EQ(Get(wrong_secret, org.coordinator_id).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(Get(org.coordinator_token, org.coordinator_id).ok());
}

TEST_F(DirectoryApiTest, PartnerKeyAuthenticatesButReadsNoPeopleAndStopsWhenRevoked) {
  Org org = NewOrganization("Harbour");
  v1::CreateApiKeyRequest create;
  create.set_display_name("Research partner");
  create.add_scopes("aggregates:read");
  v1::CreateApiKeyResponse created;
  ASSERT_TRUE(server_.stub().CreateApiKey(As(org.coordinator_token).get(), create, &created).ok());
  ASSERT_THAT(created.secret(), HasSubstr("pwk_"));

  auto with_key = [&](const std::string& key) {
    grpc::ClientContext context;
    context.AddMetadata("x-api-key", key);
    v1::GetPersonRequest request;
    request.set_person_id(org.coordinator_id);
    v1::GetPersonResponse response;
    return server_.stub().GetPerson(&context, request, &response).error_code();
  };
  EXPECT_EQ(with_key(created.secret()), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(with_key(created.secret() + "x"), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(with_key("pwk_nonsense"), grpc::StatusCode::UNAUTHENTICATED);

  // Only the hash is stored: the secret appears nowhere in Redis.
  std::string stored = peerwell::testing::AllRedisText(server_.redis());
  ASSERT_NE(stored.find(created.api_key().api_key_id()), std::string::npos);
  EXPECT_EQ(stored.find(created.secret().substr(50)), std::string::npos);

  v1::RevokeApiKeyRequest revoke;
  revoke.set_api_key_id(created.api_key().api_key_id());
  v1::RevokeApiKeyResponse revoked;
  ASSERT_TRUE(server_.stub().RevokeApiKey(As(org.coordinator_token).get(), revoke, &revoked).ok());
  EXPECT_TRUE(revoked.api_key().has_revoke_time());
  EXPECT_EQ(with_key(created.secret()), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(DirectoryApiTest, ARetriedCreateApiKeyAnswersTheFirstKeyAndItsSecretKeptOnlySealed) {
  Org org = NewOrganization("Harbour");
  v1::CreateApiKeyRequest create;
  create.set_display_name("Research partner");
  create.add_scopes("aggregates:read");
  create.set_request_id("key-for-research-1");
  v1::CreateApiKeyResponse first, retried;
  ASSERT_TRUE(server_.stub().CreateApiKey(As(org.coordinator_token).get(), create, &first).ok());
  // The answer was lost; the coordinator's client tries again.
  ASSERT_TRUE(server_.stub().CreateApiKey(As(org.coordinator_token).get(), create, &retried).ok());
  EXPECT_EQ(retried.api_key().api_key_id(), first.api_key().api_key_id());
  EXPECT_EQ(retried.secret(), first.secret());
  EXPECT_EQ(retried.api_key().create_time().seconds(), first.api_key().create_time().seconds());

  v1::ListApiKeysRequest list;
  v1::ListApiKeysResponse keys;
  ASSERT_TRUE(server_.stub().ListApiKeys(As(org.coordinator_token).get(), list, &keys).ok());
  EXPECT_EQ(keys.api_keys_size(), 1);

  // The secret answered again is the key's: it authenticates.
  v1::AuthenticateApiKeyRequest authenticate;
  authenticate.set_secret(retried.secret());
  v1::AuthenticateApiKeyResponse authenticated;
  std::string service = TestToken(CallerRole::kService, "checkin", org.id);
  EXPECT_TRUE(
      server_.stub().AuthenticateApiKey(As(service).get(), authenticate, &authenticated).ok());

  // Kept for the retry only sealed: the secret appears nowhere in Redis.
  std::string stored = peerwell::testing::AllRedisText(server_.redis());
  EXPECT_EQ(stored.find(first.secret().substr(first.secret().size() - 30)), std::string::npos);

  // The same request_id on another create of the same caller is another request.
  v1::CreatePersonRequest person;
  person.mutable_person()->set_display_name("Vera");
  person.mutable_person()->set_role(v1::ROLE_VOLUNTEER);
  person.set_request_id("key-for-research-1");
  v1::CreatePersonResponse created_person;
  ASSERT_TRUE(
      server_.stub().CreatePerson(As(org.coordinator_token).get(), person, &created_person).ok());
  EXPECT_EQ(created_person.person().display_name(), "Vera");

  create.set_request_id("not a token!");
  v1::CreateApiKeyResponse refused;
  grpc::Status status =
      server_.stub().CreateApiKey(As(org.coordinator_token).get(), create, &refused);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("request_id"));
}

TEST_F(DirectoryApiTest, ServicesAuthenticateApiKeysOfTheirOrganisationOnly) {
  Org org = NewOrganization("Harbour");
  Org other = NewOrganization("Lighthouse");
  v1::CreateApiKeyRequest create;
  create.set_display_name("Partner");
  create.add_scopes("exports:read");
  create.add_scopes("aggregates:read");
  v1::CreateApiKeyResponse created;
  ASSERT_TRUE(server_.stub().CreateApiKey(As(org.coordinator_token).get(), create, &created).ok());

  v1::AuthenticateApiKeyRequest request;
  request.set_secret(created.secret());
  v1::AuthenticateApiKeyResponse response;
  std::string service = TestToken(CallerRole::kService, "checkin", org.id);
  ASSERT_TRUE(server_.stub().AuthenticateApiKey(As(service).get(), request, &response).ok());
  EXPECT_EQ(response.organization_id(), org.id);
  EXPECT_THAT(response.scopes(), ::testing::ElementsAre("exports:read", "aggregates:read"));

  std::string foreign_service = TestToken(CallerRole::kService, "checkin", other.id);
  EXPECT_EQ(
      server_.stub().AuthenticateApiKey(As(foreign_service).get(), request, &response).error_code(),
      grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(server_.stub()
                .AuthenticateApiKey(As(org.coordinator_token).get(), request, &response)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

// --- Organisations and the first coordinator -----------------------------------------------------

TEST_F(DirectoryApiTest, OnlyTheOperatorCreatesOrganisationsAndOnlyTheFirstCoordinator) {
  Org org = NewOrganization("Harbour");
  v1::CreateOrganizationRequest create_org;
  create_org.set_display_name("Mine now");
  v1::CreateOrganizationResponse org_response;
  EXPECT_EQ(server_.stub()
                .CreateOrganization(As(org.coordinator_token).get(), create_org, &org_response)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  std::string admin_for_org = TestToken(CallerRole::kAdmin, "operator", org.id);
  v1::CreatePersonRequest second;
  second.mutable_person()->set_display_name("Second coordinator");
  second.mutable_person()->set_role(v1::ROLE_COORDINATOR);
  v1::CreatePersonResponse response;
  EXPECT_EQ(server_.stub().CreatePerson(As(admin_for_org).get(), second, &response).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  std::string admin_for_missing =
      TestToken(CallerRole::kAdmin, "operator", "o0000000000000000dead");
  EXPECT_EQ(
      server_.stub().CreatePerson(As(admin_for_missing).get(), second, &response).error_code(),
      grpc::StatusCode::NOT_FOUND);
}

TEST_F(DirectoryApiTest, CreateOrganizationIsIdempotent) {
  std::string admin = TestToken(CallerRole::kAdmin, "operator", "");
  v1::CreateOrganizationRequest request;
  request.set_display_name("Harbour");
  request.set_request_id("org-req-1");
  v1::CreateOrganizationResponse first, second;
  ASSERT_TRUE(server_.stub().CreateOrganization(As(admin).get(), request, &first).ok());
  ASSERT_TRUE(server_.stub().CreateOrganization(As(admin).get(), request, &second).ok());
  EXPECT_EQ(first.organization().organization_id(), second.organization().organization_id());
}

// The services that go through every organisation's keys find them in the registry.
TEST_F(DirectoryApiTest, EveryOrganisationCreatedIsInTheRegistryOldestFirst) {
  Org harbour = NewOrganization("Harbour");
  Org lighthouse = NewOrganization("Lighthouse");
  auto registered = ListOrganizations(server_.redis());
  ASSERT_TRUE(registered.ok()) << registered.status();
  EXPECT_EQ(*registered, (std::vector<std::string>{harbour.id, lighthouse.id}));
}

// A request that stopped after choosing its organisation (the process died between the steps)
// creates that organisation, and registers it, when it is sent again.
TEST_F(DirectoryApiTest, ARetriedCreateOrganizationFinishesWhatAStoppedOneBegan) {
  const std::string chosen = NewId("o");
  ASSERT_TRUE(server_.redis()
                  .Execute({"SET", "pw:platform:directory:request:operator:org-req-9", chosen})
                  .ok());
  std::string admin = TestToken(CallerRole::kAdmin, "operator", "");
  v1::CreateOrganizationRequest request;
  request.set_display_name("Harbour");
  request.set_request_id("org-req-9");
  v1::CreateOrganizationResponse response;
  grpc::Status status = server_.stub().CreateOrganization(As(admin).get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.organization().organization_id(), chosen);
  EXPECT_EQ(response.organization().display_name(), "Harbour");
  auto registered = ListOrganizations(server_.redis());
  ASSERT_TRUE(registered.ok()) << registered.status();
  EXPECT_EQ(*registered, std::vector<std::string>{chosen});
}

// Each of its writes stays within one hash slot: it runs with cross-slot writes refused, as a
// Redis Cluster would.
TEST_F(DirectoryApiTest, CreatingAnOrganisationWritesWithinOneSlotAtATime) {
  RedisOptions options{server_.redis_server().address()};
  options.address.refuse_cross_slot = true;
  RedisClient redis(options);
  RedisDirectoryStore store(redis);
  Organization organization{NewId("o"), "Harbour", absl::Now()};
  auto created = store.CreateOrganization(organization, {"operator", "org-req-1"});
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_FALSE(created->replayed);
  auto again =
      store.CreateOrganization({NewId("o"), "Harbour", absl::Now()}, {"operator", "org-req-1"});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(again->id, organization.id);
  auto stored = store.GetOrganization(organization.id);
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((*stored)->display_name, "Harbour");
}

// --- Tenancy -------------------------------------------------------------------------------------

TEST_F(DirectoryApiTest, AnotherOrganisationsPeopleDoNotExist) {
  Org harbour = NewOrganization("Harbour");
  Org lighthouse = NewOrganization("Lighthouse");
  v1::Person supervisor = CreatePerson(harbour, v1::ROLE_SUPERVISOR, "Sam");
  v1::Person volunteer =
      CreatePerson(harbour, v1::ROLE_VOLUNTEER, "Vera", {supervisor.person_id()});

  // Reads answer exactly like a missing person.
  grpc::Status foreign = Get(lighthouse.coordinator_token, volunteer.person_id());
  grpc::Status missing = Get(lighthouse.coordinator_token, "p0000000000000000beef");
  EXPECT_EQ(foreign.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(foreign.error_code(), missing.error_code());
  EXPECT_EQ(foreign.error_message(), missing.error_message());

  // Writes too, and nothing changes.
  v1::UpdatePersonRequest update;
  update.mutable_person()->set_person_id(volunteer.person_id());
  update.mutable_person()->set_display_name("Hijacked");
  update.mutable_update_mask()->add_paths("display_name");
  v1::UpdatePersonResponse updated;
  EXPECT_EQ(server_.stub()
                .UpdatePerson(As(lighthouse.coordinator_token).get(), update, &updated)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::UnassignSupervisorRequest unassign;
  unassign.set_volunteer_id(volunteer.person_id());
  unassign.set_supervisor_id(supervisor.person_id());
  v1::UnassignSupervisorResponse unassigned;
  EXPECT_EQ(server_.stub()
                .UnassignSupervisor(As(lighthouse.coordinator_token).get(), unassign, &unassigned)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::GetConsentRequest consent;
  consent.set_volunteer_id(volunteer.person_id());
  v1::GetConsentResponse consent_response;
  EXPECT_EQ(server_.stub()
                .GetConsent(As(lighthouse.coordinator_token).get(), consent, &consent_response)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);

  v1::Person after;
  ASSERT_TRUE(Get(harbour.coordinator_token, volunteer.person_id(), &after).ok());
  EXPECT_EQ(after.display_name(), "Vera");
  EXPECT_THAT(after.supervisor_ids(), ::testing::ElementsAre(supervisor.person_id()));
  for (const auto& person : ListAll(lighthouse.coordinator_token)) {
    EXPECT_EQ(person.organization_id(), lighthouse.id);
  }
  EXPECT_EQ(ListAll(lighthouse.coordinator_token).size(), 1u);
}

// --- Roles and visibility ------------------------------------------------------------------------

TEST_F(DirectoryApiTest, VolunteerCannotCreatePeopleOrChangeTheirRole) {
  Org org = NewOrganization("Harbour");
  v1::Person volunteer = CreatePerson(org, v1::ROLE_VOLUNTEER, "Vera");
  std::string token = TokenFor(org, volunteer);

  v1::CreatePersonRequest create;
  create.mutable_person()->set_display_name("Friend");
  create.mutable_person()->set_role(v1::ROLE_VOLUNTEER);
  v1::CreatePersonResponse created;
  EXPECT_EQ(server_.stub().CreatePerson(As(token).get(), create, &created).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  v1::UpdatePersonRequest promote;
  promote.mutable_person()->set_person_id(volunteer.person_id());
  promote.mutable_person()->set_role(v1::ROLE_COORDINATOR);
  promote.mutable_update_mask()->add_paths("role");
  v1::UpdatePersonResponse updated;
  EXPECT_EQ(server_.stub().UpdatePerson(As(token).get(), promote, &updated).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::Person after;
  ASSERT_TRUE(Get(org.coordinator_token, volunteer.person_id(), &after).ok());
  EXPECT_EQ(after.role(), v1::ROLE_VOLUNTEER);
}

TEST_F(DirectoryApiTest, VolunteerUpdatesOwnNameQuietHoursAndBreak) {
  Org org = NewOrganization("Harbour");
  v1::Person volunteer = CreatePerson(org, v1::ROLE_VOLUNTEER, "Vera");
  std::string token = TokenFor(org, volunteer);
  v1::UpdatePersonRequest update;
  update.mutable_person()->set_person_id(volunteer.person_id());
  update.mutable_person()->set_display_name("Vera K.");
  update.mutable_person()->set_status(v1::PERSON_STATUS_ON_BREAK);
  update.mutable_person()->mutable_quiet_hours()->set_start("22:00");
  update.mutable_person()->mutable_quiet_hours()->set_end("07:30");
  update.mutable_person()->set_commitment_hours_per_month(99);  // not in the mask: ignored
  for (const char* path : {"display_name", "status", "quiet_hours"}) {
    update.mutable_update_mask()->add_paths(path);
  }
  v1::UpdatePersonResponse updated;
  ASSERT_TRUE(server_.stub().UpdatePerson(As(token).get(), update, &updated).ok());
  EXPECT_EQ(updated.person().display_name(), "Vera K.");
  EXPECT_EQ(updated.person().status(), v1::PERSON_STATUS_ON_BREAK);
  EXPECT_EQ(updated.person().quiet_hours().end(), "07:30");
  EXPECT_EQ(updated.person().commitment_hours_per_month(), 0);

  // Only a coordinator deactivates, and only a coordinator changes commitment.
  v1::UpdatePersonRequest deactivate;
  deactivate.mutable_person()->set_person_id(volunteer.person_id());
  deactivate.mutable_person()->set_status(v1::PERSON_STATUS_INACTIVE);
  deactivate.mutable_update_mask()->add_paths("status");
  EXPECT_EQ(server_.stub().UpdatePerson(As(token).get(), deactivate, &updated).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::UpdatePersonRequest commitment;
  commitment.mutable_person()->set_person_id(volunteer.person_id());
  commitment.mutable_person()->set_commitment_hours_per_month(20);
  commitment.mutable_update_mask()->add_paths("commitment_hours_per_month");
  EXPECT_EQ(server_.stub().UpdatePerson(As(token).get(), commitment, &updated).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(
      server_.stub().UpdatePerson(As(org.coordinator_token).get(), commitment, &updated).ok());
  EXPECT_EQ(updated.person().commitment_hours_per_month(), 20);
}

TEST_F(DirectoryApiTest, SupervisorSeesOnlyAssignedVolunteers) {
  Org org = NewOrganization("Harbour");
  v1::Person sam = CreatePerson(org, v1::ROLE_SUPERVISOR, "Sam");
  v1::Person sasha = CreatePerson(org, v1::ROLE_SUPERVISOR, "Sasha");
  v1::Person mine = CreatePerson(org, v1::ROLE_VOLUNTEER, "Vera", {sam.person_id()});
  v1::Person theirs = CreatePerson(org, v1::ROLE_VOLUNTEER, "Viktor", {sasha.person_id()});
  std::string token = TokenFor(org, sam);

  v1::Person seen;
  ASSERT_TRUE(Get(token, mine.person_id(), &seen).ok());
  EXPECT_EQ(seen.timezone(), "Europe/Copenhagen");  // full record
  EXPECT_EQ(Get(token, theirs.person_id()).error_code(), grpc::StatusCode::NOT_FOUND);
  ASSERT_TRUE(Get(token, sasha.person_id(), &seen).ok());
  EXPECT_EQ(seen.display_name(), "Sasha");
  EXPECT_EQ(seen.timezone(), "");  // colleagues: display name only

  std::set<std::string> volunteers;
  for (const auto& person : ListAll(token, v1::ROLE_VOLUNTEER))
    volunteers.insert(person.person_id());
  EXPECT_EQ(volunteers, std::set<std::string>{mine.person_id()});

  // Assigning Viktor to Sam makes him visible; unassigning hides him again.
  v1::AssignSupervisorRequest assign;
  assign.set_volunteer_id(theirs.person_id());
  assign.set_supervisor_id(sam.person_id());
  v1::AssignSupervisorResponse assigned;
  ASSERT_TRUE(
      server_.stub().AssignSupervisor(As(org.coordinator_token).get(), assign, &assigned).ok());
  EXPECT_EQ(assigned.person().supervisor_ids_size(), 2);
  EXPECT_TRUE(Get(token, theirs.person_id()).ok());
  v1::UnassignSupervisorRequest unassign;
  unassign.set_volunteer_id(theirs.person_id());
  unassign.set_supervisor_id(sam.person_id());
  v1::UnassignSupervisorResponse unassigned;
  ASSERT_TRUE(server_.stub()
                  .UnassignSupervisor(As(org.coordinator_token).get(), unassign, &unassigned)
                  .ok());
  EXPECT_EQ(Get(token, theirs.person_id()).error_code(), grpc::StatusCode::NOT_FOUND);

  // Supervisors do not assign.
  EXPECT_EQ(server_.stub().AssignSupervisor(As(token).get(), assign, &assigned).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(DirectoryApiTest, VolunteerSeesPeersByDisplayNameOnly) {
  Org org = NewOrganization("Harbour");
  v1::Person sam = CreatePerson(org, v1::ROLE_SUPERVISOR, "Sam");
  v1::Person vera = CreatePerson(org, v1::ROLE_VOLUNTEER, "Vera", {sam.person_id()});
  v1::Person viktor = CreatePerson(org, v1::ROLE_VOLUNTEER, "Viktor", {sam.person_id()});
  std::string token = TokenFor(org, vera);
  v1::Person peer;
  ASSERT_TRUE(Get(token, viktor.person_id(), &peer).ok());
  EXPECT_EQ(peer.display_name(), "Viktor");
  EXPECT_EQ(peer.timezone(), "");
  EXPECT_EQ(peer.supervisor_ids_size(), 0);
  v1::Person self;
  ASSERT_TRUE(Get(token, vera.person_id(), &self).ok());
  EXPECT_THAT(self.supervisor_ids(), ::testing::ElementsAre(sam.person_id()));

  // Who is on break is not a peer's business, not even through a filter.
  v1::UpdatePersonRequest on_break;
  on_break.mutable_person()->set_person_id(viktor.person_id());
  on_break.mutable_person()->set_status(v1::PERSON_STATUS_ON_BREAK);
  on_break.mutable_update_mask()->add_paths("status");
  v1::UpdatePersonResponse updated;
  ASSERT_TRUE(
      server_.stub().UpdatePerson(As(TokenFor(org, viktor)).get(), on_break, &updated).ok());
  auto list_on_break = [&](const std::string& as) {
    v1::ListPeopleRequest request;
    request.set_status(v1::PERSON_STATUS_ON_BREAK);
    v1::ListPeopleResponse response;
    EXPECT_TRUE(server_.stub().ListPeople(As(as).get(), request, &response).ok());
    return response.people_size();
  };
  EXPECT_EQ(list_on_break(token), 0);
  EXPECT_EQ(list_on_break(TokenFor(org, sam)), 1);  // Sam supervises Viktor
  EXPECT_EQ(list_on_break(org.coordinator_token), 1);
}

TEST_F(DirectoryApiTest, SupervisorUpdatesOwnProfileButNotCommitmentOrOthers) {
  Org org = NewOrganization("Harbour");
  v1::Person sam = CreatePerson(org, v1::ROLE_SUPERVISOR, "Sam");
  v1::Person vera = CreatePerson(org, v1::ROLE_VOLUNTEER, "Vera", {sam.person_id()});
  std::string token = TokenFor(org, sam);
  v1::UpdatePersonRequest own;
  own.mutable_person()->set_person_id(sam.person_id());
  own.mutable_person()->set_lived_experience(true);
  own.mutable_person()->set_timezone("Europe/Oslo");
  own.mutable_update_mask()->add_paths("lived_experience");
  own.mutable_update_mask()->add_paths("timezone");
  v1::UpdatePersonResponse updated;
  ASSERT_TRUE(server_.stub().UpdatePerson(As(token).get(), own, &updated).ok());
  EXPECT_TRUE(updated.person().lived_experience());
  EXPECT_EQ(updated.person().timezone(), "Europe/Oslo");

  v1::UpdatePersonRequest commitment;
  commitment.mutable_person()->set_person_id(sam.person_id());
  commitment.mutable_person()->set_commitment_hours_per_month(10);
  commitment.mutable_update_mask()->add_paths("commitment_hours_per_month");
  EXPECT_EQ(server_.stub().UpdatePerson(As(token).get(), commitment, &updated).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::UpdatePersonRequest rename_volunteer;
  rename_volunteer.mutable_person()->set_person_id(vera.person_id());
  rename_volunteer.mutable_person()->set_display_name("Renamed");
  rename_volunteer.mutable_update_mask()->add_paths("display_name");
  EXPECT_EQ(server_.stub().UpdatePerson(As(token).get(), rename_volunteer, &updated).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(DirectoryApiTest, RoleRulesOfAssignments) {
  Org org = NewOrganization("Harbour");
  v1::Person sam = CreatePerson(org, v1::ROLE_SUPERVISOR, "Sam");
  v1::Person vera = CreatePerson(org, v1::ROLE_VOLUNTEER, "Vera");
  v1::AssignSupervisorRequest backwards;
  backwards.set_volunteer_id(sam.person_id());
  backwards.set_supervisor_id(vera.person_id());
  v1::AssignSupervisorResponse response;
  EXPECT_EQ(server_.stub()
                .AssignSupervisor(As(org.coordinator_token).get(), backwards, &response)
                .error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  v1::AssignSupervisorRequest missing;
  missing.set_volunteer_id(vera.person_id());
  missing.set_supervisor_id("p0000000000000000beef");
  EXPECT_EQ(server_.stub()
                .AssignSupervisor(As(org.coordinator_token).get(), missing, &response)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  // A supervisor with volunteers cannot simply become a volunteer.
  v1::AssignSupervisorRequest assign;
  assign.set_volunteer_id(vera.person_id());
  assign.set_supervisor_id(sam.person_id());
  ASSERT_TRUE(
      server_.stub().AssignSupervisor(As(org.coordinator_token).get(), assign, &response).ok());
  v1::UpdatePersonRequest demote;
  demote.mutable_person()->set_person_id(sam.person_id());
  demote.mutable_person()->set_role(v1::ROLE_VOLUNTEER);
  demote.mutable_update_mask()->add_paths("role");
  v1::UpdatePersonResponse updated;
  EXPECT_EQ(
      server_.stub().UpdatePerson(As(org.coordinator_token).get(), demote, &updated).error_code(),
      grpc::StatusCode::FAILED_PRECONDITION);
}

// --- Consent ------------------------------------------------------------------------------------

TEST_F(DirectoryApiTest, OnlyTheVolunteerSetsTheirConsent) {
  Org org = NewOrganization("Harbour");
  v1::Person sam = CreatePerson(org, v1::ROLE_SUPERVISOR, "Sam");
  v1::Person vera = CreatePerson(org, v1::ROLE_VOLUNTEER, "Vera", {sam.person_id()});
  v1::Person viktor = CreatePerson(org, v1::ROLE_VOLUNTEER, "Viktor");

  v1::GetConsentRequest get;
  v1::GetConsentResponse current;
  ASSERT_TRUE(server_.stub().GetConsent(As(TokenFor(org, vera)).get(), get, &current).ok());
  EXPECT_FALSE(current.consent().risk_monitoring());  // all default to off
  EXPECT_FALSE(current.consent().share_scores_with_supervisor());
  EXPECT_FALSE(current.consent().research_export());

  v1::SetConsentRequest set;
  set.set_volunteer_id(vera.person_id());
  set.mutable_consent()->set_risk_monitoring(true);
  v1::SetConsentResponse response;
  EXPECT_EQ(server_.stub().SetConsent(As(TokenFor(org, viktor)).get(), set, &response).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(server_.stub().SetConsent(As(org.coordinator_token).get(), set, &response).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(server_.stub().SetConsent(As(TokenFor(org, sam)).get(), set, &response).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(server_.stub().SetConsent(As(TokenFor(org, vera)).get(), set, &response).ok());
  EXPECT_TRUE(response.consent().risk_monitoring());
  EXPECT_TRUE(response.consent().has_update_time());

  // Her supervisor and the coordinator read it, and each such read is audited.
  get.set_volunteer_id(vera.person_id());
  ASSERT_TRUE(server_.stub().GetConsent(As(TokenFor(org, sam)).get(), get, &current).ok());
  EXPECT_TRUE(current.consent().risk_monitoring());
  ASSERT_TRUE(server_.stub().GetConsent(As(org.coordinator_token).get(), get, &current).ok());
  EXPECT_EQ(server_.stub().GetConsent(As(TokenFor(org, viktor)).get(), get, &current).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  auto audit =
      server_.redis().Execute({"XRANGE", absl::StrCat("pw:{", org.id, "}:audit"), "-", "+"});
  auto records = ParseStreamEntries(*audit);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].Get("actor_id"), sam.person_id());
  EXPECT_EQ(records[0].Get("subject_id"), vera.person_id());
  EXPECT_EQ(records[1].Get("actor_role"), "coordinator");

  bool announced = false;
  for (const auto& event : Events()) {
    if (event.Get("type") == "consent.changed" && event.Get("volunteer_id") == vera.person_id()) {
      announced = event.Get("risk_monitoring") == "1";
    }
  }
  EXPECT_TRUE(announced);
}

// --- Validation ---------------------------------------------------------------------------------

TEST_F(DirectoryApiTest, BadInputNamesTheFieldAndStoresNothing) {
  Org org = NewOrganization("Harbour");
  long long keys_before = KeyCount();
  size_t events_before = Events().size();
  struct Case {
    std::function<void(v1::Person*)> mutate;
    std::string field;
  };
  std::vector<Case> cases = {
      {[](v1::Person* p) { p->set_display_name(""); }, "person.display_name"},
      {[](v1::Person* p) { p->set_display_name(std::string(101, 'x')); }, "person.display_name"},
      {[](v1::Person* p) { p->set_display_name("bad\x01name"); }, "person.display_name"},
      {[](v1::Person* p) { p->set_role(v1::ROLE_UNSPECIFIED); }, "person.role"},
      {[](v1::Person* p) { p->set_role(static_cast<v1::Role>(9)); }, "person.role"},
      {[](v1::Person* p) { p->set_status(static_cast<v1::PersonStatus>(7)); }, "person.status"},
      {[](v1::Person* p) { p->set_timezone("Europe/Atlantis"); }, "person.timezone"},
      {[](v1::Person* p) {
         p->mutable_quiet_hours()->set_start("25:00");
         p->mutable_quiet_hours()->set_end("07:00");
       },
       "person.quiet_hours.start"},
      {[](v1::Person* p) {
         p->mutable_quiet_hours()->set_start("22:00");
         p->mutable_quiet_hours()->set_end("7");
       },
       "person.quiet_hours.end"},
      {[](v1::Person* p) { p->set_commitment_hours_per_month(-1); },
       "person.commitment_hours_per_month"},
      {[](v1::Person* p) { p->add_qualifications()->set_kind(""); },
       "person.qualifications[0].kind"},
      {[](v1::Person* p) { p->add_supervisor_ids("not-an-id"); }, "person.supervisor_ids[0]"},
      {[](v1::Person* p) { p->add_supervisor_ids("p0000000000000000beef"); },
       "person.supervisor_ids[0]"},
      {[](v1::Person* p) { p->set_lived_experience(true); }, "person.lived_experience"},
  };
  for (const auto& c : cases) {
    v1::CreatePersonRequest request;
    request.mutable_person()->set_display_name("Valid Name");
    request.mutable_person()->set_role(v1::ROLE_VOLUNTEER);
    c.mutate(request.mutable_person());
    v1::CreatePersonResponse response;
    grpc::Status status =
        server_.stub().CreatePerson(As(org.coordinator_token).get(), request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.field;
    EXPECT_THAT(status.error_message(), HasSubstr(c.field));
  }
  v1::CreatePersonRequest bad_request_id;
  bad_request_id.mutable_person()->set_display_name("Valid Name");
  bad_request_id.mutable_person()->set_role(v1::ROLE_VOLUNTEER);
  bad_request_id.set_request_id("has spaces");
  v1::CreatePersonResponse response;
  grpc::Status status =
      server_.stub().CreatePerson(As(org.coordinator_token).get(), bad_request_id, &response);
  EXPECT_THAT(status.error_message(), HasSubstr("request_id"));

  v1::UpdatePersonRequest bad_mask;
  bad_mask.mutable_person()->set_person_id(org.coordinator_id);
  bad_mask.mutable_update_mask()->add_paths("organization_id");
  v1::UpdatePersonResponse updated;
  status = server_.stub().UpdatePerson(As(org.coordinator_token).get(), bad_mask, &updated);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("update_mask"));

  v1::ListPeopleRequest negative;
  negative.set_page_size(-1);
  v1::ListPeopleResponse listed;
  status = server_.stub().ListPeople(As(org.coordinator_token).get(), negative, &listed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("page_size"));

  EXPECT_EQ(KeyCount(), keys_before);
  EXPECT_EQ(Events().size(), events_before);
  EXPECT_EQ(ListAll(org.coordinator_token).size(), 1u);
}

// --- Idempotency --------------------------------------------------------------------------------

TEST_F(DirectoryApiTest, CreatePersonWithOneRequestIdCreatesOnceEvenWhenRacing) {
  Org org = NewOrganization("Harbour");
  v1::CreatePersonRequest request;
  request.mutable_person()->set_display_name("Vera");
  request.mutable_person()->set_role(v1::ROLE_VOLUNTEER);
  request.set_request_id("7d5b2c1e-create-vera");
  std::vector<std::string> ids(8);
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      v1::CreatePersonResponse response;
      grpc::Status status =
          server_.stub().CreatePerson(As(org.coordinator_token).get(), request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      ids[i] = response.person().person_id();
    });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& id : ids) EXPECT_EQ(id, ids[0]);
  EXPECT_EQ(ListAll(org.coordinator_token, v1::ROLE_VOLUNTEER).size(), 1u);
  int created_events = 0;
  for (const auto& event : Events()) {
    if (event.Get("type") == "person.created" && event.Get("person_id") == ids[0]) ++created_events;
  }
  EXPECT_EQ(created_events, 1);

  request.set_request_id("another-request");
  v1::CreatePersonResponse another;
  ASSERT_TRUE(server_.stub().CreatePerson(As(org.coordinator_token).get(), request, &another).ok());
  EXPECT_NE(another.person().person_id(), ids[0]);
}

// --- Paging -------------------------------------------------------------------------------------

TEST_F(DirectoryApiTest, PagesThroughEveryoneAndRefusesForeignOrTamperedTokens) {
  Org org = NewOrganization("Harbour");
  Org other = NewOrganization("Lighthouse");
  std::set<std::string> created;
  for (int i = 0; i < 12; ++i) {
    created.insert(
        CreatePerson(org, v1::ROLE_VOLUNTEER, absl::StrCat("Volunteer ", i)).person_id());
  }
  CreatePerson(other, v1::ROLE_VOLUNTEER, "Elsewhere");

  v1::ListPeopleRequest request;
  request.set_role(v1::ROLE_VOLUNTEER);
  request.set_page_size(5);
  std::vector<std::string> seen;
  std::string first_token;
  int pages = 0;
  while (true) {
    v1::ListPeopleResponse response;
    ASSERT_TRUE(
        server_.stub().ListPeople(As(org.coordinator_token).get(), request, &response).ok());
    ++pages;
    EXPECT_LE(response.people_size(), 5);
    for (const auto& person : response.people()) seen.push_back(person.person_id());
    if (response.next_page_token().empty()) break;
    if (first_token.empty()) first_token = response.next_page_token();
    request.set_page_token(response.next_page_token());
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen.size(), 12u);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), created);

  auto list_with = [&](const std::string& token, const std::string& page_token,
                       v1::Role role = v1::ROLE_VOLUNTEER) {
    v1::ListPeopleRequest r;
    r.set_role(role);
    r.set_page_size(5);
    r.set_page_token(page_token);
    v1::ListPeopleResponse response;
    return server_.stub().ListPeople(As(token).get(), r, &response);
  };
  std::string tampered = first_token;
  tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
  grpc::Status status = list_with(org.coordinator_token, tampered);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("page_token"));
  EXPECT_EQ(list_with(other.coordinator_token, first_token).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(list_with(org.coordinator_token, first_token, v1::ROLE_SUPERVISOR).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(list_with(org.coordinator_token, first_token).ok());
}

TEST_F(DirectoryApiTest, ListsApiKeysInPages) {
  Org org = NewOrganization("Harbour");
  for (int i = 0; i < 3; ++i) {
    v1::CreateApiKeyRequest create;
    create.set_display_name(absl::StrCat("Partner ", i));
    create.add_scopes("aggregates:read");
    v1::CreateApiKeyResponse created;
    ASSERT_TRUE(
        server_.stub().CreateApiKey(As(org.coordinator_token).get(), create, &created).ok());
  }
  v1::ListApiKeysRequest request;
  request.set_page_size(2);
  v1::ListApiKeysResponse first, second;
  ASSERT_TRUE(server_.stub().ListApiKeys(As(org.coordinator_token).get(), request, &first).ok());
  EXPECT_EQ(first.api_keys_size(), 2);
  ASSERT_FALSE(first.next_page_token().empty());
  request.set_page_token(first.next_page_token());
  ASSERT_TRUE(server_.stub().ListApiKeys(As(org.coordinator_token).get(), request, &second).ok());
  EXPECT_EQ(second.api_keys_size(), 1);
  EXPECT_TRUE(second.next_page_token().empty());
  EXPECT_EQ(second.api_keys(0).display_name(), "Partner 2");

  v1::CreateApiKeyRequest bad;
  bad.set_display_name("Bad");
  bad.add_scopes("everything");
  v1::CreateApiKeyResponse response;
  grpc::Status status =
      server_.stub().CreateApiKey(As(org.coordinator_token).get(), bad, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("scopes[0]"));
}

// --- Events --------------------------------------------------------------------------------------

TEST_F(DirectoryApiTest, PublishesPersonEvents) {
  Org org = NewOrganization("Harbour");
  v1::Person sam = CreatePerson(org, v1::ROLE_SUPERVISOR, "Sam");
  v1::Person vera = CreatePerson(org, v1::ROLE_VOLUNTEER, "Vera");
  v1::AssignSupervisorRequest assign;
  assign.set_volunteer_id(vera.person_id());
  assign.set_supervisor_id(sam.person_id());
  v1::AssignSupervisorResponse assigned;
  ASSERT_TRUE(
      server_.stub().AssignSupervisor(As(org.coordinator_token).get(), assign, &assigned).ok());
  std::vector<std::string> types;
  for (const auto& event : Events()) {
    if (event.Get("person_id") == vera.person_id()) types.push_back(event.Get("type"));
    EXPECT_EQ(event.Get("organization_id"), org.id);
  }
  EXPECT_EQ(types, (std::vector<std::string>{"person.created", "person.updated"}));
}

// --- Privacy: who read whose data, and a person's export
// -------------------------------------------

class DirectoryPrivacyTest : public DirectoryApiTest {
 protected:
  void SetUp() override {
    org_ = NewOrganization("Harbour");
    supervisor_ = CreatePerson(org_, v1::ROLE_SUPERVISOR, "Sam Supervisor");
    volunteer_ =
        CreatePerson(org_, v1::ROLE_VOLUNTEER, "Vera Volunteer", {supervisor_.person_id()});
    other_ = CreatePerson(org_, v1::ROLE_VOLUNTEER, "Walt Volunteer");
  }

  grpc::Status ReadConsent(const std::string& token, const std::string& volunteer_id) {
    v1::GetConsentRequest request;
    request.set_volunteer_id(volunteer_id);
    v1::GetConsentResponse response;
    return server_.stub().GetConsent(As(token).get(), request, &response);
  }

  grpc::Status SetConsent(const v1::Person& volunteer, bool risk_monitoring) {
    v1::SetConsentRequest request;
    request.mutable_consent()->set_risk_monitoring(risk_monitoring);
    v1::SetConsentResponse response;
    return server_.stub().SetConsent(As(TokenFor(org_, volunteer)).get(), request, &response);
  }

  grpc::Status ListAudit(const std::string& token, const v1::ListAuditRecordsRequest& request,
                         v1::ListAuditRecordsResponse* response) {
    return server_.stub().ListAuditRecords(As(token).get(), request, response);
  }

  grpc::Status Export(const std::string& token, const std::string& person_id,
                      google::protobuf::Struct* document) {
    v1::ExportPersonDataRequest request;
    request.set_person_id(person_id);
    v1::ExportPersonDataResponse response;
    grpc::Status status = server_.stub().ExportPersonData(As(token).get(), request, &response);
    if (status.ok()) {
      EXPECT_TRUE(
          google::protobuf::util::JsonStringToMessage(response.export_json(), document).ok())
          << response.export_json();
    }
    return status;
  }

  Org org_;
  v1::Person supervisor_;
  v1::Person volunteer_;
  v1::Person other_;
};

const google::protobuf::ListValue& Family(const google::protobuf::Struct& document,
                                          const std::string& service, const std::string& family) {
  return document.fields()
      .at("services")
      .struct_value()
      .fields()
      .at(service)
      .struct_value()
      .fields()
      .at(family)
      .list_value();
}

TEST_F(DirectoryPrivacyTest, AVolunteerSeesWhoReadTheirDataAndNothingAboutOthers) {
  ASSERT_TRUE(ReadConsent(TokenFor(org_, supervisor_), volunteer_.person_id()).ok());
  ASSERT_TRUE(ReadConsent(org_.coordinator_token, other_.person_id()).ok());
  ASSERT_TRUE(ReadConsent(TokenFor(org_, volunteer_), "").ok());  // their own: not audited

  v1::ListAuditRecordsResponse mine;
  grpc::Status status = ListAudit(TokenFor(org_, volunteer_), {}, &mine);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(mine.records_size(), 1);
  const v1::AuditRecord& read = mine.records(0);
  EXPECT_EQ(read.reader_id(), supervisor_.person_id());
  EXPECT_EQ(read.reader_role(), "supervisor");
  EXPECT_EQ(read.reader_display_name(), "Sam Supervisor");
  EXPECT_EQ(read.subject_id(), volunteer_.person_id());
  EXPECT_EQ(read.rpc(), "peerwell.directory.v1.DirectoryService/GetConsent");
  EXPECT_EQ(read.outcome(), "OK");
  EXPECT_GT(read.time().seconds(), 0);

  v1::ListAuditRecordsRequest theirs;
  theirs.set_subject_id(other_.person_id());
  v1::ListAuditRecordsResponse refused;
  EXPECT_EQ(ListAudit(TokenFor(org_, volunteer_), theirs, &refused).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ListAudit(TokenFor(org_, supervisor_), theirs, &refused).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  for (CallerRole role : {CallerRole::kAdmin, CallerRole::kService}) {
    EXPECT_EQ(ListAudit(TestToken(role, "someone", org_.id), {}, &refused).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
}

TEST_F(DirectoryPrivacyTest, ACoordinatorListsTheOrganisationsReadsFilteredAndInPages) {
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(ReadConsent(TokenFor(org_, supervisor_), volunteer_.person_id()).ok());
  }
  ASSERT_TRUE(ReadConsent(org_.coordinator_token, other_.person_id()).ok());
  // Another organisation's reads never show.
  Org lighthouse = NewOrganization("Lighthouse");
  v1::Person stranger = CreatePerson(lighthouse, v1::ROLE_VOLUNTEER, "Stranger");
  ASSERT_TRUE(ReadConsent(lighthouse.coordinator_token, stranger.person_id()).ok());

  v1::ListAuditRecordsRequest request;
  request.set_page_size(2);
  std::vector<v1::AuditRecord> all;
  for (int pages = 0; pages < 10; ++pages) {
    v1::ListAuditRecordsResponse page;
    grpc::Status status = ListAudit(org_.coordinator_token, request, &page);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_LE(page.records_size(), 2);
    all.insert(all.end(), page.records().begin(), page.records().end());
    if (page.next_page_token().empty()) break;
    request.set_page_token(page.next_page_token());
  }
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[0].subject_id(), other_.person_id());  // newest first
  EXPECT_EQ(all[0].reader_display_name(), "Coordinator of Harbour");
  for (size_t i = 1; i < all.size(); ++i)
    EXPECT_LE(all[i].time().seconds(), all[i - 1].time().seconds());

  v1::ListAuditRecordsRequest by_reader;
  by_reader.set_reader_id(supervisor_.person_id());
  v1::ListAuditRecordsResponse supervisor_reads;
  ASSERT_TRUE(ListAudit(org_.coordinator_token, by_reader, &supervisor_reads).ok());
  EXPECT_EQ(supervisor_reads.records_size(), 3);
  v1::ListAuditRecordsRequest by_subject;
  by_subject.set_subject_id(other_.person_id());
  v1::ListAuditRecordsResponse other_reads;
  ASSERT_TRUE(ListAudit(org_.coordinator_token, by_subject, &other_reads).ok());
  EXPECT_EQ(other_reads.records_size(), 1);
  v1::ListAuditRecordsRequest before;
  before.mutable_end_time()->set_seconds(all.back().time().seconds() - 60);
  v1::ListAuditRecordsResponse none;
  ASSERT_TRUE(ListAudit(org_.coordinator_token, before, &none).ok());
  EXPECT_EQ(none.records_size(), 0);

  // A page token belongs to its query.
  v1::ListAuditRecordsRequest first;
  first.set_page_size(1);
  v1::ListAuditRecordsResponse one;
  ASSERT_TRUE(ListAudit(org_.coordinator_token, first, &one).ok());
  ASSERT_FALSE(one.next_page_token().empty());
  by_reader.set_page_token(one.next_page_token());
  EXPECT_EQ(ListAudit(org_.coordinator_token, by_reader, &none).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(DirectoryPrivacyTest, AuditListingRefusesBadFiltersNamingTheField) {
  v1::ListAuditRecordsResponse response;
  v1::ListAuditRecordsRequest bad_subject;
  bad_subject.set_subject_id("no spaces allowed");
  grpc::Status status = ListAudit(org_.coordinator_token, bad_subject, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("subject_id"));
  v1::ListAuditRecordsRequest reversed;
  reversed.mutable_start_time()->set_seconds(2'000'000'000);
  reversed.mutable_end_time()->set_seconds(1'000'000'000);
  status = ListAudit(org_.coordinator_token, reversed, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("start_time"));
  v1::ListAuditRecordsRequest negative;
  negative.set_page_size(-1);
  status = ListAudit(org_.coordinator_token, negative, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("page_size"));
}

TEST_F(DirectoryPrivacyTest, APersonExportsTheirProfileConsentHistoryAndWhoReadTheirData) {
  ASSERT_TRUE(SetConsent(volunteer_, true).ok());
  ASSERT_TRUE(SetConsent(volunteer_, false).ok());
  ASSERT_TRUE(SetConsent(other_, true).ok());
  ASSERT_TRUE(ReadConsent(TokenFor(org_, supervisor_), volunteer_.person_id()).ok());
  ASSERT_TRUE(ReadConsent(org_.coordinator_token, other_.person_id()).ok());

  google::protobuf::Struct document;
  grpc::Status status = Export(TokenFor(org_, volunteer_), "", &document);
  ASSERT_TRUE(status.ok()) << status.error_message();
  const auto& fields = document.fields();
  EXPECT_EQ(fields.at("schemaVersion").number_value(), 1);
  EXPECT_EQ(fields.at("personId").string_value(), volunteer_.person_id());
  EXPECT_EQ(fields.at("organizationId").string_value(), org_.id);
  EXPECT_FALSE(fields.at("exportTime").string_value().empty());

  const auto& person = Family(document, "directory", "person");
  ASSERT_EQ(person.values_size(), 1);
  const auto& profile = person.values(0).struct_value().fields();
  EXPECT_EQ(profile.at("displayName").string_value(), "Vera Volunteer");
  EXPECT_EQ(profile.at("supervisorIds").list_value().values(0).string_value(),
            supervisor_.person_id());
  const auto& history = Family(document, "directory", "consentHistory");
  ASSERT_EQ(history.values_size(), 2);
  EXPECT_TRUE(history.values(0).struct_value().fields().at("riskMonitoring").bool_value());
  EXPECT_EQ(history.values(1).struct_value().fields().count("riskMonitoring"), 0u);  // false
  const auto& reads = Family(document, "directory", "auditRecords");
  ASSERT_EQ(reads.values_size(), 1);
  EXPECT_EQ(reads.values(0).struct_value().fields().at("readerDisplayName").string_value(),
            "Sam Supervisor");
  // This directory runs alone here, so its part is the whole document.
  EXPECT_EQ(fields.at("services").struct_value().fields_size(), 1);
}

TEST_F(DirectoryPrivacyTest, OnlyThePersonOrACoordinatorExportsAndACoordinatorsExportIsAudited) {
  google::protobuf::Struct document;
  EXPECT_EQ(Export(TokenFor(org_, supervisor_), volunteer_.person_id(), &document).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Export(TokenFor(org_, other_), volunteer_.person_id(), &document).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  for (CallerRole role : {CallerRole::kAdmin, CallerRole::kService}) {
    EXPECT_EQ(
        Export(TestToken(role, "someone", org_.id), volunteer_.person_id(), &document).error_code(),
        grpc::StatusCode::PERMISSION_DENIED);
  }
  EXPECT_EQ(Export(org_.coordinator_token, "p0000000000000000beef", &document).error_code(),
            grpc::StatusCode::NOT_FOUND);
  Org lighthouse = NewOrganization("Lighthouse");
  EXPECT_EQ(Export(lighthouse.coordinator_token, volunteer_.person_id(), &document).error_code(),
            grpc::StatusCode::NOT_FOUND);
  grpc::Status invalid = Export(org_.coordinator_token, "not an id", &document);
  EXPECT_EQ(invalid.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(invalid.error_message(), HasSubstr("person_id"));

  ASSERT_TRUE(Export(org_.coordinator_token, volunteer_.person_id(), &document).ok());
  v1::ListAuditRecordsResponse reads;
  ASSERT_TRUE(ListAudit(TokenFor(org_, volunteer_), {}, &reads).ok());
  ASSERT_EQ(reads.records_size(), 1);
  EXPECT_EQ(reads.records(0).reader_id(), org_.coordinator_id);
  EXPECT_EQ(reads.records(0).rpc(), "peerwell.directory.v1.DirectoryService/ExportPersonData");
  EXPECT_EQ(reads.records(0).outcome(), "OK");
}

// --- Erasure: the directory's part, and each service's report ------------------------------------

class DirectoryErasureTest : public DirectoryPrivacyTest {
 protected:
  grpc::Status Erase(const std::string& token, const std::string& person_id,
                     const std::string& request_id, v1::Erasure* erasure = nullptr) {
    v1::ErasePersonRequest request;
    request.set_person_id(person_id);
    request.set_request_id(request_id);
    v1::ErasePersonResponse response;
    grpc::Status status = server_.stub().ErasePerson(As(token).get(), request, &response);
    if (erasure != nullptr) *erasure = response.erasure();
    return status;
  }

  grpc::Status Report(const std::string& service, const std::string& erasure_id,
                      v1::Erasure* erasure = nullptr) {
    v1::ReportErasureRequest request;
    request.set_erasure_id(erasure_id);
    v1::ReportErasureResponse response;
    grpc::Status status = server_.stub().ReportErasure(
        As(TestToken(CallerRole::kService, service, org_.id)).get(), request, &response);
    if (erasure != nullptr) *erasure = response.erasure();
    return status;
  }

  std::vector<StreamEntry> ErasedEvents() {
    std::vector<StreamEntry> erased;
    for (StreamEntry& event : Events()) {
      if (event.Get("type") == "person.erased") erased.push_back(std::move(event));
    }
    return erased;
  }
};

TEST_F(DirectoryErasureTest, ErasesThePersonsRecordsAtOnceEndsTheirTokenAndAnnouncesIt) {
  ASSERT_TRUE(SetConsent(volunteer_, true).ok());
  std::string volunteer_token = TokenFor(org_, volunteer_);
  v1::Erasure erasure;
  grpc::Status status =
      Erase(org_.coordinator_token, volunteer_.person_id(), "erase-vera", &erasure);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(absl::StartsWith(erasure.erasure_id(), "e"));
  EXPECT_EQ(erasure.person_id(), volunteer_.person_id());
  EXPECT_EQ(erasure.state(), v1::ERASURE_STATE_IN_PROGRESS);
  EXPECT_EQ(erasure.erased_by(), org_.coordinator_id);
  std::vector<std::string> services;
  for (const v1::ErasureProgress& progress : erasure.services()) {
    services.push_back(progress.service());
    EXPECT_FALSE(progress.done());
  }
  EXPECT_EQ(services, (std::vector<std::string>{"directory", "checkin", "alerts", "supervision",
                                                "network", "webhooks"}));

  EXPECT_EQ(Get(org_.coordinator_token, volunteer_.person_id()).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Get(volunteer_token, volunteer_.person_id()).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  for (const v1::Person& person : ListAll(TokenFor(org_, supervisor_))) {
    EXPECT_NE(person.person_id(), volunteer_.person_id());
  }
  // Nothing of the directory's own keys names them any more.
  auto keys = server_.redis().Execute({"KEYS", "pw:{" + org_.id + "}:directory:*"});
  ASSERT_TRUE(keys.ok());
  for (const RedisReply& key : keys->elements) {
    if (absl::StrContains(key.str, ":erasure")) continue;
    EXPECT_FALSE(absl::StrContains(key.str, volunteer_.person_id())) << key.str;
  }

  std::vector<StreamEntry> erased = ErasedEvents();
  ASSERT_EQ(erased.size(), 1u);
  EXPECT_EQ(erased[0].Get("person_id"), volunteer_.person_id());
  EXPECT_EQ(erased[0].Get("erasure_id"), erasure.erasure_id());
  EXPECT_EQ(erased[0].Get("organization_id"), org_.id);

  v1::ListAuditRecordsRequest about;
  about.set_subject_id(volunteer_.person_id());
  v1::ListAuditRecordsResponse records;
  ASSERT_TRUE(ListAudit(org_.coordinator_token, about, &records).ok());
  ASSERT_EQ(records.records_size(), 1);
  EXPECT_EQ(records.records(0).rpc(), "peerwell.directory.v1.DirectoryService/ErasePerson");
  EXPECT_EQ(records.records(0).reader_id(), org_.coordinator_id);
}

TEST_F(DirectoryErasureTest, ASecondCallWithTheSameRequestIdAnswersTheFirstErasure) {
  v1::Erasure first, second;
  ASSERT_TRUE(Erase(org_.coordinator_token, volunteer_.person_id(), "erase-1", &first).ok());
  ASSERT_TRUE(Erase(org_.coordinator_token, volunteer_.person_id(), "erase-1", &second).ok());
  EXPECT_EQ(second.erasure_id(), first.erasure_id());
  EXPECT_EQ(second.person_id(), volunteer_.person_id());
  EXPECT_EQ(ErasedEvents().size(), 1u);
  // Without it the person is simply gone.
  EXPECT_EQ(Erase(org_.coordinator_token, volunteer_.person_id(), "erase-2").error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(DirectoryErasureTest, OnlyACoordinatorErasesAndNeverThemselves) {
  EXPECT_EQ(Erase(TokenFor(org_, supervisor_), volunteer_.person_id(), "r").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Erase(TokenFor(org_, volunteer_), volunteer_.person_id(), "r").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Erase(TestToken(CallerRole::kAdmin, "operator", org_.id), volunteer_.person_id(), "r")
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Erase(org_.coordinator_token, org_.coordinator_id, "r").error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Erase(org_.coordinator_token, "p0000000000000000beef", "r").error_code(),
            grpc::StatusCode::NOT_FOUND);
  Org lighthouse = NewOrganization("Lighthouse");
  EXPECT_EQ(Erase(lighthouse.coordinator_token, volunteer_.person_id(), "r").error_code(),
            grpc::StatusCode::NOT_FOUND);
  grpc::Status invalid = Erase(org_.coordinator_token, volunteer_.person_id(), "not valid!");
  EXPECT_EQ(invalid.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(invalid.error_message(), HasSubstr("request_id"));
  EXPECT_TRUE(ErasedEvents().empty());
  EXPECT_EQ(Get(org_.coordinator_token, volunteer_.person_id()).error_code(), grpc::StatusCode::OK);
}

TEST_F(DirectoryErasureTest, ErasingASupervisorTakesThemOffTheirVolunteers) {
  ASSERT_TRUE(Erase(org_.coordinator_token, supervisor_.person_id(), "erase-sam").ok());
  v1::Person vera;
  ASSERT_TRUE(Get(org_.coordinator_token, volunteer_.person_id(), &vera).ok());
  EXPECT_TRUE(vera.supervisor_ids().empty());
}

TEST_F(DirectoryErasureTest, TheErasureIsDoneOnceEveryServiceHasReported) {
  v1::Erasure erasure;
  ASSERT_TRUE(Erase(org_.coordinator_token, volunteer_.person_id(), "erase-vera", &erasure).ok());
  const std::string id = erasure.erasure_id();
  for (const char* service : {"directory", "checkin", "alerts", "supervision", "network"}) {
    ASSERT_TRUE(Report(service, id, &erasure).ok()) << service;
    EXPECT_EQ(erasure.state(), v1::ERASURE_STATE_IN_PROGRESS);
  }
  ASSERT_TRUE(Report("network", id).ok());  // again: nothing changes
  EXPECT_EQ(Report("gateway", id).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(Report("webhooks", id, &erasure).ok());
  EXPECT_EQ(erasure.state(), v1::ERASURE_STATE_DONE);
  EXPECT_TRUE(erasure.has_complete_time());
  for (const v1::ErasureProgress& progress : erasure.services()) {
    EXPECT_TRUE(progress.done()) << progress.service();
    EXPECT_TRUE(progress.has_done_time()) << progress.service();
  }

  v1::GetErasureRequest get;
  get.set_erasure_id(id);
  v1::GetErasureResponse got;
  ASSERT_TRUE(server_.stub().GetErasure(As(org_.coordinator_token).get(), get, &got).ok());
  EXPECT_EQ(got.erasure().state(), v1::ERASURE_STATE_DONE);
  EXPECT_EQ(
      server_.stub().GetErasure(As(TokenFor(org_, supervisor_)).get(), get, &got).error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  Org lighthouse = NewOrganization("Lighthouse");
  EXPECT_EQ(
      server_.stub().GetErasure(As(lighthouse.coordinator_token).get(), get, &got).error_code(),
      grpc::StatusCode::NOT_FOUND);
  v1::ReportErasureRequest report;
  report.set_erasure_id(id);
  v1::ReportErasureResponse reported;
  EXPECT_EQ(server_.stub()
                .ReportErasure(As(org_.coordinator_token).get(), report, &reported)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

}  // namespace
}  // namespace peerwell::directory::testing
