#include "services/common/hmac_pseudonymizer.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "services/common/encryption.h"

namespace peerwell {

absl::StatusOr<HmacPseudonymizer> HmacPseudonymizer::FromBase64(absl::string_view encoded) {
  std::string key;
  if (!absl::Base64Unescape(encoded, &key) || key.size() != 32) {
    return absl::InvalidArgumentError("PEERWELL_PSEUDONYM_KEY: must be base64 of 32 bytes");
  }
  return HmacPseudonymizer(std::move(key));
}

absl::StatusOr<HmacPseudonymizer> HmacPseudonymizer::Required(absl::string_view encoded,
                                                              absl::string_view needed_for) {
  if (encoded.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "PEERWELL_PSEUDONYM_KEY (or PEERWELL_PSEUDONYM_KEY_FILE) is required: ", needed_for));
  }
  return FromBase64(encoded);
}

std::string HmacPseudonymizer::Pseudonym(absl::string_view api_key_id, absl::string_view kind,
                                         absl::string_view id, absl::string_view prefix) const {
  // Lengths first, so that no two different triples share a message.
  std::string message = absl::StrCat(api_key_id.size(), ":", api_key_id, ",", kind.size(), ":",
                                     kind, ",", id);
  return absl::StrCat(prefix, absl::BytesToHexString(HmacSha256(key_, message).substr(0, 16)));
}

}  // namespace peerwell
