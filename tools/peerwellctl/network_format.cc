#include "tools/peerwellctl/network_format.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "tools/peerwellctl/alerts_format.h"
#include "tools/peerwellctl/args.h"
#include "tools/peerwellctl/format.h"

namespace peerwell::ctl {
namespace {

constexpr EnumName<network_v1::ChannelKind> kChannelKinds[] = {
    {"group", network_v1::CHANNEL_KIND_GROUP},
    {"direct", network_v1::CHANNEL_KIND_DIRECT},
    {"buddy", network_v1::CHANNEL_KIND_BUDDY},
    {"announcement", network_v1::CHANNEL_KIND_ANNOUNCEMENT},
};

constexpr EnumName<network_v1::ReportState> kReportStates[] = {
    {"open", network_v1::REPORT_STATE_OPEN},
    {"resolved", network_v1::REPORT_STATE_RESOLVED},
};

constexpr EnumName<network_v1::ReportAction> kReportActions[] = {
    {"dismiss", network_v1::REPORT_ACTION_DISMISS},
    {"delete", network_v1::REPORT_ACTION_DELETE_MESSAGE},
};

constexpr EnumName<network_v1::NetworkEventType> kEventTypes[] = {
    {"posted", network_v1::NETWORK_EVENT_TYPE_MESSAGE_POSTED},
    {"deleted", network_v1::NETWORK_EVENT_TYPE_MESSAGE_DELETED},
    {"channel-updated", network_v1::NETWORK_EVENT_TYPE_CHANNEL_UPDATED},
};

// How an error names what was wrong: "--reply-to" for a flag, "MESSAGE" for a positional.
std::string Label(absl::string_view flag) {
  return absl::AsciiStrToUpper(flag) == flag ? std::string(flag) : absl::StrCat("--", flag);
}

// Where a message's body starts under its header line.
constexpr absl::string_view kBodyIndent = "    ";

// The ids, comma-separated, or "none".
std::string People(const google::protobuf::RepeatedPtrField<std::string>& ids) {
  return ids.empty() ? "none" : absl::StrJoin(ids, ", ");
}

// "3" or "3 (+1 invited)": who is in a channel at a glance.
std::string PeopleCount(const network_v1::Channel& channel) {
  if (channel.kind() == network_v1::CHANNEL_KIND_ANNOUNCEMENT) return "everyone";
  if (channel.invited_ids().empty()) return absl::StrCat(channel.member_ids_size());
  return absl::StrCat(channel.member_ids_size(), " (+", channel.invited_ids_size(), " invited)");
}

std::string Retention(const network_v1::Channel& channel) {
  if (!channel.has_retention()) return "the service's default (180d)";
  return absl::StrCat(FormatDurationProto(channel.retention()), " (older messages are deleted)");
}

// "#3" for a message whose sequence is known, else its id.
std::string MessageName(const std::string& message_id, const SequenceById& sequences) {
  auto found = sequences.find(message_id);
  if (found == sequences.end()) return message_id;
  return absl::StrCat("#", found->second);
}

// The body under its header, each of its lines wrapped and indented; a blank line stays blank.
std::string Body(const network_v1::Message& message) {
  if (message.deleted()) return absl::StrCat(kBodyIndent, "(deleted)\n");
  std::string out;
  for (absl::string_view line :
       absl::StrSplit(absl::StripTrailingAsciiWhitespace(message.body()), '\n')) {
    std::string wrapped = Wrap(line, kBodyIndent);
    absl::StrAppend(&out, wrapped.empty() ? "\n" : wrapped);
  }
  return out;
}

// The channel's name for a line of `tail`.
std::string ChannelLabel(const std::string& channel_id,
                         const std::map<std::string, std::string>& channel_names) {
  auto found = channel_names.find(channel_id);
  return absl::StrCat(
      "[", found == channel_names.end() || found->second.empty() ? channel_id : found->second, "]");
}

}  // namespace

absl::StatusOr<network_v1::ChannelKind> ParseChannelKind(absl::string_view flag,
                                                         absl::string_view text) {
  return ParseWord(kChannelKinds, "channel-kind-", flag, text);
}

absl::StatusOr<network_v1::ReportState> ParseReportState(absl::string_view flag,
                                                         absl::string_view text) {
  return ParseWord(kReportStates, "report-state-", flag, text);
}

absl::StatusOr<network_v1::ReportAction> ParseReportAction(absl::string_view flag,
                                                           absl::string_view text) {
  // The proto's long name reads as the short one.
  std::string word = NormalizedWord(text);
  if (absl::EndsWith(word, "delete-message")) word.resize(word.size() - 8);
  auto action = ParseWord(kReportActions, "report-action-", flag, word);
  if (!action.ok()) return BadChoice(flag, text, "dismiss, delete");
  return action;
}

absl::StatusOr<MessageRef> ParseMessageRef(absl::string_view flag, absl::string_view text) {
  absl::string_view word = absl::StripAsciiWhitespace(text);
  if (word.empty()) {
    return UsageError(absl::StrCat(Label(flag), ": expected a message's sequence (#3) or id"));
  }
  MessageRef ref;
  absl::string_view number = word;
  bool marked = absl::ConsumePrefix(&number, "#");
  int64_t sequence = 0;
  if (absl::SimpleAtoi(number, &sequence)) {
    if (sequence <= 0) {
      return UsageError(absl::StrCat(Label(flag), ": sequences start at 1, got '", text, "'"));
    }
    ref.sequence = sequence;
    return ref;
  }
  if (marked) {
    return UsageError(
        absl::StrCat(Label(flag), ": expected #N with N a sequence, got '", text, "'"));
  }
  ref.message_id = std::string(word);
  return ref;
}

absl::StatusOr<network_v1::SubscribeCursor> ParseCursor(absl::string_view flag,
                                                        absl::string_view text) {
  std::pair<absl::string_view, absl::string_view> parts =
      absl::StrSplit(text, absl::MaxSplits(':', 1));
  int64_t sequence = 0;
  if (parts.first.empty() || !absl::SimpleAtoi(parts.second, &sequence) || sequence < 0) {
    return UsageError(absl::StrCat(
        "--", flag, ": expected CHANNEL:SEQUENCE (the last sequence seen), got '", text, "'"));
  }
  network_v1::SubscribeCursor cursor;
  cursor.set_channel_id(std::string(parts.first));
  cursor.set_after_sequence(sequence);
  return cursor;
}

std::string ChannelKindWord(network_v1::ChannelKind kind) { return Word(kChannelKinds, kind); }
std::string ReportStateWord(network_v1::ReportState state) { return Word(kReportStates, state); }
std::string ReportActionWord(network_v1::ReportAction action) {
  return Word(kReportActions, action);
}
std::string NetworkEventTypeWord(network_v1::NetworkEventType type) {
  return Word(kEventTypes, type);
}

std::string ChannelText(const network_v1::Channel& channel) {
  Fields fields = {{"channel", channel.channel_id()},
                   {"kind", ChannelKindWord(channel.kind())},
                   {"name", channel.display_name().empty() ? "-" : channel.display_name()},
                   {"members", channel.kind() == network_v1::CHANNEL_KIND_ANNOUNCEMENT
                                   ? "everyone in the organisation"
                                   : People(channel.member_ids())}};
  if (!channel.invited_ids().empty()) fields.emplace_back("invited", People(channel.invited_ids()));
  fields.emplace_back("retention", Retention(channel));
  fields.emplace_back("messages", channel.last_sequence() == 0
                                      ? "none yet"
                                      : absl::StrCat("#1 to #", channel.last_sequence()));
  fields.emplace_back("unread", absl::StrCat(channel.unread_count()));
  fields.emplace_back("created", FormatTimestamp(channel.create_time()));
  return FormatFields(fields);
}

std::string ChannelsTable(const std::vector<network_v1::Channel>& channels) {
  std::vector<std::vector<std::string>> rows;
  for (const network_v1::Channel& channel : channels) {
    rows.push_back({channel.channel_id(), ChannelKindWord(channel.kind()),
                    absl::StrCat(channel.unread_count()), absl::StrCat(channel.last_sequence()),
                    PeopleCount(channel),
                    channel.display_name().empty() ? "-" : channel.display_name()});
  }
  return FormatTable({"ID", "KIND", "UNREAD", "MESSAGES", "PEOPLE", "NAME"}, rows);
}

std::string MessageText(const network_v1::Message& message, const SequenceById& sequences,
                        const std::vector<std::string>& tags) {
  std::vector<std::string> header = {
      absl::StrCat("#", message.sequence()), FormatTimestamp(message.create_time()),
      message.author_display_name().empty() ? message.author_id() : message.author_display_name()};
  for (const std::string& tag : tags) header.push_back(absl::StrCat("[", tag, "]"));
  if (!message.reply_to_message_id().empty()) {
    header.push_back(
        absl::StrCat("(reply to ", MessageName(message.reply_to_message_id(), sequences), ")"));
  }
  header.push_back(absl::StrCat("id ", message.message_id()));
  return absl::StrCat(absl::StrJoin(header, "  "), "\n", Body(message));
}

std::string MessagesText(const google::protobuf::RepeatedPtrField<network_v1::Message>& messages) {
  SequenceById sequences;
  for (const network_v1::Message& message : messages) {
    sequences[message.message_id()] = message.sequence();
  }
  std::string out;
  for (const network_v1::Message& message : messages) {
    absl::StrAppend(&out, MessageText(message, sequences));
  }
  return out;
}

std::string NetworkEventText(const network_v1::NetworkEvent& event,
                             const std::map<std::string, std::string>& channel_names,
                             const SequenceById& sequences) {
  std::string label = ChannelLabel(event.channel_id(), channel_names);
  std::vector<std::string> tags;
  if (event.silent()) tags.push_back("silent");
  switch (event.event_type()) {
    case network_v1::NETWORK_EVENT_TYPE_MESSAGE_POSTED:
      return absl::StrCat(label, " ", MessageText(event.message(), sequences, tags));
    case network_v1::NETWORK_EVENT_TYPE_MESSAGE_DELETED:
      return absl::StrCat(label, " #", event.message().sequence(), " deleted (id ",
                          event.message().message_id(), ")", event.silent() ? "  [silent]" : "",
                          "\n");
    case network_v1::NETWORK_EVENT_TYPE_CHANNEL_UPDATED: {
      const network_v1::Channel& channel = event.channel();
      return absl::StrCat(label, " channel updated: ", channel.member_ids_size(),
                          channel.member_ids_size() == 1 ? " member" : " members",
                          channel.invited_ids().empty()
                              ? ""
                              : absl::StrCat(", ", channel.invited_ids_size(), " invited"),
                          ", ", channel.unread_count(), " unread",
                          event.silent() ? "  [silent]" : "", "\n");
    }
    default:
      return absl::StrCat(label, " ", NetworkEventTypeWord(event.event_type()), "\n");
  }
}

std::string ReadMarkersTable(
    const google::protobuf::RepeatedPtrField<network_v1::ReadMarker>& markers) {
  std::vector<std::vector<std::string>> rows;
  for (const network_v1::ReadMarker& marker : markers) {
    rows.push_back({marker.person_id(), absl::StrCat("#", marker.sequence()),
                    FormatTimestamp(marker.update_time())});
  }
  return FormatTable({"PERSON", "READ UP TO", "UPDATED"}, rows);
}

std::string ReadMarkerText(const network_v1::ReadMarker& marker) {
  return FormatFields({{"channel", marker.channel_id()},
                       {"read up to", absl::StrCat("#", marker.sequence())},
                       {"updated", FormatTimestamp(marker.update_time())}});
}

std::string NetworkSettingsText(const network_v1::NetworkSettings& settings) {
  return FormatFields(
      {{"read receipts", settings.read_receipts()
                             ? "on (the members of your channels see how far you have read)"
                             : "off (how far you have read stays private; the default)"}});
}

std::string ReportText(const network_v1::Report& report) {
  Fields fields = {
      {"report", report.report_id()},
      {"state", ReportStateWord(report.state())},
      {"channel", report.channel_id()},
      {"message", report.has_message() ? absl::StrCat("#", report.message().sequence(), " (id ",
                                                      report.message_id(), ")")
                                       : report.message_id()},
      {"reason", report.reason()}};
  if (!report.reporter_id().empty()) fields.emplace_back("reported by", report.reporter_id());
  fields.emplace_back("created", FormatTimestamp(report.create_time()));
  if (report.state() == network_v1::REPORT_STATE_RESOLVED) {
    fields.emplace_back("action", ReportActionWord(report.action()));
    if (!report.resolved_by().empty()) fields.emplace_back("resolved by", report.resolved_by());
    fields.emplace_back("resolved", FormatTimestamp(report.resolve_time()));
  }
  if (!report.note().empty()) fields.emplace_back("note", report.note());
  std::string out = FormatFields(fields);
  if (report.has_message()) {
    absl::StrAppend(&out, "\nthe message as it is now:\n", MessageText(report.message(), {}));
  }
  return out;
}

std::string ReportsText(const std::vector<network_v1::Report>& reports) {
  std::vector<std::vector<std::string>> rows;
  for (const network_v1::Report& report : reports) {
    std::string state = ReportStateWord(report.state());
    if (report.state() == network_v1::REPORT_STATE_RESOLVED) {
      absl::StrAppend(&state, " (", ReportActionWord(report.action()), ")");
    }
    rows.push_back({report.report_id(), state, FormatTimestamp(report.create_time()),
                    report.channel_id(),
                    report.has_message() ? absl::StrCat("#", report.message().sequence())
                                         : report.message_id(),
                    report.reporter_id().empty() ? "-" : report.reporter_id()});
  }
  // The free text goes on wrapped lines under its row, as alerts' factors do.
  std::vector<std::string> lines = absl::StrSplit(
      FormatTable({"ID", "STATE", "CREATED", "CHANNEL", "MESSAGE", "REPORTED BY"}, rows), '\n');
  std::string out = absl::StrCat(lines[0], "\n");
  for (size_t i = 0; i < reports.size(); ++i) {
    const network_v1::Report& report = reports[i];
    absl::StrAppend(&out, lines[i + 1], "\n",
                    Wrap(absl::StrCat("reason: ", report.reason()), "   "));
    if (report.has_message()) {
      const network_v1::Message& message = report.message();
      absl::StrAppend(
          &out, Wrap(absl::StrCat("message: ", message.author_display_name(), ": ",
                                  message.deleted()
                                      ? "(deleted)"
                                      : absl::StrJoin(absl::StrSplit(message.body(), '\n'), " ")),
                     "   "));
    }
    if (!report.note().empty()) {
      absl::StrAppend(&out, Wrap(absl::StrCat("note: ", report.note()), "   "));
    }
  }
  return out;
}

}  // namespace peerwell::ctl
