#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/common/auth.h"

namespace peerwell::ctl {

// The services' HS256 signing secret from PEERWELL_JWT_SECRET or PEERWELL_JWT_SECRET_FILE, so
// that tokens minted here are accepted by them. A missing or short secret is a usage error.
absl::StatusOr<std::string> LoadSigningSecret();

// The claims of a token to mint: a role that tokens may carry (partners use API keys), a
// subject, and an organisation, which every role but admin needs.
absl::StatusOr<TokenClaims> MakeClaims(absl::string_view role, absl::string_view subject,
                                       absl::string_view organization_id, absl::Duration lifetime);

// --as ROLE:SUBJECT[:ORG], e.g. "coordinator:p0123...:o4567..." or "admin:ops".
absl::StatusOr<TokenClaims> ParseAs(absl::string_view spec, absl::Duration lifetime);

// Signs `claims` with the secret from the environment.
absl::StatusOr<std::string> MintFromEnvironment(const TokenClaims& claims);

// The `sub` claim of a JWT, read without checking the signature (the services check it): who the
// CLI is acting as, for the few answers that must be read from the caller's side. NOT_FOUND when
// `token` is no JWT with a subject.
absl::StatusOr<std::string> TokenSubject(absl::string_view token);

}  // namespace peerwell::ctl
