#include "tools/bench/fanout.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace peerwell::bench {

FanoutLedger::FanoutLedger(int subscribers, int64_t after_sequence)
    : subscribers_(subscribers),
      after_sequence_(after_sequence),
      subscribers_seen_(subscribers),
      highest_known_(after_sequence),
      accounted_through_(after_sequence) {
  for (Subscriber& subscriber : subscribers_seen_) subscriber.highest = after_sequence;
}

long FanoutLedger::Called(absl::Time now, Finish finish) {
  absl::MutexLock lock(&mu_);
  long number = static_cast<long>(posts_.size());
  posts_.push_back({});
  posts_.back().called = now;
  posts_.back().finish = std::move(finish);
  pending_.push_back(number);
  ++totals_.posts;
  return number;
}

FanoutLedger::Post* FanoutLedger::Find(long post) {
  if (post < 0 || post >= static_cast<long>(posts_.size())) return nullptr;
  return &posts_[post];
}

void FanoutLedger::Learn(Post& post, int64_t sequence) {
  if (sequence <= after_sequence_ || (post.sequence != 0 && post.sequence != sequence)) {
    ++round_errors_["WRONG_SEQUENCE"];
    return;
  }
  post.sequence = sequence;
  highest_known_ = std::max(highest_known_, sequence);
}

void FanoutLedger::MaybeFinish(Post& post, std::vector<Ready>& ready) {
  if (post.finished || !post.replied) return;
  if (post.failed) return;  // finished with its reply
  if (post.delivered < subscribers_) return;
  post.finished = true;
  ready.push_back({std::move(post.finish), absl::OkStatus()});
}

void FanoutLedger::Run(std::vector<Ready>& ready) {
  for (Ready& r : ready) r.finish(r.status);
}

void FanoutLedger::Replied(long number, const absl::Status& status, int64_t sequence) {
  std::vector<Ready> ready;
  {
    absl::MutexLock lock(&mu_);
    Post* post = Find(number);
    if (post == nullptr || post->replied) return;
    post->replied = true;
    if (!status.ok()) {
      post->failed = true;
      post->finished = true;
      ready.push_back({std::move(post->finish), status});
    } else {
      Learn(*post, sequence);
      MaybeFinish(*post, ready);
    }
  }
  Run(ready);
}

void FanoutLedger::Delivered(int subscriber, long number, int64_t sequence, absl::Time now) {
  std::vector<Ready> ready;
  {
    absl::MutexLock lock(&mu_);
    Post* post = Find(number);
    if (post == nullptr || subscriber < 0 || subscriber >= subscribers_) {
      ++round_errors_["UNKNOWN_MESSAGE"];
      return;
    }
    if (sequence <= after_sequence_) {
      ++round_errors_["WRONG_SEQUENCE"];
      return;
    }
    Learn(*post, sequence);
    Subscriber& s = subscribers_seen_[subscriber];
    size_t index = static_cast<size_t>(sequence - after_sequence_ - 1);
    if (index >= s.seen.size()) s.seen.resize(std::max(index + 1, s.seen.size() * 2));
    if (s.seen[index]) {
      ++round_errors_["DUPLICATE"];
      return;
    }
    s.seen[index] = true;
    if (sequence < s.highest) ++round_errors_["OUT_OF_ORDER"];
    s.highest = std::max(s.highest, sequence);
    if (sequence <= accounted_through_) ++totals_.late;  // already counted missing
    ++totals_.deliveries;
    ++post->delivered;
    round_deliveries_.emplace_back(post->called, absl::ToDoubleMilliseconds(now - post->called));
    MaybeFinish(*post, ready);
  }
  Run(ready);
}

void FanoutLedger::DeliveredUnknown() {
  absl::MutexLock lock(&mu_);
  ++round_errors_["UNKNOWN_MESSAGE"];
}

void FanoutLedger::StreamEnded(const std::string& code) {
  absl::MutexLock lock(&mu_);
  ++round_errors_[absl::StrCat("STREAM_", code)];
}

int64_t FanoutLedger::LastSeen(int subscriber) const {
  absl::MutexLock lock(&mu_);
  return subscribers_seen_[subscriber].highest;
}

void FanoutLedger::Expire(absl::Time cutoff) {
  std::vector<Ready> ready;
  {
    absl::MutexLock lock(&mu_);
    for (long number : pending_) {
      Post& post = posts_[number];
      if (post.called >= cutoff) break;
      if (post.finished || !post.replied) continue;  // an unreplied post waits for its reply
      post.finished = true;
      ready.push_back({std::move(post.finish),
                       absl::DeadlineExceededError("not delivered to every subscriber in time")});
    }
    while (!pending_.empty() && posts_[pending_.front()].finished) pending_.pop_front();
  }
  Run(ready);
}

LoadResult FanoutLedger::CloseRound(absl::Time from, absl::Time until, double seconds) {
  absl::MutexLock lock(&mu_);
  LoadResult result;
  result.seconds = seconds;
  result.measured_from = from;
  result.measured_until = until;
  for (const auto& [called, latency_ms] : round_deliveries_) {
    if (called >= from && called < until) result.latencies_ms.push_back(latency_ms);
  }
  std::sort(result.latencies_ms.begin(), result.latencies_ms.end());
  result.calls = static_cast<long>(result.latencies_ms.size());
  long missing = 0;
  for (const Subscriber& s : subscribers_seen_) {
    for (int64_t sequence = accounted_through_ + 1; sequence <= highest_known_; ++sequence) {
      size_t index = static_cast<size_t>(sequence - after_sequence_ - 1);
      if (index >= s.seen.size() || !s.seen[index]) ++missing;
    }
  }
  accounted_through_ = highest_known_;
  if (missing > 0) round_errors_["MISSING"] += missing;
  result.errors = std::move(round_errors_);
  round_errors_.clear();
  round_deliveries_.clear();
  return result;
}

FanoutLedger::Totals FanoutLedger::totals() const {
  absl::MutexLock lock(&mu_);
  return totals_;
}

}  // namespace peerwell::bench
