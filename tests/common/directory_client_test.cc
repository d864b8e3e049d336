// The directory client the other services use, against the real directory over gRPC.
#include "services/common/directory_client.h"

#include <atomic>
#include <thread>

#include "gtest/gtest.h"
#include "services/common/blocking.h"
#include "services/common/directory_changes.h"
#include "tests/directory/directory_test_server.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/wait.h"

namespace peerwell {
namespace {

namespace v1 = ::peerwell::directory::v1;
using ::peerwell::testing::TestToken;
using ::peerwell::testing::WaitFor;

class DirectoryClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_.port()),
                                   grpc::InsecureChannelCredentials());
    client_ = std::make_unique<DirectoryClient>(
        channel_, DirectoryClientOptions{"checkin", peerwell::testing::kTestJwtSecret}, clock_);
    // An organisation with a coordinator and a volunteer.
    auto admin = Context(TestToken(CallerRole::kAdmin, "operator", ""));
    v1::CreateOrganizationRequest create_org;
    create_org.set_display_name("Harbour");
    v1::CreateOrganizationResponse org;
    ASSERT_TRUE(server_.stub().CreateOrganization(admin.get(), create_org, &org).ok());
    org_ = org.organization().organization_id();
    auto admin_for_org = Context(TestToken(CallerRole::kAdmin, "operator", org_));
    v1::CreatePersonRequest create;
    create.mutable_person()->set_display_name("Grace");
    create.mutable_person()->set_role(v1::ROLE_COORDINATOR);
    v1::CreatePersonResponse coordinator;
    ASSERT_TRUE(server_.stub().CreatePerson(admin_for_org.get(), create, &coordinator).ok());
    coordinator_token_ =
        TestToken(CallerRole::kCoordinator, coordinator.person().person_id(), org_);
    create.mutable_person()->set_display_name("Vera");
    create.mutable_person()->set_role(v1::ROLE_VOLUNTEER);
    v1::CreatePersonResponse volunteer;
    ASSERT_TRUE(
        server_.stub().CreatePerson(Context(coordinator_token_).get(), create, &volunteer).ok());
    volunteer_id_ = volunteer.person().person_id();
  }

  std::unique_ptr<grpc::ClientContext> Context(const std::string& token) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->AddMetadata("authorization", "Bearer " + token);
    return context;
  }

  void RenameVolunteer(const std::string& name) {
    v1::UpdatePersonRequest rename;
    rename.mutable_person()->set_person_id(volunteer_id_);
    rename.mutable_person()->set_display_name(name);
    rename.mutable_update_mask()->add_paths("display_name");
    v1::UpdatePersonResponse renamed;
    ASSERT_TRUE(
        server_.stub().UpdatePerson(Context(coordinator_token_).get(), rename, &renamed).ok());
  }

  void SetRiskMonitoring(bool on) {
    v1::SetConsentRequest request;
    request.mutable_consent()->set_risk_monitoring(on);
    v1::SetConsentResponse response;
    auto context = Context(TestToken(CallerRole::kVolunteer, volunteer_id_, org_));
    ASSERT_TRUE(server_.stub().SetConsent(context.get(), request, &response).ok());
  }

  // The volunteer as cached, without asking the directory: their name, or why there is none.
  std::string CachedName() {
    NonBlockingScope scope;
    auto person = client_->GetPerson(org_, volunteer_id_);
    return person.ok() ? person->display_name() : std::string(person.status().message());
  }
  bool ConsentCached() {
    NonBlockingScope scope;
    return client_->GetConsent(org_, volunteer_id_).ok();
  }
  // A feed for client_, once it follows (the caller asserts client_->FollowingChanges()).
  std::unique_ptr<DirectoryChangeFeed> FollowChanges() {
    auto feed =
        std::make_unique<DirectoryChangeFeed>(server_.redis_server().address(), *client_, clock_);
    WaitFor([&] { return client_->FollowingChanges(); });
    return feed;
  }

  directory::testing::DirectoryTestServer server_;
  peerwell::testing::FakeClock clock_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<DirectoryClient> client_;
  std::string org_;
  std::string coordinator_token_;
  std::string volunteer_id_;
};

