// The gateway as clients on the internet meet it: the real binaries of the whole suite, a real
// redis-server, and HTTP/1.1 over loopback.
#include <signal.h>

#include <memory>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "peerwell/directory/v1/directory.pb.h"
#include "services/common/auth.h"
#include "services/gateway/connect.h"
#include "tests/gateway/http_test_client.h"
#include "tests/testing/local_suite.h"
#include "tests/testing/process.h"
#include "tests/testing/wait.h"

namespace peerwell {
namespace {

using ::peerwell::testing::HttpTestClient;
using ::peerwell::testing::JsonString;
using ::peerwell::testing::LocalSuite;
using ::peerwell::testing::WaitFor;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kPartnerOrigin[] = "https://partner.example.org";
constexpr int kStreamsPerCredential = 2;

class GatewayHttpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto suite = LocalSuite::Start(
        {.binaries = PEERWELL_BUILD_DIR,
         .replicas = 1,
         .env = {{"PEERWELL_HTTP_READ_TIMEOUT", "500ms"},
                 {"PEERWELL_HTTP_IDLE_TIMEOUT", "1s"},
                 {"PEERWELL_HTTP_MAX_BODY_BYTES", "65536"},
                 {"PEERWELL_HTTP_MAX_HEADER_BYTES", "8192"},
                 {"PEERWELL_MAX_STREAMS_PER_CREDENTIAL", absl::StrCat(kStreamsPerCredential)},
                 {"PEERWELL_CORS_ALLOWED_ORIGINS", kPartnerOrigin}}});
    ASSERT_TRUE(suite.ok()) << suite.status();
    suite_ = suite->release();
    port_ = suite_->gateway_port();

    // The organisation and its people are made through the gateway, as a partner's script would.
    HttpTestClient client(port_);
    auto org = client.Unary("/peerwell.directory.v1.DirectoryService/CreateOrganization",
                            Token(CallerRole::kAdmin, "operator", ""),
                            R"({"displayName":"Gateway test org"})");
    ASSERT_TRUE(org.has_value());
    ASSERT_EQ(org->status, 200) << org->body;
    org_ = new std::string(JsonString(org->body, "organizationId"));
    auto create = [&](const std::string& role, const std::string& name,
                      const std::string& token) {
      auto person = client.Unary(
          "/peerwell.directory.v1.DirectoryService/CreatePerson", token,
          absl::StrCat(R"({"person":{"displayName":")", name, R"(","role":")", role,
                       R"(","timezone":"Europe/London"}})"));
      EXPECT_TRUE(person.has_value() && person->status == 200) << (person ? person->body : "");
      return person ? JsonString(person->body, "personId") : std::string();
    };
    coordinator_ = new std::string(
        create("ROLE_COORDINATOR", "Cora", Token(CallerRole::kAdmin, "operator", *org_)));
    std::string coordinator_token = Token(CallerRole::kCoordinator, *coordinator_, *org_);
    supervisor_ = new std::string(create("ROLE_SUPERVISOR", "Sam", coordinator_token));
    volunteer_ = new std::string(create("ROLE_VOLUNTEER", "Vic", coordinator_token));
    auto assigned = client.Unary("/peerwell.directory.v1.DirectoryService/AssignSupervisor",
                                 coordinator_token,
                                 absl::StrCat(R"({"volunteerId":")", *volunteer_,
                                              R"(","supervisorId":")", *supervisor_, R"("})"));
    ASSERT_TRUE(assigned.has_value() && assigned->status == 200);
  }

  static void TearDownTestSuite() {
    delete suite_;
    delete org_;
    delete coordinator_;
    delete supervisor_;
    delete volunteer_;
  }

  static std::string Token(CallerRole role, const std::string& subject, const std::string& org) {
    return MintToken(suite_->jwt_secret(), {subject, org, role, absl::Hours(1)}, absl::Now());
  }
  static std::string SupervisorToken() {
    return Token(CallerRole::kSupervisor, *supervisor_, *org_);
  }
  static std::string VolunteerToken() { return Token(CallerRole::kVolunteer, *volunteer_, *org_); }
  static std::string CoordinatorToken() {
    return Token(CallerRole::kCoordinator, *coordinator_, *org_);
  }

  static void ExpectSecurityHeaders(const HttpTestClient::Response& response) {
    EXPECT_THAT(response.Header("content-security-policy"), HasSubstr("default-src 'none'"));
    EXPECT_THAT(response.Header("content-security-policy"), HasSubstr("frame-ancestors 'none'"));
    EXPECT_EQ(response.Header("x-content-type-options"), "nosniff");
    EXPECT_EQ(response.Header("x-frame-options"), "DENY");
    EXPECT_EQ(response.Header("referrer-policy"), "no-referrer");
  }

  static std::string Metrics() {
    return testing::HttpGet(suite_->service("gateway").metrics_port, "/metrics");
  }

  static void ReportIncident() {
    HttpTestClient client(port_);
    auto reported = client.Unary(
        "/peerwell.checkin.v1.CheckinService/ReportCriticalIncident", VolunteerToken(),
        absl::StrCat(R"({"incidentType":"INCIDENT_TYPE_SUICIDE_DISCLOSURE","occurTime":")",
                     absl::FormatTime(absl::RFC3339_sec, absl::Now() - absl::Minutes(5),
                                      absl::UTCTimeZone()),
                     R"("})"));
    ASSERT_TRUE(reported.has_value());
    ASSERT_EQ(reported->status, 200) << reported->body;
  }

  static inline LocalSuite* suite_ = nullptr;
  static inline int port_ = 0;
  static inline std::string* org_ = nullptr;
  static inline std::string* coordinator_ = nullptr;
  static inline std::string* supervisor_ = nullptr;
  static inline std::string* volunteer_ = nullptr;
};

