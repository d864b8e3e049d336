#include "services/network/live_delivery.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/common/call.h"
#include "services/common/deadline.h"
#include "services/common/ids.h"
#include "services/common/log.h"
#include "services/common/person_erasure.h"
#include "services/common/redis_client.h"
#include "services/common/validation.h"
#include "services/network/network_mapping.h"

namespace peerwell::network {
namespace {

constexpr char kSlowSubscriber[] =
    "SUBSCRIBER_TOO_SLOW: the stream fell too far behind; resume from the last sequence seen "
    "per channel";

int64_t ParseSequence(absl::string_view text) {
  int64_t value = 0;
  (void)absl::SimpleAtoi(text, &value);
  return value;
}

grpc::Status ToGrpc(const absl::Status& status) { return ToGrpcStatus(status, "Subscribe"); }

}  // namespace

Subscription::Subscription(grpc::CallbackServerContext* context, v1::SubscribeRequest request,
                           NetworkService& service, LiveHub& hub, BoundedExecutor& executor,
                           const Authenticator& authenticator, const Clock& clock, Options options)
    : context_(context),
      request_(std::move(request)),
      service_(service),
      hub_(hub),
      executor_(executor),
      authenticator_(authenticator),
      clock_(clock),
      options_(options) {
  std::lock_guard<std::mutex> lock(mu_);
  // Busy until Start has sent the initial metadata: nothing is written and the call is not
  // finished (which would free the context Start reads) before then.
  writing_ = true;
  // Shared with the hub and the catch-up, so that the last of them to let go after OnDone frees
  // the stream.
  self_ = std::shared_ptr<Subscription>(this);
  if (!executor_.Submit([this, keep = self_] { Start(keep); })) {
    finished_ = true;
    Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "server is overloaded"));
  }
}

absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> Subscription::Prepare(
    const std::shared_ptr<Subscription>& keep) {
  auto caller = AuthenticateCall(authenticator_, *context_);
  if (!caller.ok()) return caller.status();
  caller_ = *caller;
  if (request_.cursors_size() > kMaxCursors) {
    return InvalidField("cursors", absl::StrCat("holds at most ", kMaxCursors, " channels"));
  }
  for (int i = 0; i < request_.cursors_size(); ++i) {
    if (!IsWellFormedId(request_.cursors(i).channel_id(), "ch")) {
      return InvalidField(absl::StrCat("cursors[", i, "].channel_id"), "must be a channel id");
    }
    if (request_.cursors(i).after_sequence() < 0) {
      return InvalidField(absl::StrCat("cursors[", i, "].after_sequence"), "must not be negative");
    }
  }
  auto person = service_.Subscriber(caller_);
  if (!person.ok()) return person.status();
  follow_new_channels_ = request_.cursors().empty() || request_.follow_new_channels();
  {
    std::lock_guard<std::mutex> lock(mu_);
    person_ = *person;
  }
  // Registered before any channel is read: whatever is posted from here on reaches this stream
  // live, and the catch-up reads whatever came before.
  if (!hub_.Register(keep)) return absl::UnavailableError("server is shutting down");
  std::vector<std::pair<std::string, int64_t>> follow;
  for (int i = 0; i < request_.cursors_size(); ++i) {
    const v1::SubscribeCursor& cursor = request_.cursors(i);
    auto channel = service_.ReadableChannel(caller_, cursor.channel_id());
    if (!channel.ok()) return channel.status();
    if (cursor.after_sequence() > channel->last_sequence) {
      return InvalidField(absl::StrCat("cursors[", i, "].after_sequence"),
                          "is beyond the channel's last message");
    }
    follow.emplace_back(channel->channel_id, cursor.after_sequence());
  }
  if (follow_new_channels_) {
    auto channels = service_.FollowedChannels(caller_);
    if (!channels.ok()) return channels.status();
    for (const Channel& channel : *channels) {
      bool named = std::any_of(follow.begin(), follow.end(),
                               [&](const auto& f) { return f.first == channel.channel_id; });
      if (!named) follow.emplace_back(channel.channel_id, channel.last_sequence);
    }
  }
  return follow;
}

