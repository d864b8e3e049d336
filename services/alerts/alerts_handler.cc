#include "services/alerts/alerts_handler.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/alerts/alerts_mapping.h"
#include "services/alerts/redis_alert_store.h"
#include "services/common/deadline.h"
#include "services/common/events.h"
#include "services/common/proto_time.h"
#include "services/common/redis_client.h"
#include "services/common/redis_cluster.h"
#include "services/common/validation.h"

namespace peerwell::alerts {
namespace {

std::string WatchQuery(const Caller& caller) { return absl::StrCat("watch/", caller.person_id); }

// A WatchAlerts pass reads at most this many feed entries, and after a smaller one waits this
// long for more to gather (a supervisor sees an alert this much later at most).
constexpr size_t kWatchBatch = 100;
constexpr absl::Duration kWatchLinger = absl::Milliseconds(5);

// One WatchAlerts stream: reads the organisation's alert feed from where the client left off,
// writes the events the caller may see, until the client goes, the server stops, or Redis fails
// (the client then resumes with its last token, here or on another replica). A pass's events go
// to an outbox that the reactor writes one after another from gRPC's own thread: the stream's
// thread is not woken for every alert, and reads the next pass while the last one is written.
class AlertWatcher final : public grpc::ServerWriteReactor<v1::AlertEvent> {
 public:
  AlertWatcher(grpc::CallbackServerContext* context, std::string resume_token,
               AlertService& service, const Authenticator& authenticator, PageTokenCodec& tokens,
               RedisAddress redis, std::atomic<bool>& stopping)
      : context_(context),
        resume_token_(std::move(resume_token)),
        service_(service),
        authenticator_(authenticator),
        tokens_(tokens),
        redis_(std::move(redis)),
        stopping_(stopping) {
    std::thread([this] {
      grpc::Status status = Run();
      WaitUntilWritten();  // Finish with no write outstanding
      Finish(std::move(status));
    }).detach();
  }

  void OnWriteDone(bool ok) override {
    const v1::AlertEvent* next = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      outbox_.pop_front();
      write_ok_ = write_ok_ && ok;
      if (!write_ok_ || cancelled_) outbox_.clear();
      if (outbox_.empty()) {
        writing_ = false;
        changed_.notify_all();
      } else {
        next = &outbox_.front();  // a deque keeps its elements in place as it grows
      }
    }
    if (next != nullptr) StartWrite(next);
  }
  void OnSendInitialMetadataDone(bool ok) override { Written(ok); }
  void OnCancel() override {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    changed_.notify_all();
  }
  void OnDone() override { delete this; }

 private:
  bool Done() {
    std::lock_guard<std::mutex> lock(mu_);
    return cancelled_ || stopping_;
  }

  void Written(bool ok) {
    std::lock_guard<std::mutex> lock(mu_);
    writing_ = false;
    write_ok_ = ok;
    changed_.notify_all();
  }

  // Starts one operation (the initial metadata, before any write) and waits until gRPC took
  // it; false when the stream is over.
  template <typename StartOperation>
  bool Await(StartOperation start) {
    std::unique_lock<std::mutex> lock(mu_);
    if (cancelled_) return false;
    writing_ = true;
    lock.unlock();
    start();
    lock.lock();
    changed_.wait(lock, [this] { return !writing_; });
    return write_ok_ && !cancelled_;
  }

  // Waits until kWatchLinger after `read` unless the stream ends meanwhile: a pass that took
  // that long let the next alerts gather already.
  void Linger(absl::Time read) {
    const absl::Duration left = read + kWatchLinger - absl::Now();
    if (left <= absl::ZeroDuration()) return;
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait_for(lock, absl::ToChronoMicroseconds(left),
                      [this] { return cancelled_ || stopping_.load(); });
  }

