// Nemeses against the whole suite under load, two replicas of every service on one redis-server,
// as production runs it. Each test injects one kind of fault while the workload's clients write,
// then checks the history (tests/chaos/history.h) and prints its figures, which
// docs/RELIABILITY.md records. Every loop is bounded: a test ends by itself.
#include <signal.h>

#include <iostream>
#include <random>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "services/common/channel.h"
#include "tests/chaos/tcp_proxy.h"
#include "tests/chaos/workload.h"
#include "tests/testing/local_suite.h"
#include "tests/testing/wait.h"

namespace peerwell::chaos {
namespace {

using ::grpc::health::v1::HealthCheckResponse;
using ::peerwell::testing::LocalSuite;
using ::peerwell::testing::WaitFor;

constexpr absl::Duration kShutdownGrace = absl::Seconds(5);
// SPEC §9: after Redis returns, every pending event is handled within this.
constexpr absl::Duration kCatchUp = absl::Seconds(2);

class ChaosTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto suite = LocalSuite::Start(
        {.binaries = PEERWELL_BUILD_DIR,
         .replicas = 2,
         .env = {{"PEERWELL_SHUTDOWN_GRACE", absl::StrCat(absl::ToInt64Seconds(kShutdownGrace),
                                                          "s")}}});
    ASSERT_TRUE(suite.ok()) << suite.status();
    suite_ = *std::move(suite);
    workload_ = std::make_unique<Workload>(*suite_);
    grpc::Status seeded = workload_->Seed();
    ASSERT_TRUE(seeded.ok()) << seeded.error_message();
  }

  void TearDown() override { workload_.reset(); }

  // Lets the load get going: some writes acknowledged before the fault.
  void StartLoad() {
    workload_->Start();
    ASSERT_TRUE(WaitFor([&] { return workload_->acknowledged() >= 20; }, absl::Seconds(30)))
        << "the load did not get going";
  }

  // Prints the figures and asserts the history holds: nothing acknowledged lost or duplicated,
  // nothing stored that was never invoked, every channel's sequence without a gap, every
  // acknowledged incident counted on an alert within kCatchUp of the fault's end.
  void Judge(const Figures& figures) {
    std::cout << figures.Text() << std::flush;
    for (const Verdict& verdict : figures.verdicts) {
      EXPECT_TRUE(verdict.Clean()) << Summary(verdict) << "\n"
                                   << (verdict.problems.empty() ? "" : verdict.problems[0]);
      EXPECT_GT(verdict.ok, 0) << verdict.kind << ": the load wrote nothing of this kind";
    }
    EXPECT_EQ(figures.acknowledgements_lost, 0);
    EXPECT_EQ(figures.resolutions_lost, 0);
    EXPECT_EQ(figures.incidents_counted, figures.incidents_expected);
    EXPECT_LE(figures.catch_up, kCatchUp) << RecentWarnings("alerts");
  }

  // The last warnings the replicas of `name` logged: what held them up.
  std::string RecentWarnings(const std::string& name) const {
    std::string found;
    for (const LocalSuite::Service* replica : suite_->replicas(name)) {
      std::vector<std::string> warnings;
      for (absl::string_view line : absl::StrSplit(replica->process->Output(), '\n')) {
        if (absl::StrContains(line, "\"WARNING\"") || absl::StrContains(line, "\"ERROR\"")) {
          warnings.emplace_back(line);
        }
      }
      size_t from = warnings.size() > 15 ? warnings.size() - 15 : 0;
      for (size_t i = from; i < warnings.size(); ++i) absl::StrAppend(&found, warnings[i], "\n");
    }
    return found;
  }

  static HealthCheckResponse::ServingStatus Health(const LocalSuite::Service& service) {
    auto stub = grpc::health::v1::Health::NewStub(ServiceChannel(service.address));
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Milliseconds(500)));
    HealthCheckResponse response;
    if (!stub->Check(&context, grpc::health::v1::HealthCheckRequest(), &response).ok()) {
      return HealthCheckResponse::UNKNOWN;
    }
    return response.status();
  }

  // The gRPC services of the suite (the gateway speaks HTTP and has no Redis of its own).
  std::vector<const LocalSuite::Service*> GrpcServices() const {
    std::vector<const LocalSuite::Service*> found;
    for (const LocalSuite::Service& service : suite_->services()) {
      if (service.name != "gateway") found.push_back(&service);
    }
    return found;
  }

  std::unique_ptr<LocalSuite> suite_;
  std::unique_ptr<Workload> workload_;
};