void Subscription::Start(const std::shared_ptr<Subscription>& keep) {
  ScopedDeadline deadline(absl::Now() + absl::Seconds(5));
  auto follow = Prepare(keep);
  std::unique_lock<std::mutex> lock(mu_);
  if (!follow.ok()) EndLocked(ToGrpc(follow.status()));
  if (ending_) {
    // Refused, or ended meanwhile (the client went, the server stops).
    writing_ = false;
    lock.unlock();
    hub_.Unregister(this);
    lock.lock();
    return Pump(lock);
  }
  for (const auto& [channel_id, after] : *follow) {
    // A channel the hub added meanwhile keeps the cursor it has.
    if (channels_.contains(channel_id)) continue;
    channels_[channel_id].cursor = after;
    CatchUpLater(channel_id);
  }
  // The initial metadata tells the client the stream is live: what is posted from now on reaches
  // it (a client that opens a stream "from now" waits for it before acting). writing_ is still
  // set; its completion starts the writes.
  lock.unlock();
  StartSendInitialMetadata();
}

bool Subscription::Follows(const std::string& channel_id) {
  std::lock_guard<std::mutex> lock(mu_);
  return !ending_ && channels_.contains(channel_id);
}

void Subscription::CatchUpLater(const std::string& channel_id) {
  ChannelCursor& state = channels_[channel_id];
  state.catching_up = true;
  state.paused = false;
  if (catch_up_running_) return;
  catch_up_running_ = true;
  if (!executor_.Submit([this, keep = self_] { CatchUp(); })) {
    catch_up_running_ = false;
    EndLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, "server is overloaded"));
  }
}

bool Subscription::QueueFull() const { return queue_.size() >= options_.max_queued; }

void Subscription::CatchUp() {
  ScopedDeadline deadline(absl::Now() + absl::Seconds(5));
  for (;;) {
    std::vector<std::string> ids;
    size_t room = 0;
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (ending_) {
        catch_up_running_ = false;
        return;
      }
      room = QueueFull() ? 0 : options_.max_queued - queue_.size();
      for (const auto& [channel_id, state] : channels_) {
        if (state.catching_up && !state.paused) ids.push_back(channel_id);
      }
      // Nothing to read, or waiting for the client to take some of what is queued (OnWriteDone
      // resumes).
      if (ids.empty() || room < options_.max_queued / 4) {
        for (const std::string& id : ids) channels_[id].paused = true;
        catch_up_running_ = false;
        return;
      }
    }
    // One read for every channel's end, then the messages of those behind, within the room.
    auto channels = service_.LoadChannels(caller_.organization_id, ids);
    absl::flat_hash_map<std::string, std::vector<Message>> read;
    absl::flat_hash_map<std::string, int64_t> read_to;
    absl::Status status = channels.status();
    size_t budget = room;
    for (size_t i = 0; status.ok() && i < channels->size() && budget > 0; ++i) {
      const Channel& channel = (*channels)[i];
      int64_t from = 0;
      {
        std::lock_guard<std::mutex> lock(mu_);
        auto it = channels_.find(channel.channel_id);
        if (it == channels_.end()) continue;
        from = std::max(it->second.cursor + 1, channel.first_sequence);
      }
      int64_t to = std::min<int64_t>(
          channel.last_sequence,
          from + static_cast<int64_t>(std::min<size_t>(budget, options_.catch_up_page)) - 1);
      if (from > to) continue;
      auto messages = service_.LoadMessages(caller_.organization_id, channel.channel_id, from, to);
      status = messages.status();
      if (!status.ok()) break;
      budget -= static_cast<size_t>(to - from + 1);
      read[channel.channel_id] = *std::move(messages);
      read_to[channel.channel_id] = to;
    }

    std::unique_lock<std::mutex> lock(mu_);
    if (!status.ok()) {
      // The client resumes from its cursors, here or on another replica.
      EndLocked(ToGrpc(status));
    }
    if (ending_) {
      catch_up_running_ = false;
      return Pump(lock);
    }
    absl::flat_hash_map<std::string, const Channel*> loaded;
    for (const Channel& channel : *channels) loaded[channel.channel_id] = &channel;
    for (const std::string& id : ids) {
      auto it = channels_.find(id);
      if (it == channels_.end()) continue;  // removed meanwhile
      auto found = loaded.find(id);
      if (found == loaded.end() || !service_.CanRead(caller_, *found->second)) {
        // Left or removed while the stream was starting: stop at once, and say so.
        Channel gone = found == loaded.end() ? Channel{} : *found->second;
        gone.channel_id = id;
        RemoveChannelLocked(gone);
        continue;
      }
      const Channel& channel = *found->second;
      ChannelCursor& state = it->second;
      bool complete = true;
      for (const Message& message : read[id]) {
        if (message.sequence <= state.cursor) continue;
        if (QueueFull()) {
          complete = false;
          break;
        }
        QueueMessage(state, message);
      }
      if (complete) {
        // Sequences read but not stored were removed by retention: nothing to deliver for them.
        auto to = read_to.find(id);
        if (to != read_to.end()) state.cursor = std::max(state.cursor, to->second);
        state.cursor = std::max(state.cursor, channel.first_sequence - 1);
        complete = DrainHeld(state);
      }
      if (!complete) {
        state.paused = true;
      } else if (state.cursor >= channel.last_sequence && state.held.empty()) {
        state.catching_up = false;
      }
    }
    Pump(lock);
  }
}

