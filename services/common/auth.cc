#include "services/common/auth.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <array>
#include <chrono>
#include <functional>
#include <mutex>
#include <system_error>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "jwt/jwt.hpp"
#include "services/common/encryption.h"

namespace peerwell {
namespace {

absl::Status Unauthenticated(absl::string_view why) {
  return absl::UnauthenticatedError(absl::StrCat("invalid credentials: ", why));
}

}  // namespace

std::string MintToken(absl::string_view key, const TokenClaims& claims, absl::Time now) {
  using namespace jwt::params;
  jwt::jwt_object token{algorithm("HS256"), secret(std::string(key))};
  auto seconds = [](absl::Time t) {
    return std::chrono::system_clock::time_point(std::chrono::seconds(absl::ToUnixSeconds(t)));
  };
  token.add_claim("iss", std::string(kTokenIssuer))
      .add_claim("aud", std::string(kTokenAudience))
      .add_claim("sub", claims.subject)
      .add_claim("role", std::string(CallerRoleName(claims.role)))
      .add_claim("iat", seconds(now))
      .add_claim("exp", seconds(now + claims.lifetime));
  if (!claims.organization_id.empty()) token.add_claim("org", claims.organization_id);
  return token.signature();
}

std::string ServiceTokens::For(const std::string& organization_id) {
  constexpr absl::Duration kLifetime = absl::Minutes(5);
  constexpr absl::Duration kRenewBefore = absl::Minutes(1);
  // Tokens are checked against the real time by their receiver, so they are minted on it too.
  absl::Time now = absl::Now();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = tokens_.find(organization_id);
  if (it != tokens_.end() && it->second.expire_time - kRenewBefore > now) return it->second.token;
  if (tokens_.size() >= max_cached_) tokens_.clear();
  std::string token = MintToken(
      jwt_secret_, {service_name_, organization_id, CallerRole::kService, kLifetime}, now);
  tokens_[organization_id] = {token, now + kLifetime};
  return token;
}

// Tokens already verified, in shards so that concurrent calls rarely wait on one another. A full
// shard is emptied rather than tracked for recency: its tokens are verified again on next use.
class TokenVerifier::VerifiedTokens {
 public:
  struct Entry {
    Caller caller;
    absl::Time expiry;
  };

  // The caller of a remembered token; an expired one is forgotten and reported as such.
  std::optional<absl::StatusOr<Caller>> Find(absl::string_view token, absl::Time now) {
    Shard& shard = ShardOf(token);
    std::lock_guard<std::mutex> lock(shard.mu);
    auto it = shard.entries.find(token);
    if (it == shard.entries.end()) return std::nullopt;
    if (now >= it->second.expiry) {
      shard.entries.erase(it);
      return absl::StatusOr<Caller>(Unauthenticated("token expired"));
    }
    return absl::StatusOr<Caller>(it->second.caller);
  }

  void Remember(absl::string_view token, Entry entry) {
    Shard& shard = ShardOf(token);
    std::lock_guard<std::mutex> lock(shard.mu);
    if (shard.entries.size() >= kEntriesPerShard) shard.entries.clear();
    shard.entries.insert_or_assign(std::string(token), std::move(entry));
  }

