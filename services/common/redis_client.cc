#include "services/common/redis_client.h"

#include <hiredis/hiredis.h>
#include <openssl/sha.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <future>
#include <iterator>
#include <mutex>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "services/common/blocking.h"
#include "services/common/deadline.h"
#include "services/common/log.h"
#include "services/common/redis_cluster.h"
#include "services/common/redis_commands.h"

namespace peerwell {
namespace {

timeval SocketTimeout(absl::Duration d) {
  if (d < absl::Milliseconds(1)) d = absl::Milliseconds(1);
  return absl::ToTimeval(d);
}

// hiredis builds each reply straight into a RedisReply: its default reply objects were a tree
// of their own (two allocations per element), copied into a RedisReply and freed. An array's
// elements are sized when its header is read and each is filled in place; hiredis frees only
// the root (on an error part-way through a reply, or with the reader).
RedisReply* PlaceReply(const redisReadTask* task) {
  if (task->parent == nullptr) return new RedisReply;
  return &static_cast<RedisReply*>(task->parent->obj)->elements[task->idx];
}

void* CreateStringReply(const redisReadTask* task, char* str, size_t len) {
  RedisReply* reply = PlaceReply(task);
  reply->type = task->type == REDIS_REPLY_ERROR    ? RedisReply::Type::kError
                : task->type == REDIS_REPLY_STATUS ? RedisReply::Type::kStatus
                                                   : RedisReply::Type::kString;
  reply->str.assign(str, len);
  return reply;
}

void* CreateArrayReply(const redisReadTask* task, int elements) {
  RedisReply* reply = PlaceReply(task);
  reply->type = RedisReply::Type::kArray;
  reply->elements.resize(elements);
  return reply;
}

void* CreateIntegerReply(const redisReadTask* task, long long value) {
  RedisReply* reply = PlaceReply(task);
  reply->type = RedisReply::Type::kInteger;
  reply->integer = value;
  return reply;
}

void* CreateNilReply(const redisReadTask* task) {
  RedisReply* reply = PlaceReply(task);
  reply->type = RedisReply::Type::kNil;
  return reply;
}

void FreeReply(void* reply) { delete static_cast<RedisReply*>(reply); }

redisReplyObjectFunctions kReplyFunctions = {CreateStringReply, CreateArrayReply,
                                             CreateIntegerReply, CreateNilReply, FreeReply};

// Error replies that mean "this server cannot serve now" rather than "this command failed".
// Told by the error's code, its first word: BUSYGROUP (XGROUP CREATE's "exists already") is not
// BUSY (a script running too long).
bool IsUnavailableError(const RedisReply& reply) {
  if (!reply.IsError()) return false;
  const absl::string_view code = absl::string_view(reply.str).substr(0, reply.str.find(' '));
  return code == "LOADING" || code == "BUSY" || code == "MASTERDOWN" || code == "TRYAGAIN" ||
         code == "MISCONF" || code == "READONLY";
}

std::string Sha1Hex(const std::string& text) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  std::string hex;
  for (unsigned char c : digest) absl::StrAppendFormat(&hex, "%02x", c);
  return hex;
}

}  // namespace

namespace {

// A script with this first line must keep to its keys' slot (Redis refuses, on a cluster, any key
// it reaches in another slot, declared or not), where one without could reach another slot that
// happens to be on the same node, and break once the slots are moved.
std::string WithShebang(std::string source) {
  if (source.starts_with("#!")) return source;
  return absl::StrCat("#!lua\n", source);
}

}  // namespace

RedisScript::RedisScript(std::string source)
    : source_(WithShebang(std::move(source))), sha1_(Sha1Hex(source_)) {}

absl::Status ScriptErrorToStatus(const RedisReply& reply) {
  if (!reply.IsError()) return absl::OkStatus();
  static constexpr std::pair<absl::string_view, absl::StatusCode> kCodes[] = {
      {"INVALID_ARGUMENT ", absl::StatusCode::kInvalidArgument},
      {"NOT_FOUND ", absl::StatusCode::kNotFound},
      {"ALREADY_EXISTS ", absl::StatusCode::kAlreadyExists},
      {"FAILED_PRECONDITION ", absl::StatusCode::kFailedPrecondition},
      {"PERMISSION_DENIED ", absl::StatusCode::kPermissionDenied},
      {"ABORTED ", absl::StatusCode::kAborted},
      {"RESOURCE_EXHAUSTED ", absl::StatusCode::kResourceExhausted},
  };
  for (const auto& [prefix, code] : kCodes) {
    if (absl::StartsWith(reply.str, prefix)) {
      return absl::Status(code, reply.str.substr(prefix.size()));
    }
  }
  if (IsUnavailableError(reply)) return absl::UnavailableError("redis is not ready");
  return absl::InternalError(absl::StrCat("redis error: ", reply.str));
}

