// The risk engine against a real redis-server: events in, alerts (and their feed) out.
#include "services/alerts/risk_engine.h"

#include <algorithm>
#include <string>
#include <tuple>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/alerts/redis_alert_store.h"
#include "services/common/events.h"
#include "services/common/organization_registry.h"
#include "services/common/redis_values.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/redis_server.h"

namespace peerwell::alerts {
namespace {

constexpr char kOrg[] = "o00000000000000000001";
constexpr char kVera[] = "p00000000000000000001";

// The directory's answers for this test: who consented to risk monitoring.
class FakeVolunteers final : public VolunteerDirectory {
 public:
  absl::StatusOr<VolunteerFacts> GetVolunteer(const std::string&,
                                              const std::string& volunteer_id) override {
    auto it = facts.find(volunteer_id);
    if (it == facts.end()) return absl::NotFoundError("no such volunteer");
    return it->second;
  }
  std::map<std::string, VolunteerFacts> facts;
};

class RiskEngineTest : public ::testing::Test {
 protected:
  // Registered as the directory does: the sweeps go through every registered organisation.
  void SetUp() override { ASSERT_TRUE(RegisterOrganization(redis_, kOrg, clock_.Now()).ok()); }
  RiskEngineTest() { volunteers_.facts[kVera] = {true, true, 20, {}, false}; }

  // A check-in of Vera's, `ago` before now.
  CheckinEvent Checkin(const std::string& event_id, const std::string& instrument,
                       absl::Duration ago) {
    CheckinEvent event;
    event.event_id = event_id;
    event.organization_id = kOrg;
    event.volunteer_id = kVera;
    event.instrument_id = instrument;
    event.submit_time = clock_.Now() - ago;
    return event;
  }

  CheckinEvent Cbi(const std::string& event_id, double volunteering, absl::Duration ago) {
    CheckinEvent event = Checkin(event_id, "cbi", ago);
    event.scores = {{"cbi_volunteering", volunteering}};
    return event;
  }

  CheckinEvent Pulse(const std::string& event_id, double hours, absl::Duration ago) {
    CheckinEvent event = Checkin(event_id, "pulse", ago);
    event.answers = {{"energy", 3}, {"stayed_with_me", 0}, {"want_to_talk", 0}};
    event.hours = hours;
    return event;
  }

  std::vector<Alert> Open() { return *store_.OpenAlerts(kOrg, kVera); }

  std::vector<std::string> FeedTypes() {
    auto feed = redis_.Execute({"XRANGE", absl::StrCat("pw:{", kOrg, "}:alerts:feed"), "-", "+"});
    std::vector<std::string> types;
    for (const auto& entry : ParseStreamEntries(*feed)) types.push_back(entry.Get("event_type"));
    return types;
  }

