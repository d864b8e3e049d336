#include <condition_variable>
#include <mutex>
#include <thread>

#include "services/common/channel.h"
#include "services/common/directory_client.h"
#include "services/common/events.h"
#include "services/common/log.h"
#include "services/common/metrics.h"
#include "services/common/paging.h"
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
      : service_(service), redis_(redis), consumers_(std::move(consumers)) {
    for (const ConsumerOptions& options : consumers_) {
      backlogs_.push_back(std::make_unique<ConsumerBacklogGauges>(metrics.registry(), options));
    }
    thread_ = std::thread([this] { Run(); });
  }
  ~PeriodicSweep() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }

 private:
  void Run() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
      lock.unlock();
      Report("supervision sweep failed", service_.Sweep());
      // Each gauge on its own: a failure to read one must not leave the others stale.
      for (size_t i = 0; i < consumers_.size(); ++i) {
        auto backlog = ReadConsumerBacklog(redis_, consumers_[i]);
        if (backlog.ok()) {
          backlogs_[i]->Set(*backlog);
        } else {
          Report("consumer backlog gauges failed", backlog.status());
        }
      }
      lock.lock();
      wake_.wait_for(lock, std::chrono::seconds(15), [this] { return stopping_; });
    }
  }

  static void Report(const char* what, const absl::Status& status) {
    if (!status.ok()) {
      Log(Severity::kWarning, what, {Field("error", std::string(status.message()))});
    }
  }

  SupervisionService& service_;
  RedisClient& redis_;
  const std::vector<ConsumerOptions> consumers_;
  std::vector<std::unique_ptr<ConsumerBacklogGauges>> backlogs_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

ConsumerOptions Options(const ServiceConfig& config, const std::string& source) {
  ConsumerOptions options;
  options.claim_min_idle = config.event_claim_idle;
  options.claim_interval = std::min(absl::Seconds(5), config.event_claim_idle);
  options.stream = EventStreamKey(source);
  options.group = "supervision";
  options.consumer = ProcessConsumerName();
  return options;
}

struct SupervisionServer {
  explicit SupervisionServer(ServerRuntime& runtime)
      : directory(ServiceChannel(runtime.config.directory_addr),
                  {"supervision", runtime.config.jwt_secret}, clock),
        people(directory),
        store(runtime.redis),
        service(store, people, clock),
        authenticator(TokenVerifier(runtime.config.jwt_secret), &directory),
        executor(runtime.config.worker_threads, 4096),
        runner(executor, authenticator),
        pages(PageTokenKey(runtime.config.jwt_secret)),
        handler(service, runner, pages),
        incidents(runtime.config.redis, Options(runtime.config, "checkin"),
                  [this](const StreamEntry& entry) {
                    return HandleCheckinServiceEvent(service, entry);
                  }),
        organizations(runtime.config.redis, Options(runtime.config, "directory"),
                      [this](const StreamEntry& entry) {
                        return HandleDirectoryEvent(service, entry);
                      }),
        sweep(service, runtime.redis, runtime.metrics,
              {Options(runtime.config, "checkin"), Options(runtime.config, "directory")}) {
    incidents.Start();
    organizations.Start();
  }
  ~SupervisionServer() {
    incidents.Stop();
    organizations.Stop();
    executor.Shutdown();
  }

  SystemClock clock;
  DirectoryClient directory;
  DirectoryPeople people;
  RedisSupervisionStore store;
  SupervisionService service;
  Authenticator authenticator;
  BoundedExecutor executor;
  UnaryCallRunner runner;
  PageTokenCodec pages;
  SupervisionHandler handler;
  ConsumerGroupRunner incidents;
  ConsumerGroupRunner organizations;
  PeriodicSweep sweep;
};

}  // namespace
}  // namespace peerwell::supervision

int main(int argc, char** argv) {
  using namespace peerwell;
  return RunServerMain(
      argc, argv, {"supervision", 50054, 9554},
      [](ServerRuntime& runtime,
         ServerHost& host) -> absl::StatusOr<std::vector<std::shared_ptr<void>>> {
        auto server = std::make_shared<supervision::SupervisionServer>(runtime);
        host.AddService(&server->handler);
        return std::vector<std::shared_ptr<void>>{server};
      });
}
