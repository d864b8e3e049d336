#include "services/webhooks/webhooks_mapping.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "services/common/proto_time.h"

namespace peerwell::webhooks {

v1::Webhook WebhookToProto(const Webhook& webhook) {
  v1::Webhook proto;
  proto.set_webhook_id(webhook.id);
  proto.set_url(webhook.url);
  for (const std::string& type : webhook.event_types) proto.add_event_types(type);
  SetKnownTime(webhook.create_time, [&] { return proto.mutable_create_time(); });
  return proto;
}

v1::WebhookDelivery DeliveryAttemptToProto(const DeliveryAttempt& attempt) {
  v1::WebhookDelivery proto;
  proto.set_event_id(attempt.event_id);
  proto.set_attempt(attempt.attempt);
  SetKnownTime(attempt.attempt_time, [&] { return proto.mutable_attempt_time(); });
  proto.set_http_status(attempt.http_status);
  *proto.mutable_duration() = DurationToProto(attempt.duration);
  if (attempt.next_attempt_time.has_value()) {
    *proto.mutable_next_attempt_time() = TimestampToProto(*attempt.next_attempt_time);
  }
  proto.set_event_type(attempt.event_type);
  proto.set_error(attempt.error);
  return proto;
}

absl::StatusOr<AlertEvent> AlertEventFromEntry(const StreamEntry& entry) {
  AlertEvent event;
  event.event_id = absl::StrCat("evt_", entry.id);
  event.type = entry.Get("type");
  event.organization_id = entry.Get("organization_id");
  event.alert_id = entry.Get("alert_id");
  event.volunteer_id = entry.Get("volunteer_id");
  if (event.organization_id.empty() || event.alert_id.empty() || event.volunteer_id.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("event ", entry.id, ": an alert event names its organisation, alert and "
                                         "volunteer"));
  }
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, entry.Get("occur_time"), &event.occur_time, &error)) {
    return absl::InvalidArgumentError(absl::StrCat("event ", entry.id, ": bad occur_time"));
  }
  event.rule_id = entry.Get("rule_id");
  // Absent numbers stay 0 (each event type carries only some of them).
  (void)absl::SimpleAtoi(entry.Get("priority"), &event.priority);
  (void)absl::SimpleAtoi(entry.Get("occurrence_count"), &event.occurrence_count);
  (void)absl::SimpleAtoi(entry.Get("escalation_level"), &event.escalation_level);
  (void)absl::SimpleAtoi(entry.Get("outcome"), &event.outcome);
  return event;
}

std::string JsonPayloadEncoder::Encode(const AlertEvent& event,
                                       const std::string& volunteer_pseudonym) const {
  v1::WebhookEvent proto;
  proto.set_event_id(event.event_id);
  proto.set_event_type(event.type);
  SetKnownTime(event.occur_time, [&] { return proto.mutable_occur_time(); });
  v1::AlertEventData& alert = *proto.mutable_alert();
  alert.set_alert_id(event.alert_id);
  alert.set_volunteer_pseudonym(volunteer_pseudonym);
  alert.set_rule_id(event.rule_id);
  if (alerts::v1::Priority_IsValid(event.priority)) {
    alert.set_priority(static_cast<alerts::v1::Priority>(event.priority));
  }
  alert.set_occurrence_count(event.occurrence_count);
  alert.set_escalation_level(event.escalation_level);
  if (alerts::v1::Outcome_IsValid(event.outcome)) {
    alert.set_outcome(static_cast<alerts::v1::Outcome>(event.outcome));
  }
  std::string json;
  // Printing a message of this schema cannot fail.
  (void)google::protobuf::util::MessageToJsonString(proto, &json);
  return json;
}

absl::StatusOr<bool> DirectoryPartnerConsent::SharesWithPartners(
    const std::string& organization_id, const std::string& volunteer_id) {
  auto consent = directory_.GetConsent(organization_id, volunteer_id);
  // A person the directory no longer has shares nothing.
  if (consent.status().code() == absl::StatusCode::kNotFound) return false;
  if (!consent.ok()) return consent.status();
  return consent->research_export();
}

}  // namespace peerwell::webhooks
