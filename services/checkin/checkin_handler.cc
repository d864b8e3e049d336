#include "services/checkin/checkin_handler.h"

#include "absl/strings/str_cat.h"
#include "services/checkin/checkin_mapping.h"
#include "services/common/proto_time.h"
#include "services/common/validation.h"

namespace peerwell::checkin {
namespace {

absl::StatusOr<std::optional<absl::Time>> OptionalTime(bool present,
                                                       const google::protobuf::Timestamp& proto,
                                                       absl::string_view field) {
  if (!present) return std::nullopt;
  auto time = TimestampFromProto(proto, field);
  if (!time.ok()) return time.status();
  return *time;
}

}  // namespace

grpc::ServerUnaryReactor* CheckinHandler::ListInstruments(grpc::CallbackServerContext* context,
                                                          const v1::ListInstrumentsRequest*,
                                                          v1::ListInstrumentsResponse* response) {
  return runner_.Run(context, "ListInstruments", [=, this](const Caller& caller) {
    auto instruments = service_.ListInstruments(caller);
    if (!instruments.ok()) return instruments.status();
    for (const Instrument* instrument : *instruments) {
      *response->add_instruments() = InstrumentToProto(*instrument);
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* CheckinHandler::SubmitCheckin(grpc::CallbackServerContext* context,
                                                        const v1::SubmitCheckinRequest* request,
                                                        v1::SubmitCheckinResponse* response) {
  return runner_.RunAsync(
      context, "SubmitCheckin", [=, this](const Caller& caller, CallFinisher finish) {
        auto answers = AnswersFromProto(request->answers());
        if (!answers.ok()) return std::move(finish)(answers.status());
        auto submit_time =
            OptionalTime(request->has_submit_time(), request->submit_time(), "submit_time");
        if (!submit_time.ok()) return std::move(finish)(submit_time.status());
        service_.SubmitCheckin(
            caller,
            {request->volunteer_id(), request->instrument_id(), *std::move(answers),
             ContextFromProto(request->context()), request->note(), request->request_id(),
             *submit_time},
            [response, finish = std::move(finish)](absl::StatusOr<Checkin> checkin) mutable {
              if (checkin.ok()) *response->mutable_checkin() = CheckinToProto(*checkin);
              std::move(finish)(checkin.status());
            });
      });
}

grpc::ServerUnaryReactor* CheckinHandler::ReportCriticalIncident(
    grpc::CallbackServerContext* context, const v1::ReportCriticalIncidentRequest* request,
    v1::ReportCriticalIncidentResponse* response) {
  return runner_.Run(context, "ReportCriticalIncident", [=, this](const Caller& caller) {
    auto type = IncidentTypeFromProto(request->incident_type());
    if (!type.ok()) return type.status();
    auto occur_time = OptionalTime(request->has_occur_time(), request->occur_time(), "occur_time");
    if (!occur_time.ok()) return occur_time.status();
    auto reported =
        service_.ReportCriticalIncident(caller, {request->volunteer_id(), *type, *occur_time,
                                                 request->description(), request->request_id()});
    if (!reported.ok()) return reported.status();
    *response->mutable_incident() = IncidentToProto(reported->first);
    for (const SupportResource& resource : reported->second) {
      *response->add_support_resources() = SupportResourceToProto(resource);
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* CheckinHandler::RequestSupport(grpc::CallbackServerContext* context,
                                                         const v1::RequestSupportRequest* request,
                                                         v1::RequestSupportResponse* response) {
  return runner_.Run(context, "RequestSupport", [=, this](const Caller& caller) {
    auto urgency = UrgencyFromProto(request->urgency());
    if (!urgency.ok()) return urgency.status();
    auto created = service_.RequestSupport(
        caller, {request->volunteer_id(), *urgency, request->note(), request->request_id()});
    if (!created.ok()) return created.status();
    *response->mutable_support_request() = SupportRequestToProto(*created);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* CheckinHandler::ListCheckins(grpc::CallbackServerContext* context,
                                                       const v1::ListCheckinsRequest* request,
                                                       v1::ListCheckinsResponse* response) {
  return runner_.Run(context, "ListCheckins", [=, this](const Caller& caller) {
    CheckinQuery query;
    query.instrument_id = request->instrument_id();
    if (request->has_start_time()) {
      auto start = TimestampFromProto(request->start_time(), "start_time");
      if (!start.ok()) return start.status();
      query.start_time = *start;
    }
    if (request->has_end_time()) {
      auto end = TimestampFromProto(request->end_time(), "end_time");
      if (!end.ok()) return end.status();
      query.end_time = *end;
    }
    auto size = NormalizePageSize("page_size", request->page_size());
    if (!size.ok()) return size.status();
    query.page_size = *size;
    std::string listing = absl::StrCat(
        "checkins/", caller.person_id, "/", request->volunteer_id(), "/", request->instrument_id(),
        "/", request->start_time().seconds(), "/", request->end_time().seconds());
    auto position = pages_.Decode(request->page_token(), caller.organization_id, listing);
    if (!position.ok()) return position.status();
    query.position = *position;
    auto page = service_.ListCheckins(caller, request->volunteer_id(), query);
    if (!page.ok()) return page.status();
    for (const Checkin& checkin : page->first) *response->add_checkins() = CheckinToProto(checkin);
    if (!page->second.empty()) {
      response->set_next_page_token(pages_.Encode(caller.organization_id, listing, page->second));
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* CheckinHandler::GetTrend(grpc::CallbackServerContext* context,
                                                   const v1::GetTrendRequest* request,
                                                   v1::GetTrendResponse* response) {
  return runner_.Run(context, "GetTrend", [=, this](const Caller& caller) {
    std::optional<absl::Duration> window;
    if (request->has_window()) {
      window =
          absl::Seconds(request->window().seconds()) + absl::Nanoseconds(request->window().nanos());
    }
    auto trend = service_.GetTrend(caller, request->volunteer_id(), request->scale_id(), window);
    if (!trend.ok()) return trend.status();
    TrendToProto(*trend, response);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* CheckinHandler::ListDueCheckins(grpc::CallbackServerContext* context,
                                                          const v1::ListDueCheckinsRequest* request,
                                                          v1::ListDueCheckinsResponse* response) {
  return runner_.Run(context, "ListDueCheckins", [=, this](const Caller& caller) {
    auto due = service_.ListDueCheckins(caller, request->volunteer_id());
    if (!due.ok()) return due.status();
    for (const DueCheckin& entry : *due) *response->add_due() = DueCheckinToProto(entry);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* CheckinHandler::GetCheckinSettings(
    grpc::CallbackServerContext* context, const v1::GetCheckinSettingsRequest*,
    v1::GetCheckinSettingsResponse* response) {
  return runner_.Run(context, "GetCheckinSettings", [=, this](const Caller& caller) {
    auto settings = service_.GetSettings(caller);
    if (!settings.ok()) return settings.status();
    *response->mutable_settings() = SettingsToProto(*settings);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* CheckinHandler::UpdateCheckinSettings(
    grpc::CallbackServerContext* context, const v1::UpdateCheckinSettingsRequest* request,
    v1::UpdateCheckinSettingsResponse* response) {
  return runner_.Run(context, "UpdateCheckinSettings", [=, this](const Caller& caller) {
    auto settings = SettingsFromProto(request->settings());
    if (!settings.ok()) return settings.status();
    auto updated = service_.UpdateSettings(caller, *settings);
    if (!updated.ok()) return updated.status();
    *response->mutable_settings() = SettingsToProto(*updated);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* CheckinHandler::GetAggregates(grpc::CallbackServerContext* context,
                                                        const v1::GetAggregatesRequest* request,
                                                        v1::GetAggregatesResponse* response) {
  return runner_.Run(context, "GetAggregates", [=, this](const Caller& caller) {
    AggregateQuery query;
    query.scale_id = request->scale_id();
    if (request->period() != v1::AGGREGATE_PERIOD_UNSPECIFIED) {
      auto period = AggregatePeriodFromProto(request->period());
      if (!period.ok()) return period.status();
      query.period = *period;
    }
    auto start = OptionalTime(request->has_start_time(), request->start_time(), "start_time");
    if (!start.ok()) return start.status();
    auto end = OptionalTime(request->has_end_time(), request->end_time(), "end_time");
    if (!end.ok()) return end.status();
    query.start_time = *start;
    query.end_time = *end;
    query.by_session_kind = request->by_session_kind();
    auto cells = service_.GetAggregates(caller, query);
    if (!cells.ok()) return cells.status();
    for (const AggregateCell& cell : *cells) {
      *response->add_cells() = AggregateCellToProto(query.scale_id, cell);
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* CheckinHandler::ExportCheckins(grpc::CallbackServerContext* context,
                                                         const v1::ExportCheckinsRequest* request,
                                                         v1::ExportCheckinsResponse* response) {
  return runner_.Run(context, "ExportCheckins", [=, this](const Caller& caller) {
    ExportQuery query;
    auto start = OptionalTime(request->has_updated_start_time(), request->updated_start_time(),
                              "updated_start_time");
    if (!start.ok()) return start.status();
    auto end = OptionalTime(request->has_updated_end_time(), request->updated_end_time(),
                            "updated_end_time");
    if (!end.ok()) return end.status();
    query.updated_start_time = *start;
    query.updated_end_time = *end;
    auto size = NormalizePageSize("page_size", request->page_size());
    if (!size.ok()) return size.status();
    query.page_size = std::min(*size, kMaxExportPageSize);
    // Bound to the key: pseudonyms, and so positions, differ between keys.
    std::string listing =
        absl::StrCat("export/", caller.person_id, "/", request->updated_start_time().seconds(), "/",
                     request->updated_end_time().seconds());
    auto position = pages_.Decode(request->page_token(), caller.organization_id, listing);
    if (!position.ok()) return position.status();
    query.position = *position;
    auto page = service_.ExportCheckins(caller, query);
    if (!page.ok()) return page.status();
    for (const ExportedCheckin& exported : page->checkins) {
      *response->add_checkins() = ExportedCheckinToProto(exported);
    }
    if (!page->next_position.empty()) {
      response->set_next_page_token(
          pages_.Encode(caller.organization_id, listing, page->next_position));
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* CheckinHandler::ExportPersonRecords(
    grpc::CallbackServerContext* context, const privacy::v1::ExportPersonRecordsRequest* request,
    privacy::v1::ExportPersonRecordsResponse* response) {
  return runner_.Run(context, "ExportPersonRecords", [=, this](const Caller& caller) {
    auto records = service_.ExportPerson(caller, request->person_id());
    if (!records.ok()) return records.status();
    return PersonRecordsToProto(*records, response->mutable_records());
  });
}

}  // namespace peerwell::checkin
