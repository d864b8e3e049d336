#include "services/supervision/supervision_handler.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/common/validation.h"
#include "services/supervision/supervision_mapping.h"

namespace peerwell::supervision {

using grpc::CallbackServerContext;
using grpc::ServerUnaryReactor;

ServerUnaryReactor* SupervisionHandler::SetAvailability(CallbackServerContext* context,
                                                        const v1::SetAvailabilityRequest* request,
                                                        v1::SetAvailabilityResponse* response) {
  return runner_.Run(context, "SetAvailability", [=, this](const Caller& caller) {
    auto availability = AvailabilityFromProto(request->availability());
    if (!availability.ok()) return availability.status();
    auto set = service_.SetAvailability(caller, request->supervisor_id(), *std::move(availability));
    if (!set.ok()) return set.status();
    *response->mutable_availability() = AvailabilityToProto(*set);
    return absl::OkStatus();
  });
}

ServerUnaryReactor* SupervisionHandler::GetAvailability(CallbackServerContext* context,
                                                        const v1::GetAvailabilityRequest* request,
                                                        v1::GetAvailabilityResponse* response) {
  return runner_.Run(context, "GetAvailability", [=, this](const Caller& caller) {
    auto availability = service_.GetAvailability(caller, request->supervisor_id());
    if (!availability.ok()) return availability.status();
    *response->mutable_availability() = AvailabilityToProto(*availability);
    return absl::OkStatus();
  });
}

ServerUnaryReactor* SupervisionHandler::CreateSession(CallbackServerContext* context,
                                                      const v1::CreateSessionRequest* request,
                                                      v1::CreateSessionResponse* response) {
  return runner_.Run(context, "CreateSession", [=, this](const Caller& caller) {
    auto session = SessionFromProto(request->session());
    if (!session.ok()) return session.status();
    auto created = service_.CreateSession(caller, *std::move(session), request->request_id());
    if (!created.ok()) return created.status();
    *response->mutable_session() = SessionToProto(*created);
    return absl::OkStatus();
  });
}

ServerUnaryReactor* SupervisionHandler::GetSession(CallbackServerContext* context,
                                                   const v1::GetSessionRequest* request,
                                                   v1::GetSessionResponse* response) {
  return runner_.Run(context, "GetSession", [=, this](const Caller& caller) {
    auto session = service_.GetSession(caller, request->session_id());
    if (!session.ok()) return session.status();
    *response->mutable_session() = SessionToProto(*session);
    return absl::OkStatus();
  });
}

ServerUnaryReactor* SupervisionHandler::ListSessions(CallbackServerContext* context,
                                                     const v1::ListSessionsRequest* request,
                                                     v1::ListSessionsResponse* response) {
  return runner_.Run(context, "ListSessions", [=, this](const Caller& caller) {
    auto query = SessionQueryFromProto(*request);
    if (!query.ok()) return query.status();
    // Filters and the caller are part of the listing, so a token never serves another query.
    std::string listing = absl::StrCat(
        "sessions/", caller.person_id, "/", request->person_id(), "/",
        request->start_time().seconds(), "/", request->end_time().seconds(), "/",
        absl::StrJoin(request->kinds(), ","), "/", absl::StrJoin(request->states(), ","), "/",
        request->open_to_join());
    auto position = pages_.Decode(request->page_token(), caller.organization_id, listing);
    if (!position.ok()) return position.status();
    query->position = *position;
    auto page = service_.ListSessions(caller, request->person_id(), *query);
    if (!page.ok()) return page.status();
    for (const Session& session : page->items) *response->add_sessions() = SessionToProto(session);
    if (!page->next_position.empty()) {
      response->set_next_page_token(
          pages_.Encode(caller.organization_id, listing, page->next_position));
    }
    return absl::OkStatus();
  });
}

ServerUnaryReactor* SupervisionHandler::ProposeSlots(CallbackServerContext* context,
                                                     const v1::ProposeSlotsRequest* request,
                                                     v1::ProposeSlotsResponse* response) {
  return runner_.Run(context, "ProposeSlots", [=, this](const Caller& caller) {
    auto kind = SessionKindFromProto(request->kind(), "kind");
    if (!kind.ok()) return kind.status();
    auto duration = DurationFromProto(request->has_duration(), request->duration(), "duration");
    if (!duration.ok()) return duration.status();
    if (!duration->has_value()) return InvalidField("duration", "is required");
    auto start = RequiredTime(request->has_window_start_time(), request->window_start_time(),
                              "window_start_time");
    if (!start.ok()) return start.status();
    auto end =
        RequiredTime(request->has_window_end_time(), request->window_end_time(), "window_end_time");
    if (!end.ok()) return end.status();
    auto slots = service_.ProposeSlots(
        caller, {request->volunteer_id(), *kind, **duration, *start, *end, request->max_results()});
    if (!slots.ok()) return slots.status();
    for (const Slot& slot : *slots) *response->add_slots() = SlotToProto(slot);
    return absl::OkStatus();
  });
}

ServerUnaryReactor* SupervisionHandler::JoinSession(CallbackServerContext* context,
                                                    const v1::JoinSessionRequest* request,
                                                    v1::JoinSessionResponse* response) {
  return runner_.Run(context, "JoinSession", [=, this](const Caller& caller) {
    auto session = service_.JoinSession(caller, request->session_id(), request->person_id());
    if (!session.ok()) return session.status();
    *response->mutable_session() = SessionToProto(*session);
    return absl::OkStatus();
  });
}

ServerUnaryReactor* SupervisionHandler::LeaveSession(CallbackServerContext* context,
                                                     const v1::LeaveSessionRequest* request,
                                                     v1::LeaveSessionResponse* response) {
  return runner_.Run(context, "LeaveSession", [=, this](const Caller& caller) {
    auto session = service_.LeaveSession(caller, request->session_id(), request->person_id());
    if (!session.ok()) return session.status();
    *response->mutable_session() = SessionToProto(*session);
    return absl::OkStatus();
  });
}

ServerUnaryReactor* SupervisionHandler::CancelSession(CallbackServerContext* context,
                                                      const v1::CancelSessionRequest* request,
                                                      v1::CancelSessionResponse* response) {
  return runner_.Run(context, "CancelSession", [=, this](const Caller& caller) {
    auto session = service_.CancelSession(caller, request->session_id(), request->reason(),
                                          SeriesScopeFromProto(request->scope()));
    if (!session.ok()) return session.status();
    *response->mutable_session() = SessionToProto(*session);
    return absl::OkStatus();
  });
}

ServerUnaryReactor* SupervisionHandler::RescheduleSession(
    CallbackServerContext* context, const v1::RescheduleSessionRequest* request,
    v1::RescheduleSessionResponse* response) {
  return runner_.Run(context, "RescheduleSession", [=, this](const Caller& caller) {
    auto start = RequiredTime(request->has_start_time(), request->start_time(), "start_time");
    if (!start.ok()) return start.status();
    auto duration = DurationFromProto(request->has_duration(), request->duration(), "duration");
    if (!duration.ok()) return duration.status();
    auto session = service_.RescheduleSession(caller, request->session_id(), *start, *duration,
                                              SeriesScopeFromProto(request->scope()));
    if (!session.ok()) return session.status();
    *response->mutable_session() = SessionToProto(*session);
    return absl::OkStatus();
  });
}

ServerUnaryReactor* SupervisionHandler::RecordAttendance(CallbackServerContext* context,
                                                         const v1::RecordAttendanceRequest* request,
                                                         v1::RecordAttendanceResponse* response) {
  return runner_.Run(context, "RecordAttendance", [=, this](const Caller& caller) {
    auto attendance = AttendanceFromProto(request->attendance());
    if (!attendance.ok()) return attendance.status();
    auto session = service_.RecordAttendance(caller, request->session_id(), *attendance);
    if (!session.ok()) return session.status();
    *response->mutable_session() = SessionToProto(*session);
    return absl::OkStatus();
  });
}

ServerUnaryReactor* SupervisionHandler::RespondToOffer(CallbackServerContext* context,
                                                       const v1::RespondToOfferRequest* request,
                                                       v1::RespondToOfferResponse* response) {
  return runner_.Run(context, "RespondToOffer", [=, this](const Caller& caller) {
    auto session = service_.RespondToOffer(caller, request->session_id(), request->accept());
    if (!session.ok()) return session.status();
    *response->mutable_session() = SessionToProto(*session);
    return absl::OkStatus();
  });
}

ServerUnaryReactor* SupervisionHandler::GetSupervisionPolicy(
    CallbackServerContext* context, const v1::GetSupervisionPolicyRequest*,
    v1::GetSupervisionPolicyResponse* response) {
  return runner_.Run(context, "GetSupervisionPolicy", [=, this](const Caller& caller) {
    auto policy = service_.GetPolicy(caller);
    if (!policy.ok()) return policy.status();
    *response->mutable_policy() = PolicyToProto(*policy);
    return absl::OkStatus();
  });
}

ServerUnaryReactor* SupervisionHandler::UpdateSupervisionPolicy(
    CallbackServerContext* context, const v1::UpdateSupervisionPolicyRequest* request,
    v1::UpdateSupervisionPolicyResponse* response) {
  return runner_.Run(context, "UpdateSupervisionPolicy", [=, this](const Caller& caller) {
    auto update = PolicyUpdateFromProto(request->policy(), request->update_mask());
    if (!update.ok()) return update.status();
    auto policy = service_.UpdatePolicy(caller, *update);
    if (!policy.ok()) return policy.status();
    *response->mutable_policy() = PolicyToProto(*policy);
    return absl::OkStatus();
  });
}

ServerUnaryReactor* SupervisionHandler::ListOverdue(CallbackServerContext* context,
                                                    const v1::ListOverdueRequest* request,
                                                    v1::ListOverdueResponse* response) {
  return runner_.Run(context, "ListOverdue", [=, this](const Caller& caller) {
    auto size = NormalizePageSize("page_size", request->page_size());
    if (!size.ok()) return size.status();
    std::string listing = absl::StrCat("overdue/", caller.person_id);
    auto position = pages_.Decode(request->page_token(), caller.organization_id, listing);
    if (!position.ok()) return position.status();
    auto page = service_.ListOverdue(caller, *size, *position);
    if (!page.ok()) return page.status();
    for (const OverdueVolunteer& entry : page->items) {
      *response->add_overdue() = OverdueToProto(entry);
    }
    if (!page->next_position.empty()) {
      response->set_next_page_token(
          pages_.Encode(caller.organization_id, listing, page->next_position));
    }
    return absl::OkStatus();
  });
}

ServerUnaryReactor* SupervisionHandler::ExportCalendar(CallbackServerContext* context,
                                                       const v1::ExportCalendarRequest* request,
                                                       v1::ExportCalendarResponse* response) {
  return runner_.Run(context, "ExportCalendar", [=, this](const Caller& caller) {
    auto ics = service_.ExportCalendar(caller, request->person_id());
    if (!ics.ok()) return ics.status();
    response->set_ics(*std::move(ics));
    return absl::OkStatus();
  });
}

ServerUnaryReactor* SupervisionHandler::CreateCalendarFeed(
    CallbackServerContext* context, const v1::CreateCalendarFeedRequest* request,
    v1::CreateCalendarFeedResponse* response) {
  return runner_.Run(context, "CreateCalendarFeed", [=, this](const Caller& caller) {
    auto created = service_.CreateCalendarFeed(caller, request->person_id());
    if (!created.ok()) return created.status();
    *response->mutable_feed() = CalendarFeedToProto(created->feed, created->token);
    return absl::OkStatus();
  });
}

ServerUnaryReactor* SupervisionHandler::ListCalendarFeeds(
    CallbackServerContext* context, const v1::ListCalendarFeedsRequest* request,
    v1::ListCalendarFeedsResponse* response) {
  return runner_.Run(context, "ListCalendarFeeds", [=, this](const Caller& caller) {
    auto feeds = service_.ListCalendarFeeds(caller, request->person_id());
    if (!feeds.ok()) return feeds.status();
    for (const CalendarFeed& feed : *feeds) *response->add_feeds() = CalendarFeedToProto(feed);
    return absl::OkStatus();
  });
}

ServerUnaryReactor* SupervisionHandler::RevokeCalendarFeed(
    CallbackServerContext* context, const v1::RevokeCalendarFeedRequest* request,
    v1::RevokeCalendarFeedResponse* response) {
  return runner_.Run(context, "RevokeCalendarFeed", [=, this](const Caller& caller) {
    auto feed = service_.RevokeCalendarFeed(caller, request->feed_id());
    if (!feed.ok()) return feed.status();
    *response->mutable_feed() = CalendarFeedToProto(*feed);
    return absl::OkStatus();
  });
}

ServerUnaryReactor* SupervisionHandler::GetCalendarFeed(CallbackServerContext* context,
                                                        const v1::GetCalendarFeedRequest* request,
                                                        v1::GetCalendarFeedResponse* response) {
  return runner_.RunWithoutCaller(context, "GetCalendarFeed", [=, this]() {
    auto ics = service_.CalendarOfFeed(request->token());
    if (!ics.ok()) return ics.status();
    response->set_ics(*std::move(ics));
    return absl::OkStatus();
  });
}

ServerUnaryReactor* SupervisionHandler::ExportPersonRecords(
    CallbackServerContext* context, const privacy::v1::ExportPersonRecordsRequest* request,
    privacy::v1::ExportPersonRecordsResponse* response) {
  return runner_.Run(context, "ExportPersonRecords", [=, this](const Caller& caller) {
    auto records = service_.ExportPerson(caller, request->person_id());
    if (!records.ok()) return records.status();
    return PersonRecordsToProto(*records, response->mutable_records());
  });
}

}  // namespace peerwell::supervision