// --- RedisConnection ---------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<RedisConnection>> RedisConnection::Connect(
    const RedisAddress& address, absl::Duration timeout) {
  // hiredis writes with plain write(2): a write to a Redis that just died would raise SIGPIPE
  // and kill the whole process instead of failing one batch with UNAVAILABLE.
  static std::once_flag ignore_sigpipe;
  std::call_once(ignore_sigpipe, [] { signal(SIGPIPE, SIG_IGN); });
  timeval tv = SocketTimeout(timeout);
  redisContext* context = address.unix_path.empty()
                              ? redisConnectWithTimeout(address.host.c_str(), address.port, tv)
                              : redisConnectUnixWithTimeout(address.unix_path.c_str(), tv);
  if (context == nullptr) return absl::UnavailableError("redis: out of memory");
  if (context->err != 0) {
    absl::Status status = absl::UnavailableError(
        absl::StrCat("redis at ", address.ToString(), " unreachable: ", context->errstr));
    redisFree(context);
    return status;
  }
  if (address.unix_path.empty()) redisEnableKeepAlive(context);
  context->reader->fn = &kReplyFunctions;
  std::unique_ptr<RedisConnection> connection(
      new RedisConnection(context, address.refuse_cross_slot));
  if (address.password.empty()) return connection;
  // hiredis 0.14 cannot authenticate as it connects: AUTH is the first command. A refusal is
  // UNAVAILABLE like an unreachable Redis: the service cannot use its store until the
  // credentials are fixed, and says which user was refused (never the password).
  auto auth = connection->Execute({"AUTH", address.username, address.password}, timeout);
  if (!auth.ok()) return auth.status();
  if (auth->IsError()) {
    return absl::UnavailableError(absl::StrCat("redis at ", address.ToString(), " refused user ",
                                               address.username, ": ", auth->str));
  }
  return connection;
}

RedisConnection::~RedisConnection() { redisFree(context_); }

bool RedisConnection::PeerClosed() {
  // Between batches every reply has been read, so a healthy connection has nothing to read.
  char byte;
  ssize_t n = recv(context_->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) return true;
  return n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
}

void RedisConnection::Interrupt() { shutdown(context_->fd, SHUT_RDWR); }

bool BlockingReadStop::BeginRead(RedisConnection& connection) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopped_) return false;
  reading_ = &connection;
  return true;
}

void BlockingReadStop::EndRead() {
  std::lock_guard<std::mutex> lock(mu_);
  reading_ = nullptr;
}

void BlockingReadStop::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
    if (reading_ != nullptr) reading_->Interrupt();
  }
  stop_requested_.notify_all();
}

void BlockingReadStop::Wait(absl::Duration timeout) {
  if (timeout <= absl::ZeroDuration()) return;
  std::unique_lock<std::mutex> lock(mu_);
  stop_requested_.wait_for(lock, absl::ToChronoMicroseconds(timeout),
                           [this] { return stopped_.load(); });
}

absl::Status RedisConnection::IoError(const char* what) {
  return absl::UnavailableError(absl::StrCat(
      "redis ", what, " failed: ", context_->err != 0 ? context_->errstr : "no reply"));
}

absl::Status RedisConnection::SetTimeout(absl::Duration timeout) {
  if (redisSetTimeout(context_, SocketTimeout(timeout)) != REDIS_OK) return IoError("set timeout");
  return absl::OkStatus();
}

absl::Status RedisConnection::Append(const RedisCommand& command) {
  return AppendAll(std::span<const RedisCommand>(&command, 1));
}

