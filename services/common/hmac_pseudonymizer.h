#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/common/pseudonymizer.h"

namespace peerwell {

// HMAC-SHA256 under the platform's pseudonym key (PEERWELL_PSEUDONYM_KEY, base64 of 32 bytes):
// the services and the gateway that hold the key compute the same pseudonyms; nobody else can,
// and no table of them is stored. Changing the key changes every pseudonym.
class HmacPseudonymizer final : public Pseudonymizer {
 public:
  static absl::StatusOr<HmacPseudonymizer> FromBase64(absl::string_view encoded);
  // For a service that cannot run without it: INVALID_ARGUMENT saying the setting is required
  // for `needed_for` when `encoded` is empty.
  static absl::StatusOr<HmacPseudonymizer> Required(absl::string_view encoded,
                                                    absl::string_view needed_for);

  std::string Pseudonym(absl::string_view api_key_id, absl::string_view kind, absl::string_view id,
                        absl::string_view prefix) const override;

 private:
  explicit HmacPseudonymizer(std::string key) : key_(std::move(key)) {}
  std::string key_;
};

}  // namespace peerwell
