#pragma once

#include <memory>
#include <vector>

#include "services/common/data_key_vault.h"
#include "services/common/directory_client.h"
#include "services/common/events.h"
#include "services/common/person_erasure.h"
#include "services/network/directory_people.h"
#include "services/network/live_delivery.h"
#include "services/network/network_handler.h"
#include "services/network/redis_network_store.h"
#include "tests/directory/directory_test_server.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/tokens.h"

namespace peerwell::network::testing {

namespace v1 = ::peerwell::network::v1;

// One replica of the network service in the test process: its own Redis client, directory
// client, hub, consumer of the directory's erasures (as network_server.cc wires it, a consumer
// of the group "network" each) and gRPC server on 127.0.0.1:0, sharing the redis-server, the
// directory and the fake clock with the other replicas.
class NetworkReplica {
 public:
  NetworkReplica(const RedisAddress& redis_address, int directory_port, const Clock& clock,
                 Subscription::Options options)
      : redis_(RedisOptions{redis_address}, &metrics_),
        directory_client_(grpc::CreateChannel(absl::StrCat("127.0.0.1:", directory_port),
                                              grpc::InsecureChannelCredentials()),
                          {"network", peerwell::testing::kTestJwtSecret}, clock),
        people_(directory_client_),
        store_(redis_),
        vault_(redis_, *MasterKey::FromBase64(peerwell::testing::kTestMasterKey), clock,
               kChannelKeys),
        service_(store_, people_, vault_, clock),
        authenticator_(TokenVerifier(peerwell::testing::kTestJwtSecret), directory_client_),
        executor_(16, 4096),
        runner_(executor_, authenticator_),
        pages_(PageTokenKey(peerwell::testing::kTestJwtSecret)),
        hub_(service_, redis_address),
        handler_(service_, runner_, pages_, hub_, executor_, authenticator_, clock, options),
        host_(ServerHostOptions{"127.0.0.1:0"}, metrics_, redis_),
        reporter_(grpc::CreateChannel(absl::StrCat("127.0.0.1:", directory_port),
                                      grpc::InsecureChannelCredentials()),
                  "network", peerwell::testing::kTestJwtSecret) {
    hub_.Start();
    host_.AddService(&handler_);
    host_.AddShutdownHook([this] { hub_.Stop(); });
    absl::Status started = host_.Start();
    if (!started.ok()) throw std::runtime_error(std::string(started.message()));
    stub_ = v1::PeerNetworkService::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", host_.port()), grpc::InsecureChannelCredentials()));
    ConsumerOptions erasures;
    erasures.source = "directory";
    erasures.group = "network";
    erasures.consumer = absl::StrCat("network-", host_.port());
    erasures_ = std::make_unique<ConsumerGroupRunner>(
        redis_address, erasures, [this](const StreamEntry& entry) {
          return HandlePersonErased(
              entry,
              [this](const ErasedPerson& erased) {
                absl::Status status =
                    service_.ErasePerson(erased.organization_id, erased.person_id);
                if (status.ok()) directory_client_.Forget(erased.organization_id, erased.person_id);
                return status;
              },
              [this](const ErasedPerson& erased) { return reporter_.Report(erased); });
        });
    erasures_->Start();
  }
  ~NetworkReplica() { Shutdown(); }

  // Ends every stream (UNAVAILABLE) and stops serving, as at SIGTERM.
  void Shutdown() {
    if (stopped_) return;
    stopped_ = true;
    erasures_->Stop();
    host_.Shutdown();
    hub_.Stop();
    executor_.Shutdown();
  }

  v1::PeerNetworkService::Stub& stub() { return *stub_; }
  int port() const { return host_.port(); }
  NetworkService& service() { return service_; }
  LiveHub& hub() { return hub_; }

 private:
  Metrics metrics_;
  RedisClient redis_;
  DirectoryClient directory_client_;
  DirectoryPeople people_;
  RedisNetworkStore store_;
  DataKeyVault vault_;
  NetworkService service_;
  Authenticator authenticator_;
  BoundedExecutor executor_;
  UnaryCallRunner runner_;
  PageTokenCodec pages_;
  LiveHub hub_;
  NetworkHandler handler_;
  ServerHost host_;
  ErasureReporter reporter_;
  std::unique_ptr<ConsumerGroupRunner> erasures_;  // once the port names its consumer
  std::unique_ptr<v1::PeerNetworkService::Stub> stub_;
  bool stopped_ = false;
};

// Two replicas of the network service next to a real directory and one real redis-server, all
// on loopback; the network runs on a fake clock starting at `start` (quiet hours, retention).
class NetworkTestServer {
 public:
  explicit NetworkTestServer(absl::Time start, Subscription::Options options = {})
      : clock_(start), redis_(RedisOptions{directory_.redis_server().address()}) {
    for (int i = 0; i < 2; ++i) {
      replicas_.push_back(std::make_unique<NetworkReplica>(directory_.redis_server().address(),
                                                           directory_.port(), clock_, options));
    }
  }

  NetworkReplica& replica(int index) { return *replicas_[index]; }
  v1::PeerNetworkService::Stub& stub() { return replicas_[0]->stub(); }
  directory::testing::DirectoryTestServer& directory() { return directory_; }
  RedisClient& redis() { return redis_; }
  peerwell::testing::FakeClock& clock() { return clock_; }

 private:
  directory::testing::DirectoryTestServer directory_;
  peerwell::testing::FakeClock clock_;
  RedisClient redis_;
  std::vector<std::unique_ptr<NetworkReplica>> replicas_;
};

}  // namespace peerwell::network::testing
