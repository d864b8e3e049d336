#pragma once

#include <mutex>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "services/common/clock.h"
#include "services/common/encryption.h"
#include "services/common/redis_client.h"
#include "services/common/text_cipher.h"

namespace peerwell {

// Seals free text with AES-256-GCM under a data key per owner (a volunteer, a channel). Data keys
// are stored wrapped by the master key, created on first use (SET NX, so two racing writers
// agree on one key) and kept unwrapped in memory for kDataKeyCacheTtl: a key deleted to erase an
// owner's texts stops working within that time in every replica, and is not used to seal new
// texts after it. The AAD binds organisation, owner and record.
class DataKeyVault final : public TextCipher {
 public:
  static constexpr absl::Duration kDataKeyCacheTtl = absl::Minutes(1);

  DataKeyVault(RedisClient& redis, MasterKey master, const Clock& clock, DataKeyFamily family)
      : redis_(redis), master_(std::move(master)), clock_(clock), family_(std::move(family)) {}

  absl::StatusOr<std::string> Seal(const std::string& organization_id, const std::string& owner_id,
                                   const std::string& record, const std::string& text) override;
  absl::StatusOr<std::string> Open(const std::string& organization_id, const std::string& owner_id,
                                   const std::string& record, const std::string& sealed) override;

  // Where the owner's wrapped data key lives; deleting it makes their texts unreadable.
  std::string DataKeyKey(const std::string& organization_id, const std::string& owner_id) const;

 private:
  absl::StatusOr<std::string> DataKey(const std::string& organization_id,
                                      const std::string& owner_id, bool create);
  std::string Aad(const std::string& organization_id, const std::string& owner_id,
                  const std::string& record) const;

  struct CachedKey {
    std::string key;
    absl::Time expires;
  };

  RedisClient& redis_;
  const MasterKey master_;
  const Clock& clock_;
  const DataKeyFamily family_;
  std::mutex mu_;
  absl::flat_hash_map<std::string, CachedKey> keys_;  // "<org>/<owner>" -> data key
};

}  // namespace peerwell
