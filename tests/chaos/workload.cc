#include "tests/chaos/workload.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "services/common/auth.h"
#include "services/common/channel.h"
#include "services/common/events.h"
#include "services/common/organization_registry.h"
#include "services/common/proto_time.h"
#include "services/common/redis_client.h"
#include "tests/testing/wait.h"

namespace peerwell::chaos {
namespace {

namespace av1 = ::peerwell::alerts::v1;
namespace cv1 = ::peerwell::checkin::v1;
namespace dv1 = ::peerwell::directory::v1;
namespace nv1 = ::peerwell::network::v1;

// A timeout or a lost connection: the write may or may not have happened, so the client sends
// it again with the same key. ABORTED: the same key is still being handled elsewhere.
bool MaybeWritten(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::DEADLINE_EXCEEDED ||
         code == grpc::StatusCode::CANCELLED || code == grpc::StatusCode::ABORTED ||
         code == grpc::StatusCode::UNKNOWN;
}

// A WHO-5 that raises no alert, sent with `key` as its request_id and as its private note, which
// the volunteer reads back: the note names the operation.
cv1::SubmitCheckinRequest CheckinNamed(const std::string& key) {
  cv1::SubmitCheckinRequest request;
  request.set_instrument_id("who5");
  request.set_request_id(key);
  request.set_note(key);
  for (int item = 1; item <= 5; ++item) {
    auto* answer = request.add_answers();
    answer->set_item_id(absl::StrCat(item));
    answer->set_value(3);
  }
  return request;
}

// A read-back that failed shows as a stored write no operation invoked, named by the error.
std::string ReadFailure(const grpc::Status& status, const char* what) {
  return absl::StrCat("(", what, " failed: ", status.error_message(), ")");
}

}  // namespace

std::string Figures::Text() const {
  std::string text = absl::StrCat("nemesis ", nemesis, "\n");
  for (const Verdict& verdict : verdicts) absl::StrAppend(&text, "  ", Summary(verdict), "\n");
  absl::StrAppend(&text, "  alert acknowledgements: ", acknowledgements_ok, " ok, ",
                  acknowledgements_lost, " lost; resolutions: ", resolutions_ok, " ok, ",
                  resolutions_lost, " lost\n");
  absl::StrAppend(&text, "  incidents counted on alerts: ", incidents_counted, " of ",
                  incidents_expected, ", caught up ", absl::FormatDuration(catch_up),
                  " after the fault ended\n");
  if (!catch_up_backlog.empty()) {
    absl::StrAppend(&text, "  2 s after the fault: ", catch_up_backlog, "\n");
  }
  if (catch_up_failed_reads > 0) {
    absl::StrAppend(&text, "  meanwhile ", catch_up_failed_reads,
                    " reads of the alerts failed, the last: ", catch_up_last_error, "\n");
  }
  return text;
}

Workload::Workload(testing::LocalSuite& suite, WorkloadOptions options)
    : suite_(suite), options_(options) {
  directory_ = dv1::DirectoryService::NewStub(ServiceChannel(suite_.Target("directory")));
  checkin_ = cv1::CheckinService::NewStub(ServiceChannel(suite_.Target("checkin")));
  alerts_ = av1::AlertService::NewStub(ServiceChannel(suite_.Target("alerts")));
  network_ = nv1::PeerNetworkService::NewStub(ServiceChannel(suite_.Target("network")));
}

Workload::~Workload() { Stop(); }

std::unique_ptr<grpc::ClientContext> Workload::As(const std::string& token) const {
  auto context = std::make_unique<grpc::ClientContext>();
  context->AddMetadata("authorization", "Bearer " + token);
  context->set_deadline(absl::ToChronoTime(absl::Now() + options_.attempt_deadline));
  return context;
}

grpc::Status Workload::Seed() {
  auto seed_context = [&](const std::string& token) {
    auto context = As(token);
    context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    return context;
  };
  auto seeded = testing::SeedOrganization(*directory_, suite_.jwt_secret(),
                                          {.display_name = "Chaos",
                                           .volunteers = options_.clients,
                                           .supervisor = true,
                                           .risk_monitoring = true,
                                           .share_scores_with_supervisor = true});
  if (!seeded.ok()) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, std::string(seeded.status().message()));
  }
  organization_id_ = seeded->organization_id;
  coordinator_token_ = seeded->coordinator.token;
  supervisor_id_ = seeded->supervisor.person_id;
  supervisor_token_ = seeded->supervisor.token;
  volunteers_ = std::move(seeded->volunteers);
  grpc::Status status;
  for (int c = 0; c < 2; ++c) {
    nv1::CreateChannelRequest request;
    request.mutable_channel()->set_kind(nv1::CHANNEL_KIND_GROUP);
    request.mutable_channel()->set_display_name(absl::StrCat("Cohort ", c));
    for (const Volunteer& volunteer : volunteers_) {
      request.mutable_channel()->add_member_ids(volunteer.person_id);
    }
    nv1::CreateChannelResponse response;
    status = network_->CreateChannel(seed_context(coordinator_token_).get(), request, &response);
    if (!status.ok()) return status;
    channels_.push_back(response.channel().channel_id());
  }
  return grpc::Status::OK;
}