void Subscription::QueueMessage(ChannelCursor& state, Message message) {
  // A deletion seen live before its message went out: never deliver the removed body, nor the
  // name of an author erased since.
  auto deleted = state.deleted_ahead.find(message.sequence);
  if (deleted != state.deleted_ahead.end()) {
    message = std::move(deleted->second);
    state.deleted_ahead.erase(deleted);
  }
  EnqueueMessage(NetworkEventType::kMessagePosted, message);
  state.cursor = message.sequence;
}

bool Subscription::DrainHeld(ChannelCursor& state) {
  while (!state.held.empty() && state.held.begin()->first <= state.cursor + 1) {
    auto next = state.held.begin();
    if (next->first == state.cursor + 1) {
      if (QueueFull()) return false;
      QueueMessage(state, next->second);
    }
    state.held.erase(next);
    --held_total_;
  }
  for (auto it = state.deleted_ahead.begin(); it != state.deleted_ahead.end();) {
    if (it->first <= state.cursor) {
      state.deleted_ahead.erase(it++);
    } else {
      ++it;
    }
  }
  return true;
}

void Subscription::OfferMessage(NetworkEventType type, const Message& message) {
  std::unique_lock<std::mutex> lock(mu_);
  auto it = channels_.find(message.channel_id);
  if (ending_ || it == channels_.end()) return;
  ChannelCursor& state = it->second;
  if (type == NetworkEventType::kMessageDeleted) {
    if (message.sequence <= state.cursor) {
      EnqueueMessage(type, message);
    } else {
      state.deleted_ahead.insert_or_assign(message.sequence, message);
    }
    return Pump(lock);
  }
  if (message.sequence <= state.cursor) return;
  if (state.catching_up || message.sequence != state.cursor + 1) {
    if (state.held.emplace(message.sequence, message).second) ++held_total_;
    if (held_total_ > options_.max_queued) {
      EndLocked(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, kSlowSubscriber));
    } else if (!state.catching_up) {
      CatchUpLater(message.channel_id);
    }
    return Pump(lock);
  }
  QueueMessage(state, message);
  Pump(lock);
}

void Subscription::AddChannel(const Channel& channel, int64_t after_sequence) {
  std::unique_lock<std::mutex> lock(mu_);
  if (ending_ || channels_.contains(channel.channel_id)) return;
  channels_[channel.channel_id].cursor = after_sequence;
  CatchUpLater(channel.channel_id);
  v1::NetworkEvent event;
  event.set_event_type(v1::NETWORK_EVENT_TYPE_CHANNEL_UPDATED);
  event.set_channel_id(channel.channel_id);
  *event.mutable_channel() = ChannelToProto(channel);
  Enqueue(std::move(event));
  Pump(lock);
}

void Subscription::RemoveChannel(const Channel& channel) {
  std::unique_lock<std::mutex> lock(mu_);
  if (ending_) return;
  RemoveChannelLocked(channel);
  Pump(lock);
}

void Subscription::RemoveChannelLocked(const Channel& channel) {
  auto it = channels_.find(channel.channel_id);
  if (it == channels_.end()) return;
  held_total_ -= it->second.held.size();
  channels_.erase(it);
  queue_.erase(std::remove_if(queue_.begin(), queue_.end(),
                              [&](const v1::NetworkEvent& event) {
                                return event.channel_id() == channel.channel_id;
                              }),
               queue_.end());
  v1::NetworkEvent event;
  event.set_event_type(v1::NETWORK_EVENT_TYPE_CHANNEL_UPDATED);
  event.set_channel_id(channel.channel_id);
  *event.mutable_channel() = ChannelToProto(channel);
  Enqueue(std::move(event));
}

