// Who sees and handles alerts, against a real redis-server.
#include "services/alerts/alerts_service.h"

#include <fnmatch.h>

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "services/alerts/alerts_handler.h"
#include "services/alerts/alerts_mapping.h"
#include "services/alerts/redis_alert_store.h"
#include "services/alerts/risk_engine.h"
#include "services/common/audit.h"
#include "services/common/data_key_vault.h"
#include "services/common/events.h"
#include "services/common/organization_registry.h"
#include "services/common/server.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/redis_text.h"
#include "tests/testing/tokens.h"

namespace peerwell::alerts {
namespace {

using ::testing::HasSubstr;

constexpr char kOrg[] = "o00000000000000000001";
constexpr char kVera[] = "p00000000000000000001";
constexpr char kViktor[] = "p00000000000000000002";
constexpr char kSam[] = "p00000000000000000003";    // supervises Vera
constexpr char kSasha[] = "p00000000000000000004";  // supervises Viktor
constexpr char kGrace[] = "p00000000000000000005";  // coordinator
constexpr char kSky[] = "p00000000000000000006";    // supervises Vera too, where a test says so

class Directory final : public VolunteerDirectory {
 public:
  absl::StatusOr<VolunteerFacts> GetVolunteer(const std::string& org,
                                              const std::string& id) override {
    if (org != kOrg || facts.count(id) == 0) return absl::NotFoundError("no such volunteer");
    return facts[id];
  }
  std::map<std::string, VolunteerFacts> facts;
};

Caller As(CallerRole role, const std::string& id, const std::string& org = kOrg) {
  Caller caller;
  caller.person_id = id;
  caller.organization_id = org;
  caller.role = role;
  return caller;
}

class AlertServiceTest : public ::testing::Test {
 protected:
  // Registered as the directory does: the sweeps go through every registered organisation.
  void SetUp() override { ASSERT_TRUE(RegisterOrganization(redis_, kOrg, clock_.Now()).ok()); }
  AlertServiceTest() {
    directory_.facts[kVera] = {true, true, 20, {kSam}, true};
    directory_.facts[kViktor] = {true, true, 20, {kSasha}, false};
  }

  std::string Raise(const std::string& volunteer, const RuleHit& hit, const std::string& event) {
    auto outcome = store_.Trigger(kOrg, volunteer, hit, event, clock_.Now(),
                                  clock_.Now() + absl::Hours(72), false, false);
    EXPECT_TRUE(outcome.ok());
    clock_.Advance(absl::Seconds(1));
    return outcome->alert_id;
  }

  RuleHit Who5Drop() {
    VolunteerHistory history;
    history.scores["who5"] = {{clock_.Now() - absl::Hours(24 * 14), 70}, {clock_.Now(), 52}};
    return EvaluateCheckinRules({}, history, "who5", clock_.Now()).at(0);
  }

  // The coordinator's alerts, page after page of `page_size`, in the order the pages give them.
  std::vector<std::string> PageThroughAlerts(int page_size) {
    std::vector<std::string> seen;
    std::string position;
    for (int pages = 0; pages < 10; ++pages) {
      auto page =
          service_.ListAlerts(As(CallerRole::kCoordinator, kGrace), {}, page_size, position);
      EXPECT_TRUE(page.ok());
      if (!page.ok()) break;
      for (const Alert& alert : page->alerts) seen.push_back(alert.id);
      position = page->next_position;
      if (position.empty()) break;
    }
    return seen;
  }

  long long AuditCount() { return redis_.Execute({"XLEN", AuditStreamKey(kOrg)})->integer; }

