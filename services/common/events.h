#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/common/clock.h"
#include "services/common/config.h"
#include "services/common/executor.h"
#include "services/common/redis_client.h"

namespace peerwell {

// Domain events travel on Redis Streams, one stream per publishing service
// ("pw:events:<service>"). Every entry has the fields `type` (e.g. "person.created"),
// `organization_id`, `occur_time` (RFC 3339) and the event's own fields. Events carry ids and
// facts, never free text a person wrote.
std::string EventStreamKey(absl::string_view service);

struct EventField {
  std::string name;
  std::string value;
};

// Every event stream is capped at about this many entries (XADD MAXLEN ~); consumers keep far
// behind it.
inline constexpr int kEventStreamMaxLen = 1'000'000;

// An event entry's field-value pairs: type, organization_id, occur_time, then its own fields.
std::vector<std::string> EventFieldPairs(absl::string_view type, absl::string_view organization_id,
                                         absl::Time occur_time,
                                         const std::vector<EventField>& fields);

// The XADD that publishes an event; put it in the same MULTI/EXEC as the state change it
// announces so that neither happens without the other.
RedisCommand EventXadd(absl::string_view stream, absl::string_view type,
                       absl::string_view organization_id, absl::Time occur_time,
                       const std::vector<EventField>& fields);

struct StreamEntry {
  std::string id;
  std::vector<EventField> fields;
  bool deleted = false;  // trimmed from the stream while pending: acknowledged, never handled
  std::string Get(absl::string_view name) const;
};

struct ConsumerOptions {
  std::string stream;
  std::string group;
  std::string consumer;            // unique per process, e.g. the pod name
  std::string dead_letter_stream;  // defaults to "<stream>:dead"
  // A failing entry goes to the dead-letter stream after this many deliveries, unless it failed
  // for want of something that comes back (UNAVAILABLE, DEADLINE_EXCEEDED: Redis or another
  // service down), which is retried until it succeeds.
  int max_deliveries = 5;
  int batch = 64;
  absl::Duration block = absl::Seconds(1);           // XREADGROUP BLOCK
  absl::Duration claim_min_idle = absl::Seconds(2);  // when a pending entry counts as abandoned
  absl::Duration claim_interval = absl::Milliseconds(500);
  // After a failed handler or a lost connection, the consumer reads its own pending entries again
  // after this, doubling on each further failure up to max_retry_delay: a critical incident
  // whose handling failed while Redis was down is handled as soon as Redis is back, not after a
  // claim interval. Kept below claim_min_idle so that another consumer does not take it over.
  absl::Duration retry_delay = absl::Milliseconds(50);
  absl::Duration max_retry_delay = absl::Milliseconds(500);
  // Entries with different lane keys are handled concurrently, on this many threads; entries
  // with one key in the order they were read, and after a failure the key's later entries in the
  // same batch wait (pending) behind the failed one. Entries of a later batch may still overtake
  // it before it is claimed again, so handlers must not depend on order across failures. An
  // empty lane_key handles every entry in turn, a failure not holding up the others.
  int lanes = 1;
  std::function<std::string(const StreamEntry&)> lane_key;
  // After a batch smaller than `batch`, read again no sooner than this long after the read that
  // brought it, so that the events published meanwhile come as one batch: fewer reads and
  // acknowledgements, each of them a write that Redis fsyncs with appendfsync always, for up to
  // this much more latency. A batch whose handling took longer gathered its successors already:
  // the next read follows at once.
  absl::Duration linger = absl::ZeroDuration();
  const Clock* clock = nullptr;  // the linger's; the system clock when null
};

// A consumer name unique to this process (host name and pid), so that replicas share a group as
// separate consumers and a dead one's entries can be claimed by the others.
std::string ProcessConsumerName();

// How a service's replicas read `source`'s event stream ("checkin" for pw:events:checkin) in
// consumer group `group`: one consumer per process, and a silent consumer's entries taken over
// after the configured PEERWELL_EVENT_CLAIM_IDLE.
ConsumerOptions ServiceConsumerOptions(const ServiceConfig& config, absl::string_view source,
                                       absl::string_view group);

// The dead-letter stream of `options`: its own, or "<stream>:dead".
std::string DeadLetterStream(const ConsumerOptions& options);

// How far behind a consumer group is, for the suite's own alerting rules.
struct ConsumerBacklog {
  // Entries not yet delivered to the group; unknown when Redis cannot tell (XINFO's nil lag,
  // e.g. after entries were deleted from the middle of the stream, or a Redis before 7.0, whose
  // XINFO GROUPS has no lag).
  std::optional<long long> lag;
  long long pending = 0;       // delivered to a consumer, not yet acknowledged
  long long dead_letters = 0;  // entries in the dead-letter stream
};

// Reads the backlog with XINFO GROUPS and XLEN; a stream or group not created yet has none.
absl::StatusOr<ConsumerBacklog> ReadConsumerBacklog(RedisClient& redis,
                                                    const ConsumerOptions& options);

// Runs a consumer group: reads new entries with XREADGROUP on a connection of its own, calls the
// handler, XACKs only after the handler succeeded (at-least-once: handlers must be idempotent),
// reads its own pending entries again soon after a failure or a reconnection, takes over entries
// another consumer left pending for longer than claim_min_idle (XAUTOCLAIM), and moves an entry
// whose handler has failed max_deliveries times to the dead-letter stream.
class ConsumerGroupRunner {
 public:
  using Handler = std::function<absl::Status(const StreamEntry&)>;
  // Handles entries of different lane keys together, so that their work can share round trips:
  // one status per entry.
  using RoundHandler =
      std::function<std::vector<absl::Status>(const std::vector<const StreamEntry*>&)>;

