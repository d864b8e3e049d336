// The whole suite on a local Redis Cluster of three masters with a replica each, under a load of
// check-ins, each sent with its request_id until it is acknowledged (as a client retries): a
// master SIGKILLed with PEERWELL_REDIS_MIN_REPLICAS=1 loses no acknowledged check-in once its
// replica has taken over, and a slot moved to another master as a resharding does loses nothing
// and refuses nothing (the check-ins it meets wait for it). Every call ends by its deadline
// meanwhile, and every check-in raises its alert once.
#include <atomic>
#include <condition_variable>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "peerwell/alerts/v1/alerts.grpc.pb.h"
#include "peerwell/checkin/v1/checkin.grpc.pb.h"
#include "peerwell/directory/v1/directory.grpc.pb.h"
#include "services/common/auth.h"
#include "services/common/channel.h"
#include "services/common/events.h"
#include "services/common/redis_client.h"
#include "services/common/redis_commands.h"
#include "tests/testing/local_suite.h"
#include "tests/testing/seed.h"
#include "tests/testing/wait.h"

namespace peerwell {
namespace {

namespace av1 = ::peerwell::alerts::v1;
namespace cv1 = ::peerwell::checkin::v1;
namespace dv1 = ::peerwell::directory::v1;
using ::peerwell::testing::LocalSuite;
using ::peerwell::testing::SeededPerson;
using ::peerwell::testing::SeedOrganization;
using ::peerwell::testing::ServiceRedis;

constexpr int kVolunteers = 60;
constexpr int kFaultAfter = 15;  // acknowledged check-ins before the fault
constexpr int kLoadThreads = 4;
constexpr auto kCallDeadline = std::chrono::seconds(3);
// What a call may take beyond its deadline before its end counts as late: the client's own
// scheduling on a busy two-core machine.
constexpr absl::Duration kLateness = absl::Seconds(1);

struct Volunteer : SeededPerson {
  std::string acknowledged_checkin_id;
  absl::Time acknowledged_sent_at;  // when the call that was acknowledged was sent
  absl::Time acknowledged_at;
};

// When a fault began and ended, as RunLoadWith saw it.
struct FaultWindow {
  absl::Time start, end;
};

class ClusterFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto suite = LocalSuite::Start(
        {.binaries = PEERWELL_BUILD_DIR,
         .replicas = 1,
         .redis = ServiceRedis::Kind::kCluster,
         .redis_cluster_replicas = 1,
         .env = {{"PEERWELL_REDIS_MIN_REPLICAS", "1"}, {"PEERWELL_EVENT_CLAIM_IDLE", "1s"}}});
    ASSERT_TRUE(suite.ok()) << suite.status();
    suite_ = *std::move(suite);
    directory_ = dv1::DirectoryService::NewStub(ServiceChannel(suite_->Target("directory")));
    checkin_ = cv1::CheckinService::NewStub(ServiceChannel(suite_->Target("checkin")));
    alerts_ = av1::AlertService::NewStub(ServiceChannel(suite_->Target("alerts")));
    ASSERT_NO_FATAL_FAILURE(Seed());
  }

