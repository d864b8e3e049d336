#include "services/common/organization_registry.h"

#include "services/common/redis_values.h"

namespace peerwell {

absl::Status RegisterOrganization(RedisClient& redis, const std::string& organization_id,
                                  absl::Time create_time) {
  auto reply =
      redis.Execute({"ZADD", kOrganizationsKey, "NX", RedisMicros(create_time), organization_id});
  if (!reply.ok()) return reply.status();
  if (reply->IsError()) return absl::InternalError(reply->str);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> ListOrganizations(RedisClient& redis) {
  auto reply = redis.Execute({"ZRANGE", kOrganizationsKey, "0", "-1"});
  if (!reply.ok()) return reply.status();
  if (reply->IsError()) return absl::InternalError(reply->str);
  std::vector<std::string> organizations;
  for (const RedisReply& element : reply->elements) organizations.push_back(element.str);
  return organizations;
}

}  // namespace peerwell