TEST_F(DirectoryClientTest, ReadsPersonAsAServiceAndCachesItForTheTtl) {
  auto person = client_->GetPerson(org_, volunteer_id_);
  ASSERT_TRUE(person.ok()) << person.status();
  EXPECT_EQ(person->display_name(), "Vera");
  EXPECT_EQ(person->role(), v1::ROLE_VOLUNTEER);

  RenameVolunteer("Vera K.");

  EXPECT_EQ(client_->GetPerson(org_, volunteer_id_)->display_name(), "Vera");  // cached
  clock_.Advance(absl::Seconds(3));
  EXPECT_EQ(client_->GetPerson(org_, volunteer_id_)->display_name(), "Vera K.");
}

// Where nothing may wait (gRPC's own threads), a lookup answers from the cache or says it would
// block; a caller's membership check passes that on rather than calling it the directory's
// trouble, so that the call moves to the executor instead of failing.
TEST_F(DirectoryClientTest, WhereNothingMayWaitOnlyTheCacheAnswers) {
  Caller volunteer{volunteer_id_, org_, CallerRole::kVolunteer, {}};
  {
    NonBlockingScope scope;
    EXPECT_TRUE(IsWouldBlock(client_->GetPerson(org_, volunteer_id_).status()));
    EXPECT_TRUE(IsWouldBlock(client_->GetConsent(org_, volunteer_id_).status()));
    EXPECT_TRUE(IsWouldBlock(client_->CheckMember(volunteer)));
    auto both = client_->GetPeopleAndConsents({{org_, volunteer_id_}});
    ASSERT_EQ(both.size(), 1u);
    EXPECT_TRUE(IsWouldBlock(both[0].person.status()));
    EXPECT_TRUE(IsWouldBlock(both[0].consent.status()));
  }
  ASSERT_TRUE(client_->GetPerson(org_, volunteer_id_).ok());
  ASSERT_TRUE(client_->GetConsent(org_, volunteer_id_).ok());
  NonBlockingScope scope;
  EXPECT_EQ(client_->GetPerson(org_, volunteer_id_)->display_name(), "Vera");
  EXPECT_TRUE(client_->GetConsent(org_, volunteer_id_).ok());
  EXPECT_TRUE(client_->CheckMember(volunteer).ok());
  auto both = client_->GetPeopleAndConsents({{org_, volunteer_id_}});
  ASSERT_EQ(both.size(), 1u);
  EXPECT_TRUE(both[0].person.ok());
  EXPECT_TRUE(both[0].consent.ok());
}

// A busy caller never waits for the directory once warm: an entry read in the last quarter of
// its life answers from the cache and is fetched again in the background, so it is fresh
// before it would have expired.
TEST_F(DirectoryClientTest, AnEntryReadLateInItsLifeIsFetchedAgainInTheBackground) {
  ASSERT_TRUE(client_->GetPerson(org_, volunteer_id_).ok());
  ASSERT_TRUE(client_->GetConsent(org_, volunteer_id_).ok());
  RenameVolunteer("Vera K.");
  SetRiskMonitoring(true);

  const absl::Duration ttl = DirectoryClientOptions().cache_ttl;
  clock_.Advance(ttl / 4);
  EXPECT_EQ(client_->GetPerson(org_, volunteer_id_)->display_name(), "Vera");  // young: as is
  clock_.Advance(ttl * 0.55);
  {
    NonBlockingScope scope;  // answered at once, whatever happens in the background
    EXPECT_EQ(client_->GetPerson(org_, volunteer_id_)->display_name(), "Vera");
    auto both = client_->GetPeopleAndConsents({{org_, volunteer_id_}});
    ASSERT_EQ(both.size(), 1u);
    EXPECT_FALSE(both[0].consent->risk_monitoring());
  }
  auto cached_person = [&] {
    NonBlockingScope scope;
    auto person = client_->GetPerson(org_, volunteer_id_);
    return person.ok() ? person->display_name() : std::string(person.status().message());
  };
  auto cached_consent = [&] {
    NonBlockingScope scope;
    auto consent = client_->GetConsent(org_, volunteer_id_);
    return consent.ok() && consent->risk_monitoring();
  };
  EXPECT_TRUE(WaitFor([&] { return cached_person() == "Vera K."; })) << cached_person();
  EXPECT_TRUE(WaitFor(cached_consent));
  // Past the first answers' life: the fetched ones hold, nothing has to wait.
  clock_.Advance(ttl / 2);
  EXPECT_EQ(cached_person(), "Vera K.");
  EXPECT_TRUE(cached_consent());
}

