#include <algorithm>
#include <condition_variable>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "peerwell/bench/v1/bench.grpc.pb.h"
#include "services/common/channel.h"
#include "services/common/metrics.h"
#include "tools/bench/scenario.h"

namespace peerwell::bench {
namespace {

namespace bv1 = ::peerwell::bench::v1;

constexpr int kMaxStreamMessageBytes = 1 << 20;

// Writes the same message again as soon as gRPC has taken the previous one, so the stream goes as
// fast as the client reads (flow control holds the writer back), until the client cancels.
class StreamWriter final : public grpc::ServerWriteReactor<bv1::StreamMessage> {
 public:
  explicit StreamWriter(int bytes) {
    message_.set_payload(std::string(std::clamp(bytes, 0, kMaxStreamMessageBytes), 'x'));
    StartWrite(&message_);
  }
  void OnWriteDone(bool ok) override {
    if (!ok) {  // the client has gone
      Finish(grpc::Status::CANCELLED);
      return;
    }
    StartWrite(&message_);
  }
  void OnDone() override { delete this; }

 private:
  bv1::StreamMessage message_;
};

// The baselines: handlers that do nothing but answer, on gRPC's own threads.
class BaselineService final : public bv1::BenchService::CallbackService {
  grpc::ServerUnaryReactor* Empty(grpc::CallbackServerContext* context, const bv1::EmptyRequest*,
                                  bv1::EmptyResponse*) override {
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  grpc::ServerWriteReactor<bv1::StreamMessage>* EmptyStream(
      grpc::CallbackServerContext*, const bv1::EmptyStreamRequest* request) override {
    return new StreamWriter(request->payload_bytes());
  }
};

// The baseline service on a free loopback port of this process.
class BaselineServer {
 public:
  std::string address() const { return server_.address(); }

 private:
  BaselineService service_;
  InProcessServer server_{service_};
};

class EmptyScenario final : public Scenario {
 public:
  explicit EmptyScenario(int channels) {
    for (auto& channel : Channels(server_.address(), channels)) {
      stubs_.push_back(bv1::BenchService::NewStub(channel));
    }
  }

  IssueCall Issuer() override {
    return [this](int slot, grpc::ClientContext* context, std::function<void(grpc::Status)> done) {
      auto request = std::make_shared<bv1::EmptyRequest>();
      auto response = std::make_shared<bv1::EmptyResponse>();
      stubs_[slot % stubs_.size()]->async()->Empty(
          context, request.get(), response.get(),
          [request, response, done = std::move(done)](grpc::Status status) { done(status); });
    };
  }

 private:
  BaselineServer server_;
  std::vector<std::unique_ptr<bv1::BenchService::Stub>> stubs_;
};

// Reads one EmptyStream for a round: the messages read in the measured window are its calls, each
// timed from the message before it, and it cancels the stream when the round is over.
class StreamReader final : public grpc::ClientReadReactor<bv1::StreamMessage> {
 public:
  StreamReader(bv1::BenchService::Stub& stub, int message_bytes, const LoadOptions& options)
      : start_(absl::Now()),
        from_(start_ + options.warmup),
        until_(options.calls > 0 ? absl::InfiniteFuture() : from_ + options.duration),
        calls_(options.calls),
        edges_(options, from_, until_),
        last_(start_) {
    // Only a guard against a stream that stops by itself: the reader cancels it when it is done.
    absl::Duration longest = options.calls > 0
                                 ? absl::Seconds(10) + options.calls * absl::Milliseconds(1)
                                 : options.duration + absl::Seconds(10);
    context_.set_deadline(absl::ToChronoTime(from_ + longest));
    request_.set_payload_bytes(message_bytes);
    stub.async()->EmptyStream(&context_, &request_, this);
    StartRead(&message_);
    StartCall();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // OnDone follows
    absl::Time now = absl::Now();
    bool more = true;
    if (now >= until_) {
      more = false;
    } else if (now >= from_) {
      gaps_ms_.push_back(absl::ToDoubleMilliseconds(now - last_));
      measured_end_ = now;
      more = calls_ <= 0 || static_cast<long>(gaps_ms_.size()) < calls_;
    }
    last_ = now;
    if (more) {
      StartRead(&message_);
    } else {
      context_.TryCancel();
    }
  }

  void OnDone(const grpc::Status& status) override {
    std::lock_guard<std::mutex> lock(mu_);
    status_ = status;
    done_ = true;
    finished_.notify_all();
  }

  LoadResult Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    finished_.wait(lock, [this] { return done_; });
    edges_.Close();  // by count, the window closes with the last message read
    LoadResult result;
    result.measured_from = from_;
    result.measured_until = until_;
    result.seconds = calls_ > 0 ? absl::ToDoubleSeconds(measured_end_ - from_)
                                : absl::ToDoubleSeconds(until_ - from_);
    // The tool cancels the stream to end it; any other end is the stream failing.
    if (status_.error_code() != grpc::StatusCode::CANCELLED) {
      ++result.errors[GrpcCodeName(status_.error_code())];
    }
    result.latencies_ms = std::move(gaps_ms_);
    std::sort(result.latencies_ms.begin(), result.latencies_ms.end());
    result.calls = static_cast<long>(result.latencies_ms.size());
    return result;
  }