  // Hands a pass's events to the outbox, and starts writing them unless a write is under way;
  // then waits while a whole pass is still unwritten (a slow client holds back the reads).
  // False when the stream is over.
  bool Send(std::vector<v1::AlertEvent> events) {
    const v1::AlertEvent* first = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (cancelled_ || !write_ok_) return false;
      if (events.empty()) return true;
      for (v1::AlertEvent& event : events) outbox_.push_back(std::move(event));
      if (!writing_) {
        writing_ = true;
        first = &outbox_.front();
      }
    }
    if (first != nullptr) StartWrite(first);
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait(lock, [this] {
      return outbox_.size() < kWatchBatch || cancelled_ || !write_ok_ || stopping_.load();
    });
    return !cancelled_ && write_ok_;
  }

  void WaitUntilWritten() {
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait(lock, [this] { return !writing_; });
  }

  grpc::Status Run() {
    auto caller = AuthenticateCall(authenticator_, *context_);
    if (!caller.ok()) return ToGrpcStatus(caller.status(), "WatchAlerts");
    if (caller->role == CallerRole::kAdmin || caller->role == CallerRole::kPartner ||
        caller->role == CallerRole::kService) {
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "this credential cannot watch");
    }
    RedisKeyConnection connection(redis_);
    std::string feed = AlertFeedKey(caller->organization_id);
    std::string last;
    if (resume_token_.empty()) {
      // From now on: start after the newest entry there is.
      auto newest =
          connection.Execute({"XREVRANGE", feed, "+", "-", "COUNT", "1"}, absl::Seconds(2));
      if (!newest.ok()) return ToGrpcStatus(newest.status(), "WatchAlerts");
      if (newest->IsError()) {
        return ToGrpcStatus(absl::UnavailableError(absl::StrCat("redis: ", newest->str)),
                            "WatchAlerts");
      }
      auto entries = ParseStreamEntries(*newest);
      last = entries.empty() ? "0-0" : entries[0].id;
    } else {
      auto position = tokens_.Decode(resume_token_, caller->organization_id, WatchQuery(*caller));
      if (!position.ok()) {
        return ToGrpcStatus(InvalidField("resume_token", "is not a token of this stream"),
                            "WatchAlerts");
      }
      last = *position;
    }
    // Live from here: the initial metadata tells the client that whatever happens from now on
    // reaches it (a client opening the stream "from now" waits for it before acting).
    if (!Await([this] { StartSendInitialMetadata(); })) return grpc::Status::CANCELLED;
    while (!Done()) {
      // A credential that would no longer be let in (its person deactivated, its token expired)
      // ends the stream as it would refuse a new call: asked once a pass, of the directory
      // client's cache.
      if (auto still = AuthenticateCall(authenticator_, *context_); !still.ok()) {
        return ToGrpcStatus(still.status(), "WatchAlerts");
      }
      const absl::Time read_time = absl::Now();
      auto read = connection.Execute(
          {"XREAD", "COUNT", absl::StrCat(kWatchBatch), "BLOCK", "1000", "STREAMS", feed, last},
          absl::Seconds(3));
      if (!read.ok()) return ToGrpcStatus(read.status(), "WatchAlerts");
      if (read->IsError()) {
        return ToGrpcStatus(absl::UnavailableError(absl::StrCat("redis: ", read->str)),
                            "WatchAlerts");
      }
      if (!read->IsArray() || read->elements.empty()) continue;
      std::vector<StreamEntry> entries = ParseStreamEntries(read->elements[0].elements[1]);
      std::vector<std::string> alert_ids;
      for (const StreamEntry& entry : entries) alert_ids.push_back(entry.Get("alert_id"));
      // The pass's alerts read together; should that fail (Redis or the directory not
      // answering), the stream ends before them: the client resumes from its last token and
      // gets them then, rather than never.
      ScopedDeadline deadline(absl::Now() + absl::Seconds(5));
      auto alerts = service_.WatchedAlerts(*caller, alert_ids);
      if (!alerts.ok()) return ToGrpcStatus(alerts.status(), "WatchAlerts");
      std::vector<v1::AlertEvent> events;
      for (size_t i = 0; i < entries.size(); ++i) {
        last = entries[i].id;
        if (!(*alerts)[i].has_value()) continue;  // not theirs to see
        v1::AlertEvent event;
        int type = 0;
        (void)absl::SimpleAtoi(entries[i].Get("event_type"), &type);
        event.set_event_type(static_cast<v1::AlertEventType>(type));
        *event.mutable_alert() = AlertToProto(*(*alerts)[i]);
        event.set_resume_token(
            tokens_.Encode(caller->organization_id, WatchQuery(*caller), entries[i].id));
        events.push_back(std::move(event));
      }
      if (!Send(std::move(events))) break;
      // After a pass of a few alerts, the next ones are let gather for a moment: a pass costs
      // Redis reads and an audit write whatever its size.
      if (entries.size() < kWatchBatch) Linger(read_time);
    }
    if (stopping_) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "server is shutting down");
    return grpc::Status::CANCELLED;
  }

  grpc::CallbackServerContext* context_;
  const std::string resume_token_;
  AlertService& service_;
  const Authenticator& authenticator_;
  PageTokenCodec& tokens_;
  const RedisAddress redis_;
  std::atomic<bool>& stopping_;
  std::mutex mu_;
  std::condition_variable changed_;
  bool writing_ = false;
  bool write_ok_ = true;
  bool cancelled_ = false;
  std::deque<v1::AlertEvent> outbox_;  // the first is being written
};

}  // namespace

