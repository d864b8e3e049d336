// peerwell-bench: the project's load generator. Closed loop (N calls in flight over M channels)
// or open loop (a fixed rate); reports throughput, latency percentiles and errors by code; with
// --vs it alternates rounds of a scenario and of a baseline built into the tool (the empty
// handler, the empty stream) and reports the median ratios, so that a figure holds on a noisy
// shared machine.
#include <filesystem>
#include <iostream>
#include <memory>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/common/channel.h"
#include "services/common/config.h"
#include "services/common/server.h"
#include "tests/testing/local_suite.h"
#include "tools/bench/load.h"
#include "tools/bench/scenario.h"

namespace peerwell::bench {
namespace {

using ::peerwell::testing::LocalSuite;

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
       "a baseline, 'empty' or 'empty-stream': alternate rounds with it, report median ratios"},
      {"rounds", "PEERWELL_BENCH_ROUNDS", "5", "rounds of each with --vs"},
      {"json", "PEERWELL_BENCH_JSON", "false", "print JSON"},
      {"start_suite", "PEERWELL_BENCH_START_SUITE", "false",
       "start a redis-server and the services for the run, and stop them after"},
      {"service_binaries", "PEERWELL_BENCH_SERVICE_BINARIES", "",
       "with --start_suite: build tree or folder of the service binaries (default: this build)"},
      {"directory_addr", "PEERWELL_DIRECTORY_ADDR", "127.0.0.1:50051", "running directory"},
      {"checkin_addr", "PEERWELL_CHECKIN_ADDR", "127.0.0.1:50052", "running check-in service"},
      {"alerts_addr", "PEERWELL_ALERTS_ADDR", "127.0.0.1:50053", "running alerts service"},
      {"supervision_addr", "PEERWELL_SUPERVISION_ADDR", "127.0.0.1:50054",
       "running supervision service"},
      {"network_addr", "PEERWELL_NETWORK_ADDR", "127.0.0.1:50055", "running network service"},
      {"webhooks_addr", "PEERWELL_WEBHOOKS_ADDR", "127.0.0.1:50056",
       "running webhooks service (with PEERWELL_WEBHOOK_ALLOW_PRIVATE=true for incident-to-webhook)"},
      {"gateway_addr", "PEERWELL_BENCH_GATEWAY_ADDR", "127.0.0.1:8080",
       "running gateway (numeric host:port of its HTTP server)"},
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
  if (s["vs"] != "" && s["vs"] != "empty" && s["vs"] != "empty-stream") {
    std::cerr << "peerwell-bench: --vs takes 'empty' or 'empty-stream'\n";
    return 2;
  }
  const ScenarioSpec* spec = FindScenario(s["scenario"]);
  if (spec == nullptr) {
    std::cerr << "peerwell-bench: unknown scenario '" << s["scenario"] << "' (" << ScenarioHelp()
              << ")\n";
    return 2;
  }
  if (s["rate"].empty()) options.rate = spec->default_rate;