void Subscription::ChannelUpdated(const Channel& channel) {
  std::unique_lock<std::mutex> lock(mu_);
  if (ending_) return;
  v1::NetworkEvent event;
  event.set_event_type(v1::NETWORK_EVENT_TYPE_CHANNEL_UPDATED);
  event.set_channel_id(channel.channel_id);
  *event.mutable_channel() = ChannelToProto(channel);
  Enqueue(std::move(event));
  Pump(lock);
}

void Subscription::SetPerson(PersonFacts person) {
  std::lock_guard<std::mutex> lock(mu_);
  person_ = std::move(person);
}

void Subscription::EnqueueMessage(NetworkEventType type, const Message& message) {
  v1::NetworkEvent event;
  event.set_event_type(static_cast<v1::NetworkEventType>(type));
  event.set_channel_id(message.channel_id);
  *event.mutable_message() = MessageToProto(message);
  Enqueue(std::move(event));
}

void Subscription::Enqueue(v1::NetworkEvent event) {
  if (ending_) return;
  if (queue_.size() >= options_.max_queued) {
    EndLocked(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, kSlowSubscriber));
    return;
  }
  event.set_silent(IsQuietAt(person_, clock_.Now()));
  queue_.push_back(std::move(event));
}

void Subscription::End(grpc::Status status) {
  std::unique_lock<std::mutex> lock(mu_);
  EndLocked(std::move(status));
  Pump(lock);
}

void Subscription::EndLocked(grpc::Status status) {
  if (ending_) return;
  ending_ = true;
  end_status_ = std::move(status);
  // What is queued is not sent: the client resumes from what it has seen. The cursors stay
  // (callers may hold one); every path checks ending_ first.
  queue_.clear();
}

void Subscription::Pump(std::unique_lock<std::mutex>& lock) {
  if (writing_ || finished_) return;
  if (ending_) {
    finished_ = true;
    grpc::Status status = end_status_;
    lock.unlock();
    Finish(status);
    lock.lock();
    return;
  }
  if (queue_.empty()) return;
  in_flight_ = std::move(queue_.front());
  queue_.pop_front();
  writing_ = true;
  lock.unlock();
  StartWrite(&in_flight_);
  lock.lock();
}

void Subscription::OnWriteDone(bool ok) {
  std::unique_lock<std::mutex> lock(mu_);
  writing_ = false;
  if (!ok) EndLocked(grpc::Status::CANCELLED);
  if (!ending_ && queue_.size() < options_.max_queued / 2) {
    std::vector<std::string> paused;
    for (auto& [channel_id, state] : channels_) {
      if (state.paused) paused.push_back(channel_id);
    }
    for (const std::string& channel_id : paused) CatchUpLater(channel_id);
  }
  Pump(lock);
}

void Subscription::OnCancel() { End(grpc::Status::CANCELLED); }

void Subscription::OnDone() {
  hub_.Unregister(this);
  std::shared_ptr<Subscription> last;
  std::lock_guard<std::mutex> lock(mu_);
  last = std::move(self_);
  // Freed when the last holder lets go: here, or a catch-up that sees the stream ended.
}

DeliveryLane::DeliveryLane() {
  thread_ = std::thread([this] {
    for (;;) {
      std::vector<std::function<void()>> batch;
      {
        std::unique_lock<std::mutex> lock(mu_);
        ready_.wait(lock, [this] { return stopping_ || !batches_.empty(); });
        if (batches_.empty()) return;
        batch = std::move(batches_.front());
        batches_.pop_front();
      }
      for (auto& action : batch) action();
    }
  });
}

DeliveryLane::~DeliveryLane() { Stop(); }

void DeliveryLane::Post(std::vector<std::function<void()>> batch) {
  std::lock_guard<std::mutex> lock(mu_);
  batches_.push_back(std::move(batch));
  ready_.notify_one();
}

void DeliveryLane::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    ready_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
}

