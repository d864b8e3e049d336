// The gateway's pure decisions: headers, CORS, content types, credentials, settings; the JSON
// clients see for times not yet reached; what a socket reported readable holds.
#include "services/gateway/http_rules.h"

#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "services/alerts/alerts_mapping.h"
#include "services/gateway/gateway_config.h"
#include "services/network/network_mapping.h"

namespace peerwell::gateway {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(SecurityHeadersTest, AStrictPolicyAndNoSniffingFramingOrReferrer) {
  std::vector<std::string> names;
  std::string policy;
  for (const auto& [name, value] : SecurityHeaders()) {
    names.push_back(name);
    if (name == "Content-Security-Policy") policy = value;
  }
  EXPECT_THAT(names, ::testing::IsSupersetOf({"Content-Security-Policy", "X-Content-Type-Options",
                                              "X-Frame-Options", "Referrer-Policy"}));
  // Nothing from another host, no inline script, no framing.
  EXPECT_THAT(policy, HasSubstr("default-src 'none'"));
  EXPECT_THAT(policy, HasSubstr("script-src 'self';"));
  EXPECT_THAT(policy, HasSubstr("frame-ancestors 'none'"));
  EXPECT_THAT(policy, Not(HasSubstr("unsafe-inline")));
  EXPECT_THAT(policy, Not(HasSubstr("unsafe-eval")));
  EXPECT_THAT(policy, Not(HasSubstr("*")));
}

TEST(CorsTest, OnlyExactlyListedOrigins) {
  std::vector<std::string> allowlist{"https://partner.example.org"};
  EXPECT_TRUE(OriginAllowed(allowlist, "https://partner.example.org"));
  EXPECT_FALSE(OriginAllowed(allowlist, "http://partner.example.org"));
  EXPECT_FALSE(OriginAllowed(allowlist, "https://partner.example.org:8443"));
  EXPECT_FALSE(OriginAllowed(allowlist, "https://evil.partner.example.org"));
  EXPECT_FALSE(OriginAllowed(allowlist, "null"));
  EXPECT_FALSE(OriginAllowed(allowlist, ""));
  EXPECT_FALSE(OriginAllowed({}, "https://partner.example.org"));
  auto headers = CorsPreflightHeaders("https://partner.example.org");
  EXPECT_THAT(headers, ::testing::Contains(::testing::Pair("Access-Control-Allow-Origin",
                                                           "https://partner.example.org")));
  EXPECT_THAT(headers, ::testing::Contains(::testing::Pair("Vary", "Origin")));
}

TEST(ConnectContentTypeTest, UnaryAndStreamingInJsonOrBinary) {
  auto json = ParseConnectContentType("application/json; charset=utf-8");
  ASSERT_TRUE(json.ok());
  EXPECT_FALSE(json->streaming);
  EXPECT_TRUE(json->json);
  auto stream = ParseConnectContentType("Application/Connect+Proto");
  ASSERT_TRUE(stream.ok());
  EXPECT_TRUE(stream->streaming);
  EXPECT_FALSE(stream->json);
  EXPECT_EQ(ContentTypeOf(*stream), "application/connect+proto");
  for (const char* refused : {"", "text/plain", "application/grpc", "application/jsonx"}) {
    auto type = ParseConnectContentType(refused);
    EXPECT_EQ(type.status().code(), absl::StatusCode::kUnimplemented) << refused;
  }
}

TEST(CredentialTest, TheBearerTokenElseTheApiKeyElseNone) {
  EXPECT_EQ(CredentialOf("Bearer abc", "key"), "bearer abc");
  EXPECT_EQ(CredentialOf("", "key"), "x-api-key key");
  EXPECT_EQ(CredentialOf("", ""), std::nullopt);
}

// Otherwise one token could hold the stream cap many times over by varying how it is written.
TEST(CredentialTest, OneCredentialHowEverItIsWritten) {
  for (const char* written : {"Bearer abc", "bearer abc", "BEARER abc", "BeArEr  abc ", " Bearer abc"}) {
    EXPECT_EQ(CredentialOf(written, ""), "bearer abc") << written;
  }
  EXPECT_EQ(CredentialOf("", " key "), "x-api-key key");
}

TEST(CredentialTest, OnlyPrintableAsciiIsPassedOn) {
  EXPECT_TRUE(IsPrintableAscii("Bearer eyJhbGciOi.J9-_x"));
  EXPECT_FALSE(IsPrintableAscii("Bearer \xff"));
  EXPECT_FALSE(IsPrintableAscii("Bearer a\tb"));
  EXPECT_FALSE(IsPrintableAscii(std::string("a\0b", 3)));
}

TEST(IfNoneMatchTest, MatchesAnyListedTagWeaklyOrStar) {
  const std::string tag = "\"0123abcd\"";
  EXPECT_TRUE(IfNoneMatchMatches(tag, tag));
  EXPECT_TRUE(IfNoneMatchMatches("W/\"0123abcd\"", tag));
  EXPECT_TRUE(IfNoneMatchMatches("\"other\", W/\"0123abcd\"", tag));
  EXPECT_TRUE(IfNoneMatchMatches(" * ", tag));
  EXPECT_FALSE(IfNoneMatchMatches("", tag));
  EXPECT_FALSE(IfNoneMatchMatches("\"other\"", tag));
  EXPECT_FALSE(IfNoneMatchMatches("0123abcd", tag));  // unquoted: not the tag
}

TEST(GatewayConfigTest, DefaultsAndErrorsNamingTheSetting) {
  auto defaults = LoadGatewayConfig({});
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_EQ(defaults->listen_addr, "127.0.0.1:8080");
  EXPECT_EQ(defaults->metrics_addr, "127.0.0.1:9556");
  EXPECT_TRUE(defaults->cors_allowed_origins.empty());
  EXPECT_EQ(defaults->limits.max_body_bytes, 1u << 20);

  auto set = LoadGatewayConfig({"--cors_allowed_origins=https://a.example, http://localhost:3000",
                                "--http_read_timeout=2s", "--max_streams_per_credential=3"});
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_THAT(set->cors_allowed_origins,
              ::testing::ElementsAre("https://a.example", "http://localhost:3000"));
  EXPECT_EQ(set->limits.read_timeout, absl::Seconds(2));
  EXPECT_EQ(set->limits.max_streams_per_credential, 3);

  for (const auto& [arg, named] : std::vector<std::pair<std::string, std::string>>{
           {"--cors_allowed_origins=*", "PEERWELL_CORS_ALLOWED_ORIGINS"},
           {"--cors_allowed_origins=https://a.example/path", "PEERWELL_CORS_ALLOWED_ORIGINS"},
           {"--http_max_body_bytes=12", "PEERWELL_HTTP_MAX_BODY_BYTES"},
           {"--http_idle_timeout=forever", "PEERWELL_HTTP_IDLE_TIMEOUT"},
           {"--max_streams_per_credential=0", "PEERWELL_MAX_STREAMS_PER_CREDENTIAL"},
           {"--listen_addr=nowhere", "--listen_addr"},
       }) {
    auto config = LoadGatewayConfig({arg});
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument) << arg;
    EXPECT_THAT(std::string(config.status().message()), HasSubstr(named)) << arg;
  }
}

