// Scale-out as Kubernetes runs it, on loopback: two replicas of each service against one
// redis-server, every client balancing over both replicas with gRPC's round_robin (as over the
// addresses of a headless Service). Check-ins through either replica raise exactly one alert
// each, and killing one replica of each service in the middle of the load loses no acknowledged
// check-in and no alert.
#include <signal.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "peerwell/alerts/v1/alerts.grpc.pb.h"
#include "peerwell/checkin/v1/checkin.grpc.pb.h"
#include "peerwell/directory/v1/directory.grpc.pb.h"
#include "services/common/auth.h"
#include "services/common/channel.h"
#include "services/common/events.h"
#include "services/common/organization_registry.h"
#include "services/common/redis_client.h"
#include "tests/testing/local_suite.h"
#include "tests/testing/process.h"
#include "tests/testing/seed.h"
#include "tests/testing/wait.h"

namespace peerwell {
namespace {

namespace av1 = ::peerwell::alerts::v1;
namespace cv1 = ::peerwell::checkin::v1;
namespace dv1 = ::peerwell::directory::v1;
using ::peerwell::testing::LocalSuite;
using ::peerwell::testing::LoggedField;
using ::peerwell::testing::SeededPerson;
using ::peerwell::testing::SeedOrganization;

constexpr int kThroughEachReplica = 10;  // per checkin replica, before the load
constexpr int kUnderLoad = 100;          // through the balanced channel, with the kills
constexpr int kKillAfter = 30;           // acknowledged check-ins of the load before the kills
constexpr int kBeforeGate = 60;          // check-ins of the load that may go before the kills
constexpr int kLoadThreads = 4;

struct Volunteer : SeededPerson {
  std::string request_id;
  std::string acknowledged_checkin_id;  // set once SubmitCheckin answered OK
};

class ScaleOutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto suite = LocalSuite::Start(
        {.binaries = PEERWELL_BUILD_DIR,
         .replicas = 2,
         // A killed alerts replica's events are taken over quickly.
         .env = {{"PEERWELL_EVENT_CLAIM_IDLE", "1s"}, {"PEERWELL_SHUTDOWN_GRACE", "2s"}}});
    ASSERT_TRUE(suite.ok()) << suite.status();
    suite_ = *std::move(suite);
    directory_ = dv1::DirectoryService::NewStub(ServiceChannel(suite_->Target("directory")));
    checkin_ = cv1::CheckinService::NewStub(ServiceChannel(suite_->Target("checkin")));
    alerts_ = av1::AlertService::NewStub(ServiceChannel(suite_->Target("alerts")));
    Seed(2 * kThroughEachReplica + kUnderLoad);
  }

