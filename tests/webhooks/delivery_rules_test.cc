// The pure rules of webhook deliveries: retry timing, and which addresses a partner's URL may
// lead to.
#include "services/webhooks/delivery_rules.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace peerwell::webhooks {
namespace {

using ::testing::HasSubstr;

TEST(RetryDelayTest, FirstRetryWithinTheBaseThenDoublingWithJitterAndACap) {
  const absl::Duration base = absl::Seconds(5);
  EXPECT_EQ(RetryDelay(1, base, 0.999999), base * (0.5 + 0.5 * 0.999999));
  EXPECT_LE(RetryDelay(1, base, 0.999999), base);
  EXPECT_EQ(RetryDelay(1, base, 0), absl::Milliseconds(2500));
  EXPECT_EQ(RetryDelay(2, base, 0), absl::Seconds(5));
  EXPECT_EQ(RetryDelay(3, base, 0), absl::Seconds(10));
  EXPECT_EQ(RetryDelay(4, base, 0), absl::Seconds(20));
  EXPECT_EQ(RetryDelay(30, base, 0), kMaxRetryDelay / 2);
  EXPECT_EQ(RetryDelay(30, base, 1), kMaxRetryDelay);
}

TEST(RetryDelayTest, AnEventIsRetriedFor24HoursThenGivenUp) {
  const absl::Time first = absl::FromUnixSeconds(1'800'000'000);
  absl::Time at = first;
  int retries = 0;
  while (auto next = NextAttemptTime(first, at, retries + 1, absl::Seconds(5), 0.5)) {
    EXPECT_GT(*next, at);
    at = *next;
    ++retries;
    ASSERT_LT(retries, 100);
  }
  EXPECT_LE(at - first, kRetryFor);
  EXPECT_GT(at - first, kRetryFor - kMaxRetryDelay);
  // Doubling from 5 s to the hourly cap, then hourly: about 35 attempts in 24 hours.
  EXPECT_GT(retries, 25);
  EXPECT_LT(retries, 45);
}

TEST(DeliveredTest, OnlyA2xxAnswerEndsTheDeliveries) {
  EXPECT_TRUE(IsDelivered(200));
  EXPECT_TRUE(IsDelivered(204));
  EXPECT_FALSE(IsDelivered(0));
  EXPECT_FALSE(IsDelivered(301));
  EXPECT_FALSE(IsDelivered(410));
  EXPECT_FALSE(IsDelivered(500));
}

TEST(PublicAddressTest, RefusesEveryPlaceInsideTheCluster) {
  for (const char* address :
       {"127.0.0.1", "127.9.9.9", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1",
        "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255", "::1", "::",
        "fe80::1", "fd00::1", "fc12::3", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
        "64:ff9b::a00:1", "2001:db8::1", "not an address", ""}) {
    EXPECT_FALSE(IsPublicAddress(address)) << address;
  }
  for (const char* address : {"93.184.216.34", "8.8.8.8", "172.32.0.1", "100.128.0.1",
                              "2606:4700::1111", "::ffff:8.8.8.8"}) {
    EXPECT_TRUE(IsPublicAddress(address)) << address;
  }
}

TEST(WebhookUrlTest, HttpsWithHostPortAndPath) {
  auto url = ParseWebhookUrl("https://Hooks.Partner.example.org:8443/peerwell/in?x=1", false,
                             false);
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_TRUE(url->tls);
  EXPECT_EQ(url->host, "hooks.partner.example.org");
  EXPECT_EQ(url->port, 8443);
  EXPECT_EQ(url->target, "/peerwell/in?x=1");
  auto bare = ParseWebhookUrl("https://partner.example.org", false, false);
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->port, 443);
  EXPECT_EQ(bare->target, "/");
  auto v6 = ParseWebhookUrl("https://[2606:4700::1111]:444/in", false, false);
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_EQ(v6->host, "2606:4700::1111");
  EXPECT_EQ(v6->port, 444);
}

TEST(WebhookUrlTest, RefusesWhatCouldReachInsideOrIsMalformed) {
  for (const char* bad :
       {"http://partner.example.org/in", "ftp://partner.example.org", "partner.example.org",
        "https://user:pw@partner.example.org/", "https://partner.example.org/#frag",
        "https://127.0.0.1/in", "https://[::1]/in", "https://169.254.169.254/latest",
        "https://localhost/in", "https://api.localhost/in", "https:///in",
        "https://partner.example.org:0/", "https://partner.example.org:99999/",
        "https://partner.example.org/a b"}) {
    auto url = ParseWebhookUrl(bad, false, false);
    EXPECT_EQ(url.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(url.status().message(), HasSubstr("url:")) << bad;
  }
  // Where the operator allows it (tests, closed networks): plain http and private addresses.
  auto local = ParseWebhookUrl("http://127.0.0.1:8080/hook", true, true);
  ASSERT_TRUE(local.ok()) << local.status();
  EXPECT_FALSE(local->tls);
  EXPECT_EQ(local->port, 8080);
}

}  // namespace
}  // namespace peerwell::webhooks
