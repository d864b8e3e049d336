#include "services/common/directory_changes.h"

#include <string>
#include <utility>

#include "services/common/log.h"
#include "services/common/person_erasure.h"

namespace peerwell {

DirectoryChangeFeed::DirectoryChangeFeed(RedisAddress redis, DirectoryClient& directory,
                                         const Clock& clock)
    : directory_(directory),
      clock_(clock),
      follower_(
          std::move(redis), EventFollower::Options{.services = {"directory"}},
          [this](const std::string&, const StreamEntry& entry) { Handle(entry); },
          [this](absl::Time heard_until) {
            // The doorbell's time is the system clock's; the client's may be a test's.
            directory_.ChangesSeenUntil(clock_.Now() - (absl::Now() - heard_until));
          },
          [](const absl::Status& status) {
            if (status.ok()) {
              Log(Severity::kInfo, "following the directory's changes again");
            } else {
              Log(Severity::kWarning,
                  "following the directory's changes failed; cached people expire after the "
                  "short TTL until it recovers",
                  {Field("error", status.ToString())});
            }
          }) {
  // The follower reads from a moment before it was made: every change from now on is seen.
  directory_.FollowChangesFrom(clock_.Now());
}

void DirectoryChangeFeed::Handle(const StreamEntry& entry) {
  // Whatever the event, every person it names is read afresh next time: their record, consent or
  // supervisors changed, or they were erased.
  const std::string organization_id = entry.Get("organization_id");
  for (const char* field : {"person_id", "volunteer_id", "supervisor_id"}) {
    const std::string person_id = entry.Get(field);
    if (!person_id.empty()) directory_.Forget(organization_id, person_id);
  }
  // An erased supervisor leaves their volunteers' records too, without an event for each (and
  // the erasure deletes the events that named them together).
  if (entry.Get("type") == kPersonErasedEvent) {
    directory_.ForgetSupervisees(organization_id, entry.Get("person_id"));
  }
}

}  // namespace peerwell
