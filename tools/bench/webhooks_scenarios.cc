// Scenarios of partners' webhooks: a critical incident until its alert event reaches a partner's
// receiver.
#include <algorithm>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/json_util.h"
#include "peerwell/checkin/v1/checkin.grpc.pb.h"
#include "peerwell/directory/v1/directory.grpc.pb.h"
#include "peerwell/gateway/v1/webhooks.grpc.pb.h"
#include "services/common/channel.h"
#include "services/common/proto_time.h"
#include "tests/testing/webhook_receiver.h"
#include "tools/bench/people.h"
#include "tools/bench/scenario.h"

namespace peerwell::bench {
namespace {

namespace cv1 = ::peerwell::checkin::v1;
namespace dv1 = ::peerwell::directory::v1;
namespace wv1 = ::peerwell::gateway::v1;
using ::peerwell::testing::TestReceiver;

// How long a round waits after its last incident for the deliveries it is owed.
constexpr absl::Duration kDeliveryWait = absl::Seconds(15);

std::unique_ptr<grpc::ClientContext> CallContext() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return context;
}

// ReportCriticalIncident from volunteers (who agreed to research export) of several
// organisations in turn, each organisation with a partner's webhook for alert.triggered and
// alert.updated pointing at a receiver inside the tool. The calls are the reports; the figure is
// each delivery, timed from its alert event's occur_time (stamped by the alerts service on this
// machine's clock) until it arrives: the webhooks service's queue, claim and POST together.
class IncidentToWebhookScenario final : public Scenario {
 public:
  IncidentToWebhookScenario(std::vector<BenchOrganisation> organisations,
                            const ScenarioContext& context)
      : organisations_(std::move(organisations)),
        receiver_({204}, [this](const TestReceiver::Request& request) { Received(request); }) {
    for (const auto& organisation : organisations_) {
      for (const auto& volunteer : organisation.volunteers) volunteers_.push_back(&volunteer);
    }
    for (auto& channel : Channels(context.checkin_addr, context.channels)) {
      stubs_.push_back(cv1::CheckinService::NewStub(channel));
    }
  }

  // A partner's key and webhook per organisation.
  absl::Status Start(const ScenarioContext& context) {
    auto directory = dv1::DirectoryService::NewStub(ServiceChannel(context.directory_addr));
    auto webhooks = wv1::WebhookService::NewStub(ServiceChannel(context.webhooks_addr));
    for (const auto& organisation : organisations_) {
      dv1::CreateApiKeyRequest key_request;
      key_request.set_display_name("Bench partner");
      key_request.add_scopes("webhooks:manage");
      dv1::CreateApiKeyResponse key;
      auto as_coordinator = CallContext();
      as_coordinator->AddMetadata("authorization", organisation.coordinator_authorization);
      grpc::Status status = directory->CreateApiKey(as_coordinator.get(), key_request, &key);
      if (!status.ok()) {
        return absl::UnavailableError(absl::StrCat("CreateApiKey: ", status.error_message()));
      }
      wv1::CreateWebhookRequest webhook;
      webhook.set_url(absl::StrCat("http://127.0.0.1:", receiver_.port(), "/bench"));
      webhook.add_event_types("alert.triggered");
      webhook.add_event_types("alert.updated");
      wv1::CreateWebhookResponse created;
      auto as_partner = CallContext();
      as_partner->AddMetadata("x-api-key", key.secret());
      status = webhooks->CreateWebhook(as_partner.get(), webhook, &created);
      if (!status.ok()) {
        return absl::UnavailableError(absl::StrCat(
            "CreateWebhook: ", status.error_message(),
            " (the webhooks service must run with PEERWELL_WEBHOOK_ALLOW_PRIVATE=true for the "
            "tool's receiver on loopback)"));
      }
    }
    return absl::OkStatus();
  }

