#include "services/network/network_service.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "services/common/ids.h"
#include "services/common/validation.h"

namespace peerwell::network {
namespace {

constexpr int kExpireBatch = 500;
// Sequences an export reads in one round trip: many small channels in one pipeline, and never a
// busy channel in one huge reply.
constexpr int64_t kExportBatch = 1000;
constexpr int kExportReportPage = 500;
// Sequences an erasure rewrites in one script: long enough to finish a channel in few steps,
// short enough not to hold Redis up for others.
constexpr int64_t kEraseBatch = 1000;

absl::Status Refused(absl::string_view reason, absl::string_view detail) {
  return absl::FailedPreconditionError(absl::StrCat(reason, ": ", detail));
}

bool IsCoordinator(const Caller& caller) { return caller.role == CallerRole::kCoordinator; }

// "<kind>:<a>:<b>" with the two ids in order, so that either person finds the same channel.
std::string PairKey(absl::string_view kind, const std::string& a, const std::string& b) {
  return a < b ? absl::StrCat(kind, ":", a, ":", b) : absl::StrCat(kind, ":", b, ":", a);
}

absl::Status ValidatePersonIds(absl::string_view field, const std::vector<std::string>& ids) {
  if (ids.size() > static_cast<size_t>(kMaxMembers)) {
    return InvalidField(field, absl::StrCat("names at most ", kMaxMembers, " people"));
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    if (!IsWellFormedId(ids[i], "p")) {
      return InvalidField(absl::StrCat(field, "[", i, "]"), "must be a person id");
    }
  }
  return absl::OkStatus();
}

std::vector<std::string> Unique(std::vector<std::string> ids) {
  std::vector<std::string> unique;
  absl::flat_hash_set<std::string> seen;
  for (std::string& id : ids) {
    if (seen.insert(id).second) unique.push_back(std::move(id));
  }
  return unique;
}

// The person's unread count in a channel: none in one they do not read (an invitation).
int64_t UnreadCount(const Channel& channel, const std::string& person_id,
                    const absl::flat_hash_map<std::string, ReadMarker>& markers) {
  if (channel.kind != ChannelKind::kAnnouncement && !channel.HasMember(person_id)) return 0;
  auto marker = markers.find(channel.channel_id);
  int64_t read = marker == markers.end() ? 0 : marker->second.sequence;
  read = std::max(read, channel.first_sequence - 1);
  return std::max<int64_t>(0, channel.last_sequence - read);
}

}  // namespace

bool Channel::HasMember(const std::string& person_id) const {
  return std::find(member_ids.begin(), member_ids.end(), person_id) != member_ids.end();
}

bool Channel::IsInvited(const std::string& person_id) const {
  return std::find(invited_ids.begin(), invited_ids.end(), person_id) != invited_ids.end();
}

bool IsQuietAt(const PersonFacts& person, absl::Time time) {
  return person.quiet_hours.has_value() &&
         InQuietHours(*person.quiet_hours, person.zone, time, time + absl::Nanoseconds(1));
}

absl::StatusOr<PersonFacts> NetworkService::ActivePerson(const Caller& caller) {
  if (!caller.IsMember()) {
    return absl::PermissionDeniedError("only people of the organisation use the peer network");
  }
  auto person = people_.GetPerson(caller.organization_id, caller.person_id);
  if (person.status().code() == absl::StatusCode::kNotFound || (person.ok() && !person->active)) {
    return absl::PermissionDeniedError("you are no longer an active member of the organisation");
  }
  return person;
}

absl::StatusOr<PersonFacts> NetworkService::ActiveNamed(const Caller& caller,
                                                        const std::string& person_id,
                                                        absl::string_view field) {
  auto person = people_.GetPerson(caller.organization_id, person_id);
  if (person.status().code() == absl::StatusCode::kNotFound || (person.ok() && !person->active)) {
    return InvalidField(field,
                        absl::StrCat(person_id, " is not an active person of the organisation"));
  }
  return person;
}

absl::StatusOr<Channel> NetworkService::VisibleChannel(const Caller& caller,
                                                       const std::string& channel_id) {
  if (!IsWellFormedId(channel_id, "ch")) return InvalidField("channel_id", "must be a channel id");
  return store_.GetChannel(caller.organization_id, channel_id);
}

absl::Status NetworkService::CheckReadable(const Caller& caller, const Channel& channel) {
  if (channel.kind == ChannelKind::kAnnouncement || channel.HasMember(caller.person_id)) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError("only the channel's members read or post in it");
}

absl::StatusOr<std::pair<Channel, bool>> NetworkService::ChannelForCaller(
    const Caller& caller, const std::string& channel_id) {
  if (!IsWellFormedId(channel_id, "ch")) return InvalidField("channel_id", "must be a channel id");
  return store_.GetChannelForMember(caller.organization_id, channel_id, caller.person_id);
}

absl::StatusOr<Channel> NetworkService::ReadableChannel(const Caller& caller,
                                                        const std::string& channel_id) {
  auto person = ActivePerson(caller);
  if (!person.ok()) return person.status();
  auto found = ChannelForCaller(caller, channel_id);
  if (!found.ok()) return found.status();
  auto& [channel, member] = *found;
  if (channel.kind != ChannelKind::kAnnouncement && !member) {
    return absl::PermissionDeniedError("only the channel's members read or post in it");
  }
  return std::move(channel);
}

absl::Status NetworkService::FillUnread(const Caller& caller, std::vector<Channel>& channels) {
  std::vector<std::string> ids;
  for (const Channel& channel : channels) ids.push_back(channel.channel_id);
  auto markers = store_.GetReadMarkers(caller.organization_id, caller.person_id, ids);
  if (!markers.ok()) return markers.status();
  for (Channel& channel : channels) {
    channel.unread_count = UnreadCount(channel, caller.person_id, *markers);
  }
  return absl::OkStatus();
}

absl::StatusOr<Channel> NetworkService::CreateChannel(const Caller& caller, Channel input,
                                                      const std::string& request_id) {
  if (!request_id.empty()) {
    if (absl::Status valid = ValidateToken("request_id", request_id); !valid.ok()) return valid;
  }
  if (input.retention == absl::ZeroDuration()) input.retention = kDefaultRetention;
  if (input.retention < kMinRetention || input.retention > kMaxRetention) {
    return InvalidField("channel.retention", "must be between 1 day and 10 years");
  }
  if (absl::Status valid = ValidatePersonIds("channel.member_ids", input.member_ids); !valid.ok()) {
    return valid;
  }
  if (absl::Status valid = ValidatePersonIds("channel.invited_ids", input.invited_ids);
      !valid.ok()) {
    return valid;
  }
  auto creator = ActivePerson(caller);
  if (!creator.ok()) return creator.status();

  Channel channel;
  channel.organization_id = caller.organization_id;
  channel.kind = input.kind;
  channel.retention = input.retention;
  channel.creator_id = caller.person_id;
  channel.create_time = clock_.Now();
  std::string pair_key;
  switch (input.kind) {
    case ChannelKind::kGroup:
    case ChannelKind::kAnnouncement: {
      if (!IsCoordinator(caller)) {
        return absl::PermissionDeniedError(
            "only coordinators create group and announcement channels");
      }
      if (absl::Status valid =
              ValidateText("channel.display_name", input.display_name, 1, kMaxDisplayNameChars);
          !valid.ok()) {
        return valid;
      }
      channel.display_name = input.display_name;
      if (input.kind == ChannelKind::kAnnouncement) {
        if (!input.member_ids.empty() || !input.invited_ids.empty()) {
          return InvalidField("channel.member_ids",
                              "must be empty: everyone in the organisation reads announcements");
        }
        break;
      }
      channel.member_ids = Unique(input.member_ids);
      for (std::string& id : Unique(input.invited_ids)) {
        if (!channel.HasMember(id)) channel.invited_ids.push_back(std::move(id));
      }
      break;
    }
    case ChannelKind::kDirect:
    case ChannelKind::kBuddy: {
      bool buddy = input.kind == ChannelKind::kBuddy;
      std::vector<std::string> named = input.member_ids;
      named.insert(named.end(), input.invited_ids.begin(), input.invited_ids.end());
      named.erase(std::remove(named.begin(), named.end(), caller.person_id), named.end());
      named = Unique(named);
      if (named.size() != 1) {
        return InvalidField(buddy ? "channel.invited_ids" : "channel.member_ids",
                            "must name exactly one other person");
      }
      auto other =
          ActiveNamed(caller, named[0], buddy ? "channel.invited_ids[0]" : "channel.member_ids[0]");
      if (!other.ok()) return other.status();
      if (buddy &&
          (creator->role != PersonRole::kVolunteer || other->role != PersonRole::kVolunteer)) {
        return absl::PermissionDeniedError("buddy pairs are between two volunteers");
      }
      channel.display_name =
          caller.person_id < other->person_id
              ? absl::StrCat(creator->display_name, " and ", other->display_name)
              : absl::StrCat(other->display_name, " and ", creator->display_name);
      channel.member_ids = {caller.person_id};
      if (buddy) {
        channel.invited_ids = {other->person_id};
      } else {
        channel.member_ids.push_back(other->person_id);
      }
      pair_key = PairKey(buddy ? "buddy" : "direct", caller.person_id, other->person_id);
      break;
    }
    default:
      return InvalidField("channel.kind", "must be GROUP, DIRECT, BUDDY or ANNOUNCEMENT");
  }
  // Everyone named must be a person of the organisation, so that nobody is added by a typo.
  for (size_t i = 0; input.kind == ChannelKind::kGroup &&
                     i < channel.member_ids.size() + channel.invited_ids.size();
       ++i) {
    bool member = i < channel.member_ids.size();
    const std::string& id =
        member ? channel.member_ids[i] : channel.invited_ids[i - channel.member_ids.size()];
    auto person = ActiveNamed(caller, id, member ? "channel.member_ids" : "channel.invited_ids");
    if (!person.ok()) return person.status();
  }
  channel.channel_id = NewId("ch");
  channel.pair_key = pair_key;
  // Namespaced, so that a request_id never replays another RPC's result (posts, reports).
  CreateRequest request{caller.person_id, ""};
  if (!request_id.empty()) request.request_id = absl::StrCat("channel:", request_id);
  auto id = store_.CreateChannel(channel, request);
  if (!id.ok()) return id.status();
  auto stored = store_.GetChannel(caller.organization_id, *id);
  if (!stored.ok()) return stored.status();
  // Asking again for an existing pair's channel brings back whoever asks, and invites a buddy who
  // declined or left once more (they are free to decline again).
  if (!pair_key.empty()) {
    bool changed = false;
    if (!stored->HasMember(caller.person_id)) {
      auto joined = store_.Join(caller.organization_id, *id, caller.person_id, clock_.Now());
      if (!joined.ok()) return joined.status();
      changed = true;
    }
    const std::string& other =
        channel.kind == ChannelKind::kBuddy ? channel.invited_ids[0] : channel.member_ids[1];
    if (stored->kind == ChannelKind::kBuddy && !stored->HasMember(other) &&
        !stored->IsInvited(other)) {
      auto invited = store_.Invite(caller.organization_id, *id, other, clock_.Now());
      if (!invited.ok()) return invited.status();
      changed = true;
    }
    if (changed) {
      stored = store_.GetChannel(caller.organization_id, *id);
      if (!stored.ok()) return stored.status();
    }
  }
  std::vector<Channel> one{*std::move(stored)};
  if (absl::Status filled = FillUnread(caller, one); !filled.ok()) return filled;
  return std::move(one[0]);
}

absl::StatusOr<Channel> NetworkService::GetChannel(const Caller& caller,
                                                   const std::string& channel_id) {
  auto person = ActivePerson(caller);
  if (!person.ok()) return person.status();
  auto channel = VisibleChannel(caller, channel_id);
  if (!channel.ok()) return channel.status();
  // An invitation is shown to the invited, so that they can accept it.
  if (!channel->IsInvited(caller.person_id)) {
    if (absl::Status readable = CheckReadable(caller, *channel); !readable.ok()) return readable;
  }
  std::vector<Channel> one{*std::move(channel)};
  if (absl::Status filled = FillUnread(caller, one); !filled.ok()) return filled;
  return std::move(one[0]);
}

absl::StatusOr<Page<Channel>> NetworkService::ListChannels(const Caller& caller, int page_size,
                                                           const std::string& position) {
  auto person = ActivePerson(caller);
  if (!person.ok()) return person.status();
  size_t offset = 0;
  if (!position.empty() && !absl::SimpleAtoi(position, &offset)) {
    return InvalidField("page_token", "is not a token of this listing");
  }
  auto announcements = store_.ListAnnouncementChannelIds(caller.organization_id);
  if (!announcements.ok()) return announcements.status();
  auto own = store_.ListPersonChannelIds(caller.organization_id, caller.person_id);
  if (!own.ok()) return own.status();
  std::vector<std::string> ids = *std::move(announcements);
  ids.insert(ids.end(), own->begin(), own->end());
  ids = Unique(std::move(ids));
  Page<Channel> page;
  if (offset >= ids.size()) return page;
  size_t end = std::min(ids.size(), offset + static_cast<size_t>(page_size));
  auto channels = store_.GetChannels(
      caller.organization_id, std::vector<std::string>(ids.begin() + offset, ids.begin() + end));
  if (!channels.ok()) return channels.status();
  if (absl::Status filled = FillUnread(caller, *channels); !filled.ok()) return filled;
  page.items = *std::move(channels);
  if (end < ids.size()) page.next_position = absl::StrCat(end);
  return page;
}

absl::StatusOr<NetworkService::MembershipChange> NetworkService::PrepareMembershipChange(
    const Caller& caller, const std::string& channel_id, const std::string& person_id) {
  if (!person_id.empty() && !IsWellFormedId(person_id, "p")) {
    return InvalidField("person_id", "must be a person id");
  }
  auto person = ActivePerson(caller);
  if (!person.ok()) return person.status();
  auto channel = VisibleChannel(caller, channel_id);
  if (!channel.ok()) return channel.status();
  if (channel->kind == ChannelKind::kAnnouncement) {
    return Refused(kAnnouncementChannel,
                   "everyone in the organisation reads announcement channels; there is nothing "
                   "to join or leave");
  }
  MembershipChange change{*std::move(channel), person_id.empty() ? caller.person_id : person_id};
  if (change.target != caller.person_id &&
      (!IsCoordinator(caller) || change.channel.kind != ChannelKind::kGroup)) {
    return absl::PermissionDeniedError("only coordinators add or remove other people, in groups");
  }
  return change;
}

absl::StatusOr<Channel> NetworkService::JoinChannel(const Caller& caller,
                                                    const std::string& channel_id,
                                                    const std::string& person_id) {
  auto change = PrepareMembershipChange(caller, channel_id, person_id);
  if (!change.ok()) return change.status();
  const Channel& channel = change->channel;
  const std::string& target = change->target;
  if (target != caller.person_id) {
    auto added = ActiveNamed(caller, target, "person_id");
    if (!added.ok()) return added.status();
  } else if (!channel.HasMember(target) && !channel.IsInvited(target)) {
    bool coordinator_to_group = IsCoordinator(caller) && channel.kind == ChannelKind::kGroup;
    // Someone who left a direct conversation may come back to it; nobody else joins uninvited.
    std::vector<std::string> pair = absl::StrSplit(channel.pair_key, ':');
    bool back_to_direct = channel.kind == ChannelKind::kDirect && pair.size() == 3 &&
                          (pair[1] == target || pair[2] == target);
    if (!coordinator_to_group && !back_to_direct) {
      return absl::PermissionDeniedError("you were not invited to this channel");
    }
  }
  auto joined = store_.Join(caller.organization_id, channel_id, target, clock_.Now());
  if (!joined.ok()) return joined.status();
  if (target == caller.person_id) return GetChannel(caller, channel_id);
  // A coordinator managing a group sees its membership, not its messages.
  return store_.GetChannel(caller.organization_id, channel_id);
}

absl::StatusOr<Channel> NetworkService::LeaveChannel(const Caller& caller,
                                                     const std::string& channel_id,
                                                     const std::string& person_id) {
  auto change = PrepareMembershipChange(caller, channel_id, person_id);
  if (!change.ok()) return change.status();
  const std::string& target = change->target;
  if (target == caller.person_id && !change->channel.HasMember(target) &&
      !change->channel.IsInvited(target)) {
    return absl::PermissionDeniedError("only the channel's members leave it");
  }
  auto left = store_.Leave(caller.organization_id, channel_id, target, clock_.Now());
  if (!left.ok()) return left.status();
  auto after = store_.GetChannel(caller.organization_id, channel_id);
  if (!after.ok()) return after.status();
  after->unread_count = 0;
  return after;
}

absl::StatusOr<Message> NetworkService::PostMessage(const Caller& caller,
                                                    const std::string& channel_id,
                                                    const std::string& body,
                                                    const std::string& reply_to_message_id,
                                                    const std::string& client_message_id) {
  if (body.empty()) return InvalidField("body", "must be 1–4,000 characters of UTF-8");
  if (absl::Status valid = ValidateFreeText("body", body, kMaxBodyChars); !valid.ok()) return valid;
  if (!client_message_id.empty()) {
    if (absl::Status valid = ValidateToken("client_message_id", client_message_id); !valid.ok()) {
      return valid;
    }
  }
  if (!reply_to_message_id.empty() && !IsWellFormedId(reply_to_message_id, "m")) {
    return InvalidField("reply_to_message_id", "must be a message id");
  }
  auto person = ActivePerson(caller);
  if (!person.ok()) return person.status();
  // Not the member lists (a post reads one membership; its script checks it again, atomically).
  auto found = ChannelForCaller(caller, channel_id);
  if (!found.ok()) return found.status();
  const Channel* channel = &found->first;
  PostRules rules;
  if (channel->kind == ChannelKind::kAnnouncement) {
    if (!IsCoordinator(caller)) {
      return absl::PermissionDeniedError("only coordinators post in announcement channels");
    }
    rules.members_only = false;
  } else if (!found->second) {
    return absl::PermissionDeniedError("only the channel's members read or post in it");
  }
  if (channel->kind == ChannelKind::kDirect || channel->kind == ChannelKind::kBuddy) {
    rules.required_members = 2;
  }

  Message message;
  message.message_id = NewId("m");
  message.channel_id = channel_id;
  message.author_id = caller.person_id;
  message.author_display_name = person->display_name;
  message.reply_to_message_id = reply_to_message_id;
  message.thread_root_message_id = message.message_id;
  message.create_time = clock_.Now();
  if (!reply_to_message_id.empty()) {
    auto sequence = store_.FindMessage(caller.organization_id, channel_id, reply_to_message_id);
    if (sequence.status().code() == absl::StatusCode::kNotFound) {
      return InvalidField("reply_to_message_id", "is not a message of this channel");
    }
    if (!sequence.ok()) return sequence.status();
    auto replied = store_.GetMessagesBySequence(caller.organization_id, channel_id, {*sequence});
    if (!replied.ok()) return replied.status();
    if (replied->empty()) return InvalidField("reply_to_message_id", "is no longer kept");
    // Threads are flat: a reply to a reply joins the thread of the message it answers.
    message.thread_root_message_id = replied->front().thread_root_message_id;
  }
  auto sealed = cipher_.Seal(caller.organization_id, channel_id, message.message_id, body);
  if (!sealed.ok()) return sealed.status();
  message.body = *std::move(sealed);
  CreateRequest request{caller.person_id, ""};
  if (!client_message_id.empty()) {
    request.request_id = absl::StrCat("post:", channel_id, ":", client_message_id);
  }
  auto posted = store_.PostMessage(caller.organization_id, message, rules, request);
  if (!posted.ok()) {
    if (posted.status().code() == absl::StatusCode::kFailedPrecondition &&
        absl::StartsWith(posted.status().message(), "TOO_FEW_MEMBERS")) {
      return channel->kind == ChannelKind::kBuddy
                 ? Refused(kBuddyNotAccepted, "nobody posts before both buddies have joined")
                 : Refused(kPeerLeft, "the other person has left this conversation");
    }
    return posted.status();
  }
  return Opened(caller.organization_id, std::move(posted->message));
}

absl::StatusOr<Message> NetworkService::Opened(const std::string& organization_id,
                                               Message message) {
  if (message.deleted || message.body.empty()) {
    message.body.clear();
    return message;
  }
  auto body = cipher_.Open(organization_id, message.channel_id, message.message_id, message.body);
  if (!body.ok()) return body.status();
  message.body = *std::move(body);
  return message;
}

absl::StatusOr<std::vector<Message>> NetworkService::OpenAll(const std::string& organization_id,
                                                             std::vector<Message> messages) {
  for (Message& message : messages) {
    auto opened = Opened(organization_id, std::move(message));
    if (!opened.ok()) return opened.status();
    message = *std::move(opened);
  }
  return messages;
}

absl::StatusOr<Page<Message>> NetworkService::ListMessages(const Caller& caller,
                                                           const std::string& channel_id,
                                                           const MessageQuery& query) {
  if (query.after_sequence < 0) return InvalidField("after_sequence", "must not be negative");
  if (query.before_sequence < 0) return InvalidField("before_sequence", "must not be negative");
  if (!query.thread_root_message_id.empty() && !IsWellFormedId(query.thread_root_message_id, "m")) {
    return InvalidField("thread_root_message_id", "must be a message id");
  }
  int64_t after = query.after_sequence;
  if (!query.position.empty()) {
    int64_t position = 0;
    if (!absl::SimpleAtoi(query.position, &position)) {
      return InvalidField("page_token", "is not a token of this listing");
    }
    after = std::max(after, position);
  }
  auto channel = ReadableChannel(caller, channel_id);
  if (!channel.ok()) return channel.status();
  Page<Message> page;
  std::vector<Message> messages;
  if (!query.thread_root_message_id.empty()) {
    auto root =
        store_.FindMessage(caller.organization_id, channel_id, query.thread_root_message_id);
    if (root.status().code() == absl::StatusCode::kNotFound) {
      return InvalidField("thread_root_message_id", "is not a message of this channel");
    }
    if (!root.ok()) return root.status();
    auto sequences =
        store_.ThreadSequences(caller.organization_id, channel_id, query.thread_root_message_id,
                               after, query.before_sequence, query.page_size + 1);
    if (!sequences.ok()) return sequences.status();
    if (sequences->size() > static_cast<size_t>(query.page_size)) {
      sequences->resize(query.page_size);
      page.next_position = absl::StrCat(sequences->back());
    }
    auto stored = store_.GetMessagesBySequence(caller.organization_id, channel_id, *sequences);
    if (!stored.ok()) return stored.status();
    messages = *std::move(stored);
  } else {
    // A position past the channel's last message asks for nothing newer (and its successor may
    // not exist: the fuzzer asked for what follows the largest int64).
    int64_t first = after < channel->last_sequence ? std::max(after + 1, channel->first_sequence)
                                                   : channel->last_sequence + 1;
    int64_t last = channel->last_sequence;
    if (query.before_sequence > 0) last = std::min(last, query.before_sequence - 1);
    if (first <= last) {
      int64_t page_last = std::min(last, first + query.page_size - 1);
      auto stored = store_.GetMessages(caller.organization_id, channel_id, first, page_last);
      if (!stored.ok()) return stored.status();
      messages = *std::move(stored);
      if (page_last < last) page.next_position = absl::StrCat(page_last);
    }
  }
  auto opened = OpenAll(caller.organization_id, std::move(messages));
  if (!opened.ok()) return opened.status();
  page.items = *std::move(opened);
  return page;
}

absl::StatusOr<ReadMarker> NetworkService::MarkRead(const Caller& caller,
                                                    const std::string& channel_id,
                                                    int64_t sequence) {
  if (sequence < 0) return InvalidField("sequence", "must not be negative");
  auto channel = ReadableChannel(caller, channel_id);
  if (!channel.ok()) return channel.status();
  if (sequence > channel->last_sequence) {
    return InvalidField("sequence", "is beyond the channel's last message");
  }
  return store_.MarkRead(caller.organization_id, caller.person_id, channel_id, sequence,
                         clock_.Now());
}

absl::StatusOr<std::vector<ReadMarker>> NetworkService::ListReadMarkers(
    const Caller& caller, const std::string& channel_id) {
  auto person = ActivePerson(caller);
  if (!person.ok()) return person.status();
  auto channel = VisibleChannel(caller, channel_id);
  if (!channel.ok()) return channel.status();
  if (absl::Status readable = CheckReadable(caller, *channel); !readable.ok()) return readable;
  auto settings = store_.GetSettingsOfPeople(caller.organization_id, channel->member_ids);
  if (!settings.ok()) return settings.status();
  std::vector<std::string> sharing;
  for (size_t i = 0; i < channel->member_ids.size(); ++i) {
    if ((*settings)[i].read_receipts) sharing.push_back(channel->member_ids[i]);
  }
  if (sharing.empty()) return std::vector<ReadMarker>{};
  return store_.GetChannelReadMarkers(caller.organization_id, channel_id, sharing);
}

absl::StatusOr<NetworkSettings> NetworkService::GetSettings(const Caller& caller) {
  auto person = ActivePerson(caller);
  if (!person.ok()) return person.status();
  return store_.GetSettings(caller.organization_id, caller.person_id);
}

absl::StatusOr<NetworkSettings> NetworkService::UpdateSettings(const Caller& caller,
                                                               std::optional<bool> read_receipts) {
  auto settings = GetSettings(caller);
  if (!settings.ok()) return settings.status();
  if (read_receipts.has_value()) settings->read_receipts = *read_receipts;
  if (absl::Status put = store_.PutSettings(caller.organization_id, caller.person_id, *settings);
      !put.ok()) {
    return put;
  }
  return settings;
}

absl::StatusOr<Message> NetworkService::DeleteMessage(const Caller& caller,
                                                      const std::string& channel_id,
                                                      const std::string& message_id) {
  if (!IsWellFormedId(message_id, "m")) return InvalidField("message_id", "must be a message id");
  auto person = ActivePerson(caller);
  if (!person.ok()) return person.status();
  auto channel = VisibleChannel(caller, channel_id);
  if (!channel.ok()) return channel.status();
  auto sequence = store_.FindMessage(caller.organization_id, channel_id, message_id);
  if (!sequence.ok()) return sequence.status();
  auto stored = store_.GetMessagesBySequence(caller.organization_id, channel_id, {*sequence});
  if (!stored.ok()) return stored.status();
  if (stored->empty()) return absl::NotFoundError("message_id: no such message");
  bool author = stored->front().author_id == caller.person_id;
  if (!author && !IsCoordinator(caller)) {
    if (!CheckReadable(caller, *channel).ok()) {
      return absl::PermissionDeniedError("only the channel's members read or post in it");
    }
    return absl::PermissionDeniedError("only the author or a coordinator deletes a message");
  }
  return store_.DeleteMessage(caller.organization_id, channel_id, message_id, clock_.Now());
}

absl::StatusOr<Report> NetworkService::ReportMessage(const Caller& caller,
                                                     const std::string& channel_id,
                                                     const std::string& message_id,
                                                     const std::string& reason) {
  if (!IsWellFormedId(message_id, "m")) return InvalidField("message_id", "must be a message id");
  if (reason.empty()) return InvalidField("reason", "must be 1–1,000 characters");
  if (absl::Status valid = ValidateFreeText("reason", reason, kMaxReasonChars); !valid.ok()) {
    return valid;
  }
  auto channel = ReadableChannel(caller, channel_id);
  if (!channel.ok()) return channel.status();
  auto sequence = store_.FindMessage(caller.organization_id, channel_id, message_id);
  if (!sequence.ok()) return sequence.status();
  Report report;
  report.report_id = NewId("r");
  report.channel_id = channel_id;
  report.message_id = message_id;
  report.reporter_id = caller.person_id;
  report.state = ReportState::kOpen;
  report.create_time = clock_.Now();
  auto sealed = cipher_.Seal(caller.organization_id, channel_id, report.report_id, reason);
  if (!sealed.ok()) return sealed.status();
  report.reason = *std::move(sealed);
  // One report per person and message: reporting it again answers the first report.
  auto id =
      store_.CreateReport(caller.organization_id, report,
                          CreateRequest{caller.person_id, absl::StrCat("report:", message_id)});
  if (!id.ok()) return id.status();
  auto stored = store_.GetReport(caller.organization_id, *id);
  if (!stored.ok()) return stored.status();
  return OpenReport(caller.organization_id, *std::move(stored));
}

absl::StatusOr<Report> NetworkService::OpenReport(const std::string& organization_id,
                                                  Report report) {
  auto reason = cipher_.Open(organization_id, report.channel_id, report.report_id, report.reason);
  if (!reason.ok()) return reason.status();
  report.reason = *std::move(reason);
  if (!report.note.empty()) {
    auto note = cipher_.Open(organization_id, report.channel_id,
                             absl::StrCat(report.report_id, "/note"), report.note);
    if (!note.ok()) return note.status();
    report.note = *std::move(note);
  }
  return report;
}

absl::StatusOr<Page<Report>> NetworkService::ListReports(const Caller& caller,
                                                         const std::vector<ReportState>& states,
                                                         int page_size,
                                                         const std::string& position) {
  if (!IsCoordinator(caller)) {
    return absl::PermissionDeniedError("only coordinators see the moderation queue");
  }
  auto person = ActivePerson(caller);
  if (!person.ok()) return person.status();
  auto page = store_.ListReports(caller.organization_id, states, page_size, position);
  if (!page.ok()) return page.status();
  for (Report& report : page->items) {
    auto opened = OpenReport(caller.organization_id, std::move(report));
    if (!opened.ok()) return opened.status();
    report = *std::move(opened);
  }
  return page;
}

absl::StatusOr<Report> NetworkService::ResolveReport(const Caller& caller,
                                                     const std::string& report_id,
                                                     ReportAction action, const std::string& note) {
  if (!IsWellFormedId(report_id, "r")) return InvalidField("report_id", "must be a report id");
  if (action != ReportAction::kDismiss && action != ReportAction::kDeleteMessage) {
    return InvalidField("action", "must be REPORT_ACTION_DISMISS or REPORT_ACTION_DELETE_MESSAGE");
  }
  if (absl::Status valid = ValidateFreeText("note", note, kMaxNoteChars); !valid.ok()) {
    return valid;
  }
  if (!IsCoordinator(caller)) {
    return absl::PermissionDeniedError("only coordinators resolve reports");
  }
  auto person = ActivePerson(caller);
  if (!person.ok()) return person.status();
  auto report = store_.GetReport(caller.organization_id, report_id);
  if (!report.ok()) return report.status();
  if (report->state == ReportState::kResolved) {
    return Refused(kReportResolved, "the report was resolved already");
  }
  report->state = ReportState::kResolved;
  report->action = action;
  report->resolve_time = clock_.Now();
  report->resolved_by = caller.person_id;
  report->note.clear();
  if (!note.empty()) {
    auto sealed = cipher_.Seal(caller.organization_id, report->channel_id,
                               absl::StrCat(report_id, "/note"), note);
    if (!sealed.ok()) return sealed.status();
    report->note = *std::move(sealed);
  }
  // Resolved first (only one coordinator's answer lands), then acted on: a retry of a failed
  // deletion is the moderator's DeleteMessage.
  if (absl::Status resolved = store_.ResolveReport(caller.organization_id, *report);
      !resolved.ok()) {
    return resolved;
  }
  if (action == ReportAction::kDeleteMessage) {
    auto deleted = store_.DeleteMessage(caller.organization_id, report->channel_id,
                                        report->message_id, clock_.Now());
    if (!deleted.ok() && deleted.status().code() != absl::StatusCode::kNotFound) {
      return deleted.status();
    }
  }
  return OpenReport(caller.organization_id, *std::move(report));
}

absl::StatusOr<Message> NetworkService::ReportedMessage(const Caller& caller,
                                                        const Report& report) {
  auto sequence = store_.FindMessage(caller.organization_id, report.channel_id, report.message_id);
  if (!sequence.ok()) return sequence.status();
  auto messages = LoadMessages(caller.organization_id, report.channel_id, *sequence, *sequence);
  if (!messages.ok()) return messages.status();
  if (messages->empty()) return absl::NotFoundError("the message is no longer kept");
  return std::move(messages->front());
}

absl::StatusOr<PersonFacts> NetworkService::Subscriber(const Caller& caller) {
  return ActivePerson(caller);
}

absl::StatusOr<std::vector<Channel>> NetworkService::FollowedChannels(const Caller& caller) {
  auto announcements = store_.ListAnnouncementChannelIds(caller.organization_id);
  if (!announcements.ok()) return announcements.status();
  auto own = store_.ListPersonChannelIds(caller.organization_id, caller.person_id);
  if (!own.ok()) return own.status();
  std::vector<std::string> ids = *std::move(announcements);
  ids.insert(ids.end(), own->begin(), own->end());
  auto channels = store_.GetChannels(caller.organization_id, Unique(std::move(ids)));
  if (!channels.ok()) return channels.status();
  std::vector<Channel> readable;
  for (Channel& channel : *channels) {
    if (CheckReadable(caller, channel).ok()) readable.push_back(std::move(channel));
  }
  return readable;
}

absl::StatusOr<std::vector<Message>> NetworkService::LoadMessages(
    const std::string& organization_id, const std::string& channel_id, int64_t first,
    int64_t last) {
  auto stored = store_.GetMessages(organization_id, channel_id, first, last);
  if (!stored.ok()) return stored.status();
  return OpenAll(organization_id, *std::move(stored));
}

absl::StatusOr<Channel> NetworkService::LoadChannel(const std::string& organization_id,
                                                    const std::string& channel_id) {
  return store_.GetChannel(organization_id, channel_id);
}

absl::StatusOr<std::vector<Channel>> NetworkService::LoadChannels(
    const std::string& organization_id, const std::vector<std::string>& channel_ids) {
  return store_.GetChannels(organization_id, channel_ids);
}

bool NetworkService::CanRead(const Caller& caller, const Channel& channel) {
  return CheckReadable(caller, channel).ok();
}

absl::StatusOr<PersonRecords> NetworkService::ExportPerson(const Caller& caller,
                                                           const std::string& person_id) {
  if (absl::Status allowed = CheckPersonRecordsRequest(caller, person_id); !allowed.ok()) {
    return allowed;
  }
  const std::string& org = caller.organization_id;
  auto own = store_.ListPersonChannelIds(org, person_id);
  if (!own.ok()) return own.status();
  auto markers = store_.GetAllReadMarkers(org, person_id);
  if (!markers.ok()) return markers.status();
  PersonRecords records;
  for (const auto& entry : *markers) records.read_markers.push_back(entry.second);
  std::sort(records.read_markers.begin(), records.read_markers.end(),
            [](const ReadMarker& a, const ReadMarker& b) { return a.channel_id < b.channel_id; });
  // Every post moves its author's read marker and markers are never removed, so the channels
  // with a marker, with those the person is in or invited to, are every channel that can hold a
  // message of theirs: channels they left and announcement channels they posted in as well.
  std::vector<std::string> ids = *own;
  for (const ReadMarker& marker : records.read_markers) ids.push_back(marker.channel_id);
  auto channels = store_.GetChannels(org, Unique(std::move(ids)));
  if (!channels.ok()) return channels.status();
  absl::flat_hash_set<std::string> theirs(own->begin(), own->end());
  for (const Channel& channel : *channels) {
    if (!theirs.contains(channel.channel_id)) continue;
    records.channels.push_back(channel);
    records.channels.back().unread_count = UnreadCount(channel, person_id, *markers);
  }
  auto messages = MessagesBy(org, person_id, *channels);
  if (!messages.ok()) return messages.status();
  records.messages = *std::move(messages);
  auto settings = store_.FindSettings(org, person_id);
  if (!settings.ok()) return settings.status();
  records.settings = *settings;
  auto reports = ReportsBy(org, person_id);
  if (!reports.ok()) return reports.status();
  records.reports = *std::move(reports);
  return records;
}

absl::StatusOr<std::vector<Message>> NetworkService::MessagesBy(
    const std::string& organization_id, const std::string& author_id,
    const std::vector<Channel>& channels) {
  // No index by author: each channel is read whole. What bounds it is retention: a channel keeps
  // the sequences of 180 days by default (10 years at most), and they are read kExportBatch a
  // round trip, however they are spread over the channels.
  std::vector<Message> authored;
  std::vector<SequenceRange> batch;
  int64_t batched = 0;
  auto read_batch = [&]() -> absl::Status {
    auto stored = store_.GetMessageRanges(organization_id, batch);
    batch.clear();
    batched = 0;
    if (!stored.ok()) return stored.status();
    for (Message& message : *stored) {
      if (message.author_id != author_id) continue;
      auto opened = Opened(organization_id, std::move(message));
      if (!opened.ok()) return opened.status();
      authored.push_back(*std::move(opened));
    }
    return absl::OkStatus();
  };
  for (const Channel& channel : channels) {
    for (int64_t first = channel.first_sequence; first <= channel.last_sequence;) {
      int64_t last = std::min(channel.last_sequence, first + (kExportBatch - batched) - 1);
      batch.push_back({channel.channel_id, first, last});
      batched += last - first + 1;
      first = last + 1;
      if (batched == kExportBatch) {
        if (absl::Status read = read_batch(); !read.ok()) return read;
      }
    }
  }
  if (!batch.empty()) {
    if (absl::Status read = read_batch(); !read.ok()) return read;
  }
  return authored;
}

absl::StatusOr<std::vector<Report>> NetworkService::ReportsBy(const std::string& organization_id,
                                                              const std::string& reporter_id) {
  // No index by reporter: the organisation's moderation queue is read a page at a time. What
  // bounds it is the queue itself (at most one report per person and message; reports outlive
  // the messages they are about).
  std::vector<Report> filed;
  std::string position;
  do {
    auto page = store_.ListReports(organization_id, {}, kExportReportPage, position);
    if (!page.ok()) return page.status();
    for (Report& report : page->items) {
      if (report.reporter_id != reporter_id) continue;
      // The resolution note and who wrote it are the coordinator's, shown to coordinators only.
      report.note.clear();
      report.resolved_by.clear();
      auto opened = OpenReport(organization_id, std::move(report));
      if (!opened.ok()) return opened.status();
      filed.push_back(*std::move(opened));
    }
    position = page->next_position;
  } while (!position.empty());
  return filed;
}

absl::Status NetworkService::ErasePerson(const std::string& organization_id,
                                         const std::string& person_id) {
  // The ids become parts of key patterns, where a malformed one could match others' keys.
  if (!IsWellFormedId(organization_id, "o") || !IsWellFormedId(person_id, "p")) {
    return absl::InvalidArgumentError("an erasure names a malformed organisation or person id");
  }
  const std::string& org = organization_id;
  auto own = store_.ListPersonChannelIds(org, person_id);
  if (!own.ok()) return own.status();
  auto markers = store_.GetAllReadMarkers(org, person_id);
  if (!markers.ok()) return markers.status();
  auto naming = store_.ListChannelIdsNaming(org, person_id);
  if (!naming.ok()) return naming.status();
  // As for an export, their channels and those with a marker of theirs hold every message of
  // theirs; the others name them otherwise (they created one, or were one of its pair).
  std::vector<std::string> ids = *own;
  for (const auto& [channel_id, marker] : *markers) ids.push_back(channel_id);
  ids.insert(ids.end(), naming->begin(), naming->end());
  auto channels = store_.GetChannels(org, Unique(std::move(ids)));
  if (!channels.ok()) return channels.status();

  // Their texts first, so that an erasure stopped here already left none of them readable.
  for (const Channel& channel : *channels) {
    for (int64_t first = channel.first_sequence; first <= channel.last_sequence;
         first += kEraseBatch) {
      int64_t last = std::min(channel.last_sequence, first + kEraseBatch - 1);
      auto erased = store_.EraseMessagesBy(org, channel.channel_id, person_id, kFormerMember, first,
                                           last, clock_.Now());
      if (!erased.ok()) return erased.status();
    }
  }
  if (absl::Status reports = EraseReports(org, person_id); !reports.ok()) return reports;

  // Then their place in the channels. A channel of theirs that no longer exists was deleted by
  // an earlier run that stopped before the end: what follows a deletion is done again for it.
  absl::flat_hash_set<std::string> theirs(own->begin(), own->end());
  absl::flat_hash_set<std::string> existing;
  for (const Channel& channel : *channels) existing.insert(channel.channel_id);
  std::vector<std::string> deleted;
  for (const std::string& id : *own) {
    if (!existing.contains(id)) deleted.push_back(id);
  }
  for (const Channel& channel : *channels) {
    std::optional<std::string> pair_name;
    std::vector<std::string> pair = absl::StrSplit(channel.pair_key, ':');
    if (pair.size() == 3 && (pair[1] == person_id || pair[2] == person_id)) {
      auto name = PairNameWithout(channel, person_id);
      if (!name.ok()) return name.status();
      pair_name = *std::move(name);
    }
    auto empty = store_.RemoveErasedPerson(channel, person_id, pair_name, clock_.Now());
    if (empty.status().code() == absl::StatusCode::kNotFound) {
      // Deleted meanwhile by another run of this erasure (the directory announces it again).
      if (theirs.contains(channel.channel_id)) deleted.push_back(channel.channel_id);
      continue;
    }
    if (!empty.ok()) return empty.status();
    // Only a channel they were in goes: one nobody was in before is left as it was.
    if (!*empty || !theirs.contains(channel.channel_id)) continue;
    auto gone = store_.DeleteEmptyChannel(org, channel.channel_id);
    if (!gone.ok()) return gone.status();
    if (*gone) deleted.push_back(channel.channel_id);
  }
  if (absl::Status events = store_.DeleteEventsNaming(org, person_id, deleted); !events.ok()) {
    return events;
  }
  if (absl::Status requests = store_.DeleteRequests(org, person_id, deleted); !requests.ok()) {
    return requests;
  }
  if (absl::Status others = store_.DeleteReadMarkersOf(org, deleted); !others.ok()) {
    return others;
  }
  // Last: their own keys are how a run that stopped half way finds their channels again.
  return store_.DeletePersonKeys(org, person_id);
}

absl::StatusOr<std::string> NetworkService::PairNameWithout(const Channel& channel,
                                                            const std::string& erased_id) {
  // "<kind>:<a>:<b>", named "<a's name> and <b's name>" as CreateChannel names it.
  std::vector<std::string> pair = absl::StrSplit(channel.pair_key, ':');
  std::vector<std::string> names;
  for (size_t i = 1; i < pair.size(); ++i) {
    if (pair[i] == erased_id) {
      names.push_back(kFormerMember);
      continue;
    }
    auto person = people_.GetPerson(channel.organization_id, pair[i]);
    if (person.status().code() == absl::StatusCode::kNotFound) {
      names.push_back(kFormerMember);  // erased before
      continue;
    }
    if (!person.ok()) return person.status();
    names.push_back(person->display_name);
  }
  return absl::StrJoin(names, " and ");
}

absl::Status NetworkService::EraseReports(const std::string& organization_id,
                                          const std::string& person_id) {
  // No index by reporter or resolver (ReportsBy): the whole queue, read before anything is
  // removed from it, since its pages are positions in it.
  std::vector<std::string> filed;
  std::vector<std::string> resolved;
  std::string position;
  do {
    auto page = store_.ListReports(organization_id, {}, kExportReportPage, position);
    if (!page.ok()) return page.status();
    for (const Report& report : page->items) {
      if (report.reporter_id == person_id) {
        filed.push_back(report.report_id);
      } else if (report.resolved_by == person_id) {
        resolved.push_back(report.report_id);
      }
    }
    position = page->next_position;
  } while (!position.empty());
  // A report they resolved is the reporter's: it stays resolved, without their name or the note
  // they wrote.
  for (const std::string& report_id : resolved) {
    if (absl::Status forgot = store_.ForgetResolver(organization_id, report_id, person_id);
        !forgot.ok()) {
      return forgot;
    }
  }
  return store_.DeleteReports(organization_id, filed);
}

absl::Status NetworkService::ExpireMessages() {
  auto organizations = store_.ListOrganizations();
  if (!organizations.ok()) return organizations.status();
  absl::Status first_error;
  for (const std::string& organization_id : *organizations) {
    auto ids = store_.ListAllChannelIds(organization_id);
    if (!ids.ok()) return ids.status();
    auto channels = store_.GetChannels(organization_id, *ids);
    if (!channels.ok()) return channels.status();
    for (const Channel& channel : *channels) {
      absl::Time cutoff = clock_.Now() - channel.retention;
      for (;;) {
        auto removed =
            store_.ExpireMessages(organization_id, channel.channel_id, cutoff, kExpireBatch);
        if (!removed.ok()) {
          first_error.Update(removed.status());
          break;
        }
        if (*removed < kExpireBatch) break;
      }
    }
  }
  return first_error;
}

}  // namespace peerwell::network
