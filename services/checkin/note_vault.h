#pragma once

#include <mutex>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "services/checkin/checkin_service.h"
#include "services/common/encryption.h"
#include "services/common/redis_client.h"

namespace peerwell::checkin {

// Seals volunteers' free text with AES-256-GCM under a data key per volunteer. Data keys are
// stored wrapped by the master key ("pw:{org}:checkin:datakey:<volunteer>"), created on first
// use (SET NX, so two racing writers agree on one key) and kept unwrapped in memory afterwards.
// The AAD binds organisation, volunteer and record.
class NoteVault final : public NoteCipher {
 public:
  NoteVault(RedisClient& redis, MasterKey master) : redis_(redis), master_(std::move(master)) {}

  absl::StatusOr<std::string> Seal(const std::string& organization_id,
                                   const std::string& volunteer_id, const std::string& record,
                                   const std::string& text) override;
  absl::StatusOr<std::string> Open(const std::string& organization_id,
                                   const std::string& volunteer_id, const std::string& record,
                                   const std::string& sealed) override;

 private:
  absl::StatusOr<std::string> DataKey(const std::string& organization_id,
                                      const std::string& volunteer_id, bool create);

  RedisClient& redis_;
  const MasterKey master_;
  std::mutex mu_;
  absl::flat_hash_map<std::string, std::string> keys_;  // "<org>/<volunteer>" -> data key
};

}  // namespace peerwell::checkin
