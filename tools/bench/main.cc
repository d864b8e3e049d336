// peerwell-bench: the project's load generator. Closed loop (N calls in flight over M channels)
// or open loop (a fixed rate); reports throughput, latency percentiles and errors by code; with
// --vs empty it alternates rounds of a scenario and of the empty-handler baseline and reports
// the median ratios, so that a figure holds on a noisy shared machine.
#include <cstdio>
#include <iostream>
#include <memory>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "peerwell/bench/v1/bench.grpc.pb.h"
#include "peerwell/checkin/v1/checkin.grpc.pb.h"
#include "peerwell/directory/v1/directory.grpc.pb.h"
#include "services/common/auth.h"
#include "services/common/config.h"
#include "services/common/server.h"
#include "tools/bench/load.h"

namespace peerwell::bench {
namespace {

namespace bv1 = ::peerwell::bench::v1;
namespace cv1 = ::peerwell::checkin::v1;
namespace dv1 = ::peerwell::directory::v1;

// The baseline: a handler that answers at once, on gRPC's own thread.
class EmptyService final : public bv1::BenchService::CallbackService {
  grpc::ServerUnaryReactor* Empty(grpc::CallbackServerContext* context, const bv1::EmptyRequest*,
                                  bv1::EmptyResponse*) override {
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

std::vector<std::shared_ptr<grpc::Channel>> Channels(const std::string& target, int count) {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < count; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("peerwell.bench.channel", i);  // distinct arguments: distinct connections
    channels.push_back(grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args));
  }
  return channels;
}

// A scenario prepares itself once and then issues calls for RunLoad.
class Scenario {
 public:
  virtual ~Scenario() = default;
  virtual IssueCall Issuer() = 0;
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

// Authenticated SubmitCheckin of WHO-5, CBI and pulse answers from many volunteers of several
// organisations, against a running directory and check-in service (the same secret).
class SubmitCheckinScenario final : public Scenario {
 public:
  static absl::StatusOr<std::unique_ptr<SubmitCheckinScenario>> Create(
      const std::string& directory_addr, const std::string& checkin_addr, const std::string& secret,
      int organisations, int volunteers, int channels) {
    auto scenario = std::unique_ptr<SubmitCheckinScenario>(new SubmitCheckinScenario());
    auto directory = dv1::DirectoryService::NewStub(
        grpc::CreateChannel(directory_addr, grpc::InsecureChannelCredentials()));
    auto call = [&](const std::string& token) {
      auto context = std::make_unique<grpc::ClientContext>();
      context->AddMetadata("authorization", "Bearer " + token);
      context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      return context;
    };
    auto mint = [&](CallerRole role, const std::string& sub, const std::string& org) {
      return MintToken(secret, {sub, org, role, absl::Hours(2)}, absl::Now());
    };
    for (int o = 0; o < organisations; ++o) {
      dv1::CreateOrganizationRequest create_org;
      create_org.set_display_name(absl::StrCat("Bench organisation ", o));
      dv1::CreateOrganizationResponse org;
      grpc::Status status = directory->CreateOrganization(
          call(mint(CallerRole::kAdmin, "bench", "")).get(), create_org, &org);
      if (!status.ok()) return absl::UnavailableError("directory: " + status.error_message());
      const std::string& org_id = org.organization().organization_id();
      dv1::CreatePersonRequest person;
      person.mutable_person()->set_display_name("Bench coordinator");
      person.mutable_person()->set_role(dv1::ROLE_COORDINATOR);
      dv1::CreatePersonResponse coordinator;
      status = directory->CreatePerson(call(mint(CallerRole::kAdmin, "bench", org_id)).get(),
                                       person, &coordinator);
      if (!status.ok()) return absl::UnavailableError("directory: " + status.error_message());
      std::string coordinator_token =
          mint(CallerRole::kCoordinator, coordinator.person().person_id(), org_id);
      for (int v = 0; v < volunteers; ++v) {
        person.mutable_person()->set_display_name(absl::StrCat("Bench volunteer ", v));
        person.mutable_person()->set_role(dv1::ROLE_VOLUNTEER);
        dv1::CreatePersonResponse volunteer;
        status = directory->CreatePerson(call(coordinator_token).get(), person, &volunteer);
        if (!status.ok()) return absl::UnavailableError("directory: " + status.error_message());
        scenario->tokens_.push_back(
            "Bearer " + mint(CallerRole::kVolunteer, volunteer.person().person_id(), org_id));
      }
    }
    for (auto& channel : Channels(checkin_addr, channels)) {
      scenario->stubs_.push_back(cv1::CheckinService::NewStub(channel));
    }
    scenario->requests_ = RealisticRequests();
    return scenario;
  }

  IssueCall Issuer() override {
    return [this](int slot, grpc::ClientContext* context, std::function<void(grpc::Status)> done) {
      uint64_t n = next_++;
      context->AddMetadata("authorization", tokens_[n % tokens_.size()]);
      auto request = std::make_shared<cv1::SubmitCheckinRequest>(requests_[n % requests_.size()]);
      request->set_note("A private note, sealed at rest.");
      auto response = std::make_shared<cv1::SubmitCheckinResponse>();
      stubs_[slot % stubs_.size()]->async()->SubmitCheckin(
          context, request.get(), response.get(),
          [request, response, done = std::move(done)](grpc::Status status) { done(status); });
    };
  }

