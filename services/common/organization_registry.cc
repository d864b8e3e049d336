#include "services/common/organization_registry.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/common/log.h"
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

// What a count over some organisations' schedules found.
struct Counted {
  std::vector<DueShare> shares;
  // Each organisation's earliest member's score, due or not; none when its schedule is empty.
  std::vector<std::optional<double>> earliest;
  // The schedules that could not be read (an error reply), left out of the shares.
  std::vector<std::pair<std::string, std::string>> failed;  // schedule key, error
};

void LogUnreadSchedules(const std::vector<std::pair<std::string, std::string>>& failed) {
  for (const auto& [schedule, error] : failed) {
    Log(Severity::kWarning, "a schedule could not be read: its work waits",
        {Field("schedule", schedule), Field("error", error)});
  }
}

std::optional<double> ScoreOf(const RedisReply& member_and_score) {
  double score = 0;
  if (member_and_score.elements.size() < 2 ||
      !absl::SimpleAtod(member_and_score.elements[1].str, &score)) {
    return std::nullopt;
  }
  return score;
}

// How many members of each organisation's schedule are due by `until`, and its earliest member,
// in one round trip; `limit` shared out earliest due first. Organisations with nothing due are
// left out of the shares, and so are those whose schedule cannot be read: one organisation's
// broken key does not stop the others' work.
absl::StatusOr<Counted> CountDue(RedisClient& redis,
                                 const std::function<std::string(const std::string&)>& schedule_key,
                                 const std::vector<std::string>& organizations,
                                 const std::string& until, long long limit) {
  Counted counted;
  if (organizations.empty()) return counted;
  std::vector<RedisCommand> counts;
  for (const std::string& organization_id : organizations) {
    const std::string key = schedule_key(organization_id);
    counts.push_back({"ZCOUNT", key, "-inf", until});
    counts.push_back({"ZRANGE", key, "0", "0", "WITHSCORES"});
  }
  auto replies = redis.ExecuteInSlices(std::move(counts));
  if (!replies.ok()) return replies.status();
  std::vector<std::pair<double, DueShare>> due;  // by the oldest due member's score
  for (size_t i = 0; i < organizations.size(); ++i) {
    const RedisReply& count = (*replies)[2 * i];
    const RedisReply& earliest = (*replies)[2 * i + 1];
    if (count.IsError() || earliest.IsError()) {
      counted.failed.emplace_back(schedule_key(organizations[i]),
                                  count.IsError() ? count.str : earliest.str);
      counted.earliest.push_back(-std::numeric_limits<double>::infinity());  // counted again
      continue;
    }
    counted.earliest.push_back(ScoreOf(earliest));
    if (count.integer <= 0) continue;
    // Gone meanwhile: first, it takes nothing it cannot find.
    due.push_back(
        {counted.earliest.back().value_or(0), DueShare{organizations[i], count.integer, 0}});
  }
  std::stable_sort(due.begin(), due.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  long long left = limit;
  for (auto& [score, share] : due) {
    share.take = static_cast<int>(std::clamp<long long>(left, 0, share.due));
    left -= share.take;
    counted.shares.push_back(std::move(share));
  }
  return counted;
}

}  // namespace

absl::StatusOr<std::vector<DueShare>> DueAcrossOrganizations(
    RedisClient& redis, const std::function<std::string(const std::string&)>& schedule_key,
    const std::string& until, long long limit) {
  auto organizations = ListOrganizations(redis);
  if (!organizations.ok()) return organizations.status();
  auto counted = CountDue(redis, schedule_key, *organizations, until, limit);
  if (!counted.ok()) return counted.status();
  LogUnreadSchedules(counted->failed);
  return std::move(counted->shares);
}

void ScheduleView::Scheduled(const std::string& organization_id) {
  std::lock_guard<std::mutex> lock(mu_);
  earliest_[organization_id] = {-std::numeric_limits<double>::infinity(), ++stamps_};
}

void ScheduleView::Found(const std::string& organization_id, std::optional<double> earliest,
                         uint64_t begun) {
  auto it = earliest_.find(organization_id);
  if (it != earliest_.end() && it->second.stamp > begun) return;  // set by a later note or read
  if (!earliest.has_value()) {
    if (it != earliest_.end()) earliest_.erase(it);
    return;
  }
  earliest_[organization_id] = {*earliest, begun};
}

absl::StatusOr<std::vector<DueShare>> ScheduleView::Due(RedisClient& redis,
                                                        const std::string& until, long long limit) {
  // A score Redis takes that is not a number ("(10", "+inf") counts every organisation known.
  double until_score = std::numeric_limits<double>::infinity();
  if (double parsed = 0; absl::SimpleAtod(until, &parsed)) until_score = parsed;
  uint64_t begun = 0;
  bool rescan = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    begun = ++stamps_;
    const absl::Time now = absl::Now();
    if (now >= next_rescan_) {
      next_rescan_ = now + rescan_;  // after a failure too: no rescan at every call while it fails
      rescan = true;
    }
  }
  if (rescan) {
    // Every organisation's schedule looked at, without the lock: Scheduled() is not held up by
    // these round trips (nor are other sweeps, which count what they knew until then).
    auto registered = ListOrganizations(redis);
    if (!registered.ok()) return registered.status();
    std::vector<RedisCommand> earliest;
    for (const std::string& organization_id : *registered) {
      earliest.push_back({"ZRANGE", schedule_key_(organization_id), "0", "0", "WITHSCORES"});
    }
    if (!earliest.empty()) {
      auto replies = redis.ExecuteInSlices(std::move(earliest));
      if (!replies.ok()) return replies.status();
      std::vector<std::pair<std::string, std::string>> failed;
      {
        std::lock_guard<std::mutex> lock(mu_);
        for (size_t i = 0; i < replies->size(); ++i) {
          const RedisReply& reply = (*replies)[i];
          if (reply.IsError()) {
            failed.emplace_back(schedule_key_((*registered)[i]), reply.str);
            continue;
          }
          Found((*registered)[i], ScoreOf(reply), begun);
        }
      }
      LogUnreadSchedules(failed);
    }
  }
  std::vector<std::string> organizations;
  {
    std::lock_guard<std::mutex> lock(mu_);
    begun = ++stamps_;  // the count's, which begins now
    for (const auto& [organization_id, earliest] : earliest_) {
      if (earliest.score <= until_score) organizations.push_back(organization_id);
    }
  }
  auto counted = CountDue(redis, schedule_key_, organizations, until, limit);
  if (!counted.ok()) return counted.status();
  // What could not be read is not logged here, many times a second: the rescan says it.
  {
    // Claims move what they take later, and work is done and removed: each count tells when its
    // organisations' schedules are next due.
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t i = 0; i < organizations.size(); ++i) {
      Found(organizations[i], counted->earliest[i], begun);
    }
  }
  return std::move(counted->shares);
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
  auto replies = redis.EvalEach(claim, claims);
  if (!replies.ok() || replies->empty()) return replies;
  std::vector<RedisReply> claimed;
  for (size_t i = 0; i < replies->size(); ++i) {
    RedisReply& reply = (*replies)[i];
    if (!reply.IsError()) {
      claimed.push_back(std::move(reply));
      continue;
    }
    Log(Severity::kWarning, "claim of due work failed",
        {Field("schedule", claims[i].keys[0]), Field("error", reply.str)});
    if (claimed.empty() && i + 1 == replies->size()) return ScriptErrorToStatus(reply);
  }
  return claimed;
}

}  // namespace peerwell
