#include "services/supervision/supervision_server.h"

#include "services/common/auth.h"
#include "services/common/channel.h"
#include "services/common/directory_changes.h"
#include "services/common/directory_client.h"
#include "services/common/events.h"
#include "services/common/log.h"
#include "services/common/metrics.h"
#include "services/common/paging.h"
#include "services/common/periodic.h"
#include "services/common/person_erasure.h"
#include "services/common/server.h"
#include "services/supervision/directory_people.h"
#include "services/supervision/event_mapping.h"
#include "services/supervision/redis_supervision_store.h"
#include "services/supervision/supervision_handler.h"
#include "services/supervision/supervision_service.h"

namespace peerwell::supervision {
namespace {

// The sweep (series top-ups, lapsed offers, overdue supervision) and the consumer groups'
// backlog gauges for the suite's own alerting rules, every 15 seconds on every replica; the
// store makes each step of the sweep happen once.
class PeriodicSweep {
 public:
  PeriodicSweep(SupervisionService& service, RedisClient& redis, Metrics& metrics,
                std::vector<ConsumerOptions> consumers)
      : service_(service) {
    for (ConsumerOptions& options : consumers) {
      backlogs_.push_back(
          std::make_unique<ConsumerBacklogGauges>(metrics.registry(), redis, std::move(options)));
    }
    loop_ = std::make_unique<PeriodicLoop>(absl::Seconds(15), [this] { Step(); });
  }

 private:
  void Step() {
    WarnIfFailed("supervision sweep failed", service_.Sweep());
    // Each gauge on its own: a failure to read one must not leave the others stale.
    for (auto& backlog : backlogs_) {
      WarnIfFailed("consumer backlog gauges failed", backlog->Refresh());
    }
  }

  SupervisionService& service_;
  std::vector<std::unique_ptr<ConsumerBacklogGauges>> backlogs_;
  std::unique_ptr<PeriodicLoop> loop_;  // last: it steps over the members above
};

// The group "supervision" on another service's event stream.
ConsumerOptions Events(const ServiceConfig& config, absl::string_view source) {
  return ServiceConsumerOptions(config, source, "supervision");
}

struct SupervisionServer {
  explicit SupervisionServer(ServerRuntime& runtime)
      : directory(ServiceChannel(runtime.config.directory_addr),
                  {"supervision", runtime.config.jwt_secret}, clock),
        directory_changes(runtime.config.redis, directory, clock),
        people(directory),
        store(runtime.redis),
        service(store, people, clock, secrets),
        authenticator(TokenVerifier(runtime.config.jwt_secret), directory),
        executor(runtime.config.worker_threads, 4096),
        runner(executor, authenticator),
        pages(PageTokenKey(runtime.config.jwt_secret)),
        handler(service, runner, pages),
        incidents(
            runtime.config.redis, Events(runtime.config, "checkin"),
            [this](const StreamEntry& entry) { return HandleCheckinServiceEvent(service, entry); }),
        reporter(ServiceChannel(runtime.config.directory_addr), "supervision",
                 runtime.config.jwt_secret),
        organizations(runtime.config.redis, Events(runtime.config, "directory"),
                      [this](const StreamEntry& entry) {
                        return HandleDirectoryEvent(
                            service, entry, [this](const ErasedPerson& e) { return Erase(e); },
                            [this](const ErasedPerson& e) { return reporter.Report(e); });
                      }),
        sweep(service, runtime.redis, runtime.metrics,
              {Events(runtime.config, "checkin"), Events(runtime.config, "directory")}) {
    incidents.Start();
    organizations.Start();
  }
  ~SupervisionServer() {
    incidents.Stop();
    organizations.Stop();
    executor.Shutdown();
  }

  // The directory's cached answers about the person go too, so that nothing here goes on
  // treating them as known (a debrief for an incident of theirs read again, a feed of theirs).
  absl::Status Erase(const ErasedPerson& erased) {
    if (auto status = service.ErasePerson(erased.organization_id, erased.person_id); !status.ok()) {
      return status;
    }
    directory.Forget(erased.organization_id, erased.person_id);
    return absl::OkStatus();
  }

  SystemClock clock;
  DirectoryClient directory;
  DirectoryChangeFeed directory_changes;
  DirectoryPeople people;
  RedisSupervisionStore store;
  OpenSslSecrets secrets;  // calendar feed tokens
  SupervisionService service;
  Authenticator authenticator;
  BoundedExecutor executor;
  UnaryCallRunner runner;
  PageTokenCodec pages;
  SupervisionHandler handler;
  ConsumerGroupRunner incidents;
  ErasureReporter reporter;
  ConsumerGroupRunner organizations;  // the directory's events: organisations and erasures
  PeriodicSweep sweep;
};

}  // namespace

ServiceDefaults SupervisionDefaults() { return {"supervision", 50054, 9554}; }

absl::StatusOr<std::vector<std::shared_ptr<void>>> BuildSupervisionServer(ServerRuntime& runtime,
                                                                          ServerHost& host) {
  auto server = std::make_shared<supervision::SupervisionServer>(runtime);
  host.AddService(&server->handler);
  return std::vector<std::shared_ptr<void>>{server};
}

}  // namespace peerwell::supervision
