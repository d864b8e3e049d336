#include "services/common/events.h"

#include <unistd.h>

#include <algorithm>
#include <iterator>
#include <map>
#include <optional>
#include <set>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/blocking_counter.h"
#include "services/common/deadline.h"
#include "services/common/log.h"
#include "services/common/organization_registry.h"
#include "services/common/redis_values.h"

namespace peerwell {
namespace {

constexpr char kChannelPrefix[] = "pw:events:";
// How often the doorbell's subscription is asked whether it is alive (PING): how far behind
// EventDoorbell::Rings::heard_until runs, and how soon a dead subscription is noticed.
constexpr absl::Duration kDoorbellPing = absl::Milliseconds(100);
constexpr absl::Duration kDoorbellPingAnswer = absl::Seconds(2);
// Between sweeps a consumer claims from the streams active in the last this many claim_min_idle:
// an entry a dead consumer left is claimable after one.
constexpr int kActiveClaimIdles = 4;
// A consumer's sweep marks this many streams a round (three commands each at most): a thousand
// organisations take ten rounds, back to back.
constexpr size_t kStreamsSweptPerRound = 100;
// A stream seen for the first time by a follower is read from this long before it started (by
// Redis's clock, which makes the ids): an event published as it started is not missed, nor one
// from a cluster node whose clock is a little behind.
constexpr absl::Duration kFollowerStartMargin = absl::Seconds(1);

// The client a reader of streams uses for its reads: one connection, its calls pipelined.
std::unique_ptr<RedisClient> ReaderClient(const RedisAddress& address) {
  RedisOptions options;
  options.address = address;
  options.connections = 1;
  return std::make_unique<RedisClient>(std::move(options));
}

bool IsMissingStream(const RedisReply& reply) {
  // XGROUP CREATE on a key that does not exist (nothing was ever published there).
  return reply.IsError() && absl::StrContains(reply.str, "requires the key to exist");
}

}  // namespace

const char kXaddEventLua[] = R"lua(
local function xadd_event(stream, ...)
  local organization, service = string.match(stream, '^pw:{(.*)}:events:(.*)$')
  if not service then error('not an event stream: ' .. stream) end
  local id = redis.call('XADD', stream, ...)
  redis.call('PUBLISH', 'pw:events:' .. service, organization)
  return id
end
)lua";

ConsumerOptions ServiceConsumerOptions(const ServiceConfig& config, absl::string_view source,
                                       absl::string_view group) {
  ConsumerOptions options;
  options.claim_min_idle = config.event_claim_idle;
  options.claim_interval =
      std::clamp(config.event_claim_idle / 2, absl::Milliseconds(100), absl::Seconds(15));
  options.max_retry_delay = std::min(options.max_retry_delay, config.event_claim_idle / 2);
  options.source = std::string(source);
  options.group = std::string(group);
  options.consumer = ProcessConsumerName();
  options.linger = absl::Milliseconds(5);
  return options;
}

std::string ProcessConsumerName() {
  char host[256] = "peerwell";
  gethostname(host, sizeof(host) - 1);
  return absl::StrCat(host, "-", getpid());
}

std::string EventStreamKey(absl::string_view service, absl::string_view organization_id) {
  return absl::StrCat("pw:{", organization_id, "}:events:", service);
}

std::string EventChannel(absl::string_view service) {
  return absl::StrCat(kChannelPrefix, service);
}

std::string DeadLetterStreamKey(absl::string_view stream) { return absl::StrCat(stream, ":dead"); }

std::vector<std::string> EventFieldPairs(absl::string_view type, absl::string_view organization_id,
                                         absl::Time occur_time,
                                         const std::vector<EventField>& fields) {
  std::vector<std::string> pairs{
      "type",       std::string(type),  "organization_id", std::string(organization_id),
      "occur_time", Rfc3339(occur_time)};
  pairs.reserve(pairs.size() + 2 * fields.size());
  for (const auto& field : fields) {
    pairs.push_back(field.name);
    pairs.push_back(field.value);
  }
  return pairs;
}

std::vector<RedisCommand> PublishEventCommands(absl::string_view service, absl::string_view type,
                                               absl::string_view organization_id,
                                               absl::Time occur_time,
                                               const std::vector<EventField>& fields) {
  RedisCommand xadd{"XADD", EventStreamKey(service, organization_id), "MAXLEN",
                    "~",    absl::StrCat(kEventStreamMaxLen),         "*"};
  std::vector<std::string> pairs = EventFieldPairs(type, organization_id, occur_time, fields);
  xadd.insert(xadd.end(), std::make_move_iterator(pairs.begin()),
              std::make_move_iterator(pairs.end()));
  return {std::move(xadd), {"PUBLISH", EventChannel(service), std::string(organization_id)}};
}

std::string StreamEntry::Get(absl::string_view name) const {
  for (const auto& field : fields) {
    if (field.name == name) return field.value;
  }
  return "";
}

std::vector<StreamEntry> ParseStreamEntries(const RedisReply& entries) {
  std::vector<StreamEntry> out;
  for (const auto& entry : entries.elements) {
    if (entry.elements.size() != 2) continue;
    StreamEntry parsed;
    parsed.id = entry.elements[0].str;
    const auto& fields = entry.elements[1];
    // An entry deleted from the stream while still pending appears as [id, nil].
    parsed.deleted = fields.IsNil();
    for (size_t i = 0; i + 1 < fields.elements.size(); i += 2) {
      parsed.fields.push_back({fields.elements[i].str, fields.elements[i + 1].str});
    }
    out.push_back(std::move(parsed));
  }
  return out;
}

