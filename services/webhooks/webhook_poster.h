#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/webhooks/delivery_rules.h"

namespace peerwell::webhooks {

// The signature header of a delivery (SPEC Appendix C): "t=<unix seconds>,v1=<hex of
// HMAC-SHA256(secret, "<t>.<body>")>". A receiver recomputes it and rejects timestamps older
// than five minutes, which stops replays of a captured delivery.
std::string SignatureHeader(absl::string_view secret, int64_t unix_seconds, absl::string_view body);

struct PostResult {
  int http_status = 0;  // 0 when no answer came
  absl::Duration duration;
  std::string error;  // why no answer came; empty when one did
};

// POSTs one delivery: resolves the host, keeps only public addresses (unless private ones are
// allowed) and connects to those, never re-resolving, so that a name cannot switch to an inside
// address between the check and the connection; TLS with the system's trust store, the host name
// verified; redirects are not followed (a 3xx is a failed attempt). Everything within `timeout`.
class WebhookPoster {
 public:
  struct Options {
    bool allow_private = false;
    absl::Duration timeout = absl::Seconds(10);
  };
  explicit WebhookPoster(Options options) : options_(std::move(options)) {}

  PostResult Post(const WebhookUrl& url, const std::string& body,
                  const std::vector<std::pair<std::string, std::string>>& headers) const;

 private:
  Options options_;
};

}  // namespace peerwell::webhooks
