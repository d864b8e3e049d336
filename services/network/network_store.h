#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/common/create_request.h"
#include "services/network/network.h"

namespace peerwell::network {

// What posting requires, checked atomically with the post so that a member removed a moment
// earlier cannot slip a message in.
struct PostRules {
  bool members_only = true;  // false for announcement channels (the service checks the role)
  int required_members = 0;  // DIRECT and BUDDY: both people must be members
};

struct PostResult {
  Message message;  // with sequence and thread root; body as sealed
  bool replayed = false;
};

// A channel's sequences in [first, last].
struct SequenceRange {
  std::string channel_id;
  int64_t first = 0;
  int64_t last = 0;
};

// A page of a listing: the items and the position after them (empty on the last page).
template <typename T>
struct Page {
  std::vector<T> items;
  std::string next_position;
};

// Storage of the peer network. Bodies, report reasons and notes arrive here already sealed
// (TextCipher): the store never sees plain text. Every write that changes what subscribers see
// publishes its event in the same atomic step.
class NetworkStore {
 public:
  virtual ~NetworkStore() = default;

  // Creates the channel with its members and invitations, at most once per request. A DIRECT or
  // BUDDY channel has a pair key: when a channel of that pair exists, its id is answered and
  // nothing is written.
  virtual absl::StatusOr<std::string> CreateChannel(const Channel& channel,
                                                    const CreateRequest& request) = 0;
  // NOT_FOUND when the organisation has no such channel.
  virtual absl::StatusOr<Channel> GetChannel(const std::string& organization_id,
                                             const std::string& channel_id) = 0;
  // The channel without its member and invitation lists, and whether `person_id` is a member:
  // what reading or posting needs, in one round trip however large the channel.
  virtual absl::StatusOr<std::pair<Channel, bool>> GetChannelForMember(
      const std::string& organization_id, const std::string& channel_id,
      const std::string& person_id) = 0;
  // The channels that exist among `channel_ids`, in that order.
  virtual absl::StatusOr<std::vector<Channel>> GetChannels(
      const std::string& organization_id, const std::vector<std::string>& channel_ids) = 0;
  // The organisation's announcement channels, oldest first.
  virtual absl::StatusOr<std::vector<std::string>> ListAnnouncementChannelIds(
      const std::string& organization_id) = 0;
  // The channels a person belongs to or is invited to, in the order they came to them.
  virtual absl::StatusOr<std::vector<std::string>> ListPersonChannelIds(
      const std::string& organization_id, const std::string& person_id) = 0;
  // Every organisation that has channels (for the retention sweep) and its channels.
  virtual absl::StatusOr<std::vector<std::string>> ListOrganizations() = 0;
  virtual absl::StatusOr<std::vector<std::string>> ListAllChannelIds(
      const std::string& organization_id) = 0;

  // Makes the person a member (an invitation becomes membership) with their read marker at the
  // channel's end; answers false when they were a member already.
  virtual absl::StatusOr<bool> Join(const std::string& organization_id,
                                    const std::string& channel_id, const std::string& person_id,
                                    absl::Time now) = 0;
  // Invites the person (again); false when they are a member or invited already.
  virtual absl::StatusOr<bool> Invite(const std::string& organization_id,
                                      const std::string& channel_id, const std::string& person_id,
                                      absl::Time now) = 0;
  // Removes the person's membership or invitation; false when they had neither.
  virtual absl::StatusOr<bool> Leave(const std::string& organization_id,
                                     const std::string& channel_id, const std::string& person_id,
                                     absl::Time now) = 0;