// A person erased from the directory meanwhile: their refresh drops the entry at once, rather
// than leaving the cache to answer for them until it expires.
TEST_F(DirectoryClientTest, APersonErasedMeanwhileIsDroppedByTheirRefresh) {
  ASSERT_TRUE(client_->GetPerson(org_, volunteer_id_).ok());
  v1::ErasePersonRequest erase;
  erase.set_person_id(volunteer_id_);
  erase.set_request_id("erase-vera");
  v1::ErasePersonResponse erased;
  ASSERT_TRUE(server_.stub().ErasePerson(Context(coordinator_token_).get(), erase, &erased).ok());

  clock_.Advance(DirectoryClientOptions().cache_ttl * 0.8);  // never past the entry's life
  {
    NonBlockingScope scope;
    EXPECT_TRUE(client_->GetPerson(org_, volunteer_id_).ok());  // cached; the refresh starts
  }
  EXPECT_TRUE(WaitFor([&] {
    NonBlockingScope scope;
    return IsWouldBlock(client_->GetPerson(org_, volunteer_id_).status());
  }));
  EXPECT_EQ(client_->GetPerson(org_, volunteer_id_).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(DirectoryClientTest, ConsentChangesArriveWithinTheTtlOrAtOnceWhenForgotten) {
  EXPECT_FALSE(client_->GetConsent(org_, volunteer_id_)->risk_monitoring());
  SetRiskMonitoring(true);
  EXPECT_FALSE(client_->GetConsent(org_, volunteer_id_)->risk_monitoring());
  clock_.Advance(absl::Seconds(2));
  EXPECT_TRUE(client_->GetConsent(org_, volunteer_id_)->risk_monitoring());
  SetRiskMonitoring(false);
  client_->Forget(org_, volunteer_id_);
  EXPECT_FALSE(client_->GetConsent(org_, volunteer_id_)->risk_monitoring());
}

TEST_F(DirectoryClientTest, ManyPeopleAtOnceAnswerAsOneByOneAndFillTheCache) {
  SetRiskMonitoring(true);
  auto found = client_->GetPeopleAndConsents(
      {{org_, volunteer_id_}, {org_, "p0000000000000000dead"}, {org_, volunteer_id_}});
  ASSERT_EQ(found.size(), 3u);
  ASSERT_TRUE(found[0].person.ok()) << found[0].person.status();
  EXPECT_EQ(found[0].person->display_name(), "Vera");
  ASSERT_TRUE(found[0].consent.ok()) << found[0].consent.status();
  EXPECT_TRUE(found[0].consent->risk_monitoring());
  EXPECT_EQ(found[1].person.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(found[2].person->person_id(), volunteer_id_);

  // Cached as GetPerson and GetConsent cache: a change shows after the TTL, not before.
  SetRiskMonitoring(false);
  auto cached = client_->GetPeopleAndConsents({{org_, volunteer_id_}});
  EXPECT_TRUE(cached[0].consent->risk_monitoring());
  EXPECT_TRUE(client_->GetConsent(org_, volunteer_id_)->risk_monitoring());
  clock_.Advance(absl::Seconds(3));
  EXPECT_FALSE(
      client_->GetPeopleAndConsents({{org_, volunteer_id_}})[0].consent->risk_monitoring());
}

TEST_F(DirectoryClientTest, AnotherOrganisationsPersonIsNotFoundAndNotCached) {
  auto missing = client_->GetPerson("o0000000000000000dead", volunteer_id_);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(DirectoryClientTest, AuthenticatesPartnerKeys) {
  v1::CreateApiKeyRequest create;
  create.set_display_name("Partner");
  create.add_scopes("aggregates:read");
  v1::CreateApiKeyResponse created;
  ASSERT_TRUE(
      server_.stub().CreateApiKey(Context(coordinator_token_).get(), create, &created).ok());
  auto partner = client_->AuthenticateApiKey(created.secret());
  ASSERT_TRUE(partner.ok()) << partner.status();
  EXPECT_EQ(partner->organization_id, org_);
  EXPECT_EQ(partner->role, CallerRole::kPartner);
  EXPECT_TRUE(partner->HasScope("aggregates:read"));
  std::string wrong = created.secret();
  wrong.back() = wrong.back() == 'A' ? 'B' : 'A';
  EXPECT_EQ(client_->AuthenticateApiKey(wrong).status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(DirectoryClientTest, TheDirectoryRefusingThisServiceIsNotTheCallersBadCredentials) {
  DirectoryClient misconfigured(
      channel_, DirectoryClientOptions{"checkin", "not the secret the directory was given"},
      clock_);
  auto person = misconfigured.GetPerson(org_, volunteer_id_);
  EXPECT_EQ(person.status().code(), absl::StatusCode::kInternal) << person.status();
  EXPECT_NE(person.status().message().find("refused this service's credentials"),
            std::string::npos)
      << person.status();
  EXPECT_EQ(misconfigured.GetConsent(org_, volunteer_id_).status().code(),
            absl::StatusCode::kInternal);
  EXPECT_EQ(misconfigured.ListPeople(org_, v1::ROLE_SUPERVISOR).status().code(),
            absl::StatusCode::kInternal);
}

TEST_F(DirectoryClientTest, AMembersTokenIsCheckedAndTheDirectorysTroubleIsNotARefusal) {
  Caller volunteer{volunteer_id_, org_, CallerRole::kVolunteer, {}};
  EXPECT_TRUE(client_->CheckMember(volunteer).ok());
  Caller nobody{"p00000000000000000000", org_, CallerRole::kVolunteer, {}};
  EXPECT_EQ(client_->CheckMember(nobody).code(), absl::StatusCode::kUnauthenticated);
  Caller malformed{"someone", org_, CallerRole::kVolunteer, {}};
  EXPECT_EQ(client_->CheckMember(malformed).code(), absl::StatusCode::kUnauthenticated);

  // Redis behind the directory stops answering: the caller is not refused, they are asked to
  // come back (UNAVAILABLE), once the cached answer has expired.
  clock_.Advance(DirectoryClientOptions().cache_ttl + absl::Seconds(1));
  server_.redis_server().Pause();
  absl::Status unknown = client_->CheckMember(volunteer);
  server_.redis_server().Resume();
  EXPECT_EQ(unknown.code(), absl::StatusCode::kUnavailable) << unknown;
  DirectoryClient misconfigured(
      channel_, DirectoryClientOptions{"checkin", "not the secret the directory was given"},
      clock_);
  EXPECT_EQ(misconfigured.CheckMember(volunteer).code(), absl::StatusCode::kUnavailable);
}

// With the directory's events followed, a person and their consent stay cached far past the
// short TTL, and go as soon as a change of either is announced.
TEST_F(DirectoryClientTest, WhileItsEventsAreFollowedAPersonIsKeptUntilTheirChangeIsAnnounced) {
  auto feed = FollowChanges();
  ASSERT_TRUE(client_->FollowingChanges());
  ASSERT_TRUE(client_->GetPerson(org_, volunteer_id_).ok());
  ASSERT_TRUE(client_->GetConsent(org_, volunteer_id_).ok());
  const DirectoryClientOptions options;
  clock_.Advance(options.cache_ttl * 5);
  // Once the feed has read past the clock's jump, it vouches for the entries again.
  EXPECT_TRUE(WaitFor([&] { return CachedName() == "Vera"; })) << CachedName();
  EXPECT_TRUE(ConsentCached());

  RenameVolunteer("Vera K.");
  EXPECT_TRUE(WaitFor([&] { return CachedName() != "Vera"; }));
  EXPECT_EQ(client_->GetPerson(org_, volunteer_id_)->display_name(), "Vera K.");
  ASSERT_FALSE(client_->GetConsent(org_, volunteer_id_)->risk_monitoring());
  SetRiskMonitoring(true);
  EXPECT_TRUE(WaitFor([&] { return !ConsentCached(); }));
  EXPECT_TRUE(client_->GetConsent(org_, volunteer_id_)->risk_monitoring());
  // Kept well past the short TTL, but not past the followed life: a backstop for a change no
  // event announced.
  clock_.Advance(options.followed_cache_ttl / 6);
  EXPECT_TRUE(WaitFor([&] { return client_->FollowingChanges(); }));
  EXPECT_TRUE(ConsentCached());
  clock_.Advance(options.followed_cache_ttl * 5 / 6 + absl::Milliseconds(1));
  EXPECT_TRUE(WaitFor([&] { return client_->FollowingChanges(); }));
  EXPECT_FALSE(ConsentCached());
}

// The feed vouches only for what it could have seen change: an entry fetched before it started,
// or kept while it is more than the short TTL behind, lives for the short TTL.
TEST_F(DirectoryClientTest, WithoutTheFeedCaughtUpEntriesLiveForTheShortTtl) {
  const absl::Duration ttl = DirectoryClientOptions().cache_ttl;
  ASSERT_TRUE(client_->GetPerson(org_, volunteer_id_).ok());  // before the feed
  clock_.Advance(absl::Milliseconds(1));
  {
    auto feed = FollowChanges();
    ASSERT_TRUE(client_->FollowingChanges());
    ASSERT_TRUE(client_->GetConsent(org_, volunteer_id_).ok());  // followed
    clock_.Advance(ttl + absl::Milliseconds(1));
    EXPECT_TRUE(WaitFor([&] { return client_->FollowingChanges(); }));
    EXPECT_TRUE(ConsentCached());
    EXPECT_NE(CachedName(), "Vera");  // expired: fetched before the feed could see a change
    ASSERT_EQ(client_->GetPerson(org_, volunteer_id_)->display_name(), "Vera");
  }
  // The feed stopped: what it vouched for falls back to the short TTL.
  EXPECT_EQ(CachedName(), "Vera");
  clock_.Advance(ttl + absl::Milliseconds(1));
  EXPECT_FALSE(client_->FollowingChanges());
  EXPECT_NE(CachedName(), "Vera");
  EXPECT_FALSE(ConsentCached());
}

// The test's clock, which counts what one thread asks of it: a directory client's fetch asks
// for the time first thing (BeginFetch), so the count says that thread's fetch has begun.
class CountingClock final : public Clock {
 public:
  explicit CountingClock(const Clock& inner) : inner_(inner) {}
  absl::Time Now() const override {
    if (std::this_thread::get_id() == counted_.load()) ++calls_;
    return inner_.Now();
  }
  void Count(std::thread::id thread) { counted_ = thread; }
  int calls() const { return calls_.load(); }

 private:
  const Clock& inner_;
  std::atomic<std::thread::id> counted_;
  mutable std::atomic<int> calls_{0};
};

// An answer whose fetch began before a Forget may carry what was forgotten (a change announced
// while it was on its way): the feed cannot vouch for it, so it keeps the short TTL.
TEST_F(DirectoryClientTest, AnAnswerAForgetOvertookLivesForTheShortTtl) {
  CountingClock clock(clock_);
  DirectoryClientOptions options{"checkin", peerwell::testing::kTestJwtSecret};
  options.call_timeout = absl::Seconds(20);  // never ended by its deadline while Redis is paused
  DirectoryClient client(channel_, options, clock);
  DirectoryChangeFeed feed(server_.redis_server().address(), client, clock_);
  ASSERT_TRUE(WaitFor([&] { return client.FollowingChanges(); }));

  server_.redis_server().Pause();  // the fetch below stays on its way until Resume
  absl::StatusOr<v1::Person> fetched;
  std::thread fetching([&] {
    clock.Count(std::this_thread::get_id());
    fetched = client.GetPerson(org_, volunteer_id_);
  });
  const bool began = WaitFor([&] { return clock.calls() > 0; });
  client.Forget(org_, volunteer_id_);
  server_.redis_server().Resume();
  fetching.join();
  ASSERT_TRUE(began);
  ASSERT_TRUE(fetched.ok()) << fetched.status();
  {
    NonBlockingScope scope;  // stored after the Forget, so the fetch really was overtaken
    ASSERT_TRUE(client.GetPerson(org_, volunteer_id_).ok());
  }

  clock_.Advance(DirectoryClientOptions().cache_ttl + absl::Milliseconds(1));
  EXPECT_TRUE(WaitFor([&] { return client.FollowingChanges(); }));
  NonBlockingScope scope;
  EXPECT_TRUE(IsWouldBlock(client.GetPerson(org_, volunteer_id_).status()));
}

// Erasing a supervisor takes them off their volunteers' records, and the one event names only
// the supervisor: the volunteers' cached records go too.
TEST_F(DirectoryClientTest, AnErasedSupervisorsVolunteersAreFetchedAfresh) {
  auto feed = FollowChanges();
  ASSERT_TRUE(client_->FollowingChanges());
  v1::CreatePersonRequest create;
  create.mutable_person()->set_display_name("Sam");
  create.mutable_person()->set_role(v1::ROLE_SUPERVISOR);
  v1::CreatePersonResponse supervisor;
  ASSERT_TRUE(
      server_.stub().CreatePerson(Context(coordinator_token_).get(), create, &supervisor).ok());
  const std::string supervisor_id = supervisor.person().person_id();
  v1::AssignSupervisorRequest assign;
  assign.set_volunteer_id(volunteer_id_);
  assign.set_supervisor_id(supervisor_id);
  v1::AssignSupervisorResponse assigned;
  ASSERT_TRUE(
      server_.stub().AssignSupervisor(Context(coordinator_token_).get(), assign, &assigned).ok());
  // Cached with the supervisor once the feed has read past the assignment's own event.
  clock_.Advance(DirectoryClientOptions().cache_ttl + absl::Milliseconds(1));
  ASSERT_TRUE(WaitFor([&] { return client_->FollowingChanges(); }));
  auto before = client_->GetPerson(org_, volunteer_id_);
  ASSERT_TRUE(before.ok()) << before.status();
  ASSERT_EQ(before->supervisor_ids_size(), 1);
  ASSERT_EQ(CachedName(), "Vera");

  v1::ErasePersonRequest erase;
  erase.set_person_id(supervisor_id);
  erase.set_request_id("erase-sam");
  v1::ErasePersonResponse erased;
  ASSERT_TRUE(server_.stub().ErasePerson(Context(coordinator_token_).get(), erase, &erased).ok());
  EXPECT_TRUE(WaitFor([&] { return CachedName() != "Vera"; }));
  auto person = client_->GetPerson(org_, volunteer_id_);
  ASSERT_TRUE(person.ok()) << person.status();
  EXPECT_EQ(person->supervisor_ids_size(), 0);
}

TEST_F(DirectoryClientTest, EveryCallHasADeadline) {
  server_.redis_server().Pause();
  absl::Time start = absl::Now();
  auto person = client_->GetPerson(org_, volunteer_id_);
  absl::Duration took = absl::Now() - start;
  server_.redis_server().Resume();
  EXPECT_FALSE(person.ok());
  EXPECT_LT(took, absl::Seconds(4));
}

}  // namespace
}  // namespace peerwell
