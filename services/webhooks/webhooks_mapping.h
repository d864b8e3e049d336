#pragma once

#include "absl/status/statusor.h"
#include "peerwell/gateway/v1/webhooks.pb.h"
#include "services/common/directory_client.h"
#include "services/common/events.h"
#include "services/webhooks/webhooks.h"

namespace peerwell::webhooks {

namespace v1 = ::peerwell::gateway::v1;

v1::Webhook WebhookToProto(const Webhook& webhook);
v1::WebhookDelivery DeliveryAttemptToProto(const DeliveryAttempt& attempt);

// An entry of pw:events:alerts as the domain sees it; INVALID_ARGUMENT for an entry without the
// fields every alert event has (it goes to the dead-letter stream).
absl::StatusOr<AlertEvent> AlertEventFromEntry(const StreamEntry& entry);

// Payloads as v1::WebhookEvent in protobuf's JSON mapping.
class JsonPayloadEncoder final : public PayloadEncoder {
 public:
  std::string Encode(const AlertEvent& event,
                     const std::string& volunteer_pseudonym) const override;
};

// The research_export consent, over the cached directory client.
class DirectoryPartnerConsent final : public PartnerConsent {
 public:
  explicit DirectoryPartnerConsent(DirectoryClient& directory) : directory_(directory) {}
  absl::StatusOr<bool> SharesWithPartners(const std::string& organization_id,
                                          const std::string& volunteer_id) override;

 private:
  DirectoryClient& directory_;
};

}  // namespace peerwell::webhooks
