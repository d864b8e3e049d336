#include "services/checkin/redis_checkin_store.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "services/common/events.h"
#include "services/common/idempotency.h"
#include "services/common/record_write.h"
#include "services/common/redis_values.h"

namespace peerwell::checkin {
namespace {

// --- Key layout (docs/ARCHITECTURE.md) -----------------------------------------------------------

std::string Prefix(const std::string& org) { return absl::StrCat("pw:{", org, "}:checkin:"); }
std::string CheckinKey(const std::string& org, const std::string& id) {
  return absl::StrCat(Prefix(org), "checkin:", id);
}
std::string IncidentKey(const std::string& org, const std::string& id) {
  return absl::StrCat(Prefix(org), "incident:", id);
}
std::string SupportKey(const std::string& org, const std::string& id) {
  return absl::StrCat(Prefix(org), "support:", id);
}
std::string VolunteerKey(const std::string& org, const std::string& volunteer,
                         absl::string_view what) {
  return absl::StrCat(Prefix(org), "volunteer:", volunteer, ":", what);
}
std::string SettingsKey(const std::string& org) { return Prefix(org) + "settings"; }
// DataKeyVault's key for kNoteKeys (data_key_vault.h), deleted here when the volunteer is erased.
std::string DataKeyKey(const std::string& org, const std::string& volunteer) {
  return absl::StrCat(Prefix(org), "datakey:", volunteer);
}
// Where RequestKey (idempotency.h) puts the organisation's request keys.
std::string RequestKeyPrefix(const std::string& org) { return Prefix(org) + "request:"; }
std::string EventsKey(const std::string& org) { return EventStreamKey("checkin", org); }

constexpr char kRecordSeparator = '\x1e';
constexpr char kFieldSeparator = '\x1f';

std::string EncodeAnswers(const std::vector<Answer>& answers) {
  std::vector<std::string> parts;
  for (const Answer& answer : answers)
    parts.push_back(absl::StrCat(answer.item_id, "=", answer.value));
  return absl::StrJoin(parts, ",");
}
std::vector<Answer> DecodeAnswers(const std::string& text) {
  std::vector<Answer> answers;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(part, absl::MaxSplits('=', 1));
    answers.push_back({kv.first, ParseRedisInt(kv.second)});
  }
  return answers;
}
std::string EncodeScores(const std::vector<Score>& scores) {
  std::vector<std::string> parts;
  for (const Score& score : scores) {
    parts.push_back(absl::StrCat(score.scale_id, "=", RedisDouble(score.value), "=", score.band));
  }
  return absl::StrJoin(parts, ",");
}
std::vector<Score> DecodeScores(const std::string& text) {
  std::vector<Score> scores;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    std::vector<std::string> fields = absl::StrSplit(part, '=');
    if (fields.size() != 3) continue;
    scores.push_back({fields[0], ParseRedisDouble(fields[1]), fields[2]});
  }
  return scores;
}

absl::StatusOr<Created> ToCreated(const absl::StatusOr<IdempotentResult>& result) {
  if (!result.ok()) return result.status();
  return Created{result->value, result->replayed};
}

// Scoped to the kind of record and the volunteer it is for, so that one request_id reused for
// another RPC or (by an importing operator) another volunteer never replays the wrong record.
std::string RequestKeyFor(const std::string& org, const CreateRequest& request,
                          absl::string_view kind, const std::string& volunteer_id) {
  return RequestKey(org, "checkin", request.caller_id,
                    absl::StrCat(kind, ":", volunteer_id, ":",
                                 request.request_id.empty() ? "-" : request.request_id));
}

RecordWrite SupportRecord(const SealedSupportRequest& sealed) {
  const SupportRequest& r = sealed.request;
  return {SupportKey(r.organization_id, r.id),
          {{"id", r.id},
           {"volunteer_id", r.volunteer_id},
           {"urgency", absl::StrCat(static_cast<int>(r.urgency))},
           {"create_time", RedisMicros(r.create_time)},
           {"source", r.source},
           {"note", sealed.sealed_note}},
          {VolunteerKey(r.organization_id, r.volunteer_id, "support")},
          static_cast<double>(absl::ToUnixMicros(r.create_time))};
}

