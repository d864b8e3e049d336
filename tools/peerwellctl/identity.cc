#include "tools/peerwellctl/identity.h"

#include <cstdlib>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "services/common/caller.h"
#include "services/common/config.h"
#include "tools/peerwellctl/args.h"

namespace peerwell::ctl {
namespace {

// The services refuse to start with a shorter secret (services/common/config.cc), so a token
// signed with one could never be accepted.
constexpr size_t kMinSecretBytes = 32;

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

}  // namespace

absl::StatusOr<std::string> LoadSigningSecret() {
  auto secret = ReadSecret("PEERWELL_JWT_SECRET", Env("PEERWELL_JWT_SECRET"),
                           Env("PEERWELL_JWT_SECRET_FILE"));
  if (!secret.ok()) return UsageError(secret.status().message());
  if (secret->empty()) {
    return UsageError(
        "minting a token needs the services' signing secret: set PEERWELL_JWT_SECRET or "
        "PEERWELL_JWT_SECRET_FILE");
  }
  if (secret->size() < kMinSecretBytes) {
    return UsageError("PEERWELL_JWT_SECRET: must be at least 32 bytes, as the services require");
  }
  return secret;
}

absl::StatusOr<TokenClaims> MakeClaims(absl::string_view role, absl::string_view subject,
                                       absl::string_view organization_id, absl::Duration lifetime) {
  TokenClaims claims;
  if (!ParseCallerRole(role, &claims.role)) {
    return UsageError(absl::StrCat("role '", role,
                                   "' is not one of admin, coordinator, supervisor, volunteer, "
                                   "service"));
  }
  if (subject.empty()) return UsageError("a token needs a subject (a person id or a name)");
  if (organization_id.empty() && claims.role != CallerRole::kAdmin) {
    return UsageError(absl::StrCat("a ", role, " token needs an organisation id"));
  }
  claims.subject = std::string(subject);
  claims.organization_id = std::string(organization_id);
  claims.lifetime = lifetime;
  return claims;
}

absl::StatusOr<TokenClaims> ParseAs(absl::string_view spec, absl::Duration lifetime) {
  std::vector<absl::string_view> parts = absl::StrSplit(spec, ':');
  if (parts.size() < 2 || parts.size() > 3) {
    return UsageError(absl::StrCat(
        "--as: expected ROLE:SUBJECT:ORG (admin may leave out :ORG), got '", spec, "'"));
  }
  return MakeClaims(parts[0], parts[1], parts.size() == 3 ? parts[2] : "", lifetime);
}

absl::StatusOr<std::string> MintFromEnvironment(const TokenClaims& claims) {
  auto secret = LoadSigningSecret();
  if (!secret.ok()) return secret.status();
  return MintToken(*secret, claims, absl::Now());
}

absl::StatusOr<std::string> TokenSubject(absl::string_view token) {
  std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  std::string payload;
  google::protobuf::Struct claims;
  if (parts.size() != 3 || !absl::WebSafeBase64Unescape(parts[1], &payload) ||
      !google::protobuf::util::JsonStringToMessage(payload, &claims).ok()) {
    return absl::NotFoundError("the token is not a JWT");
  }
  auto sub = claims.fields().find("sub");
  if (sub == claims.fields().end() || sub->second.string_value().empty()) {
    return absl::NotFoundError("the token names no subject");
  }
  return sub->second.string_value();
}

}  // namespace peerwell::ctl
