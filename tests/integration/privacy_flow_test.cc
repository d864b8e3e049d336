// A person's data export (DirectoryService/ExportPersonData, GDPR articles 15 and 20) through the
// real binaries on loopback (LocalSuite: a real redis-server, every service as its own Redis
// user). One workload touches every service for two volunteers of one organisation, V and W, each
// with texts of their own (canaries); then:
// - V's export holds every record of V's, its texts opened, and nothing of W's: W's id only where
//   V shares a record with W (the peer channel's members);
// - a coordinator's export of V is the same document, and V's audit records show that read and
//   the supervisor's read of V's trend;
// - every Redis key about V (by its name or its value) belongs to a key family that some store
//   declares (PersonKeyFamilies), and each such family that is exported is in V's export, with a
//   record: a new kind of key cannot be left out of the export unnoticed.
// Then, on a world of its own, V's erasure (DirectoryService/ErasePerson, GDPR article 17) with the
// network service down while it starts: it completes once that service is back; afterwards no key
// or value in Redis names V or holds anything of V's except the record of the erasure, the
// append-only file no longer holds V's data keys or sealed texts, V's token is refused, W's records
// are all there, and the same request_id again changes nothing.
#include <fnmatch.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "peerwell/alerts/v1/alerts.grpc.pb.h"
#include "peerwell/checkin/v1/checkin.grpc.pb.h"
#include "peerwell/directory/v1/directory.grpc.pb.h"
#include "peerwell/network/v1/network.grpc.pb.h"
#include "peerwell/supervision/v1/supervision.grpc.pb.h"
#include "services/alerts/redis_alert_store.h"
#include "services/checkin/redis_checkin_store.h"
#include "services/common/auth.h"
#include "services/common/channel.h"
#include "services/common/person_records.h"
#include "services/common/proto_time.h"
#include "services/common/redis_client.h"
#include "services/directory/redis_directory_store.h"
#include "services/network/redis_network_store.h"
#include "services/supervision/redis_supervision_store.h"
#include "services/webhooks/redis_webhook_store.h"
#include "tests/testing/local_suite.h"
#include "tests/testing/wait.h"

namespace peerwell {
namespace {

namespace av1 = ::peerwell::alerts::v1;
namespace cv1 = ::peerwell::checkin::v1;
namespace dv1 = ::peerwell::directory::v1;
namespace nv1 = ::peerwell::network::v1;
namespace sv1 = ::peerwell::supervision::v1;
using ::google::protobuf::Struct;
using ::google::protobuf::Value;
using ::peerwell::testing::LocalSuite;
using ::peerwell::testing::ServerProcess;
using ::peerwell::testing::ServiceRedis;
using ::peerwell::testing::WaitFor;

constexpr char kExportRpc[] = "peerwell.directory.v1.DirectoryService/ExportPersonData";
constexpr char kTrendRpc[] = "peerwell.checkin.v1.CheckinService/GetTrend";
// The parts of the export, by the service that holds the records.
const std::vector<std::string>& ServiceParts() {
  static const auto* parts =
      new std::vector<std::string>{"directory", "checkin", "alerts", "supervision", "network"};
  return *parts;
}

// A text or an id that must show in the export: under the path `where` (the path of a string
// value, e.g. "services.checkin.checkins[0].note", starts with it).
struct Expected {
  std::string text;
  std::string where;
};

struct Volunteer {
  std::string tag;  // "V", "W"
  std::string id;
  std::string name;
  // What they wrote, or what was written about them, each text their own.
  std::vector<Expected> canaries;
  // The ids of their records.
  std::vector<Expected> record_ids;
  std::string critical_alert;
  std::string message_id;
  int64_t message_sequence = 0;
};

Volunteer Named(const std::string& tag, const std::string& name) {
  Volunteer volunteer;
  volunteer.tag = tag;
  volunteer.name = name;
  return volunteer;
}

struct World {
  std::unique_ptr<LocalSuite> suite;
  std::unique_ptr<dv1::DirectoryService::Stub> directory;
  std::unique_ptr<cv1::CheckinService::Stub> checkin;
  std::unique_ptr<av1::AlertService::Stub> alerts;
  std::unique_ptr<sv1::SupervisionService::Stub> supervision;
  std::unique_ptr<nv1::PeerNetworkService::Stub> network;
  std::string org, coordinator, supervisor, channel;
  Volunteer v = Named("V", "Vera Vale");
  Volunteer w = Named("W", "Wanda Wren");
  bool ready = false;