  std::unique_ptr<grpc::ClientContext> As(const std::string& token) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->AddMetadata("authorization", "Bearer " + token);
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return context;
  }

  void Seed(int volunteers) {
    auto seeded = SeedOrganization(*directory_, suite_->jwt_secret(),
                                   {.volunteers = volunteers, .risk_monitoring = true});
    ASSERT_TRUE(seeded.ok()) << seeded.status();
    org_ = seeded->organization_id;
    coordinator_token_ = seeded->coordinator.token;
    for (SeededPerson& person : seeded->volunteers) {
      volunteers_.push_back(
          {std::move(person), absl::StrCat("scale-out-", volunteers_.size()), {}});
    }
  }

  // A WHO-5 of all zeros (the who5_drop rule), sent until it is acknowledged, always with the
  // volunteer's one request_id, as a client retries after losing its server: a retry of a
  // check-in that was stored gets the stored answer instead of a second check-in.
  grpc::Status SubmitUntilAcknowledged(cv1::CheckinService::Stub& stub, Volunteer& volunteer) {
    cv1::SubmitCheckinRequest request;
    request.set_instrument_id("who5");
    request.set_request_id(volunteer.request_id);
    for (int item = 1; item <= 5; ++item) {
      auto* answer = request.add_answers();
      answer->set_item_id(absl::StrCat(item));
      answer->set_value(0);
    }
    grpc::Status status;
    for (int attempt = 0; attempt < 50; ++attempt) {
      cv1::SubmitCheckinResponse response;
      status = stub.SubmitCheckin(As(volunteer.token).get(), request, &response);
      if (status.ok()) {
        volunteer.acknowledged_checkin_id = response.checkin().checkin_id();
        return status;
      }
      // Only the kill's casualties are retried; anything else is a failure of the test.
      if (status.error_code() != grpc::StatusCode::UNAVAILABLE &&
          status.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
        return status;
      }
    }
    return status;
  }

  // Every alert of the organisation, by volunteer.
  std::map<std::string, std::vector<av1::Alert>> AlertsByVolunteer() {
    std::map<std::string, std::vector<av1::Alert>> by_volunteer;
    av1::ListAlertsRequest request;
    request.set_page_size(100);
    do {
      av1::ListAlertsResponse response;
      grpc::Status status = alerts_->ListAlerts(As(coordinator_token_).get(), request, &response);
      if (!status.ok()) return {};
      for (const auto& alert : response.alerts()) {
        by_volunteer[alert.volunteer_id()].push_back(alert);
      }
      request.set_page_token(response.next_page_token());
    } while (!request.page_token().empty());
    return by_volunteer;
  }

  // Calls of `methods` a replica has answered, whatever their status, from its /metrics.
  static double Handled(const LocalSuite::Service& replica,
                        const std::vector<std::string>& methods) {
    double total = 0;
    for (absl::string_view line :
         absl::StrSplit(peerwell::testing::HttpGet(replica.metrics_port, "/metrics"), '\n')) {
      if (!absl::StartsWith(line, "grpc_server_handled_total{")) continue;
      for (const std::string& method : methods) {
        if (!absl::StrContains(line, absl::StrCat("grpc_method=\"", method, "\""))) continue;
        double value = 0;
        if (absl::SimpleAtod(line.substr(line.rfind(' ') + 1), &value)) total += value;
      }
    }
    return total;
  }

  // The consumer name an alerts replica logged when it started consuming.
  static std::string ConsumerName(const LocalSuite::Service& replica) {
    return LoggedField(replica.process->Output(), "consuming events", "consumer");
  }

  // Check-in events `consumer` has read and not acknowledged, in every organisation's stream.
  static long long PendingOf(RedisClient& redis, const std::string& consumer) {
    auto organizations = ListOrganizations(redis);
    if (!organizations.ok()) return 0;
    long long pending_entries = 0;
    for (const std::string& organization_id : *organizations) {
      auto pending = redis.Execute({"XPENDING", EventStreamKey("checkin", organization_id),
                                    "alerts", "-", "+", "1000", consumer});
      if (pending.ok() && pending->IsArray()) pending_entries += pending->elements.size();
    }
    return pending_entries;
  }

  std::unique_ptr<LocalSuite> suite_;
  std::unique_ptr<dv1::DirectoryService::Stub> directory_;
  std::unique_ptr<cv1::CheckinService::Stub> checkin_;
  std::unique_ptr<av1::AlertService::Stub> alerts_;
  std::string org_, coordinator_token_;
  std::vector<Volunteer> volunteers_;
};

