#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace peerwell {

// What a partner sees instead of an id (SPEC Appendix C): a pseudonym that stays the same for one
// API key and differs between keys, so that two partners cannot join what they receive. Domain
// code sees only this interface.
class Pseudonymizer {
 public:
  virtual ~Pseudonymizer() = default;
  // The pseudonym of the `kind` of record ("person", "checkin") with `id` for `api_key_id`:
  // `prefix` followed by 32 hex digits.
  virtual std::string Pseudonym(absl::string_view api_key_id, absl::string_view kind,
                                absl::string_view id, absl::string_view prefix) const = 0;
};

// A volunteer as the partner holding API key `api_key_id` sees them, in exports and webhook
// payloads alike, so that the partner can join the two.
inline std::string VolunteerPseudonym(const Pseudonymizer& pseudonyms,
                                      absl::string_view api_key_id,
                                      absl::string_view volunteer_id) {
  return pseudonyms.Pseudonym(api_key_id, "person", volunteer_id, "v-");
}

}  // namespace peerwell