TEST_F(GatewayHttpTest, UnaryCallsTravelAsProtobufJson) {
  HttpTestClient client(port_);
  auto got = client.Unary("/peerwell.directory.v1.DirectoryService/GetPerson", SupervisorToken(),
                          absl::StrCat(R"({"personId":")", *volunteer_, R"("})"));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->status, 200);
  EXPECT_EQ(got->Header("content-type"), "application/json");
  directory::v1::GetPersonResponse response;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(got->body, &response).ok()) << got->body;
  EXPECT_EQ(response.person().display_name(), "Vic");
  EXPECT_EQ(response.person().role(), directory::v1::ROLE_VOLUNTEER);
  ExpectSecurityHeaders(*got);
  EXPECT_EQ(got->Header("cache-control"), "no-store");

  // The same call in protobuf's binary encoding, as Connect clients may send it.
  directory::v1::GetPersonRequest request;
  request.set_person_id(*volunteer_);
  auto binary = client.Exchange("POST", "/peerwell.directory.v1.DirectoryService/GetPerson",
                                {{"Content-Type", "application/proto"},
                                 {"Authorization", "Bearer " + SupervisorToken()}},
                                request.SerializeAsString());
  ASSERT_TRUE(binary.has_value());
  EXPECT_EQ(binary->status, 200);
  EXPECT_EQ(binary->Header("content-type"), "application/proto");
  directory::v1::GetPersonResponse decoded;
  ASSERT_TRUE(decoded.ParseFromString(binary->body));
  EXPECT_EQ(decoded.person().display_name(), "Vic");
}

