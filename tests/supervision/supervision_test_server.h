#pragma once

#include "services/common/auth.h"
#include "services/common/directory_client.h"
#include "services/supervision/directory_people.h"
#include "services/supervision/redis_supervision_store.h"
#include "services/supervision/supervision_handler.h"
#include "tests/directory/directory_test_server.h"
#include "tests/testing/fake_clock.h"

namespace peerwell::supervision::testing {

namespace v1 = ::peerwell::supervision::v1;

// The supervision service in the test process, next to a real directory: both on 127.0.0.1:0,
// one real redis-server, real gRPC channels. Supervision runs on a fake clock that starts at
// `start`, so tests can pick dates (daylight-saving changes) and move through weeks.
class SupervisionTestServer {
 public:
  explicit SupervisionTestServer(absl::Time start)
      : redis_(RedisOptions{directory_.redis_server().address()}, &metrics_),
        clock_(start),
        directory_client_(grpc::CreateChannel(absl::StrCat("127.0.0.1:", directory_.port()),
                                              grpc::InsecureChannelCredentials()),
                          {"supervision", peerwell::testing::kTestJwtSecret}, clock_),
        people_(directory_client_),
        store_(redis_),
        service_(store_, people_, clock_, secrets_),
        authenticator_(TokenVerifier(peerwell::testing::kTestJwtSecret), directory_client_),
        executor_(16, 1024),
        runner_(executor_, authenticator_),
        pages_(PageTokenKey(peerwell::testing::kTestJwtSecret)),
        handler_(service_, runner_, pages_),
        host_(ServerHostOptions{"127.0.0.1:0"}, metrics_, redis_) {
    host_.AddService(&handler_);
    absl::Status started = host_.Start();
    if (!started.ok()) throw std::runtime_error(std::string(started.message()));
    stub_ = v1::SupervisionService::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", host_.port()), grpc::InsecureChannelCredentials()));
  }
  ~SupervisionTestServer() {
    host_.Shutdown();
    executor_.Shutdown();
  }

  v1::SupervisionService::Stub& stub() { return *stub_; }
  directory::testing::DirectoryTestServer& directory() { return directory_; }
  RedisClient& redis() { return redis_; }
  peerwell::testing::FakeClock& clock() { return clock_; }
  SupervisionService& service() { return service_; }
  // The parts of the service, for another service object over the same directory and Redis.
  PeopleDirectory& people() { return people_; }
  RedisSupervisionStore& store() { return store_; }
  const Secrets& secrets() { return secrets_; }

 private:
  directory::testing::DirectoryTestServer directory_;
  Metrics metrics_;
  RedisClient redis_;
  peerwell::testing::FakeClock clock_;
  DirectoryClient directory_client_;
  DirectoryPeople people_;
  RedisSupervisionStore store_;
  OpenSslSecrets secrets_;
  SupervisionService service_;
  Authenticator authenticator_;
  BoundedExecutor executor_;
  UnaryCallRunner runner_;
  PageTokenCodec pages_;
  SupervisionHandler handler_;
  ServerHost host_;
  std::unique_ptr<v1::SupervisionService::Stub> stub_;
};

}  // namespace peerwell::supervision::testing