absl::StatusOr<ConsumerBacklog> ReadConsumerBacklog(RedisClient& redis,
                                                    const ConsumerOptions& options) {
  auto organizations = ListOrganizations(redis);
  if (!organizations.ok()) return organizations.status();
  std::vector<RedisCommand> commands;
  for (const std::string& organization_id : *organizations) {
    const std::string stream = EventStreamKey(options.source, organization_id);
    commands.push_back({"XLEN", DeadLetterStreamKey(stream)});
    commands.push_back({"XLEN", stream});
    commands.push_back({"XINFO", "GROUPS", stream});
  }
  ConsumerBacklog backlog;
  backlog.lag = 0;
  if (commands.empty()) return backlog;
  auto replies = redis.ExecuteInSlices(std::move(commands));
  if (!replies.ok()) return replies.status();
  for (size_t i = 0; i + 2 < replies->size(); i += 3) {
    const RedisReply& dead = (*replies)[i];
    const RedisReply& length = (*replies)[i + 1];
    const RedisReply& groups = (*replies)[i + 2];
    if (dead.IsError()) return absl::InternalError(absl::StrCat("XLEN: ", dead.str));
    if (length.IsError()) return absl::InternalError(absl::StrCat("XLEN: ", length.str));
    backlog.dead_letters += dead.integer;
    // XINFO GROUPS fails on a stream not created yet: then nothing waits.
    if (groups.IsError()) {
      if (length.integer == 0) continue;
      return absl::InternalError(absl::StrCat("XINFO GROUPS: ", groups.str));
    }
    // No group yet: every entry waits for it.
    std::optional<long long> lag = length.integer;
    for (const RedisReply& group : groups.elements) {
      // A flat list of field names and values.
      std::optional<std::string> name;
      std::optional<long long> group_lag;
      long long pending = 0;
      for (size_t f = 0; f + 1 < group.elements.size(); f += 2) {
        const std::string& field = group.elements[f].str;
        const RedisReply& value = group.elements[f + 1];
        if (field == "name") name = value.str;
        if (field == "pending") pending = value.integer;
        if (field == "lag" && value.type == RedisReply::Type::kInteger) group_lag = value.integer;
      }
      if (name == options.group) {
        lag = group_lag;
        backlog.pending += pending;
      }
    }
    // One stream whose lag is unknown makes the whole unknown.
    backlog.lag = backlog.lag.has_value() && lag.has_value()
                      ? std::optional<long long>(*backlog.lag + *lag)
                      : std::nullopt;
  }
  return backlog;
}

// --- EventDoorbell -----------------------------------------------------------------------------

EventDoorbell::EventDoorbell(RedisAddress address, std::vector<std::string> services)
    : address_(std::move(address)), services_(std::move(services)) {}

EventDoorbell::~EventDoorbell() { Stop(); }

void EventDoorbell::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void EventDoorbell::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
  }
  rang_.notify_all();
  stop_.Stop();
  if (thread_.joinable()) thread_.join();
}

EventDoorbell::Rings EventDoorbell::Take(absl::Time deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopped_ && rings_.rung.empty() && !rings_.missed) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) break;
    rang_.wait_for(lock, absl::ToChronoMicroseconds(absl::Ceil(left, absl::Microseconds(1))));
  }
  Rings taken = std::move(rings_);
  rings_ = Rings{};
  rings_.heard_until = taken.heard_until;
  return taken;
}

namespace {

// Where the doorbell's `attempt`-th connection goes: the server, or a cluster's seeds in turn
// (Pub/Sub messages reach every node of a cluster, so any node will do).
RedisAddress DoorbellNode(RedisAddress address, size_t attempt) {
  if (address.cluster && !address.seeds.empty()) {
    const auto& [host, port] = address.seeds[attempt % address.seeds.size()];
    address.host = host;
    address.port = port;
  }
  return address;
}

}  // namespace

// A ring: the organisation's id on a doorbell channel; false for anything else.
bool EventDoorbell::Heard(const RedisReply& pushed) {
  if (pushed.elements.size() != 3 || pushed.elements[0].str != "message" ||
      !absl::StartsWith(pushed.elements[1].str, kChannelPrefix)) {
    return false;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    rings_.rung.emplace(pushed.elements[1].str.substr(sizeof(kChannelPrefix) - 1),
                        pushed.elements[2].str);
  }
  rang_.notify_all();
  return true;
}

absl::Status EventDoorbell::Subscribe(RedisConnection& connection) {
  if (auto status = connection.SetTimeout(kDoorbellPingAnswer); !status.ok()) return status;
  // A SUBSCRIBE per channel: Redis grants one naming several channels only when a single rule of
  // the user's allows them all, and a consumer of two services' events hears each by a rule of
  // its own.
  for (const std::string& service : services_) {
    if (auto status = connection.Append({"SUBSCRIBE", EventChannel(service)}); !status.ok()) {
      return status;
    }
  }
  // One confirmation per channel, ["subscribe", channel, count], or an error (NOPERM); a ring of
  // a channel confirmed already may come between them.
  size_t confirmed = 0;
  while (confirmed < services_.size()) {
    if (!stop_.BeginRead(connection)) return absl::CancelledError("stopping");
    auto reply = connection.ReadReply();
    stop_.EndRead();
    if (!reply.ok()) return reply.status();
    if (reply->IsError()) return absl::PermissionDeniedError(reply->str);
    if (Heard(*reply)) continue;
    if (reply->elements.empty() || reply->elements[0].str != "subscribe") {
      return absl::InternalError("SUBSCRIBE: an answer of an unexpected shape");
    }
    ++confirmed;
  }
  return absl::OkStatus();
}