EventWrite SupportEvent(const SupportRequest& r) {
  return {"support.requested",
          r.organization_id,
          r.create_time,
          {{"support_request_id", r.id},
           {"volunteer_id", r.volunteer_id},
           {"urgency", r.urgency == Urgency::kHigh ? "high" : "low"},
           {"source", r.source}}};
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> LoadHash(RedisClient& redis,
                                                                          const std::string& key) {
  auto reply = redis.Execute({"HGETALL", key});
  if (!reply.ok()) return reply.status();
  return ReplyPairs(*reply);
}

SealedCheckin DecodeCheckin(const std::string& org,
                            const std::vector<std::pair<std::string, std::string>>& pairs) {
  SealedCheckin sealed;
  Checkin& c = sealed.checkin;
  c.organization_id = org;
  for (const auto& [name, value] : pairs) {
    if (name == "id")
      c.id = value;
    else if (name == "volunteer_id")
      c.volunteer_id = value;
    else if (name == "instrument_id")
      c.instrument_id = value;
    else if (name == "instrument_version")
      c.instrument_version = ParseRedisInt(value);
    else if (name == "submit_time")
      c.submit_time = ParseRedisMicros(value);
    else if (name == "answers")
      c.answers = DecodeAnswers(value);
    else if (name == "scores")
      c.scores = DecodeScores(value);
    else if (name == "session_kind")
      c.context.session_kind = value;
    else if (name == "hours")
      c.context.hours = ParseRedisDouble(value);
    else if (name == "sessions_facilitated")
      c.context.sessions_facilitated = ParseRedisInt(value);
    else if (name == "note")
      sealed.sealed_note = value;
  }
  return sealed;
}

SealedIncident DecodeIncident(const std::string& org,
                              const std::vector<std::pair<std::string, std::string>>& pairs) {
  SealedIncident sealed;
  Incident& i = sealed.incident;
  i.organization_id = org;
  for (const auto& [name, value] : pairs) {
    if (name == "id")
      i.id = value;
    else if (name == "volunteer_id")
      i.volunteer_id = value;
    else if (name == "incident_type")
      i.type = static_cast<IncidentType>(ParseRedisInt(value));
    else if (name == "occur_time")
      i.occur_time = ParseRedisMicros(value);
    else if (name == "report_time")
      i.report_time = ParseRedisMicros(value);
    else if (name == "description")
      sealed.sealed_description = value;
  }
  return sealed;
}

SealedSupportRequest DecodeSupportRequest(
    const std::string& org, const std::vector<std::pair<std::string, std::string>>& pairs) {
  SealedSupportRequest sealed;
  SupportRequest& r = sealed.request;
  r.organization_id = org;
  for (const auto& [name, value] : pairs) {
    if (name == "id")
      r.id = value;
    else if (name == "volunteer_id")
      r.volunteer_id = value;
    else if (name == "urgency")
      r.urgency = static_cast<Urgency>(ParseRedisInt(value));
    else if (name == "create_time")
      r.create_time = ParseRedisMicros(value);
    else if (name == "source")
      r.source = value;
    else if (name == "note")
      sealed.sealed_note = value;
  }
  return sealed;
}

// A page of the records an index names, newest first, with scores in [start, end] (or below the
// position, a previous page's last score): their hashes, records already gone left out, and the
// next page's position, empty after the last page.
struct HashPage {
  std::vector<std::vector<std::pair<std::string, std::string>>> records;
  std::string next_position;
};
absl::StatusOr<HashPage> ReadIndexPage(RedisClient& redis, const std::string& index,
                                       absl::Time start, absl::Time end, int page_size,
                                       const std::string& position) {
  std::string max = end == absl::InfiniteFuture() ? "+inf" : RedisMicros(end);
  if (!position.empty()) {
    int64_t after = 0;
    if (!absl::SimpleAtoi(position, &after)) {
      return absl::InvalidArgumentError("page_token: is not a page token of this listing");
    }
    max = absl::StrCat("(", after);
  }
  std::string min = start == absl::InfinitePast() ? "-inf" : RedisMicros(start);
  auto range = redis.Execute({"ZREVRANGEBYSCORE", index, max, min, "WITHSCORES", "LIMIT", "0",
                              absl::StrCat(page_size + 1)});
  if (!range.ok()) return range.status();
  std::vector<RedisCommand> loads;
  std::vector<std::string> scores;
  for (size_t i = 0; i + 1 < range->elements.size() && static_cast<int>(loads.size()) < page_size;
       i += 2) {
    loads.push_back({"HGETALL", range->elements[i].str});
    scores.push_back(range->elements[i + 1].str);
  }
  HashPage page;
  if (loads.empty()) return page;
  bool more = static_cast<int>(range->elements.size() / 2) > page_size;
  auto replies = redis.ExecuteAll(std::move(loads));
  if (!replies.ok()) return replies.status();
  for (const RedisReply& reply : *replies) {
    auto pairs = ReplyPairs(reply);
    if (!pairs.empty()) page.records.push_back(std::move(pairs));
  }
  if (more) page.next_position = scores.back();
  return page;
}

// What erasing reads and deletes per round trip.
constexpr int kEraseBatch = 1000;

// `text` as a SCAN MATCH pattern that matches it and nothing else.
std::string GlobLiteral(absl::string_view text) {
  std::string pattern;
  for (char c : text) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') pattern.push_back('\\');
    pattern.push_back(c);
  }
  return pattern;
}
absl::Status FirstError(const absl::StatusOr<std::vector<RedisReply>>& replies) {
  if (!replies.ok()) return replies.status();
  for (const RedisReply& reply : *replies) {
    if (reply.IsError()) return ScriptErrorToStatus(reply);
  }
  return absl::OkStatus();
}

