#pragma once

#include "services/common/person_records.h"
#include "services/common/redis_client.h"
#include "services/network/network_store.h"

namespace peerwell::network {

// The network store on Redis: the only code that knows the key layout (docs/ARCHITECTURE.md).
// A post is one Lua script: membership check, the channel's next sequence (HINCRBY, so replicas
// posting at once still get 1, 2, 3 … without a gap), the message, its indexes, the author's read
// marker and the event, together or not at all.
class RedisNetworkStore final : public NetworkStore {
 public:
  explicit RedisNetworkStore(RedisClient& redis) : redis_(redis) {}

  absl::StatusOr<std::string> CreateChannel(const Channel& channel,
                                            const CreateRequest& request) override;
  absl::StatusOr<Channel> GetChannel(const std::string& organization_id,
                                     const std::string& channel_id) override;
  absl::StatusOr<std::pair<Channel, bool>> GetChannelForMember(
      const std::string& organization_id, const std::string& channel_id,
      const std::string& person_id) override;
  absl::StatusOr<std::vector<Channel>> GetChannels(
      const std::string& organization_id, const std::vector<std::string>& channel_ids) override;
  absl::StatusOr<std::vector<std::string>> ListAnnouncementChannelIds(
      const std::string& organization_id) override;
  absl::StatusOr<std::vector<std::string>> ListPersonChannelIds(
      const std::string& organization_id, const std::string& person_id) override;
  absl::StatusOr<std::vector<std::string>> ListOrganizations() override;
  absl::StatusOr<std::vector<std::string>> ListAllChannelIds(
      const std::string& organization_id) override;
  absl::StatusOr<bool> Join(const std::string& organization_id, const std::string& channel_id,
                            const std::string& person_id, absl::Time now) override;
  absl::StatusOr<bool> Invite(const std::string& organization_id, const std::string& channel_id,
                              const std::string& person_id, absl::Time now) override;
  absl::StatusOr<bool> Leave(const std::string& organization_id, const std::string& channel_id,
                             const std::string& person_id, absl::Time now) override;
  absl::StatusOr<PostResult> PostMessage(const std::string& organization_id, const Message& message,
                                         const PostRules& rules,
                                         const CreateRequest& request) override;
  absl::StatusOr<std::vector<Message>> GetMessages(const std::string& organization_id,
                                                   const std::string& channel_id, int64_t first,
                                                   int64_t last) override;
  absl::StatusOr<std::vector<Message>> GetMessagesBySequence(
      const std::string& organization_id, const std::string& channel_id,
      const std::vector<int64_t>& sequences) override;
  absl::StatusOr<std::vector<Message>> GetMessageRanges(
      const std::string& organization_id, const std::vector<SequenceRange>& ranges) override;
  absl::StatusOr<int64_t> FindMessage(const std::string& organization_id,
                                      const std::string& channel_id,
                                      const std::string& message_id) override;
  absl::StatusOr<std::vector<int64_t>> ThreadSequences(const std::string& organization_id,
                                                       const std::string& channel_id,
                                                       const std::string& root_message_id,
                                                       int64_t after, int64_t before,
                                                       int limit) override;
  absl::StatusOr<Message> DeleteMessage(const std::string& organization_id,
                                        const std::string& channel_id,
                                        const std::string& message_id, absl::Time now) override;
  absl::StatusOr<int> ExpireMessages(const std::string& organization_id,
                                     const std::string& channel_id, absl::Time cutoff,
                                     int limit) override;
  absl::StatusOr<absl::flat_hash_map<std::string, ReadMarker>> GetReadMarkers(
      const std::string& organization_id, const std::string& person_id,
      const std::vector<std::string>& channel_ids) override;
  absl::StatusOr<absl::flat_hash_map<std::string, ReadMarker>> GetAllReadMarkers(
      const std::string& organization_id, const std::string& person_id) override;
  absl::StatusOr<std::vector<ReadMarker>> GetChannelReadMarkers(
      const std::string& organization_id, const std::string& channel_id,
      const std::vector<std::string>& person_ids) override;
  absl::StatusOr<ReadMarker> MarkRead(const std::string& organization_id,
                                      const std::string& person_id, const std::string& channel_id,
                                      int64_t sequence, absl::Time now) override;
  absl::StatusOr<NetworkSettings> GetSettings(const std::string& organization_id,
                                              const std::string& person_id) override;
  absl::StatusOr<std::optional<NetworkSettings>> FindSettings(
      const std::string& organization_id, const std::string& person_id) override;
  absl::StatusOr<std::vector<NetworkSettings>> GetSettingsOfPeople(
      const std::string& organization_id, const std::vector<std::string>& person_ids) override;
  absl::Status PutSettings(const std::string& organization_id, const std::string& person_id,
                           const NetworkSettings& settings) override;
  absl::StatusOr<std::string> CreateReport(const std::string& organization_id, const Report& report,
                                           const CreateRequest& request) override;
  absl::StatusOr<Report> GetReport(const std::string& organization_id,
                                   const std::string& report_id) override;
  absl::StatusOr<Page<Report>> ListReports(const std::string& organization_id,
                                           const std::vector<ReportState>& states, int page_size,
                                           const std::string& position) override;
  absl::Status ResolveReport(const std::string& organization_id, const Report& resolved) override;
  absl::StatusOr<std::vector<std::string>> ListChannelIdsNaming(
      const std::string& organization_id, const std::string& person_id) override;
  absl::StatusOr<int> EraseMessagesBy(const std::string& organization_id,
                                      const std::string& channel_id, const std::string& author_id,
                                      const std::string& shown_as, int64_t first, int64_t last,
                                      absl::Time now) override;
  absl::StatusOr<bool> RemoveErasedPerson(const Channel& channel, const std::string& person_id,
                                          const std::optional<std::string>& pair_display_name,
                                          absl::Time now) override;
  absl::StatusOr<bool> DeleteEmptyChannel(const std::string& organization_id,
                                          const std::string& channel_id) override;
  absl::Status DeleteReports(const std::string& organization_id,
                             const std::vector<std::string>& report_ids) override;
  absl::Status ForgetResolver(const std::string& organization_id, const std::string& report_id,
                              const std::string& resolver_id) override;
  absl::Status DeleteEventsNaming(const std::string& organization_id, const std::string& person_id,
                                  const std::vector<std::string>& deleted_channel_ids) override;
  absl::Status DeleteRequests(const std::string& organization_id, const std::string& person_id,
                              const std::vector<std::string>& deleted_channel_ids) override;
  absl::Status DeleteReadMarkersOf(const std::string& organization_id,
                                   const std::vector<std::string>& channel_ids) override;
  absl::Status DeletePersonKeys(const std::string& organization_id,
                                const std::string& person_id) override;

  // Every kind of key this store keeps that can name a person or hold data about them, and the
  // export family that shows it (tests/network checks that they cover every key it writes).
  static const std::vector<PersonKeyFamily>& PersonKeyFamilies();

 private:
  RedisClient& redis_;
};

// Where a channel's messages live ("pw:{<org>}:network:channel:<id>:messages", sequence ->
// sealed record), for tests that look for plain text at rest.
std::string MessagesKey(const std::string& organization_id, const std::string& channel_id);

}  // namespace peerwell::network
