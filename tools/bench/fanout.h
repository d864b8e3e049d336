#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "tools/bench/load.h"

namespace peerwell::bench {

// The books of a fan-out run (post-fanout): posts as they are called, their sequences as their
// replies and deliveries reveal them, and what each subscriber received, so that a round can
// report the latency of each delivery from its post's call and every delivery that broke the
// promise "each subscriber receives every sequence of the channel once, in order". Apart from
// gRPC, so that a test can feed it any misbehaviour. Thread-safe.
//
// A post finishes (its `finish` runs once, outside the lock) with its reply's error, or when its
// reply was OK and every subscriber has it (OK), or, replied, when Expire finds it older than
// the cutoff (DEADLINE_EXCEEDED). A post always finishes after its reply, so its caller's
// context outlives the call.
class FanoutLedger {
 public:
  using Finish = std::function<void(absl::Status)>;

  // Subscribers follow the channel after `after_sequence`.
  FanoutLedger(int subscribers, int64_t after_sequence);

  // A post about to be called: its number, which its body carries so that a delivery can be
  // matched before the reply.
  long Called(absl::Time now, Finish finish);
  // The post's reply: OK with its sequence, or an error.
  void Replied(long post, const absl::Status& status, int64_t sequence);
  // A delivery of `post`, as `sequence`, to `subscriber`.
  void Delivered(int subscriber, long post, int64_t sequence, absl::Time now);
  // A delivery whose body names no post of this run.
  void DeliveredUnknown();
  // A subscriber's stream ended (it resumes from LastSeen).
  void StreamEnded(const std::string& code);
  // The highest sequence `subscriber` has received: its cursor when it resumes.
  int64_t LastSeen(int subscriber) const;
  // Finishes the replied posts called before `cutoff` that a subscriber still lacks.
  void Expire(absl::Time cutoff);

  // The round since the last: the latency of every first delivery of a post called in [from,
  // until) — `calls` of them over `seconds` — and as errors by kind every delivery that broke the
  // promise: a sequence a subscriber already had (DUPLICATE) or received after a later one
  // (OUT_OF_ORDER), a delivery whose sequence is not its post's or not after the cursor
  // (WRONG_SEQUENCE), one of no post (UNKNOWN_MESSAGE), each sequence up to the highest known that
  // a subscriber lacks now (MISSING), and streams that ended (STREAM_<code>). Deliveries of a
  // sequence counted missing that arrive later are counted late, not again.
  LoadResult CloseRound(absl::Time from, absl::Time until, double seconds);

  struct Totals {
    long posts = 0;
    long deliveries = 0;  // first deliveries to a subscriber
    long late = 0;
  };
  Totals totals() const;

 private:
  struct Post {
    absl::Time called;
    int64_t sequence = 0;  // 0 until a reply or a delivery names it
    int delivered = 0;     // subscribers that have it
    bool replied = false;
    bool failed = false;
    bool finished = false;
    Finish finish;
  };
  struct Subscriber {
    std::vector<bool> seen;  // by sequence - after_sequence - 1
    int64_t highest = 0;
  };
  struct Ready {
    Finish finish;
    absl::Status status;
  };

  Post* Find(long post) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Marks the post finished when it may finish, and hands back what to run.
  void MaybeFinish(Post& post, std::vector<Ready>& ready) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Learn(Post& post, int64_t sequence) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static void Run(std::vector<Ready>& ready);

  const int subscribers_;
  const int64_t after_sequence_;
  mutable absl::Mutex mu_;
  std::deque<Post> posts_ ABSL_GUARDED_BY(mu_);    // by number
  std::deque<long> pending_ ABSL_GUARDED_BY(mu_);  // unfinished posts, in call order
  std::vector<Subscriber> subscribers_seen_ ABSL_GUARDED_BY(mu_);
  int64_t highest_known_ ABSL_GUARDED_BY(mu_);      // sequence
  int64_t accounted_through_ ABSL_GUARDED_BY(mu_);  // sequences checked for MISSING
  // This round: (call time, latency) of each first delivery, and the errors by kind.
  std::vector<std::pair<absl::Time, double>> round_deliveries_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, long> round_errors_ ABSL_GUARDED_BY(mu_);
  Totals totals_ ABSL_GUARDED_BY(mu_);
};

}  // namespace peerwell::bench
