// The bench's load loops against a fake server that answers at once, stalling where a test says.
#include <atomic>
#include <thread>

#include "gtest/gtest.h"
#include "tools/bench/load.h"

namespace peerwell::bench {
namespace {

TEST(OpenLoopTest, CountsAStallAgainstEveryCallItDelayed) {
  // A sender stalled for 300 ms (the classic case: the server holds the connection) delays every
  // call due in that time. Timed from when each was due, they all show it; timed from when each
  // was sent, only the one call would, and p90 would be near zero (coordinated omission).
  LoadOptions options;
  options.rate = 100;
  options.duration = absl::Seconds(1);
  options.warmup = absl::ZeroDuration();
  std::atomic<int> issued{0};
  LoadResult result =
      RunLoad(options, [&](int, grpc::ClientContext*, std::function<void(grpc::Status)> done) {
        if (++issued == 20) std::this_thread::sleep_for(std::chrono::milliseconds(300));
        done(grpc::Status::OK);
      });
  ASSERT_GE(result.calls, 90);
  EXPECT_EQ(result.ErrorCount(), 0);
  // About 30 of the 100 calls were due during the stall: more than the slowest tenth.
  EXPECT_GE(result.Percentile(90), 100.0);
}

}  // namespace
}  // namespace peerwell::bench