absl::Status EventDoorbell::Listen(RedisConnection& connection) {
  absl::Time next_ping = absl::Now();
  absl::Time ping_sent = absl::InfinitePast();
  bool ping_out = false;
  while (!stop_.stopped()) {
    const absl::Time now = absl::Now();
    if (!ping_out && now >= next_ping) {
      if (auto status = connection.Append({"PING"}); !status.ok()) return status;
      ping_sent = now;
      ping_out = true;
    }
    if (!stop_.BeginRead(connection)) break;
    auto reply =
        connection.ReadReplyWithin((ping_out ? ping_sent + kDoorbellPingAnswer : next_ping) - now);
    stop_.EndRead();
    if (!reply.ok()) return reply.status();
    if (!reply->has_value()) {
      if (!ping_out) continue;
      return absl::UnavailableError("the doorbell's subscription stopped answering");
    }
    const RedisReply& pushed = **reply;
    if (Heard(pushed)) continue;
    if (!pushed.elements.empty() && pushed.elements[0].str == "pong") {
      ping_out = false;
      next_ping = ping_sent + kDoorbellPing;
      std::lock_guard<std::mutex> lock(mu_);
      rings_.heard_until = ping_sent;
    }
  }
  return absl::OkStatus();
}

void EventDoorbell::Loop() {
  absl::Duration backoff = absl::Milliseconds(50);
  bool failing = false;
  for (size_t attempt = 0; !stop_.stopped(); ++attempt) {
    auto connected = RedisConnection::Connect(DoorbellNode(address_, attempt), absl::Seconds(1));
    absl::Status status = connected.status();
    if (connected.ok()) status = Subscribe(**connected);
    if (status.ok()) {
      if (failing) Log(Severity::kInfo, "listening for events again");
      failing = false;
      backoff = absl::Milliseconds(50);
      subscribed_ = true;
      {
        std::lock_guard<std::mutex> lock(mu_);
        rings_.missed = true;
      }
      rang_.notify_all();
      status = Listen(**connected);
      subscribed_ = false;
    }
    if (stop_.stopped()) break;
    if (!failing) {
      Log(Severity::kWarning,
          "listening for events failed; reading every organisation's events at each sweep until "
          "it recovers",
          {Field("error", status.ToString())});
    }
    failing = true;
    stop_.Wait(backoff);
    backoff = std::min(backoff * 2, absl::Seconds(1));
  }
}

// --- ConsumerGroupRunner -----------------------------------------------------------------------

ConsumerGroupRunner::ConsumerGroupRunner(RedisAddress address, ConsumerOptions options,
                                         Handler handler, RoundHandler round_handler)
    : options_(std::move(options)),
      handler_(std::move(handler)),
      round_handler_(std::move(round_handler)),
      redis_(ReaderClient(address)),
      doorbell_(address, {options_.source}) {
  if (handler_ && options_.lanes > 1 && options_.lane_key) {
    lanes_ = std::make_unique<BoundedExecutor>(options_.lanes, options_.lanes);
  }
}

ConsumerGroupRunner::ConsumerGroupRunner(RedisAddress address, ConsumerOptions options,
                                         Handler handler)
    : ConsumerGroupRunner(std::move(address), std::move(options), std::move(handler), nullptr) {}

ConsumerGroupRunner::ConsumerGroupRunner(RedisAddress address, ConsumerOptions options,
                                         RoundHandler handler)
    : ConsumerGroupRunner(std::move(address), std::move(options), nullptr, std::move(handler)) {}

ConsumerGroupRunner::~ConsumerGroupRunner() { Stop(); }

void ConsumerGroupRunner::Start() {
  // The consumer's name is what XPENDING and XINFO CONSUMERS show: logged to find its entries.
  Log(Severity::kInfo, "consuming events",
      {Field("streams", EventChannel(options_.source)), Field("group", options_.group),
       Field("consumer", options_.consumer)});
  doorbell_.Start();
  thread_ = std::thread([this] { Loop(); });
}

void ConsumerGroupRunner::Stop() {
  stopping_ = true;
  stop_.Stop();      // ends a backoff
  doorbell_.Stop();  // ends the wait for a doorbell
  if (thread_.joinable()) thread_.join();
}

ConsumerGroupRunner::Stream& ConsumerGroupRunner::StreamOf(const std::string& organization_id) {
  auto [it, added] = streams_.try_emplace(organization_id);
  if (added) {
    it->second.key = EventStreamKey(options_.source, organization_id);
    it->second.own_retry_delay = options_.retry_delay;
    Schedule(it->second);  // its own pending entries walked first
  }
  return it->second;
}

void ConsumerGroupRunner::Schedule(Stream& stream) {
  absl::Time due_at = stream.claim_at;
  if (!stream.own_pending_cursor.empty()) due_at = std::min(due_at, stream.own_retry_time);
  if (stream.claim_due || stream.unread) due_at = absl::InfinitePast();
  if (due_at == stream.due_at) return;
  agenda_.erase(&stream);
  stream.due_at = due_at;
  if (due_at != absl::InfiniteFuture()) agenda_.insert(&stream);
}

