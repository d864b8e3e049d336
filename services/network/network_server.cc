#include "services/network/network_server.h"

#include "prometheus/gauge.h"
#include "services/common/auth.h"
#include "services/common/call.h"
#include "services/common/channel.h"
#include "services/common/data_key_vault.h"
#include "services/common/directory_changes.h"
#include "services/common/directory_client.h"
#include "services/common/encryption.h"
#include "services/common/events.h"
#include "services/common/log.h"
#include "services/common/metrics.h"
#include "services/common/paging.h"
#include "services/common/periodic.h"
#include "services/common/person_erasure.h"
#include "services/common/server.h"
#include "services/network/directory_people.h"
#include "services/network/live_delivery.h"
#include "services/network/network_handler.h"
#include "services/network/network_service.h"
#include "services/network/redis_network_store.h"

namespace peerwell::network {
namespace {

// Open Subscribe streams on this replica, for dashboards and the autoscaler's eyes: a replica
// holding most of the streams is the one to look at when deliveries slow down.
class StreamGauge {
 public:
  StreamGauge(Metrics& metrics, LiveHub& hub)
      : hub_(hub),
        streams_(prometheus::BuildGauge()
                     .Name("peerwell_network_subscribers")
                     .Help("Subscribe streams open on this replica.")
                     .Register(metrics.registry())
                     .Add({})),
        loop_(absl::Seconds(5), [this] { streams_.Set(static_cast<double>(hub_.subscribers())); }) {
  }

 private:
  LiveHub& hub_;
  prometheus::Gauge& streams_;
  PeriodicLoop loop_;  // last: it reads the members above
};

// The group "network" on the directory's events, which the service reads for erasures alone
// (the LiveHub follows the same stream without a group, for every replica's streams).
ConsumerOptions DirectoryEvents(const ServiceConfig& config) {
  return ServiceConsumerOptions(config, "directory", "network");
}

struct NetworkServer {
  NetworkServer(ServerRuntime& runtime, MasterKey master)
      : directory(ServiceChannel(runtime.config.directory_addr),
                  {"network", runtime.config.jwt_secret}, clock),
        directory_changes(runtime.config.redis, directory, clock),
        people(directory),
        store(runtime.redis),
        vault(runtime.redis, std::move(master), clock, kChannelKeys),
        service(store, people, vault, clock),
        authenticator(TokenVerifier(runtime.config.jwt_secret), directory),
        executor(runtime.config.worker_threads, 4096),
        runner(executor, authenticator),
        pages(PageTokenKey(runtime.config.jwt_secret)),
        hub(service, runtime.config.redis),
        handler(service, runner, pages, hub, executor, authenticator, clock),
        // Retention on every replica, every 10 minutes; removing what is gone already is a no-op.
        retention(absl::Minutes(10),
                  [this] { WarnIfFailed("retention sweep failed", service.ExpireMessages()); }),
        streams(runtime.metrics, hub),
        reporter(ServiceChannel(runtime.config.directory_addr), "network",
                 runtime.config.jwt_secret),
        erasures(runtime.config.redis, DirectoryEvents(runtime.config),
                 [this](const StreamEntry& entry) {
                   return HandlePersonErased(
                       entry, [this](const ErasedPerson& erased) { return Erase(erased); },
                       [this](const ErasedPerson& erased) { return reporter.Report(erased); });
                 }),
        erasure_backlog(runtime.metrics.registry(), runtime.redis, DirectoryEvents(runtime.config)),
        gauges(absl::Seconds(15), [this] {
          WarnIfFailed("consumer backlog gauges failed", erasure_backlog.Refresh());
        }) {
    hub.Start();
    erasures.Start();
  }
  // The hub, the consumer and the executor's threads use the members above them; stop them
  // before those go.
  ~NetworkServer() {
    erasures.Stop();
    hub.Stop();
    executor.Shutdown();
  }

  absl::Status Erase(const ErasedPerson& erased) {
    absl::Status status = service.ErasePerson(erased.organization_id, erased.person_id);
    // Whatever was cached about them goes too, so that nothing here acts for them any longer.
    if (status.ok()) directory.Forget(erased.organization_id, erased.person_id);
    return status;
  }

  SystemClock clock;
  DirectoryClient directory;
  DirectoryChangeFeed directory_changes;
  DirectoryPeople people;
  RedisNetworkStore store;
  DataKeyVault vault;
  NetworkService service;
  Authenticator authenticator;
  BoundedExecutor executor;
  UnaryCallRunner runner;
  PageTokenCodec pages;
  LiveHub hub;
  NetworkHandler handler;
  PeriodicLoop retention;
  StreamGauge streams;
  ErasureReporter reporter;
  ConsumerGroupRunner erasures;
  ConsumerBacklogGauges erasure_backlog;
  PeriodicLoop gauges;  // last: it steps over the members above
};

}  // namespace

ServiceDefaults NetworkDefaults() { return {"network", 50055, 9555}; }

absl::StatusOr<std::vector<std::shared_ptr<void>>> BuildNetworkServer(ServerRuntime& runtime,
                                                                      ServerHost& host) {
  if (runtime.config.master_key.empty()) {
    return absl::InvalidArgumentError(
        "PEERWELL_MASTER_KEY (or PEERWELL_MASTER_KEY_FILE) is required: messages are "
        "encrypted with it");
  }
  auto master = MasterKey::FromBase64(runtime.config.master_key);
  if (!master.ok()) return master.status();
  auto server = std::make_shared<network::NetworkServer>(runtime, *std::move(master));
  host.AddService(&server->handler);
  host.AddShutdownHook([hub = &server->hub] { hub->Stop(); });
  return std::vector<std::shared_ptr<void>>{server};
}

}  // namespace peerwell::network