// Whether an event names the person: a field that is their id, or a list of ids (space or comma
// separated) that holds it. Dead letters carry the event's fields as `event.<name>`.
bool NamesPerson(const StreamEntry& entry, absl::string_view person_id) {
  for (const EventField& field : entry.fields) {
    for (absl::string_view id : absl::StrSplit(field.value, absl::ByAnyChar(" ,"))) {
      if (id == person_id) return true;
    }
  }
  return false;
}

}  // namespace

const std::vector<PersonKeyFamily>& RedisCheckinStore::PersonKeyFamilies() {
  // Built with the functions that build the keys, so that the patterns follow the layout.
  static const auto* families = new std::vector<PersonKeyFamily>{
      {CheckinKey("*", "*"), kCheckinsFamily, ""},
      {VolunteerKey("*", "*", "checkins"), kCheckinsFamily, ""},
      {VolunteerKey("*", "*", "checkins:*"), kCheckinsFamily, ""},
      {IncidentKey("*", "*"), kIncidentsFamily, ""},
      {VolunteerKey("*", "*", "incidents"), kIncidentsFamily, ""},
      {SupportKey("*", "*"), kSupportRequestsFamily, ""},
      {VolunteerKey("*", "*", "support"), kSupportRequestsFamily, ""},
      {RequestKeyFor("*", {"*", "*"}, "checkin", "*"), "",
       "idempotency: the id of a record exported as checkins, kept 7 days"},
      {RequestKeyFor("*", {"*", "*"}, "incident", "*"), "",
       "idempotency: the id of a record exported as incidents, kept 7 days"},
      {RequestKeyFor("*", {"*", "*"}, "support", "*"), "",
       "idempotency: the id of a record exported as supportRequests, kept 7 days"},
      {DataKeyKey("*", "*"), "",
       "the volunteer's wrapped encryption key, not data: it opens the texts exported, opened, "
       "as checkins, incidents and supportRequests"},
      {SettingsKey("*"), "",
       "the organisation's check-in settings (cadence, support resources), about no one person"},
      {EventsKey("*"), "",
       "the service's event stream: ids and facts of each check-in, incident and support request "
       "with the volunteer's id, never their texts; the same facts are exported as checkins, "
       "incidents and supportRequests"},
  };
  return *families;
}