TEST_F(GatewayHttpTest, ErrorsAreConnectErrorBodiesWithTheProtocolsHttpStatus) {
  HttpTestClient client(port_);
  struct Case {
    std::string token;
    std::string body;
    int status;
    std::string code;
  };
  const std::string get_person = "/peerwell.directory.v1.DirectoryService/GetPerson";
  for (const Case& c : {
           Case{SupervisorToken(), R"({"personId":"not an id"})", 400, "invalid_argument"},
           Case{SupervisorToken(), R"({"personId":"p0000000000000000000a"})", 404, "not_found"},
           Case{"not-a-token", R"({"personId":"p0000000000000000000a"})", 401,
                "unauthenticated"},
           Case{SupervisorToken(), R"({"personId": 7, )", 400, "invalid_argument"},
           Case{SupervisorToken(), R"({"nickname":"x"})", 400, "invalid_argument"},
       }) {
    auto answer = client.Unary(get_person, c.token, c.body);
    ASSERT_TRUE(answer.has_value()) << c.body;
    EXPECT_EQ(answer->status, c.status) << c.body << " -> " << answer->body;
    EXPECT_EQ(answer->Header("content-type"), "application/json");
    EXPECT_EQ(JsonString(answer->body, "code"), c.code) << answer->body;
    ExpectSecurityHeaders(*answer);
  }
  auto denied = client.Unary("/peerwell.directory.v1.DirectoryService/AssignSupervisor",
                             VolunteerToken(),
                             absl::StrCat(R"({"volunteerId":")", *volunteer_,
                                          R"(","supervisorId":")", *supervisor_, R"("})"));
  ASSERT_TRUE(denied.has_value());
  EXPECT_EQ(denied->status, 403);
  EXPECT_EQ(JsonString(denied->body, "code"), "permission_denied");

  // The message names the field at fault.
  auto unknown = client.Unary(get_person, SupervisorToken(), R"({"nickname":"x"})");
  ASSERT_TRUE(unknown.has_value());
  EXPECT_THAT(unknown->body, HasSubstr("nickname"));

  // No route, the wrong verb, the wrong content type.
  auto missing = client.Unary("/peerwell.directory.v1.DirectoryService/Nope", SupervisorToken(),
                              "{}");
  ASSERT_TRUE(missing.has_value());
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(JsonString(missing->body, "code"), "unimplemented");
  auto get = client.Exchange("GET", get_person, {});
  ASSERT_TRUE(get.has_value());
  EXPECT_EQ(get->status, 405);
  EXPECT_EQ(get->Header("allow"), "POST");
  auto text = client.Exchange("POST", get_person,
                              {{"Content-Type", "text/plain"},
                               {"Authorization", "Bearer " + SupervisorToken()}},
                              "{}");
  ASSERT_TRUE(text.has_value());
  EXPECT_EQ(text->status, 415);
}

TEST_F(GatewayHttpTest, CredentialsPassThroughAndNoCredentialMeansNoCall) {
  HttpTestClient client(port_);
  const std::string path = "/peerwell.directory.v1.DirectoryService/ListPeople";
  auto none = client.Unary(path, "", "{}");
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(none->status, 401);
  EXPECT_THAT(none->body, HasSubstr("credentials required"));

  // An API key reaches the directory as it came: the directory, not the gateway, refuses it.
  auto key = client.Exchange("POST", path,
                             {{"Content-Type", "application/json"}, {"x-api-key", "pk_bogus"}},
                             "{}");
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(key->status, 401);
  EXPECT_THAT(key->body, Not(HasSubstr("credentials required")));

  // Bytes gRPC would refuse in metadata are refused here, and the gateway keeps serving.
  for (const char* bad : {"Bearer \xff\xfe", "Bearer a\tb"}) {
    HttpTestClient raw(port_);
    auto refused = raw.Exchange("POST", path,
                                {{"Content-Type", "application/json"}, {"Authorization", bad}},
                                "{}");
    ASSERT_TRUE(refused.has_value());
    EXPECT_EQ(refused->status, 401);
    EXPECT_THAT(refused->body, HasSubstr("printable ASCII"));
  }
  auto still = client.Exchange("GET", "/healthz", {});
  ASSERT_TRUE(still.has_value());
  EXPECT_EQ(still->status, 200);

  // A volunteer's token stays a volunteer's: others' profiles come without their details.
  auto listed = client.Unary(path, VolunteerToken(), "{}");
  ASSERT_TRUE(listed.has_value());
  EXPECT_EQ(listed->status, 200);
  auto coordinators = client.Unary(path, CoordinatorToken(), "{}");
  ASSERT_TRUE(coordinators.has_value());
  EXPECT_LT(listed->body.size(), coordinators->body.size());
}

