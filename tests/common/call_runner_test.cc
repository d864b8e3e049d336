// UnaryCallRunner::RunAsync over a real gRPC channel: work runs on gRPC's own thread while
// nothing it needs would wait, and again from the start on the executor when something would.
#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "peerwell/bench/v1/bench.grpc.pb.h"
#include "services/common/blocking.h"
#include "services/common/call.h"
#include "tests/testing/tokens.h"

namespace peerwell {
namespace {

namespace bv1 = ::peerwell::bench::v1;

// Membership answered from a cache that starts empty: filling it waits (for the directory).
class CachingDirectory final : public CredentialDirectory {
 public:
  absl::StatusOr<Caller> AuthenticateApiKey(absl::string_view) override {
    return absl::UnauthenticatedError("no keys here");
  }
  absl::Status CheckMember(const Caller&) override {
    if (cached_.load()) return absl::OkStatus();
    if (!MayBlock()) return WouldBlock();
    cached_.store(true);
    return absl::OkStatus();
  }

 private:
  std::atomic<bool> cached_{false};
};

// What the handler's work does with its finisher.
enum class Behaviour { kAnswer, kWaitOnce, kAnswerFromAnotherThread, kDropFinisher };

class RunnerService final : public bv1::BenchService::CallbackService {
 public:
  explicit RunnerService(UnaryCallRunner& runner) : runner_(runner) {}

  grpc::ServerUnaryReactor* Empty(grpc::CallbackServerContext* context, const bv1::EmptyRequest*,
                                  bv1::EmptyResponse*) override {
    return runner_.RunAsync(context, "Empty", [this](const Caller&, CallFinisher finish) {
      bool may_block = MayBlock();
      {
        std::lock_guard<std::mutex> lock(mu_);
        runs_.push_back(may_block);
      }
      switch (behaviour) {
        case Behaviour::kAnswer:
          return std::move(finish)(absl::OkStatus());
        case Behaviour::kWaitOnce:
          if (!may_block) return std::move(finish)(WouldBlock());
          return std::move(finish)(absl::OkStatus());
        case Behaviour::kAnswerFromAnotherThread: {
          std::lock_guard<std::mutex> lock(mu_);
          answerers_.emplace_back(
              [finish = std::move(finish)]() mutable { std::move(finish)(absl::OkStatus()); });
          return;
        }
        case Behaviour::kDropFinisher:
          return;
      }
    });
  }

  // Whether each run of the work could have waited: false on gRPC's thread, true on the
  // executor's.
  std::vector<bool> TakeRuns() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::exchange(runs_, {});
  }
  void JoinAnswerers() {
    std::lock_guard<std::mutex> lock(mu_);
    for (std::thread& answerer : answerers_) answerer.join();
    answerers_.clear();
  }

  std::atomic<Behaviour> behaviour{Behaviour::kAnswer};

 private:
  UnaryCallRunner& runner_;
  std::mutex mu_;
  std::vector<bool> runs_;
  std::vector<std::thread> answerers_;
};

class CallRunnerTest : public ::testing::Test {
 protected:
  CallRunnerTest() {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    stub_ = bv1::BenchService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }
  ~CallRunnerTest() override {
    server_->Shutdown();
    service_.JoinAnswerers();
    executor_.Shutdown();
  }

  grpc::Status Call() {
    grpc::ClientContext context;
    context.AddMetadata(
        "authorization",
        "Bearer " + testing::TestToken(CallerRole::kVolunteer, "p00000000000000000001", "o1"));
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    bv1::EmptyResponse response;
    return stub_->Empty(&context, bv1::EmptyRequest(), &response);
  }

  CachingDirectory directory_;
  Authenticator authenticator_{TokenVerifier(testing::kTestJwtSecret), directory_};
  BoundedExecutor executor_{2, 16};
  UnaryCallRunner runner_{executor_, authenticator_};
  RunnerService service_{runner_};
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<bv1::BenchService::Stub> stub_;
};

TEST_F(CallRunnerTest, RunsOnGrpcsThreadOnceWhatItNeedsIsCachedAndOnTheExecutorBefore) {
  // The caller's membership is not cached yet: authentication would wait, so the whole call
  // moves to the executor before the work ever runs.
  ASSERT_TRUE(Call().ok());
  EXPECT_EQ(service_.TakeRuns(), std::vector<bool>{true});
  ASSERT_TRUE(Call().ok());
  EXPECT_EQ(service_.TakeRuns(), std::vector<bool>{false});
}

TEST_F(CallRunnerTest, WorkThatWouldWaitStartsAgainOnTheExecutorAndAnswersOnce) {
  ASSERT_TRUE(Call().ok());  // fills the membership cache
  service_.TakeRuns();
  service_.behaviour = Behaviour::kWaitOnce;
  grpc::Status status = Call();
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(service_.TakeRuns(), (std::vector<bool>{false, true}));
}

TEST_F(CallRunnerTest, AnAnswerMayComeFromAnotherThreadAndADroppedCallIsAnsweredAnyway) {
  ASSERT_TRUE(Call().ok());
  service_.behaviour = Behaviour::kAnswerFromAnotherThread;
  EXPECT_TRUE(Call().ok());
  service_.behaviour = Behaviour::kDropFinisher;
  EXPECT_EQ(Call().error_code(), grpc::StatusCode::INTERNAL);
}

}  // namespace
}  // namespace peerwell
