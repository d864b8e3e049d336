#pragma once

// Words on the command line and human-readable output for the peer-network commands; format.h
// holds the shared pieces (tables, fields, times, JSON).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "peerwell/network/v1/network.pb.h"

namespace peerwell::ctl {

namespace network_v1 = ::peerwell::network::v1;

// --- Words on the command line <-> values --------------------------------------------------

// "group", "direct", "buddy", "announcement" (any case; the proto names CHANNEL_KIND_... too).
absl::StatusOr<network_v1::ChannelKind> ParseChannelKind(absl::string_view flag,
                                                         absl::string_view text);
// "open", "resolved" (also REPORT_STATE_...).
absl::StatusOr<network_v1::ReportState> ParseReportState(absl::string_view flag,
                                                         absl::string_view text);
// "dismiss" or "delete" ("delete-message" and REPORT_ACTION_... too).
absl::StatusOr<network_v1::ReportAction> ParseReportAction(absl::string_view flag,
                                                           absl::string_view text);
// A message as people point at one: its sequence in the channel ("3" or "#3"), or its id.
struct MessageRef {
  std::optional<int64_t> sequence;
  std::string message_id;  // when not a sequence
};
absl::StatusOr<MessageRef> ParseMessageRef(absl::string_view flag, absl::string_view text);
// CHANNEL:SEQUENCE, the last sequence seen in a channel (how `tail` resumes).
absl::StatusOr<network_v1::SubscribeCursor> ParseCursor(absl::string_view flag,
                                                        absl::string_view text);

std::string ChannelKindWord(network_v1::ChannelKind kind);
std::string ReportStateWord(network_v1::ReportState state);
std::string ReportActionWord(network_v1::ReportAction action);
std::string NetworkEventTypeWord(network_v1::NetworkEventType type);

// --- Human-readable output -------------------------------------------------------------------

// Every field of a channel: kind, name, members and invited, retention, messages, unread.
std::string ChannelText(const network_v1::Channel& channel);
// One row per channel: id, kind, unread, messages, people, name.
std::string ChannelsTable(const std::vector<network_v1::Channel>& channels);

// What a reader of one conversation needs to place a message: a reply names its parent by
// sequence when the parent is known (listed or seen earlier), else by id.
using SequenceById = std::map<std::string, int64_t>;
// "#3  2025-03-04 10:02:11 UTC  Amira Haddad  (reply to #1)  id m…", then the body indented
// under it (or "(deleted)"); `tags` ("silent") go in square brackets after the author.
std::string MessageText(const network_v1::Message& message, const SequenceById& sequences,
                        const std::vector<std::string>& tags = {});
// A conversation in order: each message as MessageText shows it.
std::string MessagesText(const google::protobuf::RepeatedPtrField<network_v1::Message>& messages);
// One event of `tail`, led by the channel's name in square brackets (`channel_names`, else its
// id): a message as MessageText shows it, a deletion, or a change of the channel's people.
std::string NetworkEventText(const network_v1::NetworkEvent& event,
                             const std::map<std::string, std::string>& channel_names,
                             const SequenceById& sequences);

std::string ReadMarkersTable(
    const google::protobuf::RepeatedPtrField<network_v1::ReadMarker>& markers);
std::string ReadMarkerText(const network_v1::ReadMarker& marker);
std::string NetworkSettingsText(const network_v1::NetworkSettings& settings);
// Every field of a report that the caller may see, with the reported message as it is now.
std::string ReportText(const network_v1::Report& report);
// One row per report (id, state, created, channel, message, reporter), with the reason, the
// message and any resolution note on wrapped lines below it.
std::string ReportsText(const std::vector<network_v1::Report>& reports);

}  // namespace peerwell::ctl
