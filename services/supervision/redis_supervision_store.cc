#include "services/supervision/redis_supervision_store.h"

#include <algorithm>
#include <functional>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "services/common/events.h"
#include "services/common/idempotency.h"
#include "services/common/redis_values.h"

namespace peerwell::supervision {
namespace {

// --- Key layout (docs/ARCHITECTURE.md) -----------------------------------------------------------

std::string Prefix(const std::string& org) { return absl::StrCat("pw:{", org, "}:supervision:"); }
std::string SessionKey(const std::string& org, const std::string& id) {
  return absl::StrCat(Prefix(org), "session:", id);
}
std::string SessionsKey(const std::string& org) { return Prefix(org) + "sessions"; }
std::string PersonSessionsKey(const std::string& org, const std::string& person) {
  return absl::StrCat(Prefix(org), "person:", person, ":sessions");
}
std::string BusyKey(const std::string& org, const std::string& person) {
  return absl::StrCat(Prefix(org), "person:", person, ":busy");
}
std::string SeriesKey(const std::string& org, const std::string& id) {
  return absl::StrCat(Prefix(org), "series:", id);
}
std::string SeriesSessionsKey(const std::string& org, const std::string& id) {
  return absl::StrCat(Prefix(org), "series:", id, ":sessions");
}
std::string HorizonKey(const std::string& org) { return Prefix(org) + "series_horizon"; }
std::string OffersKey(const std::string& org) { return Prefix(org) + "offers"; }
std::string AvailabilityKey(const std::string& org, const std::string& supervisor) {
  return absl::StrCat(Prefix(org), "availability:", supervisor);
}
std::string PolicyKey(const std::string& org) { return Prefix(org) + "policy"; }
std::string LastSupervisedKey(const std::string& org) { return Prefix(org) + "last_supervised"; }
std::string OverdueKey(const std::string& org, const std::string& volunteer) {
  return absl::StrCat(Prefix(org), "overdue:", volunteer);
}
std::string CalendarFeedKey(const std::string& org, const std::string& id) {
  return absl::StrCat(Prefix(org), "calendar_feed:", id);
}
std::string PersonCalendarFeedsKey(const std::string& org, const std::string& person) {
  return absl::StrCat(Prefix(org), "person:", person, ":calendar_feeds");
}
const std::string& OrganizationsKey() {
  static const auto* key = new std::string("pw:supervision:organizations");
  return *key;
}
std::string EventsKey(const std::string& org) { return EventStreamKey("supervision", org); }

// A busy entry is scored by its start; its member carries its end, so an overlap check reads
// the index alone. No session is longer than this (with a debrief's buffer after it).
constexpr absl::Duration kMaxBusySpan = absl::Hours(12);

// Unset times (InfinitePast, InfiniteFuture) are stored empty and read back as `unset`.
std::string Micros(absl::Time time) {
  return time == absl::InfinitePast() || time == absl::InfiniteFuture() ? "" : RedisMicros(time);
}
absl::Time ParseMicros(const std::string& text, absl::Time unset = absl::InfinitePast()) {
  return text.empty() ? unset : ParseRedisMicros(text);
}
std::string Score(absl::Time time) { return absl::StrCat(absl::ToUnixMicros(time)); }
// Redis may print a score in exponent form.
absl::Time ScoreTime(const std::string& score) {
  return absl::FromUnixMicros(static_cast<int64_t>(ParseRedisDouble(score)));
}

std::string BusyMember(const std::string& session_id, absl::Time end) {
  return absl::StrCat(absl::ToUnixMicros(end), "|", session_id);
}

std::string EncodeAttendance(const std::vector<Attendance>& attendance) {
  std::vector<std::string> parts;
  for (const Attendance& a : attendance) {
    parts.push_back(absl::StrCat(a.person_id, "=", static_cast<int>(a.status)));
  }
  return absl::StrJoin(parts, " ");
}

std::vector<Attendance> DecodeAttendance(const std::string& text) {
  std::vector<Attendance> out;
  for (absl::string_view part : absl::StrSplit(text, ' ', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(part, absl::MaxSplits('=', 1));
    out.push_back({kv.first, static_cast<AttendanceStatus>(ParseRedisInt(kv.second))});
  }
  return out;
}

std::vector<std::string> Ids(const std::string& text) {
  return absl::StrSplit(text, ' ', absl::SkipEmpty());
}

std::vector<std::pair<std::string, std::string>> SessionFields(const Session& s) {
  return {{"id", s.id},
          {"series_id", s.series_id},
          {"kind", absl::StrCat(static_cast<int>(s.kind))},
          {"state", absl::StrCat(static_cast<int>(s.state))},
          {"title", s.title},
          {"supervisors", absl::StrJoin(s.supervisor_ids, " ")},
          {"participants", absl::StrJoin(s.participant_ids, " ")},
          {"start_time", Micros(s.start_time)},
          {"duration", absl::StrCat(absl::ToInt64Microseconds(s.duration))},
          {"capacity", absl::StrCat(s.capacity)},
          {"rrule", s.recurrence_rule},
          {"attendance", EncodeAttendance(s.attendance)},
          {"incident_id", s.incident_id},
          {"offer_expire_time", Micros(s.offer_expire_time)},
          {"cancel_reason", s.cancel_reason},
          {"create_time", Micros(s.create_time)},
          {"update_time", Micros(s.update_time)},
          {"timezone", s.timezone},
          {"buffer", absl::StrCat(absl::ToInt64Microseconds(s.supervisor_buffer))},
          {"sequence", absl::StrCat(s.sequence)},
          {"version", absl::StrCat(s.version + 1)}};
}

absl::Duration MicrosDuration(const std::string& text) {
  int64_t micros = 0;
  (void)absl::SimpleAtoi(text, &micros);
  return absl::Microseconds(micros);
}

Session DecodeSession(const std::string& org,
                      const std::vector<std::pair<std::string, std::string>>& pairs) {
  Session s;
  s.organization_id = org;
  for (const auto& [name, value] : pairs) {
    if (name == "id")
      s.id = value;
    else if (name == "series_id")
      s.series_id = value;
    else if (name == "kind")
      s.kind = static_cast<SessionKind>(ParseRedisInt(value));
    else if (name == "state")
      s.state = static_cast<SessionState>(ParseRedisInt(value));
    else if (name == "title")
      s.title = value;
    else if (name == "supervisors")
      s.supervisor_ids = Ids(value);
    else if (name == "participants")
      s.participant_ids = Ids(value);
    else if (name == "start_time")
      s.start_time = ParseMicros(value);
    else if (name == "duration")
      s.duration = MicrosDuration(value);
    else if (name == "capacity")
      s.capacity = ParseRedisInt(value);
    else if (name == "rrule")
      s.recurrence_rule = value;
    else if (name == "attendance")
      s.attendance = DecodeAttendance(value);
    else if (name == "incident_id")
      s.incident_id = value;
    else if (name == "offer_expire_time")
      s.offer_expire_time = ParseMicros(value);
    else if (name == "cancel_reason")
      s.cancel_reason = value;
    else if (name == "create_time")
      s.create_time = ParseMicros(value);
    else if (name == "update_time")
      s.update_time = ParseMicros(value);
    else if (name == "timezone")
      s.timezone = value;
    else if (name == "buffer")
      s.supervisor_buffer = MicrosDuration(value);
    else if (name == "sequence")
      s.sequence = ParseRedisInt(value);
    else if (name == "version")
      s.version = ParseRedisInt(value);
  }
  return s;
}

std::vector<std::pair<std::string, std::string>> SeriesFields(const Series& s) {
  const Session& p = s.prototype;
  return {{"id", s.id},
          {"rrule", s.recurrence_rule},
          {"timezone", s.timezone},
          {"first_start", Micros(s.first_start)},
          {"generated_until", Micros(s.generated_until)},
          {"end_before", Micros(s.end_before)},
          {"kind", absl::StrCat(static_cast<int>(p.kind))},
          {"title", p.title},
          {"supervisors", absl::StrJoin(p.supervisor_ids, " ")},
          {"participants", absl::StrJoin(p.participant_ids, " ")},
          {"duration", absl::StrCat(absl::ToInt64Microseconds(p.duration))},
          {"capacity", absl::StrCat(p.capacity)},
          {"buffer", absl::StrCat(absl::ToInt64Microseconds(p.supervisor_buffer))},
          {"version", absl::StrCat(s.version + 1)}};
}

Series DecodeSeries(const std::string& org,
                    const std::vector<std::pair<std::string, std::string>>& pairs) {
  Series s;
  s.organization_id = org;
  Session& p = s.prototype;
  p.organization_id = org;
  p.state = SessionState::kScheduled;
  for (const auto& [name, value] : pairs) {
    if (name == "id")
      s.id = value;
    else if (name == "rrule")
      s.recurrence_rule = p.recurrence_rule = value;
    else if (name == "timezone")
      s.timezone = p.timezone = value;
    else if (name == "first_start")
      s.first_start = ParseMicros(value);
    else if (name == "generated_until")
      s.generated_until = ParseMicros(value, absl::InfiniteFuture());
    else if (name == "end_before")
      s.end_before = ParseMicros(value, absl::InfiniteFuture());
    else if (name == "kind")
      p.kind = static_cast<SessionKind>(ParseRedisInt(value));
    else if (name == "title")
      p.title = value;
    else if (name == "supervisors")
      p.supervisor_ids = Ids(value);
    else if (name == "participants")
      p.participant_ids = Ids(value);
    else if (name == "duration")
      p.duration = MicrosDuration(value);
    else if (name == "capacity")
      p.capacity = ParseRedisInt(value);
    else if (name == "buffer")
      p.supervisor_buffer = MicrosDuration(value);
    else if (name == "version")
      s.version = ParseRedisInt(value);
  }
  return s;
}

// The one write script: a small program of checks, then writes, so every change of the service
// (a session, a series with its occurrences, a seat, an attendance) is one atomic step that
// declares every key it touches.
const RedisScript& ApplyScript() {
  // KEYS: request, event stream, then every key the program names (by index).
  // ARGV: retention, result, the event stream's cap, check count, checks…, write count, writes…
  //   VER k expected            the hash's version field is `expected` ('0': absent)
  //   FREE k min start end msg n ids…   no busy entry of k overlaps [start, end) but those ids
  //   DEL k | HSET k n f v… | ZADD k score member | ZADDGT k score member | ZREM k member
  //   XADD n f v…               an event on KEYS[2]
  static const auto* script = new RedisScript(IdempotentScript(absl::StrCat(kXaddEventLua, R"lua(
  local a = 3
  local function arg() a = a + 1; return ARGV[a] end
  local function key() return KEYS[tonumber(arg())] end
  local checks = tonumber(arg())
  for c = 1, checks do
    local op = arg()
    if op == 'VER' then
      local k = key(); local expected = arg()
      local version = redis.call('HGET', k, 'version') or '0'
      if version ~= expected then
        return redis.error_reply('ABORTED the session changed meanwhile; read it again')
      end
    else -- FREE
      local k = key(); local min = arg(); local s = tonumber(arg()); local e = arg()
      local message = arg(); local n = tonumber(arg()); local ignore = {}
      for i = 1, n do ignore[arg()] = true end
      for _, member in ipairs(redis.call('ZRANGEBYSCORE', k, min, '(' .. e)) do
        local bar = string.find(member, '|', 1, true)
        local ends = tonumber(string.sub(member, 1, bar - 1))
        if ends > s and not ignore[string.sub(member, bar + 1)] then
          return redis.error_reply('FAILED_PRECONDITION ' .. message)
        end
      end
    end
  end
  local writes = tonumber(arg())
  for w = 1, writes do
    local op = arg()
    if op == 'DEL' then
      redis.call('DEL', key())
    elseif op == 'HSET' then
      local k = key(); local n = tonumber(arg()); local fields = {}
      for f = 1, 2 * n do fields[f] = arg() end
      redis.call('HSET', k, unpack(fields))
    elseif op == 'ZADD' then
      local k = key(); local score = arg(); redis.call('ZADD', k, score, arg())
    elseif op == 'ZADDGT' then
      local k = key(); local score = arg(); redis.call('ZADD', k, 'GT', score, arg())
    elseif op == 'ZREM' then
      local k = key(); redis.call('ZREM', k, arg())
    else -- XADD
      local n = tonumber(arg()); local fields = {}
      for f = 1, 2 * n do fields[f] = arg() end
      xadd_event(KEYS[2], 'MAXLEN', '~', ARGV[3], '*', unpack(fields))
    end
  end
  return ARGV[2]
)lua")));
  return *script;
}

// Builds one run of ApplyScript.
class Program {
 public:
  Program(const std::string& org, std::string request_key, bool remember, std::string result) {
    keys_ = {std::move(request_key), EventsKey(org)};
    head_ = {remember ? absl::StrCat(absl::ToInt64Seconds(kRequestIdRetention)) : "0",
             std::move(result), absl::StrCat(kEventStreamMaxLen)};
  }

  void Version(const std::string& key, long long expected) {
    ++check_count_;
    Append(checks_, {"VER", Key(key), absl::StrCat(expected)});
  }
  void Free(const std::string& key, absl::Time start, absl::Time end, const std::string& message,
            const std::vector<std::string>& ignore) {
    ++check_count_;
    Append(checks_, {"FREE", Key(key), Score(start - kMaxBusySpan), Score(start), Score(end),
                     message, absl::StrCat(ignore.size())});
    Append(checks_, ignore);
  }
  void Del(const std::string& key) { Write({"DEL", Key(key)}); }
  void Hset(const std::string& key, const std::vector<std::pair<std::string, std::string>>& f) {
    Write({"HSET", Key(key), absl::StrCat(f.size())});
    for (const auto& [name, value] : f) Append(writes_, {name, value});
  }
  void Zadd(const std::string& key, absl::Time score, const std::string& member) {
    Write({"ZADD", Key(key), Score(score), member});
  }
  void ZaddGreater(const std::string& key, absl::Time score, const std::string& member) {
    Write({"ZADDGT", Key(key), Score(score), member});
  }
  void Zrem(const std::string& key, const std::string& member) {
    Write({"ZREM", Key(key), member});
  }
  void Event(const std::string& org, const DomainEvent& event) {
    std::vector<EventField> fields;
    for (const auto& [name, value] : event.fields) fields.push_back({name, value});
    std::vector<std::string> pairs = EventFieldPairs(event.type, org, event.occur_time, fields);
    Write({"XADD", absl::StrCat(pairs.size() / 2)});
    Append(writes_, pairs);
  }

  absl::StatusOr<IdempotentResult> Run(RedisClient& redis) {
    std::vector<std::string> args = head_;
    args.push_back(absl::StrCat(check_count_));
    Append(args, checks_);
    args.push_back(absl::StrCat(write_count_));
    Append(args, writes_);
    return ParseIdempotentReply(redis.Eval(ApplyScript(), keys_, args));
  }

 private:
  static void Append(std::vector<std::string>& to, const std::vector<std::string>& values) {
    to.insert(to.end(), values.begin(), values.end());
  }
  void Write(const std::vector<std::string>& values) {
    ++write_count_;
    Append(writes_, values);
  }
  std::string Key(const std::string& key) {
    auto [it, added] = key_index_.try_emplace(key, keys_.size() + 1);
    if (added) keys_.push_back(key);
    return absl::StrCat(it->second);
  }

  std::vector<std::string> keys_;
  std::map<std::string, size_t> key_index_;
  std::vector<std::string> head_;
  std::vector<std::string> checks_;
  std::vector<std::string> writes_;
  int check_count_ = 0;
  int write_count_ = 0;
};

// The busy entries a session holds: its supervisors' (with the buffer after it) and its
// participants', while it is scheduled or offered.
std::vector<std::pair<std::string, std::string>> BusyEntries(const std::string& org,
                                                             const Session& s) {
  std::vector<std::pair<std::string, std::string>> entries;
  if (!s.Active()) return entries;
  for (const std::string& p : s.supervisor_ids) {
    entries.push_back({BusyKey(org, p), BusyMember(s.id, s.end_time() + s.supervisor_buffer)});
  }
  for (const std::string& p : s.participant_ids) {
    entries.push_back({BusyKey(org, p), BusyMember(s.id, s.end_time())});
  }
  return entries;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> LoadHash(RedisClient& redis,
                                                                          const std::string& key) {
  auto reply = redis.Execute({"HGETALL", key});
  if (!reply.ok()) return reply.status();
  return ReplyPairs(*reply);
}

std::vector<std::string> Members(const RedisReply& reply) {
  std::vector<std::string> out;
  for (const RedisReply& element : reply.elements) out.push_back(element.str);
  return out;
}

// Weekly windows "weekday,start,end;…" and exceptions "start,end,available;…" (micros).
std::string EncodeWeekly(const std::vector<WeeklyWindow>& weekly) {
  std::vector<std::string> parts;
  for (const WeeklyWindow& w : weekly) {
    parts.push_back(absl::StrCat(w.weekday, ",", w.start_minute, ",", w.end_minute));
  }
  return absl::StrJoin(parts, ";");
}

std::string EncodeExceptions(const std::vector<AvailabilityException>& exceptions) {
  std::vector<std::string> parts;
  for (const AvailabilityException& e : exceptions) {
    parts.push_back(
        absl::StrCat(Micros(e.start_time), ",", Micros(e.end_time), ",", e.available ? 1 : 0));
  }
  return absl::StrJoin(parts, ";");
}

Availability DecodeAvailability(const std::string& supervisor_id,
                                const std::vector<std::pair<std::string, std::string>>& pairs) {
  Availability availability;
  availability.supervisor_id = supervisor_id;
  for (const auto& [name, value] : pairs) {
    for (absl::string_view part : absl::StrSplit(value, ';', absl::SkipEmpty())) {
      std::vector<std::string> f = absl::StrSplit(part, ',');
      if (f.size() != 3) continue;
      if (name == "weekly") {
        availability.weekly.push_back(
            {ParseRedisInt(f[0]), ParseRedisInt(f[1]), ParseRedisInt(f[2])});
      } else if (name == "exceptions") {
        availability.exceptions.push_back(
            {ParseRedisMicros(f[0]), ParseRedisMicros(f[1]), f[2] == "1"});
      }
    }
  }
  return availability;
}

// A calendar feed's hash: its person, the hash of its token (never the token) and when it was
// created; its id and organisation are in its key.
std::vector<std::pair<std::string, std::string>> CalendarFeedFields(const CalendarFeed& feed) {
  return {{"person_id", feed.person_id},
          {"token_hash", feed.token_hash},
          {"create_time", Micros(feed.create_time)}};
}

CalendarFeed DecodeCalendarFeed(const std::string& org, const std::string& id,
                                const std::vector<std::pair<std::string, std::string>>& pairs) {
  CalendarFeed feed;
  feed.id = id;
  feed.organization_id = org;
  for (const auto& [name, value] : pairs) {
    if (name == "person_id")
      feed.person_id = value;
    else if (name == "token_hash")
      feed.token_hash = value;
    else if (name == "create_time")
      feed.create_time = ParseMicros(value);
  }
  return feed;
}

}  // namespace

const std::vector<PersonKeyFamily>& RedisSupervisionStore::PersonKeyFamilies() {
  // Made with the key functions themselves, `*` for the organisation and every id, so that a
  // change of the layout cannot leave its pattern behind. A series' index comes before the
  // series, whose pattern matches it too.
  const std::string any = "*";
  static const auto* families = new std::vector<PersonKeyFamily>{
      {SessionKey(any, any), kSessionsRecords, ""},
      {SessionsKey(any), "",
       "the organisation's index of session ids by start: the person's sessions are exported as "
       "sessions"},
      {PersonSessionsKey(any, any), kSessionsRecords, ""},
      {BusyKey(any, any), "",
       "the end (with a debrief's buffer for its supervisors) and id of each scheduled or "
       "offered session of the person, by start, for the double-booking checks: those sessions "
       "are exported as sessions"},
      {SeriesSessionsKey(any, any), "",
       "the ids of a series' occurrences by start: the person's are exported as sessions"},
      {SeriesKey(any, any), kSeriesRecords, ""},
      {HorizonKey(any), "",
       "series ids by how far their occurrences exist, for the top-up: the person's series are "
       "exported as series"},
      {OffersKey(any), "",
       "debrief offer ids by when they lapse: the offers are sessions, exported as sessions "
       "with their offer_expire_time"},
      {AvailabilityKey(any, any), kAvailabilityRecords, ""},
      {PolicyKey(any), "",
       "the organisation's supervision policy (cadence, debrief window and buffer, "
       "facilitators): names nobody"},
      {LastSupervisedKey(any), kLastSupervisedRecords, ""},
      {OverdueKey(any, any), kOverdueAnnouncedRecords, ""},
      {RequestKey(any, "supervision", any, any), "",
       "idempotency of creates for 7 days (its caller's id, or `incident:<id>` for a debrief "
       "offer): the id of a session exported as sessions"},
      {CalendarFeedKey(any, any), kCalendarFeedsRecords, ""},
      {PersonCalendarFeedsKey(any, any), kCalendarFeedsRecords, ""},
      {OrganizationsKey(), "", "the organisations the sweep visits: names nobody"},
      {EventsKey(any), "",
       "the service's events for other services (ids and facts, capped in length): what they "
       "announce is exported as sessions (scheduled, cancelled, attended, debrief offered and "
       "declined) and overdueAnnounced (supervision.overdue)"},
  };
  return *families;
}

absl::StatusOr<std::optional<Availability>> RedisSupervisionStore::GetAvailability(
    const std::string& organization_id, const std::string& supervisor_id) {
  auto pairs = LoadHash(redis_, AvailabilityKey(organization_id, supervisor_id));
  if (!pairs.ok()) return pairs.status();
  if (pairs->empty()) return std::nullopt;
  return DecodeAvailability(supervisor_id, *pairs);
}

absl::StatusOr<std::vector<Availability>> RedisSupervisionStore::GetAvailabilities(
    const std::string& organization_id, const std::vector<std::string>& supervisor_ids) {
  std::vector<Availability> out;
  if (supervisor_ids.empty()) return out;
  std::vector<RedisCommand> reads;
  for (const std::string& id : supervisor_ids) {
    reads.push_back({"HGETALL", AvailabilityKey(organization_id, id)});
  }
  auto replies = redis_.ExecuteAll(std::move(reads));
  if (!replies.ok()) return replies.status();
  for (size_t i = 0; i < supervisor_ids.size(); ++i) {
    out.push_back(DecodeAvailability(supervisor_ids[i], ReplyPairs((*replies)[i])));
  }
  return out;
}

absl::Status RedisSupervisionStore::SetAvailability(const std::string& organization_id,
                                                    const Availability& availability) {
  auto reply = redis_.Execute({"HSET", AvailabilityKey(organization_id, availability.supervisor_id),
                               "weekly", EncodeWeekly(availability.weekly), "exceptions",
                               EncodeExceptions(availability.exceptions)});
  if (!reply.ok()) return reply.status();
  return ScriptErrorToStatus(*reply);
}

absl::StatusOr<std::optional<Session>> RedisSupervisionStore::GetSession(
    const std::string& organization_id, const std::string& session_id) {
  auto pairs = LoadHash(redis_, SessionKey(organization_id, session_id));
  if (!pairs.ok()) return pairs.status();
  if (pairs->empty()) return std::nullopt;
  return DecodeSession(organization_id, *pairs);
}

absl::StatusOr<std::vector<Session>> RedisSupervisionStore::GetSessions(
    const std::string& organization_id, const std::vector<std::string>& session_ids) {
  std::vector<Session> sessions;
  if (session_ids.empty()) return sessions;
  std::vector<RedisCommand> reads;
  for (const std::string& id : session_ids) {
    reads.push_back({"HGETALL", SessionKey(organization_id, id)});
  }
  auto replies = redis_.ExecuteAll(std::move(reads));
  if (!replies.ok()) return replies.status();
  for (const RedisReply& reply : *replies) {
    auto pairs = ReplyPairs(reply);
    if (!pairs.empty()) sessions.push_back(DecodeSession(organization_id, pairs));
  }
  return sessions;
}

absl::StatusOr<std::map<std::string, std::vector<BusyInterval>>>
RedisSupervisionStore::BusyIntervals(const std::string& organization_id,
                                     const std::vector<std::string>& person_ids, absl::Time from,
                                     absl::Time to) {
  std::map<std::string, std::vector<BusyInterval>> busy;
  if (person_ids.empty()) return busy;
  std::vector<RedisCommand> reads;
  for (const std::string& person : person_ids) {
    reads.push_back({"ZRANGEBYSCORE", BusyKey(organization_id, person), Score(from - kMaxBusySpan),
                     absl::StrCat("(", Score(to)), "WITHSCORES"});
  }
  auto replies = redis_.ExecuteAll(std::move(reads));
  if (!replies.ok()) return replies.status();
  for (size_t i = 0; i < person_ids.size(); ++i) {
    std::vector<BusyInterval>& intervals = busy[person_ids[i]];
    const RedisReply& reply = (*replies)[i];
    for (size_t j = 0; j + 1 < reply.elements.size(); j += 2) {
      std::pair<std::string, std::string> member =
          absl::StrSplit(reply.elements[j].str, absl::MaxSplits('|', 1));
      BusyInterval interval;
      interval.session_id = member.second;
      interval.start = ScoreTime(reply.elements[j + 1].str);
      interval.end = ParseRedisMicros(member.first);
      if (interval.end > from) intervals.push_back(std::move(interval));
    }
  }
  return busy;
}

absl::StatusOr<SessionIndexPage> RedisSupervisionStore::ListSessionIds(
    const std::string& organization_id, const std::string& person_id, absl::Time from,
    absl::Time to, int limit, const std::string& position) {
  std::string index = person_id.empty() ? SessionsKey(organization_id)
                                        : PersonSessionsKey(organization_id, person_id);
  std::string min = from == absl::InfinitePast() ? "-inf" : Score(from);
  std::string max = to == absl::InfiniteFuture() ? "+inf" : absl::StrCat("(", Score(to));
  // A position is "<start micros>/<session id>": sessions sharing a start are ordered by id, as
  // Redis orders equal scores, so a page never skips or repeats one.
  std::string after_id;
  int64_t after_score = 0;
  if (!position.empty()) {
    std::pair<std::string, std::string> parts = absl::StrSplit(position, absl::MaxSplits('/', 1));
    if (!absl::SimpleAtoi(parts.first, &after_score) || parts.second.empty()) {
      return absl::InvalidArgumentError("page_token: is not a page token of this listing");
    }
    after_id = parts.second;
    min = absl::StrCat(after_score);
  }
  // Reads on in batches while the sessions sharing the position's start are being skipped.
  const int batch = std::max(256, limit + 1);
  SessionIndexPage page;
  std::string last_score;
  bool more = false;
  for (int offset = 0;; offset += batch) {
    auto range = redis_.Execute({"ZRANGEBYSCORE", index, min, max, "WITHSCORES", "LIMIT",
                                 absl::StrCat(offset), absl::StrCat(batch)});
    if (!range.ok()) return range.status();
    for (size_t i = 0; i + 1 < range->elements.size(); i += 2) {
      const std::string& id = range->elements[i].str;
      const std::string& score = range->elements[i + 1].str;
      if (!position.empty()) {
        int64_t value = static_cast<int64_t>(ParseRedisDouble(score));
        if (value == after_score && id <= after_id) continue;
      }
      if (static_cast<int>(page.session_ids.size()) == limit) {
        more = true;
        break;
      }
      page.session_ids.push_back(id);
      last_score = score;
    }
    if (more || static_cast<int>(range->elements.size() / 2) < batch) break;
  }
  if (more) {
    page.next_position = absl::StrCat(static_cast<int64_t>(ParseRedisDouble(last_score)), "/",
                                      page.session_ids.back());
  }
  return page;
}

absl::StatusOr<std::vector<std::string>> RedisSupervisionStore::SeriesSessionIds(
    const std::string& organization_id, const std::string& series_id, absl::Time from) {
  auto reply = redis_.Execute(
      {"ZRANGEBYSCORE", SeriesSessionsKey(organization_id, series_id), Score(from), "+inf"});
  if (!reply.ok()) return reply.status();
  return Members(*reply);
}

namespace {
std::string SupervisionRequestKey(const std::string& org, const CreateRequest& request) {
  return RequestKey(org, "supervision", request.caller_id,
                    request.request_id.empty() ? "-" : request.request_id);
}
}  // namespace

absl::StatusOr<std::optional<std::string>> RedisSupervisionStore::EarlierResult(
    const std::string& organization_id, const CreateRequest& request) {
  if (request.request_id.empty()) return std::nullopt;
  auto reply = redis_.Execute({"GET", SupervisionRequestKey(organization_id, request)});
  if (!reply.ok()) return reply.status();
  if (reply->IsNil()) return std::nullopt;
  return reply->str;
}

absl::StatusOr<Created> RedisSupervisionStore::Apply(const std::string& organization_id,
                                                     const Commit& commit,
                                                     const CreateRequest& request,
                                                     const std::string& result) {
  const std::string& org = organization_id;
  Program program(org, SupervisionRequestKey(org, request), !request.request_id.empty(), result);
  for (const SessionChange& change : commit.sessions) {
    program.Version(SessionKey(org, change.session.id), change.session.version);
  }
  for (const Series& series : commit.series) {
    program.Version(SeriesKey(org, series.id), series.version);
  }
  for (const Session& session : commit.deleted_sessions) {
    program.Version(SessionKey(org, session.id), session.version);
  }
  for (const Series& series : commit.deleted_series) {
    program.Version(SeriesKey(org, series.id), series.version);
  }
  for (const BusyCheck& check : commit.checks) {
    program.Free(BusyKey(org, check.person_id), check.start, check.end, check.message,
                 check.ignore_session_ids);
  }
  for (const SessionChange& change : commit.sessions) {
    const Session& s = change.session;
    std::string key = SessionKey(org, s.id);
    if (change.before.has_value()) {
      const Session& b = *change.before;
      for (const auto& [busy, member] : BusyEntries(org, b)) program.Zrem(busy, member);
      for (const std::vector<std::string>* ids : {&b.supervisor_ids, &b.participant_ids}) {
        for (const std::string& p : *ids) {
          if (!s.Involves(p)) program.Zrem(PersonSessionsKey(org, p), s.id);
        }
      }
      if (b.series_id != s.series_id && !b.series_id.empty()) {
        program.Zrem(SeriesSessionsKey(org, b.series_id), s.id);
      }
    }
    program.Del(key);
    program.Hset(key, SessionFields(s));
    for (const auto& [busy, member] : BusyEntries(org, s)) {
      program.Zadd(busy, s.start_time, member);
    }
    program.Zadd(SessionsKey(org), s.start_time, s.id);
    for (const std::vector<std::string>* ids : {&s.supervisor_ids, &s.participant_ids}) {
      for (const std::string& p : *ids) program.Zadd(PersonSessionsKey(org, p), s.start_time, s.id);
    }
    if (!s.series_id.empty()) program.Zadd(SeriesSessionsKey(org, s.series_id), s.start_time, s.id);
    if (s.state == SessionState::kOffered) {
      program.Zadd(OffersKey(org), s.offer_expire_time, s.id);
    } else {
      program.Zrem(OffersKey(org), s.id);
    }
  }
  for (const Series& series : commit.series) {
    std::string key = SeriesKey(org, series.id);
    program.Del(key);
    program.Hset(key, SeriesFields(series));
    if (series.generated_until == absl::InfiniteFuture() ||
        series.end_before <= series.generated_until) {
      program.Zrem(HorizonKey(org), series.id);  // nothing more to generate
    } else {
      program.Zadd(HorizonKey(org), series.generated_until, series.id);
    }
  }
  for (const auto& [volunteer, time] : commit.supervised_reset) {
    if (time.has_value()) {
      program.Zadd(LastSupervisedKey(org), *time, volunteer);
    } else {
      program.Zrem(LastSupervisedKey(org), volunteer);
    }
  }
  for (const auto& [volunteer, time] : commit.supervised) {
    program.ZaddGreater(LastSupervisedKey(org), time, volunteer);
  }
  for (const Session& s : commit.deleted_sessions) {
    for (const auto& [busy, member] : BusyEntries(org, s)) program.Zrem(busy, member);
    for (const std::vector<std::string>* ids : {&s.supervisor_ids, &s.participant_ids}) {
      for (const std::string& p : *ids) program.Zrem(PersonSessionsKey(org, p), s.id);
    }
    program.Zrem(SessionsKey(org), s.id);
    if (!s.series_id.empty()) program.Zrem(SeriesSessionsKey(org, s.series_id), s.id);
    program.Zrem(OffersKey(org), s.id);
    program.Del(SessionKey(org, s.id));
  }
  for (const Series& series : commit.deleted_series) {
    program.Zrem(HorizonKey(org), series.id);
    program.Del(SeriesSessionsKey(org, series.id));
    program.Del(SeriesKey(org, series.id));
  }
  for (const DomainEvent& event : commit.events) program.Event(org, event);
  auto ran = program.Run(redis_);
  if (!ran.ok()) return ran.status();
  return Created{ran->value, ran->replayed};
}

absl::StatusOr<std::optional<Series>> RedisSupervisionStore::GetSeries(
    const std::string& organization_id, const std::string& series_id) {
  auto pairs = LoadHash(redis_, SeriesKey(organization_id, series_id));
  if (!pairs.ok()) return pairs.status();
  if (pairs->empty()) return std::nullopt;
  return DecodeSeries(organization_id, *pairs);
}

absl::StatusOr<std::vector<Series>> RedisSupervisionStore::GetSeveralSeries(
    const std::string& organization_id, const std::vector<std::string>& series_ids) {
  std::vector<Series> series;
  if (series_ids.empty()) return series;
  std::vector<RedisCommand> reads;
  for (const std::string& id : series_ids) {
    reads.push_back({"HGETALL", SeriesKey(organization_id, id)});
  }
  auto replies = redis_.ExecuteAll(std::move(reads));
  if (!replies.ok()) return replies.status();
  for (const RedisReply& reply : *replies) {
    auto pairs = ReplyPairs(reply);
    if (!pairs.empty()) series.push_back(DecodeSeries(organization_id, pairs));
  }
  return series;
}

absl::StatusOr<std::vector<std::string>> RedisSupervisionStore::SeriesToTopUp(
    const std::string& organization_id, absl::Time horizon, int limit) {
  auto reply =
      redis_.Execute({"ZRANGEBYSCORE", HorizonKey(organization_id), "-inf",
                      absl::StrCat("(", Score(horizon)), "LIMIT", "0", absl::StrCat(limit)});
  if (!reply.ok()) return reply.status();
  return Members(*reply);
}

absl::StatusOr<std::vector<std::string>> RedisSupervisionStore::ExpiredOffers(
    const std::string& organization_id, absl::Time now, int limit) {
  auto reply = redis_.Execute({"ZRANGEBYSCORE", OffersKey(organization_id), "-inf", Score(now),
                               "LIMIT", "0", absl::StrCat(limit)});
  if (!reply.ok()) return reply.status();
  return Members(*reply);
}

absl::StatusOr<SupervisionPolicy> RedisSupervisionStore::GetPolicy(
    const std::string& organization_id) {
  auto pairs = LoadHash(redis_, PolicyKey(organization_id));
  if (!pairs.ok()) return pairs.status();
  SupervisionPolicy policy;
  for (const auto& [name, value] : *pairs) {
    if (name == "cadence")
      policy.cadence = MicrosDuration(value);
    else if (name == "debrief_offer_window")
      policy.debrief_offer_window = MicrosDuration(value);
    else if (name == "debrief_buffer")
      policy.debrief_buffer = MicrosDuration(value);
    else if (name == "require_two_facilitators")
      policy.require_two_facilitators = value == "1";
  }
  return policy;
}

absl::Status RedisSupervisionStore::SetPolicy(const std::string& organization_id,
                                              const SupervisionPolicy& policy) {
  auto micros = [](absl::Duration d) { return absl::StrCat(absl::ToInt64Microseconds(d)); };
  auto reply =
      redis_.Execute({"HSET", PolicyKey(organization_id), "cadence", micros(policy.cadence),
                      "debrief_offer_window", micros(policy.debrief_offer_window), "debrief_buffer",
                      micros(policy.debrief_buffer), "require_two_facilitators",
                      policy.require_two_facilitators ? "1" : "0"});
  if (!reply.ok()) return reply.status();
  return ScriptErrorToStatus(*reply);
}

absl::StatusOr<std::map<std::string, absl::Time>> RedisSupervisionStore::LastSupervised(
    const std::string& organization_id) {
  auto reply = redis_.Execute(
      {"ZRANGEBYSCORE", LastSupervisedKey(organization_id), "-inf", "+inf", "WITHSCORES"});
  if (!reply.ok()) return reply.status();
  std::map<std::string, absl::Time> last;
  for (size_t i = 0; i + 1 < reply->elements.size(); i += 2) {
    last[reply->elements[i].str] = ScoreTime(reply->elements[i + 1].str);
  }
  return last;
}

absl::StatusOr<CadenceMarks> RedisSupervisionStore::GetCadenceMarks(
    const std::string& organization_id, const std::string& volunteer_id) {
  auto replies = redis_.ExecuteAll({{"ZSCORE", LastSupervisedKey(organization_id), volunteer_id},
                                    {"GET", OverdueKey(organization_id, volunteer_id)}});
  if (!replies.ok()) return replies.status();
  for (const RedisReply& reply : *replies) {
    if (reply.IsError()) return ScriptErrorToStatus(reply);
  }
  CadenceMarks marks;
  if (!(*replies)[0].IsNil()) marks.last_supervised = ScoreTime((*replies)[0].str);
  if (!(*replies)[1].IsNil()) marks.published_gap = (*replies)[1].str;
  return marks;
}

absl::StatusOr<bool> RedisSupervisionStore::PublishOverdueOnce(const std::string& organization_id,
                                                               const std::string& volunteer_id,
                                                               const std::string& gap,
                                                               const DomainEvent& event) {
  // KEYS: the volunteer's last published gap, the event stream. ARGV: gap, cap, fields…
  static const auto* script = new RedisScript(absl::StrCat(kXaddEventLua, R"lua(
  if redis.call('GET', KEYS[1]) == ARGV[1] then return 0 end
  redis.call('SET', KEYS[1], ARGV[1])
  xadd_event(KEYS[2], 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, 3))
  return 1
)lua"));
  std::vector<EventField> fields;
  for (const auto& [name, value] : event.fields) fields.push_back({name, value});
  std::vector<std::string> args{gap, absl::StrCat(kEventStreamMaxLen)};
  for (std::string& value :
       EventFieldPairs(event.type, organization_id, event.occur_time, fields)) {
    args.push_back(std::move(value));
  }
  auto reply = redis_.Eval(
      *script, {OverdueKey(organization_id, volunteer_id), EventsKey(organization_id)}, args);
  if (!reply.ok()) return reply.status();
  if (reply->IsError()) return ScriptErrorToStatus(*reply);
  return reply->integer == 1;
}

absl::StatusOr<std::optional<CalendarFeed>> RedisSupervisionStore::GetCalendarFeed(
    const std::string& organization_id, const std::string& feed_id) {
  auto pairs = LoadHash(redis_, CalendarFeedKey(organization_id, feed_id));
  if (!pairs.ok()) return pairs.status();
  if (pairs->empty()) return std::nullopt;
  return DecodeCalendarFeed(organization_id, feed_id, *pairs);
}

absl::StatusOr<std::vector<CalendarFeed>> RedisSupervisionStore::ListCalendarFeeds(
    const std::string& organization_id, const std::string& person_id) {
  auto ids =
      redis_.Execute({"ZRANGE", PersonCalendarFeedsKey(organization_id, person_id), "0", "-1"});
  if (!ids.ok()) return ids.status();
  std::vector<CalendarFeed> feeds;
  if (ids->elements.empty()) return feeds;
  std::vector<RedisCommand> reads;
  for (const RedisReply& id : ids->elements) {
    reads.push_back({"HGETALL", CalendarFeedKey(organization_id, id.str)});
  }
  auto replies = redis_.ExecuteAll(std::move(reads));
  if (!replies.ok()) return replies.status();
  for (size_t i = 0; i < replies->size(); ++i) {
    auto pairs = ReplyPairs((*replies)[i]);
    if (!pairs.empty()) {
      feeds.push_back(DecodeCalendarFeed(organization_id, ids->elements[i].str, pairs));
    }
  }
  return feeds;
}

absl::StatusOr<bool> RedisSupervisionStore::AddCalendarFeed(const CalendarFeed& feed, int limit) {
  // KEYS: the feed, its person's feeds. ARGV: limit, create time (score), feed id, fields…
  static const auto* script = new RedisScript(R"lua(
  if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[1]) then return 0 end
  redis.call('HSET', KEYS[1], unpack(ARGV, 4))
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
  return 1
)lua");
  const std::string& org = feed.organization_id;
  std::vector<std::string> args{absl::StrCat(limit), Score(feed.create_time), feed.id};
  for (auto& [name, value] : CalendarFeedFields(feed)) {
    args.push_back(std::move(name));
    args.push_back(std::move(value));
  }
  auto reply = redis_.Eval(
      *script, {CalendarFeedKey(org, feed.id), PersonCalendarFeedsKey(org, feed.person_id)}, args);
  if (!reply.ok()) return reply.status();
  if (reply->IsError()) return ScriptErrorToStatus(*reply);
  return reply->integer == 1;
}

absl::StatusOr<bool> RedisSupervisionStore::RemoveCalendarFeed(const CalendarFeed& feed) {
  const std::string& org = feed.organization_id;
  auto replies =
      redis_.Transaction({{"DEL", CalendarFeedKey(org, feed.id)},
                          {"ZREM", PersonCalendarFeedsKey(org, feed.person_id), feed.id}});
  if (!replies.ok()) return replies.status();
  return !replies->empty() && replies->front().integer == 1;
}

absl::Status RedisSupervisionStore::AddOrganization(const std::string& organization_id) {
  auto reply = redis_.Execute({"SADD", OrganizationsKey(), organization_id});
  if (!reply.ok()) return reply.status();
  return ScriptErrorToStatus(*reply);
}

absl::StatusOr<std::vector<std::string>> RedisSupervisionStore::Organizations() {
  auto reply = redis_.Execute({"SMEMBERS", OrganizationsKey()});
  if (!reply.ok()) return reply.status();
  return Members(*reply);
}

// --- Erasing a person ----------------------------------------------------------------------------

namespace {

// Calls `page` with each page of the keys matching `pattern` (SCAN, so Redis is never blocked
// by a walk of the whole keyspace); a key may come twice, so `page` must be idempotent.
absl::Status ForEachKeyPage(
    RedisClient& redis, const std::string& pattern,
    const std::function<absl::Status(const std::vector<std::string>&)>& page) {
  std::string cursor = "0";
  do {
    auto reply = redis.Execute({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
    if (!reply.ok()) return reply.status();
    if (reply->IsError()) return ScriptErrorToStatus(*reply);
    if (reply->elements.size() != 2) return absl::InternalError("unexpected reply to SCAN");
    cursor = reply->elements[0].str;
    std::vector<std::string> keys = Members(reply->elements[1]);
    if (keys.empty()) continue;
    if (absl::Status status = page(keys); !status.ok()) return status;
  } while (cursor != "0");
  return absl::OkStatus();
}

// Runs `commands` pipelined; the first error reply is the answer.
absl::Status ExecuteAllOk(RedisClient& redis, std::vector<RedisCommand> commands) {
  if (commands.empty()) return absl::OkStatus();
  auto replies = redis.ExecuteAll(std::move(commands));
  if (!replies.ok()) return replies.status();
  for (const RedisReply& reply : *replies) {
    if (reply.IsError()) return ScriptErrorToStatus(reply);
  }
  return absl::OkStatus();
}

// Whether an event (or a dead letter, whose fields are the event's as `event.<name>` beside
// the failure's) names the person: a field that is their id, or a list of ids (space or comma
// separated, like `participant_ids`) or a message that holds it.
bool EntryNames(const StreamEntry& entry, const std::string& person_id) {
  for (const EventField& field : entry.fields) {
    for (absl::string_view word : absl::StrSplit(field.value, absl::ByAnyChar(" ,"))) {
      if (word == person_id) return true;
    }
  }
  return false;
}

// The entries read from a stream at a time.
constexpr int kStreamChunk = 1000;

}  // namespace

absl::StatusOr<std::vector<Series>> RedisSupervisionStore::SeriesNaming(
    const std::string& organization_id, const std::string& person_id) {
  // "series:<r>" and "series:<r>:sessions" match the same pattern; a series id has no colon.
  const std::string prefix = SeriesKey(organization_id, "");
  std::vector<Series> naming;
  absl::Status scanned =
      ForEachKeyPage(redis_, prefix + "*", [&](const std::vector<std::string>& keys) {
        std::vector<RedisCommand> reads;
        for (const std::string& key : keys) {
          if (key.find(':', prefix.size()) == std::string::npos) reads.push_back({"HGETALL", key});
        }
        if (reads.empty()) return absl::OkStatus();
        auto replies = redis_.ExecuteAll(std::move(reads));
        if (!replies.ok()) return replies.status();
        for (const RedisReply& reply : *replies) {
          if (reply.IsError()) return ScriptErrorToStatus(reply);
          auto pairs = ReplyPairs(reply);
          if (pairs.empty()) continue;
          Series series = DecodeSeries(organization_id, pairs);
          bool known = std::any_of(naming.begin(), naming.end(),
                                   [&](const Series& s) { return s.id == series.id; });
          if (series.prototype.Involves(person_id) && !known) naming.push_back(std::move(series));
        }
        return absl::OkStatus();
      });
  if (!scanned.ok()) return scanned;
  return naming;
}

absl::Status RedisSupervisionStore::RemovePersonRecords(const std::string& organization_id,
                                                        const std::string& person_id) {
  const std::string& org = organization_id;
  auto feeds = redis_.Execute({"ZRANGE", PersonCalendarFeedsKey(org, person_id), "0", "-1"});
  if (!feeds.ok()) return feeds.status();
  if (feeds->IsError()) return ScriptErrorToStatus(*feeds);
  // One transaction: the feeds' index goes with the feeds it leads to, never before them.
  std::vector<RedisCommand> commands;
  for (const RedisReply& feed : feeds->elements) {
    commands.push_back({"DEL", CalendarFeedKey(org, feed.str)});
  }
  commands.push_back({"DEL", PersonCalendarFeedsKey(org, person_id)});
  commands.push_back({"DEL", AvailabilityKey(org, person_id)});
  commands.push_back({"ZREM", LastSupervisedKey(org), person_id});
  commands.push_back({"DEL", OverdueKey(org, person_id)});
  commands.push_back({"DEL", BusyKey(org, person_id)});
  commands.push_back({"DEL", PersonSessionsKey(org, person_id)});
  auto replies = redis_.Transaction(std::move(commands));
  if (!replies.ok()) return replies.status();
  for (const RedisReply& reply : *replies) {
    if (reply.IsError()) return ScriptErrorToStatus(reply);
  }
  return absl::OkStatus();
}

absl::Status RedisSupervisionStore::RemovePersonRequests(const std::string& organization_id,
                                                         const std::string& person_id) {
  const std::string& org = organization_id;
  const std::string own = RequestKey(org, "supervision", person_id, "");
  return ForEachKeyPage(
      redis_, RequestKey(org, "supervision", "*", "*"), [&](const std::vector<std::string>& keys) {
        std::vector<RedisCommand> deletes;
        std::vector<std::string> others;
        for (const std::string& key : keys) {
          if (absl::StartsWith(key, own)) {
            deletes.push_back({"DEL", key});
          } else {
            others.push_back(key);
          }
        }
        // Anyone else's request names the session it created (a debrief offer's, the
        // incident's): the ones whose session is gone were the person's.
        if (!others.empty()) {
          std::vector<RedisCommand> reads;
          for (const std::string& key : others) reads.push_back({"GET", key});
          auto values = redis_.ExecuteAll(std::move(reads));
          if (!values.ok()) return values.status();
          std::vector<std::string> named;  // the keys that still hold a session id, in order
          std::vector<RedisCommand> exists;
          for (size_t i = 0; i < others.size(); ++i) {
            const RedisReply& value = (*values)[i];
            if (value.IsError()) return ScriptErrorToStatus(value);
            if (value.IsNil() || value.str.empty()) continue;  // expired meanwhile
            named.push_back(others[i]);
            exists.push_back({"EXISTS", SessionKey(org, value.str)});
          }
          if (!exists.empty()) {
            auto found = redis_.ExecuteAll(std::move(exists));
            if (!found.ok()) return found.status();
            for (size_t i = 0; i < named.size(); ++i) {
              const RedisReply& reply = (*found)[i];
              if (reply.IsError()) return ScriptErrorToStatus(reply);
              if (reply.integer == 0) deletes.push_back({"DEL", named[i]});
            }
          }
        }
        return ExecuteAllOk(redis_, std::move(deletes));
      });
}

absl::Status RedisSupervisionStore::RemovePersonEvents(const std::string& organization_id,
                                                       const std::string& person_id) {
  const std::string events = EventsKey(organization_id);
  for (const std::string& stream : {events, DeadLetterStreamKey(events)}) {
    std::vector<RedisCommand> deletes;  // one XDEL per chunk that names them, pipelined
    std::string start = "-";
    for (;;) {
      auto reply =
          redis_.Execute({"XRANGE", stream, start, "+", "COUNT", absl::StrCat(kStreamChunk)});
      if (!reply.ok()) return reply.status();
      if (reply->IsError()) return ScriptErrorToStatus(*reply);
      std::vector<StreamEntry> entries = ParseStreamEntries(*reply);
      RedisCommand xdel{"XDEL", stream};
      for (const StreamEntry& entry : entries) {
        if (EntryNames(entry, person_id)) xdel.push_back(entry.id);
      }
      if (xdel.size() > 2) deletes.push_back(std::move(xdel));
      if (static_cast<int>(entries.size()) < kStreamChunk) break;
      start = absl::StrCat("(", entries.back().id);
    }
    if (absl::Status status = ExecuteAllOk(redis_, std::move(deletes)); !status.ok()) {
      return status;
    }
  }
  return absl::OkStatus();
}

}  // namespace peerwell::supervision
