#include "tests/testing/local_suite.h"

#include <openssl/rand.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <stdexcept>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "services/common/channel.h"
#include "tests/testing/wait.h"

namespace peerwell::testing {
namespace {

absl::StatusOr<std::string> RandomBase64(int bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), bytes) != 1) {
    return absl::InternalError("no random bytes for the suite's secrets");
  }
  return absl::Base64Escape(raw);
}

std::string FindBinary(const std::string& binaries, const std::string& name) {
  for (const std::string& candidate :
       {absl::StrCat(binaries, "/services/", name, "/peerwell-", name),
        absl::StrCat(binaries, "/peerwell-", name)}) {
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

bool Serving(grpc::health::v1::Health::Stub& health) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(200));
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  return health.Check(&context, request, &response).ok() &&
         response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
}

}  // namespace

absl::StatusOr<std::unique_ptr<LocalSuite>> LocalSuite::Start(const SuiteOptions& options) {
  auto suite = std::unique_ptr<LocalSuite>(new LocalSuite());
  auto secret = RandomBase64(48);
  auto master_key = RandomBase64(32);
  auto pseudonym_key = RandomBase64(32);
  if (!secret.ok()) return secret.status();
  if (!master_key.ok()) return master_key.status();
  if (!pseudonym_key.ok()) return pseudonym_key.status();
  suite->jwt_secret_ = *secret;
  try {
    suite->redis_ = std::make_unique<ServiceRedis>(options.redis, options.redis_cluster_replicas);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("redis-server: ", e.what()));
  }
  std::vector<std::pair<std::string, std::string>> env{{"PEERWELL_JWT_SECRET", *secret},
                                                       {"PEERWELL_MASTER_KEY", *master_key},
                                                       {"PEERWELL_PSEUDONYM_KEY", *pseudonym_key}};
  env.insert(env.end(), options.env.begin(), options.env.end());
  std::map<std::string, std::string> redis_addr_for;
  if (options.redis_addr_for) redis_addr_for = options.redis_addr_for(suite->redis_->server());
  const std::vector<std::string> names = {"directory",   "checkin", "alerts",
                                          "supervision", "network", "webhooks"};
  // The services call each other both ways (the others ask the directory who a person is, the
  // directory asks them for a person's records), so every replica's port is chosen first and
  // every service is given every address (PEERWELL_<NAME>_ADDR, all replicas, as a headless
  // Service names them in Kubernetes).
  std::map<std::string, std::vector<ReservedPort>> ports;
  for (const std::string& name : names) {
    std::vector<std::string> addresses;
    for (int replica = 0; replica < std::max(1, options.replicas); ++replica) {
      auto port = ReservedPort::Take();
      if (!port.ok()) return port.status();
      addresses.push_back(port->address());
      ports[name].push_back(*std::move(port));
    }
    env.push_back({absl::StrCat("PEERWELL_", absl::AsciiStrToUpper(name), "_ADDR"),
                   absl::StrCat("ipv4:", absl::StrJoin(addresses, ","))});
  }
  // In dependency order, so that nothing is asked of a service that is not up yet.
  for (const std::string& name : names) {
    std::string binary = FindBinary(options.binaries, name);
    if (binary.empty()) {
      return absl::NotFoundError(absl::StrCat("no peerwell-", name, " under ", options.binaries));
    }
    auto service_env = env;
    // Each as its own Redis user, as in production.
    for (auto& setting : suite->redis_->ServiceEnv(name)) service_env.push_back(setting);
    if (auto redis = redis_addr_for.find(name); redis != redis_addr_for.end()) {
      service_env.push_back({"PEERWELL_REDIS_ADDR", redis->second});
    }
    for (const ReservedPort& port : ports[name]) {
      absl::Time started = absl::Now();
      // Polled every millisecond: start to SERVING is one of the figures the tool reports.
      auto server = StartServer(binary, service_env, absl::Milliseconds(1), port.address());
      if (!server.ok()) return server.status();
      auto health = grpc::health::v1::Health::NewStub(ServiceChannel(server->address));
      if (!WaitFor([&] { return Serving(*health); }, absl::Seconds(10), absl::Milliseconds(1))) {
        return absl::UnavailableError(absl::StrCat("peerwell-", name, " never became SERVING"));
      }
      Service service;
      service.name = name;
      service.start_to_serving = absl::Now() - started;
      service.address = std::move(server->address);
      service.metrics_port = server->metrics_port;
      service.process = std::move(server->process);
      suite->services_.push_back(std::move(service));
    }
  }
  // Last, in front of every service: the HTTP gateway (one replica: it keeps no state).
  std::string gateway = FindBinary(options.binaries, "gateway");
  if (gateway.empty()) {
    return absl::NotFoundError(absl::StrCat("no peerwell-gateway under ", options.binaries));
  }
  absl::Time started = absl::Now();
  auto server = StartServer(gateway, env, absl::Milliseconds(1));
  if (!server.ok()) return server.status();
  int port = 0;
  if (!absl::SimpleAtoi(server->address.substr(server->address.rfind(':') + 1), &port) ||
      !WaitFor([&] { return absl::StrContains(HttpGet(port, "/healthz"), "\"SERVING\""); },
               absl::Seconds(10), absl::Milliseconds(1))) {
    return absl::UnavailableError("peerwell-gateway never answered /healthz");
  }
  Service service;
  service.name = "gateway";
  service.start_to_serving = absl::Now() - started;
  service.address = std::move(server->address);
  service.metrics_port = server->metrics_port;
  service.process = std::move(server->process);
  suite->services_.push_back(std::move(service));
  return suite;
}

int LocalSuite::gateway_port() const {
  const std::string& address = service("gateway").address;
  int port = 0;
  return absl::SimpleAtoi(address.substr(address.rfind(':') + 1), &port) ? port : 0;
}

LocalSuite::~LocalSuite() {
  // Each drains on SIGTERM as in production, all at once.
  for (auto& service : services_) service.process->Signal(SIGTERM);
  for (auto& service : services_) service.process->WaitForExit(absl::Seconds(10));
}

const LocalSuite::Service& LocalSuite::service(const std::string& name) const {
  for (const Service& service : services_) {
    if (service.name == name) return service;
  }
  throw std::out_of_range(name);
}

std::vector<const LocalSuite::Service*> LocalSuite::replicas(const std::string& name) const {
  std::vector<const Service*> found;
  for (const Service& service : services_) {
    if (service.name == name) found.push_back(&service);
  }
  return found;
}

std::string LocalSuite::Target(const std::string& name) const {
  std::vector<std::string> addresses;
  for (const Service* service : replicas(name)) addresses.push_back(service->address);
  return absl::StrCat("ipv4:", absl::StrJoin(addresses, ","));
}

std::vector<std::pair<std::string, pid_t>> LocalSuite::Processes() const {
  std::vector<std::pair<std::string, pid_t>> processes = redis_->Processes();
  std::map<std::string, int> seen;
  for (const Service& service : services_) {
    int replica = ++seen[service.name];
    processes.push_back({replica == 1 ? service.name : absl::StrCat(service.name, "-", replica),
                         service.process->pid()});
  }
  return processes;
}

double LocalSuite::ResidentMiB(const Service& service) {
  std::ifstream status(absl::StrCat("/proc/", service.process->pid(), "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) {
      double kib = 0;
      std::string value(line.substr(6));
      value.erase(value.find("kB"));
      if (absl::SimpleAtod(value, &kib)) return kib / 1024;
    }
  }
  return 0;
}

}  // namespace peerwell::testing
