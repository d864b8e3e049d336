#include "services/common/api_key_secret.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "services/common/ids.h"

namespace peerwell {
namespace {
constexpr absl::string_view kOrganizationIdPrefix = "o";
constexpr size_t kIdDigits = 20;  // after the id's prefix, see NewId
constexpr size_t kMinRandomChars = 16;
constexpr size_t kMaxSecretChars = 128;  // ours are 91 (API keys) and 92 (calendar feeds)
}  // namespace

std::optional<SecretIdentity> ParseSecret(const SecretKind& kind, absl::string_view secret) {
  const size_t org_length = kOrganizationIdPrefix.size() + kIdDigits;
  const size_t id_length = kind.id_prefix.size() + kIdDigits;
  if (secret.size() > kMaxSecretChars || !absl::StartsWith(secret, kind.prefix) ||
      secret.size() < kind.prefix.size() + org_length + id_length + 2 + kMinRandomChars) {
    return std::nullopt;
  }
  absl::string_view rest = secret.substr(kind.prefix.size());
  SecretIdentity identity{std::string(rest.substr(0, org_length)),
                          std::string(rest.substr(org_length + 1, id_length))};
  if (rest[org_length] != '_' || rest[org_length + id_length + 1] != '_' ||
      !IsWellFormedId(identity.organization_id, kOrganizationIdPrefix) ||
      !IsWellFormedId(identity.record_id, kind.id_prefix)) {
    return std::nullopt;
  }
  return identity;
}

absl::StatusOr<ApiKeyIdentity> ParseApiKeySecret(absl::string_view secret) {
  auto identity = ParseSecret(kApiKeySecret, secret);
  if (!identity.has_value()) {
    return absl::UnauthenticatedError("invalid credentials: malformed API key");
  }
  return ApiKeyIdentity{std::move(identity->organization_id), std::move(identity->record_id)};
}

}  // namespace peerwell
