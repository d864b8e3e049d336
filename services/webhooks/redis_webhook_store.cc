#include "services/webhooks/redis_webhook_store.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "services/common/organization_registry.h"
#include "services/common/redis_commands.h"
#include "services/common/redis_values.h"

namespace peerwell::webhooks {
namespace {

// --- Key layout (docs/ARCHITECTURE.md) -----------------------------------------------------------

std::string Prefix(const std::string& org) { return absl::StrCat("pw:{", org, "}:webhooks:"); }
std::string WebhookKey(const std::string& org, const std::string& id) {
  return absl::StrCat(Prefix(org), "webhook:", id);
}
std::string AllWebhooksKey(const std::string& org) { return Prefix(org) + "webhooks"; }
std::string KeyWebhooksKey(const std::string& org, const std::string& api_key_id) {
  return absl::StrCat(Prefix(org), "api_key:", api_key_id, ":webhooks");
}
std::string DeliveryLogKey(const std::string& org, const std::string& webhook_id) {
  return absl::StrCat(Prefix(org), "webhook:", webhook_id, ":deliveries");
}
std::string DeliveryKey(const std::string& org, const std::string& webhook_id,
                        const std::string& event_id) {
  return absl::StrCat(Prefix(org), "delivery:", webhook_id, ":", event_id);
}
// The organisation's queued deliveries by due time (members are delivery keys), in its slot with
// them; the deliveries that are due are claimed through every organisation's
// (DueAcrossOrganizations).
std::string DueKey(const std::string& org) { return Prefix(org) + "due"; }

// Each webhook's log keeps about this many attempts.
constexpr int kDeliveryLogMaxLen = 1000;
// A finished delivery's record stays this long, so that an event read again (a consumer that
// crashed before acknowledging it) is not sent again.
constexpr absl::Duration kFinishedRetention = absl::Hours(24 * 7);

// `text` as a SCAN pattern that matches it alone, whatever characters it holds.
std::string GlobLiteral(absl::string_view text) {
  std::string pattern;
  for (char c : text) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') pattern.push_back('\\');
    pattern.push_back(c);
  }
  return pattern;
}

std::vector<std::pair<std::string, std::string>> WebhookFields(const Webhook& webhook) {
  return {{"id", webhook.id},
          {"owner_key_id", webhook.owner_key_id},
          {"url", webhook.url},
          {"event_types", absl::StrJoin(webhook.event_types, ",")},
          {"create_time", RedisMicros(webhook.create_time)},
          {"secret_nonce", webhook.secret_nonce}};
}

std::optional<Webhook> DecodeWebhook(const std::string& org,
                                     const std::vector<std::pair<std::string, std::string>>& pairs) {
  Webhook webhook;
  webhook.organization_id = org;
  for (const auto& [name, value] : pairs) {
    if (name == "id")
      webhook.id = value;
    else if (name == "owner_key_id")
      webhook.owner_key_id = value;
    else if (name == "url")
      webhook.url = value;
    else if (name == "event_types")
      webhook.event_types = absl::StrSplit(value, ',', absl::SkipEmpty());
    else if (name == "create_time")
      webhook.create_time = ParseRedisMicros(value);
    else if (name == "secret_nonce")
      webhook.secret_nonce = value;
  }
  if (webhook.id.empty()) return std::nullopt;
  return webhook;
}

Delivery DecodeDelivery(const std::string& org,
                        const std::vector<std::pair<std::string, std::string>>& pairs) {
  Delivery delivery;
  delivery.organization_id = org;
  for (const auto& [name, value] : pairs) {
    if (name == "webhook_id")
      delivery.webhook_id = value;
    else if (name == "event_id")
      delivery.event_id = value;
    else if (name == "event_type")
      delivery.event_type = value;
    else if (name == "body")
      delivery.body = value;
    else if (name == "attempts")
      delivery.attempts = ParseRedisInt(value);
    else if (name == "first_attempt_time")
      delivery.first_attempt_time = ParseRedisMicros(value);
  }
  return delivery;
}

std::vector<std::string> AttemptFields(const DeliveryAttempt& attempt) {
  return {"event_id",
          attempt.event_id,
          "event_type",
          attempt.event_type,
          "attempt",
          absl::StrCat(attempt.attempt),
          "attempt_time",
          RedisMicros(attempt.attempt_time),
          "http_status",
          absl::StrCat(attempt.http_status),
          "duration_us",
          absl::StrCat(absl::ToInt64Microseconds(attempt.duration)),
          "next_attempt_time",
          attempt.next_attempt_time ? RedisMicros(*attempt.next_attempt_time) : "",
          "error",
          attempt.error};
}

DeliveryAttempt DecodeAttempt(const std::vector<std::pair<std::string, std::string>>& pairs) {
  DeliveryAttempt attempt;
  for (const auto& [name, value] : pairs) {
    if (name == "event_id")
      attempt.event_id = value;
    else if (name == "event_type")
      attempt.event_type = value;
    else if (name == "attempt")
      attempt.attempt = ParseRedisInt(value);
    else if (name == "attempt_time")
      attempt.attempt_time = ParseRedisMicros(value);
    else if (name == "http_status")
      attempt.http_status = ParseRedisInt(value);
    else if (name == "duration_us")
      attempt.duration = absl::Microseconds(ParseRedisInt(value));
    else if (name == "next_attempt_time" && !value.empty())
      attempt.next_attempt_time = ParseRedisMicros(value);
    else if (name == "error")
      attempt.error = value;
  }
  return attempt;
}

absl::StatusOr<RedisReply> Checked(absl::StatusOr<RedisReply> reply) {
  if (!reply.ok()) return reply.status();
  if (reply->IsError()) return ScriptErrorToStatus(*reply);
  return reply;
}

}  // namespace

