#include "services/alerts/redis_alert_store.h"

#include <algorithm>

#include "absl/container/inlined_vector.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "services/alerts/alerts_mapping.h"
#include "services/alerts/risk_rules.h"
#include "services/common/events.h"
#include "services/common/ids.h"
#include "services/common/organization_registry.h"
#include "services/common/redis_commands.h"
#include "services/common/redis_values.h"

namespace peerwell::alerts {
namespace {

// --- Key layout (docs/ARCHITECTURE.md) -----------------------------------------------------------

std::string Prefix(const std::string& org) { return absl::StrCat("pw:{", org, "}:alerts:"); }
std::string AlertKeyPrefix(const std::string& org) { return Prefix(org) + "alert:"; }
std::string AlertKey(const std::string& org, const std::string& id) {
  return AlertKeyPrefix(org) + id;
}
std::string OpenKey(const std::string& org, const std::string& volunteer, const std::string& rule) {
  return absl::StrCat(Prefix(org), "open:", volunteer, ":", rule);
}
std::string VolunteerAlertsKey(const std::string& org, const std::string& volunteer) {
  return absl::StrCat(Prefix(org), "volunteer:", volunteer, ":alerts");
}
std::string AllAlertsKey(const std::string& org) { return Prefix(org) + "alerts"; }
// The organisation's alert keys by acknowledge deadline (in its slot, written with the alert);
// the sweep goes through every organisation's (DueAcrossOrganizations).
std::string DeadlinesKey(const std::string& org) { return Prefix(org) + "deadlines"; }
// Each organisation's feed keeps about this many entries: WatchAlerts resumes within it.
constexpr int kFeedMaxLen = 100'000;
std::string EventsKey(const std::string& org) { return EventStreamKey("alerts", org); }
// The organisation's volunteers by the time of their last check-in, for the missed-check-in sweep.
std::string LastCheckinKey(const std::string& org) { return Prefix(org) + "last_checkin"; }
std::string ProcessedKey(const std::string& org, const std::string& event_key) {
  return absl::StrCat(Prefix(org), "processed:", event_key);
}
std::string HistoryKey(const std::string& org, const std::string& volunteer) {
  return absl::StrCat(Prefix(org), "history:", volunteer);
}
std::string SilencesKey(const std::string& org, const std::string& volunteer) {
  return absl::StrCat(Prefix(org), "volunteer:", volunteer, ":silences");
}
std::string SilenceKey(const std::string& org, const std::string& id) {
  return absl::StrCat(Prefix(org), "silence:", id);
}
std::string AllSilencesKey(const std::string& org) { return Prefix(org) + "silences"; }
std::string PolicyKey(const std::string& org) { return Prefix(org) + "policy"; }
// Where the DataKeyVault of kResolutionNoteKeys keeps a volunteer's wrapped data key.
std::string DataKeyKey(const std::string& org, const std::string& volunteer) {
  return absl::StrCat(Prefix(org), "datakey:", volunteer);
}

constexpr char kRecord = '\x1e';
constexpr char kField = '\x1f';
constexpr absl::Duration kProcessedRetention = absl::Hours(24 * 30);
constexpr absl::Duration kHistoryRetention = absl::Hours(24 * 200);

std::string EncodeFactors(const std::vector<Factor>& factors) {
  std::string out;
  for (const Factor& f : factors) {
    absl::StrAppend(&out, f.factor_id, std::string(1, kField), f.description,
                    std::string(1, kField), RedisDouble(f.value), std::string(1, kField),
                    RedisDouble(f.threshold), std::string(1, kField), RedisDouble(f.contribution),
                    std::string(1, kRecord));
  }
  return out;
}

std::vector<Factor> DecodeFactors(const std::string& text) {
  std::vector<Factor> factors;
  for (absl::string_view record : absl::StrSplit(text, kRecord, absl::SkipEmpty())) {
    std::vector<std::string> f = absl::StrSplit(record, kField);
    if (f.size() != 5) continue;
    factors.push_back(
        {f[0], f[1], ParseRedisDouble(f[2]), ParseRedisDouble(f[3]), ParseRedisDouble(f[4])});
  }
  return factors;
}

absl::Time ScoreTime(const std::string& score) {
  return absl::FromUnixMicros(static_cast<int64_t>(ParseRedisDouble(score)));
}

Alert DecodeAlert(const std::string& org,
                  const std::vector<std::pair<std::string, std::string>>& pairs) {
  Alert a;
  a.organization_id = org;
  for (const auto& [name, value] : pairs) {
    if (name == "id")
      a.id = value;
    else if (name == "volunteer_id")
      a.volunteer_id = value;
    else if (name == "rule_id")
      a.rule_id = value;
    else if (name == "priority")
      a.priority = static_cast<Priority>(ParseRedisInt(value));
    else if (name == "state")
      a.state = static_cast<AlertState>(ParseRedisInt(value));
    else if (name == "dedup_key")
      a.dedup_key = value;
    else if (name == "factors")
      a.factors = DecodeFactors(value);
    else if (name == "trigger_time")
      a.trigger_time = ParseRedisMicros(value);
    else if (name == "ack_deadline_time")
      a.ack_deadline_time = ParseRedisMicros(value);
    else if (name == "acknowledge_time")
      a.acknowledge_time = ParseRedisMicros(value);
    else if (name == "acknowledged_by")
      a.acknowledged_by = value;
    else if (name == "escalation_level")
      a.escalation_level = ParseRedisInt(value);
    else if (name == "resolve_time")
      a.resolve_time = ParseRedisMicros(value);
    else if (name == "resolved_by")
      a.resolved_by = value;
    else if (name == "outcome")
      a.outcome = static_cast<Outcome>(ParseRedisInt(value));
    else if (name == "occurrence_count")
      a.occurrence_count = ParseRedisInt(value);
    else if (name == "last_occurrence_time")
      a.last_occurrence_time = ParseRedisMicros(value);
    else if (name == "silenced")
      a.silenced = value == "1";
    else if (name == "inhibited")
      a.inhibited = value == "1";
  }
  return a;
}

SealedAlert DecodeSealedAlert(const std::string& org,
                              const std::vector<std::pair<std::string, std::string>>& pairs) {
  SealedAlert sealed{DecodeAlert(org, pairs), ""};
  for (const auto& [name, value] : pairs) {
    if (name == "note") sealed.sealed_note = value;
  }
  return sealed;
}

// What of a history entry a reader needs: every answer (an export), or those of pulses only
// (the rules read no other instrument's answers; a CBI has 19).
enum class Answers { kAll, kPulsesOnly };

// A history member (see HistoryAdditions): event id, instrument, scores, answers, hours and the
// check-in's time in microseconds. A member written before December 2026 has no time: its score
// (`score`, when read WITHSCORES) is it. nullopt for a member of another shape, or one without
// its time. Split in place: an entry is decoded for every check-in judged.
std::optional<CheckinEvent> DecodeHistoryEntry(const std::string& org, const std::string& volunteer,
                                               absl::string_view member,
                                               std::optional<absl::string_view> score,
                                               Answers answers) {
  absl::InlinedVector<absl::string_view, 6> fields = absl::StrSplit(member, kField);
  if (fields.size() != 6 && (fields.size() != 5 || !score.has_value())) return std::nullopt;
  CheckinEvent checkin;
  checkin.event_id = std::string(fields[0]);
  checkin.organization_id = org;
  checkin.volunteer_id = volunteer;
  checkin.instrument_id = std::string(fields[1]);
  checkin.submit_time = fields.size() == 6
                            ? ParseRedisMicros(fields[5])
                            : absl::FromUnixMicros(static_cast<int64_t>(ParseRedisDouble(*score)));
  for (absl::string_view scale : absl::StrSplit(fields[2], ',', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(scale, absl::MaxSplits('=', 1));
    checkin.scores.emplace(std::string(kv.first), ParseRedisDouble(kv.second));
  }
  if (answers == Answers::kAll || checkin.instrument_id == "pulse") {
    for (absl::string_view answer : absl::StrSplit(fields[3], ',', absl::SkipEmpty())) {
      std::pair<absl::string_view, absl::string_view> kv =
          absl::StrSplit(answer, absl::MaxSplits('=', 1));
      checkin.answers.emplace(std::string(kv.first), ParseRedisInt(kv.second));
    }
  }
  checkin.hours = ParseRedisDouble(fields[4]);
  return checkin;
}

Silence DecodeSilence(const std::string& org,
                      const std::vector<std::pair<std::string, std::string>>& pairs) {
  Silence silence;
  silence.organization_id = org;
  for (const auto& [name, value] : pairs) {
    if (name == "id")
      silence.id = value;
    else if (name == "volunteer_id")
      silence.volunteer_id = value;
    else if (name == "end_time")
      silence.end_time = ParseRedisMicros(value);
    else if (name == "reason")
      silence.reason = value;
    else if (name == "created_by")
      silence.created_by = value;
    else if (name == "create_time")
      silence.create_time = ParseRedisMicros(value);
  }
  return silence;
}

// Every alert script starts with these: one shape for the organisation's feed entries (what a
// WatchAlerts stream shows) and, for its pw:{<org>}:events:alerts, the envelope EventFieldPairs
// gives (type, organization_id, occur_time) and the same stream cap.
std::string AlertScript(absl::string_view body) {
  return absl::StrCat(kXaddEventLua, R"lua(
  local function append_feed(feed, event_type, alert_id, volunteer)
    redis.call('XADD', feed, 'MAXLEN', '~', ')lua",
                      kFeedMaxLen, R"lua(', '*', 'event_type', event_type,
               'alert_id', alert_id, 'volunteer_id', volunteer)
  end
  local function publish(stream, type, organization_id, occur_time, ...)
    xadd_event(stream, 'MAXLEN', '~', ')lua",
                      kEventStreamMaxLen, R"lua(', '*', 'type', type,
               'organization_id', organization_id, 'occur_time', occur_time, ...)
  end
)lua",
                      body);
}

const RedisScript& TriggerScript() {
  // KEYS: processed, open, new alert, all alerts, volunteer's alerts, deadlines, feed, events.
  // ARGV: alert key prefix, new id, now, deadline, priority, silenced, inhibited, factors,
  //       volunteer, rule, processed retention (s), organisation, now (RFC 3339).
  static const auto* script = new RedisScript(AlertScript(R"lua(
  if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[11]) then return {'duplicate', ''} end
  local open = redis.call('GET', KEYS[2])
  if open then
    local key = ARGV[1] .. open
    redis.call('HINCRBY', key, 'occurrence_count', 1)
    redis.call('HSET', key, 'last_occurrence_time', ARGV[3], 'factors', ARGV[8])
    if tonumber(ARGV[5]) > tonumber(redis.call('HGET', key, 'priority')) then
      redis.call('HSET', key, 'priority', ARGV[5])
      -- A higher priority has a shorter deadline: keep whichever comes first.
      if redis.call('HGET', key, 'state') == '1' and redis.call('HGET', key, 'silenced') ~= '1'
          and redis.call('HGET', key, 'inhibited') ~= '1'
          and tonumber(ARGV[4]) < tonumber(redis.call('HGET', key, 'ack_deadline_time')) then
        redis.call('HSET', key, 'ack_deadline_time', ARGV[4])
        redis.call('ZADD', KEYS[6], ARGV[4], key)
      end
    end
    append_feed(KEYS[7], '2', open, ARGV[9])
    publish(KEYS[8], 'alert.updated', ARGV[12], ARGV[13], 'alert_id', open,
            'volunteer_id', ARGV[9], 'rule_id', ARGV[10],
            'priority', redis.call('HGET', key, 'priority'),
            'occurrence_count', redis.call('HGET', key, 'occurrence_count'))
    return {'updated', open}
  end
  redis.call('HSET', KEYS[3], 'id', ARGV[2], 'volunteer_id', ARGV[9], 'rule_id', ARGV[10],
             'priority', ARGV[5], 'state', '1', 'dedup_key', ARGV[9] .. '/' .. ARGV[10],
             'factors', ARGV[8], 'trigger_time', ARGV[3], 'ack_deadline_time', ARGV[4],
             'escalation_level', '0', 'occurrence_count', '1', 'last_occurrence_time', ARGV[3],
             'silenced', ARGV[6], 'inhibited', ARGV[7])
  redis.call('SET', KEYS[2], ARGV[2])
  -- Unique scores per index, so that paging by an exclusive time never skips an alert.
  for _, index in ipairs({KEYS[4], KEYS[5]}) do
    local score = tonumber(ARGV[3])
    while redis.call('ZCOUNT', index, score, score) > 0 do score = score + 1 end
    redis.call('ZADD', index, string.format('%.17g', score), KEYS[3])
  end
  -- Silenced and inhibited alerts are recorded, not chased: no deadline, so no escalation.
  if ARGV[6] ~= '1' and ARGV[7] ~= '1' then redis.call('ZADD', KEYS[6], ARGV[4], KEYS[3]) end
  append_feed(KEYS[7], '1', ARGV[2], ARGV[9])
  publish(KEYS[8], 'alert.triggered', ARGV[12], ARGV[13], 'alert_id', ARGV[2],
          'volunteer_id', ARGV[9], 'rule_id', ARGV[10], 'priority', ARGV[5],
          'occurrence_count', '1')
  return {'triggered', ARGV[2]}
)lua"));
  return *script;
}

const RedisScript& EscalateScript() {
  // KEYS: deadlines, alert, feed, events. ARGV: member, now, max escalations, the next deadline
  // for priorities 1 to 4, alert id, organisation, now (RFC 3339).
  static const auto* script = new RedisScript(AlertScript(R"lua(
  local due = redis.call('ZSCORE', KEYS[1], ARGV[1])
  if not due or tonumber(due) > tonumber(ARGV[2]) then return 0 end
  if redis.call('HGET', KEYS[2], 'state') ~= '1' then
    redis.call('ZREM', KEYS[1], ARGV[1])
    return 0
  end
  local level = redis.call('HINCRBY', KEYS[2], 'escalation_level', 1)
  if level < tonumber(ARGV[3]) then
    local priority = tonumber(redis.call('HGET', KEYS[2], 'priority')) or 1
    local next_deadline = ARGV[3 + math.min(math.max(priority, 1), 4)]
    redis.call('ZADD', KEYS[1], next_deadline, ARGV[1])
    redis.call('HSET', KEYS[2], 'ack_deadline_time', next_deadline)
  else
    redis.call('ZREM', KEYS[1], ARGV[1])
  end
  local volunteer = redis.call('HGET', KEYS[2], 'volunteer_id')
  append_feed(KEYS[3], '4', ARGV[8], volunteer)
  publish(KEYS[4], 'alert.escalated', ARGV[9], ARGV[10],
          'alert_id', ARGV[8], 'volunteer_id', volunteer, 'escalation_level', level)
  return 1
)lua"));
  return *script;
}

const RedisScript& AcknowledgeScript() {
  // KEYS: alert, deadlines, feed, events. ARGV: by, now, alert id, organisation, now (RFC 3339).
  static const auto* script = new RedisScript(AlertScript(R"lua(
  local state = redis.call('HGET', KEYS[1], 'state')
  if not state then return redis.error_reply('NOT_FOUND alert_id: no such alert') end
  if state == '3' then return redis.error_reply('FAILED_PRECONDITION alert_id: the alert is resolved') end
  if state == '2' then return 'unchanged' end
  redis.call('HSET', KEYS[1], 'state', '2', 'acknowledge_time', ARGV[2], 'acknowledged_by', ARGV[1])
  redis.call('ZREM', KEYS[2], KEYS[1])
  local volunteer = redis.call('HGET', KEYS[1], 'volunteer_id')
  append_feed(KEYS[3], '3', ARGV[3], volunteer)
  publish(KEYS[4], 'alert.acknowledged', ARGV[4], ARGV[5],
          'alert_id', ARGV[3], 'volunteer_id', volunteer)
  return 'changed'
)lua"));
  return *script;
}

const RedisScript& ResolveScript() {
  // KEYS: alert, deadlines, feed, events, open. ARGV: by, now, alert id, organisation,
  // now (RFC 3339), outcome, note.
  static const auto* script = new RedisScript(AlertScript(R"lua(
  local state = redis.call('HGET', KEYS[1], 'state')
  if not state then return redis.error_reply('NOT_FOUND alert_id: no such alert') end
  if state == '3' then return redis.error_reply('FAILED_PRECONDITION alert_id: the alert is already resolved') end
  redis.call('HSET', KEYS[1], 'state', '3', 'resolve_time', ARGV[2], 'resolved_by', ARGV[1],
             'outcome', ARGV[6], 'note', ARGV[7])
  redis.call('ZREM', KEYS[2], KEYS[1])
  if redis.call('GET', KEYS[5]) == ARGV[3] then redis.call('DEL', KEYS[5]) end
  local volunteer = redis.call('HGET', KEYS[1], 'volunteer_id')
  append_feed(KEYS[3], '5', ARGV[3], volunteer)
  publish(KEYS[4], 'alert.resolved', ARGV[4], ARGV[5],
          'alert_id', ARGV[3], 'volunteer_id', volunteer, 'outcome', ARGV[6])
  return 'changed'
)lua"));
  return *script;
}

const RedisScript& ClearFieldsScript() {
  // KEYS: hashes. ARGV: the person, then the fields that may name them.
  static const auto* script = new RedisScript(R"lua(
  for _, key in ipairs(KEYS) do
    for i = 2, #ARGV do
      if redis.call('HGET', key, ARGV[i]) == ARGV[1] then redis.call('HDEL', key, ARGV[i]) end
    end
  end
  return 0
)lua");
  return *script;
}

// How many records, keys or stream entries an erasure reads or deletes at a time.
constexpr int kEraseChunk = 1000;

// The first error among the replies of a pipeline or a transaction.
absl::Status FirstError(const std::vector<RedisReply>& replies) {
  for (const RedisReply& reply : replies) {
    if (reply.IsError()) return ScriptErrorToStatus(reply);
  }
  return absl::OkStatus();
}

// Deletes `keys`, a chunk per command, the commands pipelined.
absl::Status DeleteKeys(RedisClient& redis, const std::vector<std::string>& keys) {
  std::vector<RedisCommand> deletes;
  for (size_t i = 0; i < keys.size(); i += kEraseChunk) {
    RedisCommand del{"DEL"};
    for (size_t j = i; j < keys.size() && j < i + kEraseChunk; ++j) del.push_back(keys[j]);
    deletes.push_back(std::move(del));
  }
  if (deletes.empty()) return absl::OkStatus();
  auto replies = redis.ExecuteAll(std::move(deletes));
  if (!replies.ok()) return replies.status();
  return FirstError(*replies);
}
// The MGET of the volunteer's open-alert pointers, one per rule. The alerts they name are read
// next (ReadOpenAlerts): their keys are known only from the pointers, and a script may only name
// the keys it is given.
RedisCommand OpenPointersCommand(const std::string& org, const std::string& volunteer) {
  RedisCommand mget{"MGET"};
  for (const std::string& rule : AllRuleIds()) mget.push_back(OpenKey(org, volunteer, rule));
  return mget;
}

// The alert ids an OpenPointersCommand found.
absl::StatusOr<std::vector<std::string>> OpenAlertIds(const RedisReply& pointers) {
  if (pointers.IsError()) return ScriptErrorToStatus(pointers);
  std::vector<std::string> ids;
  for (const RedisReply& id : pointers.elements) {
    if (!id.IsNil()) ids.push_back(id.str);
  }
  return ids;
}

// The alerts each of `wanted` (an organisation, and alert ids its volunteer's pointers named)
// still has open (triggered or acknowledged), all in one round trip, one HGETALL each: what was
// resolved or erased since its pointer was read is left out.
struct OpenAlertsWanted {
  const std::string* organization_id;
  std::vector<std::string> alert_ids;
};
std::vector<absl::StatusOr<std::vector<Alert>>> ReadOpenAlerts(
    RedisClient& redis, const std::vector<OpenAlertsWanted>& wanted) {
  std::vector<RedisCommand> reads;
  for (const OpenAlertsWanted& one : wanted) {
    for (const std::string& id : one.alert_ids) {
      reads.push_back({"HGETALL", AlertKey(*one.organization_id, id)});
    }
  }
  std::vector<absl::StatusOr<std::vector<Alert>>> open(wanted.size(), std::vector<Alert>());
  if (reads.empty()) return open;
  auto hashes = redis.ExecuteAll(std::move(reads));
  size_t next = 0;
  for (size_t w = 0; w < wanted.size(); ++w) {
    if (!hashes.ok()) {
      if (!wanted[w].alert_ids.empty()) open[w] = hashes.status();
      continue;
    }
    for (size_t n = 0; n < wanted[w].alert_ids.size(); ++n) {
      const RedisReply& hash = (*hashes)[next++];
      if (!open[w].ok()) continue;
      if (hash.IsError()) {
        open[w] = ScriptErrorToStatus(hash);
        continue;
      }
      if (hash.elements.empty()) continue;
      Alert alert = DecodeAlert(*wanted[w].organization_id, ReplyPairs(hash));
      if (alert.state == AlertState::kTriggered || alert.state == AlertState::kAcknowledged) {
        open[w]->push_back(std::move(alert));
      }
    }
  }
  return open;
}

// A policy GET's reply; SPEC §4's defaults when none is stored.
absl::StatusOr<AlertPolicy> DecodePolicy(const RedisReply& reply) {
  if (reply.IsError()) return ScriptErrorToStatus(reply);
  if (reply.IsNil()) return AlertPolicy{};
  v1::AlertPolicy proto;
  if (!proto.ParseFromString(reply.str)) return absl::InternalError("stored policy is corrupt");
  return AlertPolicyFromProto(proto);
}

// The commands that add a check-in to the volunteer's history: its member (the event id in it
// makes a redelivered event a no-op), the sweep's last check-in, and the trim to the retention.
std::vector<RedisCommand> HistoryAdditions(const CheckinEvent& event) {
  std::vector<std::string> scores;
  for (const auto& [scale, value] : event.scores)
    scores.push_back(absl::StrCat(scale, "=", RedisDouble(value)));
  std::vector<std::string> answers;
  for (const auto& [item, value] : event.answers) answers.push_back(absl::StrCat(item, "=", value));
  std::string score = RedisMicros(event.submit_time);
  // The time in the member too, so that the rules' read needs no WITHSCORES (Redis 7.0 formats
  // each score of such a reply with printf, about a twentieth of its time at 1,000 check-ins/s).
  std::string member =
      absl::StrJoin({event.event_id, event.instrument_id, absl::StrJoin(scores, ","),
                     absl::StrJoin(answers, ","), RedisDouble(event.hours), score},
                    std::string(1, kField));
  std::string key = HistoryKey(event.organization_id, event.volunteer_id);
  return {{"ZADD", key, "NX", score, std::move(member)},
          {"ZADD", LastCheckinKey(event.organization_id), "GT", score, event.volunteer_id},
          {"ZREMRANGEBYSCORE", key, "-inf",
           absl::StrCat("(", RedisMicros(event.submit_time - kHistoryRetention))}};
}

// A history read's reply (ZRANGE..., WITHSCORES or not), oldest first. Without scores, nullopt
// when a member has no time of its own (written before members had one): read again with them.
absl::StatusOr<std::optional<std::vector<CheckinEvent>>> DecodeHistory(const std::string& org,
                                                                       const std::string& volunteer,
                                                                       const RedisReply& reply,
                                                                       bool with_scores,
                                                                       Answers answers) {
  if (reply.IsError()) return ScriptErrorToStatus(reply);
  std::vector<CheckinEvent> checkins;
  const size_t step = with_scores ? 2 : 1;
  checkins.reserve(reply.elements.size() / step);
  for (size_t i = 0; i + step - 1 < reply.elements.size(); i += step) {
    const std::string& member = reply.elements[i].str;
    std::optional<absl::string_view> score;
    if (with_scores) score = reply.elements[i + 1].str;
    auto checkin = DecodeHistoryEntry(org, volunteer, member, score, answers);
    if (checkin.has_value()) {
      checkins.push_back(*std::move(checkin));
    } else if (!with_scores && std::count(member.begin(), member.end(), kField) == 4) {
      return std::nullopt;
    }
  }
  return checkins;
}

// Whether a stream entry names the person. Ids have a fixed length and the prefix of their
// kind, so the id anywhere in a value (the value itself, a list of ids, an error message) is
// theirs.
bool NamesPerson(const StreamEntry& entry, const std::string& person_id) {
  return std::any_of(entry.fields.begin(), entry.fields.end(), [&](const EventField& field) {
    return absl::StrContains(field.value, person_id);
  });
}

}  // namespace

std::string AlertFeedKey(const std::string& organization_id) {
  return Prefix(organization_id) + "feed";
}

RedisAlertStore::RedisAlertStore(RedisClient& redis)
    // A deadline another replica set is seen within 10 s: deadlines are minutes away or more.
    : redis_(redis), deadlines_(DeadlinesKey, absl::Seconds(10)) {}

const std::vector<PersonKeyFamily>& RedisAlertStore::PersonKeyFamilies() {
  static const auto* families = new std::vector<PersonKeyFamily>{
      {"pw:{*}:alerts:alert:*", kAlertsFamily, ""},
      {"pw:{*}:alerts:datakey:*", "",
       "the volunteer's wrapped encryption key for resolution notes, not data (the notes it "
       "opens are exported, opened, as alerts)"},
      {"pw:{*}:alerts:open:*", "",
       "a volunteer's open alert of a rule: the id of an alert exported as alerts"},
      {"pw:{*}:alerts:alerts", "",
       "the organisation's index of alert keys by trigger time: alerts exported as alerts"},
      {"pw:{*}:alerts:volunteer:*:alerts", "",
       "the volunteer's index of alert keys by trigger time: alerts exported as alerts"},
      {DeadlinesKey("*"), "",
       "alert keys by acknowledge deadline: alerts exported as alerts, with that deadline "
       "(ack_deadline_time)"},
      {LastCheckinKey("*"), kLastCheckinFamily, ""},
      {"pw:{*}:alerts:feed", "",
       "the organisation's stream of alert changes for WatchAlerts (change type, alert id, "
       "volunteer id): changes to alerts exported as alerts, which carry their times"},
      {"pw:{*}:alerts:processed:*", "",
       "idempotency: a check-in event already turned into an alert exported as alerts"},
      {"pw:{*}:alerts:history:*", kRiskHistoryFamily, ""},
      {"pw:{*}:alerts:silence:*", kSilencesFamily, ""},
      {"pw:{*}:alerts:volunteer:*:silences", "",
       "the volunteer's index of silence ids by end time: silences exported as silences"},
      {"pw:{*}:alerts:silences", "",
       "the organisation's index of silence ids by end time: silences exported as silences"},
      {EventsKey("*"), "",
       "the alert events published to other services (alert id, volunteer id, rule, priority, "
       "outcome): changes to alerts exported as alerts"},
      {DeadLetterStreamKey(EventsKey("*")), "",
       "alert events a consumer gave up on, with their fields and the error: changes to alerts "
       "exported as alerts"},
  };
  return *families;
}

absl::StatusOr<std::pair<std::vector<SealedAlert>, std::optional<absl::Time>>>
RedisAlertStore::ListAlerts(const std::string& organization_id, absl::Time before, int limit,
                            const std::function<bool(const Alert&)>& keep) {
  constexpr int kChunk = 200;
  constexpr int kMaxScanned = 5000;
  std::vector<SealedAlert> alerts;
  auto position = [](const std::string& score) {
    return absl::FromUnixMicros(static_cast<int64_t>(ParseRedisDouble(score)));
  };
  std::string max =
      before == absl::InfiniteFuture() ? "+inf" : absl::StrCat("(", RedisMicros(before));
  int scanned = 0;
  while (true) {
    auto range = redis_.Execute({"ZREVRANGEBYSCORE", AllAlertsKey(organization_id), max, "-inf",
                                 "WITHSCORES", "LIMIT", "0", absl::StrCat(kChunk)});
    if (!range.ok()) return range.status();
    std::vector<RedisCommand> loads;
    std::vector<std::string> scores;
    for (size_t i = 0; i + 1 < range->elements.size(); i += 2) {
      loads.push_back({"HGETALL", range->elements[i].str});
      scores.push_back(range->elements[i + 1].str);
    }
    if (loads.empty()) return std::make_pair(std::move(alerts), std::optional<absl::Time>());
    auto replies = redis_.ExecuteAll(std::move(loads));
    if (!replies.ok()) return replies.status();
    for (size_t i = 0; i < replies->size(); ++i) {
      SealedAlert alert = DecodeSealedAlert(organization_id, ReplyPairs((*replies)[i]));
      if (alert.alert.id.empty() || !keep(alert.alert)) continue;
      alerts.push_back(std::move(alert));
      if (static_cast<int>(alerts.size()) == limit) {
        bool more = i + 1 < replies->size() || static_cast<int>(replies->size()) == kChunk;
        if (!more) return std::make_pair(std::move(alerts), std::optional<absl::Time>());
        return std::make_pair(std::move(alerts), std::optional<absl::Time>(position(scores[i])));
      }
    }
    scanned += static_cast<int>(replies->size());
    if (static_cast<int>(replies->size()) < kChunk) {
      return std::make_pair(std::move(alerts), std::optional<absl::Time>());
    }
    if (scanned >= kMaxScanned) {
      // A short (possibly empty) page that still says where to go on.
      return std::make_pair(std::move(alerts), std::optional<absl::Time>(position(scores.back())));
    }
    max = absl::StrCat("(", scores.back());
  }
}

absl::StatusOr<SealedAlert> RedisAlertStore::Acknowledge(const std::string& organization_id,
                                                         const std::string& alert_id,
                                                         const std::string& by, absl::Time now) {
  std::string key = AlertKey(organization_id, alert_id);
  auto reply = redis_.Eval(AcknowledgeScript(),
                           {key, DeadlinesKey(organization_id), AlertFeedKey(organization_id),
                            EventsKey(organization_id)},
                           {by, RedisMicros(now), alert_id, organization_id, Rfc3339(now)});
  if (!reply.ok()) return reply.status();
  if (reply->IsError()) return ScriptErrorToStatus(*reply);
  auto alert = GetAlert(organization_id, alert_id);
  if (!alert.ok()) return alert.status();
  if (!alert->has_value()) return absl::NotFoundError("alert_id: no such alert");
  return **alert;
}

absl::StatusOr<SealedAlert> RedisAlertStore::Resolve(const std::string& organization_id,
                                                     const std::string& alert_id,
                                                     const std::string& by, Outcome outcome,
                                                     const std::string& note, absl::Time now) {
  auto current = GetAlert(organization_id, alert_id);
  if (!current.ok()) return current.status();
  if (!current->has_value()) return absl::NotFoundError("alert_id: no such alert");
  const Alert& stored = (*current)->alert;
  std::string key = AlertKey(organization_id, alert_id);
  auto reply = redis_.Eval(
      ResolveScript(),
      {key, DeadlinesKey(organization_id), AlertFeedKey(organization_id),
       EventsKey(organization_id), OpenKey(organization_id, stored.volunteer_id, stored.rule_id)},
      {by, RedisMicros(now), alert_id, organization_id, Rfc3339(now),
       absl::StrCat(static_cast<int>(outcome)), note});
  if (!reply.ok()) return reply.status();
  if (reply->IsError()) return ScriptErrorToStatus(*reply);
  auto alert = GetAlert(organization_id, alert_id);
  if (!alert.ok()) return alert.status();
  if (!alert->has_value()) return absl::NotFoundError("alert_id: no such alert");
  return **alert;
}

absl::StatusOr<long long> RedisAlertStore::CountDeadlinesUntil(absl::Time time) {
  auto shares = DueAcrossOrganizations(redis_, DeadlinesKey, RedisMicros(time), 0);
  if (!shares.ok()) return shares.status();
  long long count = 0;
  for (const DueShare& share : *shares) count += share.due;
  return count;
}

absl::StatusOr<std::vector<DueDeadline>> RedisAlertStore::DueDeadlines(absl::Time now, int limit) {
  // Four sweeps a second in every replica: counted in the organisations with a deadline due
  // alone.
  auto shares = deadlines_.Due(redis_, RedisMicros(now), limit);
  if (!shares.ok()) return shares.status();
  std::vector<RedisCommand> reads;
  for (const DueShare& share : *shares) {
    if (share.take == 0) continue;
    reads.push_back({"ZRANGEBYSCORE", DeadlinesKey(share.organization_id), "-inf", RedisMicros(now),
                     "LIMIT", "0", absl::StrCat(share.take)});
  }
  std::vector<DueDeadline> out;
  if (reads.empty()) return out;
  auto due = redis_.ExecuteAll(std::move(reads));
  if (!due.ok()) return due.status();
  std::vector<RedisReply> members;
  for (RedisReply& range : *due) {
    if (range.IsError()) return absl::InternalError(absl::StrCat("ZRANGEBYSCORE: ", range.str));
    for (RedisReply& member : range.elements) members.push_back(std::move(member));
  }
  for (const auto& member : members) {
    // An AlertKey: the organisation in its tag, the alert id after the prefix.
    const std::string& key = member.str;
    std::string organization_id = OrganizationOfKey(key);
    const std::string prefix = AlertKeyPrefix(organization_id);
    if (organization_id.empty() || !absl::StartsWith(key, prefix)) continue;
    out.push_back({std::move(organization_id), key.substr(prefix.size())});
  }
  return out;
}

absl::StatusOr<int> RedisAlertStore::Escalate(absl::Time now, const std::vector<Escalation>& due) {
  std::vector<RedisClient::ScriptCall> escalations;
  for (const Escalation& escalation : due) {
    const std::string& org = escalation.deadline.organization_id;
    const std::string& alert_id = escalation.deadline.alert_id;
    std::string key = AlertKey(org, alert_id);
    std::vector<std::string> keys{DeadlinesKey(org), key, AlertFeedKey(org), EventsKey(org)};
    std::vector<std::string> args{key, RedisMicros(now), absl::StrCat(escalation.max_escalations)};
    for (int priority = 1; priority <= 4; ++priority) {
      args.push_back(RedisMicros(escalation.next_deadline_by_priority[priority]));
    }
    args.insert(args.end(), {alert_id, org, Rfc3339(now)});
    escalations.push_back({std::move(keys), std::move(args)});
  }
  auto replies = redis_.EvalEach(EscalateScript(), escalations);
  if (!replies.ok()) return replies.status();
  int escalated = 0;
  for (const RedisReply& reply : *replies) {
    if (reply.IsError()) return ScriptErrorToStatus(reply);
    if (reply.integer == 1) ++escalated;
  }
  return escalated;
}

std::vector<absl::StatusOr<std::vector<TriggerOutcome>>> RedisAlertStore::RecordAll(
    const std::vector<Record>& records, absl::Time now) {
  // One pipeline for every record: its history additions, then a trigger script per hit.
  struct Call {
    std::vector<std::string> keys;
    std::vector<std::string> args;
  };
  std::vector<RedisCommand> commands;
  std::vector<std::vector<Call>> calls(records.size());
  // Where each record's commands start, and its trigger scripts.
  std::vector<size_t> first(records.size());
  std::vector<size_t> first_trigger(records.size());
  for (size_t r = 0; r < records.size(); ++r) {
    const Record& record = records[r];
    const std::string& org = record.organization_id;
    first[r] = commands.size();
    if (record.checkin != nullptr) {
      for (RedisCommand& addition : HistoryAdditions(*record.checkin)) {
        commands.push_back(std::move(addition));
      }
    }
    first_trigger[r] = commands.size();
    for (const HitToRecord& hit : record.hits) {
      std::string id = NewId("a");
      Call call{
          {ProcessedKey(org, hit.event_key), OpenKey(org, record.volunteer_id, hit.hit.rule_id),
           AlertKey(org, id), AllAlertsKey(org), VolunteerAlertsKey(org, record.volunteer_id),
           DeadlinesKey(org), AlertFeedKey(org), EventsKey(org)},
          {AlertKeyPrefix(org), id, RedisMicros(now), RedisMicros(hit.ack_deadline),
           absl::StrCat(static_cast<int>(hit.hit.priority)), hit.silenced ? "1" : "0",
           hit.inhibited ? "1" : "0", EncodeFactors(hit.hit.factors), record.volunteer_id,
           hit.hit.rule_id, absl::StrCat(absl::ToInt64Seconds(kProcessedRetention)), org,
           Rfc3339(now)}};
      commands.push_back(RedisClient::EvalShaCommand(TriggerScript(), call.keys, call.args));
      calls[r].push_back(std::move(call));
    }
  }
  std::vector<absl::StatusOr<std::vector<TriggerOutcome>>> results(records.size());
  if (commands.empty()) {
    for (auto& result : results) result = std::vector<TriggerOutcome>();
    return results;
  }
  auto replies = redis_.ExecuteAll(std::move(commands));
  // After the writes: a rescan between them must not drop what it had not seen yet.
  for (const Record& record : records) {
    if (!record.hits.empty()) deadlines_.Scheduled(record.organization_id);
  }
  for (size_t r = 0; r < records.size(); ++r) {
    if (!replies.ok()) {
      results[r] = replies.status();
      continue;
    }
    const size_t triggers = first_trigger[r];
    absl::Status failed;
    for (size_t i = first[r]; i < triggers && failed.ok(); ++i) {
      failed = ScriptErrorToStatus((*replies)[i]);
    }
    std::vector<TriggerOutcome> outcomes;
    for (size_t h = 0; h < calls[r].size() && failed.ok(); ++h) {
      RedisReply& reply = (*replies)[triggers + h];
      // Not run: the server did not know the script (after a restart or a SCRIPT FLUSH, so
      // every trigger of the pipeline), and Eval sends it. Processed keys make one that did run
      // meanwhile count once.
      if (RedisClient::IsNoScript(reply)) {
        auto again = redis_.Eval(TriggerScript(), calls[r][h].keys, calls[r][h].args);
        if (!again.ok()) {
          failed = again.status();
          break;
        }
        reply = *std::move(again);
      }
      if (reply.IsError()) {
        failed = ScriptErrorToStatus(reply);
      } else if (!reply.IsArray() || reply.elements.size() != 2) {
        failed = absl::InternalError("unexpected reply from the trigger script");
      } else {
        outcomes.push_back(TriggerOutcome{reply.elements[1].str});
      }
    }
    if (failed.ok()) {
      results[r] = std::move(outcomes);
    } else {
      results[r] = failed;
    }
  }
  return results;
}

absl::StatusOr<std::vector<std::optional<SealedAlert>>> RedisAlertStore::GetAlerts(
    const std::string& organization_id, const std::vector<std::string>& alert_ids) {
  std::vector<std::optional<SealedAlert>> alerts;
  if (alert_ids.empty()) return alerts;
  std::vector<RedisCommand> reads;
  reads.reserve(alert_ids.size());
  for (const std::string& id : alert_ids)
    reads.push_back({"HGETALL", AlertKey(organization_id, id)});
  auto replies = redis_.ExecuteAll(std::move(reads));
  if (!replies.ok()) return replies.status();
  alerts.reserve(replies->size());
  for (const RedisReply& reply : *replies) {
    if (reply.IsError()) return ScriptErrorToStatus(reply);
    auto pairs = ReplyPairs(reply);
    if (pairs.empty()) {
      alerts.push_back(std::nullopt);
    } else {
      alerts.push_back(DecodeSealedAlert(organization_id, pairs));
    }
  }
  return alerts;
}

absl::StatusOr<std::vector<Alert>> RedisAlertStore::OpenAlerts(const std::string& organization_id,
                                                               const std::string& volunteer_id) {
  auto reply = redis_.Execute(OpenPointersCommand(organization_id, volunteer_id));
  if (!reply.ok()) return reply.status();
  auto ids = OpenAlertIds(*reply);
  if (!ids.ok()) return ids.status();
  return std::move(ReadOpenAlerts(redis_, {{&organization_id, *std::move(ids)}}).front());
}

absl::StatusOr<std::vector<SealedAlert>> RedisAlertStore::VolunteerAlerts(
    const std::string& organization_id, const std::string& volunteer_id) {
  // A chunk at a time, each from after the last one's score: scores are unique per index, so
  // an alert raised meanwhile neither shifts nor repeats what is read.
  constexpr int kChunk = 200;
  std::vector<SealedAlert> alerts;
  std::string min = "-inf";
  while (true) {
    auto range = redis_.Execute({"ZRANGEBYSCORE", VolunteerAlertsKey(organization_id, volunteer_id),
                                 min, "+inf", "WITHSCORES", "LIMIT", "0", absl::StrCat(kChunk)});
    if (!range.ok()) return range.status();
    if (range->IsError()) return ScriptErrorToStatus(*range);
    std::vector<RedisCommand> loads;
    for (size_t i = 0; i + 1 < range->elements.size(); i += 2) {
      loads.push_back({"HGETALL", range->elements[i].str});
    }
    if (loads.empty()) return alerts;
    size_t loaded = loads.size();
    auto replies = redis_.ExecuteAll(std::move(loads));
    if (!replies.ok()) return replies.status();
    for (const RedisReply& reply : *replies) {
      if (reply.IsError()) return ScriptErrorToStatus(reply);
      SealedAlert sealed = DecodeSealedAlert(organization_id, ReplyPairs(reply));
      if (!sealed.alert.id.empty()) alerts.push_back(std::move(sealed));
    }
    if (loaded < static_cast<size_t>(kChunk)) return alerts;
    min = absl::StrCat("(", range->elements.back().str);
  }
}

absl::StatusOr<VolunteerHistory> RedisAlertStore::GetHistory(const std::string& organization_id,
                                                             const std::string& volunteer_id) {
  auto checkins = HistoryCheckins(organization_id, volunteer_id);
  if (!checkins.ok()) return checkins.status();
  return HistoryOf(*checkins);
}

absl::StatusOr<std::vector<CheckinEvent>> RedisAlertStore::HistoryCheckins(
    const std::string& organization_id, const std::string& volunteer_id) {
  // Each addition trims the history to 200 days of check-ins: one read.
  auto entries = redis_.Execute(
      {"ZRANGE", HistoryKey(organization_id, volunteer_id), "0", "-1", "WITHSCORES"});
  if (!entries.ok()) return entries.status();
  auto checkins =
      DecodeHistory(organization_id, volunteer_id, *entries, /*with_scores=*/true, Answers::kAll);
  if (!checkins.ok()) return checkins.status();
  return **std::move(checkins);
}

absl::StatusOr<std::optional<absl::Time>> RedisAlertStore::LastCheckin(
    const std::string& organization_id, const std::string& volunteer_id) {
  auto score = redis_.Execute({"ZSCORE", LastCheckinKey(organization_id), volunteer_id});
  if (!score.ok()) return score.status();
  if (score->IsError()) return ScriptErrorToStatus(*score);
  if (score->IsNil()) return std::nullopt;
  return ScoreTime(score->str);
}

absl::Status RedisAlertStore::AddToHistory(const CheckinEvent& event) {
  auto replies = redis_.ExecuteAll(HistoryAdditions(event));
  if (!replies.ok()) return replies.status();
  return FirstError(*replies);
}

std::vector<absl::StatusOr<VolunteerState>> RedisAlertStore::LoadStates(
    const std::vector<StateRead>& reads, absl::Time now) {
  // One pipeline for every read: the volunteer's history (with a check-in), the policy, the
  // silences still running at `now`, and the open-alert pointers; then the alerts they name.
  std::vector<RedisCommand> commands;
  std::vector<size_t> first(reads.size());
  for (size_t r = 0; r < reads.size(); ++r) {
    const StateRead& read = reads[r];
    const std::string& org = read.organization_id;
    first[r] = commands.size();
    if (read.checkin != nullptr) {
      // The rules need up to twice the baseline window (a CBI rise's previous point has a
      // baseline of its own), which with the default policy is 180 of the 200 days kept; and
      // check-ins after this one are judged again: the read takes what is kept. The members
      // carry their times: no scores.
      commands.push_back({"ZRANGE", HistoryKey(org, read.volunteer_id), "0", "-1"});
    }
    commands.push_back({"GET", PolicyKey(org)});
    // Silences are stored scored by their end time: one whose end is still ahead covers now.
    commands.push_back({"ZCOUNT", SilencesKey(org, read.volunteer_id),
                        absl::StrCat("(", RedisMicros(now)), "+inf"});
    commands.push_back(OpenPointersCommand(org, read.volunteer_id));
  }
  std::vector<absl::StatusOr<VolunteerState>> states(reads.size());
  std::vector<OpenAlertsWanted> wanted(reads.size());  // by read
  if (reads.empty()) return states;
  auto replies = redis_.ExecuteAll(std::move(commands));
  for (size_t r = 0; r < reads.size(); ++r) {
    if (!replies.ok()) {
      states[r] = replies.status();
      continue;
    }
    const StateRead& read = reads[r];
    const std::string& org = read.organization_id;
    size_t i = first[r];
    VolunteerState state;
    if (read.checkin != nullptr) {
      // Without organisation and volunteer, the read's: the rules read neither, and a history
      // is decoded for every check-in judged.
      static const std::string kTheReads;
      auto checkins = DecodeHistory(kTheReads, kTheReads, (*replies)[i++], /*with_scores=*/false,
                                    Answers::kPulsesOnly);
      if (checkins.ok() && !checkins->has_value()) {
        // Members older than their times: their scores are read too (until they age out).
        auto scored =
            redis_.Execute({"ZRANGE", HistoryKey(org, read.volunteer_id), "0", "-1", "WITHSCORES"});
        checkins = scored.ok() ? DecodeHistory(kTheReads, kTheReads, *scored, /*with_scores=*/true,
                                               Answers::kPulsesOnly)
                               : scored.status();
      }
      if (!checkins.ok()) {
        states[r] = checkins.status();
        continue;
      }
      state.checkins.reserve((*checkins)->size() + 1);
      // A redelivered event is in the history already: it counts once.
      for (CheckinEvent& checkin : **checkins) {
        if (checkin.event_id == read.checkin->event_id) continue;
        (checkin.submit_time <= read.checkin->submit_time ? state.checkins : state.later_checkins)
            .push_back(std::move(checkin));
      }
      state.checkins.push_back(*read.checkin);
    }
    auto policy = DecodePolicy((*replies)[i++]);
    if (!policy.ok()) {
      states[r] = policy.status();
      continue;
    }
    state.policy = *std::move(policy);
    const RedisReply& silences = (*replies)[i++];
    if (silences.IsError()) {
      states[r] = ScriptErrorToStatus(silences);
      continue;
    }
    state.silenced = silences.integer > 0;
    auto ids = OpenAlertIds((*replies)[i++]);
    if (!ids.ok()) {
      states[r] = ids.status();
      continue;
    }
    wanted[r].alert_ids = *std::move(ids);
    states[r] = std::move(state);
  }
  // The open alerts the pointers name, every read's in one more round trip (when any is open).
  for (size_t r = 0; r < reads.size(); ++r) wanted[r].organization_id = &reads[r].organization_id;
  auto open = ReadOpenAlerts(redis_, wanted);
  for (size_t r = 0; r < reads.size(); ++r) {
    if (!states[r].ok()) continue;
    if (!open[r].ok()) {
      states[r] = open[r].status();
      continue;
    }
    states[r]->open = *std::move(open[r]);
  }
  return states;
}

absl::StatusOr<std::vector<AlertStore::QuietVolunteer>> RedisAlertStore::QuietVolunteers(
    absl::Time before, int offset, int limit) {
  // The organisations' quiet volunteers one after the other (oldest organisation first, each
  // by last check-in): `offset` counts through them all.
  const std::string until = absl::StrCat("(", RedisMicros(before));
  auto shares = DueAcrossOrganizations(redis_, LastCheckinKey, until, offset + limit);
  if (!shares.ok()) return shares.status();
  std::vector<RedisCommand> reads;
  std::vector<std::string> organizations;
  long long skip = offset;
  for (const DueShare& share : *shares) {
    const long long from = std::min<long long>(skip, share.take);
    skip -= from;
    if (share.take - from <= 0) continue;
    reads.push_back({"ZRANGEBYSCORE", LastCheckinKey(share.organization_id), "-inf", until,
                     "WITHSCORES", "LIMIT", absl::StrCat(from), absl::StrCat(share.take - from)});
    organizations.push_back(share.organization_id);
  }
  std::vector<QuietVolunteer> quiet;
  if (reads.empty()) return quiet;
  auto ranges = redis_.ExecuteAll(std::move(reads));
  if (!ranges.ok()) return ranges.status();
  for (size_t r = 0; r < ranges->size(); ++r) {
    const RedisReply& range = (*ranges)[r];
    if (range.IsError()) return absl::InternalError(absl::StrCat("ZRANGEBYSCORE: ", range.str));
    for (size_t i = 0; i + 1 < range.elements.size(); i += 2) {
      quiet.push_back({organizations[r], range.elements[i].str,
                       absl::FromUnixMicros(
                           static_cast<int64_t>(ParseRedisDouble(range.elements[i + 1].str)))});
    }
  }
  return quiet;
}

absl::StatusOr<AlertPolicy> RedisAlertStore::GetPolicy(const std::string& organization_id) {
  auto reply = redis_.Execute({"GET", PolicyKey(organization_id)});
  if (!reply.ok()) return reply.status();
  return DecodePolicy(*reply);
}

absl::StatusOr<std::map<std::string, AlertPolicy>> RedisAlertStore::GetPolicies(
    const std::set<std::string>& organization_ids) {
  std::map<std::string, AlertPolicy> policies;
  if (organization_ids.empty()) return policies;
  std::vector<RedisCommand> reads;
  for (const std::string& org : organization_ids) reads.push_back({"GET", PolicyKey(org)});
  auto replies = redis_.ExecuteAll(std::move(reads));
  if (!replies.ok()) return replies.status();
  size_t i = 0;
  for (const std::string& org : organization_ids) {
    auto policy = DecodePolicy((*replies)[i++]);
    if (!policy.ok()) return policy.status();
    policies.emplace(org, *std::move(policy));
  }
  return policies;
}

absl::Status RedisAlertStore::SetPolicy(const std::string& organization_id,
                                        const AlertPolicy& policy) {
  auto reply = redis_.Execute(
      {"SET", PolicyKey(organization_id), AlertPolicyToProto(policy).SerializeAsString()});
  if (!reply.ok()) return reply.status();
  return ScriptErrorToStatus(*reply);
}

absl::Status RedisAlertStore::CreateSilence(const Silence& silence) {
  const std::string& org = silence.organization_id;
  auto replies = redis_.Transaction(
      {{"HSET", SilenceKey(org, silence.id), "id", silence.id, "volunteer_id", silence.volunteer_id,
        "end_time", RedisMicros(silence.end_time), "reason", silence.reason, "created_by",
        silence.created_by, "create_time", RedisMicros(silence.create_time)},
       {"ZADD", SilencesKey(org, silence.volunteer_id), RedisMicros(silence.end_time), silence.id},
       {"ZADD", AllSilencesKey(org), RedisMicros(silence.end_time), silence.id}});
  return replies.status();
}

absl::StatusOr<std::optional<Silence>> RedisAlertStore::GetSilence(
    const std::string& organization_id, const std::string& silence_id) {
  auto reply = redis_.Execute({"HGETALL", SilenceKey(organization_id, silence_id)});
  if (!reply.ok()) return reply.status();
  auto pairs = ReplyPairs(*reply);
  if (pairs.empty()) return std::nullopt;
  return DecodeSilence(organization_id, pairs);
}

absl::StatusOr<std::vector<Silence>> RedisAlertStore::ListSilences(
    const std::string& organization_id, absl::Time now) {
  auto ids = redis_.Execute({"ZRANGEBYSCORE", AllSilencesKey(organization_id),
                             absl::StrCat("(", RedisMicros(now)), "+inf", "LIMIT", "0", "1000"});
  if (!ids.ok()) return ids.status();
  std::vector<Silence> silences;
  for (const auto& id : ids->elements) {
    auto silence = GetSilence(organization_id, id.str);
    if (!silence.ok()) return silence.status();
    if (silence->has_value()) silences.push_back(**silence);
  }
  return silences;
}

absl::Status RedisAlertStore::DeleteSilence(const Silence& silence) {
  const std::string& org = silence.organization_id;
  auto replies = redis_.Transaction({{"DEL", SilenceKey(org, silence.id)},
                                     {"ZREM", SilencesKey(org, silence.volunteer_id), silence.id},
                                     {"ZREM", AllSilencesKey(org), silence.id}});
  return replies.status();
}

absl::StatusOr<std::vector<Silence>> RedisAlertStore::VolunteerSilences(
    const std::string& organization_id, const std::string& volunteer_id) {
  auto ids = redis_.Execute({"ZRANGE", SilencesKey(organization_id, volunteer_id), "0", "-1"});
  if (!ids.ok()) return ids.status();
  if (ids->IsError()) return ScriptErrorToStatus(*ids);
  std::vector<RedisCommand> loads;
  for (const auto& id : ids->elements) {
    loads.push_back({"HGETALL", SilenceKey(organization_id, id.str)});
  }
  std::vector<Silence> silences;
  if (loads.empty()) return silences;
  auto replies = redis_.ExecuteAll(std::move(loads));
  if (!replies.ok()) return replies.status();
  for (const RedisReply& reply : *replies) {
    if (reply.IsError()) return ScriptErrorToStatus(reply);
    auto pairs = ReplyPairs(reply);
    if (!pairs.empty()) silences.push_back(DecodeSilence(organization_id, pairs));
  }
  return silences;
}

absl::Status RedisAlertStore::DeleteDataKey(const std::string& organization_id,
                                            const std::string& volunteer_id) {
  auto deleted = redis_.Execute({"DEL", DataKeyKey(organization_id, volunteer_id)});
  if (!deleted.ok()) return deleted.status();
  return ScriptErrorToStatus(*deleted);
}

absl::Status RedisAlertStore::DeleteVolunteerAlerts(const std::string& organization_id,
                                                    const std::string& volunteer_id) {
  const std::string& org = organization_id;
  const std::string index = VolunteerAlertsKey(org, volunteer_id);
  // A chunk of alerts leaves every index together with its hashes and the open-alert pointers,
  // in one transaction, so that the volunteer's index names whatever is left after a failure.
  // Until the index is empty: an alert raised meanwhile goes too.
  while (true) {
    auto members = redis_.Execute({"ZRANGE", index, "0", absl::StrCat(kEraseChunk - 1)});
    if (!members.ok()) return members.status();
    if (members->IsError()) return ScriptErrorToStatus(*members);
    RedisCommand open{"DEL"};
    for (const std::string& rule : AllRuleIds()) open.push_back(OpenKey(org, volunteer_id, rule));
    RedisCommand alerts{"DEL"};
    RedisCommand all{"ZREM", AllAlertsKey(org)};
    RedisCommand deadlines{"ZREM", DeadlinesKey(org)};
    RedisCommand own{"ZREM", index};
    for (const RedisReply& member : members->elements) {
      // Members are alert keys; nothing else is deleted by the name an index gives.
      if (absl::StartsWith(member.str, AlertKeyPrefix(org))) alerts.push_back(member.str);
      all.push_back(member.str);
      deadlines.push_back(member.str);
      own.push_back(member.str);
    }
    std::vector<RedisCommand> commands{std::move(open)};
    if (alerts.size() > 1) commands.push_back(std::move(alerts));
    if (!members->elements.empty()) {
      commands.push_back(std::move(all));
      commands.push_back(std::move(deadlines));
      commands.push_back(std::move(own));
    }
    auto replies = redis_.Transaction(std::move(commands));
    if (!replies.ok()) return replies.status();
    if (auto status = FirstError(*replies); !status.ok()) return status;
    if (members->elements.size() < static_cast<size_t>(kEraseChunk)) return absl::OkStatus();
  }
}

absl::Status RedisAlertStore::DeleteRiskHistory(const std::string& organization_id,
                                                const std::string& volunteer_id) {
  const std::string& org = organization_id;
  const std::string history = HistoryKey(org, volunteer_id);
  // The markers of the check-ins in the history are found through it, so they go first.
  auto members = redis_.Execute({"ZRANGE", history, "0", "-1"});
  if (!members.ok()) return members.status();
  if (members->IsError()) return ScriptErrorToStatus(*members);
  std::vector<std::string> markers;
  for (const RedisReply& member : members->elements) {
    std::string event_id(absl::string_view(member.str).substr(0, member.str.find(kField)));
    if (event_id.empty()) continue;
    for (const std::string& rule : AllRuleIds()) {
      markers.push_back(ProcessedKey(org, HitEventKey(event_id, rule)));
    }
  }
  // Markers with the volunteer in their name: each missed-check-in gap's.
  auto named = MatchingKeys(redis_, absl::StrCat(ProcessedKey(org, "*"), volunteer_id, "*"));
  if (!named.ok()) return named.status();
  markers.insert(markers.end(), named->begin(), named->end());
  if (auto status = DeleteKeys(redis_, markers); !status.ok()) return status;
  auto replies =
      redis_.Transaction({{"DEL", history}, {"ZREM", LastCheckinKey(org), volunteer_id}});
  if (!replies.ok()) return replies.status();
  return FirstError(*replies);
}

absl::Status RedisAlertStore::DeleteVolunteerSilences(const std::string& organization_id,
                                                      const std::string& volunteer_id) {
  const std::string& org = organization_id;
  const std::string index = SilencesKey(org, volunteer_id);
  auto ids = redis_.Execute({"ZRANGE", index, "0", "-1"});
  if (!ids.ok()) return ids.status();
  if (ids->IsError()) return ScriptErrorToStatus(*ids);
  std::vector<RedisCommand> commands;
  if (!ids->elements.empty()) {
    RedisCommand silences{"DEL"};
    RedisCommand all{"ZREM", AllSilencesKey(org)};
    for (const RedisReply& id : ids->elements) {
      silences.push_back(SilenceKey(org, id.str));
      all.push_back(id.str);
    }
    commands.push_back(std::move(silences));
    commands.push_back(std::move(all));
  }
  commands.push_back({"DEL", index});
  auto replies = redis_.Transaction(std::move(commands));
  if (!replies.ok()) return replies.status();
  return FirstError(*replies);
}

absl::Status RedisAlertStore::ForgetHandler(const std::string& organization_id,
                                            const std::string& person_id) {
  const std::string& org = organization_id;
  // The organisation's alerts index names alert keys, its silences index silence ids.
  if (auto status = ClearFieldsNaming(
          AllAlertsKey(org), [](const std::string& member) { return member; },
          {"acknowledged_by", "resolved_by"}, person_id);
      !status.ok()) {
    return status;
  }
  return ClearFieldsNaming(
      AllSilencesKey(org), [&org](const std::string& id) { return SilenceKey(org, id); },
      {"created_by"}, person_id);
}

absl::Status RedisAlertStore::ClearFieldsNaming(
    const std::string& index, const std::function<std::string(const std::string&)>& record_key,
    const std::vector<std::string>& fields, const std::string& person_id) {
  // ZSCAN returns every member the index holds from start to end of the walk, whatever is added
  // or removed meanwhile (scores are not unique among silences, so paging by score could skip).
  std::vector<std::string> args{person_id};
  args.insert(args.end(), fields.begin(), fields.end());
  std::string cursor = "0";
  do {
    auto page = redis_.Execute({"ZSCAN", index, cursor, "COUNT", absl::StrCat(kEraseChunk)});
    if (!page.ok()) return page.status();
    if (page->IsError()) return ScriptErrorToStatus(*page);
    if (page->elements.size() != 2) return absl::InternalError("unexpected reply to ZSCAN");
    cursor = page->elements[0].str;
    std::vector<std::string> records;
    const auto& members = page->elements[1].elements;  // member, score, member, score, ...
    for (size_t i = 0; i < members.size(); i += 2) records.push_back(record_key(members[i].str));
    if (records.empty()) continue;
    auto cleared = redis_.Eval(ClearFieldsScript(), records, args);
    if (!cleared.ok()) return cleared.status();
    if (cleared->IsError()) return ScriptErrorToStatus(*cleared);
  } while (cursor != "0");
  return absl::OkStatus();
}

absl::Status RedisAlertStore::DeleteEventsNaming(const std::string& organization_id,
                                                 const std::string& person_id) {
  // With the events the consumers of the organisation's alert events (the webhooks service) gave
  // up on.
  const std::string events = EventsKey(organization_id);
  for (const std::string& stream :
       {AlertFeedKey(organization_id), events, DeadLetterStreamKey(events)}) {
    if (auto status = DeleteStreamEntriesNaming(stream, person_id); !status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status RedisAlertStore::DeleteStreamEntriesNaming(const std::string& stream,
                                                        const std::string& person_id) {
  std::string start = "-";
  while (true) {
    auto range = redis_.Execute({"XRANGE", stream, start, "+", "COUNT", absl::StrCat(kEraseChunk)});
    if (!range.ok()) return range.status();
    if (range->IsError()) return ScriptErrorToStatus(*range);
    std::vector<StreamEntry> entries = ParseStreamEntries(*range);
    RedisCommand xdel{"XDEL", stream};
    for (const StreamEntry& entry : entries) {
      if (NamesPerson(entry, person_id)) xdel.push_back(entry.id);
    }
    if (xdel.size() > 2) {
      auto deleted = redis_.Execute(std::move(xdel));
      if (!deleted.ok()) return deleted.status();
      if (deleted->IsError()) return ScriptErrorToStatus(*deleted);
    }
    if (entries.size() < static_cast<size_t>(kEraseChunk)) return absl::OkStatus();
    start = absl::StrCat("(", entries.back().id);
  }
}

}  // namespace peerwell::alerts