LiveHub::LiveHub(NetworkService& service, RedisAddress redis, size_t lanes)
    : service_(service), redis_(std::move(redis)) {
  for (size_t i = 0; i < std::max<size_t>(lanes, 1); ++i) {
    lanes_.push_back(std::make_unique<DeliveryLane>());
  }
}

void LiveHub::Dispatch(Batches& batches, const std::shared_ptr<Subscription>& subscription,
                       std::function<void()> action) {
  batches.resize(lanes_.size());
  batches[subscription->lane()].push_back(std::move(action));
}

void LiveHub::Flush(Batches& batches) {
  for (size_t i = 0; i < batches.size(); ++i) {
    if (!batches[i].empty()) lanes_[i]->Post(std::move(batches[i]));
  }
}

LiveHub::~LiveHub() { Stop(); }

void LiveHub::Start() {
  // Redis away, the follower reads on from where it was once it is back, losing nothing.
  follower_ = std::make_unique<EventFollower>(
      redis_, EventFollower::Options{.services = {"network", "directory"}},
      [this](const std::string& service, const StreamEntry& entry) { Follow(service, entry); });
}

void LiveHub::Stop() {
  std::vector<std::shared_ptr<Subscription>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Under the lock, so that no stream registers after the ones ended below were taken.
    if (stopping_.exchange(true)) return;
    for (auto& [organization, subscriptions] : by_organization_) {
      for (auto& [key, subscription] : subscriptions) all.push_back(subscription);
    }
  }
  for (const auto& subscription : all) {
    subscription->End(grpc::Status(grpc::StatusCode::UNAVAILABLE, "server is shutting down"));
  }
  follower_.reset();
  for (auto& lane : lanes_) lane->Stop();
}

bool LiveHub::Register(const std::shared_ptr<Subscription>& subscription) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return false;
  subscription->set_lane(next_lane_++ % lanes_.size());
  by_organization_[subscription->organization_id()][subscription.get()] = subscription;
  return true;
}

void LiveHub::Unregister(const Subscription* subscription) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = by_organization_.begin(); it != by_organization_.end(); ++it) {
    if (it->second.erase(subscription) > 0) {
      if (it->second.empty()) by_organization_.erase(it);
      return;
    }
  }
}

size_t LiveHub::subscribers() {
  std::lock_guard<std::mutex> lock(mu_);
  size_t count = 0;
  for (const auto& [organization, subscriptions] : by_organization_) {
    count += subscriptions.size();
  }
  return count;
}

std::vector<std::shared_ptr<Subscription>> LiveHub::OfOrganization(
    const std::string& organization_id) {
  std::vector<std::shared_ptr<Subscription>> subscriptions;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_organization_.find(organization_id);
  if (it == by_organization_.end()) return subscriptions;
  for (const auto& [key, subscription] : it->second) subscriptions.push_back(subscription);
  return subscriptions;
}

void LiveHub::Follow(const std::string& service, const StreamEntry& entry) {
  ScopedDeadline deadline(absl::Now() + absl::Seconds(5));
  absl::Status handled = Handle(service, entry);
  if (handled.ok()) return;
  // A stream that may have missed an event through a failure here ends, and resumes from its
  // cursors (its channels and person read afresh); the tail itself goes on.
  const std::string type = entry.Get("type");
  Log(Severity::kWarning, "live delivery of an event failed",
      {Field("error", handled.ToString()), Field("type", type)});
  for (const auto& subscription : OfOrganization(entry.Get("organization_id"))) {
    bool affected = type == "person.updated"
                        ? subscription->person_id() == entry.Get("person_id")
                        : subscription->Follows(entry.Get("channel_id")) ||
                              (type == "channel.updated" && subscription->follows_new_channels());
    if (affected) subscription->End(ToGrpc(absl::UnavailableError("live delivery failed")));
  }
}

