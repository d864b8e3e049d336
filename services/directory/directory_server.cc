#include "services/directory/directory_server.h"

#include "services/common/audit.h"
#include "services/common/auth.h"
#include "services/common/call.h"
#include "services/common/events.h"
#include "services/common/paging.h"
#include "services/common/periodic.h"
#include "services/common/person_erasure.h"
#include "services/common/server.h"
#include "services/directory/directory_handler.h"
#include "services/directory/directory_service.h"
#include "services/directory/person_records_client.h"
#include "services/directory/redis_directory_store.h"

namespace peerwell::directory {
namespace {

struct DirectoryServer {
  explicit DirectoryServer(ServerRuntime& runtime)
      : secrets(RetrySealingKey(runtime.config.jwt_secret)),
        store(runtime.redis),
        audit(runtime.redis),
        service_tokens("directory", runtime.config.jwt_secret),
        other_services(SuitePersonRecordsSources(runtime.config), service_tokens),
        service(store, clock, audit, secrets, other_services),
        api_keys(service),
        authenticator(TokenVerifier(runtime.config.jwt_secret), api_keys),
        executor(runtime.config.worker_threads, 4096),
        runner(executor, authenticator),
        pages(PageTokenKey(runtime.config.jwt_secret)),
        handler(service, runner, pages),
        // Its own part of each erasure, read from its own events as the other services do.
        erasures(runtime.config.redis,
                 ServiceConsumerOptions(runtime.config, "directory", "directory"),
                 [this](const StreamEntry& entry) {
                   return HandlePersonErased(
                       entry,
                       [this](const ErasedPerson& erased) {
                         return service.EraseOwnTraces(erased.organization_id, erased.person_id,
                                                       erased.erasure_id);
                       },
                       [](const ErasedPerson&) { return absl::OkStatus(); });
                 }),
        erasure_sweep(absl::Seconds(1),
                      [this] { WarnIfFailed("erasure sweep failed", service.SweepErasures()); }) {
    erasures.Start();
  }
  // The executor's threads use the members below it; stop them before those go.
  ~DirectoryServer() {
    erasures.Stop();
    executor.Shutdown();
  }

  SystemClock clock;
  OpenSslSecrets secrets;
  RedisDirectoryStore store;
  AuditAppender audit;
  ServiceTokens service_tokens;
  PersonRecordsClient other_services;
  DirectoryService service;
  DirectoryCredentials api_keys;
  Authenticator authenticator;
  BoundedExecutor executor;
  UnaryCallRunner runner;
  PageTokenCodec pages;
  DirectoryHandler handler;
  ConsumerGroupRunner erasures;
  PeriodicLoop erasure_sweep;
};

}  // namespace

ServiceDefaults DirectoryDefaults() { return {"directory", 50051, 9551}; }

absl::StatusOr<std::vector<std::shared_ptr<void>>> BuildDirectoryServer(ServerRuntime& runtime,
                                                                        ServerHost& host) {
  auto server = std::make_shared<directory::DirectoryServer>(runtime);
  host.AddService(&server->handler);
  return std::vector<std::shared_ptr<void>>{server};
}

}  // namespace peerwell::directory