  std::unique_ptr<grpc::ClientContext> As(const std::string& token,
                                          std::chrono::seconds deadline = kCallDeadline) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->AddMetadata("authorization", "Bearer " + token);
    context->set_deadline(std::chrono::system_clock::now() + deadline);
    return context;
  }

  void Seed() {
    auto seeded = SeedOrganization(*directory_, suite_->jwt_secret(),
                                   {.volunteers = kVolunteers, .risk_monitoring = true});
    ASSERT_TRUE(seeded.ok()) << seeded.status();
    org_ = seeded->organization_id;
    coordinator_token_ = seeded->coordinator.token;
    for (SeededPerson& person : seeded->volunteers)
      volunteers_.push_back({std::move(person), {}, {}, {}});
  }

  // The organisation's keys are all in this slot, on one master.
  int OrganizationSlot() const { return KeySlot(absl::StrCat("pw:{", org_, "}:")); }
  size_t OrganizationMaster() {
    return suite_->redis().cluster().MasterOf(absl::StrCat("pw:{", org_, "}:"));
  }

  // Sends every volunteer's WHO-5 of zeros (the who5_drop rule) until it is acknowledged, from
  // kLoadThreads threads, and calls `fault` once kFaultAfter are; the volunteers after them wait
  // for the fault to begin, so that the load goes on through it. Each call is checked to end by
  // its deadline. Returns how many calls were refused (UNAVAILABLE or DEADLINE_EXCEEDED) and
  // sent again.
  int RunLoadWith(const std::function<void()>& fault, FaultWindow& window) {
    std::atomic<int> next{0};
    std::mutex mu;
    std::condition_variable progressed;
    int acknowledged = 0;
    bool fault_began = false;
    std::atomic<int> refused{0};
    std::vector<std::string> failures;
    std::vector<std::thread> load;
    for (int t = 0; t < kLoadThreads; ++t) {
      load.emplace_back([&] {
        for (int v = next++; v < kVolunteers; v = next++) {
          if (v >= kFaultAfter + kLoadThreads) {
            std::unique_lock<std::mutex> lock(mu);
            progressed.wait(lock, [&] { return fault_began; });
          }
          Volunteer& volunteer = volunteers_[v];
          cv1::SubmitCheckinRequest request;
          request.set_instrument_id("who5");
          request.set_request_id(absl::StrCat("cluster-fault-", v));
          for (int item = 1; item <= 5; ++item) {
            auto* answer = request.add_answers();
            answer->set_item_id(absl::StrCat(item));
            answer->set_value(0);
          }
          std::string failure;
          const absl::Time give_up = absl::Now() + absl::Seconds(60);
          while (volunteer.acknowledged_checkin_id.empty() && failure.empty()) {
            cv1::SubmitCheckinResponse response;
            const absl::Time sent = absl::Now();
            grpc::Status status =
                checkin_->SubmitCheckin(As(volunteer.token).get(), request, &response);
            const absl::Duration took = absl::Now() - sent;
            if (took > absl::FromChrono(kCallDeadline) + kLateness) {
              failure = absl::StrCat(v, ": a call took ", absl::FormatDuration(took));
            } else if (status.ok()) {
              volunteer.acknowledged_checkin_id = response.checkin().checkin_id();
              volunteer.acknowledged_sent_at = sent;
              volunteer.acknowledged_at = absl::Now();
            } else if (status.error_code() != grpc::StatusCode::UNAVAILABLE &&
                       status.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
              failure = absl::StrCat(v, ": ", status.error_code(), " ", status.error_message());
            } else if (absl::Now() > give_up) {
              failure = absl::StrCat(v, ": never acknowledged: ", status.error_message());
            } else {
              ++refused;
              // Refused at once while the cluster fails over: not a busy loop.
              std::this_thread::sleep_for(std::chrono::milliseconds(20));
            }
          }
          std::lock_guard<std::mutex> lock(mu);
          if (failure.empty()) {
            ++acknowledged;
          } else {
            failures.push_back(failure);
          }
          progressed.notify_all();
        }
      });
    }
    {
      std::unique_lock<std::mutex> lock(mu);
      EXPECT_TRUE(progressed.wait_for(lock, std::chrono::seconds(60), [&] {
        return acknowledged + static_cast<int>(failures.size()) >= kFaultAfter;
      })) << "the load did not get going";
      fault_began = true;
    }
    progressed.notify_all();
    window.start = absl::Now();
    // A fault that throws still lets the load finish, and fails the test.
    try {
      fault();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "the fault failed: " << e.what();
    }
    window.end = absl::Now();
    for (auto& thread : load) thread.join();
    EXPECT_TRUE(failures.empty()) << failures.size() << " failures, the first: " << failures[0];
    EXPECT_EQ(acknowledged, kVolunteers);
    return refused;
  }

  // Every acknowledged check-in is stored once, under the id its acknowledgement gave, and
  // raised exactly one alert, counted once the alerts service has handled every event.
  void ExpectNothingLostAndEveryAlertOnce() {
    RedisClient redis(RedisOptions{suite_->redis().address()});
    EXPECT_TRUE(peerwell::testing::WaitFor(
        [&] {
          auto groups = redis.Execute({"XINFO", "GROUPS", EventStreamKey("checkin", org_)});
          if (!groups.ok() || !groups->IsArray()) return false;
          for (const RedisReply& group : groups->elements) {
            std::map<std::string, const RedisReply*> fields;
            for (size_t i = 0; i + 1 < group.elements.size(); i += 2) {
              fields[group.elements[i].str] = &group.elements[i + 1];
            }
            if (fields.count("name") == 0 || fields["name"]->str != "alerts") continue;
            return fields.count("pending") && fields["pending"]->integer == 0 &&
                   fields.count("lag") && fields["lag"]->integer == 0;
          }
          return false;
        },
        absl::Seconds(30), absl::Milliseconds(100)))
        << "the alerts service never caught up with the check-ins";
    for (const Volunteer& volunteer : volunteers_) {
      cv1::ListCheckinsResponse response;
      grpc::Status status = checkin_->ListCheckins(
          As(volunteer.token, std::chrono::seconds(10)).get(), {}, &response);
      ASSERT_TRUE(status.ok()) << status.error_message();
      ASSERT_EQ(response.checkins_size(), 1) << volunteer.person_id;
      EXPECT_EQ(response.checkins(0).checkin_id(), volunteer.acknowledged_checkin_id);
    }
    std::map<std::string, std::vector<av1::Alert>> alerts;
    EXPECT_TRUE(peerwell::testing::WaitFor(
        [&] {
          alerts.clear();
          av1::ListAlertsRequest request;
          request.set_page_size(100);
          do {
            av1::ListAlertsResponse response;
            if (!alerts_->ListAlerts(As(coordinator_token_).get(), request, &response).ok()) {
              return false;
            }
            for (const auto& alert : response.alerts()) {
              alerts[alert.volunteer_id()].push_back(alert);
            }
            request.set_page_token(response.next_page_token());
          } while (!request.page_token().empty());
          return alerts.size() == volunteers_.size();
        },
        absl::Seconds(30), absl::Milliseconds(100)))
        << alerts.size() << " of " << volunteers_.size() << " volunteers have their alert";
    for (const Volunteer& volunteer : volunteers_) {
      ASSERT_EQ(alerts[volunteer.person_id].size(), 1u) << volunteer.person_id;
      EXPECT_EQ(alerts[volunteer.person_id][0].rule_id(), "who5_drop");
    }
  }

  std::unique_ptr<LocalSuite> suite_;
  std::unique_ptr<dv1::DirectoryService::Stub> directory_;
  std::unique_ptr<cv1::CheckinService::Stub> checkin_;
  std::unique_ptr<av1::AlertService::Stub> alerts_;
  std::string org_, coordinator_token_;
  std::vector<Volunteer> volunteers_;
};

