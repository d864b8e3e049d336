#pragma once

#include <mutex>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "services/checkin/checkin_service.h"
#include "services/common/clock.h"
#include "services/common/encryption.h"
#include "services/common/redis_client.h"

namespace peerwell::checkin {

// Seals volunteers' free text with AES-256-GCM under a data key per volunteer. Data keys are
// stored wrapped by the master key ("pw:{org}:checkin:datakey:<volunteer>"), created on first
// use (SET NX, so two racing writers agree on one key) and kept unwrapped in memory for
// kDataKeyCacheTtl: a key deleted to erase a volunteer's texts stops working within that time in
// every replica, and is not used to seal new texts after it. The AAD binds organisation,
// volunteer and record.
class NoteVault final : public NoteCipher {
 public:
  static constexpr absl::Duration kDataKeyCacheTtl = absl::Minutes(1);

  NoteVault(RedisClient& redis, MasterKey master, const Clock& clock)
      : redis_(redis), master_(std::move(master)), clock_(clock) {}

  absl::StatusOr<std::string> Seal(const std::string& organization_id,
                                   const std::string& volunteer_id, const std::string& record,
                                   const std::string& text) override;
  absl::StatusOr<std::string> Open(const std::string& organization_id,
                                   const std::string& volunteer_id, const std::string& record,
                                   const std::string& sealed) override;

 private:
  absl::StatusOr<std::string> DataKey(const std::string& organization_id,
                                      const std::string& volunteer_id, bool create);

  struct CachedKey {
    std::string key;
    absl::Time expires;
  };

  RedisClient& redis_;
  const MasterKey master_;
  const Clock& clock_;
  std::mutex mu_;
  absl::flat_hash_map<std::string, CachedKey> keys_;  // "<org>/<volunteer>" -> data key
};

}  // namespace peerwell::checkin
