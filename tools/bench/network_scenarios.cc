// Scenarios of the peer network: a post fanned out to every member of a group channel, each
// member holding a live Subscribe stream.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "peerwell/network/v1/network.grpc.pb.h"
#include "services/common/channel.h"
#include "services/common/metrics.h"
#include "tools/bench/fanout.h"
#include "tools/bench/people.h"
#include "tools/bench/scenario.h"

namespace peerwell::bench {
namespace {

namespace nv1 = ::peerwell::network::v1;

// What a peer writes to their group after a session; the post's number goes in front of it, so
// that a subscriber can match a delivery before the post's reply has come back.
constexpr char kPostText[] =
    "Thanks everyone for tonight. The grounding exercise helped me more than I expected; if "
    "anyone wants to talk through a hard moment from this week, I'm around tomorrow evening.";
constexpr int kSampledEvents = 1000;  // events whose size is averaged for the notes

std::string PostBody(long post) { return absl::StrCat("[", post, "] ", kPostText); }

// The post's number from a body PostBody wrote, or -1.
long PostNumber(const std::string& body) {
  if (body.empty() || body[0] != '[') return -1;
  size_t close = body.find(']');
  long post = -1;
  if (close == std::string::npos || !absl::SimpleAtoi(body.substr(1, close - 1), &post)) return -1;
  return post;
}

grpc::Status ToGrpc(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

absl::Status ToAbsl(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

// PostMessage in one GROUP channel, at a fixed rate (the default, SPEC §9's 20 posts/s) or with
// --in_flight posts in flight (--rate=0: saturation). A post counts as a call until every
// subscriber has it, so its latency is to the last delivery and, in the closed loop, the posts in
// flight hold back the load instead of letting subscribers fall ever further behind. The figure is
// the deliveries: each timed from the moment its post was called, over every subscriber.
class PostFanoutScenario final : public Scenario {
 public:
  PostFanoutScenario(BenchOrganisation organisation, std::string channel_id, int64_t after_sequence,
                     const ScenarioContext& context)
      : organisation_(std::move(organisation)),
        channel_id_(std::move(channel_id)),
        after_sequence_(after_sequence),
        connections_(context.channels),
        delivery_timeout_(std::max(absl::Seconds(5), context.load.deadline)),
        ledger_(static_cast<int>(organisation_.volunteers.size()), after_sequence),
        slots_(organisation_.volunteers.size()) {
    for (auto& channel : Channels(context.network_addr, context.channels)) {
      stubs_.push_back(nv1::PeerNetworkService::NewStub(channel));
    }
  }

  ~PostFanoutScenario() override {
    std::unique_lock<std::mutex> lock(mu_);
    // A post's reply may come after its deliveries: wait for the replies, whose callbacks use this.
    changed_.wait(lock, [this] { return calls_in_flight_ == 0; });
    stopping_ = true;
    for (Slot& slot : slots_) {
      if (slot.stream != nullptr) slot.stream->Cancel();
    }
    lock.unlock();
    changed_.notify_all();
    if (timer_.joinable()) timer_.join();
    lock.lock();
    changed_.wait(lock, [this] { return open_streams_ == 0; });
  }

  // Opens every member's stream from the channel's last sequence and waits until each is live
  // (the server has sent its initial metadata), so that every post from then on reaches it.
  absl::Status Start() {
    absl::Time began = absl::Now();
    for (size_t i = 0; i < slots_.size(); ++i) Open(static_cast<int>(i), after_sequence_);
    timer_ = std::thread([this] { Tick(); });
    std::unique_lock<std::mutex> lock(mu_);
    bool settled = changed_.wait_for(lock, std::chrono::seconds(30), [this] {
      return live_ == slots_.size() || !startup_failure_.ok();
    });
    if (!startup_failure_.ok()) {
      return absl::UnavailableError(absl::StrCat("a Subscribe stream failed before it was live: ",
                                                 startup_failure_.message()));
    }
    if (!settled) {
      return absl::UnavailableError(
          absl::StrFormat("%d of %d Subscribe streams became live in 30 s", live_, slots_.size()));
    }
    live_after_ = absl::Now() - began;
    return absl::OkStatus();
  }

  IssueCall Issuer() override {
    return [this](int slot, grpc::ClientContext* context, std::function<void(grpc::Status)> done) {
      const BenchVolunteer& author =
          organisation_.volunteers[next_author_++ % organisation_.volunteers.size()];
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++calls_in_flight_;
      }
      absl::Time called = absl::Now();
      long post = ledger_.Called(
          called, [done = std::move(done)](absl::Status status) { done(ToGrpc(status)); });
      auto request = std::make_shared<nv1::PostMessageRequest>();
      request->set_channel_id(channel_id_);
      request->set_body(PostBody(post));
      request->set_client_message_id(absl::StrCat("bench-", post));
      context->AddMetadata("authorization", author.authorization);
      auto response = std::make_shared<nv1::PostMessageResponse>();
      stubs_[slot % stubs_.size()]->async()->PostMessage(
          context, request.get(), response.get(),
          [this, post, called, request, response](grpc::Status status) {
            double reply_ms = absl::ToDoubleMilliseconds(absl::Now() - called);
            {
              std::lock_guard<std::mutex> lock(mu_);
              reply_ms_.push_back(reply_ms);
            }
            ledger_.Replied(post, ToAbsl(status), response->message().sequence());
            std::lock_guard<std::mutex> lock(mu_);
            if (--calls_in_flight_ == 0) changed_.notify_all();
          });
    };
  }

  // A round's posts are timed by RunLoad from when they were due; its deliveries from when their
  // post was called, for posts called inside the window RunLoad measured.
  RoundResult Run(const LoadOptions& options) override {
    RoundResult round(RunLoad(options, Issuer()));
    round.counted = "posts";
    round.figure_name = "deliveries";
    round.figure = ledger_.CloseRound(round.calls.measured_from, round.calls.measured_until,
                                      round.calls.seconds);
    return round;
  }

  std::vector<std::string> Notes() override {
    FanoutLedger::Totals totals = ledger_.totals();
    std::lock_guard<std::mutex> lock(mu_);
    std::sort(reply_ms_.begin(), reply_ms_.end());
    auto percentile = [&](double p) {
      if (reply_ms_.empty()) return 0.0;
      return reply_ms_[static_cast<size_t>(p / 100.0 * (reply_ms_.size() - 1) + 0.5)];
    };
    long sampled = std::min<long>(sampled_events_.load(), kSampledEvents);
    return {
        absl::StrFormat(
            "channel of %d members, each with a Subscribe stream (over %d connections), all live "
            "%.0f ms after they were opened; NetworkEvents of %.0f bytes on average",
            static_cast<int>(slots_.size()), connections_, absl::ToDoubleMilliseconds(live_after_),
            sampled > 0 ? static_cast<double>(sampled_bytes_.load()) / sampled : 0.0),
        absl::StrFormat(
            "all rounds with warm-ups: %ld posts, %ld deliveries, %ld late (after their round "
            "counted them missing), %ld other events, %ld streams resumed; PostMessage replied in "
            "p50 %.3f ms, p99 %.3f ms",
            totals.posts, totals.deliveries, totals.late, other_events_.load(), resumed_,
            percentile(50), percentile(99))};
  }

 private:
  // One member's Subscribe stream, from a cursor; it deletes itself when it is done.
  class Stream final : public grpc::ClientReadReactor<nv1::NetworkEvent> {
   public:
    Stream(PostFanoutScenario& scenario, int subscriber, int64_t after_sequence)
        : scenario_(scenario), subscriber_(subscriber) {
      context_.AddMetadata("authorization",
                           scenario.organisation_.volunteers[subscriber].authorization);
      auto* cursor = request_.add_cursors();
      cursor->set_channel_id(scenario.channel_id_);
      cursor->set_after_sequence(after_sequence);
    }

    void Begin(nv1::PeerNetworkService::Stub& stub) {
      stub.async()->Subscribe(&context_, &request_, this);
      StartRead(&event_);
      StartCall();
    }
    void Cancel() { context_.TryCancel(); }

    void OnReadInitialMetadataDone(bool ok) override {
      if (ok) scenario_.Live(subscriber_);
    }
    void OnReadDone(bool ok) override {
      if (!ok) return;  // OnDone follows
      scenario_.Received(subscriber_, event_, absl::Now());
      StartRead(&event_);
    }
    void OnDone(const grpc::Status& status) override {
      scenario_.Ended(subscriber_, status);
      delete this;
    }

   private:
    PostFanoutScenario& scenario_;
    const int subscriber_;
    grpc::ClientContext context_;
    nv1::SubscribeRequest request_;
    nv1::NetworkEvent event_;
  };

  struct Slot {
    Stream* stream = nullptr;
    bool live = false;
    bool resume = false;  // its stream ended: the timer opens it again from its last sequence
  };

  void Open(int subscriber, int64_t after_sequence) {
    auto* stream = new Stream(*this, subscriber, after_sequence);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) {
        delete stream;  // never started
        return;
      }
      slots_[subscriber].stream = stream;
      ++open_streams_;
    }
    stream->Begin(*stubs_[subscriber % stubs_.size()]);
  }