absl::Status RedisConnection::AppendAll(std::span<const RedisCommand> commands) {
  if (refuse_cross_slot_) {
    if (auto status = CheckOneSlotPerAtomicWrite(commands); !status.ok()) return status;
  }
  for (const RedisCommand& command : commands) {
    if (auto status = AppendUnchecked(command); !status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status RedisConnection::AppendUnchecked(const RedisCommand& command) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  argv.reserve(command.size());
  lengths.reserve(command.size());
  for (const auto& arg : command) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  if (redisAppendCommandArgv(context_, static_cast<int>(argv.size()), argv.data(),
                             lengths.data()) != REDIS_OK) {
    return IoError("write");
  }
  return absl::OkStatus();
}

absl::Status RedisConnection::Flush() {
  int done = 0;
  while (done == 0) {
    if (redisBufferWrite(context_, &done) != REDIS_OK) return IoError("write");
  }
  return absl::OkStatus();
}

int RedisConnection::fd() const { return context_->fd; }

absl::StatusOr<RedisReply> RedisConnection::ReadReply() {
  void* raw = nullptr;
  if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) return IoError("read");
  std::unique_ptr<RedisReply> reply(static_cast<RedisReply*>(raw));  // kReplyFunctions built it
  return std::move(*reply);
}

absl::StatusOr<std::optional<RedisReply>> RedisConnection::ReadReplyWithin(absl::Duration wait) {
  void* raw = nullptr;
  if (redisGetReplyFromReader(context_, &raw) != REDIS_OK) return IoError("read");
  if (raw == nullptr) {
    if (auto status = Flush(); !status.ok()) return status;
    pollfd readable{context_->fd, POLLIN, 0};
    const int ms = static_cast<int>(std::clamp<int64_t>(
        absl::ToInt64Milliseconds(absl::Ceil(wait, absl::Milliseconds(1))), 0, 1 << 30));
    int ready;
    do {
      ready = poll(&readable, 1, ms);  // a signal cuts the wait short at most by its remainder
    } while (ready < 0 && errno == EINTR);
    if (ready == 0) return std::nullopt;
    if (ready < 0) return IoError("poll");
    return ReadReply();
  }
  std::unique_ptr<RedisReply> reply(static_cast<RedisReply*>(raw));  // kReplyFunctions built it
  return std::move(*reply);
}

absl::StatusOr<RedisReply> RedisConnection::Execute(const RedisCommand& command,
                                                    absl::Duration timeout) {
  if (auto status = SetTimeout(timeout); !status.ok()) return status;
  if (auto status = Append(command); !status.ok()) return status;
  return ReadReply();
}

// --- RedisClient -------------------------------------------------------------------------------

struct RedisClient::Pending {
  std::vector<RedisCommand> commands;
  absl::Time deadline;
  absl::Time enqueue_time;
  RedisRepliesDone done;

  void Complete(absl::StatusOr<std::vector<RedisReply>> replies) {
    std::move(done)(std::move(replies));
  }
};

// One connection and the I/O thread that reads it. Its connection is used by one thread at a
// time: the I/O thread, except between a caller taking the lane (kCallerWriting) and handing
// it the batch it wrote (kRepliesDue). The lane's fields are guarded by the client's mu_; the
// connection itself changes only while the I/O thread has the lane's turn.
struct RedisClient::Lane {
  enum class Turn { kIdle, kCallerWriting, kRepliesDue, kIoThread };
  Turn turn = Turn::kIdle;
  std::unique_ptr<RedisConnection> connection;
  // Groups a caller wrote, and how its write ended; their replies are the I/O thread's to read.
  Batch due;
  absl::Status write_status;
  // Wakes the I/O thread from its poll for queued work or for stopping; `signalled` while a
  // wake-up is unread, so that a burst of callers writes the eventfd once.
  int wake_fd = -1;
  bool signalled = false;
  bool waiting_for_caller = false;
  std::thread thread;

  void Signal() {
    uint64_t one = 1;
    // The counter cannot overflow (the I/O thread reads it after every wake-up), and a full one
    // would still wake it.
    [[maybe_unused]] ssize_t written = write(wake_fd, &one, sizeof(one));
  }
  // Signal, unless a wake-up is still unread (with the client's mu_ held).
  void SignalOnce() {
    if (signalled) return;
    signalled = true;
    Signal();
  }
};

RedisClient::RedisClient(RedisOptions options, RedisObserver* observer)
    : options_(std::move(options)), observer_(observer), backoff_(options_.initial_backoff) {
  if (options_.address.cluster) {
    router_ = std::make_unique<RedisClusterRouter>(options_, observer_);
    return;  // the nodes' own clients hold the connections
  }
  for (int i = 0; i < options_.connections; ++i) {
    auto lane = std::make_unique<Lane>();
    lane->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (lane->wake_fd < 0) {
      // Only when the process is out of file descriptors as it starts: nothing could work.
      Log(Severity::kError, absl::StrCat("redis client: eventfd failed: ", std::strerror(errno)));
      std::abort();
    }
    lanes_.push_back(std::move(lane));
  }
  for (auto& lane : lanes_) {
    lane->thread = std::thread([this, &lane = *lane] { IoLoop(lane); });
    // Named for profiles and `top -H`, and so that tests can find the client's threads: here
    // rather than by the thread itself, so that the names are there when the client is.
    pthread_setname_np(lane->thread.native_handle(), "redis-io");
  }
}

RedisClient::~RedisClient() {
  router_.reset();
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  for (auto& lane : lanes_) lane->Signal();
  for (auto& lane : lanes_) {
    lane->thread.join();
    close(lane->wake_fd);
  }
  for (auto& pending : queue_) {
    pending->Complete(absl::UnavailableError("redis client is shutting down"));
  }
}

namespace {

// What a caller writes from its own thread: a group that fits a new TCP connection's send
// buffer (16 KiB on Linux), so the write does not wait for Redis to read. A check-in's write is
// a few KiB.
constexpr size_t kMaxInlineBytes = 16 * 1024;

// How often an idle I/O thread with a connection looks up from its poll: a caller's group whose
// replies do not come (a Redis paused or cut off) fails by its deadline, at most this late,
// although no reply wakes the thread.
constexpr int kIdlePollMillis = 100;

size_t GroupBytes(const std::vector<RedisCommand>& commands) {
  size_t bytes = 0;
  for (const auto& command : commands) {
    for (const auto& arg : command) bytes += arg.size() + 16;
  }
  return bytes;
}

}  // namespace

RedisClient::Lane* RedisClient::TakeIdleLaneLocked() {
  // Groups already queued came first: a caller waits its turn behind them.
  if (!queue_.empty()) return nullptr;
  for (auto& lane : lanes_) {
    if (lane->turn != Lane::Turn::kIdle || lane->connection == nullptr) continue;
    lane->turn = Lane::Turn::kCallerWriting;
    return lane.get();
  }
  return nullptr;
}

void RedisClient::WakeIdleLaneLocked() {
  for (auto& lane : lanes_) {
    if (lane->turn != Lane::Turn::kIdle) continue;
    lane->SignalOnce();
    return;
  }
  // Every lane is busy: each looks at the queue before it waits again.
}

bool RedisClient::HandOverLocked(Lane& lane, Batch batch, absl::Status written) {
  // A failed write brings no reply to wake the I/O thread from its poll.
  if (!written.ok()) lane.SignalOnce();
  lane.due = std::move(batch);
  lane.write_status = std::move(written);
  lane.turn = Lane::Turn::kRepliesDue;
  return lane.waiting_for_caller;
}

void RedisClient::Enqueue(std::vector<RedisCommand> commands, absl::Time deadline,
                          RedisRepliesDone done, int keyless_slot) {
  if (options_.address.refuse_cross_slot) {
    if (auto status = CheckOneSlotPerAtomicWrite(commands); !status.ok()) {
      return std::move(done)(std::move(status));
    }
  }
  if (router_ != nullptr) {
    return router_->Route(std::move(commands), deadline, std::move(done), keyless_slot);
  }
  auto pending = std::make_shared<Pending>();
  pending->commands = std::move(commands);
  pending->deadline = deadline;
  pending->enqueue_time = absl::Now();
  pending->done = std::move(done);
  // A group already past its deadline goes to the queue, where it fails without being sent.
  const bool may_write_here =
      deadline > pending->enqueue_time && GroupBytes(pending->commands) <= kMaxInlineBytes;
  std::unique_lock<std::mutex> lock(mu_);
  if (stopping_) {
    lock.unlock();
    return pending->Complete(absl::UnavailableError("redis client is shutting down"));
  }
  Lane* lane = may_write_here ? TakeIdleLaneLocked() : nullptr;
  if (lane == nullptr) {
    queue_.push_back(std::move(pending));
    WakeIdleLaneLocked();
    return;
  }
  lock.unlock();
  if (lane->connection->PeerClosed()) {
    // Redis restarted and the I/O thread has not dropped the connection yet: it does so now, and
    // sends the group on a new one, so that the call does not fail for it.
    lock.lock();
    queue_.push_back(std::move(pending));
    bool notify =
        HandOverLocked(*lane, Batch(), absl::UnavailableError("redis closed the connection"));
    lock.unlock();
    if (notify) caller_wrote_.notify_all();
    return;
  }
  Batch batch;
  batch.push_back(std::move(pending));
  absl::Status written = WriteBatch(*lane->connection, batch, deadline);
  lock.lock();
  bool notify = HandOverLocked(*lane, std::move(batch), std::move(written));
  lock.unlock();
  if (notify) caller_wrote_.notify_all();
}

absl::Time RedisClient::CallDeadline() const {
  return std::min(CurrentDeadline(), absl::Now() + options_.default_timeout);
}

namespace {

// A reply that says Redis cannot serve yet (loading its data set after a restart) fails the
// whole call as UNAVAILABLE, so that callers may try again instead of reading it as data.
absl::StatusOr<std::vector<RedisReply>> UnlessNotReady(
    absl::StatusOr<std::vector<RedisReply>> replies) {
  if (!replies.ok()) return replies;
  for (const auto& reply : *replies) {
    if (reply.IsError() && ScriptErrorToStatus(reply).code() == absl::StatusCode::kUnavailable) {
      return absl::UnavailableError(absl::StrCat("redis is not ready: ", reply.str));
    }
  }
  return replies;
}

absl::StatusOr<RedisReply> OnlyReply(absl::StatusOr<std::vector<RedisReply>> replies) {
  if (!replies.ok()) return replies.status();
  return std::move(replies->front());
}

// A synchronous call: what an asynchronous one answers, waited for until `deadline`.
template <typename T>
struct Awaited {
  std::shared_ptr<std::promise<T>> promise = std::make_shared<std::promise<T>>();
  std::future<T> future = promise->get_future();

  absl::AnyInvocable<void(T) &&> Receiver() {
    return [promise = promise](T value) { promise->set_value(std::move(value)); };
  }
  T Get(absl::Time deadline) {
    if (future.wait_until(absl::ToChronoTime(deadline)) != std::future_status::ready) {
      // The I/O thread still owns the pending group and completes it into the void.
      return absl::DeadlineExceededError("redis did not answer before the deadline");
    }
    return future.get();
  }
};

}  // namespace

absl::StatusOr<std::vector<RedisReply>> RedisClient::ExecuteAll(
    std::vector<RedisCommand> commands) {
  if (!MayBlock()) return WouldBlock();
  absl::Time deadline = CallDeadline();
  Awaited<absl::StatusOr<std::vector<RedisReply>>> replies;
  Enqueue(std::move(commands), deadline, replies.Receiver());
  return UnlessNotReady(replies.Get(deadline));
}

absl::StatusOr<std::vector<RedisReply>> RedisClient::ExecuteInSlices(
    std::vector<RedisCommand> commands, size_t per_round_trip) {
  std::vector<RedisReply> replies;
  replies.reserve(commands.size());
  per_round_trip = std::max<size_t>(per_round_trip, 1);
  for (size_t from = 0; from < commands.size(); from += per_round_trip) {
    const size_t to = std::min(commands.size(), from + per_round_trip);
    auto slice = ExecuteAll({std::make_move_iterator(commands.begin() + from),
                             std::make_move_iterator(commands.begin() + to)});
    if (!slice.ok()) return slice.status();
    std::move(slice->begin(), slice->end(), std::back_inserter(replies));
  }
  return replies;
}

void RedisClient::ExecuteAllAsync(std::vector<RedisCommand> commands, RedisRepliesDone done) {
  Enqueue(std::move(commands), CallDeadline(),
          [done = std::move(done)](absl::StatusOr<std::vector<RedisReply>> replies) mutable {
            std::move(done)(UnlessNotReady(std::move(replies)));
          });
}

absl::StatusOr<RedisReply> RedisClient::Execute(RedisCommand command) {
  std::vector<RedisCommand> commands;
  commands.push_back(std::move(command));
  return OnlyReply(ExecuteAll(std::move(commands)));
}

absl::StatusOr<RedisReply> RedisClient::ExecuteOnNodeOf(absl::string_view key,
                                                        RedisCommand command) {
  if (!MayBlock()) return WouldBlock();
  absl::Time deadline = CallDeadline();
  Awaited<absl::StatusOr<std::vector<RedisReply>>> replies;
  std::vector<RedisCommand> commands;
  commands.push_back(std::move(command));
  Enqueue(std::move(commands), deadline, replies.Receiver(),
          KeySlot(std::string_view(key.data(), key.size())));
  return OnlyReply(UnlessNotReady(replies.Get(deadline)));
}

namespace {

std::vector<RedisCommand> InTransaction(std::vector<RedisCommand> commands) {
  std::vector<RedisCommand> wrapped;
  wrapped.reserve(commands.size() + 2);
  wrapped.push_back({"MULTI"});
  for (auto& command : commands) wrapped.push_back(std::move(command));
  wrapped.push_back({"EXEC"});
  return wrapped;
}

// The replies of the commands inside MULTI/EXEC, from the replies to all of them.
absl::StatusOr<std::vector<RedisReply>> TransactionReplies(
    absl::StatusOr<std::vector<RedisReply>> replies) {
  if (!replies.ok()) return replies.status();
  RedisReply& exec = replies->back();
  if (!exec.IsArray()) {
    // EXECABORT: a command was refused while queueing; the queued replies say which.
    for (const auto& reply : *replies) {
      if (!reply.IsError()) continue;
      // Refused for now (loading its data after a restart, busy with a script): the caller may
      // try again, and an event's handler must not count it towards the dead-letter stream.
      if (IsUnavailableError(reply)) {
        return absl::UnavailableError(absl::StrCat("redis is not ready: ", reply.str));
      }
      return absl::InternalError(absl::StrCat("redis: ", reply.str));
    }
    return absl::InternalError(absl::StrCat("redis transaction failed: ", exec.str));
  }
  return std::move(exec.elements);
}

}  // namespace

absl::StatusOr<std::vector<RedisReply>> RedisClient::Transaction(
    std::vector<RedisCommand> commands) {
  return TransactionReplies(ExecuteAll(InTransaction(std::move(commands))));
}

void RedisClient::TransactionAsync(std::vector<RedisCommand> commands, RedisRepliesDone done) {
  ExecuteAllAsync(
      InTransaction(std::move(commands)),
      [done = std::move(done)](absl::StatusOr<std::vector<RedisReply>> replies) mutable {
        std::move(done)(TransactionReplies(std::move(replies)));
      });
}

namespace {

RedisCommand ScriptCommand(const std::string& verb, const std::string& body,
                           const std::vector<std::string>& keys,
                           const std::vector<std::string>& args) {
  RedisCommand command;
  command.reserve(3 + keys.size() + args.size());
  command.push_back(verb);
  command.push_back(body);
  command.push_back(absl::StrCat(keys.size()));
  command.insert(command.end(), keys.begin(), keys.end());
  command.insert(command.end(), args.begin(), args.end());
  return command;
}

}  // namespace

RedisCommand RedisClient::EvalShaCommand(const RedisScript& script,
                                         const std::vector<std::string>& keys,
                                         const std::vector<std::string>& args) {
  return ScriptCommand("EVALSHA", script.sha1(), keys, args);
}

absl::StatusOr<std::vector<RedisReply>> RedisClient::EvalEach(
    const RedisScript& script, const std::vector<ScriptCall>& calls) {
  std::vector<RedisCommand> commands;
  for (const ScriptCall& call : calls) {
    commands.push_back(EvalShaCommand(script, call.keys, call.args));
  }
  if (commands.empty()) return std::vector<RedisReply>();
  auto replies = ExecuteAll(std::move(commands));
  if (!replies.ok()) return replies;
  for (size_t i = 0; i < replies->size(); ++i) {
    if (!IsNoScript((*replies)[i])) continue;
    auto again = Eval(script, calls[i].keys, calls[i].args);
    if (again.ok()) {
      (*replies)[i] = *std::move(again);
      continue;
    }
    // That call alone failed: the others ran, and their replies stand.
    (*replies)[i].type = RedisReply::Type::kError;
    (*replies)[i].str = absl::StrCat("UNAVAILABLE ", again.status().message());
  }
  return replies;
}

bool RedisClient::IsNoScript(const RedisReply& reply) {
  return reply.IsError() && absl::StartsWith(reply.str, "NOSCRIPT");
}

absl::StatusOr<RedisReply> RedisClient::Eval(const RedisScript& script,
                                             const std::vector<std::string>& keys,
                                             const std::vector<std::string>& args) {
  if (!MayBlock()) return WouldBlock();
  absl::Time deadline = CallDeadline();
  Awaited<absl::StatusOr<RedisReply>> reply;
  EvalAsync(script, keys, args, reply.Receiver());
  return reply.Get(deadline);
}

void RedisClient::EvalAsync(const RedisScript& script, std::vector<std::string> keys,
                            std::vector<std::string> args, RedisReplyDone done) {
  absl::Time deadline = CallDeadline();
  std::vector<RedisCommand> first;
  first.push_back(EvalShaCommand(script, keys, args));
  // Scripts live as long as the process (each store keeps its own in a function's static).
  Enqueue(std::move(first), deadline,
          [this, &script, keys = std::move(keys), args = std::move(args), deadline,
           done = std::move(done)](absl::StatusOr<std::vector<RedisReply>> replies) mutable {
            auto reply = OnlyReply(UnlessNotReady(std::move(replies)));
            if (!reply.ok() || !IsNoScript(*reply)) return std::move(done)(std::move(reply));
            std::vector<RedisCommand> again;
            again.push_back(ScriptCommand("EVAL", script.source(), keys, args));
            Enqueue(
                std::move(again), deadline,
                [done = std::move(done)](absl::StatusOr<std::vector<RedisReply>> replies) mutable {
                  std::move(done)(OnlyReply(UnlessNotReady(std::move(replies))));
                });
          });
}

absl::Status RedisClient::Ping(absl::Duration timeout) {
  ScopedDeadline deadline(absl::Now() + timeout);
  // PING is answered even while Redis loads its data set; a data command is not.
  auto reply = Execute({"EXISTS", "pw:health"});
  if (!reply.ok()) return reply.status();
  if (reply->IsError()) return absl::UnavailableError(absl::StrCat("redis: ", reply->str));
  return absl::OkStatus();
}

bool RedisClient::EnsureConnected(Lane& lane, absl::Time deadline, absl::Status* error) {
  // A connection idle since Redis restarted is dead; replace it now rather than fail a caller's
  // batch on it (which could not be retried safely once written).
  if (lane.connection != nullptr && lane.connection->PeerClosed()) lane.connection.reset();
  if (lane.connection != nullptr) return true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (absl::Now() < next_connect_attempt_) {
      *error = last_connect_error_;
      return false;
    }
  }
  absl::Duration timeout = std::min(options_.connect_timeout, deadline - absl::Now());
  auto connected = RedisConnection::Connect(options_.address, timeout);
  std::lock_guard<std::mutex> lock(mu_);
  if (!connected.ok()) {
    last_connect_error_ = connected.status();
    next_connect_attempt_ = absl::Now() + backoff_;
    backoff_ = std::min(backoff_ * 2, options_.max_backoff);
    *error = last_connect_error_;
    if (observer_ != nullptr) observer_->OnRedisReconnect(false);
    return false;
  }
  backoff_ = options_.initial_backoff;
  next_connect_attempt_ = absl::InfinitePast();
  lane.connection = std::move(*connected);
  if (observer_ != nullptr) observer_->OnRedisReconnect(true);
  return true;
}