  // Takes the channel's next sequence and stores the message, at most once per request (the
  // author's client_message_id in the channel); a replay answers the first message. Also moves
  // the author's read marker to the new message. Too few members for the rules is
  // FAILED_PRECONDITION "TOO_FEW_MEMBERS".
  virtual absl::StatusOr<PostResult> PostMessage(const std::string& organization_id,
                                                 const Message& message, const PostRules& rules,
                                                 const CreateRequest& request) = 0;
  // The stored messages with sequences in [first, last], ascending; sequences removed by
  // retention are absent.
  virtual absl::StatusOr<std::vector<Message>> GetMessages(const std::string& organization_id,
                                                           const std::string& channel_id,
                                                           int64_t first, int64_t last) = 0;
  virtual absl::StatusOr<std::vector<Message>> GetMessagesBySequence(
      const std::string& organization_id, const std::string& channel_id,
      const std::vector<int64_t>& sequences) = 0;
  // The stored messages of several ranges, possibly of several channels, in one round trip: range
  // by range, each ascending; sequences removed by retention are absent.
  virtual absl::StatusOr<std::vector<Message>> GetMessageRanges(
      const std::string& organization_id, const std::vector<SequenceRange>& ranges) = 0;
  // The sequence of a message of the channel, or NOT_FOUND.
  virtual absl::StatusOr<int64_t> FindMessage(const std::string& organization_id,
                                              const std::string& channel_id,
                                              const std::string& message_id) = 0;
  // The sequences of a thread (its root and replies) in (after, before), ascending, at most
  // `limit`; before 0 means no bound.
  virtual absl::StatusOr<std::vector<int64_t>> ThreadSequences(const std::string& organization_id,
                                                               const std::string& channel_id,
                                                               const std::string& root_message_id,
                                                               int64_t after, int64_t before,
                                                               int limit) = 0;
  // Empties the message's body and marks it deleted (it keeps its sequence); answers the
  // message as it is now. Deleting twice changes nothing.
  virtual absl::StatusOr<Message> DeleteMessage(const std::string& organization_id,
                                                const std::string& channel_id,
                                                const std::string& message_id, absl::Time now) = 0;
  // Removes messages created before `cutoff` from the start of the channel, at most `limit`;
  // answers how many went.
  virtual absl::StatusOr<int> ExpireMessages(const std::string& organization_id,
                                             const std::string& channel_id, absl::Time cutoff,
                                             int limit) = 0;

  // Read markers of one person, by channel (absent: never marked).
  virtual absl::StatusOr<absl::flat_hash_map<std::string, ReadMarker>> GetReadMarkers(
      const std::string& organization_id, const std::string& person_id,
      const std::vector<std::string>& channel_ids) = 0;
  // Every read marker of one person, by channel: those of channels they left stay.
  virtual absl::StatusOr<absl::flat_hash_map<std::string, ReadMarker>> GetAllReadMarkers(
      const std::string& organization_id, const std::string& person_id) = 0;
  // The markers of `person_ids` in one channel (absent: never marked).
  virtual absl::StatusOr<std::vector<ReadMarker>> GetChannelReadMarkers(
      const std::string& organization_id, const std::string& channel_id,
      const std::vector<std::string>& person_ids) = 0;
  // Moves the marker forward (never back); answers the marker as it is now.
  virtual absl::StatusOr<ReadMarker> MarkRead(const std::string& organization_id,
                                              const std::string& person_id,
                                              const std::string& channel_id, int64_t sequence,
                                              absl::Time now) = 0;

  virtual absl::StatusOr<NetworkSettings> GetSettings(const std::string& organization_id,
                                                      const std::string& person_id) = 0;
  // The settings as stored: nullopt when the person never set any (GetSettings gives defaults).
  virtual absl::StatusOr<std::optional<NetworkSettings>> FindSettings(
      const std::string& organization_id, const std::string& person_id) = 0;
  virtual absl::StatusOr<std::vector<NetworkSettings>> GetSettingsOfPeople(
      const std::string& organization_id, const std::vector<std::string>& person_ids) = 0;
  virtual absl::Status PutSettings(const std::string& organization_id, const std::string& person_id,
                                   const NetworkSettings& settings) = 0;

