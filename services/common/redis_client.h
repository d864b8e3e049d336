#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/common/config.h"

struct redisContext;

namespace peerwell {

class RedisClusterRouter;

// A Redis reply, detached from hiredis so that stores and tests do not depend on it.
struct RedisReply {
  enum class Type { kNil, kString, kStatus, kInteger, kError, kArray };
  Type type = Type::kNil;
  std::string str;  // kString, kStatus, kError
  long long integer = 0;
  std::vector<RedisReply> elements;

  bool IsNil() const { return type == Type::kNil; }
  bool IsError() const { return type == Type::kError; }
  bool IsArray() const { return type == Type::kArray; }
};

using RedisCommand = std::vector<std::string>;

// Receives the outcome of an asynchronous call, on one of the client's I/O threads: it must not
// block, nor make a synchronous call on the same client (it would wait for its own thread).
using RedisRepliesDone = absl::AnyInvocable<void(absl::StatusOr<std::vector<RedisReply>>) &&>;
using RedisReplyDone = absl::AnyInvocable<void(absl::StatusOr<RedisReply>) &&>;

// A Lua script, run with EVALSHA and re-sent with EVAL when the server does not know it yet
// (after a restart or a SCRIPT FLUSH). Its source starts "#!lua" (added when it has no such
// line): on a cluster, Redis then refuses any key it reaches outside its keys' slot, and when
// its memory is full it refuses the script before it starts (so that it never stops halfway
// for want of memory). Scripts are for writes: what only reads is plain commands.
class RedisScript {
 public:
  explicit RedisScript(std::string source);
  const std::string& source() const { return source_; }
  const std::string& sha1() const { return sha1_; }

 private:
  std::string source_;
  std::string sha1_;
};

// Scripts report domain errors as error replies "<CODE> <message>" where CODE is an
// absl::StatusCode name such as NOT_FOUND or FAILED_PRECONDITION; this turns one back into a
// status. Other error replies become INTERNAL.
absl::Status ScriptErrorToStatus(const RedisReply& reply);

// Receives the outcome of every command group the client runs (for metrics).
class RedisObserver {
 public:
  virtual ~RedisObserver() = default;
  virtual void OnRedisCall(size_t commands, absl::Duration latency, const absl::Status& status) = 0;
  virtual void OnRedisReconnect(bool ok) = 0;
};

// One synchronous hiredis connection. Not thread-safe; after an I/O error it must be thrown
// away. Used by the pipelining client and on its own for blocking reads (XREADGROUP BLOCK).
class RedisConnection {
 public:
  static absl::StatusOr<std::unique_ptr<RedisConnection>> Connect(const RedisAddress& address,
                                                                  absl::Duration timeout);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // Bounds every following read and write.
  absl::Status SetTimeout(absl::Duration timeout);
  // Refused (FAILED_PRECONDITION, nothing written) when the address refuses cross-slot writes
  // and the command names keys of two slots.
  absl::Status Append(const RedisCommand& command);
  // The commands back to back, refused whole the same way when a command or a MULTI ... EXEC
  // among them spans slots.
  absl::Status AppendAll(std::span<const RedisCommand> commands);
  // Writes every appended command to the socket (ReadReply would do it first otherwise).
  absl::Status Flush();
  absl::StatusOr<RedisReply> ReadReply();
  // A reply already received, or one that arrives within `wait`; nullopt when none did (the
  // connection stays usable, unlike a read that runs into the socket's timeout). For a
  // connection that waits for what the server pushes (SUBSCRIBE).
  absl::StatusOr<std::optional<RedisReply>> ReadReplyWithin(absl::Duration wait);
  int fd() const;
  // Whether the server closed its end (it died or restarted) while the connection was idle.
  bool PeerClosed();
  // From another thread: ends a read in progress (e.g. a blocking XREADGROUP) with an error.
  void Interrupt();
  // Append + ReadReply with the socket bounded by `timeout`.
  absl::StatusOr<RedisReply> Execute(const RedisCommand& command, absl::Duration timeout);

