#include "services/webhooks/delivery_rules.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace peerwell::webhooks {
namespace {

constexpr size_t kMaxUrlChars = 2048;

bool InPrefix(uint32_t address, uint32_t network, int bits) {
  uint32_t mask = bits == 0 ? 0 : ~uint32_t{0} << (32 - bits);
  return (address & mask) == (network & mask);
}

bool IsPublicIpv4(uint32_t a) {
  struct Range {
    uint32_t network;
    int bits;
  };
  static constexpr Range kRefused[] = {
      {0x00000000, 8},   // 0.0.0.0/8: "this network", unspecified
      {0x0A000000, 8},   // 10.0.0.0/8: private
      {0x64400000, 10},  // 100.64.0.0/10: shared address space (carrier NAT, some clusters)
      {0x7F000000, 8},   // 127.0.0.0/8: loopback
      {0xA9FE0000, 16},  // 169.254.0.0/16: link-local (cloud metadata services live here)
      {0xAC100000, 12},  // 172.16.0.0/12: private
      {0xC0000000, 24},  // 192.0.0.0/24: IETF protocol assignments
      {0xC0A80000, 16},  // 192.168.0.0/16: private
      {0xC6120000, 15},  // 198.18.0.0/15: benchmarking
      {0xE0000000, 4},   // 224.0.0.0/4: multicast
      {0xF0000000, 4},   // 240.0.0.0/4: reserved, and 255.255.255.255 broadcast
  };
  for (const Range& range : kRefused) {
    if (InPrefix(a, range.network, range.bits)) return false;
  }
  return true;
}

// The IPv4 address in the last four bytes of an IPv6 one (mapped or NAT64 forms).
uint32_t EmbeddedIpv4(const std::array<uint8_t, 16>& b) {
  return uint32_t{b[12]} << 24 | uint32_t{b[13]} << 16 | uint32_t{b[14]} << 8 | b[15];
}

}  // namespace

absl::Duration RetryDelay(int retry, absl::Duration base, double jitter) {
  absl::Duration delay = base;
  for (int i = 1; i < retry && delay < kMaxRetryDelay; ++i) delay *= 2;
  delay = std::min(delay, kMaxRetryDelay);
  return delay * (0.5 + 0.5 * std::clamp(jitter, 0.0, 1.0));
}

std::optional<absl::Time> NextAttemptTime(absl::Time first_attempt, absl::Time attempted,
                                          int retry, absl::Duration base, double jitter) {
  absl::Time next = attempted + RetryDelay(retry, base, jitter);
  if (next - first_attempt > kRetryFor) return std::nullopt;
  return next;
}

bool IsPublicAddress(absl::string_view address) {
  std::string text(address);
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) return IsPublicIpv4(ntohl(v4.s_addr));
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6) != 1) return false;
  std::array<uint8_t, 16> b;
  std::memcpy(b.data(), v6.s6_addr, 16);
  bool zero_prefix = std::all_of(b.begin(), b.begin() + 10, [](uint8_t x) { return x == 0; });
  if (zero_prefix && b[10] == 0xff && b[11] == 0xff) {  // ::ffff:a.b.c.d, IPv4-mapped
    return IsPublicIpv4(EmbeddedIpv4(b));
  }
  if (zero_prefix && b[10] == 0 && b[11] == 0) return false;  // ::, ::1 and IPv4-compatible
  if ((b[0] & 0xfe) == 0xfc) return false;                    // fc00::/7: unique local
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return false;    // fe80::/10: link-local
  if (b[0] == 0xff) return false;                             // ff00::/8: multicast
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) return false;  // docs
  if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b) {  // 64:ff9b::/96, NAT64
    return IsPublicIpv4(EmbeddedIpv4(b));
  }
  return true;
}

absl::StatusOr<WebhookUrl> ParseWebhookUrl(absl::string_view url, bool allow_plain_http,
                                           bool allow_private) {
  auto invalid = [](absl::string_view rule) {
    return absl::InvalidArgumentError(absl::StrCat("url: ", rule));
  };
  if (url.size() > kMaxUrlChars) {
    return invalid(absl::StrCat("must be at most ", kMaxUrlChars, " characters"));
  }
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      return invalid("must be printable ASCII without spaces (percent-encode the rest)");
    }
  }
  WebhookUrl parsed;
  absl::string_view rest = url;
  if (absl::ConsumePrefix(&rest, "https://")) {
    parsed.tls = true;
    parsed.port = 443;
  } else if (absl::ConsumePrefix(&rest, "http://")) {
    if (!allow_plain_http) return invalid("must be https://");
    parsed.tls = false;
    parsed.port = 80;
  } else {
    return invalid("must be an https:// address");
  }
  if (rest.find('#') != absl::string_view::npos) return invalid("must not have a fragment");
  size_t path_at = rest.find_first_of("/?");
  absl::string_view authority = rest.substr(0, path_at);
  absl::string_view target = path_at == absl::string_view::npos ? "/" : rest.substr(path_at);
  parsed.target = absl::StrCat(absl::StartsWith(target, "?") ? "/" : "", target);
  if (authority.find('@') != absl::string_view::npos) {
    return invalid("must not carry a user name or password");
  }
  absl::string_view host = authority;
  absl::string_view port;
  if (absl::ConsumePrefix(&host, "[")) {  // [IPv6]:port
    size_t close = host.find(']');
    if (close == absl::string_view::npos) return invalid("has an unclosed [ in its host");
    absl::string_view after = host.substr(close + 1);
    host = host.substr(0, close);
    if (!after.empty() && !absl::ConsumePrefix(&after, ":")) return invalid("has a bad port");
    port = after;
  } else if (size_t colon = host.rfind(':'); colon != absl::string_view::npos) {
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
  }
  if (host.empty()) return invalid("must name a host");
  if (!port.empty()) {
    if (!absl::SimpleAtoi(port, &parsed.port) || parsed.port < 1 || parsed.port > 65535) {
      return invalid("has a port outside 1-65535");
    }
  }
  parsed.host = absl::AsciiStrToLower(host);
  in6_addr ignored{};
  bool literal = inet_pton(AF_INET, parsed.host.c_str(), &ignored) == 1 ||
                 inet_pton(AF_INET6, parsed.host.c_str(), &ignored) == 1;
  if (literal && !allow_private && !IsPublicAddress(parsed.host)) {
    return invalid("points at a loopback, link-local or private address");
  }
  if (!literal && (parsed.host == "localhost" || absl::EndsWith(parsed.host, ".localhost")) &&
      !allow_private) {
    return invalid("points at a loopback, link-local or private address");
  }
  return parsed;
}

}  // namespace peerwell::webhooks