void ConsumerGroupRunner::Loop() {
  absl::Duration backoff = absl::Milliseconds(50);
  bool failing = false;
  while (!stopping_) {
    absl::Status status = RunRound();
    if (status.ok()) {
      if (failing) {
        Log(Severity::kInfo, "consuming events again",
            {Field("streams", EventChannel(options_.source)), Field("group", options_.group)});
      }
      failing = false;
      backoff = absl::Milliseconds(50);
      continue;
    }
    if (stopping_) break;
    // Once per outage: Redis away fails every round until it is back.
    if (!failing) {
      Log(Severity::kWarning, "consumer error",
          {Field("streams", EventChannel(options_.source)), Field("group", options_.group),
           Field("error", std::string(status.message()))});
    }
    failing = true;
    // What rings meanwhile is kept (Hear, next round): the streams a failed round was to read
    // are still marked to read.
    stop_.Wait(backoff);
    backoff = std::min(backoff * 2, absl::Milliseconds(250));
  }
  // The batch in hand acknowledged before the runner stops; else pending, for another consumer.
  (void)FlushAcks();
}

std::optional<ConsumerGroupRunner::ReadKind> ConsumerGroupRunner::DueRead(const Stream& stream,
                                                                          absl::Time now) const {
  if (!stream.own_pending_cursor.empty() && now >= stream.own_retry_time) {
    return ReadKind::kOwnPending;
  }
  if (stream.claim_due) return ReadKind::kClaim;
  if (stream.unread) return ReadKind::kNew;
  return std::nullopt;
}

void ConsumerGroupRunner::Hear(const EventDoorbell::Rings& rings) {
  const absl::Time now = absl::Now();
  for (const auto& [service, organization_id] : rings.rung) {
    Stream& stream = StreamOf(organization_id);
    stream.unread = true;
    Active(stream, now);
    Schedule(stream);
  }
  if (rings.missed) next_sweep_ = absl::InfinitePast();
}

void ConsumerGroupRunner::Active(Stream& stream, absl::Time now) {
  stream.last_active = now;
  // An entry read now by a consumer that dies is claimable one claim_min_idle on.
  if (stream.claim_at == absl::InfiniteFuture()) {
    stream.claim_at = now + options_.claim_min_idle + options_.claim_interval;
  }
}