RedisWebhookStore::RedisWebhookStore(RedisClient& redis)
    // What another replica queued is seen within 5 s: its own delivery threads take it at once.
    : redis_(redis), due_(DueKey, absl::Seconds(5)) {}

const std::vector<PersonKeyFamily>& RedisWebhookStore::PersonKeyFamilies() {
  // Built with the functions that build the keys, so that the patterns follow the layout.
  static const auto* families = new std::vector<PersonKeyFamily>{
      {DeliveryKey("*", "*", "*"), "",
       "an alert event on its way to a partner: until it is delivered or given up, its body names "
       "the volunteer by the pseudonym of the partner's API key. A pseudonym is how a partner "
       "sees the volunteer, not the volunteer's data as they see it (the alert itself is exported "
       "as alerts); erasing the person drops it unsent"},
      {DueKey("*"), "",
       "the schedule of queued deliveries: delivery keys (webhook and event ids) by due time, no "
       "pseudonym"},
      {DeliveryLogKey("*", "*"), "",
       "a webhook's log of delivery attempts: event ids, statuses and times, never a body or "
       "pseudonym"},
  };
  return *families;
}

absl::StatusOr<bool> RedisWebhookStore::AddWebhook(const Webhook& webhook, int limit) {
  // KEYS: the webhook, its key's webhooks, the organisation's. ARGV: limit, score, id, fields…
  static const auto* script = new RedisScript(R"lua(
  if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[1]) then return 0 end
  redis.call('HSET', KEYS[1], unpack(ARGV, 4))
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
  redis.call('ZADD', KEYS[3], ARGV[2], ARGV[3])
  return 1
)lua");
  const std::string& org = webhook.organization_id;
  std::vector<std::string> args{absl::StrCat(limit), RedisMicros(webhook.create_time), webhook.id};
  for (auto& [name, value] : WebhookFields(webhook)) {
    args.push_back(std::move(name));
    args.push_back(std::move(value));
  }
  auto reply = Checked(redis_.Eval(*script,
                                   {WebhookKey(org, webhook.id),
                                    KeyWebhooksKey(org, webhook.owner_key_id), AllWebhooksKey(org)},
                                   args));
  if (!reply.ok()) return reply.status();
  return reply->integer == 1;
}

