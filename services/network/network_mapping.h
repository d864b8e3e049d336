#pragma once

#include "absl/status/statusor.h"
#include "google/protobuf/struct.pb.h"
#include "peerwell/network/v1/network.pb.h"
#include "services/network/network.h"

namespace peerwell::network {

// Between the wire contract (peerwell.network.v1) and the domain types.
v1::Channel ChannelToProto(const Channel& channel);
// What a client may say about a new channel; INVALID_ARGUMENT names the field.
absl::StatusOr<Channel> ChannelFromProto(const v1::Channel& proto);
v1::Message MessageToProto(const Message& message);
// The reporter, the resolution note and the message are for coordinators' eyes only.
v1::Report ReportToProto(const Report& report, bool for_coordinator);
v1::ReadMarker ReadMarkerToProto(const ReadMarker& marker);
v1::NetworkSettings SettingsToProto(const NetworkSettings& settings);
// A person's records as their export shows them (ExportPersonRecordsResponse.records), each
// family a list of API messages, present even when empty.
absl::Status PersonRecordsToProto(const PersonRecords& records, google::protobuf::Struct* out);
absl::StatusOr<std::vector<ReportState>> ReportStatesFromProto(
    const google::protobuf::RepeatedField<int>& states);

}  // namespace peerwell::network