TEST_F(ScaleOutTest, EveryAcknowledgedCheckinRaisesExactlyOneAlertThoughReplicasDie) {
  auto checkin_replicas = suite_->replicas("checkin");
  ASSERT_EQ(checkin_replicas.size(), 2u);

  // Through each replica on its own.
  for (int r = 0; r < 2; ++r) {
    auto stub = cv1::CheckinService::NewStub(ServiceChannel(checkin_replicas[r]->address));
    for (int v = r * kThroughEachReplica; v < (r + 1) * kThroughEachReplica; ++v) {
      grpc::Status status = SubmitUntilAcknowledged(*stub, volunteers_[v]);
      ASSERT_TRUE(status.ok()) << "replica " << r << ": " << status.error_message();
    }
  }

  // Under load through the balanced channel. The load's later check-ins wait at a gate until one
  // replica of each service has been killed, so the load both straddles the kills and goes on
  // through the survivors alone.
  const int gate = 2 * kThroughEachReplica + kBeforeGate;
  std::atomic<int> next{2 * kThroughEachReplica};
  std::mutex mu;
  std::condition_variable progressed;
  int acknowledged = 0;
  bool killed = false;
  std::vector<std::string> failures;
  std::vector<std::thread> load;
  for (int t = 0; t < kLoadThreads; ++t) {
    load.emplace_back([&] {
      for (int v = next++; v < static_cast<int>(volunteers_.size()); v = next++) {
        if (v >= gate) {
          std::unique_lock<std::mutex> lock(mu);
          progressed.wait(lock, [&] { return killed; });
        }
        grpc::Status status = SubmitUntilAcknowledged(*checkin_, volunteers_[v]);
        std::lock_guard<std::mutex> lock(mu);
        if (status.ok()) {
          ++acknowledged;
        } else {
          failures.push_back(absl::StrCat(v, ": ", status.error_message()));
        }
        progressed.notify_all();
      }
    });
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    bool reached = progressed.wait_for(lock, std::chrono::seconds(60), [&] {
      return acknowledged + static_cast<int>(failures.size()) >= kKillAfter;
    });
    EXPECT_TRUE(reached) << "the load did not get going";
  }

  // Both replicas took a share of the load: the test's calls to the check-in service, and the
  // check-in and alerts services' own calls to the directory.
  for (int r = 0; r < 2; ++r) {
    EXPECT_GT(Handled(*checkin_replicas[r], {"SubmitCheckin"}), kThroughEachReplica)
        << "checkin replica " << r;
    EXPECT_GT(Handled(*suite_->replicas("directory")[r], {"GetPerson", "GetConsent"}), 0)
        << "directory replica " << r;
  }
  // What the suite's own alerting rules watch.
  std::string alerts_metrics =
      peerwell::testing::HttpGet(suite_->service("alerts").metrics_port, "/metrics");
  for (const char* gauge :
       {"peerwell_event_consumer_lag{group=\"alerts\",stream=\"pw:events:checkin\"}",
        "peerwell_event_consumer_pending{group=\"alerts\",stream=\"pw:events:checkin\"}",
        "peerwell_event_dead_letter_entries{stream=\"pw:events:checkin:dead\"} 0",
        "peerwell_alerts_escalations_overdue 0"}) {
    EXPECT_TRUE(absl::StrContains(alerts_metrics, gauge)) << gauge << " in\n" << alerts_metrics;
  }

  // The alerts replica dies holding events it has read and not acknowledged: it is frozen the
  // moment it holds some, so the other replica must take them over.
  const LocalSuite::Service& alerts_victim = *suite_->replicas("alerts")[1];
  const std::string victim_consumer = ConsumerName(alerts_victim);
  ASSERT_FALSE(victim_consumer.empty()) << alerts_victim.process->Output();
  RedisClient redis(RedisOptions{suite_->redis().address()});
  long long held = 0;
  EXPECT_TRUE(peerwell::testing::WaitFor(
      [&] {
        if (PendingOf(redis, victim_consumer) == 0) return false;
        alerts_victim.process->Signal(SIGSTOP);
        held = PendingOf(redis, victim_consumer);
        if (held == 0) alerts_victim.process->Signal(SIGCONT);  // an acknowledgement was on its way
        return held > 0;
      },
      absl::Seconds(30), absl::Milliseconds(1)))
      << "the alerts replica never held an event";
  for (const std::string name : {"alerts", "checkin", "directory"}) {
    const LocalSuite::Service* victim = suite_->replicas(name)[1];
    victim->process->Signal(SIGKILL);
    EXPECT_TRUE(victim->process->WaitForExit(absl::Seconds(10)).has_value()) << name;
  }
  const double survivor_before = Handled(*checkin_replicas[0], {"SubmitCheckin"});
  {
    std::lock_guard<std::mutex> lock(mu);
    killed = true;
  }
  progressed.notify_all();
  for (auto& thread : load) thread.join();
  ASSERT_TRUE(failures.empty()) << failures.front();
  ASSERT_EQ(acknowledged, kUnderLoad);
  // The gated rest of the load went through the surviving replica.
  EXPECT_GE(Handled(*checkin_replicas[0], {"SubmitCheckin"}) - survivor_before,
            kUnderLoad - kBeforeGate);

  // Every acknowledged check-in is stored once, under the id its acknowledgement gave.
  for (const Volunteer& volunteer : volunteers_) {
    cv1::ListCheckinsRequest request;
    cv1::ListCheckinsResponse response;
    grpc::Status status = checkin_->ListCheckins(As(volunteer.token).get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_EQ(response.checkins_size(), 1) << volunteer.person_id;
    EXPECT_EQ(response.checkins(0).checkin_id(), volunteer.acknowledged_checkin_id);
  }

  // Every check-in raises its alert, the killed alerts replica's events taken over by the other.
  std::map<std::string, std::vector<av1::Alert>> alerts;
  bool all_arrived = peerwell::testing::WaitFor(
      [&] {
        alerts = AlertsByVolunteer();
        return alerts.size() == volunteers_.size();
      },
      absl::Seconds(30), absl::Milliseconds(100));
  EXPECT_TRUE(all_arrived) << alerts.size() << " of " << volunteers_.size() << " volunteers";
  for (const Volunteer& volunteer : volunteers_) {
    ASSERT_EQ(alerts[volunteer.person_id].size(), 1u) << volunteer.person_id;
    EXPECT_EQ(alerts[volunteer.person_id][0].rule_id(), "who5_drop");
  }
  EXPECT_EQ(alerts.size(), volunteers_.size());  // and none for anyone else
  // The killed replica's events were taken over, not merely left behind. An event it had
  // handled but not acknowledged when it died raised its alert already; the survivor takes the
  // entry over once it has been idle for the claim time, which may come after the alerts.
  EXPECT_GT(held, 0);
  EXPECT_TRUE(peerwell::testing::WaitFor([&] { return PendingOf(redis, victim_consumer) == 0; },
                                         absl::Seconds(30), absl::Milliseconds(100)))
      << PendingOf(redis, victim_consumer) << " entries still pending with the killed replica";
}

}  // namespace
}  // namespace peerwell
