#include "tests/fuzz/in_process_suite.h"

#include <functional>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/alerts/alerts_server.h"
#include "services/checkin/checkin_server.h"
#include "services/common/log.h"
#include "services/directory/directory_server.h"
#include "services/network/network_server.h"
#include "services/supervision/supervision_server.h"
#include "services/webhooks/webhooks_server.h"
#include "tests/testing/process.h"
#include "tests/testing/tokens.h"

namespace peerwell::fuzz {
namespace {

struct ServiceWiring {
  std::string package;
  std::function<ServiceDefaults()> defaults;
  ServiceBuilder build;
};

// In dependency order, as LocalSuite starts the binaries: the others ask the directory.
std::vector<ServiceWiring> Wirings() {
  return {
      {"peerwell.directory.v1", directory::DirectoryDefaults, directory::BuildDirectoryServer},
      {"peerwell.checkin.v1", checkin::CheckinDefaults, checkin::BuildCheckinServer},
      {"peerwell.alerts.v1", alerts::AlertsDefaults, alerts::BuildAlertsServer},
      {"peerwell.supervision.v1", supervision::SupervisionDefaults,
       supervision::BuildSupervisionServer},
      {"peerwell.network.v1", network::NetworkDefaults, network::BuildNetworkServer},
      {"peerwell.gateway.v1", webhooks::WebhooksDefaults, webhooks::BuildWebhooksServer},
  };
}

}  // namespace

absl::StatusOr<std::unique_ptr<InProcessSuite>> InProcessSuite::Start(
    const std::vector<std::pair<std::string, std::string>>& settings) {
  auto suite = std::unique_ptr<InProcessSuite>(new InProcessSuite());
  // One process, one log: the services' lines all say "peerwell-fuzz".
  std::string log_level = "warning";
  for (const auto& [flag, value] : settings) {
    if (flag == "log_level") log_level = value;
  }
  InitLogging("peerwell-fuzz", log_level);
  try {
    suite->redis_server_ = std::make_unique<testing::RedisServer>();
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("redis-server: ", e.what()));
  }
  std::vector<std::string> args{
      absl::StrCat("--redis_addr=", suite->redis_server_->address_string()),
      absl::StrCat("--jwt_secret=", testing::kTestJwtSecret),
      absl::StrCat("--master_key=", testing::kTestMasterKey),
      absl::StrCat("--pseudonym_key=", testing::kTestPseudonymKey),
      "--metrics_addr=127.0.0.1:0",
      "--worker_threads=4"};
  for (const auto& [flag, value] : settings) args.push_back(absl::StrCat("--", flag, "=", value));
  // The services call each other both ways (the directory asks the others for a person's
  // records), so every address is known before any of them starts, as the binaries' are.
  std::map<std::string, testing::ReservedPort> ports;
  for (ServiceWiring& wiring : Wirings()) {
    auto port = testing::ReservedPort::Take();
    if (!port.ok()) return port.status();
    std::string name = wiring.defaults().service_name;
    args.push_back(absl::StrCat("--", name, "_addr=", port->address()));
    ports.emplace(name, *std::move(port));
  }

  for (ServiceWiring& wiring : Wirings()) {
    ServiceDefaults defaults = wiring.defaults();
    auto config = LoadServiceConfig(args, defaults);
    if (!config.ok()) return config.status();
    Service service;
    service.name = defaults.service_name;
    service.package = wiring.package;
    service.config = std::make_unique<ServiceConfig>(*std::move(config));
    // Each as its own Redis user, as in production: an RPC that reaches another service's keys
    // fails the run.
    service.config->redis = suite->redis_server_->address_for(service.name);
    // No metrics listener: the services' counters still count, nobody scrapes them here.
    service.metrics = std::make_unique<Metrics>();
    RedisOptions redis;
    redis.address = service.config->redis;
    service.redis = std::make_unique<RedisClient>(redis, service.metrics.get());
    ServerHostOptions host;
    host.listen_addr = ports.at(service.name).address();
    host.shutdown_grace = absl::Seconds(1);
    service.host = std::make_unique<ServerHost>(host, *service.metrics, *service.redis);
    service.runtime = std::make_unique<ServerRuntime>(
        ServerRuntime{*service.config, *service.metrics, *service.redis});
    auto parts = wiring.build(*service.runtime, *service.host);
    if (!parts.ok()) {
      return absl::Status(parts.status().code(),
                          absl::StrCat(service.name, ": ", parts.status().message()));
    }
    service.parts = *std::move(parts);
    if (absl::Status started = service.host->Start(); !started.ok()) return started;
    service.address = absl::StrCat("127.0.0.1:", service.host->port());
    suite->services_.push_back(std::move(service));
  }
  return suite;
}

std::vector<std::string> InProcessSuite::ServedPackages() {
  std::vector<std::string> packages;
  for (const ServiceWiring& wiring : Wirings()) packages.push_back(wiring.package);
  return packages;
}

InProcessSuite::~InProcessSuite() {
  for (auto service = services_.rbegin(); service != services_.rend(); ++service) {
    service->host->Shutdown();
    service->parts.clear();
  }
}

const InProcessSuite::Service* InProcessSuite::ServiceForPackage(const std::string& package) const {
  for (const Service& service : services_) {
    if (service.package == package) return &service;
  }
  return nullptr;
}

const InProcessSuite::Service* InProcessSuite::service(const std::string& name) const {
  for (const Service& service : services_) {
    if (service.name == name) return &service;
  }
  return nullptr;
}

}  // namespace peerwell::fuzz
