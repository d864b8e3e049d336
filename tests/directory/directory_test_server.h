#pragma once

#include <memory>
#include <string>

#include "grpcpp/create_channel.h"
#include "peerwell/directory/v1/directory.grpc.pb.h"
#include "services/common/audit.h"
#include "services/common/auth.h"
#include "services/common/call.h"
#include "services/common/metrics.h"
#include "services/common/paging.h"
#include "services/common/server.h"
#include "services/directory/directory_handler.h"
#include "services/directory/directory_service.h"
#include "services/directory/person_records_client.h"
#include "services/directory/redis_directory_store.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/tokens.h"

namespace peerwell::directory::testing {

namespace v1 = ::peerwell::directory::v1;

// The whole directory in the test process: a real redis-server, the real store, domain and
// handler, served on 127.0.0.1:0 and reached through a real gRPC channel.
class DirectoryTestServer {
 public:
  DirectoryTestServer()
      : redis_(RedisOptions{redis_server_.address()}, &metrics_),
        secrets_(RetrySealingKey(peerwell::testing::kTestJwtSecret)),
        store_(redis_),
        audit_(redis_),
        service_tokens_("directory", peerwell::testing::kTestJwtSecret),
        // Alone: no other service holds data here, so an export is the directory's part.
        other_services_({}, service_tokens_),
        service_(store_, clock_, audit_, secrets_, other_services_),
        api_keys_(service_),
        authenticator_(TokenVerifier(peerwell::testing::kTestJwtSecret), api_keys_),
        executor_(8, 1024),
        runner_(executor_, authenticator_),
        pages_(PageTokenKey(peerwell::testing::kTestJwtSecret)),
        handler_(service_, runner_, pages_),
        host_(ServerHostOptions{"127.0.0.1:0"}, metrics_, redis_) {
    host_.AddService(&handler_);
    absl::Status started = host_.Start();
    if (!started.ok()) throw std::runtime_error(std::string(started.message()));
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", host_.port()),
                                   grpc::InsecureChannelCredentials());
    stub_ = v1::DirectoryService::NewStub(channel_);
  }
  ~DirectoryTestServer() { host_.Shutdown(); }

  v1::DirectoryService::Stub& stub() { return *stub_; }
  RedisClient& redis() { return redis_; }
  peerwell::testing::RedisServer& redis_server() { return redis_server_; }
  int port() const { return host_.port(); }

 private:
  peerwell::testing::RedisServer redis_server_;
  Metrics metrics_;
  RedisClient redis_;
  SystemClock clock_;
  OpenSslSecrets secrets_;
  RedisDirectoryStore store_;
  AuditAppender audit_;
  ServiceTokens service_tokens_;
  PersonRecordsClient other_services_;
  DirectoryService service_;
  DirectoryCredentials api_keys_;
  Authenticator authenticator_;
  BoundedExecutor executor_;
  UnaryCallRunner runner_;
  PageTokenCodec pages_;
  DirectoryHandler handler_;
  ServerHost host_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::DirectoryService::Stub> stub_;
};

}  // namespace peerwell::directory::testing
