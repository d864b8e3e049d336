#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/common/api_key_secret.h"
#include "services/common/caller.h"
#include "services/common/clock.h"

namespace peerwell {

inline constexpr absl::string_view kTokenIssuer = "peerwell";
inline constexpr absl::string_view kTokenAudience = "peerwell";

struct TokenClaims {
  std::string subject;          // person id (or a service's name)
  std::string organization_id;  // may be empty for admin tokens
  CallerRole role = CallerRole::kVolunteer;
  absl::Duration lifetime = absl::Hours(1);
};

// Signs an HS256 token with issuer and audience `peerwell`, `iat` = now, `exp` = now + lifetime.
std::string MintToken(absl::string_view key, const TokenClaims& claims, absl::Time now);

// The tokens a service calls other services with: role `service`, its name as `sub`, one per
// organisation (so the organisation still comes from the credential), minted from the shared
// secret and reused until a minute before their 5 minutes are up. Thread-safe.
class ServiceTokens {
 public:
  ServiceTokens(std::string service_name, std::string jwt_secret, size_t max_cached = 20'000)
      : service_name_(std::move(service_name)),
        jwt_secret_(std::move(jwt_secret)),
        max_cached_(max_cached) {}
  std::string For(const std::string& organization_id);

 private:
  struct Minted {
    std::string token;
    absl::Time expire_time;
  };
  const std::string service_name_;
  const std::string jwt_secret_;
  const size_t max_cached_;
  std::mutex mu_;
  absl::flat_hash_map<std::string, Minted> tokens_ ABSL_GUARDED_BY(mu_);
};

// Verifies bearer tokens: HS256 only (alg none or any other algorithm is refused), a valid
// signature, issuer and audience `peerwell`, an `exp` in the future, and the PeerWell claims.
//
// A client sends the same token on every call until it expires, so a verified token is
// remembered (bounded, by the whole token) and later calls skip the HMAC and the JSON parse; its
// expiry is still checked on every call. `clock` is the time expiry is judged by (the system
// clock when null).
class TokenVerifier {
 public:
  explicit TokenVerifier(std::string secret, const Clock* clock = nullptr);
  ~TokenVerifier();
  TokenVerifier(TokenVerifier&&) noexcept;
  TokenVerifier& operator=(TokenVerifier&&) noexcept;

  absl::StatusOr<Caller> Verify(absl::string_view token) const;

 private:
  class VerifiedTokens;
  absl::StatusOr<Caller> VerifySignedToken(absl::string_view token, absl::Time* expiry) const;
  absl::Time Now() const;

  std::string secret_;
  const Clock* clock_;
  std::unique_ptr<VerifiedTokens> verified_;
};

// The real Secrets (API keys, calendar feed tokens): 32 random bytes from OpenSSL, SHA-256,
// CRYPTO_memcmp.
class OpenSslSecrets final : public Secrets {
 public:
  // Without a retry key: secrets cannot be sealed for retries (calendar feeds need none).
  OpenSslSecrets() = default;
  // `retry_key`: 32 bytes, e.g. RetrySealingKey(jwt_secret).
  explicit OpenSslSecrets(std::string retry_key) : retry_key_(std::move(retry_key)) {}

  using Secrets::NewSecret;  // an API key's, by organisation and key id
  absl::StatusOr<std::string> NewSecret(const SecretKind& kind, absl::string_view organization_id,
                                        absl::string_view record_id) const override;
  std::string Hash(absl::string_view secret) const override;
  bool Matches(absl::string_view secret, absl::string_view stored_hash) const override;
  absl::StatusOr<std::string> SealForRetry(absl::string_view secret,
                                           absl::string_view request) const override;
  absl::StatusOr<std::string> OpenForRetry(absl::string_view sealed,
                                           absl::string_view request) const override;

 private:
  std::string retry_key_;
};

bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

// The key that seals secrets for retries, derived from the JWT signing secret: whoever holds that
// secret can already mint a coordinator's token and make keys at will, so sealing under it
// exposes nothing more, and the directory needs no further secret.
std::string RetrySealingKey(absl::string_view jwt_secret);

// What the directory knows about credentials: partners' keys, and whether the person a token
// names is still a member. The directory answers from its store; other services ask the
// directory, and remember its answers for a short while.
class CredentialDirectory {
 public:
  virtual ~CredentialDirectory() = default;
  virtual absl::StatusOr<Caller> AuthenticateApiKey(absl::string_view secret) = 0;
  // For a member's token (Caller::IsMember): MemberTokenStatus of the person it names.
  virtual absl::Status CheckMember(const Caller& caller) = 0;
};

// Turns the credentials of a call (the `authorization` and `x-api-key` metadata) into a Caller.
// Missing or bad credentials are UNAUTHENTICATED, and so is the token of a person who is no
// longer a member (deactivated, or gone).
class Authenticator {
 public:
  // Always with a directory: a member's token is never accepted without asking whether they
  // still are one.
  Authenticator(TokenVerifier tokens, CredentialDirectory& directory)
      : tokens_(std::move(tokens)), directory_(directory) {}

  absl::StatusOr<Caller> Authenticate(std::optional<absl::string_view> authorization,
                                      std::optional<absl::string_view> api_key) const;

 private:
  TokenVerifier tokens_;
  CredentialDirectory& directory_;
};

}  // namespace peerwell
