#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/common/clock.h"
#include "services/common/config.h"
#include "services/common/executor.h"
#include "services/common/redis_client.h"

namespace peerwell {

// Domain events travel on Redis Streams, one per publishing service and organisation
// ("pw:{<org>}:events:<service>"), so that an event is written in the same hash slot, and in the
// same script or transaction, as the state change it announces. Every entry has the fields `type`
// (e.g. "person.created"), `organization_id`, `occur_time` (RFC 3339) and the event's own fields.
// Events carry ids and facts, never free text a person wrote.
//
// Each write of events also rings the service's doorbell in the same step: PUBLISH on
// "pw:events:<service>" with the organisation's id. Readers wait on the doorbell and read the
// streams of the organisations that rang, rather than every organisation's; a sweep of every
// organisation (the directory's registry) now and then catches what a doorbell lost while its
// subscription was down (Pub/Sub delivers at most once).
std::string EventStreamKey(absl::string_view service, absl::string_view organization_id);

// The doorbell channel of `service`'s streams, "pw:events:<service>"; also how metrics and logs
// name the streams taken together.
std::string EventChannel(absl::string_view service);

// Where consumers of `stream` put the entries they gave up on: "<stream>:dead", in its slot.
std::string DeadLetterStreamKey(absl::string_view stream);

// Lua for a script that publishes events: defines xadd_event(stream, ...), an XADD to `stream`
// (an EventStreamKey) with XADD's arguments after the key, which also rings the stream's
// doorbell; it returns the entry's id. Put it first in the script's body.
extern const char kXaddEventLua[];

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

// The commands that publish an event of `service` (its XADD, then the doorbell); put them in the
// same MULTI/EXEC as the state change they announce so that neither happens without the other.
std::vector<RedisCommand> PublishEventCommands(absl::string_view service, absl::string_view type,
                                               absl::string_view organization_id,
                                               absl::Time occur_time,
                                               const std::vector<EventField>& fields);

struct StreamEntry {
  std::string id;
  std::vector<EventField> fields;
  bool deleted = false;  // trimmed from the stream while pending: acknowledged, never handled
  std::string stream;    // the key it was read from (set by the readers below)
  std::string Get(absl::string_view name) const;
};

// Waits on services' doorbells (SUBSCRIBE, on a connection of its own) and keeps which
// organisations rang since the last look. A (re)made subscription counts as "everything may
// have rung": doorbells are lost while it is down. Reconnects by itself.
class EventDoorbell {
 public:
  EventDoorbell(RedisAddress address, std::vector<std::string> services);
  ~EventDoorbell();
  EventDoorbell(const EventDoorbell&) = delete;
  EventDoorbell& operator=(const EventDoorbell&) = delete;

  struct Rings {
    // (service, organisation) pairs that rang.
    std::set<std::pair<std::string, std::string>> rung;
    // The subscription was made anew since the last look: anything may have rung unheard.
    bool missed = false;
    // Every doorbell rung before this time is in `rung` (or in an earlier look's): the time a
    // PING went out on the subscription whose answer has come back since.
    absl::Time heard_until = absl::InfinitePast();
  };

  void Start();
  // Ends a Wait in progress, and every later one at once.
  void Stop();
  // What rang since the last Take, waiting until something did, `deadline` or Stop.
  Rings Take(absl::Time deadline);
  bool subscribed() const { return subscribed_.load(); }

 private:
  void Loop();
  // SUBSCRIBEs to every channel, waiting for each confirmation.
  absl::Status Subscribe(RedisConnection& connection);
  // Hears rings and answers to its PINGs until the connection fails or Stop.
  absl::Status Listen(RedisConnection& connection);
  // Keeps a ring; false when `pushed` is none.
  bool Heard(const RedisReply& pushed);

