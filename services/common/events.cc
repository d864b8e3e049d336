#include "services/common/events.h"

#include <unistd.h>

#include <algorithm>
#include <iterator>
#include <map>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/blocking_counter.h"
#include "services/common/log.h"
#include "services/common/redis_values.h"

namespace peerwell {

ConsumerOptions ServiceConsumerOptions(const ServiceConfig& config, absl::string_view source,
                                       absl::string_view group) {
  ConsumerOptions options;
  options.claim_min_idle = config.event_claim_idle;
  options.claim_interval =
      std::clamp(config.event_claim_idle / 4, absl::Milliseconds(100), absl::Seconds(5));
  options.max_retry_delay = std::min(options.max_retry_delay, config.event_claim_idle / 2);
  options.stream = EventStreamKey(source);
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


std::string EventStreamKey(absl::string_view service) {
  return absl::StrCat("pw:events:", service);
}

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

RedisCommand EventXadd(absl::string_view stream, absl::string_view type,
                       absl::string_view organization_id, absl::Time occur_time,
                       const std::vector<EventField>& fields) {
  RedisCommand command{"XADD", std::string(stream), "MAXLEN", "~", absl::StrCat(kEventStreamMaxLen),
                       "*"};
  std::vector<std::string> pairs = EventFieldPairs(type, organization_id, occur_time, fields);
  command.insert(command.end(), std::make_move_iterator(pairs.begin()),
                 std::make_move_iterator(pairs.end()));
  return command;
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

std::string DeadLetterStream(const ConsumerOptions& options) {
  return options.dead_letter_stream.empty() ? absl::StrCat(options.stream, ":dead")
                                            : options.dead_letter_stream;
}

absl::StatusOr<ConsumerBacklog> ReadConsumerBacklog(RedisClient& redis,
                                                    const ConsumerOptions& options) {
  // One round trip. XINFO GROUPS fails on a stream not created yet: then nothing waits.
  auto replies = redis.ExecuteAll({{"XLEN", DeadLetterStream(options)},
                                   {"XLEN", options.stream},
                                   {"XINFO", "GROUPS", options.stream}});
  if (!replies.ok()) return replies.status();
  const RedisReply& dead = (*replies)[0];
  const RedisReply& length = (*replies)[1];
  const RedisReply& groups = (*replies)[2];
  if (dead.IsError()) return absl::InternalError(absl::StrCat("XLEN: ", dead.str));
  if (length.IsError()) return absl::InternalError(absl::StrCat("XLEN: ", length.str));
  ConsumerBacklog backlog;
  backlog.dead_letters = dead.integer;
  // No stream, or no group yet: every entry waits for the group.
  backlog.lag = length.integer;
  if (groups.IsError()) {
    if (length.integer == 0) return backlog;
    return absl::InternalError(absl::StrCat("XINFO GROUPS: ", groups.str));
  }
  for (const RedisReply& group : groups.elements) {
    // A flat list of field names and values.
    std::optional<std::string> name;
    ConsumerBacklog found;
    for (size_t i = 0; i + 1 < group.elements.size(); i += 2) {
      const std::string& field = group.elements[i].str;
      const RedisReply& value = group.elements[i + 1];
      if (field == "name") name = value.str;
      if (field == "pending") found.pending = value.integer;
      if (field == "lag" && value.type == RedisReply::Type::kInteger) found.lag = value.integer;
    }
    if (name == options.group) {
      found.dead_letters = backlog.dead_letters;
      return found;
    }
  }
  return backlog;
}

ConsumerGroupRunner::ConsumerGroupRunner(RedisAddress address, ConsumerOptions options,
                                         Handler handler, RoundHandler round_handler)
    : address_(std::move(address)),
      options_(std::move(options)),
      handler_(std::move(handler)),
      round_handler_(std::move(round_handler)),
      own_retry_delay_(options_.retry_delay) {
  options_.dead_letter_stream = DeadLetterStream(options_);
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
      {Field("stream", options_.stream), Field("group", options_.group),
       Field("consumer", options_.consumer)});
  thread_ = std::thread([this] { Loop(); });
}

void ConsumerGroupRunner::Stop() {
  stop_.Stop();
  if (thread_.joinable()) thread_.join();
}

void ConsumerGroupRunner::Loop() {
  std::unique_ptr<RedisConnection> connection;
  absl::Duration backoff = absl::Milliseconds(50);
  bool group_ready = false;
  while (!stop_.stopped()) {
    if (connection == nullptr) {
      auto connected = RedisConnection::Connect(address_, absl::Seconds(1));
      if (!connected.ok()) {
        absl::SleepFor(backoff);  // Redis is down: retry at a bounded rate
        backoff = std::min(backoff * 2, absl::Milliseconds(250));
        continue;
      }
      connection = std::move(*connected);
      backoff = absl::Milliseconds(50);
      group_ready = false;
      // An acknowledgement lost with the old connection: its entries are this consumer's own
      // pending ones again, handled again below (handlers are idempotent).
      unsent_ack_.clear();
      unsent_ack_events_ = 0;
      // Entries handled but not acknowledged when the link broke, or failed while Redis was
      // away, are this consumer's own pending entries: walk them at once.
      own_pending_cursor_ = "0";
      own_retry_time_ = absl::InfinitePast();
      own_retry_delay_ = options_.retry_delay;
    }
    if (!group_ready) {
      // From "0" so that events published before the group existed are not skipped.
      auto created = connection->Execute(
          {"XGROUP", "CREATE", options_.stream, options_.group, "0", "MKSTREAM"}, absl::Seconds(2));
      if (!created.ok()) {
        connection.reset();
        continue;
      }
      if (created->IsError() && created->str.rfind("BUSYGROUP", 0) != 0) {
        Log(Severity::kWarning, "cannot create consumer group",
            {Field("stream", options_.stream), Field("error", created->str)});
        connection.reset();
        absl::SleepFor(backoff);
        continue;
      }
      group_ready = true;
    }
    const bool was_due = absl::Now() >= next_claim_;
    bool claim_due = was_due;
    absl::Status status = RunOnce(*connection, &claim_due);
    // After a failed claim too, so that a stream that keeps refusing XAUTOCLAIM cannot keep the
    // consumer from reading new entries.
    if (was_due && (!claim_due || !status.ok())) {
      next_claim_ = absl::Now() + options_.claim_interval;
    }
    if (!status.ok()) {
      if (stop_.stopped()) break;
      if (status.code() == absl::StatusCode::kUnavailable) connection.reset();
      Log(Severity::kWarning, "consumer error",
          {Field("stream", options_.stream), Field("error", std::string(status.message()))});
      absl::SleepFor(backoff);
    } else if (last_batch_ > 0 && last_batch_ < static_cast<size_t>(options_.batch) &&
               options_.linger > absl::ZeroDuration()) {
      stop_.Wait(last_read_ + options_.linger - Now());
    }
  }
  // The batch in hand acknowledged before the runner stops; on a connection of its own when
  // Stop() interrupted this one before the acknowledgement went out with a read.
  if (!unsent_ack_.empty() && (connection == nullptr || !FlushAck(*connection).ok())) {
    if (auto fresh = RedisConnection::Connect(address_, absl::Seconds(1)); fresh.ok()) {
      (void)FlushAck(**fresh);  // else pending, for another consumer to claim
    }
  }
}

absl::StatusOr<RedisReply> ConsumerGroupRunner::ExecuteAfterAck(RedisConnection& connection,
                                                                const RedisCommand& command,
                                                                absl::Duration timeout) {
  if (unsent_ack_.empty()) return connection.Execute(command, timeout);
  if (auto status = connection.SetTimeout(timeout); !status.ok()) return status;
  if (auto status = connection.AppendAll(std::vector<RedisCommand>{unsent_ack_, command});
      !status.ok()) {
    return status;
  }
  auto acked = connection.ReadReply();
  if (!acked.ok()) return acked.status();
  unsent_ack_.clear();
  if (!acked->IsError()) handled_ += unsent_ack_events_;
  unsent_ack_events_ = 0;
  // A refused XACK (the group gone) leaves its entries pending, read again as this consumer's
  // own; the command's own reply says what became of it.
  return connection.ReadReply();
}

absl::Status ConsumerGroupRunner::FlushAck(RedisConnection& connection) {
  if (unsent_ack_.empty()) return absl::OkStatus();
  auto acked = connection.Execute(unsent_ack_, absl::Seconds(2));
  if (!acked.ok()) return acked.status();  // kept, for another connection
  if (!acked->IsError()) handled_ += unsent_ack_events_;
  unsent_ack_.clear();
  unsent_ack_events_ = 0;
  return absl::OkStatus();
}

void ConsumerGroupRunner::RetryOwnPendingLater() {
  const absl::Time now = absl::Now();
  const absl::Time at = now + own_retry_delay_;
  // A walk from the start already due later stays due no later: new failures must not keep
  // putting off the retry of older ones.
  const bool scheduled = own_pending_cursor_ == "0" && own_retry_time_ > now;
  own_retry_time_ = scheduled ? std::min(own_retry_time_, at) : at;
  own_pending_cursor_ = "0";
  own_retry_delay_ = std::min(own_retry_delay_ * 2, options_.max_retry_delay);
}

absl::Status ConsumerGroupRunner::RunOnce(RedisConnection& connection, bool* claim_due) {
  const absl::Duration io_timeout = options_.block + absl::Seconds(2);
  const absl::Time now = absl::Now();
  std::vector<StreamEntry> entries;
  absl::Duration block = options_.block;
  if (!own_pending_cursor_.empty() && now < own_retry_time_) {
    // Wake for the retry rather than after a whole BLOCK (BLOCK 0 would mean for ever).
    block = std::clamp(own_retry_time_ - now, absl::Milliseconds(1), options_.block);
  }
  if (!own_pending_cursor_.empty() && now >= own_retry_time_) {
    // Entries this consumer read and never acknowledged (before a restart, a failed handler, a
    // lost connection), walked once from the start.
    auto own = ExecuteAfterAck(
        connection,
        {"XREADGROUP", "GROUP", options_.group, options_.consumer, "COUNT",
         absl::StrCat(options_.batch), "STREAMS", options_.stream, own_pending_cursor_},
        io_timeout);
    if (!own.ok()) return own.status();
    if (own->IsError()) return absl::UnavailableError(own->str);
    if (own->IsArray() && !own->elements.empty()) {
      entries = ParseStreamEntries(own->elements[0].elements[1]);
    }
    own_pending_cursor_ = entries.empty() ? "" : entries.back().id;
    if (entries.empty()) own_retry_delay_ = options_.retry_delay;
  } else if (*claim_due) {
    auto claimed =
        ExecuteAfterAck(connection,
                        {"XAUTOCLAIM", options_.stream, options_.group, options_.consumer,
                         absl::StrCat(absl::ToInt64Milliseconds(options_.claim_min_idle)), "0-0",
                         "COUNT", absl::StrCat(options_.batch)},
                        io_timeout);
    if (!claimed.ok()) return claimed.status();
    // NOGROUP: the stream or group vanished; reconnecting recreates the group.
    if (claimed->IsError()) return absl::UnavailableError(claimed->str);
    if (claimed->elements.size() >= 2) entries = ParseStreamEntries(claimed->elements[1]);
    // Keep claiming while a full batch came back; otherwise wait for the next interval.
    *claim_due = static_cast<int>(entries.size()) >= options_.batch;
  }
  if (entries.empty()) {
    if (!stop_.BeginRead(connection)) return absl::OkStatus();
    last_read_ = Now();
    auto read = ExecuteAfterAck(
        connection,
        {"XREADGROUP", "GROUP", options_.group, options_.consumer, "COUNT",
         absl::StrCat(options_.batch), "BLOCK", absl::StrCat(absl::ToInt64Milliseconds(block)),
         "STREAMS", options_.stream, ">"},
        io_timeout);
    stop_.EndRead();
    if (!read.ok()) return read.status();
    if (read->IsError()) {
      // NOGROUP: the stream was deleted under us; recreate on the next pass.
      return absl::UnavailableError(read->str);
    }
    if (read->IsArray() && !read->elements.empty()) {
      entries = ParseStreamEntries(read->elements[0].elements[1]);
    }
  }
  return ProcessBatch(connection, entries);
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
      if ((ordered_lanes || stop_.stopped()) && !outcomes[i]->ok()) return;
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
    keys[i] = options_.lane_key ? options_.lane_key(entries[i]) : entries[i].id;
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
    if (failed && stop_.stopped()) break;
  }
  return outcomes;
}

absl::Status ConsumerGroupRunner::ProcessBatch(RedisConnection& connection,
                                               const std::vector<StreamEntry>& entries) {
  last_batch_ = entries.size();
  if (entries.empty()) return absl::OkStatus();
  const std::vector<std::optional<absl::Status>> outcomes =
      round_handler_ ? HandleInRounds(entries) : HandleEntries(entries);

  // One XACK for the whole batch, sent with the next read: no round trip of its own, and with
  // appendfsync always no fsync of its own. Until then the entries stay pending; should the
  // acknowledgement be lost, they are handled again (handlers are idempotent).
  RedisCommand ack{"XACK", options_.stream, options_.group};
  long long acknowledged_events = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (outcomes[i].has_value() && outcomes[i]->ok()) {
      ack.push_back(entries[i].id);
      if (!entries[i].deleted) ++acknowledged_events;
    }
  }
  if (ack.size() > 3) {
    unsent_ack_ = std::move(ack);
    unsent_ack_events_ = acknowledged_events;
  }
  bool left_pending = false;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (outcomes[i].has_value() && outcomes[i]->ok()) continue;
    left_pending = true;
    if (!outcomes[i].has_value()) continue;
    // The successes acknowledged first: should the failure's own commands lose the connection,
    // they must not be handled again with it.
    if (auto status = FlushAck(connection); !status.ok()) {
      RetryOwnPendingLater();
      return status;
    }
    if (auto status = Failed(connection, entries[i], *outcomes[i]); !status.ok()) {
      RetryOwnPendingLater();
      return status;
    }
  }
  if (left_pending && !stop_.stopped()) RetryOwnPendingLater();
  return absl::OkStatus();
}

