#include "services/common/redis_commands.h"

#include "gtest/gtest.h"

namespace peerwell {
namespace {

// Values Redis Cluster's specification and CLUSTER KEYSLOT give.
TEST(KeySlotTest, IsCrc16OfTheKeyModuloTheSlotCount) {
  EXPECT_EQ(KeySlot("123456789"), 0x31C3 % kRedisSlots);
  EXPECT_EQ(KeySlot("foo"), 12182);
  EXPECT_EQ(KeySlot("bar"), 5061);
  EXPECT_EQ(KeySlot(""), 0);
}

TEST(KeySlotTest, AHashTagIsHashedInsteadOfTheKey) {
  EXPECT_EQ(KeySlot("{user1000}.following"), KeySlot("{user1000}.followers"));
  EXPECT_EQ(KeySlot("{user1000}.following"), KeySlot("user1000"));
  EXPECT_EQ(KeySlot("pw:{o-1}:checkin:checkin:c-1"), KeySlot("pw:{o-1}:events:checkin"));
  EXPECT_NE(KeySlot("pw:{o-1}:checkin:checkin:c-1"), KeySlot("pw:{o-2}:checkin:checkin:c-1"));
  // Only the first tag counts; an empty one does not count, so the whole key is hashed.
  EXPECT_EQ(KeySlot("foo{bar}{zap}"), KeySlot("bar"));
  EXPECT_EQ(KeySlot("foo{{bar}}zap"), KeySlot("{bar"));
  EXPECT_NE(KeySlot("foo{}{bar}"), KeySlot("bar"));
  EXPECT_EQ(KeySlot("foo{bar"), KeySlot("foo{bar"));
  EXPECT_NE(KeySlot("foo{bar"), KeySlot("bar"));
}

TEST(KeySlotTest, TheOrganisationOfAKeyIsItsHashTag) {
  EXPECT_EQ(OrganizationOfKey("pw:{o-7}:alerts:alert:a1"), "o-7");
  EXPECT_EQ(OrganizationOfKey("pw:platform:directory:organizations"), "");
  EXPECT_EQ(OrganizationOfKey("pw:{unclosed:x"), "");
}

TEST(CommandKeysTest, FindsTheKeysWhereEachKindOfCommandNamesThem) {
  using Keys = std::vector<std::string_view>;
  EXPECT_EQ(CommandKeys({"HSET", "k", "f", "v"}), (Keys{"k"}));
  EXPECT_EQ(CommandKeys({"del", "a", "b"}), (Keys{"a", "b"}));
  EXPECT_EQ(CommandKeys({"MSET", "a", "1", "b", "2"}), (Keys{"a", "b"}));
  EXPECT_EQ(CommandKeys({"EVALSHA", "sha", "2", "a", "b", "arg"}), (Keys{"a", "b"}));
  EXPECT_EQ(CommandKeys({"EVAL", "return 1", "0", "arg"}), Keys{});
  EXPECT_EQ(CommandKeys({"XREADGROUP", "GROUP", "g", "c", "COUNT", "5", "BLOCK", "10", "STREAMS",
                         "s1", "s2", ">", ">"}),
            (Keys{"s1", "s2"}));
  EXPECT_EQ(CommandKeys({"XGROUP", "CREATE", "s", "g", "0"}), (Keys{"s"}));
  EXPECT_EQ(CommandKeys({"RENAME", "a", "b"}), (Keys{"a", "b"}));
  EXPECT_EQ(CommandKeys({"MULTI"}), Keys{});
  EXPECT_EQ(CommandKeys({"SCAN", "0", "MATCH", "pw:*"}), Keys{});
  EXPECT_EQ(CommandKeys({"WAIT", "1", "100"}), Keys{});
}

TEST(CommandKeysTest, ReadsAreToldFromWrites) {
  EXPECT_TRUE(IsReadOnly({"GET", "k"}));
  EXPECT_TRUE(IsReadOnly({"zrangebyscore", "k", "0", "1"}));
  EXPECT_TRUE(IsReadOnly({"XREAD", "STREAMS", "s", "0"}));
  EXPECT_FALSE(IsReadOnly({"SET", "k", "v"}));
  EXPECT_FALSE(IsReadOnly({"XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"}));
  EXPECT_FALSE(IsReadOnly({"EVALSHA", "sha", "0"}));
  EXPECT_FALSE(IsReadOnly({}));
  EXPECT_TRUE(IsReadOnly({"ASKING"}));
}

TEST(OneSlotPerAtomicWriteTest, RefusesACommandOrTransactionAcrossSlots) {
  const std::string a1 = "pw:{o-1}:x";
  const std::string a2 = "pw:{o-1}:y";
  const std::string b = "pw:{o-2}:x";
  std::vector<RedisCommand> ok{{"MULTI"}, {"HSET", a1, "f", "v"}, {"XADD", a2, "*", "f", "v"},
                               {"EXEC"},  {"HSET", b, "f", "v"},  {"EVALSHA", "s", "2", a1, a2}};
  EXPECT_TRUE(CheckOneSlotPerAtomicWrite(ok).ok());

  std::vector<RedisCommand> transaction{
      {"MULTI"}, {"XADD", a1, "*", "f", "v"}, {"XACK", b, "g", "1-0"}, {"EXEC"}};
  absl::Status refused = CheckOneSlotPerAtomicWrite(transaction);
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.message().find(a1), std::string::npos) << refused;
  EXPECT_NE(refused.message().find(b), std::string::npos) << refused;

  std::vector<RedisCommand> script{{"EVALSHA", "s", "2", a1, b, "arg"}};
  EXPECT_EQ(CheckOneSlotPerAtomicWrite(script).code(), absl::StatusCode::kFailedPrecondition);
  std::vector<RedisCommand> read{{"XREAD", "BLOCK", "10", "STREAMS", a1, b, "$", "$"}};
  EXPECT_EQ(CheckOneSlotPerAtomicWrite(read).code(), absl::StatusCode::kFailedPrecondition);
  std::vector<RedisCommand> del{{"DEL", a1, b}};
  EXPECT_EQ(CheckOneSlotPerAtomicWrite(del).code(), absl::StatusCode::kFailedPrecondition);

  // A pipeline is not atomic: its commands may go to different slots (and nodes).
  std::vector<RedisCommand> pipeline{{"HSET", a1, "f", "v"}, {"HSET", b, "f", "v"}};
  EXPECT_TRUE(CheckOneSlotPerAtomicWrite(pipeline).ok());
}

}  // namespace
}  // namespace peerwell