  const RedisAddress address_;
  const std::vector<std::string> services_;
  std::mutex mu_;
  std::condition_variable rang_;
  Rings rings_ ABSL_GUARDED_BY(mu_);
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  BlockingReadStop stop_;
  std::atomic<bool> subscribed_{false};
  std::thread thread_;
};

struct ConsumerOptions {
  std::string source;  // the service whose events: every organisation's EventStreamKey(source, ·)
  std::string group;
  std::string consumer;  // unique per process, e.g. the pod name
  // A failing entry goes to the dead-letter stream after this many deliveries, unless it failed
  // for want of something that comes back (UNAVAILABLE, DEADLINE_EXCEEDED: Redis or another
  // service down), which is retried until it succeeds.
  int max_deliveries = 5;
  int batch = 64;  // entries per stream and read
  // A stream with events of late gives up the entries another consumer left pending for longer
  // than claim_min_idle (XAUTOCLAIM) claim_min_idle after it became active (give or take
  // claim_interval), and every claim_min_idle while it stays so; every organisation's stream is
  // swept about every sweep_interval: read whether it rang or not (a doorbell lost), and claimed
  // from. A sweep also follows every new subscription to the doorbell, the first at start.
  absl::Duration claim_min_idle = absl::Seconds(2);
  absl::Duration claim_interval = absl::Milliseconds(500);
  absl::Duration sweep_interval = absl::Seconds(15);
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

// How a service's replicas read `source`'s events ("checkin" for pw:{<org>}:events:checkin) in
// consumer group `group`: one consumer per process, and a silent consumer's entries taken over
// after the configured PEERWELL_EVENT_CLAIM_IDLE.
ConsumerOptions ServiceConsumerOptions(const ServiceConfig& config, absl::string_view source,
                                       absl::string_view group);

// How far behind a consumer group is, over every organisation's stream, for the suite's own
// alerting rules.
struct ConsumerBacklog {
  // Entries not yet delivered to the group; unknown when Redis cannot tell (XINFO's nil lag,
  // e.g. after entries were deleted from the middle of the stream, or a Redis before 7.0, whose
  // XINFO GROUPS has no lag).
  std::optional<long long> lag;
  long long pending = 0;       // delivered to a consumer, not yet acknowledged
  long long dead_letters = 0;  // entries in the dead-letter streams
};

// Reads the backlog with XINFO GROUPS and XLEN of every registered organisation's streams (a
// hundred organisations a round trip); a stream or group not created yet has none.
absl::StatusOr<ConsumerBacklog> ReadConsumerBacklog(RedisClient& redis,
                                                    const ConsumerOptions& options);

// Runs a consumer group over every organisation's stream of a service: waits on the service's
// doorbell and reads (XREADGROUP, pipelined, one command per stream) the streams of the
// organisations that rang, calls the handler, XACKs only after the handler succeeded
// (at-least-once: handlers must be idempotent), reads its own pending entries again soon after a
// failure or a lost connection, sweeps every registered organisation's stream each
// claim_interval, taking over entries another consumer left pending for longer than
// claim_min_idle (XAUTOCLAIM), and moves an entry whose handler has failed max_deliveries times
// to its stream's dead-letter stream. A stream's group is created, from its first entry, the
// first time the stream is read.
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
  // every entry is its own key: the whole batch is one round, in the streams' order.
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
  // One organisation's stream, as this consumer reads it.
  struct Stream {
    std::string key;
    bool group_ready = false;  // the group exists (or was created by this consumer)
    bool unread = false;       // rang, or its last read came back full: read it again
    bool claim_due = false;    // an XAUTOCLAIM, again while they come back full
    absl::Time last_active = absl::InfinitePast();  // when it last rang or gave entries
    absl::Time claim_at = absl::InfiniteFuture();   // its next claim between sweeps
    // Where the walk of this consumer's own pending entries is; empty when there is none to do.
    std::string own_pending_cursor = "0";
    absl::Time own_retry_time = absl::InfinitePast();
    absl::Duration own_retry_delay;
    // The XACK of the handled entries, sent with the next round; empty when none.
    RedisCommand unsent_ack;
    long long unsent_ack_events = 0;  // of them events (not entries trimmed away), for handled_
    // When it is next due for a read (its place in agenda_): InfinitePast at once, InfiniteFuture
    // when nothing is to come before a sweep.
    absl::Time due_at = absl::InfiniteFuture();
  };
  // Streams by when they are next due, soonest first (ties in key order): a round looks at the
  // streams due, not at every organisation's.
  struct SoonerDue {
    bool operator()(const Stream* a, const Stream* b) const {
      return a->due_at != b->due_at ? a->due_at < b->due_at : a->key < b->key;
    }
  };
  enum class ReadKind { kOwnPending, kClaim, kNew };

  ConsumerGroupRunner(RedisAddress address, ConsumerOptions options, Handler handler,
                      RoundHandler round_handler);
  void Loop();
  absl::Time Now() const { return options_.clock != nullptr ? options_.clock->Now() : absl::Now(); }
  Stream& StreamOf(const std::string& organization_id);
  // Marks the streams that rang to be read; after a doorbell's subscription was made anew, every
  // stream is swept.
  void Hear(const EventDoorbell::Rings& rings);
  // The stream rang or gave entries now: claimed from one claim_min_idle on, while it is active.
  void Active(Stream& stream, absl::Time now);
  // Puts the stream in agenda_ where its state says it is next due; after every change of it.
  void Schedule(Stream& stream);
  // One round: what rang or is due read from every stream in one pipeline, handled, and left to
  // acknowledge with the next round.
  absl::Status RunRound();
  // The read a stream is due for now, if any.
  std::optional<ReadKind> DueRead(const Stream& stream, absl::Time now) const;
  absl::Status ProcessBatch(const std::vector<StreamEntry>& entries,
                            const std::vector<Stream*>& streams);
  // The outcome of each entry (nullopt: not handled, left pending): by the handler entry by
  // entry, in lanes, or in rounds.
  std::vector<std::optional<absl::Status>> HandleEntries(const std::vector<StreamEntry>& entries);
  std::vector<std::optional<absl::Status>> HandleInRounds(const std::vector<StreamEntry>& entries);
  // An entry whose handler failed: left pending, or dead-lettered after max_deliveries.
  absl::Status Failed(const StreamEntry& entry, const absl::Status& handled);
  absl::Status DeadLetter(const StreamEntry& entry, const std::string& reason);
  // Sends every acknowledgement still to be sent. Kept when Redis cannot be reached, and sent
  // again (an XACK twice is one) once it is back: what was handled is not handled again.
  absl::Status FlushAcks();
  // The XACKs still to send, appended to `commands`; the streams they acknowledge, in order.
  std::vector<Stream*> QueueUnsentAcks(std::vector<RedisCommand>& commands);
  // Their replies, the first of `replies`: counted as handled and cleared. How many there were.
  size_t TakeAckReplies(const std::vector<Stream*>& acked, const std::vector<RedisReply>& replies);
  // After reads whose replies were lost: entries they delivered are this consumer's own pending
  // ones, which it walks again at once.
  void WalkOwnPendingAgain();
  // Schedules a walk of this consumer's own pending entries (after a failure), backing off.
  void RetryOwnPendingLater(Stream& stream);