absl::Status ConsumerGroupRunner::RunRound() {
  // After a short batch, its linger first, whatever rings: what followed it comes as one batch,
  // and the batch's acknowledgement goes with the read that brings it.
  if (last_batch_ > 0 && last_batch_ < static_cast<size_t>(options_.batch) &&
      options_.linger > absl::ZeroDuration()) {
    const absl::Duration linger_left = last_read_ + options_.linger - Now();
    const absl::Time linger_end = absl::Now() + linger_left;
    while (!stopping_ && absl::Now() < linger_end) Hear(doorbell_.Take(linger_end));
    last_batch_ = 0;
  }
  // Then, until something is due (a stream to read, a retry, a sweep), wait for a doorbell.
  absl::Time now = absl::Now();
  absl::Time due = sweep_left_.empty() ? next_sweep_ : now;
  if (!agenda_.empty()) due = std::min(due, (*agenda_.begin())->due_at);
  if (due > now) {
    // Nothing to read at once: what was handled is acknowledged now rather than with the next
    // read.
    if (auto status = FlushAcks(); !status.ok()) return status;
  }
  Hear(doorbell_.Take(due));
  if (stopping_) return absl::OkStatus();
  now = absl::Now();
  if (now >= next_sweep_) {
    // Every organisation's stream: read, and its abandoned entries claimed.
    auto organizations = ListOrganizations(*redis_);
    if (!organizations.ok()) return organizations.status();
    for (const std::string& organization_id : *organizations) StreamOf(organization_id);
    // What the last sweep had not reached yet goes first (a sweep begun anew after a doorbell's
    // subscription was lost, or one slower than the interval, must not keep missing the same).
    const std::set<Stream*> unswept(sweep_left_.begin(), sweep_left_.end());
    std::vector<Stream*> sweep;
    for (auto it = streams_.rbegin(); it != streams_.rend(); ++it) {
      if (unswept.count(&it->second) == 0) sweep.push_back(&it->second);
    }
    sweep.insert(sweep.end(), sweep_left_.begin(), sweep_left_.end());
    sweep_left_ = std::move(sweep);
    // Each consumer on a sweep_interval of its own, give or take a quarter: the services' sweeps
    // of every organisation do not fall together.
    next_sweep_ = now + options_.sweep_interval * absl::Uniform(random_, 0.75, 1.25);
  }
  // A slice of the sweep each round, the next at once: a round, and the events that rang during
  // it, do not wait for a read of every organisation's stream.
  for (size_t n = 0; n < kStreamsSweptPerRound && !sweep_left_.empty(); ++n) {
    Stream& stream = *sweep_left_.back();
    sweep_left_.pop_back();
    stream.unread = true;
    stream.claim_due = true;
    Schedule(stream);
  }
  // Between sweeps, claims from the streams with events of late: only there can a consumer have
  // died holding entries since the last sweep (it read them when they rang, and so did this
  // consumer's doorbell). Each stream's own claims come one claim_min_idle apart while it stays
  // active, so that many organisations' claims spread out rather than fall together.
  const absl::Time recent = now - kActiveClaimIdles * options_.claim_min_idle;
  std::vector<Stream*> due_streams;
  for (Stream* stream : agenda_) {
    if (stream->due_at > now) break;
    due_streams.push_back(stream);
  }
  for (Stream* stream : due_streams) {
    if (stream->claim_at > now) continue;
    stream->claim_due = true;
    stream->claim_at =
        stream->last_active >= recent ? now + options_.claim_min_idle : absl::InfiniteFuture();
    Schedule(*stream);
  }

  // The acknowledgements of the last batch first, then one read per stream due.
  std::vector<RedisCommand> commands;
  const std::vector<Stream*> acked = QueueUnsentAcks(commands);
  struct Read {
    Stream* stream;
    ReadKind kind;
    bool creates_group;
  };
  std::vector<Read> reads;
  const std::string count = absl::StrCat(options_.batch);
  for (Stream* due_stream : due_streams) {
    Stream& stream = *due_stream;
    auto kind = DueRead(stream, now);
    if (!kind.has_value()) continue;
    Read read{&stream, *kind, !stream.group_ready};
    if (read.creates_group) {
      // From "0" so that events published before the group existed are not skipped.
      commands.push_back({"XGROUP", "CREATE", stream.key, options_.group, "0"});
    }
    switch (*kind) {
      case ReadKind::kOwnPending:
        // Entries this consumer read and never acknowledged (before a restart, a failed
        // handler, a lost connection), walked once from the start.
        commands.push_back({"XREADGROUP", "GROUP", options_.group, options_.consumer, "COUNT",
                            count, "STREAMS", stream.key, stream.own_pending_cursor});
        break;
      case ReadKind::kClaim:
        commands.push_back({"XAUTOCLAIM", stream.key, options_.group, options_.consumer,
                            absl::StrCat(absl::ToInt64Milliseconds(options_.claim_min_idle)), "0-0",
                            "COUNT", count});
        // How many entries are pending, claimed or not: while any is, the stream is claimed
        // from again (an entry not idle long enough yet, a consumer still retrying its own).
        commands.push_back({"XPENDING", stream.key, options_.group});
        break;
      case ReadKind::kNew:
        commands.push_back({"XREADGROUP", "GROUP", options_.group, options_.consumer, "COUNT",
                            count, "STREAMS", stream.key, ">"});
        break;
    }
    reads.push_back(read);
  }
  if (commands.empty()) return absl::OkStatus();
  last_read_ = Now();
  auto replies = redis_->ExecuteAll(std::move(commands));
  if (!replies.ok()) {
    WalkOwnPendingAgain();
    return replies.status();
  }
  size_t r = TakeAckReplies(acked, *replies);
  std::vector<StreamEntry> entries;
  std::vector<Stream*> entry_streams;
  absl::Status failure;
  for (const Read& read : reads) {
    Stream& stream = *read.stream;
    // This read's replies: the group's creation, the read, and with a claim the pending count.
    const size_t first = r;
    r += (read.creates_group ? 1 : 0) + 1 + (read.kind == ReadKind::kClaim ? 1 : 0);
    if (read.creates_group) {
      const RedisReply& created = (*replies)[first];
      if (IsMissingStream(created)) {
        // Nothing was ever published there; the group is made with the stream's first read.
        stream.unread = false;
        stream.claim_due = false;
        stream.own_pending_cursor.clear();
        continue;
      }
      if (created.IsError() && !absl::StartsWith(created.str, "BUSYGROUP")) {
        Log(Severity::kWarning, "cannot create consumer group",
            {Field("stream", stream.key), Field("error", created.str)});
        failure = absl::UnavailableError(created.str);
        continue;
      }
      stream.group_ready = true;
    }
    const RedisReply& reply = (*replies)[first + (read.creates_group ? 1 : 0)];
    if (read.kind == ReadKind::kClaim) {
      const RedisReply& pending = (*replies)[first + (read.creates_group ? 1 : 0) + 1];
      if (pending.IsArray() && !pending.elements.empty() && pending.elements[0].integer > 0) {
        Active(stream, now);
      }
    }
    if (reply.IsError()) {
      // NOGROUP: the stream or group vanished; it is created again on the next read. A claim
      // refused for another reason waits for the next sweep rather than keep the stream's new
      // entries from being read.
      if (absl::StartsWith(reply.str, "NOGROUP")) stream.group_ready = false;
      if (read.kind == ReadKind::kClaim) stream.claim_due = false;
      failure = absl::UnavailableError(absl::StrCat(stream.key, ": ", reply.str));
      continue;
    }
    std::vector<StreamEntry> read_entries;
    switch (read.kind) {
      case ReadKind::kOwnPending:
      case ReadKind::kNew:
        if (reply.IsArray() && !reply.elements.empty() && reply.elements[0].elements.size() == 2) {
          read_entries = ParseStreamEntries(reply.elements[0].elements[1]);
        }
        break;
      case ReadKind::kClaim:
        if (reply.elements.size() >= 2) read_entries = ParseStreamEntries(reply.elements[1]);
        break;
    }
    const bool full = read_entries.size() >= static_cast<size_t>(options_.batch);
    switch (read.kind) {
      case ReadKind::kOwnPending:
        stream.own_pending_cursor = read_entries.empty() ? "" : read_entries.back().id;
        if (read_entries.empty()) stream.own_retry_delay = options_.retry_delay;
        stream.unread = true;  // what rang meanwhile is read next
        break;
      case ReadKind::kClaim:
        // Keep claiming while a full batch came back; otherwise wait for the next sweep.
        stream.claim_due = full;
        break;
      case ReadKind::kNew:
        stream.unread = full;
        break;
    }
    if (!read_entries.empty()) Active(stream, now);
    for (StreamEntry& entry : read_entries) {
      entry.stream = stream.key;
      entries.push_back(std::move(entry));
      entry_streams.push_back(&stream);
    }
  }
  for (const Read& read : reads) Schedule(*read.stream);
  if (auto status = ProcessBatch(entries, entry_streams); !status.ok()) return status;
  return failure;
}

