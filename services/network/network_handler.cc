#include "services/network/network_handler.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/common/validation.h"
#include "services/network/network_mapping.h"

namespace peerwell::network {

using grpc::CallbackServerContext;
using grpc::ServerUnaryReactor;

namespace {

constexpr int kMaxChannelPage = 200;
constexpr int kMaxMessagePage = 500;

absl::StatusOr<int> PageSize(int requested, int most) {
  auto size = NormalizePageSize("page_size", requested);
  if (!size.ok()) return size.status();
  return std::min(*size, most);
}

}  // namespace

ServerUnaryReactor* NetworkHandler::CreateChannel(CallbackServerContext* context,
                                                  const v1::CreateChannelRequest* request,
                                                  v1::CreateChannelResponse* response) {
  return runner_.Run(context, "CreateChannel", [=, this](const Caller& caller) {
    auto channel = ChannelFromProto(request->channel());
    if (!channel.ok()) return channel.status();
    auto created = service_.CreateChannel(caller, *std::move(channel), request->request_id());
    if (!created.ok()) return created.status();
    *response->mutable_channel() = ChannelToProto(*created);
    return absl::OkStatus();
  });
}

ServerUnaryReactor* NetworkHandler::GetChannel(CallbackServerContext* context,
                                               const v1::GetChannelRequest* request,
                                               v1::GetChannelResponse* response) {
  return runner_.Run(context, "GetChannel", [=, this](const Caller& caller) {
    auto channel = service_.GetChannel(caller, request->channel_id());
    if (!channel.ok()) return channel.status();
    *response->mutable_channel() = ChannelToProto(*channel);
    return absl::OkStatus();
  });
}

ServerUnaryReactor* NetworkHandler::ListChannels(CallbackServerContext* context,
                                                 const v1::ListChannelsRequest* request,
                                                 v1::ListChannelsResponse* response) {
  return runner_.Run(context, "ListChannels", [=, this](const Caller& caller) {
    auto size = PageSize(request->page_size(), kMaxChannelPage);
    if (!size.ok()) return size.status();
    std::string listing = absl::StrCat("channels/", caller.person_id);
    auto position = pages_.Decode(request->page_token(), caller.organization_id, listing);
    if (!position.ok()) return position.status();
    auto page = service_.ListChannels(caller, *size, *position);
    if (!page.ok()) return page.status();
    for (const Channel& channel : page->items) *response->add_channels() = ChannelToProto(channel);
    if (!page->next_position.empty()) {
      response->set_next_page_token(
          pages_.Encode(caller.organization_id, listing, page->next_position));
    }
    return absl::OkStatus();
  });
}

ServerUnaryReactor* NetworkHandler::JoinChannel(CallbackServerContext* context,
                                                const v1::JoinChannelRequest* request,
                                                v1::JoinChannelResponse* response) {
  return runner_.Run(context, "JoinChannel", [=, this](const Caller& caller) {
    auto channel = service_.JoinChannel(caller, request->channel_id(), request->person_id());
    if (!channel.ok()) return channel.status();
    *response->mutable_channel() = ChannelToProto(*channel);
    return absl::OkStatus();
  });
}

ServerUnaryReactor* NetworkHandler::LeaveChannel(CallbackServerContext* context,
                                                 const v1::LeaveChannelRequest* request,
                                                 v1::LeaveChannelResponse* response) {
  return runner_.Run(context, "LeaveChannel", [=, this](const Caller& caller) {
    auto channel = service_.LeaveChannel(caller, request->channel_id(), request->person_id());
    if (!channel.ok()) return channel.status();
    *response->mutable_channel() = ChannelToProto(*channel);
    return absl::OkStatus();
  });
}

ServerUnaryReactor* NetworkHandler::PostMessage(CallbackServerContext* context,
                                                const v1::PostMessageRequest* request,
                                                v1::PostMessageResponse* response) {
  return runner_.Run(context, "PostMessage", [=, this](const Caller& caller) {
    auto message =
        service_.PostMessage(caller, request->channel_id(), request->body(),
                             request->reply_to_message_id(), request->client_message_id());
    if (!message.ok()) return message.status();
    *response->mutable_message() = MessageToProto(*message);
    return absl::OkStatus();
  });
}

ServerUnaryReactor* NetworkHandler::ListMessages(CallbackServerContext* context,
                                                 const v1::ListMessagesRequest* request,
                                                 v1::ListMessagesResponse* response) {
  return runner_.Run(context, "ListMessages", [=, this](const Caller& caller) {
    auto size = PageSize(request->page_size(), kMaxMessagePage);
    if (!size.ok()) return size.status();
    std::string listing =
        absl::StrCat("messages/", request->channel_id(), "/", request->thread_root_message_id(),
                     "/", request->after_sequence(), "/", request->before_sequence());
    auto position = pages_.Decode(request->page_token(), caller.organization_id, listing);
    if (!position.ok()) return position.status();
    MessageQuery query;
    query.after_sequence = request->after_sequence();
    query.before_sequence = request->before_sequence();
    query.thread_root_message_id = request->thread_root_message_id();
    query.page_size = *size;
    query.position = *position;
    auto page = service_.ListMessages(caller, request->channel_id(), query);
    if (!page.ok()) return page.status();
    for (const Message& message : page->items) *response->add_messages() = MessageToProto(message);
    if (!page->next_position.empty()) {
      response->set_next_page_token(
          pages_.Encode(caller.organization_id, listing, page->next_position));
    }
    return absl::OkStatus();
  });
}

grpc::ServerWriteReactor<v1::NetworkEvent>* NetworkHandler::Subscribe(
    CallbackServerContext* context, const v1::SubscribeRequest* request) {
  return new Subscription(context, *request, service_, hub_, executor_, authenticator_, clock_,
                          subscription_options_);
}

ServerUnaryReactor* NetworkHandler::MarkRead(CallbackServerContext* context,
                                             const v1::MarkReadRequest* request,
                                             v1::MarkReadResponse* response) {
  return runner_.Run(context, "MarkRead", [=, this](const Caller& caller) {
    auto marker = service_.MarkRead(caller, request->channel_id(), request->sequence());
    if (!marker.ok()) return marker.status();
    *response->mutable_read_marker() = ReadMarkerToProto(*marker);
    return absl::OkStatus();
  });
}

ServerUnaryReactor* NetworkHandler::ListReadMarkers(CallbackServerContext* context,
                                                    const v1::ListReadMarkersRequest* request,
                                                    v1::ListReadMarkersResponse* response) {
  return runner_.Run(context, "ListReadMarkers", [=, this](const Caller& caller) {
    auto markers = service_.ListReadMarkers(caller, request->channel_id());
    if (!markers.ok()) return markers.status();
    for (const ReadMarker& marker : *markers) {
      *response->add_read_markers() = ReadMarkerToProto(marker);
    }
    return absl::OkStatus();
  });
}

ServerUnaryReactor* NetworkHandler::GetNetworkSettings(CallbackServerContext* context,
                                                       const v1::GetNetworkSettingsRequest*,
                                                       v1::GetNetworkSettingsResponse* response) {
  return runner_.Run(context, "GetNetworkSettings", [=, this](const Caller& caller) {
    auto settings = service_.GetSettings(caller);
    if (!settings.ok()) return settings.status();
    *response->mutable_settings() = SettingsToProto(*settings);
    return absl::OkStatus();
  });
}

ServerUnaryReactor* NetworkHandler::UpdateNetworkSettings(
    CallbackServerContext* context, const v1::UpdateNetworkSettingsRequest* request,
    v1::UpdateNetworkSettingsResponse* response) {
  return runner_.Run(context, "UpdateNetworkSettings", [=, this](const Caller& caller) {
    std::optional<bool> read_receipts;
    if (request->update_mask().paths().empty()) {
      read_receipts = request->settings().read_receipts();
    }
    for (int i = 0; i < request->update_mask().paths_size(); ++i) {
      const std::string& path = request->update_mask().paths(i);
      if (path != "read_receipts") {
        return InvalidField(absl::StrCat("update_mask.paths[", i, "]"),
                            "must name a field of NetworkSettings (read_receipts)");
      }
      read_receipts = request->settings().read_receipts();
    }
    auto settings = service_.UpdateSettings(caller, read_receipts);
    if (!settings.ok()) return settings.status();
    *response->mutable_settings() = SettingsToProto(*settings);
    return absl::OkStatus();
  });
}

ServerUnaryReactor* NetworkHandler::DeleteMessage(CallbackServerContext* context,
                                                  const v1::DeleteMessageRequest* request,
                                                  v1::DeleteMessageResponse* response) {
  return runner_.Run(context, "DeleteMessage", [=, this](const Caller& caller) {
    auto message = service_.DeleteMessage(caller, request->channel_id(), request->message_id());
    if (!message.ok()) return message.status();
    *response->mutable_message() = MessageToProto(*message);
    return absl::OkStatus();
  });
}

ServerUnaryReactor* NetworkHandler::ReportMessage(CallbackServerContext* context,
                                                  const v1::ReportMessageRequest* request,
                                                  v1::ReportMessageResponse* response) {
  return runner_.Run(context, "ReportMessage", [=, this](const Caller& caller) {
    auto report = service_.ReportMessage(caller, request->channel_id(), request->message_id(),
                                         request->reason());
    if (!report.ok()) return report.status();
    *response->mutable_report() = ReportToProto(*report, caller.role == CallerRole::kCoordinator);
    return absl::OkStatus();
  });
}

ServerUnaryReactor* NetworkHandler::ListReports(CallbackServerContext* context,
                                                const v1::ListReportsRequest* request,
                                                v1::ListReportsResponse* response) {
  return runner_.Run(context, "ListReports", [=, this](const Caller& caller) {
    auto states = ReportStatesFromProto(request->states());
    if (!states.ok()) return states.status();
    auto size = PageSize(request->page_size(), kMaxChannelPage);
    if (!size.ok()) return size.status();
    std::vector<std::string> state_names;
    for (ReportState state : *states) state_names.push_back(absl::StrCat(static_cast<int>(state)));
    std::string listing = absl::StrCat("reports/", absl::StrJoin(state_names, ","));
    auto position = pages_.Decode(request->page_token(), caller.organization_id, listing);
    if (!position.ok()) return position.status();
    auto page = service_.ListReports(caller, *states, *size, *position);
    if (!page.ok()) return page.status();
    for (const Report& report : page->items) {
      v1::Report* proto = response->add_reports();
      *proto = ReportToProto(report, /*for_coordinator=*/true);
      // Coordinators moderate what was said; a message gone by retention leaves the report only.
      auto message = service_.ReportedMessage(caller, report);
      if (message.ok()) *proto->mutable_message() = MessageToProto(*message);
    }
    if (!page->next_position.empty()) {
      response->set_next_page_token(
          pages_.Encode(caller.organization_id, listing, page->next_position));
    }
    return absl::OkStatus();
  });
}

ServerUnaryReactor* NetworkHandler::ResolveReport(CallbackServerContext* context,
                                                  const v1::ResolveReportRequest* request,
                                                  v1::ResolveReportResponse* response) {
  return runner_.Run(context, "ResolveReport", [=, this](const Caller& caller) {
    auto report =
        service_.ResolveReport(caller, request->report_id(),
                               static_cast<ReportAction>(request->action()), request->note());
    if (!report.ok()) return report.status();
    *response->mutable_report() = ReportToProto(*report, /*for_coordinator=*/true);
    auto message = service_.ReportedMessage(caller, *report);
    if (message.ok()) *response->mutable_report()->mutable_message() = MessageToProto(*message);
    return absl::OkStatus();
  });
}

ServerUnaryReactor* NetworkHandler::ExportPersonRecords(
    CallbackServerContext* context, const privacy::v1::ExportPersonRecordsRequest* request,
    privacy::v1::ExportPersonRecordsResponse* response) {
  return runner_.Run(context, "ExportPersonRecords", [=, this](const Caller& caller) {
    auto records = service_.ExportPerson(caller, request->person_id());
    if (!records.ok()) return records.status();
    return PersonRecordsToProto(*records, response->mutable_records());
  });
}

}  // namespace peerwell::network