  std::string Token(CallerRole role, const std::string& subject) const {
    return MintToken(suite->jwt_secret(), {subject, org, role, absl::Hours(1)}, absl::Now());
  }
  std::string TokenOf(const Volunteer& who) const { return Token(CallerRole::kVolunteer, who.id); }
  std::string Supervisor() const { return Token(CallerRole::kSupervisor, supervisor); }
  std::string Coordinator() const { return Token(CallerRole::kCoordinator, coordinator); }
};

std::unique_ptr<grpc::ClientContext> As(const std::string& token, int seconds = 10) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->AddMetadata("authorization", "Bearer " + token);
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  return context;
}

// --- Reading the export ---------------------------------------------------------------------

// Where `needle` occurs in `value`: the path of every string value and every object key that
// contains it ("services.network.channels[0].memberIds[1]"; a key as "<path> (key)").
void FindIn(const Value& value, const std::string& path, const std::string& needle,
            std::vector<std::string>& found) {
  if (value.kind_case() == Value::kStringValue) {
    if (absl::StrContains(value.string_value(), needle)) found.push_back(path);
  } else if (value.kind_case() == Value::kStructValue) {
    for (const auto& [key, field] : value.struct_value().fields()) {
      std::string child = path.empty() ? key : absl::StrCat(path, ".", key);
      if (absl::StrContains(key, needle)) found.push_back(absl::StrCat(child, " (key)"));
      FindIn(field, child, needle, found);
    }
  } else if (value.kind_case() == Value::kListValue) {
    for (int i = 0; i < value.list_value().values_size(); ++i) {
      FindIn(value.list_value().values(i), absl::StrCat(path, "[", i, "]"), needle, found);
    }
  }
}

std::vector<std::string> Find(const Struct& document, const std::string& needle) {
  Value root;
  *root.mutable_struct_value() = document;
  std::vector<std::string> found;
  FindIn(root, "", needle, found);
  std::sort(found.begin(), found.end());
  return found;
}

// The value at `names` (struct fields, one after the other), or nullptr.
const Value* At(const Struct& document, const std::vector<std::string>& names) {
  const Struct* current = &document;
  const Value* value = nullptr;
  for (const std::string& name : names) {
    if (current == nullptr) return nullptr;
    auto field = current->fields().find(name);
    if (field == current->fields().end()) return nullptr;
    value = &field->second;
    current = value->kind_case() == Value::kStructValue ? &value->struct_value() : nullptr;
  }
  return value;
}

// The records of one family of one service's part; nullptr when the family is missing.
const google::protobuf::ListValue* Family(const Struct& document, const std::string& service,
                                          const std::string& family) {
  const Value* value = At(document, {"services", service, family});
  if (value == nullptr || value->kind_case() != Value::kListValue) return nullptr;
  return &value->list_value();
}

std::string StringField(const Value& record, const std::string& name) {
  if (record.kind_case() != Value::kStructValue) return "";
  auto field = record.struct_value().fields().find(name);
  if (field == record.struct_value().fields().end()) return "";
  return field->second.string_value();
}

struct Export {
  std::string json;
  Struct document;
};

// ExportPersonData of `person_id` (empty: the caller) as `token`, parsed.
Export ExportAs(World& world, const std::string& token, const std::string& person_id) {
  dv1::ExportPersonDataRequest request;
  request.set_person_id(person_id);
  dv1::ExportPersonDataResponse response;
  grpc::Status status = world.directory->ExportPersonData(As(token, 30).get(), request, &response);
  EXPECT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
  Export result;
  result.json = response.export_json();
  auto parsed = google::protobuf::util::JsonStringToMessage(result.json, &result.document);
  EXPECT_TRUE(parsed.ok()) << parsed.ToString() << " in\n" << result.json;
  return result;
}

// --- Reading Redis --------------------------------------------------------------------------

void AppendText(const RedisReply& reply, std::string& text) {
  text += reply.str;
  text += '\n';
  for (const RedisReply& element : reply.elements) AppendText(element, text);
}

// A key's whole value as text, read by its type.
std::string ValueText(RedisClient& redis, const std::string& key, const std::string& type) {
  RedisCommand read;
  if (type == "string") {
    read = {"GET", key};
  } else if (type == "hash") {
    read = {"HGETALL", key};
  } else if (type == "set") {
    read = {"SMEMBERS", key};
  } else if (type == "zset") {
    read = {"ZRANGE", key, "0", "-1"};
  } else if (type == "list") {
    read = {"LRANGE", key, "0", "-1"};
  } else if (type == "stream") {
    read = {"XRANGE", key, "-", "+"};
  } else {
    ADD_FAILURE() << key << " has a type the test does not read: " << type;
    return "";
  }
  auto value = redis.Execute(read);
  EXPECT_TRUE(value.ok()) << key << ": " << value.status();
  std::string text;
  if (value.ok()) AppendText(*value, text);
  return text;
}

// Whether every consumer group of every event stream has been given every entry and has
// acknowledged it, in one snapshot (MULTI): nothing is left to happen in response to the
// workload.
bool EventsSettled(const ServiceRedis& service_redis, RedisClient& redis) {
  std::vector<std::string> streams;
  for (const std::string& key : service_redis.Keys("pw:{*}:events:*")) {
    if (!absl::EndsWith(key, ":dead")) streams.push_back(key);
  }
  std::vector<RedisCommand> commands;
  for (const std::string& stream : streams) {
    commands.push_back({"XINFO", "GROUPS", stream});
    commands.push_back({"XREVRANGE", stream, "+", "-", "COUNT", "1"});
  }
  if (commands.empty()) return true;
  auto replies = redis.Transaction(commands);
  if (!replies.ok() || replies->size() != commands.size()) return false;
  for (size_t i = 0; i < streams.size(); ++i) {
    const RedisReply& last = (*replies)[2 * i + 1];
    std::string last_id = last.elements.empty() || last.elements[0].elements.empty()
                              ? ""
                              : last.elements[0].elements[0].str;
    for (const RedisReply& group : (*replies)[2 * i].elements) {
      for (size_t field = 0; field + 1 < group.elements.size(); field += 2) {
        const std::string& name = group.elements[field].str;
        const RedisReply& value = group.elements[field + 1];
        if (name == "pending" && value.integer != 0) return false;
        // An empty stream (made with its group) has nothing to deliver.
        if (name == "last-delivered-id" && !last_id.empty() && value.str != last_id) return false;
      }
    }
  }
  return true;
}

// --- The workload ---------------------------------------------------------------------------

std::string CreatePerson(World& world, const std::string& token, dv1::Role role,
                         const std::string& name, const std::string& supervisor,
                         const std::string& request_id) {
  dv1::CreatePersonRequest request;
  request.mutable_person()->set_display_name(name);
  request.mutable_person()->set_role(role);
  request.mutable_person()->set_timezone("Europe/Copenhagen");
  if (!supervisor.empty()) request.mutable_person()->add_supervisor_ids(supervisor);
  request.set_request_id(request_id);
  dv1::CreatePersonResponse response;
  grpc::Status status = world.directory->CreatePerson(As(token).get(), request, &response);
  EXPECT_TRUE(status.ok()) << name << ": " << status.error_message();
  return response.person().person_id();
}

void Consent(World& world, const Volunteer& who) {
  dv1::SetConsentRequest request;
  request.mutable_consent()->set_risk_monitoring(true);
  request.mutable_consent()->set_share_scores_with_supervisor(true);
  dv1::SetConsentResponse response;
  grpc::Status status =
      world.directory->SetConsent(As(world.TokenOf(who)).get(), request, &response);
  ASSERT_TRUE(status.ok()) << who.tag << ": " << status.error_message();
}

// Two check-ins (WHO-5, CBI), a support request and a critical incident, each with its text.
void CheckIns(World& world, Volunteer& who) {
  std::string token = world.TokenOf(who);
  // Instrument, items, the answer to each (middling).
  const std::vector<std::tuple<std::string, int, int>> instruments = {{"who5", 5, 3},
                                                                      {"cbi", 19, 25}};
  for (const auto& [instrument, items, value] : instruments) {
    cv1::SubmitCheckinRequest request;
    request.set_instrument_id(instrument);
    for (int item = 1; item <= items; ++item) {
      auto* answer = request.add_answers();
      answer->set_item_id(absl::StrCat(item));
      answer->set_value(value);
    }
    request.mutable_context()->set_session_kind("group");
    request.mutable_context()->set_hours(2);
    request.mutable_context()->set_sessions_facilitated(1);
    std::string note = absl::StrCat("canary-", who.tag, "-", instrument, "-note-c4e1");
    request.set_note(note);
    request.set_request_id(absl::StrCat(instrument, "-1"));
    cv1::SubmitCheckinResponse response;
    grpc::Status status = world.checkin->SubmitCheckin(As(token).get(), request, &response);
    ASSERT_TRUE(status.ok()) << who.tag << " " << instrument << ": " << status.error_message();
    who.canaries.push_back({note, "services.checkin.checkins["});
    who.record_ids.push_back({response.checkin().checkin_id(), "services.checkin.checkins["});
  }
  {
    cv1::RequestSupportRequest request;
    request.set_urgency(cv1::URGENCY_LOW);
    std::string note = absl::StrCat("canary-", who.tag, "-support-note-9b2d");
    request.set_note(note);
    request.set_request_id("support-1");
    cv1::RequestSupportResponse response;
    grpc::Status status = world.checkin->RequestSupport(As(token).get(), request, &response);
    ASSERT_TRUE(status.ok()) << who.tag << ": " << status.error_message();
    who.canaries.push_back({note, "services.checkin.supportRequests["});
    who.record_ids.push_back(
        {response.support_request().support_request_id(), "services.checkin.supportRequests["});
  }
  {
    cv1::ReportCriticalIncidentRequest request;
    request.set_incident_type(cv1::INCIDENT_TYPE_AGGRESSION);
    *request.mutable_occur_time() = TimestampToProto(absl::Now() - absl::Minutes(30));
    std::string description = absl::StrCat("canary-", who.tag, "-incident-description-5a7f");
    request.set_description(description);
    request.set_request_id("incident-1");
    cv1::ReportCriticalIncidentResponse response;
    grpc::Status status =
        world.checkin->ReportCriticalIncident(As(token).get(), request, &response);
    ASSERT_TRUE(status.ok()) << who.tag << ": " << status.error_message();
    who.canaries.push_back({description, "services.checkin.incidents["});
    who.record_ids.push_back({response.incident().incident_id(), "services.checkin.incidents["});
  }
}

std::vector<av1::Alert> AlertsAbout(World& world, const Volunteer& who) {
  std::vector<av1::Alert> alerts;
  av1::ListAlertsRequest request;
  request.set_volunteer_id(who.id);
  request.set_page_size(100);
  do {
    av1::ListAlertsResponse response;
    grpc::Status status =
        world.alerts->ListAlerts(As(world.Supervisor()).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    if (!status.ok()) break;
    alerts.insert(alerts.end(), response.alerts().begin(), response.alerts().end());
    request.set_page_token(response.next_page_token());
  } while (!request.page_token().empty());
  return alerts;
}

// Waits for the critical-incident alert about `who` and resolves it with a note.
void ResolveCriticalAlert(World& world, Volunteer& who) {
  ASSERT_TRUE(WaitFor(
      [&] {
        for (const av1::Alert& alert : AlertsAbout(world, who)) {
          if (alert.rule_id() == "critical_incident") who.critical_alert = alert.alert_id();
        }
        return !who.critical_alert.empty();
      },
      absl::Seconds(20), absl::Milliseconds(100)))
      << "no critical-incident alert about " << who.tag;
  av1::ResolveAlertRequest request;
  request.set_alert_id(who.critical_alert);
  request.set_outcome(av1::OUTCOME_TALKED);
  std::string note = absl::StrCat("canary-", who.tag, "-resolution-note-3c8e");
  request.set_note(note);
  av1::ResolveAlertResponse response;
  grpc::Status status =
      world.alerts->ResolveAlert(As(world.Supervisor()).get(), request, &response);
  ASSERT_TRUE(status.ok()) << who.tag << ": " << status.error_message();
  who.canaries.push_back({note, "services.alerts.alerts["});
}

void SetAvailability(World& world) {
  sv1::SetAvailabilityRequest request;
  // Around the clock, so that the test does not depend on when it runs.
  for (int day = 1; day <= 7; ++day) {
    auto* window = request.mutable_availability()->add_weekly();
    window->set_weekday(day);
    window->set_start("00:00");
    window->set_end("24:00");
  }
  sv1::SetAvailabilityResponse response;
  grpc::Status status =
      world.supervision->SetAvailability(As(world.Supervisor()).get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
}

void ScheduleIndividualSession(World& world, Volunteer& who) {
  sv1::CreateSessionRequest request;
  sv1::Session* session = request.mutable_session();
  session->set_kind(sv1::SESSION_KIND_INDIVIDUAL);
  session->set_title("Supervision");
  session->add_supervisor_ids(world.supervisor);
  session->add_participant_ids(who.id);
  // Three days ahead on the hour: clear of the debrief offers, which fall within a day.
  absl::Time start = absl::FromUnixSeconds((absl::ToUnixSeconds(absl::Now()) / 3600 + 72) * 3600);
  *session->mutable_start_time() = TimestampToProto(start);
  session->mutable_duration()->set_seconds(3600);
  request.set_request_id("individual-1");
  sv1::CreateSessionResponse response;
  grpc::Status status =
      world.supervision->CreateSession(As(world.Supervisor()).get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  who.record_ids.push_back({response.session().session_id(), "services.supervision.sessions["});
}

// Waits for the debrief offered after `who`'s incident.
void DebriefOffer(World& world, Volunteer& who) {
  std::string offer;
  ASSERT_TRUE(WaitFor(
      [&] {
        sv1::ListSessionsRequest request;
        request.add_kinds(sv1::SESSION_KIND_DEBRIEF);
        sv1::ListSessionsResponse response;
        grpc::Status status =
            world.supervision->ListSessions(As(world.TokenOf(who)).get(), request, &response);
        if (status.ok() && response.sessions_size() > 0) {
          offer = response.sessions(0).session_id();
        }
        return !offer.empty();
      },
      absl::Seconds(20), absl::Milliseconds(100)))
      << "no debrief offered to " << who.tag;
  who.record_ids.push_back({offer, "services.supervision.sessions["});
}

void Post(World& world, Volunteer& who) {
  nv1::PostMessageRequest request;
  request.set_channel_id(world.channel);
  std::string body = absl::StrCat("canary-", who.tag, "-message-body-71d0");
  request.set_body(body);
  request.set_client_message_id(absl::StrCat("message-", who.tag));
  nv1::PostMessageResponse response;
  grpc::Status status =
      world.network->PostMessage(As(world.TokenOf(who)).get(), request, &response);
  ASSERT_TRUE(status.ok()) << who.tag << ": " << status.error_message();
  who.canaries.push_back({body, "services.network.messages["});
  who.message_id = response.message().message_id();
  who.message_sequence = response.message().sequence();
  who.record_ids.push_back({who.message_id, "services.network.messages["});
}

void PeerChannel(World& world) {
  nv1::CreateChannelRequest request;
  request.mutable_channel()->set_kind(nv1::CHANNEL_KIND_GROUP);
  request.mutable_channel()->set_display_name("Cohort");
  request.mutable_channel()->add_member_ids(world.v.id);
  request.mutable_channel()->add_member_ids(world.w.id);
  request.set_request_id("channel-1");
  nv1::CreateChannelResponse response;
  grpc::Status status =
      world.network->CreateChannel(As(world.Coordinator()).get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  world.channel = response.channel().channel_id();
  world.v.record_ids.push_back({world.channel, "services.network.channels["});
  ASSERT_NO_FATAL_FAILURE(Post(world, world.v));
  ASSERT_NO_FATAL_FAILURE(Post(world, world.w));
  // V has read W's message too.
  nv1::MarkReadRequest read;
  read.set_channel_id(world.channel);
  read.set_sequence(world.w.message_sequence);
  nv1::MarkReadResponse marked;
  status = world.network->MarkRead(As(world.TokenOf(world.v)).get(), read, &marked);
  ASSERT_TRUE(status.ok()) << status.error_message();
  nv1::UpdateNetworkSettingsRequest settings;
  settings.mutable_settings()->set_read_receipts(true);
  nv1::UpdateNetworkSettingsResponse updated;
  status =
      world.network->UpdateNetworkSettings(As(world.TokenOf(world.v)).get(), settings, &updated);
  ASSERT_TRUE(status.ok()) << status.error_message();
}

// The supervisor reads V's WHO-5 trend and W's check-ins: audited reads, allowed once each
// volunteer's consent has reached the check-in service (within 5 s).
void SupervisorReads(World& world) {
  ASSERT_TRUE(WaitFor(
      [&] {
        cv1::GetTrendRequest request;
        request.set_volunteer_id(world.v.id);
        request.set_scale_id("who5");
        cv1::GetTrendResponse response;
        return world.checkin->GetTrend(As(world.Supervisor()).get(), request, &response).ok() &&
               response.points_size() > 0;
      },
      absl::Seconds(10), absl::Milliseconds(200)))
      << "the supervisor never read V's trend";
  ASSERT_TRUE(WaitFor(
      [&] {
        cv1::ListCheckinsRequest request;
        request.set_volunteer_id(world.w.id);
        cv1::ListCheckinsResponse response;
        return world.checkin->ListCheckins(As(world.Supervisor()).get(), request, &response).ok() &&
               response.checkins_size() > 0;
      },
      absl::Seconds(10), absl::Milliseconds(200)))
      << "the supervisor never read W's check-ins";
}

void CalendarFeedAndSilence(World& world) {
  sv1::CreateCalendarFeedRequest feed;
  sv1::CreateCalendarFeedResponse created;
  grpc::Status status =
      world.supervision->CreateCalendarFeed(As(world.TokenOf(world.v)).get(), feed, &created);
  ASSERT_TRUE(status.ok()) << status.error_message();
  world.v.record_ids.push_back({created.feed().feed_id(), "services.supervision.calendarFeeds["});

  av1::CreateSilenceRequest silence;
  silence.set_volunteer_id(world.v.id);
  *silence.mutable_end_time() = TimestampToProto(absl::Now() + absl::Hours(24));
  std::string reason = "canary-V-silence-reason-e5b9";
  silence.set_reason(reason);
  av1::CreateSilenceResponse silenced;
  status = world.alerts->CreateSilence(As(world.Supervisor()).get(), silence, &silenced);
  ASSERT_TRUE(status.ok()) << status.error_message();
  world.v.canaries.push_back({reason, "services.alerts.silences["});
  world.v.record_ids.push_back({silenced.silence().silence_id(), "services.alerts.silences["});
}

void BuildWorld(World& world) {
  // On a cluster, each master with a replica: an erasure must reach the replicas' files too.
  auto suite = LocalSuite::Start(
      {.binaries = PEERWELL_BUILD_DIR, .replicas = 1, .redis_cluster_replicas = 1, .env = {}});
  ASSERT_TRUE(suite.ok()) << suite.status();
  world.suite = *std::move(suite);
  world.directory =
      dv1::DirectoryService::NewStub(ServiceChannel(world.suite->Target("directory")));
  world.checkin = cv1::CheckinService::NewStub(ServiceChannel(world.suite->Target("checkin")));
  world.alerts = av1::AlertService::NewStub(ServiceChannel(world.suite->Target("alerts")));
  world.supervision =
      sv1::SupervisionService::NewStub(ServiceChannel(world.suite->Target("supervision")));
  world.network = nv1::PeerNetworkService::NewStub(ServiceChannel(world.suite->Target("network")));

  std::string admin = world.Token(CallerRole::kAdmin, "op");
  dv1::CreateOrganizationRequest create;
  create.set_display_name("Harbour");
  dv1::CreateOrganizationResponse org;
  grpc::Status status = world.directory->CreateOrganization(As(admin).get(), create, &org);
  ASSERT_TRUE(status.ok()) << status.error_message();
  world.org = org.organization().organization_id();
  admin = world.Token(CallerRole::kAdmin, "op");
  world.coordinator =
      CreatePerson(world, admin, dv1::ROLE_COORDINATOR, "Cora Coordinator", "", "coordinator");
  ASSERT_FALSE(world.coordinator.empty());
  world.supervisor = CreatePerson(world, world.Coordinator(), dv1::ROLE_SUPERVISOR,
                                  "Sam Supervisor", "", "supervisor");
  ASSERT_FALSE(world.supervisor.empty());
  for (Volunteer* who : {&world.v, &world.w}) {
    who->id = CreatePerson(world, world.Coordinator(), dv1::ROLE_VOLUNTEER, who->name,
                           world.supervisor, absl::StrCat("volunteer-", who->tag));
    ASSERT_FALSE(who->id.empty());
  }
  ASSERT_NO_FATAL_FAILURE(SetAvailability(world));
  // The individual session first: the debrief offers then find their own times around it.
  ASSERT_NO_FATAL_FAILURE(ScheduleIndividualSession(world, world.v));
  for (Volunteer* who : {&world.v, &world.w}) {
    ASSERT_NO_FATAL_FAILURE(Consent(world, *who));
  }
  for (Volunteer* who : {&world.v, &world.w}) {
    ASSERT_NO_FATAL_FAILURE(CheckIns(world, *who));
  }
  for (Volunteer* who : {&world.v, &world.w}) {
    ASSERT_NO_FATAL_FAILURE(ResolveCriticalAlert(world, *who));
  }
  ASSERT_NO_FATAL_FAILURE(SupervisorReads(world));
  ASSERT_NO_FATAL_FAILURE(PeerChannel(world));
  ASSERT_NO_FATAL_FAILURE(CalendarFeedAndSilence(world));
  for (Volunteer* who : {&world.v, &world.w}) {
    ASSERT_NO_FATAL_FAILURE(DebriefOffer(world, *who));
  }
  // Every event handled (risk history, last check-in, offers, webhooks' reads), so that nothing
  // about V is still on its way when the tests look.
  RedisClient redis(RedisOptions{world.suite->redis().address()});
  ASSERT_TRUE(WaitFor([&] { return EventsSettled(world.suite->redis(), redis); }, absl::Seconds(20),
                      absl::Milliseconds(100)))
      << "the services' consumer groups never caught up with the workload";
  // Every alert about each volunteer (the critical incident's, the support request's, any other).
  for (Volunteer* who : {&world.v, &world.w}) {
    for (const av1::Alert& alert : AlertsAbout(world, *who)) {
      who->record_ids.push_back({alert.alert_id(), "services.alerts.alerts["});
    }
  }
}

class PrivacyFlowTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    world_ = new World();
    BuildWorld(*world_);
    world_->ready = !HasFailure();
  }
  static void TearDownTestSuite() {
    delete world_;
    world_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(world_ != nullptr && world_->ready)
        << "the workload failed: see the failures of the test suite's set-up";
  }

  static World* world_;
};

World* PrivacyFlowTest::world_ = nullptr;

TEST_F(PrivacyFlowTest, ThePersonsExportHoldsEveryRecordOfTheirsAndNobodyElses) {
  World& world = *world_;
  const Volunteer& v = world.v;
  const Volunteer& w = world.w;
  Export exported = ExportAs(world, world.TokenOf(v), "");
  ASSERT_FALSE(HasFailure());
  const Struct& doc = exported.document;

  const Value* version = At(doc, {"schemaVersion"});
  ASSERT_NE(version, nullptr);
  EXPECT_EQ(version->number_value(), 1);
  const Value* person = At(doc, {"personId"});
  ASSERT_NE(person, nullptr);
  EXPECT_EQ(person->string_value(), v.id);
  const Value* org = At(doc, {"organizationId"});
  ASSERT_NE(org, nullptr);
  EXPECT_EQ(org->string_value(), world.org);
  const Value* time = At(doc, {"exportTime"});
  ASSERT_NE(time, nullptr);
  EXPECT_FALSE(time->string_value().empty());
  for (const std::string& part : ServiceParts()) {
    const Value* value = At(doc, {"services", part});
    ASSERT_NE(value, nullptr) << "no part of the " << part << " service";
    EXPECT_EQ(value->kind_case(), Value::kStructValue) << part;
  }

  // Everything of V's, the texts opened, where it belongs.
  for (const auto* expected : {&v.canaries, &v.record_ids}) {
    for (const Expected& item : *expected) {
      std::vector<std::string> paths = Find(doc, item.text);
      EXPECT_TRUE(
          std::any_of(paths.begin(), paths.end(),
                      [&](const std::string& path) { return absl::StartsWith(path, item.where); }))
          << item.text << " is not under " << item.where << "; found at ["
          << absl::StrJoin(paths, ", ") << "]";
    }
  }
  const Value* checkins = At(doc, {"services", "checkin", "checkins"});
  ASSERT_NE(checkins, nullptr);
  EXPECT_EQ(checkins->list_value().values_size(), 2);

  // Nothing of W's: no text, no record id, not even the name.
  for (const auto* unexpected : {&w.canaries, &w.record_ids}) {
    for (const Expected& item : *unexpected) {
      EXPECT_FALSE(absl::StrContains(exported.json, item.text))
          << "W's " << item.text << " in V's export, at ["
          << absl::StrJoin(Find(doc, item.text), ", ") << "]";
    }
  }
  EXPECT_FALSE(absl::StrContains(exported.json, "canary-W-"));
  EXPECT_FALSE(absl::StrContains(exported.json, w.name));
  // W's id only where V shares a record with W: the members of their peer channel.
  std::vector<std::string> w_at = Find(doc, w.id);
  EXPECT_FALSE(w_at.empty()) << "the shared channel's members name W";
  const std::regex member(R"(services\.network\.channels\[(\d+)\]\.memberIds\[\d+\])");
  const google::protobuf::ListValue* channels = Family(doc, "network", "channels");
  for (const std::string& path : w_at) {
    std::smatch match;
    bool shared = false;
    if (std::regex_match(path, match, member) && channels != nullptr) {
      int index = std::stoi(match[1].str());
      shared = index < channels->values_size() &&
               StringField(channels->values(index), "channelId") == world.channel;
    }
    EXPECT_TRUE(shared) << "W's id in V's export at " << path;
  }
  // Of the shared channel, V's messages only.
  const google::protobuf::ListValue* messages = Family(doc, "network", "messages");
  ASSERT_NE(messages, nullptr);
  EXPECT_EQ(messages->values_size(), 1);
  for (const Value& message : messages->values()) {
    EXPECT_EQ(StringField(message, "authorId"), v.id);
  }
  // The reads of V's data only, not the supervisor's read of W's.
  const google::protobuf::ListValue* audit = Family(doc, "directory", "auditRecords");
  ASSERT_NE(audit, nullptr);
  EXPECT_GE(audit->values_size(), 1);
  for (const Value& record : audit->values()) {
    EXPECT_EQ(StringField(record, "subjectId"), v.id);
  }
}

TEST_F(PrivacyFlowTest, ACoordinatorsExportIsTheSameDocumentAndTheReadIsAudited) {
  World& world = *world_;
  const Volunteer& v = world.v;
  Export own = ExportAs(world, world.TokenOf(v), "");
  Export theirs = ExportAs(world, world.Coordinator(), v.id);
  ASSERT_FALSE(HasFailure());
  // The same content, but for when it was made.
  own.document.mutable_fields()->erase("exportTime");
  theirs.document.mutable_fields()->erase("exportTime");
  google::protobuf::util::MessageDifferencer differencer;
  std::string differences;
  differencer.ReportDifferencesToString(&differences);
  EXPECT_TRUE(differencer.Compare(own.document, theirs.document)) << differences;

  // V sees who read their data: the coordinator's export, the supervisor's read of the trend.
  std::vector<dv1::AuditRecord> records;
  dv1::ListAuditRecordsRequest request;
  request.set_page_size(100);
  do {
    dv1::ListAuditRecordsResponse response;
    grpc::Status status =
        world.directory->ListAuditRecords(As(world.TokenOf(v)).get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    records.insert(records.end(), response.records().begin(), response.records().end());
    request.set_page_token(response.next_page_token());
  } while (!request.page_token().empty());
  auto has = [&](const std::string& reader, const std::string& role, const std::string& rpc) {
    return std::any_of(records.begin(), records.end(), [&](const dv1::AuditRecord& record) {
      return record.reader_id() == reader && record.reader_role() == role && record.rpc() == rpc &&
             record.outcome() == "OK" && record.subject_id() == v.id;
    });
  };
  std::string listed;
  for (const dv1::AuditRecord& record : records) {
    absl::StrAppend(&listed, "\n  ", record.reader_id(), " (", record.reader_role(), ") ",
                    record.rpc(), " of ", record.subject_id(), ": ", record.outcome());
  }
  EXPECT_TRUE(has(world.coordinator, "coordinator", kExportRpc)) << listed;
  EXPECT_TRUE(has(world.supervisor, "supervisor", kTrendRpc)) << listed;
  for (const dv1::AuditRecord& record : records) {
    // Only reads of V's data; V's own export is not a read by someone else.
    EXPECT_EQ(record.subject_id(), v.id) << listed;
    EXPECT_NE(record.reader_id(), v.id) << listed;
  }
}

TEST_F(PrivacyFlowTest, EveryKeyAboutThePersonIsCoveredByAnExportedFamily) {
  World& world = *world_;
  const Volunteer& v = world.v;
  const std::vector<std::pair<std::string, const std::vector<PersonKeyFamily>*>> stores = {
      {"directory", &directory::RedisDirectoryStore::PersonKeyFamilies()},
      {"checkin", &checkin::RedisCheckinStore::PersonKeyFamilies()},
      {"alerts", &alerts::RedisAlertStore::PersonKeyFamilies()},
      {"supervision", &supervision::RedisSupervisionStore::PersonKeyFamilies()},
      {"network", &network::RedisNetworkStore::PersonKeyFamilies()},
      {"webhooks", &webhooks::RedisWebhookStore::PersonKeyFamilies()},
  };
  std::vector<std::string> names_about_v = {v.id};
  for (const Expected& id : v.record_ids) names_about_v.push_back(id.text);

  // Every key, as the test's own Redis user (any command, any key).
  RedisClient redis(RedisOptions{world.suite->redis().address()});
  struct Covered {
    std::string key, type, store;
    const PersonKeyFamily* family;
  };
  std::vector<Covered> covered;
  std::vector<std::string> unmatched;
  int keys = 0;
  for (const std::string& key : world.suite->redis().Keys("*")) {
    ++keys;
    auto type = redis.Execute({"TYPE", key});
    ASSERT_TRUE(type.ok()) << key << ": " << type.status();
    if (type->str == "none") continue;  // expired since the scan
    bool about_v = std::any_of(names_about_v.begin(), names_about_v.end(),
                               [&](const std::string& id) { return absl::StrContains(key, id); }) ||
                   absl::StrContains(ValueText(redis, key, type->str), v.id);
    if (!about_v) continue;
    bool matched = false;
    for (const auto& [store, families] : stores) {
      // A store lists the more specific pattern of a prefix first: the first match is the key's.
      for (const PersonKeyFamily& family : *families) {
        if (fnmatch(family.pattern.c_str(), key.c_str(), 0) == 0) {
          covered.push_back({key, type->str, store, &family});
          matched = true;
          break;
        }
      }
    }
    if (!matched) unmatched.push_back(absl::StrCat(key, " (", type->str, ")"));
  }
  EXPECT_TRUE(unmatched.empty()) << unmatched.size()
                                 << " keys about V match no store's PersonKeyFamilies():\n  "
                                 << absl::StrJoin(unmatched, "\n  ");

  // After the scan, so that whatever the scan saw is in the export.
  Export exported = ExportAs(world, world.TokenOf(v), "");
  ASSERT_NE(At(exported.document, {"services"}), nullptr) << "no export to look in";
  std::map<std::string, std::vector<std::string>> keys_by_family;  // "store: pattern -> family"
  std::set<std::string> stores_seen;
  std::vector<std::string> missing;
  for (const Covered& item : covered) {
    stores_seen.insert(item.store);
    std::string family =
        item.family->exported_as.empty()
            ? absl::StrCat("(not exported: ", item.family->not_exported_because, ")")
            : item.family->exported_as;
    keys_by_family[absl::StrCat(item.store, ": ", item.family->pattern, " -> ", family)].push_back(
        item.key);
    if (item.family->exported_as.empty()) continue;
    const google::protobuf::ListValue* records =
        Family(exported.document, item.store, item.family->exported_as);
    if (records == nullptr || records->values_size() == 0) {
      missing.push_back(absl::StrCat(item.key, " (", item.type, ", ", item.store, " pattern ",
                                     item.family->pattern, "): services.", item.store, ".",
                                     item.family->exported_as,
                                     records == nullptr ? " is missing" : " has no record"));
    }
  }
  EXPECT_TRUE(missing.empty()) << "keys about V whose exported family is not in V's export:\n  "
                               << absl::StrJoin(missing, "\n  ");
  // The scan found V's keys in every store (else it is the scan that is broken).
  for (const std::string& part : ServiceParts()) {
    EXPECT_TRUE(stores_seen.contains(part)) << "no key about V in the " << part << " store";
  }
  std::cout << keys << " keys, " << covered.size() + unmatched.size() << " about V:\n";
  for (const auto& [family, family_keys] : keys_by_family) {
    std::cout << "  " << family << ": " << family_keys.size() << " (e.g. " << family_keys[0]
              << ")\n";
  }
}

// --- Erasure ----------------------------------------------------------------------------------

class PrivacyErasureTest : public PrivacyFlowTest {
 protected:
  static void SetUpTestSuite() {
    world_ = new World();
    BuildWorld(*world_);
    world_->ready = !HasFailure();
  }
  static void TearDownTestSuite() {
    delete world_;
    world_ = nullptr;
  }
};

dv1::Erasure GetErasure(World& world, const std::string& erasure_id) {
  dv1::GetErasureRequest request;
  request.set_erasure_id(erasure_id);
  dv1::GetErasureResponse response;
  grpc::Status status =
      world.directory->GetErasure(As(world.Coordinator()).get(), request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response.erasure();
}

bool Done(const dv1::Erasure& erasure, const std::string& service) {
  for (const dv1::ErasureProgress& progress : erasure.services()) {
    if (progress.service() == service) return progress.done();
  }
  return false;
}

// Every file of every node's append-only file folder, concatenated.
std::string AppendOnlyFiles(const std::vector<std::string>& directories) {
  std::string all;
  for (const std::string& directory : directories) {
    for (const auto& entry :
         std::filesystem::directory_iterator(std::filesystem::path(directory) / "appendonlydir")) {
      std::ifstream file(entry.path(), std::ios::binary);
      std::stringstream bytes;
      bytes << file.rdbuf();
      all += bytes.str();
    }
  }
  return all;
}

// Whether no node has a rewrite of its append-only file running or waiting.
bool RewritesFinished(const ServiceRedis& service_redis) {
  for (const RedisAddress& node : service_redis.NodeAddresses()) {
    RedisClient redis(RedisOptions{node});
    auto info = redis.Execute({"INFO", "persistence"});
    if (!info.ok() || !absl::StrContains(info->str, "aof_rewrite_in_progress:0") ||
        !absl::StrContains(info->str, "aof_rewrite_scheduled:0")) {
      return false;
    }
  }
  return true;
}

TEST_F(PrivacyErasureTest, ErasingAPersonLeavesOnlyTheRecordOfTheErasureAndSparesEveryoneElse) {
  World& world = *world_;
  const Volunteer& v = world.v;
  const Volunteer& w = world.w;
  RedisClient redis(RedisOptions{world.suite->redis().address()});

  // What would open V's texts, as Redis holds it before the erasure: the wrapped data keys and a
  // sealed note. Afterwards none of it may be anywhere, the append-only file included.
  std::vector<std::string> secrets;
  for (const char* service : {"checkin", "alerts"}) {
    auto wrapped =
        redis.Execute({"GET", absl::StrCat("pw:{", world.org, "}:", service, ":datakey:", v.id)});
    ASSERT_TRUE(wrapped.ok() && !wrapped->str.empty()) << service << " has no data key for V";
    secrets.push_back(wrapped->str);
  }
  std::string checkin_key;
  for (const Expected& id : v.record_ids) {
    if (absl::StartsWith(id.where, "services.checkin.checkins[")) {
      checkin_key = absl::StrCat("pw:{", world.org, "}:checkin:checkin:", id.text);
    }
  }
  auto sealed = redis.Execute({"HGET", checkin_key, "note"});
  ASSERT_TRUE(sealed.ok() && sealed->str.size() > 16) << "no sealed note in " << checkin_key;
  secrets.push_back(sealed->str);
  ASSERT_TRUE(
      absl::StrContains(AppendOnlyFiles(world.suite->redis().DataDirectories()), secrets[0]))
      << "the append-only file should hold V's data key before the erasure";
  const std::string v_token = world.TokenOf(v);

  // The peer network is down when the erasure starts.
  ServerProcess& network = *world.suite->service("network").process;
  network.Signal(SIGKILL);
  ASSERT_TRUE(network.WaitForExit(absl::Seconds(10)).has_value());

  dv1::ErasePersonRequest erase;
  erase.set_person_id(v.id);
  erase.set_request_id("erase-vera");
  dv1::ErasePersonResponse erased;
  grpc::Status status = world.directory->ErasePerson(As(world.Coordinator()).get(), erase, &erased);
  ASSERT_TRUE(status.ok()) << status.error_message();
  const std::string erasure_id = erased.erasure().erasure_id();
  ASSERT_TRUE(WaitFor(
      [&] {
        dv1::Erasure erasure = GetErasure(world, erasure_id);
        return Done(erasure, "directory") && Done(erasure, "checkin") && Done(erasure, "alerts") &&
               Done(erasure, "supervision") && Done(erasure, "webhooks");
      },
      absl::Seconds(30), absl::Milliseconds(100)))
      << GetErasure(world, erasure_id).DebugString();
  dv1::Erasure waiting = GetErasure(world, erasure_id);
  EXPECT_EQ(waiting.state(), dv1::ERASURE_STATE_IN_PROGRESS);
  EXPECT_FALSE(Done(waiting, "network"));

  // Back on its address; it reads the announcement it missed from its consumer group.
  network.Start();
  ASSERT_TRUE(
      WaitFor([&] { return GetErasure(world, erasure_id).state() == dv1::ERASURE_STATE_DONE; },
              absl::Seconds(30), absl::Milliseconds(100)))
      << GetErasure(world, erasure_id).DebugString();
  dv1::Erasure done = GetErasure(world, erasure_id);
  EXPECT_TRUE(done.has_complete_time());
  EXPECT_EQ(done.person_id(), v.id);
  EXPECT_EQ(done.erased_by(), world.coordinator);

  // The same request again: the same erasure, nothing more.
  dv1::ErasePersonResponse again;
  ASSERT_TRUE(world.directory->ErasePerson(As(world.Coordinator()).get(), erase, &again).ok());
  EXPECT_EQ(again.erasure().erasure_id(), erasure_id);
  EXPECT_EQ(again.erasure().state(), dv1::ERASURE_STATE_DONE);

  // V's token opens nothing, anywhere (the services' directory caches live 2 s).
  dv1::GetPersonRequest self;
  self.set_person_id(v.id);
  dv1::GetPersonResponse person;
  EXPECT_EQ(world.directory->GetPerson(As(v_token).get(), self, &person).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(WaitFor(
      [&] {
        cv1::ListCheckinsRequest list;
        cv1::ListCheckinsResponse listed;
        return world.checkin->ListCheckins(As(v_token).get(), list, &listed).error_code() ==
               grpc::StatusCode::UNAUTHENTICATED;
      },
      absl::Seconds(5), absl::Milliseconds(100)));

  // Nothing in Redis names V or holds V's texts, but the erasure's own record: its hash, its
  // announcements (person.erased) and its one audit record.
  ASSERT_TRUE(WaitFor([&] { return EventsSettled(world.suite->redis(), redis); }, absl::Seconds(20),
                      absl::Milliseconds(100)));
  std::vector<std::string> about_v = {v.id, v.name};
  for (const Expected& canary : v.canaries) about_v.push_back(canary.text);
  for (const Expected& id : v.record_ids) {
    // A message of V's keeps its place (and its id, which replies point to) without its text or
    // its author; the channel V shared stays W's.
    if (absl::StartsWith(id.where, "services.network.")) continue;
    about_v.push_back(id.text);
  }
  std::vector<std::string> left;
  const std::string erasure_key =
      absl::StrCat("pw:{", world.org, "}:directory:erasure:", erasure_id);
  for (const std::string& key : world.suite->redis().Keys("*")) {
    auto type = redis.Execute({"TYPE", key});
    ASSERT_TRUE(type.ok());
    if (type->str == "none" || key == erasure_key) continue;
    if (type->str == "stream") {
      auto entries = redis.Execute({"XRANGE", key, "-", "+"});
      ASSERT_TRUE(entries.ok());
      for (const RedisReply& entry : entries->elements) {
        std::string text;
        AppendText(entry, text);
        bool erasure_record = absl::StrContains(text, "person.erased\n") ||
                              absl::StrContains(text, "DirectoryService/ErasePerson\n");
        for (const std::string& needle : about_v) {
          if (absl::StrContains(text, needle) && !(erasure_record && needle == v.id)) {
            left.push_back(absl::StrCat(key, " entry ", entry.elements[0].str, " holds ", needle));
          }
        }
      }
      continue;
    }
    std::string text = key + "\n" + ValueText(redis, key, type->str);
    for (const std::string& needle : about_v) {
      if (absl::StrContains(text, needle)) {
        left.push_back(absl::StrCat(key, " (", type->str, ") holds ", needle));
      }
    }
  }
  EXPECT_TRUE(left.empty()) << "left after V's erasure:\n  " << absl::StrJoin(left, "\n  ");
  auto audit = redis.Execute({"XRANGE", absl::StrCat("pw:{", world.org, "}:audit"), "-", "+"});
  ASSERT_TRUE(audit.ok());
  int erasure_records = 0;
  for (const RedisReply& entry : audit->elements) {
    std::string text;
    AppendText(entry, text);
    if (absl::StrContains(text, v.id)) {
      ++erasure_records;
      EXPECT_TRUE(absl::StrContains(text, "DirectoryService/ErasePerson")) << text;
    }
  }
  EXPECT_EQ(erasure_records, 1);

  // Redis has rewritten its append-only file since: no copy of V's keys or sealed texts is left
  // on disk, so the master key opens nothing of V's.
  // The erasure leaves the directory's schedule once Redis has taken the request to rewrite.
  const std::string due = absl::StrCat(world.org, "/", erasure_id);
  ASSERT_TRUE(WaitFor(
      [&] {
        const std::string erasures_due =
            absl::StrCat("pw:{", world.org, "}:directory:erasures_due");
        auto score = redis.Execute({"ZSCORE", erasures_due, due});
        return score.ok() && score->IsNil() && RewritesFinished(world.suite->redis());
      },
      absl::Seconds(30), absl::Milliseconds(100)));
  std::string on_disk = AppendOnlyFiles(world.suite->redis().DataDirectories());
  for (size_t i = 0; i < secrets.size(); ++i) {
    EXPECT_FALSE(absl::StrContains(on_disk, secrets[i])) << "secret " << i << " is still on disk";
  }
  for (const Expected& canary : v.canaries) {
    EXPECT_FALSE(absl::StrContains(on_disk, canary.text)) << canary.text;
  }

  // W keeps everything.
  Export theirs = ExportAs(world, world.TokenOf(w), "");
  for (const auto* expected : {&w.canaries, &w.record_ids}) {
    for (const Expected& item : *expected) {
      std::vector<std::string> at = Find(theirs.document, item.text);
      EXPECT_TRUE(
          std::any_of(at.begin(), at.end(),
                      [&](const std::string& path) { return absl::StartsWith(path, item.where); }))
          << "W's " << item.text << " is gone from under " << item.where;
    }
  }
}

}  // namespace
}  // namespace peerwell
