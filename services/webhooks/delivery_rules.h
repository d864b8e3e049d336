#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace peerwell::webhooks {

// The rules of delivering partners' webhooks (SPEC Appendix C), as pure functions: which
// addresses a delivery may go to, when the next attempt is due, and for how long.

// How long an event is retried after its first attempt, and the most an attempt waits.
inline constexpr absl::Duration kRetryFor = absl::Hours(24);
inline constexpr absl::Duration kMaxRetryDelay = absl::Hours(1);

// The delay before retry number `retry` (1 for the attempt after the first): `base` doubled for
// each earlier retry, at most kMaxRetryDelay, scaled by a jitter of 50-100 % (`jitter` in
// [0, 1)) so that many failed deliveries do not all come back at once. With `base` 5 s the
// first retry comes within 5 s, as SPEC Appendix C asks.
absl::Duration RetryDelay(int retry, absl::Duration base, double jitter);

// When the attempt after one made at `attempted` is due, or nullopt when the event has been
// retried for kRetryFor since `first_attempt` and is given up.
std::optional<absl::Time> NextAttemptTime(absl::Time first_attempt, absl::Time attempted,
                                          int retry, absl::Duration base, double jitter);

// Whether an answer ends the event's deliveries: any 2xx.
inline bool IsDelivered(int http_status) { return http_status >= 200 && http_status < 300; }

// Whether a webhook may be delivered to the IP address `address` (IPv4 or IPv6 text): not
// loopback, link-local, private (RFC 1918, RFC 4193), shared (100.64.0.0/10), unspecified,
// multicast or broadcast, nor an IPv4-mapped IPv6 form of those. False for anything unparsable.
// A partner's URL that leads there could read the cluster's insides (SSRF).
bool IsPublicAddress(absl::string_view address);

// A webhook's URL, checked: http(s), a host, an optional port, a path; no user info or fragment.
struct WebhookUrl {
  bool tls = true;
  std::string host;  // a DNS name or an IP literal (without brackets)
  int port = 443;
  std::string target;  // path and query, at least "/"
};
// INVALID_ARGUMENT naming `url` and the rule. Plain http only with `allow_plain_http`; an IP
// literal that is not public only with `allow_private`. (DNS names are checked when resolved.)
absl::StatusOr<WebhookUrl> ParseWebhookUrl(absl::string_view url, bool allow_plain_http,
                                           bool allow_private);

}  // namespace peerwell::webhooks
