#include "tools/bench/local_suite.h"

#include <openssl/rand.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"

namespace peerwell::bench {
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

bool Serving(const std::string& address) {
  auto stub = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(200));
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  return stub->Check(&context, request, &response).ok() &&
         response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
}

}  // namespace

std::string DefaultServiceBinaries() {
  // The tool lives in <build>/tools/bench/.
  std::error_code error;
  auto self = std::filesystem::read_symlink("/proc/self/exe", error);
  if (error) return ".";
  return self.parent_path().parent_path().parent_path().string();
}

absl::StatusOr<std::unique_ptr<LocalSuite>> LocalSuite::Start(const std::string& binaries) {
  auto suite = std::unique_ptr<LocalSuite>(new LocalSuite());
  auto secret = RandomBase64(48);
  auto master_key = RandomBase64(32);
  if (!secret.ok()) return secret.status();
  if (!master_key.ok()) return master_key.status();
  suite->jwt_secret_ = *secret;
  try {
    suite->redis_ = std::make_unique<peerwell::testing::RedisServer>();
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("redis-server: ", e.what()));
  }
  std::vector<std::pair<std::string, std::string>> env{
      {"PEERWELL_JWT_SECRET", *secret},
      {"PEERWELL_MASTER_KEY", *master_key},
      {"PEERWELL_REDIS_ADDR", suite->redis_->address_string()}};
  // In dependency order: the others ask the directory.
  for (const std::string name : {"directory", "checkin", "alerts"}) {
    std::string binary = FindBinary(binaries, name);
    if (binary.empty()) {
      return absl::NotFoundError(
          absl::StrCat("no peerwell-", name, " under ", binaries, " (see --service_binaries)"));
    }
    Service service;
    service.name = name;
    service.process = std::make_unique<peerwell::testing::ServerProcess>(
        binary, std::vector<std::string>{"--listen_addr=127.0.0.1:0", "--metrics_addr=127.0.0.1:0"},
        env);
    absl::Time started = absl::Now();
    service.process->Start();
    int port = service.process->WaitForLoggedPort(absl::Seconds(10));
    if (port == 0) {
      return absl::UnavailableError(
          absl::StrCat("peerwell-", name, " did not start:\n", service.process->Output()));
    }
    service.address = absl::StrCat("127.0.0.1:", port);
    absl::Time give_up = absl::Now() + absl::Seconds(10);
    while (!Serving(service.address)) {
      if (absl::Now() > give_up) {
        return absl::UnavailableError(absl::StrCat("peerwell-", name, " never became SERVING"));
      }
      absl::SleepFor(absl::Milliseconds(1));
    }
    service.start_to_serving = absl::Now() - started;
    if (name == "directory") env.push_back({"PEERWELL_DIRECTORY_ADDR", service.address});
    suite->services_.push_back(std::move(service));
  }
  return suite;
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

}  // namespace peerwell::bench
