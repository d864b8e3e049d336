#include "tests/testing/process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "grpcpp/generic/generic_stub.h"
#include "tests/testing/wait.h"

namespace peerwell::testing {

ServerProcess::ServerProcess(std::string binary, std::vector<std::string> args,
                             std::vector<std::pair<std::string, std::string>> env)
    : binary_(std::move(binary)), args_(std::move(args)), env_(std::move(env)) {
  char pattern[] = "/tmp/peerwell-process-XXXXXX";
  int fd = mkstemp(pattern);
  if (fd < 0) throw std::runtime_error("mkstemp failed");
  close(fd);
  output_path_ = pattern;
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  unlink(output_path_.c_str());
}

void ServerProcess::Start() {
  const pid_t parent = getpid();
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    DieWithParent(parent);
    int out = open(output_path_.c_str(), O_WRONLY | O_TRUNC);
    dup2(out, STDOUT_FILENO);
    dup2(out, STDERR_FILENO);
    for (const auto& [name, value] : env_) setenv(name.c_str(), value.c_str(), 1);
    std::vector<char*> argv;
    argv.push_back(binary_.data());
    for (auto& arg : args_) argv.push_back(arg.data());
    argv.push_back(nullptr);
    execv(binary_.c_str(), argv.data());
    _exit(127);
  }
}

std::string ServerProcess::Output() const {
  std::ifstream in(output_path_);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string LoggedField(absl::string_view output, absl::string_view message,
                        absl::string_view field) {
  const std::string message_key = absl::StrCat("\"message\":\"", message, "\"");
  const std::string field_key = absl::StrCat("\"", field, "\":");
  for (absl::string_view line : absl::StrSplit(output, '\n')) {
    if (!absl::StrContains(line, message_key)) continue;
    size_t at = line.find(field_key);
    if (at == absl::string_view::npos) continue;
    absl::string_view value = line.substr(at + field_key.size());
    if (absl::ConsumePrefix(&value, "\"")) return std::string(value.substr(0, value.find('"')));
    size_t digits = 0;
    while (digits < value.size() && absl::ascii_isdigit(value[digits])) ++digits;
    if (digits > 0) return std::string(value.substr(0, digits));
  }
  return "";
}

int ServerProcess::WaitForLoggedPort(absl::Duration timeout, const std::string& message,
                                     const std::string& field, absl::Duration poll) {
  int port = 0;
  WaitFor([&] { return absl::SimpleAtoi(LoggedField(Output(), message, field), &port); },
          timeout, poll);
  return port;
}

std::vector<std::pair<std::string, std::string>> Env(
    std::vector<std::pair<std::string, std::string>> first,
    const std::vector<std::pair<std::string, std::string>>& then) {
  first.insert(first.end(), then.begin(), then.end());
  return first;
}

std::string ServiceOfBinary(const std::string& binary) {
  const std::string file = std::filesystem::path(binary).filename().string();
  absl::string_view name = file;
  absl::ConsumePrefix(&name, "peerwell-");
  return std::string(name);
}

absl::StatusOr<ReservedPort> ReservedPort::Take() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  int on = 1;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0 ||
      bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    std::string error = strerror(errno);
    close(fd);
    return absl::InternalError(absl::StrCat("reserving a port: ", error));
  }
  return ReservedPort(fd, ntohs(address.sin_port));
}

ReservedPort::ReservedPort(ReservedPort&& other) noexcept : fd_(other.fd_), port_(other.port_) {
  other.fd_ = -1;
}

ReservedPort::~ReservedPort() {
  if (fd_ >= 0) close(fd_);
}

std::string ReservedPort::address() const { return absl::StrCat("127.0.0.1:", port_); }

absl::StatusOr<StartedServer> StartServer(const std::string& binary,
                                          std::vector<std::pair<std::string, std::string>> env,
                                          absl::Duration poll, const std::string& listen_addr) {
  StartedServer server;
  server.process = std::make_unique<ServerProcess>(
      binary,
      std::vector<std::string>{absl::StrCat("--listen_addr=", listen_addr),
                               "--metrics_addr=127.0.0.1:0"},
      std::move(env));
  server.process->Start();
  int port = server.process->WaitForLoggedPort(absl::Seconds(10), "serving", "port", poll);
  if (port == 0) {
    return absl::UnavailableError(
        absl::StrCat(binary, " did not start:\n", server.process->Output()));
  }
  server.address = absl::StrCat("127.0.0.1:", port);
  server.metrics_port =
      server.process->WaitForLoggedPort(absl::Seconds(10), "metrics serving", "metrics_port", poll);
  return server;
}

void DieWithParent(pid_t parent) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);
}

void ServerProcess::Signal(int signal) {
  if (pid_ > 0) kill(pid_, signal);
}

std::optional<int> ServerProcess::WaitForExit(absl::Duration timeout) {
  if (pid_ <= 0) return std::nullopt;
  int status = 0;
  bool exited = WaitFor([&] { return waitpid(pid_, &status, WNOHANG) == pid_; }, timeout);
  if (!exited) return std::nullopt;
  pid_ = -1;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

std::string HttpGet(int port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    close(fd);
    return "";
  }
  std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  if (write(fd, request.data(), request.size()) < 0) {
    close(fd);
    return "";
  }
  std::string response;
  char buffer[4096];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof(buffer))) > 0) response.append(buffer, n);
  close(fd);
  size_t body = response.find("\r\n\r\n");
  return body == std::string::npos ? "" : response.substr(body + 4);
}

std::string CallRaw(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                    const std::string& request_bytes) {
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue queue;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  auto call = stub.PrepareCall(&context, method, &queue);
  auto step = [&](auto operation) {
    operation();
    void* tag = nullptr;
    bool ok = false;
    return queue.Next(&tag, &ok) && ok;
  };
  std::string text;
  if (!step([&] { call->StartCall(reinterpret_cast<void*>(1)); })) return text;
  grpc::Slice request_slice(request_bytes);
  grpc::ByteBuffer request(&request_slice, 1);
  step([&] { call->Write(request, reinterpret_cast<void*>(2)); });
  grpc::ByteBuffer response;
  if (step([&] { call->Read(&response, reinterpret_cast<void*>(3)); })) {
    std::vector<grpc::Slice> slices;
    (void)response.Dump(&slices);
    for (const auto& slice : slices) {
      text.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
    }
  }
  step([&] { call->WritesDone(reinterpret_cast<void*>(4)); });
  grpc::Status status;
  step([&] { call->Finish(&status, reinterpret_cast<void*>(5)); });
  return text;
}

}  // namespace peerwell::testing
