#include "absl/strings/str_cat.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "peerwell/bench/v1/bench.grpc.pb.h"
#include "services/common/channel.h"
#include "tools/bench/scenario.h"

namespace peerwell::bench {
namespace {

namespace bv1 = ::peerwell::bench::v1;

// The baseline: a handler that answers at once, on gRPC's own thread.
class EmptyService final : public bv1::BenchService::CallbackService {
  grpc::ServerUnaryReactor* Empty(grpc::CallbackServerContext* context, const bv1::EmptyRequest*,
                                  bv1::EmptyResponse*) override {
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

class EmptyScenario final : public Scenario {
 public:
  explicit EmptyScenario(int channels) {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    for (auto& channel : Channels(absl::StrCat("127.0.0.1:", port), channels)) {
      stubs_.push_back(bv1::BenchService::NewStub(channel));
    }
  }
  ~EmptyScenario() override { server_->Shutdown(); }

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
  EmptyService service_;
  std::unique_ptr<grpc::Server> server_;
  std::vector<std::unique_ptr<bv1::BenchService::Stub>> stubs_;
};

}  // namespace

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

const std::vector<ScenarioSpec>& AllScenarios() {
  static const auto* scenarios = new std::vector<ScenarioSpec>{
      {"empty", "an empty unary handler inside the tool: the gRPC stack's baseline", false,
       [](const ScenarioContext& context) -> absl::StatusOr<std::unique_ptr<Scenario>> {
         return MakeEmptyScenario(context.channels);
       }},
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
