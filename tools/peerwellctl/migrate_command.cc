// `peerwellctl migrate`: moves a Redis written by a release before events and schedules were
// per organisation (one stream per service, one schedule per kind for every organisation, no
// registry of organisations) to the layout of this release, in place. Every step can run again:
// what was moved is found moved (a stream's entries after the cursor kept of them, or by their
// id; a schedule's member by its absence from the old key), so a run that stopped halfway is
// finished by running it again, and a second run of a finished migration changes nothing. It may
// run after this release's services have started: an old event then goes after theirs.
#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/common/config.h"
#include "services/common/events.h"
#include "services/common/ids.h"
#include "services/common/organization_registry.h"
#include "services/common/redis_client.h"
#include "services/common/redis_commands.h"
#include "services/common/redis_values.h"
#include "tools/peerwellctl/command.h"

namespace peerwell::ctl {
namespace {

// The services whose events were one stream each, "pw:events:<service>".
constexpr const char* kEventServices[] = {"directory",   "checkin", "alerts",
                                          "supervision", "network", "webhooks"};
constexpr int kPage = 500;

std::string EnvValue(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

absl::StatusOr<RedisReply> Checked(absl::StatusOr<RedisReply> reply) {
  if (!reply.ok()) return reply.status();
  if (reply->IsError()) return absl::InternalError(absl::StrCat("redis: ", reply->str));
  return reply;
}

// The id just before `id` (an id Redis gave): a group whose last delivered id it is delivers
// `id` next.
std::string IdBefore(const std::string& id) {
  auto [ms, seq] = ParseStreamId(id).value_or(std::pair<unsigned long long, unsigned long long>{});
  if (seq > 0) return absl::StrCat(ms, "-", seq - 1);
  if (ms == 0) return "0-0";
  return absl::StrCat(ms - 1, "-18446744073709551615");
}

// Where a run got to in a service's old stream and its dead letters: keys of the service's own
// (pw:<service>:*), which its Redis user may write.
std::string EventsCursorKey(const std::string& service) {
  return absl::StrCat("pw:", service, ":migrated_until:events");
}
std::string DeadLettersCursorKey(const std::string& service) {
  return absl::StrCat("pw:", service, ":migrated_until:dead");
}

struct Tally {
  long long organizations_registered = 0;
  long long entries_copied = 0;
  long long groups_created = 0;
  long long members_moved = 0;
  long long streams_removed = 0;
};

// Every organisation the directory holds (pw:{<org>}:directory:org) in the registry, by when it
// was created.
absl::Status RegisterEveryOrganization(RedisClient& redis, Tally& tally) {
  auto keys = MatchingKeys(redis, "pw:{*}:directory:org");
  if (!keys.ok()) return keys.status();
  for (const std::string& key : *keys) {
    const std::string org = OrganizationOfKey(key);
    if (org.empty()) continue;
    auto created = Checked(redis.Execute({"HGET", key, "create_time"}));
    if (!created.ok()) return created.status();
    const std::string score = created->str.empty() ? "0" : created->str;
    auto added = Checked(redis.Execute({"ZADD", kOrganizationsKey, "NX", score, org}));
    if (!added.ok()) return added.status();
    tally.organizations_registered += added->integer;
  }
  return absl::OkStatus();
}

// Where an old entry goes: its organisation and its fields there (empty organisation: none).
using Placement =
    std::function<std::pair<std::string, std::vector<EventField>>(const StreamEntry& entry)>;

// Copies the entries of the old stream `from` after `after` (and after `cursor_key`'s id, where
// an earlier run got to) to their organisation's stream (`to(org)`), in pages, each under its
// own id, or under a new one when the stream already holds newer entries (this release's
// services ran before the migration: the old entry then comes after theirs, and is still read).
// `cursor_key` keeps the last id copied, so that a run that stopped is taken up where it was;
// an entry found already there under its id (copied just before a stop) is not copied twice.
// Entries without an organisation stay behind (and so does the old stream).
absl::StatusOr<bool> CopyEntries(RedisClient& redis, const std::string& from,
                                 const std::string& after, const std::string& cursor_key,
                                 const std::function<std::string(const std::string&)>& to,
                                 const Placement& place, std::set<std::string>& organizations,
                                 Tally& tally) {
  bool every_entry_placed = true;
  auto cursor = Checked(redis.Execute({"GET", cursor_key}));
  if (!cursor.ok()) return cursor.status();
  std::string start_after = after;
  if (!cursor->IsNil() && StreamIdBefore(start_after, cursor->str)) start_after = cursor->str;
  std::string start = start_after == "0-0" ? "-" : absl::StrCat("(", start_after);
  while (true) {
    auto page = Checked(redis.Execute({"XRANGE", from, start, "+", "COUNT", absl::StrCat(kPage)}));
    if (!page.ok()) return page.status();
    std::vector<StreamEntry> entries = ParseStreamEntries(*page);
    if (entries.empty()) break;
    std::vector<RedisCommand> writes;
    std::vector<const StreamEntry*> written;
    for (const StreamEntry& entry : entries) {
      auto [org, fields] = place(entry);
      if (org.empty()) {
        every_entry_placed = false;
        continue;
      }
      // Noted even when the entry was copied by an earlier run, which may have stopped before
      // creating the groups.
      organizations.insert(org);
      RedisCommand xadd{"XADD", to(org), entry.id};
      for (const auto& [name, value] : fields) {
        xadd.push_back(name);
        xadd.push_back(value);
      }
      writes.push_back(std::move(xadd));
      written.push_back(&entry);
    }
    if (!writes.empty()) {
      auto replies = redis.ExecuteAll(writes);
      if (!replies.ok()) return replies.status();
      // Refused ids: smaller than the stream's newest. Copied before (it is there), or behind
      // this release's own entries (it is not): then under a new id.
      std::vector<size_t> refused;
      for (size_t i = 0; i < replies->size(); ++i) {
        const RedisReply& reply = (*replies)[i];
        if (!reply.IsError()) {
          ++tally.entries_copied;
        } else if (absl::StrContains(reply.str, "equal or smaller")) {
          refused.push_back(i);
        } else {
          return absl::InternalError(absl::StrCat("redis: ", reply.str));
        }
      }
      if (!refused.empty()) {
        std::vector<RedisCommand> lookups;
        for (size_t i : refused) {
          lookups.push_back({"XRANGE", writes[i][1], written[i]->id, written[i]->id});
        }
        auto found = redis.ExecuteAll(std::move(lookups));
        if (!found.ok()) return found.status();
        std::vector<RedisCommand> appends;
        for (size_t k = 0; k < refused.size(); ++k) {
          if ((*found)[k].IsError()) {
            return absl::InternalError(absl::StrCat("redis: ", (*found)[k].str));
          }
          if (!(*found)[k].elements.empty()) continue;  // copied by an earlier run
          RedisCommand xadd = writes[refused[k]];
          xadd[2] = "*";
          appends.push_back(std::move(xadd));
        }
        if (!appends.empty()) {
          const long long count = static_cast<long long>(appends.size());
          auto appended = redis.ExecuteAll(std::move(appends));
          if (!appended.ok()) return appended.status();
          for (const RedisReply& reply : *appended) {
            if (reply.IsError()) return absl::InternalError(absl::StrCat("redis: ", reply.str));
          }
          tally.entries_copied += count;
        }
      }
    }
    auto saved = Checked(redis.Execute({"SET", cursor_key, entries.back().id}));
    if (!saved.ok()) return saved.status();
    start = absl::StrCat("(", entries.back().id);
  }
  return every_entry_placed;
}

// One service's old event stream and its dead letters, to each organisation's; its consumer
// groups created on each organisation's stream where they had got to, so that an entry a group
// had not yet read, or had read and not acknowledged, reaches it from there (at least once, as
// always); then the old streams go.
absl::Status MigrateEvents(RedisClient& redis, const std::string& service, Tally& tally) {
  const std::string old_stream = absl::StrCat("pw:events:", service);
  auto type = Checked(redis.Execute({"TYPE", old_stream}));
  if (!type.ok()) return type.status();
  bool complete = true;
  if (type->str == "stream") {
    auto groups = Checked(redis.Execute({"XINFO", "GROUPS", old_stream}));
    if (!groups.ok()) return groups.status();
    // Where each group is to start again in each organisation's stream: after its last
    // delivered entry, or before its oldest entry of that organisation it has not acknowledged.
    struct GroupState {
      std::string last_delivered = "0-0";
      std::string start;                                  // the earliest over organisations
      std::map<std::string, std::string> oldest_pending;  // organisation -> entry id
      std::string StartIn(const std::string& org) const {
        auto pending = oldest_pending.find(org);
        return pending == oldest_pending.end() ? last_delivered : IdBefore(pending->second);
      }
    };
    std::map<std::string, GroupState> start_of;
    for (const RedisReply& group : groups->elements) {
      std::string name;
      GroupState state;
      for (size_t i = 0; i + 1 < group.elements.size(); i += 2) {
        if (group.elements[i].str == "name") name = group.elements[i + 1].str;
        if (group.elements[i].str == "last-delivered-id") {
          state.last_delivered = group.elements[i + 1].str;
        }
      }
      state.start = state.last_delivered;
      // Its unacknowledged entries, a page at a time, each looked up for its organisation.
      std::string from = "-";
      while (true) {
        auto pending =
            Checked(redis.Execute({"XPENDING", old_stream, name, from, "+", absl::StrCat(kPage)}));
        if (!pending.ok()) return pending.status();
        if (pending->elements.empty()) break;
        std::vector<RedisCommand> reads;
        for (const RedisReply& entry : pending->elements) {
          reads.push_back({"XRANGE", old_stream, entry.elements[0].str, entry.elements[0].str});
        }
        from = absl::StrCat("(", pending->elements.back().elements[0].str);
        auto entries = redis.ExecuteAll(std::move(reads));
        if (!entries.ok()) return entries.status();
        for (const RedisReply& reply : *entries) {
          if (reply.IsError()) return absl::InternalError(absl::StrCat("redis: ", reply.str));
          for (const StreamEntry& entry : ParseStreamEntries(reply)) {
            std::string& oldest = state.oldest_pending[entry.Get("organization_id")];
            if (oldest.empty() || StreamIdBefore(entry.id, oldest)) oldest = entry.id;
            if (StreamIdBefore(IdBefore(entry.id), state.start)) state.start = IdBefore(entry.id);
          }
        }
      }
      start_of[name] = std::move(state);
    }
    // Entries every group has handled need not move.
    std::string copy_after = "0-0";
    if (!start_of.empty()) {
      copy_after = start_of.begin()->second.start;
      for (const auto& [name, state] : start_of) {
        if (StreamIdBefore(state.start, copy_after)) copy_after = state.start;
      }
    }
    std::set<std::string> organizations;
    auto placed = CopyEntries(
        redis, old_stream, copy_after, EventsCursorKey(service),
        [&](const std::string& org) { return EventStreamKey(service, org); },
        [](const StreamEntry& entry) {
          return std::pair{entry.Get("organization_id"), entry.fields};
        },
        organizations, tally);
    if (!placed.ok()) return placed.status();
    complete = *placed;
    for (const std::string& org : organizations) {
      for (const auto& [name, state] : start_of) {
        auto created = redis.Execute({"XGROUP", "CREATE", EventStreamKey(service, org), name,
                                      state.StartIn(org), "MKSTREAM"});
        if (!created.ok()) return created.status();
        if (created->IsError() && created->str.rfind("BUSYGROUP", 0) != 0) {
          return absl::InternalError(absl::StrCat("redis: ", created->str));
        }
        if (!created->IsError()) ++tally.groups_created;
      }
    }
  }
  const std::string old_dead = DeadLetterStreamKey(old_stream);
  auto dead_type = Checked(redis.Execute({"TYPE", old_dead}));
  if (!dead_type.ok()) return dead_type.status();
  if (dead_type->str == "stream") {
    // A dead letter holds the event's fields as "event.<name>", and where it came from, which
    // is now the organisation's stream.
    std::set<std::string> organizations;
    auto placed = CopyEntries(
        redis, old_dead, "0-0", DeadLettersCursorKey(service),
        [&](const std::string& org) { return DeadLetterStreamKey(EventStreamKey(service, org)); },
        [&](const StreamEntry& entry) {
          std::string org = entry.Get("event.organization_id");
          std::vector<EventField> fields = entry.fields;
          if (!org.empty()) {
            for (EventField& field : fields) {
              if (field.name == "source_stream") field.value = EventStreamKey(service, org);
            }
          }
          return std::pair{org, fields};
        },
        organizations, tally);
    if (!placed.ok()) return placed.status();
    complete = complete && *placed;
  }
  if (!complete) {
    return absl::FailedPreconditionError(
        absl::StrCat(old_stream,
                     " (or its dead letters) holds entries without an organization_id: left in "
                     "place"));
  }
  // One DEL each: they are in different slots. The cursors last: a run that stops before them
  // finds the old streams gone, and removes them then.
  auto removed = redis.ExecuteAll({{"DEL", old_stream}, {"DEL", old_dead}});
  if (!removed.ok()) return removed.status();
  for (const RedisReply& reply : *removed) {
    if (reply.IsError()) return absl::InternalError(absl::StrCat("redis: ", reply.str));
    tally.streams_removed += reply.integer;
  }
  auto cursors =
      redis.ExecuteAll({{"DEL", EventsCursorKey(service)}, {"DEL", DeadLettersCursorKey(service)}});
  if (!cursors.ok()) return cursors.status();
  return absl::OkStatus();
}

// A schedule for every organisation, to each organisation's: `place(member)` is the new key and
// member (empty when the member names no organisation). A member already scheduled in the new
// layout keeps its time (`keep`: NX, or GT for a time that only moves forward).
absl::Status MigrateSchedule(
    RedisClient& redis, const std::string& old_key, const char* keep,
    const std::function<std::pair<std::string, std::string>(const std::string&)>& place,
    Tally& tally) {
  while (true) {
    auto page =
        Checked(redis.Execute({"ZRANGE", old_key, "0", absl::StrCat(kPage - 1), "WITHSCORES"}));
    if (!page.ok()) return page.status();
    if (page->elements.empty()) return absl::OkStatus();
    std::vector<RedisCommand> moves;
    RedisCommand remove{"ZREM", old_key};
    for (size_t i = 0; i + 1 < page->elements.size(); i += 2) {
      const std::string& member = page->elements[i].str;
      auto [key, new_member] = place(member);
      if (key.empty()) {
        return absl::FailedPreconditionError(
            absl::StrCat(old_key, ": member '", member, "' names no organisation"));
      }
      moves.push_back({"ZADD", key, keep, page->elements[i + 1].str, new_member});
      remove.push_back(member);
    }
    // The moves first: a run that stops between them finds the members still in the old key
    // and moves them again, which changes nothing.
    const size_t count = moves.size();
    moves.push_back(std::move(remove));
    auto replies = redis.ExecuteAll(std::move(moves));
    if (!replies.ok()) return replies.status();
    for (const RedisReply& reply : *replies) {
      if (reply.IsError()) return absl::InternalError(absl::StrCat("redis: ", reply.str));
    }
    tally.members_moved += static_cast<long long>(count);
  }
}

// "<org>/<rest>" members.
std::pair<std::string, std::string> ByPrefix(
    const std::string& member, const std::function<std::string(const std::string&)>& key_of,
    bool keep_prefix) {
  size_t slash = member.find('/');
  if (slash == std::string::npos || slash == 0) return {"", ""};
  const std::string org = member.substr(0, slash);
  return {key_of(org), keep_prefix ? member : member.substr(slash + 1)};
}

}  // namespace

absl::Status RunMigrate(Context& context, const ParsedArgs& args) {
  auto address = ParseRedisAddress(args.Get("redis-addr")
                                       .value_or(EnvValue("PEERWELL_REDIS_ADDR").empty()
                                                     ? "127.0.0.1:6379"
                                                     : EnvValue("PEERWELL_REDIS_ADDR")));
  if (!address.ok()) {
    return UsageError(absl::StrCat("--redis-addr: ", address.status().message()));
  }
  // Either one user that may touch every key, or each service's own user for its own keys (the
  // passwords the services log in with, a file each, named after the service).
  const std::optional<std::string> password_dir = args.Get("redis-password-dir");
  std::map<std::string, RedisAddress> users;  // "" for the one user
  if (password_dir.has_value()) {
    if (args.Has("redis-user") || args.Has("redis-password-file")) {
      return UsageError(
          "--redis-password-dir logs in as each service: no --redis-user or "
          "--redis-password-file with it");
    }
    for (const char* service : kEventServices) {
      auto password =
          ReadSecret("--redis-password-dir", "", absl::StrCat(*password_dir, "/", service));
      if (!password.ok()) return UsageError(password.status().message());
      RedisAddress as = *address;
      as.username = service;
      as.password = *password;
      users[service] = as;
    }
  } else {
    auto password = ReadSecret(
        "PEERWELL_REDIS_PASSWORD", EnvValue("PEERWELL_REDIS_PASSWORD"),
        args.Get("redis-password-file").value_or(EnvValue("PEERWELL_REDIS_PASSWORD_FILE")));
    if (!password.ok()) return UsageError(password.status().message());
    RedisAddress as = *address;
    as.username = args.Get("redis-user").value_or(EnvValue("PEERWELL_REDIS_USER"));
    as.password = *password;
    users[""] = as;
  }
  std::map<std::string, std::unique_ptr<RedisClient>> clients;
  for (const auto& [user, as] : users) {
    RedisOptions options;
    options.address = as;
    options.default_timeout = absl::Seconds(30);
    auto client = std::make_unique<RedisClient>(options);
    // Said at once, rather than by the first command's deadline.
    if (auto status = client->Ping(absl::Seconds(5)); !status.ok()) return status;
    clients[user] = std::move(client);
  }
  // The client of the service that owns `service`'s keys, or the one user's.
  auto as_owner = [&](const std::string& service) -> RedisClient& {
    auto client = clients.find(service);
    return client != clients.end() ? *client->second : *clients.at("");
  };
  Tally tally;
  if (auto status = RegisterEveryOrganization(as_owner("directory"), tally); !status.ok()) {
    return status;
  }
  for (const char* service : kEventServices) {
    if (auto status = MigrateEvents(as_owner(service), service, tally); !status.ok()) {
      return status;
    }
  }
  const auto tagged = [](const char* suffix) {
    return [suffix](const std::string& member) -> std::pair<std::string, std::string> {
      const std::string org = OrganizationOfKey(member);
      if (org.empty()) return {"", ""};
      return {absl::StrCat("pw:{", org, "}:", suffix), member};
    };
  };
  const auto org_key = [](const char* suffix) {
    return [suffix](const std::string& org) { return absl::StrCat("pw:{", org, "}:", suffix); };
  };
  using Place = std::function<std::pair<std::string, std::string>(const std::string&)>;
  // Each schedule with the service that owns it.
  const std::vector<std::tuple<const char*, const char*, const char*, Place>> schedules = {
      // Members: alert keys, which name their organisation.
      {"alerts", "pw:alerts:deadlines", "NX", tagged("alerts:deadlines")},
      // "<org>/<volunteer>": the volunteer, in the organisation's.
      {"alerts", "pw:alerts:last_checkin", "GT",
       [&](const std::string& member) {
         return ByPrefix(member, org_key("alerts:last_checkin"), false);
       }},
      // Members: delivery keys, which name their organisation.
      {"webhooks", "pw:webhooks:due", "NX", tagged("webhooks:due")},
      // "<org>/<erasure>", kept as it is.
      {"directory", "pw:directory:erasures_due", "NX",
       [&](const std::string& member) {
         return ByPrefix(member, org_key("directory:erasures_due"), true);
       }},
  };
  for (const auto& [owner, old_key, keep, place] : schedules) {
    if (auto status = MigrateSchedule(as_owner(owner), old_key, keep, place, tally); !status.ok()) {
      return status;
    }
  }
  if (context.json) {
    std::cout << "{\"organizationsRegistered\":" << tally.organizations_registered
              << ",\"entriesCopied\":" << tally.entries_copied
              << ",\"groupsCreated\":" << tally.groups_created
              << ",\"scheduleMembersMoved\":" << tally.members_moved
              << ",\"oldStreamsRemoved\":" << tally.streams_removed << "}\n";
  } else {
    std::cout << "organisations registered: " << tally.organizations_registered << "\n"
              << "event entries copied: " << tally.entries_copied << "\n"
              << "consumer groups created: " << tally.groups_created << "\n"
              << "schedule members moved: " << tally.members_moved << "\n"
              << "old event streams removed: " << tally.streams_removed << "\n";
  }
  return absl::OkStatus();
}

}  // namespace peerwell::ctl
