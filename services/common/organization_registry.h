#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
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
// one round trip after the registry's; `limit` shared out earliest due first (the organisation
// whose oldest due member is the oldest goes first), so that a claim takes at most `limit`
// members in all, and one organisation's backlog does not keep another's older work waiting.
// Organisations with nothing due are left out. Schedules are per organisation so that each stays in
// its organisation's hash slot, written in the same step as what it schedules.
absl::StatusOr<std::vector<DueShare>> DueAcrossOrganizations(
    RedisClient& redis, const std::function<std::string(const std::string&)>& schedule_key,
    const std::string& until, long long limit);

// A process's view of when each organisation's schedule next has anything due, for a sweep that
// runs many times a second: it counts what is due in the organisations whose earliest member is
// due by then alone, so that a thousand organisations whose work is hours ahead cost a sweep
// nothing. Every registered organisation's earliest member is looked at (ZRANGE 0 0) at most
// every `rescan`, so that what another process scheduled is seen within it; an organisation this
// process scheduled something for (Scheduled) is counted at the next sweep, which reads its
// earliest member again (as every count does).
class ScheduleView {
 public:
  ScheduleView(std::function<std::string(const std::string&)> schedule_key, absl::Duration rescan)
      : schedule_key_(std::move(schedule_key)), rescan_(rescan) {}

  void Scheduled(const std::string& organization_id);
  // As DueAcrossOrganizations, over the organisations with anything due by `until` as far as
  // this view knows.
  absl::StatusOr<std::vector<DueShare>> Due(RedisClient& redis, const std::string& until,
                                            long long limit);

 private:
  struct Earliest {
    double score = 0;    // the schedule's earliest member's, when last read (or -inf: noted)
    uint64_t stamp = 0;  // of the note or the read that set it (stamps_)
  };
  // Takes what a read stamped `begun` found (an organisation's earliest score; none when its
  // schedule is empty), unless a note or a read that began later set it already.
  void Found(const std::string& organization_id, std::optional<double> earliest, uint64_t begun)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::function<std::string(const std::string&)> schedule_key_;
  const absl::Duration rescan_;
  std::mutex mu_;
  std::map<std::string, Earliest> earliest_ ABSL_GUARDED_BY(mu_);  // with anything scheduled
  // Scheduled() calls and reads begun so far: which of two came later.
  uint64_t stamps_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time next_rescan_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

// Claims what is due by `now` in each share: `claim` runs once per share with something to
// take, all in one round trip, with KEYS the organisation's schedule and ARGV `now` (µs),
// `later` (µs: where it moves what it claims) and the share. One reply of the script's per
// share that took something. A share whose claim failed (an error reply: a key of the wrong
// type, a slot being moved) is logged and left out, so that one organisation cannot keep the
// others' work (claimed in the same round trip, and leased) from being done; an error only when
// every claim failed.
absl::StatusOr<std::vector<RedisReply>> ClaimDueShares(
    RedisClient& redis, const RedisScript& claim,
    const std::function<std::string(const std::string&)>& schedule_key,
    const std::vector<DueShare>& shares, absl::Time now, absl::Time later);

}  // namespace peerwell