  peerwell::testing::RedisServer server_;
  RedisClient redis_{RedisOptions{server_.address()}};
  peerwell::testing::FakeClock clock_;
  FakeVolunteers volunteers_;
  RedisAlertStore store_{redis_};
  RiskEngine engine_{store_, volunteers_, clock_};
};

TEST_F(RiskEngineTest, RisingCbiMakesOneAlertThatBecomesHighOnTheSecondRise) {
  ASSERT_TRUE(engine_.OnCheckin(Cbi("1-0", 40, absl::Hours(24 * 60))).ok());
  EXPECT_TRUE(Open().empty());
  ASSERT_TRUE(engine_.OnCheckin(Cbi("2-0", 55, absl::Hours(24 * 30))).ok());
  auto open = Open();
  ASSERT_EQ(open.size(), 2u);  // cbi_rise, and cbi_high at 55
  const Alert* rise = open[0].rule_id == "cbi_rise" ? &open[0] : &open[1];
  EXPECT_EQ(rise->priority, Priority::kMedium);
  EXPECT_EQ(rise->state, AlertState::kTriggered);
  EXPECT_EQ(rise->dedup_key, absl::StrCat(kVera, "/cbi_rise"));
  EXPECT_EQ(rise->ack_deadline_time, clock_.Now() + absl::Hours(72));
  ASSERT_EQ(rise->factors.size(), 1u);
  EXPECT_EQ(rise->factors[0].value, 15);

  clock_.Advance(absl::Hours(1));
  ASSERT_TRUE(engine_.OnCheckin(Cbi("3-0", 75, absl::ZeroDuration())).ok());
  open = Open();
  ASSERT_EQ(open.size(), 2u);  // still one alert per rule
  rise = open[0].rule_id == "cbi_rise" ? &open[0] : &open[1];
  EXPECT_EQ(rise->priority, Priority::kHigh);
  EXPECT_EQ(rise->occurrence_count, 2);
  // The higher priority brought the deadline forward to 24 hours from the second rise.
  EXPECT_EQ(rise->ack_deadline_time, clock_.Now() + absl::Hours(24));
  auto due = redis_.Execute({"ZSCORE", absl::StrCat("pw:{", kOrg, "}:alerts:deadlines"),
                             absl::StrCat("pw:{", kOrg, "}:alerts:alert:", rise->id)});
  EXPECT_EQ(due->str, RedisMicros(rise->ack_deadline_time));
  EXPECT_THAT(FeedTypes(), ::testing::ElementsAre("1", "1", "2", "2"));
  // The update's event tells the new priority and count.
  auto events = redis_.Execute({"XRANGE", EventStreamKey("alerts", kOrg), "-", "+"});
  std::vector<std::tuple<std::string, std::string, std::string>> updates;
  for (const auto& entry : ParseStreamEntries(*events)) {
    if (entry.Get("type") == "alert.updated" && entry.Get("rule_id") == "cbi_rise") {
      updates.emplace_back(entry.Get("alert_id"), entry.Get("priority"),
                           entry.Get("occurrence_count"));
    }
  }
  EXPECT_THAT(updates, ::testing::ElementsAre(::testing::FieldsAre(
                           rise->id, absl::StrCat(static_cast<int>(Priority::kHigh)), "2")));
}

// History members carry their check-in's time, so the rules read them without scores; members
// written before they did are still judged (read again with their scores) and exported.
TEST_F(RiskEngineTest, AHistoryWrittenBeforeMembersCarriedTheirTimesIsStillJudged) {
  ASSERT_TRUE(engine_.OnCheckin(Cbi("1-0", 40, absl::Hours(24 * 60))).ok());
  ASSERT_TRUE(engine_.OnCheckin(Cbi("2-0", 55, absl::Hours(24 * 30))).ok());
  const std::string key = absl::StrCat("pw:{", kOrg, "}:alerts:history:", kVera);
  auto members = redis_.Execute({"ZRANGE", key, "0", "-1", "WITHSCORES"});
  ASSERT_TRUE(members.ok());
  ASSERT_EQ(members->elements.size(), 4u);
  RedisCommand old_form{"ZADD", key};
  for (size_t i = 0; i + 1 < members->elements.size(); i += 2) {
    const std::string& member = members->elements[i].str;
    ASSERT_EQ(std::count(member.begin(), member.end(), '\x1f'), 5) << member;
    old_form.push_back(members->elements[i + 1].str);
    old_form.push_back(member.substr(0, member.rfind('\x1f')));  // without its time
  }
  ASSERT_TRUE(redis_.Transaction({{"DEL", key}, old_form}).ok());

  clock_.Advance(absl::Hours(1));
  ASSERT_TRUE(engine_.OnCheckin(Cbi("3-0", 75, absl::ZeroDuration())).ok());
  auto open = Open();
  ASSERT_EQ(open.size(), 2u);
  const Alert* rise = open[0].rule_id == "cbi_rise" ? &open[0] : &open[1];
  EXPECT_EQ(rise->priority, Priority::kHigh);  // the second rise in a row: both old points read
  EXPECT_EQ(rise->occurrence_count, 2);
  auto history = store_.HistoryCheckins(kOrg, kVera);
  ASSERT_TRUE(history.ok()) << history.status();
  ASSERT_EQ(history->size(), 3u);
  EXPECT_EQ((*history)[0].submit_time, clock_.Now() - absl::Hours(1) - absl::Hours(24 * 60));
  EXPECT_EQ((*history)[2].submit_time, clock_.Now());
}

TEST_F(RiskEngineTest, WithoutRiskMonitoringConsentCheckinsAreNeitherEvaluatedNorKept) {
  volunteers_.facts[kVera].risk_monitoring = false;
  for (auto [id, value, days] :
       {std::tuple{"1-0", 40.0, 60}, {"2-0", 55.0, 30}, {"3-0", 75.0, 0}}) {
    ASSERT_TRUE(engine_.OnCheckin(Cbi(id, value, absl::Hours(24 * days))).ok());
  }
  EXPECT_TRUE(Open().empty());
  EXPECT_EQ(redis_.Execute({"DBSIZE"})->integer, 1);  // the registry of organisations alone
}

TEST_F(RiskEngineTest, ARedeliveredEventChangesNothing) {
  ASSERT_TRUE(engine_.OnCheckin(Cbi("1-0", 40, absl::Hours(24 * 30))).ok());
  CheckinEvent rise = Cbi("2-0", 60, absl::ZeroDuration());
  ASSERT_TRUE(engine_.OnCheckin(rise).ok());
  ASSERT_TRUE(engine_.OnCheckin(rise).ok());  // at-least-once delivery
  for (const Alert& alert : Open()) EXPECT_EQ(alert.occurrence_count, 1) << alert.rule_id;
  EXPECT_EQ(store_.GetHistory(kOrg, kVera)->scores["cbi_volunteering"].size(), 2u);
}

// Replicas share the events: a check-in left pending by a replica that died is redelivered
// after a later one was judged, without it, by another replica. The later one is judged again
// with it, and gets the alert it missed; what it had raised is not raised twice.
TEST_F(RiskEngineTest, ACheckinThatComesLateHasTheLaterOnesJudgedAgain) {
  ASSERT_TRUE(engine_.OnCheckin(Cbi("2-0", 60, absl::Hours(1))).ok());  // no baseline yet
  EXPECT_TRUE(Open().empty() || Open().front().rule_id == "cbi_high");
  ASSERT_TRUE(engine_.OnCheckin(Cbi("1-0", 40, absl::Hours(2))).ok());  // came late
  auto open = Open();
  auto rise = std::find_if(open.begin(), open.end(),
                           [](const Alert& alert) { return alert.rule_id == "cbi_rise"; });
  ASSERT_NE(rise, open.end());
  EXPECT_EQ(rise->occurrence_count, 1);
  ASSERT_EQ(rise->factors.size(), 1u);
  EXPECT_EQ(rise->factors[0].value, 20);
  for (const Alert& alert : open) EXPECT_EQ(alert.occurrence_count, 1) << alert.rule_id;
  // Redelivered again: nothing changes.
  ASSERT_TRUE(engine_.OnCheckin(Cbi("1-0", 40, absl::Hours(2))).ok());
  for (const Alert& alert : Open()) EXPECT_EQ(alert.occurrence_count, 1) << alert.rule_id;
  EXPECT_EQ(store_.GetHistory(kOrg, kVera)->scores["cbi_volunteering"].size(), 2u);
}

// What makes a check-in late is that it was published before the later ones, not how old it
// is: an imported series (months of paper records, in order) whose first check-in is
// redelivered after the rest were judged still has them judged again with it.
TEST_F(RiskEngineTest, ALateCheckinOfMonthsAgoHasTheLaterOnesJudgedAgain) {
  ASSERT_TRUE(engine_.OnCheckin(Cbi("2-0", 50, absl::Hours(24 * 30))).ok());  // no baseline yet
  ASSERT_TRUE(engine_.OnCheckin(Cbi("3-0", 75, absl::ZeroDuration())).ok());  // rose 25 on 2-0
  ASSERT_TRUE(engine_.OnCheckin(Cbi("1-0", 25, absl::Hours(24 * 60))).ok());  // came late
  auto open = Open();
  auto rise = std::find_if(open.begin(), open.end(),
                           [](const Alert& alert) { return alert.rule_id == "cbi_rise"; });
  ASSERT_NE(rise, open.end());
  // 2-0 rose 25 above 1-0 and now counts; 3-0's own occurrence is not counted again.
  EXPECT_EQ(rise->occurrence_count, 2);
}

// Of the check-ins after a late one, those published after it are judged again, however many
// published before them came in between: here a late import whose next record sits behind more
// live check-ins than are judged again at once.
TEST_F(RiskEngineTest, ALateImportedCheckinHasItsSuccessorJudgedAgainBehindManyLiveOnes) {
  for (int i = 0; i < 101; ++i) {  // live, published first, at a steady level
    ASSERT_TRUE(
        engine_.OnCheckin(Cbi(absl::StrCat(100 + i, "-0"), 40, absl::Hours(24 * 20 - i))).ok());
  }
  ASSERT_TRUE(engine_.OnCheckin(Cbi("501-0", 40, absl::Hours(24 * 95))).ok());  // imported
  EXPECT_TRUE(Open().empty());
  ASSERT_TRUE(engine_.OnCheckin(Cbi("500-0", 20, absl::Hours(24 * 100))).ok());  // came late
  auto open = Open();
  EXPECT_TRUE(std::any_of(open.begin(), open.end(),
                          [](const Alert& alert) { return alert.rule_id == "cbi_rise"; }));
}

// Old check-ins an organisation imports (paper records of months ago, published after the
// recent ones) are history, not late: they judge no later check-in again, so they raise nothing
// new about recent ones.
TEST_F(RiskEngineTest, AnImportedOldCheckinJudgesNothingAgain) {
  ASSERT_TRUE(engine_.OnCheckin(Cbi("1-0", 45, absl::Hours(2))).ok());         // no baseline yet
  ASSERT_TRUE(engine_.OnCheckin(Cbi("2-0", 25, absl::Hours(24 * 100))).ok());  // imported
  EXPECT_TRUE(Open().empty());
}

// A late check-in closes nothing a later one still has open: what is cleared is the newest
// check-in's to say.
TEST_F(RiskEngineTest, ALateCheckinDoesNotCloseWhatALaterOneOpened) {
  // Commitment 20 hours a month: 26 hours is over 125 %.
  ASSERT_TRUE(engine_.OnCheckin(Pulse("2-0", 26, absl::Hours(1))).ok());
  ASSERT_EQ(Open().size(), 1u);
  ASSERT_TRUE(engine_.OnCheckin(Pulse("1-0", 1, absl::Hours(2))).ok());  // came late
  ASSERT_EQ(Open().size(), 1u);
  EXPECT_EQ(Open()[0].rule_id, "hours_over_commitment");
}

// An erased volunteer's events may still be read afterwards (pending, redelivered, or published
// just before the erasure): the directory no longer knows them, and none of their events may
// raise an alert about them or keep anything of theirs again.
TEST_F(RiskEngineTest, EventsAboutAVolunteerTheDirectoryNoLongerKnowsLeaveNothing) {
  volunteers_.facts.erase(kVera);
  ASSERT_TRUE(engine_.OnCheckin(Cbi("1-0", 40, absl::Hours(24 * 30))).ok());
  ASSERT_TRUE(engine_.OnCheckin(Cbi("2-0", 80, absl::ZeroDuration())).ok());
  ASSERT_TRUE(
      engine_.OnIncident({"3-0", kOrg, kVera, "suicide disclosure", clock_.Now(), clock_.Now()})
          .ok());
  ASSERT_TRUE(engine_.OnSupport({"4-0", kOrg, kVera, true, "request", clock_.Now()}).ok());
  ASSERT_TRUE(engine_.OnSupervisionOverdue({"5-0", kOrg, kVera, 30}).ok());
  ASSERT_TRUE(engine_.OnSupervised(kOrg, kVera).ok());
  EXPECT_EQ(redis_.Execute({"DBSIZE"})->integer, 1);  // the registry of organisations alone
}

TEST_F(RiskEngineTest, CriticalIncidentInhibitsMediumAlertsAndIsNeverSilenced) {
  // A silence covers Vera for a week.
  ASSERT_TRUE(
      redis_
          .Execute({"ZADD", absl::StrCat("pw:{", kOrg, "}:alerts:volunteer:", kVera, ":silences"),
                    absl::StrCat(absl::ToUnixMicros(clock_.Now() + absl::Hours(24 * 7))), "s1"})
          .ok());
  IncidentEvent incident{"9-0", kOrg, kVera, "aggression", clock_.Now(), clock_.Now()};
  ASSERT_TRUE(engine_.OnIncident(incident).ok());
  ASSERT_TRUE(engine_.OnCheckin(Cbi("10-0", 80, absl::ZeroDuration())).ok());
  auto open = Open();
  ASSERT_EQ(open.size(), 2u);
  for (const Alert& alert : open) {
    if (alert.rule_id == "critical_incident") {
      EXPECT_EQ(alert.priority, Priority::kCritical);
      EXPECT_FALSE(alert.silenced);
      EXPECT_EQ(alert.ack_deadline_time, clock_.Now() + absl::Minutes(60));
    } else {
      EXPECT_EQ(alert.rule_id, "cbi_high");
      EXPECT_TRUE(alert.silenced);
      EXPECT_TRUE(alert.inhibited);
    }
  }
  // Only the critical alert waits for an acknowledgement deadline.
  auto deadlines =
      redis_.Execute({"ZRANGE", absl::StrCat("pw:{", kOrg, "}:alerts:deadlines"), "0", "-1"});
  EXPECT_EQ(deadlines->elements.size(), 1u);
}

TEST_F(RiskEngineTest, AnInhibitedAlertGetsNoDeadline) {
  IncidentEvent incident{"9-0", kOrg, kVera, "aggression", clock_.Now(), clock_.Now()};
  ASSERT_TRUE(engine_.OnIncident(incident).ok());
  ASSERT_TRUE(engine_.OnCheckin(Cbi("10-0", 80, absl::ZeroDuration())).ok());
  ASSERT_EQ(Open().size(), 2u);
  // Not silenced, but inhibited by the open critical incident: only the incident is chased.
  auto deadlines =
      redis_.Execute({"ZRANGE", absl::StrCat("pw:{", kOrg, "}:alerts:deadlines"), "0", "-1"});
  ASSERT_EQ(deadlines->elements.size(), 1u);
  for (const Alert& alert : Open()) {
    if (alert.rule_id == "cbi_high") {
      EXPECT_TRUE(alert.inhibited);
    }
    if (alert.rule_id == "critical_incident") {
      EXPECT_THAT(deadlines->elements[0].str, ::testing::EndsWith(alert.id));
    }
  }
}

TEST_F(RiskEngineTest, SupportRequestsAlwaysCountAndRepeatAsOccurrences) {
  volunteers_.facts[kVera].risk_monitoring = false;  // the volunteer asked: consent not needed
  SupportEvent first{"20-0", kOrg, kVera, false, "pulse", clock_.Now()};
  SupportEvent second{"21-0", kOrg, kVera, true, "request", clock_.Now()};
  ASSERT_TRUE(engine_.OnSupport(first).ok());
  ASSERT_TRUE(engine_.OnSupport(second).ok());
  auto open = Open();
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].rule_id, "support_requested");
  EXPECT_EQ(open[0].priority, Priority::kHigh);
  EXPECT_EQ(open[0].occurrence_count, 2);
  EXPECT_THAT(open[0].factors[0].description, ::testing::HasSubstr("struggling"));
}