void Workload::Start() {
  stopping_ = false;
  for (int i = 0; i < options_.clients; ++i) {
    clients_.emplace_back([this, i] { Client(i); });
  }
}

void Workload::Stop() {
  stopping_ = true;
  for (std::thread& client : clients_) client.join();
  clients_.clear();
}

std::vector<Workload::Attempt> Workload::Attempts() const {
  std::lock_guard<std::mutex> lock(mu_);
  return attempts_;
}

void Workload::Write(
    int client, const std::string& kind, const std::string& key, const std::string& subject,
    const std::function<grpc::Status(grpc::ClientContext&, std::string* id)>& send) {
  const absl::Time give_up = absl::Now() + options_.give_up_after;
  // The supervisor handles the alerts; the volunteer writes the rest.
  const std::string& token =
      kind == "ack" || kind == "resolve" ? supervisor_token_ : volunteers_[client].token;
  while (true) {
    size_t index = history_.Invoke(client, kind, key, subject);
    auto context = As(token);
    std::string id;
    absl::Time invoked = absl::Now();
    grpc::Status status = send(*context, &id);
    {
      std::lock_guard<std::mutex> lock(mu_);
      attempts_.push_back({kind, invoked, absl::Now(), status.error_code(), status.error_message()});
    }
    if (status.ok()) {
      history_.Complete(index, Outcome::kOk, id);
      ++acknowledged_;
      return;
    }
    bool maybe = MaybeWritten(status.error_code());
    history_.Complete(index, maybe ? Outcome::kUnknown : Outcome::kFail, "",
                      absl::StrCat(status.error_code(), " ", status.error_message()));
    if (!maybe || absl::Now() >= give_up) return;
    absl::SleepFor(options_.retry_pause);
  }
}

absl::Duration Workload::TimeUntilAcknowledged(absl::Time since, absl::Duration within) {
  const absl::Time give_up = absl::Now() + within;
  for (int n = 0; absl::Now() < give_up; ++n) {
    const std::string key = absl::StrCat("probe-", n);
    size_t index = history_.Invoke(options_.clients, "checkin", key, volunteers_[0].person_id);
    cv1::SubmitCheckinRequest request = CheckinNamed(key);
    auto context = As(volunteers_[0].token);
    context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Milliseconds(250)));
    cv1::SubmitCheckinResponse response;
    grpc::Status status = checkin_->SubmitCheckin(context.get(), request, &response);
    if (status.ok()) {
      history_.Complete(index, Outcome::kOk, response.checkin().checkin_id());
      return absl::Now() - since;
    }
    // The probe does not retry a key: an unknown one stays unknown, which the check allows.
    history_.Complete(index,
                      MaybeWritten(status.error_code()) ? Outcome::kUnknown : Outcome::kFail, "",
                      status.error_message());
    absl::SleepFor(absl::Milliseconds(10));
  }
  return absl::InfiniteDuration();
}