TEST_F(GatewayHttpTest, WatchAlertsStreamsConnectEnvelopesLive) {
  HttpTestClient watcher(port_);
  auto head = watcher.OpenStream("/peerwell.alerts.v1.AlertService/WatchAlerts",
                                 {{"Authorization", "Bearer " + SupervisorToken()}}, "{}");
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->Header("content-type"), "application/connect+json");
  ExpectSecurityHeaders(*head);

  // The head came once the stream was live: an incident reported now arrives.
  ReportIncident();
  std::optional<HttpTestClient::Envelope> event;
  ASSERT_TRUE(WaitFor(
      [&] {
        event = watcher.NextEnvelope(absl::Seconds(1));
        return event.has_value() && absl::StrContains(event->json, "critical_incident");
      },
      absl::Seconds(20)));
  EXPECT_EQ(event->flags, 0);
  EXPECT_THAT(event->json, HasSubstr(*volunteer_));
  EXPECT_FALSE(JsonString(event->json, "resumeToken").empty());
}

TEST_F(GatewayHttpTest, ConnectTimeoutMsBecomesTheServicesDeadline) {
  HttpTestClient client(port_);
  absl::Time opened = absl::Now();
  auto head = client.OpenStream("/peerwell.alerts.v1.AlertService/WatchAlerts",
                                {{"Authorization", "Bearer " + SupervisorToken()},
                                 {"Connect-Timeout-Ms", "400"}},
                                "{}");
  ASSERT_TRUE(head.has_value());
  std::optional<HttpTestClient::Envelope> end;
  ASSERT_TRUE(WaitFor(
      [&] {
        end = client.NextEnvelope(absl::Seconds(1));
        return end.has_value() && (end->flags & gateway::kEndStreamFlag) != 0;
      },
      absl::Seconds(10)));
  EXPECT_GE(absl::Now() - opened, absl::Milliseconds(400));
  EXPECT_EQ(JsonString(end->json, "code"), "deadline_exceeded") << end->json;

  HttpTestClient unary(port_);
  auto bad = unary.Exchange("POST", "/peerwell.directory.v1.DirectoryService/ListPeople",
                             {{"Content-Type", "application/json"},
                              {"Authorization", "Bearer " + SupervisorToken()},
                              {"Connect-Timeout-Ms", "soon"}},
                             "{}");
  ASSERT_TRUE(bad.has_value());
  EXPECT_EQ(bad->status, 400);
  EXPECT_THAT(bad->body, HasSubstr("Connect-Timeout-Ms"));
}

// HTTP/1.0 has no chunked encoding: the stream's messages come as they are and the connection's
// end is the stream's.
TEST_F(GatewayHttpTest, StreamsReachHttp10ClientsUnchunked) {
  HttpTestClient client(port_);
  std::string body = gateway::Envelope(0, "{}");
  ASSERT_TRUE(client.WriteRaw(absl::StrCat(
      "POST /peerwell.alerts.v1.AlertService/WatchAlerts HTTP/1.0\r\n",
      "Content-Type: application/connect+json\r\nConnect-Timeout-Ms: 300\r\n",
      "Authorization: Bearer ", SupervisorToken(), "\r\nContent-Length: ", body.size(),
      "\r\n\r\n", body)));
  std::string received = client.ReadUntilClosed(absl::Seconds(10));
  ASSERT_THAT(received, HasSubstr("HTTP/1.0 200 OK"));
  EXPECT_THAT(received, Not(HasSubstr("chunked")));
  size_t head_end = received.find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos);
  auto end = gateway::ParseEnvelope(absl::string_view(received).substr(head_end + 4), 1 << 20);
  ASSERT_TRUE(end.ok()) << end.status();
  EXPECT_EQ(end->flags, gateway::kEndStreamFlag);
  EXPECT_THAT(end->payload, HasSubstr("deadline_exceeded"));
}