bool RedisClient::WaitsForReplicas(const Batch& batch) const {
  if (options_.min_replicas == 0) return false;
  for (const auto& pending : batch) {
    if (!ReadsOnly(*pending)) return true;
  }
  return false;
}

absl::Duration RedisClient::ReadBound(absl::Time latest, bool waits_for_replicas) {
  // Redis ends a WAIT on its own timer, which ticks every 100 ms (hz 10): the socket waits that
  // much longer, so that a wait that ran out is read as such, not taken for a lost connection.
  constexpr absl::Duration kReplicaWaitSlack = absl::Milliseconds(150);
  return latest - absl::Now() + (waits_for_replicas ? kReplicaWaitSlack : absl::ZeroDuration());
}

bool RedisClient::ReadsOnly(const Pending& group) {
  for (const RedisCommand& command : group.commands) {
    if (!IsReadOnly(command)) return false;
  }
  return true;
}

void RedisClient::Answer(Pending& group, std::vector<RedisReply> replies) {
  if (observer_ != nullptr) {
    observer_->OnRedisCall(group.commands.size(), absl::Now() - group.enqueue_time,
                           absl::OkStatus());
  }
  group.Complete(std::move(replies));
}

void RedisClient::FailBatch(Batch& batch, size_t from, const absl::Status& status) {
  for (size_t i = from; i < batch.size(); ++i) {
    if (observer_ != nullptr) {
      observer_->OnRedisCall(batch[i]->commands.size(), absl::Now() - batch[i]->enqueue_time,
                             status);
    }
    batch[i]->Complete(status);
  }
}

