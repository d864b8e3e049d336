// peerwell-bench: the project's load generator. Closed loop (N calls in flight over M channels)
// or open loop (a fixed rate); reports throughput, latency percentiles and errors by code; with
// --vs it alternates rounds of a scenario and of a baseline built into the tool (the empty
// handler, the empty stream, the durable write) and reports the median ratios, so that a figure
// holds on a noisy shared machine. Beside the figures: what each process of the run spends per
// call, and what one fsync'd write takes on this machine.
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/common/channel.h"
#include "services/common/config.h"
#include "services/common/server.h"
#include "tests/testing/local_suite.h"
#include "tools/bench/load.h"
#include "tools/bench/machine.h"
#include "tools/bench/scenario.h"

namespace peerwell::bench {
namespace {

using ::peerwell::testing::LocalSuite;
using ::peerwell::testing::RedisServer;
using ::peerwell::testing::ServiceRedis;

// Sequential fsync'd writes measured at the start of a run with a Redis.
constexpr int kFsyncedWrites = 300;

// Where the services of this build are: next to the tool (<build>/tools/bench/) in the build tree.
std::string DefaultServiceBinaries() {
  std::error_code error;
  auto self = std::filesystem::read_symlink("/proc/self/exe", error);
  if (error) return ".";
  return self.parent_path().parent_path().parent_path().string();
}

// `counted` names what the result counts: calls, or a scenario's figure (deliveries).
std::string Line(const std::string& name, const LoadResult& r,
                 const std::string& counted = "calls") {
  std::string errors;
  for (const auto& [code, count] : r.errors) absl::StrAppend(&errors, " ", code, "=", count);
  return absl::StrFormat(
      "%-16s %10.0f/s  p50 %7.3f ms  p90 %7.3f  p99 %7.3f  p99.9 %7.3f  max "
      "%7.3f  %s %ld  errors %ld%s",
      name, r.Throughput(), r.Percentile(50), r.Percentile(90), r.Percentile(99),
      r.Percentile(99.9), r.latencies_ms.empty() ? 0 : r.latencies_ms.back(), counted, r.calls,
      r.ErrorCount(), errors);
}

std::string Json(const LoadResult& r) {
  std::string errors;
  for (const auto& [code, count] : r.errors) {
    absl::StrAppend(&errors, errors.empty() ? "" : ",", "\"", code, "\":", count);
  }
  return absl::StrFormat(
      "{\"throughput\":%.1f,\"p50_ms\":%.4f,\"p90_ms\":%.4f,\"p99_ms\":%.4f,\"p999_ms\":%.4f,"
      "\"max_ms\":%.4f,\"calls\":%ld,\"errors\":%ld,\"errors_by_code\":{%s}}",
      r.Throughput(), r.Percentile(50), r.Percentile(90), r.Percentile(99), r.Percentile(99.9),
      r.latencies_ms.empty() ? 0 : r.latencies_ms.back(), r.calls, r.ErrorCount(), errors);
}

// A round as lines of the table: the calls, then the figure when it is something else.
std::string Lines(const std::string& name, const RoundResult& round, const std::string& indent) {
  std::string out = absl::StrCat(indent, Line(name, round.calls, round.counted), "\n");
  if (!round.figure_name.empty()) {
    absl::StrAppend(&out, indent, Line(round.figure_name, round.figure, round.figure_name), "\n");
  }
  return out;
}

// A round as JSON members: "<key>" the calls, and the figure under its name.
std::string JsonMembers(const std::string& key, const RoundResult& round) {
  std::string out = absl::StrCat("\"", key, "\":", Json(round.calls));
  if (!round.figure_name.empty()) {
    absl::StrAppend(&out, ",\"", round.figure_name, "\":", Json(round.figure));
  }
  return out;
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  size_t m = values.size() / 2;
  return values.size() % 2 ? values[m] : (values[m - 1] + values[m]) / 2;
}

std::string ScenarioHelp() {
  std::string help = "scenario, one of:";
  for (const ScenarioSpec& spec : AllScenarios()) {
    absl::StrAppend(&help, "\n      ", spec.name, ": ", spec.description);
  }
  return help;
}

std::string SuiteLines(const LocalSuite& suite, bool json) {
  std::string out;
  for (const auto& service : suite.services()) {
    double serving_ms = absl::ToDoubleMilliseconds(service.start_to_serving);
    double rss = LocalSuite::ResidentMiB(service);
    if (json) {
      absl::StrAppend(&out, out.empty() ? "" : ",",
                      absl::StrFormat("{\"name\":\"%s\",\"start_to_serving_ms\":%.1f,"
                                      "\"resident_mib\":%.1f}",
                                      service.name, serving_ms, rss));
    } else {
      absl::StrAppend(&out,
                      absl::StrFormat("  %-11s start to SERVING %6.1f ms  resident %6.1f MiB\n",
                                      service.name, serving_ms, rss));
    }
  }
  return out;
}

// 3200 as "3,200".
std::string Thousands(double value) {
  std::string digits = absl::StrFormat("%.0f", value);
  for (int at = static_cast<int>(digits.size()) - 3; at > 0 && digits[at - 1] != '-'; at -= 3) {
    digits.insert(at, ",");
  }
  return digits;
}

std::string MachineLine(const absl::StatusOr<FsyncedWrites>& writes) {
  if (!writes.ok()) {
    return absl::StrCat("machine: fsync'd SET not measured: ", writes.status().message());
  }
  std::string what = "fsync'd SET";
  if (writes->appendfsync.empty()) {
    what = "SET (fsync'd or not: this Redis user may not read CONFIG)";
  } else if (!writes->Fsynced()) {
    what = absl::StrCat("SET (appendonly ", writes->appendonly, ", appendfsync ",
                        writes->appendfsync, ": not fsync'd each)");
  }
  return absl::StrFormat("machine: %s from one client: median %.0f µs, p99 %.0f µs (%s/s)", what,
                         writes->median_us, writes->p99_us, Thousands(writes->per_second));
}

std::string MachineJson(const absl::StatusOr<FsyncedWrites>& writes) {
  if (!writes.ok()) return "null";
  return absl::StrFormat(
      "{\"fsync_set_median_us\":%.1f,\"fsync_set_p99_us\":%.1f,\"fsync_sets_per_second\":%.1f,"
      "\"fsync_sets\":%d,\"fsynced\":%s}",
      writes->median_us, writes->p99_us, writes->per_second, writes->writes,
      writes->Fsynced() ? "true" : "false");
}

// What each process of the run spent per call over one round's measured window: the CPU clock
// read when the window opened and when it closed, divided by the calls measured in it. Calls in
// flight across either edge are the same in number at both, so they cancel out.
class RoundCpu {
 public:
  explicit RoundCpu(const CpuClock& clock) : clock_(clock) {}