  ConsumerOptions options_;
  Handler handler_;  // or
  RoundHandler round_handler_;
  std::unique_ptr<RedisClient> redis_;
  EventDoorbell doorbell_;
  std::atomic<bool> stopping_{false};
  BlockingReadStop stop_;                  // ends a backoff at once
  std::map<std::string, Stream> streams_;  // by organisation
  std::set<Stream*, SoonerDue> agenda_;    // the streams due for a read at some time
  std::vector<Stream*> sweep_left_;        // the sweep's streams still to mark, the next last
  std::vector<Stream*> unacked_;           // the streams with an unsent_ack
  absl::Time next_sweep_ = absl::InfinitePast();
  absl::BitGen random_;                          // the sweeps' jitter
  size_t last_batch_ = 0;                        // entries of the last batch, for the linger
  absl::Time last_read_ = absl::InfinitePast();  // when the last batch was asked for
  std::unique_ptr<BoundedExecutor> lanes_;       // null with one lane
  std::atomic<long long> handled_{0};
  std::atomic<long long> dead_lettered_{0};
  std::thread thread_;
};

// Follows services' events of every organisation in every replica, without a consumer group:
// waits on their doorbells and reads (XREAD, pipelined) the streams that rang from where it was
// in each; every organisation's stream is read each sweep_interval too, and at once after the
// doorbell's subscription was made anew. Starts with the events published from a moment before
// it started (by Redis's clock). Redis away, it reads on from where it was once Redis is back,
// losing nothing.
class EventFollower {
 public:
  struct Options {
    std::vector<std::string> services;
    size_t batch = 256;
    // Every organisation's streams are read this often too, doorbell or not: a backstop, since
    // a subscription made anew is followed by a sweep at once.
    absl::Duration sweep_interval = absl::Seconds(10);
    // The longest wait for a doorbell: `caught_up` is told at least this often while all is well.
    absl::Duration idle_wait = absl::Milliseconds(250);
  };
  using Handler = std::function<void(const std::string& service, const StreamEntry& entry)>;
  // After a pass that read everything the doorbells announced: every event published before
  // `heard_until` has been handled.
  using CaughtUp = std::function<void(absl::Time heard_until)>;
  // Told when reading fails, then once when it works again (ok).
  using Trouble = std::function<void(const absl::Status& status)>;

  EventFollower(RedisAddress address, Options options, Handler handler, CaughtUp caught_up = {},
                Trouble trouble = {});
  ~EventFollower();
  EventFollower(const EventFollower&) = delete;
  EventFollower& operator=(const EventFollower&) = delete;

 private:
  void Loop();
  // Where a stream seen for the first time is read from: a moment before now, by Redis's clock.
  absl::Status FindStart();
  // Reads the streams of the given (service, organisation) pairs from where it was in each,
  // handling what it finds; leaves in `streams` those to read again (their read came back full,
  // or failed: then the first failure is returned).
  absl::Status Read(std::set<std::pair<std::string, std::string>>& streams);

  const Options options_;
  Handler handler_;
  CaughtUp caught_up_;
  Trouble trouble_;
  std::unique_ptr<RedisClient> redis_;
  EventDoorbell doorbell_;
  std::atomic<bool> stopping_{false};
  BlockingReadStop stop_;  // ends a backoff at once
  absl::BitGen random_;    // the sweeps' jitter
  std::string start_id_;   // where a stream seen for the first time is read from; FindStart
  std::map<std::pair<std::string, std::string>, std::string> last_;  // last id read, per stream
  std::thread thread_;
};

// Parses XREADGROUP / XRANGE / XAUTOCLAIM entry arrays.
std::vector<StreamEntry> ParseStreamEntries(const RedisReply& entries);

}  // namespace peerwell
