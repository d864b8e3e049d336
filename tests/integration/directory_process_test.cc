// The real peerwell-directory binary against a real redis-server: start-up contract, health
// following Redis, /metrics, SIGTERM drain and configuration errors.
#include <signal.h>

#include <future>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "peerwell/directory/v1/directory.grpc.pb.h"
#include "services/common/server.h"
#include "tests/testing/process.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/tokens.h"
#include "tests/testing/wait.h"

namespace peerwell {
namespace {

using ::peerwell::testing::CallRaw;
using ::peerwell::testing::HttpGet;
using ::peerwell::testing::RedisServer;
using ::peerwell::testing::ServerProcess;
using ::peerwell::testing::TestToken;
using ::peerwell::testing::WaitFor;
using ::testing::HasSubstr;
namespace v1 = ::peerwell::directory::v1;

class DirectoryProcessTest : public ::testing::Test {
 protected:
  void StartDirectory(std::vector<std::string> extra_args = {}) {
    std::vector<std::string> args{"--listen_addr=127.0.0.1:0", "--metrics_addr=127.0.0.1:0",
                                  "--redis_addr=" + redis_.address_string(), "--shutdown_grace=5s",
                                  "--redis_password=" + redis_.address_for("directory").password};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    process_ = std::make_unique<ServerProcess>(
        PEERWELL_DIRECTORY_BINARY, args,
        std::vector<std::pair<std::string, std::string>>{
            {"PEERWELL_JWT_SECRET", peerwell::testing::kTestJwtSecret}});
    process_->Start();
    port_ = process_->WaitForLoggedPort(absl::Seconds(10));
    ASSERT_GT(port_, 0) << process_->Output();
    metrics_port_ =
        process_->WaitForLoggedPort(absl::Seconds(10), "metrics serving", "metrics_port");
    channel_ =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials());
  }

  grpc::health::v1::HealthCheckResponse::ServingStatus Health(const std::string& service = "") {
    auto stub = grpc::health::v1::Health::NewStub(channel_);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    grpc::health::v1::HealthCheckResponse response;
    if (!stub->Check(&context, request, &response).ok()) {
      return grpc::health::v1::HealthCheckResponse::UNKNOWN;
    }
    return response.status();
  }

  grpc::Status CreateOrganization(const std::string& name, std::chrono::seconds deadline) {
    auto stub = v1::DirectoryService::NewStub(channel_);
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + TestToken(CallerRole::kAdmin, "operator", ""));
    context.set_deadline(std::chrono::system_clock::now() + deadline);
    v1::CreateOrganizationRequest request;
    request.set_display_name(name);
    v1::CreateOrganizationResponse response;
    return stub->CreateOrganization(&context, request, &response);
  }

  RedisServer redis_;
  std::unique_ptr<ServerProcess> process_;
  std::shared_ptr<grpc::Channel> channel_;
  int port_ = 0;
  int metrics_port_ = 0;
};

TEST_F(DirectoryProcessTest, LogsServingWithBoundPortAndServesHealthAtOnce) {
  absl::Time start = absl::Now();
  StartDirectory();
  EXPECT_EQ(Health(), grpc::health::v1::HealthCheckResponse::SERVING);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  std::string output = process_->Output();
  EXPECT_THAT(output, HasSubstr(R"("message":"serving")"));
  EXPECT_THAT(output, HasSubstr(absl::StrCat(R"("port":)", port_)));
}

TEST_F(DirectoryProcessTest, HealthFollowsRedis) {
  StartDirectory();
  ASSERT_EQ(Health(), grpc::health::v1::HealthCheckResponse::SERVING);
  redis_.Kill();
  EXPECT_TRUE(
      WaitFor([&] { return Health() == grpc::health::v1::HealthCheckResponse::NOT_SERVING; },
              absl::Seconds(2)));
  // Alive all the same: a liveness probe must not restart it while Redis is away.
  EXPECT_EQ(Health(kLivenessHealthService), grpc::health::v1::HealthCheckResponse::SERVING);
  // It keeps running, and calls fail fast with UNAVAILABLE rather than hanging.
  grpc::Status down = CreateOrganization("While down", std::chrono::seconds(5));
  EXPECT_EQ(down.error_code(), grpc::StatusCode::UNAVAILABLE) << down.error_message();
  redis_.Start();
  EXPECT_TRUE(WaitFor([&] { return Health() == grpc::health::v1::HealthCheckResponse::SERVING; },
                      absl::Seconds(5)));
  EXPECT_TRUE(CreateOrganization("After", std::chrono::seconds(5)).ok());
}

TEST_F(DirectoryProcessTest, ARefusedRedisPasswordIsNotServingAndSaysWhichUserWasRefused) {
  StartDirectory({"--redis_password=not-the-directorys-password"});
  EXPECT_EQ(Health(), grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(Health(kLivenessHealthService), grpc::health::v1::HealthCheckResponse::SERVING);
  grpc::Status refused = CreateOrganization("Refused", std::chrono::seconds(5));
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE) << refused.error_message();
  std::string output = process_->Output();
  EXPECT_THAT(output, HasSubstr("redis unreachable: not serving"));
  EXPECT_THAT(output, HasSubstr("refused user directory"));
  EXPECT_THAT(output, ::testing::Not(HasSubstr("not-the-directorys-password")));
}