TEST_F(ChaosTest, RedisKilledAndRestartedThirtyTimesLosesNothingAcknowledged) {
  StartLoad();
  const unsigned seed = std::random_device()();
  std::cout << "random seed " << seed << "\n";
  std::mt19937 random(seed);
  std::uniform_int_distribution<int> pause_ms(1000, 3000);
  for (int cycle = 0; cycle < 30; ++cycle) {
    absl::SleepFor(absl::Milliseconds(pause_ms(random)));  // the load runs meanwhile
    suite_->redis().server().Kill();
    suite_->redis().server().Start();
  }
  const absl::Time fault_end = absl::Now();
  workload_->Stop();
  Judge(workload_->Check("redis-server SIGKILLed and restarted 30 times, every 1-3 s",
                         fault_end));
}

TEST_F(ChaosTest, OneReplicaOfEachServiceKilledMidLoadLosesNothingAcknowledged) {
  StartLoad();
  for (const LocalSuite::Service* service : GrpcServices()) {
    if (service != suite_->replicas(service->name)[1]) continue;
    const int before = workload_->acknowledged();
    service->process->Signal(SIGKILL);
    EXPECT_TRUE(service->process->WaitForExit(absl::Seconds(10)).has_value()) << service->name;
    // The survivors carry the load on for a while before the next kill.
    const absl::Time killed = absl::Now();
    EXPECT_TRUE(WaitFor(
        [&] {
          return workload_->acknowledged() >= before + 8 &&
                 absl::Now() - killed >= absl::Seconds(2);
        },
        absl::Seconds(30)))
        << "no progress after killing a " << service->name << " replica";
  }
  const absl::Time fault_end = absl::Now();
  workload_->Stop();
  Judge(workload_->Check("one replica of each service SIGKILLed mid-load", fault_end));
}

TEST_F(ChaosTest, RedisPausedFiveSecondsEveryCallReturnsByItsDeadline) {
  StartLoad();
  const absl::Time pause_start = absl::Now();
  suite_->redis().server().Pause();
  // Every replica stops serving within 2 s...
  std::map<std::string, absl::Duration> not_serving_after;
  for (const LocalSuite::Service* service : GrpcServices()) {
    bool turned = WaitFor(
        [&] { return Health(*service) != HealthCheckResponse::SERVING; }, absl::Seconds(4),
        absl::Milliseconds(50));
    EXPECT_TRUE(turned) << service->name << " " << service->address << " still SERVING";
    EXPECT_LE(absl::Now() - pause_start, absl::Seconds(2)) << service->name;
  }
  absl::SleepFor(pause_start + absl::Seconds(5) - absl::Now());
  const absl::Time pause_end = absl::Now();
  suite_->redis().server().Resume();
  // ...and serves again once Redis answers.
  for (const LocalSuite::Service* service : GrpcServices()) {
    EXPECT_TRUE(WaitFor([&] { return Health(*service) == HealthCheckResponse::SERVING; },
                        absl::Seconds(5), absl::Milliseconds(50)))
        << service->name << " " << service->address;
  }
  const absl::Time fault_end = absl::Now();
  workload_->Stop();
  // Every call made while Redis was paused returned by its deadline, with UNAVAILABLE or
  // DEADLINE_EXCEEDED.
  int during_pause = 0;
  for (const Workload::Attempt& attempt : workload_->Attempts()) {
    EXPECT_LE(attempt.complete_time - attempt.invoke_time, absl::Seconds(3))
        << attempt.kind << " took " << attempt.complete_time - attempt.invoke_time;
    if (attempt.invoke_time < pause_start + absl::Milliseconds(100) ||
        attempt.complete_time > pause_end) {
      continue;
    }
    ++during_pause;
    EXPECT_TRUE(attempt.code == grpc::StatusCode::UNAVAILABLE ||
                attempt.code == grpc::StatusCode::DEADLINE_EXCEEDED)
        << attempt.kind << " ended " << attempt.code << " while Redis was paused";
  }
  EXPECT_GT(during_pause, 0);
  std::cout << during_pause << " calls made while Redis was paused\n";
  Judge(workload_->Check("redis-server SIGSTOPped for 5 s", fault_end));
}

