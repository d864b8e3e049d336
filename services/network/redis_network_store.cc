#include "services/network/redis_network_store.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "services/common/events.h"
#include "services/common/idempotency.h"
#include "services/common/redis_values.h"

namespace peerwell::network {
namespace {

// --- Key layout (docs/ARCHITECTURE.md) ---------------------------------------------------------
std::string Prefix(const std::string& org) { return absl::StrCat("pw:{", org, "}:network:"); }
std::string ChannelKey(const std::string& org, const std::string& id) {
  return absl::StrCat(Prefix(org), "channel:", id);
}
std::string ChannelPart(const std::string& org, const std::string& id, absl::string_view part) {
  return absl::StrCat(ChannelKey(org, id), ":", part);
}
std::string MembersKey(const std::string& org, const std::string& id) {
  return ChannelPart(org, id, "members");
}
std::string InvitedKey(const std::string& org, const std::string& id) {
  return ChannelPart(org, id, "invited");
}
std::string MessageIdsKey(const std::string& org, const std::string& id) {
  return ChannelPart(org, id, "message_ids");
}
std::string ThreadsKey(const std::string& org, const std::string& id) {
  return ChannelPart(org, id, "threads");
}
std::string TimelineKey(const std::string& org, const std::string& id) {
  return ChannelPart(org, id, "timeline");
}
std::string EventIdsKey(const std::string& org, const std::string& id) {
  return ChannelPart(org, id, "event_ids");
}
std::string ChannelsKey(const std::string& org) { return absl::StrCat(Prefix(org), "channels"); }
std::string AnnouncementsKey(const std::string& org) {
  return absl::StrCat(Prefix(org), "announcements");
}
std::string PairKey(const std::string& org, const std::string& pair) {
  return absl::StrCat(Prefix(org), "pair:", pair);
}
std::string PersonPart(const std::string& org, const std::string& person, absl::string_view part) {
  return absl::StrCat(Prefix(org), "person:", person, ":", part);
}
std::string PersonChannelsKey(const std::string& org, const std::string& person) {
  return PersonPart(org, person, "channels");
}
std::string ReadMarkersKey(const std::string& org, const std::string& person) {
  return PersonPart(org, person, "read");
}
std::string SettingsKey(const std::string& org, const std::string& person) {
  return PersonPart(org, person, "settings");
}
std::string ReportKey(const std::string& org, const std::string& id) {
  return absl::StrCat(Prefix(org), "report:", id);
}
std::string ReportsKey(const std::string& org) { return absl::StrCat(Prefix(org), "reports"); }
std::string OpenReportsKey(const std::string& org) {
  return absl::StrCat(Prefix(org), "reports:open");
}
std::string DataKeyKey(const std::string& org, const std::string& channel) {
  return absl::StrCat(Prefix(org), "datakey:", channel);
}
const std::string& OrganizationsKey() {
  static const auto* key = new std::string("pw:network:organizations");
  return *key;
}
std::string EventsKey(const std::string& org) { return EventStreamKey("network", org); }

std::string RequestKeyOf(const std::string& org, const CreateRequest& request) {
  return RequestKey(org, "network", request.caller_id, request.request_id);
}
std::string RequestRetention(const CreateRequest& request) {
  return request.request_id.empty() ? "0" : absl::StrCat(absl::ToInt64Seconds(kRequestIdRetention));
}

// A thread index member: "<root>|<sequence, 20 digits>", so one ZRANGEBYLEX reads a thread in
// sequence order.
std::string ThreadMember(const std::string& root, int64_t sequence) {
  return absl::StrFormat("%s|%020d", root, sequence);
}

// --- Message records ----------------------------------------------------------------------------
// A message is one field of the channel's messages hash (sequence -> record), so that a post
// writes fixed keys only. The record is a list of length-prefixed fields ("<len>:<bytes>"):
// the sealed body is binary.
std::string PackRecord(const Message& message) {
  std::string packed;
  for (const std::string* field :
       {&message.message_id, &message.author_id, &message.author_display_name, &message.body,
        &message.reply_to_message_id, &message.thread_root_message_id}) {
    absl::StrAppend(&packed, field->size(), ":", *field);
  }
  std::string time = RedisMicros(message.create_time);
  std::string deleted = message.deleted ? "1" : "0";
  absl::StrAppend(&packed, time.size(), ":", time, deleted.size(), ":", deleted);
  return packed;
}

absl::StatusOr<Message> UnpackRecord(absl::string_view packed, const std::string& channel_id,
                                     int64_t sequence) {
  std::vector<std::string> fields;
  while (!packed.empty()) {
    size_t colon = packed.find(':');
    size_t length = 0;
    if (colon == absl::string_view::npos || !absl::SimpleAtoi(packed.substr(0, colon), &length) ||
        packed.size() < colon + 1 + length) {
      return absl::DataLossError("a stored message record is damaged");
    }
    fields.emplace_back(packed.substr(colon + 1, length));
    packed.remove_prefix(colon + 1 + length);
  }
  if (fields.size() != 8) return absl::DataLossError("a stored message record is damaged");
  Message message;
  message.channel_id = channel_id;
  message.sequence = sequence;
  message.message_id = fields[0];
  message.author_id = fields[1];
  message.author_display_name = fields[2];
  message.body = fields[3];
  message.reply_to_message_id = fields[4];
  message.thread_root_message_id = fields[5];
  message.create_time = ParseRedisMicros(fields[6]);
  message.deleted = fields[7] == "1";
  return message;
}

int64_t ParseInt64(absl::string_view text) {
  int64_t value = 0;
  (void)absl::SimpleAtoi(text, &value);
  return value;
}

Channel ChannelFromReplies(const std::string& org, const RedisReply& hash,
                           const RedisReply& members, const RedisReply& invited) {
  Channel channel;
  channel.organization_id = org;
  for (const auto& [field, value] : ReplyPairs(hash)) {
    if (field == "id") channel.channel_id = value;
    if (field == "kind") channel.kind = static_cast<ChannelKind>(ParseRedisInt(value));
    if (field == "display_name") channel.display_name = value;
    if (field == "retention") channel.retention = absl::Seconds(ParseInt64(value));
    if (field == "creator_id") channel.creator_id = value;
    if (field == "pair_key") channel.pair_key = value;
    if (field == "create_time") channel.create_time = ParseRedisMicros(value);
    if (field == "last_sequence") channel.last_sequence = ParseInt64(value);
    if (field == "first_sequence") channel.first_sequence = ParseInt64(value);
  }
  for (const RedisReply& id : members.elements) channel.member_ids.push_back(id.str);
  for (const RedisReply& id : invited.elements) channel.invited_ids.push_back(id.str);
  std::sort(channel.member_ids.begin(), channel.member_ids.end());
  std::sort(channel.invited_ids.begin(), channel.invited_ids.end());
  return channel;
}

std::vector<std::string> Strings(const RedisReply& reply) {
  std::vector<std::string> values;
  for (const RedisReply& element : reply.elements) values.push_back(element.str);
  return values;
}

// "<sequence>:<micros>", as read markers are stored.
ReadMarker MarkerFromValue(const std::string& channel_id, const std::string& person_id,
                           absl::string_view value) {
  ReadMarker marker;
  marker.channel_id = channel_id;
  marker.person_id = person_id;
  std::pair<absl::string_view, absl::string_view> parts = absl::StrSplit(value, ':');
  marker.sequence = ParseInt64(parts.first);
  marker.update_time = ParseRedisMicros(parts.second);
  return marker;
}

Report ReportFromHash(const RedisReply& hash) {
  Report report;
  for (const auto& [field, value] : ReplyPairs(hash)) {
    if (field == "id") report.report_id = value;
    if (field == "channel_id") report.channel_id = value;
    if (field == "message_id") report.message_id = value;
    if (field == "reason") report.reason = value;
    if (field == "state") report.state = static_cast<ReportState>(ParseRedisInt(value));
    if (field == "action") report.action = static_cast<ReportAction>(ParseRedisInt(value));
    if (field == "create_time") report.create_time = ParseRedisMicros(value);
    if (field == "reporter_id") report.reporter_id = value;
    if (field == "resolve_time") report.resolve_time = ParseRedisMicros(value);
    if (field == "resolved_by") report.resolved_by = value;
    if (field == "note") report.note = value;
  }
  return report;
}

// --- Scripts ---------------------------------------------------------------------------------
const RedisScript& CreateChannelScript() {
  // KEYS: request, channel, members, invited, pair, org channels, announcements, events, then
  // each member's and each invited person's channel index.
  // ARGV: retention of the request, channel id, kind, create micros, org, occur time, member
  // count, invited count, pair key, display name, retention seconds, creator, then member ids and
  // invited ids.
  static const auto* script = new RedisScript(IdempotentScript(absl::StrCat(kXaddEventLua, R"lua(
  if ARGV[9] ~= '' then
    local existing = redis.call('GET', KEYS[5])
    if existing then return existing end
  end
  local members, invited = tonumber(ARGV[7]), tonumber(ARGV[8])
  redis.call('HSET', KEYS[2], 'id', ARGV[2], 'kind', ARGV[3], 'display_name', ARGV[10],
             'retention', ARGV[11], 'creator_id', ARGV[12], 'pair_key', ARGV[9],
             'create_time', ARGV[4], 'last_sequence', 0, 'first_sequence', 1)
  local member_list, invited_list = {}, {}
  for i = 1, members + invited do
    local person = ARGV[12 + i]
    if i <= members then
      redis.call('SADD', KEYS[3], person)
      member_list[#member_list + 1] = person
    else
      redis.call('SADD', KEYS[4], person)
      invited_list[#invited_list + 1] = person
    end
    redis.call('ZADD', KEYS[8 + i], 'NX', ARGV[4], ARGV[2])
  end
  if ARGV[9] ~= '' then redis.call('SET', KEYS[5], ARGV[2]) end
  redis.call('ZADD', KEYS[6], ARGV[4], ARGV[2])
  if ARGV[3] == '4' then redis.call('ZADD', KEYS[7], ARGV[4], ARGV[2]) end
  xadd_event(KEYS[8], 'MAXLEN', '~', '1000000', '*', 'type', 'channel.updated',
             'organization_id', ARGV[5], 'occur_time', ARGV[6], 'channel_id', ARGV[2],
             'change', 'created', 'kind', ARGV[3], 'member_ids', table.concat(member_list, ' '),
             'invited_ids', table.concat(invited_list, ' '), 'last_sequence', 0)
  return ARGV[2]
)lua")));
  return *script;
}

const RedisScript& JoinScript() {
  // KEYS: channel, members, invited, person's channels, person's read markers, events.
  // ARGV: person, now micros, org, occur time, channel id, most members.
  static const auto* script = new RedisScript(absl::StrCat(kXaddEventLua, R"lua(
  if redis.call('EXISTS', KEYS[1]) == 0 then
    return redis.error_reply('NOT_FOUND channel_id: no such channel')
  end
  if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then return 0 end
  if redis.call('SCARD', KEYS[2]) >= tonumber(ARGV[6]) then
    return redis.error_reply('FAILED_PRECONDITION CHANNEL_FULL: the channel has the most members allowed')
  end
  redis.call('SREM', KEYS[3], ARGV[1])
  redis.call('SADD', KEYS[2], ARGV[1])
  redis.call('ZADD', KEYS[4], 'NX', ARGV[2], ARGV[5])
  -- What was said before someone joined is there to read, not waiting as unread.
  local last = redis.call('HGET', KEYS[1], 'last_sequence') or '0'
  redis.call('HSET', KEYS[5], ARGV[5], last .. ':' .. ARGV[2])
  xadd_event(KEYS[6], 'MAXLEN', '~', '1000000', '*', 'type', 'channel.updated',
             'organization_id', ARGV[3], 'occur_time', ARGV[4], 'channel_id', ARGV[5],
             'change', 'joined', 'person_id', ARGV[1], 'last_sequence', last)
  return 1
)lua"));
  return *script;
}

const RedisScript& InviteScript() {
  // KEYS: channel, members, invited, person's channels, events.
  // ARGV: person, now micros, org, occur time, channel id.
  static const auto* script = new RedisScript(absl::StrCat(kXaddEventLua, R"lua(
  if redis.call('EXISTS', KEYS[1]) == 0 then
    return redis.error_reply('NOT_FOUND channel_id: no such channel')
  end
  if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then return 0 end
  if redis.call('SADD', KEYS[3], ARGV[1]) == 0 then return 0 end
  redis.call('ZADD', KEYS[4], 'NX', ARGV[2], ARGV[5])
  xadd_event(KEYS[5], 'MAXLEN', '~', '1000000', '*', 'type', 'channel.updated',
             'organization_id', ARGV[3], 'occur_time', ARGV[4], 'channel_id', ARGV[5],
             'change', 'invited', 'person_id', ARGV[1],
             'last_sequence', redis.call('HGET', KEYS[1], 'last_sequence') or '0')
  return 1
)lua"));
  return *script;
}

const RedisScript& LeaveScript() {
  // KEYS: channel, members, invited, person's channels, events.
  // ARGV: person, org, occur time, channel id.
  static const auto* script = new RedisScript(absl::StrCat(kXaddEventLua, R"lua(
  if redis.call('EXISTS', KEYS[1]) == 0 then
    return redis.error_reply('NOT_FOUND channel_id: no such channel')
  end
  local was = redis.call('SREM', KEYS[2], ARGV[1]) + redis.call('SREM', KEYS[3], ARGV[1])
  if was == 0 then return 0 end
  redis.call('ZREM', KEYS[4], ARGV[4])
  xadd_event(KEYS[5], 'MAXLEN', '~', '1000000', '*', 'type', 'channel.updated',
             'organization_id', ARGV[2], 'occur_time', ARGV[3], 'channel_id', ARGV[4],
             'change', 'left', 'person_id', ARGV[1],
             'last_sequence', redis.call('HGET', KEYS[1], 'last_sequence') or '0')
  return 1
)lua"));
  return *script;
}

const RedisScript& PostScript() {
  // KEYS: request, channel, members, messages, message ids, threads, timeline, event ids,
  // author's read markers, events.
  // ARGV: retention of the request, members only ('1'/'0'), required members, author, message
  // id, record, thread root, create micros, org, occur time, channel id.
  static const auto* script = new RedisScript(IdempotentScript(absl::StrCat(kXaddEventLua, R"lua(
  if redis.call('EXISTS', KEYS[2]) == 0 then
    return redis.error_reply('NOT_FOUND channel_id: no such channel')
  end
  if ARGV[2] == '1' and redis.call('SISMEMBER', KEYS[3], ARGV[4]) == 0 then
    return redis.error_reply("PERMISSION_DENIED only the channel's members read or post in it")
  end
  if redis.call('SCARD', KEYS[3]) < tonumber(ARGV[3]) then
    return redis.error_reply('FAILED_PRECONDITION TOO_FEW_MEMBERS')
  end
  local seq = redis.call('HINCRBY', KEYS[2], 'last_sequence', 1)
  redis.call('HSET', KEYS[4], seq, ARGV[6])
  redis.call('HSET', KEYS[5], ARGV[5], seq)
  redis.call('ZADD', KEYS[6], 0, ARGV[7] .. '|' .. string.format('%020d', seq))
  redis.call('ZADD', KEYS[7], ARGV[8], seq)
  local id = xadd_event(KEYS[10], 'MAXLEN', '~', '1000000', '*', 'type', 'message.posted',
                        'organization_id', ARGV[9], 'occur_time', ARGV[10], 'channel_id', ARGV[11],
                        'sequence', seq, 'message_id', ARGV[5], 'author_id', ARGV[4])
  redis.call('HSET', KEYS[8], seq, id)
  redis.call('HSET', KEYS[9], ARGV[11], seq .. ':' .. ARGV[8])
  return tostring(seq)
)lua")));
  return *script;
}

const RedisScript& DeleteScript() {
  // KEYS: messages, message ids, events. ARGV: message id, the record as it was read, the
  // record deleted, org, occur time, channel id.
  static const auto* script = new RedisScript(absl::StrCat(kXaddEventLua, R"lua(
  local seq = redis.call('HGET', KEYS[2], ARGV[1])
  if not seq then return redis.error_reply('NOT_FOUND message_id: no such message') end
  if redis.call('HGET', KEYS[1], seq) ~= ARGV[2] then
    return redis.error_reply('ABORTED the message changed concurrently')
  end
  redis.call('HSET', KEYS[1], seq, ARGV[3])
  xadd_event(KEYS[3], 'MAXLEN', '~', '1000000', '*', 'type', 'message.deleted',
             'organization_id', ARGV[4], 'occur_time', ARGV[5], 'channel_id', ARGV[6],
             'sequence', seq, 'message_id', ARGV[1])
  return seq
)lua"));
  return *script;
}

const RedisScript& MarkReadScript() {
  // KEYS: read markers. ARGV: channel id, sequence, now micros. Markers only move forward.
  static const auto* script = new RedisScript(R"lua(
  local current = redis.call('HGET', KEYS[1], ARGV[1])
  if current then
    local seq = tonumber(string.match(current, '^(%d+)'))
    if seq >= tonumber(ARGV[2]) then return current end
  end
  local value = ARGV[2] .. ':' .. ARGV[3]
  redis.call('HSET', KEYS[1], ARGV[1], value)
  return value
)lua");
  return *script;
}

const RedisScript& CreateReportScript() {
  // KEYS: request, report, reports, open reports. ARGV: retention of the request, report id,
  // create micros, then the report's field pairs. Scores are unique (a tie moves up by one), so
  // the queue pages by score and never skips a report that others leave.
  static const auto* script = new RedisScript(IdempotentScript(R"lua(
  local fields = {}
  for i = 4, #ARGV do fields[#fields + 1] = ARGV[i] end
  redis.call('HSET', KEYS[2], unpack(fields))
  local score = tonumber(ARGV[3])
  while redis.call('ZRANGEBYSCORE', KEYS[3], score, score, 'LIMIT', 0, 1)[1] do
    score = score + 1
  end
  redis.call('ZADD', KEYS[3], score, ARGV[2])
  redis.call('ZADD', KEYS[4], score, ARGV[2])
  return ARGV[2]
)lua"));
  return *script;
}

const RedisScript& ResolveReportScript() {
  // KEYS: report, open reports. ARGV: report id, then the resolution's field pairs.
  static const auto* script = new RedisScript(R"lua(
  local state = redis.call('HGET', KEYS[1], 'state')
  if not state then return redis.error_reply('NOT_FOUND report_id: no such report') end
  if state ~= '1' then
    return redis.error_reply('FAILED_PRECONDITION REPORT_RESOLVED: the report was resolved already')
  end
  local fields = {}
  for i = 2, #ARGV do fields[#fields + 1] = ARGV[i] end
  redis.call('HSET', KEYS[1], unpack(fields))
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 'OK'
)lua");
  return *script;
}

const RedisScript& RaiseFirstSequenceScript() {
  // KEYS: channel. ARGV: the lowest sequence still kept.
  static const auto* script = new RedisScript(R"lua(
  if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
  local first = tonumber(redis.call('HGET', KEYS[1], 'first_sequence') or '1')
  if first < tonumber(ARGV[1]) then redis.call('HSET', KEYS[1], 'first_sequence', ARGV[1]) end
  return 1
)lua");
  return *script;
}

const RedisScript& EraseMessagesScript() {
  // KEYS: messages, event ids, events. ARGV: author, shown as, org, occur time, channel id,
  // first sequence, last sequence. The record is read and rewritten here, so that a concurrent
  // change (a deletion, retention) is never overwritten with a stale copy.
  static const auto* script = new RedisScript(absl::StrCat(kXaddEventLua, R"lua(
  -- A record's fields: id, author, author's name, sealed body, reply-to, thread root, create
  -- micros, deleted; each "<length>:<bytes>".
  local function fields_of(record)
    local fields, at = {}, 1
    while at <= #record do
      local colon = string.find(record, ':', at, true)
      if not colon then return nil end
      local length = tonumber(string.sub(record, at, colon - 1))
      if not length then return nil end
      fields[#fields + 1] = string.sub(record, colon + 1, colon + length)
      at = colon + 1 + length
    end
    return fields
  end
  local erased = 0
  for number = tonumber(ARGV[6]), tonumber(ARGV[7]) do
    local seq = string.format('%d', number)
    local record = redis.call('HGET', KEYS[1], seq)
    local fields = record and fields_of(record)
    if fields and #fields == 8 and fields[2] == ARGV[1] then
      local kept = {fields[1], '', ARGV[2], '', fields[5], fields[6], fields[7], '1'}
      for i, field in ipairs(kept) do kept[i] = #field .. ':' .. field end
      redis.call('HSET', KEYS[1], seq, table.concat(kept))
      local posted = redis.call('HGET', KEYS[2], seq)
      if posted then
        redis.call('XDEL', KEYS[3], posted)
        redis.call('HDEL', KEYS[2], seq)
      end
      xadd_event(KEYS[3], 'MAXLEN', '~', '1000000', '*', 'type', 'message.deleted',
                 'organization_id', ARGV[3], 'occur_time', ARGV[4], 'channel_id', ARGV[5],
                 'sequence', seq, 'message_id', fields[1])
      erased = erased + 1
    end
  end
  return erased
)lua"));
  return *script;
}

const RedisScript& RemoveErasedScript() {
  // KEYS: channel, members, invited, pair, events. ARGV: person, org, occur time, channel id,
  // the pair key as read ('' for none), the pair's new display name.
  static const auto* script = new RedisScript(absl::StrCat(kXaddEventLua, R"lua(
  if redis.call('EXISTS', KEYS[1]) == 0 then
    return redis.error_reply('NOT_FOUND channel_id: no such channel')
  end
  local changed = redis.call('SREM', KEYS[2], ARGV[1]) + redis.call('SREM', KEYS[3], ARGV[1])
  if redis.call('HGET', KEYS[1], 'creator_id') == ARGV[1] then
    redis.call('HSET', KEYS[1], 'creator_id', '')
    changed = changed + 1
  end
  if ARGV[5] ~= '' and redis.call('HGET', KEYS[1], 'pair_key') == ARGV[5] then
    if redis.call('GET', KEYS[4]) == ARGV[4] then redis.call('DEL', KEYS[4]) end
    redis.call('HSET', KEYS[1], 'pair_key', '', 'display_name', ARGV[6])
    changed = changed + 1
  end
  local empty = redis.call('SCARD', KEYS[2]) == 0 and redis.call('HGET', KEYS[1], 'kind') ~= '4'
  if changed > 0 and not empty then
    xadd_event(KEYS[5], 'MAXLEN', '~', '1000000', '*', 'type', 'channel.updated',
               'organization_id', ARGV[2], 'occur_time', ARGV[3], 'channel_id', ARGV[4],
               'change', 'member_erased',
               'last_sequence', redis.call('HGET', KEYS[1], 'last_sequence') or '0')
  end
  if empty then return 1 end
  return 0
)lua"));
  return *script;
}

const RedisScript& DeleteEmptyChannelScript() {
  // KEYS: channel, members, invited, messages, message ids, threads, timeline, event ids, data
  // key, org channels, announcements, pair, events, then the invited people's channel indexes.
  // ARGV: channel id. A channel already gone deletes nothing more and answers 1.
  static const auto* script = new RedisScript(R"lua(
  if redis.call('SCARD', KEYS[2]) > 0 or redis.call('HGET', KEYS[1], 'kind') == '4' then
    return 0
  end
  redis.call('DEL', KEYS[9])
  local posted = redis.call('HVALS', KEYS[8])
  for i = 1, #posted, 500 do
    redis.call('XDEL', KEYS[13], unpack(posted, i, math.min(i + 499, #posted)))
  end
  if redis.call('GET', KEYS[12]) == ARGV[1] then redis.call('DEL', KEYS[12]) end
  redis.call('UNLINK', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8])
  redis.call('ZREM', KEYS[10], ARGV[1])
  redis.call('ZREM', KEYS[11], ARGV[1])
  for i = 14, #KEYS do redis.call('ZREM', KEYS[i], ARGV[1]) end
  return 1
)lua");
  return *script;
}

const RedisScript& ForgetResolverScript() {
  // KEYS: report. ARGV: the resolver.
  static const auto* script = new RedisScript(R"lua(
  if redis.call('HGET', KEYS[1], 'resolved_by') ~= ARGV[1] then return 0 end
  redis.call('HSET', KEYS[1], 'resolved_by', '')
  redis.call('HDEL', KEYS[1], 'note')
  return 1
)lua");
  return *script;
}

// Whether a stream entry names the person: a field that is their id, or a list of ids (space or
// comma separated) that holds it.
bool NamesPerson(const StreamEntry& entry, const std::string& person_id) {
  for (const EventField& field : entry.fields) {
    for (absl::string_view part : absl::StrSplit(field.value, absl::ByAnyChar(" ,"))) {
      if (part == person_id) return true;
    }
  }
  return false;
}

absl::Status ScriptStatus(const absl::StatusOr<RedisReply>& reply) {
  if (!reply.ok()) return reply.status();
  if (reply->IsError()) return ScriptErrorToStatus(*reply);
  return absl::OkStatus();
}

// The first error reply of a pipeline (a command refused, by the ACL say) as a status: an
// erasure must not pass for done when one of its steps was refused.
absl::Status RepliesStatus(const absl::StatusOr<std::vector<RedisReply>>& replies) {
  if (!replies.ok()) return replies.status();
  for (const RedisReply& reply : *replies) {
    if (reply.IsError()) return ScriptErrorToStatus(reply);
  }
  return absl::OkStatus();
}
}  // namespace

std::string MessagesKey(const std::string& organization_id, const std::string& channel_id) {
  return ChannelPart(organization_id, channel_id, "messages");
}

const std::vector<PersonKeyFamily>& RedisNetworkStore::PersonKeyFamilies() {
  // Made by the key functions themselves, with `*` for the organisation and every id, so that
  // the patterns follow the layout. A channel's parts come before the channel, whose pattern
  // covers them too.
  static const auto* families = [] {
    const std::string any = "*";
    const std::string messages_too = "; the person's own messages are exported as messages";
    return new std::vector<PersonKeyFamily>{
        {MembersKey(any, any), kChannelsFamily, ""},
        {InvitedKey(any, any), kChannelsFamily, ""},
        {MessagesKey(any, any), kMessagesFamily, ""},
        {MessageIdsKey(any, any), "", absl::StrCat("message id -> sequence", messages_too)},
        {ThreadsKey(any, any), "",
         absl::StrCat("thread root id and sequence of each message", messages_too)},
        {TimelineKey(any, any), "",
         absl::StrCat("sequences by create time, for retention", messages_too)},
        {EventIdsKey(any, any), "",
         absl::StrCat("sequence -> its message.posted entry id", messages_too)},
        {ChannelKey(any, any), kChannelsFamily, ""},
        {ChannelsKey(any), "",
         "channel ids by creation; the person's channels are exported as channels"},
        {AnnouncementsKey(any), "",
         "announcement channel ids by creation; the person's posts in them are exported as "
         "messages"},
        {PairKey(any, any), "",
         "the channel of a DIRECT or BUDDY pair, named by its two person ids; the channel is "
         "exported as channels"},
        {PersonChannelsKey(any, any), kChannelsFamily, ""},
        {ReadMarkersKey(any, any), kReadMarkersFamily, ""},
        {SettingsKey(any, any), kSettingsFamily, ""},
        {ReportKey(any, any), kReportsFamily, ""},
        {ReportsKey(any), "",
         "report ids by creation (the moderation queue); the person's reports are exported as "
         "reports"},
        {OpenReportsKey(any), "",
         "open report ids by creation; the person's reports are exported as reports"},
        {DataKeyKey(any, any), "",
         "a channel's data key, wrapped; what it seals is exported opened, as messages and "
         "reports"},
        {RequestKey(any, "network", any, any), "",
         "idempotency for 7 days: a caller's request id and the channel id, message sequence or "
         "report id it made, exported as channels, messages or reports"},
        {OrganizationsKey(), "", "organisations with channels, for the retention sweep; no person"},
        {EventsKey(any), "",
         "live delivery's stream, about 1,000,000 entries: who posted, joined, left or was "
         "invited, by id and never with a body; what it tells is exported as messages and "
         "channels"},
    };
  }();
  return *families;
}

absl::StatusOr<std::string> RedisNetworkStore::CreateChannel(const Channel& channel,
                                                             const CreateRequest& request) {
  const std::string& org = channel.organization_id;
  std::vector<std::string> keys = {RequestKeyOf(org, request),
                                   ChannelKey(org, channel.channel_id),
                                   MembersKey(org, channel.channel_id),
                                   InvitedKey(org, channel.channel_id),
                                   PairKey(org, channel.pair_key),
                                   ChannelsKey(org),
                                   AnnouncementsKey(org),
                                   EventsKey(org)};
  std::vector<std::string> args = {RequestRetention(request),
                                   channel.channel_id,
                                   absl::StrCat(static_cast<int>(channel.kind)),
                                   RedisMicros(channel.create_time),
                                   org,
                                   Rfc3339(channel.create_time),
                                   absl::StrCat(channel.member_ids.size()),
                                   absl::StrCat(channel.invited_ids.size()),
                                   channel.pair_key,
                                   channel.display_name,
                                   absl::StrCat(absl::ToInt64Seconds(channel.retention)),
                                   channel.creator_id};
  for (const auto* ids : {&channel.member_ids, &channel.invited_ids}) {
    for (const std::string& id : *ids) {
      keys.push_back(PersonChannelsKey(org, id));
      args.push_back(id);
    }
  }
  // The organisation listed for the retention sweep first, on its own: a platform key, apart from
  // the organisation's slot, listed before any channel of it exists.
  auto listed = redis_.Execute({"SADD", OrganizationsKey(), org});
  if (!listed.ok()) return listed.status();
  if (listed->IsError()) return ScriptErrorToStatus(*listed);
  auto created = ParseIdempotentReply(redis_.Eval(CreateChannelScript(), keys, args));
  if (!created.ok()) return created.status();
  return created->value;
}

absl::StatusOr<Channel> RedisNetworkStore::GetChannel(const std::string& organization_id,
                                                      const std::string& channel_id) {
  auto channels = GetChannels(organization_id, {channel_id});
  if (!channels.ok()) return channels.status();
  if (channels->empty()) return absl::NotFoundError("channel_id: no such channel");
  return std::move(channels->front());
}

absl::StatusOr<std::pair<Channel, bool>> RedisNetworkStore::GetChannelForMember(
    const std::string& organization_id, const std::string& channel_id,
    const std::string& person_id) {
  auto replies =
      redis_.ExecuteAll({{"HGETALL", ChannelKey(organization_id, channel_id)},
                         {"SISMEMBER", MembersKey(organization_id, channel_id), person_id}});
  if (!replies.ok()) return replies.status();
  if ((*replies)[0].elements.empty()) return absl::NotFoundError("channel_id: no such channel");
  Channel channel = ChannelFromReplies(organization_id, (*replies)[0], RedisReply{}, RedisReply{});
  return std::make_pair(std::move(channel), (*replies)[1].integer == 1);
}

absl::StatusOr<std::vector<Channel>> RedisNetworkStore::GetChannels(
    const std::string& organization_id, const std::vector<std::string>& channel_ids) {
  std::vector<RedisCommand> commands;
  for (const std::string& id : channel_ids) {
    commands.push_back({"HGETALL", ChannelKey(organization_id, id)});
    commands.push_back({"SMEMBERS", MembersKey(organization_id, id)});
    commands.push_back({"SMEMBERS", InvitedKey(organization_id, id)});
  }
  std::vector<Channel> channels;
  if (commands.empty()) return channels;
  auto replies = redis_.ExecuteAll(std::move(commands));
  if (!replies.ok()) return replies.status();
  for (size_t i = 0; i + 2 < replies->size(); i += 3) {
    if ((*replies)[i].elements.empty()) continue;
    channels.push_back(
        ChannelFromReplies(organization_id, (*replies)[i], (*replies)[i + 1], (*replies)[i + 2]));
  }
  return channels;
}

absl::StatusOr<std::vector<std::string>> RedisNetworkStore::ListAnnouncementChannelIds(
    const std::string& organization_id) {
  auto reply = redis_.Execute({"ZRANGE", AnnouncementsKey(organization_id), "0", "-1"});
  if (!reply.ok()) return reply.status();
  return Strings(*reply);
}

absl::StatusOr<std::vector<std::string>> RedisNetworkStore::ListPersonChannelIds(
    const std::string& organization_id, const std::string& person_id) {
  auto reply = redis_.Execute({"ZRANGE", PersonChannelsKey(organization_id, person_id), "0", "-1"});
  if (!reply.ok()) return reply.status();
  return Strings(*reply);
}

absl::StatusOr<std::vector<std::string>> RedisNetworkStore::ListOrganizations() {
  auto reply = redis_.Execute({"SMEMBERS", OrganizationsKey()});
  if (!reply.ok()) return reply.status();
  return Strings(*reply);
}

absl::StatusOr<std::vector<std::string>> RedisNetworkStore::ListAllChannelIds(
    const std::string& organization_id) {
  auto reply = redis_.Execute({"ZRANGE", ChannelsKey(organization_id), "0", "-1"});
  if (!reply.ok()) return reply.status();
  return Strings(*reply);
}

absl::StatusOr<bool> RedisNetworkStore::Join(const std::string& organization_id,
                                             const std::string& channel_id,
                                             const std::string& person_id, absl::Time now) {
  const std::string& org = organization_id;
  auto reply = redis_.Eval(
      JoinScript(),
      {ChannelKey(org, channel_id), MembersKey(org, channel_id), InvitedKey(org, channel_id),
       PersonChannelsKey(org, person_id), ReadMarkersKey(org, person_id), EventsKey(org)},
      {person_id, RedisMicros(now), org, Rfc3339(now), channel_id, absl::StrCat(kMaxMembers)});
  if (absl::Status status = ScriptStatus(reply); !status.ok()) return status;
  return reply->integer == 1;
}

absl::StatusOr<bool> RedisNetworkStore::Invite(const std::string& organization_id,
                                               const std::string& channel_id,
                                               const std::string& person_id, absl::Time now) {
  const std::string& org = organization_id;
  auto reply =
      redis_.Eval(InviteScript(),
                  {ChannelKey(org, channel_id), MembersKey(org, channel_id),
                   InvitedKey(org, channel_id), PersonChannelsKey(org, person_id), EventsKey(org)},
                  {person_id, RedisMicros(now), org, Rfc3339(now), channel_id});
  if (absl::Status status = ScriptStatus(reply); !status.ok()) return status;
  return reply->integer == 1;
}

absl::StatusOr<bool> RedisNetworkStore::Leave(const std::string& organization_id,
                                              const std::string& channel_id,
                                              const std::string& person_id, absl::Time now) {
  const std::string& org = organization_id;
  auto reply =
      redis_.Eval(LeaveScript(),
                  {ChannelKey(org, channel_id), MembersKey(org, channel_id),
                   InvitedKey(org, channel_id), PersonChannelsKey(org, person_id), EventsKey(org)},
                  {person_id, org, Rfc3339(now), channel_id});
  if (absl::Status status = ScriptStatus(reply); !status.ok()) return status;
  return reply->integer == 1;
}

absl::StatusOr<PostResult> RedisNetworkStore::PostMessage(const std::string& organization_id,
                                                          const Message& message,
                                                          const PostRules& rules,
                                                          const CreateRequest& request) {
  const std::string& org = organization_id;
  const std::string& channel_id = message.channel_id;
  auto posted = ParseIdempotentReply(redis_.Eval(
      PostScript(),
      {RequestKeyOf(org, request), ChannelKey(org, channel_id), MembersKey(org, channel_id),
       MessagesKey(org, channel_id), MessageIdsKey(org, channel_id), ThreadsKey(org, channel_id),
       TimelineKey(org, channel_id), EventIdsKey(org, channel_id),
       ReadMarkersKey(org, message.author_id), EventsKey(org)},
      {RequestRetention(request), rules.members_only ? "1" : "0",
       absl::StrCat(rules.required_members), message.author_id, message.message_id,
       PackRecord(message), message.thread_root_message_id, RedisMicros(message.create_time), org,
       Rfc3339(message.create_time), channel_id}));
  if (!posted.ok()) return posted.status();
  PostResult result;
  result.replayed = posted->replayed;
  int64_t sequence = ParseInt64(posted->value);
  if (!posted->replayed) {
    result.message = message;
    result.message.sequence = sequence;
    return result;
  }
  auto first = GetMessagesBySequence(org, channel_id, {sequence});
  if (!first.ok()) return first.status();
  if (first->empty()) return absl::NotFoundError("the first message of this retry is gone");
  result.message = std::move(first->front());
  return result;
}

absl::StatusOr<std::vector<Message>> RedisNetworkStore::GetMessages(
    const std::string& organization_id, const std::string& channel_id, int64_t first,
    int64_t last) {
  std::vector<int64_t> sequences;
  for (int64_t sequence = first; sequence <= last; ++sequence) sequences.push_back(sequence);
  return GetMessagesBySequence(organization_id, channel_id, sequences);
}

absl::StatusOr<std::vector<Message>> RedisNetworkStore::GetMessagesBySequence(
    const std::string& organization_id, const std::string& channel_id,
    const std::vector<int64_t>& sequences) {
  std::vector<Message> messages;
  if (sequences.empty()) return messages;
  RedisCommand command = {"HMGET", MessagesKey(organization_id, channel_id)};
  for (int64_t sequence : sequences) command.push_back(absl::StrCat(sequence));
  auto reply = redis_.Execute(std::move(command));
  if (!reply.ok()) return reply.status();
  for (size_t i = 0; i < reply->elements.size() && i < sequences.size(); ++i) {
    if (reply->elements[i].IsNil()) continue;  // removed by retention
    auto message = UnpackRecord(reply->elements[i].str, channel_id, sequences[i]);
    if (!message.ok()) return message.status();
    messages.push_back(*std::move(message));
  }
  return messages;
}

absl::StatusOr<std::vector<Message>> RedisNetworkStore::GetMessageRanges(
    const std::string& organization_id, const std::vector<SequenceRange>& ranges) {
  std::vector<const SequenceRange*> asked;
  std::vector<RedisCommand> commands;
  for (const SequenceRange& range : ranges) {
    if (range.first > range.last) continue;
    RedisCommand command = {"HMGET", MessagesKey(organization_id, range.channel_id)};
    for (int64_t sequence = range.first; sequence <= range.last; ++sequence) {
      command.push_back(absl::StrCat(sequence));
    }
    asked.push_back(&range);
    commands.push_back(std::move(command));
  }
  std::vector<Message> messages;
  if (commands.empty()) return messages;
  auto replies = redis_.ExecuteAll(std::move(commands));
  if (!replies.ok()) return replies.status();
  for (size_t i = 0; i < replies->size(); ++i) {
    const std::vector<RedisReply>& records = (*replies)[i].elements;
    for (size_t j = 0; j < records.size(); ++j) {
      if (records[j].IsNil()) continue;  // removed by retention
      auto message = UnpackRecord(records[j].str, asked[i]->channel_id,
                                  asked[i]->first + static_cast<int64_t>(j));
      if (!message.ok()) return message.status();
      messages.push_back(*std::move(message));
    }
  }
  return messages;
}

absl::StatusOr<int64_t> RedisNetworkStore::FindMessage(const std::string& organization_id,
                                                       const std::string& channel_id,
                                                       const std::string& message_id) {
  auto reply = redis_.Execute({"HGET", MessageIdsKey(organization_id, channel_id), message_id});
  if (!reply.ok()) return reply.status();
  if (reply->IsNil()) return absl::NotFoundError("message_id: no such message in the channel");
  return ParseInt64(reply->str);
}

absl::StatusOr<std::vector<int64_t>> RedisNetworkStore::ThreadSequences(
    const std::string& organization_id, const std::string& channel_id,
    const std::string& root_message_id, int64_t after, int64_t before, int limit) {
  std::string low = absl::StrCat("(", ThreadMember(root_message_id, after));
  std::string high = before > 0 ? absl::StrCat("(", ThreadMember(root_message_id, before))
                                : absl::StrCat("[", root_message_id, "|~");
  auto reply = redis_.Execute({"ZRANGEBYLEX", ThreadsKey(organization_id, channel_id), low, high,
                               "LIMIT", "0", absl::StrCat(limit)});
  if (!reply.ok()) return reply.status();
  std::vector<int64_t> sequences;
  for (const RedisReply& member : reply->elements) {
    size_t bar = member.str.rfind('|');
    if (bar != std::string::npos) sequences.push_back(ParseInt64(member.str.substr(bar + 1)));
  }
  return sequences;
}

absl::StatusOr<Message> RedisNetworkStore::DeleteMessage(const std::string& organization_id,
                                                         const std::string& channel_id,
                                                         const std::string& message_id,
                                                         absl::Time now) {
  const std::string& org = organization_id;
  // Compare-and-set on the record, so that a concurrent change (another delete, retention) is
  // never overwritten with a stale copy.
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto sequence = FindMessage(org, channel_id, message_id);
    if (!sequence.ok()) return sequence.status();
    auto raw = redis_.Execute({"HGET", MessagesKey(org, channel_id), absl::StrCat(*sequence)});
    if (!raw.ok()) return raw.status();
    if (raw->IsNil()) return absl::NotFoundError("message_id: the message is no longer kept");
    auto message = UnpackRecord(raw->str, channel_id, *sequence);
    if (!message.ok()) return message.status();
    if (message->deleted) return message;
    message->deleted = true;
    message->body.clear();
    auto reply =
        redis_.Eval(DeleteScript(),
                    {MessagesKey(org, channel_id), MessageIdsKey(org, channel_id), EventsKey(org)},
                    {message_id, raw->str, PackRecord(*message), org, Rfc3339(now), channel_id});
    absl::Status status = ScriptStatus(reply);
    if (status.code() == absl::StatusCode::kAborted) continue;
    if (!status.ok()) return status;
    return message;
  }
  return absl::AbortedError("the message kept changing; try again");
}

absl::StatusOr<int> RedisNetworkStore::ExpireMessages(const std::string& organization_id,
                                                      const std::string& channel_id,
                                                      absl::Time cutoff, int limit) {
  const std::string& org = organization_id;
  auto expired =
      redis_.Execute({"ZRANGEBYSCORE", TimelineKey(org, channel_id), "-inf",
                      absl::StrCat("(", RedisMicros(cutoff)), "LIMIT", "0", absl::StrCat(limit)});
  if (!expired.ok()) return expired.status();
  if (expired->elements.empty()) return 0;
  RedisCommand records = {"HMGET", MessagesKey(org, channel_id)};
  RedisCommand event_ids = {"HMGET", EventIdsKey(org, channel_id)};
  int64_t highest = 0;
  for (const RedisReply& sequence : expired->elements) {
    records.push_back(sequence.str);
    event_ids.push_back(sequence.str);
    highest = std::max(highest, ParseInt64(sequence.str));
  }
  auto read = redis_.ExecuteAll({records, event_ids});
  if (!read.ok()) return read.status();
  RedisCommand drop_records = {"HDEL", MessagesKey(org, channel_id)};
  RedisCommand drop_ids = {"HDEL", MessageIdsKey(org, channel_id)};
  RedisCommand drop_threads = {"ZREM", ThreadsKey(org, channel_id)};
  RedisCommand drop_timeline = {"ZREM", TimelineKey(org, channel_id)};
  RedisCommand drop_event_ids = {"HDEL", EventIdsKey(org, channel_id)};
  RedisCommand drop_events = {"XDEL", EventsKey(org)};
  for (size_t i = 0; i < expired->elements.size(); ++i) {
    const std::string& sequence = expired->elements[i].str;
    drop_records.push_back(sequence);
    drop_timeline.push_back(sequence);
    drop_event_ids.push_back(sequence);
    const RedisReply& record = (*read)[0].elements[i];
    if (!record.IsNil()) {
      auto message = UnpackRecord(record.str, channel_id, ParseInt64(sequence));
      if (message.ok()) {
        drop_ids.push_back(message->message_id);
        drop_threads.push_back(ThreadMember(message->thread_root_message_id, message->sequence));
      }
    }
    const RedisReply& event_id = (*read)[1].elements[i];
    if (!event_id.IsNil()) drop_events.push_back(event_id.str);
  }
  std::vector<RedisCommand> drops = {drop_records, drop_timeline, drop_event_ids};
  if (drop_ids.size() > 2) drops.push_back(drop_ids);
  if (drop_threads.size() > 2) drops.push_back(drop_threads);
  if (drop_events.size() > 2) drops.push_back(drop_events);
  auto dropped = redis_.Transaction(std::move(drops));
  if (!dropped.ok()) return dropped.status();
  // The channel's first kept sequence moves past what went (forward only, however sweeps of
  // several replicas interleave), so readers and subscribers skip it.
  auto moved = redis_.Eval(RaiseFirstSequenceScript(), {ChannelKey(org, channel_id)},
                           {absl::StrCat(highest + 1)});
  if (absl::Status status = ScriptStatus(moved); !status.ok()) return status;
  return static_cast<int>(expired->elements.size());
}

absl::StatusOr<absl::flat_hash_map<std::string, ReadMarker>> RedisNetworkStore::GetReadMarkers(
    const std::string& organization_id, const std::string& person_id,
    const std::vector<std::string>& channel_ids) {
  absl::flat_hash_map<std::string, ReadMarker> markers;
  if (channel_ids.empty()) return markers;
  RedisCommand command = {"HMGET", ReadMarkersKey(organization_id, person_id)};
  command.insert(command.end(), channel_ids.begin(), channel_ids.end());
  auto reply = redis_.Execute(std::move(command));
  if (!reply.ok()) return reply.status();
  for (size_t i = 0; i < reply->elements.size() && i < channel_ids.size(); ++i) {
    if (reply->elements[i].IsNil()) continue;
    markers[channel_ids[i]] = MarkerFromValue(channel_ids[i], person_id, reply->elements[i].str);
  }
  return markers;
}

absl::StatusOr<absl::flat_hash_map<std::string, ReadMarker>> RedisNetworkStore::GetAllReadMarkers(
    const std::string& organization_id, const std::string& person_id) {
  auto reply = redis_.Execute({"HGETALL", ReadMarkersKey(organization_id, person_id)});
  if (!reply.ok()) return reply.status();
  absl::flat_hash_map<std::string, ReadMarker> markers;
  for (const auto& [channel_id, value] : ReplyPairs(*reply)) {
    markers[channel_id] = MarkerFromValue(channel_id, person_id, value);
  }
  return markers;
}

absl::StatusOr<std::vector<ReadMarker>> RedisNetworkStore::GetChannelReadMarkers(
    const std::string& organization_id, const std::string& channel_id,
    const std::vector<std::string>& person_ids) {
  std::vector<RedisCommand> commands;
  for (const std::string& person : person_ids) {
    commands.push_back({"HGET", ReadMarkersKey(organization_id, person), channel_id});
  }
  std::vector<ReadMarker> markers;
  if (commands.empty()) return markers;
  auto replies = redis_.ExecuteAll(std::move(commands));
  if (!replies.ok()) return replies.status();
  for (size_t i = 0; i < replies->size(); ++i) {
    if ((*replies)[i].IsNil()) continue;
    markers.push_back(MarkerFromValue(channel_id, person_ids[i], (*replies)[i].str));
  }
  return markers;
}

absl::StatusOr<ReadMarker> RedisNetworkStore::MarkRead(const std::string& organization_id,
                                                       const std::string& person_id,
                                                       const std::string& channel_id,
                                                       int64_t sequence, absl::Time now) {
  auto reply = redis_.Eval(MarkReadScript(), {ReadMarkersKey(organization_id, person_id)},
                           {channel_id, absl::StrCat(sequence), RedisMicros(now)});
  if (absl::Status status = ScriptStatus(reply); !status.ok()) return status;
  return MarkerFromValue(channel_id, person_id, reply->str);
}

absl::StatusOr<NetworkSettings> RedisNetworkStore::GetSettings(const std::string& organization_id,
                                                               const std::string& person_id) {
  auto settings = GetSettingsOfPeople(organization_id, {person_id});
  if (!settings.ok()) return settings.status();
  return settings->front();
}

absl::StatusOr<std::optional<NetworkSettings>> RedisNetworkStore::FindSettings(
    const std::string& organization_id, const std::string& person_id) {
  auto reply = redis_.Execute({"HGET", SettingsKey(organization_id, person_id), "read_receipts"});
  if (!reply.ok()) return reply.status();
  if (reply->IsNil()) return std::nullopt;
  NetworkSettings settings;
  settings.read_receipts = reply->str == "1";
  return settings;
}

absl::StatusOr<std::vector<NetworkSettings>> RedisNetworkStore::GetSettingsOfPeople(
    const std::string& organization_id, const std::vector<std::string>& person_ids) {
  std::vector<RedisCommand> commands;
  for (const std::string& person : person_ids) {
    commands.push_back({"HGET", SettingsKey(organization_id, person), "read_receipts"});
  }
  std::vector<NetworkSettings> settings;
  if (commands.empty()) return settings;
  auto replies = redis_.ExecuteAll(std::move(commands));
  if (!replies.ok()) return replies.status();
  for (const RedisReply& reply : *replies) {
    NetworkSettings one;
    one.read_receipts = reply.str == "1";
    settings.push_back(one);
  }
  return settings;
}

absl::Status RedisNetworkStore::PutSettings(const std::string& organization_id,
                                            const std::string& person_id,
                                            const NetworkSettings& settings) {
  auto reply = redis_.Execute({"HSET", SettingsKey(organization_id, person_id), "read_receipts",
                               settings.read_receipts ? "1" : "0"});
  return reply.ok() ? absl::OkStatus() : reply.status();
}

absl::StatusOr<std::string> RedisNetworkStore::CreateReport(const std::string& organization_id,
                                                            const Report& report,
                                                            const CreateRequest& request) {
  const std::string& org = organization_id;
  auto created = ParseIdempotentReply(redis_.Eval(
      CreateReportScript(),
      {RequestKeyOf(org, request), ReportKey(org, report.report_id), ReportsKey(org),
       OpenReportsKey(org)},
      {RequestRetention(request), report.report_id, RedisMicros(report.create_time), "id",
       report.report_id, "channel_id", report.channel_id, "message_id", report.message_id, "reason",
       report.reason, "state", absl::StrCat(static_cast<int>(report.state)), "create_time",
       RedisMicros(report.create_time), "reporter_id", report.reporter_id}));
  if (!created.ok()) return created.status();
  return created->value;
}

absl::StatusOr<Report> RedisNetworkStore::GetReport(const std::string& organization_id,
                                                    const std::string& report_id) {
  auto reply = redis_.Execute({"HGETALL", ReportKey(organization_id, report_id)});
  if (!reply.ok()) return reply.status();
  if (reply->elements.empty()) return absl::NotFoundError("report_id: no such report");
  return ReportFromHash(*reply);
}

absl::StatusOr<Page<Report>> RedisNetworkStore::ListReports(const std::string& organization_id,
                                                            const std::vector<ReportState>& states,
                                                            int page_size,
                                                            const std::string& position) {
  bool only_open = states.size() == 1 && states[0] == ReportState::kOpen;
  std::string index = only_open ? OpenReportsKey(organization_id) : ReportsKey(organization_id);
  // The position is the score of the last report shown: the next page starts below it, however
  // many reports were resolved or added meanwhile.
  std::string below = position.empty() ? "+inf" : absl::StrCat("(", position);
  Page<Report> page;
  // Newest first, filtered by state, reading the index a chunk at a time until the page is full.
  constexpr int kChunk = 100;
  for (;;) {
    auto ids = redis_.Execute({"ZREVRANGEBYSCORE", index, below, "-inf", "WITHSCORES", "LIMIT", "0",
                               absl::StrCat(kChunk)});
    if (!ids.ok()) return ids.status();
    std::vector<std::pair<std::string, std::string>> scored = ReplyPairs(*ids);
    if (scored.empty()) return page;
    std::vector<RedisCommand> reads;
    for (const auto& [id, score] : scored) {
      reads.push_back({"HGETALL", ReportKey(organization_id, id)});
    }
    auto hashes = redis_.ExecuteAll(std::move(reads));
    if (!hashes.ok()) return hashes.status();
    for (size_t i = 0; i < hashes->size(); ++i) {
      below = absl::StrCat("(", scored[i].second);
      const RedisReply& hash = (*hashes)[i];
      if (hash.elements.empty()) continue;
      Report report = ReportFromHash(hash);
      if (!states.empty() &&
          std::find(states.begin(), states.end(), report.state) == states.end()) {
        continue;
      }
      page.items.push_back(std::move(report));
      if (page.items.size() == static_cast<size_t>(page_size)) {
        page.next_position = scored[i].second;
        return page;
      }
    }
    if (scored.size() < static_cast<size_t>(kChunk)) return page;
  }
}

absl::Status RedisNetworkStore::ResolveReport(const std::string& organization_id,
                                              const Report& resolved) {
  auto reply =
      redis_.Eval(ResolveReportScript(),
                  {ReportKey(organization_id, resolved.report_id), OpenReportsKey(organization_id)},
                  {resolved.report_id, "state", absl::StrCat(static_cast<int>(resolved.state)),
                   "action", absl::StrCat(static_cast<int>(resolved.action)), "resolve_time",
                   RedisMicros(resolved.resolve_time), "resolved_by", resolved.resolved_by, "note",
                   resolved.note});
  return ScriptStatus(reply);
}

absl::StatusOr<std::vector<std::string>> RedisNetworkStore::ListChannelIdsNaming(
    const std::string& organization_id, const std::string& person_id) {
  const std::string& org = organization_id;
  auto all = ListAllChannelIds(org);
  if (!all.ok()) return all.status();
  // Without an index by creator or pair: each channel's own fields, a chunk a round trip.
  constexpr size_t kChunk = 200;
  std::vector<std::string> naming;
  for (size_t start = 0; start < all->size(); start += kChunk) {
    size_t end = std::min(all->size(), start + kChunk);
    std::vector<RedisCommand> reads;
    for (size_t i = start; i < end; ++i) {
      const std::string& id = (*all)[i];
      reads.push_back({"HMGET", ChannelKey(org, id), "creator_id", "pair_key"});
      reads.push_back({"SISMEMBER", MembersKey(org, id), person_id});
      reads.push_back({"SISMEMBER", InvitedKey(org, id), person_id});
    }
    auto replies = redis_.ExecuteAll(std::move(reads));
    if (absl::Status status = RepliesStatus(replies); !status.ok()) return status;
    for (size_t i = start; i < end; ++i) {
      const RedisReply* reply = &(*replies)[3 * (i - start)];
      bool names = reply[1].integer == 1 || reply[2].integer == 1;
      if (reply[0].elements.size() == 2) {
        names = names || reply[0].elements[0].str == person_id;
        // "<kind>:<a>:<b>"
        std::vector<absl::string_view> pair = absl::StrSplit(reply[0].elements[1].str, ':');
        names = names || (pair.size() == 3 && (pair[1] == person_id || pair[2] == person_id));
      }
      if (names) naming.push_back((*all)[i]);
    }
  }
  return naming;
}

absl::StatusOr<int> RedisNetworkStore::EraseMessagesBy(const std::string& organization_id,
                                                       const std::string& channel_id,
                                                       const std::string& author_id,
                                                       const std::string& shown_as, int64_t first,
                                                       int64_t last, absl::Time now) {
  const std::string& org = organization_id;
  auto reply =
      redis_.Eval(EraseMessagesScript(),
                  {MessagesKey(org, channel_id), EventIdsKey(org, channel_id), EventsKey(org)},
                  {author_id, shown_as, org, Rfc3339(now), channel_id, absl::StrCat(first),
                   absl::StrCat(last)});
  if (absl::Status status = ScriptStatus(reply); !status.ok()) return status;
  return static_cast<int>(reply->integer);
}

absl::StatusOr<bool> RedisNetworkStore::RemoveErasedPerson(
    const Channel& channel, const std::string& person_id,
    const std::optional<std::string>& pair_display_name, absl::Time now) {
  const std::string& org = channel.organization_id;
  const std::string& id = channel.channel_id;
  std::string pair_key = pair_display_name.has_value() ? channel.pair_key : "";
  auto reply =
      redis_.Eval(RemoveErasedScript(),
                  {ChannelKey(org, id), MembersKey(org, id), InvitedKey(org, id),
                   PairKey(org, channel.pair_key), EventsKey(org)},
                  {person_id, org, Rfc3339(now), id, pair_key, pair_display_name.value_or("")});
  if (absl::Status status = ScriptStatus(reply); !status.ok()) return status;
  return reply->integer == 1;
}

absl::StatusOr<bool> RedisNetworkStore::DeleteEmptyChannel(const std::string& organization_id,
                                                           const std::string& channel_id) {
  const std::string& org = organization_id;
  const std::string& id = channel_id;
  auto read = redis_.ExecuteAll(
      {{"HGET", ChannelKey(org, id), "pair_key"}, {"SMEMBERS", InvitedKey(org, id)}});
  if (absl::Status status = RepliesStatus(read); !status.ok()) return status;
  std::vector<std::string> keys = {
      ChannelKey(org, id),  MembersKey(org, id),    InvitedKey(org, id),
      MessagesKey(org, id), MessageIdsKey(org, id), ThreadsKey(org, id),
      TimelineKey(org, id), EventIdsKey(org, id),   DataKeyKey(org, id),
      ChannelsKey(org),     AnnouncementsKey(org),  PairKey(org, (*read)[0].str),
      EventsKey(org)};
  for (const RedisReply& invited : (*read)[1].elements) {
    keys.push_back(PersonChannelsKey(org, invited.str));
  }
  auto reply = redis_.Eval(DeleteEmptyChannelScript(), keys, {id});
  if (absl::Status status = ScriptStatus(reply); !status.ok()) return status;
  return reply->integer == 1;
}

absl::Status RedisNetworkStore::DeleteReports(const std::string& organization_id,
                                              const std::vector<std::string>& report_ids) {
  if (report_ids.empty()) return absl::OkStatus();
  RedisCommand reports = {"ZREM", ReportsKey(organization_id)};
  RedisCommand open = {"ZREM", OpenReportsKey(organization_id)};
  RedisCommand hashes = {"DEL"};
  for (const std::string& id : report_ids) {
    reports.push_back(id);
    open.push_back(id);
    hashes.push_back(ReportKey(organization_id, id));
  }
  return RepliesStatus(
      redis_.Transaction({std::move(hashes), std::move(reports), std::move(open)}));
}

absl::Status RedisNetworkStore::ForgetResolver(const std::string& organization_id,
                                               const std::string& report_id,
                                               const std::string& resolver_id) {
  return ScriptStatus(
      redis_.Eval(ForgetResolverScript(), {ReportKey(organization_id, report_id)}, {resolver_id}));
}

absl::Status RedisNetworkStore::DeleteEventsNaming(
    const std::string& organization_id, const std::string& person_id,
    const std::vector<std::string>& deleted_channel_ids) {
  constexpr int kChunk = 1000;
  absl::flat_hash_set<std::string> deleted(deleted_channel_ids.begin(), deleted_channel_ids.end());
  const std::string events = EventsKey(organization_id);
  for (const std::string& stream : {events, DeadLetterStreamKey(events)}) {
    std::vector<RedisCommand> deletions;
    std::string start = "-";
    for (;;) {
      auto chunk = redis_.Execute({"XRANGE", stream, start, "+", "COUNT", absl::StrCat(kChunk)});
      if (absl::Status status = ScriptStatus(chunk); !status.ok()) return status;
      std::vector<StreamEntry> entries = ParseStreamEntries(*chunk);
      RedisCommand xdel = {"XDEL", stream};
      for (const StreamEntry& entry : entries) {
        // A dead letter's fields are the event's under "event.".
        bool of_deleted = deleted.contains(entry.Get("channel_id")) ||
                          deleted.contains(entry.Get("event.channel_id"));
        if (of_deleted || NamesPerson(entry, person_id)) xdel.push_back(entry.id);
      }
      if (xdel.size() > 2) deletions.push_back(std::move(xdel));
      if (entries.size() < static_cast<size_t>(kChunk)) break;
      start = absl::StrCat("(", entries.back().id);
    }
    if (deletions.empty()) continue;
    if (absl::Status status = RepliesStatus(redis_.ExecuteAll(std::move(deletions)));
        !status.ok()) {
      return status;
    }
  }
  return absl::OkStatus();
}

absl::Status RedisNetworkStore::DeleteRequests(
    const std::string& organization_id, const std::string& person_id,
    const std::vector<std::string>& deleted_channel_ids) {
  // "<prefix><caller>:<request_id>"; a channel's creation is "channel:<request_id>".
  const std::string request_prefix = absl::StrCat(Prefix(organization_id), "request:");
  auto keys = MatchingKeys(redis_, absl::StrCat(request_prefix, "*"));
  if (!keys.ok()) return keys.status();
  absl::flat_hash_set<std::string> doomed;
  std::vector<std::string> creations;
  for (const std::string& key : *keys) {
    absl::string_view rest = absl::string_view(key).substr(request_prefix.size());
    absl::string_view caller = rest.substr(0, rest.find(':'));
    if (caller == person_id) {
      doomed.insert(key);
    } else if (!deleted_channel_ids.empty() &&
               absl::StartsWith(rest.substr(caller.size()), ":channel:")) {
      creations.push_back(key);
    }
  }
  if (!creations.empty()) {
    std::vector<RedisCommand> reads;
    for (const std::string& key : creations) reads.push_back({"GET", key});
    auto answers = redis_.ExecuteAll(std::move(reads));
    if (absl::Status status = RepliesStatus(answers); !status.ok()) return status;
    absl::flat_hash_set<std::string> deleted(deleted_channel_ids.begin(),
                                             deleted_channel_ids.end());
    for (size_t i = 0; i < creations.size(); ++i) {
      if (deleted.contains((*answers)[i].str)) doomed.insert(creations[i]);
    }
  }
  if (doomed.empty()) return absl::OkStatus();
  RedisCommand del = {"DEL"};
  del.insert(del.end(), doomed.begin(), doomed.end());
  return ScriptStatus(redis_.Execute(std::move(del)));
}

absl::Status RedisNetworkStore::DeleteReadMarkersOf(const std::string& organization_id,
                                                    const std::vector<std::string>& channel_ids) {
  if (channel_ids.empty()) return absl::OkStatus();
  // Markers of channels someone left stay, so the people who have one are not known: every
  // person's markers are looked at.
  auto keys = MatchingKeys(redis_, ReadMarkersKey(organization_id, "*"));
  if (!keys.ok()) return keys.status();
  std::vector<RedisCommand> deletions;
  for (const std::string& key : *keys) {
    RedisCommand hdel = {"HDEL", key};
    hdel.insert(hdel.end(), channel_ids.begin(), channel_ids.end());
    deletions.push_back(std::move(hdel));
  }
  if (deletions.empty()) return absl::OkStatus();
  return RepliesStatus(redis_.ExecuteAll(std::move(deletions)));
}

absl::Status RedisNetworkStore::DeletePersonKeys(const std::string& organization_id,
                                                 const std::string& person_id) {
  return ScriptStatus(redis_.Execute({"DEL", PersonChannelsKey(organization_id, person_id),
                                      ReadMarkersKey(organization_id, person_id),
                                      SettingsKey(organization_id, person_id)}));
}

}  // namespace peerwell::network
