#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace peerwell {

// Secrets that name the record they open, so that a service finds the record among its
// organisation's keys without a global index: "<prefix><organization id>_<record id>_<random>",
// the random part 32 bytes from a secure source, URL-safe base64. Only a SHA-256 hash of the
// whole secret is stored, so a leaked store does not leak secrets, and it is compared in
// constant time. Two kinds: partner API keys and calendar feed tokens.
struct SecretKind {
  absl::string_view prefix;     // what every secret of the kind starts with: "pwk_"
  absl::string_view id_prefix;  // NewId's prefix of the record's id: "k"
};
inline constexpr SecretKind kApiKeySecret{"pwk_", "k"};
inline constexpr SecretKind kCalendarFeedSecret{"pcf_", "cf"};

// The record a secret names.
struct SecretIdentity {
  std::string organization_id;
  std::string record_id;
};
// nullopt when `secret` does not have the shape of `kind`'s secrets (its length is bounded, so
// a caller cannot make us hash much); whoever asks decides what a malformed secret answers.
std::optional<SecretIdentity> ParseSecret(const SecretKind& kind, absl::string_view secret);

// Partner API keys: "pwk_<organization id>_<api key id>_<random>".
struct ApiKeyIdentity {
  std::string organization_id;
  std::string api_key_id;
};
// UNAUTHENTICATED when malformed.
absl::StatusOr<ApiKeyIdentity> ParseApiKeySecret(absl::string_view secret);

// The cryptography behind these secrets, behind an interface so that domain code stays free of
// OpenSSL; OpenSslSecrets (auth.h) is the real one.
class Secrets {
 public:
  virtual ~Secrets() = default;
  // A new secret of `kind` for the record. INTERNAL if no secure random bytes could be had.
  virtual absl::StatusOr<std::string> NewSecret(const SecretKind& kind,
                                                absl::string_view organization_id,
                                                absl::string_view record_id) const = 0;
  virtual std::string Hash(absl::string_view secret) const = 0;
  // Compares in constant time.
  virtual bool Matches(absl::string_view secret, absl::string_view stored_hash) const = 0;

  // A secret just made, sealed so that a retried create (the same request_id) can answer it
  // again during the retry window: the store keeps this, never the secret. `request` binds it
  // to the request that made it (organisation, caller, request_id): sealed for one request, it
  // does not open for another. INTERNAL when there is no key to seal with.
  virtual absl::StatusOr<std::string> SealForRetry(absl::string_view secret,
                                                   absl::string_view request) const = 0;
  // DATA_LOSS when `sealed` was altered or sealed for another request.
  virtual absl::StatusOr<std::string> OpenForRetry(absl::string_view sealed,
                                                   absl::string_view request) const = 0;

  // A partner API key's secret.
  absl::StatusOr<std::string> NewSecret(absl::string_view organization_id,
                                        absl::string_view api_key_id) const {
    return NewSecret(kApiKeySecret, organization_id, api_key_id);
  }
};

}  // namespace peerwell