absl::StatusOr<std::optional<Webhook>> RedisWebhookStore::GetWebhook(
    const std::string& organization_id, const std::string& webhook_id) {
  auto reply = redis_.Execute({"HGETALL", WebhookKey(organization_id, webhook_id)});
  if (!reply.ok()) return reply.status();
  return DecodeWebhook(organization_id, ReplyPairs(*reply));
}

absl::StatusOr<std::vector<std::vector<Webhook>>> RedisWebhookStore::LoadWebhooks(
    const std::vector<std::pair<std::string, std::string>>& indexes) {
  std::vector<std::vector<Webhook>> webhooks(indexes.size());
  if (indexes.empty()) return webhooks;
  std::vector<RedisCommand> ranges;
  for (const auto& [org, index_key] : indexes) ranges.push_back({"ZRANGE", index_key, "0", "-1"});
  auto ids = redis_.ExecuteAll(std::move(ranges));
  if (!ids.ok()) return ids.status();
  std::vector<RedisCommand> reads;
  std::vector<size_t> index_of_read;
  for (size_t i = 0; i < indexes.size(); ++i) {
    const RedisReply& listed = (*ids)[i];
    if (listed.IsError()) return ScriptErrorToStatus(listed);
    for (const RedisReply& id : listed.elements) {
      reads.push_back({"HGETALL", WebhookKey(indexes[i].first, id.str)});
      index_of_read.push_back(i);
    }
  }
  if (reads.empty()) return webhooks;
  auto replies = redis_.ExecuteAll(std::move(reads));
  if (!replies.ok()) return replies.status();
  for (size_t r = 0; r < replies->size(); ++r) {
    const size_t i = index_of_read[r];
    if (auto webhook = DecodeWebhook(indexes[i].first, ReplyPairs((*replies)[r]));
        webhook.has_value()) {
      webhooks[i].push_back(*std::move(webhook));
    }
  }
  return webhooks;
}

absl::StatusOr<std::vector<Webhook>> RedisWebhookStore::ListWebhooks(
    const std::string& organization_id, const std::string& owner_key_id) {
  auto webhooks = LoadWebhooks({{organization_id, KeyWebhooksKey(organization_id, owner_key_id)}});
  if (!webhooks.ok()) return webhooks.status();
  return std::move(webhooks->front());
}

absl::StatusOr<std::vector<std::vector<Webhook>>> RedisWebhookStore::OrganizationsWebhooks(
    const std::vector<std::string>& organization_ids) {
  std::vector<std::pair<std::string, std::string>> indexes;
  for (const std::string& org : organization_ids) indexes.emplace_back(org, AllWebhooksKey(org));
  return LoadWebhooks(indexes);
}

absl::StatusOr<bool> RedisWebhookStore::RemoveWebhook(const Webhook& webhook) {
  const std::string& org = webhook.organization_id;
  auto replies =
      redis_.Transaction({{"DEL", WebhookKey(org, webhook.id)},
                          {"ZREM", KeyWebhooksKey(org, webhook.owner_key_id), webhook.id},
                          {"ZREM", AllWebhooksKey(org), webhook.id},
                          {"DEL", DeliveryLogKey(org, webhook.id)}});
  if (!replies.ok()) return replies.status();
  return !replies->empty() && replies->front().integer == 1;
}

absl::StatusOr<bool> RedisWebhookStore::Enqueue(const Delivery& delivery, absl::Time due) {
  // KEYS: the delivery, the schedule. ARGV: due, fields…
  static const auto* script = new RedisScript(R"lua(
  if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
  redis.call('HSET', KEYS[1], unpack(ARGV, 2))
  redis.call('ZADD', KEYS[2], ARGV[1], KEYS[1])
  return 1
)lua");
  auto reply = Checked(redis_.Eval(
      *script,
      {DeliveryKey(delivery.organization_id, delivery.webhook_id, delivery.event_id),
       DueKey(delivery.organization_id)},
      {RedisMicros(due), "webhook_id", delivery.webhook_id, "event_id", delivery.event_id,
       "event_type", delivery.event_type, "body", delivery.body, "attempts", "0"}));
  if (!reply.ok()) return reply.status();
  // After the write: a rescan between the two must not drop what it had not seen yet.
  due_.Scheduled(delivery.organization_id);
  return reply->integer == 1;
}