void RedisCheckinStore::CreateCheckin(const SealedCheckin& sealed,
                                      const std::optional<SealedSupportRequest>& support,
                                      const CreateRequest& request, CreatedDone done) {
  const Checkin& c = sealed.checkin;
  const std::string& org = c.organization_id;
  // What the record and its event both carry, encoded once. The event never carries the note.
  std::vector<std::pair<std::string, std::string>> shared{
      {"volunteer_id", c.volunteer_id},
      {"instrument_id", c.instrument_id},
      {"instrument_version", absl::StrCat(c.instrument_version)},
      {"answers", EncodeAnswers(c.answers)},
      {"scores", EncodeScores(c.scores)},
      {"session_kind", c.context.session_kind},
      {"hours", RedisDouble(c.context.hours)},
      {"sessions_facilitated", absl::StrCat(c.context.sessions_facilitated)}};
  std::vector<EventField> event_fields{{"checkin_id", c.id}};
  for (const auto& [name, value] : shared) event_fields.push_back({name, value});
  std::vector<std::pair<std::string, std::string>> fields{{"id", c.id}};
  fields.insert(fields.end(), std::make_move_iterator(shared.begin()),
                std::make_move_iterator(shared.end()));
  fields.push_back({"submit_time", RedisMicros(c.submit_time)});
  fields.push_back({"note", sealed.sealed_note});
  std::vector<RecordWrite> records{
      {CheckinKey(org, c.id),
       std::move(fields),
       {VolunteerKey(org, c.volunteer_id, "checkins"),
        VolunteerKey(org, c.volunteer_id, absl::StrCat("checkins:", c.instrument_id))},
       static_cast<double>(absl::ToUnixMicros(c.submit_time))}};
  std::vector<EventWrite> events{
      {"checkin.submitted", org, c.submit_time, std::move(event_fields)}};
  if (support.has_value()) {
    records.push_back(SupportRecord(*support));
    events.push_back(SupportEvent(support->request));
  }
  WriteRecordsOnceAsync(redis_, RequestKeyFor(org, request, "checkin", c.volunteer_id),
                        !request.request_id.empty(), c.id, records, EventsKey(org), events,
                        [done = std::move(done)](absl::StatusOr<IdempotentResult> result) mutable {
                          std::move(done)(ToCreated(result));
                        });
}

absl::StatusOr<Created> RedisCheckinStore::CreateIncident(const SealedIncident& sealed,
                                                          const CreateRequest& request) {
  const Incident& i = sealed.incident;
  const std::string& org = i.organization_id;
  RecordWrite record{IncidentKey(org, i.id),
                     {{"id", i.id},
                      {"volunteer_id", i.volunteer_id},
                      {"incident_type", absl::StrCat(static_cast<int>(i.type))},
                      {"occur_time", RedisMicros(i.occur_time)},
                      {"report_time", RedisMicros(i.report_time)},
                      {"description", sealed.sealed_description}},
                     {VolunteerKey(org, i.volunteer_id, "incidents")},
                     static_cast<double>(absl::ToUnixMicros(i.report_time))};
  EventWrite event{"incident.reported",
                   org,
                   i.report_time,
                   {{"incident_id", i.id},
                    {"volunteer_id", i.volunteer_id},
                    {"incident_type", absl::StrCat(static_cast<int>(i.type))},
                    {"incident_occur_time", Rfc3339(i.occur_time)}}};
  return ToCreated(WriteRecordsOnce(redis_, RequestKeyFor(org, request, "incident", i.volunteer_id),
                                    !request.request_id.empty(), i.id, {record}, EventsKey(org),
                                    {event}));
}

absl::StatusOr<Created> RedisCheckinStore::CreateSupportRequest(const SealedSupportRequest& sealed,
                                                                const CreateRequest& request) {
  const std::string& org = sealed.request.organization_id;
  return ToCreated(
      WriteRecordsOnce(redis_, RequestKeyFor(org, request, "support", sealed.request.volunteer_id),
                       !request.request_id.empty(), sealed.request.id, {SupportRecord(sealed)},
                       EventsKey(org), {SupportEvent(sealed.request)}));
}

absl::StatusOr<std::optional<SealedCheckin>> RedisCheckinStore::GetCheckin(
    const std::string& organization_id, const std::string& checkin_id) {
  auto pairs = LoadHash(redis_, CheckinKey(organization_id, checkin_id));
  if (!pairs.ok()) return pairs.status();
  if (pairs->empty()) return std::nullopt;
  return DecodeCheckin(organization_id, *pairs);
}

absl::StatusOr<std::optional<SealedIncident>> RedisCheckinStore::GetIncident(
    const std::string& organization_id, const std::string& incident_id) {
  auto pairs = LoadHash(redis_, IncidentKey(organization_id, incident_id));
  if (!pairs.ok()) return pairs.status();
  if (pairs->empty()) return std::nullopt;
  return DecodeIncident(organization_id, *pairs);
}

absl::StatusOr<std::optional<SealedSupportRequest>> RedisCheckinStore::GetSupportRequest(
    const std::string& organization_id, const std::string& support_request_id) {
  auto pairs = LoadHash(redis_, SupportKey(organization_id, support_request_id));
  if (!pairs.ok()) return pairs.status();
  if (pairs->empty()) return std::nullopt;
  return DecodeSupportRequest(organization_id, *pairs);
}