// A time not reached yet is absent from the JSON, not the epoch: the dashboard shows
// "not acknowledged", not 1970.
TEST(TimesNotReachedTest, AreAbsentFromTheJsonClientsSee) {
  alerts::Alert alert;
  alert.id = "a1";
  alert.trigger_time = absl::FromUnixSeconds(1'800'000'000);
  std::string json;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(alerts::AlertToProto(alert), &json).ok());
  EXPECT_THAT(json, HasSubstr("triggerTime"));
  EXPECT_THAT(json, Not(HasSubstr("acknowledgeTime")));
  EXPECT_THAT(json, Not(HasSubstr("resolveTime")));

  network::Report report;
  report.report_id = "r1";
  report.create_time = absl::FromUnixSeconds(1'800'000'000);
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(
                  network::ReportToProto(report, /*for_coordinator=*/true), &json)
                  .ok());
  EXPECT_THAT(json, Not(HasSubstr("resolveTime")));
}

// A stream's hang-up watch once took "readable, nothing to read" for a client that left, and
// closed live streams without an answer when the readiness report came for bytes the request's
// read had already taken (about 1 in 2,000 streams whose request ended in a separate packet).
TEST(PeerProbeTest, TellsAnIdleClientFromOneThatSendsOrLeft) {
  int ends[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, ends), 0);
  const int gateway_end = ends[0];
  const int client_end = ends[1];

  EXPECT_EQ(ProbePeer(gateway_end), PeerState::kIdle);

  ASSERT_EQ(::write(client_end, "P", 1), 1);
  EXPECT_EQ(ProbePeer(gateway_end), PeerState::kSending);
  EXPECT_EQ(ProbePeer(gateway_end), PeerState::kSending) << "the probe must not consume";

  // Bytes sent before leaving are read first; the end shows once they are.
  ::close(client_end);
  EXPECT_EQ(ProbePeer(gateway_end), PeerState::kSending);
  char byte = 0;
  ASSERT_EQ(::read(gateway_end, &byte, 1), 1);
  EXPECT_EQ(byte, 'P');
  EXPECT_EQ(ProbePeer(gateway_end), PeerState::kGone);
  ::close(gateway_end);
}

}  // namespace
}  // namespace peerwell::gateway