  ConsumerGroupRunner(RedisAddress address, ConsumerOptions options, Handler handler);
  // A batch is handled in rounds on the consumer's own thread: the first entry of every lane key,
  // then the second of every key, and so on (`lanes` is not used). A key whose entry failed has
  // its later entries of the batch left pending, behind it, as with lanes. Without a lane_key
  // every entry is its own key: the whole batch is one round, in the stream's order.
  ConsumerGroupRunner(RedisAddress address, ConsumerOptions options, RoundHandler handler);
  ~ConsumerGroupRunner();

  void Start();
  // Finishes and acknowledges the batch in hand, then returns; entries it could not handle stay
  // pending, for another consumer to claim.
  void Stop();

  // Counters for tests and metrics.
  long long handled() const { return handled_.load(); }
  long long dead_lettered() const { return dead_lettered_.load(); }

 private:
  ConsumerGroupRunner(RedisAddress address, ConsumerOptions options, Handler handler,
                      RoundHandler round_handler);
  void Loop();
  absl::Time Now() const { return options_.clock != nullptr ? options_.clock->Now() : absl::Now(); }
  absl::Status RunOnce(RedisConnection& connection, bool* claim_due);
  absl::Status ProcessBatch(RedisConnection& connection, const std::vector<StreamEntry>& entries);
  // The outcome of each entry (nullopt: not handled, left pending): by the handler entry by
  // entry, in lanes, or in rounds.
  std::vector<std::optional<absl::Status>> HandleEntries(const std::vector<StreamEntry>& entries);
  std::vector<std::optional<absl::Status>> HandleInRounds(const std::vector<StreamEntry>& entries);
  // An entry whose handler failed: left pending, or dead-lettered after max_deliveries.
  absl::Status Failed(RedisConnection& connection, const StreamEntry& entry,
                      const absl::Status& handled);
  absl::Status DeadLetter(RedisConnection& connection, const StreamEntry& entry,
                          const std::string& reason);

  // Runs `command`, and first the acknowledgement of the last batch if it is still to be sent:
  // both in one write, so that Redis logs (and with appendfsync always, fsyncs) them in one
  // pass rather than two.
  absl::StatusOr<RedisReply> ExecuteAfterAck(RedisConnection& connection,
                                             const RedisCommand& command, absl::Duration timeout);
  // Sends the acknowledgement still to be sent, on its own (before a failure's commands, and
  // before the runner stops); kept when the connection fails.
  absl::Status FlushAck(RedisConnection& connection);

  const RedisAddress address_;
  ConsumerOptions options_;
  Handler handler_;  // or
  RoundHandler round_handler_;
  // Stop() interrupts a blocking read in progress and a linger, so that an idle consumer stops
  // at once instead of after its BLOCK time.
  BlockingReadStop stop_;
  size_t last_batch_ = 0;                   // entries of the last batch, for the linger
  absl::Time last_read_ = absl::InfinitePast();  // when the last batch was asked for
  std::unique_ptr<BoundedExecutor> lanes_;  // null with one lane
  std::atomic<long long> handled_{0};
  std::atomic<long long> dead_lettered_{0};
  std::thread thread_;
  // Schedules a walk of this consumer's own pending entries (after a failure), backing off.
  void RetryOwnPendingLater();

  // The XACK of the last batch's handled entries, sent with the next read; empty when none.
  RedisCommand unsent_ack_;
  long long unsent_ack_events_ = 0;  // of them events (not entries trimmed away), for handled_

  // Where the walk of this consumer's own pending entries is; empty when there is none to do.
  std::string own_pending_cursor_ = "0";
  absl::Time own_retry_time_ = absl::InfinitePast();
  absl::Duration own_retry_delay_;
  absl::Time next_claim_ = absl::InfinitePast();
};

// Parses XREADGROUP / XRANGE / XAUTOCLAIM entry arrays.
std::vector<StreamEntry> ParseStreamEntries(const RedisReply& entries);

}  // namespace peerwell
