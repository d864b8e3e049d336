#pragma once

#include <vector>

#include "services/common/organization_registry.h"
#include "services/common/person_records.h"
#include "services/common/redis_client.h"
#include "services/webhooks/webhooks_store.h"

namespace peerwell::webhooks {

// The webhook store on Redis: the only code that knows the key layout (docs/ARCHITECTURE.md).
// Queued deliveries share one schedule across organisations (a sorted set of delivery keys by
// due time); claiming pushes a delivery's time forward by a lease in the same script, so two
// replicas never take one attempt and a replica that dies hands it on when the lease ends.
class RedisWebhookStore final : public WebhookStore {
 public:
  explicit RedisWebhookStore(RedisClient& redis);

  // The keys that can hold something about a person (docs/PRIVACY.md). None is in a person's
  // export: the service keeps no person's id, only pseudonyms in what it sends partners.
  static const std::vector<PersonKeyFamily>& PersonKeyFamilies();

  absl::StatusOr<bool> AddWebhook(const Webhook& webhook, int limit) override;
  absl::StatusOr<std::optional<Webhook>> GetWebhook(const std::string& organization_id,
                                                    const std::string& webhook_id) override;
  absl::StatusOr<std::vector<Webhook>> ListWebhooks(const std::string& organization_id,
                                                    const std::string& owner_key_id) override;
  absl::StatusOr<std::vector<std::vector<Webhook>>> OrganizationsWebhooks(
      const std::vector<std::string>& organization_ids) override;
  absl::StatusOr<bool> RemoveWebhook(const Webhook& webhook) override;
  absl::StatusOr<bool> Enqueue(const Delivery& delivery, absl::Time due) override;
  absl::StatusOr<std::vector<Delivery>> ClaimDue(absl::Time now, absl::Time lease_until,
                                                 int limit) override;
  absl::Status FinishAttempt(const Delivery& delivery, const DeliveryAttempt& attempt) override;
  absl::StatusOr<QueuedDeliveryPage> QueuedDeliveries(const std::string& organization_id,
                                                      const std::string& position) override;
  absl::Status DropDeliveries(const std::vector<Delivery>& deliveries) override;
  absl::StatusOr<DeliveryLogPage> ListDeliveries(const std::string& organization_id,
                                                 const std::string& webhook_id,
                                                 const std::string& position, int limit) override;

 private:
  // The webhooks each index lists, oldest first, by (organisation, index key): the indexes in
  // one round trip, the webhooks they name in one more.
  absl::StatusOr<std::vector<std::vector<Webhook>>> LoadWebhooks(
      const std::vector<std::pair<std::string, std::string>>& indexes);

  RedisClient& redis_;
  // The organisations with deliveries queued, for the delivery threads' claims.
  ScheduleView due_;
};

}  // namespace peerwell::webhooks
