#include "tools/bench/load.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>

#include "absl/time/clock.h"
#include "services/common/metrics.h"

namespace peerwell::bench {
namespace {

class Recorder {
 public:
  Recorder(absl::Time measure_from, absl::Time measure_until)
      : from_(measure_from), until_(measure_until) {}

  void Record(absl::Time started, absl::Time finished, const grpc::Status& status) {
    if (started < from_ || started >= until_) return;  // warm-up, or after the end
    std::lock_guard<std::mutex> lock(mu_);
    if (status.ok()) {
      latencies_.push_back(absl::ToDoubleMilliseconds(finished - started));
    } else {
      ++errors_[GrpcCodeName(status.error_code())];
    }
  }

  LoadResult Result(double seconds) {
    std::lock_guard<std::mutex> lock(mu_);
    LoadResult result;
    result.seconds = seconds;
    result.latencies_ms = std::move(latencies_);
    std::sort(result.latencies_ms.begin(), result.latencies_ms.end());
    result.calls = static_cast<long>(result.latencies_ms.size());
    result.errors = std::move(errors_);
    result.measured_from = from_;
    result.measured_until = until_;
    return result;
  }

 private:
  const absl::Time from_;
  const absl::Time until_;
  std::mutex mu_;
  std::vector<double> latencies_;
  std::map<std::string, long> errors_;
};

// Counts calls in flight, so that the run ends only when every call has completed.
class Outstanding {
 public:
  void Add() {
    std::lock_guard<std::mutex> lock(mu_);
    ++count_;
  }
  void Done() {
    std::lock_guard<std::mutex> lock(mu_);
    if (--count_ == 0) zero_.notify_all();
  }
  void WaitForZero() {
    std::unique_lock<std::mutex> lock(mu_);
    zero_.wait(lock, [this] { return count_ == 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable zero_;
  long count_ = 0;
};

struct Call {
  grpc::ClientContext context;
  absl::Time started;
};

}  // namespace

double LoadResult::Percentile(double p) const {
  if (latencies_ms.empty()) return 0;
  size_t index = static_cast<size_t>(p / 100.0 * (latencies_ms.size() - 1) + 0.5);
  return latencies_ms[std::min(index, latencies_ms.size() - 1)];
}

WindowEdges::WindowEdges(const LoadOptions& options, absl::Time opens, absl::Time closes)
    : opened_(options.window_opened), closed_(options.window_closed) {
  if (!opened_ && !closed_) return;
  thread_ = std::thread([this, opens, closes] {
    std::unique_lock<std::mutex> lock(mu_);
    if (closing_.wait_until(lock, absl::ToChronoTime(opens), [this] { return close_now_; })) {
      return;  // over before its window opened: nothing was measured
    }
    lock.unlock();
    if (opened_) opened_();
    lock.lock();
    // No deadline for a window of a number of calls (a time point at the end of the clock's range
    // may overflow inside wait_until).
    if (closes == absl::InfiniteFuture()) {
      closing_.wait(lock, [this] { return close_now_; });
    } else {
      closing_.wait_until(lock, absl::ToChronoTime(closes), [this] { return close_now_; });
    }
    lock.unlock();
    if (closed_) closed_();
  });
}

void WindowEdges::Close() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    close_now_ = true;
  }
  closing_.notify_all();
  thread_.join();
}

long LoadResult::ErrorCount() const {
  long total = 0;
  for (const auto& [code, count] : errors) total += count;
  return total;
}

LoadResult RunLoad(const LoadOptions& options, const IssueCall& issue) {
  const absl::Time start = absl::Now();
  const absl::Time measure_from = start + options.warmup;
  const bool by_count = options.calls > 0;
  const absl::Time end = by_count ? absl::InfiniteFuture() : measure_from + options.duration;
  Recorder recorder(measure_from, end);
  WindowEdges edges(options, measure_from, end);
  Outstanding outstanding;
  // By count: calls due from measure_from on are numbered, and none starts past the last.
  std::atomic<long> measured_started{0};
  std::mutex last_mu;
  absl::Time last_finished = measure_from;
  auto may_start = [&](absl::Time due) {
    if (!by_count) return due < end;
    if (due < measure_from) return true;
    return measured_started.fetch_add(1) < options.calls;
  };

  auto launch = [&](int slot, absl::Time due, auto& self) -> void {
    if (!may_start(due)) return;
    auto call = std::make_shared<Call>();
    call->started = due;
    call->context.set_deadline(absl::ToChronoTime(absl::Now() + options.deadline));
    outstanding.Add();
    issue(slot, &call->context, [&, slot, call, self](grpc::Status status) {
      absl::Time now = absl::Now();
      recorder.Record(call->started, now, status);
      if (by_count && call->started >= measure_from) {
        std::lock_guard<std::mutex> lock(last_mu);
        last_finished = std::max(last_finished, now);
      }
      // Closed loop: the slot goes on with its next call until the end.
      if (options.rate <= 0 && now < end) self(slot, now, self);
      outstanding.Done();
    });
  };

  if (options.rate <= 0) {
    outstanding.Add();  // hold the count above zero while the loops start
    for (int slot = 0; slot < options.in_flight; ++slot) launch(slot, absl::Now(), launch);
    outstanding.Done();
  } else {
    absl::Duration interval = absl::Seconds(1.0 / options.rate);
    outstanding.Add();
    for (long n = 0;; ++n) {
      absl::Time due = start + n * interval;
      if (due >= end || (by_count && measured_started.load() >= options.calls)) break;
      absl::Time now = absl::Now();
      if (due > now) absl::SleepFor(due - now);
      launch(static_cast<int>(n % std::max(1, options.in_flight)), due, launch);
    }
    outstanding.Done();
  }
  outstanding.WaitForZero();
  // By count, the window closes with the last measured call (none starts after it); by duration,
  // it closed by itself at the end.
  edges.Close();
  if (by_count) {
    std::lock_guard<std::mutex> lock(last_mu);
    return recorder.Result(absl::ToDoubleSeconds(last_finished - measure_from));
  }
  return recorder.Result(absl::ToDoubleSeconds(options.duration));
}

}  // namespace peerwell::bench
