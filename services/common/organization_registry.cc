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

namespace {

// How many members of each organisation's schedule are due by `until`, in one round trip, and
// `limit` shared out in their order; organisations with nothing due are left out.
absl::StatusOr<std::vector<DueShare>> CountDue(
    RedisClient& redis, const std::function<std::string(const std::string&)>& schedule_key,
    const std::vector<std::string>& organizations, const std::string& until, long long limit) {
  std::vector<DueShare> shares;
  if (organizations.empty()) return shares;
  std::vector<RedisCommand> counts;
  for (const std::string& organization_id : organizations) {
    counts.push_back({"ZCOUNT", schedule_key(organization_id), "-inf", until});
  }
  auto replies = redis.ExecuteAll(std::move(counts));
  if (!replies.ok()) return replies.status();
  long long left = limit;
  for (size_t i = 0; i < replies->size(); ++i) {
    const RedisReply& count = (*replies)[i];
    if (count.IsError()) return absl::InternalError(absl::StrCat("ZCOUNT: ", count.str));
    if (count.integer <= 0) continue;
    DueShare share{organizations[i], count.integer, 0};
    share.take = static_cast<int>(std::clamp<long long>(left, 0, count.integer));
    left -= share.take;
    shares.push_back(std::move(share));
  }
  return shares;
}

}  // namespace

absl::StatusOr<std::vector<DueShare>> DueAcrossOrganizations(
    RedisClient& redis, const std::function<std::string(const std::string&)>& schedule_key,
    const std::string& until, long long limit) {
  auto organizations = ListOrganizations(redis);
  if (!organizations.ok()) return organizations.status();
  return CountDue(redis, schedule_key, *organizations, until, limit);
}

void ScheduleView::Scheduled(const std::string& organization_id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (known_.insert(organization_id).second) scheduled_.push_back(organization_id);
}

absl::StatusOr<std::vector<DueShare>> ScheduleView::Due(RedisClient& redis,
                                                        const std::string& until, long long limit) {
  std::vector<std::string> organizations;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const absl::Time now = absl::Now();
    if (now >= next_rescan_) {
      next_rescan_ = now + rescan_;  // after a failure too: no rescan at every call while it fails
      auto registered = ListOrganizations(redis);
      if (!registered.ok()) return registered.status();
      std::vector<RedisCommand> sizes;
      for (const std::string& organization_id : *registered) {
        sizes.push_back({"ZCARD", schedule_key_(organization_id)});
      }
      std::vector<std::string> scheduled;
      if (!sizes.empty()) {
        auto replies = redis.ExecuteAll(std::move(sizes));
        if (!replies.ok()) return replies.status();
        for (size_t i = 0; i < replies->size(); ++i) {
          if ((*replies)[i].IsError()) {
            return absl::InternalError(absl::StrCat("ZCARD: ", (*replies)[i].str));
          }
          if ((*replies)[i].integer > 0) scheduled.push_back((*registered)[i]);
        }
      }
      scheduled_ = std::move(scheduled);
      known_ = std::set<std::string>(scheduled_.begin(), scheduled_.end());
    }
    organizations = scheduled_;
  }
  return CountDue(redis, schedule_key_, organizations, until, limit);
}

absl::StatusOr<std::vector<RedisReply>> ClaimDueShares(
    RedisClient& redis, const RedisScript& claim,
    const std::function<std::string(const std::string&)>& schedule_key,
    const std::vector<DueShare>& shares, absl::Time now, absl::Time later) {
  std::vector<RedisClient::ScriptCall> claims;
  for (const DueShare& share : shares) {
    if (share.take == 0) continue;
    claims.push_back({{schedule_key(share.organization_id)},
                      {RedisMicros(now), RedisMicros(later), absl::StrCat(share.take)}});
  }
  return redis.EvalEach(claim, claims);
}

}  // namespace peerwell