  std::unique_ptr<LocalSuite> suite;
  if (spec->needs_services && flag("start_suite")) {
    std::string binaries =
        s["service_binaries"].empty() ? DefaultServiceBinaries() : s["service_binaries"];
    peerwell::testing::SuiteOptions options;
    options.binaries = binaries;
    // The tool's own webhook receiver is on loopback.
    options.env = {{"PEERWELL_WEBHOOK_ALLOW_PRIVATE", "true"}};
    auto started = LocalSuite::Start(options);
    if (!started.ok()) {
      std::cerr << "peerwell-bench: cannot start the suite: " << started.status().message() << "\n";
      return 1;
    }
    suite = *std::move(started);
    context.directory_addr = suite->service("directory").address;
    context.checkin_addr = suite->service("checkin").address;
    context.alerts_addr = suite->service("alerts").address;
    if (!suite->replicas("supervision").empty()) {
      context.supervision_addr = suite->service("supervision").address;
    }
    if (!suite->replicas("network").empty()) {
      context.network_addr = suite->service("network").address;
    }
    context.webhooks_addr = suite->service("webhooks").address;
    context.gateway_addr = suite->service("gateway").address;
    context.jwt_secret = suite->jwt_secret();
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
    RoundResult result = scenario->Run(options);
    if (json) {
      std::cout << "{\"scenario\":\"" << spec->name << "\"," << JsonMembers("result", result)
                << ",\"services\":[" << (suite ? SuiteLines(*suite, true) : "") << "],\"notes\":["
                << notes() << "]}\n";
    } else {
      std::cout << Lines(spec->name, result, "") << notes();
      if (suite) std::cout << SuiteLines(*suite, false);
    }
    return result.calls.calls > 0 && result.Figure().calls > 0 ? 0 : 1;
  }
  // The empty handler's calls compare with calls (or a figure) in throughput and p99. The empty
  // stream's messages compare with a scenario's figure in throughput only: the gap between two
  // messages of a stream is not a latency, so its p99 is reported, not divided by.
  const std::string& baseline_name = s["vs"];
  const bool p99_comparable = baseline_name == "empty";
  std::unique_ptr<Scenario> baseline = p99_comparable
                                           ? MakeEmptyScenario(context.channels)
                                           : MakeEmptyStreamScenario(kEmptyStreamMessageBytes);
  std::vector<double> throughput_ratios, p99_ratios, p99s, baseline_throughputs;
  bool every_round_measured = true;  // a round without one successful call has no ratio
  std::vector<std::string> round_json;
  std::string compared = "throughput";  // or the scenario's figure, by its name
  for (int round = 0; round < rounds; ++round) {
    RoundResult measured = scenario->Run(options);
    if (!measured.figure_name.empty()) compared = measured.figure_name;
    RoundResult base = baseline->Run(options);
    const LoadResult& figure = measured.Figure();
    if (measured.calls.calls == 0 || figure.calls == 0) every_round_measured = false;
    throughput_ratios.push_back(figure.Throughput() / std::max(1.0, base.Figure().Throughput()));
    p99_ratios.push_back(figure.Percentile(99) / std::max(1e-6, base.Figure().Percentile(99)));
    p99s.push_back(figure.Percentile(99));
    baseline_throughputs.push_back(base.Figure().Throughput());
    if (json) {
      round_json.push_back(absl::StrCat("{", JsonMembers("scenario", measured), ",",
                                        JsonMembers(baseline_name, base), "}"));
    } else {
      std::cout << "round " << round + 1 << "\n"
                << Lines(spec->name, measured, "  ") << Lines(baseline_name, base, "  ");
    }
  }
  double throughput = Median(throughput_ratios);
  double p99_ratio = Median(p99_ratios);
  double p99 = Median(p99s);
  double baseline_throughput = Median(baseline_throughputs);
  if (json) {
    std::string rounds_text;
    for (const auto& r : round_json) {
      absl::StrAppend(&rounds_text, rounds_text.empty() ? "" : ",", r);
    }
    std::cout << absl::StrFormat(
                     "{\"scenario\":\"%s\",\"vs\":\"%s\",\"in_flight\":%d,\"rate\":%.1f,"
                     "\"throughput_ratio\":%.3f,%s\"p99_ms\":%.4f,\"baseline_throughput\":%.1f,"
                     "\"rounds\":[%s],\"services\":[%s],\"notes\":[%s]}",
                     spec->name, baseline_name, options.in_flight, options.rate, throughput,
                     p99_comparable ? absl::StrFormat("\"p99_ratio\":%.3f,", p99_ratio) : "", p99,
                     baseline_throughput, rounds_text, suite ? SuiteLines(*suite, true) : "",
                     notes())
              << "\n";
  } else if (p99_comparable) {
    std::cout << absl::StrFormat("median of %d rounds vs empty: %s x%.3f, p99 x%.3f\n", rounds,
                                 compared, throughput, p99_ratio)
              << notes();
  } else {
    std::cout << absl::StrFormat(
                     "median of %d rounds vs empty-stream: %s x%.3f of its %.0f messages/s, p99 "
                     "%.3f ms\n",
                     rounds, compared, throughput, baseline_throughput, p99)
              << notes();
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