 private:
  SubmitCheckinScenario() = default;

  static std::vector<cv1::SubmitCheckinRequest> RealisticRequests() {
    auto answers = [](cv1::SubmitCheckinRequest& request,
                      std::vector<std::pair<std::string, int>> values) {
      for (const auto& [item, value] : values) {
        auto* answer = request.add_answers();
        answer->set_item_id(item);
        answer->set_value(value);
      }
    };
    std::vector<cv1::SubmitCheckinRequest> requests(3);
    requests[0].set_instrument_id("who5");
    answers(requests[0], {{"1", 3}, {"2", 4}, {"3", 2}, {"4", 3}, {"5", 4}});
    requests[1].set_instrument_id("cbi");
    std::vector<std::pair<std::string, int>> cbi;
    for (int item = 1; item <= 19; ++item) cbi.push_back({absl::StrCat(item), (item % 5) * 25});
    answers(requests[1], cbi);
    requests[2].set_instrument_id("pulse");
    answers(requests[2], {{"energy", 3}, {"stayed_with_me", 1}, {"want_to_talk", 0}});
    requests[2].mutable_context()->set_hours(2.5);
    requests[2].mutable_context()->set_session_kind("group");
    return requests;
  }

  std::vector<std::string> tokens_;
  std::vector<std::unique_ptr<cv1::CheckinService::Stub>> stubs_;
  std::vector<cv1::SubmitCheckinRequest> requests_;
  std::atomic<uint64_t> next_{0};
};

std::string Line(const std::string& name, const LoadResult& r) {
  std::string errors;
  for (const auto& [code, count] : r.errors) absl::StrAppend(&errors, " ", code, "=", count);
  return absl::StrFormat(
      "%-16s %10.0f/s  p50 %7.3f ms  p90 %7.3f  p99 %7.3f  p99.9 %7.3f  max "
      "%7.3f  calls %ld  errors %ld%s",
      name, r.Throughput(), r.Percentile(50), r.Percentile(90), r.Percentile(99),
      r.Percentile(99.9), r.latencies_ms.empty() ? 0 : r.latencies_ms.back(), r.calls,
      r.ErrorCount(), errors);
}

std::string Json(const LoadResult& r) {
  std::string errors;
  for (const auto& [code, count] : r.errors) {
    absl::StrAppend(&errors, errors.empty() ? "" : ",", "\"", code, "\":", count);
  }
  return absl::StrFormat(
      "{\"throughput\":%.1f,\"p50_ms\":%.4f,\"p90_ms\":%.4f,\"p99_ms\":%.4f,\"p999_ms\":%.4f,"
      "\"max_ms\":%.4f,\"calls\":%ld,\"errors\":%ld,\"errors_by_code\":{%s}}",
      r.Throughput(), r.Percentile(50), r.Percentile(90), r.Percentile(99), r.Percentile(99.9),
      r.latencies_ms.empty() ? 0 : r.latencies_ms.back(), r.calls, r.ErrorCount(), errors);
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  size_t m = values.size() / 2;
  return values.size() % 2 ? values[m] : (values[m - 1] + values[m]) / 2;
}

int Main(int argc, char** argv) {
  DisableMutexDeadlockDetection();  // as the services do, so the baseline is the same stack
  std::vector<SettingSpec> specs = {
      {"scenario", "PEERWELL_BENCH_SCENARIO", "empty", "empty or submit-checkin"},
      {"in_flight", "PEERWELL_BENCH_IN_FLIGHT", "16", "calls in flight (closed loop)"},
      {"channels", "PEERWELL_BENCH_CHANNELS", "2", "gRPC channels (connections)"},
      {"rate", "PEERWELL_BENCH_RATE", "0", "calls per second: an open loop when above 0"},
      {"duration", "PEERWELL_BENCH_DURATION", "5s", "measured time per round"},
      {"warmup", "PEERWELL_BENCH_WARMUP", "1s", "unmeasured time before each round"},
      {"deadline", "PEERWELL_BENCH_DEADLINE", "1s", "deadline of every call"},
      {"vs", "PEERWELL_BENCH_VS", "", "'empty': alternate rounds with the baseline, report ratios"},
      {"rounds", "PEERWELL_BENCH_ROUNDS", "5", "rounds of each with --vs"},
      {"json", "PEERWELL_BENCH_JSON", "false", "print JSON"},
      {"directory_addr", "PEERWELL_DIRECTORY_ADDR", "127.0.0.1:50051", "for submit-checkin"},
      {"checkin_addr", "PEERWELL_CHECKIN_ADDR", "127.0.0.1:50052", "for submit-checkin"},
      {"jwt_secret", "PEERWELL_JWT_SECRET", "", "the services' signing secret"},
      {"jwt_secret_file", "PEERWELL_JWT_SECRET_FILE", "", "file holding the secret"},
      {"organisations", "PEERWELL_BENCH_ORGANISATIONS", "4", "for submit-checkin"},
      {"volunteers", "PEERWELL_BENCH_VOLUNTEERS", "25", "per organisation, for submit-checkin"},
  };
  std::vector<std::string> args(argv + 1, argv + argc);
  for (std::string& arg : args) {
    if (arg == "--json") arg = "--json=true";  // a switch
  }
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    std::cout << SettingsHelp("peerwell-bench", specs);
    return 0;
  }
  auto settings = ParseSettings(args, specs);
  if (!settings.ok()) {
    std::cerr << "peerwell-bench: " << settings.status().message() << "\n";
    return 2;
  }
  auto& s = *settings;
  LoadOptions options;
  int channels = 0;
  int rounds = 0;
  if (!absl::SimpleAtoi(s["in_flight"], &options.in_flight) || options.in_flight < 1 ||
      !absl::SimpleAtoi(s["channels"], &channels) || channels < 1 ||
      !absl::SimpleAtod(s["rate"], &options.rate) || options.rate < 0 ||
      !absl::ParseDuration(s["duration"], &options.duration) ||
      !absl::ParseDuration(s["warmup"], &options.warmup) ||
      !absl::ParseDuration(s["deadline"], &options.deadline) ||
      !absl::SimpleAtoi(s["rounds"], &rounds) || rounds < 1) {
    std::cerr << "peerwell-bench: bad numeric or duration flag (see --help)\n";
    return 2;
  }
  bool json = s["json"] == "true" || s["json"] == "1";
  if (s["vs"] != "" && s["vs"] != "empty") {
    std::cerr << "peerwell-bench: --vs takes 'empty'\n";
    return 2;
  }

