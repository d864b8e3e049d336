#pragma once

#include "peerwell/checkin/v1/checkin.grpc.pb.h"
#include "services/checkin/checkin_service.h"
#include "services/common/call.h"
#include "services/common/paging.h"

namespace peerwell::checkin {

// The gRPC face of check-ins: map the request, call one domain method, map the result.
class CheckinHandler final : public v1::CheckinService::CallbackService {
 public:
  CheckinHandler(CheckinService& service, UnaryCallRunner& runner, PageTokenCodec& pages)
      : service_(service), runner_(runner), pages_(pages) {}

  grpc::ServerUnaryReactor* ListInstruments(grpc::CallbackServerContext* context,
                                            const v1::ListInstrumentsRequest* request,
                                            v1::ListInstrumentsResponse* response) override;
  grpc::ServerUnaryReactor* SubmitCheckin(grpc::CallbackServerContext* context,
                                          const v1::SubmitCheckinRequest* request,
                                          v1::SubmitCheckinResponse* response) override;
  grpc::ServerUnaryReactor* ReportCriticalIncident(
      grpc::CallbackServerContext* context, const v1::ReportCriticalIncidentRequest* request,
      v1::ReportCriticalIncidentResponse* response) override;
  grpc::ServerUnaryReactor* RequestSupport(grpc::CallbackServerContext* context,
                                           const v1::RequestSupportRequest* request,
                                           v1::RequestSupportResponse* response) override;
  grpc::ServerUnaryReactor* ListCheckins(grpc::CallbackServerContext* context,
                                         const v1::ListCheckinsRequest* request,
                                         v1::ListCheckinsResponse* response) override;
  grpc::ServerUnaryReactor* GetTrend(grpc::CallbackServerContext* context,
                                     const v1::GetTrendRequest* request,
                                     v1::GetTrendResponse* response) override;
  grpc::ServerUnaryReactor* ListDueCheckins(grpc::CallbackServerContext* context,
                                            const v1::ListDueCheckinsRequest* request,
                                            v1::ListDueCheckinsResponse* response) override;
  grpc::ServerUnaryReactor* GetCheckinSettings(grpc::CallbackServerContext* context,
                                               const v1::GetCheckinSettingsRequest* request,
                                               v1::GetCheckinSettingsResponse* response) override;
  grpc::ServerUnaryReactor* UpdateCheckinSettings(
      grpc::CallbackServerContext* context, const v1::UpdateCheckinSettingsRequest* request,
      v1::UpdateCheckinSettingsResponse* response) override;
  grpc::ServerUnaryReactor* GetAggregates(grpc::CallbackServerContext* context,
                                          const v1::GetAggregatesRequest* request,
                                          v1::GetAggregatesResponse* response) override;
  grpc::ServerUnaryReactor* ExportCheckins(grpc::CallbackServerContext* context,
                                           const v1::ExportCheckinsRequest* request,
                                           v1::ExportCheckinsResponse* response) override;
  grpc::ServerUnaryReactor* ExportPersonRecords(
      grpc::CallbackServerContext* context, const privacy::v1::ExportPersonRecordsRequest* request,
      privacy::v1::ExportPersonRecordsResponse* response) override;

 private:
  CheckinService& service_;
  UnaryCallRunner& runner_;
  PageTokenCodec& pages_;
};

}  // namespace peerwell::checkin
