#include "tests/testing/redis_server.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "services/common/redis_client.h"
#include "tests/testing/process.h"
#include "tests/testing/wait.h"

namespace peerwell::testing {

RedisServer::RedisServer() {
  char pattern[] = "/tmp/peerwell-redis-XXXXXX";
  if (mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
  directory_ = pattern;
  socket_path_ = directory_ + "/redis.sock";
  WriteTestAclFile(directory_);
  Start();
}

namespace {

constexpr char kTestUser[] = "peerwell-tests";

}  // namespace

std::string TestRedisPassword(const std::string& user) {
  return absl::StrCat("test-password-", user);
}

RedisAddress TestRedisUser(RedisAddress address, const std::string& user) {
  address.username = user;
  address.password = TestRedisPassword(user);
  return address;
}

RedisAddress TestRedisUser(RedisAddress address) {
  return TestRedisUser(std::move(address), kTestUser);
}

void WriteTestAclFile(const std::string& directory) {
  // Production's users, written by production's script from its rules; then the tests' own.
  const std::string passwords = directory + "/passwords";
  std::filesystem::create_directory(passwords);
  std::ifstream rules(PEERWELL_REDIS_ACL_DIR "/redis-acl-rules.conf");
  std::string line;
  while (std::getline(rules, line)) {
    std::vector<std::string> words = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (words.size() >= 2 && words[0] == "user") {
      std::ofstream(passwords + "/" + words[1]) << TestRedisPassword(words[1]) << "\n";
    }
  }
  const std::string acl_file = directory + "/users.acl";
  const std::string command =
      absl::StrCat("sh '" PEERWELL_REDIS_ACL_DIR "/redis-acl-file.sh' '" PEERWELL_REDIS_ACL_DIR
                   "/redis-acl-rules.conf' '",
                   passwords, "' > '", acl_file, "'");
  if (std::system(command.c_str()) != 0) throw std::runtime_error("cannot write " + acl_file);
  std::ofstream(acl_file, std::ios::app)
      << "user " << kTestUser << " on >" << TestRedisPassword(kTestUser) << " ~* &* +@all\n";
}

RedisServer::~RedisServer() {
  Kill();
  std::error_code ignored;
  std::filesystem::remove_all(directory_, ignored);
}

void RedisServer::Start() {
  if (pid_ > 0) return;
  const pid_t parent = getpid();
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    DieWithParent(parent);
    std::string log = directory_ + "/redis.log";
    std::string acl_file = directory_ + "/users.acl";
    execlp("redis-server", "redis-server", "--port", "0", "--unixsocket", socket_path_.c_str(),
           "--unixsocketperm", "700", "--dir", directory_.c_str(), "--appendonly", "yes",
           "--appendfsync", "always", "--save", "", "--daemonize", "no", "--logfile", log.c_str(),
           "--aclfile", acl_file.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  bool ready = WaitFor(
      [this] {
        auto connection = RedisConnection::Connect(address(), absl::Milliseconds(200));
        if (!connection.ok()) return false;
        auto reply = (*connection)->Execute({"EXISTS", "probe"}, absl::Milliseconds(500));
        return reply.ok() && !reply->IsError();
      },
      absl::Seconds(20));
  if (!ready) throw std::runtime_error("redis-server did not become ready");
}

void RedisServer::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGCONT);
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
  unlink(socket_path_.c_str());
}

void RedisServer::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void RedisServer::Pause() {
  if (pid_ > 0) kill(pid_, SIGSTOP);
}

void RedisServer::Resume() {
  if (pid_ > 0) kill(pid_, SIGCONT);
}

RedisAddress RedisServer::address() const { return address_for(kTestUser); }

RedisAddress RedisServer::address_for(const std::string& user) const {
  RedisAddress address;
  address.unix_path = socket_path_;
  return TestRedisUser(std::move(address), user);
}

std::vector<std::pair<std::string, std::string>> RedisServer::ServiceEnv(
    const std::string& service) const {
  return {{"PEERWELL_REDIS_ADDR", address_string()},
          {"PEERWELL_REDIS_USER", service},
          {"PEERWELL_REDIS_PASSWORD", TestRedisPassword(service)}};
}

}  // namespace peerwell::testing