grpc::ServerWriteReactor<v1::AlertEvent>* AlertsHandler::WatchAlerts(
    grpc::CallbackServerContext* context, const v1::WatchAlertsRequest* request) {
  return new AlertWatcher(context, request->resume_token(), service_, authenticator_, tokens_,
                          redis_, stopping_);
}

grpc::ServerUnaryReactor* AlertsHandler::ListAlerts(grpc::CallbackServerContext* context,
                                                    const v1::ListAlertsRequest* request,
                                                    v1::ListAlertsResponse* response) {
  return runner_.Run(context, "ListAlerts", [=, this](const Caller& caller) {
    auto filter = AlertFilterFromRequest(*request);
    if (!filter.ok()) return filter.status();
    auto size = NormalizePageSize("page_size", request->page_size());
    if (!size.ok()) return size.status();
    std::string query = absl::StrCat("alerts/", caller.person_id, "/", request->volunteer_id(), "/",
                                     request->min_priority());
    for (int state : request->states()) absl::StrAppend(&query, "/", state);
    auto position = tokens_.Decode(request->page_token(), caller.organization_id, query);
    if (!position.ok()) return position.status();
    auto page = service_.ListAlerts(caller, *filter, *size, *position);
    if (!page.ok()) return page.status();
    for (const Alert& alert : page->alerts) *response->add_alerts() = AlertToProto(alert);
    if (!page->next_position.empty()) {
      response->set_next_page_token(
          tokens_.Encode(caller.organization_id, query, page->next_position));
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AlertsHandler::GetAlert(grpc::CallbackServerContext* context,
                                                  const v1::GetAlertRequest* request,
                                                  v1::GetAlertResponse* response) {
  return runner_.Run(context, "GetAlert", [=, this](const Caller& caller) {
    auto alert = service_.GetAlert(caller, request->alert_id());
    if (!alert.ok()) return alert.status();
    *response->mutable_alert() = AlertToProto(*alert);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AlertsHandler::AcknowledgeAlert(
    grpc::CallbackServerContext* context, const v1::AcknowledgeAlertRequest* request,
    v1::AcknowledgeAlertResponse* response) {
  return runner_.Run(context, "AcknowledgeAlert", [=, this](const Caller& caller) {
    auto alert = service_.AcknowledgeAlert(caller, request->alert_id());
    if (!alert.ok()) return alert.status();
    *response->mutable_alert() = AlertToProto(*alert);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AlertsHandler::ResolveAlert(grpc::CallbackServerContext* context,
                                                      const v1::ResolveAlertRequest* request,
                                                      v1::ResolveAlertResponse* response) {
  return runner_.Run(context, "ResolveAlert", [=, this](const Caller& caller) {
    auto outcome = OutcomeFromProto(request->outcome());
    if (!outcome.ok()) return outcome.status();
    auto alert = service_.ResolveAlert(caller, request->alert_id(), *outcome, request->note());
    if (!alert.ok()) return alert.status();
    *response->mutable_alert() = AlertToProto(*alert);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AlertsHandler::GetRiskProfile(grpc::CallbackServerContext* context,
                                                        const v1::GetRiskProfileRequest* request,
                                                        v1::GetRiskProfileResponse* response) {
  return runner_.Run(context, "GetRiskProfile", [=, this](const Caller& caller) {
    auto profile = service_.GetRiskProfile(caller, request->volunteer_id());
    if (!profile.ok()) return profile.status();
    std::string volunteer =
        request->volunteer_id().empty() ? caller.person_id : request->volunteer_id();
    *response->mutable_profile() = RiskProfileToProto(volunteer, *profile, clock_.Now());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AlertsHandler::CreateSilence(grpc::CallbackServerContext* context,
                                                       const v1::CreateSilenceRequest* request,
                                                       v1::CreateSilenceResponse* response) {
  return runner_.Run(context, "CreateSilence", [=, this](const Caller& caller) {
    if (!request->has_end_time()) return InvalidField("end_time", "is required");
    auto end = TimestampFromProto(request->end_time(), "end_time");
    if (!end.ok()) return end.status();
    auto silence = service_.CreateSilence(caller, request->volunteer_id(), *end, request->reason());
    if (!silence.ok()) return silence.status();
    *response->mutable_silence() = SilenceToProto(*silence);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AlertsHandler::ListSilences(grpc::CallbackServerContext* context,
                                                      const v1::ListSilencesRequest* request,
                                                      v1::ListSilencesResponse* response) {
  return runner_.Run(context, "ListSilences", [=, this](const Caller& caller) {
    auto size = NormalizePageSize("page_size", request->page_size());
    if (!size.ok()) return size.status();
    auto silences = service_.ListSilences(caller);
    if (!silences.ok()) return silences.status();
    // Few silences are ever open at once: one page, capped at page_size.
    for (const Silence& silence : *silences) {
      if (response->silences_size() == *size) break;
      *response->add_silences() = SilenceToProto(silence);
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AlertsHandler::DeleteSilence(grpc::CallbackServerContext* context,
                                                       const v1::DeleteSilenceRequest* request,
                                                       v1::DeleteSilenceResponse*) {
  return runner_.Run(context, "DeleteSilence", [=, this](const Caller& caller) {
    return service_.DeleteSilence(caller, request->silence_id());
  });
}

grpc::ServerUnaryReactor* AlertsHandler::GetAlertPolicy(grpc::CallbackServerContext* context,
                                                        const v1::GetAlertPolicyRequest*,
                                                        v1::GetAlertPolicyResponse* response) {
  return runner_.Run(context, "GetAlertPolicy", [=, this](const Caller& caller) {
    auto policy = service_.GetAlertPolicy(caller);
    if (!policy.ok()) return policy.status();
    *response->mutable_policy() = AlertPolicyToProto(*policy);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AlertsHandler::UpdateAlertPolicy(
    grpc::CallbackServerContext* context, const v1::UpdateAlertPolicyRequest* request,
    v1::UpdateAlertPolicyResponse* response) {
  return runner_.Run(context, "UpdateAlertPolicy", [=, this](const Caller& caller) {
    auto current = service_.GetAlertPolicy(caller);
    if (!current.ok()) return current.status();
    auto next = ApplyAlertPolicy(*current, request->policy(), request->update_mask());
    if (!next.ok()) return next.status();
    auto updated = service_.UpdateAlertPolicy(caller, *next);
    if (!updated.ok()) return updated.status();
    *response->mutable_policy() = AlertPolicyToProto(*updated);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AlertsHandler::ExportPersonRecords(
    grpc::CallbackServerContext* context, const privacy::v1::ExportPersonRecordsRequest* request,
    privacy::v1::ExportPersonRecordsResponse* response) {
  return runner_.Run(context, "ExportPersonRecords", [=, this](const Caller& caller) {
    auto records = service_.ExportPerson(caller, request->person_id());
    if (!records.ok()) return records.status();
    return PersonRecordsToProto(*records, response->mutable_records());
  });
}

}  // namespace peerwell::alerts
