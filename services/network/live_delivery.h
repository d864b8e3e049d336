#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "peerwell/network/v1/network.grpc.pb.h"
#include "services/common/auth.h"
#include "services/common/config.h"
#include "services/common/events.h"
#include "services/common/executor.h"
#include "services/network/network_service.h"

namespace peerwell::network {

class LiveHub;

// One Subscribe stream. Every channel it follows has a cursor (the last sequence queued for the
// client); a message is queued only when it is the cursor's next, so each arrives once and in
// order. Live messages that skip ahead (the stream opened, resumed, or a channel was added while
// others were posted) are held while the gap is read from the store, on the executor. Writes go
// out one at a time from a bounded queue; a client that lets it fill is ended with
// RESOURCE_EXHAUSTED and resumes from its cursors, so it never holds up anyone else.
class Subscription final : public grpc::ServerWriteReactor<v1::NetworkEvent> {
 public:
  struct Options {
    size_t max_queued = 1024;  // events waiting for a slow client before its stream ends
    int catch_up_page = 200;   // messages read from the store per step
  };

  Subscription(grpc::CallbackServerContext* context, v1::SubscribeRequest request,
               NetworkService& service, LiveHub& hub, BoundedExecutor& executor,
               const Authenticator& authenticator, const Clock& clock, Options options);

  void OnWriteDone(bool ok) override;
  void OnSendInitialMetadataDone(bool ok) override { OnWriteDone(ok); }
  void OnCancel() override;
  void OnDone() override;

  // --- From the hub's thread -------------------------------------------------------------------
  const std::string& organization_id() const { return caller_.organization_id; }
  // Which of the hub's delivery lanes serves this stream (set once, when it registers).
  size_t lane() const { return lane_; }
  void set_lane(size_t lane) { lane_ = lane; }
  const std::string& person_id() const { return caller_.person_id; }
  bool follows_new_channels() const { return follow_new_channels_; }
  bool Follows(const std::string& channel_id);
  void OfferMessage(NetworkEventType type, const Message& message);
  // Follows a channel the person joined (or that was created for them) from `after_sequence`.
  void AddChannel(const Channel& channel, int64_t after_sequence);
  // Stops following at once: nothing more of the channel is written, queued events included.
  void RemoveChannel(const Channel& channel);
  // A channel changed (membership, an invitation): tells the client.
  void ChannelUpdated(const Channel& channel);
  void SetPerson(PersonFacts person);
  void End(grpc::Status status);

 private:
  struct ChannelCursor {
    int64_t cursor = 0;
    bool catching_up = false;
    bool paused = false;              // waiting for room in the queue
    std::map<int64_t, Message> held;  // live messages beyond a gap, by sequence
    // Deletions of sequences not yet queued, each the message as it is since (no body; an erased
    // author's no longer named), queued in place of what was held or read before it.
    absl::flat_hash_map<int64_t, Message> deleted_ahead;
  };

