#include "services/common/auth.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "jwt/jwt.hpp"
#include "tests/testing/fake_clock.h"
#include "tests/testing/tokens.h"

namespace peerwell {
namespace {

using ::peerwell::testing::kTestJwtSecret;
using ::peerwell::testing::TestToken;

std::string Base64Url(absl::string_view text) {
  std::string out;
  absl::WebSafeBase64Escape(text, &out);
  return out;
}

// Builds a token by hand so that tests can forge what a good library would never emit.
std::string HandToken(const std::string& header, const std::string& payload,
                      const std::string& signature) {
  return absl::StrCat(Base64Url(header), ".", Base64Url(payload), ".", signature);
}

std::string ValidPayload() {
  int64_t now = absl::ToUnixSeconds(absl::Now());
  return absl::StrCat(R"({"iss":"peerwell","aud":"peerwell","sub":"p1","org":"o1",)",
                      R"("role":"coordinator","iat":)", now, R"(,"exp":)", now + 3600, "}");
}

class TokenVerifierTest : public ::testing::Test {
 protected:
  TokenVerifier verifier_{kTestJwtSecret};
};

TEST_F(TokenVerifierTest, AcceptsMintedToken) {
  auto caller = verifier_.Verify(TestToken(CallerRole::kSupervisor, "p42", "o7"));
  ASSERT_TRUE(caller.ok()) << caller.status();
  EXPECT_EQ(caller->person_id, "p42");
  EXPECT_EQ(caller->organization_id, "o7");
  EXPECT_EQ(caller->role, CallerRole::kSupervisor);
}

TEST_F(TokenVerifierTest, RefusesAlgNone) {
  std::string token = HandToken(R"({"alg":"none","typ":"JWT"})", ValidPayload(), "");
  EXPECT_EQ(verifier_.Verify(token).status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(verifier_.Verify(token + "x").status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(TokenVerifierTest, RefusesOtherAlgorithmEvenWithSameSecret) {
  using namespace jwt::params;
  jwt::jwt_object token{algorithm("HS512"), secret(kTestJwtSecret)};
  int64_t now = absl::ToUnixSeconds(absl::Now());
  token.add_claim("iss", "peerwell")
      .add_claim("aud", "peerwell")
      .add_claim("sub", "p1")
      .add_claim("org", "o1")
      .add_claim("role", "admin")
      .add_claim("exp", std::chrono::system_clock::time_point(std::chrono::seconds(now + 600)));
  EXPECT_EQ(verifier_.Verify(token.signature()).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(TokenVerifierTest, RefusesBadSignature) {
  std::string good = TestToken(CallerRole::kCoordinator, "p1", "o1");
  std::string other =
      MintToken("another-secret-that-is-long-enough-32b",
                {"p1", "o1", CallerRole::kCoordinator, absl::Hours(1)}, absl::Now());
  std::vector<std::string> good_parts = absl::StrSplit(good, '.');
  std::vector<std::string> other_parts = absl::StrSplit(other, '.');
  std::string forged = absl::StrCat(good_parts[0], ".", good_parts[1], ".", other_parts[2]);
  EXPECT_EQ(verifier_.Verify(forged).status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(verifier_.Verify(other).status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(TokenVerifierTest, RefusesExpiredToken) {
  std::string expired =
      MintToken(kTestJwtSecret, {"p1", "o1", CallerRole::kVolunteer, absl::Minutes(5)},
                absl::Now() - absl::Hours(1));
  auto result = verifier_.Verify(expired);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(result.status().message(), ::testing::HasSubstr("expired"));
}

TEST(TokenVerifierCacheTest, RemembersATokenButStillRefusesItOnceExpired) {
  peerwell::testing::FakeClock clock(absl::Now());
  TokenVerifier verifier(kTestJwtSecret, &clock);
  std::string token = TestToken(CallerRole::kVolunteer, "p1", "o1", absl::Minutes(10));
  for (int call = 0; call < 2; ++call) {  // the second is answered from what the first verified
    auto caller = verifier.Verify(token);
    ASSERT_TRUE(caller.ok()) << caller.status();
    EXPECT_EQ(caller->person_id, "p1");
    EXPECT_EQ(caller->role, CallerRole::kVolunteer);
  }
  clock.Advance(absl::Minutes(11));
  auto late = verifier.Verify(token);
  EXPECT_EQ(late.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(late.status().message(), ::testing::HasSubstr("expired"));
}

TEST(TokenVerifierCacheTest, ARememberedTokenDoesNotVouchForAnAlteredOne) {
  TokenVerifier verifier(kTestJwtSecret);
  std::string token = TestToken(CallerRole::kVolunteer, "p1", "o1");
  ASSERT_TRUE(verifier.Verify(token).ok());
  std::string altered = token;
  char& in_signature = altered[altered.size() - 5];  // not the last: that one holds padding bits
  in_signature = in_signature == 'A' ? 'B' : 'A';
  EXPECT_EQ(verifier.Verify(altered).status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(verifier.Verify(token.substr(0, token.size() - 1)).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(TokenVerifierTest, RefusesWrongIssuerOrAudience) {
  using namespace jwt::params;
  int64_t now = absl::ToUnixSeconds(absl::Now());
  auto make = [&](const char* iss, const char* aud) {
    jwt::jwt_object token{algorithm("HS256"), secret(kTestJwtSecret)};
    token.add_claim("iss", iss)
        .add_claim("aud", aud)
        .add_claim("sub", "p1")
        .add_claim("org", "o1")
        .add_claim("role", "coordinator")
        .add_claim("exp", std::chrono::system_clock::time_point(std::chrono::seconds(now + 600)));
    return token.signature();
  };
  EXPECT_TRUE(verifier_.Verify(make("peerwell", "peerwell")).ok());
  EXPECT_EQ(verifier_.Verify(make("someone-else", "peerwell")).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(verifier_.Verify(make("peerwell", "elsewhere")).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(TokenVerifierTest, RefusesTokenWithoutExpiryOrOrganisationOrKnownRole) {
  using namespace jwt::params;
  auto make = [&](bool with_exp, const char* org, const char* role) {
    jwt::jwt_object token{algorithm("HS256"), secret(kTestJwtSecret)};
    token.add_claim("iss", "peerwell")
        .add_claim("aud", "peerwell")
        .add_claim("sub", "p1")
        .add_claim("role", role);
    if (org != nullptr) token.add_claim("org", org);
    if (with_exp) {
      token.add_claim("exp", std::chrono::system_clock::now() + std::chrono::minutes(5));
    }
    return token.signature();
  };
  EXPECT_TRUE(verifier_.Verify(make(true, "o1", "volunteer")).ok());
  EXPECT_FALSE(verifier_.Verify(make(false, "o1", "volunteer")).ok());
  EXPECT_FALSE(verifier_.Verify(make(true, nullptr, "volunteer")).ok());
  EXPECT_FALSE(verifier_.Verify(make(true, "o1", "superuser")).ok());
  EXPECT_FALSE(verifier_.Verify(make(true, "o1", "partner")).ok());
  EXPECT_TRUE(verifier_.Verify(make(true, nullptr, "admin")).ok());
}

TEST_F(TokenVerifierTest, RefusesGarbage) {
  for (const char* token : {"", "a.b", "a.b.c", "....", "eyJhbGciOiJIUzI1NiJ9.e30."}) {
    EXPECT_EQ(verifier_.Verify(token).status().code(), absl::StatusCode::kUnauthenticated) << token;
  }
}

// One partner key, pwk_good; members p1 (active) and p2 (deactivated) of o1.
class FixedDirectory final : public CredentialDirectory {
 public:
  absl::StatusOr<Caller> AuthenticateApiKey(absl::string_view secret) override {
    if (secret != "pwk_good") return absl::UnauthenticatedError("invalid credentials");
    Caller caller;
    caller.role = CallerRole::kPartner;
    caller.organization_id = "o1";
    return caller;
  }
  absl::Status CheckMember(const Caller& caller) override {
    ++member_checks;
    bool found = caller.organization_id == "o1" &&
                 (caller.person_id == "p1" || caller.person_id == "p2");
    return MemberTokenStatus(found, caller.person_id == "p2");
  }
  int member_checks = 0;
};

TEST(AuthenticatorTest, NeedsExactlyOneWellFormedCredential) {
  FixedDirectory keys;
  Authenticator authenticator(TokenVerifier(kTestJwtSecret), keys);
  std::string bearer = "Bearer " + TestToken(CallerRole::kVolunteer, "p1", "o1");
  EXPECT_TRUE(authenticator.Authenticate(bearer, std::nullopt).ok());
  EXPECT_EQ(authenticator.Authenticate(std::nullopt, std::nullopt).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(authenticator.Authenticate("Basic abc", std::nullopt).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(authenticator.Authenticate(bearer, "pwk_good").status().code(),
            absl::StatusCode::kUnauthenticated);
  auto partner = authenticator.Authenticate(std::nullopt, "pwk_good");
  ASSERT_TRUE(partner.ok());
  EXPECT_EQ(partner->role, CallerRole::kPartner);
  EXPECT_EQ(authenticator.Authenticate(std::nullopt, "pwk_bad").status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(AuthenticatorTest, RefusesTheTokenOfSomeoneNoLongerAMember) {
  FixedDirectory directory;
  Authenticator authenticator(TokenVerifier(kTestJwtSecret), directory);
  auto bearer = [](CallerRole role, const std::string& subject, const std::string& org) {
    return "Bearer " + TestToken(role, subject, org);
  };
  EXPECT_TRUE(authenticator.Authenticate(bearer(CallerRole::kVolunteer, "p1", "o1"), std::nullopt)
                  .ok());
  auto deactivated =
      authenticator.Authenticate(bearer(CallerRole::kSupervisor, "p2", "o1"), std::nullopt);
  EXPECT_EQ(deactivated.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(deactivated.status().message(),
            "invalid credentials: this account has been deactivated");
  EXPECT_EQ(authenticator.Authenticate(bearer(CallerRole::kCoordinator, "p9", "o1"), std::nullopt)
                .status()
                .code(),
            absl::StatusCode::kUnauthenticated);
  // The same person id in another organisation is nobody.
  EXPECT_EQ(authenticator.Authenticate(bearer(CallerRole::kVolunteer, "p1", "o2"), std::nullopt)
                .status()
                .code(),
            absl::StatusCode::kUnauthenticated);
  // The operator and the services are no organisation's members: nothing to check.
  int checks = directory.member_checks;
  EXPECT_TRUE(
      authenticator.Authenticate(bearer(CallerRole::kAdmin, "op", "o1"), std::nullopt).ok());
  EXPECT_TRUE(
      authenticator.Authenticate(bearer(CallerRole::kService, "alerts", "o1"), std::nullopt).ok());
  EXPECT_EQ(directory.member_checks, checks);
}

TEST(ApiKeySecretTest, SecretNamesItsKeyAndHashMatchesOnlyItself) {
  OpenSslSecrets secrets;
  std::string org = "o0123456789abcdef0123";
  std::string key = "k0123456789abcdef0123";
  std::string secret = *secrets.NewSecret(org, key);
  auto identity = ParseApiKeySecret(secret);
  ASSERT_TRUE(identity.ok()) << identity.status();
  EXPECT_EQ(identity->organization_id, org);
  EXPECT_EQ(identity->api_key_id, key);
  std::string hash = secrets.Hash(secret);
  EXPECT_EQ(hash.find(secret), std::string::npos);
  EXPECT_TRUE(secrets.Matches(secret, hash));
  EXPECT_FALSE(secrets.Matches(*secrets.NewSecret(org, key), hash));
  EXPECT_FALSE(ParseApiKeySecret(secret + std::string(200, 'x')).ok());
  EXPECT_FALSE(ParseApiKeySecret("pwk_short").ok());
  EXPECT_FALSE(ParseApiKeySecret("Bearer xyz").ok());
}

TEST(ApiKeySecretTest, ASecretSealedForARetryOpensOnlyForItsRequest) {
  OpenSslSecrets secrets(RetrySealingKey(kTestJwtSecret));
  auto secret = secrets.NewSecret("o1", "k1");
  ASSERT_TRUE(secret.ok());
  auto sealed = secrets.SealForRetry(*secret, "o1/coordinator/request-1");
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  EXPECT_EQ(sealed->find(secret->substr(10)), std::string::npos);
  auto opened = secrets.OpenForRetry(*sealed, "o1/coordinator/request-1");
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, *secret);
  // Copied to another caller's or organisation's request, or opened with another JWT secret.
  EXPECT_EQ(secrets.OpenForRetry(*sealed, "o1/someone-else/request-1").status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(secrets.OpenForRetry(*sealed, "o2/coordinator/request-1").status().code(),
            absl::StatusCode::kDataLoss);
  OpenSslSecrets rotated(RetrySealingKey("another-jwt-secret-of-at-least-32-bytes"));
  EXPECT_EQ(rotated.OpenForRetry(*sealed, "o1/coordinator/request-1").status().code(),
            absl::StatusCode::kDataLoss);
  // Without a key (calendar feeds need none) nothing is sealed in the clear instead.
  EXPECT_EQ(OpenSslSecrets().SealForRetry(*secret, "o1/c/r").status().code(),
            absl::StatusCode::kInternal);
}

TEST(ConstantTimeEqualsTest, ComparesContentAndLength) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
}

}  // namespace
}  // namespace peerwell