absl::StatusOr<CheckinPage> RedisCheckinStore::ListCheckins(const std::string& organization_id,
                                                            const std::string& volunteer_id,
                                                            const CheckinQuery& query) {
  std::string index = VolunteerKey(
      organization_id, volunteer_id,
      query.instrument_id.empty() ? "checkins" : absl::StrCat("checkins:", query.instrument_id));
  auto read = ReadIndexPage(redis_, index, query.start_time, query.end_time, query.page_size,
                            query.position);
  if (!read.ok()) return read.status();
  CheckinPage page;
  for (const auto& pairs : read->records) {
    page.checkins.push_back(DecodeCheckin(organization_id, pairs));
  }
  page.next_position = std::move(read->next_position);
  return page;
}

absl::StatusOr<IncidentPage> RedisCheckinStore::ListIncidents(const std::string& organization_id,
                                                              const std::string& volunteer_id,
                                                              int page_size,
                                                              const std::string& position) {
  auto read = ReadIndexPage(redis_, VolunteerKey(organization_id, volunteer_id, "incidents"),
                            absl::InfinitePast(), absl::InfiniteFuture(), page_size, position);
  if (!read.ok()) return read.status();
  IncidentPage page;
  for (const auto& pairs : read->records) {
    page.incidents.push_back(DecodeIncident(organization_id, pairs));
  }
  page.next_position = std::move(read->next_position);
  return page;
}

absl::StatusOr<SupportRequestPage> RedisCheckinStore::ListSupportRequests(
    const std::string& organization_id, const std::string& volunteer_id, int page_size,
    const std::string& position) {
  auto read = ReadIndexPage(redis_, VolunteerKey(organization_id, volunteer_id, "support"),
                            absl::InfinitePast(), absl::InfiniteFuture(), page_size, position);
  if (!read.ok()) return read.status();
  SupportRequestPage page;
  for (const auto& pairs : read->records) {
    page.requests.push_back(DecodeSupportRequest(organization_id, pairs));
  }
  page.next_position = std::move(read->next_position);
  return page;
}

absl::StatusOr<CheckinTimes> RedisCheckinStore::GetCheckinTimes(
    const std::string& organization_id, const std::string& volunteer_id,
    const std::vector<std::string>& instruments, absl::Time since) {
  // Index scores are the records' times (a tie moved up by a microsecond): no record is loaded.
  auto index = [&](absl::string_view what) {
    return VolunteerKey(organization_id, volunteer_id, what);
  };
  std::vector<RedisCommand> reads;
  for (const std::string& instrument : instruments) {
    reads.push_back({"ZREVRANGEBYSCORE", index(absl::StrCat("checkins:", instrument)), "+inf",
                     "-inf", "WITHSCORES", "LIMIT", "0", "1"});
  }
  reads.push_back(
      {"ZRANGEBYSCORE", index("checkins:who5"), RedisMicros(since), "+inf", "WITHSCORES"});
  reads.push_back({"ZRANGEBYSCORE", index("incidents"), RedisMicros(since), "+inf", "WITHSCORES"});
  auto replies = redis_.ExecuteAll(std::move(reads));
  if (!replies.ok()) return replies.status();
  auto times = [](const RedisReply& range) {
    std::vector<absl::Time> out;
    for (size_t i = 0; i + 1 < range.elements.size(); i += 2) {
      out.push_back(
          absl::FromUnixMicros(static_cast<int64_t>(ParseRedisDouble(range.elements[i + 1].str))));
    }
    return out;
  };
  CheckinTimes result;
  for (size_t i = 0; i < instruments.size(); ++i) {
    auto last = times((*replies)[i]);
    if (!last.empty()) result.last_by_instrument[instruments[i]] = last.front();
  }
  result.who5_since = times((*replies)[instruments.size()]);
  result.incidents_since = times((*replies)[instruments.size() + 1]);
  return result;
}

