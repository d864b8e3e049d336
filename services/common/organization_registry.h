#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/common/redis_client.h"

namespace peerwell {

// Every organisation there is, by when it was created: the directory adds each one as it creates
// it, and the services that go through every organisation's keys (their event streams, their
// schedules) read it. A platform key of its own, written apart from any organisation's keys: a
// Redis Cluster keeps those in the organisation's slot, this one elsewhere.
inline constexpr char kOrganizationsKey[] = "pw:platform:directory:organizations";

// Adds the organisation; adding it again changes nothing.
absl::Status RegisterOrganization(RedisClient& redis, const std::string& organization_id,
                                  absl::Time create_time);

// Every registered organisation, oldest first.
absl::StatusOr<std::vector<std::string>> ListOrganizations(RedisClient& redis);

// An organisation's part of a claim over every organisation's schedule.
struct DueShare {
  std::string organization_id;
  long long due = 0;  // members due by then in its schedule
  int take = 0;       // of them, this claim's share
};

// How many members of each registered organisation's schedule (the sorted set
// `schedule_key(organization_id)`, scored by when each is due) are due by the score `until`, in
// one round trip after the registry's; `limit` shared out oldest organisation first, so that a
// claim takes at most `limit` members in all. Organisations with nothing due are left out.
// Schedules are per organisation so that each stays in its organisation's hash slot, written in
// the same step as what it schedules.
absl::StatusOr<std::vector<DueShare>> DueAcrossOrganizations(
    RedisClient& redis, const std::function<std::string(const std::string&)>& schedule_key,
    const std::string& until, long long limit);

// Claims what is due by `now` from every organisation's schedule, each its share of `limit`:
// `claim` runs once per organisation with something due, all in one round trip, with KEYS its
// schedule and ARGV `now` (µs), `later` (µs: where it moves what it claims) and its share. One
// reply of the script's per organisation.
absl::StatusOr<std::vector<RedisReply>> ClaimDueAcrossOrganizations(
    RedisClient& redis, const RedisScript& claim,
    const std::function<std::string(const std::string&)>& schedule_key, absl::Time now,
    absl::Time later, int limit);

}  // namespace peerwell
