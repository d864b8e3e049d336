#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/common/caller.h"
#include "services/common/clock.h"
#include "services/common/quiet_hours.h"
#include "services/common/text_cipher.h"
#include "services/network/network.h"
#include "services/network/network_store.h"

namespace peerwell::network {

enum class PersonRole { kVolunteer, kSupervisor, kCoordinator };

// What the network needs to know about a person, from the directory.
struct PersonFacts {
  std::string person_id;
  std::string display_name;
  PersonRole role = PersonRole::kVolunteer;
  bool active = true;  // inactive people (gone from the organisation) are refused everything
  absl::TimeZone zone = absl::UTCTimeZone();
  std::optional<QuietHours> quiet_hours;
};

// The directory as the network sees it (DirectoryPeople adapts the gRPC client).
class PeopleDirectory {
 public:
  virtual ~PeopleDirectory() = default;
  // NOT_FOUND when the person is not in the organisation.
  virtual absl::StatusOr<PersonFacts> GetPerson(const std::string& organization_id,
                                                const std::string& person_id) = 0;
  // Drops what is cached about a person, so the next read sees a change at once.
  virtual void Forget(const std::string& organization_id, const std::string& person_id) = 0;
};

struct MessageQuery {
  int64_t after_sequence = 0;
  int64_t before_sequence = 0;  // 0: no bound
  std::string thread_root_message_id;
  int page_size = 50;
  std::string position;  // the last sequence of the previous page
};

// Messages and reports are sealed under their channel's data key, kept here.
inline const DataKeyFamily kChannelKeys{"network", "peerwell message"};

// Whether a person is in their quiet hours at `time`: events reaching them then are silent.
bool IsQuietAt(const PersonFacts& person, absl::Time time);

// The rules of the peer network: who may create, join, read, post, delete and moderate; bodies
// sealed under the channel's data key; unread counts from private read markers.
class NetworkService {
 public:
  NetworkService(NetworkStore& store, PeopleDirectory& people, TextCipher& cipher,
                 const Clock& clock)
      : store_(store), people_(people), cipher_(cipher), clock_(clock) {}

  absl::StatusOr<Channel> CreateChannel(const Caller& caller, Channel input,
                                        const std::string& request_id);
  absl::StatusOr<Channel> GetChannel(const Caller& caller, const std::string& channel_id);
  absl::StatusOr<Page<Channel>> ListChannels(const Caller& caller, int page_size,
                                             const std::string& position);
  absl::StatusOr<Channel> JoinChannel(const Caller& caller, const std::string& channel_id,
                                      const std::string& person_id);
  absl::StatusOr<Channel> LeaveChannel(const Caller& caller, const std::string& channel_id,
                                       const std::string& person_id);
  absl::StatusOr<Message> PostMessage(const Caller& caller, const std::string& channel_id,
                                      const std::string& body,
                                      const std::string& reply_to_message_id,
                                      const std::string& client_message_id);
  absl::StatusOr<Page<Message>> ListMessages(const Caller& caller, const std::string& channel_id,
                                             const MessageQuery& query);
  absl::StatusOr<ReadMarker> MarkRead(const Caller& caller, const std::string& channel_id,
                                      int64_t sequence);
  absl::StatusOr<std::vector<ReadMarker>> ListReadMarkers(const Caller& caller,
                                                          const std::string& channel_id);
  absl::StatusOr<NetworkSettings> GetSettings(const Caller& caller);
  absl::StatusOr<NetworkSettings> UpdateSettings(const Caller& caller,
                                                 std::optional<bool> read_receipts);
  absl::StatusOr<Message> DeleteMessage(const Caller& caller, const std::string& channel_id,
                                        const std::string& message_id);
  absl::StatusOr<Report> ReportMessage(const Caller& caller, const std::string& channel_id,
                                       const std::string& message_id, const std::string& reason);
  // Coordinators only. Reports carry the reported message as it is now.
  absl::StatusOr<Page<Report>> ListReports(const Caller& caller,
                                           const std::vector<ReportState>& states, int page_size,
                                           const std::string& position);
  absl::StatusOr<Report> ResolveReport(const Caller& caller, const std::string& report_id,
                                       ReportAction action, const std::string& note);
  // The message a report is about, as it is now (for coordinators).
  absl::StatusOr<Message> ReportedMessage(const Caller& caller, const Report& report);

