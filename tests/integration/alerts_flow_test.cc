// Check-ins become alerts on a supervisor's live stream, through the real binaries: directory,
// check-ins and alerts against one real redis-server.
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "peerwell/alerts/v1/alerts.grpc.pb.h"
#include "peerwell/checkin/v1/checkin.grpc.pb.h"
#include "peerwell/directory/v1/directory.grpc.pb.h"
#include "services/common/proto_time.h"
#include "tests/testing/process.h"
#include "tests/testing/redis_server.h"
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
    std::string directory_addr = absl::StrCat("127.0.0.1:", directory_port_);
    checkin_ = Start(PEERWELL_CHECKIN_BINARY,
                     {{"PEERWELL_DIRECTORY_ADDR", directory_addr},
                      {"PEERWELL_MASTER_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}});
    alerts_ = Start(PEERWELL_ALERTS_BINARY, {{"PEERWELL_DIRECTORY_ADDR", directory_addr}});
    Seed();
  }

  std::unique_ptr<ServerProcess> Start(const std::string& binary,
                                       std::vector<std::pair<std::string, std::string>> env) {
    env.push_back({"PEERWELL_JWT_SECRET", peerwell::testing::kTestJwtSecret});
    auto process = std::make_unique<ServerProcess>(
        binary,
        std::vector<std::string>{"--listen_addr=127.0.0.1:0", "--metrics_addr=127.0.0.1:0",
                                 "--redis_addr=" + redis_.address_string(), "--shutdown_grace=2s"},
        env);
    process->Start();
    int port = process->WaitForLoggedPort(absl::Seconds(10));
    EXPECT_GT(port, 0) << process->Output();
    auto channel =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
    if (binary == PEERWELL_DIRECTORY_BINARY) {
      directory_port_ = port;
      directory_stub_ = dv1::DirectoryService::NewStub(channel);
    } else if (binary == PEERWELL_CHECKIN_BINARY) {
      checkin_stub_ = cv1::CheckinService::NewStub(channel);
    } else {
      alerts_stub_ = av1::AlertService::NewStub(channel);
    }
    return process;
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

  peerwell::testing::RedisServer redis_;
  int directory_port_ = 0;
  std::unique_ptr<ServerProcess> directory_, checkin_, alerts_;
  std::unique_ptr<dv1::DirectoryService::Stub> directory_stub_;
  std::unique_ptr<cv1::CheckinService::Stub> checkin_stub_;
  std::unique_ptr<av1::AlertService::Stub> alerts_stub_;
  std::string org_, supervisor_, volunteer_;
};

TEST_F(AlertsFlowTest, RisingCbiReachesTheSupervisorsStreamAndBecomesHigh) {
  Consent(true);
  grpc::ClientContext watch;
  watch.AddMetadata("authorization",
                    "Bearer " + TestToken(CallerRole::kSupervisor, supervisor_, org_));
  watch.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  auto stream = alerts_stub_->WatchAlerts(&watch, av1::WatchAlertsRequest());
  ImportCbi(25, 60);  // 25
  ImportCbi(50, 30);  // 50: 25 points above the usual 25
  ImportCbi(75, 0);   // 75: a second rise

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

}  // namespace
}  // namespace peerwell
