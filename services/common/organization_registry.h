#pragma once

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

}  // namespace peerwell
