#pragma once

#include "peerwell/supervision/v1/supervision.grpc.pb.h"
#include "services/common/call.h"
#include "services/common/paging.h"
#include "services/supervision/supervision_service.h"

namespace peerwell::supervision {

// The gRPC face of supervision: map the request, call one domain method, map the result.
class SupervisionHandler final : public v1::SupervisionService::CallbackService {
 public:
  SupervisionHandler(SupervisionService& service, UnaryCallRunner& runner, PageTokenCodec& pages)
      : service_(service), runner_(runner), pages_(pages) {}

  grpc::ServerUnaryReactor* SetAvailability(grpc::CallbackServerContext* context,
                                            const v1::SetAvailabilityRequest* request,
                                            v1::SetAvailabilityResponse* response) override;
  grpc::ServerUnaryReactor* GetAvailability(grpc::CallbackServerContext* context,
                                            const v1::GetAvailabilityRequest* request,
                                            v1::GetAvailabilityResponse* response) override;
  grpc::ServerUnaryReactor* CreateSession(grpc::CallbackServerContext* context,
                                          const v1::CreateSessionRequest* request,
                                          v1::CreateSessionResponse* response) override;
  grpc::ServerUnaryReactor* GetSession(grpc::CallbackServerContext* context,
                                       const v1::GetSessionRequest* request,
                                       v1::GetSessionResponse* response) override;
  grpc::ServerUnaryReactor* ListSessions(grpc::CallbackServerContext* context,
                                         const v1::ListSessionsRequest* request,
                                         v1::ListSessionsResponse* response) override;
  grpc::ServerUnaryReactor* ProposeSlots(grpc::CallbackServerContext* context,
                                         const v1::ProposeSlotsRequest* request,
                                         v1::ProposeSlotsResponse* response) override;
  grpc::ServerUnaryReactor* JoinSession(grpc::CallbackServerContext* context,
                                        const v1::JoinSessionRequest* request,
                                        v1::JoinSessionResponse* response) override;
  grpc::ServerUnaryReactor* LeaveSession(grpc::CallbackServerContext* context,
                                         const v1::LeaveSessionRequest* request,
                                         v1::LeaveSessionResponse* response) override;
  grpc::ServerUnaryReactor* CancelSession(grpc::CallbackServerContext* context,
                                          const v1::CancelSessionRequest* request,
                                          v1::CancelSessionResponse* response) override;
  grpc::ServerUnaryReactor* RescheduleSession(grpc::CallbackServerContext* context,
                                              const v1::RescheduleSessionRequest* request,
                                              v1::RescheduleSessionResponse* response) override;
  grpc::ServerUnaryReactor* RecordAttendance(grpc::CallbackServerContext* context,
                                             const v1::RecordAttendanceRequest* request,
                                             v1::RecordAttendanceResponse* response) override;
  grpc::ServerUnaryReactor* RespondToOffer(grpc::CallbackServerContext* context,
                                           const v1::RespondToOfferRequest* request,
                                           v1::RespondToOfferResponse* response) override;
  grpc::ServerUnaryReactor* GetSupervisionPolicy(
      grpc::CallbackServerContext* context, const v1::GetSupervisionPolicyRequest* request,
      v1::GetSupervisionPolicyResponse* response) override;
  grpc::ServerUnaryReactor* UpdateSupervisionPolicy(
      grpc::CallbackServerContext* context, const v1::UpdateSupervisionPolicyRequest* request,
      v1::UpdateSupervisionPolicyResponse* response) override;
  grpc::ServerUnaryReactor* ListOverdue(grpc::CallbackServerContext* context,
                                        const v1::ListOverdueRequest* request,
                                        v1::ListOverdueResponse* response) override;
  grpc::ServerUnaryReactor* ExportCalendar(grpc::CallbackServerContext* context,
                                           const v1::ExportCalendarRequest* request,
                                           v1::ExportCalendarResponse* response) override;
  grpc::ServerUnaryReactor* CreateCalendarFeed(grpc::CallbackServerContext* context,
                                               const v1::CreateCalendarFeedRequest* request,
                                               v1::CreateCalendarFeedResponse* response) override;
  grpc::ServerUnaryReactor* ListCalendarFeeds(grpc::CallbackServerContext* context,
                                              const v1::ListCalendarFeedsRequest* request,
                                              v1::ListCalendarFeedsResponse* response) override;
  grpc::ServerUnaryReactor* RevokeCalendarFeed(grpc::CallbackServerContext* context,
                                               const v1::RevokeCalendarFeedRequest* request,
                                               v1::RevokeCalendarFeedResponse* response) override;
  // Needs no credentials: the token in the request is the capability.
  grpc::ServerUnaryReactor* GetCalendarFeed(grpc::CallbackServerContext* context,
                                            const v1::GetCalendarFeedRequest* request,
                                            v1::GetCalendarFeedResponse* response) override;
  grpc::ServerUnaryReactor* ExportPersonRecords(
      grpc::CallbackServerContext* context, const privacy::v1::ExportPersonRecordsRequest* request,
      privacy::v1::ExportPersonRecordsResponse* response) override;

 private:
  SupervisionService& service_;
  UnaryCallRunner& runner_;
  PageTokenCodec& pages_;
};

}  // namespace peerwell::supervision
