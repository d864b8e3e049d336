#pragma once

#include "services/common/clock.h"
#include "services/common/config.h"
#include "services/common/directory_client.h"
#include "services/common/events.h"
#include "services/common/redis_client.h"

namespace peerwell {

// Follows the directory's events (every organisation's pw:{<org>}:events:directory) in every
// replica of a service, without a consumer group (an EventFollower), and makes its DirectoryClient
// forget each person an event names (a change of a person, of their consent, of their supervisors;
// their erasure) as it is announced. While it is no more than the client's cache_ttl behind, the
// client keeps people and consents for followed_cache_ttl instead of cache_ttl (see
// DirectoryClient): a change still takes effect within cache_ttl, and the directory is no longer
// asked about every cached person every cache_ttl. Redis away, it reconnects and reads on from
// where it was, losing nothing; the client meanwhile falls back to cache_ttl.
//
// Its user must be allowed to read the streams and hear their doorbell
// (deploy/base/redis-acl-rules.conf); refused, it logs a warning, keeps trying (at most every
// 5 s) and the client stays at cache_ttl.
class DirectoryChangeFeed {
 public:
  // Starts following from the events published as it starts.
  DirectoryChangeFeed(RedisAddress redis, DirectoryClient& directory, const Clock& clock);
  DirectoryChangeFeed(const DirectoryChangeFeed&) = delete;
  DirectoryChangeFeed& operator=(const DirectoryChangeFeed&) = delete;

 private:
  void Handle(const StreamEntry& entry);

  DirectoryClient& directory_;
  const Clock& clock_;
  EventFollower follower_;  // last: it calls the above from its thread
};

}  // namespace peerwell
