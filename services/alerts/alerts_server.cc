#include "services/alerts/alerts_server.h"

#include "services/alerts/alerts_handler.h"
#include "services/alerts/alerts_service.h"
#include "services/alerts/directory_volunteers.h"
#include "services/alerts/event_mapping.h"
#include "services/alerts/redis_alert_store.h"
#include "services/alerts/risk_engine.h"
#include "services/common/audit.h"
#include "services/common/channel.h"
#include "services/common/data_key_vault.h"
#include "services/common/directory_changes.h"
#include "services/common/directory_client.h"
#include "services/common/events.h"
#include "services/common/log.h"
#include "services/common/metrics.h"
#include "services/common/periodic.h"
#include "services/common/person_erasure.h"
#include "services/common/server.h"

namespace peerwell::alerts {
namespace {

// What the suite's own alerting rules watch (helm/peerwell's PrometheusRule): how far the
// event consumers are behind, and escalations overdue for longer than a minute.
class HealthGauges {
 public:
  HealthGauges(Metrics& metrics, RedisClient& redis, ConsumerOptions events,
               ConsumerOptions supervision_events, ConsumerOptions directory_events,
               Escalator& escalator)
      : escalator_(escalator),
        backlog_(metrics.registry(), redis, std::move(events)),
        supervision_backlog_(metrics.registry(), redis, std::move(supervision_events)),
        directory_backlog_(metrics.registry(), redis, std::move(directory_events)),
        overdue_(prometheus::BuildGauge()
                     .Name("peerwell_alerts_escalations_overdue")
                     .Help("Alerts whose acknowledge deadline passed over a minute ago and that "
                           "are still waiting to be escalated.")
                     .Register(metrics.registry())
                     .Add({})) {}

  // Each gauge on its own: a failure to read one must not leave the other stale.
  absl::Status Refresh() {
    absl::Status status = backlog_.Refresh();
    status.Update(supervision_backlog_.Refresh());
    status.Update(directory_backlog_.Refresh());
    if (auto overdue = escalator_.Overdue(absl::Minutes(1)); overdue.ok()) {
      overdue_.Set(static_cast<double>(*overdue));
    } else {
      status.Update(overdue.status());
    }
    return status;
  }

 private:
  Escalator& escalator_;
  ConsumerBacklogGauges backlog_;
  ConsumerBacklogGauges supervision_backlog_;
  ConsumerBacklogGauges directory_backlog_;
  prometheus::Gauge& overdue_;
};

// The periodic work of the service: acknowledge deadlines four times a second, missed
// check-ins once a minute, the health gauges every 15 seconds. Every replica runs it; the store
// makes each step happen once.
class PeriodicWork {
 public:
  PeriodicWork(Escalator& escalator, RiskEngine& engine, HealthGauges& gauges)
      : escalator_(escalator),
        engine_(engine),
        gauges_(gauges),
        loop_(absl::Milliseconds(250), [this] { Step(); }) {}

 private:
  void Step() {
    WarnIfFailed("escalation sweep failed", escalator_.EscalateDue().status());
    if (absl::Now() >= next_sweep_) {
      WarnIfFailed("missed check-in sweep failed", engine_.SweepMissedCheckins().status());
      next_sweep_ = absl::Now() + absl::Minutes(1);
    }
    if (absl::Now() >= next_gauges_) {
      WarnIfFailed("health gauges failed", gauges_.Refresh());
      next_gauges_ = absl::Now() + absl::Seconds(15);
    }
  }