 private:
  friend class RedisClient;  // its batches were checked group by group when queued
  RedisConnection(redisContext* context, bool refuse_cross_slot)
      : context_(context), refuse_cross_slot_(refuse_cross_slot) {}
  absl::Status AppendUnchecked(const RedisCommand& command);
  absl::Status IoError(const char* what);
  redisContext* context_;
  const bool refuse_cross_slot_;
};

// How a thread that blocks on a connection of its own (XREADGROUP or XREAD BLOCK) is stopped from
// another at once: Stop() interrupts the read in progress and ends a wait early.
class BlockingReadStop {
 public:
  // Whether to read on `connection` (false once stopped); EndRead() when the read is over.
  bool BeginRead(RedisConnection& connection);
  void EndRead();
  void Stop();
  bool stopped() const { return stopped_; }
  // Waits `timeout`, or less when stopped meanwhile.
  void Wait(absl::Duration timeout);

 private:
  std::mutex mu_;
  RedisConnection* reading_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::atomic<bool> stopped_{false};
  std::condition_variable stop_requested_;
};

struct RedisOptions {
  RedisAddress address;
  // Connections share one queue; while one reads a batch's replies, another writes the next.
  int connections = 2;
  absl::Duration connect_timeout = absl::Seconds(1);
  // Bound for commands issued outside a call (no ScopedDeadline).
  absl::Duration default_timeout = absl::Seconds(5);
  absl::Duration initial_backoff = absl::Milliseconds(25);
  // Reconnects at least four times a second while Redis is away: calls work again within a
  // quarter of a second of its return (a refused connection costs next to nothing).
  absl::Duration max_backoff = absl::Milliseconds(250);
  size_t max_batch_commands = 4096;
  // Acknowledged means replicated: every batch that writes waits (WAIT) until it reached this many
  // replicas, for at most replica_wait, and fails UNAVAILABLE when they did not, so that no call
  // is answered with a write a failover could lose. 0: answered once the server has it.
  int min_replicas = 0;
  absl::Duration replica_wait = absl::Seconds(1);
};

// The Redis client every service shares. Callers on many threads hand it command groups; its
// I/O threads take every group waiting in the queue, write them as one pipelined batch and read
// the replies in order, so concurrent callers share a connection instead of paying one round trip
// each. A caller that finds a connection idle and nobody queued writes its group itself, and the
// connection's I/O thread, waiting in poll(2) on the socket, wakes only for the replies: one
// thread wake-up per round trip rather than two (one to write, one to read). A group's commands
// stay contiguous on one connection, which makes MULTI/EXEC safe.
// Every call is bounded by CurrentDeadline() (capped at default_timeout); a Redis that is down,
// loading or slow yields UNAVAILABLE, a call whose deadline passes DEADLINE_EXCEEDED.
class RedisClient {
 public:
  explicit RedisClient(RedisOptions options, RedisObserver* observer = nullptr);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // The synchronous calls wait for the reply: inside a NonBlockingScope they answer WouldBlock.
  absl::StatusOr<RedisReply> Execute(RedisCommand command);
  // A command without keys (BGREWRITEAOF, INFO) for the server that holds `key`: on a cluster,
  // the master of its slot; on one server, Execute.
  absl::StatusOr<RedisReply> ExecuteOnNodeOf(absl::string_view key, RedisCommand command);
  // Runs the commands back to back on one connection; one reply per command.
  absl::StatusOr<std::vector<RedisReply>> ExecuteAll(std::vector<RedisCommand> commands);
  // ExecuteAll `per_round_trip` commands at a time, one round trip after the other: for a pass
  // over every organisation, so that the client's other callers, queued behind each slice, do
  // not wait for thousands of replies.
  absl::StatusOr<std::vector<RedisReply>> ExecuteInSlices(std::vector<RedisCommand> commands,
                                                          size_t per_round_trip = 300);
  // MULTI, the commands, EXEC: the replies of the commands inside the transaction.
  absl::StatusOr<std::vector<RedisReply>> Transaction(std::vector<RedisCommand> commands);
  absl::StatusOr<RedisReply> Eval(const RedisScript& script, const std::vector<std::string>& keys,
                                  const std::vector<std::string>& args);
  // ExecuteAll and Eval without a thread waiting: `done` runs when the replies are in, under the
  // deadline the calling thread has now. The call's thread goes back to other work meanwhile.
  void ExecuteAllAsync(std::vector<RedisCommand> commands, RedisRepliesDone done);
  void TransactionAsync(std::vector<RedisCommand> commands, RedisRepliesDone done);
  void EvalAsync(const RedisScript& script, std::vector<std::string> keys,
                 std::vector<std::string> args, RedisReplyDone done);
  // A script's EVALSHA as one command of a pipeline (ExecuteAll). Its reply is a NOSCRIPT error
  // (IsNoScript) when the server does not know the script yet: nothing ran, so run that call
  // again with Eval, which sends the source.
  static RedisCommand EvalShaCommand(const RedisScript& script,
                                     const std::vector<std::string>& keys,
                                     const std::vector<std::string>& args);
  static bool IsNoScript(const RedisReply& reply);
  // The script once per call, every call in one pipeline (EVALSHA), each the server did not know
  // yet sent again with its source: one reply per call.
  struct ScriptCall {
    std::vector<std::string> keys;
    std::vector<std::string> args;
  };
  absl::StatusOr<std::vector<RedisReply>> EvalEach(const RedisScript& script,
                                                   const std::vector<ScriptCall>& calls);
  // OK when Redis answers a data command (so not while it is loading its data set).
  absl::Status Ping(absl::Duration timeout);