std::vector<std::optional<absl::Status>> ConsumerGroupRunner::HandleEntries(
    const std::vector<StreamEntry>& entries) {
  // nullopt: not handled (an earlier entry of its lane failed); the entry stays pending and is
  // read again later, behind the failed one. A stopping runner still finishes the batch in hand:
  // left pending, its entries would wait for another replica's claim (seconds) instead.
  std::vector<std::optional<absl::Status>> outcomes(entries.size());
  const bool ordered_lanes = lanes_ != nullptr;
  auto run_lane = [&](const std::vector<size_t>& lane) {
    for (size_t i : lane) {
      outcomes[i] = entries[i].deleted ? absl::OkStatus() : handler_(entries[i]);
      // A key's later entries must not overtake the one that failed; and a stopping runner does
      // not go on through a batch that fails (each failure may take a timeout).
      if ((ordered_lanes || stopping_.load()) && !outcomes[i]->ok()) return;
    }
  };
  std::vector<std::vector<size_t>> lanes(lanes_ ? options_.lanes : 1);
  for (size_t i = 0; i < entries.size(); ++i) {
    size_t lane =
        lanes_ ? std::hash<std::string>()(options_.lane_key(entries[i])) % lanes.size() : 0;
    lanes[lane].push_back(i);
  }
  int busy_lanes = 0;
  for (const auto& lane : lanes) busy_lanes += lane.empty() ? 0 : 1;
  absl::BlockingCounter lanes_done(busy_lanes);
  for (const auto& lane : lanes) {
    if (lane.empty()) continue;
    bool queued = lanes_ && lanes_->Submit([&run_lane, &lanes_done, &lane] {
      run_lane(lane);
      lanes_done.DecrementCount();
    });
    if (!queued) {
      run_lane(lane);
      lanes_done.DecrementCount();
    }
  }
  lanes_done.Wait();
  return outcomes;
}

std::vector<std::optional<absl::Status>> ConsumerGroupRunner::HandleInRounds(
    const std::vector<StreamEntry>& entries) {
  std::vector<std::optional<absl::Status>> outcomes(entries.size());
  // rounds[k]: the k-th entry of each key, in the order of the stream.
  std::vector<std::vector<size_t>> rounds;
  std::vector<std::string> keys(entries.size());
  std::map<std::string, size_t> entries_of_key;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].deleted) {
      outcomes[i] = absl::OkStatus();
      continue;
    }
    // Ids repeat across organisations' streams: an entry is its stream and id.
    keys[i] = options_.lane_key ? options_.lane_key(entries[i])
                                : absl::StrCat(entries[i].stream, " ", entries[i].id);
    size_t round = entries_of_key[keys[i]]++;
    if (round == rounds.size()) rounds.emplace_back();
    rounds[round].push_back(i);
  }
  std::set<std::string> failed_keys;
  for (const std::vector<size_t>& round : rounds) {
    std::vector<size_t> handled;
    std::vector<const StreamEntry*> batch;
    for (size_t i : round) {
      if (failed_keys.count(keys[i]) > 0) continue;  // behind its key's failed entry: pending
      handled.push_back(i);
      batch.push_back(&entries[i]);
    }
    if (batch.empty()) continue;
    std::vector<absl::Status> statuses = round_handler_(batch);
    bool failed = false;
    for (size_t n = 0; n < handled.size(); ++n) {
      const size_t i = handled[n];
      outcomes[i] = n < statuses.size() ? statuses[n] : absl::InternalError("no outcome");
      if (!outcomes[i]->ok()) {
        failed = true;
        failed_keys.insert(keys[i]);
      }
    }
    // A stopping runner does not go on through a batch that fails (each failure may take a
    // timeout).
    if (failed && stopping_.load()) break;
  }
  return outcomes;
}

absl::Status ConsumerGroupRunner::ProcessBatch(const std::vector<StreamEntry>& entries,
                                               const std::vector<Stream*>& streams) {
  last_batch_ = entries.size();
  if (entries.empty()) return absl::OkStatus();
  const std::vector<std::optional<absl::Status>> outcomes =
      round_handler_ ? HandleInRounds(entries) : HandleEntries(entries);

  // One XACK per stream for the whole batch, sent with the next round: no round trip of its own,
  // and with appendfsync always no fsync of its own. Until then the entries stay pending; should
  // the acknowledgement be lost, they are handled again (handlers are idempotent).
  for (size_t i = 0; i < entries.size(); ++i) {
    if (!outcomes[i].has_value() || !outcomes[i]->ok()) continue;
    Stream& stream = *streams[i];
    if (stream.unsent_ack.empty()) {
      stream.unsent_ack = {"XACK", stream.key, options_.group};
      unacked_.push_back(&stream);
    }
    stream.unsent_ack.push_back(entries[i].id);
    if (!entries[i].deleted) ++stream.unsent_ack_events;
  }
  // The streams with entries left pending (failed, or behind a failure) read them again soon.
  std::set<Stream*> left_pending;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (!outcomes[i].has_value() || !outcomes[i]->ok()) left_pending.insert(streams[i]);
  }
  absl::Status status;
  for (size_t i = 0; i < entries.size() && status.ok(); ++i) {
    if (!outcomes[i].has_value() || outcomes[i]->ok()) continue;
    // The successes acknowledged first: should the failure's own commands fail, they must not
    // be handled again with it.
    status = FlushAcks();
    if (status.ok()) status = Failed(entries[i], *outcomes[i]);
  }
  if (!status.ok() || !stopping_) {
    for (Stream* stream : left_pending) RetryOwnPendingLater(*stream);
  }
  return status;
}