absl::StatusOr<std::vector<Delivery>> RedisWebhookStore::ClaimDue(absl::Time now,
                                                                  absl::Time lease_until,
                                                                  int limit) {
  // KEYS: the schedule. ARGV: now, lease end, limit. Returns delivery key, fields, … for each
  // delivery claimed; finished or vanished ones leave the schedule.
  static const auto* script = new RedisScript(R"lua(
  local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
  local claimed = {}
  for _, key in ipairs(due) do
    if redis.call('EXISTS', key) == 0 or redis.call('HGET', key, 'done') == '1' then
      redis.call('ZREM', KEYS[1], key)
    else
      redis.call('ZADD', KEYS[1], ARGV[2], key)
      redis.call('HINCRBY', key, 'attempts', 1)
      redis.call('HSETNX', key, 'first_attempt_time', ARGV[1])
      table.insert(claimed, key)
      table.insert(claimed, redis.call('HGETALL', key))
    end
  end
  return claimed
)lua");
  // Ten claims a second from each delivery thread: counted in the organisations with deliveries
  // due alone.
  auto shares = due_.Due(redis_, RedisMicros(now), limit);
  if (!shares.ok()) return shares.status();
  auto replies = ClaimDueShares(redis_, *script, DueKey, *shares, now, lease_until);
  if (!replies.ok()) return replies.status();
  std::vector<Delivery> deliveries;
  for (const RedisReply& reply : *replies) {
    for (size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
      deliveries.push_back(DecodeDelivery(OrganizationOfKey(reply.elements[i].str),
                                          ReplyPairs(reply.elements[i + 1])));
    }
  }
  return deliveries;
}

absl::Status RedisWebhookStore::FinishAttempt(const Delivery& delivery,
                                              const DeliveryAttempt& attempt) {
  // KEYS: the schedule, the delivery, its webhook, the webhook's log. ARGV: the attempt number
  // claimed, the next attempt's time or "", retention (s), log length, log fields…
  static const auto* script = new RedisScript(R"lua(
  if redis.call('EXISTS', KEYS[3]) == 0 then
    redis.call('ZREM', KEYS[1], KEYS[2])
    redis.call('DEL', KEYS[2])
    return 0
  end
  redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[4], '*', unpack(ARGV, 5))
  -- Claimed again after this attempt's lease ran out: the later claimer moves it on.
  if redis.call('HGET', KEYS[2], 'attempts') ~= ARGV[1] then return 1 end
  if ARGV[2] ~= '' then
    redis.call('ZADD', KEYS[1], ARGV[2], KEYS[2])
  else
    redis.call('ZREM', KEYS[1], KEYS[2])
    redis.call('HSET', KEYS[2], 'done', '1')
    redis.call('HDEL', KEYS[2], 'body')
    redis.call('EXPIRE', KEYS[2], ARGV[3])
  end
  return 1
)lua");
  const std::string& org = delivery.organization_id;
  std::vector<std::string> args{
      absl::StrCat(delivery.attempts),
      attempt.next_attempt_time ? RedisMicros(*attempt.next_attempt_time) : "",
      absl::StrCat(absl::ToInt64Seconds(kFinishedRetention)), absl::StrCat(kDeliveryLogMaxLen)};
  for (std::string& field : AttemptFields(attempt)) args.push_back(std::move(field));
  auto finished = Checked(
      redis_.Eval(*script,
                  {DueKey(org), DeliveryKey(org, delivery.webhook_id, delivery.event_id),
                   WebhookKey(org, delivery.webhook_id), DeliveryLogKey(org, delivery.webhook_id)},
                  args));
  if (!finished.ok()) return finished.status();
  // A retry is due before the lease the view last read: counted from the next sweep.
  if (attempt.next_attempt_time) due_.Scheduled(org);
  return absl::OkStatus();
}

