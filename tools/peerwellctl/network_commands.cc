// The `network ...` commands: the peer network's channels (list with unread counts, create, join
// and leave), messages (post, read, follow live with `tail`), read markers and read receipts, and
// moderation (delete, report, and the coordinators' queue of reports).

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <iostream>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tools/peerwellctl/checkin_format.h"
#include "tools/peerwellctl/command.h"
#include "tools/peerwellctl/command_support.h"
#include "tools/peerwellctl/format.h"
#include "tools/peerwellctl/identity.h"
#include "tools/peerwellctl/network_format.h"
#include "tools/peerwellctl/supervision_format.h"

namespace peerwell::ctl {
namespace {

using Stub = network_v1::PeerNetworkService::Stub;

// How often `tail` looks whether Ctrl-C was pressed; a signal handler may only set a flag, so
// the cancelling happens on a thread of its own.
constexpr auto kInterruptPoll = std::chrono::milliseconds(50);
// How long `tail` waits before resuming, doubling from the first to the last.
constexpr absl::Duration kFirstResumeDelay = absl::Milliseconds(250);
constexpr absl::Duration kLastResumeDelay = absl::Seconds(5);
// A stream that ends this soon without an event did not really resume; after this many such
// attempts in a row the service is taken to be gone rather than restarting.
constexpr absl::Duration kHealthyStream = absl::Seconds(10);
constexpr int kMaxFailedResumes = 8;
// ListMessages' own maximum page: the most `messages --last` asks for in one page.
constexpr int kMaxMessagesPage = 500;

// Set by the SIGINT handler while `network tail` runs.
std::atomic<bool> interrupted{false};

void OnInterrupt(int) { interrupted.store(true); }

std::string PositionalOr(const ParsedArgs& args, size_t index) {
  return args.positionals().size() > index ? args.positionals()[index] : "";
}

absl::StatusOr<int64_t> SequenceFlag(const ParsedArgs& args, absl::string_view flag) {
  auto count = ParseCount(flag, *args.Get(flag));
  if (!count.ok()) return count.status();
  return static_cast<int64_t>(*count);
}

// The id of the message `text` points at in `channel_id`: a sequence ("#3", "3") is looked up,
// anything else is taken to be an id already.
absl::StatusOr<std::string> MessageId(Context& context, const std::string& channel_id,
                                      absl::string_view flag, absl::string_view text) {
  auto ref = ParseMessageRef(flag, text);
  if (!ref.ok()) return ref.status();
  if (!ref->sequence.has_value()) return ref->message_id;
  network_v1::ListMessagesRequest request;
  request.set_channel_id(channel_id);
  request.set_after_sequence(*ref->sequence - 1);
  request.set_page_size(1);
  auto response = context.network.Call(&Stub::ListMessages, request, context.token);
  if (!response.ok()) return response.status();
  if (response->messages().empty() || response->messages(0).sequence() != *ref->sequence) {
    return absl::NotFoundError(absl::StrCat("no message #", *ref->sequence, " in channel ",
                                            channel_id, " (retention may have removed it)"));
  }
  return response->messages(0).message_id();
}

// The channel a change answered with, under a line saying what happened.
absl::Status PrintChannel(Context& context, const google::protobuf::Message& response,
                          const network_v1::Channel& channel, absl::string_view what) {
  return Print(
      context, response,
      absl::StrCat("channel ", channel.channel_id(), " ", what, "\n\n", ChannelText(channel)));
}

// The whole of stdin, less the line end a shell's echo or a here-document leaves.
absl::StatusOr<std::string> ReadBody() {
  if (isatty(STDIN_FILENO)) {
    std::cerr << "type the message; end it with Ctrl-D on a line of its own\n";
  }
  std::string body(std::istreambuf_iterator<char>(std::cin), {});
  if (std::cin.bad()) return UsageError("cannot read the message from stdin");
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
  return body;
}

// Where `tail` has got to in each channel, and what it knows to print the events.
struct TailState {
  std::string me;                            // the caller's person id, when the token says
  std::map<std::string, int64_t> cursors;    // the last sequence seen (or the start)
  std::map<std::string, std::string> names;  // channel id -> display name
  SequenceById sequences;                    // message id -> sequence, for replies
};

// The cursors of every channel the caller reads now (announcements, and channels they are a
// member of; not those they are only invited to, which Subscribe refuses): where the stream got
// to, or the newest message for a channel it has not shown. A channel the caller no longer reads
// is dropped, except, on the first call, one the user named with --cursor: the service says what
// is wrong with it.
absl::Status FollowedCursors(Context& context, TailState& state, bool first) {
  auto listed = FetchPages(context.network, context.token, &Stub::ListChannels,
                           network_v1::ListChannelsRequest(), /*all=*/true);
  if (!listed.ok()) return listed.status();
  std::map<std::string, int64_t> cursors;
  for (const network_v1::Channel& known : listed->channels()) {
    const auto& members = known.member_ids();
    bool member =
        !state.me.empty() && std::find(members.begin(), members.end(), state.me) != members.end();
    bool shown = state.me.empty() && state.cursors.contains(known.channel_id());
    if (known.kind() != network_v1::CHANNEL_KIND_ANNOUNCEMENT && !member && !shown) continue;
    auto seen = state.cursors.find(known.channel_id());
    cursors[known.channel_id()] =
        seen == state.cursors.end() ? known.last_sequence() : seen->second;
    state.names[known.channel_id()] = known.display_name();
  }
  if (first) cursors.insert(state.cursors.begin(), state.cursors.end());
  state.cursors = std::move(cursors);
  return absl::OkStatus();
}

void Track(const network_v1::NetworkEvent& event, TailState& state) {
  switch (event.event_type()) {
    case network_v1::NETWORK_EVENT_TYPE_MESSAGE_POSTED: {
      const network_v1::Message& message = event.message();
      int64_t& cursor = state.cursors[event.channel_id()];
      cursor = std::max(cursor, message.sequence());
      state.sequences[message.message_id()] = message.sequence();
      break;
    }
    case network_v1::NETWORK_EVENT_TYPE_CHANNEL_UPDATED: {
      const network_v1::Channel& channel = event.channel();
      if (!channel.display_name().empty()) state.names[event.channel_id()] = channel.display_name();
      if (state.me.empty()) break;  // a resume follows new channels from then on
      const auto& members = channel.member_ids();
      if (std::find(members.begin(), members.end(), state.me) == members.end()) {
        state.cursors.erase(event.channel_id());  // left, or only invited: Subscribe refuses it
      } else {
        // A channel joined while following starts at what it holds now, so that a resume later
        // neither misses its next message nor replays its history.
        state.cursors.try_emplace(event.channel_id(), channel.last_sequence());
      }
      break;
    }
    default:
      break;
  }
}

// The command that continues where `tail` stopped.
std::string ContinueHint(const std::string& channel, const TailState& state) {
  if (!channel.empty()) {
    auto found = state.cursors.find(channel);
    return absl::StrCat("peerwellctl network tail ", channel, " --after ",
                        found == state.cursors.end() ? 0 : found->second);
  }
  std::string hint = "peerwellctl network tail";
  for (const auto& [id, sequence] : state.cursors) {
    absl::StrAppend(&hint, " --cursor ", id, ":", sequence);
  }
  return hint;
}

// Sleeps `delay`, or less when Ctrl-C is pressed or `end` comes first. False when it was cut
// short.
bool Pause(absl::Duration delay, std::optional<absl::Time> end) {
  absl::Time until = absl::Now() + delay;
  if (end.has_value()) until = std::min(until, *end);
  while (absl::Now() < until) {
    if (interrupted.load()) return false;
    absl::SleepFor(std::min(absl::FromChrono(kInterruptPoll), until - absl::Now()));
  }
  return !interrupted.load() && (!end.has_value() || absl::Now() < *end);
}

}  // namespace

absl::Status RunNetworkChannels(Context& context, const ParsedArgs& args) {
  network_v1::ListChannelsRequest request;
  if (auto status = ApplyPaging(args, request); !status.ok()) return status;
  auto response =
      FetchPages(context.network, context.token, &Stub::ListChannels, request, args.Has("all"));
  if (!response.ok()) return response.status();
  std::vector<network_v1::Channel> channels(response->channels().begin(),
                                            response->channels().end());
  std::string human = channels.empty() ? "no channels yet\n" : ChannelsTable(channels);
  if (absl::Status printed = Print(context, *response, human); !printed.ok()) return printed;
  if (!context.json) NoteMorePages(response->next_page_token(), "channels");
  return absl::OkStatus();
}

absl::Status RunNetworkChannelGet(Context& context, const ParsedArgs& args) {
  network_v1::GetChannelRequest request;
  request.set_channel_id(args.positionals()[0]);
  auto response = context.network.Call(&Stub::GetChannel, request, context.token);
  if (!response.ok()) return response.status();
  return Print(context, *response, ChannelText(response->channel()));
}

absl::Status RunNetworkChannelCreate(Context& context, const ParsedArgs& args) {
  network_v1::CreateChannelRequest request;
  network_v1::Channel& channel = *request.mutable_channel();
  auto kind = ParseChannelKind("kind", *args.Get("kind"));
  if (!kind.ok()) return kind.status();
  channel.set_kind(*kind);
  channel.set_display_name(args.Get("name").value_or(""));
  for (const std::string& id : args.GetAll("member")) channel.add_member_ids(id);
  for (const std::string& id : args.GetAll("invite")) channel.add_invited_ids(id);
  if (auto text = args.Get("retention")) {
    auto span = ParseSpan("retention", *text);
    if (!span.ok()) return span.status();
    *channel.mutable_retention() = DurationToProto(*span);
  }
  request.set_request_id(args.Get("request-id").value_or(""));
  auto response = context.network.Call(&Stub::CreateChannel, request, context.token);
  if (!response.ok()) return response.status();
  const network_v1::Channel& created = response->channel();
  std::string what = "created";
  if (created.kind() == network_v1::CHANNEL_KIND_DIRECT) {
    what = "ready (one direct conversation per pair: an existing one comes back as it is)";
  } else if (!created.invited_ids().empty()) {
    what = "created; the people invited see it and may join with 'peerwellctl network join'";
  }
  return PrintChannel(context, *response, created, what);
}

absl::Status RunNetworkJoin(Context& context, const ParsedArgs& args) {
  network_v1::JoinChannelRequest request;
  request.set_channel_id(args.positionals()[0]);
  request.set_person_id(args.Get("person").value_or(""));
  auto response = context.network.Call(&Stub::JoinChannel, request, context.token);
  if (!response.ok()) return response.status();
  return PrintChannel(
      context, *response, response->channel(),
      absl::StrCat("joined", request.person_id().empty() ? "" : " by " + request.person_id()));
}

absl::Status RunNetworkLeave(Context& context, const ParsedArgs& args) {
  network_v1::LeaveChannelRequest request;
  request.set_channel_id(args.positionals()[0]);
  request.set_person_id(args.Get("person").value_or(""));
  auto response = context.network.Call(&Stub::LeaveChannel, request, context.token);
  if (!response.ok()) return response.status();
  return PrintChannel(
      context, *response, response->channel(),
      absl::StrCat("left", request.person_id().empty() ? "" : " by " + request.person_id()));
}

absl::Status RunNetworkPost(Context& context, const ParsedArgs& args) {
  network_v1::PostMessageRequest request;
  request.set_channel_id(args.positionals()[0]);
  std::string body = PositionalOr(args, 1);
  if (args.positionals().size() < 2 || body == "-") {
    auto read = ReadBody();
    if (!read.ok()) return read.status();
    body = *std::move(read);
  }
  if (body.empty()) return UsageError("the message is empty: give it as BODY or on stdin");
  request.set_body(body);
  if (auto reply_to = args.Get("reply-to")) {
    auto id = MessageId(context, request.channel_id(), "reply-to", *reply_to);
    if (!id.ok()) return id.status();
    request.set_reply_to_message_id(*id);
  }
  request.set_client_message_id(args.Get("client-message-id").value_or(""));
  auto response = context.network.Call(&Stub::PostMessage, request, context.token);
  if (!response.ok()) return response.status();
  const network_v1::Message& message = response->message();
  SequenceById sequences;
  if (auto reply_to = args.Get("reply-to")) {
    auto ref = ParseMessageRef("reply-to", *reply_to);
    if (ref.ok() && ref->sequence.has_value()) {
      sequences[message.reply_to_message_id()] = *ref->sequence;
    }
  }
  return Print(context, *response,
               absl::StrCat("posted #", message.sequence(), " in channel ", message.channel_id(),
                            "\n\n", MessageText(message, sequences)));
}

absl::Status RunNetworkMessages(Context& context, const ParsedArgs& args) {
  network_v1::ListMessagesRequest request;
  request.set_channel_id(args.positionals()[0]);
  if (args.Has("last") && (args.Has("after") || args.Has("before"))) {
    return UsageError(
        "--last counts back from the newest message: give it without --after or "
        "--before");
  }
  if (args.Has("after")) {
    auto after = SequenceFlag(args, "after");
    if (!after.ok()) return after.status();
    request.set_after_sequence(*after);
  }
  if (args.Has("before")) {
    auto before = SequenceFlag(args, "before");
    if (!before.ok()) return before.status();
    request.set_before_sequence(*before);
  }
  if (auto thread = args.Get("thread")) {
    auto id = MessageId(context, request.channel_id(), "thread", *thread);
    if (!id.ok()) return id.status();
    request.set_thread_root_message_id(*id);
  }
  if (auto status = ApplyPaging(args, request); !status.ok()) return status;
  if (args.Has("last")) {
    auto last = ParseCount("last", *args.Get("last"));
    if (!last.ok()) return last.status();
    if (*last == 0) return UsageError("--last: expected at least 1 message");
    network_v1::GetChannelRequest get;
    get.set_channel_id(request.channel_id());
    auto channel = context.network.Call(&Stub::GetChannel, get, context.token);
    if (!channel.ok()) return channel.status();
    request.set_after_sequence(std::max<int64_t>(0, channel->channel().last_sequence() - *last));
    if (!args.Has("page-size")) request.set_page_size(std::min(*last, kMaxMessagesPage));
  }
  auto response =
      FetchPages(context.network, context.token, &Stub::ListMessages, request, args.Has("all"));
  if (!response.ok()) return response.status();
  std::string human = response->messages().empty()
                          ? (args.Has("thread") ? "no messages in this thread\n" : "no messages\n")
                          : MessagesText(response->messages());
  if (absl::Status printed = Print(context, *response, human); !printed.ok()) return printed;
  if (!context.json) NoteMorePages(response->next_page_token(), "messages");
  return absl::OkStatus();
}

absl::Status RunNetworkTail(Context& context, const ParsedArgs& args) {
  std::string channel = PositionalOr(args, 0);
  if (args.Has("after") && channel.empty()) {
    return UsageError("--after needs a CHANNEL; to resume all your channels use --cursor");
  }
  if (args.Has("cursor") && !channel.empty()) {
    return UsageError("--cursor resumes all your channels; for one CHANNEL use --after");
  }
  int count = 0;  // 0: no limit
  if (auto text = args.Get("count")) {
    auto parsed = ParseCount("count", *text);
    if (!parsed.ok()) return parsed.status();
    if (*parsed == 0) return UsageError("--count: expected at least 1 event");
    count = *parsed;
  }
  std::optional<absl::Time> end;
  if (auto text = args.Get("for")) {
    auto parsed = ParseSpan("for", *text);
    if (!parsed.ok()) return parsed.status();
    end = absl::Now() + *parsed;
  }

  // Every channel starts from a cursor, also on the first call: a message posted while the
  // stream is being set up is not lost, and a resume asks for the channels the first call had.
  TailState state;
  if (!channel.empty()) {
    network_v1::GetChannelRequest get;
    get.set_channel_id(channel);
    auto found = context.network.Call(&Stub::GetChannel, get, context.token);
    if (!found.ok()) return found.status();
    state.names[channel] = found->channel().display_name();
    state.cursors[channel] = found->channel().last_sequence();
    if (args.Has("after")) {
      auto after = SequenceFlag(args, "after");
      if (!after.ok()) return after.status();
      state.cursors[channel] = *after;
    }
  } else {
    for (const std::string& text : args.GetAll("cursor")) {
      auto cursor = ParseCursor("cursor", text);
      if (!cursor.ok()) return cursor.status();
      state.cursors[cursor->channel_id()] = cursor->after_sequence();
    }
    // Without it, only the channels the stream has shown are resumed by cursor.
    state.me = TokenSubject(context.token).value_or("");
    if (absl::Status listed = FollowedCursors(context, state, /*first=*/true); !listed.ok()) {
      return listed;
    }
  }

  interrupted.store(false);
  auto previous_handler = std::signal(SIGINT, OnInterrupt);
  std::mutex call_mutex;
  grpc::ClientContext* current_call = nullptr;
  std::atomic<bool> finished{false};
  std::thread canceller([&] {
    while (!finished.load()) {
      if (interrupted.load()) {
        std::lock_guard<std::mutex> lock(call_mutex);
        if (current_call != nullptr) current_call->TryCancel();
      }
      std::this_thread::sleep_for(kInterruptPoll);
    }
  });

  int seen = 0;
  int failed_resumes = 0;
  absl::Duration delay = kFirstResumeDelay;
  absl::Status outcome = absl::OkStatus();
  for (bool first = true;; first = false) {
    // Channels joined or left while the stream was down count from this listing on.
    if (!first && channel.empty()) {
      absl::Status listed = FollowedCursors(context, state, /*first=*/false);
      if (!listed.ok() && listed.code() != absl::StatusCode::kUnavailable) {
        outcome = listed;
        break;
      }
    }
    network_v1::SubscribeRequest request;
    for (const auto& [id, sequence] : state.cursors) {
      network_v1::SubscribeCursor& cursor = *request.add_cursors();
      cursor.set_channel_id(id);
      cursor.set_after_sequence(sequence);
    }
    request.set_follow_new_channels(channel.empty());

    // A stream runs as long as the user wants: no --timeout, only --for bounds it.
    grpc::ClientContext call;
    if (end.has_value()) call.set_deadline(absl::ToChronoTime(*end));
    if (!context.token.empty()) {
      call.AddMetadata("authorization", absl::StrCat("Bearer ", context.token));
    }
    {
      std::lock_guard<std::mutex> lock(call_mutex);
      current_call = &call;
    }
    if (interrupted.load()) call.TryCancel();
    absl::Time started = absl::Now();
    auto reader = context.network.stub().Subscribe(&call, request);
    if (first) {
      // The service answers with its initial metadata once the stream is live.
      reader->WaitForInitialMetadata();
      std::cerr << "following "
                << (channel.empty() ? std::string("all your channels")
                                    : absl::StrCat("channel ", channel))
                << " at " << context.network.address() << "; Ctrl-C to stop\n";
    }
    int seen_here = 0;
    network_v1::NetworkEvent event;
    while (reader->Read(&event)) {
      Track(event, state);
      ++seen_here;
      if (context.json) {
        auto json = MessageToJson(event);
        if (!json.ok()) {
          outcome = json.status();
          call.TryCancel();
          break;
        }
        std::cout << *json << std::endl;
      } else {
        std::cout << NetworkEventText(event, state.names, state.sequences) << std::flush;
      }
      if (count > 0 && ++seen >= count) {
        call.TryCancel();
        break;
      }
    }
    while (reader->Read(&event)) {
    }  // after a cancel, whatever was already on its way
    grpc::Status status = reader->Finish();
    {
      std::lock_guard<std::mutex> lock(call_mutex);
      current_call = nullptr;
    }

    bool stopped_here = !outcome.ok() || interrupted.load() || (count > 0 && seen >= count) ||
                        (end.has_value() && absl::Now() >= *end);
    if (stopped_here || status.ok()) break;
    // Falling behind and a replica shutting down are what the stream's own contract says to
    // resume from, and a replica that goes away in the middle of a call ends it CANCELLED (this
    // side cancels only to stop, which ended the loop above). Anything else (a bad cursor, a
    // token that expired) would only fail again.
    if (status.error_code() != grpc::RESOURCE_EXHAUSTED &&
        status.error_code() != grpc::UNAVAILABLE && status.error_code() != grpc::CANCELLED) {
      outcome = StatusFromGrpc(status);
      break;
    }
    if (seen_here > 0 || absl::Now() - started >= kHealthyStream) {
      failed_resumes = 0;
      delay = kFirstResumeDelay;
    } else if (++failed_resumes > kMaxFailedResumes) {
      outcome = StatusFromGrpc(status);
      break;
    }
    std::string why = absl::StrCat(absl::StatusCodeToString(StatusFromGrpc(status).code()), ": ",
                                   status.error_message());
    if (failed_resumes <= 1) {
      std::cerr << "stream ended (" << why << "); resuming after the last message seen in "
                << (channel.empty() ? "each channel" : "the channel") << " in "
                << absl::FormatDuration(delay) << "\n";
    } else {
      std::cerr << "not resumed yet (" << why << "); trying again in "
                << absl::FormatDuration(delay) << "\n";
    }
    if (!Pause(delay, end)) break;
    delay = std::min(delay * 2, kLastResumeDelay);
  }
  finished.store(true);
  canceller.join();
  std::signal(SIGINT, previous_handler);

  if (!state.cursors.empty()) {
    std::cerr << "to continue from here: " << ContinueHint(channel, state) << "\n";
  }
  return outcome;
}

absl::Status RunNetworkMarkRead(Context& context, const ParsedArgs& args) {
  network_v1::MarkReadRequest request;
  request.set_channel_id(args.positionals()[0]);
  if (args.positionals().size() > 1) {
    auto ref = ParseMessageRef("SEQUENCE", args.positionals()[1]);
    if (!ref.ok()) return ref.status();
    if (!ref->sequence.has_value()) {
      return UsageError(
          absl::StrCat("expected a sequence such as 12 or #12, got '", args.positionals()[1], "'"));
    }
    request.set_sequence(*ref->sequence);
  } else {
    network_v1::GetChannelRequest get;
    get.set_channel_id(request.channel_id());
    auto channel = context.network.Call(&Stub::GetChannel, get, context.token);
    if (!channel.ok()) return channel.status();
    if (channel->channel().last_sequence() == 0) {
      std::cout << "nothing to mark: channel " << request.channel_id() << " has no messages\n";
      return absl::OkStatus();
    }
    request.set_sequence(channel->channel().last_sequence());
  }
  auto response = context.network.Call(&Stub::MarkRead, request, context.token);
  if (!response.ok()) return response.status();
  const network_v1::ReadMarker& marker = response->read_marker();
  std::string human =
      absl::StrCat(marker.sequence() > request.sequence()
                       ? absl::StrCat("already read further, up to #", marker.sequence(),
                                      " (markers only move forward)\n")
                       : absl::StrCat("read up to #", marker.sequence(), "\n"),
                   ReadMarkerText(marker));
  return Print(context, *response, human);
}

absl::Status RunNetworkReadMarkers(Context& context, const ParsedArgs& args) {
  network_v1::ListReadMarkersRequest request;
  request.set_channel_id(args.positionals()[0]);
  auto response = context.network.Call(&Stub::ListReadMarkers, request, context.token);
  if (!response.ok()) return response.status();
  return Print(context, *response,
               response->read_markers().empty()
                   ? "nobody in this channel shares how far they have read (read receipts are "
                     "off unless a person turns them on)\n"
                   : ReadMarkersTable(response->read_markers()));
}

absl::Status RunNetworkSettingsGet(Context& context, const ParsedArgs&) {
  auto response = context.network.Call(&Stub::GetNetworkSettings,
                                       network_v1::GetNetworkSettingsRequest(), context.token);
  if (!response.ok()) return response.status();
  return Print(context, *response, NetworkSettingsText(response->settings()));
}

absl::Status RunNetworkSettingsSet(Context& context, const ParsedArgs& args) {
  // UpdateNetworkSettings takes a field mask: only what the flags name changes.
  network_v1::UpdateNetworkSettingsRequest request;
  if (auto text = args.Get("read-receipts")) {
    auto on = ParseOnOff("read-receipts", *text);
    if (!on.ok()) return on.status();
    request.mutable_settings()->set_read_receipts(*on);
    request.mutable_update_mask()->add_paths("read_receipts");
  }
  if (request.update_mask().paths().empty()) {
    return UsageError("nothing to set: give --read-receipts on|off");
  }
  auto response = context.network.Call(&Stub::UpdateNetworkSettings, request, context.token);
  if (!response.ok()) return response.status();
  return Print(context, *response, NetworkSettingsText(response->settings()));
}

absl::Status RunNetworkDelete(Context& context, const ParsedArgs& args) {
  network_v1::DeleteMessageRequest request;
  request.set_channel_id(args.positionals()[0]);
  auto id = MessageId(context, request.channel_id(), "MESSAGE", args.positionals()[1]);
  if (!id.ok()) return id.status();
  request.set_message_id(*id);
  auto response = context.network.Call(&Stub::DeleteMessage, request, context.token);
  if (!response.ok()) return response.status();
  const network_v1::Message& message = response->message();
  return Print(context, *response,
               absl::StrCat("deleted #", message.sequence(),
                            "; it keeps its place in the channel with no text\n\n",
                            MessageText(message, {})));
}

absl::Status RunNetworkReport(Context& context, const ParsedArgs& args) {
  network_v1::ReportMessageRequest request;
  request.set_channel_id(args.positionals()[0]);
  auto id = MessageId(context, request.channel_id(), "MESSAGE", args.positionals()[1]);
  if (!id.ok()) return id.status();
  request.set_message_id(*id);
  request.set_reason(*args.Get("reason"));
  auto response = context.network.Call(&Stub::ReportMessage, request, context.token);
  if (!response.ok()) return response.status();
  return Print(context, *response,
               absl::StrCat("reported to the coordinators, who see who reported it; nobody else "
                            "does\n\n",
                            ReportText(response->report())));
}

absl::Status RunNetworkReports(Context& context, const ParsedArgs& args) {
  network_v1::ListReportsRequest request;
  for (const std::string& text : args.GetAll("state")) {
    auto state = ParseReportState("state", text);
    if (!state.ok()) return state.status();
    request.add_states(*state);
  }
  if (auto status = ApplyPaging(args, request); !status.ok()) return status;
  auto response =
      FetchPages(context.network, context.token, &Stub::ListReports, request, args.Has("all"));
  if (!response.ok()) return response.status();
  std::vector<network_v1::Report> reports(response->reports().begin(), response->reports().end());
  std::string human = reports.empty() ? "no reports\n" : ReportsText(reports);
  if (absl::Status printed = Print(context, *response, human); !printed.ok()) return printed;
  if (!context.json) NoteMorePages(response->next_page_token(), "reports");
  return absl::OkStatus();
}

absl::Status RunNetworkResolve(Context& context, const ParsedArgs& args) {
  network_v1::ResolveReportRequest request;
  request.set_report_id(args.positionals()[0]);
  auto action = ParseReportAction("action", *args.Get("action"));
  if (!action.ok()) return action.status();
  request.set_action(*action);
  request.set_note(args.Get("note").value_or(""));
  auto response = context.network.Call(&Stub::ResolveReport, request, context.token);
  if (!response.ok()) return response.status();
  return Print(context, *response,
               absl::StrCat(*action == network_v1::REPORT_ACTION_DELETE_MESSAGE
                                ? "resolved: the message is deleted\n\n"
                                : "resolved: dismissed, the message stays\n\n",
                            ReportText(response->report())));
}

std::vector<Command> NetworkCommands() {
  FlagSpec person = {"person", FlagKind::kValue, "ID",
                     "someone else (a coordinator adding or removing them in a group)"};
  std::vector<FlagSpec> messages_flags = {
      {"after", FlagKind::kValue, "N", "only messages after sequence N"},
      {"before", FlagKind::kValue, "N", "only messages before sequence N"},
      {"last", FlagKind::kValue, "N", "the newest N messages"},
      {"thread", FlagKind::kValue, "MESSAGE",
       "a thread: its first message (#N or id) and replies"}};
  for (FlagSpec& flag : PagingFlags()) messages_flags.push_back(std::move(flag));
  std::vector<FlagSpec> reports_flags = {
      {"state", FlagKind::kRepeated, "STATE", "open or resolved (repeatable; default all)"}};
  for (FlagSpec& flag : PagingFlags()) reports_flags.push_back(std::move(flag));
  constexpr absl::string_view kMessages =
      "A MESSAGE is its sequence in the channel (12 or #12, as 'network messages' shows) or its "
      "id.";
  std::vector<Command> commands = {
      {"network channels",
       {},
       "your channels with unread counts (announcements first)",
       PagingFlags(),
       "Lists the channels you are in or invited to, and the organisation's announcement\n"
       "channels, which everyone reads.",
       true,
       RunNetworkChannels,
       Backend::kNetwork},
      {"network channel get",
       {"CHANNEL"},
       "show a channel: members, invitations, retention, your unread count",
       {},
       "",
       true,
       RunNetworkChannelGet,
       Backend::kNetwork},
      {"network channel create",
       {},
       "create a group, announcement, direct or buddy channel",
       {{"kind", FlagKind::kValue, "KIND", "group, announcement, direct or buddy", true},
        {"name", FlagKind::kValue, "TEXT",
         "what people see (groups and announcements; the service names the others)"},
        {"member", FlagKind::kRepeated, "ID",
         "a member from the start (repeatable): a group's people, or the other person of a "
         "direct conversation"},
        {"invite", FlagKind::kRepeated, "ID",
         "invited until they join (repeatable): the other volunteer of a buddy pair"},
        {"retention", FlagKind::kValue, "SPAN",
         "delete messages older than this, 1d to 10 years (default 180d)"},
        {"request-id", FlagKind::kValue, "ID",
         "retries with the same id return the first channel instead of a second"}},
       "Coordinators create groups and announcement channels (only they post in announcements;\n"
       "everyone reads them); a coordinator is in a group they create only when named with\n"
       "--member. Anyone opens a direct conversation with one other person (asking\n"
       "again returns the one you have). A volunteer asks another volunteer to be buddies with\n"
       "--invite; nobody posts until both are in. Examples:\n"
       "  peerwellctl network channel create --kind group --name \"Tuesday co-facilitators\" \\\n"
       "      --member P1 --member P2 --invite P3\n"
       "  peerwellctl network channel create --kind buddy --invite P4",
       true,
       RunNetworkChannelCreate,
       Backend::kNetwork},
      {"network join",
       {"CHANNEL"},
       "join a channel you are invited to (coordinators: --person into a group)",
       {person},
       "",
       true,
       RunNetworkJoin,
       Backend::kNetwork},
      {"network leave",
       {"CHANNEL"},
       "leave a channel or decline an invitation (coordinators: --person)",
       {person},
       "You stop receiving the channel's messages at once.",
       true,
       RunNetworkLeave,
       Backend::kNetwork},
      {"network post",
       {"CHANNEL", "[BODY]"},
       "post a message (BODY, or stdin when BODY is absent or -)",
       {{"reply-to", FlagKind::kValue, "MESSAGE", "answer in the thread of this message"},
        {"client-message-id", FlagKind::kValue, "ID",
         "retries with the same id return the first message instead of a second"}},
       absl::StrCat("Up to 4,000 characters. Messages show your display name, never contact "
                    "details.\n",
                    kMessages,
                    "\nExamples:\n"
                    "  peerwellctl network post C1 \"Thanks, that helped.\" --reply-to 4\n"
                    "  peerwellctl network post C1 < message.txt"),
       true,
       RunNetworkPost,
       Backend::kNetwork},
      {"network messages",
       {"CHANNEL"},
       "read a channel's messages in order",
       messages_flags,
       absl::StrCat("From the first message kept, in pages of 50, unless --after, --before or "
                    "--last say\notherwise. ",
                    kMessages),
       true,
       RunNetworkMessages,
       Backend::kNetwork},
      {"network tail",
       {"[CHANNEL]"},
       "print messages as they arrive (one channel or all yours) until Ctrl-C",
       {{"after", FlagKind::kValue, "N", "with CHANNEL: start after sequence N (default: now)"},
        {"cursor", FlagKind::kRepeated, "CHANNEL:N",
         "without CHANNEL: continue that channel after sequence N (repeatable)"},
        {"count", FlagKind::kValue, "N", "stop after N events"},
        {"for", FlagKind::kValue, "SPAN", "stop after this long, e.g. 30m"}},
       "Without CHANNEL, follows every channel you are in, and those you join meanwhile.\n"
       "Events inside your quiet hours are marked [silent]. When the stream breaks (the service\n"
       "restarts, or you fell behind), it resumes after the last message seen in each channel:\n"
       "nothing is missed and nothing comes twice. With --json, each event is one line of JSON.\n"
       "--timeout does not apply. When it stops, the command that continues from there goes to\n"
       "stderr.",
       true,
       RunNetworkTail,
       Backend::kNetwork},
      {"network mark-read",
       {"CHANNEL", "[SEQUENCE]"},
       "mark a channel read up to SEQUENCE (default its newest message)",
       {},
       "Read markers only move forward. They are private unless you turn read receipts on\n"
       "('network settings set --read-receipts on').",
       true,
       RunNetworkMarkRead,
       Backend::kNetwork},
      {"network read-markers",
       {"CHANNEL"},
       "how far the members who share read receipts have read",
       {},
       "",
       true,
       RunNetworkReadMarkers,
       Backend::kNetwork},
      {"network settings get",
       {},
       "show your peer-network settings",
       {},
       "",
       true,
       RunNetworkSettingsGet,
       Backend::kNetwork},
      {"network settings set",
       {},
       "change your peer-network settings (only what is given)",
       {{"read-receipts", FlagKind::kValue, "on|off",
         "the members of your channels see how far you have read (default off)"}},
       "",
       true,
       RunNetworkSettingsSet,
       Backend::kNetwork},
      {"network delete",
       {"CHANNEL", "MESSAGE"},
       "delete a message (yours; coordinators: anyone's, as moderators)",
       {},
       absl::StrCat("The message keeps its sequence with no text. ", kMessages),
       true,
       RunNetworkDelete,
       Backend::kNetwork},
      {"network report",
       {"CHANNEL", "MESSAGE"},
       "report a message to the coordinators",
       {{"reason", FlagKind::kValue, "TEXT", "what is wrong (up to 1,000 characters)", true}},
       absl::StrCat("Only coordinators see who reported a message. ", kMessages),
       true,
       RunNetworkReport,
       Backend::kNetwork},
      {"network reports",
       {},
       "the moderation queue, newest first (coordinators)",
       reports_flags,
       "",
       true,
       RunNetworkReports,
       Backend::kNetwork},
      {"network resolve",
       {"REPORT"},
       "resolve a report: dismiss it or delete the message (coordinators)",
       {{"action", FlagKind::kValue, "ACTION", "dismiss or delete", true},
        {"note", FlagKind::kValue, "TEXT", "why, for the other coordinators"}},
       "",
       true,
       RunNetworkResolve,
       Backend::kNetwork},
  };
  return commands;
}

}  // namespace peerwell::ctl
