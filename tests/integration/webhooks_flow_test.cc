// Partners' webhooks through the real binaries: directory, check-ins, alerts and webhooks
// against one real redis-server, delivering to receivers on loopback.
#include <signal.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "peerwell/checkin/v1/checkin.grpc.pb.h"
#include "peerwell/directory/v1/directory.grpc.pb.h"
#include "peerwell/gateway/v1/webhooks.grpc.pb.h"
#include "services/common/encryption.h"
#include "services/common/events.h"
#include "services/common/hmac_pseudonymizer.h"
#include "services/common/proto_time.h"
#include "services/common/redis_client.h"
#include "tests/testing/process.h"
#include "tests/testing/service_redis.h"
#include "tests/testing/tokens.h"
#include "tests/testing/wait.h"
#include "tests/testing/webhook_receiver.h"

namespace peerwell {
namespace {

namespace cv1 = ::peerwell::checkin::v1;
namespace dv1 = ::peerwell::directory::v1;
namespace wv1 = ::peerwell::gateway::v1;
using ::peerwell::testing::ServerProcess;
using ::peerwell::testing::ServiceRedis;
using ::peerwell::testing::TestReceiver;
using ::peerwell::testing::TestToken;
using ::peerwell::testing::WaitFor;

class WebhooksFlowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = Start(PEERWELL_DIRECTORY_BINARY, {});
    directory_stub_ = dv1::DirectoryService::NewStub(Channel(last_address_));
    checkin_ = Start(PEERWELL_CHECKIN_BINARY, {{"PEERWELL_DIRECTORY_ADDR", directory_addr_}});
    checkin_stub_ = cv1::CheckinService::NewStub(Channel(last_address_));
    alerts_ = Start(PEERWELL_ALERTS_BINARY, {{"PEERWELL_DIRECTORY_ADDR", directory_addr_}});
    StartWebhooksReplica();
    Seed();
  }

  static std::shared_ptr<grpc::Channel> Channel(const std::string& address) {
    return grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  }

  std::unique_ptr<ServerProcess> Start(const std::string& binary,
                                       std::vector<std::pair<std::string, std::string>> env) {
    env.push_back({"PEERWELL_JWT_SECRET", peerwell::testing::kTestJwtSecret});
    for (auto& setting : redis_.ServiceEnv(peerwell::testing::ServiceOfBinary(binary))) {
      env.push_back(setting);
    }
    env.push_back({"PEERWELL_SHUTDOWN_GRACE", "2s"});
    env.push_back({"PEERWELL_MASTER_KEY", peerwell::testing::kTestMasterKey});
    env.push_back({"PEERWELL_PSEUDONYM_KEY", peerwell::testing::kTestPseudonymKey});
    // A silent consumer's events move to another replica after a second.
    env.push_back({"PEERWELL_EVENT_CLAIM_IDLE", "1s"});
    auto started = peerwell::testing::StartServer(binary, std::move(env));
    EXPECT_TRUE(started.ok()) << started.status();
    if (!started.ok()) return nullptr;
    last_address_ = started->address;
    last_metrics_port_ = started->metrics_port;
    if (binary == PEERWELL_DIRECTORY_BINARY) directory_addr_ = started->address;
    return std::move(started->process);
  }

  // Receivers listen on loopback over plain http: allowed here as on a closed network (unless
  // `allow_private` is false, as in production). Retries come 200-400 ms apart instead of
  // 5-10 s, and an attempt is given up after a second.
  void StartWebhooksReplica(bool allow_private = true) {
    webhooks_.push_back(Start(PEERWELL_WEBHOOKS_BINARY,
                              {{"PEERWELL_DIRECTORY_ADDR", directory_addr_},
                               {"PEERWELL_WEBHOOK_ALLOW_PRIVATE", allow_private ? "true" : "false"},
                               {"PEERWELL_WEBHOOK_RETRY_BASE", "200ms"},
                               {"PEERWELL_WEBHOOK_TIMEOUT", "1s"}}));
    webhook_stubs_.push_back(wv1::WebhookService::NewStub(Channel(last_address_)));
  }

