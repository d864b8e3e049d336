// Scenarios of the check-in path: SubmitCheckin alone, and a check-in until its alert reaches a
// supervisor's WatchAlerts stream.
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "peerwell/alerts/v1/alerts.grpc.pb.h"
#include "peerwell/checkin/v1/checkin.grpc.pb.h"
#include "services/common/channel.h"
#include "tools/bench/people.h"
#include "tools/bench/scenario.h"

namespace peerwell::bench {
namespace {

namespace av1 = ::peerwell::alerts::v1;
namespace cv1 = ::peerwell::checkin::v1;

void AddAnswers(cv1::SubmitCheckinRequest& request,
                const std::vector<std::pair<std::string, int>>& values) {
  for (const auto& [item, value] : values) {
    auto* answer = request.add_answers();
    answer->set_item_id(item);
    answer->set_value(value);
  }
}

// Authenticated SubmitCheckin of WHO-5, CBI and pulse answers from many volunteers of several
// organisations.
class SubmitCheckinScenario final : public Scenario {
 public:
  SubmitCheckinScenario(std::vector<BenchOrganisation> organisations,
                        const ScenarioContext& context)
      : requests_(RealisticRequests()) {
    for (auto& organisation : organisations) {
      for (auto& volunteer : organisation.volunteers)
        authorizations_.push_back(volunteer.authorization);
    }
    for (auto& channel : Channels(context.checkin_addr, context.channels)) {
      stubs_.push_back(cv1::CheckinService::NewStub(channel));
    }
  }

  IssueCall Issuer() override {
    return [this](int slot, grpc::ClientContext* context, std::function<void(grpc::Status)> done) {
      uint64_t n = next_++;
      context->AddMetadata("authorization", authorizations_[n % authorizations_.size()]);
      auto request = std::make_shared<cv1::SubmitCheckinRequest>(requests_[n % requests_.size()]);
      request->set_note("A private note, sealed at rest.");
      auto response = std::make_shared<cv1::SubmitCheckinResponse>();
      stubs_[slot % stubs_.size()]->async()->SubmitCheckin(
          context, request.get(), response.get(),
          [request, response, done = std::move(done)](grpc::Status status) { done(status); });
    };
  }

 private:
  static std::vector<cv1::SubmitCheckinRequest> RealisticRequests() {
    std::vector<cv1::SubmitCheckinRequest> requests(3);
    requests[0].set_instrument_id("who5");
    AddAnswers(requests[0], {{"1", 3}, {"2", 4}, {"3", 2}, {"4", 3}, {"5", 4}});
    requests[1].set_instrument_id("cbi");
    std::vector<std::pair<std::string, int>> cbi;
    for (int item = 1; item <= 19; ++item) cbi.push_back({absl::StrCat(item), (item % 5) * 25});
    AddAnswers(requests[1], cbi);
    requests[2].set_instrument_id("pulse");
    AddAnswers(requests[2], {{"energy", 3}, {"stayed_with_me", 1}, {"want_to_talk", 0}});
    requests[2].mutable_context()->set_hours(2.5);
    requests[2].mutable_context()->set_session_kind("group");
    return requests;
  }

  std::vector<std::string> authorizations_;
  std::vector<std::unique_ptr<cv1::CheckinService::Stub>> stubs_;
  std::vector<cv1::SubmitCheckinRequest> requests_;
  std::atomic<uint64_t> next_{0};
};

// WHO-5 check-ins scoring 0 % (at or below 28 %: the who5_drop rule), each timed from when it was
// due until its alert event (triggered, or updated while the volunteer's alert is open) arrives
// on the organisation coordinator's WatchAlerts stream. Volunteers take turns, so each has at
// most a few check-ins waiting and an event belongs to the volunteer's oldest one.
class CheckinToAlertScenario final : public Scenario {
 public:
  CheckinToAlertScenario(std::vector<BenchOrganisation> organisations,
                         const ScenarioContext& context)
      : organisations_(std::move(organisations)),
        alert_timeout_(std::max(absl::Seconds(5), context.load.deadline)) {
    request_.set_instrument_id("who5");
    AddAnswers(request_, {{"1", 0}, {"2", 0}, {"3", 0}, {"4", 0}, {"5", 0}});
    for (const auto& organisation : organisations_) {
      for (const auto& volunteer : organisation.volunteers) volunteers_.push_back(&volunteer);
    }
    for (auto& channel : Channels(context.checkin_addr, context.channels)) {
      stubs_.push_back(cv1::CheckinService::NewStub(channel));
    }
    alerts_ = av1::AlertService::NewStub(ServiceChannel(context.alerts_addr));
  }

  ~CheckinToAlertScenario() override {
    std::unique_lock<std::mutex> lock(mu_);
    // A call's alert may come before its reply: wait for the replies, whose callbacks use this.
    changed_.wait(lock, [this] { return calls_in_flight_ == 0; });
    stopping_ = true;
    lock.unlock();
    changed_.notify_all();
    for (auto& watch : watches_) watch->TryCancel();
    for (auto& thread : threads_) thread.join();
  }

  // Opens one stream per organisation and waits until each is live (its initial metadata), so
  // that every alert from then on reaches it.
  absl::Status Start() {
    for (const auto& organisation : organisations_) {
      auto watch = std::make_unique<grpc::ClientContext>();
      watch->AddMetadata("authorization", organisation.coordinator_authorization);
      grpc::ClientContext* raw = watch.get();
      watches_.push_back(std::move(watch));
      threads_.emplace_back([this, raw] { Watch(raw); });
    }
    threads_.emplace_back([this] { ExpireLateAlerts(); });
    std::unique_lock<std::mutex> lock(mu_);
    if (!changed_.wait_for(lock, std::chrono::seconds(10),
                           [this] { return live_watches_ == watches_.size(); })) {
      return absl::UnavailableError("the WatchAlerts streams did not become live");
    }
    return absl::OkStatus();
  }