TEST_F(GatewayHttpTest, OpenStreamsPerCredentialAreCapped) {
  const std::string token = CoordinatorToken();
  std::vector<std::unique_ptr<HttpTestClient>> open;
  for (int i = 0; i < kStreamsPerCredential; ++i) {
    open.push_back(std::make_unique<HttpTestClient>(port_));
    auto head = open.back()->OpenStream("/peerwell.alerts.v1.AlertService/WatchAlerts",
                                        {{"Authorization", "Bearer " + token}}, "{}");
    ASSERT_TRUE(head.has_value());
    ASSERT_EQ(head->status, 200);
  }
  // The same token written otherwise is the same credential.
  HttpTestClient one_too_many(port_);
  auto refused = one_too_many.OpenStream("/peerwell.alerts.v1.AlertService/WatchAlerts",
                                         {{"Authorization", "BEARER  " + token}}, "{}");
  ASSERT_TRUE(refused.has_value());
  auto end = one_too_many.NextEnvelope();
  ASSERT_TRUE(end.has_value());
  EXPECT_NE(end->flags & gateway::kEndStreamFlag, 0);
  EXPECT_EQ(JsonString(end->json, "code"), "resource_exhausted");

  // Another credential is not held back by this one's streams.
  HttpTestClient other(port_);
  auto theirs = other.OpenStream("/peerwell.alerts.v1.AlertService/WatchAlerts",
                                 {{"Authorization", "Bearer " + SupervisorToken()}}, "{}");
  ASSERT_TRUE(theirs.has_value());
  EXPECT_EQ(theirs->status, 200);

  // A client that hangs up gives its place back.
  open.front()->Close();
  std::unique_ptr<HttpTestClient> again;
  EXPECT_TRUE(WaitFor(
      [&] {
        again = std::make_unique<HttpTestClient>(port_);
        auto head = again->OpenStream("/peerwell.alerts.v1.AlertService/WatchAlerts",
                                      {{"Authorization", "Bearer " + token}}, "{}");
        return head.has_value() && !again->NextEnvelope(absl::Milliseconds(200)).has_value();
      },
      absl::Seconds(10)));
}

TEST_F(GatewayHttpTest, OversizedBodiesAndHeadsAreRefused) {
  const std::string path = "/peerwell.directory.v1.DirectoryService/ListPeople";
  {
    HttpTestClient client(port_);
    auto big = client.Exchange("POST", path,
                               {{"Content-Type", "application/json"},
                                {"Authorization", "Bearer " + SupervisorToken()}},
                               std::string(65537, ' '));
    ASSERT_TRUE(big.has_value());
    EXPECT_EQ(big->status, 413);
    EXPECT_EQ(JsonString(big->body, "code"), "resource_exhausted");
    ExpectSecurityHeaders(*big);
    EXPECT_TRUE(client.ClosedWithin(absl::Seconds(5)));
  }
  {
    // Without a Content-Length the limit holds too, counted as the chunks arrive.
    HttpTestClient client(port_);
    std::string chunk(32768, ' ');
    std::string request = absl::StrCat(
        "POST ", path, " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n",
        "Transfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 3; ++i) absl::StrAppend(&request, "8000\r\n", chunk, "\r\n");
    client.WriteRaw(request);
    EXPECT_TRUE(client.ClosedWithin(absl::Seconds(5)));
  }
  {
    HttpTestClient client(port_);
    auto huge = client.Exchange("GET", "/healthz", {{"X-Padding", std::string(9000, 'a')}});
    ASSERT_TRUE(huge.has_value());
    EXPECT_EQ(huge->status, 431);
  }
}

TEST_F(GatewayHttpTest, SlowAndIdleClientsAreCutOffWithoutHoldingOthers) {
  // Half a request line, then nothing: closed after the read timeout (500 ms here).
  HttpTestClient stalled(port_);
  ASSERT_TRUE(stalled.WriteRaw("POST /peerwell.directory.v1.DirectoryService/ListPeople HTTP/1.1\r\nHo"));
  // Meanwhile others are served.
  HttpTestClient other(port_);
  auto health = other.Exchange("GET", "/healthz", {});
  ASSERT_TRUE(health.has_value());
  EXPECT_EQ(health->status, 200);
  EXPECT_TRUE(stalled.ClosedWithin(absl::Seconds(5)));

  // One byte at a time, each well inside any per-read timeout: still cut off, because the whole
  // request must arrive within the read timeout.
  HttpTestClient trickle(port_);
  std::string request = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
  request += std::string(200, 'a');
  absl::Time started = absl::Now();
  bool cut = false;
  for (char c : request) {
    if (!trickle.WriteRaw(std::string(1, c), absl::Seconds(1))) {
      cut = true;
      break;
    }
    if (trickle.ClosedWithin(absl::Milliseconds(20))) {
      cut = true;
      break;
    }
  }
  EXPECT_TRUE(cut);
  EXPECT_LT(absl::Now() - started, absl::Seconds(4));

  // A kept-alive connection with nothing more to ask is closed after the idle timeout (1 s).
  HttpTestClient idle(port_);
  auto first = idle.Exchange("GET", "/healthz", {});
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->status, 200);
  EXPECT_TRUE(idle.ClosedWithin(absl::Seconds(5)));
}