void Workload::Client(int index) {
  const Volunteer& volunteer = volunteers_[index];
  for (int n = 0; !stopping_; ++n) {
    const std::string key = absl::StrCat("chaos-", index, "-", n);
    switch (n % 4) {
      case 0:
        Write(index, "checkin", key, volunteer.person_id,
              [&](grpc::ClientContext& context, std::string* id) {
                cv1::SubmitCheckinRequest request = CheckinNamed(key);
                cv1::SubmitCheckinResponse response;
                grpc::Status status = checkin_->SubmitCheckin(&context, request, &response);
                *id = response.checkin().checkin_id();
                return status;
              });
        break;
      case 1:
        Write(index, "incident", key, volunteer.person_id,
              [&](grpc::ClientContext& context, std::string* id) {
                cv1::ReportCriticalIncidentRequest request;
                request.set_incident_type(cv1::INCIDENT_TYPE_AGGRESSION);
                *request.mutable_occur_time() = TimestampToProto(absl::Now() - absl::Minutes(1));
                request.set_description(key);
                request.set_request_id(key);
                cv1::ReportCriticalIncidentResponse response;
                grpc::Status status =
                    checkin_->ReportCriticalIncident(&context, request, &response);
                *id = response.incident().incident_id();
                return status;
              });
        break;
      case 2: {
        const std::string& channel = channels_[(n / 4) % channels_.size()];
        Write(index, "message", key, channel,
              [&](grpc::ClientContext& context, std::string* id) {
                nv1::PostMessageRequest request;
                request.set_channel_id(channel);
                request.set_body(key);
                request.set_client_message_id(key);
                nv1::PostMessageResponse response;
                grpc::Status status = network_->PostMessage(&context, request, &response);
                *id = response.message().message_id();
                return status;
              });
        break;
      }
      case 3:
        AcknowledgeOpenAlert(index);
        break;
    }
    absl::SleepFor(options_.pace);
  }
}

void Workload::AcknowledgeOpenAlert(int client) {
  // Finding the alert is a read: under a fault it may fail, and the turn passes.
  av1::ListAlertsRequest list;
  list.set_volunteer_id(volunteers_[client].person_id);
  list.add_states(av1::ALERT_STATE_TRIGGERED);
  av1::ListAlertsResponse open;
  if (!alerts_->ListAlerts(As(supervisor_token_).get(), list, &open).ok()) return;
  for (const av1::Alert& alert : open.alerts()) {
    if (alert.rule_id() != "critical_incident") continue;
    const std::string alert_id = alert.alert_id();
    Write(client, "ack", alert_id, alert_id,
          [&](grpc::ClientContext& context, std::string* id) {
            av1::AcknowledgeAlertRequest request;
            request.set_alert_id(alert_id);
            av1::AcknowledgeAlertResponse response;
            grpc::Status status = alerts_->AcknowledgeAlert(&context, request, &response);
            *id = response.alert().alert_id();
            return status;
          });
    // Resolved, so that the volunteer's next incident raises a new alert to acknowledge.
    Write(client, "resolve", alert_id, alert_id,
          [&](grpc::ClientContext& context, std::string* id) {
            av1::ResolveAlertRequest request;
            request.set_alert_id(alert_id);
            request.set_outcome(av1::OUTCOME_TALKED);
            av1::ResolveAlertResponse response;
            grpc::Status status = alerts_->ResolveAlert(&context, request, &response);
            *id = response.alert().alert_id();
            return status;
          });
  }
}

grpc::Status Workload::ReadUntilAnswered(
    const std::function<grpc::Status(grpc::ClientContext&)>& read, const std::string& token) {
  const absl::Time give_up = absl::Now() + absl::Seconds(15);
  grpc::Status status;
  do {
    auto context = As(token);
    status = read(*context);
    if (status.ok() || !MaybeWritten(status.error_code())) return status;
    absl::SleepFor(options_.retry_pause);
  } while (absl::Now() < give_up);
  return status;
}

