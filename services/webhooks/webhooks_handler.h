#pragma once

#include "peerwell/gateway/v1/webhooks.grpc.pb.h"
#include "services/common/call.h"
#include "services/common/paging.h"
#include "services/webhooks/webhooks_service.h"

namespace peerwell::webhooks {

// The gRPC face of webhooks; every method runs on the bounded executor like every service's.
class WebhooksHandler final : public gateway::v1::WebhookService::CallbackService {
 public:
  WebhooksHandler(WebhookService& service, UnaryCallRunner& runner, PageTokenCodec& tokens)
      : service_(service), runner_(runner), tokens_(tokens) {}

  grpc::ServerUnaryReactor* CreateWebhook(grpc::CallbackServerContext* context,
                                          const gateway::v1::CreateWebhookRequest* request,
                                          gateway::v1::CreateWebhookResponse* response) override;
  grpc::ServerUnaryReactor* ListWebhooks(grpc::CallbackServerContext* context,
                                         const gateway::v1::ListWebhooksRequest* request,
                                         gateway::v1::ListWebhooksResponse* response) override;
  grpc::ServerUnaryReactor* DeleteWebhook(grpc::CallbackServerContext* context,
                                          const gateway::v1::DeleteWebhookRequest* request,
                                          gateway::v1::DeleteWebhookResponse* response) override;
  grpc::ServerUnaryReactor* ListWebhookDeliveries(
      grpc::CallbackServerContext* context,
      const gateway::v1::ListWebhookDeliveriesRequest* request,
      gateway::v1::ListWebhookDeliveriesResponse* response) override;

 private:
  WebhookService& service_;
  UnaryCallRunner& runner_;
  PageTokenCodec& tokens_;
};

}  // namespace peerwell::webhooks
