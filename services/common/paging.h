#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace peerwell {

// Page tokens are opaque to clients: a position inside a listing, bound by an HMAC to the
// organisation and to the query that produced it. A token that was altered, or that belongs to
// another organisation or another query, is INVALID_ARGUMENT.
class PageTokenCodec {
 public:
  // `key` is derived from the service's secret; see PageTokenKey.
  explicit PageTokenCodec(std::string key) : key_(std::move(key)) {}

  std::string Encode(absl::string_view organization_id, absl::string_view query,
                     absl::string_view position) const;
  // The position; an empty token is the first page (empty position).
  absl::StatusOr<std::string> Decode(absl::string_view token, absl::string_view organization_id,
                                     absl::string_view query) const;

 private:
  std::string Mac(absl::string_view organization_id, absl::string_view query,
                  absl::string_view position) const;
  std::string key_;
};

// A key for page tokens derived from the JWT secret, so that no extra secret is needed.
std::string PageTokenKey(absl::string_view jwt_secret);

}  // namespace peerwell