std::vector<StoredWrite> Workload::StoredCheckins() {
  std::vector<StoredWrite> stored;
  for (const Volunteer& volunteer : volunteers_) {
    cv1::ListCheckinsRequest request;
    request.set_page_size(100);
    do {
      cv1::ListCheckinsResponse response;
      grpc::Status status = ReadUntilAnswered([&](grpc::ClientContext& context) {
        return checkin_->ListCheckins(&context, request, &response);
      }, volunteer.token);
      if (!status.ok()) {
        stored.push_back({ReadFailure(status, "ListCheckins"), "", volunteer.person_id});
        break;
      }
      for (const cv1::Checkin& checkin : response.checkins()) {
        stored.push_back({checkin.note(), checkin.checkin_id(), volunteer.person_id});
      }
      request.set_page_token(response.next_page_token());
    } while (!request.page_token().empty());
  }
  return stored;
}

std::vector<StoredWrite> Workload::StoredMessages() {
  std::vector<StoredWrite> stored;
  for (const std::string& channel : channels_) {
    nv1::ListMessagesRequest request;
    request.set_channel_id(channel);
    request.set_page_size(500);
    do {
      nv1::ListMessagesResponse response;
      grpc::Status status = ReadUntilAnswered([&](grpc::ClientContext& context) {
        return network_->ListMessages(&context, request, &response);
      }, volunteers_[0].token);
      if (!status.ok()) {
        stored.push_back({ReadFailure(status, "ListMessages"), "", channel});
        break;
      }
      for (const nv1::Message& message : response.messages()) {
        stored.push_back({message.body(), message.message_id(), channel, message.sequence()});
      }
      request.set_page_token(response.next_page_token());
    } while (!request.page_token().empty());
  }
  return stored;
}

std::string Workload::DescribeBacklog() {
  RedisClient redis(RedisOptions{suite_.redis().address()});
  std::string text;
  auto organizations = ListOrganizations(redis);
  for (const std::string& organization_id :
       organizations.ok() ? *organizations : std::vector<std::string>{}) {
    const std::string stream = EventStreamKey("checkin", organization_id);
    auto pending = redis.Execute({"XPENDING", stream, "alerts", "-", "+", "20"});
    if (!pending.ok() || !pending->IsArray() || pending->elements.empty()) continue;
    absl::StrAppend(&text, stream, " pending:");
    for (const RedisReply& entry : pending->elements) {
      if (entry.elements.size() < 4) continue;
      absl::StrAppend(&text, " [", entry.elements[0].str, " ", entry.elements[1].str, " idle ",
                      entry.elements[2].integer, " ms, ", entry.elements[3].integer,
                      " deliveries]");
    }
    absl::StrAppend(&text, "; ");
  }
  ConsumerOptions alerts;
  alerts.source = "checkin";
  alerts.group = "alerts";
  if (auto backlog = ReadConsumerBacklog(redis, alerts); backlog.ok()) {
    absl::StrAppend(&text, "group alerts: ", backlog->pending, " pending, lag ",
                    backlog->lag.has_value() ? absl::StrCat(*backlog->lag) : "unknown", ", ",
                    backlog->dead_letters, " dead-lettered");
  }
  return text;
}