std::vector<ConsumerGroupRunner::Stream*> ConsumerGroupRunner::QueueUnsentAcks(
    std::vector<RedisCommand>& commands) {
  for (Stream* stream : unacked_) commands.push_back(stream->unsent_ack);
  return unacked_;
}

size_t ConsumerGroupRunner::TakeAckReplies(const std::vector<Stream*>& acked,
                                           const std::vector<RedisReply>& replies) {
  for (size_t i = 0; i < acked.size(); ++i) {
    if (!replies[i].IsError()) handled_ += acked[i]->unsent_ack_events;
    // A refused XACK (the group gone) leaves its entries pending, read again as this consumer's
    // own.
    acked[i]->unsent_ack.clear();
    acked[i]->unsent_ack_events = 0;
  }
  // What was queued since (nothing, between a queue and its replies) stays to send.
  std::erase_if(unacked_, [](const Stream* stream) { return stream->unsent_ack.empty(); });
  return acked.size();
}

absl::Status ConsumerGroupRunner::FlushAcks() {
  std::vector<RedisCommand> acks;
  const std::vector<Stream*> acked = QueueUnsentAcks(acks);
  if (acks.empty()) return absl::OkStatus();
  ScopedDeadline deadline(absl::Now() + absl::Seconds(2));
  auto replies = redis_->ExecuteAll(std::move(acks));
  if (!replies.ok()) return replies.status();  // kept, for the next try
  TakeAckReplies(acked, *replies);
  return absl::OkStatus();
}

void ConsumerGroupRunner::WalkOwnPendingAgain() {
  for (auto& [organization_id, stream] : streams_) {
    stream.own_pending_cursor = "0";
    stream.own_retry_time = absl::InfinitePast();
    stream.own_retry_delay = options_.retry_delay;
    Schedule(stream);
  }
}

void ConsumerGroupRunner::RetryOwnPendingLater(Stream& stream) {
  const absl::Time now = absl::Now();
  const absl::Time at = now + stream.own_retry_delay;
  // A walk from the start already due later stays due no later: new failures must not keep
  // putting off the retry of older ones.
  const bool scheduled = stream.own_pending_cursor == "0" && stream.own_retry_time > now;
  stream.own_retry_time = scheduled ? std::min(stream.own_retry_time, at) : at;
  stream.own_pending_cursor = "0";
  stream.own_retry_delay = std::min(stream.own_retry_delay * 2, options_.max_retry_delay);
  Schedule(stream);
}

absl::Status ConsumerGroupRunner::Failed(const StreamEntry& entry, const absl::Status& handled) {
  const bool comes_back = handled.code() == absl::StatusCode::kUnavailable ||
                          handled.code() == absl::StatusCode::kDeadlineExceeded;
  if (comes_back) {
    Log(Severity::kWarning, "event handler failed: retrying",
        {Field("stream", entry.stream), Field("entry", entry.id),
         Field("error", std::string(handled.message()))});
    return absl::OkStatus();
  }
  // Left pending (read again soon) unless it has failed too often.
  ScopedDeadline deadline(absl::Now() + absl::Seconds(2));
  auto pending =
      redis_->Execute({"XPENDING", entry.stream, options_.group, entry.id, entry.id, "1"});
  if (!pending.ok()) return pending.status();
  long long deliveries = 1;
  if (pending->IsArray() && !pending->elements.empty() &&
      pending->elements[0].elements.size() == 4) {
    deliveries = pending->elements[0].elements[3].integer;
  }
  Log(Severity::kWarning, "event handler failed",
      {Field("stream", entry.stream), Field("entry", entry.id),
       NumberField("deliveries", deliveries), Field("error", std::string(handled.message()))});
  if (deliveries >= options_.max_deliveries) {
    return DeadLetter(entry, std::string(handled.message()));
  }
  return absl::OkStatus();
}

absl::Status ConsumerGroupRunner::DeadLetter(const StreamEntry& entry, const std::string& reason) {
  const std::string dead_letters = DeadLetterStreamKey(entry.stream);
  RedisCommand xadd{"XADD",         dead_letters, "*",      "source_stream",
                    entry.stream,   "source_id",  entry.id, "group",
                    options_.group, "error",      reason};
  for (const auto& field : entry.fields) {
    xadd.push_back(absl::StrCat("event.", field.name));
    xadd.push_back(field.value);
  }
  ScopedDeadline deadline(absl::Now() + absl::Seconds(2));
  auto moved = redis_->Transaction({xadd, {"XACK", entry.stream, options_.group, entry.id}});
  if (!moved.ok()) return moved.status();
  ++dead_lettered_;
  Log(Severity::kError, "event moved to dead-letter stream",
      {Field("stream", dead_letters), Field("entry", entry.id)});
  return absl::OkStatus();
}