absl::StatusOr<std::vector<std::vector<std::string>>> RedisCheckinStore::ListCheckinIds(
    const std::string& organization_id, const std::vector<CheckinIdRange>& ranges,
    const std::string& instrument_id, absl::Time start, absl::Time end) {
  std::string index_name =
      instrument_id.empty() ? "checkins" : absl::StrCat("checkins:", instrument_id);
  std::string min = start == absl::InfinitePast() ? "-inf" : RedisMicros(start);
  std::string max = end == absl::InfiniteFuture() ? "+inf" : absl::StrCat("(", RedisMicros(end));
  std::vector<RedisCommand> reads;
  for (const CheckinIdRange& range : ranges) {
    reads.push_back({"ZRANGEBYSCORE", VolunteerKey(organization_id, range.volunteer_id, index_name),
                     min, max, "LIMIT", absl::StrCat(range.offset), absl::StrCat(range.limit)});
  }
  std::vector<std::vector<std::string>> ids(ranges.size());
  if (reads.empty()) return ids;
  auto replies = redis_.ExecuteAll(std::move(reads));
  if (!replies.ok()) return replies.status();
  // Index members are the records' keys.
  const std::string key_prefix = CheckinKey(organization_id, "");
  for (size_t i = 0; i < replies->size(); ++i) {
    for (const RedisReply& member : (*replies)[i].elements) {
      if (absl::StartsWith(member.str, key_prefix)) {
        ids[i].push_back(member.str.substr(key_prefix.size()));
      }
    }
  }
  return ids;
}

absl::StatusOr<std::vector<Checkin>> RedisCheckinStore::GetCheckins(
    const std::string& organization_id, const std::vector<std::string>& ids) {
  // Every field but the sealed note, which nobody reading many check-ins at once may see.
  static const std::vector<std::string>* kFields = new std::vector<std::string>{
      "id",     "volunteer_id", "instrument_id", "instrument_version",  "submit_time", "answers",
      "scores", "session_kind", "hours",         "sessions_facilitated"};
  std::vector<RedisCommand> loads;
  for (const std::string& id : ids) {
    RedisCommand load{"HMGET", CheckinKey(organization_id, id)};
    load.insert(load.end(), kFields->begin(), kFields->end());
    loads.push_back(std::move(load));
  }
  std::vector<Checkin> checkins;
  if (loads.empty()) return checkins;
  auto replies = redis_.ExecuteAll(std::move(loads));
  if (!replies.ok()) return replies.status();
  for (const RedisReply& reply : *replies) {
    std::vector<std::pair<std::string, std::string>> pairs;
    for (size_t i = 0; i < reply.elements.size() && i < kFields->size(); ++i) {
      if (reply.elements[i].type == RedisReply::Type::kString) {
        pairs.emplace_back((*kFields)[i], reply.elements[i].str);
      }
    }
    if (!pairs.empty()) checkins.push_back(DecodeCheckin(organization_id, pairs).checkin);
  }
  return checkins;
}

absl::StatusOr<CheckinSettings> RedisCheckinStore::GetSettings(const std::string& organization_id) {
  auto pairs = LoadHash(redis_, SettingsKey(organization_id));
  if (!pairs.ok()) return pairs.status();
  CheckinSettings settings = DefaultCheckinSettings();
  for (const auto& [name, value] : *pairs) {
    if (name == "cadence") {
      settings.cadence_days.clear();
      for (const Answer& entry : DecodeAnswers(value)) {
        settings.cadence_days[entry.item_id] = entry.value;
      }
    } else if (name == "resources") {
      settings.support_resources.clear();
      for (absl::string_view record : absl::StrSplit(value, kRecordSeparator, absl::SkipEmpty())) {
        std::vector<std::string> fields = absl::StrSplit(record, kFieldSeparator);
        fields.resize(3);
        settings.support_resources.push_back({fields[0], fields[1], fields[2]});
      }
    } else if (name == "swemwbs_registration") {
      settings.swemwbs_registration = value;
    }
  }
  return settings;
}

absl::Status RedisCheckinStore::SetSettings(const std::string& organization_id,
                                            const CheckinSettings& settings) {
  std::vector<Answer> cadence;
  for (const auto& [instrument, days] : settings.cadence_days)
    cadence.push_back({instrument, days});
  std::string resources;
  for (const SupportResource& r : settings.support_resources) {
    absl::StrAppend(&resources, r.title, std::string(1, kFieldSeparator), r.description,
                    std::string(1, kFieldSeparator), r.contact, std::string(1, kRecordSeparator));
  }
  auto reply = redis_.Execute({"HSET", SettingsKey(organization_id), "cadence",
                               EncodeAnswers(cadence), "resources", resources,
                               "swemwbs_registration", settings.swemwbs_registration});
  if (!reply.ok()) return reply.status();
  return ScriptErrorToStatus(*reply);
}

