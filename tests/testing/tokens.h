#pragma once

#include <string>

#include "absl/time/clock.h"
#include "services/common/auth.h"

namespace peerwell::testing {

inline constexpr char kTestJwtSecret[] = "test-secret-of-at-least-thirty-two-bytes!!";
// The check-in service seals notes with it: base64 of 32 bytes.
inline constexpr char kTestMasterKey[] = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
// Partners' pseudonyms (PEERWELL_PSEUDONYM_KEY).
inline constexpr char kTestPseudonymKey[] = "cHNldWRvbnltcy1mb3ItdGVzdHMtb25seS0wMTIzNDU=";

inline std::string TestToken(CallerRole role, const std::string& subject,
                             const std::string& organization_id,
                             absl::Duration lifetime = absl::Hours(1)) {
  return MintToken(kTestJwtSecret, {subject, organization_id, role, lifetime}, absl::Now());
}

}  // namespace peerwell::testing