 private:
  static constexpr size_t kShards = 16;
  static constexpr size_t kEntriesPerShard = 1024;
  struct Shard {
    std::mutex mu;
    absl::flat_hash_map<std::string, Entry> entries;
  };
  Shard& ShardOf(absl::string_view token) {
    return shards_[std::hash<std::string_view>()({token.data(), token.size()}) % kShards];
  }
  std::array<Shard, kShards> shards_;
};

TokenVerifier::TokenVerifier(std::string secret, const Clock* clock)
    : secret_(std::move(secret)), clock_(clock), verified_(std::make_unique<VerifiedTokens>()) {}
TokenVerifier::~TokenVerifier() = default;
TokenVerifier::TokenVerifier(TokenVerifier&&) noexcept = default;
TokenVerifier& TokenVerifier::operator=(TokenVerifier&&) noexcept = default;

absl::Time TokenVerifier::Now() const { return clock_ != nullptr ? clock_->Now() : absl::Now(); }

absl::StatusOr<Caller> TokenVerifier::Verify(absl::string_view token) const {
  if (auto known = verified_->Find(token, Now()); known.has_value()) return *std::move(known);
  absl::Time expiry;
  auto caller = VerifySignedToken(token, &expiry);
  if (!caller.ok()) return caller.status();
  if (Now() >= expiry) return Unauthenticated("token expired");
  verified_->Remember(token, {*caller, expiry});
  return caller;
}

absl::StatusOr<Caller> TokenVerifier::VerifySignedToken(absl::string_view token,
                                                        absl::Time* expiry) const {
  using namespace jwt::params;
  std::error_code ec;
  jwt::jwt_object decoded;
  try {
    decoded = jwt::decode(jwt::string_view(token.data(), token.size()), algorithms({"HS256"}), ec,
                          secret(secret_), issuer(std::string(kTokenIssuer)),
                          aud(std::string(kTokenAudience)), verify(true));
  } catch (const std::exception&) {
    return Unauthenticated("malformed token");
  }
  if (ec) {
    if (ec == jwt::VerificationErrc::TokenExpired) return Unauthenticated("token expired");
    return Unauthenticated("token rejected");
  }
  // Pinned: whatever the library accepts, only HS256 is PeerWell's.
  if (decoded.header().algo() != jwt::algorithm::HS256) {
    return Unauthenticated("token rejected");
  }
  const auto& payload = decoded.payload();
  if (!payload.has_claim("exp")) return Unauthenticated("token has no expiry");
  Caller caller;
  try {
    auto string_claim = [&](const char* name) -> std::string {
      return payload.has_claim(name) ? payload.get_claim_value<std::string>(name) : "";
    };
    caller.person_id = string_claim("sub");
    caller.organization_id = string_claim("org");
    if (!ParseCallerRole(string_claim("role"), &caller.role)) {
      return Unauthenticated("unknown role");
    }
  } catch (const std::exception&) {
    return Unauthenticated("malformed claims");
  }
  if (caller.person_id.empty()) return Unauthenticated("token has no subject");
  try {
    *expiry = absl::FromUnixSeconds(payload.get_claim_value<int64_t>("exp"));
  } catch (const std::exception&) {
    return Unauthenticated("malformed expiry");
  }
  if (caller.organization_id.empty() && caller.role != CallerRole::kAdmin) {
    return Unauthenticated("token has no organisation");
  }
  return caller;
}

absl::StatusOr<std::string> OpenSslSecrets::NewSecret(const SecretKind& kind,
                                                      absl::string_view organization_id,
                                                      absl::string_view record_id) const {
  unsigned char random[32];
  if (RAND_bytes(random, sizeof(random)) != 1) {
    return absl::InternalError("no secure random bytes for a secret");
  }
  std::string encoded;
  absl::WebSafeBase64Escape(
      absl::string_view(reinterpret_cast<const char*>(random), sizeof(random)), &encoded);
  return absl::StrCat(kind.prefix, organization_id, "_", record_id, "_", encoded);
}

std::string OpenSslSecrets::Hash(absl::string_view secret) const {
  return absl::BytesToHexString(Sha256(secret));
}

bool OpenSslSecrets::Matches(absl::string_view secret, absl::string_view stored_hash) const {
  return ConstantTimeEquals(Hash(secret), stored_hash);
}

absl::StatusOr<std::string> OpenSslSecrets::SealForRetry(absl::string_view secret,
                                                         absl::string_view request) const {
  if (retry_key_.empty()) return absl::InternalError("no key to seal secrets for retries with");
  return SealAesGcm(retry_key_, secret, request);
}

absl::StatusOr<std::string> OpenSslSecrets::OpenForRetry(absl::string_view sealed,
                                                         absl::string_view request) const {
  if (retry_key_.empty()) return absl::InternalError("no key to open secrets sealed for retries");
  return OpenAesGcm(retry_key_, sealed, request);
}

std::string RetrySealingKey(absl::string_view jwt_secret) {
  return HmacSha256(jwt_secret, "peerwell secrets sealed for retries v1");
}

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

absl::StatusOr<Caller> Authenticator::Authenticate(std::optional<absl::string_view> authorization,
                                                   std::optional<absl::string_view> api_key) const {
  if (authorization.has_value() && api_key.has_value()) {
    return Unauthenticated("send either a bearer token or an API key, not both");
  }
  if (authorization.has_value()) {
    absl::string_view value = *authorization;
    constexpr absl::string_view kBearer = "Bearer ";
    if (value.size() <= kBearer.size() ||
        !absl::EqualsIgnoreCase(value.substr(0, kBearer.size()), kBearer)) {
      return Unauthenticated("authorization must be 'Bearer <token>'");
    }
    auto caller = tokens_.Verify(value.substr(kBearer.size()));
    if (!caller.ok() || !caller->IsMember()) return caller;
    if (absl::Status member = directory_.CheckMember(*caller); !member.ok()) return member;
    return caller;
  }
  if (api_key.has_value()) {
    return directory_.AuthenticateApiKey(*api_key);
  }
  return absl::UnauthenticatedError("missing credentials: send 'authorization: Bearer <token>'");
}

}  // namespace peerwell