// --- EventFollower -----------------------------------------------------------------------------

EventFollower::EventFollower(RedisAddress address, Options options, Handler handler,
                             CaughtUp caught_up, Trouble trouble)
    : options_(std::move(options)),
      handler_(std::move(handler)),
      caught_up_(std::move(caught_up)),
      trouble_(std::move(trouble)),
      redis_(ReaderClient(address)),
      doorbell_(address, options_.services) {
  doorbell_.Start();
  thread_ = std::thread([this] { Loop(); });
}

EventFollower::~EventFollower() {
  stopping_ = true;
  stop_.Stop();
  doorbell_.Stop();
  if (thread_.joinable()) thread_.join();
}

void EventFollower::Loop() {
  std::set<std::pair<std::string, std::string>> unread;
  absl::Time next_sweep = absl::InfinitePast();
  absl::Duration retry = absl::Milliseconds(100);
  bool failing = false;
  while (!stopping_) {
    const absl::Time now = absl::Now();
    EventDoorbell::Rings rings =
        doorbell_.Take(unread.empty() ? std::min(next_sweep, now + options_.idle_wait) : now);
    if (stopping_) break;
    unread.insert(rings.rung.begin(), rings.rung.end());
    absl::Status status = start_id_.empty() ? FindStart() : absl::OkStatus();
    if (status.ok() && (rings.missed || absl::Now() >= next_sweep)) {
      auto organizations = ListOrganizations(*redis_);
      status = organizations.status();
      if (organizations.ok()) {
        for (const std::string& service : options_.services) {
          for (const std::string& organization_id : *organizations) {
            unread.emplace(service, organization_id);
          }
        }
        for (const auto& [stream, last] : last_) unread.insert(stream);
        // Give or take a quarter: the followers of every replica do not sweep together.
        next_sweep = absl::Now() + options_.sweep_interval * absl::Uniform(random_, 0.75, 1.25);
      }
    }
    if (status.ok()) status = Read(unread);
    if (!status.ok()) {
      if (stopping_) break;
      if (!failing && trouble_) trouble_(status);
      failing = true;
      // What rings meanwhile is kept for the next pass, with what this one could not read.
      stop_.Wait(retry);
      retry = std::min(retry * 2, absl::Seconds(5));
      continue;
    }
    if (failing && trouble_) trouble_(absl::OkStatus());
    failing = false;
    retry = absl::Milliseconds(100);
    // Heard before the reads began, and everything it announced read to the end.
    if (unread.empty() && doorbell_.subscribed() && caught_up_) caught_up_(rings.heard_until);
  }
}

absl::Status EventFollower::FindStart() {
  absl::StatusOr<RedisReply> time;
  {
    ScopedDeadline deadline(absl::Now() + absl::Seconds(2));
    time = redis_->Execute({"TIME"});
  }
  if (!time.ok()) return time.status();
  long long seconds = 0;
  long long micros = 0;
  if (time->elements.size() != 2 || !absl::SimpleAtoi(time->elements[0].str, &seconds) ||
      !absl::SimpleAtoi(time->elements[1].str, &micros)) {
    return absl::InternalError("TIME: an answer of an unexpected shape");
  }
  // Redis's clock, which makes the streams' ids: a moment before now there.
  const absl::Time redis_now = absl::FromUnixSeconds(seconds) + absl::Microseconds(micros);
  start_id_ = absl::StrCat(absl::ToUnixMillis(redis_now - kFollowerStartMargin), "-0");
  return absl::OkStatus();
}

absl::Status EventFollower::Read(std::set<std::pair<std::string, std::string>>& streams) {
  if (streams.empty()) return absl::OkStatus();
  std::vector<RedisCommand> commands;
  std::vector<std::pair<std::string, std::string>> order(streams.begin(), streams.end());
  const std::string count = absl::StrCat(options_.batch);
  for (const auto& stream : order) {
    auto last = last_.find(stream);
    commands.push_back({"XREAD", "COUNT", count, "STREAMS",
                        EventStreamKey(stream.first, stream.second),
                        last == last_.end() ? start_id_ : last->second});
  }
  absl::StatusOr<std::vector<RedisReply>> replies;
  {
    ScopedDeadline deadline(absl::Now() + absl::Seconds(2));
    replies = redis_->ExecuteAll(std::move(commands));
  }
  if (!replies.ok()) return replies.status();  // every stream still to read
  // What is left to read: the streams whose read came back full or failed.
  streams.clear();
  absl::Status failure;
  for (size_t i = 0; i < order.size(); ++i) {
    const RedisReply& reply = (*replies)[i];
    if (reply.IsError()) {
      failure = absl::UnavailableError(reply.str);
      streams.insert(order[i]);
      continue;
    }
    // nil (nothing new) or [[stream, entries]].
    if (!reply.IsArray() || reply.elements.empty() || reply.elements[0].elements.size() != 2) {
      continue;
    }
    std::vector<StreamEntry> entries = ParseStreamEntries(reply.elements[0].elements[1]);
    for (StreamEntry& entry : entries) {
      entry.stream = reply.elements[0].elements[0].str;
      last_[order[i]] = entry.id;
      handler_(order[i].first, entry);
    }
    if (entries.size() >= options_.batch) streams.insert(order[i]);
  }
  return failure;
}

}  // namespace peerwell