TEST_F(GatewayHttpTest, CorsOnlyForAllowlistedOrigins) {
  HttpTestClient client(port_);
  const std::string path = "/peerwell.directory.v1.DirectoryService/ListPeople";
  auto allowed = client.Exchange("OPTIONS", path,
                                 {{"Origin", kPartnerOrigin},
                                  {"Access-Control-Request-Method", "POST"},
                                  {"Access-Control-Request-Headers", "authorization,content-type"}});
  ASSERT_TRUE(allowed.has_value());
  EXPECT_EQ(allowed->status, 204);
  EXPECT_EQ(allowed->Header("access-control-allow-origin"), kPartnerOrigin);
  EXPECT_THAT(allowed->Header("access-control-allow-headers"), HasSubstr("Authorization"));

  auto other = client.Exchange("OPTIONS", path,
                               {{"Origin", "https://evil.example"},
                                {"Access-Control-Request-Method", "POST"}});
  ASSERT_TRUE(other.has_value());
  EXPECT_EQ(other->status, 403);
  EXPECT_EQ(other->Header("access-control-allow-origin"), "");

  auto call = client.Exchange("POST", path,
                              {{"Origin", kPartnerOrigin},
                               {"Content-Type", "application/json"},
                               {"Authorization", "Bearer " + SupervisorToken()}},
                              "{}");
  ASSERT_TRUE(call.has_value());
  EXPECT_EQ(call->Header("access-control-allow-origin"), kPartnerOrigin);
  auto foreign = client.Exchange("POST", path,
                                 {{"Origin", "https://evil.example"},
                                  {"Content-Type", "application/json"},
                                  {"Authorization", "Bearer " + SupervisorToken()}},
                                 "{}");
  ASSERT_TRUE(foreign.has_value());
  EXPECT_EQ(foreign->Header("access-control-allow-origin"), "");
}

