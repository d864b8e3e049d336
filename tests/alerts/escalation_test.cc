// Escalation of unacknowledged alerts: on time, up to the policy's limit, exactly once however
// many replicas sweep at the same moment.
#include <thread>

#include "gtest/gtest.h"
#include "services/alerts/redis_alert_store.h"
#include "services/alerts/risk_engine.h"
#include "services/common/events.h"
#include "services/common/organization_registry.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/redis_server.h"

namespace peerwell::alerts {
namespace {

constexpr char kOrg[] = "o00000000000000000001";

class EscalationTest : public ::testing::Test {
 protected:
  // Registered as the directory does: the sweeps go through every registered organisation.
  void SetUp() override { ASSERT_TRUE(RegisterOrganization(redis_, kOrg, clock_.Now()).ok()); }
  std::string TriggerCritical(const std::string& volunteer) {
    auto outcome = store_.Trigger(kOrg, volunteer, CriticalIncidentHit("aggression", clock_.Now()),
                                  "event-" + volunteer, clock_.Now(),
                                  clock_.Now() + absl::Minutes(60), false, false);
    EXPECT_TRUE(outcome.ok());
    return outcome->alert_id;
  }
  int Level(const std::string& alert_id) {
    return (*store_.GetAlert(kOrg, alert_id))->alert.escalation_level;
  }
  // The alert.escalated entries of the organisation's alert events (which also carries the alerts'
  // triggering).
  std::vector<StreamEntry> Escalations() {
    std::vector<StreamEntry> escalations;
    for (StreamEntry& entry : ParseStreamEntries(
             *redis_.Execute({"XRANGE", EventStreamKey("alerts", kOrg), "-", "+"}))) {
      if (entry.Get("type") == "alert.escalated") escalations.push_back(std::move(entry));
    }
    return escalations;
  }

  peerwell::testing::RedisServer server_;
  RedisClient redis_{RedisOptions{server_.address()}};
  peerwell::testing::FakeClock clock_;
  RedisAlertStore store_{redis_};
};

TEST_F(EscalationTest, EscalatesWhenTheDeadlinePassesAndRepeatsUpToTheLimit) {
  std::string alert = TriggerCritical("p00000000000000000001");
  Escalator escalator(store_, clock_);
  clock_.Advance(absl::Minutes(59));
  EXPECT_EQ(*escalator.EscalateDue(), 0);
  clock_.Advance(absl::Minutes(1));
  EXPECT_EQ(*escalator.EscalateDue(), 1);
  EXPECT_EQ(Level(alert), 1);
  EXPECT_EQ(*escalator.EscalateDue(), 0);  // the next deadline is an hour away
  for (int i = 0; i < 5; ++i) {
    clock_.Advance(absl::Minutes(60));
    (void)escalator.EscalateDue();
  }
  EXPECT_EQ(Level(alert), 3);  // the default policy's max_escalations
  auto escalations = Escalations();
  ASSERT_EQ(escalations.size(), 3u);
  EXPECT_EQ(escalations[2].Get("type"), "alert.escalated");
  EXPECT_EQ(escalations[2].Get("escalation_level"), "3");
  EXPECT_EQ(escalations[2].Get("organization_id"), kOrg);
}

TEST_F(EscalationTest, EachAlertOfASweepGetsTheNextDeadlineOfItsOwnPriority) {
  std::string critical = TriggerCritical("p00000000000000000001");
  RuleHit medium{"who5_drop", Priority::kMedium, {{"who5_drop", "fell", 20, 10, 20}}};
  auto raised = store_.Trigger(kOrg, "p00000000000000000002", medium, "event-medium", clock_.Now(),
                               clock_.Now() + absl::Minutes(60), false, false);
  ASSERT_TRUE(raised.ok()) << raised.status();
  clock_.Advance(absl::Minutes(60));
  Escalator escalator(store_, clock_);
  EXPECT_EQ(*escalator.EscalateDue(), 2);  // one sweep, both
  // The default policy: an hour for a critical alert, 72 hours for a medium one.
  EXPECT_EQ((*store_.GetAlert(kOrg, critical))->alert.ack_deadline_time,
            clock_.Now() + absl::Minutes(60));
  EXPECT_EQ((*store_.GetAlert(kOrg, raised->alert_id))->alert.ack_deadline_time,
            clock_.Now() + absl::Hours(72));
}

TEST_F(EscalationTest, OverdueCountsDeadlinesPassedLongerAgoThanTheGraceUntilEscalated) {
  TriggerCritical("p00000000000000000001");
  Escalator escalator(store_, clock_);
  EXPECT_EQ(*escalator.Overdue(absl::Minutes(1)), 0);
  clock_.Advance(absl::Minutes(60) + absl::Seconds(30));  // due, but within the grace
  EXPECT_EQ(*escalator.Overdue(absl::Minutes(1)), 0);
  clock_.Advance(absl::Seconds(31));
  EXPECT_EQ(*escalator.Overdue(absl::Minutes(1)), 1);
  EXPECT_EQ(*escalator.EscalateDue(), 1);
  EXPECT_EQ(*escalator.Overdue(absl::Minutes(1)), 0);  // the next deadline is an hour away
}

TEST_F(EscalationTest, AnAcknowledgedAlertDoesNotEscalate) {
  std::string alert = TriggerCritical("p00000000000000000001");
  ASSERT_TRUE(
      redis_.Execute({"HSET", absl::StrCat("pw:{", kOrg, "}:alerts:alert:", alert), "state", "2"})
          .ok());
  clock_.Advance(absl::Hours(2));
  EXPECT_EQ(*Escalator(store_, clock_).EscalateDue(), 0);
  EXPECT_EQ(Level(alert), 0);
  EXPECT_EQ(redis_.Execute({"ZCARD", absl::StrCat("pw:{", kOrg, "}:alerts:deadlines")})->integer,
            0);
}

TEST_F(EscalationTest, ReplicasSweepingTogetherEscalateEachDeadlineExactlyOnce) {
  std::vector<std::string> alerts;
  for (int i = 0; i < 40; ++i) alerts.push_back(TriggerCritical(absl::StrCat("p", 1000 + i)));
  clock_.Advance(absl::Minutes(61));
  // Four replicas, each with its own connections, sweep at the same moment.
  std::vector<std::unique_ptr<RedisClient>> clients;
  std::vector<std::unique_ptr<RedisAlertStore>> stores;
  for (int r = 0; r < 4; ++r) {
    clients.push_back(std::make_unique<RedisClient>(RedisOptions{server_.address()}));
    stores.push_back(std::make_unique<RedisAlertStore>(*clients.back()));
  }
  std::vector<int> escalated(4, 0);
  std::vector<std::thread> replicas;
  for (int r = 0; r < 4; ++r) {
    replicas.emplace_back([&, r] {
      Escalator escalator(*stores[r], clock_);
      for (int round = 0; round < 5; ++round) escalated[r] += escalator.EscalateDue().value_or(0);
    });
  }
  for (auto& replica : replicas) replica.join();
  EXPECT_EQ(escalated[0] + escalated[1] + escalated[2] + escalated[3], 40);
  for (const std::string& alert : alerts) EXPECT_EQ(Level(alert), 1) << alert;
  EXPECT_EQ(Escalations().size(), 40u);
}

}  // namespace
}  // namespace peerwell::alerts