absl::Status RedisClient::WriteBatch(RedisConnection& connection, const Batch& batch,
                                     absl::Time latest) {
  // The socket's bound covers the replies' read too, on whichever thread reads them.
  const bool waits = WaitsForReplicas(batch);
  absl::Status status = connection.SetTimeout(ReadBound(latest, waits));
  for (size_t i = 0; status.ok() && i < batch.size(); ++i) {
    for (const auto& command : batch[i]->commands) {
      status = connection.AppendUnchecked(command);
      if (!status.ok()) break;
    }
  }
  if (status.ok() && waits) {
    // Answered once the batch's writes reached the replicas, or when the wait is over, by the
    // batch's latest deadline.
    const int64_t wait_ms = std::max<int64_t>(
        1, absl::ToInt64Milliseconds(std::min(latest - absl::Now(), options_.replica_wait)));
    status = connection.AppendUnchecked(
        {"WAIT", absl::StrCat(options_.min_replicas), absl::StrCat(wait_ms)});
  }
  if (status.ok()) status = connection.Flush();
  return status;
}

void RedisClient::ReadReplies(Lane& lane, Batch& batch) {
  if (WaitsForReplicas(batch)) return ReadRepliesAfterReplicas(lane, batch);
  for (size_t i = 0; i < batch.size(); ++i) {
    std::vector<RedisReply> replies;
    replies.reserve(batch[i]->commands.size());
    for (size_t c = 0; c < batch[i]->commands.size(); ++c) {
      auto reply = lane.connection->ReadReply();
      if (!reply.ok()) {
        // The connection's reply stream is now out of step: drop it and fail the rest.
        lane.connection.reset();
        FailBatch(batch, i, reply.status());
        return;
      }
      replies.push_back(std::move(*reply));
    }
    Answer(*batch[i], std::move(replies));
  }
}