TEST_F(RiskEngineTest, HoursOverCommitmentResolvesItselfWhenTheHoursComeDown) {
  // Commitment 20 hours a month: 26 hours in a week is over 125 %.
  ASSERT_TRUE(engine_.OnCheckin(Pulse("1-0", 26, absl::Hours(24 * 30))).ok());
  ASSERT_EQ(Open().size(), 1u);
  EXPECT_EQ(Open()[0].rule_id, "hours_over_commitment");
  std::string alert_id = Open()[0].id;
  // A month later the heavy week is out of the 28-day window.
  ASSERT_TRUE(engine_.OnCheckin(Pulse("2-0", 2, absl::ZeroDuration())).ok());
  EXPECT_TRUE(Open().empty());
  auto resolved = store_.GetAlert(kOrg, alert_id);
  EXPECT_EQ((*resolved)->alert.state, AlertState::kResolved);
  EXPECT_EQ((*resolved)->alert.outcome, Outcome::kNoActionNeeded);
  EXPECT_EQ((*resolved)->alert.resolved_by, "peerwell");
}

TEST_F(RiskEngineTest, MissedCheckinsAreFoundBySweepAndCloseWithTheNextCheckin) {
  ASSERT_TRUE(engine_.OnCheckin(Cbi("1-0", 20, absl::ZeroDuration())).ok());
  clock_.Advance(absl::Hours(24 * 20));
  ASSERT_TRUE(engine_.SweepMissedCheckins().ok());
  EXPECT_TRUE(Open().empty());
  clock_.Advance(absl::Hours(24));
  ASSERT_TRUE(engine_.SweepMissedCheckins().ok());
  ASSERT_TRUE(engine_.SweepMissedCheckins().ok());  // the same gap: still one alert
  auto open = Open();
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].rule_id, "checkins_missed");
  EXPECT_EQ(open[0].occurrence_count, 1);
  ASSERT_TRUE(engine_.OnCheckin(Cbi("2-0", 20, absl::ZeroDuration())).ok());
  EXPECT_TRUE(Open().empty());
  // Without consent nobody is chased.
  volunteers_.facts[kVera].risk_monitoring = false;
  clock_.Advance(absl::Hours(24 * 30));
  ASSERT_TRUE(engine_.SweepMissedCheckins().ok());
  EXPECT_TRUE(Open().empty());
}

