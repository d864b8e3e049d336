// A critical incident reported through the check-in service becomes a debrief offered by the
// supervision service, through the real binaries on loopback (LocalSuite): the volunteer's own
// supervisor at the first free time inside the policy's window; accepted or declined.
#include <signal.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "peerwell/checkin/v1/checkin.grpc.pb.h"
#include "peerwell/directory/v1/directory.grpc.pb.h"
#include "peerwell/supervision/v1/supervision.grpc.pb.h"
#include "services/common/auth.h"
#include "services/common/channel.h"
#include "services/common/proto_time.h"
#include "tests/testing/local_suite.h"
#include "tests/testing/process.h"
#include "tests/testing/wait.h"

namespace peerwell {
namespace {

namespace cv1 = ::peerwell::checkin::v1;
namespace dv1 = ::peerwell::directory::v1;
namespace sv1 = ::peerwell::supervision::v1;
using ::peerwell::testing::LocalSuite;

class SupervisionFlowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto suite = LocalSuite::Start({.binaries = PEERWELL_BUILD_DIR, .replicas = 1, .env = {}});
    ASSERT_TRUE(suite.ok()) << suite.status();
    suite_ = *std::move(suite);
    directory_ = dv1::DirectoryService::NewStub(ServiceChannel(suite_->Target("directory")));
    checkin_ = cv1::CheckinService::NewStub(ServiceChannel(suite_->Target("checkin")));
    supervision_ = sv1::SupervisionService::NewStub(ServiceChannel(suite_->Target("supervision")));
    Seed();
  }