  peerwell::testing::RedisServer server_;
  RedisClient redis_{RedisOptions{server_.address()}};
  peerwell::testing::FakeClock clock_;
  RedisAlertStore store_{redis_};
  AuditAppender audit_{redis_};
  Directory directory_;
  DataKeyVault vault_{redis_, *MasterKey::FromBase64(peerwell::testing::kTestMasterKey), clock_,
                      kResolutionNoteKeys};
  AlertService service_{store_, directory_, audit_, vault_, clock_};
};

TEST_F(AlertServiceTest, AResolutionNoteIsSealedUnderTheVolunteersKeyAndFoundNowhereAtRest) {
  const std::string canary = "CANARY-RESOLUTION-9d41e7";
  std::string alert = Raise(kVera, Who5Drop(), "e1");
  ASSERT_TRUE(service_
                  .ResolveAlert(As(CallerRole::kSupervisor, kSam), alert, Outcome::kTalked,
                                "Talked it through; " + canary)
                  .ok());
  std::string everything = peerwell::testing::AllRedisText(redis_);
  ASSERT_NE(everything.find(alert), std::string::npos);  // it did read the alert
  everything += peerwell::testing::AppendOnlyFileText(server_.directory());
  EXPECT_EQ(everything.find(canary), std::string::npos);
  // The stored note opens with Vera's key, for this alert only.
  auto stored =
      redis_.Execute({"HGET", absl::StrCat("pw:{", kOrg, "}:alerts:alert:", alert), "note"});
  ASSERT_TRUE(stored.ok());
  ASSERT_FALSE(stored->str.empty());
  auto opened = vault_.Open(kOrg, kVera, absl::StrCat(alert, "/resolution"), stored->str);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, "Talked it through; " + canary);
  EXPECT_FALSE(vault_.Open(kOrg, kViktor, absl::StrCat(alert, "/resolution"), stored->str).ok());
}

TEST_F(AlertServiceTest, EachRoleSeesWhatItShould) {
  std::string vera_alert = Raise(kVera, Who5Drop(), "e1");
  std::string viktor_alert = Raise(kViktor, Who5Drop(), "e2");

  auto own = service_.ListAlerts(As(CallerRole::kVolunteer, kVera), {}, 50, "");
  ASSERT_TRUE(own.ok());
  ASSERT_EQ(own->alerts.size(), 1u);
  EXPECT_EQ(own->alerts[0].id, vera_alert);
  EXPECT_EQ(service_.GetAlert(As(CallerRole::kVolunteer, kVera), viktor_alert).status().code(),
            absl::StatusCode::kNotFound);
  AlertFilter other;
  other.volunteer_id = kViktor;
  EXPECT_EQ(service_.ListAlerts(As(CallerRole::kVolunteer, kVera), other, 50, "").status().code(),
            absl::StatusCode::kPermissionDenied);

  auto sam = service_.ListAlerts(As(CallerRole::kSupervisor, kSam), {}, 50, "");
  ASSERT_EQ(sam->alerts.size(), 1u);
  EXPECT_EQ(sam->alerts[0].volunteer_id, kVera);
  EXPECT_EQ(service_.GetAlert(As(CallerRole::kSupervisor, kSam), viktor_alert).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(service_.ListAlerts(As(CallerRole::kCoordinator, kGrace), {}, 50, "")->alerts.size(),
            2u);
  // Another organisation: as if the alert did not exist.
  EXPECT_EQ(
      service_
          .GetAlert(As(CallerRole::kCoordinator, "p00000000000000000009", "o00000000000000000009"),
                    vera_alert)
          .status()
          .code(),
      absl::StatusCode::kNotFound);
}

TEST_F(AlertServiceTest, FactorValuesOnlyWithConsentToShareScores) {
  Raise(kVera, Who5Drop(), "e1");    // Vera shares her scores
  Raise(kViktor, Who5Drop(), "e2");  // Viktor does not
  auto vera = service_.ListAlerts(As(CallerRole::kSupervisor, kSam), {}, 50, "");
  EXPECT_EQ(vera->alerts[0].factors[0].value, 18);
  EXPECT_THAT(vera->alerts[0].factors[0].description, HasSubstr("52"));
  auto viktor = service_.ListAlerts(As(CallerRole::kSupervisor, kSasha), {}, 50, "");
  ASSERT_EQ(viktor->alerts.size(), 1u);
  const Factor& hidden = viktor->alerts[0].factors[0];
  EXPECT_EQ(hidden.factor_id, "who5_drop");
  EXPECT_EQ(hidden.value, 0);
  EXPECT_THAT(hidden.description, ::testing::Not(HasSubstr("52")));
  // The volunteer always sees their own numbers.
  EXPECT_EQ(service_.ListAlerts(As(CallerRole::kVolunteer, kViktor), {}, 50, "")
                ->alerts[0]
                .factors[0]
                .value,
            18);
  EXPECT_EQ(AuditCount(), 2);  // Sam read Vera's, Sasha read Viktor's; own reads are not audited
}

TEST_F(AlertServiceTest, LifecycleAcknowledgeThenResolveWithAnOutcome) {
  std::string alert = Raise(kVera, Who5Drop(), "e1");
  EXPECT_EQ(service_.AcknowledgeAlert(As(CallerRole::kVolunteer, kVera), alert).status().code(),
            absl::StatusCode::kPermissionDenied);
  auto acknowledged = service_.AcknowledgeAlert(As(CallerRole::kSupervisor, kSam), alert);
  ASSERT_TRUE(acknowledged.ok()) << acknowledged.status();
  EXPECT_EQ(acknowledged->state, AlertState::kAcknowledged);
  EXPECT_EQ(acknowledged->acknowledged_by, kSam);
  EXPECT_EQ(redis_.Execute({"ZCARD", absl::StrCat("pw:{", kOrg, "}:alerts:deadlines")})->integer,
            0);
  EXPECT_TRUE(service_.AcknowledgeAlert(As(CallerRole::kSupervisor, kSam), alert).ok());

  absl::Status no_outcome =
      service_.ResolveAlert(As(CallerRole::kSupervisor, kSam), alert, Outcome::kUnspecified, "")
          .status();
  EXPECT_EQ(no_outcome.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(no_outcome.message(), HasSubstr("outcome"));
  auto resolved = service_.ResolveAlert(As(CallerRole::kSupervisor, kSam), alert, Outcome::kTalked,
                                        "Talked after the group.");
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  EXPECT_EQ(resolved->state, AlertState::kResolved);
  EXPECT_EQ(resolved->outcome, Outcome::kTalked);
  EXPECT_EQ(resolved->resolution_note, "Talked after the group.");
  EXPECT_EQ(service_.ResolveAlert(As(CallerRole::kSupervisor, kSam), alert, Outcome::kTalked, "")
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  // Resolved, the dedup key is free: the rule firing again opens a new alert.
  std::string again = Raise(kVera, Who5Drop(), "e3");
  EXPECT_NE(again, alert);
  auto feed = ParseStreamEntries(
      *redis_.Execute({"XRANGE", absl::StrCat("pw:{", kOrg, "}:alerts:feed"), "-", "+"}));
  std::vector<std::string> types;
  for (const auto& entry : feed) types.push_back(entry.Get("event_type"));
  EXPECT_THAT(types, ::testing::ElementsAre("1", "3", "5", "1"));
  // Other services hear of each of Appendix C's events: triggered, acknowledged once (the
  // repeat changed nothing), resolved, and the new alert of the rule firing again.
  std::vector<std::string> published;
  std::vector<std::string> alert_ids;
  for (const auto& entry :
       ParseStreamEntries(*redis_.Execute({"XRANGE", EventStreamKey("alerts", kOrg), "-", "+"}))) {
    EXPECT_EQ(entry.Get("organization_id"), kOrg);
    EXPECT_EQ(entry.Get("volunteer_id"), kVera);
    published.push_back(entry.Get("type"));
    alert_ids.push_back(entry.Get("alert_id"));
  }
  EXPECT_THAT(published, ::testing::ElementsAre("alert.triggered", "alert.acknowledged",
                                                "alert.resolved", "alert.triggered"));
  EXPECT_THAT(alert_ids, ::testing::ElementsAre(alert, alert, alert, again));
}

// Webhooks and other services follow the organisation's pw:{<org>}:events:alerts: a rule firing
// again while its alert is open is one alert.updated with the new count; the same event handled
// twice publishes nothing.
TEST_F(AlertServiceTest, ARepeatedRuleIsAnUpdateOnTheEventStream) {
  std::string alert = Raise(kVera, Who5Drop(), "e1");
  EXPECT_EQ(Raise(kVera, Who5Drop(), "e2"), alert);
  Raise(kVera, Who5Drop(), "e2");
  std::vector<std::pair<std::string, std::string>> published;
  for (const auto& entry :
       ParseStreamEntries(*redis_.Execute({"XRANGE", EventStreamKey("alerts", kOrg), "-", "+"}))) {
    EXPECT_EQ(entry.Get("alert_id"), alert);
    EXPECT_EQ(entry.Get("rule_id"), "who5_drop");
    EXPECT_FALSE(entry.Get("priority").empty());
    EXPECT_FALSE(entry.Get("occur_time").empty());
    published.emplace_back(entry.Get("type"), entry.Get("occurrence_count"));
  }
  EXPECT_THAT(published, ::testing::ElementsAre(::testing::Pair("alert.triggered", "1"),
                                                ::testing::Pair("alert.updated", "2")));
}

TEST_F(AlertServiceTest, PagesNewestFirst) {
  std::vector<std::string> raised;
  for (int i = 0; i < 5; ++i) {
    raised.push_back(Raise(kVera, SupportRequestedHit("request", false), absl::StrCat("s", i)));
    ASSERT_TRUE(
        service_
            .ResolveAlert(As(CallerRole::kCoordinator, kGrace), raised.back(), Outcome::kTalked, "")
            .ok());
  }
  std::reverse(raised.begin(), raised.end());
  EXPECT_EQ(PageThroughAlerts(2), raised);
}

TEST_F(AlertServiceTest, PagesThroughAlertsRaisedAtTheSameTime) {
  // One event's hits share their trigger time; the index keeps them apart, and so must paging.
  std::vector<std::string> raised;
  for (int i = 0; i < 3; ++i) {
    auto outcome = store_.Trigger(kOrg, kVera, SupportRequestedHit("request", false),
                                  absl::StrCat("same-time", i), clock_.Now(),
                                  clock_.Now() + absl::Hours(72), false, false);
    ASSERT_TRUE(outcome.ok());
    raised.push_back(outcome->alert_id);
    ASSERT_TRUE(
        service_
            .ResolveAlert(As(CallerRole::kCoordinator, kGrace), raised.back(), Outcome::kTalked, "")
            .ok());
  }
  std::reverse(raised.begin(), raised.end());
  EXPECT_EQ(PageThroughAlerts(1), raised);
}

TEST_F(AlertServiceTest, RiskProfileExplainsTheScore) {
  Raise(kVera, CriticalIncidentHit("aggression", clock_.Now()), "i1");
  ASSERT_TRUE(store_
                  .AddToHistory({"c1",
                                 kOrg,
                                 kVera,
                                 "who5",
                                 clock_.Now() - absl::Hours(24 * 14),
                                 {{"who5", 70}},
                                 {},
                                 0})
                  .ok());
  ASSERT_TRUE(
      store_.AddToHistory({"c2", kOrg, kVera, "who5", clock_.Now(), {{"who5", 24}}, {}, 0}).ok());
  auto profile = service_.GetRiskProfile(As(CallerRole::kVolunteer, kVera), "");
  ASSERT_TRUE(profile.ok()) << profile.status();
  EXPECT_EQ(profile->risk_score, 80);  // incident 40 + WHO-5 drop 15 + WHO-5 low 25
  EXPECT_EQ(profile->band, RiskBand::kSevere);
  EXPECT_EQ(profile->factors[0].factor_id, "critical_incident");
  EXPECT_EQ(service_.GetRiskProfile(As(CallerRole::kSupervisor, kSasha), kVera).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(service_.GetRiskProfile(As(CallerRole::kSupervisor, kSam), kVera).ok());
  EXPECT_EQ(service_.GetRiskProfile(As(CallerRole::kVolunteer, kViktor), kVera).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(AlertServiceTest, AStoredPolicyReadsBackWhole) {
  AlertPolicy policy;
  policy.ack_deadline_critical = absl::Seconds(1);
  policy.max_escalations = 2;
  policy.baseline_window = absl::Hours(24 * 120);
  ASSERT_TRUE(service_.UpdateAlertPolicy(As(CallerRole::kCoordinator, kGrace), policy).ok());
  EXPECT_EQ(service_.UpdateAlertPolicy(As(CallerRole::kSupervisor, kSam), policy).status().code(),
            absl::StatusCode::kPermissionDenied);
  auto stored = service_.GetAlertPolicy(As(CallerRole::kSupervisor, kSam));
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->ack_deadline_critical, absl::Seconds(1));
  EXPECT_EQ(stored->max_escalations, 2);
  EXPECT_EQ(stored->baseline_window, absl::Hours(24 * 120));
  EXPECT_EQ(stored->ack_deadline_high, absl::Hours(24));
}

TEST_F(AlertServiceTest, CoordinatorsSeeEscalatedAlertsFirst) {
  std::string escalated = Raise(kVera, CriticalIncidentHit("aggression", clock_.Now()), "i1");
  Raise(kViktor, Who5Drop(), "e2");  // newer, not escalated
  Escalation escalation{{kOrg, escalated}, 3, {}};
  escalation.next_deadline_by_priority.fill(clock_.Now() + absl::Hours(101));
  ASSERT_EQ(store_.Escalate(clock_.Now() + absl::Hours(100), {escalation}).value(), 1);
  auto coordinator = service_.ListAlerts(As(CallerRole::kCoordinator, kGrace), {}, 50, "");
  ASSERT_EQ(coordinator->alerts.size(), 2u);
  EXPECT_EQ(coordinator->alerts[0].id, escalated);
  EXPECT_EQ(coordinator->alerts[0].escalation_level, 1);
}

// Records whose texts are opened, passing every call on.
class CountingCipher final : public TextCipher {
 public:
  explicit CountingCipher(TextCipher& inner) : inner_(inner) {}
  absl::StatusOr<std::string> Seal(const std::string& organization_id, const std::string& owner_id,
                                   const std::string& record, const std::string& text) override {
    return inner_.Seal(organization_id, owner_id, record, text);
  }
  absl::StatusOr<std::string> Open(const std::string& organization_id, const std::string& owner_id,
                                   const std::string& record, const std::string& sealed) override {
    opened.push_back(record);
    return inner_.Open(organization_id, owner_id, record, sealed);
  }
  std::vector<std::string> opened;

 private:
  TextCipher& inner_;
};

TEST_F(AlertServiceTest, OnlyTheNotesOfAlertsTheCallerMayReadAreOpened) {
  CountingCipher cipher(vault_);
  AlertService service{store_, directory_, audit_, cipher, clock_};
  std::string vera = Raise(kVera, Who5Drop(), "e1");
  std::string viktor = Raise(kViktor, Who5Drop(), "e2");
  ASSERT_TRUE(
      service.ResolveAlert(As(CallerRole::kSupervisor, kSam), vera, Outcome::kTalked, "About Vera.")
          .ok());
  ASSERT_TRUE(service
                  .ResolveAlert(As(CallerRole::kSupervisor, kSasha), viktor, Outcome::kTalked,
                                "About Viktor.")
                  .ok());
  cipher.opened.clear();
  // Sasha's listing passes over Vera's alert: its note stays sealed.
  auto sasha = service.ListAlerts(As(CallerRole::kSupervisor, kSasha), {}, 50, "");
  ASSERT_TRUE(sasha.ok()) << sasha.status();
  ASSERT_EQ(sasha->alerts.size(), 1u);
  EXPECT_EQ(sasha->alerts[0].resolution_note, "About Viktor.");
  EXPECT_THAT(cipher.opened, ::testing::ElementsAre(absl::StrCat(viktor, "/resolution")));
  EXPECT_EQ(service.GetAlert(As(CallerRole::kSupervisor, kSasha), vera).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(cipher.opened.size(), 1u);
  // A listing of open alerts (the dashboard's) opens none.
  cipher.opened.clear();
  AlertFilter open;
  open.states = {AlertState::kTriggered, AlertState::kAcknowledged};
  auto open_alerts = service.ListAlerts(As(CallerRole::kCoordinator, kGrace), open, 50, "");
  ASSERT_TRUE(open_alerts.ok()) << open_alerts.status();
  EXPECT_TRUE(open_alerts->alerts.empty());
  EXPECT_TRUE(cipher.opened.empty());
}

// Every member's token is taken as it comes: these tests are about which role may export, not
// about membership, which the directory's own tests cover.
class EveryoneAMember final : public CredentialDirectory {
 public:
  absl::StatusOr<Caller> AuthenticateApiKey(absl::string_view) override {
    return absl::UnauthenticatedError("no API keys here");
  }
  absl::Status CheckMember(const Caller&) override { return absl::OkStatus(); }
};

// A record family of an export, each record read back as the API message it was written from.
template <typename Record>
std::vector<Record> Family(const google::protobuf::Struct& records, const std::string& family) {
  std::vector<Record> out;
  auto it = records.fields().find(family);
  EXPECT_NE(it, records.fields().end()) << family << " is missing";
  if (it == records.fields().end()) return out;
  EXPECT_TRUE(it->second.has_list_value()) << family;
  for (const auto& value : it->second.list_value().values()) {
    std::string json;
    EXPECT_TRUE(google::protobuf::util::MessageToJsonString(value, &json).ok());
    Record record;
    auto parsed = google::protobuf::util::JsonStringToMessage(json, &record);
    EXPECT_TRUE(parsed.ok()) << family << ": " << parsed.ToString();
    out.push_back(std::move(record));
  }
  return out;
}

// The service through its gRPC handler, as clients call it.
class AlertsHandlerTest : public AlertServiceTest {
 protected:
  AlertsHandlerTest() {
    host_.AddService(&handler_);
    host_.AddShutdownHook([this] { handler_.StopWatches(); });
    absl::Status started = host_.Start();
    if (!started.ok()) throw std::runtime_error(std::string(started.message()));
    stub_ = v1::AlertService::NewStub(grpc::CreateChannel(absl::StrCat("127.0.0.1:", host_.port()),
                                                          grpc::InsecureChannelCredentials()));
  }
  ~AlertsHandlerTest() override {
    host_.Shutdown();
    executor_.Shutdown();
  }

  static std::unique_ptr<grpc::ClientContext> Context(CallerRole role, const std::string& person,
                                                      const std::string& org = kOrg) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->AddMetadata("authorization",
                         "Bearer " + peerwell::testing::TestToken(role, person, org));
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return context;
  }

  grpc::Status Get(CallerRole role, const std::string& person, const std::string& alert_id,
                   v1::Alert* alert, const std::string& org = kOrg) {
    v1::GetAlertRequest request;
    request.set_alert_id(alert_id);
    v1::GetAlertResponse response;
    grpc::Status status = stub_->GetAlert(Context(role, person, org).get(), request, &response);
    *alert = response.alert();
    return status;
  }

  // The caller's listing (one page of 100): the alert of `alert_id` if it is on it.
  std::optional<v1::Alert> Listed(CallerRole role, const std::string& person,
                                  const std::string& alert_id) {
    v1::ListAlertsRequest request;
    request.set_page_size(100);
    v1::ListAlertsResponse response;
    grpc::Status status = stub_->ListAlerts(Context(role, person).get(), request, &response);
    EXPECT_TRUE(status.ok()) << CallerRoleName(role) << ": " << status.error_message();
    for (const v1::Alert& alert : response.alerts()) {
      if (alert.alert_id() == alert_id) return alert;
    }
    return std::nullopt;
  }

  grpc::Status Resolve(CallerRole role, const std::string& person, const std::string& alert_id,
                       const std::string& note, v1::Alert* alert) {
    v1::ResolveAlertRequest request;
    request.set_alert_id(alert_id);
    request.set_outcome(v1::OUTCOME_TALKED);
    request.set_note(note);
    v1::ResolveAlertResponse response;
    grpc::Status status = stub_->ResolveAlert(Context(role, person).get(), request, &response);
    *alert = response.alert();
    return status;
  }

  std::string StoredNote(const std::string& alert_id) {
    auto stored =
        redis_.Execute({"HGET", absl::StrCat("pw:{", kOrg, "}:alerts:alert:", alert_id), "note"});
    EXPECT_TRUE(stored.ok()) << stored.status();
    return stored.ok() ? stored->str : "";
  }

  Metrics metrics_;
  EveryoneAMember members_;
  Authenticator authenticator_{TokenVerifier(peerwell::testing::kTestJwtSecret), members_};
  BoundedExecutor executor_{2, 64};
  UnaryCallRunner runner_{executor_, authenticator_};
  PageTokenCodec pages_{PageTokenKey(peerwell::testing::kTestJwtSecret)};
  AlertsHandler handler_{service_, runner_, authenticator_, pages_, server_.address(), clock_};
  ServerHost host_{ServerHostOptions{"127.0.0.1:0"}, metrics_, redis_};
  std::unique_ptr<v1::AlertService::Stub> stub_;
};

// SPEC §1.4: the note is sealed at rest, and every read of the alert returns it, opened, to
// whoever may read the alert (Vera too: a volunteer reads her own alerts); to no one else.
TEST_F(AlertsHandlerTest, AResolutionNoteIsReturnedToThoseWhoMayReadTheAlertAndToNoOneElse) {
  const std::string note = "Talked after the group; she is taking a week off.";
  directory_.facts[kVera].supervisor_ids.push_back(kSky);
  std::string alert_id = Raise(kVera, Who5Drop(), "e1");
  v1::Alert resolved;
  grpc::Status status = Resolve(CallerRole::kSupervisor, kSam, alert_id, note, &resolved);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(resolved.state(), v1::ALERT_STATE_RESOLVED);
  EXPECT_EQ(resolved.resolution_note(), note);

  std::string stored = StoredNote(alert_id);
  EXPECT_FALSE(stored.empty());
  EXPECT_NE(stored, note);
  EXPECT_EQ(stored.find(note), std::string::npos);

  for (const auto& [role, person] : {std::pair{CallerRole::kSupervisor, kSam},
                                     {CallerRole::kSupervisor, kSky},
                                     {CallerRole::kCoordinator, kGrace},
                                     {CallerRole::kVolunteer, kVera}}) {
    v1::Alert read;
    grpc::Status got = Get(role, person, alert_id, &read);
    ASSERT_TRUE(got.ok()) << person << ": " << got.error_message();
    EXPECT_EQ(read.resolution_note(), note) << person;
    auto listed = Listed(role, person, alert_id);
    ASSERT_TRUE(listed.has_value()) << person;
    EXPECT_EQ(listed->resolution_note(), note) << person;
  }
  // Who may not read the alert gets NOT_FOUND, as before, and no listing shows it.
  for (const auto& [role, person] :
       {std::pair{CallerRole::kSupervisor, kSasha}, {CallerRole::kVolunteer, kViktor}}) {
    v1::Alert read;
    EXPECT_EQ(Get(role, person, alert_id, &read).error_code(), grpc::StatusCode::NOT_FOUND)
        << person;
    EXPECT_EQ(read.resolution_note(), "");
    EXPECT_FALSE(Listed(role, person, alert_id).has_value()) << person;
  }
  v1::Alert elsewhere;
  EXPECT_EQ(Get(CallerRole::kCoordinator, "p00000000000000000009", alert_id, &elsewhere,
                "o00000000000000000009")
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(AlertsHandlerTest, AnAlertResolvedWithoutANoteHasNone) {
  std::string alert_id = Raise(kVera, Who5Drop(), "e1");
  v1::Alert resolved;
  ASSERT_TRUE(Resolve(CallerRole::kSupervisor, kSam, alert_id, "", &resolved).ok());
  EXPECT_EQ(resolved.resolution_note(), "");
  EXPECT_EQ(StoredNote(alert_id), "");
  v1::Alert read;
  ASSERT_TRUE(Get(CallerRole::kCoordinator, kGrace, alert_id, &read).ok());
  EXPECT_EQ(read.state(), v1::ALERT_STATE_RESOLVED);
  EXPECT_EQ(read.resolution_note(), "");
}

TEST_F(AlertsHandlerTest, AWatchersResolvedEventCarriesTheNote) {
  const std::string note = "Referred to the counselling line.";
  std::string alert_id = Raise(kVera, Who5Drop(), "e1");
  auto watch = Context(CallerRole::kCoordinator, kGrace);
  auto stream = stub_->WatchAlerts(watch.get(), v1::WatchAlertsRequest());
  stream->WaitForInitialMetadata();  // live: what happens next reaches it
  v1::Alert resolved;
  ASSERT_TRUE(Resolve(CallerRole::kSupervisor, kSam, alert_id, note, &resolved).ok());
  v1::AlertEvent event;
  bool seen = false;
  while (!seen && stream->Read(&event)) {
    seen =
        event.event_type() == v1::ALERT_EVENT_TYPE_RESOLVED && event.alert().alert_id() == alert_id;
  }
  watch->TryCancel();
  ASSERT_TRUE(seen);
  EXPECT_EQ(event.alert().resolution_note(), note);
}

// Erasing a volunteer destroys their data key: their notes no longer open, and every read of
// their alerts still answers, the note left out.
TEST_F(AlertsHandlerTest, ANoteWhoseKeyWasDestroyedComesBackEmptyAndTheAlertStillShows) {
  const std::string note = "Talked it through.";
  std::string alert_id = Raise(kVera, Who5Drop(), "e1");
  v1::Alert resolved;
  ASSERT_TRUE(Resolve(CallerRole::kSupervisor, kSam, alert_id, note, &resolved).ok());
  ASSERT_EQ(resolved.resolution_note(), note);
  auto deleted = redis_.Execute({"DEL", absl::StrCat("pw:{", kOrg, "}:alerts:datakey:", kVera)});
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  ASSERT_EQ(deleted->integer, 1);

  // A fresh instance (another replica, a restart) has no key left to open it with.
  DataKeyVault fresh_vault{redis_, *MasterKey::FromBase64(peerwell::testing::kTestMasterKey),
                           clock_, kResolutionNoteKeys};
  AlertService fresh{store_, directory_, audit_, fresh_vault, clock_};
  auto alert = fresh.GetAlert(As(CallerRole::kSupervisor, kSam), alert_id);
  ASSERT_TRUE(alert.ok()) << alert.status();
  EXPECT_EQ(alert->state, AlertState::kResolved);
  EXPECT_EQ(alert->resolution_note, "");

  // The running service's unwrapped key lapses from its cache within a minute; then the same.
  clock_.Advance(DataKeyVault::kDataKeyCacheTtl + absl::Seconds(1));
  for (const auto& [role, person] :
       {std::pair{CallerRole::kSupervisor, kSam}, {CallerRole::kCoordinator, kGrace}}) {
    v1::Alert read;
    grpc::Status got = Get(role, person, alert_id, &read);
    ASSERT_TRUE(got.ok()) << person << ": " << got.error_message();
    EXPECT_EQ(read.outcome(), v1::OUTCOME_TALKED);
    EXPECT_EQ(read.resolution_note(), "") << person;
    auto listed = Listed(role, person, alert_id);
    ASSERT_TRUE(listed.has_value()) << person;
    EXPECT_EQ(listed->resolution_note(), "") << person;
  }
  auto exported = service_.ExportPerson(As(CallerRole::kService, "directory"), kVera);
  ASSERT_TRUE(exported.ok()) << exported.status();
  ASSERT_EQ(exported->alerts.size(), 1u);
  EXPECT_EQ(exported->alerts[0].resolution_note, "");
}

// The service's part of a person's export through its gRPC handler, as the directory calls it,
// with alerts raised by the risk engine from check-in events.
class ExportPersonRecordsTest : public AlertsHandlerTest {
 protected:
  static constexpr char kNote[] = "Talked it through after the group; sleeping better.";

  CheckinEvent Checkin(const std::string& event_id, const std::string& volunteer,
                       const std::string& instrument, std::map<std::string, double> scores,
                       std::map<std::string, int> answers, double hours) {
    clock_.Advance(absl::Minutes(1));
    return {event_id,           kOrg, volunteer, instrument, clock_.Now(), std::move(scores),
            std::move(answers), hours};
  }

  std::string OpenAlertOf(const std::string& volunteer, const std::string& rule) {
    auto open = store_.OpenAlerts(kOrg, volunteer);
    EXPECT_TRUE(open.ok()) << open.status();
    if (!open.ok()) return "";
    for (const Alert& alert : *open) {
      if (alert.rule_id == rule) return alert.id;
    }
    ADD_FAILURE() << "no open " << rule << " alert";
    return "";
  }

  // Vera: a WHO-5 drop (resolved with a note), a pulse, a critical incident (open) and a
  // silence; Viktor: a WHO-5 drop of his own (open) and a silence.
  void RaiseAlertsForVeraAndViktor() {
    for (const char* volunteer : {kVera, kViktor}) {
      ASSERT_TRUE(engine_
                      .OnCheckin(Checkin(absl::StrCat(volunteer, "-1"), volunteer, "who5",
                                         {{"who5", 72}}, {{"1", 4}}, 0))
                      .ok());
      clock_.Advance(absl::Hours(24 * 14));
      ASSERT_TRUE(engine_
                      .OnCheckin(Checkin(absl::StrCat(volunteer, "-2"), volunteer, "who5",
                                         {{"who5", 24}}, {{"1", 1}}, 0))
                      .ok());
    }
    ASSERT_TRUE(engine_
                    .OnCheckin(Checkin("pulse-1", kVera, "pulse", {},
                                       {{"energy", 2}, {"stayed_with_me", 1}}, 3.5))
                    .ok());
    vera_last_checkin_ = clock_.Now();
    ASSERT_TRUE(
        engine_.OnIncident({"incident-1", kOrg, kVera, "aggression", clock_.Now(), clock_.Now()})
            .ok());
    vera_drop_ = OpenAlertOf(kVera, "who5_drop");
    vera_incident_ = OpenAlertOf(kVera, "critical_incident");
    viktor_drop_ = OpenAlertOf(kViktor, "who5_drop");
    ASSERT_TRUE(
        service_
            .ResolveAlert(As(CallerRole::kSupervisor, kSam), vera_drop_, Outcome::kTalked, kNote)
            .ok());
    ASSERT_TRUE(service_
                    .CreateSilence(As(CallerRole::kSupervisor, kSam), kVera,
                                   clock_.Now() + absl::Hours(24 * 7), "On leave this week")
                    .ok());
    ASSERT_TRUE(service_
                    .CreateSilence(As(CallerRole::kSupervisor, kSasha), kViktor,
                                   clock_.Now() + absl::Hours(24 * 3), "Away")
                    .ok());
  }

  grpc::Status Export(const std::string& token, const std::string& person_id,
                      google::protobuf::Struct* records = nullptr) {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + token);
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    privacy::v1::ExportPersonRecordsRequest request;
    request.set_person_id(person_id);
    privacy::v1::ExportPersonRecordsResponse response;
    grpc::Status status = stub_->ExportPersonRecords(&context, request, &response);
    if (records != nullptr) *records = response.records();
    return status;
  }

  static std::string ServiceToken() {
    return peerwell::testing::TestToken(CallerRole::kService, "directory", kOrg);
  }

  std::vector<std::string> AllKeys() {
    std::vector<std::string> keys;
    std::string cursor = "0";
    do {
      auto page = redis_.Execute({"SCAN", cursor, "COUNT", "1000"});
      EXPECT_TRUE(page.ok() && page->elements.size() == 2);
      if (!page.ok() || page->elements.size() != 2) break;
      cursor = page->elements[0].str;
      for (const auto& key : page->elements[1].elements) keys.push_back(key.str);
    } while (cursor != "0");
    return keys;
  }

  RiskEngine engine_{store_, directory_, clock_};
  std::string vera_drop_, vera_incident_, viktor_drop_;
  absl::Time vera_last_checkin_;
};

TEST_F(ExportPersonRecordsTest, GivesTheDirectoryEveryRecordAboutTheVolunteerAndNoOneElses) {
  ASSERT_NO_FATAL_FAILURE(RaiseAlertsForVeraAndViktor());
  google::protobuf::Struct records;
  grpc::Status status = Export(ServiceToken(), kVera, &records);
  ASSERT_TRUE(status.ok()) << status.error_message();

  // Each alert as the plain Alert message, its resolution note in it.
  std::map<std::string, v1::Alert> alerts;
  for (auto& alert : Family<v1::Alert>(records, kAlertsFamily)) {
    EXPECT_EQ(alert.volunteer_id(), kVera);
    alerts[alert.alert_id()] = alert;
  }
  ASSERT_EQ(alerts.size(), 2u);
  const v1::Alert& drop = alerts.at(vera_drop_);
  EXPECT_EQ(drop.state(), v1::ALERT_STATE_RESOLVED);
  EXPECT_EQ(drop.outcome(), v1::OUTCOME_TALKED);
  EXPECT_EQ(drop.resolution_note(), kNote);  // opened: at rest it is sealed
  ASSERT_GT(drop.factors_size(), 0);
  EXPECT_GT(drop.factors(0).value(), 0);  // her own numbers, not a redacted factor
  const v1::Alert& incident = alerts.at(vera_incident_);
  EXPECT_EQ(incident.state(), v1::ALERT_STATE_TRIGGERED);
  EXPECT_EQ(incident.resolution_note(), "");

  auto history = Family<v1::RiskHistoryEntry>(records, kRiskHistoryFamily);
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history[0].event_id(), absl::StrCat(kVera, "-1"));
  EXPECT_EQ(history[0].scores().at("who5"), 72);
  EXPECT_EQ(history[1].scores().at("who5"), 24);
  EXPECT_EQ(history[2].instrument_id(), "pulse");
  EXPECT_EQ(history[2].answers().at("stayed_with_me"), 1);
  EXPECT_EQ(history[2].hours(), 3.5);

  auto silences = Family<v1::Silence>(records, kSilencesFamily);
  ASSERT_EQ(silences.size(), 1u);
  EXPECT_EQ(silences[0].volunteer_id(), kVera);
  EXPECT_EQ(silences[0].reason(), "On leave this week");

  auto last = Family<v1::LastCheckin>(records, kLastCheckinFamily);
  ASSERT_EQ(last.size(), 1u);
  EXPECT_EQ(last[0].submit_time().seconds(), absl::ToUnixSeconds(vera_last_checkin_));

  std::string json;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(records, &json).ok());
  EXPECT_EQ(json.find(kViktor), std::string::npos) << json;
  EXPECT_EQ(json.find(viktor_drop_), std::string::npos);
  EXPECT_EQ(json.find("Away"), std::string::npos);
}

TEST_F(ExportPersonRecordsTest, OnlyTheDirectorysServiceRoleMayExport) {
  ASSERT_NO_FATAL_FAILURE(RaiseAlertsForVeraAndViktor());
  using peerwell::testing::TestToken;
  for (const auto& [role, person] : {std::pair{CallerRole::kVolunteer, kVera},
                                     {CallerRole::kSupervisor, kSam},
                                     {CallerRole::kCoordinator, kGrace},
                                     {CallerRole::kAdmin, "op"}}) {
    google::protobuf::Struct records;
    grpc::Status status = Export(TestToken(role, person, kOrg), kVera, &records);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << CallerRoleName(role);
    EXPECT_TRUE(records.fields().empty());
  }
}

TEST_F(ExportPersonRecordsTest, AMalformedPersonIdIsRefusedNamingIt) {
  for (const std::string& person_id : {std::string(""), std::string("p1 OR *"),
                                       std::string("directory"), absl::StrCat(kVera, ":alerts")}) {
    grpc::Status status = Export(ServiceToken(), person_id);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << person_id;
    EXPECT_THAT(status.error_message(), HasSubstr("person_id")) << person_id;
  }
}

TEST_F(ExportPersonRecordsTest, APersonWithNoRecordsGetsEveryFamilyEmpty) {
  ASSERT_NO_FATAL_FAILURE(RaiseAlertsForVeraAndViktor());
  google::protobuf::Struct records;
  grpc::Status status = Export(ServiceToken(), "p000000000000000000ff", &records);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(records.fields().size(), 4u);
  for (const char* family :
       {kAlertsFamily, kRiskHistoryFamily, kSilencesFamily, kLastCheckinFamily}) {
    ASSERT_EQ(records.fields().count(family), 1u) << family;
    EXPECT_TRUE(records.fields().at(family).has_list_value()) << family;
    EXPECT_EQ(records.fields().at(family).list_value().values_size(), 0) << family;
  }
}

// Far more alerts than one read of the volunteer's index takes.
TEST_F(ExportPersonRecordsTest, ReadsEveryAlertNotOnePage) {
  std::vector<std::string> raised;
  for (int i = 0; i < 450; ++i) {
    raised.push_back(Raise(kVera, SupportRequestedHit("request", false), absl::StrCat("s", i)));
    ASSERT_TRUE(store_.Resolve(kOrg, raised.back(), kSam, Outcome::kTalked, "", clock_.Now()).ok());
  }
  auto exported = service_.ExportPerson(As(CallerRole::kService, "directory"), kVera);
  ASSERT_TRUE(exported.ok()) << exported.status();
  std::vector<std::string> ids;
  for (const Alert& alert : exported->alerts) ids.push_back(alert.id);
  EXPECT_EQ(ids, raised);  // oldest first, each once
}

// tests/privacy's scan relies on this list: a key about a person that no family names would be
// left out of the export unnoticed.
TEST_F(ExportPersonRecordsTest, PersonKeyFamiliesCoverEveryKeyTheWorkloadLeaves) {
  ASSERT_NO_FATAL_FAILURE(RaiseAlertsForVeraAndViktor());
  // An alert event a consumer of the alert events gave up on, as it leaves it.
  ASSERT_TRUE(
      redis_
          .Execute({"XADD", DeadLetterStreamKey(EventStreamKey("alerts", kOrg)), "*",
                    "source_stream", EventStreamKey("alerts", kOrg), "source_id", "1-0", "group",
                    "webhooks", "error", "the partner did not answer", "event.volunteer_id", kVera})
          .ok());
  ASSERT_TRUE(Export(ServiceToken(), kVera).ok());
  const auto& families = RedisAlertStore::PersonKeyFamilies();
  std::set<std::string> exported = {kAlertsFamily, kRiskHistoryFamily, kSilencesFamily,
                                    kLastCheckinFamily};
  for (const PersonKeyFamily& family : families) {
    // Exported under a family the export declares, or not exported for a stated reason.
    EXPECT_NE(family.exported_as.empty(), family.not_exported_because.empty()) << family.pattern;
    if (!family.exported_as.empty()) {
      EXPECT_EQ(exported.count(family.exported_as), 1u) << family.pattern;
    }
  }
  auto glob = [](const std::string& pattern, const std::string& key) {
    return fnmatch(pattern.c_str(), key.c_str(), 0) == 0;
  };
  std::set<std::string> patterns_seen;
  int alerts_keys = 0;
  for (const std::string& key : AllKeys()) {
    if (!glob("pw:{*}:alerts:*", key) && !glob("pw:alerts:*", key) &&
        !glob("pw:{*}:events:alerts*", key)) {
      continue;
    }
    ++alerts_keys;
    std::vector<std::string> matched;
    for (const PersonKeyFamily& family : families) {
      if (glob(family.pattern, key)) matched.push_back(family.pattern);
    }
    EXPECT_EQ(matched.size(), 1u) << key << " matches " << absl::StrJoin(matched, ", ");
    patterns_seen.insert(matched.begin(), matched.end());
  }
  EXPECT_GT(alerts_keys, 0);
  // The workload leaves a key of every family: none of the patterns is left untried.
  for (const PersonKeyFamily& family : families) {
    EXPECT_EQ(patterns_seen.count(family.pattern), 1u) << family.pattern << " matched no key";
  }
}

// Erasing a person (GDPR article 17), as the directory's person.erased has the service do it.
class ErasePersonTest : public ExportPersonRecordsTest {
 protected:
  static constexpr char kViktorNote[] = "Viktor says the new rota helps.";

  // Every key in Redis with its value as text, read by type; all but the audit stream, where
  // the directory erases the records about a person.
  std::map<std::string, std::string> Contents() {
    std::map<std::string, std::string> contents;
    for (const std::string& key : AllKeys()) {
      if (key == AuditStreamKey(kOrg)) continue;
      auto type = redis_.Execute({"TYPE", key});
      EXPECT_TRUE(type.ok()) << key;
      if (!type.ok()) continue;
      RedisCommand read;
      if (type->str == "string") {
        read = {"GET", key};
      } else if (type->str == "hash") {
        read = {"HGETALL", key};
      } else if (type->str == "zset") {
        read = {"ZRANGE", key, "0", "-1", "WITHSCORES"};
      } else if (type->str == "set") {
        read = {"SMEMBERS", key};
      } else if (type->str == "list") {
        read = {"LRANGE", key, "0", "-1"};
      } else if (type->str == "stream") {
        read = {"XRANGE", key, "-", "+"};
      } else {
        ADD_FAILURE() << key << " is a " << type->str;
        continue;
      }
      auto value = redis_.Execute(read);
      EXPECT_TRUE(value.ok()) << key;
      if (!value.ok()) continue;
      if (type->str == "hash") {
        // In field order: a hash's own order may change when Redis rehashes it, even on a read.
        auto pairs = ReplyPairs(*value);
        std::sort(pairs.begin(), pairs.end());
        for (const auto& [field, text] : pairs) {
          absl::StrAppend(&contents[key], field, "=", text, "\n");
        }
      } else {
        AppendText(*value, contents[key]);
      }
    }
    return contents;
  }

  static void AppendText(const RedisReply& reply, std::string& text) {
    absl::StrAppend(&text, reply.str, "\n");
    for (const RedisReply& element : reply.elements) AppendText(element, text);
  }

  // "key: what" for each key whose name or value holds one of `names`.
  static std::vector<std::string> Mentions(const std::map<std::string, std::string>& contents,
                                           const std::vector<std::string>& names) {
    std::vector<std::string> found;
    for (const auto& [key, value] : contents) {
      for (const std::string& name : names) {
        if (absl::StrContains(key, name)) found.push_back(absl::StrCat(key, ": its name, ", name));
        if (absl::StrContains(value, name)) found.push_back(absl::StrCat(key, ": a value, ", name));
      }
    }
    return found;
  }

  // The keys named after `person`, with their contents.
  static std::map<std::string, std::string> NamedAfter(
      const std::map<std::string, std::string>& contents, const std::string& person) {
    std::map<std::string, std::string> named;
    for (const auto& [key, value] : contents) {
      if (absl::StrContains(key, person)) named[key] = value;
    }
    return named;
  }

  // A dead letter of the alert events as their consumers (the webhooks service) leave one.
  void DeadLetter(const std::string& alert_id, const std::string& volunteer) {
    auto added = redis_.Execute({"XADD", DeadLetterStreamKey(EventStreamKey("alerts", kOrg)), "*",
                                 "source_stream", EventStreamKey("alerts", kOrg), "source_id",
                                 "1-0", "group", "webhooks", "error", "the partner did not answer",
                                 "event.type", "alert.triggered", "event.organization_id", kOrg,
                                 "event.alert_id", alert_id, "event.volunteer_id", volunteer});
    ASSERT_TRUE(added.ok() && !added->IsError()) << added.status();
  }

  // The entries of the alert streams (feed, events, dead letters) naming `person`, as they are.
  std::string EntriesNaming(const std::string& person) {
    std::string found;
    for (const std::string& stream :
         {absl::StrCat("pw:{", kOrg, "}:alerts:feed"), EventStreamKey("alerts", kOrg),
          DeadLetterStreamKey(EventStreamKey("alerts", kOrg))}) {
      auto range = redis_.Execute({"XRANGE", stream, "-", "+"});
      EXPECT_TRUE(range.ok()) << stream;
      if (!range.ok()) continue;
      for (const StreamEntry& entry : ParseStreamEntries(*range)) {
        std::string text = absl::StrCat(stream, " ", entry.id);
        bool names = false;
        for (const EventField& field : entry.fields) {
          absl::StrAppend(&text, " ", field.name, "=", field.value);
          names = names || field.value == person;
        }
        if (names) absl::StrAppend(&found, text, "\n");
      }
    }
    return found;
  }

  // The person's export through the handler, as the directory reads it.
  google::protobuf::Struct ExportOf(const std::string& person) {
    google::protobuf::Struct records;
    grpc::Status status = Export(ServiceToken(), person, &records);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return records;
  }
  static std::string Json(const google::protobuf::Struct& records) {
    std::string json;
    EXPECT_TRUE(google::protobuf::util::MessageToJsonString(records, &json).ok());
    return json;
  }
  // Whether two exports hold the same records (a JSON text's order of keys may differ).
  static bool Same(const google::protobuf::Struct& a, const google::protobuf::Struct& b) {
    return google::protobuf::util::MessageDifferencer::Equals(a, b);
  }

  bool DataKeyExists(const std::string& volunteer) {
    return redis_.Execute({"EXISTS", vault_.DataKeyKey(kOrg, volunteer)})->integer == 1;
  }

  PersonRecords Records(const std::string& person) {
    auto records = service_.ExportPerson(As(CallerRole::kService, "directory"), person);
    EXPECT_TRUE(records.ok()) << records.status();
    return records.ok() ? *std::move(records) : PersonRecords{};
  }
};

TEST_F(ErasePersonTest, ErasingAVolunteerLeavesNothingAboutThemAndOthersRecordsAsTheyWere) {
  ASSERT_NO_FATAL_FAILURE(RaiseAlertsForVeraAndViktor());
  ASSERT_TRUE(service_
                  .ResolveAlert(As(CallerRole::kSupervisor, kSasha), viktor_drop_, Outcome::kTalked,
                                kViktorNote)
                  .ok());
  // Both quiet for three weeks: each gets checkins_missed, marked processed under a name that
  // holds their id.
  clock_.Advance(absl::Hours(24 * 22));
  ASSERT_TRUE(engine_.SweepMissedCheckins().ok());
  ASSERT_NO_FATAL_FAILURE(DeadLetter(vera_drop_, kVera));
  ASSERT_NO_FATAL_FAILURE(DeadLetter(viktor_drop_, kViktor));

  PersonRecords vera = Records(kVera);
  ASSERT_EQ(vera.alerts.size(), 3u);  // the WHO-5 drop, the incident, the missed check-ins
  ASSERT_EQ(vera.silences.size(), 1u);
  ASSERT_EQ(vera.risk_history.size(), 3u);
  std::vector<std::string> about_vera = {kVera, kNote, vera.silences[0].reason,
                                         vera.silences[0].id};
  for (const Alert& alert : vera.alerts) about_vera.push_back(alert.id);
  for (const CheckinEvent& checkin : vera.risk_history) about_vera.push_back(checkin.event_id);
  const auto before = Contents();
  ASSERT_FALSE(Mentions(before, about_vera).empty());  // the workload did leave them
  ASSERT_TRUE(DataKeyExists(kVera));
  ASSERT_TRUE(DataKeyExists(kViktor));
  const google::protobuf::Struct viktor_export = ExportOf(kViktor);
  ASSERT_THAT(Json(viktor_export), HasSubstr(kViktorNote));  // his note opens
  ASSERT_THAT(Json(viktor_export), HasSubstr(viktor_drop_));
  const std::string viktor_entries = EntriesNaming(kViktor);
  ASSERT_THAT(viktor_entries, HasSubstr("event.volunteer_id"));  // his dead letter
  const auto viktor_keys = NamedAfter(before, kViktor);
  ASSERT_FALSE(viktor_keys.empty());

  ASSERT_TRUE(service_.ErasePerson(kOrg, kVera).ok());

  const auto erased = Contents();
  EXPECT_THAT(Mentions(erased, about_vera), ::testing::IsEmpty());
  EXPECT_FALSE(DataKeyExists(kVera));
  PersonRecords left = Records(kVera);
  EXPECT_TRUE(left.alerts.empty());
  EXPECT_TRUE(left.risk_history.empty());
  EXPECT_TRUE(left.silences.empty());
  EXPECT_FALSE(left.last_checkin.has_value());
  // Viktor's records, his note, his events and his keys are as they were.
  EXPECT_TRUE(DataKeyExists(kViktor));
  EXPECT_TRUE(Same(ExportOf(kViktor), viktor_export)) << Json(ExportOf(kViktor));
  EXPECT_EQ(EntriesNaming(kViktor), viktor_entries);
  EXPECT_EQ(NamedAfter(erased, kViktor), viktor_keys);

  // Again (the directory announces an unfinished erasure again), and for someone unknown.
  ASSERT_TRUE(service_.ErasePerson(kOrg, kVera).ok());
  EXPECT_EQ(Contents(), erased);
  ASSERT_TRUE(service_.ErasePerson(kOrg, "p000000000000000000ff").ok());
  EXPECT_EQ(Contents(), erased);
}

TEST_F(ErasePersonTest, ErasingASupervisorKeepsTheAlertsTheyHandledWithoutTheirId) {
  // Sam resolved Vera's WHO-5 drop and set her silence.
  ASSERT_NO_FATAL_FAILURE(RaiseAlertsForVeraAndViktor());
  ASSERT_TRUE(service_.AcknowledgeAlert(As(CallerRole::kSupervisor, kSam), vera_incident_).ok());
  ASSERT_TRUE(service_
                  .ResolveAlert(As(CallerRole::kSupervisor, kSasha), viktor_drop_, Outcome::kTalked,
                                kViktorNote)
                  .ok());
  ASSERT_FALSE(Mentions(Contents(), {kSam}).empty());
  const google::protobuf::Struct viktor_export = ExportOf(kViktor);

  ASSERT_TRUE(service_.ErasePerson(kOrg, kSam).ok());

  const auto erased = Contents();
  EXPECT_THAT(Mentions(erased, {kSam}), ::testing::IsEmpty());
  // Vera's alerts and silence are hers: they stay, whole but for Sam's id.
  std::map<std::string, Alert> alerts;
  PersonRecords vera = Records(kVera);
  for (const Alert& alert : vera.alerts) alerts[alert.id] = alert;
  ASSERT_EQ(alerts.size(), 2u);
  const Alert& drop = alerts.at(vera_drop_);
  EXPECT_EQ(drop.state, AlertState::kResolved);
  EXPECT_EQ(drop.outcome, Outcome::kTalked);
  EXPECT_EQ(drop.resolved_by, "");
  EXPECT_EQ(drop.resolution_note, kNote);  // still sealed under Vera's key, which stays
  const Alert& incident = alerts.at(vera_incident_);
  EXPECT_EQ(incident.state, AlertState::kAcknowledged);
  EXPECT_EQ(incident.acknowledged_by, "");
  EXPECT_NE(incident.acknowledge_time, absl::InfinitePast());
  ASSERT_EQ(vera.silences.size(), 1u);
  EXPECT_EQ(vera.silences[0].created_by, "");
  EXPECT_EQ(vera.silences[0].reason, "On leave this week");
  EXPECT_EQ(vera.risk_history.size(), 3u);
  EXPECT_TRUE(DataKeyExists(kVera));
  // Sasha's handling of Viktor's alert is untouched.
  EXPECT_TRUE(Same(ExportOf(kViktor), viktor_export)) << Json(ExportOf(kViktor));
  EXPECT_THAT(Json(viktor_export), HasSubstr(kSasha));

  ASSERT_TRUE(service_.ErasePerson(kOrg, kSam).ok());
  EXPECT_EQ(Contents(), erased);
}

// More alerts and stream entries than an erasure reads or deletes at a time.
TEST_F(ErasePersonTest, ErasesEveryAlertAndEntryNotOneChunk) {
  size_t viktors = 0;
  for (int i = 0; i < 1100; ++i) {
    std::string alert = Raise(kVera, SupportRequestedHit("request", false), absl::StrCat("s", i));
    ASSERT_TRUE(store_.Resolve(kOrg, alert, kSam, Outcome::kTalked, "", clock_.Now()).ok());
    if (i % 100 == 0) {
      alert = Raise(kViktor, SupportRequestedHit("request", false), absl::StrCat("v", i));
      ASSERT_TRUE(store_.Resolve(kOrg, alert, kSasha, Outcome::kTalked, "", clock_.Now()).ok());
      ++viktors;
    }
  }
  const std::string viktor_entries = EntriesNaming(kViktor);

  ASSERT_TRUE(service_.ErasePerson(kOrg, kSam).ok());
  EXPECT_THAT(Mentions(Contents(), {kSam}), ::testing::IsEmpty());
  ASSERT_TRUE(service_.ErasePerson(kOrg, kVera).ok());

  EXPECT_TRUE(Records(kVera).alerts.empty());
  EXPECT_EQ(EntriesNaming(kVera), "");
  EXPECT_THAT(Mentions(Contents(), {kVera}), ::testing::IsEmpty());
  EXPECT_EQ(Records(kViktor).alerts.size(), viktors);
  EXPECT_EQ(EntriesNaming(kViktor), viktor_entries);
  auto listed = redis_.Execute({"ZCARD", absl::StrCat("pw:{", kOrg, "}:alerts:alerts")});
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->integer, static_cast<long long>(viktors));
}

TEST_F(ErasePersonTest, AMalformedIdIsRefusedNamingIt) {
  for (const std::string& person_id :
       {std::string(""), std::string("p*"), absl::StrCat(kVera, ":alerts"), std::string(kOrg)}) {
    absl::Status status = service_.ErasePerson(kOrg, person_id);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << person_id;
    EXPECT_THAT(status.message(), HasSubstr("person_id")) << person_id;
  }
  absl::Status status = service_.ErasePerson("o*", kVera);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("organization_id"));
}

TEST(AlertPolicyTest, MissedCheckinsNeedAtLeastTheSweepsWeek) {
  // The sweep only looks at volunteers quiet for a week: a shorter gap would never be alerted.
  google::protobuf::FieldMask mask;
  mask.add_paths("checkins_missed_after");
  v1::AlertPolicy proto;
  proto.mutable_checkins_missed_after()->set_seconds(3 * 24 * 3600);
  auto refused = ApplyAlertPolicy({}, proto, mask);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), ::testing::HasSubstr("checkins_missed_after"));
  proto.mutable_checkins_missed_after()->set_seconds(7 * 24 * 3600);
  auto week = ApplyAlertPolicy({}, proto, mask);
  ASSERT_TRUE(week.ok()) << week.status();
  EXPECT_EQ(week->checkins_missed_after, kMinCheckinsMissedAfter);
}

TEST(AlertPolicyTest, AStoredPolicyReadsBackAsStoredEvenWhereTodaysRulesWouldRefuseIt) {
  peerwell::testing::RedisServer server;
  RedisClient redis{RedisOptions{server.address()}};
  RedisAlertStore store(redis);
  AlertPolicy policy;
  policy.checkins_missed_after = absl::Hours(24 * 3);  // allowed when it was set, not today
  policy.who5_drop_points = 15;
  policy.cbi_high_enabled = false;
  ASSERT_TRUE(store.SetPolicy(kOrg, policy).ok());
  auto stored = store.GetPolicy(kOrg);
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->checkins_missed_after, absl::Hours(24 * 3));
  EXPECT_EQ(stored->who5_drop_points, 15);
  EXPECT_FALSE(stored->cbi_high_enabled);
  EXPECT_EQ(stored->baseline_window, AlertPolicy{}.baseline_window);
}

}  // namespace
}  // namespace peerwell::alerts
