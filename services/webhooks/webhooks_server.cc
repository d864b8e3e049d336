#include "services/webhooks/webhooks_server.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "services/common/channel.h"
#include "services/common/directory_changes.h"
#include "services/common/directory_client.h"
#include "services/common/events.h"
#include "services/common/hmac_pseudonymizer.h"
#include "services/common/metrics.h"
#include "services/common/periodic.h"
#include "services/common/person_erasure.h"
#include "services/common/server.h"
#include "services/webhooks/redis_webhook_store.h"
#include "services/webhooks/webhook_poster.h"
#include "services/webhooks/webhooks_handler.h"
#include "services/webhooks/webhooks_mapping.h"
#include "services/webhooks/webhooks_service.h"

namespace peerwell::webhooks {
namespace {

// Attempts in flight per replica: each waits on a partner's server for up to the timeout, so a
// few slow receivers must not hold up everyone else's events.
constexpr int kDeliveryThreads = 4;
// How often an idle delivery thread looks for due deliveries: the first attempt of an event
// goes out within this of its being queued.
constexpr absl::Duration kDeliveryPoll = absl::Milliseconds(100);
// Deliveries one thread attempts in a row before it pauses for kDeliveryPoll.
constexpr int kDeliveriesPerStep = 16;

const std::vector<SettingSpec>& OwnSettings() {
  static const auto* specs = new std::vector<SettingSpec>{
      {"webhook_allow_private", "PEERWELL_WEBHOOK_ALLOW_PRIVATE", "false",
       "accept plain http and URLs on loopback, link-local or private addresses (tests and "
       "closed networks only)"},
      {"webhook_retry_base", "PEERWELL_WEBHOOK_RETRY_BASE", "5s",
       "the first retry's delay, doubled for each further retry, for 24 hours"},
      {"webhook_timeout", "PEERWELL_WEBHOOK_TIMEOUT", "10s",
       "how long one delivery attempt may take, connecting included"},
  };
  return *specs;
}

// The group "webhooks" on another service's event stream.
ConsumerOptions Events(const ServiceConfig& config, absl::string_view source) {
  return ServiceConsumerOptions(config, source, "webhooks");
}

struct WebhookSettings {
  bool allow_private = false;
  absl::Duration retry_base;
  absl::Duration timeout;
};

absl::StatusOr<WebhookSettings> ReadWebhookSettings(const ServiceConfig& config) {
  WebhookSettings settings;
  std::string allow = absl::AsciiStrToLower(config.own_settings.at("webhook_allow_private"));
  if (allow != "true" && allow != "false") {
    return absl::InvalidArgumentError(
        "--webhook_allow_private (PEERWELL_WEBHOOK_ALLOW_PRIVATE): expected true or false");
  }
  settings.allow_private = allow == "true";
  if (!absl::ParseDuration(config.own_settings.at("webhook_retry_base"), &settings.retry_base) ||
      settings.retry_base < absl::Milliseconds(100) || settings.retry_base > absl::Hours(1)) {
    return absl::InvalidArgumentError(
        "--webhook_retry_base (PEERWELL_WEBHOOK_RETRY_BASE): expected a duration from 100ms to 1h");
  }
  if (!absl::ParseDuration(config.own_settings.at("webhook_timeout"), &settings.timeout) ||
      settings.timeout < absl::Milliseconds(100) || settings.timeout > absl::Minutes(1)) {
    return absl::InvalidArgumentError(
        "--webhook_timeout (PEERWELL_WEBHOOK_TIMEOUT): expected a duration from 100ms to 1m");
  }
  return settings;
}

struct WebhooksServer {
  WebhooksServer(ServerRuntime& runtime, HmacPseudonymizer pseudonymizer, WebhookSettings settings)
      : directory(ServiceChannel(runtime.config.directory_addr),
                  {"webhooks", runtime.config.jwt_secret}, clock),
        directory_changes(runtime.config.redis, directory, clock),
        reporter(ServiceChannel(runtime.config.directory_addr), "webhooks",
                 runtime.config.jwt_secret),
        consent(directory),
        store(runtime.redis),
        keys(std::move(pseudonymizer)),
        poster({settings.allow_private, settings.timeout}),
        service(store, keys, consent, encoder, poster, clock,
                {settings.allow_private, settings.retry_base,
                 // Longer than any attempt, so that only a replica that died hands one on.
                 settings.timeout + absl::Seconds(10), nullptr}),
        authenticator(TokenVerifier(runtime.config.jwt_secret), directory),
        executor(runtime.config.worker_threads, 4096),
        runner(executor, authenticator),
        pages(PageTokenKey(runtime.config.jwt_secret)),
        handler(service, runner, pages),
        // A whole batch at once, in the stream's order (without a lane key, one round): its
        // organisations' webhooks read together, rather than one read (and one thread hand-off)
        // per event. As before, an event whose queuing failed holds up none after it.
        alert_events(runtime.config.redis, Events(runtime.config, "alerts"),
                     [this](const std::vector<const StreamEntry*>& entries) {
                       return QueueAlertEvents(entries);
                     }),
        directory_events(runtime.config.redis, Events(runtime.config, "directory"),
                         [this](const StreamEntry& entry) -> absl::Status {
                           const std::string type = entry.Get("type");
                           const std::string org = entry.Get("organization_id");
                           if (type == kPersonErasedEvent) {
                             return HandleErasure(entry);
                           }
                           // A withdrawn consent needs nothing here: every replica's
                           // directory_changes forgets it as it is announced.
                           if (type == "api_key.revoked") {
                             return service.ForgetApiKey(org, entry.Get("api_key_id"));
                           }
                           return absl::OkStatus();
                         }),
        alert_backlog(runtime.metrics.registry(), runtime.redis, Events(runtime.config, "alerts")),
        directory_backlog(runtime.metrics.registry(), runtime.redis,
                          Events(runtime.config, "directory")),
        gauges(absl::Seconds(15), [this] {
          // Each on its own: a failure to read one must not leave the other stale.
          WarnIfFailed("consumer backlog gauges failed", alert_backlog.Refresh());
          WarnIfFailed("consumer backlog gauges failed", directory_backlog.Refresh());
        }) {
    alert_events.Start();
    directory_events.Start();
    for (int i = 0; i < kDeliveryThreads; ++i) {
      deliveries.push_back(std::make_unique<PeriodicLoop>(kDeliveryPoll, [this] {
        for (int i = 0; i < kDeliveriesPerStep; ++i) {
          auto attempted = service.DeliverDue(1);
          WarnIfFailed("webhook delivery failed", attempted.status());
          if (!attempted.ok() || *attempted == 0) return;
        }
      }));
    }
  }
  ~WebhooksServer() {
    deliveries.clear();  // each finishes the attempt in hand
    alert_events.Stop();
    directory_events.Stop();
    executor.Shutdown();
  }

