// The check-in service's real events, through a consumer group, into the risk engine.
#include "gtest/gtest.h"
#include "services/alerts/event_mapping.h"
#include "services/alerts/redis_alert_store.h"
#include "services/checkin/redis_checkin_store.h"
#include "services/common/auth.h"
#include "services/common/organization_registry.h"
#include "services/supervision/redis_supervision_store.h"
#include "services/supervision/supervision_service.h"
#include "tests/checkin/stored_checkin.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/wait.h"

namespace peerwell::alerts {
namespace {

constexpr char kOrg[] = "o00000000000000000001";
constexpr char kVera[] = "p00000000000000000001";

class Volunteers final : public VolunteerDirectory {
 public:
  absl::StatusOr<VolunteerFacts> GetVolunteer(const std::string&, const std::string&) override {
    return VolunteerFacts{true, true, 20, {}, false};
  }
};

class RiskConsumerTest : public ::testing::Test {
 protected:
  // Registered as the directory does: the consumers sweep its streams, and so read the events
  // published before they started.
  void SetUp() override { ASSERT_TRUE(RegisterOrganization(redis_, kOrg, clock_.Now()).ok()); }

  void SubmitCbi(const std::string& id, double volunteering, absl::Duration ago) {
    checkin::SealedCheckin sealed;
    checkin::Checkin& c = sealed.checkin;
    c.id = id;
    c.organization_id = kOrg;
    c.volunteer_id = kVera;
    c.instrument_id = "cbi";
    c.instrument_version = 1;
    c.submit_time = clock_.Now() - ago;
    c.scores = {{"cbi_volunteering", volunteering, "moderate"}};
    ASSERT_TRUE(checkin::testing::StoreCheckin(checkins_, sealed, {"p", ""}).ok());
  }
  void ReportIncident() {
    checkin::SealedIncident sealed;
    sealed.incident = {"i1",
                       kOrg,
                       kVera,
                       checkin::IncidentType::kSuicideDisclosure,
                       clock_.Now() - absl::Hours(1),
                       clock_.Now(),
                       ""};
    ASSERT_TRUE(checkins_.CreateIncident(sealed, {"p", ""}).ok());
  }
  std::optional<Alert> OpenAlert(const std::string& rule) {
    auto open = store_.OpenAlerts(kOrg, kVera);
    if (!open.ok()) return std::nullopt;
    for (const Alert& alert : *open) {
      if (alert.rule_id == rule) return alert;
    }
    return std::nullopt;
  }

  peerwell::testing::RedisServer server_;
  RedisClient redis_{RedisOptions{server_.address()}};
  peerwell::testing::FakeClock clock_;
  checkin::RedisCheckinStore checkins_{redis_};
  RedisAlertStore store_{redis_};
  Volunteers volunteers_;
  RiskEngine engine_{store_, volunteers_, clock_};
};

ConsumerOptions Options(const std::string& consumer) {
  ConsumerOptions options;
  options.source = "checkin";
  options.group = "alerts";
  options.consumer = consumer;
  options.claim_min_idle = absl::Milliseconds(100);
  options.claim_interval = absl::Milliseconds(50);
  return options;
}

TEST_F(RiskConsumerTest, CheckinEventsBecomeAlerts) {
  ConsumerGroupRunner runner(server_.address(), Options("alerts-1"), [&](const StreamEntry& e) {
    return HandleCheckinServiceEvent(engine_, e);
  });
  runner.Start();
  SubmitCbi("c1", 40, absl::Hours(24 * 60));
  SubmitCbi("c2", 55, absl::Hours(24 * 30));
  SubmitCbi("c3", 75, absl::ZeroDuration());
  ReportIncident();
  ASSERT_TRUE(peerwell::testing::WaitFor([&] {
    auto rise = OpenAlert("cbi_rise");
    return rise.has_value() && rise->occurrence_count == 2 && OpenAlert("critical_incident");
  }));
  runner.Stop();
  EXPECT_EQ(OpenAlert("cbi_rise")->priority, Priority::kHigh);
  EXPECT_EQ(OpenAlert("critical_incident")->priority, Priority::kCritical);
  EXPECT_EQ(runner.dead_lettered(), 0);
}

TEST_F(RiskConsumerTest, AConsumerThatDiedMidBatchLosesNoAlertAndDuplicatesNone) {
  SubmitCbi("c1", 40, absl::Hours(24 * 30));
  SubmitCbi("c2", 60, absl::ZeroDuration());
  // Consumer "dead" takes both events, processes the second, and dies before acknowledging.
  ASSERT_TRUE(
      redis_
          .Execute({"XGROUP", "CREATE", EventStreamKey("checkin", kOrg), "alerts", "0", "MKSTREAM"})
          .ok());
  auto taken = redis_.Execute({"XREADGROUP", "GROUP", "alerts", "dead", "COUNT", "10", "STREAMS",
                               EventStreamKey("checkin", kOrg), ">"});
  auto entries = ParseStreamEntries(taken->elements[0].elements[1]);
  ASSERT_EQ(entries.size(), 2u);
  ASSERT_TRUE(HandleCheckinServiceEvent(engine_, entries[0]).ok());
  ASSERT_TRUE(HandleCheckinServiceEvent(engine_, entries[1]).ok());

  ConsumerGroupRunner survivor(server_.address(), Options("alerts-2"), [&](const StreamEntry& e) {
    return HandleCheckinServiceEvent(engine_, e);
  });
  survivor.Start();
  ASSERT_TRUE(peerwell::testing::WaitFor([&] { return survivor.handled() == 2; }));
  survivor.Stop();
  auto rise = OpenAlert("cbi_rise");
  ASSERT_TRUE(rise.has_value());
  EXPECT_EQ(rise->occurrence_count, 1);  // reprocessed, but counted once
}

// The supervision domain's view of the directory, in memory: one supervisor and Vera, who
// joined 40 days ago and never had supervision.
class SupervisionPeople final : public supervision::PeopleDirectory {
 public:
  explicit SupervisionPeople(absl::Time joined) : joined_(joined) {}
  absl::StatusOr<supervision::PersonFacts> GetPerson(const std::string&,
                                                     const std::string& id) override {
    for (const auto& person : People()) {
      if (person.person_id == id) return person;
    }
    return absl::NotFoundError("person not found");
  }
  absl::StatusOr<std::vector<supervision::PersonFacts>> ListPeople(
      const std::string&, supervision::PersonRole role) override {
    std::vector<supervision::PersonFacts> out;
    for (const auto& person : People()) {
      if (person.role == role) out.push_back(person);
    }
    return out;
  }

