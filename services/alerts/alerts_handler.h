#pragma once

#include <atomic>

#include "peerwell/alerts/v1/alerts.grpc.pb.h"
#include "services/alerts/alerts_service.h"
#include "services/common/call.h"
#include "services/common/config.h"
#include "services/common/paging.h"

namespace peerwell::alerts {

// The gRPC face of alerts. Unary methods run on the bounded executor like every service's;
// each WatchAlerts stream has a thread and a Redis connection of its own (XREAD BLOCK on the
// organisation's alert feed), so that a slow watcher never holds up another.
class AlertsHandler final : public v1::AlertService::CallbackService {
 public:
  AlertsHandler(AlertService& service, UnaryCallRunner& runner, const Authenticator& auth,
                PageTokenCodec& tokens, RedisAddress redis, const Clock& clock)
      : service_(service),
        runner_(runner),
        authenticator_(auth),
        tokens_(tokens),
        redis_(std::move(redis)),
        clock_(clock) {}

  // Ends every open WatchAlerts stream (at shutdown).
  void StopWatches() { stopping_ = true; }

  grpc::ServerUnaryReactor* ListAlerts(grpc::CallbackServerContext* context,
                                       const v1::ListAlertsRequest* request,
                                       v1::ListAlertsResponse* response) override;
  grpc::ServerUnaryReactor* GetAlert(grpc::CallbackServerContext* context,
                                     const v1::GetAlertRequest* request,
                                     v1::GetAlertResponse* response) override;
  grpc::ServerUnaryReactor* AcknowledgeAlert(grpc::CallbackServerContext* context,
                                             const v1::AcknowledgeAlertRequest* request,
                                             v1::AcknowledgeAlertResponse* response) override;
  grpc::ServerUnaryReactor* ResolveAlert(grpc::CallbackServerContext* context,
                                         const v1::ResolveAlertRequest* request,
                                         v1::ResolveAlertResponse* response) override;
  grpc::ServerWriteReactor<v1::AlertEvent>* WatchAlerts(
      grpc::CallbackServerContext* context, const v1::WatchAlertsRequest* request) override;
  grpc::ServerUnaryReactor* GetRiskProfile(grpc::CallbackServerContext* context,
                                           const v1::GetRiskProfileRequest* request,
                                           v1::GetRiskProfileResponse* response) override;
  grpc::ServerUnaryReactor* CreateSilence(grpc::CallbackServerContext* context,
                                          const v1::CreateSilenceRequest* request,
                                          v1::CreateSilenceResponse* response) override;
  grpc::ServerUnaryReactor* ListSilences(grpc::CallbackServerContext* context,
                                         const v1::ListSilencesRequest* request,
                                         v1::ListSilencesResponse* response) override;
  grpc::ServerUnaryReactor* DeleteSilence(grpc::CallbackServerContext* context,
                                          const v1::DeleteSilenceRequest* request,
                                          v1::DeleteSilenceResponse* response) override;
  grpc::ServerUnaryReactor* GetAlertPolicy(grpc::CallbackServerContext* context,
                                           const v1::GetAlertPolicyRequest* request,
                                           v1::GetAlertPolicyResponse* response) override;
  grpc::ServerUnaryReactor* UpdateAlertPolicy(grpc::CallbackServerContext* context,
                                              const v1::UpdateAlertPolicyRequest* request,
                                              v1::UpdateAlertPolicyResponse* response) override;
  grpc::ServerUnaryReactor* ExportPersonRecords(
      grpc::CallbackServerContext* context, const privacy::v1::ExportPersonRecordsRequest* request,
      privacy::v1::ExportPersonRecordsResponse* response) override;

 private:
  AlertService& service_;
  UnaryCallRunner& runner_;
  const Authenticator& authenticator_;
  PageTokenCodec& tokens_;
  const RedisAddress redis_;
  const Clock& clock_;
  std::atomic<bool> stopping_{false};
};

}  // namespace peerwell::alerts
