#include "services/directory/redis_directory_store.h"

#include <functional>
#include <map>
#include <optional>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "services/common/audit.h"
#include "services/common/events.h"
#include "services/common/idempotency.h"
#include "services/common/organization_registry.h"
#include "services/common/redis_values.h"

namespace peerwell::directory {
namespace {

// --- Key layout (docs/ARCHITECTURE.md) -----------------------------------------------------------

std::string Prefix(const std::string& org) { return absl::StrCat("pw:{", org, "}:directory:"); }
std::string OrgKey(const std::string& org) { return Prefix(org) + "org"; }
std::string PersonKey(const std::string& org, const std::string& id) {
  return absl::StrCat(Prefix(org), "person:", id);
}
std::string SupervisorsKey(const std::string& org, const std::string& id) {
  return PersonKey(org, id) + ":supervisors";
}
std::string SuperviseesKey(const std::string& org, const std::string& supervisor_id) {
  return absl::StrCat(Prefix(org), "supervisor:", supervisor_id, ":volunteers");
}
std::string PeopleIndexKey(const std::string& org) { return Prefix(org) + "people"; }
std::string PersonSeqKey(const std::string& org) { return Prefix(org) + "person_seq"; }
std::string CoordinatorsKey(const std::string& org) { return Prefix(org) + "coordinators"; }
std::string ConsentKey(const std::string& org, const std::string& id) {
  return absl::StrCat(Prefix(org), "consent:", id);
}
std::string ConsentHistoryKey(const std::string& org, const std::string& id) {
  return ConsentKey(org, id) + ":history";
}
std::string ApiKeyKey(const std::string& org, const std::string& id) {
  return absl::StrCat(Prefix(org), "apikey:", id);
}
std::string ApiKeysIndexKey(const std::string& org) { return Prefix(org) + "apikeys"; }
std::string ApiKeySeqKey(const std::string& org) { return Prefix(org) + "apikey_seq"; }
std::string ErasureKey(const std::string& org, const std::string& id) {
  return absl::StrCat(Prefix(org), "erasure:", id);
}
std::string ErasuresIndexKey(const std::string& org) { return Prefix(org) + "erasures"; }
// The organisation's unfinished erasures ("<org>/<erasure>") by when they are next announced, in
// its slot with them; the sweep goes through the organisations' with one due (ScheduleView).
std::string ErasuresDueKey(const std::string& org) { return Prefix(org) + "erasures_due"; }
std::string ErasureDueMember(const std::string& org, const std::string& id) {
  return absl::StrCat(org, "/", id);
}
// Organisations do not exist yet when they are requested, so their request keys are platform-wide.
std::string OrgRequestKey(const std::string& caller, const std::string& request_id) {
  return absl::StrCat("pw:platform:directory:request:", caller, ":", request_id);
}
std::string EventsKey(const std::string& org) { return EventStreamKey("directory", org); }

constexpr char kQualificationSeparator = '\x1e';  // record separator; kinds hold no controls
constexpr char kQualificationFieldSeparator = '\x1f';
constexpr int kListChunk = 100;
// A listing reads at most this many people per call; a caller who sees few of them (a
// supervisor in a large organisation) gets a short page and a token instead of a scan of all.
constexpr int kMaxScannedPerPage = 2000;

std::string EncodeQualifications(const std::vector<Qualification>& qualifications) {
  std::string out;
  for (const auto& q : qualifications) {
    absl::StrAppend(&out, q.kind, std::string(1, kQualificationFieldSeparator),
                    q.expire_time.has_value() ? RedisMicros(*q.expire_time) : "",
                    std::string(1, kQualificationSeparator));
  }
  return out;
}

std::vector<Qualification> DecodeQualifications(const std::string& text) {
  std::vector<Qualification> out;
  for (absl::string_view record :
       absl::StrSplit(text, kQualificationSeparator, absl::SkipEmpty())) {
    std::vector<std::string> parts = absl::StrSplit(record, kQualificationFieldSeparator);
    Qualification q;
    q.kind = parts[0];
    if (parts.size() > 1 && !parts[1].empty()) q.expire_time = ParseRedisMicros(parts[1]);
    out.push_back(std::move(q));
  }
  return out;
}

// The hash fields that store `field` of a person.
void AppendFields(const Person& person, PersonField field, std::vector<std::string>* out) {
  auto add = [out](std::string name, std::string value) {
    out->push_back(std::move(name));
    out->push_back(std::move(value));
  };
  switch (field) {
    case PersonField::kDisplayName:
      add("display_name", person.display_name);
      break;
    case PersonField::kRole:
      add("role", absl::StrCat(static_cast<int>(person.role)));
      break;
    case PersonField::kStatus:
      add("status", absl::StrCat(static_cast<int>(person.status)));
      break;
    case PersonField::kTimezone:
      add("timezone", person.timezone);
      break;
    case PersonField::kQuietHours:
      add("quiet_start", person.quiet_hours ? person.quiet_hours->start : "");
      add("quiet_end", person.quiet_hours ? person.quiet_hours->end : "");
      break;
    case PersonField::kCommitmentHoursPerMonth:
      add("commitment", absl::StrCat(person.commitment_hours_per_month));
      break;
    case PersonField::kQualifications:
      add("qualifications", EncodeQualifications(person.qualifications));
      break;
    case PersonField::kLivedExperience:
      add("lived_experience", person.lived_experience ? "1" : "0");
      break;
  }
}

constexpr PersonField kAllFields[] = {
    PersonField::kDisplayName,    PersonField::kRole,
    PersonField::kStatus,         PersonField::kTimezone,
    PersonField::kQuietHours,     PersonField::kCommitmentHoursPerMonth,
    PersonField::kQualifications, PersonField::kLivedExperience};

std::optional<Person> DecodePerson(const std::string& org, const RedisReply& hash,
                                   const RedisReply& supervisors) {
  auto pairs = ReplyPairs(hash);
  if (pairs.empty()) return std::nullopt;
  Person person;
  person.organization_id = org;
  std::string quiet_start, quiet_end;
  for (const auto& [name, value] : pairs) {
    if (name == "id")
      person.id = value;
    else if (name == "display_name")
      person.display_name = value;
    else if (name == "role")
      person.role = static_cast<Role>(ParseRedisInt(value));
    else if (name == "status")
      person.status = static_cast<PersonStatus>(ParseRedisInt(value));
    else if (name == "timezone")
      person.timezone = value;
    else if (name == "quiet_start")
      quiet_start = value;
    else if (name == "quiet_end")
      quiet_end = value;
    else if (name == "commitment")
      person.commitment_hours_per_month = ParseRedisInt(value);
    else if (name == "qualifications")
      person.qualifications = DecodeQualifications(value);
    else if (name == "lived_experience")
      person.lived_experience = value == "1";
    else if (name == "create_time")
      person.create_time = ParseRedisMicros(value);
    else if (name == "update_time")
      person.update_time = ParseRedisMicros(value);
    else if (name == "version")
      person.version = ParseRedisInt(value);
  }
  if (!quiet_start.empty()) person.quiet_hours = QuietHours{quiet_start, quiet_end};
  for (const auto& id : supervisors.elements) person.supervisor_ids.push_back(id.str);
  std::sort(person.supervisor_ids.begin(), person.supervisor_ids.end());
  return person;
}

std::optional<ApiKey> DecodeApiKey(const std::string& org, const RedisReply& hash) {
  auto pairs = ReplyPairs(hash);
  if (pairs.empty()) return std::nullopt;
  ApiKey key;
  key.organization_id = org;
  for (const auto& [name, value] : pairs) {
    if (name == "id")
      key.id = value;
    else if (name == "display_name")
      key.display_name = value;
    else if (name == "scopes")
      key.scopes = absl::StrSplit(value, ' ', absl::SkipEmpty());
    else if (name == "secret_hash")
      key.secret_hash = value;
    else if (name == "create_time")
      key.create_time = ParseRedisMicros(value);
    else if (name == "revoke_time" && !value.empty())
      key.revoke_time = ParseRedisMicros(value);
  }
  return key;
}

absl::Status CheckReply(const absl::StatusOr<RedisReply>& reply) {
  if (!reply.ok()) return reply.status();
  return ScriptErrorToStatus(*reply);
}

// --- Scripts -------------------------------------------------------------------------------------

const RedisScript& CreateOrganizationScript() {
  // KEYS: org. ARGV: id, display_name, create_time. Written once: a retry finds it there.
  static const auto* script = new RedisScript(R"lua(
  if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
  redis.call('HSET', KEYS[1], 'id', ARGV[1], 'display_name', ARGV[2], 'create_time', ARGV[3])
  return 1
)lua");
  return *script;
}

const RedisScript& CreatePersonScript() {
  // KEYS: request, org, person, people index, person seq, coordinators, person's supervisors,
  //       events, then (supervisor hash, supervisor's volunteers) per supervisor.
  // ARGV: retention, person id, only-if-no-coordinator, org id, occur time, role,
  //       field count, fields..., supervisor ids...
  static const auto* script = new RedisScript(IdempotentScript(absl::StrCat(kXaddEventLua, R"lua(
  if redis.call('EXISTS', KEYS[2]) == 0 then
    return redis.error_reply('NOT_FOUND organization not found')
  end
  if ARGV[3] == '1' and redis.call('SCARD', KEYS[6]) > 0 then
    return redis.error_reply('PERMISSION_DENIED the organisation already has a coordinator: they create people')
  end
  local nfields = tonumber(ARGV[7])
  local first_sup = 8 + 2 * nfields
  local nsup = (#KEYS - 8) / 2
  for i = 0, nsup - 1 do
    if redis.call('HGET', KEYS[9 + 2 * i], 'role') ~= '2' then
      return redis.error_reply('INVALID_ARGUMENT person.supervisor_ids[' .. i .. ']: is not a supervisor of this organisation')
    end
  end
  local seq = redis.call('INCR', KEYS[5])
  local fields = {'id', ARGV[2], 'seq', seq}
  for i = 0, 2 * nfields - 1 do fields[#fields + 1] = ARGV[8 + i] end
  redis.call('HSET', KEYS[3], unpack(fields))
  redis.call('ZADD', KEYS[4], seq, ARGV[2])
  if ARGV[6] == '3' then redis.call('SADD', KEYS[6], ARGV[2]) end
  for i = 0, nsup - 1 do
    redis.call('SADD', KEYS[7], ARGV[first_sup + i])
    redis.call('SADD', KEYS[10 + 2 * i], ARGV[2])
  end
  xadd_event(KEYS[8], 'MAXLEN', '~', '1000000', '*', 'type', 'person.created',
             'organization_id', ARGV[4], 'occur_time', ARGV[5], 'person_id', ARGV[2],
             'role', ARGV[6])
  return ARGV[2]
)lua")));
  return *script;
}

const RedisScript& UpdatePersonScript() {
  // KEYS: person, coordinators, events. ARGV: expected version, person id, org, occur time,
  // role after the update, changed field names (space separated), field pairs...
  static const auto* script = new RedisScript(absl::StrCat(kXaddEventLua, R"lua(
  local version = redis.call('HGET', KEYS[1], 'version')
  if not version then return redis.error_reply('NOT_FOUND person.person_id: no such person') end
  if version ~= ARGV[1] then return redis.error_reply('ABORTED the person changed concurrently') end
  local fields = {}
  for i = 7, #ARGV do fields[#fields + 1] = ARGV[i] end
  redis.call('HSET', KEYS[1], unpack(fields))
  redis.call('HINCRBY', KEYS[1], 'version', 1)
  if ARGV[5] == '3' then redis.call('SADD', KEYS[2], ARGV[2]) else redis.call('SREM', KEYS[2], ARGV[2]) end
  xadd_event(KEYS[3], 'MAXLEN', '~', '1000000', '*', 'type', 'person.updated',
             'organization_id', ARGV[3], 'occur_time', ARGV[4], 'person_id', ARGV[2],
             'fields', ARGV[6])
  return 'OK'
)lua"));
  return *script;
}

const RedisScript& SetSupervisionScript() {
  // KEYS: volunteer, supervisor, volunteer's supervisors, supervisor's volunteers, events.
  // ARGV: volunteer id, supervisor id, org, occur time, update time, max supervisors, '1'/'0'.
  static const auto* script = new RedisScript(absl::StrCat(kXaddEventLua, R"lua(
  local vrole = redis.call('HGET', KEYS[1], 'role')
  if not vrole then return redis.error_reply('NOT_FOUND volunteer_id: no such person') end
  local srole = redis.call('HGET', KEYS[2], 'role')
  if not srole then return redis.error_reply('NOT_FOUND supervisor_id: no such person') end
  if vrole ~= '1' then return redis.error_reply('FAILED_PRECONDITION volunteer_id: is not a volunteer') end
  if srole ~= '2' then return redis.error_reply('FAILED_PRECONDITION supervisor_id: is not a supervisor') end
  local assigned = redis.call('SISMEMBER', KEYS[3], ARGV[2]) == 1
  if ARGV[7] == '1' then
    if assigned then return 'UNCHANGED' end
    if redis.call('SCARD', KEYS[3]) >= tonumber(ARGV[6]) then
      return redis.error_reply('FAILED_PRECONDITION volunteer_id: has the most supervisors allowed (' .. ARGV[6] .. ')')
    end
    redis.call('SADD', KEYS[3], ARGV[2])
    redis.call('SADD', KEYS[4], ARGV[1])
  else
    if not assigned then return 'UNCHANGED' end
    redis.call('SREM', KEYS[3], ARGV[2])
    redis.call('SREM', KEYS[4], ARGV[1])
  end
  redis.call('HINCRBY', KEYS[1], 'version', 1)
  redis.call('HINCRBY', KEYS[2], 'version', 1)
  redis.call('HSET', KEYS[1], 'update_time', ARGV[5])
  xadd_event(KEYS[5], 'MAXLEN', '~', '1000000', '*', 'type', 'person.updated',
             'organization_id', ARGV[3], 'occur_time', ARGV[4], 'person_id', ARGV[1],
             'fields', 'supervisor_ids', 'supervisor_id', ARGV[2],
             'change', ARGV[7] == '1' and 'assigned' or 'unassigned')
  return 'CHANGED'
)lua"));
  return *script;
}

const RedisScript& CreateApiKeyScript() {
  // KEYS: request, api key, index, seq. ARGV: retention, id, display name, scopes, secret hash,
  // create time, sealed secret (base64). Remembers "<id> <sealed secret>" for a retry.
  static const auto* script = new RedisScript(IdempotentScript(R"lua(
  local seq = redis.call('INCR', KEYS[4])
  redis.call('HSET', KEYS[2], 'id', ARGV[2], 'seq', seq, 'display_name', ARGV[3], 'scopes', ARGV[4],
             'secret_hash', ARGV[5], 'create_time', ARGV[6])
  redis.call('ZADD', KEYS[3], seq, ARGV[2])
  return ARGV[2] .. ' ' .. ARGV[7]
)lua"));
  return *script;
}

const RedisScript& RevokeApiKeyScript() {
  // KEYS: api key, events. ARGV: revoke time, stream cap, the api_key.revoked event's fields…
  // The event only the first time: services holding what the key set up (its webhooks) drop it.
  static const auto* script = new RedisScript(absl::StrCat(kXaddEventLua, R"lua(
  if redis.call('EXISTS', KEYS[1]) == 0 then return redis.error_reply('NOT_FOUND api_key_id: no such API key') end
  if redis.call('HSETNX', KEYS[1], 'revoke_time', ARGV[1]) == 1 then
    xadd_event(KEYS[2], 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, 3))
  end
  return 'OK'
)lua"));
  return *script;
}

std::string Retention(const CreateRequest& request) {
  return request.request_id.empty() ? "0" : absl::StrCat(absl::ToInt64Seconds(kRequestIdRetention));
}

// Where a listing goes on: the score after which the next page starts.
absl::StatusOr<std::string> MinScore(const PageRequest& page) {
  if (page.position.empty()) return std::string("-inf");
  int64_t seq = 0;
  if (!absl::SimpleAtoi(page.position, &seq)) {
    return absl::InvalidArgumentError("page_token: is not a page token of this listing");
  }
  return absl::StrCat("(", seq);
}

}  // namespace

// An erasure another replica scheduled is seen within 10 s: its announcements are a minute apart.
RedisDirectoryStore::RedisDirectoryStore(RedisClient& redis)
    : redis_(redis), erasures_due_(ErasuresDueKey, absl::Seconds(10)) {}

absl::StatusOr<Created> RedisDirectoryStore::CreateOrganization(const Organization& organization,
                                                                const CreateRequest& request) {
  // Three steps, each within one hash slot and each safe to run again: the request's organisation
  // chosen once (under a platform key, since the organisation does not exist yet), the
  // organisation written unless it is already, and its entry in the registry. A retry of a request
  // that stopped half-way goes on with the organisation it chose.
  Created created{organization.id, false};
  if (!request.request_id.empty()) {
    auto chosen = redis_.Execute({"SET", OrgRequestKey(request.caller_id, request.request_id),
                                  organization.id, "NX", "GET", "EX", Retention(request)});
    if (!chosen.ok()) return chosen.status();
    if (chosen->IsError()) return ScriptErrorToStatus(*chosen);
    if (!chosen->IsNil()) created = Created{chosen->str, true};
  }
  auto written =
      redis_.Eval(CreateOrganizationScript(), {OrgKey(created.id)},
                  {created.id, organization.display_name, RedisMicros(organization.create_time)});
  if (!written.ok()) return written.status();
  if (written->IsError()) return ScriptErrorToStatus(*written);
  if (auto status = RegisterOrganization(redis_, created.id, organization.create_time);
      !status.ok()) {
    return status;
  }
  return created;
}

absl::StatusOr<std::optional<Organization>> RedisDirectoryStore::GetOrganization(
    const std::string& organization_id) {
  auto reply = redis_.Execute({"HGETALL", OrgKey(organization_id)});
  if (!reply.ok()) return reply.status();
  auto pairs = ReplyPairs(*reply);
  if (pairs.empty()) return std::nullopt;
  Organization organization;
  for (const auto& [name, value] : pairs) {
    if (name == "id")
      organization.id = value;
    else if (name == "display_name")
      organization.display_name = value;
    else if (name == "create_time")
      organization.create_time = ParseRedisMicros(value);
  }
  return organization;
}

absl::StatusOr<Created> RedisDirectoryStore::CreatePerson(const Person& person,
                                                          const CreateRequest& request,
                                                          bool only_if_no_coordinator) {
  const std::string& org = person.organization_id;
  std::vector<std::string> keys{RequestKey(org, "directory", request.caller_id,
                                           request.request_id.empty() ? "-" : request.request_id),
                                OrgKey(org),
                                PersonKey(org, person.id),
                                PeopleIndexKey(org),
                                PersonSeqKey(org),
                                CoordinatorsKey(org),
                                SupervisorsKey(org, person.id),
                                EventsKey(org)};
  for (const auto& supervisor : person.supervisor_ids) {
    keys.push_back(PersonKey(org, supervisor));
    keys.push_back(SuperviseesKey(org, supervisor));
  }
  std::vector<std::string> fields;
  for (PersonField field : kAllFields) AppendFields(person, field, &fields);
  for (const char* name : {"create_time", "update_time"}) {
    fields.push_back(name);
    fields.push_back(RedisMicros(person.create_time));
  }
  fields.push_back("version");
  fields.push_back(absl::StrCat(person.version));
  std::vector<std::string> args{Retention(request),
                                person.id,
                                only_if_no_coordinator ? "1" : "0",
                                org,
                                Rfc3339(person.create_time),
                                absl::StrCat(static_cast<int>(person.role)),
                                absl::StrCat(fields.size() / 2)};
  args.insert(args.end(), fields.begin(), fields.end());
  args.insert(args.end(), person.supervisor_ids.begin(), person.supervisor_ids.end());
  auto result = ParseIdempotentReply(redis_.Eval(CreatePersonScript(), keys, args));
  if (!result.ok()) return result.status();
  return Created{result->value, result->replayed};
}

absl::StatusOr<std::vector<std::optional<Person>>> RedisDirectoryStore::LoadPeople(
    const std::string& organization_id, const std::vector<std::string>& ids) {
  std::vector<RedisCommand> commands;
  commands.reserve(ids.size() * 2);
  for (const auto& id : ids) {
    commands.push_back({"HGETALL", PersonKey(organization_id, id)});
    commands.push_back({"SMEMBERS", SupervisorsKey(organization_id, id)});
  }
  auto replies = redis_.ExecuteAll(std::move(commands));
  if (!replies.ok()) return replies.status();
  std::vector<std::optional<Person>> people;
  people.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    people.push_back(DecodePerson(organization_id, (*replies)[2 * i], (*replies)[2 * i + 1]));
  }
  return people;
}

absl::StatusOr<std::optional<Person>> RedisDirectoryStore::GetPerson(
    const std::string& organization_id, const std::string& person_id) {
  auto people = LoadPeople(organization_id, {person_id});
  if (!people.ok()) return people.status();
  return std::move(people->front());
}

absl::StatusOr<Page<Person>> RedisDirectoryStore::ListPeople(
    const std::string& organization_id, const PageRequest& page,
    const std::function<bool(const Person&)>& keep) {
  auto min_score = MinScore(page);
  if (!min_score.ok()) return min_score.status();
  Page<Person> result;
  std::string from = *min_score;
  int scanned = 0;
  while (true) {
    auto chunk = redis_.Execute({"ZRANGEBYSCORE", PeopleIndexKey(organization_id), from, "+inf",
                                 "WITHSCORES", "LIMIT", "0", absl::StrCat(kListChunk)});
    if (!chunk.ok()) return chunk.status();
    std::vector<std::string> ids;
    std::vector<std::string> scores;
    for (size_t i = 0; i + 1 < chunk->elements.size(); i += 2) {
      ids.push_back(chunk->elements[i].str);
      scores.push_back(chunk->elements[i + 1].str);
    }
    auto people = LoadPeople(organization_id, ids);
    if (!people.ok()) return people.status();
    for (size_t i = 0; i < ids.size(); ++i) {
      if (!(*people)[i].has_value() || !keep(*(*people)[i])) continue;
      result.items.push_back(std::move(*(*people)[i]));
      if (static_cast<int>(result.items.size()) == page.page_size) {
        bool more = i + 1 < ids.size() || static_cast<int>(ids.size()) == kListChunk;
        if (more) result.next_position = scores[i];
        return result;
      }
    }
    if (static_cast<int>(ids.size()) < kListChunk) return result;
    scanned += static_cast<int>(ids.size());
    if (scanned >= kMaxScannedPerPage) {
      result.next_position = scores.back();
      return result;
    }
    from = absl::StrCat("(", scores.back());
  }
}

absl::StatusOr<std::vector<std::string>> RedisDirectoryStore::ListSuperviseeIds(
    const std::string& organization_id, const std::string& supervisor_id) {
  auto reply = redis_.Execute({"SMEMBERS", SuperviseesKey(organization_id, supervisor_id)});
  if (!reply.ok()) return reply.status();
  std::vector<std::string> ids;
  for (const auto& element : reply->elements) ids.push_back(element.str);
  std::sort(ids.begin(), ids.end());
  return ids;
}

absl::Status RedisDirectoryStore::UpdatePerson(const Person& updated,
                                               const std::vector<PersonField>& fields) {
  const std::string& org = updated.organization_id;
  std::vector<std::string> names;
  std::vector<std::string> args{absl::StrCat(updated.version),
                                updated.id,
                                org,
                                Rfc3339(updated.update_time),
                                absl::StrCat(static_cast<int>(updated.role)),
                                ""};
  for (PersonField field : fields) {
    names.emplace_back(PersonFieldName(field));
    AppendFields(updated, field, &args);
  }
  // A role change to volunteer clears lived_experience (see DirectoryService::UpdatePerson).
  AppendFields(updated, PersonField::kLivedExperience, &args);
  args.push_back("update_time");
  args.push_back(RedisMicros(updated.update_time));
  args[5] = absl::StrJoin(names, " ");
  return CheckReply(redis_.Eval(UpdatePersonScript(),
                                {PersonKey(org, updated.id), CoordinatorsKey(org), EventsKey(org)},
                                args));
}

absl::Status RedisDirectoryStore::SetSupervision(const std::string& organization_id,
                                                 const std::string& volunteer_id,
                                                 const std::string& supervisor_id, bool assigned,
                                                 size_t max_supervisors, absl::Time now) {
  const std::string& org = organization_id;
  return CheckReply(redis_.Eval(
      SetSupervisionScript(),
      {PersonKey(org, volunteer_id), PersonKey(org, supervisor_id),
       SupervisorsKey(org, volunteer_id), SuperviseesKey(org, supervisor_id), EventsKey(org)},
      {volunteer_id, supervisor_id, org, Rfc3339(now), RedisMicros(now),
       absl::StrCat(max_supervisors), assigned ? "1" : "0"}));
}

absl::StatusOr<Consent> RedisDirectoryStore::GetConsent(const std::string& organization_id,
                                                        const std::string& volunteer_id) {
  auto reply = redis_.Execute({"HGETALL", ConsentKey(organization_id, volunteer_id)});
  if (!reply.ok()) return reply.status();
  Consent consent;
  for (const auto& [name, value] : ReplyPairs(*reply)) {
    if (name == "risk_monitoring")
      consent.risk_monitoring = value == "1";
    else if (name == "share_scores_with_supervisor")
      consent.share_scores_with_supervisor = value == "1";
    else if (name == "research_export")
      consent.research_export = value == "1";
    else if (name == "update_time")
      consent.update_time = ParseRedisMicros(value);
  }
  return consent;
}

absl::Status RedisDirectoryStore::SetConsent(const std::string& organization_id,
                                             const std::string& volunteer_id,
                                             const Consent& consent) {
  auto flag = [](bool value) { return std::string(value ? "1" : "0"); };
  std::vector<RedisCommand> commands{
      {"HSET", ConsentKey(organization_id, volunteer_id), "risk_monitoring",
       flag(consent.risk_monitoring), "share_scores_with_supervisor",
       flag(consent.share_scores_with_supervisor), "research_export", flag(consent.research_export),
       "update_time", RedisMicros(consent.update_time)},
      // Bounded, so that no volunteer can grow it without end; 1,000 changes is years of them.
      {"RPUSH", ConsentHistoryKey(organization_id, volunteer_id),
       absl::StrCat(RedisMicros(consent.update_time), " ", flag(consent.risk_monitoring),
                    flag(consent.share_scores_with_supervisor), flag(consent.research_export))},
      {"LTRIM", ConsentHistoryKey(organization_id, volunteer_id), "-1000", "-1"}};
  for (RedisCommand& command : PublishEventCommands(
           "directory", "consent.changed", organization_id, consent.update_time,
           {{"volunteer_id", volunteer_id},
            {"risk_monitoring", flag(consent.risk_monitoring)},
            {"share_scores_with_supervisor", flag(consent.share_scores_with_supervisor)},
            {"research_export", flag(consent.research_export)}})) {
    commands.push_back(std::move(command));
  }
  auto replies = redis_.Transaction(std::move(commands));
  if (!replies.ok()) return replies.status();
  for (const auto& reply : *replies) {
    if (reply.IsError()) return absl::InternalError(absl::StrCat("redis: ", reply.str));
  }
  return absl::OkStatus();
}

absl::StatusOr<CreatedApiKeyRecord> RedisDirectoryStore::CreateApiKey(
    const ApiKey& api_key, const CreateRequest& request, const std::string& sealed_secret) {
  const std::string& org = api_key.organization_id;
  auto result = ParseIdempotentReply(redis_.Eval(
      CreateApiKeyScript(),
      // Apart from the caller's CreatePerson request ids, which may be the same strings.
      {RequestKey(
           org, "directory", request.caller_id,
           absl::StrCat("CreateApiKey:", request.request_id.empty() ? "-" : request.request_id)),
       ApiKeyKey(org, api_key.id), ApiKeysIndexKey(org), ApiKeySeqKey(org)},
      {Retention(request), api_key.id, api_key.display_name, absl::StrJoin(api_key.scopes, " "),
       api_key.secret_hash, RedisMicros(api_key.create_time), absl::Base64Escape(sealed_secret)}));
  if (!result.ok()) return result.status();
  std::vector<std::string> parts = absl::StrSplit(result->value, absl::MaxSplits(' ', 1));
  CreatedApiKeyRecord record;
  record.api_key_id = parts[0];
  record.replayed = result->replayed;
  if (parts.size() == 2 && !absl::Base64Unescape(parts[1], &record.sealed_secret)) {
    return absl::InternalError("an API key's sealed secret is not base64");
  }
  return record;
}

absl::StatusOr<std::optional<ApiKey>> RedisDirectoryStore::GetApiKey(
    const std::string& organization_id, const std::string& api_key_id) {
  auto reply = redis_.Execute({"HGETALL", ApiKeyKey(organization_id, api_key_id)});
  if (!reply.ok()) return reply.status();
  return DecodeApiKey(organization_id, *reply);
}

absl::StatusOr<Page<ApiKey>> RedisDirectoryStore::ListApiKeys(const std::string& organization_id,
                                                              const PageRequest& page) {
  auto min_score = MinScore(page);
  if (!min_score.ok()) return min_score.status();
  auto chunk =
      redis_.Execute({"ZRANGEBYSCORE", ApiKeysIndexKey(organization_id), *min_score, "+inf",
                      "WITHSCORES", "LIMIT", "0", absl::StrCat(page.page_size + 1)});
  if (!chunk.ok()) return chunk.status();
  std::vector<RedisCommand> commands;
  std::vector<std::string> scores;
  for (size_t i = 0;
       i + 1 < chunk->elements.size() && static_cast<int>(commands.size()) < page.page_size;
       i += 2) {
    commands.push_back({"HGETALL", ApiKeyKey(organization_id, chunk->elements[i].str)});
    scores.push_back(chunk->elements[i + 1].str);
  }
  Page<ApiKey> result;
  if (commands.empty()) return result;
  bool more = static_cast<int>(chunk->elements.size() / 2) > page.page_size;
  auto replies = redis_.ExecuteAll(std::move(commands));
  if (!replies.ok()) return replies.status();
  for (const auto& reply : *replies) {
    if (auto key = DecodeApiKey(organization_id, reply); key.has_value()) {
      result.items.push_back(std::move(*key));
    }
  }
  if (more) result.next_position = scores.back();
  return result;
}

absl::Status RedisDirectoryStore::RevokeApiKey(const std::string& organization_id,
                                               const std::string& api_key_id, absl::Time now) {
  std::vector<std::string> args{RedisMicros(now), absl::StrCat(kEventStreamMaxLen)};
  for (std::string& field : EventFieldPairs("api_key.revoked", organization_id, now,
                                            {{"api_key_id", api_key_id}})) {
    args.push_back(std::move(field));
  }
  return CheckReply(
      redis_.Eval(RevokeApiKeyScript(),
                  {ApiKeyKey(organization_id, api_key_id), EventsKey(organization_id)}, args));
}

}  // namespace peerwell::directory

namespace peerwell::directory {
namespace {

// An audit entry's fields as AuditXadd wrote them.
std::optional<AuditRecord> DecodeAuditRecord(const RedisReply& fields) {
  AuditRecord record;
  for (auto& [name, value] : ReplyPairs(fields)) {
    if (name == "actor_id") {
      record.actor_id = std::move(value);
    } else if (name == "actor_role") {
      if (!ParseCallerRole(value, &record.actor_role)) return std::nullopt;
    } else if (name == "organization_id") {
      record.organization_id = std::move(value);
    } else if (name == "subject_id") {
      record.subject_id = std::move(value);
    } else if (name == "rpc") {
      record.rpc = std::move(value);
    } else if (name == "outcome") {
      record.outcome = std::move(value);
    } else if (name == "time") {
      std::string error;
      if (!absl::ParseTime(absl::RFC3339_full, value, &record.time, &error)) return std::nullopt;
    }
  }
  return record;
}

bool Matches(const AuditRecord& record, const AuditQuery& query) {
  return (query.subject_id.empty() || record.subject_id == query.subject_id) &&
         (query.reader_id.empty() || record.actor_id == query.reader_id) &&
         (!query.start_time.has_value() || record.time >= *query.start_time) &&
         (!query.end_time.has_value() || record.time < *query.end_time);
}

// Entry ids are the append's millisecond; a record's `time` was taken just before it. The
// margin keeps a record whose time and id straddle a bound; `Matches` then decides exactly.
constexpr absl::Duration kAuditIdMargin = absl::Seconds(5);

std::string AuditIdBound(absl::Time time, absl::Duration shift) {
  return absl::StrCat(std::max<int64_t>(0, absl::ToUnixMillis(time + shift)));
}

}  // namespace

absl::StatusOr<std::vector<Consent>> RedisDirectoryStore::ListConsentHistory(
    const std::string& organization_id, const std::string& volunteer_id) {
  auto reply =
      redis_.Execute({"LRANGE", ConsentHistoryKey(organization_id, volunteer_id), "0", "-1"});
  if (!reply.ok()) return reply.status();
  if (reply->IsError()) return absl::InternalError(absl::StrCat("redis: ", reply->str));
  std::vector<Consent> history;
  for (const RedisReply& entry : reply->elements) {
    std::vector<absl::string_view> parts = absl::StrSplit(entry.str, ' ');
    if (parts.size() != 2 || parts[1].size() != 3) continue;
    Consent consent;
    consent.update_time = ParseRedisMicros(parts[0]);
    consent.risk_monitoring = parts[1][0] == '1';
    consent.share_scores_with_supervisor = parts[1][1] == '1';
    consent.research_export = parts[1][2] == '1';
    history.push_back(consent);
  }
  return history;
}

absl::StatusOr<Page<AuditRecord>> RedisDirectoryStore::ListAuditRecords(
    const std::string& organization_id, const AuditQuery& query, const PageRequest& page) {
  // A listing filtered to one subject or reader reads the organisation's whole stream; each
  // page looks at this many entries at most, so a sparse filter answers in bounded time with
  // a short page and a position to go on from.
  constexpr int kMaxExamined = 2000;
  constexpr int kChunk = 500;
  std::string upper = !page.position.empty()       ? absl::StrCat("(", page.position)
                      : query.end_time.has_value() ? AuditIdBound(*query.end_time, kAuditIdMargin)
                                                   : "+";
  std::string lower =
      query.start_time.has_value() ? AuditIdBound(*query.start_time, -kAuditIdMargin) : "-";
  Page<AuditRecord> result;
  int examined = 0;
  while (examined < kMaxExamined) {
    auto reply = redis_.Execute({"XREVRANGE", AuditStreamKey(organization_id), upper, lower,
                                 "COUNT", absl::StrCat(kChunk)});
    if (!reply.ok()) return reply.status();
    if (reply->IsError()) return absl::InternalError(absl::StrCat("redis: ", reply->str));
    for (const RedisReply& entry : reply->elements) {
      if (entry.elements.size() != 2) continue;
      const std::string& id = entry.elements[0].str;
      ++examined;
      upper = absl::StrCat("(", id);
      auto record = DecodeAuditRecord(entry.elements[1]);
      if (record.has_value() && Matches(*record, query)) {
        result.items.push_back(*std::move(record));
        if (static_cast<int>(result.items.size()) == page.page_size) {
          result.next_position = id;
          return result;
        }
      }
      if (examined == kMaxExamined) {
        result.next_position = id;
        return result;
      }
    }
    if (static_cast<int>(reply->elements.size()) < kChunk) return result;  // the oldest reached
  }
  return result;
}

namespace {

const RedisScript& CreateErasureScript() {
  // KEYS: request, person, their supervisors, consent, consent history, people, coordinators,
  // erasure, erasures, erasures due, events, audit, then the volunteers-sets of the person's
  // supervisors, the supervisors-sets of the person's volunteers, the person's volunteers-set.
  // ARGV (after the retention): version, person id, erasure id, org, occur time, create µs, role,
  // erased by, services, due member, next announcement µs, supervisors, volunteers, audit pairs...
  static const auto* script = new RedisScript(IdempotentScript(absl::StrCat(kXaddEventLua, R"lua(
  local version = redis.call('HGET', KEYS[2], 'version')
  if not version then return redis.error_reply('NOT_FOUND person_id: no such person') end
  if version ~= ARGV[2] then return redis.error_reply('ABORTED the person changed concurrently') end
  local person = ARGV[3]
  local supervisors, volunteers = tonumber(ARGV[13]), tonumber(ARGV[14])
  for i = 1, supervisors + volunteers do redis.call('SREM', KEYS[12 + i], person) end
  redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[12 + supervisors + volunteers + 1])
  redis.call('ZREM', KEYS[6], person)
  redis.call('SREM', KEYS[7], person)
  redis.call('HSET', KEYS[8], 'id', ARGV[4], 'person_id', person, 'role', ARGV[8],
             'erased_by', ARGV[9], 'services', ARGV[10], 'state', '1', 'create_time', ARGV[7])
  redis.call('ZADD', KEYS[9], ARGV[7], ARGV[4])
  redis.call('ZADD', KEYS[10], ARGV[12], ARGV[11])
  xadd_event(KEYS[11], 'MAXLEN', '~', '1000000', '*', 'type', 'person.erased',
             'organization_id', ARGV[5], 'occur_time', ARGV[6], 'person_id', person,
             'erasure_id', ARGV[4], 'role', ARGV[8])
  local audit = {}
  for i = 15, #ARGV do audit[#audit + 1] = ARGV[i] end
  redis.call('XADD', KEYS[12], '*', unpack(audit))
  return ARGV[4]
)lua")));
  return *script;
}

const RedisScript& CompleteErasurePartScript() {
  // KEYS: erasure, erasures due. ARGV: service, now µs, due member. Answers the erasure's fields.
  static const auto* script = new RedisScript(R"lua(
  local services = redis.call('HGET', KEYS[1], 'services')
  if not services then return redis.error_reply('NOT_FOUND erasure_id: no such erasure') end
  local known = false
  for service in string.gmatch(services, '%S+') do
    if service == ARGV[1] then known = true end
  end
  if not known then
    return redis.error_reply('PERMISSION_DENIED ' .. ARGV[1] .. ' takes no part in erasures')
  end
  redis.call('HSETNX', KEYS[1], 'done:' .. ARGV[1], ARGV[2])
  local all = true
  for service in string.gmatch(services, '%S+') do
    if redis.call('HEXISTS', KEYS[1], 'done:' .. service) == 0 then all = false end
  end
  if all and redis.call('HGET', KEYS[1], 'state') ~= '2' then
    redis.call('HSET', KEYS[1], 'state', '2', 'complete_time', ARGV[2])
    -- Due at once: the sweep has Redis rewrite its append-only file.
    redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
  end
  return redis.call('HGETALL', KEYS[1])
)lua");
  return *script;
}

const RedisScript& ClaimDueErasuresScript() {
  // KEYS: erasures due. ARGV: now µs, next µs, limit.
  static const auto* script = new RedisScript(R"lua(
  local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
  for _, member in ipairs(due) do redis.call('ZADD', KEYS[1], ARGV[2], member) end
  return due
)lua");
  return *script;
}

std::optional<Erasure> DecodeErasure(const std::string& org, const RedisReply& reply) {
  if (reply.elements.empty()) return std::nullopt;
  Erasure erasure;
  erasure.organization_id = org;
  std::map<std::string, absl::Time> done;
  std::string services;
  for (auto& [name, value] : ReplyPairs(reply)) {
    if (name == "id") {
      erasure.id = value;
    } else if (name == "person_id") {
      erasure.person_id = value;
    } else if (name == "role") {
      erasure.role = static_cast<Role>(ParseRedisInt(value));
    } else if (name == "erased_by") {
      erasure.erased_by = value;
    } else if (name == "services") {
      services = value;
    } else if (name == "state") {
      erasure.state = static_cast<ErasureState>(ParseRedisInt(value));
    } else if (name == "create_time") {
      erasure.create_time = ParseRedisMicros(value);
    } else if (name == "complete_time") {
      erasure.complete_time = ParseRedisMicros(value);
    } else if (absl::StartsWith(name, "done:")) {
      done[name.substr(5)] = ParseRedisMicros(value);
    }
  }
  for (absl::string_view service : absl::StrSplit(services, ' ', absl::SkipEmpty())) {
    ErasureProgress progress{std::string(service), std::nullopt};
    if (auto it = done.find(progress.service); it != done.end()) progress.done_time = it->second;
    erasure.services.push_back(std::move(progress));
  }
  return erasure;
}

// Reads `stream` in chunks, oldest first, and deletes every entry `doomed` picks.
absl::Status DeleteStreamEntries(
    RedisClient& redis, const std::string& stream,
    const std::function<bool(const std::vector<std::pair<std::string, std::string>>&)>& doomed) {
  constexpr int kChunk = 1000;
  std::string from = "-";
  while (true) {
    auto chunk = redis.Execute({"XRANGE", stream, from, "+", "COUNT", absl::StrCat(kChunk)});
    if (!chunk.ok()) return chunk.status();
    if (chunk->IsError()) return absl::InternalError(absl::StrCat("redis: ", chunk->str));
    RedisCommand xdel{"XDEL", stream};
    for (const RedisReply& entry : chunk->elements) {
      if (entry.elements.size() != 2) continue;
      from = absl::StrCat("(", entry.elements[0].str);
      if (doomed(ReplyPairs(entry.elements[1]))) xdel.push_back(entry.elements[0].str);
    }
    if (xdel.size() > 2) {
      auto deleted = redis.Execute(xdel);
      if (!deleted.ok()) return deleted.status();
      if (deleted->IsError()) return absl::InternalError(absl::StrCat("redis: ", deleted->str));
    }
    if (static_cast<int>(chunk->elements.size()) < kChunk) return absl::OkStatus();
  }
}

bool NamesPerson(const std::vector<std::pair<std::string, std::string>>& fields,
                 const std::string& person_id) {
  for (const auto& [name, value] : fields) {
    if (value == person_id) return true;
  }
  return false;
}

std::string FieldOf(const std::vector<std::pair<std::string, std::string>>& fields,
                    absl::string_view name) {
  for (const auto& [field, value] : fields) {
    if (field == name) return value;
  }
  return "";
}

}  // namespace

absl::StatusOr<Created> RedisDirectoryStore::CreateErasure(
    const Erasure& erasure, const Person& person, const std::vector<std::string>& supervisee_ids,
    const CreateRequest& request, const AuditRecord& audit) {
  const std::string& org = erasure.organization_id;
  std::vector<std::string> keys{
      RequestKey(
          org, "directory", request.caller_id,
          absl::StrCat("ErasePerson:", request.request_id.empty() ? "-" : request.request_id)),
      PersonKey(org, person.id),
      SupervisorsKey(org, person.id),
      ConsentKey(org, person.id),
      ConsentHistoryKey(org, person.id),
      PeopleIndexKey(org),
      CoordinatorsKey(org),
      ErasureKey(org, erasure.id),
      ErasuresIndexKey(org),
      ErasuresDueKey(org),
      EventsKey(org),
      AuditStreamKey(org)};
  for (const std::string& supervisor : person.supervisor_ids) {
    keys.push_back(SuperviseesKey(org, supervisor));
  }
  for (const std::string& volunteer : supervisee_ids)
    keys.push_back(SupervisorsKey(org, volunteer));
  keys.push_back(SuperviseesKey(org, person.id));
  std::vector<std::string> services;
  for (const ErasureProgress& progress : erasure.services) services.push_back(progress.service);
  std::vector<std::string> args{Retention(request),
                                absl::StrCat(person.version),
                                person.id,
                                erasure.id,
                                org,
                                Rfc3339(erasure.create_time),
                                RedisMicros(erasure.create_time),
                                absl::StrCat(static_cast<int>(person.role)),
                                erasure.erased_by,
                                absl::StrJoin(services, " "),
                                ErasureDueMember(org, erasure.id),
                                RedisMicros(erasure.create_time + kErasureAnnounceInterval),
                                absl::StrCat(person.supervisor_ids.size()),
                                absl::StrCat(supervisee_ids.size())};
  RedisCommand xadd = AuditXadd(audit);
  args.insert(args.end(), xadd.begin() + 3, xadd.end());  // the fields after XADD <key> *
  auto result = ParseIdempotentReply(redis_.Eval(CreateErasureScript(), keys, args));
  if (!result.ok()) return result.status();
  // After the write: a rescan between the two must not drop what it had not seen yet.
  erasures_due_.Scheduled(org);
  return Created{result->value, result->replayed};
}

absl::StatusOr<std::optional<Erasure>> RedisDirectoryStore::GetErasure(
    const std::string& organization_id, const std::string& erasure_id) {
  auto reply = redis_.Execute({"HGETALL", ErasureKey(organization_id, erasure_id)});
  if (!reply.ok()) return reply.status();
  if (reply->IsError()) return absl::InternalError(absl::StrCat("redis: ", reply->str));
  return DecodeErasure(organization_id, *reply);
}

absl::StatusOr<Erasure> RedisDirectoryStore::CompleteErasurePart(const std::string& organization_id,
                                                                 const std::string& erasure_id,
                                                                 const std::string& service,
                                                                 absl::Time now) {
  auto reply =
      redis_.Eval(CompleteErasurePartScript(),
                  {ErasureKey(organization_id, erasure_id), ErasuresDueKey(organization_id)},
                  {service, RedisMicros(now), ErasureDueMember(organization_id, erasure_id)});
  if (!reply.ok()) return reply.status();
  if (reply->IsError()) return ScriptErrorToStatus(*reply);
  // The last part done makes the erasure due at once (its append-only file rewritten).
  erasures_due_.Scheduled(organization_id);
  auto erasure = DecodeErasure(organization_id, *reply);
  if (!erasure.has_value()) return absl::NotFoundError("erasure_id: no such erasure");
  return *std::move(erasure);
}

absl::StatusOr<std::vector<Erasure>> RedisDirectoryStore::ClaimDueErasures(absl::Time now,
                                                                           absl::Time next,
                                                                           int limit) {
  auto shares = erasures_due_.Due(redis_, RedisMicros(now), limit);
  if (!shares.ok()) return shares.status();
  auto claimed =
      ClaimDueShares(redis_, ClaimDueErasuresScript(), ErasuresDueKey, *shares, now, next);
  if (!claimed.ok()) return claimed.status();
  std::vector<RedisCommand> reads;
  std::vector<std::pair<std::string, std::string>> members;  // organisation, erasure
  for (const RedisReply& due : *claimed) {
    for (const RedisReply& member : due.elements) {
      std::vector<std::string> parts = absl::StrSplit(member.str, absl::MaxSplits('/', 1));
      if (parts.size() != 2) continue;
      reads.push_back({"HGETALL", ErasureKey(parts[0], parts[1])});
      members.emplace_back(parts[0], parts[1]);
    }
  }
  std::vector<Erasure> erasures;
  if (reads.empty()) return erasures;
  auto replies = redis_.ExecuteAll(std::move(reads));
  if (!replies.ok()) return replies.status();
  for (size_t i = 0; i < replies->size(); ++i) {
    auto erasure = DecodeErasure(members[i].first, (*replies)[i]);
    if (erasure.has_value()) {
      erasures.push_back(*std::move(erasure));
    } else {  // nothing left to announce
      auto removed = redis_.Execute({"ZREM", ErasuresDueKey(members[i].first),
                                     ErasureDueMember(members[i].first, members[i].second)});
      if (!removed.ok()) return removed.status();
    }
  }
  return erasures;
}

absl::Status RedisDirectoryStore::AnnounceErasure(const Erasure& erasure, absl::Time now) {
  auto replies = redis_.Transaction(
      PublishEventCommands("directory", "person.erased", erasure.organization_id, now,
                           {{"person_id", erasure.person_id},
                            {"erasure_id", erasure.id},
                            {"role", absl::StrCat(static_cast<int>(erasure.role))}}));
  if (!replies.ok()) return replies.status();
  for (const RedisReply& reply : *replies) {
    if (reply.IsError()) return absl::InternalError(absl::StrCat("redis: ", reply.str));
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> RedisDirectoryStore::RewriteAppendOnlyFile(const Erasure& erasure) {
  // On a cluster, the node that holds the organisation's keys (and so the person's data).
  const std::string due = ErasuresDueKey(erasure.organization_id);
  auto reply = redis_.ExecuteOnNodeOf(due, {"BGREWRITEAOF"});
  if (!reply.ok()) return reply.status();
  // "already in progress": that rewrite may have forked before the erasure; ask again later.
  if (reply->IsError()) return false;
  // Its replicas keep append-only files of their own, with the same data: each rewrites too.
  // ROLE names the replicas connected to it ([ip, port, offset] each).
  auto role = redis_.ExecuteOnNodeOf(due, {"ROLE"});
  if (!role.ok()) return role.status();
  if (role->IsError()) return absl::InternalError(absl::StrCat("redis: ROLE: ", role->str));
  if (role->elements.size() >= 3 && role->elements[0].str == "master") {
    for (const RedisReply& replica : role->elements[2].elements) {
      if (replica.elements.size() < 2) continue;
      int port = 0;
      if (!absl::SimpleAtoi(replica.elements[1].str, &port)) continue;
      auto connection = RedisConnection::Connect(
          redis_.options().address.Node(replica.elements[0].str, port), absl::Seconds(1));
      if (!connection.ok()) return connection.status();
      auto rewrite = (*connection)->Execute({"BGREWRITEAOF"}, absl::Seconds(2));
      if (!rewrite.ok()) return rewrite.status();
      if (rewrite->IsError()) return false;  // as above, on the replica
    }
  }
  auto removed = redis_.Execute({"ZREM", ErasuresDueKey(erasure.organization_id),
                                 ErasureDueMember(erasure.organization_id, erasure.id)});
  if (!removed.ok()) return removed.status();
  return true;
}

absl::Status RedisDirectoryStore::EraseTraces(const std::string& organization_id,
                                              const std::string& person_id,
                                              absl::string_view keep_rpc) {
  // Reads of their data recorded by others; the record of the erasure itself stays.
  auto status =
      DeleteStreamEntries(redis_, AuditStreamKey(organization_id), [&](const auto& fields) {
        return FieldOf(fields, "subject_id") == person_id && FieldOf(fields, "rpc") != keep_rpc;
      });
  if (!status.ok()) return status;
  const std::string events = EventsKey(organization_id);
  for (const std::string& stream : {events, DeadLetterStreamKey(events)}) {
    status = DeleteStreamEntries(redis_, stream, [&](const auto& fields) {
      return FieldOf(fields, "type") != "person.erased" && NamesPerson(fields, person_id);
    });
    if (!status.ok()) return status;
  }
  // CreatePerson's request keys hold the id of the person they created.
  auto keys = MatchingKeys(redis_, absl::StrCat(Prefix(organization_id), "request:*"));
  if (!keys.ok()) return keys.status();
  std::vector<RedisCommand> reads;
  for (const std::string& key : *keys) reads.push_back({"GET", key});
  if (reads.empty()) return absl::OkStatus();
  auto values = redis_.ExecuteAll(std::move(reads));
  if (!values.ok()) return values.status();
  RedisCommand del{"DEL"};
  for (size_t i = 0; i < values->size(); ++i) {
    if ((*values)[i].str == person_id) del.push_back((*keys)[i]);
  }
  if (del.size() == 1) return absl::OkStatus();
  return redis_.Execute(del).status();
}

const std::vector<PersonKeyFamily>& RedisDirectoryStore::PersonKeyFamilies() {
  // From the key functions themselves, `*` for the organisation and ids, so that the patterns
  // follow the layout; the more specific patterns of a prefix come first.
  static const auto* families = [] {
    const std::string any = "*";
    return new std::vector<PersonKeyFamily>{
        {SupervisorsKey(any, any), "person", ""},
        {PersonKey(any, any), "person", ""},
        // A supervisor's volunteers: each volunteer's supervisors are in their person record.
        {SuperviseesKey(any, any), "person", ""},
        {PeopleIndexKey(any), "", "person ids by creation; each person is exported as person"},
        {CoordinatorsKey(any), "", "coordinator ids; each is exported as person (its role)"},
        {ConsentHistoryKey(any, any), "consentHistory", ""},
        {ConsentKey(any, any), "consent", ""},
        {absl::StrCat(Prefix(any), "request:", any), "",
         "idempotency for 7 days: a caller's request id and the id of the person or API key it "
         "created (exported as person)"},
        {AuditStreamKey(any), "auditRecords", ""},
        {EventsKey(any), "",
         "the directory's events: ids, roles, consent values and field names of changes, all "
         "exported as person, consent and consentHistory"},
        {DeadLetterStreamKey(EventsKey(any)), "",
         "the directory's events some consumer gave up on: the same facts as the events"},
        {ErasureKey(any, any), "",
         "the record that the person was erased: their id, who erased them and when (an erased "
         "person has nothing left to export)"},
    };
  }();
  return *families;
}

}  // namespace peerwell::directory