 private:
  std::vector<supervision::PersonFacts> People() const {
    supervision::PersonFacts sam;
    sam.person_id = "sam";
    sam.role = supervision::PersonRole::kSupervisor;
    supervision::PersonFacts vera;
    vera.person_id = kVera;
    vera.supervisor_ids = {"sam"};
    vera.create_time = joined_;
    return {sam, vera};
  }
  absl::Time joined_;
};

TEST_F(RiskConsumerTest, OverdueSupervisionRaisesALowAlertThatAttendanceCloses) {
  supervision::RedisSupervisionStore sessions(redis_);
  SupervisionPeople people(clock_.Now() - absl::Hours(24 * 40));
  OpenSslSecrets secrets;
  supervision::SupervisionService supervision(sessions, people, clock_, secrets);
  ConsumerOptions options = Options("alerts-1");
  options.source = "supervision";
  ConsumerGroupRunner runner(server_.address(), options, [&](const StreamEntry& e) {
    return HandleSupervisionServiceEvent(engine_, e);
  });
  runner.Start();
  // The supervision service's sweep finds Vera past the 30-day cadence and says so.
  ASSERT_TRUE(supervision.RegisterOrganization(kOrg).ok());
  ASSERT_TRUE(supervision.Sweep().ok());
  ASSERT_TRUE(
      peerwell::testing::WaitFor([&] { return OpenAlert("supervision_overdue").has_value(); }));
  Alert overdue = *OpenAlert("supervision_overdue");
  EXPECT_EQ(overdue.priority, Priority::kLow);
  EXPECT_EQ(overdue.factors.at(0).value, 10);  // 40 days since she joined, cadence 30

  // She attends individual supervision: the alert closes itself.
  Caller sam;
  sam.person_id = "sam";
  sam.organization_id = kOrg;
  sam.role = CallerRole::kSupervisor;
  supervision::Availability always;
  for (int day = 1; day <= 7; ++day) always.weekly.push_back({day, 0, 24 * 60});
  ASSERT_TRUE(supervision.SetAvailability(sam, "", always).ok());
  supervision::Session session;
  session.kind = supervision::SessionKind::kIndividual;
  session.supervisor_ids = {"sam"};
  session.participant_ids = {kVera};
  session.start_time = clock_.Now() + absl::Hours(1);
  session.duration = absl::Hours(1);
  auto created = supervision.CreateSession(sam, session, "");
  ASSERT_TRUE(created.ok()) << created.status();
  clock_.Advance(absl::Hours(2));
  ASSERT_TRUE(supervision
                  .RecordAttendance(sam, created->id,
                                    {{kVera, supervision::AttendanceStatus::kPresent}})
                  .ok());
  ASSERT_TRUE(
      peerwell::testing::WaitFor([&] { return !OpenAlert("supervision_overdue").has_value(); }));
  auto resolved = store_.GetAlert(kOrg, overdue.id);
  ASSERT_TRUE(resolved.ok() && resolved->has_value());
  EXPECT_EQ((*resolved)->alert.state, AlertState::kResolved);
  runner.Stop();
  EXPECT_EQ(runner.dead_lettered(), 0);
}

}  // namespace
}  // namespace peerwell::alerts