  IssueCall Issuer() override {
    return [this](int slot, grpc::ClientContext* context, std::function<void(grpc::Status)> done) {
      const BenchVolunteer& volunteer = *volunteers_[next_++ % volunteers_.size()];
      context->AddMetadata("authorization", volunteer.authorization);
      auto request = std::make_shared<cv1::ReportCriticalIncidentRequest>();
      request->set_incident_type(cv1::INCIDENT_TYPE_AGGRESSION);
      *request->mutable_occur_time() = TimestampToProto(absl::Now() - absl::Hours(1));
      request->set_description("A private description, sealed at rest.");
      auto response = std::make_shared<cv1::ReportCriticalIncidentResponse>();
      stubs_[slot % stubs_.size()]->async()->ReportCriticalIncident(
          context, request.get(), response.get(),
          [request, response, done = std::move(done)](grpc::Status status) { done(status); });
    };
  }

  RoundResult Run(const LoadOptions& options) override {
    RoundResult round(RunLoad(options, Issuer()));
    round.counted = "incidents";
    round.figure_name = "deliveries";
    const LoadResult& calls = round.calls;
    long owed = calls.calls - calls.ErrorCount();
    std::vector<double> latencies;
    {
      std::unique_lock<std::mutex> lock(mu_);
      auto measured = [&] {
        latencies.clear();
        for (const Arrival& arrival : arrivals_) {
          if (arrival.occurred >= calls.measured_from && arrival.occurred < calls.measured_until) {
            latencies.push_back(absl::ToDoubleMilliseconds(arrival.arrived - arrival.occurred));
          }
        }
        return static_cast<long>(latencies.size()) >= owed;
      };
      arrived_.wait_for(lock, absl::ToChronoMilliseconds(kDeliveryWait), measured);
      measured();
    }
    std::sort(latencies.begin(), latencies.end());
    LoadResult& figure = round.figure;
    figure.seconds = calls.seconds;
    figure.calls = static_cast<long>(latencies.size());
    figure.latencies_ms = std::move(latencies);
    figure.measured_from = calls.measured_from;
    figure.measured_until = calls.measured_until;
    if (figure.calls < owed) figure.errors["NOT_DELIVERED"] = owed - figure.calls;
    return round;
  }

  std::vector<std::string> Notes() override {
    std::lock_guard<std::mutex> lock(mu_);
    return {absl::StrFormat(
        "%d organisations, each with a partner's webhook; all rounds with warm-ups: %d "
        "deliveries received, %d of them not a WebhookEvent",
        static_cast<int>(organisations_.size()), static_cast<int>(arrivals_.size()), unreadable_)};
  }

 private:
  struct Arrival {
    absl::Time occurred;
    absl::Time arrived;
  };

  void Received(const TestReceiver::Request& request) {
    absl::Time arrived = absl::Now();
    wv1::WebhookEvent event;
    auto parsed = google::protobuf::util::JsonStringToMessage(request.body(), &event);
    auto occurred = TimestampFromProto(event.occur_time(), "occur_time");
    std::lock_guard<std::mutex> lock(mu_);
    if (!parsed.ok() || !occurred.ok()) {
      ++unreadable_;
      return;
    }
    arrivals_.push_back({*occurred, arrived});
    arrived_.notify_all();
  }

  const std::vector<BenchOrganisation> organisations_;
  std::vector<const BenchVolunteer*> volunteers_;
  std::vector<std::unique_ptr<cv1::CheckinService::Stub>> stubs_;
  std::atomic<uint64_t> next_{0};
  std::mutex mu_;
  std::condition_variable arrived_;
  std::vector<Arrival> arrivals_;
  int unreadable_ = 0;
  TestReceiver receiver_;  // last: its thread calls Received, which uses the members above
};

}  // namespace

absl::StatusOr<std::unique_ptr<Scenario>> MakeIncidentToWebhookScenario(
    const ScenarioContext& context) {
  auto organisations = CreateOrganisations(context, context.organisations, context.volunteers,
                                           {.research_export = true});
  if (!organisations.ok()) return organisations.status();
  auto scenario =
      std::make_unique<IncidentToWebhookScenario>(*std::move(organisations), context);
  if (auto status = scenario->Start(context); !status.ok()) return status;
  return scenario;
}

}  // namespace peerwell::bench
