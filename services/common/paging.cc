#include "services/common/paging.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "services/common/auth.h"
#include "services/common/encryption.h"
#include "services/common/validation.h"

namespace peerwell {
namespace {

constexpr size_t kMacBytes = 16;

}  // namespace

std::string PageTokenKey(absl::string_view jwt_secret) {
  return HmacSha256(jwt_secret, "peerwell page tokens v1");
}

std::string PageTokenCodec::Mac(absl::string_view organization_id, absl::string_view query,
                                absl::string_view position) const {
  // Lengths first, so that no two different triples share a message.
  std::string message = absl::StrCat(organization_id.size(), ":", organization_id, ",",
                                     query.size(), ":", query, ",", position);
  return HmacSha256(key_, message).substr(0, kMacBytes);
}

std::string PageTokenCodec::Encode(absl::string_view organization_id, absl::string_view query,
                                   absl::string_view position) const {
  std::string token;
  absl::WebSafeBase64Escape(absl::StrCat(Mac(organization_id, query, position), position), &token);
  return token;
}

absl::StatusOr<std::string> PageTokenCodec::Decode(absl::string_view token,
                                                   absl::string_view organization_id,
                                                   absl::string_view query) const {
  if (token.empty()) return std::string();
  std::string raw;
  if (token.size() > 1024 || !absl::WebSafeBase64Unescape(token, &raw) || raw.size() <= kMacBytes) {
    return InvalidField("page_token", "is not a page token of this listing");
  }
  std::string position = raw.substr(kMacBytes);
  if (!ConstantTimeEquals(raw.substr(0, kMacBytes), Mac(organization_id, query, position))) {
    return InvalidField("page_token", "is not a page token of this listing");
  }
  return position;
}

}  // namespace peerwell