  const RedisOptions& options() const { return options_; }

 private:
  friend class RedisClusterRouter;  // sends each node's share through that node's own client
  struct Pending;
  using Batch = std::vector<std::shared_ptr<Pending>>;
  struct Lane;
  void IoLoop(Lane& lane);
  // Writes the group on an idle connection from the caller's thread (a send of a few KiB into
  // the socket's buffer), or queues it for the I/O threads; `done` runs once, on an I/O thread
  // (or here, when the client is stopping).
  // `keyless_slot`: on a cluster, where the group's commands without keys go (-1: anywhere).
  void Enqueue(std::vector<RedisCommand> commands, absl::Time deadline, RedisRepliesDone done,
               int keyless_slot = -1);
  // An idle, connected lane for a caller to write its group on, taken for it.
  Lane* TakeIdleLaneLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WakeIdleLaneLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Gives the lane's I/O thread what a caller wrote on it, and how the write ended; whether the
  // thread waits for it on caller_wrote_ (to be notified after mu_ is released).
  bool HandOverLocked(Lane& lane, Batch batch, absl::Status written)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Time CallDeadline() const;
  void RunBatch(Lane& lane, Batch& batch);
  absl::Status WriteBatch(RedisConnection& connection, const Batch& batch, absl::Time latest);
  void ReadReplies(Lane& lane, Batch& batch);
  // Whether a group writes nothing: it needs no replica's acknowledgement (and is answered while
  // too few replicas are there).
  static bool ReadsOnly(const Pending& group);
  // Whether the batch ends with a WAIT for min_replicas (a group of it writes).
  bool WaitsForReplicas(const Batch& batch) const;
  // How long the socket waits for a batch's replies: until its latest deadline, and a little past
  // it for a WAIT.
  static absl::Duration ReadBound(absl::Time latest, bool waits_for_replicas);
  // A group's replies, to its caller (and the observer).
  void Answer(Pending& group, std::vector<RedisReply> replies);
  // With min_replicas, for a batch that writes: its replies, kept until its WAIT says they are
  // replicated.
  void ReadRepliesAfterReplicas(Lane& lane, Batch& batch);
  void FailBatch(Batch& batch, size_t from, const absl::Status& status);
  bool EnsureConnected(Lane& lane, absl::Time deadline, absl::Status* error);

  const RedisOptions options_;
  RedisObserver* const observer_;
  // In cluster mode, where every group goes instead of this client's own connections.
  std::unique_ptr<RedisClusterRouter> router_;
  std::mutex mu_;
  // Signalled when a caller has finished writing on a lane whose I/O thread waits for it.
  std::condition_variable caller_wrote_;
  std::deque<std::shared_ptr<Pending>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Shared by all I/O threads so that a Redis outage is probed at a bounded rate.
  absl::Time next_connect_attempt_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Duration backoff_ ABSL_GUARDED_BY(mu_);
  absl::Status last_connect_error_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<Lane>> lanes_;
};

// Helpers for reading replies.
// HGETALL's flat [field, value, ...] array as pairs; empty for a missing key.
std::vector<std::pair<std::string, std::string>> ReplyPairs(const RedisReply& reply);

// Every key matching `pattern`, SCAN by SCAN (service users may not run KEYS, and SCAN never
// holds Redis up for a walk of the whole keyspace). A key may come twice.
absl::StatusOr<std::vector<std::string>> MatchingKeys(RedisClient& redis,
                                                      const std::string& pattern);

}  // namespace peerwell