absl::StatusOr<QueuedDeliveryPage> RedisWebhookStore::QueuedDeliveries(
    const std::string& organization_id, const std::string& position) {
  auto scanned = redis_.Execute({"SCAN", position.empty() ? "0" : position, "MATCH",
                                 absl::StrCat(GlobLiteral(Prefix(organization_id)), "delivery:*"),
                                 "COUNT", "1000"});
  if (!scanned.ok()) return scanned.status();
  if (scanned->IsError() || scanned->elements.size() != 2) {
    return absl::InternalError(absl::StrCat("redis: SCAN answered ", scanned->str));
  }
  QueuedDeliveryPage page;
  if (scanned->elements[0].str != "0") page.next_position = scanned->elements[0].str;
  std::vector<RedisCommand> reads;
  for (const RedisReply& key : scanned->elements[1].elements) {
    reads.push_back({"HGETALL", key.str});
  }
  if (reads.empty()) return page;
  auto replies = redis_.ExecuteAll(std::move(reads));
  if (!replies.ok()) return replies.status();
  for (const RedisReply& reply : *replies) {
    auto pairs = ReplyPairs(reply);
    // A delivered or given up one keeps no body; an expired one is empty.
    if (std::none_of(pairs.begin(), pairs.end(),
                     [](const auto& pair) { return pair.first == "body"; })) {
      continue;
    }
    page.deliveries.push_back(DecodeDelivery(organization_id, pairs));
  }
  return page;
}

absl::Status RedisWebhookStore::DropDeliveries(const std::vector<Delivery>& deliveries) {
  // KEYS: the schedule, the deliveries. Checked in the script, so that one finished since it was
  // read keeps its record (an event read again is not sent again).
  static const auto* script = new RedisScript(R"lua(
  for i = 2, #KEYS do
    if redis.call('HEXISTS', KEYS[i], 'body') == 1 then
      redis.call('DEL', KEYS[i])
      redis.call('ZREM', KEYS[1], KEYS[i])
    end
  end
  return 1
)lua");
  // One call per organisation: its schedule and its deliveries share its slot.
  std::map<std::string, std::vector<std::string>> keys_of;
  for (const Delivery& delivery : deliveries) {
    std::vector<std::string>& keys = keys_of[delivery.organization_id];
    if (keys.empty()) keys.push_back(DueKey(delivery.organization_id));
    keys.push_back(DeliveryKey(delivery.organization_id, delivery.webhook_id, delivery.event_id));
  }
  for (const auto& [organization_id, keys] : keys_of) {
    if (auto status = Checked(redis_.Eval(*script, keys, {})).status(); !status.ok()) {
      return status;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<DeliveryLogPage> RedisWebhookStore::ListDeliveries(
    const std::string& organization_id, const std::string& webhook_id,
    const std::string& position, int limit) {
  std::string end = position.empty() ? "+" : absl::StrCat("(", position);
  auto reply = redis_.Execute({"XREVRANGE", DeliveryLogKey(organization_id, webhook_id), end, "-",
                               "COUNT", absl::StrCat(limit + 1)});
  if (!reply.ok()) return reply.status();
  if (reply->IsError()) return ScriptErrorToStatus(*reply);
  DeliveryLogPage page;
  for (const RedisReply& entry : reply->elements) {
    if (entry.elements.size() != 2) continue;
    if (static_cast<int>(page.attempts.size()) == limit) {
      page.next_position = reply->elements[limit - 1].elements[0].str;
      break;
    }
    page.attempts.push_back(DecodeAttempt(ReplyPairs(entry.elements[1])));
  }
  return page;
}

}  // namespace peerwell::webhooks