TEST_F(ChaosTest, SigtermUnderLoadFinishesCallsInFlightAndExitsWithinTheGrace) {
  StartLoad();
  std::vector<const LocalSuite::Service*> stopping;
  for (const LocalSuite::Service* service : GrpcServices()) {
    if (service == suite_->replicas(service->name)[1]) stopping.push_back(service);
  }
  const absl::Time signalled = absl::Now();
  for (const LocalSuite::Service* service : stopping) service->process->Signal(SIGTERM);
  for (const LocalSuite::Service* service : stopping) {
    EXPECT_EQ(service->process->WaitForExit(kShutdownGrace + absl::Seconds(5)), 0)
        << service->name;
    EXPECT_LE(absl::Now() - signalled, kShutdownGrace + absl::Seconds(1)) << service->name;
  }
  const int before = workload_->acknowledged();
  EXPECT_TRUE(WaitFor(
      [&] {
        return workload_->acknowledged() >= before + 8 &&
               absl::Now() - signalled >= absl::Seconds(2);
      },
      absl::Seconds(30)))
      << "no progress on the remaining replicas";
  const absl::Time fault_end = absl::Now();
  workload_->Stop();
  // A call in flight on a draining replica finishes. One that reaches it in the instant it
  // closes is refused unserved (UNAVAILABLE, or CANCELLED: Debian's gRPC 1.51 sends a single
  // GOAWAY, without the two-step drain of later versions) and sent again by the client; the
  // history shows that nothing was lost or written twice.
  int refused = 0;
  for (const Workload::Attempt& attempt : workload_->Attempts()) {
    if (attempt.code == grpc::StatusCode::OK) continue;
    ++refused;
    EXPECT_TRUE(attempt.code == grpc::StatusCode::UNAVAILABLE ||
                attempt.code == grpc::StatusCode::CANCELLED)
        << attempt.kind << " ended " << attempt.code << ": " << attempt.message;
  }
  std::cout << refused << " calls refused by a closing replica and sent again\n";
  Judge(workload_->Check("one replica of each service sent SIGTERM under load", fault_end));
}

// The check-in and alerts services reach Redis through a TCP proxy that the test cuts or
// black-holes, as a network fault between a pod and Redis would.
class ChaosLinkTest : public ChaosTest {
 protected:
  void SetUp() override {
    auto suite = LocalSuite::Start(
        {.binaries = PEERWELL_BUILD_DIR,
         .env = {},
         .redis_addr_for = [this](testing::RedisServer& redis) {
           proxy_ = std::make_unique<TcpProxy>(redis.socket_path());
           return std::map<std::string, std::string>{{"checkin", proxy_->address()},
                                                     {"alerts", proxy_->address()}};
         }});
    ASSERT_TRUE(suite.ok()) << suite.status();
    suite_ = *std::move(suite);
    workload_ = std::make_unique<Workload>(*suite_);
    grpc::Status seeded = workload_->Seed();
    ASSERT_TRUE(seeded.ok()) << seeded.error_message();
  }

  // Holds the fault for 3 s under load, heals it, and judges how soon check-ins are acknowledged
  // again (SPEC: within 1 s) and whether the history holds.
  void Run(const std::function<void()>& fault, const std::string& nemesis) {
    StartLoad();
    fault();
    absl::SleepFor(absl::Seconds(3));  // the load runs into the fault meanwhile
    const absl::Time healed = absl::Now();
    proxy_->Heal();
    const absl::Duration recovery = workload_->TimeUntilAcknowledged(healed);
    std::cout << nemesis << ": a check-in acknowledged again " << absl::FormatDuration(recovery)
              << " after the link healed\n";
    EXPECT_LE(recovery, absl::Seconds(1)) << RecentWarnings("checkin");
    const int before = workload_->acknowledged();
    EXPECT_TRUE(WaitFor([&] { return workload_->acknowledged() >= before + 40; },
                        absl::Seconds(30)))
        << "the load did not go on after the link healed";
    workload_->Stop();
    Judge(workload_->Check(nemesis, healed));
  }

  std::unique_ptr<TcpProxy> proxy_;
};

TEST_F(ChaosLinkTest, ACutLinkToRedisIsRecoveredFromWithinASecond) {
  Run([this] { proxy_->Cut(); }, "the link to Redis cut for 3 s");
}

TEST_F(ChaosLinkTest, ABlackHoledLinkToRedisIsRecoveredFromWithinASecond) {
  Run([this] { proxy_->BlackHole(); }, "the link to Redis black-holed for 3 s");
}

}  // namespace
}  // namespace peerwell::chaos
