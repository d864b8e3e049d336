// The peer network through the real binaries on loopback (LocalSuite, two replicas of each
// service): a post taken by one replica reaches a subscriber of the other; the binary serves
// health, reflection and metrics, and SIGTERM ends its streams cleanly.
#include <signal.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "peerwell/directory/v1/directory.grpc.pb.h"
#include "peerwell/network/v1/network.grpc.pb.h"
#include "services/common/auth.h"
#include "services/common/channel.h"
#include "tests/testing/local_suite.h"
#include "tests/testing/process.h"
#include "tests/testing/tokens.h"
#include "tests/testing/wait.h"

namespace peerwell {
namespace {

namespace dv1 = ::peerwell::directory::v1;
namespace nv1 = ::peerwell::network::v1;
using ::peerwell::testing::LocalSuite;

class NetworkFlowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto suite = LocalSuite::Start({.binaries = PEERWELL_BUILD_DIR, .replicas = 2, .env = {}});
    ASSERT_TRUE(suite.ok()) << suite.status();
    suite_ = *std::move(suite);
    directory_ = dv1::DirectoryService::NewStub(ServiceChannel(suite_->Target("directory")));
    dv1::CreateOrganizationRequest create;
    create.set_display_name("Harbour");
    dv1::CreateOrganizationResponse org;
    ASSERT_TRUE(
        directory_->CreateOrganization(As(Mint(CallerRole::kAdmin, "op")).get(), create, &org)
            .ok());
    org_ = org.organization().organization_id();
    coordinator_ = Person(Mint(CallerRole::kAdmin, "op"), dv1::ROLE_COORDINATOR);
    vera_ = Person(Mint(CallerRole::kCoordinator, coordinator_), dv1::ROLE_VOLUNTEER);
    viktor_ = Person(Mint(CallerRole::kCoordinator, coordinator_), dv1::ROLE_VOLUNTEER);
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
  std::string Person(const std::string& token, dv1::Role role) {
    dv1::CreatePersonRequest request;
    request.mutable_person()->set_display_name("Someone");
    request.mutable_person()->set_role(role);
    request.mutable_person()->set_timezone("Europe/Copenhagen");
    dv1::CreatePersonResponse response;
    grpc::Status status = directory_->CreatePerson(As(token).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.person().person_id();
  }
  std::string Group(nv1::PeerNetworkService::Stub& stub) {
    nv1::CreateChannelRequest request;
    request.mutable_channel()->set_kind(nv1::CHANNEL_KIND_GROUP);
    request.mutable_channel()->set_display_name("Cohort");
    request.mutable_channel()->add_member_ids(vera_);
    request.mutable_channel()->add_member_ids(viktor_);
    nv1::CreateChannelResponse response;
    grpc::Status status = stub.CreateChannel(As(Mint(CallerRole::kCoordinator, coordinator_)).get(),
                                             request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.channel().channel_id();
  }
  void Post(nv1::PeerNetworkService::Stub& stub, const std::string& channel_id, int count) {
    for (int i = 0; i < count; ++i) {
      nv1::PostMessageRequest request;
      request.set_channel_id(channel_id);
      request.set_body(absl::StrCat("message ", i));
      nv1::PostMessageResponse response;
      grpc::Status status =
          stub.PostMessage(As(Mint(CallerRole::kVolunteer, vera_)).get(), request, &response);
      ASSERT_TRUE(status.ok()) << status.error_message();
    }
  }
  // Reads `count` posted messages from the stream; their sequences.
  static std::vector<int64_t> Read(grpc::ClientReader<nv1::NetworkEvent>& reader, int count) {
    std::vector<int64_t> sequences;
    nv1::NetworkEvent event;
    while (static_cast<int>(sequences.size()) < count && reader.Read(&event)) {
      if (event.event_type() == nv1::NETWORK_EVENT_TYPE_MESSAGE_POSTED) {
        sequences.push_back(event.message().sequence());
      }
    }
    return sequences;
  }
  static std::vector<int64_t> Range(int64_t first, int64_t last) {
    std::vector<int64_t> range;
    for (int64_t sequence = first; sequence <= last; ++sequence) range.push_back(sequence);
    return range;
  }

  std::unique_ptr<LocalSuite> suite_;
  std::unique_ptr<dv1::DirectoryService::Stub> directory_;
  std::string org_, coordinator_, vera_, viktor_;
};

TEST_F(NetworkFlowTest, APostTakenByOneReplicaReachesASubscriberOfTheOther) {
  auto replicas = suite_->replicas("network");
  ASSERT_EQ(replicas.size(), 2u);
  auto first = nv1::PeerNetworkService::NewStub(ServiceChannel(replicas[0]->address));
  auto second = nv1::PeerNetworkService::NewStub(ServiceChannel(replicas[1]->address));
  std::string cohort = Group(*first);
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer " + Mint(CallerRole::kVolunteer, viktor_));
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  nv1::SubscribeRequest request;
  request.add_cursors()->set_channel_id(cohort);
  auto reader = first->Subscribe(&context, request);
  reader->WaitForInitialMetadata();
  Post(*second, cohort, 20);
  EXPECT_EQ(Read(*reader, 20), Range(1, 20));
  context.TryCancel();
  (void)reader->Finish();
}

TEST_F(NetworkFlowTest, TheBinaryServesHealthReflectionMetricsAndEndsStreamsOnSigterm) {
  auto started = peerwell::testing::StartServer(
      PEERWELL_BUILD_DIR "/services/network/peerwell-network",
      peerwell::testing::Env({{"PEERWELL_JWT_SECRET", suite_->jwt_secret()},
                              {"PEERWELL_MASTER_KEY", peerwell::testing::kTestMasterKey},
                              {"PEERWELL_DIRECTORY_ADDR", suite_->Target("directory")},
                              // The streams must end at once, not when the grace
                              // runs out.
                              {"PEERWELL_SHUTDOWN_GRACE", "4s"}},
                             suite_->redis().ServiceEnv("network")));
  ASSERT_TRUE(started.ok()) << started.status();
  std::string cohort;
  {
    auto channel = ServiceChannel(started->address);
    grpc::health::v1::HealthCheckResponse health;
    grpc::ClientContext health_context;
    ASSERT_TRUE(grpc::health::v1::Health::NewStub(channel)
                    ->Check(&health_context, grpc::health::v1::HealthCheckRequest(), &health)
                    .ok());
    EXPECT_EQ(health.status(), grpc::health::v1::HealthCheckResponse::SERVING);
    // ServerReflectionRequest{list_services: "*"}: field 7, length-delimited.
    std::string services = peerwell::testing::CallRaw(
        channel, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        std::string("\x3a\x01*", 3));
    EXPECT_NE(services.find("peerwell.network.v1.PeerNetworkService"), std::string::npos);
    cohort = Group(*nv1::PeerNetworkService::NewStub(channel));
  }
  auto stub = nv1::PeerNetworkService::NewStub(ServiceChannel(started->address));
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer " + Mint(CallerRole::kVolunteer, viktor_));
  nv1::SubscribeRequest request;
  request.add_cursors()->set_channel_id(cohort);
  auto reader = stub->Subscribe(&context, request);
  reader->WaitForInitialMetadata();
  {
    auto poster = nv1::PeerNetworkService::NewStub(ServiceChannel(started->address));
    Post(*poster, cohort, 3);
  }
  EXPECT_EQ(Read(*reader, 3), Range(1, 3));
  std::string metrics = peerwell::testing::HttpGet(started->metrics_port, "/metrics");
  EXPECT_TRUE(absl::StrContains(metrics, "grpc_method=\"PostMessage\"")) << metrics;
  // The open stream is counted (the gauge is refreshed every 5 s).
  EXPECT_TRUE(peerwell::testing::WaitFor([&] {
    return absl::StrContains(peerwell::testing::HttpGet(started->metrics_port, "/metrics"),
                             "peerwell_network_subscribers 1");
  }));

  absl::Time signalled = absl::Now();
  started->process->Signal(SIGTERM);
  nv1::NetworkEvent event;
  while (reader->Read(&event)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_LT(absl::Now() - signalled, absl::Seconds(2));
  EXPECT_EQ(started->process->WaitForExit(absl::Seconds(15)), 0) << started->process->Output();
}

}  // namespace
}  // namespace peerwell