void RedisClient::ReadRepliesAfterReplicas(Lane& lane, Batch& batch) {
  // Groups that only read are answered as their replies come; those that write wait for the
  // WAIT that WriteBatch put after the batch.
  Batch writes;
  std::vector<std::vector<RedisReply>> written;
  for (size_t i = 0; i < batch.size(); ++i) {
    std::vector<RedisReply> replies;
    for (size_t c = 0; c < batch[i]->commands.size(); ++c) {
      auto reply = lane.connection->ReadReply();
      if (!reply.ok()) {
        lane.connection.reset();
        FailBatch(writes, 0, reply.status());
        FailBatch(batch, i, reply.status());
        return;
      }
      replies.push_back(std::move(*reply));
    }
    if (ReadsOnly(*batch[i])) {
      Answer(*batch[i], std::move(replies));
    } else {
      writes.push_back(batch[i]);
      written.push_back(std::move(replies));
    }
  }
  auto replicas = lane.connection->ReadReply();
  if (!replicas.ok()) {
    lane.connection.reset();
    FailBatch(writes, 0, replicas.status());
    return;
  }
  // Written on the primary but not on enough replicas (within the wait): not acknowledged, since a
  // failover now would lose it. The callers try again (with their request ids).
  if (replicas->type != RedisReply::Type::kInteger || replicas->integer < options_.min_replicas) {
    FailBatch(writes, 0,
              absl::UnavailableError(
                  absl::StrCat("redis: the write reached ",
                               replicas->type == RedisReply::Type::kInteger ? replicas->integer : 0,
                               " of the ", options_.min_replicas, " replicas it must reach")));
    return;
  }
  for (size_t i = 0; i < writes.size(); ++i) Answer(*writes[i], std::move(written[i]));
}