  // A batch of alert events: each queued, or what was wrong with it.
  std::vector<absl::Status> QueueAlertEvents(const std::vector<const StreamEntry*>& entries) {
    std::vector<absl::Status> statuses(entries.size());
    std::vector<AlertEvent> events;
    std::vector<size_t> position;  // of each event's entry
    for (size_t i = 0; i < entries.size(); ++i) {
      auto event = AlertEventFromEntry(*entries[i]);
      if (!event.ok()) {
        statuses[i] = event.status();
        continue;
      }
      events.push_back(*std::move(event));
      position.push_back(i);
    }
    std::vector<absl::Status> queued = service.QueueAlertEvents(events);
    for (size_t e = 0; e < events.size(); ++e) statuses[position[e]] = std::move(queued[e]);
    return statuses;
  }

  // A person.erased entry: the person erased here, then reported to the directory.
  absl::Status HandleErasure(const StreamEntry& entry) {
    return HandlePersonErased(
        entry,
        [this](const ErasedPerson& erased) {
          // Forgotten first: an alert event about the person handled meanwhile then asks the
          // directory, which no longer knows them, instead of queuing on a cached consent behind
          // the erasing.
          directory.Forget(erased.organization_id, erased.person_id);
          return service.ErasePerson(erased.organization_id, erased.person_id);
        },
        [this](const ErasedPerson& erased) { return reporter.Report(erased); });
  }

  SystemClock clock;
  DirectoryClient directory;
  DirectoryChangeFeed directory_changes;
  ErasureReporter reporter;
  DirectoryPartnerConsent consent;
  RedisWebhookStore store;
  HmacPseudonymizer keys;
  JsonPayloadEncoder encoder;
  WebhookPoster poster;
  WebhookService service;
  Authenticator authenticator;
  BoundedExecutor executor;
  UnaryCallRunner runner;
  PageTokenCodec pages;
  WebhooksHandler handler;
  ConsumerGroupRunner alert_events;
  ConsumerGroupRunner directory_events;
  // For the suite's own alerting rules, as every service's consumer groups.
  ConsumerBacklogGauges alert_backlog;
  ConsumerBacklogGauges directory_backlog;
  PeriodicLoop gauges;
  std::vector<std::unique_ptr<PeriodicLoop>> deliveries;
};

}  // namespace

ServiceDefaults WebhooksDefaults() { return {"webhooks", 50056, 9557, OwnSettings()}; }

absl::StatusOr<std::vector<std::shared_ptr<void>>> BuildWebhooksServer(ServerRuntime& runtime,
                                                                       ServerHost& host) {
  auto pseudonymizer = HmacPseudonymizer::Required(
      runtime.config.pseudonym_key,
      "payloads name volunteers by pseudonyms, and signing secrets derive from it");
  if (!pseudonymizer.ok()) return pseudonymizer.status();
  auto settings = webhooks::ReadWebhookSettings(runtime.config);
  if (!settings.ok()) return settings.status();
  auto server =
      std::make_shared<webhooks::WebhooksServer>(runtime, *std::move(pseudonymizer), *settings);
  host.AddService(&server->handler);
  return std::vector<std::shared_ptr<void>>{server};
}

}  // namespace peerwell::webhooks
