// peerwell-bench against its own baseline and against the real directory and check-in binaries.

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/local_suite.h"
#include "tests/testing/process.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/tokens.h"

namespace peerwell {
namespace {

using ::peerwell::testing::ServerProcess;

struct BenchRun {
  int exit_code = -1;
  std::string output;
};

BenchRun Bench(std::vector<std::string> args,
               std::vector<std::pair<std::string, std::string>> env = {}) {
  ServerProcess bench(PEERWELL_BENCH_BINARY, std::move(args), std::move(env));
  bench.Start();
  BenchRun run;
  run.exit_code = bench.WaitForExit(absl::Seconds(60)).value_or(-1);
  run.output = bench.Output();
  return run;
}

// The number after `"field":` in `json`, searching from `from`; -1 when there is none. (No
// std::regex: GCC 12 reports maybe-uninitialized inside it under the sanitizers' -O1.)
double NumberAfter(absl::string_view json, absl::string_view field, size_t from = 0) {
  const std::string key = absl::StrCat("\"", field, "\":");
  size_t at = json.find(key, from);
  if (at == absl::string_view::npos) return -1;
  at += key.size();
  size_t end = json.find_first_not_of("0123456789.", at);
  double value = -1;
  if (!absl::SimpleAtod(json.substr(at, end == absl::string_view::npos ? end : end - at), &value)) {
    return -1;
  }
  return value;
}

double Number(const std::string& json, const std::string& field) {
  return NumberAfter(json, field);
}

// The resident memory the tool reports for `service` ("name":"<service>","start_to_serving_ms":
// ..,"resident_mib":..); -1 when it does not report the service.
double ResidentMiBOf(const std::string& json, const std::string& service) {
  size_t at = json.find(absl::StrCat("\"name\":\"", service, "\",\"start_to_serving_ms\":"));
  return at == std::string::npos ? -1 : NumberAfter(json, "resident_mib", at);
}

// The line of `output` that starts with `prefix` (after any indentation); empty when none does.
std::string LineStartingWith(const std::string& output, absl::string_view prefix) {
  for (absl::string_view line : absl::StrSplit(output, '\n')) {
    absl::string_view trimmed = absl::StripLeadingAsciiWhitespace(line);
    if (absl::StartsWith(trimmed, prefix)) return std::string(line);
  }
  return "";
}

// The number after `word ` on a line of the table ("calls 1234"); -1 when there is none.
double NumberAfterWord(absl::string_view line, absl::string_view word) {
  const std::string key = absl::StrCat(" ", word, " ");
  size_t at = line.find(key);
  if (at == absl::string_view::npos) return -1;
  at += key.size();
  size_t end = line.find_first_not_of("0123456789.", at);
  double value = -1;
  return absl::SimpleAtod(line.substr(at, end == absl::string_view::npos ? end : end - at), &value)
             ? value
             : -1;
}

TEST(BenchTest, MeasuresTheEmptyBaselineInAClosedLoop) {
  BenchRun run = Bench({"--duration=300ms", "--warmup=100ms", "--in_flight=8", "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_GT(Number(run.output, "throughput"), 100);
  EXPECT_EQ(Number(run.output, "errors"), 0);
  EXPECT_LE(Number(run.output, "p50_ms"), Number(run.output, "p99_ms"));
}

TEST(BenchTest, AnOpenLoopKeepsItsRate) {
  BenchRun run = Bench({"--duration=500ms", "--warmup=100ms", "--rate=400", "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  double calls = Number(run.output, "calls");
  EXPECT_GT(calls, 150);  // 200 due in the measured half second
  EXPECT_LT(calls, 250);
}

TEST(BenchTest, ReportsTheMedianRatioAgainstTheBaseline) {
  BenchRun run = Bench({"--vs=empty", "--rounds=3", "--duration=200ms", "--warmup=50ms", "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  double ratio = Number(run.output, "throughput_ratio");
  EXPECT_GT(ratio, 0.2);  // the empty scenario against itself: about 1
  EXPECT_LT(ratio, 5);
  EXPECT_THAT(run.output, ::testing::HasSubstr("\"rounds\":[{"));
}

TEST(BenchTest, CountsCallsPastTheirDeadlineByStatusCode) {
  BenchRun run = Bench({"--duration=200ms", "--warmup=0s", "--deadline=1us", "--json"});
  EXPECT_GT(Number(run.output, "errors"), 0) << run.output;
  EXPECT_EQ(Number(run.output, "DEADLINE_EXCEEDED"), Number(run.output, "errors")) << run.output;
}

TEST(BenchTest, PrintsAReadableTable) {
  BenchRun run = Bench({"--duration=200ms", "--warmup=50ms"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  for (const char* column : {"/s", "p50", "p90", "p99", "p99.9", "max", "calls", "errors 0"}) {
    EXPECT_THAT(run.output, ::testing::HasSubstr(column));
  }
}

TEST(BenchTest, AClosedLoopMeasuresExactlyTheCallsAskedFor) {
  BenchRun run = Bench({"--calls=200", "--in_flight=8", "--warmup=50ms", "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(Number(run.output, "calls"), 200);
}

TEST(BenchTest, LeavesTheWarmUpOutOfTheFigures) {
  // 400/s: 200 calls are due in the half-second warm-up, 100 in the measured quarter second.
  BenchRun run = Bench({"--rate=400", "--warmup=500ms", "--duration=250ms", "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_GE(Number(run.output, "calls"), 90);
  EXPECT_LE(Number(run.output, "calls"), 110);
}

TEST(BenchTest, RefusesBadFlags) {
  EXPECT_EQ(Bench({"--scenario=nothing"}).exit_code, 2);
  EXPECT_EQ(Bench({"--in_flight=0"}).exit_code, 2);
  EXPECT_EQ(Bench({"--vs=something"}).exit_code, 2);
  EXPECT_EQ(Bench({"--rate=-1"}).exit_code, 2);
  EXPECT_EQ(Bench({"--subscribers=0"}).exit_code, 2);
  // The durable write needs a Redis: the suite's, or one named by a valid address.
  EXPECT_EQ(Bench({"--scenario=durable-write"}, {{"PEERWELL_REDIS_ADDR", ""}}).exit_code, 2);
  EXPECT_EQ(Bench({"--vs=durable-write"}, {{"PEERWELL_REDIS_ADDR", ""}}).exit_code, 2);
  EXPECT_EQ(Bench({"--scenario=durable-write", "--redis_addr=no-port"}).exit_code, 2);
  // A suite the tool starts has no replica to wait for.
  EXPECT_EQ(
      Bench({"--scenario=durable-write", "--start_suite", "--redis_min_replicas=1"}).exit_code, 2);
  // A cluster is the Redis of a suite the tool starts, and waits for at most the replicas it has
  // (refused before anything starts).
  EXPECT_EQ(Bench({"--scenario=submit-checkin", "--redis=cluster"}).exit_code, 2);
  EXPECT_EQ(Bench({"--scenario=submit-checkin", "--start_suite", "--redis=cluster",
                   "--redis_min_replicas=1"})
                .exit_code,
            2);
  EXPECT_EQ(Bench({"--redis=sentinel"}).exit_code, 2);
}

// With a replica wait, the durable write is answered only once a replica has it: a Redis with none
// refuses every call (UNAVAILABLE) by the wait's end.
TEST(BenchTest, TheDurableWriteWaitsForTheReplicasAskedFor) {
  peerwell::testing::RedisServer redis;
  const RedisAddress as = redis.address();
  BenchRun run =
      Bench({"--scenario=durable-write", "--redis_addr=" + redis.address_string(),
             "--redis_min_replicas=1", "--calls=10", "--in_flight=2", "--warmup=0s",
             "--deadline=200ms", "--json"},
            {{"PEERWELL_REDIS_USER", as.username}, {"PEERWELL_REDIS_PASSWORD", as.password}});
  // No call succeeded: the tool says so with its exit code, and why in its notes.
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_EQ(Number(run.output, "errors"), 10) << run.output;
  EXPECT_THAT(run.output, ::testing::HasSubstr("of the 1 replicas it must reach")) << run.output;
}

TEST(BenchTest, MeasuresTheDurableWriteBaselineOnARedisOfItsOwn) {
  // A baseline alone: --start_suite starts only a redis-server as the suite's.
  BenchRun run = Bench({"--scenario=durable-write", "--start_suite", "--calls=200", "--in_flight=8",
                        "--warmup=50ms", "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(Number(run.output, "calls"), 200) << run.output;
  EXPECT_EQ(Number(run.output, "errors"), 0) << run.output;
  EXPECT_GT(Number(run.output, "fsync_set_median_us"), 0) << run.output;
  EXPECT_GE(Number(run.output, "fsync_set_p99_us"), Number(run.output, "fsync_set_median_us"))
      << run.output;
  EXPECT_THAT(run.output, ::testing::HasSubstr("\"fsynced\":true"));
  // The tool's CPU and the redis-server's, per call of the measured window.
  EXPECT_THAT(run.output, ::testing::HasSubstr("\"cpu_us_per_call\":{\"tool\":"));
  EXPECT_GE(Number(run.output, "redis-server"), 0) << run.output;
  EXPECT_THAT(run.output, ::testing::Not(::testing::HasSubstr("first error")));
}

TEST(BenchTest, StartsItsOwnSuiteAndComparesCheckinsWithTheDurableWrite) {
  BenchRun run =
      Bench({"--scenario=submit-checkin", "--vs=durable-write", "--rounds=1", "--duration=300ms",
             "--warmup=100ms", "--start_suite", "--organisations=2", "--volunteers=5"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const std::string durable_write = LineStartingWith(run.output, "durable-write ");
  EXPECT_GT(NumberAfterWord(durable_write, "calls"), 0) << run.output;
  EXPECT_EQ(NumberAfterWord(durable_write, "errors"), 0) << run.output;
  EXPECT_THAT(run.output,
              ::testing::HasSubstr("median of 1 rounds vs durable-write: throughput x"));
  // Per round, every process of the suite and the tool; then the medians.
  const std::string cpu = LineStartingWith(run.output, "cpu µs/call: tool ");
  for (const char* process :
       {" redis-server ", " checkin ", " alerts ", " directory ", " total "}) {
    EXPECT_THAT(cpu, ::testing::HasSubstr(process)) << run.output;
  }
  EXPECT_THAT(run.output, ::testing::HasSubstr("median cpu µs/call, submit-checkin: tool "));
  EXPECT_THAT(run.output, ::testing::HasSubstr("median cpu µs/call, durable-write: tool "));
  const std::string machine = LineStartingWith(run.output, "machine: fsync'd SET from one client:");
  EXPECT_GT(NumberAfterWord(machine, "median"), 0) << run.output;
  EXPECT_GT(NumberAfterWord(machine, "p99"), 0) << run.output;
}

// SubmitCheckin on a Redis Cluster whose writes wait for a replica, against the same calls on a
// suite of one redis-server, round by round.
TEST(BenchTest, ComparesASuiteOnAClusterWithOneOnASingleServer) {
  BenchRun run = Bench({"--scenario=submit-checkin", "--start_suite", "--redis=cluster",
                        "--redis_cluster_replicas=1", "--redis_min_replicas=1",
                        "--vs=single-server", "--rounds=1", "--duration=300ms", "--warmup=100ms",
                        "--organisations=3", "--volunteers=5", "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, ::testing::HasSubstr("\"vs\":\"single-server\""));
  EXPECT_GT(Number(run.output, "throughput_ratio"), 0) << run.output;
  EXPECT_GT(Number(run.output, "baseline_throughput"), 0) << run.output;
  // Both suites' processes are counted: the cluster's nodes and the single server.
  EXPECT_GE(Number(run.output, "redis-node-0"), 0) << run.output;
  EXPECT_GE(Number(run.output, "single-server redis-server"), 0) << run.output;
}

TEST(BenchTest, RefusesASingleServerBaselineWithoutACluster) {
  BenchRun run = Bench({"--scenario=submit-checkin", "--start_suite", "--vs=single-server"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.output, ::testing::HasSubstr("needs --start_suite --redis=cluster"));
}

TEST(BenchTest, MeasuresTheEmptyStreamBaselineOnOneStream) {
  BenchRun run = Bench({"--scenario=empty-stream", "--duration=300ms", "--warmup=100ms", "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_GT(Number(run.output, "throughput"), 1000) << run.output;  // messages/s
  EXPECT_EQ(Number(run.output, "errors"), 0) << run.output;
  EXPECT_THAT(run.output, ::testing::HasSubstr("one stream of 315-byte messages"));
}

TEST(BenchTest, StreamsExactlyTheMessagesAskedFor) {
  BenchRun run = Bench({"--scenario=empty-stream", "--calls=5000", "--warmup=50ms", "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(Number(run.output, "calls"), 5000) << run.output;
}

// The calls (posts) and the deliveries of a post-fanout result, from its JSON.
struct Fanout {
  double posts = -1;
  double post_errors = -1;
  double deliveries = -1;
  double delivery_errors = -1;
};

Fanout FanoutOf(const std::string& json) {
  // The calls and errors of the JSON object `name` (one without nested objects).
  auto counts = [&](const char* name, double* calls, double* errors) {
    size_t start = json.find(absl::StrCat("\"", name, "\":{"));
    if (start == std::string::npos) return;
    absl::string_view object = absl::string_view(json).substr(start, json.find('}', start) - start);
    *calls = NumberAfter(object, "calls");
    *errors = NumberAfter(object, "errors");
  };
  Fanout fanout;
  counts("result", &fanout.posts, &fanout.post_errors);
  counts("deliveries", &fanout.deliveries, &fanout.delivery_errors);
  return fanout;
}

TEST(BenchTest, StartsItsOwnSuiteAndDeliversEveryPostToEverySubscriberOnceInOrder) {
  BenchRun run = Bench({"--scenario=post-fanout", "--start_suite", "--rate=50", "--calls=40",
                        "--warmup=200ms", "--subscribers=20", "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  Fanout fanout = FanoutOf(run.output);
  EXPECT_EQ(fanout.posts, 40) << run.output;
  EXPECT_EQ(fanout.post_errors, 0) << run.output;
  // Missing, duplicate and out-of-order deliveries would be errors. Deliveries are counted for the
  // posts called in the measured window, which posts due in the warm-up (10 at most) may reach when
  // the sender runs late on a busy machine.
  EXPECT_EQ(static_cast<long>(fanout.deliveries) % 20, 0) << run.output;
  EXPECT_GE(fanout.deliveries, 40 * 20) << run.output;
  EXPECT_LE(fanout.deliveries, 50 * 20) << run.output;
  EXPECT_EQ(fanout.delivery_errors, 0) << run.output;
  EXPECT_THAT(run.output, ::testing::HasSubstr("channel of 20 members"));
  EXPECT_THAT(run.output, ::testing::HasSubstr("0 late"));
  EXPECT_GT(ResidentMiBOf(run.output, "network"), 1)  // measured from the running process
      << run.output;
}

TEST(BenchTest, ComparesDeliveriesAtSaturationWithTheEmptyStream) {
  // Services the tool did not start: it targets them by address.
  peerwell::testing::SuiteOptions options;
  options.binaries = PEERWELL_BUILD_DIR;
  auto suite = peerwell::testing::LocalSuite::Start(options);
  ASSERT_TRUE(suite.ok()) << suite.status();
  BenchRun run = Bench({"--scenario=post-fanout", "--rate=0", "--in_flight=4", "--vs=empty-stream",
                        "--rounds=2", "--duration=300ms", "--warmup=100ms", "--subscribers=10",
                        "--json", "--directory_addr=" + (*suite)->service("directory").address,
                        "--network_addr=" + (*suite)->service("network").address},
                       {{"PEERWELL_JWT_SECRET", (*suite)->jwt_secret()}});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, ::testing::HasSubstr("\"vs\":\"empty-stream\""));
  EXPECT_THAT(run.output, ::testing::HasSubstr("\"rate\":0.0"));  // a closed loop
  EXPECT_GT(Number(run.output, "throughput_ratio"), 0) << run.output;
  EXPECT_GT(Number(run.output, "baseline_throughput"), 1000) << run.output;
  EXPECT_THAT(run.output, ::testing::HasSubstr("\"empty-stream\":{"));
  EXPECT_EQ(FanoutOf(run.output).delivery_errors, 0) << run.output;
}

TEST(BenchTest, SubmitsCheckinsToTheRealServices) {
  // Services the tool did not start: it targets them by address.
  peerwell::testing::SuiteOptions options;
  options.binaries = PEERWELL_BUILD_DIR;
  auto suite = peerwell::testing::LocalSuite::Start(options);
  ASSERT_TRUE(suite.ok()) << suite.status();
  BenchRun run = Bench(
      {"--scenario=submit-checkin", "--duration=500ms", "--warmup=200ms", "--organisations=2",
       "--volunteers=5", "--json", "--directory_addr=" + (*suite)->service("directory").address,
       "--checkin_addr=" + (*suite)->service("checkin").address},
      {{"PEERWELL_JWT_SECRET", (*suite)->jwt_secret()}});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_GT(Number(run.output, "calls"), 10);
  EXPECT_EQ(Number(run.output, "errors"), 0) << run.output;
}

TEST(BenchTest, StartsItsOwnSuiteAndTimesCheckinsUntilTheirAlertsArrive) {
  BenchRun run = Bench({"--scenario=checkin-to-alert", "--start_suite", "--rate=400", "--calls=300",
                        "--warmup=200ms", "--organisations=2", "--volunteers=10", "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(Number(run.output, "calls"), 300) << run.output;
  EXPECT_EQ(Number(run.output, "errors"), 0) << run.output;
  EXPECT_THAT(run.output, ::testing::HasSubstr("not matched to a check-in 0"));
  for (const char* service : {"directory", "checkin", "alerts"}) {
    // Measured from the running process.
    EXPECT_GT(ResidentMiBOf(run.output, service), 1) << service << ": " << run.output;
  }
}

// Every incident's alert event reaches the partner's receiver in the tool, once.
TEST(BenchTest, StartsItsOwnSuiteAndTimesIncidentsUntilTheirWebhooksArrive) {
  BenchRun run =
      Bench({"--scenario=incident-to-webhook", "--start_suite", "--rate=50", "--calls=40",
             "--warmup=200ms", "--organisations=2", "--volunteers=5", "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  Fanout deliveries = FanoutOf(run.output);
  EXPECT_EQ(deliveries.posts, 40) << run.output;
  EXPECT_EQ(deliveries.post_errors, 0) << run.output;
  // Events of incidents due in the warm-up (10 at most) may occur inside the measured window.
  EXPECT_GE(deliveries.deliveries, 40) << run.output;
  EXPECT_LE(deliveries.deliveries, 50) << run.output;
  EXPECT_EQ(deliveries.delivery_errors, 0) << run.output;
  EXPECT_THAT(run.output, ::testing::HasSubstr("0 of them not a WebhookEvent"));
  EXPECT_THAT(run.output, ::testing::HasSubstr("\"name\":\"webhooks\""));
}

TEST(BenchTest, StartsItsOwnSuiteAndProposesSlotsFromAPoolOfSupervisors) {
  // A small pool, so that preparing it takes seconds: eight supervisors (three time zones, one on
  // leave), their 8-12 volunteers each, four weeks of bookings.
  BenchRun run = Bench({"--scenario=propose-slots", "--start_suite", "--calls=100", "--in_flight=4",
                        "--warmup=200ms", "--supervisors=8", "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(Number(run.output, "calls"), 100) << run.output;
  EXPECT_EQ(Number(run.output, "errors"), 0) << run.output;
  EXPECT_THAT(run.output, ::testing::HasSubstr("pool: 8 supervisors")) << run.output;
  EXPECT_THAT(run.output, ::testing::HasSubstr("bookings refused 0;")) << run.output;
  EXPECT_THAT(run.output, ::testing::HasSubstr(", 0 slots odd")) << run.output;
  EXPECT_GT(ResidentMiBOf(run.output, "supervision"), 1)  // measured from the running process
      << run.output;
}

TEST(BenchTest, StartsItsOwnSuiteAndCallsThroughTheGatewayOverHttp) {
  BenchRun run = Bench({"--scenario=gateway-get-person", "--start_suite", "--calls=300",
                        "--in_flight=8", "--warmup=200ms", "--volunteers=5", "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(Number(run.output, "calls"), 300) << run.output;
  EXPECT_EQ(Number(run.output, "errors"), 0) << run.output;
  EXPECT_THAT(run.output, ::testing::HasSubstr("GetPerson in JSON through the gateway"));
  EXPECT_GT(ResidentMiBOf(run.output, "gateway"), 1)  // measured from the running process
      << run.output;
}

}  // namespace
}  // namespace peerwell
