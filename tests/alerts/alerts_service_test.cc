// Who sees and handles alerts, against a real redis-server.
#include "services/alerts/alerts_service.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/alerts/alerts_mapping.h"
#include "services/alerts/redis_alert_store.h"
#include "services/common/audit.h"
#include "services/common/data_key_vault.h"
#include "services/common/events.h"
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
  EXPECT_EQ(redis_.Execute({"ZCARD", "pw:alerts:deadlines"})->integer, 0);
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
       ParseStreamEntries(*redis_.Execute({"XRANGE", EventStreamKey("alerts"), "-", "+"}))) {
    EXPECT_EQ(entry.Get("organization_id"), kOrg);
    EXPECT_EQ(entry.Get("volunteer_id"), kVera);
    published.push_back(entry.Get("type"));
    alert_ids.push_back(entry.Get("alert_id"));
  }
  EXPECT_THAT(published, ::testing::ElementsAre("alert.triggered", "alert.acknowledged",
                                                "alert.resolved", "alert.triggered"));
  EXPECT_THAT(alert_ids, ::testing::ElementsAre(alert, alert, alert, again));
}

// Webhooks and other services follow pw:events:alerts: a rule firing again while its alert is
// open is one alert.updated with the new count; the same event handled twice publishes nothing.
TEST_F(AlertServiceTest, ARepeatedRuleIsAnUpdateOnTheEventStream) {
  std::string alert = Raise(kVera, Who5Drop(), "e1");
  EXPECT_EQ(Raise(kVera, Who5Drop(), "e2"), alert);
  Raise(kVera, Who5Drop(), "e2");
  std::vector<std::pair<std::string, std::string>> published;
  for (const auto& entry :
       ParseStreamEntries(*redis_.Execute({"XRANGE", EventStreamKey("alerts"), "-", "+"}))) {
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
  ASSERT_TRUE(store_
                  .Escalate(kOrg, escalated, clock_.Now() + absl::Hours(100), 3,
                            clock_.Now() + absl::Hours(101))
                  .value());
  auto coordinator = service_.ListAlerts(As(CallerRole::kCoordinator, kGrace), {}, 50, "");
  ASSERT_EQ(coordinator->alerts.size(), 2u);
  EXPECT_EQ(coordinator->alerts[0].id, escalated);
  EXPECT_EQ(coordinator->alerts[0].escalation_level, 1);
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
