#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/webhooks/delivery_rules.h"
#include "services/webhooks/webhooks.h"

namespace peerwell::webhooks {

// The signature header of a delivery (SPEC Appendix C): "t=<unix seconds>,v1=<hex of
// HMAC-SHA256(secret, "<t>.<body>")>". A receiver recomputes it and rejects timestamps older
// than five minutes, which stops replays of a captured delivery.
std::string SignatureHeader(absl::string_view secret, int64_t unix_seconds, absl::string_view body);

// POSTs one delivery: resolves the host, keeps only public addresses (unless private ones are
// allowed) and connects to those, never re-resolving, so that a name cannot switch to an inside
// address between the check and the connection; TLS with the system's trust store, the host name
// verified; redirects are not followed (a 3xx is a failed attempt). Everything within `timeout`.
class WebhookPoster : public Poster {
 public:
  struct Options {
    bool allow_private = false;
    absl::Duration timeout = absl::Seconds(10);
  };
  explicit WebhookPoster(Options options);
  ~WebhookPoster() override;

  PostResult Post(const WebhookUrl& url, const std::string& body,
                  const std::vector<std::pair<std::string, std::string>>& headers) const;
  // Checks the URL as CreateWebhook did (plain http and private addresses only where allowed),
  // adds PeerWell-Signature for the moment of sending, and posts.
  PostResult Post(const std::string& url, const std::string& body, const Headers& headers,
                  const std::string& secret) const override;

 private:
  struct Tls;

  Options options_;
  // The client TLS context with the system's trust store, loaded once: every attempt's
  // connection is made from it.
  std::unique_ptr<Tls> tls_;
};

}  // namespace peerwell::webhooks
