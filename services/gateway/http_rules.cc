#include "services/gateway/http_rules.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace peerwell::gateway {

const std::vector<std::pair<std::string, std::string>>& SecurityHeaders() {
  static const auto* headers = new std::vector<std::pair<std::string, std::string>>{
      {"Content-Security-Policy",
       "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'"},
      {"X-Content-Type-Options", "nosniff"},
      {"X-Frame-Options", "DENY"},
      {"Referrer-Policy", "no-referrer"},
      {"Strict-Transport-Security", "max-age=31536000; includeSubDomains"},
      {"Cross-Origin-Opener-Policy", "same-origin"},
      {"Cross-Origin-Resource-Policy", "same-origin"},
      {"Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"},
  };
  return *headers;
}

bool OriginAllowed(const std::vector<std::string>& allowlist, absl::string_view origin) {
  return !origin.empty() && std::find(allowlist.begin(), allowlist.end(), origin) != allowlist.end();
}

std::vector<std::pair<std::string, std::string>> CorsPreflightHeaders(absl::string_view origin) {
  return {
      {"Access-Control-Allow-Origin", std::string(origin)},
      {"Access-Control-Allow-Methods", "POST, GET"},
      {"Access-Control-Allow-Headers",
       "Authorization, X-Api-Key, Content-Type, Connect-Protocol-Version, Connect-Timeout-Ms, "
       "Connect-Content-Encoding, Connect-Accept-Encoding, X-User-Agent"},
      {"Access-Control-Max-Age", "7200"},
      {"Vary", "Origin"},
  };
}

absl::StatusOr<ConnectContentType> ParseConnectContentType(absl::string_view header) {
  absl::string_view type = header.substr(0, header.find(';'));
  std::string lower = absl::AsciiStrToLower(absl::StripAsciiWhitespace(type));
  if (lower == "application/json") return ConnectContentType{false, true};
  if (lower == "application/proto") return ConnectContentType{false, false};
  if (lower == "application/connect+json") return ConnectContentType{true, true};
  if (lower == "application/connect+proto") return ConnectContentType{true, false};
  return absl::UnimplementedError(absl::StrCat(
      "Content-Type must be application/json or application/proto (unary calls), "
      "application/connect+json or application/connect+proto (streaming calls); got '",
      header, "'"));
}

std::string ContentTypeOf(const ConnectContentType& type) {
  if (type.streaming) return type.json ? "application/connect+json" : "application/connect+proto";
  return type.json ? "application/json" : "application/proto";
}

std::optional<std::string> CredentialOf(absl::string_view authorization,
                                        absl::string_view api_key) {
  authorization = absl::StripAsciiWhitespace(authorization);
  if (!authorization.empty()) {
    size_t space = authorization.find(' ');
    if (space == absl::string_view::npos) return std::string(authorization);
    return absl::StrCat(absl::AsciiStrToLower(authorization.substr(0, space)), " ",
                        absl::StripAsciiWhitespace(authorization.substr(space + 1)));
  }
  api_key = absl::StripAsciiWhitespace(api_key);
  if (!api_key.empty()) return absl::StrCat("x-api-key ", api_key);
  return std::nullopt;
}

bool IsPrintableAscii(absl::string_view value) {
  return std::all_of(value.begin(), value.end(),
                     [](char c) { return c >= 0x20 && c <= 0x7e; });
}

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

absl::StatusOr<std::string> PercentDecode(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out.push_back(' ');
    } else if (text[i] == '%') {
      int high = i + 2 < text.size() ? HexValue(text[i + 1]) : -1;
      int low = i + 2 < text.size() ? HexValue(text[i + 2]) : -1;
      if (high < 0 || low < 0) {
        return absl::InvalidArgumentError("the query has a malformed percent escape");
      }
      out.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseQueryString(
    absl::string_view query) {
  std::vector<std::pair<std::string, std::string>> parameters;
  for (absl::string_view part : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(part, absl::MaxSplits('=', 1));
    auto name = PercentDecode(kv.first);
    if (!name.ok()) return name.status();
    auto value = PercentDecode(kv.second);
    if (!value.ok()) return value.status();
    parameters.emplace_back(*std::move(name), *std::move(value));
  }
  return parameters;
}

std::string PercentEncode(absl::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' ||
        c == '~') {
      out.push_back(c);
    } else {
      auto byte = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 15]);
    }
  }
  return out;
}

bool IfNoneMatchMatches(absl::string_view header, absl::string_view etag) {
  if (absl::StripAsciiWhitespace(header) == "*") return true;
  absl::ConsumePrefix(&etag, "W/");
  for (absl::string_view tag : absl::StrSplit(header, ',')) {
    tag = absl::StripAsciiWhitespace(tag);
    absl::ConsumePrefix(&tag, "W/");
    if (!tag.empty() && tag == etag) return true;
  }
  return false;
}

PeerState ProbePeer(int socket_fd) {
  char next;
  ssize_t peeked;
  do {
    peeked = ::recv(socket_fd, &next, 1, MSG_PEEK | MSG_DONTWAIT);
  } while (peeked < 0 && errno == EINTR);
  if (peeked > 0) return PeerState::kSending;
  if (peeked < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return PeerState::kIdle;
  return PeerState::kGone;  // 0: the orderly end; any other error: reset, or no connection
}

}  // namespace peerwell::gateway