absl::Status RedisCheckinStore::DeleteDataKey(const std::string& organization_id,
                                              const std::string& volunteer_id) {
  auto reply = redis_.Execute({"DEL", DataKeyKey(organization_id, volunteer_id)});
  if (!reply.ok()) return reply.status();
  return ScriptErrorToStatus(*reply);
}

absl::Status RedisCheckinStore::DeleteVolunteerRecords(const std::string& organization_id,
                                                       const std::string& volunteer_id) {
  // Every index of theirs, the per-instrument ones included, found by name: the script that
  // writes a record indexes it in the same step, and index members are the records' keys.
  auto indexes =
      MatchingKeys(redis_, GlobLiteral(VolunteerKey(organization_id, volunteer_id, "")) + "*");
  if (!indexes.ok()) return indexes.status();
  const std::vector<std::string> record_prefixes = {CheckinKey(organization_id, ""),
                                                    IncidentKey(organization_id, ""),
                                                    SupportKey(organization_id, "")};
  auto is_record = [&](const std::string& key) {
    return std::any_of(record_prefixes.begin(), record_prefixes.end(),
                       [&](const std::string& prefix) { return absl::StartsWith(key, prefix); });
  };
  for (const std::string& index : *indexes) {
    while (true) {
      auto members = redis_.Execute({"ZRANGE", index, "0", absl::StrCat(kEraseBatch - 1)});
      if (!members.ok()) return members.status();
      if (members->IsError()) return ScriptErrorToStatus(*members);
      if (members->elements.empty()) break;  // an emptied index is gone too
      // The records and their index entries in one step, so that no record outlives the entry
      // a later run would find it by.
      RedisCommand del{"DEL"};
      RedisCommand zrem{"ZREM", index};
      for (const RedisReply& member : members->elements) {
        if (is_record(member.str)) del.push_back(member.str);
        zrem.push_back(member.str);
      }
      std::vector<RedisCommand> step;
      if (del.size() > 1) step.push_back(std::move(del));
      step.push_back(std::move(zrem));
      if (absl::Status done = FirstError(redis_.Transaction(std::move(step))); !done.ok()) {
        return done;
      }
    }
  }
  return absl::OkStatus();
}

absl::Status RedisCheckinStore::DeletePersonRequests(const std::string& organization_id,
                                                     const std::string& person_id) {
  // A request key names the volunteer its record is for, and the caller (the volunteer, or the
  // platform operator importing for them): found by name, values need not be read.
  auto keys = MatchingKeys(redis_, absl::StrCat(GlobLiteral(RequestKeyPrefix(organization_id)), "*",
                                                GlobLiteral(person_id), "*"));
  if (!keys.ok()) return keys.status();
  std::vector<RedisCommand> deletes;
  for (size_t first = 0; first < keys->size(); first += kEraseBatch) {
    RedisCommand del{"DEL"};
    for (size_t i = first; i < std::min(keys->size(), first + kEraseBatch); ++i) {
      del.push_back((*keys)[i]);
    }
    deletes.push_back(std::move(del));
  }
  if (deletes.empty()) return absl::OkStatus();
  return FirstError(redis_.ExecuteAll(std::move(deletes)));
}

absl::Status RedisCheckinStore::DeletePersonEvents(const std::string& organization_id,
                                                   const std::string& person_id) {
  // With the events the other services' consumer groups gave up on (ConsumerGroupRunner).
  const std::string events = EventsKey(organization_id);
  for (const std::string& stream : {events, DeadLetterStreamKey(events)}) {
    std::string from = "-";
    while (true) {
      auto chunk =
          redis_.Execute({"XRANGE", stream, from, "+", "COUNT", absl::StrCat(kEraseBatch)});
      if (!chunk.ok()) return chunk.status();
      if (chunk->IsError()) return ScriptErrorToStatus(*chunk);
      std::vector<StreamEntry> entries = ParseStreamEntries(*chunk);
      RedisCommand xdel{"XDEL", stream};
      for (const StreamEntry& entry : entries) {
        if (NamesPerson(entry, person_id)) xdel.push_back(entry.id);
      }
      if (xdel.size() > 2) {
        auto deleted = redis_.Execute(std::move(xdel));
        if (!deleted.ok()) return deleted.status();
        if (deleted->IsError()) return ScriptErrorToStatus(*deleted);
      }
      if (static_cast<int>(chunk->elements.size()) < kEraseBatch || entries.empty()) break;
      from = absl::StrCat("(", entries.back().id);
    }
  }
  return absl::OkStatus();
}

}  // namespace peerwell::checkin
