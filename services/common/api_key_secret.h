#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace peerwell {

// Partner API keys look like "pwk_<organization id>_<api key id>_<random>"; only a SHA-256 hash
// of the whole secret is stored, so a leaked store does not leak keys.
struct ApiKeyIdentity {
  std::string organization_id;
  std::string api_key_id;
};
absl::StatusOr<ApiKeyIdentity> ParseApiKeySecret(absl::string_view secret);

// The cryptography behind API keys, behind an interface so that domain code stays free of
// OpenSSL; OpenSslApiKeySecrets (auth.h) is the real one.
class ApiKeySecrets {
 public:
  virtual ~ApiKeySecrets() = default;
  // INTERNAL if no secure random bytes could be had.
  virtual absl::StatusOr<std::string> NewSecret(absl::string_view organization_id,
                                                absl::string_view api_key_id) const = 0;
  virtual std::string Hash(absl::string_view secret) const = 0;
  // Compares in constant time.
  virtual bool Matches(absl::string_view secret, absl::string_view stored_hash) const = 0;
};

}  // namespace peerwell