  std::string Mint(CallerRole role, const std::string& subject) {
    return MintToken(suite_->jwt_secret(), {subject, org_, role, absl::Hours(1)}, absl::Now());
  }
  std::unique_ptr<grpc::ClientContext> As(const std::string& token) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->AddMetadata("authorization", "Bearer " + token);
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return context;
  }
  std::string Person(const std::string& token, dv1::Role role, const std::string& supervisor) {
    dv1::CreatePersonRequest request;
    request.mutable_person()->set_display_name("Someone");
    request.mutable_person()->set_role(role);
    request.mutable_person()->set_timezone("Europe/Copenhagen");
    if (!supervisor.empty()) request.mutable_person()->add_supervisor_ids(supervisor);
    dv1::CreatePersonResponse response;
    grpc::Status status = directory_->CreatePerson(As(token).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.person().person_id();
  }

  void Seed() {
    dv1::CreateOrganizationRequest create;
    create.set_display_name("Harbour");
    dv1::CreateOrganizationResponse org;
    org_ = "";
    ASSERT_TRUE(
        directory_->CreateOrganization(As(Mint(CallerRole::kAdmin, "op")).get(), create, &org)
            .ok());
    org_ = org.organization().organization_id();
    std::string coordinator = Mint(CallerRole::kCoordinator, Person(Mint(CallerRole::kAdmin, "op"),
                                                                    dv1::ROLE_COORDINATOR, ""));
    supervisor_ = Person(coordinator, dv1::ROLE_SUPERVISOR, "");
    volunteer_ = Person(coordinator, dv1::ROLE_VOLUNTEER, supervisor_);
    // Around the clock, so the test does not depend on when it runs.
    sv1::SetAvailabilityRequest availability;
    for (int day = 1; day <= 7; ++day) {
      auto* window = availability.mutable_availability()->add_weekly();
      window->set_weekday(day);
      window->set_start("00:00");
      window->set_end("24:00");
    }
    sv1::SetAvailabilityResponse set;
    grpc::Status status = supervision_->SetAvailability(
        As(Mint(CallerRole::kSupervisor, supervisor_)).get(), availability, &set);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  std::string ReportIncident(const std::string& request_id) {
    cv1::ReportCriticalIncidentRequest request;
    request.set_incident_type(cv1::INCIDENT_TYPE_SUICIDE_DISCLOSURE);
    request.set_description("canary: what was said stays in the check-in service");
    request.set_request_id(request_id);
    *request.mutable_occur_time() = TimestampToProto(absl::Now() - absl::Minutes(30));
    cv1::ReportCriticalIncidentResponse response;
    grpc::Status status = checkin_->ReportCriticalIncident(
        As(Mint(CallerRole::kVolunteer, volunteer_)).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.incident().incident_id();
  }

  std::vector<sv1::Session> Offers() {
    sv1::ListSessionsRequest request;
    request.add_kinds(sv1::SESSION_KIND_DEBRIEF);
    sv1::ListSessionsResponse response;
    grpc::Status status = supervision_->ListSessions(
        As(Mint(CallerRole::kVolunteer, volunteer_)).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return {response.sessions().begin(), response.sessions().end()};
  }

  std::unique_ptr<LocalSuite> suite_;
  std::unique_ptr<dv1::DirectoryService::Stub> directory_;
  std::unique_ptr<cv1::CheckinService::Stub> checkin_;
  std::unique_ptr<sv1::SupervisionService::Stub> supervision_;
  std::string org_, supervisor_, volunteer_;
};

TEST_F(SupervisionFlowTest, AnIncidentBecomesADebriefOfferThatIsAcceptedOrDeclined) {
  absl::Time reported = absl::Now();
  std::string incident = ReportIncident("incident-1");
  ASSERT_TRUE(peerwell::testing::WaitFor([&] { return Offers().size() == 1; }));
  sv1::Session offer = Offers()[0];
  EXPECT_EQ(offer.state(), sv1::SESSION_STATE_OFFERED);
  EXPECT_EQ(offer.incident_id(), incident);
  ASSERT_EQ(offer.supervisor_ids_size(), 1);
  EXPECT_EQ(offer.supervisor_ids(0), supervisor_);
  absl::Time start = *TimestampFromProto(offer.start_time(), "start");
  // Inside the default 24-hour window.
  EXPECT_GT(start, reported);
  EXPECT_LE(start + absl::Hours(1), reported + absl::Hours(24) + absl::Minutes(1));

  sv1::RespondToOfferRequest respond;
  respond.set_session_id(offer.session_id());
  respond.set_accept(true);
  sv1::RespondToOfferResponse answered;
  grpc::Status status = supervision_->RespondToOffer(
      As(Mint(CallerRole::kVolunteer, volunteer_)).get(), respond, &answered);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(answered.session().state(), sv1::SESSION_STATE_SCHEDULED);

  // A second incident gets its own offer; declining it is an answer like any other.
  ReportIncident("incident-2");
  ASSERT_TRUE(peerwell::testing::WaitFor([&] { return Offers().size() == 2; }));
  for (const sv1::Session& session : Offers()) {
    if (session.state() != sv1::SESSION_STATE_OFFERED) continue;
    respond.set_session_id(session.session_id());
    respond.set_accept(false);
    status = supervision_->RespondToOffer(As(Mint(CallerRole::kVolunteer, volunteer_)).get(),
                                          respond, &answered);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(answered.session().state(), sv1::SESSION_STATE_DECLINED);
  }
  // The retried report (same request_id) stored nothing twice: still two offers.
  ReportIncident("incident-2");
  EXPECT_EQ(Offers().size(), 2u);

  // What the suite's own alerting rules watch: both services' consumer groups on these streams.
  std::string metrics =
      peerwell::testing::HttpGet(suite_->service("supervision").metrics_port, "/metrics");
  for (const char* gauge :
       {"peerwell_event_consumer_lag{group=\"supervision\",stream=\"pw:events:checkin\"}",
        "peerwell_event_consumer_pending{group=\"supervision\",stream=\"pw:events:directory\"}",
        "peerwell_event_dead_letter_entries{stream=\"pw:events:checkin:dead\"} 0"}) {
    EXPECT_TRUE(absl::StrContains(metrics, gauge)) << gauge << " in\n" << metrics;
  }
  metrics = peerwell::testing::HttpGet(suite_->service("alerts").metrics_port, "/metrics");
  EXPECT_TRUE(absl::StrContains(
      metrics, "peerwell_event_consumer_lag{group=\"alerts\",stream=\"pw:events:supervision\"}"))
      << metrics;
}

TEST_F(SupervisionFlowTest, TheBinaryServesReflectionAndDrainsOnSigterm) {
  auto started = peerwell::testing::StartServer(
      PEERWELL_BUILD_DIR "/services/supervision/peerwell-supervision",
      peerwell::testing::Env({{"PEERWELL_JWT_SECRET", suite_->jwt_secret()},
                              {"PEERWELL_DIRECTORY_ADDR", suite_->Target("directory")}},
                             suite_->redis().ServiceEnv("supervision")));
  ASSERT_TRUE(started.ok()) << started.status();
  // ServerReflectionRequest{list_services: "*"}: field 7, length-delimited.
  std::string services =
      peerwell::testing::CallRaw(ServiceChannel(started->address),
                                 "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                                 std::string("\x3a\x01*", 3));
  EXPECT_NE(services.find("peerwell.supervision.v1.SupervisionService"), std::string::npos);
  started->process->Signal(SIGTERM);
  EXPECT_EQ(started->process->WaitForExit(absl::Seconds(15)), 0) << started->process->Output();
}

}  // namespace
}  // namespace peerwell