  // Adds a report to the organisation's moderation queue, at most once per request.
  virtual absl::StatusOr<std::string> CreateReport(const std::string& organization_id,
                                                   const Report& report,
                                                   const CreateRequest& request) = 0;
  virtual absl::StatusOr<Report> GetReport(const std::string& organization_id,
                                           const std::string& report_id) = 0;
  // Newest first; `states` empty means every state.
  virtual absl::StatusOr<Page<Report>> ListReports(const std::string& organization_id,
                                                   const std::vector<ReportState>& states,
                                                   int page_size, const std::string& position) = 0;
  // Resolves an open report; FAILED_PRECONDITION (REPORT_RESOLVED) when it was resolved already.
  virtual absl::Status ResolveReport(const std::string& organization_id,
                                     const Report& resolved) = 0;

  // --- Erasing a person (GDPR article 17) ------------------------------------------------------
  // Every step is idempotent, so that an erasure stopped half way finishes when run again.
  //
  // The organisation's channels whose own records name the person: member, invited, creator, or
  // one of a DIRECT or BUDDY pair.
  virtual absl::StatusOr<std::vector<std::string>> ListChannelIdsNaming(
      const std::string& organization_id, const std::string& person_id) = 0;
  // Rewrites the messages of `author_id` with sequences in [first, last] as an erased author's:
  // no author id, shown as `shown_as`, no body, deleted; id, sequence, thread, reply and time
  // stay. Each one's message.posted entry goes and a message.deleted is published for it, in the
  // same atomic step. Answers how many it rewrote.
  virtual absl::StatusOr<int> EraseMessagesBy(const std::string& organization_id,
                                              const std::string& channel_id,
                                              const std::string& author_id,
                                              const std::string& shown_as, int64_t first,
                                              int64_t last, absl::Time now) = 0;
  // Takes an erased person out of `channel` (as read before): out of its members and
  // invitations, and no longer its creator; with `pair_display_name` (a pair of theirs) the
  // pair's key goes, the channel is no longer the pair's and takes that name. When anything
  // changed and members remain, channel.updated (change "member_erased", naming nobody) tells
  // its followers. Answers whether the channel has no members left; NOT_FOUND when it is gone.
  virtual absl::StatusOr<bool> RemoveErasedPerson(
      const Channel& channel, const std::string& person_id,
      const std::optional<std::string>& pair_display_name, absl::Time now) = 0;
  // Deletes a channel that has no members (never an announcement channel): its data key, its
  // messages and their indexes and stream entries, its pair key, its place in the organisation's
  // indexes and in its invited people's. False, and nothing deleted, when it has members.
  virtual absl::StatusOr<bool> DeleteEmptyChannel(const std::string& organization_id,
                                                  const std::string& channel_id) = 0;
  // Removes reports and their places in the moderation queues.
  virtual absl::Status DeleteReports(const std::string& organization_id,
                                     const std::vector<std::string>& report_ids) = 0;
  // When `resolver_id` resolved the report: who resolved it and their note go; the resolution
  // (state, action, time) stays.
  virtual absl::Status ForgetResolver(const std::string& organization_id,
                                      const std::string& report_id,
                                      const std::string& resolver_id) = 0;
  // Deletes the entries of the organisation's event stream and its dead letters that name the
  // person (a field that is their id or a space- or comma-separated list holding it), and those
  // of `deleted_channel_ids`.
  virtual absl::Status DeleteEventsNaming(const std::string& organization_id,
                                          const std::string& person_id,
                                          const std::vector<std::string>& deleted_channel_ids) = 0;
  // Deletes the request keys of the person's calls, and those of anyone's channel creations that
  // answer one of `deleted_channel_ids`.
  virtual absl::Status DeleteRequests(const std::string& organization_id,
                                      const std::string& person_id,
                                      const std::vector<std::string>& deleted_channel_ids) = 0;
  // Removes everyone's read markers of the channels (deleted ones).
  virtual absl::Status DeleteReadMarkersOf(const std::string& organization_id,
                                           const std::vector<std::string>& channel_ids) = 0;
  // Deletes the person's own keys: their channel index, read markers and settings.
  virtual absl::Status DeletePersonKeys(const std::string& organization_id,
                                        const std::string& person_id) = 0;
};

}  // namespace peerwell::network
