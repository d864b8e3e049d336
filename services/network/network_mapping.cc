#include "services/network/network_mapping.h"

#include "absl/strings/str_cat.h"
#include "services/common/person_records.h"
#include "services/common/proto_time.h"
#include "services/common/validation.h"

namespace peerwell::network {

v1::Channel ChannelToProto(const Channel& channel) {
  v1::Channel proto;
  proto.set_channel_id(channel.channel_id);
  proto.set_kind(static_cast<v1::ChannelKind>(channel.kind));
  proto.set_display_name(channel.display_name);
  for (const std::string& id : channel.member_ids) proto.add_member_ids(id);
  for (const std::string& id : channel.invited_ids) proto.add_invited_ids(id);
  *proto.mutable_retention() = DurationToProto(channel.retention);
  proto.set_last_sequence(channel.last_sequence);
  proto.set_unread_count(channel.unread_count);
  *proto.mutable_create_time() = TimestampToProto(channel.create_time);
  return proto;
}

absl::StatusOr<Channel> ChannelFromProto(const v1::Channel& proto) {
  Channel channel;
  if (!v1::ChannelKind_IsValid(proto.kind())) {
    return InvalidField("channel.kind", "must be GROUP, DIRECT, BUDDY or ANNOUNCEMENT");
  }
  channel.kind = static_cast<ChannelKind>(proto.kind());
  channel.display_name = proto.display_name();
  channel.member_ids.assign(proto.member_ids().begin(), proto.member_ids().end());
  channel.invited_ids.assign(proto.invited_ids().begin(), proto.invited_ids().end());
  if (proto.has_retention()) {
    const google::protobuf::Duration& retention = proto.retention();
    if (retention.seconds() < 0 || retention.nanos() != 0) {
      return InvalidField("channel.retention", "must be a whole number of seconds");
    }
    channel.retention = absl::Seconds(retention.seconds());
    if (channel.retention == absl::ZeroDuration()) {
      return InvalidField("channel.retention", "must be between 1 day and 10 years");
    }
  }
  return channel;
}

v1::Message MessageToProto(const Message& message) {
  v1::Message proto;
  proto.set_message_id(message.message_id);
  proto.set_channel_id(message.channel_id);
  proto.set_sequence(message.sequence);
  proto.set_author_id(message.author_id);
  proto.set_author_display_name(message.author_display_name);
  if (!message.deleted) proto.set_body(message.body);
  proto.set_reply_to_message_id(message.reply_to_message_id);
  *proto.mutable_create_time() = TimestampToProto(message.create_time);
  proto.set_deleted(message.deleted);
  return proto;
}

v1::Report ReportToProto(const Report& report, bool for_coordinator) {
  v1::Report proto;
  proto.set_report_id(report.report_id);
  proto.set_channel_id(report.channel_id);
  proto.set_message_id(report.message_id);
  proto.set_reason(report.reason);
  proto.set_state(static_cast<v1::ReportState>(report.state));
  proto.set_action(static_cast<v1::ReportAction>(report.action));
  *proto.mutable_create_time() = TimestampToProto(report.create_time);
  SetKnownTime(report.resolve_time, [&] { return proto.mutable_resolve_time(); });
  if (for_coordinator) {
    proto.set_reporter_id(report.reporter_id);
    proto.set_resolved_by(report.resolved_by);
    proto.set_note(report.note);
  }
  return proto;
}

v1::ReadMarker ReadMarkerToProto(const ReadMarker& marker) {
  v1::ReadMarker proto;
  proto.set_channel_id(marker.channel_id);
  proto.set_person_id(marker.person_id);
  proto.set_sequence(marker.sequence);
  *proto.mutable_update_time() = TimestampToProto(marker.update_time);
  return proto;
}

v1::NetworkSettings SettingsToProto(const NetworkSettings& settings) {
  v1::NetworkSettings proto;
  proto.set_read_receipts(settings.read_receipts);
  return proto;
}

absl::Status PersonRecordsToProto(const PersonRecords& records, google::protobuf::Struct* out) {
  PersonRecordsBuilder builder(out);
  for (const char* family :
       {kChannelsFamily, kMessagesFamily, kReadMarkersFamily, kSettingsFamily, kReportsFamily}) {
    builder.Declare(family);
  }
  absl::Status status;
  for (const Channel& channel : records.channels) {
    status.Update(builder.Add(kChannelsFamily, ChannelToProto(channel)));
  }
  for (const Message& message : records.messages) {
    status.Update(builder.Add(kMessagesFamily, MessageToProto(message)));
  }
  for (const ReadMarker& marker : records.read_markers) {
    status.Update(builder.Add(kReadMarkersFamily, ReadMarkerToProto(marker)));
  }
  if (records.settings.has_value()) {
    status.Update(builder.Add(kSettingsFamily, SettingsToProto(*records.settings)));
  }
  for (const Report& report : records.reports) {
    // As its reporter sees it, and showing that it names them.
    v1::Report proto = ReportToProto(report, /*for_coordinator=*/false);
    proto.set_reporter_id(report.reporter_id);
    status.Update(builder.Add(kReportsFamily, proto));
  }
  return status;
}

absl::StatusOr<std::vector<ReportState>> ReportStatesFromProto(
    const google::protobuf::RepeatedField<int>& states) {
  std::vector<ReportState> result;
  if (states.size() > 2) return InvalidField("states", "names at most 2 states");
  for (int i = 0; i < states.size(); ++i) {
    if (states[i] != v1::REPORT_STATE_OPEN && states[i] != v1::REPORT_STATE_RESOLVED) {
      return InvalidField(absl::StrCat("states[", i, "]"),
                          "must be REPORT_STATE_OPEN or REPORT_STATE_RESOLVED");
    }
    result.push_back(static_cast<ReportState>(states[i]));
  }
  return result;
}

}  // namespace peerwell::network