TEST_F(RiskEngineTest, VolunteersWhoLastCheckedInAtTheSameMomentEachGetTheirAlert) {
  constexpr char kViktor[] = "p00000000000000000002";
  volunteers_.facts[kViktor] = {true, true, 20, {}, false};
  CheckinEvent viktor = Cbi("1-1", 20, absl::ZeroDuration());
  viktor.volunteer_id = kViktor;
  ASSERT_TRUE(engine_.OnCheckin(Cbi("1-0", 20, absl::ZeroDuration())).ok());
  ASSERT_TRUE(engine_.OnCheckin(viktor).ok());  // the same instant, as a bulk import gives
  clock_.Advance(absl::Hours(24 * 30));
  ASSERT_TRUE(engine_.SweepMissedCheckins().ok());
  ASSERT_EQ(Open().size(), 1u);
  auto viktors = store_.OpenAlerts(kOrg, kViktor);
  ASSERT_TRUE(viktors.ok());
  ASSERT_EQ(viktors->size(), 1u);
  EXPECT_EQ((*viktors)[0].rule_id, "checkins_missed");
}

TEST_F(RiskEngineTest, SweepsGoOnPastVolunteersWhoStayQuietWithoutAnAlert) {
  // The two quietest never consented: they stay at the front of the quiet volunteers for good.
  constexpr char kQuiet1[] = "p00000000000000000011";
  constexpr char kQuiet2[] = "p00000000000000000012";
  volunteers_.facts[kQuiet1] = {false, true, 20, {}, false};
  volunteers_.facts[kQuiet2] = {false, true, 20, {}, false};
  for (const char* volunteer : {kQuiet1, kQuiet2}) {
    CheckinEvent old = Cbi(absl::StrCat("old-", volunteer), 20, absl::Hours(24 * 90));
    old.volunteer_id = volunteer;
    ASSERT_TRUE(store_.AddToHistory(old).ok());
  }
  ASSERT_TRUE(engine_.OnCheckin(Cbi("1-0", 20, absl::ZeroDuration())).ok());
  clock_.Advance(absl::Hours(24 * 30));
  auto first = engine_.SweepMissedCheckins(/*batch=*/2);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, 2);
  EXPECT_TRUE(Open().empty());
  ASSERT_TRUE(engine_.SweepMissedCheckins(/*batch=*/2).ok());  // goes on to Vera
  auto open = Open();
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].rule_id, "checkins_missed");
}

}  // namespace
}  // namespace peerwell::alerts
