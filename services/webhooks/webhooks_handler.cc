#include "services/webhooks/webhooks_handler.h"

#include "absl/strings/str_cat.h"
#include "services/common/validation.h"
#include "services/webhooks/webhooks_mapping.h"

namespace peerwell::webhooks {

using grpc::CallbackServerContext;
using grpc::ServerUnaryReactor;

ServerUnaryReactor* WebhooksHandler::CreateWebhook(CallbackServerContext* context,
                                                   const v1::CreateWebhookRequest* request,
                                                   v1::CreateWebhookResponse* response) {
  return runner_.Run(context, "CreateWebhook", [=, this](const Caller& caller) {
    auto created = service_.CreateWebhook(
        caller, request->url(), {request->event_types().begin(), request->event_types().end()});
    if (!created.ok()) return created.status();
    *response->mutable_webhook() = WebhookToProto(created->webhook);
    response->set_secret(created->secret);
    return absl::OkStatus();
  });
}

ServerUnaryReactor* WebhooksHandler::ListWebhooks(CallbackServerContext* context,
                                                  const v1::ListWebhooksRequest* request,
                                                  v1::ListWebhooksResponse* response) {
  return runner_.Run(context, "ListWebhooks", [=, this](const Caller& caller) {
    // A key holds at most kMaxWebhooksPerKey: one page always, whatever its size.
    if (auto size = NormalizePageSize("page_size", request->page_size()); !size.ok()) {
      return size.status();
    }
    auto webhooks = service_.ListWebhooks(caller);
    if (!webhooks.ok()) return webhooks.status();
    for (const Webhook& webhook : *webhooks) *response->add_webhooks() = WebhookToProto(webhook);
    return absl::OkStatus();
  });
}

ServerUnaryReactor* WebhooksHandler::DeleteWebhook(CallbackServerContext* context,
                                                   const v1::DeleteWebhookRequest* request,
                                                   v1::DeleteWebhookResponse* /*response*/) {
  return runner_.Run(context, "DeleteWebhook", [=, this](const Caller& caller) {
    return service_.DeleteWebhook(caller, request->webhook_id());
  });
}

ServerUnaryReactor* WebhooksHandler::ListWebhookDeliveries(
    CallbackServerContext* context, const v1::ListWebhookDeliveriesRequest* request,
    v1::ListWebhookDeliveriesResponse* response) {
  return runner_.Run(context, "ListWebhookDeliveries", [=, this](const Caller& caller) {
    auto size = NormalizePageSize("page_size", request->page_size());
    if (!size.ok()) return size.status();
    std::string query = absl::StrCat("deliveries/", caller.person_id, "/", request->webhook_id());
    auto position = tokens_.Decode(request->page_token(), caller.organization_id, query);
    if (!position.ok()) return position.status();
    auto page = service_.ListDeliveries(caller, request->webhook_id(), *position, *size);
    if (!page.ok()) return page.status();
    for (const DeliveryAttempt& attempt : page->attempts) {
      *response->add_deliveries() = DeliveryAttemptToProto(attempt);
    }
    if (!page->next_position.empty()) {
      response->set_next_page_token(
          tokens_.Encode(caller.organization_id, query, page->next_position));
    }
    return absl::OkStatus();
  });
}

}  // namespace peerwell::webhooks