  // Authenticates, validates, registers with the hub and answers the channels to follow, each
  // with the cursor to start from.
  absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> Prepare(
      const std::shared_ptr<Subscription>& keep);
  void Start(const std::shared_ptr<Subscription>& keep);
  // Marks the channel as behind and makes sure the stream's one catch-up task runs.
  void CatchUpLater(const std::string& channel_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Reads what the channels that are behind missed, within the room left in the queue, until
  // none is behind or the queue is too full (OnWriteDone resumes it).
  void CatchUp();
  void QueueMessage(ChannelCursor& state, Message message) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Queues the held messages that follow the cursor; false when the queue filled first.
  bool DrainHeld(ChannelCursor& state) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool QueueFull() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RemoveChannelLocked(const Channel& channel) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Enqueue(v1::NetworkEvent event) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EnqueueMessage(NetworkEventType type, const Message& message)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EndLocked(grpc::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Starts the next write, or the Finish once the queue is drained after an end.
  void Pump(std::unique_lock<std::mutex>& lock) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  grpc::CallbackServerContext* const context_;
  const v1::SubscribeRequest request_;
  NetworkService& service_;
  LiveHub& hub_;
  BoundedExecutor& executor_;
  const Authenticator& authenticator_;
  const Clock& clock_;
  const Options options_;
  Caller caller_;  // set once by Start, before the hub knows the subscription
  bool follow_new_channels_ = false;
  size_t lane_ = 0;

  std::mutex mu_;
  PersonFacts person_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, ChannelCursor> channels_ ABSL_GUARDED_BY(mu_);
  std::deque<v1::NetworkEvent> queue_ ABSL_GUARDED_BY(mu_);
  v1::NetworkEvent in_flight_;  // owned by gRPC while writing_
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool catch_up_running_ ABSL_GUARDED_BY(mu_) = false;
  size_t held_total_ ABSL_GUARDED_BY(mu_) = 0;
  bool ending_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status end_status_ ABSL_GUARDED_BY(mu_);
  // Keeps this alive while the hub or a catch-up may still call it; released in OnDone.
  std::shared_ptr<Subscription> self_ ABSL_GUARDED_BY(mu_);
};

// A thread that runs batches of deliveries in the order they were posted.
class DeliveryLane {
 public:
  DeliveryLane();
  ~DeliveryLane();
  void Post(std::vector<std::function<void()>> batch);
  // Runs what is posted, then joins.
  void Stop();

 private:
  std::mutex mu_;
  std::condition_variable ready_;
  std::deque<std::vector<std::function<void()>>> batches_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

// Fans the network's events out to this replica's Subscribe streams. One thread tails the
// network's event stream and the directory's (XREAD, no consumer group: every replica needs every
// event) from where it started, so a post on any replica reaches subscribers on all of them; a
// message is read from the store and opened once per replica. Writing it to each stream (gRPC
// serialises and often sends inline) is shared among delivery lanes: each stream belongs to one
// lane, so its events keep their order, and a post to many subscribers uses every core with one
// handoff per lane rather than one per stream.
class LiveHub {
 public:
  LiveHub(NetworkService& service, RedisAddress redis, size_t lanes = 2);
  ~LiveHub();

  void Start();
  // Ends every stream (UNAVAILABLE: the clients resume elsewhere) and stops the tail.
  void Stop();

  // False once the hub is stopping: the stream is refused.
  bool Register(const std::shared_ptr<Subscription>& subscription);
  void Unregister(const Subscription* subscription);
  size_t subscribers();

 private:
  // An event of the network's or the directory's (`service`), delivered to the streams it
  // concerns; those that may have missed it through a failure here end.
  void Follow(const std::string& service, const StreamEntry& entry);
  absl::Status Handle(const std::string& service, const StreamEntry& entry);
  // Runs `action` on the subscription's lane, after what was dispatched to it before; Flush
  // hands the batches collected for one event to the lanes.
  using Batches = std::vector<std::vector<std::function<void()>>>;
  void Dispatch(Batches& batches, const std::shared_ptr<Subscription>& subscription,
                std::function<void()> action);
  void Flush(Batches& batches);
  std::vector<std::shared_ptr<Subscription>> OfOrganization(const std::string& organization_id);

  NetworkService& service_;
  const RedisAddress redis_;
  std::atomic<bool> stopping_{false};
  std::vector<std::unique_ptr<DeliveryLane>> lanes_;
  size_t next_lane_ ABSL_GUARDED_BY(mu_) = 0;
  std::unique_ptr<EventFollower> follower_;  // from Start until Stop
  std::mutex mu_;
  absl::flat_hash_map<std::string,
                      absl::flat_hash_map<const Subscription*, std::shared_ptr<Subscription>>>
      by_organization_ ABSL_GUARDED_BY(mu_);
};

}  // namespace peerwell::network