TEST_F(DirectoryProcessTest, PausedRedisTurnsHealthNotServingAndCallsEndByTheirDeadline) {
  StartDirectory();
  redis_.Pause();
  absl::Time start = absl::Now();
  grpc::Status status = CreateOrganization("Paused", std::chrono::seconds(1));
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(1500));
  EXPECT_TRUE(status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ||
              status.error_code() == grpc::StatusCode::UNAVAILABLE)
      << status.error_code();
  EXPECT_TRUE(
      WaitFor([&] { return Health() == grpc::health::v1::HealthCheckResponse::NOT_SERVING; },
              absl::Seconds(2)));
  redis_.Resume();
  EXPECT_TRUE(WaitFor([&] { return Health() == grpc::health::v1::HealthCheckResponse::SERVING; },
                      absl::Seconds(5)));
}

TEST_F(DirectoryProcessTest, MetricsCountEveryRpcByCode) {
  StartDirectory();
  ASSERT_TRUE(CreateOrganization("Counted", std::chrono::seconds(5)).ok());
  auto stub = v1::DirectoryService::NewStub(channel_);
  grpc::ClientContext context;  // no credentials
  v1::GetPersonRequest request;
  v1::GetPersonResponse response;
  EXPECT_EQ(stub->GetPerson(&context, request, &response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  std::string metrics;
  ASSERT_TRUE(WaitFor([&] {
    metrics = HttpGet(metrics_port_, "/metrics");
    return metrics.find("grpc_method=\"GetPerson\"") != std::string::npos;
  }));
  EXPECT_THAT(metrics, HasSubstr("grpc_server_started_total"));
  EXPECT_THAT(
      metrics,
      HasSubstr(
          R"(grpc_server_handled_total{grpc_code="OK",grpc_method="CreateOrganization",grpc_service="peerwell.directory.v1.DirectoryService"} 1)"));
  EXPECT_THAT(metrics, HasSubstr(R"(grpc_code="UNAUTHENTICATED",grpc_method="GetPerson")"));
  EXPECT_THAT(metrics, HasSubstr("grpc_server_handling_seconds_bucket"));
  EXPECT_THAT(metrics, HasSubstr("redis_client_requests_total"));

  // Made-up method names do not become label values.
  for (int i = 0; i < 3; ++i) {
    CallRaw(channel_, absl::StrCat("/peerwell.made.up.v", i, ".Service/Method", i), "");
  }
  ASSERT_TRUE(WaitFor([&] {
    metrics = HttpGet(metrics_port_, "/metrics");
    return metrics.find("grpc_method=\"unknown\"") != std::string::npos;
  }));
  EXPECT_THAT(metrics, ::testing::Not(HasSubstr("made.up")));
}

TEST_F(DirectoryProcessTest, SigtermLetsInFlightCallsFinishThenExitsZero) {
  StartDirectory();
  ASSERT_EQ(Health(), grpc::health::v1::HealthCheckResponse::SERVING);
  // Hold a call in flight: Redis is paused, so the call waits inside the server.
  redis_.Pause();
  auto in_flight = std::async(
      std::launch::async, [&] { return CreateOrganization("In flight", std::chrono::seconds(8)); });
  ASSERT_TRUE(WaitFor([&] {
    return HttpGet(metrics_port_, "/metrics").find("grpc_method=\"CreateOrganization\"") !=
           std::string::npos;
  }));
  process_->Signal(SIGTERM);
  // New calls are no longer accepted once the drain started...
  EXPECT_TRUE(WaitFor([&] { return process_->Output().find("draining") != std::string::npos; }));
  redis_.Resume();
  // ...but the one in flight completes.
  grpc::Status status = in_flight.get();
  EXPECT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  EXPECT_EQ(process_->WaitForExit(absl::Seconds(10)), 0) << process_->Output();
}

TEST_F(DirectoryProcessTest, ServesReflection) {
  StartDirectory();
  // ServerReflectionRequest{list_services: "*"}: field 7, length-delimited.
  std::string services =
      CallRaw(channel_, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
              std::string("\x3a\x01*", 3));
  EXPECT_THAT(services, HasSubstr("peerwell.directory.v1.DirectoryService"));
  EXPECT_THAT(services, HasSubstr("grpc.health.v1.Health"));
}

TEST(DirectoryConfigTest, BadConfigurationExitsTwoNamingTheSetting) {
  ServerProcess process(PEERWELL_DIRECTORY_BINARY, {"--listen_addr=127.0.0.1:0"},
                        {{"PEERWELL_JWT_SECRET", "too-short"}});
  process.Start();
  EXPECT_EQ(process.WaitForExit(absl::Seconds(10)), 2);
  EXPECT_THAT(process.Output(), HasSubstr("PEERWELL_JWT_SECRET"));

  ServerProcess no_redis(PEERWELL_DIRECTORY_BINARY, {"--redis_addr=somewhere"},
                         {{"PEERWELL_JWT_SECRET", peerwell::testing::kTestJwtSecret}});
  no_redis.Start();
  EXPECT_EQ(no_redis.WaitForExit(absl::Seconds(10)), 2);
  EXPECT_THAT(no_redis.Output(), HasSubstr("PEERWELL_REDIS_ADDR"));
}

}  // namespace
}  // namespace peerwell