absl::Status LiveHub::Handle(const std::string& service, const StreamEntry& entry) {
  const std::string organization_id = entry.Get("organization_id");
  const std::string type = entry.Get("type");
  bool erased = service == "directory" && type == kPersonErasedEvent;
  // Every replica forgets an erased person at once, so that their tokens stop working here as
  // soon as the directory no longer knows them, not once the cached answer expires.
  if (erased) service_.people().Forget(organization_id, entry.Get("person_id"));
  auto subscriptions = OfOrganization(organization_id);
  if (subscriptions.empty()) return absl::OkStatus();
  if (service == "directory") {
    if (type != "person.updated" && !erased) return absl::OkStatus();
    const std::string person_id = entry.Get("person_id");
    std::vector<std::shared_ptr<Subscription>> theirs;
    for (const auto& subscription : subscriptions) {
      if (subscription->person_id() == person_id) theirs.push_back(subscription);
    }
    if (theirs.empty()) return absl::OkStatus();
    service_.people().Forget(organization_id, person_id);
    // An erased person's streams end at once, before the consumer group has erased their data.
    absl::StatusOr<PersonFacts> person = absl::NotFoundError("erased");
    if (!erased) person = service_.people().GetPerson(organization_id, person_id);
    bool gone =
        person.status().code() == absl::StatusCode::kNotFound || (person.ok() && !person->active);
    if (!gone && !person.ok()) return person.status();
    Batches batches;
    for (const auto& subscription : theirs) {
      if (gone) {
        Dispatch(batches, subscription, [subscription] {
          subscription->End(grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                                         "you are no longer an active member of the organisation"));
        });
      } else {
        Dispatch(batches, subscription,
                 [subscription, facts = *person] { subscription->SetPerson(facts); });
      }
    }
    Flush(batches);
    return absl::OkStatus();
  }

  const std::string channel_id = entry.Get("channel_id");
  if (type == "message.posted" || type == "message.deleted") {
    std::vector<std::shared_ptr<Subscription>> following;
    for (const auto& subscription : subscriptions) {
      if (subscription->Follows(channel_id)) following.push_back(subscription);
    }
    if (following.empty()) return absl::OkStatus();
    int64_t sequence = ParseSequence(entry.Get("sequence"));
    auto messages = service_.LoadMessages(organization_id, channel_id, sequence, sequence);
    if (!messages.ok()) return messages.status();
    if (messages->empty()) return absl::OkStatus();  // gone by retention since
    NetworkEventType event_type = type == "message.posted" ? NetworkEventType::kMessagePosted
                                                           : NetworkEventType::kMessageDeleted;
    auto message = std::make_shared<const Message>(std::move(messages->front()));
    Batches batches;
    for (const auto& subscription : following) {
      Dispatch(batches, subscription, [subscription, event_type, message] {
        subscription->OfferMessage(event_type, *message);
      });
    }
    Flush(batches);
    return absl::OkStatus();
  }
  if (type != "channel.updated") return absl::OkStatus();
  auto channel = service_.LoadChannel(organization_id, channel_id);
  if (!channel.ok()) return channel.status();
  const std::string change = entry.Get("change");
  int64_t last_sequence = ParseSequence(entry.Get("last_sequence"));
  absl::flat_hash_set<std::string> arriving;
  absl::flat_hash_set<std::string> invited;
  if (change == "created") {
    for (absl::string_view id : absl::StrSplit(entry.Get("member_ids"), ' ', absl::SkipEmpty())) {
      arriving.insert(std::string(id));
    }
    for (absl::string_view id : absl::StrSplit(entry.Get("invited_ids"), ' ', absl::SkipEmpty())) {
      invited.insert(std::string(id));
    }
  } else if (change == "joined") {
    arriving.insert(entry.Get("person_id"));
  } else if (change == "invited") {
    invited.insert(entry.Get("person_id"));
  }
  const std::string leaving = change == "left" ? entry.Get("person_id") : "";
  bool everyone = change == "created" && channel->kind == ChannelKind::kAnnouncement;
  auto updated = std::make_shared<const Channel>(*std::move(channel));
  Batches batches;
  for (const auto& subscription : subscriptions) {
    const std::string& person = subscription->person_id();
    if (person == leaving) {
      Dispatch(batches, subscription,
               [subscription, updated] { subscription->RemoveChannel(*updated); });
    } else if ((everyone || arriving.contains(person)) && subscription->follows_new_channels()) {
      Dispatch(batches, subscription, [subscription, updated, last_sequence] {
        subscription->AddChannel(*updated, last_sequence);
      });
    } else if (invited.contains(person) || subscription->Follows(channel_id)) {
      Dispatch(batches, subscription,
               [subscription, updated] { subscription->ChannelUpdated(*updated); });
    }
  }
  Flush(batches);
  return absl::OkStatus();
}

}  // namespace peerwell::network