// A partner's key reaches what its scopes allow, over Connect and over FHIR alike: the services
// check the scopes, the gateway only translates.
TEST_F(GatewayHttpTest, PartnerKeysGetWhatTheirScopesAllowAsFhirOrConnect) {
  HttpTestClient client(port_);
  auto create_key = [&](const std::string& scope) {
    auto created = client.Unary("/peerwell.directory.v1.DirectoryService/CreateApiKey",
                                CoordinatorToken(),
                                absl::StrCat(R"({"displayName":"Partner )", scope,
                                             R"(","scopes":[")", scope, R"("]})"));
    EXPECT_TRUE(created.has_value() && created->status == 200) << (created ? created->body : "");
    return created ? JsonString(created->body, "secret") : std::string();
  };
  std::string aggregates_key = create_key("aggregates:read");
  std::string exports_key = create_key("exports:read");
  auto get = [&](const std::string& target, const std::string& key) {
    std::map<std::string, std::string> headers;
    if (!key.empty()) headers["x-api-key"] = key;
    auto response = client.Exchange("GET", target, headers);
    EXPECT_TRUE(response.has_value()) << target;
    return response.value_or(HttpTestClient::Response{});
  };

  auto forbidden = get("/fhir/r4/QuestionnaireResponse", aggregates_key);
  EXPECT_EQ(forbidden.status, 403);
  EXPECT_EQ(forbidden.Header("content-type"), "application/fhir+json; charset=utf-8");
  EXPECT_THAT(forbidden.body, HasSubstr(R"("resourceType":"OperationOutcome")"));
  EXPECT_THAT(forbidden.body, HasSubstr(R"("code":"forbidden")"));
  EXPECT_THAT(forbidden.body, HasSubstr("exports:read"));
  ExpectSecurityHeaders(forbidden);
  EXPECT_EQ(get("/fhir/r4/QuestionnaireResponse", "").status, 401);

  auto bundle = get("/fhir/r4/QuestionnaireResponse?_count=10", exports_key);
  EXPECT_EQ(bundle.status, 200) << bundle.body;
  EXPECT_THAT(bundle.body, HasSubstr(R"("resourceType":"Bundle")"));
  EXPECT_THAT(bundle.body, HasSubstr(R"("type":"searchset")"));
  EXPECT_EQ(bundle.Header("cache-control"), "no-store");
  auto bad = get("/fhir/r4/QuestionnaireResponse?_count=1000", exports_key);
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(bad.body, HasSubstr("_count"));

  auto questionnaire = get("/fhir/r4/Questionnaire/who5", exports_key);
  EXPECT_EQ(questionnaire.status, 200) << questionnaire.body;
  EXPECT_THAT(questionnaire.body, HasSubstr(R"("resourceType":"Questionnaire")"));
  EXPECT_THAT(questionnaire.body, HasSubstr("Free to use without permission"));
  EXPECT_EQ(get("/fhir/r4/Questionnaire/nope", exports_key).status, 404);
  EXPECT_EQ(get("/fhir/r4/metadata", "").status, 200);
  auto posted = client.Exchange("POST", "/fhir/r4/metadata", {{"Content-Type", "application/json"}});
  ASSERT_TRUE(posted.has_value());
  EXPECT_EQ(posted->status, 405);

  // The same scopes over Connect.
  auto connect = [&](const std::string& key) {
    auto response = client.Exchange(
        "POST", "/peerwell.checkin.v1.CheckinService/GetAggregates",
        {{"Content-Type", "application/json"}, {"x-api-key", key}},
        R"({"scaleId":"who5","period":"AGGREGATE_PERIOD_MONTH"})");
    EXPECT_TRUE(response.has_value());
    return response.value_or(HttpTestClient::Response{});
  };
  auto denied = connect(exports_key);
  EXPECT_EQ(denied.status, 403);
  EXPECT_THAT(denied.body, HasSubstr("permission_denied"));
  auto cells = connect(aggregates_key);
  EXPECT_EQ(cells.status, 200) << cells.body;
  EXPECT_THAT(cells.body, HasSubstr(R"("suppressed":true)"));

  std::string metrics;
  EXPECT_TRUE(WaitFor(
      [&] {
        metrics = Metrics();
        return absl::StrContains(
            metrics, R"(route="/fhir/r4/QuestionnaireResponse",status="403")");
      },
      absl::Seconds(5)))
      << metrics;
}