  std::unique_ptr<Scenario> scenario;
  if (s["scenario"] == "empty") {
    scenario = std::make_unique<EmptyScenario>(channels);
  } else if (s["scenario"] == "submit-checkin") {
    auto secret = ReadSecret("PEERWELL_JWT_SECRET", s["jwt_secret"], s["jwt_secret_file"]);
    int organisations = 0, volunteers = 0;
    if (!secret.ok() || secret->empty() || !absl::SimpleAtoi(s["organisations"], &organisations) ||
        !absl::SimpleAtoi(s["volunteers"], &volunteers)) {
      std::cerr << "peerwell-bench: submit-checkin needs PEERWELL_JWT_SECRET (or _FILE)\n";
      return 2;
    }
    auto created = SubmitCheckinScenario::Create(s["directory_addr"], s["checkin_addr"], *secret,
                                                 organisations, volunteers, channels);
    if (!created.ok()) {
      std::cerr << "peerwell-bench: " << created.status().message() << "\n";
      return 1;
    }
    scenario = *std::move(created);
  } else {
    std::cerr << "peerwell-bench: unknown scenario '" << s["scenario"] << "'\n";
    return 2;
  }

  if (s["vs"].empty()) {
    LoadResult result = RunLoad(options, scenario->Issuer());
    std::cout << (json ? Json(result) : Line(s["scenario"], result)) << "\n";
    return result.calls > 0 ? 0 : 1;
  }
  EmptyScenario baseline(channels);
  std::vector<double> throughput_ratios, p99_ratios;
  std::vector<std::string> round_json;
  for (int round = 0; round < rounds; ++round) {
    LoadResult measured = RunLoad(options, scenario->Issuer());
    LoadResult base = RunLoad(options, baseline.Issuer());
    throughput_ratios.push_back(measured.Throughput() / std::max(1.0, base.Throughput()));
    p99_ratios.push_back(measured.Percentile(99) / std::max(1e-6, base.Percentile(99)));
    if (json) {
      round_json.push_back(
          absl::StrCat("{\"scenario\":", Json(measured), ",\"empty\":", Json(base), "}"));
    } else {
      std::cout << "round " << round + 1 << "\n  " << Line(s["scenario"], measured) << "\n  "
                << Line("empty", base) << "\n";
    }
  }
  double throughput = Median(throughput_ratios);
  double p99 = Median(p99_ratios);
  if (json) {
    std::string rounds_text;
    for (const auto& r : round_json)
      absl::StrAppend(&rounds_text, rounds_text.empty() ? "" : ",", r);
    std::cout << absl::StrFormat(
                     "{\"scenario\":\"%s\",\"in_flight\":%d,\"throughput_ratio\":%.3f,"
                     "\"p99_ratio\":%.3f,\"rounds\":[%s]}",
                     s["scenario"], options.in_flight, throughput, p99, rounds_text)
              << "\n";
  } else {
    std::cout << absl::StrFormat("median of %d rounds vs empty: throughput x%.3f, p99 x%.3f\n",
                                 rounds, throughput, p99);
  }
  return 0;
}

}  // namespace
}  // namespace peerwell::bench

int main(int argc, char** argv) { return peerwell::bench::Main(argc, argv); }