  // `options` with the window's edges reading the clock.
  LoadOptions Watching(LoadOptions options) {
    options.window_opened = [this] { opened_ = clock_.Read(); };
    options.window_closed = [this] { closed_ = clock_.Read(); };
    return options;
  }

  // Microseconds per call of each process, -1 where unknown; empty when the window was not read.
  std::vector<double> PerCall(const LoadResult& calls) const {
    const long measured = calls.calls + calls.ErrorCount();
    if (opened_.size() != clock_.names().size() || closed_.size() != opened_.size() ||
        measured == 0) {
      return {};
    }
    std::vector<double> us;
    for (size_t i = 0; i < opened_.size(); ++i) {
      us.push_back(opened_[i] < 0 || closed_[i] < 0 ? -1
                                                    : (closed_[i] - opened_[i]) * 1e6 / measured);
    }
    return us;
  }

 private:
  const CpuClock& clock_;
  // Written by the round's window thread, read after the round (which joins it).
  std::vector<double> opened_;
  std::vector<double> closed_;
};

double Total(const std::vector<double>& us) {
  double total = 0;
  for (double value : us) total += std::max(0.0, value);
  return total;
}

std::string Micros(double us) {
  if (us < 0) return "-";
  return us < 10 ? absl::StrFormat("%.1f", us) : absl::StrFormat("%.0f", us);
}

// "tool 41  redis-server 75  checkin 135 ... total 270"; "not read" when the window was not.
std::string CpuText(const CpuClock& clock, const std::vector<double>& us) {
  if (us.empty()) return "not read";
  std::string out;
  for (size_t i = 0; i < us.size(); ++i) {
    absl::StrAppend(&out, clock.names()[i], " ", Micros(us[i]), "  ");
  }
  return absl::StrCat(out, "total ", Micros(Total(us)));
}

std::string CpuJson(const CpuClock& clock, const std::vector<double>& us) {
  std::string out;
  for (size_t i = 0; i < us.size(); ++i) {
    if (us[i] < 0) continue;
    absl::StrAppend(&out, absl::StrFormat("\"%s\":%.1f,", clock.names()[i], us[i]));
  }
  if (!us.empty()) absl::StrAppend(&out, absl::StrFormat("\"total\":%.1f", Total(us)));
  if (!out.empty() && out.back() == ',') out.pop_back();
  return absl::StrCat("{", out, "}");
}

// Each process's median over the rounds whose window was read, and the median total.
std::vector<double> MedianCpu(const std::vector<std::vector<double>>& rounds) {
  std::vector<double> medians;
  for (size_t i = 0;; ++i) {
    std::vector<double> values;
    bool any_round = false;
    for (const auto& round : rounds) {
      if (i >= round.size()) continue;
      any_round = true;
      if (round[i] >= 0) values.push_back(round[i]);
    }
    if (!any_round) break;
    medians.push_back(values.empty() ? -1 : Median(values));
  }
  return medians;
}

int Main(int argc, char** argv) {
  DisableMutexDeadlockDetection();  // as the services do, so the baseline is the same stack
  std::vector<SettingSpec> specs = {
      {"scenario", "PEERWELL_BENCH_SCENARIO", "empty", ScenarioHelp()},
      {"in_flight", "PEERWELL_BENCH_IN_FLIGHT", "16", "calls in flight (closed loop)"},
      {"channels", "PEERWELL_BENCH_CHANNELS", "2", "gRPC channels (connections)"},
      {"rate", "PEERWELL_BENCH_RATE", "",
       "calls per second: an open loop when above 0, a closed loop at 0 (default: the "
       "scenario's, post-fanout 20, the others 0)"},
      {"duration", "PEERWELL_BENCH_DURATION", "5s", "measured time per round"},
      {"calls", "PEERWELL_BENCH_CALLS", "0", "measure this many calls instead of a duration"},
      {"warmup", "PEERWELL_BENCH_WARMUP", "1s", "unmeasured time before each round"},
      {"deadline", "PEERWELL_BENCH_DEADLINE", "1s", "deadline of every call"},
      {"vs", "PEERWELL_BENCH_VS", "",
       "a baseline, 'empty', 'empty-stream', 'durable-write' (needs Redis) or 'single-server' "
       "(with --start_suite --redis=cluster: the same scenario on a second suite, on one "
       "redis-server): alternate rounds with it, report median ratios"},
      {"rounds", "PEERWELL_BENCH_ROUNDS", "5", "rounds of each with --vs"},
      {"json", "PEERWELL_BENCH_JSON", "false", "print JSON"},
      {"start_suite", "PEERWELL_BENCH_START_SUITE", "false",
       "start a redis-server and the services for the run, and stop them after (a baseline "
       "alone that needs Redis: the redis-server only)"},
      {"redis", "PEERWELL_BENCH_REDIS", "server",
       "with --start_suite: what the suite runs on, 'server' (one redis-server) or 'cluster' (a "
       "local Redis Cluster of three masters)"},
      {"redis_cluster_replicas", "PEERWELL_BENCH_REDIS_CLUSTER_REPLICAS", "0",
       "with --redis=cluster: replicas of each master"},
      {"service_binaries", "PEERWELL_BENCH_SERVICE_BINARIES", "",
       "with --start_suite: build tree or folder of the service binaries (default: this build)"},
      {"directory_addr", "PEERWELL_DIRECTORY_ADDR", "127.0.0.1:50051", "running directory"},
      {"checkin_addr", "PEERWELL_CHECKIN_ADDR", "127.0.0.1:50052", "running check-in service"},
      {"alerts_addr", "PEERWELL_ALERTS_ADDR", "127.0.0.1:50053", "running alerts service"},
      {"supervision_addr", "PEERWELL_SUPERVISION_ADDR", "127.0.0.1:50054",
       "running supervision service"},
      {"network_addr", "PEERWELL_NETWORK_ADDR", "127.0.0.1:50055", "running network service"},
      {"webhooks_addr", "PEERWELL_WEBHOOKS_ADDR", "127.0.0.1:50056",
       "running webhooks service (with PEERWELL_WEBHOOK_ALLOW_PRIVATE=true for "
       "incident-to-webhook)"},
      {"gateway_addr", "PEERWELL_BENCH_GATEWAY_ADDR", "127.0.0.1:8080",
       "running gateway (numeric host:port of its HTTP server)"},
      {"redis_addr", "PEERWELL_REDIS_ADDR", "",
       "without --start_suite: the running services' Redis (host:port or unix:/path), for the "
       "durable-write baseline and the machine's fsync'd-write figure; the tool writes and then "
       "deletes keys under pw:bench:"},
      {"redis_user", "PEERWELL_REDIS_USER", "",
       "with --redis_addr: an ACL user that may write pw:bench:*"},
      {"redis_password", "PEERWELL_REDIS_PASSWORD", "", "with --redis_addr: that user's password"},
      {"redis_password_file", "PEERWELL_REDIS_PASSWORD_FILE", "", "file holding the password"},
      {"redis_min_replicas", "PEERWELL_REDIS_MIN_REPLICAS", "0",
       "with --redis_addr: replicas the durable-write baseline waits for (WAIT) before answering, "
       "as the services do with the same setting; with --redis=cluster: the services' setting "
       "(at most --redis_cluster_replicas)"},
      {"jwt_secret", "PEERWELL_JWT_SECRET", "", "the running services' signing secret"},
      {"jwt_secret_file", "PEERWELL_JWT_SECRET_FILE", "", "file holding the secret"},
      {"organisations", "PEERWELL_BENCH_ORGANISATIONS", "4",
       "created for a check-in scenario (propose-slots creates one)"},
      {"volunteers", "PEERWELL_BENCH_VOLUNTEERS", "25",
       "per organisation, check-in scenarios (propose-slots: 8-12 per supervisor)"},
      {"supervisors", "PEERWELL_BENCH_SUPERVISORS", "50", "propose-slots: the supervisor pool"},
      {"subscribers", "PEERWELL_BENCH_SUBSCRIBERS", "100",
       "post-fanout: the channel's members, each with a Subscribe stream (at most 500)"},
  };
  std::vector<std::string> args(argv + 1, argv + argc);
  for (std::string& arg : args) {
    if (arg == "--json" || arg == "--start_suite") arg += "=true";  // switches
  }
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    std::cout << SettingsHelp("peerwell-bench", specs);
    return 0;
  }
  auto settings = ParseSettings(args, specs);
  if (!settings.ok()) {
    std::cerr << "peerwell-bench: " << settings.status().message() << "\n";
    return 2;
  }
  auto& s = *settings;
  auto flag = [&](const char* name) { return s[name] == "true" || s[name] == "1"; };
  ScenarioContext context;
  LoadOptions& options = context.load;
  int rounds = 0;
  if (!absl::SimpleAtoi(s["in_flight"], &options.in_flight) || options.in_flight < 1 ||
      !absl::SimpleAtoi(s["channels"], &context.channels) || context.channels < 1 ||
      (!s["rate"].empty() && (!absl::SimpleAtod(s["rate"], &options.rate) || options.rate < 0)) ||
      !absl::ParseDuration(s["duration"], &options.duration) ||
      !absl::SimpleAtoi(s["calls"], &options.calls) || options.calls < 0 ||
      !absl::ParseDuration(s["warmup"], &options.warmup) ||
      !absl::ParseDuration(s["deadline"], &options.deadline) ||
      !absl::SimpleAtoi(s["rounds"], &rounds) || rounds < 1 ||
      !absl::SimpleAtoi(s["organisations"], &context.organisations) || context.organisations < 1 ||
      !absl::SimpleAtoi(s["volunteers"], &context.volunteers) || context.volunteers < 1 ||
      !absl::SimpleAtoi(s["supervisors"], &context.supervisors) || context.supervisors < 1 ||
      !absl::SimpleAtoi(s["subscribers"], &context.subscribers) || context.subscribers < 1 ||
      context.subscribers > 500) {
    std::cerr << "peerwell-bench: bad numeric or duration flag (see --help)\n";
    return 2;
  }
  const bool json = flag("json");
  if (s["vs"] != "" && s["vs"] != "empty" && s["vs"] != "empty-stream" &&
      s["vs"] != "durable-write" && s["vs"] != "single-server") {
    std::cerr << "peerwell-bench: --vs takes 'empty', 'empty-stream', 'durable-write' or "
                 "'single-server'\n";
    return 2;
  }
  if (s["redis"] != "server" && s["redis"] != "cluster") {
    std::cerr << "peerwell-bench: --redis (PEERWELL_BENCH_REDIS): 'server' or 'cluster'\n";
    return 2;
  }
  const bool on_cluster = s["redis"] == "cluster";
  int cluster_replicas = 0;
  if (!absl::SimpleAtoi(s["redis_cluster_replicas"], &cluster_replicas) || cluster_replicas < 0 ||
      cluster_replicas > 2 || (cluster_replicas > 0 && !on_cluster)) {
    std::cerr << "peerwell-bench: --redis_cluster_replicas: 0 to 2, with --redis=cluster\n";
    return 2;
  }
  if (on_cluster && !flag("start_suite")) {
    std::cerr << "peerwell-bench: --redis=cluster is the Redis of a suite the tool starts: it "
                 "needs --start_suite\n";
    return 2;
  }
  if (s["vs"] == "single-server" && !(on_cluster && flag("start_suite"))) {
    std::cerr << "peerwell-bench: --vs=single-server compares a suite on a cluster with one on a "
                 "single server: it needs --start_suite --redis=cluster\n";
    return 2;
  }
  // Where the tool writes itself, without a suite of its own: checked before anything starts.
  std::optional<RedisAddress> redis_addr;
  if (!s["redis_addr"].empty()) {
    auto parsed = ParseRedisAddress(s["redis_addr"]);
    auto password =
        ReadSecret("PEERWELL_REDIS_PASSWORD", s["redis_password"], s["redis_password_file"]);
    if (!parsed.ok() || !password.ok()) {
      std::cerr << "peerwell-bench: --redis_addr (PEERWELL_REDIS_ADDR): "
                << (parsed.ok() ? password.status() : parsed.status()).message() << "\n";
      return 2;
    }
    parsed->username = s["redis_user"];
    parsed->password = *password;
    redis_addr = *std::move(parsed);
  }
  const ScenarioSpec* spec = FindScenario(s["scenario"]);
  if (spec == nullptr) {
    std::cerr << "peerwell-bench: unknown scenario '" << s["scenario"] << "' (" << ScenarioHelp()
              << ")\n";
    return 2;
  }
  if (s["rate"].empty()) options.rate = spec->default_rate;
  const bool needs_redis = spec->needs_redis || s["vs"] == "durable-write";
  if (needs_redis && !flag("start_suite") && !redis_addr.has_value()) {
    std::cerr << "peerwell-bench: "
              << (spec->needs_redis ? spec->name : std::string("--vs=durable-write"))
              << " needs a Redis: --start_suite, or --redis_addr (PEERWELL_REDIS_ADDR)\n";
    return 2;
  }

