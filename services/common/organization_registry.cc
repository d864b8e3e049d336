#include "services/common/organization_registry.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
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

absl::StatusOr<std::vector<DueShare>> DueAcrossOrganizations(
    RedisClient& redis, const std::function<std::string(const std::string&)>& schedule_key,
    const std::string& until, long long limit) {
  auto organizations = ListOrganizations(redis);
  if (!organizations.ok()) return organizations.status();
  std::vector<DueShare> shares;
  if (organizations->empty()) return shares;
  std::vector<RedisCommand> counts;
  for (const std::string& organization_id : *organizations) {
    counts.push_back({"ZCOUNT", schedule_key(organization_id), "-inf", until});
  }
  auto replies = redis.ExecuteAll(std::move(counts));
  if (!replies.ok()) return replies.status();
  long long left = limit;
  for (size_t i = 0; i < replies->size(); ++i) {
    const RedisReply& count = (*replies)[i];
    if (count.IsError()) return absl::InternalError(absl::StrCat("ZCOUNT: ", count.str));
    if (count.integer <= 0) continue;
    DueShare share{(*organizations)[i], count.integer, 0};
    share.take = static_cast<int>(std::clamp<long long>(left, 0, count.integer));
    left -= share.take;
    shares.push_back(std::move(share));
  }
  return shares;
}

absl::StatusOr<std::vector<RedisReply>> ClaimDueAcrossOrganizations(
    RedisClient& redis, const RedisScript& claim,
    const std::function<std::string(const std::string&)>& schedule_key, absl::Time now,
    absl::Time later, int limit) {
  auto shares = DueAcrossOrganizations(redis, schedule_key, RedisMicros(now), limit);
  if (!shares.ok()) return shares.status();
  std::vector<RedisClient::ScriptCall> claims;
  for (const DueShare& share : *shares) {
    if (share.take == 0) continue;
    claims.push_back({{schedule_key(share.organization_id)},
                      {RedisMicros(now), RedisMicros(later), absl::StrCat(share.take)}});
  }
  return redis.EvalEach(claim, claims);
}

}  // namespace peerwell