  Escalator& escalator_;
  RiskEngine& engine_;
  HealthGauges& gauges_;
  // Only the loop's thread reads and writes these.
  absl::Time next_sweep_ = absl::InfinitePast();
  absl::Time next_gauges_ = absl::InfinitePast();
  PeriodicLoop loop_;  // last: it starts stepping as soon as it is built
};

struct AlertsServer {
  AlertsServer(ServerRuntime& runtime, MasterKey master)
      : directory(ServiceChannel(runtime.config.directory_addr),
                  {"alerts", runtime.config.jwt_secret}, clock),
        directory_changes(runtime.config.redis, directory, clock),
        volunteers(directory),
        store(runtime.redis),
        audit(runtime.redis),
        vault(runtime.redis, std::move(master), clock, kResolutionNoteKeys),
        engine(store, volunteers, clock),
        escalator(store, clock),
        service(store, volunteers, audit, vault, clock),
        authenticator(TokenVerifier(runtime.config.jwt_secret), directory),
        executor(runtime.config.worker_threads, 4096),
        runner(executor, authenticator),
        tokens(PageTokenKey(runtime.config.jwt_secret)),
        handler(service, runner, authenticator, tokens, runtime.config.redis, clock),
        consumer(runtime.config.redis, Options(runtime.config),
                 [this](const std::vector<const StreamEntry*>& entries) {
                   return HandleCheckinServiceEvents(engine, entries);
                 }),
        supervision_events(runtime.config.redis, SupervisionOptions(runtime.config),
                           [this](const StreamEntry& entry) {
                             return HandleSupervisionServiceEvent(engine, entry);
                           }),
        reporter(ServiceChannel(runtime.config.directory_addr), "alerts",
                 runtime.config.jwt_secret),
        erasures(runtime.config.redis, DirectoryOptions(runtime.config),
                 [this](const StreamEntry& entry) {
                   return HandlePersonErased(
                       entry, [this](const ErasedPerson& erased) { return Erase(erased); },
                       [this](const ErasedPerson& erased) { return reporter.Report(erased); });
                 }),
        gauges(runtime.metrics, runtime.redis, Options(runtime.config),
               SupervisionOptions(runtime.config), DirectoryOptions(runtime.config), escalator),
        periodic(escalator, engine, gauges) {
    consumer.Start();
    supervision_events.Start();
    erasures.Start();
  }
  ~AlertsServer() {
    consumer.Stop();
    supervision_events.Stop();
    erasures.Stop();
    executor.Shutdown();
  }

  static ConsumerOptions Options(const ServiceConfig& config) {
    ConsumerOptions options = ServiceConsumerOptions(config, "checkin", "alerts");
    // A volunteer's events in order, different volunteers' together: a round of a batch (one
    // event of each volunteer) reads in one Redis round trip and writes in one more, however
    // many volunteers it has. An entry without a volunteer (malformed) holds up no other.
    options.lane_key = [](const StreamEntry& entry) {
      std::string volunteer = entry.Get("volunteer_id");
      return volunteer.empty() ? absl::StrCat(entry.stream, " ", entry.id) : volunteer;
    };
    return options;
  }

  // The supervision service's events, in turn: a few an hour per organisation.
  static ConsumerOptions SupervisionOptions(const ServiceConfig& config) {
    return ServiceConsumerOptions(config, "supervision", "alerts");
  }

  // The directory's events, for person.erased alone.
  static ConsumerOptions DirectoryOptions(const ServiceConfig& config) {
    return ServiceConsumerOptions(config, "directory", "alerts");
  }

  absl::Status Erase(const ErasedPerson& erased) {
    // Forgotten first: the directory deleted the person before announcing it, so from here on
    // this replica's risk engine hears NOT_FOUND for them (errors are not cached) and drops any
    // event about them that is handled while or after the erasure runs.
    directory.Forget(erased.organization_id, erased.person_id);
    return service.ErasePerson(erased.organization_id, erased.person_id);
  }

  SystemClock clock;
  DirectoryClient directory;
  DirectoryChangeFeed directory_changes;
  DirectoryVolunteers volunteers;
  RedisAlertStore store;
  AuditAppender audit;
  DataKeyVault vault;
  RiskEngine engine;
  Escalator escalator;
  AlertService service;
  Authenticator authenticator;
  BoundedExecutor executor;
  UnaryCallRunner runner;
  PageTokenCodec tokens;
  AlertsHandler handler;
  ConsumerGroupRunner consumer;
  ConsumerGroupRunner supervision_events;
  ErasureReporter reporter;
  ConsumerGroupRunner erasures;
  HealthGauges gauges;
  PeriodicWork periodic;
};

}  // namespace

ServiceDefaults AlertsDefaults() { return {"alerts", 50053, 9553}; }

absl::StatusOr<std::vector<std::shared_ptr<void>>> BuildAlertsServer(ServerRuntime& runtime,
                                                                     ServerHost& host) {
  if (runtime.config.master_key.empty()) {
    return absl::InvalidArgumentError(
        "PEERWELL_MASTER_KEY (or PEERWELL_MASTER_KEY_FILE) is required: resolution notes "
        "are encrypted with it");
  }
  auto master = MasterKey::FromBase64(runtime.config.master_key);
  if (!master.ok()) return master.status();
  auto server = std::make_shared<alerts::AlertsServer>(runtime, *std::move(master));
  host.AddService(&server->handler);
  host.AddShutdownHook([handler = &server->handler] { handler->StopWatches(); });
  return std::vector<std::shared_ptr<void>>{server};
}

}  // namespace peerwell::alerts
