#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace peerwell {

// AES-256-GCM. Sealed text is: format byte (1) ‖ 96-bit random nonce ‖ ciphertext ‖ 128-bit tag.
// The additional authenticated data (AAD) is not stored: the caller passes what binds the text
// to its place (organisation, volunteer, record), so a sealed text copied anywhere else fails to
// open. Opening anything altered or misplaced is DATA_LOSS.
absl::StatusOr<std::string> SealAesGcm(absl::string_view key, absl::string_view plaintext,
                                       absl::string_view aad);
absl::StatusOr<std::string> OpenAesGcm(absl::string_view key, absl::string_view sealed,
                                       absl::string_view aad);

// The 32-byte HMAC-SHA256 of `data` under `key`.
std::string HmacSha256(absl::string_view key, absl::string_view data);
// The 32 raw bytes of SHA-256 of `data`.
std::string Sha256(absl::string_view data);

// 32 random bytes from OpenSSL.
absl::StatusOr<std::string> NewDataKey();

// The master key (PEERWELL_MASTER_KEY, base64 of 32 bytes) wraps each volunteer's data key, so
// that destroying a volunteer's wrapped key makes everything sealed with it unreadable.
class MasterKey {
 public:
  static absl::StatusOr<MasterKey> FromBase64(absl::string_view encoded);

  absl::StatusOr<std::string> Wrap(absl::string_view data_key, absl::string_view organization_id,
                                   absl::string_view volunteer_id) const;
  absl::StatusOr<std::string> Unwrap(absl::string_view wrapped, absl::string_view organization_id,
                                     absl::string_view volunteer_id) const;

 private:
  explicit MasterKey(std::string key) : key_(std::move(key)) {}
  std::string key_;
};

}  // namespace peerwell