absl::Status ConsumerGroupRunner::Failed(RedisConnection& connection, const StreamEntry& entry,
                                         const absl::Status& handled) {
  const absl::Duration io_timeout = absl::Seconds(2);
  const bool comes_back = handled.code() == absl::StatusCode::kUnavailable ||
                          handled.code() == absl::StatusCode::kDeadlineExceeded;
  if (comes_back) {
    Log(Severity::kWarning, "event handler failed: retrying",
        {Field("stream", options_.stream), Field("entry", entry.id),
         Field("error", std::string(handled.message()))});
    return absl::OkStatus();
  }
  // Left pending (read again soon) unless it has failed too often.
  auto pending = connection.Execute(
      {"XPENDING", options_.stream, options_.group, entry.id, entry.id, "1"}, io_timeout);
  if (!pending.ok()) return pending.status();
  long long deliveries = 1;
  if (pending->IsArray() && !pending->elements.empty() &&
      pending->elements[0].elements.size() == 4) {
    deliveries = pending->elements[0].elements[3].integer;
  }
  Log(Severity::kWarning, "event handler failed",
      {Field("stream", options_.stream), Field("entry", entry.id),
       NumberField("deliveries", deliveries), Field("error", std::string(handled.message()))});
  if (deliveries >= options_.max_deliveries) {
    return DeadLetter(connection, entry, std::string(handled.message()));
  }
  return absl::OkStatus();
}

