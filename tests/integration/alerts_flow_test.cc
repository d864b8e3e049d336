// Check-ins become alerts on a supervisor's live stream, through the real binaries: directory,
// check-ins and alerts against one real redis-server.
#include <signal.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "peerwell/alerts/v1/alerts.grpc.pb.h"
#include "peerwell/checkin/v1/checkin.grpc.pb.h"
#include "peerwell/directory/v1/directory.grpc.pb.h"
#include "services/common/events.h"
#include "services/common/organization_registry.h"
#include "services/common/proto_time.h"
#include "services/common/redis_client.h"
#include "tests/testing/process.h"
#include "tests/testing/service_redis.h"
#include "tests/testing/tokens.h"
#include "tests/testing/wait.h"

namespace peerwell {
namespace {

namespace av1 = ::peerwell::alerts::v1;
namespace cv1 = ::peerwell::checkin::v1;
namespace dv1 = ::peerwell::directory::v1;
using ::peerwell::testing::ServerProcess;
using ::peerwell::testing::TestToken;

class AlertsFlowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = Start(PEERWELL_DIRECTORY_BINARY, {});
    checkin_ = Start(PEERWELL_CHECKIN_BINARY, {{"PEERWELL_DIRECTORY_ADDR", directory_addr_}});
    alerts_ = Start(PEERWELL_ALERTS_BINARY, {{"PEERWELL_DIRECTORY_ADDR", directory_addr_}});
    Seed();
  }

  std::unique_ptr<ServerProcess> Start(const std::string& binary,
                                       std::vector<std::pair<std::string, std::string>> env) {
    env.push_back({"PEERWELL_JWT_SECRET", peerwell::testing::kTestJwtSecret});
    for (auto& setting : redis_.ServiceEnv(peerwell::testing::ServiceOfBinary(binary))) {
      env.push_back(setting);
    }
    env.push_back({"PEERWELL_SHUTDOWN_GRACE", "2s"});
    // Check-ins and alerts seal what people write; the directory ignores it.
    env.push_back({"PEERWELL_MASTER_KEY", peerwell::testing::kTestMasterKey});
    env.push_back({"PEERWELL_PSEUDONYM_KEY", peerwell::testing::kTestPseudonymKey});
    auto started = peerwell::testing::StartServer(binary, std::move(env));
    EXPECT_TRUE(started.ok()) << started.status();
    if (!started.ok()) return nullptr;
    auto channel = grpc::CreateChannel(started->address, grpc::InsecureChannelCredentials());
    if (binary == PEERWELL_DIRECTORY_BINARY) {
      directory_addr_ = started->address;
      directory_stub_ = dv1::DirectoryService::NewStub(channel);
    } else if (binary == PEERWELL_CHECKIN_BINARY) {
      checkin_stub_ = cv1::CheckinService::NewStub(channel);
    } else {
      alerts_stub_ = av1::AlertService::NewStub(channel);
    }
    return std::move(started->process);
  }

