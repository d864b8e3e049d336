// peerwell-suite-runner: runs a command (a Node test, a shell script) against the whole suite of
// this build, the way a new user meets it: every binary on free loopback ports, a redis-server
// of its own, and the demo organisation seeded by peerwellctl.
//
//   peerwell-suite-runner [--env NAME=VALUE]... -- COMMAND [ARGUMENT]...
//
// COMMAND runs with, beside this process's environment:
//   PEERWELL_GATEWAY_URL          http://127.0.0.1:<port> of the gateway
//   PEERWELL_GATEWAY_METRICS_URL  http://127.0.0.1:<port>/metrics of the gateway
//   PEERWELL_JWT_SECRET and PEERWELL_<SERVICE>_ADDR, so that peerwellctl reaches the suite
//   PEERWELL_CTL                  the peerwellctl binary
//   PEERWELL_DEMO_JSON            a file holding `peerwellctl demo seed --json`'s output
//   PEERWELL_DESCRIPTOR_SET       the services' FileDescriptorSet (binary)
// and exits with COMMAND's exit status. --env settings go to every server.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "tests/testing/local_suite.h"
#include "tests/testing/process.h"

namespace {

using peerwell::testing::LocalSuite;

// Runs `argv` with `env` added, its output going where ours goes; its exit status.
int Run(const std::vector<std::string>& argv,
        const std::vector<std::pair<std::string, std::string>>& env, std::string* output) {
  int pipe_fds[2] = {-1, -1};
  if (output != nullptr && pipe(pipe_fds) != 0) return 127;
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return 127;
  if (pid == 0) {
    peerwell::testing::DieWithParent(parent);
    for (const auto& [name, value] : env) setenv(name.c_str(), value.c_str(), 1);
    if (output != nullptr) {
      dup2(pipe_fds[1], STDOUT_FILENO);
      close(pipe_fds[0]);
      close(pipe_fds[1]);
    }
    std::vector<char*> args;
    for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    std::perror(args[0]);
    _exit(127);
  }
  if (output != nullptr) {
    close(pipe_fds[1]);
    char buffer[4096];
    ssize_t n;
    while ((n = read(pipe_fds[0], buffer, sizeof buffer)) > 0) output->append(buffer, n);
    close(pipe_fds[0]);
  }
  int status = 0;
  if (waitpid(pid, &status, 0) < 0) return 127;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

int main(int argc, char** argv) {
  peerwell::testing::SuiteOptions options;
  options.binaries = PEERWELL_BUILD_DIR;
  std::vector<std::string> command;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") {
      command.assign(argv + i + 1, argv + argc);
      break;
    }
    if (arg == "--env" && i + 1 < argc) {
      std::string setting = argv[++i];
      size_t equals = setting.find('=');
      if (equals == std::string::npos) {
        std::fprintf(stderr, "--env wants NAME=VALUE, got %s\n", setting.c_str());
        return 2;
      }
      options.env.emplace_back(setting.substr(0, equals), setting.substr(equals + 1));
      continue;
    }
    std::fprintf(stderr, "usage: %s [--env NAME=VALUE]... -- COMMAND [ARGUMENT]...\n", argv[0]);
    return 2;
  }
  if (command.empty()) {
    std::fprintf(stderr, "usage: %s [--env NAME=VALUE]... -- COMMAND [ARGUMENT]...\n", argv[0]);
    return 2;
  }

  auto suite = LocalSuite::Start(options);
  if (!suite.ok()) {
    std::fprintf(stderr, "the suite did not start: %s\n", suite.status().ToString().c_str());
    return 1;
  }
  const std::string ctl = absl::StrCat(PEERWELL_BUILD_DIR, "/tools/peerwellctl/peerwellctl");
  std::vector<std::pair<std::string, std::string>> env{
      {"PEERWELL_JWT_SECRET", (*suite)->jwt_secret()},
      {"PEERWELL_GATEWAY_URL", absl::StrCat("http://127.0.0.1:", (*suite)->gateway_port())},
      {"PEERWELL_GATEWAY_METRICS_URL",
       absl::StrCat("http://127.0.0.1:", (*suite)->service("gateway").metrics_port, "/metrics")},
      {"PEERWELL_CTL", ctl},
      {"PEERWELL_DESCRIPTOR_SET", absl::StrCat(PEERWELL_BUILD_DIR, "/protos/peerwell.binpb")},
  };
  for (const std::string name :
       {"directory", "checkin", "alerts", "supervision", "network", "webhooks"}) {
    env.emplace_back(absl::StrCat("PEERWELL_", absl::AsciiStrToUpper(name), "_ADDR"),
                     (*suite)->service(name).address);
  }

  std::string demo;
  int seeded = Run({ctl, "demo", "seed", "--json"}, env, &demo);
  if (seeded != 0) {
    std::fprintf(stderr, "peerwellctl demo seed failed (%d)\n", seeded);
    return 1;
  }
  char demo_path[] = "/tmp/peerwell-demo-XXXXXX";
  int fd = mkstemp(demo_path);
  if (fd < 0 || write(fd, demo.data(), demo.size()) != static_cast<ssize_t>(demo.size())) {
    std::perror("demo file");
    return 1;
  }
  close(fd);
  env.emplace_back("PEERWELL_DEMO_JSON", demo_path);

  int status = Run(command, env, nullptr);
  unlink(demo_path);
  return status;
}
