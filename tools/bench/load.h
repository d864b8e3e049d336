#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/status.h"

namespace peerwell::bench {

struct LoadOptions {
  int in_flight = 16;  // closed loop: calls kept in flight
  double rate = 0;     // open loop when > 0: calls started per second, whatever completes
  absl::Duration duration = absl::Seconds(5);
  long calls = 0;  // when > 0: measure exactly this many calls instead of a duration
  absl::Duration warmup = absl::Seconds(1);
  absl::Duration deadline = absl::Seconds(1);
  // Told when the measured window opens (the warm-up is over) and when it closes, from a thread
  // of the round's own, so that what the machine spends can be read over exactly the calls that
  // count (the CPU time of every process). Either may be empty.
  std::function<void()> window_opened;
  std::function<void()> window_closed;
};

struct LoadResult {
  double seconds = 0;
  long calls = 0;
  std::map<std::string, long> errors;  // by status code name
  std::vector<double> latencies_ms;    // of the measured calls, sorted
  // When the measured calls were due: from the end of the warm-up to the end of the duration
  // (the infinite future when a number of calls is measured).
  absl::Time measured_from;
  absl::Time measured_until;

  double Throughput() const { return seconds > 0 ? calls / seconds : 0; }
  double Percentile(double p) const;
  long ErrorCount() const;
};

// Calls a round's window hooks at the times its window opens and closes. A window of a number of
// calls has no end time: it closes at Close(), when the last measured call is done. Close() also
// waits for the hooks, so that what they wrote is there when the round returns.
class WindowEdges {
 public:
  WindowEdges(const LoadOptions& options, absl::Time opens, absl::Time closes);
  ~WindowEdges() { Close(); }
  WindowEdges(const WindowEdges&) = delete;
  WindowEdges& operator=(const WindowEdges&) = delete;

  // Closes the window now if it is open and has not closed by itself; before it opened, neither
  // hook runs (nothing was measured).
  void Close();

 private:
  std::function<void()> opened_;
  std::function<void()> closed_;
  std::mutex mu_;
  std::condition_variable closing_;
  bool close_now_ = false;
  std::thread thread_;
};

// Starts one call on the slot's context and calls `done` with its status when it completes.
using IssueCall =
    std::function<void(int slot, grpc::ClientContext* context, std::function<void(grpc::Status)>)>;

// Drives `issue` for the warm-up and then the measured duration. In the open loop, latency is
// counted from when a call was due, not when it was sent, so a stalled server cannot hide its
// stall (no coordinated omission).
LoadResult RunLoad(const LoadOptions& options, const IssueCall& issue);

}  // namespace peerwell::bench
