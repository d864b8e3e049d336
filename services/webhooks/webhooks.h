#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace peerwell::webhooks {

// The alert events a webhook may subscribe to (SPEC Appendix C), as the alerts service names
// them on its event stream.
inline constexpr const char* kAlertEventTypes[] = {"alert.triggered", "alert.updated",
                                                   "alert.acknowledged", "alert.escalated",
                                                   "alert.resolved"};
bool IsAlertEventType(absl::string_view type);

// A partner's registration: where to POST which events. It belongs to the API key that created
// it: the key's pseudonyms name volunteers in its payloads, and revoking the key removes it.
struct Webhook {
  std::string id;  // "wh…"
  std::string organization_id;
  std::string owner_key_id;
  std::string url;
  std::vector<std::string> event_types;
  absl::Time create_time = absl::InfinitePast();
  // With the service's key, gives the signing secret; the secret itself is stored nowhere.
  std::string secret_nonce;

  bool Wants(absl::string_view event_type) const;
};

struct CreatedWebhook {
  Webhook webhook;
  std::string secret;  // shown once
};

// An alert event as the alerts service published it: ids and facts, never free text.
struct AlertEvent {
  std::string event_id;  // the PeerWell-Event-Id header: "evt_" and the stream entry's id
  std::string type;
  std::string organization_id;
  absl::Time occur_time = absl::InfinitePast();
  std::string alert_id;
  std::string volunteer_id;
  std::string rule_id;
  int priority = 0;
  int occurrence_count = 0;
  int escalation_level = 0;
  int outcome = 0;
};

// One event on its way to one webhook: the body is made once, when the event is queued, so
// every attempt sends the same bytes.
struct Delivery {
  std::string organization_id;
  std::string webhook_id;
  std::string event_id;
  std::string event_type;
  std::string body;
  int attempts = 0;  // made so far, this one included once claimed
  absl::Time first_attempt_time = absl::InfinitePast();
};

// One line of the delivery log.
struct DeliveryAttempt {
  std::string event_id;
  std::string event_type;
  int attempt = 0;
  absl::Time attempt_time = absl::InfinitePast();
  int http_status = 0;
  absl::Duration duration;
  std::optional<absl::Time> next_attempt_time;
  std::string error;
};

struct PostResult {
  int http_status = 0;  // 0 when no answer came
  absl::Duration duration;
  std::string error;  // why no answer came; empty when one did
};

using Headers = std::vector<std::pair<std::string, std::string>>;

// Sends one attempt: an HTTP(S) POST to `url` with `body` and `headers`, bounded in time, signed
// with `secret` (the PeerWell-Signature header) at the moment it is sent.
class Poster {
 public:
  virtual ~Poster() = default;
  virtual PostResult Post(const std::string& url, const std::string& body, const Headers& headers,
                          const std::string& secret) const = 0;
};

// The payload of an event for one webhook, naming the volunteer by `volunteer_pseudonym`.
class PayloadEncoder {
 public:
  virtual ~PayloadEncoder() = default;
  virtual std::string Encode(const AlertEvent& event,
                             const std::string& volunteer_pseudonym) const = 0;
};

// Whether a volunteer lets partners receive what concerns them (the research_export consent).
class PartnerConsent {
 public:
  virtual ~PartnerConsent() = default;
  virtual absl::StatusOr<bool> SharesWithPartners(const std::string& organization_id,
                                                  const std::string& volunteer_id) = 0;
};

}  // namespace peerwell::webhooks
