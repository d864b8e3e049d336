#pragma once

#include "services/checkin/checkin_handler.h"
#include "services/checkin/directory_people.h"
#include "services/common/data_key_vault.h"
#include "services/checkin/redis_checkin_store.h"
#include "services/common/directory_client.h"
#include "services/common/hmac_pseudonymizer.h"
#include "tests/directory/directory_test_server.h"
#include "tests/testing/fake_clock.h"

namespace peerwell::checkin::testing {

namespace v1 = ::peerwell::checkin::v1;

inline MasterKey TestMasterKey() {
  return *MasterKey::FromBase64(peerwell::testing::kTestMasterKey);
}

inline HmacPseudonymizer TestPseudonymizer() {
  return *HmacPseudonymizer::FromBase64(peerwell::testing::kTestPseudonymKey);
}

// The check-in service in the test process, next to a real directory: both on 127.0.0.1:0, one
// real redis-server (as in production, each service with its own keys), real gRPC channels.
// The check-in domain runs on a fake clock so that tests can move through weeks of check-ins.
class CheckinTestServer {
 public:
  CheckinTestServer()
      : redis_(RedisOptions{directory_.redis_server().address()}, &metrics_),
        directory_client_(grpc::CreateChannel(absl::StrCat("127.0.0.1:", directory_.port()),
                                              grpc::InsecureChannelCredentials()),
                          {"checkin", peerwell::testing::kTestJwtSecret}, clock_),
        people_(directory_client_),
        store_(redis_),
        vault_(redis_, TestMasterKey(), clock_, kNoteKeys),
        audit_(redis_),
        pseudonyms_(TestPseudonymizer()),
        executor_(8, 1024),
        service_(store_, people_, vault_, audit_, pseudonyms_, clock_, executor_),
        authenticator_(TokenVerifier(peerwell::testing::kTestJwtSecret), directory_client_),
        runner_(executor_, authenticator_),
        pages_(PageTokenKey(peerwell::testing::kTestJwtSecret)),
        handler_(service_, runner_, pages_),
        host_(ServerHostOptions{"127.0.0.1:0"}, metrics_, redis_) {
    host_.AddService(&handler_);
    absl::Status started = host_.Start();
    if (!started.ok()) throw std::runtime_error(std::string(started.message()));
    stub_ = v1::CheckinService::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", host_.port()), grpc::InsecureChannelCredentials()));
  }
  ~CheckinTestServer() {
    host_.Shutdown();
    executor_.Shutdown();
  }

  v1::CheckinService::Stub& stub() { return *stub_; }
  directory::testing::DirectoryTestServer& directory() { return directory_; }
  RedisClient& redis() { return redis_; }
  peerwell::testing::FakeClock& clock() { return clock_; }
  DirectoryClient& directory_client() { return directory_client_; }
  // The domain itself, for what comes from events rather than calls (ErasePerson).
  CheckinService& service() { return service_; }
  DataKeyVault& vault() { return vault_; }

 private:
  directory::testing::DirectoryTestServer directory_;
  Metrics metrics_;
  RedisClient redis_;
  peerwell::testing::FakeClock clock_{absl::Now()};
  DirectoryClient directory_client_;
  DirectoryPeople people_;
  RedisCheckinStore store_;
  DataKeyVault vault_;
  AuditAppender audit_;
  HmacPseudonymizer pseudonyms_;
  BoundedExecutor executor_;
  CheckinService service_;
  Authenticator authenticator_;
  UnaryCallRunner runner_;
  PageTokenCodec pages_;
  CheckinHandler handler_;
  ServerHost host_;
  std::unique_ptr<v1::CheckinService::Stub> stub_;
};

}  // namespace peerwell::checkin::testing