  if (!absl::SimpleAtoi(s["redis_min_replicas"], &context.redis_min_replicas) ||
      context.redis_min_replicas < 0 ||
      (context.redis_min_replicas > 0 && !redis_addr &&
       !(on_cluster && context.redis_min_replicas <= cluster_replicas))) {
    std::cerr << "peerwell-bench: --redis_min_replicas (PEERWELL_REDIS_MIN_REPLICAS): a number of "
                 "replicas, with --redis_addr, or with --redis=cluster up to "
                 "--redis_cluster_replicas (a suite on one redis-server has none)\n";
    return 2;
  }
  std::unique_ptr<LocalSuite> suite;
  // --vs=single-server: the same scenario against a second suite, on one redis-server.
  std::unique_ptr<LocalSuite> single_server_suite;
  ScenarioContext single_server_context;
  if (spec->needs_services && flag("start_suite")) {
    std::string binaries =
        s["service_binaries"].empty() ? DefaultServiceBinaries() : s["service_binaries"];
    auto start = [&](bool cluster) -> absl::StatusOr<std::unique_ptr<LocalSuite>> {
      peerwell::testing::SuiteOptions options;
      options.binaries = binaries;
      // The tool's own webhook receiver is on loopback.
      options.env = {{"PEERWELL_WEBHOOK_ALLOW_PRIVATE", "true"}};
      options.redis = cluster ? ServiceRedis::Kind::kCluster : ServiceRedis::Kind::kServer;
      if (cluster) {
        options.redis_cluster_replicas = cluster_replicas;
        options.env.push_back({"PEERWELL_REDIS_MIN_REPLICAS", s["redis_min_replicas"]});
      }
      return LocalSuite::Start(options);
    };
    auto point_at = [](const LocalSuite& started, ScenarioContext& at) {
      at.directory_addr = started.service("directory").address;
      at.checkin_addr = started.service("checkin").address;
      at.alerts_addr = started.service("alerts").address;
      if (!started.replicas("supervision").empty()) {
        at.supervision_addr = started.service("supervision").address;
      }
      if (!started.replicas("network").empty()) {
        at.network_addr = started.service("network").address;
      }
      at.webhooks_addr = started.service("webhooks").address;
      at.gateway_addr = started.service("gateway").address;
      at.jwt_secret = started.jwt_secret();
    };
    auto started = start(on_cluster);
    if (!started.ok()) {
      std::cerr << "peerwell-bench: cannot start the suite: " << started.status().message() << "\n";
      return 1;
    }
    suite = *std::move(started);
    point_at(*suite, context);
    if (s["vs"] == "single-server") {
      auto second = start(false);
      if (!second.ok()) {
        std::cerr << "peerwell-bench: cannot start the single-server suite: "
                  << second.status().message() << "\n";
        return 1;
      }
      single_server_suite = *std::move(second);
      single_server_context = context;
      point_at(*single_server_suite, single_server_context);
      single_server_context.redis = single_server_suite->redis().address();
    }
  } else if (spec->needs_services) {
    auto secret = ReadSecret("PEERWELL_JWT_SECRET", s["jwt_secret"], s["jwt_secret_file"]);
    if (!secret.ok() || secret->empty()) {
      std::cerr << "peerwell-bench: " << spec->name
                << " needs --start_suite, or PEERWELL_JWT_SECRET (or _FILE) of running services\n";
      return 2;
    }
    context.directory_addr = s["directory_addr"];
    context.checkin_addr = s["checkin_addr"];
    context.alerts_addr = s["alerts_addr"];
    context.supervision_addr = s["supervision_addr"];
    context.network_addr = s["network_addr"];
    context.webhooks_addr = s["webhooks_addr"];
    context.gateway_addr = s["gateway_addr"];
    context.jwt_secret = *secret;
  }
  // A baseline alone with --start_suite: a redis-server as the suite's, without the services.
  std::unique_ptr<RedisServer> redis_alone;
  if (suite) {
    context.redis = suite->redis().address();
  } else if (needs_redis && flag("start_suite")) {
    try {
      redis_alone = std::make_unique<RedisServer>();
    } catch (const std::exception& e) {
      std::cerr << "peerwell-bench: cannot start a redis-server: " << e.what() << "\n";
      return 1;
    }
    context.redis = redis_alone->address();
  } else {
    context.redis = redis_addr;
  }
  // The tool serves the baselines itself, so its own CPU is part of theirs.
  CpuClock cpu;
  cpu.Add("tool", getpid());
  if (suite) {
    for (const auto& [name, pid] : suite->Processes()) cpu.Add(name, pid);
    if (single_server_suite) {
      for (const auto& [name, pid] : single_server_suite->Processes()) {
        cpu.Add(absl::StrCat("single-server ", name), pid);
      }
    }
  } else if (redis_alone) {
    cpu.Add("redis-server", redis_alone->pid());
  }
  std::optional<absl::StatusOr<FsyncedWrites>> machine;
  if (context.redis.has_value()) {
    machine = MeasureFsyncedWrites(*context.redis, kFsyncedWrites);
    if (!json) std::cout << MachineLine(*machine) << "\n";
  }
  if (!json) {
    std::cout << "cpu µs/call: each process's CPU time (utime+stime, /proc/<pid>/stat) over a "
                 "round's measured window (warm-up left out) / the calls measured in it; the "
                 "tool's includes the baselines it serves\n";
  }
  const std::string machine_json =
      machine.has_value() ? absl::StrCat(",\"machine\":", MachineJson(*machine)) : "";
  auto created = spec->create(context);
  if (!created.ok()) {
    std::cerr << "peerwell-bench: " << created.status().message() << "\n";
    return 1;
  }
  std::unique_ptr<Scenario> scenario = *std::move(created);

