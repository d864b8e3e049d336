#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/webhooks/webhooks.h"

namespace peerwell::webhooks {

struct DeliveryLogPage {
  std::vector<DeliveryAttempt> attempts;  // newest first
  std::string next_position;              // empty on the last page
};

struct QueuedDeliveryPage {
  std::vector<Delivery> deliveries;  // each with its body
  std::string next_position;         // empty on the last page
};

// Where webhooks, their queued deliveries and their delivery logs live.
class WebhookStore {
 public:
  virtual ~WebhookStore() = default;

  // False (nothing stored) when the owner already has `limit` webhooks.
  virtual absl::StatusOr<bool> AddWebhook(const Webhook& webhook, int limit) = 0;
  virtual absl::StatusOr<std::optional<Webhook>> GetWebhook(const std::string& organization_id,
                                                            const std::string& webhook_id) = 0;
  // The webhooks of one key, oldest first.
  virtual absl::StatusOr<std::vector<Webhook>> ListWebhooks(const std::string& organization_id,
                                                            const std::string& owner_key_id) = 0;
  // Every webhook of each organisation, for queuing events: all in two round trips (one when
  // none has any), however many organisations.
  virtual absl::StatusOr<std::vector<std::vector<Webhook>>> OrganizationsWebhooks(
      const std::vector<std::string>& organization_ids) = 0;
  // Removes the webhook and its delivery log; its queued deliveries are dropped when due. False
  // when it was not there.
  virtual absl::StatusOr<bool> RemoveWebhook(const Webhook& webhook) = 0;

  // Queues `delivery` to be attempted at `due`, once per (webhook, event) however often it is
  // queued (an event read again after a crash). False when it was queued before.
  virtual absl::StatusOr<bool> Enqueue(const Delivery& delivery, absl::Time due) = 0;
  // Takes up to `limit` deliveries due at `now` for one attempt each: they count the attempt
  // and are hidden from other claims until `lease_until`, when a claimer that died without
  // finishing hands them on.
  virtual absl::StatusOr<std::vector<Delivery>> ClaimDue(absl::Time now, absl::Time lease_until,
                                                         int limit) = 0;
  // Logs the attempt and queues the next one at `attempt.next_attempt_time`, or ends the
  // delivery when there is none. Only the last claimer of a delivery moves it on; an attempt
  // that finished after its lease ran out is logged and changes nothing else.
  virtual absl::Status FinishAttempt(const Delivery& delivery, const DeliveryAttempt& attempt) = 0;
  // The organisation's deliveries still to be attempted (not delivered or given up), a page at
  // a time from `position` (empty: the first page). A delivery may come on more than one page,
  // and one queued meanwhile on none.
  virtual absl::StatusOr<QueuedDeliveryPage> QueuedDeliveries(const std::string& organization_id,
                                                              const std::string& position) = 0;
  // Drops the deliveries unsent, each with its place in the schedule; one that was delivered or
  // given up meanwhile (it keeps no body) stays, as does the webhook's log of earlier attempts.
  virtual absl::Status DropDeliveries(const std::vector<Delivery>& deliveries) = 0;

  // The webhook's attempts, newest first, from `position` (empty: the newest).
  virtual absl::StatusOr<DeliveryLogPage> ListDeliveries(const std::string& organization_id,
                                                         const std::string& webhook_id,
                                                         const std::string& position,
                                                         int limit) = 0;
};

}  // namespace peerwell::webhooks
