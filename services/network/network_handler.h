#pragma once

#include "peerwell/network/v1/network.grpc.pb.h"
#include "services/common/call.h"
#include "services/common/paging.h"
#include "services/network/live_delivery.h"
#include "services/network/network_service.h"

namespace peerwell::network {

// The gRPC face of the peer network. Unary methods run on the bounded executor like every
// service's; Subscribe streams are fed by the replica's LiveHub and catch up on the executor, so
// a slow subscriber holds no thread.
class NetworkHandler final : public v1::PeerNetworkService::CallbackService {
 public:
  NetworkHandler(NetworkService& service, UnaryCallRunner& runner, PageTokenCodec& pages,
                 LiveHub& hub, BoundedExecutor& executor, const Authenticator& authenticator,
                 const Clock& clock, Subscription::Options subscription_options = {})
      : service_(service),
        runner_(runner),
        pages_(pages),
        hub_(hub),
        executor_(executor),
        authenticator_(authenticator),
        clock_(clock),
        subscription_options_(subscription_options) {}

  grpc::ServerUnaryReactor* CreateChannel(grpc::CallbackServerContext* context,
                                          const v1::CreateChannelRequest* request,
                                          v1::CreateChannelResponse* response) override;
  grpc::ServerUnaryReactor* GetChannel(grpc::CallbackServerContext* context,
                                       const v1::GetChannelRequest* request,
                                       v1::GetChannelResponse* response) override;
  grpc::ServerUnaryReactor* ListChannels(grpc::CallbackServerContext* context,
                                         const v1::ListChannelsRequest* request,
                                         v1::ListChannelsResponse* response) override;
  grpc::ServerUnaryReactor* JoinChannel(grpc::CallbackServerContext* context,
                                        const v1::JoinChannelRequest* request,
                                        v1::JoinChannelResponse* response) override;
  grpc::ServerUnaryReactor* LeaveChannel(grpc::CallbackServerContext* context,
                                         const v1::LeaveChannelRequest* request,
                                         v1::LeaveChannelResponse* response) override;
  grpc::ServerUnaryReactor* PostMessage(grpc::CallbackServerContext* context,
                                        const v1::PostMessageRequest* request,
                                        v1::PostMessageResponse* response) override;
  grpc::ServerUnaryReactor* ListMessages(grpc::CallbackServerContext* context,
                                         const v1::ListMessagesRequest* request,
                                         v1::ListMessagesResponse* response) override;
  grpc::ServerWriteReactor<v1::NetworkEvent>* Subscribe(
      grpc::CallbackServerContext* context, const v1::SubscribeRequest* request) override;
  grpc::ServerUnaryReactor* MarkRead(grpc::CallbackServerContext* context,
                                     const v1::MarkReadRequest* request,
                                     v1::MarkReadResponse* response) override;
  grpc::ServerUnaryReactor* ListReadMarkers(grpc::CallbackServerContext* context,
                                            const v1::ListReadMarkersRequest* request,
                                            v1::ListReadMarkersResponse* response) override;
  grpc::ServerUnaryReactor* GetNetworkSettings(grpc::CallbackServerContext* context,
                                               const v1::GetNetworkSettingsRequest* request,
                                               v1::GetNetworkSettingsResponse* response) override;
  grpc::ServerUnaryReactor* UpdateNetworkSettings(
      grpc::CallbackServerContext* context, const v1::UpdateNetworkSettingsRequest* request,
      v1::UpdateNetworkSettingsResponse* response) override;
  grpc::ServerUnaryReactor* DeleteMessage(grpc::CallbackServerContext* context,
                                          const v1::DeleteMessageRequest* request,
                                          v1::DeleteMessageResponse* response) override;
  grpc::ServerUnaryReactor* ReportMessage(grpc::CallbackServerContext* context,
                                          const v1::ReportMessageRequest* request,
                                          v1::ReportMessageResponse* response) override;
  grpc::ServerUnaryReactor* ListReports(grpc::CallbackServerContext* context,
                                        const v1::ListReportsRequest* request,
                                        v1::ListReportsResponse* response) override;
  grpc::ServerUnaryReactor* ResolveReport(grpc::CallbackServerContext* context,
                                          const v1::ResolveReportRequest* request,
                                          v1::ResolveReportResponse* response) override;
  grpc::ServerUnaryReactor* ExportPersonRecords(
      grpc::CallbackServerContext* context, const privacy::v1::ExportPersonRecordsRequest* request,
      privacy::v1::ExportPersonRecordsResponse* response) override;

 private:
  NetworkService& service_;
  UnaryCallRunner& runner_;
  PageTokenCodec& pages_;
  LiveHub& hub_;
  BoundedExecutor& executor_;
  const Authenticator& authenticator_;
  const Clock& clock_;
  const Subscription::Options subscription_options_;
};

}  // namespace peerwell::network