  void Live(int subscriber) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!slots_[subscriber].live) {
      slots_[subscriber].live = true;
      ++live_;
      changed_.notify_all();
    }
  }

  void Received(int subscriber, const nv1::NetworkEvent& event, absl::Time now) {
    if (sampled_events_.fetch_add(1) < kSampledEvents) {
      sampled_bytes_ += static_cast<long>(event.ByteSizeLong());
    }
    if (event.event_type() != nv1::NETWORK_EVENT_TYPE_MESSAGE_POSTED) {
      ++other_events_;
      return;
    }
    long post = PostNumber(event.message().body());
    if (post < 0) {
      ledger_.DeliveredUnknown();
      return;
    }
    ledger_.Delivered(subscriber, post, event.message().sequence(), now);
  }

  // A stream ends only when the tool cancels it; any other end is counted and the subscriber
  // resumes from the last sequence it received, as a client would.
  void Ended(int subscriber, const grpc::Status& status) {
    std::lock_guard<std::mutex> lock(mu_);
    slots_[subscriber].stream = nullptr;
    --open_streams_;
    if (!stopping_) {
      if (!slots_[subscriber].live && startup_failure_.ok()) {
        startup_failure_ = ToAbsl(status);
        if (startup_failure_.ok()) startup_failure_ = absl::UnavailableError("the stream ended");
      }
      ledger_.StreamEnded(GrpcCodeName(status.error_code()));
      slots_[subscriber].resume = true;
    }
    changed_.notify_all();
  }

  // Ends posts that have waited too long for their deliveries, and reopens ended streams — from
  // here rather than from the stream's last callback, so that a service refusing streams is asked
  // again only every tick.
  void Tick() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
      changed_.wait_for(lock, std::chrono::milliseconds(50));
      if (stopping_) break;
      std::vector<int> resume;
      for (size_t i = 0; i < slots_.size(); ++i) {
        if (slots_[i].resume) {
          slots_[i].resume = false;
          resume.push_back(static_cast<int>(i));
        }
      }
      resumed_ += static_cast<long>(resume.size());
      lock.unlock();
      ledger_.Expire(absl::Now() - delivery_timeout_);
      for (int subscriber : resume) Open(subscriber, ledger_.LastSeen(subscriber));
      lock.lock();
    }
  }

  const BenchOrganisation organisation_;
  const std::string channel_id_;
  const int64_t after_sequence_;
  const int connections_;
  const absl::Duration delivery_timeout_;
  FanoutLedger ledger_;
  std::vector<std::unique_ptr<nv1::PeerNetworkService::Stub>> stubs_;
  std::atomic<uint64_t> next_author_{0};
  std::atomic<long> sampled_events_{0};
  std::atomic<long> sampled_bytes_{0};
  std::atomic<long> other_events_{0};
  std::thread timer_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::vector<Slot> slots_;
  size_t live_ = 0;
  int open_streams_ = 0;
  int calls_in_flight_ = 0;
  bool stopping_ = false;
  long resumed_ = 0;
  absl::Status startup_failure_;
  absl::Duration live_after_;
  std::vector<double> reply_ms_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Scenario>> MakePostFanoutScenario(const ScenarioContext& context) {
  if (context.network_addr.empty()) {
    return absl::FailedPreconditionError("post-fanout needs a network service");
  }
  auto organisations = CreateOrganisations(context, 1, context.subscribers);
  if (!organisations.ok()) return organisations.status();
  BenchOrganisation& organisation = organisations->front();

  auto network = nv1::PeerNetworkService::NewStub(ServiceChannel(context.network_addr));
  grpc::ClientContext call;
  call.AddMetadata("authorization", organisation.coordinator_authorization);
  call.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  nv1::CreateChannelRequest create;
  nv1::Channel& channel = *create.mutable_channel();
  channel.set_kind(nv1::CHANNEL_KIND_GROUP);
  channel.set_display_name("Bench fan-out");
  for (const BenchVolunteer& volunteer : organisation.volunteers) {
    channel.add_member_ids(volunteer.person_id);
  }
  create.set_request_id(absl::StrCat("bench-fanout-", organisation.organization_id));
  nv1::CreateChannelResponse created;
  grpc::Status status = network->CreateChannel(&call, create, &created);
  if (!status.ok()) {
    return absl::UnavailableError(absl::StrCat("network CreateChannel: ", status.error_message(),
                                               " (code ", static_cast<int>(status.error_code()),
                                               ")"));
  }
  const nv1::Channel& made = created.channel();
  for (const BenchVolunteer& volunteer : organisation.volunteers) {
    if (std::find(made.member_ids().begin(), made.member_ids().end(), volunteer.person_id) ==
        made.member_ids().end()) {
      return absl::FailedPreconditionError(
          absl::StrCat("network CreateChannel: ", volunteer.person_id, " is not a member"));
    }
  }
  auto scenario = std::make_unique<PostFanoutScenario>(std::move(organisation), made.channel_id(),
                                                       made.last_sequence(), context);
  if (auto started = scenario->Start(); !started.ok()) return started;
  return scenario;
}

}  // namespace peerwell::bench
