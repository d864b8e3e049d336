#include "services/common/api_key_secret.h"

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "services/common/ids.h"

namespace peerwell {
namespace {
constexpr absl::string_view kApiKeyPrefix = "pwk_";
constexpr size_t kIdLength = 21;  // one prefix letter + 20 hex digits, see NewId
constexpr size_t kMinRandomChars = 16;
constexpr size_t kMaxSecretChars = 128;  // ours are 91; bounds what a caller can make us hash
}  // namespace

absl::StatusOr<ApiKeyIdentity> ParseApiKeySecret(absl::string_view secret) {
  auto malformed = absl::UnauthenticatedError("invalid credentials: malformed API key");
  if (secret.size() > kMaxSecretChars || !absl::StartsWith(secret, kApiKeyPrefix) ||
      secret.size() < kApiKeyPrefix.size() + 2 * kIdLength + 2 + kMinRandomChars) {
    return malformed;
  }
  absl::string_view rest = secret.substr(kApiKeyPrefix.size());
  ApiKeyIdentity identity{std::string(rest.substr(0, kIdLength)),
                          std::string(rest.substr(kIdLength + 1, kIdLength))};
  if (rest[kIdLength] != '_' || rest[2 * kIdLength + 1] != '_' ||
      !IsWellFormedId(identity.organization_id, "o") || !IsWellFormedId(identity.api_key_id, "k")) {
    return malformed;
  }
  return identity;
}

}  // namespace peerwell
