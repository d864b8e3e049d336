#include "services/common/organization_registry.h"

#include <algorithm>

#include "absl/strings/numbers.h"
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

// How many members of each organisation's schedule are due by `until`, and the oldest one's
// score, in one round trip; `limit` shared out earliest due first. Organisations with nothing due
// are left out.
absl::StatusOr<std::vector<DueShare>> CountDue(
    RedisClient& redis, const std::function<std::string(const std::string&)>& schedule_key,
    const std::vector<std::string>& organizations, const std::string& until, long long limit) {
  std::vector<DueShare> shares;
  if (organizations.empty()) return shares;
  std::vector<RedisCommand> counts;
  for (const std::string& organization_id : organizations) {
    const std::string key = schedule_key(organization_id);
    counts.push_back({"ZCOUNT", key, "-inf", until});
    counts.push_back({"ZRANGEBYSCORE", key, "-inf", until, "WITHSCORES", "LIMIT", "0", "1"});
  }
  auto replies = redis.ExecuteAll(std::move(counts));
  if (!replies.ok()) return replies.status();
  std::vector<std::pair<double, DueShare>> due;  // by the oldest due member's score
  for (size_t i = 0; i < organizations.size(); ++i) {
    const RedisReply& count = (*replies)[2 * i];
    const RedisReply& oldest = (*replies)[2 * i + 1];
    if (count.IsError()) return absl::InternalError(absl::StrCat("ZCOUNT: ", count.str));
    if (oldest.IsError()) return absl::InternalError(absl::StrCat("ZRANGEBYSCORE: ", oldest.str));
    if (count.integer <= 0) continue;
    double score = 0;
    if (oldest.elements.size() < 2 || !absl::SimpleAtod(oldest.elements[1].str, &score)) {
      score = 0;  // gone meanwhile: first, it takes nothing it cannot find
    }
    due.push_back({score, DueShare{organizations[i], count.integer, 0}});
  }
  std::stable_sort(due.begin(), due.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  long long left = limit;
  for (auto& [score, share] : due) {
    share.take = static_cast<int>(std::clamp<long long>(left, 0, share.due));
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
  noted_since_rescan_.push_back(organization_id);
}

absl::StatusOr<std::vector<DueShare>> ScheduleView::Due(RedisClient& redis,
                                                        const std::string& until, long long limit) {
  std::vector<std::string> organizations;
  bool rescan = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const absl::Time now = absl::Now();
    if (now >= next_rescan_) {
      next_rescan_ = now + rescan_;  // after a failure too: no rescan at every call while it fails
      noted_since_rescan_.clear();
      rescan = true;
    } else {
      organizations = scheduled_;
    }
  }
  if (rescan) {
    // Every organisation's schedule looked at, without the lock: Scheduled() is not held up by
    // these round trips (nor are other sweeps, which count the organisations known until then).
    auto registered = ListOrganizations(redis);
    if (!registered.ok()) return registered.status();
    std::vector<RedisCommand> sizes;
    for (const std::string& organization_id : *registered) {
      sizes.push_back({"ZCARD", schedule_key_(organization_id)});
    }
    if (!sizes.empty()) {
      auto replies = redis.ExecuteAll(std::move(sizes));
      if (!replies.ok()) return replies.status();
      for (size_t i = 0; i < replies->size(); ++i) {
        if ((*replies)[i].IsError()) {
          return absl::InternalError(absl::StrCat("ZCARD: ", (*replies)[i].str));
        }
        if ((*replies)[i].integer > 0) organizations.push_back((*registered)[i]);
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    std::set<std::string> known(organizations.begin(), organizations.end());
    for (const std::string& organization_id : noted_since_rescan_) {
      if (known.insert(organization_id).second) organizations.push_back(organization_id);
    }
    scheduled_ = organizations;
    known_ = std::move(known);
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
