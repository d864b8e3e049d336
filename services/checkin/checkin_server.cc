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
#include "services/common/directory_client.h"
#include "services/common/encryption.h"
#include "services/common/hmac_pseudonymizer.h"
#include "services/common/paging.h"
#include "services/common/server.h"

namespace peerwell::checkin {
namespace {

struct CheckinServer {
  CheckinServer(ServerRuntime& runtime, MasterKey master, HmacPseudonymizer pseudonymizer)
      : directory(ServiceChannel(runtime.config.directory_addr),
                  {"checkin", runtime.config.jwt_secret}, clock),
        people(directory),
        store(runtime.redis),
        vault(runtime.redis, std::move(master), clock, kNoteKeys),
        audit(runtime.redis),
        pseudonyms(std::move(pseudonymizer)),
        service(store, people, vault, audit, pseudonyms, clock),
        authenticator(TokenVerifier(runtime.config.jwt_secret), directory),
        executor(runtime.config.worker_threads, 4096),
        runner(executor, authenticator),
        pages(PageTokenKey(runtime.config.jwt_secret)),
        handler(service, runner, pages) {}
  // The executor's threads use the members below it; stop them before those go.
  ~CheckinServer() { executor.Shutdown(); }

  SystemClock clock;
  DirectoryClient directory;
  DirectoryPeople people;
  RedisCheckinStore store;
  DataKeyVault vault;
  AuditAppender audit;
  HmacPseudonymizer pseudonyms;
  CheckinService service;
  Authenticator authenticator;
  BoundedExecutor executor;
  UnaryCallRunner runner;
  PageTokenCodec pages;
  CheckinHandler handler;
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