  // --- Live delivery --------------------------------------------------------------------------
  // The person behind a subscriber, refused when they may not use the network.
  absl::StatusOr<PersonFacts> Subscriber(const Caller& caller);
  // The channel, when the caller may read it (members; everyone for announcements).
  absl::StatusOr<Channel> ReadableChannel(const Caller& caller, const std::string& channel_id);
  // Every channel the caller reads now: announcements and the channels they are a member of.
  absl::StatusOr<std::vector<Channel>> FollowedChannels(const Caller& caller);
  // Stored messages of a channel in [first, last], bodies opened, ascending.
  absl::StatusOr<std::vector<Message>> LoadMessages(const std::string& organization_id,
                                                    const std::string& channel_id, int64_t first,
                                                    int64_t last);
  absl::StatusOr<Channel> LoadChannel(const std::string& organization_id,
                                      const std::string& channel_id);
  // The channels that exist among `channel_ids`, in that order.
  absl::StatusOr<std::vector<Channel>> LoadChannels(const std::string& organization_id,
                                                    const std::vector<std::string>& channel_ids);
  // Whether the caller reads the channel now (members; everyone for announcements).
  bool CanRead(const Caller& caller, const Channel& channel);
  PeopleDirectory& people() { return people_; }

  // --- Data export -----------------------------------------------------------------------------
  // Everything the network holds about a person of the caller's organisation, for the directory's
  // ExportPersonData (role service only). Someone with no records gets empty lists.
  absl::StatusOr<PersonRecords> ExportPerson(const Caller& caller, const std::string& person_id);

  // --- Erasure ---------------------------------------------------------------------------------
  // The directory erased the person (`person.erased`, GDPR article 17). Their messages keep their
  // place in shared channels, with no body, no author id and shown as kFormerMember; they leave
  // every channel (a pair of theirs stays for the other person, no longer named after them; a
  // channel left with no members goes entirely); the reports they filed, their own keys, their
  // requests and the events naming them go. The network keeps no data key of a person's: their
  // texts are sealed under channel keys, so their bodies go first. Idempotent, and finishes an
  // erasure that stopped half way; someone unknown here is OK.
  absl::Status ErasePerson(const std::string& organization_id, const std::string& person_id);

  // --- The periodic sweep ----------------------------------------------------------------------
  // Removes messages older than their channel's retention, in every organisation.
  absl::Status ExpireMessages();

 private:
  // The caller as a person of the organisation, refused when they are not an active one.
  absl::StatusOr<PersonFacts> ActivePerson(const Caller& caller);
  // Someone a request names in `field`: INVALID_ARGUMENT unless an active person of the
  // organisation.
  absl::StatusOr<PersonFacts> ActiveNamed(const Caller& caller, const std::string& person_id,
                                          absl::string_view field);
  // What joining and leaving share: the channel (never an announcement channel) and whom it is
  // about (the caller, or for a coordinator someone in a group).
  struct MembershipChange {
    Channel channel;
    std::string target;
  };
  absl::StatusOr<MembershipChange> PrepareMembershipChange(const Caller& caller,
                                                           const std::string& channel_id,
                                                           const std::string& person_id);
  absl::StatusOr<Channel> VisibleChannel(const Caller& caller, const std::string& channel_id);
  // The channel without its lists, and whether the caller is a member (one round trip).
  absl::StatusOr<std::pair<Channel, bool>> ChannelForCaller(const Caller& caller,
                                                            const std::string& channel_id);
  absl::Status CheckReadable(const Caller& caller, const Channel& channel);
  absl::Status FillUnread(const Caller& caller, std::vector<Channel>& channels);
  absl::StatusOr<Message> Opened(const std::string& organization_id, Message message);
  absl::StatusOr<std::vector<Message>> OpenAll(const std::string& organization_id,
                                               std::vector<Message> messages);
  absl::StatusOr<Report> OpenReport(const std::string& organization_id, Report report);
  // The messages of `author_id` kept in `channels`, bodies opened.
  absl::StatusOr<std::vector<Message>> MessagesBy(const std::string& organization_id,
                                                  const std::string& author_id,
                                                  const std::vector<Channel>& channels);
  // A DIRECT or BUDDY channel's name for its pair once `erased_id` is gone: the other person's
  // name as the directory has it now, and kFormerMember for the erased one.
  absl::StatusOr<std::string> PairNameWithout(const Channel& channel, const std::string& erased_id);
  // Removes the reports the person filed and forgets them as the resolver of others.
  absl::Status EraseReports(const std::string& organization_id, const std::string& person_id);
  // The reports `reporter_id` filed, reasons opened, as they are shown to their reporter.
  absl::StatusOr<std::vector<Report>> ReportsBy(const std::string& organization_id,
                                                const std::string& reporter_id);

  NetworkStore& store_;
  PeopleDirectory& people_;
  TextCipher& cipher_;
  const Clock& clock_;
};

}  // namespace peerwell::network