  IssueCall Issuer() override {
    return [this](int slot, grpc::ClientContext* context, std::function<void(grpc::Status)> done) {
      Submit(*volunteers_[next_++ % volunteers_.size()], slot, context, std::move(done));
    };
  }

  std::vector<std::string> Notes() override {
    std::lock_guard<std::mutex> lock(mu_);
    return {absl::StrCat("alert events received ", events_, ", of them not matched to a check-in ",
                         unmatched_)};
  }

 private:
  struct Waiting {
    absl::Time sent;
    std::function<void(grpc::Status)> done;
    bool finished = false;
  };

  void Submit(const BenchVolunteer& volunteer, int slot, grpc::ClientContext* context,
              std::function<void(grpc::Status)> done) {
    auto waiting = std::make_shared<Waiting>();
    waiting->sent = absl::Now();
    waiting->done = std::move(done);
    {
      // Waiting before the call: the alert may arrive before the call's own reply.
      std::lock_guard<std::mutex> lock(mu_);
      waiting_[volunteer.person_id].push_back(waiting);
    }
    context->AddMetadata("authorization", volunteer.authorization);
    auto response = std::make_shared<cv1::SubmitCheckinResponse>();
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++calls_in_flight_;
    }
    stubs_[slot % stubs_.size()]->async()->SubmitCheckin(
        context, &request_, response.get(), [this, waiting, response](grpc::Status status) {
          if (!status.ok()) Finish(waiting, status);  // no check-in, so no alert to wait for
          std::lock_guard<std::mutex> lock(mu_);
          if (--calls_in_flight_ == 0) changed_.notify_all();
        });
  }

  void Finish(const std::shared_ptr<Waiting>& waiting, const grpc::Status& status) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (waiting->finished) return;
      waiting->finished = true;
    }
    waiting->done(status);
  }

  void Watch(grpc::ClientContext* context) {
    av1::WatchAlertsRequest request;
    auto reader = alerts_->WatchAlerts(context, request);
    reader->WaitForInitialMetadata();
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++live_watches_;
    }
    changed_.notify_all();
    av1::AlertEvent event;
    while (reader->Read(&event)) {
      if (event.alert().rule_id() != "who5_drop" ||
          (event.event_type() != av1::ALERT_EVENT_TYPE_TRIGGERED &&
           event.event_type() != av1::ALERT_EVENT_TYPE_UPDATED)) {
        continue;
      }
      std::shared_ptr<Waiting> oldest;
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++events_;
        auto& queue = waiting_[event.alert().volunteer_id()];
        while (!queue.empty() && queue.front()->finished) queue.pop_front();
        if (queue.empty()) {
          ++unmatched_;
          continue;
        }
        oldest = queue.front();
        queue.pop_front();
      }
      Finish(oldest, grpc::Status::OK);
    }
    reader->Finish();
  }

  // A check-in whose alert has not come within the timeout counts as an error, so that the run
  // ends even when alerts are lost.
  void ExpireLateAlerts() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
      changed_.wait_for(lock, std::chrono::milliseconds(50));
      std::vector<std::shared_ptr<Waiting>> late;
      absl::Time cutoff = absl::Now() - alert_timeout_;
      for (auto& [volunteer, queue] : waiting_) {
        for (auto& waiting : queue) {
          if (!waiting->finished && waiting->sent < cutoff) late.push_back(waiting);
        }
      }
      lock.unlock();
      for (auto& waiting : late) {
        Finish(waiting, grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "no alert arrived"));
      }
      lock.lock();
    }
  }

  const std::vector<BenchOrganisation> organisations_;
  const absl::Duration alert_timeout_;
  cv1::SubmitCheckinRequest request_;
  std::vector<const BenchVolunteer*> volunteers_;
  std::vector<std::unique_ptr<cv1::CheckinService::Stub>> stubs_;
  std::unique_ptr<av1::AlertService::Stub> alerts_;
  std::vector<std::unique_ptr<grpc::ClientContext>> watches_;
  std::vector<std::thread> threads_;
  std::atomic<uint64_t> next_{0};
  std::mutex mu_;
  std::condition_variable changed_;
  bool stopping_ = false;
  size_t live_watches_ = 0;
  int calls_in_flight_ = 0;
  std::map<std::string, std::deque<std::shared_ptr<Waiting>>> waiting_;
  long events_ = 0;
  long unmatched_ = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Scenario>> MakeSubmitCheckinScenario(
    const ScenarioContext& context) {
  auto organisations = CreateOrganisations(context, context.organisations, context.volunteers);
  if (!organisations.ok()) return organisations.status();
  return std::make_unique<SubmitCheckinScenario>(*std::move(organisations), context);
}

absl::StatusOr<std::unique_ptr<Scenario>> MakeCheckinToAlertScenario(
    const ScenarioContext& context) {
  auto organisations = CreateOrganisations(context, context.organisations, context.volunteers,
                                           {.risk_monitoring = true});
  if (!organisations.ok()) return organisations.status();
  auto scenario = std::make_unique<CheckinToAlertScenario>(*std::move(organisations), context);
  if (auto status = scenario->Start(); !status.ok()) return status;
  return scenario;
}

}  // namespace peerwell::bench