absl::Status ConsumerGroupRunner::DeadLetter(RedisConnection& connection, const StreamEntry& entry,
                                             const std::string& reason) {
  const absl::Duration io_timeout = absl::Seconds(2);
  RedisCommand xadd{"XADD",
                    options_.dead_letter_stream,
                    "*",
                    "source_stream",
                    options_.stream,
                    "source_id",
                    entry.id,
                    "group",
                    options_.group,
                    "error",
                    reason};
  for (const auto& field : entry.fields) {
    xadd.push_back(absl::StrCat("event.", field.name));
    xadd.push_back(field.value);
  }
  const std::vector<RedisCommand> transaction{
      {"MULTI"}, xadd, {"XACK", options_.stream, options_.group, entry.id}, {"EXEC"}};
  if (auto status = connection.AppendAll(transaction); !status.ok()) return status;
  if (auto status = connection.SetTimeout(io_timeout); !status.ok()) return status;
  for (int i = 0; i < 4; ++i) {
    auto reply = connection.ReadReply();
    if (!reply.ok()) return reply.status();
    if (i == 3 && !reply->IsArray()) return absl::InternalError("dead-letter transaction failed");
  }
  ++dead_lettered_;
  Log(Severity::kError, "event moved to dead-letter stream",
      {Field("stream", options_.dead_letter_stream), Field("entry", entry.id)});
  return absl::OkStatus();
}

}  // namespace peerwell