  std::unique_ptr<grpc::ClientContext> As(const std::string& token) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->AddMetadata("authorization", "Bearer " + token);
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return context;
  }

  void Seed() {
    dv1::CreateOrganizationRequest create_org;
    create_org.set_display_name("Harbour");
    dv1::CreateOrganizationResponse org;
    ASSERT_TRUE(directory_stub_
                    ->CreateOrganization(As(TestToken(CallerRole::kAdmin, "op", "")).get(),
                                         create_org, &org)
                    .ok());
    org_ = org.organization().organization_id();
    auto create = [&](const std::string& token, dv1::Role role, const std::string& supervisor) {
      dv1::CreatePersonRequest request;
      request.mutable_person()->set_display_name("Someone");
      request.mutable_person()->set_role(role);
      if (!supervisor.empty()) request.mutable_person()->add_supervisor_ids(supervisor);
      dv1::CreatePersonResponse response;
      EXPECT_TRUE(directory_stub_->CreatePerson(As(token).get(), request, &response).ok());
      return response.person().person_id();
    };
    std::string coordinator =
        create(TestToken(CallerRole::kAdmin, "op", org_), dv1::ROLE_COORDINATOR, "");
    coordinator_ = coordinator;
    std::string coordinator_token = TestToken(CallerRole::kCoordinator, coordinator, org_);
    supervisor_ = create(coordinator_token, dv1::ROLE_SUPERVISOR, "");
    volunteer_ = create(coordinator_token, dv1::ROLE_VOLUNTEER, supervisor_);
  }

  void Consent(bool risk_monitoring) {
    dv1::SetConsentRequest request;
    request.mutable_consent()->set_risk_monitoring(risk_monitoring);
    request.mutable_consent()->set_share_scores_with_supervisor(true);
    dv1::SetConsentResponse response;
    ASSERT_TRUE(directory_stub_
                    ->SetConsent(As(TestToken(CallerRole::kVolunteer, volunteer_, org_)).get(),
                                 request, &response)
                    .ok());
  }

  // Imports a CBI whose volunteering items all answer `value`, `days_ago` days back.
  void ImportCbi(int value, int days_ago) {
    cv1::SubmitCheckinRequest request;
    request.set_volunteer_id(volunteer_);
    request.set_instrument_id("cbi");
    for (int item = 7; item <= 12; ++item) {
      auto* answer = request.add_answers();
      answer->set_item_id(absl::StrCat(item));
      answer->set_value(value);
    }
    *request.mutable_submit_time() =
        TimestampToProto(absl::Now() - absl::Hours(24 * days_ago) - absl::Minutes(1));
    cv1::SubmitCheckinResponse response;
    grpc::Status status = checkin_stub_->SubmitCheckin(
        As(TestToken(CallerRole::kAdmin, "op", org_)).get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  peerwell::testing::ServiceRedis redis_;
  std::string directory_addr_;
  std::unique_ptr<ServerProcess> directory_, checkin_, alerts_;
  std::unique_ptr<dv1::DirectoryService::Stub> directory_stub_;
  std::unique_ptr<cv1::CheckinService::Stub> checkin_stub_;
  std::unique_ptr<av1::AlertService::Stub> alerts_stub_;
  std::string org_, coordinator_, supervisor_, volunteer_;
};

TEST_F(AlertsFlowTest, RisingCbiReachesTheSupervisorsStreamAndBecomesHigh) {
  Consent(true);
  grpc::ClientContext watch;
  watch.AddMetadata("authorization",
                    "Bearer " + TestToken(CallerRole::kSupervisor, supervisor_, org_));
  watch.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  auto stream = alerts_stub_->WatchAlerts(&watch, av1::WatchAlertsRequest());
  stream->WaitForInitialMetadata();  // live: what happens next reaches it
  ImportCbi(25, 60);                 // 25
  ImportCbi(50, 30);                 // 50: 25 points above the usual 25
  ImportCbi(75, 0);                  // 75: a second rise

  std::vector<std::pair<av1::AlertEventType, av1::Priority>> rise_events;
  av1::AlertEvent event;
  std::string alert_id;
  while (rise_events.size() < 2 && stream->Read(&event)) {
    if (event.alert().rule_id() != "cbi_rise") continue;
    rise_events.push_back({event.event_type(), event.alert().priority()});
    if (alert_id.empty()) alert_id = event.alert().alert_id();
    EXPECT_EQ(event.alert().alert_id(), alert_id);  // one alert, not two
    EXPECT_FALSE(event.resume_token().empty());
  }
  watch.TryCancel();
  ASSERT_EQ(rise_events.size(), 2u);
  EXPECT_EQ(rise_events[0].first, av1::ALERT_EVENT_TYPE_TRIGGERED);
  EXPECT_EQ(rise_events[0].second, av1::PRIORITY_MEDIUM);
  EXPECT_EQ(rise_events[1].first, av1::ALERT_EVENT_TYPE_UPDATED);
  EXPECT_EQ(rise_events[1].second, av1::PRIORITY_HIGH);
}

TEST_F(AlertsFlowTest, WithoutConsentTheSameSeriesRaisesNothingButAnIncidentDoes) {
  Consent(false);
  ImportCbi(25, 60);
  ImportCbi(50, 30);
  ImportCbi(75, 0);
  cv1::ReportCriticalIncidentRequest incident;
  incident.set_incident_type(cv1::INCIDENT_TYPE_AGGRESSION);
  *incident.mutable_occur_time() = TimestampToProto(absl::Now() - absl::Minutes(5));
  cv1::ReportCriticalIncidentResponse reported;
  ASSERT_TRUE(
      checkin_stub_
          ->ReportCriticalIncident(As(TestToken(CallerRole::kVolunteer, volunteer_, org_)).get(),
                                   incident, &reported)
          .ok());
  // The incident is the last event published: once its alert exists, the CBIs were handled.
  std::vector<std::string> rules;
  ASSERT_TRUE(peerwell::testing::WaitFor([&] {
    av1::ListAlertsResponse listed;
    if (!alerts_stub_
             ->ListAlerts(As(TestToken(CallerRole::kSupervisor, supervisor_, org_)).get(),
                          av1::ListAlertsRequest(), &listed)
             .ok()) {
      return false;
    }
    rules.clear();
    for (const auto& alert : listed.alerts()) rules.push_back(alert.rule_id());
    return !rules.empty();
  }));
  EXPECT_THAT(rules, ::testing::ElementsAre("critical_incident"));
}

void ReportIncident(cv1::CheckinService::Stub& stub, const std::string& token) {
  cv1::ReportCriticalIncidentRequest incident;
  incident.set_incident_type(cv1::INCIDENT_TYPE_SUICIDE_DISCLOSURE);
  *incident.mutable_occur_time() = TimestampToProto(absl::Now() - absl::Minutes(5));
  cv1::ReportCriticalIncidentResponse reported;
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer " + token);
  ASSERT_TRUE(stub.ReportCriticalIncident(&context, incident, &reported).ok());
}

TEST_F(AlertsFlowTest, SigtermEndsOpenStreamsAndExitsZero) {
  grpc::ClientContext watch;
  watch.AddMetadata("authorization",
                    "Bearer " + TestToken(CallerRole::kSupervisor, supervisor_, org_));
  auto stream = alerts_stub_->WatchAlerts(&watch, av1::WatchAlertsRequest());
  stream->WaitForInitialMetadata();  // live: what happens next reaches it
  ReportIncident(*checkin_stub_, TestToken(CallerRole::kVolunteer, volunteer_, org_));
  av1::AlertEvent first;
  ASSERT_TRUE(stream->Read(&first));
  absl::Time start = absl::Now();
  alerts_->Signal(SIGTERM);
  av1::AlertEvent event;
  while (stream->Read(&event)) {
  }
  grpc::Status ended = stream->Finish();
  EXPECT_EQ(ended.error_code(), grpc::StatusCode::UNAVAILABLE) << ended.error_message();
  EXPECT_EQ(alerts_->WaitForExit(absl::Seconds(5)), 0) << alerts_->Output();
  EXPECT_LT(absl::Now() - start, absl::Seconds(8));  // the 2 s grace, plus reads that block 1 s
}

// An open stream is no way round a deactivation: it ends as a new call would be refused.
TEST_F(AlertsFlowTest, AWatcherWhoIsDeactivatedIsCutOffWithinTheDirectoryCacheLifetime) {
  grpc::ClientContext watch;
  watch.AddMetadata("authorization",
                    "Bearer " + TestToken(CallerRole::kSupervisor, supervisor_, org_));
  watch.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  auto stream = alerts_stub_->WatchAlerts(&watch, av1::WatchAlertsRequest());
  stream->WaitForInitialMetadata();
  dv1::UpdatePersonRequest update;
  update.mutable_person()->set_person_id(supervisor_);
  update.mutable_person()->set_status(dv1::PERSON_STATUS_INACTIVE);
  update.mutable_update_mask()->add_paths("status");
  dv1::UpdatePersonResponse updated;
  ASSERT_TRUE(
      directory_stub_
          ->UpdatePerson(As(TestToken(CallerRole::kCoordinator, coordinator_, org_)).get(), update,
                         &updated)
          .ok());
  absl::Time deactivated = absl::Now();
  av1::AlertEvent event;
  while (stream->Read(&event)) {
  }
  grpc::Status ended = stream->Finish();
  EXPECT_EQ(ended.error_code(), grpc::StatusCode::UNAUTHENTICATED) << ended.error_message();
  // The directory client's 2 s cache, plus a read that blocks for up to a second.
  EXPECT_LT(absl::Now() - deactivated, absl::Seconds(6));
}

// Idle, nothing holds it: its event consumers are waiting in blocking reads and its metrics
// listener in a poll, neither of which may keep the process for their timeouts.
TEST_F(AlertsFlowTest, AnIdleServiceExitsAtOnceOnSigterm) {
  absl::Time start = absl::Now();
  alerts_->Signal(SIGTERM);
  EXPECT_EQ(alerts_->WaitForExit(absl::Seconds(5)), 0) << alerts_->Output();
  EXPECT_LT(absl::Now() - start, absl::Seconds(1)) << alerts_->Output();
}

TEST_F(AlertsFlowTest, AOneSecondDeadlineEscalatesExactlyOnceWithTwoReplicas) {
  // A second replica of the alerts service, sweeping the same deadlines.
  auto first_stub = std::move(alerts_stub_);
  auto second = Start(PEERWELL_ALERTS_BINARY, {{"PEERWELL_DIRECTORY_ADDR", directory_addr_}});
  alerts_stub_ = std::move(first_stub);

  av1::UpdateAlertPolicyRequest update;
  update.mutable_policy()->mutable_ack_deadline_critical()->set_seconds(1);
  update.mutable_policy()->set_max_escalations(2);
  update.mutable_update_mask()->add_paths("ack_deadline_critical");
  update.mutable_update_mask()->add_paths("max_escalations");
  av1::UpdateAlertPolicyResponse updated;
  EXPECT_EQ(alerts_stub_
                ->UpdateAlertPolicy(As(TestToken(CallerRole::kSupervisor, supervisor_, org_)).get(),
                                    update, &updated)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(
      alerts_stub_
          ->UpdateAlertPolicy(As(TestToken(CallerRole::kCoordinator, coordinator_, org_)).get(),
                              update, &updated)
          .ok());
  EXPECT_EQ(updated.policy().ack_deadline_critical().seconds(), 1);

  ReportIncident(*checkin_stub_, TestToken(CallerRole::kVolunteer, volunteer_, org_));
  RedisClient redis(RedisOptions{redis_.address()});
  std::vector<StreamEntry> escalations;
  ASSERT_TRUE(peerwell::testing::WaitFor(
      [&] {
        auto entries = redis.Execute({"XRANGE", EventStreamKey("alerts", org_), "-", "+"});
        if (!entries.ok()) return false;
        escalations.clear();
        for (auto& entry : ParseStreamEntries(*entries)) {
          if (entry.Get("type") == "alert.escalated") escalations.push_back(entry);
        }
        return escalations.size() >= 2;
      },
      absl::Seconds(15)))
      << "escalations: " << escalations.size() << "\n"
      << redis.Execute({"KEYS", "*alerts*"})->elements.size() << " alert keys; deadlines "
      << redis
             .Execute({"ZRANGE", absl::StrCat("pw:{", org_, "}:alerts:deadlines"), "0", "-1",
                       "WITHSCORES"})
             ->elements.size()
      << "\n"
      << alerts_->Output().substr(0, 3000);
  // After the last escalation the alert leaves the schedule; any duplicate would be in by then.
  ASSERT_TRUE(peerwell::testing::WaitFor([&] {
    return redis.Execute({"ZCARD", absl::StrCat("pw:{", org_, "}:alerts:deadlines")})->integer == 0;
  }));
  auto entries = redis.Execute({"XRANGE", EventStreamKey("alerts", org_), "-", "+"});
  std::vector<std::string> levels;
  for (auto& entry : ParseStreamEntries(*entries)) {
    if (entry.Get("type") == "alert.escalated") levels.push_back(entry.Get("escalation_level"));
  }
  EXPECT_THAT(levels, ::testing::ElementsAre("1", "2"));
}

TEST_F(AlertsFlowTest, AWatcherThatReconnectsWithItsTokenMissesNothing) {
  Consent(true);
  std::string supervisor = TestToken(CallerRole::kSupervisor, supervisor_, org_);
  std::string token;
  std::string first_key;
  {
    grpc::ClientContext watch;
    watch.AddMetadata("authorization", "Bearer " + supervisor);
    watch.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    auto stream = alerts_stub_->WatchAlerts(&watch, av1::WatchAlertsRequest());
    stream->WaitForInitialMetadata();  // live: what happens next reaches it
    ImportCbi(25, 60);
    ImportCbi(50, 30);  // cbi_rise and cbi_high trigger
    av1::AlertEvent event;
    ASSERT_TRUE(stream->Read(&event));
    token = event.resume_token();
    first_key = absl::StrCat(event.alert().rule_id(), "/", event.event_type());
    watch.TryCancel();
  }
  ImportCbi(75, 0);  // both update while nobody watches
  grpc::ClientContext again;
  again.AddMetadata("authorization", "Bearer " + supervisor);
  again.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  av1::WatchAlertsRequest resume;
  resume.set_resume_token(token);
  auto stream = alerts_stub_->WatchAlerts(&again, resume);
  std::vector<std::string> seen;
  av1::AlertEvent event;
  while (seen.size() < 3 && stream->Read(&event)) {
    seen.push_back(absl::StrCat(event.alert().rule_id(), "/", event.event_type()));
  }
  again.TryCancel();
  // The second trigger and both updates, and not the first event again.
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_THAT(seen, ::testing::Not(::testing::Contains(first_key)));
  EXPECT_EQ(std::count_if(seen.begin(), seen.end(),
                          [](const std::string& s) { return s.ends_with("/2"); }),
            2);

  av1::WatchAlertsRequest forged;
  forged.set_resume_token("not-a-token");
  grpc::ClientContext bad;
  bad.AddMetadata("authorization", "Bearer " + supervisor);
  auto refused = alerts_stub_->WatchAlerts(&bad, forged);
  EXPECT_FALSE(refused->Read(&event));
  EXPECT_EQ(refused->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(AlertsFlowTest, ASilenceRecordsButDoesNotNotifyExceptCriticalIncidents) {
  av1::CreateSilenceRequest silence;
  silence.set_volunteer_id(volunteer_);
  *silence.mutable_end_time() = TimestampToProto(absl::Now() + absl::Hours(24));
  silence.set_reason("On a planned break after a hard month");
  av1::CreateSilenceResponse created;
  std::string supervisor = TestToken(CallerRole::kSupervisor, supervisor_, org_);
  ASSERT_TRUE(alerts_stub_->CreateSilence(As(supervisor).get(), silence, &created).ok());
  std::string volunteer = TestToken(CallerRole::kVolunteer, volunteer_, org_);
  EXPECT_EQ(alerts_stub_->CreateSilence(As(volunteer).get(), silence, &created).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  cv1::RequestSupportRequest support;
  support.set_urgency(cv1::URGENCY_LOW);
  cv1::RequestSupportResponse requested;
  ASSERT_TRUE(checkin_stub_->RequestSupport(As(volunteer).get(), support, &requested).ok());
  ReportIncident(*checkin_stub_, volunteer);
  std::map<std::string, bool> silenced;
  ASSERT_TRUE(peerwell::testing::WaitFor([&] {
    av1::ListAlertsResponse listed;
    if (!alerts_stub_->ListAlerts(As(supervisor).get(), av1::ListAlertsRequest(), &listed).ok()) {
      return false;
    }
    silenced.clear();
    for (const auto& alert : listed.alerts()) silenced[alert.rule_id()] = alert.silenced();
    return silenced.size() == 2;
  }));
  EXPECT_TRUE(silenced["support_requested"]);
  EXPECT_FALSE(silenced["critical_incident"]);

  av1::ListSilencesResponse silences;
  ASSERT_TRUE(
      alerts_stub_->ListSilences(As(supervisor).get(), av1::ListSilencesRequest(), &silences).ok());
  ASSERT_EQ(silences.silences_size(), 1);
  av1::DeleteSilenceRequest remove;
  remove.set_silence_id(silences.silences(0).silence_id());
  av1::DeleteSilenceResponse removed;
  ASSERT_TRUE(alerts_stub_->DeleteSilence(As(supervisor).get(), remove, &removed).ok());
  ASSERT_TRUE(
      alerts_stub_->ListSilences(As(supervisor).get(), av1::ListSilencesRequest(), &silences).ok());
  EXPECT_EQ(silences.silences_size(), 0);
}

TEST_F(AlertsFlowTest, ACriticalIncidentInhibitsTheVolunteersMediumAlerts) {
  Consent(true);
  ReportIncident(*checkin_stub_, TestToken(CallerRole::kVolunteer, volunteer_, org_));
  std::string supervisor = TestToken(CallerRole::kSupervisor, supervisor_, org_);
  auto alerts = [&] {
    std::map<std::string, av1::Alert> by_rule;
    av1::ListAlertsResponse listed;
    if (alerts_stub_->ListAlerts(As(supervisor).get(), av1::ListAlertsRequest(), &listed).ok()) {
      for (const auto& alert : listed.alerts()) by_rule[alert.rule_id()] = alert;
    }
    return by_rule;
  };
  ASSERT_TRUE(peerwell::testing::WaitFor([&] { return alerts().count("critical_incident") == 1; }));
  ImportCbi(75, 0);  // cbi_high, medium
  ASSERT_TRUE(peerwell::testing::WaitFor([&] { return alerts().count("cbi_high") == 1; }));
  auto by_rule = alerts();
  EXPECT_EQ(by_rule["critical_incident"].priority(), av1::PRIORITY_CRITICAL);
  EXPECT_FALSE(by_rule["critical_incident"].inhibited());
  EXPECT_TRUE(by_rule["cbi_high"].inhibited());
}

TEST_F(AlertsFlowTest, ASlowWatcherDoesNotSlowAnother) {
  std::string supervisor = TestToken(CallerRole::kSupervisor, supervisor_, org_);
  // A watcher that never reads: once its flow-control window is full, its writes wait.
  grpc::ClientContext slow;
  slow.AddMetadata("authorization", "Bearer " + supervisor);
  auto stalled = alerts_stub_->WatchAlerts(&slow, av1::WatchAlertsRequest());
  stalled->WaitForInitialMetadata();  // live: what happens next reaches it
  grpc::ClientContext fast;
  fast.AddMetadata("authorization", "Bearer " + supervisor);
  fast.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  auto stream = alerts_stub_->WatchAlerts(&fast, av1::WatchAlertsRequest());
  stream->WaitForInitialMetadata();  // live: what happens next reaches it
  std::string volunteer = TestToken(CallerRole::kVolunteer, volunteer_, org_);
  cv1::RequestSupportRequest support;
  support.set_urgency(cv1::URGENCY_HIGH);
  cv1::RequestSupportResponse requested;
  ASSERT_TRUE(checkin_stub_->RequestSupport(As(volunteer).get(), support, &requested).ok());
  av1::AlertEvent event;
  ASSERT_TRUE(stream->Read(&event));
  // Far more than a flow-control window of events (each carries the whole alert).
  constexpr int kRequests = 400;
  for (int i = 1; i < kRequests; ++i) {
    ASSERT_TRUE(checkin_stub_->RequestSupport(As(volunteer).get(), support, &requested).ok());
  }
  int received = 1;
  while (received < kRequests && stream->Read(&event)) {
    if (event.alert().rule_id() == "support_requested") ++received;
  }
  EXPECT_EQ(received, kRequests);
  EXPECT_EQ(event.alert().occurrence_count(), kRequests);
  fast.TryCancel();
  slow.TryCancel();
}

TEST_F(AlertsFlowTest, AReplicaKilledMidLoadLosesNoAlertAndDuplicatesNone) {
  // Replace the replica with two that take over a silent peer's events after 1 s.
  alerts_->Signal(SIGTERM);
  ASSERT_TRUE(alerts_->WaitForExit(absl::Seconds(10)).has_value());
  auto doomed = Start(PEERWELL_ALERTS_BINARY, {{"PEERWELL_DIRECTORY_ADDR", directory_addr_},
                                               {"PEERWELL_EVENT_CLAIM_IDLE", "1s"}});
  auto survivor = Start(PEERWELL_ALERTS_BINARY, {{"PEERWELL_DIRECTORY_ADDR", directory_addr_},
                                                 {"PEERWELL_EVENT_CLAIM_IDLE", "1s"}});
  // Ten consenting volunteers, each with a rising CBI series: 30 events.
  std::string coordinator = TestToken(CallerRole::kCoordinator, coordinator_, org_);
  std::vector<std::string> volunteers;
  for (int i = 0; i < 10; ++i) {
    dv1::CreatePersonRequest create;
    create.mutable_person()->set_display_name(absl::StrCat("Volunteer ", i));
    create.mutable_person()->set_role(dv1::ROLE_VOLUNTEER);
    create.mutable_person()->add_supervisor_ids(supervisor_);
    dv1::CreatePersonResponse created;
    ASSERT_TRUE(directory_stub_->CreatePerson(As(coordinator).get(), create, &created).ok());
    volunteers.push_back(created.person().person_id());
    volunteer_ = volunteers.back();
    Consent(true);
  }
  for (int round = 0; round < 3; ++round) {
    for (const std::string& volunteer : volunteers) {
      volunteer_ = volunteer;
      ImportCbi(25 * (round + 1), 30 * (2 - round));
    }
    if (round == 1) doomed->Signal(SIGKILL);  // mid-load, mid-batch perhaps
  }
  ASSERT_TRUE(doomed->WaitForExit(absl::Seconds(5)).has_value());

  // Every volunteer ends with exactly one cbi_rise alert, raised twice: nothing lost, nothing
  // counted twice.
  std::map<std::string, std::pair<int, int>> rises;  // volunteer -> (alerts, occurrences)
  std::string supervisor = TestToken(CallerRole::kSupervisor, supervisor_, org_);
  ASSERT_TRUE(peerwell::testing::WaitFor(
      [&] {
        av1::ListAlertsRequest request;
        request.set_page_size(1000);
        av1::ListAlertsResponse listed;
        if (!alerts_stub_->ListAlerts(As(supervisor).get(), request, &listed).ok()) return false;
        rises.clear();
        for (const auto& alert : listed.alerts()) {
          if (alert.rule_id() != "cbi_rise") continue;
          auto& [count, occurrences] = rises[alert.volunteer_id()];
          ++count;
          occurrences += alert.occurrence_count();
        }
        if (rises.size() != volunteers.size()) return false;
        for (const auto& [volunteer, counts] : rises) {
          if (counts.second < 2) return false;
        }
        return true;
      },
      absl::Seconds(20)));
  for (const auto& [volunteer, counts] : rises) {
    EXPECT_EQ(counts.first, 1) << volunteer;
    EXPECT_EQ(counts.second, 2) << volunteer;
  }
}

// Data of a release before events were per organisation, moved with `peerwellctl migrate`: a
// check-in the alerts service had not read yet is read by this release's, and raises its alert.
TEST_F(AlertsFlowTest, ACheckinAnEarlierReleaseLeftUnreadRaisesItsAlertAfterTheMigration) {
  if (redis_.is_cluster()) GTEST_SKIP() << "an earlier release ran on one server only";
  Consent(true);
  alerts_->Signal(SIGTERM);
  ASSERT_TRUE(alerts_->WaitForExit(absl::Seconds(10)).has_value());
  cv1::SubmitCheckinRequest request;
  request.set_instrument_id("who5");
  for (int item = 1; item <= 5; ++item) {
    auto* answer = request.add_answers();
    answer->set_item_id(absl::StrCat(item));
    answer->set_value(0);
  }
  cv1::SubmitCheckinResponse submitted;
  ASSERT_TRUE(checkin_stub_
                  ->SubmitCheckin(As(TestToken(CallerRole::kVolunteer, volunteer_, org_)).get(),
                                  request, &submitted)
                  .ok());
  // Put back as an earlier release left it: the event in the one stream of every organisation,
  // its alerts group not there yet, and no registry of organisations.
  RedisClient admin(RedisOptions{redis_.address()});
  const std::string stream = EventStreamKey("checkin", org_);
  auto entries = admin.Execute({"XRANGE", stream, "-", "+"});
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->elements.size(), 1u);
  RedisCommand old_event{"XADD", "pw:events:checkin", entries->elements[0].elements[0].str};
  for (const RedisReply& field : entries->elements[0].elements[1].elements) {
    old_event.push_back(field.str);
  }
  auto rewritten = admin.ExecuteAll({old_event,
                                     {"XGROUP", "CREATE", "pw:events:checkin", "alerts", "0"},
                                     {"DEL", stream},
                                     {"DEL", kOrganizationsKey}});
  ASSERT_TRUE(rewritten.ok()) << rewritten.status();
  for (const RedisReply& reply : *rewritten) ASSERT_FALSE(reply.IsError()) << reply.str;

  const std::string password_file = absl::StrCat(redis_.server().directory(), "/ctl-password");
  std::ofstream(password_file) << redis_.address().password << "\n";
  ServerProcess ctl(PEERWELLCTL_BINARY,
                    {"migrate", "--redis-addr", redis_.server().address_string(), "--redis-user",
                     redis_.address().username, "--redis-password-file", password_file},
                    {});
  ctl.Start();
  ASSERT_EQ(ctl.WaitForExit(absl::Seconds(30)), 0) << ctl.Output();

  alerts_ = Start(PEERWELL_ALERTS_BINARY, {{"PEERWELL_DIRECTORY_ADDR", directory_addr_}});
  const std::string supervisor = TestToken(CallerRole::kSupervisor, supervisor_, org_);
  EXPECT_TRUE(peerwell::testing::WaitFor([&] {
    av1::ListAlertsResponse listed;
    if (!alerts_stub_->ListAlerts(As(supervisor).get(), av1::ListAlertsRequest(), &listed).ok()) {
      return false;
    }
    for (const auto& alert : listed.alerts()) {
      if (alert.rule_id() == "who5_drop" && alert.volunteer_id() == volunteer_) return true;
    }
    return false;
  }));
}

}  // namespace
}  // namespace peerwell
