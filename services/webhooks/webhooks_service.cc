#include "services/webhooks/webhooks_service.h"

#include <algorithm>
#include <map>
#include <optional>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/common/ids.h"
#include "services/common/validation.h"
#include "services/webhooks/delivery_rules.h"

namespace peerwell::webhooks {

bool IsAlertEventType(absl::string_view type) {
  return std::find(std::begin(kAlertEventTypes), std::end(kAlertEventTypes), type) !=
         std::end(kAlertEventTypes);
}

bool Webhook::Wants(absl::string_view event_type) const {
  return std::find(event_types.begin(), event_types.end(), event_type) != event_types.end();
}

WebhookService::WebhookService(WebhookStore& store, const Pseudonymizer& keys,
                               PartnerConsent& consent, const PayloadEncoder& encoder,
                               const Poster& poster, const Clock& clock, DeliveryOptions options)
    : store_(store),
      keys_(keys),
      consent_(consent),
      encoder_(encoder),
      poster_(poster),
      clock_(clock),
      options_(std::move(options)) {
  if (!options_.jitter) {
    options_.jitter = [] {
      thread_local absl::BitGen bits;
      return absl::Uniform(bits, 0.0, 1.0);
    };
  }
}

absl::Status WebhookService::MayManage(const Caller& caller) const {
  if (caller.role != CallerRole::kPartner) {
    return absl::PermissionDeniedError(
        "webhooks are registered by partners' API keys with the webhooks:manage scope");
  }
  return RequireScope(caller, kManageScope);
}

absl::StatusOr<CreatedWebhook> WebhookService::CreateWebhook(
    const Caller& caller, const std::string& url, const std::vector<std::string>& event_types) {
  if (auto status = MayManage(caller); !status.ok()) return status;
  auto parsed = ParseWebhookUrl(url, options_.allow_private, options_.allow_private);
  if (!parsed.ok()) return parsed.status();
  if (event_types.empty()) {
    return InvalidField("event_types", "name at least one of alert.triggered, alert.updated, "
                                       "alert.acknowledged, alert.escalated, alert.resolved");
  }
  if (event_types.size() > std::size(kAlertEventTypes) * 2) {
    return InvalidField("event_types", "at most 10 entries");
  }
  CreatedWebhook created;
  Webhook& webhook = created.webhook;
  for (const std::string& type : event_types) {
    if (!IsAlertEventType(type)) {
      return InvalidField("event_types",
                          absl::StrCat("'", type.substr(0, 64), "' is not an alert event type"));
    }
    if (!webhook.Wants(type)) webhook.event_types.push_back(type);
  }
  webhook.id = NewId("wh");
  webhook.organization_id = caller.organization_id;
  webhook.owner_key_id = caller.person_id;
  webhook.url = url;
  webhook.create_time = clock_.Now();
  webhook.secret_nonce = NewId("n");
  auto added = store_.AddWebhook(webhook, kMaxWebhooksPerKey);
  if (!added.ok()) return added.status();
  if (!*added) {
    return absl::FailedPreconditionError(absl::StrCat(
        "an API key has at most ", kMaxWebhooksPerKey, " webhooks: delete one before adding"));
  }
  created.secret = SecretOf(webhook);
  return created;
}

absl::StatusOr<std::vector<Webhook>> WebhookService::ListWebhooks(const Caller& caller) {
  if (auto status = MayManage(caller); !status.ok()) return status;
  return store_.ListWebhooks(caller.organization_id, caller.person_id);
}

absl::StatusOr<Webhook> WebhookService::OwnWebhook(const Caller& caller,
                                                   const std::string& webhook_id) {
  if (!IsWellFormedId(webhook_id, "wh")) return InvalidField("webhook_id", "must be a webhook id");
  if (auto status = MayManage(caller); !status.ok()) return status;
  auto webhook = store_.GetWebhook(caller.organization_id, webhook_id);
  if (!webhook.ok()) return webhook.status();
  // Another key's webhook is not there for this one.
  if (!webhook->has_value() || (*webhook)->owner_key_id != caller.person_id) {
    return absl::NotFoundError("webhook not found");
  }
  return **std::move(webhook);
}

absl::Status WebhookService::DeleteWebhook(const Caller& caller, const std::string& webhook_id) {
  auto webhook = OwnWebhook(caller, webhook_id);
  if (!webhook.ok()) return webhook.status();
  auto removed = store_.RemoveWebhook(*webhook);
  if (!removed.ok()) return removed.status();
  if (!*removed) return absl::NotFoundError("webhook not found");  // deleted meanwhile
  return absl::OkStatus();
}

absl::StatusOr<DeliveryLogPage> WebhookService::ListDeliveries(const Caller& caller,
                                                               const std::string& webhook_id,
                                                               const std::string& position,
                                                               int limit) {
  auto webhook = OwnWebhook(caller, webhook_id);
  if (!webhook.ok()) return webhook.status();
  return store_.ListDeliveries(caller.organization_id, webhook_id, position, limit);
}

std::vector<absl::Status> WebhookService::QueueAlertEvents(const std::vector<AlertEvent>& events) {
  std::vector<std::string> organizations;
  std::map<std::string, size_t> position;  // of each organisation in `organizations`
  for (const AlertEvent& event : events) {
    if (position.emplace(event.organization_id, organizations.size()).second) {
      organizations.push_back(event.organization_id);
    }
  }
  auto webhooks = store_.OrganizationsWebhooks(organizations);
  std::vector<absl::Status> statuses(events.size(), webhooks.status());
  if (!webhooks.ok()) return statuses;
  for (size_t i = 0; i < events.size(); ++i) {
    statuses[i] = QueueAlertEvent(events[i], (*webhooks)[position[events[i].organization_id]]);
  }
  return statuses;
}

absl::Status WebhookService::QueueAlertEvent(const AlertEvent& event,
                                             std::vector<Webhook> webhooks) {
  webhooks.erase(std::remove_if(webhooks.begin(), webhooks.end(),
                                [&](const Webhook& w) { return !w.Wants(event.type); }),
                 webhooks.end());
  if (webhooks.empty()) return absl::OkStatus();
  // Partners receive nothing about a volunteer who has not agreed to it, as in exports.
  auto shares = consent_.SharesWithPartners(event.organization_id, event.volunteer_id);
  if (!shares.ok()) return shares.status();
  if (!*shares) return absl::OkStatus();
  absl::Time now = clock_.Now();
  for (const Webhook& webhook : webhooks) {
    Delivery delivery;
    delivery.organization_id = event.organization_id;
    delivery.webhook_id = webhook.id;
    delivery.event_id = event.event_id;
    delivery.event_type = event.type;
    delivery.body = encoder_.Encode(
        event, VolunteerPseudonym(keys_, webhook.owner_key_id, event.volunteer_id));
    if (auto queued = store_.Enqueue(delivery, now); !queued.ok()) return queued.status();
  }
  return absl::OkStatus();
}

absl::Status WebhookService::ForgetApiKey(const std::string& organization_id,
                                          const std::string& api_key_id) {
  auto webhooks = store_.ListWebhooks(organization_id, api_key_id);
  if (!webhooks.ok()) return webhooks.status();
  for (const Webhook& webhook : *webhooks) {
    if (auto removed = store_.RemoveWebhook(webhook); !removed.ok()) return removed.status();
  }
  return absl::OkStatus();
}

absl::Status WebhookService::ErasePerson(const std::string& organization_id,
                                         const std::string& person_id) {
  // By webhook id: the person as the webhook's key sees them, nullopt for a deleted webhook.
  std::map<std::string, std::optional<std::string>> pseudonyms;
  std::string position;
  do {
    auto page = store_.QueuedDeliveries(organization_id, position);
    if (!page.ok()) return page.status();
    std::vector<Delivery> erased;
    for (Delivery& delivery : page->deliveries) {
      auto known = pseudonyms.find(delivery.webhook_id);
      if (known == pseudonyms.end()) {
        // Looked up when first met rather than listed beforehand, so that a webhook created
        // meanwhile is not taken for a deleted one.
        auto webhook = store_.GetWebhook(organization_id, delivery.webhook_id);
        if (!webhook.ok()) return webhook.status();
        std::optional<std::string> pseudonym;
        if (webhook->has_value()) {
          pseudonym = VolunteerPseudonym(keys_, (*webhook)->owner_key_id, person_id);
        }
        known = pseudonyms.emplace(delivery.webhook_id, std::move(pseudonym)).first;
      }
      // A deleted webhook's deliveries are never sent (each is dropped when due), and the key
      // whose pseudonyms they carry is gone with it: dropped now, in case one names the person.
      if (!known->second.has_value() || absl::StrContains(delivery.body, *known->second)) {
        erased.push_back(std::move(delivery));
      }
    }
    if (auto dropped = store_.DropDeliveries(erased); !dropped.ok()) return dropped;
    position = page->next_position;
  } while (!position.empty());
  return absl::OkStatus();
}

absl::StatusOr<int> WebhookService::DeliverDue(int limit) {
  absl::Time now = clock_.Now();
  auto claimed = store_.ClaimDue(now, now + options_.lease, limit);
  if (!claimed.ok()) return claimed.status();
  absl::Status status;
  for (const Delivery& delivery : *claimed) status.Update(Attempt(delivery));
  if (!status.ok()) return status;
  return static_cast<int>(claimed->size());
}

absl::Status WebhookService::Attempt(const Delivery& delivery) {
  DeliveryAttempt attempt;
  attempt.event_id = delivery.event_id;
  attempt.event_type = delivery.event_type;
  attempt.attempt = delivery.attempts;
  attempt.attempt_time = clock_.Now();
  auto webhook = store_.GetWebhook(delivery.organization_id, delivery.webhook_id);
  if (!webhook.ok()) return webhook.status();
  if (!webhook->has_value()) {
    // Deleted since the event was queued: the store drops the delivery without a log line.
    attempt.error = "the webhook was deleted";
    return store_.FinishAttempt(delivery, attempt);
  }
  PostResult result = poster_.Post((*webhook)->url, delivery.body,
                                   {{"PeerWell-Event-Id", delivery.event_id},
                                    {"PeerWell-Event-Type", delivery.event_type}},
                                   SecretOf(**webhook));
  attempt.http_status = result.http_status;
  attempt.duration = result.duration;
  attempt.error = result.error;
  if (!IsDelivered(result.http_status)) {
    attempt.next_attempt_time =
        NextAttemptTime(delivery.first_attempt_time, attempt.attempt_time, delivery.attempts,
                        options_.retry_base, options_.jitter());
  }
  return store_.FinishAttempt(delivery, attempt);
}

std::string WebhookService::SecretOf(const Webhook& webhook) const {
  // A keyed derivation, the same construction as pseudonyms under a kind of its own: Redis
  // holds only the nonce, so a copy of it cannot sign deliveries.
  return keys_.Pseudonym(absl::StrCat(webhook.organization_id, "/", webhook.id), "webhook-secret",
                         webhook.secret_nonce, "whsec_");
}

}  // namespace peerwell::webhooks