 private:
  const absl::Time start_;
  const absl::Time from_;
  const absl::Time until_;
  const long calls_;
  WindowEdges edges_;
  grpc::ClientContext context_;
  bv1::EmptyStreamRequest request_;
  bv1::StreamMessage message_;
  // Touched only by the reads, which follow one another, and by Wait after OnDone.
  absl::Time last_;
  absl::Time measured_end_;
  std::vector<double> gaps_ms_;
  std::mutex mu_;
  std::condition_variable finished_;
  bool done_ = false;
  grpc::Status status_;
};

class EmptyStreamScenario final : public Scenario {
 public:
  explicit EmptyStreamScenario(int message_bytes)
      : message_bytes_(message_bytes),
        stub_(bv1::BenchService::NewStub(ServiceChannel(server_.address()))) {}

  RoundResult Run(const LoadOptions& options) override {
    StreamReader reader(*stub_, message_bytes_, options);
    RoundResult round(reader.Wait());
    round.counted = "messages";
    return round;
  }

  std::vector<std::string> Notes() override {
    return {absl::StrFormat("one stream of %d-byte messages; latency is the gap between messages",
                            message_bytes_)};
  }

 private:
  const int message_bytes_;
  BaselineServer server_;
  std::unique_ptr<bv1::BenchService::Stub> stub_;
};

}  // namespace

InProcessServer::InProcessServer(grpc::Service& service) {
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
  builder.RegisterService(&service);
  server_ = builder.BuildAndStart();
}

InProcessServer::~InProcessServer() { server_->Shutdown(); }

std::string InProcessServer::address() const { return absl::StrCat("127.0.0.1:", port_); }

std::vector<std::shared_ptr<grpc::Channel>> Channels(const std::string& target, int count) {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < count; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("peerwell.bench.channel", i);  // distinct arguments: distinct connections
    channels.push_back(ServiceChannel(target, args));
  }
  return channels;
}

std::unique_ptr<Scenario> MakeEmptyScenario(int channels) {
  return std::make_unique<EmptyScenario>(channels);
}

std::unique_ptr<Scenario> MakeEmptyStreamScenario(int message_bytes) {
  return std::make_unique<EmptyStreamScenario>(message_bytes);
}

const std::vector<ScenarioSpec>& AllScenarios() {
  static const auto* scenarios = new std::vector<ScenarioSpec>{
      {"empty", "an empty unary handler inside the tool: the gRPC stack's baseline", false,
       [](const ScenarioContext& context) -> absl::StatusOr<std::unique_ptr<Scenario>> {
         return MakeEmptyScenario(context.channels);
       }},
      {"empty-stream",
       "an empty server stream inside the tool, read as fast as it writes: messages/s on one "
       "stream, the baseline of post-fanout",
       false,
       [](const ScenarioContext&) -> absl::StatusOr<std::unique_ptr<Scenario>> {
         return MakeEmptyStreamScenario(kEmptyStreamMessageBytes);
       }},
      {"durable-write",
       "a unary handler inside the tool that answers once one atomic, fsync'd Redis write of a "
       "check-in's size (its hash and its event) is done: the floor under an acknowledged write "
       "(needs Redis: --start_suite or --redis_addr)",
       false,
       [](const ScenarioContext& context) -> absl::StatusOr<std::unique_ptr<Scenario>> {
         if (!context.redis.has_value()) {
           return absl::FailedPreconditionError("durable-write needs a Redis");
         }
         return MakeDurableWriteScenario(*context.redis, context.channels,
                                         context.redis_min_replicas);
       },
       0, true},
      {"submit-checkin",
       "authenticated SubmitCheckin (WHO-5, CBI, pulse) from many volunteers of several "
       "organisations",
       true, MakeSubmitCheckinScenario},
      {"checkin-to-alert",
       "WHO-5 check-ins that raise an alert, timed until the alert arrives on WatchAlerts", true,
       MakeCheckinToAlertScenario},
      {"propose-slots",
       "ProposeSlots of an hour over four weeks, for a random volunteer of one organisation's pool "
       "of supervisors (--supervisors) with weekly availability, leave and bookings",
       true, MakeProposeSlotsScenario},
      {"post-fanout",
       "PostMessage in a group channel whose members (--subscribers) each hold a Subscribe "
       "stream, each post timed until it reached every one of them, and each delivery from the "
       "call; 20 posts/s unless --rate says otherwise (--rate=0: saturation, --in_flight posts "
       "in flight)",
       true, MakePostFanoutScenario, 20},
      {"incident-to-webhook",
       "ReportCriticalIncident from volunteers of several organisations, each organisation with a "
       "partner's webhook on a receiver inside the tool; each delivery timed from its alert "
       "event until it arrives; 20 incidents/s unless --rate says otherwise",
       true, MakeIncidentToWebhookScenario, 20},
      {"gateway-get-person",
       "GetPerson of the caller in JSON through the gateway over keep-alive HTTP/1.1 (one "
       "connection per call in flight): what HTTP, the Connect protocol's JSON and the second hop "
       "add to a directory read",
       true, MakeGatewayGetPersonScenario},
  };
  return *scenarios;
}

const ScenarioSpec* FindScenario(const std::string& name) {
  for (const ScenarioSpec& spec : AllScenarios()) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

}  // namespace peerwell::bench
