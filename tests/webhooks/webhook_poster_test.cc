// A delivery as a receiver meets it, over loopback: the request's headers and body, the answer's
// status, a receiver that never answers, and addresses a delivery must not reach.
#include "services/webhooks/webhook_poster.h"

#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/webhook_receiver.h"

namespace peerwell::webhooks {
namespace {

namespace http = boost::beast::http;
using ::peerwell::testing::TestReceiver;
using ::testing::HasSubstr;

WebhookUrl Local(int port, const std::string& host = "127.0.0.1") {
  auto url = ParseWebhookUrl(absl::StrCat("http://", host, ":", port, "/hooks/peerwell?v=1"), true,
                             true);
  EXPECT_TRUE(url.ok()) << url.status();
  return *url;
}

TEST(SignatureTest, HmacSha256OfTimestampDotBody) {
  // Computed apart from PeerWell: python3 -c "import hmac,hashlib; print(hmac.new(
  //   b'whsec_test', b'1800000000.{\"id\":\"e1\"}', hashlib.sha256).hexdigest())"
  EXPECT_EQ(SignatureHeader("whsec_test", 1'800'000'000, R"({"id":"e1"})"),
            "t=1800000000,v1=b42cea22ffdaf1260befffe780b65c2b4329084ba2ae2223eafc00daf6803b75");
}

TEST(WebhookPosterTest, PostsTheBodyWithItsHeadersAndReportsTheStatus) {
  TestReceiver receiver({500, 204});
  WebhookPoster poster({.allow_private = true, .timeout = absl::Seconds(10)});
  std::vector<std::pair<std::string, std::string>> headers{{"PeerWell-Event-Id", "e1"},
                                                           {"PeerWell-Signature", "t=1,v1=ab"}};
  PostResult first = poster.Post(Local(receiver.port()), R"({"id":"e1"})", headers);
  EXPECT_EQ(first.http_status, 500);
  EXPECT_EQ(first.error, "");
  PostResult second = poster.Post(Local(receiver.port()), R"({"id":"e1"})", headers);
  EXPECT_EQ(second.http_status, 204);
  EXPECT_GT(second.duration, absl::ZeroDuration());
  auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 2u);
  const auto& request = requests[0];
  EXPECT_EQ(request.method(), http::verb::post);
  EXPECT_EQ(request.target(), "/hooks/peerwell?v=1");
  EXPECT_EQ(request[http::field::host], absl::StrCat("127.0.0.1:", receiver.port()));
  EXPECT_EQ(request[http::field::content_type], "application/json");
  EXPECT_EQ(request["PeerWell-Event-Id"], "e1");
  EXPECT_EQ(request["PeerWell-Signature"], "t=1,v1=ab");
  EXPECT_EQ(request.body(), R"({"id":"e1"})");
}

TEST(WebhookPosterTest, AReceiverThatNeverAnswersIsGivenUpOnAtTheTimeout) {
  TestReceiver receiver({TestReceiver::kHold});
  WebhookPoster poster({.allow_private = true, .timeout = absl::Milliseconds(300)});
  PostResult result = poster.Post(Local(receiver.port()), "{}", {});
  EXPECT_EQ(result.http_status, 0);
  EXPECT_FALSE(result.error.empty());
  EXPECT_GE(result.duration, absl::Milliseconds(250));
  EXPECT_LT(result.duration, absl::Seconds(5));
}

// "localhost" passes the URL check (a DNS name), but what it resolves to is inside: refused
// before any connection, unless the operator allows private addresses.
TEST(WebhookPosterTest, ANameThatResolvesInsideIsNotConnectedTo) {
  TestReceiver receiver({200});
  WebhookPoster strict({.allow_private = false, .timeout = absl::Seconds(5)});
  PostResult refused = strict.Post(Local(receiver.port(), "localhost"), "{}", {});
  EXPECT_EQ(refused.http_status, 0);
  EXPECT_THAT(refused.error, HasSubstr("private"));
  EXPECT_EQ(receiver.connections(), 0);
}

TEST(WebhookPosterTest, ClosedPortsAndTlsFailuresAreErrorsNotCrashes) {
  int closed_port;
  {
    TestReceiver receiver({200});
    closed_port = receiver.port();
  }
  WebhookPoster poster({.allow_private = true, .timeout = absl::Seconds(5)});
  PostResult refused = poster.Post(Local(closed_port), "{}", {});
  EXPECT_EQ(refused.http_status, 0);
  EXPECT_THAT(refused.error, HasSubstr("connect"));
  // TLS against a plain HTTP receiver: the handshake fails and says so.
  TestReceiver plain({200});
  auto tls = ParseWebhookUrl(absl::StrCat("https://127.0.0.1:", plain.port(), "/"), false, true);
  ASSERT_TRUE(tls.ok());
  PostResult failed = poster.Post(*tls, "{}", {});
  EXPECT_EQ(failed.http_status, 0);
  EXPECT_THAT(failed.error, HasSubstr("TLS"));
}

}  // namespace
}  // namespace peerwell::webhooks