TEST_F(GatewayHttpTest, ServesTheDashboardAndTheVolunteersAppByTheirFolders) {
  HttpTestClient client(port_);
  for (const char* page : {"/", "/volunteer/"}) {
    auto response = client.Exchange("GET", page, {});
    ASSERT_TRUE(response.has_value()) << page;
    EXPECT_EQ(response->status, 200) << page;
    EXPECT_EQ(response->Header("content-type"), "text/html; charset=utf-8") << page;
    ExpectSecurityHeaders(*response);
  }
  auto bare = client.Exchange("GET", "/volunteer", {});
  ASSERT_TRUE(bare.has_value());
  EXPECT_EQ(bare->status, 308);
  EXPECT_EQ(bare->Header("location"), "/volunteer/");
  auto missing = client.Exchange("GET", "/volunteer/nothing.js", {});
  ASSERT_TRUE(missing.has_value());
  EXPECT_EQ(missing->status, 404);
}

TEST_F(GatewayHttpTest, HealthzAndMetricsByRouteAndStatus) {
  HttpTestClient client(port_);
  auto health = client.Exchange("GET", "/healthz", {});
  ASSERT_TRUE(health.has_value());
  EXPECT_EQ(health->status, 200);
  EXPECT_THAT(health->body, HasSubstr("SERVING"));
  ExpectSecurityHeaders(*health);
  client.Unary("/peerwell.directory.v1.DirectoryService/GetPerson", SupervisorToken(),
               R"({"personId":"p0000000000000000000a"})");
  client.Exchange("GET", "/no/such/thing", {});

  std::string metrics;
  EXPECT_TRUE(WaitFor(
      [&] {
        metrics = Metrics();
        return absl::StrContains(metrics, "peerwell_gateway_http_requests_total{route=\"/peerwell.directory.v1.DirectoryService/GetPerson\",status=\"404\"}");
      },
      absl::Seconds(5)))
      << metrics;
  EXPECT_THAT(metrics, HasSubstr(R"(peerwell_gateway_http_requests_total{route="/healthz",status="200"})"));
  EXPECT_THAT(metrics, HasSubstr(R"(route="unmatched",status="404")"));
  EXPECT_THAT(metrics, Not(HasSubstr("/no/such/thing")));
  EXPECT_THAT(metrics, HasSubstr("peerwell_gateway_http_request_duration_seconds_bucket"));
}

// SIGTERM: /healthz turns 503 at once, open streams end with `unavailable` (their clients
// reconnect elsewhere), a call in flight is answered, and the process exits 0 within the grace.
TEST_F(GatewayHttpTest, SigtermEndsStreamsAndExitsWithinTheGrace) {
  std::vector<std::pair<std::string, std::string>> env{{"PEERWELL_SHUTDOWN_GRACE", "5s"}};
  for (const std::string name : {"directory", "checkin", "alerts", "supervision", "network"}) {
    env.emplace_back(absl::StrCat("PEERWELL_", absl::AsciiStrToUpper(name), "_ADDR"),
                     suite_->service(name).address);
  }
  auto gateway = testing::StartServer(absl::StrCat(PEERWELL_BUILD_DIR,
                                                   "/services/gateway/peerwell-gateway"),
                                      env);
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  int port = std::stoi(gateway->address.substr(gateway->address.rfind(':') + 1));
  HttpTestClient watcher(port);
  auto head = watcher.OpenStream("/peerwell.alerts.v1.AlertService/WatchAlerts",
                                 {{"Authorization", "Bearer " + SupervisorToken()}}, "{}");
  ASSERT_TRUE(head.has_value());
  ASSERT_EQ(head->status, 200);

  absl::Time signalled = absl::Now();
  gateway->process->Signal(SIGTERM);
  auto end = watcher.NextEnvelope(absl::Seconds(5));
  ASSERT_TRUE(end.has_value());
  EXPECT_NE(end->flags & gateway::kEndStreamFlag, 0);
  EXPECT_EQ(JsonString(end->json, "code"), "unavailable");
  auto exit_code = gateway->process->WaitForExit(absl::Seconds(10));
  ASSERT_TRUE(exit_code.has_value());
  EXPECT_EQ(*exit_code, 0);
  EXPECT_LT(absl::Now() - signalled, absl::Seconds(5));
}

}  // namespace
}  // namespace peerwell