void RedisClient::RunBatch(Lane& lane, Batch& batch) {
  absl::Time now = absl::Now();
  Batch live;
  absl::Time latest = now;
  for (auto& pending : batch) {
    if (pending->deadline <= now) {
      pending->Complete(absl::DeadlineExceededError("redis command expired before it was sent"));
      continue;
    }
    latest = std::max(latest, pending->deadline);
    live.push_back(std::move(pending));
  }
  if (live.empty()) return;

  absl::Status error;
  if (!EnsureConnected(lane, latest, &error)) {
    FailBatch(live, 0, absl::UnavailableError(error.message()));
    return;
  }
  if (absl::Status status = WriteBatch(*lane.connection, live, latest); !status.ok()) {
    lane.connection.reset();
    FailBatch(live, 0, status);
    return;
  }
  ReadReplies(lane, live);
}

void RedisClient::IoLoop(Lane& lane) {
  std::unique_lock<std::mutex> lock(mu_);
  // Whether the last poll saw the socket readable: the replies to a caller's group have come.
  bool reply_seen = false;
  while (true) {
    if (lane.turn == Lane::Turn::kCallerWriting) {
      // The replies came before the caller finished writing; it hands them over in a moment.
      lane.waiting_for_caller = true;
      caller_wrote_.wait(lock, [&lane] { return lane.turn != Lane::Turn::kCallerWriting; });
      lane.waiting_for_caller = false;
      continue;
    }
    if (lane.turn == Lane::Turn::kRepliesDue) {
      Batch batch = std::move(lane.due);
      lane.due.clear();
      absl::Status written = std::move(lane.write_status);
      lane.turn = Lane::Turn::kIoThread;
      lock.unlock();
      if (written.ok() && !reply_seen) {
        // The poll's timeout, not a reply, woke this thread: the read ends by the group's
        // deadline, not by the caller's write plus the time it had left then.
        absl::Time latest = absl::InfinitePast();
        for (const auto& pending : batch) latest = std::max(latest, pending->deadline);
        written = lane.connection->SetTimeout(ReadBound(latest, WaitsForReplicas(batch)));
      }
      if (written.ok()) {
        ReadReplies(lane, batch);
      } else {
        lane.connection.reset();
        FailBatch(batch, 0, written);
      }
      lock.lock();
      lane.turn = Lane::Turn::kIdle;
      continue;
    }
    if (stopping_) return;
    if (!queue_.empty()) {
      Batch batch;
      size_t commands = 0;
      while (!queue_.empty() && (batch.empty() || commands + queue_.front()->commands.size() <=
                                                      options_.max_batch_commands)) {
        commands += queue_.front()->commands.size();
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      lane.turn = Lane::Turn::kIoThread;
      lock.unlock();
      RunBatch(lane, batch);
      lock.lock();
      lane.turn = Lane::Turn::kIdle;
      continue;
    }
    // Idle: wait for queued work, for the replies to what a caller writes, or for the server to
    // close the connection (it restarted), which is then dropped at once.
    int socket = lane.connection != nullptr ? lane.connection->fd() : -1;
    lock.unlock();
    pollfd fds[2] = {{lane.wake_fd, POLLIN, 0}, {socket, POLLIN, 0}};
    int ready = socket >= 0 ? poll(fds, 2, kIdlePollMillis) : poll(fds, 1, -1);
    if (ready > 0 && fds[0].revents != 0) {
      uint64_t count;
      [[maybe_unused]] ssize_t n = read(lane.wake_fd, &count, sizeof(count));
    }
    reply_seen = ready > 0 && socket >= 0 && fds[1].revents != 0;
    lock.lock();
    lane.signalled = false;
    if (reply_seen && lane.turn == Lane::Turn::kIdle) {
      lane.turn = Lane::Turn::kIoThread;
      lock.unlock();
      lane.connection.reset();
      lock.lock();
      lane.turn = Lane::Turn::kIdle;
    }
  }
}

std::vector<std::pair<std::string, std::string>> ReplyPairs(const RedisReply& reply) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
    pairs.emplace_back(reply.elements[i].str, reply.elements[i + 1].str);
  }
  return pairs;
}

absl::StatusOr<std::vector<std::string>> MatchingKeys(RedisClient& redis,
                                                      const std::string& pattern) {
  std::vector<std::string> keys;
  std::string cursor = "0";
  do {
    auto page = redis.Execute({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
    if (!page.ok()) return page.status();
    if (page->IsError()) return ScriptErrorToStatus(*page);
    if (page->elements.size() != 2) return absl::InternalError("unexpected reply to SCAN");
    cursor = page->elements[0].str;
    for (const RedisReply& key : page->elements[1].elements) keys.push_back(key.str);
  } while (cursor != "0");
  return keys;
}

}  // namespace peerwell