Figures Workload::Check(const std::string& nemesis, absl::Time fault_end,
                        absl::Duration alerts_within) {
  Figures figures;
  figures.nemesis = nemesis;
  // The alerts first, so that the time they took to catch up does not include the reads below.

  // Incidents: each acknowledged one is counted once on its volunteer's critical-incident alert;
  // one whose attempts all ended unknown may be counted too.
  Verdict incidents;
  incidents.kind = "incident";
  std::set<std::string> keys, acknowledged_keys, maybe_keys;
  for (const Operation& operation : history_.OfKind("incident")) {
    ++incidents.attempts;
    keys.insert(operation.key);
    if (operation.outcome == Outcome::kOk) acknowledged_keys.insert(operation.key);
    if (operation.outcome == Outcome::kFail) ++incidents.failed;
    if (operation.outcome == Outcome::kUnknown || operation.outcome == Outcome::kInvoked) {
      ++incidents.unknown;
      maybe_keys.insert(operation.key);
    }
  }
  for (const std::string& key : acknowledged_keys) maybe_keys.erase(key);
  incidents.writes = static_cast<int>(keys.size());
  incidents.ok = static_cast<int>(acknowledged_keys.size());
  figures.incidents_expected = incidents.ok;
  std::map<std::string, av1::Alert> alerts;  // by alert id
  auto count_incidents = [&] {
    alerts.clear();
    av1::ListAlertsRequest request;
    request.set_page_size(100);
    do {
      av1::ListAlertsResponse response;
      grpc::Status status = alerts_->ListAlerts(As(supervisor_token_).get(), request, &response);
      if (!status.ok()) {
        ++figures.catch_up_failed_reads;
        figures.catch_up_last_error = status.error_message();
        return -1;
      }
      for (const av1::Alert& alert : response.alerts()) alerts[alert.alert_id()] = alert;
      request.set_page_token(response.next_page_token());
    } while (!request.page_token().empty());
    int counted = 0;
    for (const auto& [id, alert] : alerts) {
      if (alert.rule_id() == "critical_incident") counted += alert.occurrence_count();
    }
    return counted;
  };
  std::string backlog_seen;
  testing::WaitFor(
      [&] {
        figures.incidents_counted = count_incidents();
        if (figures.incidents_counted < figures.incidents_expected && backlog_seen.empty() &&
            absl::Now() - fault_end > absl::Seconds(2)) {
          backlog_seen = DescribeBacklog();
        }
        return figures.incidents_counted >= figures.incidents_expected;
      },
      alerts_within, absl::Milliseconds(20));
  figures.catch_up_backlog = backlog_seen;
  // From the fault's end, or from the last incident's acknowledgement when a retry came later:
  // that incident's event was published only then.
  absl::Time since = fault_end;
  for (const Operation& operation : history_.OfKind("incident")) {
    if (operation.outcome == Outcome::kOk) since = std::max(since, operation.complete_time);
  }
  figures.catch_up = absl::Now() - since;
  if (figures.incidents_counted < figures.incidents_expected) {
    incidents.lost = figures.incidents_expected - std::max(figures.incidents_counted, 0);
    incidents.problems.push_back(absl::StrCat(figures.incidents_counted, " of ",
                                              figures.incidents_expected,
                                              " acknowledged incidents counted on alerts"));
  } else if (figures.incidents_counted >
             figures.incidents_expected + static_cast<int>(maybe_keys.size())) {
    incidents.duplicated = figures.incidents_counted - figures.incidents_expected -
                           static_cast<int>(maybe_keys.size());
    incidents.problems.push_back(absl::StrCat(figures.incidents_counted, " incidents counted for ",
                                              figures.incidents_expected, " acknowledged"));
  }
  Verdict checkins = history_.Check("checkin", StoredCheckins());
  Verdict messages = history_.Check("message", StoredMessages(), /*sequenced=*/true);
  figures.verdicts = {checkins, messages, incidents};

  // Acknowledgements and resolutions: every one answered ok holds.
  for (const Operation& operation : history_.OfKind("ack")) {
    if (operation.outcome != Outcome::kOk) continue;
    ++figures.acknowledgements_ok;
    auto found = alerts.find(operation.subject);
    if (found == alerts.end() || found->second.state() == av1::ALERT_STATE_TRIGGERED ||
        found->second.acknowledged_by() != supervisor_id_) {
      ++figures.acknowledgements_lost;
    }
  }
  for (const Operation& operation : history_.OfKind("resolve")) {
    if (operation.outcome != Outcome::kOk) continue;
    ++figures.resolutions_ok;
    auto found = alerts.find(operation.subject);
    if (found == alerts.end() || found->second.state() != av1::ALERT_STATE_RESOLVED ||
        found->second.outcome() != av1::OUTCOME_TALKED) {
      ++figures.resolutions_lost;
    }
  }
  return figures;
}

}  // namespace peerwell::chaos