TEST_F(ClusterFaultTest, AMasterKilledUnderLoadLosesNoAcknowledgedCheckin) {
  auto& cluster = suite_->redis().cluster();
  const size_t master = OrganizationMaster();
  const size_t replica = cluster.ReplicaOf(master);
  absl::Time killed_at, took_over_at, restarted_at;
  FaultWindow window;
  const int refused = RunLoadWith(
      [&] {
        killed_at = absl::Now();
        cluster.Kill(master);
        // Its replica takes over; then the killed node comes back (as Kubernetes restarts a pod)
        // and follows it, so that writes have a replica to wait for again.
        EXPECT_TRUE(peerwell::testing::WaitFor(
            [&] { return cluster.MasterOf(absl::StrCat("pw:{", org_, "}:"), replica) == replica; },
            absl::Seconds(20), absl::Milliseconds(50)))
            << "the replica never took over";
        took_over_at = absl::Now();
        cluster.Start(master);
        restarted_at = absl::Now();
      },
      window);
  // The services recovered within seconds: the first check-in acknowledged of those sent after
  // the kill.
  absl::Time first_after = absl::InfiniteFuture();
  for (const Volunteer& volunteer : volunteers_) {
    if (volunteer.acknowledged_sent_at >= killed_at) {
      first_after = std::min(first_after, volunteer.acknowledged_at);
    }
  }
  std::cout << refused << " calls refused and sent again; the first check-in after the kill "
            << "acknowledged " << absl::FormatDuration(first_after - killed_at)
            << " after it (the replica took over after "
            << absl::FormatDuration(took_over_at - killed_at) << ", the killed node was back after "
            << absl::FormatDuration(restarted_at - killed_at) << ")\n";
  // The kill was felt (writes refused until a replica had them again), and got over.
  EXPECT_GT(refused, 0);
  EXPECT_LT(first_after - killed_at, absl::Seconds(15));
  ExpectNothingLostAndEveryAlertOnce();
}

TEST_F(ClusterFaultTest, ASlotMovedUnderLoadLosesNothingAcknowledged) {
  auto& cluster = suite_->redis().cluster();
  const size_t master = OrganizationMaster();
  // Another master: the one of some other organisation's slot.
  size_t target = master;
  for (int i = 0; target == master; ++i) target = cluster.MasterOf(absl::StrCat("pw:{o-", i, "}:"));
  FaultWindow window;
  // A key at a time, as slowly as a resharding of a big slot, so that check-ins meet the slot
  // while it migrates (ASK to the target for the keys moved, the others at the source).
  const int refused = RunLoadWith(
      [&] { cluster.MoveSlot(OrganizationSlot(), target, /*keys_per_batch=*/1); }, window);
  // Check-ins in flight while the slot moved: a check-in writes several of the organisation's
  // keys at once, which Redis refuses (TRYAGAIN) while some have moved and others not, so they
  // wait (within their deadline) until the slot is across.
  int met = 0;
  absl::Duration longest;
  for (const Volunteer& volunteer : volunteers_) {
    if (volunteer.acknowledged_sent_at <= window.end && volunteer.acknowledged_at >= window.start) {
      ++met;
      longest = std::max(longest, volunteer.acknowledged_at - volunteer.acknowledged_sent_at);
    }
  }
  std::cout << "the slot moved in " << absl::FormatDuration(window.end - window.start) << "; "
            << met << " check-ins in flight meanwhile, the longest "
            << absl::FormatDuration(longest) << "; " << refused
            << " calls refused and sent again\n";
  EXPECT_GT(met, 0) << "no check-in met the slot while it moved";
  // Redirections are the client's to follow: no call is refused.
  EXPECT_EQ(refused, 0);
  EXPECT_EQ(OrganizationMaster(), target);
  ExpectNothingLostAndEveryAlertOnce();
}

}  // namespace
}  // namespace peerwell