  std::unique_ptr<grpc::ClientContext> As(const std::string& token) {
    auto context = std::make_unique<grpc::ClientContext>();
    if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return context;
  }
  std::unique_ptr<grpc::ClientContext> WithKey(const std::string& key) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->AddMetadata("x-api-key", key);
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return context;
  }
  std::string Coordinator() { return TestToken(CallerRole::kCoordinator, coordinator_, org_); }

  // Stops a replica as its orchestrator would, letting it finish the attempts in hand.
  void StopWebhooksReplica(size_t i) {
    webhooks_[i]->Signal(SIGTERM);
    ASSERT_TRUE(webhooks_[i]->WaitForExit(absl::Seconds(10)).has_value());
  }

  void Seed() {
    dv1::CreateOrganizationRequest create_org;
    create_org.set_display_name("Harbour");
    dv1::CreateOrganizationResponse org;
    ASSERT_TRUE(directory_stub_
                    ->CreateOrganization(As(TestToken(CallerRole::kAdmin, "op", "")).get(),
                                         create_org, &org)
                    .ok());
    org_ = org.organization().organization_id();
    coordinator_ =
        CreatePerson(TestToken(CallerRole::kAdmin, "op", org_), dv1::ROLE_COORDINATOR, "");
    supervisor_ = CreatePerson(Coordinator(), dv1::ROLE_SUPERVISOR, "");
    consenting_ = CreateVolunteer(/*research_export=*/true);
    withholding_ = CreateVolunteer(/*research_export=*/false);
  }

  std::string CreatePerson(const std::string& token, dv1::Role role,
                           const std::string& supervisor) {
    dv1::CreatePersonRequest request;
    request.mutable_person()->set_display_name("Someone");
    request.mutable_person()->set_role(role);
    if (!supervisor.empty()) request.mutable_person()->add_supervisor_ids(supervisor);
    dv1::CreatePersonResponse response;
    EXPECT_TRUE(directory_stub_->CreatePerson(As(token).get(), request, &response).ok());
    return response.person().person_id();
  }

  // A volunteer who agrees to research export (and so to partners receiving what concerns them)
  // or not.
  std::string CreateVolunteer(bool research_export) {
    std::string volunteer = CreatePerson(Coordinator(), dv1::ROLE_VOLUNTEER, supervisor_);
    if (research_export) {
      dv1::SetConsentRequest consent;
      consent.mutable_consent()->set_research_export(true);
      dv1::SetConsentResponse set;
      EXPECT_TRUE(directory_stub_
                      ->SetConsent(As(TestToken(CallerRole::kVolunteer, volunteer, org_)).get(),
                                   consent, &set)
                      .ok());
    }
    return volunteer;
  }

  // A coordinator's erasure of `person`: its id.
  std::string Erase(const std::string& person) {
    dv1::ErasePersonRequest request;
    request.set_person_id(person);
    dv1::ErasePersonResponse response;
    grpc::Status status = directory_stub_->ErasePerson(As(Coordinator()).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.erasure().erasure_id();
  }

  // Whether this service has told the directory that it erased the erasure's person.
  bool WebhooksErased(const std::string& erasure_id) {
    dv1::GetErasureRequest request;
    request.set_erasure_id(erasure_id);
    dv1::GetErasureResponse response;
    if (!directory_stub_->GetErasure(As(Coordinator()).get(), request, &response).ok()) {
      return false;
    }
    const auto& services = response.erasure().services();
    return std::any_of(services.begin(), services.end(), [](const dv1::ErasureProgress& part) {
      return part.service() == "webhooks" && part.done();
    });
  }

  // A new API key's secret and id.
  std::pair<std::string, std::string> NewKey(const std::vector<std::string>& scopes) {
    dv1::CreateApiKeyRequest request;
    request.set_display_name("Partner");
    for (const auto& scope : scopes) request.add_scopes(scope);
    dv1::CreateApiKeyResponse response;
    grpc::Status status = directory_stub_->CreateApiKey(As(Coordinator()).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return {response.secret(), response.api_key().api_key_id()};
  }

  wv1::CreateWebhookResponse CreateWebhook(const std::string& key, const TestReceiver& receiver,
                                           const std::vector<std::string>& types) {
    wv1::CreateWebhookRequest request;
    request.set_url(absl::StrCat("http://127.0.0.1:", receiver.port(), "/peerwell"));
    for (const auto& type : types) request.add_event_types(type);
    wv1::CreateWebhookResponse response;
    grpc::Status status = webhook_stubs_[0]->CreateWebhook(WithKey(key).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  void ReportIncident(const std::string& volunteer) {
    cv1::ReportCriticalIncidentRequest incident;
    incident.set_incident_type(cv1::INCIDENT_TYPE_AGGRESSION);
    incident.set_description("Private words that must never reach a partner");
    *incident.mutable_occur_time() = TimestampToProto(absl::Now() - absl::Minutes(5));
    cv1::ReportCriticalIncidentResponse reported;
    grpc::Status status = checkin_stub_->ReportCriticalIncident(
        As(TestToken(CallerRole::kVolunteer, volunteer, org_)).get(), incident, &reported);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  std::vector<wv1::WebhookDelivery> Deliveries(const std::string& key,
                                               const std::string& webhook_id) {
    std::vector<wv1::WebhookDelivery> all;
    std::string token;
    do {
      wv1::ListWebhookDeliveriesRequest request;
      request.set_webhook_id(webhook_id);
      request.set_page_size(2);  // pages, too
      request.set_page_token(token);
      wv1::ListWebhookDeliveriesResponse response;
      grpc::Status status =
          webhook_stubs_.back()->ListWebhookDeliveries(WithKey(key).get(), request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      if (!status.ok()) return all;
      all.insert(all.end(), response.deliveries().begin(), response.deliveries().end());
      token = response.next_page_token();
    } while (!token.empty());
    return all;
  }

  peerwell::testing::ServiceRedis redis_;
  std::string directory_addr_, last_address_;
  int last_metrics_port_ = 0;
  std::unique_ptr<ServerProcess> directory_, checkin_, alerts_;
  std::vector<std::unique_ptr<ServerProcess>> webhooks_;
  std::unique_ptr<dv1::DirectoryService::Stub> directory_stub_;
  std::unique_ptr<cv1::CheckinService::Stub> checkin_stub_;
  std::vector<std::unique_ptr<wv1::WebhookService::Stub>> webhook_stubs_;
  std::string org_, coordinator_, supervisor_, consenting_, withholding_;
};

using Fields = std::map<std::string, std::string>;

// The organisation's delivery records by key.
std::map<std::string, Fields> DeliveryRecords(const ServiceRedis& nodes, RedisClient& redis,
                                              const std::string& org) {
  std::map<std::string, Fields> records;
  for (const std::string& key : nodes.Keys(absl::StrCat("pw:{", org, "}:webhooks:delivery:*"))) {
    auto fields = redis.Execute({"HGETALL", key});
    EXPECT_TRUE(fields.ok()) << fields.status();
    if (!fields.ok()) continue;
    for (size_t i = 0; i + 1 < fields->elements.size(); i += 2) {
      records[key][fields->elements[i].str] = fields->elements[i + 1].str;
    }
  }
  return records;
}

// Every organisation's queued deliveries.
std::set<std::string> Due(const ServiceRedis& nodes, RedisClient& redis) {
  std::set<std::string> members;
  for (const std::string& schedule : nodes.Keys("pw:{*}:webhooks:due")) {
    auto due = redis.Execute({"ZRANGE", schedule, "0", "-1"});
    EXPECT_TRUE(due.ok()) << due.status();
    if (!due.ok()) continue;
    for (const RedisReply& member : due->elements) members.insert(member.str);
  }
  return members;
}

// Every key this service may write (its organisation's, its platform-wide ones, an event stream
// of its own) and its value, as plain text.
std::string WebhooksRedisText(const ServiceRedis& nodes, RedisClient& redis,
                              const std::string& org) {
  std::string text;
  auto append = [&](const RedisReply& reply, auto& self) -> void {
    absl::StrAppend(&text, reply.str, "\n");
    for (const RedisReply& element : reply.elements) self(element, self);
  };
  for (const std::string& match :
       {absl::StrCat("pw:{", org, "}:webhooks:*"), std::string("pw:webhooks:*"),
        absl::StrCat("pw:{", org, "}:events:webhooks*")}) {
    for (const std::string& key : nodes.Keys(match)) {
      absl::StrAppend(&text, key, "\n");
      auto type = redis.Execute({"TYPE", key});
      if (!type.ok()) continue;
      RedisCommand read;
      if (type->str == "string") read = {"GET", key};
      if (type->str == "hash") read = {"HGETALL", key};
      if (type->str == "zset") read = {"ZRANGE", key, "0", "-1"};
      if (type->str == "set") read = {"SMEMBERS", key};
      if (type->str == "list") read = {"LRANGE", key, "0", "-1"};
      if (type->str == "stream") read = {"XRANGE", key, "-", "+"};
      EXPECT_FALSE(read.empty()) << key << " is a " << type->str;
      if (read.empty()) continue;
      auto value = redis.Execute(read);
      if (value.ok()) append(*value, append);
    }
  }
  return text;
}

std::pair<uint64_t, uint64_t> StreamIdOf(const std::string& id) {
  std::pair<uint64_t, uint64_t> parsed{0, 0};
  std::vector<std::string> parts = absl::StrSplit(id, '-');
  if (parts.size() == 2) {
    (void)absl::SimpleAtoi(parts[0], &parsed.first);
    (void)absl::SimpleAtoi(parts[1], &parsed.second);
  }
  return parsed;
}

// Whether `group` has read `stream` up to `id` and has nothing left unacknowledged.
bool Consumed(RedisClient& redis, const std::string& stream, const std::string& group,
              const std::string& id) {
  auto groups = redis.Execute({"XINFO", "GROUPS", stream});
  if (!groups.ok()) return false;
  for (const RedisReply& info : groups->elements) {
    Fields fields;
    for (size_t i = 0; i + 1 < info.elements.size(); i += 2) {
      const RedisReply& value = info.elements[i + 1];
      fields[info.elements[i].str] = value.str.empty() ? absl::StrCat(value.integer) : value.str;
    }
    if (fields["name"] != group) continue;
    return fields["pending"] == "0" && StreamIdOf(fields["last-delivered-id"]) >= StreamIdOf(id);
  }
  return false;
}

// The fields of the first entry of `stream` that has all of `match`.
std::vector<std::string> EntryFields(RedisClient& redis, const std::string& stream,
                                     const Fields& match) {
  auto entries = redis.Execute({"XRANGE", stream, "-", "+"});
  EXPECT_TRUE(entries.ok()) << entries.status();
  if (!entries.ok()) return {};
  for (const RedisReply& entry : entries->elements) {
    if (entry.elements.size() != 2) continue;
    std::vector<std::string> fields;
    Fields by_name;
    for (size_t i = 0; i + 1 < entry.elements[1].elements.size(); i += 2) {
      fields.push_back(entry.elements[1].elements[i].str);
      fields.push_back(entry.elements[1].elements[i + 1].str);
      by_name[fields[fields.size() - 2]] = fields.back();
    }
    if (std::all_of(match.begin(), match.end(),
                    [&](const auto& field) { return by_name[field.first] == field.second; })) {
      return fields;
    }
  }
  return {};
}

// What a partner's receiver does (docs/PARTNERS.md): recompute the signature over "<t>.<body>"
// and refuse a timestamp older than five minutes.
void ExpectSignedWith(const TestReceiver::Request& request, const std::string& secret) {
  std::string header(request["PeerWell-Signature"]);
  std::vector<std::string> parts = absl::StrSplit(header, ',');
  ASSERT_EQ(parts.size(), 2u) << header;
  ASSERT_TRUE(absl::StartsWith(parts[0], "t=") && absl::StartsWith(parts[1], "v1=")) << header;
  int64_t t = 0;
  ASSERT_TRUE(absl::SimpleAtoi(parts[0].substr(2), &t));
  EXPECT_LT(std::abs(absl::ToUnixSeconds(absl::Now()) - t), 300);
  EXPECT_EQ(parts[1].substr(3),
            absl::BytesToHexString(HmacSha256(secret, absl::StrCat(t, ".", request.body()))));
}

wv1::WebhookEvent Payload(const TestReceiver::Request& request) {
  wv1::WebhookEvent event;
  auto parsed = google::protobuf::util::JsonStringToMessage(request.body(), &event);
  EXPECT_TRUE(parsed.ok()) << parsed.message() << ": " << request.body();
  return event;
}

TEST_F(WebhooksFlowTest, AReceiverAnswering500TwiceGetsTheEventThreeTimesSignedAndLogged) {
  TestReceiver receiver({500, 500, 200});
  // Named, not bound: Clang 14 lets no lambda capture a structured binding.
  std::string key, key_id;
  std::tie(key, key_id) = NewKey({"webhooks:manage"});
  wv1::CreateWebhookResponse created = CreateWebhook(key, receiver, {"alert.triggered"});
  ASSERT_TRUE(absl::StartsWith(created.secret(), "whsec_"));
  EXPECT_EQ(created.webhook().event_types_size(), 1);
  // First a volunteer who has not agreed to partners receiving anything about them.
  ReportIncident(withholding_);
  ReportIncident(consenting_);

  ASSERT_TRUE(WaitFor([&] { return receiver.requests().size() >= 3; }, absl::Seconds(20)));
  auto requests = receiver.requests();
  std::string event_id(requests[0]["PeerWell-Event-Id"]);
  EXPECT_TRUE(absl::StartsWith(event_id, "evt_"));
  for (const auto& request : requests) {
    EXPECT_EQ(request["PeerWell-Event-Id"], event_id);  // for the receiver to deduplicate
    EXPECT_EQ(request["PeerWell-Event-Type"], "alert.triggered");
    EXPECT_EQ(request.target(), "/peerwell");
    ExpectSignedWith(request, created.secret());
    EXPECT_EQ(request.body(), requests[0].body());
    // Ids, pseudonyms and facts; never a person's id, name or what they wrote.
    EXPECT_THAT(std::string(request.body()), ::testing::Not(::testing::HasSubstr(consenting_)));
    EXPECT_THAT(std::string(request.body()), ::testing::Not(::testing::HasSubstr("Private")));
  }
  wv1::WebhookEvent payload = Payload(requests[0]);
  EXPECT_EQ(payload.event_id(), event_id);
  EXPECT_EQ(payload.event_type(), "alert.triggered");
  EXPECT_EQ(payload.alert().rule_id(), "critical_incident");
  EXPECT_EQ(payload.alert().priority(), alerts::v1::PRIORITY_CRITICAL);
  EXPECT_TRUE(absl::StartsWith(payload.alert().volunteer_pseudonym(), "v-"));

  // Three attempts, newest first; only the failed ones name a next attempt.
  std::vector<wv1::WebhookDelivery> log;
  ASSERT_TRUE(WaitFor([&] {
    log = Deliveries(key, created.webhook().webhook_id());
    return log.size() >= 3;
  }));
  ASSERT_EQ(log.size(), 3u);  // nothing for the volunteer who withheld consent
  std::vector<int> statuses, attempts;
  for (const auto& delivery : log) {
    statuses.push_back(delivery.http_status());
    attempts.push_back(delivery.attempt());
    EXPECT_EQ(delivery.event_id(), event_id);
    EXPECT_EQ(delivery.event_type(), "alert.triggered");
    EXPECT_TRUE(delivery.has_attempt_time());
    EXPECT_EQ(delivery.has_next_attempt_time(), delivery.http_status() != 200);
  }
  EXPECT_THAT(statuses, ::testing::ElementsAre(200, 500, 500));
  EXPECT_THAT(attempts, ::testing::ElementsAre(3, 2, 1));
  // Backoff: the second retry waited longer than the first's shortest delay.
  auto at = [&](int i) { return absl::FromUnixSeconds(log[i].attempt_time().seconds()) +
                                absl::Nanoseconds(log[i].attempt_time().nanos()); };
  EXPECT_GE(at(1) - at(2), absl::Milliseconds(100));
  EXPECT_GE(at(0) - at(1), absl::Milliseconds(200));
  EXPECT_EQ(receiver.requests().size(), 3u);
}

TEST_F(WebhooksFlowTest, OnlyKeysWithTheScopeManageWebhooksAndEachSeesOnlyItsOwn) {
  TestReceiver receiver({200});
  auto [reader, reader_id] = NewKey({"aggregates:read"});
  wv1::CreateWebhookRequest request;
  request.set_url(absl::StrCat("http://127.0.0.1:", receiver.port(), "/"));
  request.add_event_types("alert.resolved");
  wv1::CreateWebhookResponse response;
  EXPECT_EQ(webhook_stubs_[0]->CreateWebhook(WithKey(reader).get(), request, &response).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(webhook_stubs_[0]->CreateWebhook(As(Coordinator()).get(), request, &response).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(webhook_stubs_[0]->CreateWebhook(As("").get(), request, &response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);

  // Named, not bound: Clang 14 lets no lambda capture a structured binding.
  std::string key, key_id;
  std::tie(key, key_id) = NewKey({"webhooks:manage"});
  auto invalid = [&](const std::string& url, const std::string& type, const std::string& field) {
    wv1::CreateWebhookRequest bad;
    bad.set_url(url);
    bad.add_event_types(type);
    grpc::Status status = webhook_stubs_[0]->CreateWebhook(WithKey(key).get(), bad, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << url << " " << type;
    EXPECT_THAT(status.error_message(), ::testing::StartsWith(field));
  };
  invalid("ftp://partner.example/hook", "alert.resolved", "url");
  invalid("https://user:pw@partner.example/hook", "alert.resolved", "url");
  invalid("https://partner.example/hook", "alert.deleted", "event_types");
  // Where the operator has not allowed them, addresses inside are refused, as is plain http.
  StartWebhooksReplica(/*allow_private=*/false);
  for (const std::string url : {"https://127.0.0.1/hook", "https://10.1.2.3/hook",
                                "https://[::ffff:169.254.169.254]/latest", "https://localhost/",
                                "http://partner.example/hook"}) {
    wv1::CreateWebhookRequest inside;
    inside.set_url(url);
    inside.add_event_types("alert.resolved");
    grpc::Status status = webhook_stubs_.back()->CreateWebhook(WithKey(key).get(), inside, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << url;
    EXPECT_THAT(status.error_message(), ::testing::StartsWith("url")) << url;
  }
  wv1::ListWebhooksResponse listed;
  ASSERT_TRUE(webhook_stubs_[0]->ListWebhooks(WithKey(key).get(), {}, &listed).ok());
  EXPECT_EQ(listed.webhooks_size(), 0);  // nothing stored from bad input

  wv1::CreateWebhookResponse mine = CreateWebhook(key, receiver, {"alert.resolved"});
  auto [other, other_id] = NewKey({"webhooks:manage"});
  ASSERT_TRUE(webhook_stubs_[0]->ListWebhooks(WithKey(other).get(), {}, &listed).ok());
  EXPECT_EQ(listed.webhooks_size(), 0);
  wv1::DeleteWebhookRequest remove;
  remove.set_webhook_id(mine.webhook().webhook_id());
  wv1::DeleteWebhookResponse removed;
  EXPECT_EQ(webhook_stubs_[0]->DeleteWebhook(WithKey(other).get(), remove, &removed).error_code(),
            grpc::StatusCode::NOT_FOUND);
  wv1::ListWebhookDeliveriesRequest deliveries;
  deliveries.set_webhook_id(mine.webhook().webhook_id());
  wv1::ListWebhookDeliveriesResponse log;
  EXPECT_EQ(webhook_stubs_[0]
                ->ListWebhookDeliveries(WithKey(other).get(), deliveries, &log)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  ASSERT_TRUE(webhook_stubs_[0]->ListWebhooks(WithKey(key).get(), {}, &listed).ok());
  ASSERT_EQ(listed.webhooks_size(), 1);
  EXPECT_EQ(listed.webhooks(0).url(), mine.webhook().url());
  EXPECT_TRUE(webhook_stubs_[0]->DeleteWebhook(WithKey(key).get(), remove, &removed).ok());
  EXPECT_EQ(webhook_stubs_[0]->DeleteWebhook(WithKey(key).get(), remove, &removed).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(WebhooksFlowTest, PseudonymsDifferBetweenKeysAndARevokedKeysWebhooksGo) {
  TestReceiver first({200}), second({200});
  auto [key_a, id_a] = NewKey({"webhooks:manage"});
  auto [key_b, id_b] = NewKey({"webhooks:manage"});
  CreateWebhook(key_a, first, {"alert.triggered"});
  wv1::CreateWebhookResponse b = CreateWebhook(key_b, second, {"alert.triggered"});
  ReportIncident(consenting_);
  ASSERT_TRUE(WaitFor(
      [&] { return !first.requests().empty() && !second.requests().empty(); },
      absl::Seconds(20)));
  std::string pseudonym_a = Payload(first.requests()[0]).alert().volunteer_pseudonym();
  std::string pseudonym_b = Payload(second.requests()[0]).alert().volunteer_pseudonym();
  EXPECT_TRUE(absl::StartsWith(pseudonym_a, "v-"));
  EXPECT_TRUE(absl::StartsWith(pseudonym_b, "v-"));
  EXPECT_NE(pseudonym_a, pseudonym_b);
  EXPECT_EQ(first.requests()[0]["PeerWell-Event-Id"], second.requests()[0]["PeerWell-Event-Id"]);

  dv1::RevokeApiKeyRequest revoke;
  revoke.set_api_key_id(id_b);
  dv1::RevokeApiKeyResponse revoked;
  ASSERT_TRUE(directory_stub_->RevokeApiKey(As(Coordinator()).get(), revoke, &revoked).ok());
  RedisClient redis(RedisOptions{redis_.address()});
  EXPECT_TRUE(WaitFor([&] {
    auto exists = redis.Execute(
        {"EXISTS", absl::StrCat("pw:{", org_, "}:webhooks:webhook:", b.webhook().webhook_id())});
    return exists.ok() && exists->integer == 0;
  }));
}

TEST_F(WebhooksFlowTest, AReplicaKilledMidDeliveryLosesNoEvent) {
  // The first attempt is held open by the receiver while its sender is killed.
  TestReceiver receiver({TestReceiver::kHold, 200});
  // Named, not bound: Clang 14 lets no lambda capture a structured binding.
  std::string key, key_id;
  std::tie(key, key_id) = NewKey({"webhooks:manage"});
  wv1::CreateWebhookResponse created =
      CreateWebhook(key, receiver, {"alert.triggered", "alert.updated"});
  ReportIncident(consenting_);
  ASSERT_TRUE(WaitFor([&] { return receiver.requests().size() == 1; }, absl::Seconds(20)));
  webhooks_[0]->Signal(SIGKILL);
  ASSERT_TRUE(webhooks_[0]->WaitForExit(absl::Seconds(5)).has_value());
  // Queued while no replica runs: it waits in the consumer group.
  ReportIncident(consenting_);
  StartWebhooksReplica();

  // The held attempt's lease runs out (the attempt timeout and ten seconds), and the new replica
  // sends it again with the same event id; the second event comes too.
  ASSERT_TRUE(WaitFor([&] { return receiver.requests().size() >= 3; }, absl::Seconds(30)));
  std::set<std::string> events;
  for (const auto& request : receiver.requests()) {
    events.insert(std::string(request["PeerWell-Event-Id"]));
  }
  EXPECT_EQ(events.size(), 2u);
  EXPECT_TRUE(events.count(std::string(receiver.requests()[0]["PeerWell-Event-Id"])));
  std::vector<wv1::WebhookDelivery> log;
  ASSERT_TRUE(WaitFor([&] {
    log = Deliveries(key, created.webhook().webhook_id());
    int delivered = 0;
    for (const auto& delivery : log) delivered += delivery.http_status() == 200;
    return delivered == 2;
  }));
}

// The suite's own alerting rules watch every consumer group's backlog, this service's too.
TEST_F(WebhooksFlowTest, ItsConsumerGroupsBacklogsAreGauges) {
  std::string metrics;
  EXPECT_TRUE(WaitFor([&] {
    metrics = peerwell::testing::HttpGet(last_metrics_port_, "/metrics");
    return absl::StrContains(metrics, "peerwell_event_consumer_pending{group=\"webhooks\","
                                      "stream=\"pw:events:alerts\"}") &&
           absl::StrContains(metrics, "peerwell_event_consumer_lag{group=\"webhooks\","
                                      "stream=\"pw:events:directory\"}");
  })) << metrics;
}

TEST_F(WebhooksFlowTest, TwoReplicasSendEachEventOnce) {
  StartWebhooksReplica();
  TestReceiver receiver({200});
  // Named, not bound: Clang 14 lets no lambda capture a structured binding.
  std::string key, key_id;
  std::tie(key, key_id) = NewKey({"webhooks:manage"});
  wv1::CreateWebhookResponse created =
      CreateWebhook(key, receiver, {"alert.triggered", "alert.updated"});
  constexpr int kIncidents = 12;  // one alert triggered, then updated
  for (int i = 0; i < kIncidents; ++i) ReportIncident(consenting_);
  std::vector<wv1::WebhookDelivery> log;
  ASSERT_TRUE(WaitFor(
      [&] {
        log = Deliveries(key, created.webhook().webhook_id());
        return log.size() >= static_cast<size_t>(kIncidents);
      },
      absl::Seconds(30)));
  EXPECT_EQ(log.size(), static_cast<size_t>(kIncidents));
  auto requests = receiver.requests();
  std::set<std::string> events;
  for (const auto& request : requests) events.insert(std::string(request["PeerWell-Event-Id"]));
  EXPECT_EQ(requests.size(), static_cast<size_t>(kIncidents));
  EXPECT_EQ(events.size(), static_cast<size_t>(kIncidents));
}

// The consumer reads a batch's organisations' webhooks together: each event still reaches its
// own organisation's webhooks, whatever else shares its batch (another organisation's events, an
// entry that is not an alert event).
TEST_F(WebhooksFlowTest, EventsOfManyOrganisationsInOneBatchEachReachTheirOwnWebhooks) {
  TestReceiver receiver({200});
  std::string key, key_id;
  std::tie(key, key_id) = NewKey({"webhooks:manage"});
  CreateWebhook(key, receiver, {"alert.triggered"});
  const std::string now = absl::FormatTime(absl::RFC3339_full, absl::Now(), absl::UTCTimeZone());
  auto event = [&](const std::string& organization, const std::string& alert) -> RedisCommand {
    return {"XADD",
            EventStreamKey("alerts", organization),
            "*",
            "type",
            "alert.triggered",
            "organization_id",
            organization,
            "alert_id",
            alert,
            "volunteer_id",
            consenting_,
            "rule_id",
            "critical_incident",
            "priority",
            "4",
            "occur_time",
            now};
  };
  RedisClient redis(RedisOptions{redis_.address()});
  auto doorbell = [](const std::string& organization) -> RedisCommand {
    return {"PUBLISH", EventChannel("alerts"), organization};
  };
  // One write, so that the consumer reads them as one batch.
  auto published =
      redis.ExecuteAll({event(org_, "a00000000000000000011"),
                        event("o00000000000000000099", "a00000000000000000012"),
                        {"XADD", EventStreamKey("alerts", org_), "*", "type", "alert.triggered"},
                        event("o00000000000000000098", "a00000000000000000013"),
                        event(org_, "a00000000000000000014"),
                        doorbell(org_),
                        doorbell("o00000000000000000099"),
                        doorbell("o00000000000000000098")});
  ASSERT_TRUE(published.ok()) << published.status();
  ASSERT_TRUE(WaitFor([&] { return receiver.requests().size() >= 2; }, absl::Seconds(20)));
  std::set<std::string> delivered;
  for (const auto& request : receiver.requests()) {
    delivered.insert(Payload(request).alert().alert_id());
  }
  EXPECT_EQ(delivered, (std::set<std::string>{"a00000000000000000011", "a00000000000000000014"}));
}

// GDPR art. 17: a volunteer's alert events still on their way to partners are dropped unsent when
// the volunteer is erased; another volunteer's stay queued, unchanged, and are delivered.
TEST_F(WebhooksFlowTest, ErasingAVolunteerDropsTheirQueuedDeliveriesUnsent) {
  TestReceiver receiver_a({200}), receiver_b({200});
  std::string key_a, id_a, key_b, id_b;
  std::tie(key_a, id_a) = NewKey({"webhooks:manage"});
  std::tie(key_b, id_b) = NewKey({"webhooks:manage"});
  const std::string a =
      CreateWebhook(key_a, receiver_a, {"alert.triggered"}).webhook().webhook_id();
  const std::string b =
      CreateWebhook(key_b, receiver_b, {"alert.triggered"}).webhook().webhook_id();
  // Meanwhile only a replica that may not reach loopback sends: each attempt fails before it
  // connects, so the deliveries stay queued and are retried.
  StopWebhooksReplica(0);
  StartWebhooksReplica(/*allow_private=*/false);
  const std::string v = consenting_;
  const std::string w = CreateVolunteer(/*research_export=*/true);
  ReportIncident(v);
  ReportIncident(w);

  // Each volunteer as each webhook's key knows them, by webhook id.
  auto pseudonymizer = HmacPseudonymizer::FromBase64(peerwell::testing::kTestPseudonymKey);
  ASSERT_TRUE(pseudonymizer.ok()) << pseudonymizer.status();
  auto seen = [&](const std::string& volunteer) {
    return Fields{{a, VolunteerPseudonym(*pseudonymizer, id_a, volunteer)},
                  {b, VolunteerPseudonym(*pseudonymizer, id_b, volunteer)}};
  };
  const Fields v_seen = seen(v), w_seen = seen(w);
  RedisClient redis(RedisOptions{redis_.address()});
  std::map<std::string, Fields> queued;
  // Both events for both webhooks, each attempted at least once.
  ASSERT_TRUE(WaitFor(
      [&] {
        queued = DeliveryRecords(redis_, redis, org_);
        return queued.size() == 4 &&
               std::all_of(queued.begin(), queued.end(), [](const auto& record) {
                 auto attempts = record.second.find("attempts");
                 return record.second.count("body") && attempts != record.second.end() &&
                        attempts->second != "0";
               });
      },
      absl::Seconds(20)));
  std::map<std::string, Fields> w_deliveries;
  std::vector<std::string> about_v = {v, v_seen.at(a), v_seen.at(b)};
  for (const auto& [key, record] : queued) {
    const std::string& body = record.at("body");
    if (absl::StrContains(body, w_seen.at(record.at("webhook_id")))) {
      w_deliveries[key] = record;
      continue;
    }
    ASSERT_TRUE(absl::StrContains(body, v_seen.at(record.at("webhook_id")))) << body;
    wv1::WebhookEvent event;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(body, &event).ok()) << body;
    about_v.push_back(event.alert().alert_id());
    about_v.push_back(key);
  }
  ASSERT_EQ(w_deliveries.size(), 2u);
  EXPECT_TRUE(receiver_a.requests().empty());
  EXPECT_TRUE(receiver_b.requests().empty());
  auto webhooks_of = [&](const std::string& key) {
    wv1::ListWebhooksResponse listed;
    EXPECT_TRUE(webhook_stubs_.back()->ListWebhooks(WithKey(key).get(), {}, &listed).ok());
    return listed.SerializeAsString();
  };
  const std::string webhooks_a = webhooks_of(key_a), webhooks_b = webhooks_of(key_b);

  const std::string erasure = Erase(v);
  ASSERT_TRUE(WaitFor([&] { return WebhooksErased(erasure); }, absl::Seconds(20)));
  // W's deliveries are still queued, as they were; V's are gone, from the schedule too, and
  // nothing of this service's names V any longer (the delivery log keeps the attempts: event
  // ids and statuses).
  auto expect_only_w_queued = [&] {
    std::map<std::string, Fields> left = DeliveryRecords(redis_, redis, org_);
    ASSERT_EQ(left.size(), w_deliveries.size());
    for (const auto& [key, record] : w_deliveries) {
      ASSERT_TRUE(left.count(key)) << key;
      for (const char* field : {"webhook_id", "event_id", "event_type", "body"}) {
        EXPECT_EQ(left[key][field], record.at(field)) << key << " " << field;
      }
    }
    std::set<std::string> w_keys;
    for (const auto& delivery : w_deliveries) w_keys.insert(delivery.first);
    EXPECT_EQ(Due(redis_, redis), w_keys);
    std::string text = WebhooksRedisText(redis_, redis, org_);
    for (const std::string& named : about_v) EXPECT_FALSE(absl::StrContains(text, named)) << named;
    EXPECT_EQ(webhooks_of(key_a), webhooks_a);
    EXPECT_EQ(webhooks_of(key_b), webhooks_b);
  };
  expect_only_w_queued();
  // This service publishes no events of its own, so none can name V.
  auto streams = redis.Execute({"EXISTS", EventStreamKey("webhooks", org_),
                                DeadLetterStreamKey(EventStreamKey("webhooks", org_))});
  ASSERT_TRUE(streams.ok());
  EXPECT_EQ(streams->integer, 0);

  // The directory announces an unfinished erasure again: the same event, erased again, changes
  // nothing (and is reported again).
  std::vector<std::string> announcement = EntryFields(
      redis, EventStreamKey("directory", org_), {{"type", "person.erased"}, {"person_id", v}});
  ASSERT_FALSE(announcement.empty());
  RedisCommand again{"XADD", EventStreamKey("directory", org_), "*"};
  again.insert(again.end(), announcement.begin(), announcement.end());
  auto announced = redis.Transaction({again, {"PUBLISH", EventChannel("directory"), org_}});
  ASSERT_TRUE(announced.ok());
  const std::string announced_id = (*announced)[0].str;
  ASSERT_TRUE(WaitFor([&] {
    return Consumed(redis, EventStreamKey("directory", org_), "webhooks", announced_id);
  }));
  expect_only_w_queued();
  // A volunteer this service never queued anything about (they share nothing with partners):
  // erased too, and nothing changes.
  const std::string unknown = Erase(withholding_);
  ASSERT_TRUE(WaitFor([&] { return WebhooksErased(unknown); }, absl::Seconds(20)));
  expect_only_w_queued();
  // An alert event about V read after the erasure queues nothing: the directory no longer knows
  // V. (The alerts service, erasing V again, may delete it first.)
  const std::string alert_events = EventStreamKey("alerts", org_);
  auto late = redis.Transaction(
      {{"XADD", alert_events, "*", "type", "alert.triggered", "organization_id", org_, "alert_id",
        "a00000000000000000001", "volunteer_id", v, "rule_id", "critical_incident", "priority", "4",
        "occur_time", absl::FormatTime(absl::RFC3339_full, absl::Now(), absl::UTCTimeZone())},
       {"PUBLISH", EventChannel("alerts"), org_}});
  ASSERT_TRUE(late.ok());
  const std::string late_id = (*late)[0].str;
  ASSERT_TRUE(WaitFor([&] {
    auto entry = redis.Execute({"XRANGE", alert_events, late_id, late_id});
    return Consumed(redis, alert_events, "webhooks", late_id) ||
           (entry.ok() && entry->elements.empty());
  }));
  expect_only_w_queued();

  // Once a replica may reach the receivers, W's events are delivered, and nothing about V.
  StopWebhooksReplica(1);
  StartWebhooksReplica(/*allow_private=*/true);
  ASSERT_TRUE(WaitFor(
      [&] {
        return !receiver_a.requests().empty() && !receiver_b.requests().empty() &&
               Due(redis_, redis).empty();
      },
      absl::Seconds(30)));
  for (const auto& [receiver, webhook] : {std::pair{&receiver_a, a}, std::pair{&receiver_b, b}}) {
    auto requests = receiver->requests();
    ASSERT_EQ(requests.size(), 1u);
    std::string body(requests[0].body());
    EXPECT_TRUE(absl::StrContains(body, w_seen.at(webhook))) << body;
    for (const std::string& named : about_v) EXPECT_FALSE(absl::StrContains(body, named)) << named;
  }
}

}  // namespace
}  // namespace peerwell
