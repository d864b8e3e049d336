#include "services/common/idempotency.h"

#include <thread>

#include "gtest/gtest.h"
#include "services/common/audit.h"
#include "services/common/events.h"
#include "tests/testing/redis_server.h"

namespace peerwell {
namespace {

using ::peerwell::testing::RedisServer;

TEST(IdempotencyTest, RacingCallsWithOneRequestIdRunTheBodyOnce) {
  RedisServer server;
  RedisClient redis(RedisOptions{server.address()});
  RedisScript script = IdempotentScript(R"lua(
    local n = redis.call('INCR', KEYS[2])
    return 'created-' .. n
  )lua");
  std::string request_key = RequestKey("o1", "test", "p1", "req-1");
  std::vector<std::thread> threads;
  std::vector<std::string> results(16);
  std::vector<bool> replayed(16);
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&, i] {
      auto result =
          ParseIdempotentReply(redis.Eval(script, {request_key, "pw:{o1}:test:counter"}, {"60"}));
      ASSERT_TRUE(result.ok()) << result.status();
      results[i] = result->value;
      replayed[i] = result->replayed;
    });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& result : results) EXPECT_EQ(result, "created-1");
  EXPECT_EQ(std::count(replayed.begin(), replayed.end(), false), 1);
  EXPECT_EQ(redis.Execute({"GET", "pw:{o1}:test:counter"})->str, "1");
  EXPECT_GT(redis.Execute({"TTL", request_key})->integer, 0);
}

TEST(IdempotencyTest, ErrorsAreNotRemembered) {
  RedisServer server;
  RedisClient redis(RedisOptions{server.address()});
  RedisScript script = IdempotentScript(R"lua(
    if redis.call('EXISTS', KEYS[2]) == 0 then return redis.error_reply('NOT_FOUND missing') end
    return 'ok'
  )lua");
  std::string request_key = RequestKey("o1", "test", "p1", "req-2");
  auto first = ParseIdempotentReply(redis.Eval(script, {request_key, "pw:{o1}:thing"}, {"60"}));
  EXPECT_EQ(first.status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(redis.Execute({"SET", "pw:{o1}:thing", "1"}).ok());
  auto second = ParseIdempotentReply(redis.Eval(script, {request_key, "pw:{o1}:thing"}, {"60"}));
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->replayed);
}

TEST(AuditTest, AppendsRecordToTheOrganisationsStream) {
  RedisServer server;
  RedisClient redis(RedisOptions{server.address()});
  AuditAppender audit(redis);
  AuditRecord record{"p-sup",
                     CallerRole::kSupervisor,
                     "o1",
                     "p-vol",
                     "peerwell.directory.v1.DirectoryService/GetConsent",
                     "OK",
                     absl::FromUnixSeconds(1'800'000'000)};
  ASSERT_TRUE(audit.Append(record).ok());
  ASSERT_TRUE(audit.Append(record).ok());
  auto entries = redis.Execute({"XRANGE", AuditStreamKey("o1"), "-", "+"});
  ASSERT_TRUE(entries.ok());
  auto parsed = ParseStreamEntries(*entries);
  ASSERT_EQ(parsed.size(), 2u);
  EXPECT_EQ(parsed[0].Get("actor_id"), "p-sup");
  EXPECT_EQ(parsed[0].Get("actor_role"), "supervisor");
  EXPECT_EQ(parsed[0].Get("subject_id"), "p-vol");
  EXPECT_EQ(parsed[0].Get("outcome"), "OK");
  EXPECT_EQ(parsed[0].Get("time"), "2027-01-15T08:00:00+00:00");
}

}  // namespace
}  // namespace peerwell