  auto notes = [&] {
    std::string out;
    for (const std::string& note : scenario->Notes()) {
      absl::StrAppend(&out, json ? (out.empty() ? "\"" : ",\"") : "  ", note, json ? "\"" : "\n");
    }
    return out;
  };
  if (s["vs"].empty()) {
    RoundCpu round_cpu(cpu);
    RoundResult result = scenario->Run(round_cpu.Watching(options));
    std::vector<double> cpu_us = round_cpu.PerCall(result.calls);
    if (json) {
      std::cout << "{\"scenario\":\"" << spec->name << "\"," << JsonMembers("result", result)
                << ",\"services\":[" << (suite ? SuiteLines(*suite, true) : "") << "],\"notes\":["
                << notes() << "],\"cpu_us_per_call\":" << CpuJson(cpu, cpu_us) << machine_json
                << "}\n";
    } else {
      std::cout << Lines(spec->name, result, "") << "  cpu µs/call: " << CpuText(cpu, cpu_us)
                << "\n"
                << notes();
      if (suite) std::cout << SuiteLines(*suite, false);
    }
    return result.calls.calls > 0 && result.Figure().calls > 0 ? 0 : 1;
  }
  // The empty handler's and the durable write's calls compare with calls (or a figure) in
  // throughput and p99. The empty stream's messages compare with a scenario's figure in
  // throughput only: the gap between two messages of a stream is not a latency, so its p99 is
  // reported, not divided by.
  const std::string& baseline_name = s["vs"];
  const bool p99_comparable = baseline_name != "empty-stream";
  std::unique_ptr<Scenario> baseline;
  if (baseline_name == "empty") {
    baseline = MakeEmptyScenario(context.channels);
  } else if (baseline_name == "empty-stream") {
    baseline = MakeEmptyStreamScenario(kEmptyStreamMessageBytes);
  } else if (baseline_name == "single-server") {
    single_server_context.load = context.load;
    auto made = spec->create(single_server_context);
    if (!made.ok()) {
      std::cerr << "peerwell-bench: " << made.status().message() << "\n";
      return 1;
    }
    baseline = *std::move(made);
  } else {
    auto made =
        MakeDurableWriteScenario(*context.redis, context.channels, context.redis_min_replicas);
    if (!made.ok()) {
      std::cerr << "peerwell-bench: " << made.status().message() << "\n";
      return 1;
    }
    baseline = *std::move(made);
  }
  auto all_notes = [&] {
    std::string out = notes();
    for (const std::string& note : baseline->Notes()) {
      absl::StrAppend(&out, json ? (out.empty() ? "\"" : ",\"") : "  ", note, json ? "\"" : "\n");
    }
    return out;
  };
  std::vector<double> throughput_ratios, p99_ratios, p99s, baseline_throughputs;
  std::vector<std::vector<double>> scenario_cpu, baseline_cpu;
  bool every_round_measured = true;  // a round without one successful call has no ratio
  std::vector<std::string> round_json;
  std::string compared = "throughput";  // or the scenario's figure, by its name
  for (int round = 0; round < rounds; ++round) {
    RoundCpu measured_cpu(cpu);
    RoundResult measured = scenario->Run(measured_cpu.Watching(options));
    if (!measured.figure_name.empty()) compared = measured.figure_name;
    RoundCpu base_cpu(cpu);
    RoundResult base = baseline->Run(base_cpu.Watching(options));
    scenario_cpu.push_back(measured_cpu.PerCall(measured.calls));
    baseline_cpu.push_back(base_cpu.PerCall(base.calls));
    const LoadResult& figure = measured.Figure();
    if (measured.calls.calls == 0 || figure.calls == 0) every_round_measured = false;
    throughput_ratios.push_back(figure.Throughput() / std::max(1.0, base.Figure().Throughput()));
    p99_ratios.push_back(figure.Percentile(99) / std::max(1e-6, base.Figure().Percentile(99)));
    p99s.push_back(figure.Percentile(99));
    baseline_throughputs.push_back(base.Figure().Throughput());
    if (json) {
      round_json.push_back(absl::StrCat(
          "{", JsonMembers("scenario", measured), ",", JsonMembers(baseline_name, base),
          ",\"cpu_us_per_call\":{\"scenario\":", CpuJson(cpu, scenario_cpu.back()), ",\"",
          baseline_name, "\":", CpuJson(cpu, baseline_cpu.back()), "}}"));
    } else {
      std::cout << "round " << round + 1 << "\n"
                << Lines(spec->name, measured, "  ")
                << "    cpu µs/call: " << CpuText(cpu, scenario_cpu.back()) << "\n"
                << Lines(baseline_name, base, "  ")
                << "    cpu µs/call: " << CpuText(cpu, baseline_cpu.back()) << "\n";
    }
  }
  double throughput = Median(throughput_ratios);
  double p99_ratio = Median(p99_ratios);
  double p99 = Median(p99s);
  double baseline_throughput = Median(baseline_throughputs);
  const std::vector<double> scenario_cpu_median = MedianCpu(scenario_cpu);
  const std::vector<double> baseline_cpu_median = MedianCpu(baseline_cpu);
  if (json) {
    std::string rounds_text;
    for (const auto& r : round_json) {
      absl::StrAppend(&rounds_text, rounds_text.empty() ? "" : ",", r);
    }
    std::cout << absl::StrFormat(
                     "{\"scenario\":\"%s\",\"vs\":\"%s\",\"in_flight\":%d,\"rate\":%.1f,"
                     "\"throughput_ratio\":%.3f,%s\"p99_ms\":%.4f,\"baseline_throughput\":%.1f,"
                     "\"rounds\":[%s],\"services\":[%s],\"notes\":[%s],"
                     "\"cpu_us_per_call\":{\"scenario\":%s,\"%s\":%s}%s}",
                     spec->name, baseline_name, options.in_flight, options.rate, throughput,
                     p99_comparable ? absl::StrFormat("\"p99_ratio\":%.3f,", p99_ratio) : "", p99,
                     baseline_throughput, rounds_text, suite ? SuiteLines(*suite, true) : "",
                     all_notes(), CpuJson(cpu, scenario_cpu_median), baseline_name,
                     CpuJson(cpu, baseline_cpu_median), machine_json)
              << "\n";
  } else {
    if (p99_comparable) {
      std::cout << absl::StrFormat("median of %d rounds vs %s: %s x%.3f, p99 x%.3f\n", rounds,
                                   baseline_name, compared, throughput, p99_ratio);
    } else {
      std::cout << absl::StrFormat(
          "median of %d rounds vs %s: %s x%.3f of its %.0f messages/s, p99 %.3f ms\n", rounds,
          baseline_name, compared, throughput, baseline_throughput, p99);
    }
    std::cout << "median cpu µs/call, " << spec->name << ": " << CpuText(cpu, scenario_cpu_median)
              << "\n"
              << "median cpu µs/call, " << baseline_name << ": "
              << CpuText(cpu, baseline_cpu_median) << "\n"
              << all_notes();
  }
  if (!json && suite) std::cout << SuiteLines(*suite, false);
  return every_round_measured ? 0 : 1;
}

}  // namespace
}  // namespace peerwell::bench

int main(int argc, char** argv) {
  peerwell::HoldCallbackThreads();
  return peerwell::bench::Main(argc, argv);
}
