#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/common/caller.h"
#include "services/common/clock.h"
#include "services/common/pseudonymizer.h"
#include "services/webhooks/webhooks.h"
#include "services/webhooks/webhooks_store.h"

namespace peerwell::webhooks {

inline constexpr char kManageScope[] = "webhooks:manage";
inline constexpr int kMaxWebhooksPerKey = 10;

struct DeliveryOptions {
  // Plain http and URLs on loopback, link-local or private addresses (PEERWELL_WEBHOOK_ALLOW_PRIVATE:
  // tests and closed networks only).
  bool allow_private = false;
  // The first retry's delay, doubled for each further one (PEERWELL_WEBHOOK_RETRY_BASE).
  absl::Duration retry_base = absl::Seconds(5);
  // How long a claimed attempt stays hidden from other replicas: longer than an attempt may take,
  // so that only a replica that died hands it on.
  absl::Duration lease = absl::Seconds(30);
  // 50-100 % of each retry delay; in [0, 1). Uniform unless a test fixes it.
  std::function<double()> jitter;
};

// Partners' webhooks (peerwell.gateway.v1.WebhookService): registering them, queuing the alert
// events each wants, and delivering those with retries.
class WebhookService {
 public:
  WebhookService(WebhookStore& store, const Pseudonymizer& keys, PartnerConsent& consent,
                 const PayloadEncoder& encoder, const Poster& poster, const Clock& clock,
                 DeliveryOptions options);

  // --- The API: API keys with webhooks:manage, each seeing only its own webhooks ---------------
  absl::StatusOr<CreatedWebhook> CreateWebhook(const Caller& caller, const std::string& url,
                                               const std::vector<std::string>& event_types);
  absl::StatusOr<std::vector<Webhook>> ListWebhooks(const Caller& caller);
  absl::Status DeleteWebhook(const Caller& caller, const std::string& webhook_id);
  absl::StatusOr<DeliveryLogPage> ListDeliveries(const Caller& caller,
                                                 const std::string& webhook_id,
                                                 const std::string& position, int limit);

  // --- Events ----------------------------------------------------------------------------------
  // Queues each event for every webhook of its organisation that wants its type, when the
  // volunteer it concerns consents to partners receiving it; the organisations' webhooks read
  // once for all (most alert events are for organisations without one). Idempotent. The
  // outcome of each event.
  std::vector<absl::Status> QueueAlertEvents(const std::vector<AlertEvent>& events);
  // A revoked API key's webhooks go with it.
  absl::Status ForgetApiKey(const std::string& organization_id, const std::string& api_key_id);
  // An erased person (GDPR art. 17): every delivery still queued whose body names them, by the
  // pseudonym of its webhook's key, is dropped unsent, as is every one left by a deleted webhook
  // (never to be sent, and under a key no longer known). Finished deliveries keep no body and
  // stay. Idempotent; a person never named in a delivery is OK.
  absl::Status ErasePerson(const std::string& organization_id, const std::string& person_id);

  // --- Delivering ------------------------------------------------------------------------------
  // Claims up to `limit` due deliveries and makes one attempt at each; how many it attempted.
  absl::StatusOr<int> DeliverDue(int limit);

 private:
  absl::Status MayManage(const Caller& caller) const;
  // QueueAlertEvents of one event, given its organisation's webhooks.
  absl::Status QueueAlertEvent(const AlertEvent& event, std::vector<Webhook> webhooks);
  absl::StatusOr<Webhook> OwnWebhook(const Caller& caller, const std::string& webhook_id);
  std::string SecretOf(const Webhook& webhook) const;
  absl::Status Attempt(const Delivery& delivery);

  WebhookStore& store_;
  const Pseudonymizer& keys_;
  PartnerConsent& consent_;
  const PayloadEncoder& encoder_;
  const Poster& poster_;
  const Clock& clock_;
  DeliveryOptions options_;
};

}  // namespace peerwell::webhooks
