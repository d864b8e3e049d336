#include "services/checkin/checkin_server.h"

#include "services/checkin/checkin_handler.h"
#include "services/checkin/checkin_service.h"
#include "services/checkin/directory_people.h"
#include "services/checkin/redis_checkin_store.h"
#include "services/common/audit.h"
#include "services/common/auth.h"
#include "services/common/call.h"
#include "services/common/channel.h"
#include "services/common/data_key_vault.h"
#include "services/common/directory_changes.h"
#include "services/common/directory_client.h"
#include "services/common/encryption.h"
#include "services/common/events.h"
#include "services/common/hmac_pseudonymizer.h"
#include "services/common/metrics.h"
#include "services/common/paging.h"
#include "services/common/periodic.h"
#include "services/common/person_erasure.h"
#include "services/common/server.h"

namespace peerwell::checkin {
namespace {

// The group "checkin" on the directory's events, which the service reads for erasures alone.
ConsumerOptions DirectoryEvents(const ServiceConfig& config) {
  return ServiceConsumerOptions(config, "directory", "checkin");
}

struct CheckinServer {
  CheckinServer(ServerRuntime& runtime, MasterKey master, HmacPseudonymizer pseudonymizer)
      : directory(ServiceChannel(runtime.config.directory_addr),
                  {"checkin", runtime.config.jwt_secret}, clock),
        directory_changes(runtime.config.redis, directory, clock),
        people(directory),
        store(runtime.redis),
        vault(runtime.redis, std::move(master), clock, kNoteKeys),
        audit(runtime.redis),
        pseudonyms(std::move(pseudonymizer)),
        executor(runtime.config.worker_threads, 4096),
        service(store, people, vault, audit, pseudonyms, clock, executor),
        authenticator(TokenVerifier(runtime.config.jwt_secret), directory),
        runner(executor, authenticator),
        pages(PageTokenKey(runtime.config.jwt_secret)),
        handler(service, runner, pages),
        reporter(ServiceChannel(runtime.config.directory_addr), "checkin",
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
    erasures.Start();
  }
  // The executor's threads use the members below it; stop them before those go.
  ~CheckinServer() {
    erasures.Stop();
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
  RedisCheckinStore store;
  DataKeyVault vault;
  AuditAppender audit;
  HmacPseudonymizer pseudonyms;
  BoundedExecutor executor;  // before the service, which hands it replayed requests
  CheckinService service;
  Authenticator authenticator;
  UnaryCallRunner runner;
  PageTokenCodec pages;
  CheckinHandler handler;
  ErasureReporter reporter;
  ConsumerGroupRunner erasures;
  // The group's backlog, every 15 seconds, for the suite's alerting rules: an erasure that does
  // not go through shows as lag or dead letters.
  ConsumerBacklogGauges erasure_backlog;
  PeriodicLoop gauges;  // last: it steps over the members above
};

}  // namespace

ServiceDefaults CheckinDefaults() { return {"checkin", 50052, 9552}; }

absl::StatusOr<std::vector<std::shared_ptr<void>>> BuildCheckinServer(ServerRuntime& runtime,
                                                                      ServerHost& host) {
  if (runtime.config.master_key.empty()) {
    return absl::InvalidArgumentError(
        "PEERWELL_MASTER_KEY (or PEERWELL_MASTER_KEY_FILE) is required: check-in notes "
        "are encrypted with it");
  }
  auto master = MasterKey::FromBase64(runtime.config.master_key);
  if (!master.ok()) return master.status();
  auto pseudonyms = HmacPseudonymizer::Required(runtime.config.pseudonym_key,
                                                "partners' exports name volunteers by pseudonyms");
  if (!pseudonyms.ok()) return pseudonyms.status();
  auto server =
      std::make_shared<checkin::CheckinServer>(runtime, *std::move(master), *std::move(pseudonyms));
  host.AddService(&server->handler);
  return std::vector<std::shared_ptr<void>>{server};
}

}  // namespace peerwell::checkin
