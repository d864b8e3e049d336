// The Redis client in cluster mode against a real local Redis Cluster: commands routed to the
// master of their slot, pipelines split by node and answered in order, redirections followed
// (a slot moved, a slot being migrated), and a failover survived.
#include "tests/testing/redis_cluster.h"

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/deadline.h"
#include "services/common/redis_client.h"
#include "services/common/redis_cluster.h"
#include "services/common/redis_commands.h"
#include "tests/testing/wait.h"

namespace peerwell {
namespace {

using ::peerwell::testing::RedisCluster;
using ::peerwell::testing::WaitFor;

RedisOptions ClusterOptions(const RedisCluster& cluster) {
  RedisOptions options;
  options.address = cluster.address();
  options.default_timeout = absl::Seconds(5);
  return options;
}

// Keys of many organisations: their slots fall on every master.
std::vector<std::string> KeysOfManyOrganisations(int count) {
  std::vector<std::string> keys;
  for (int i = 0; i < count; ++i) keys.push_back(absl::StrCat("pw:{o-", i, "}:test"));
  return keys;
}

// A connection to one node alone, which answers MOVED for a slot it does not serve.
std::unique_ptr<RedisConnection> Direct(const RedisCluster& cluster, size_t node) {
  const RedisAddress& address = cluster.address();
  auto connection =
      RedisConnection::Connect(address.Node(address.host, cluster.port(node)), absl::Seconds(1));
  EXPECT_TRUE(connection.ok()) << connection.status();
  return connection.ok() ? *std::move(connection) : nullptr;
}

std::string NodeId(const RedisCluster& cluster, size_t node) {
  auto reply = Direct(cluster, node)->Execute({"CLUSTER", "MYID"}, absl::Seconds(1));
  EXPECT_TRUE(reply.ok());
  return reply.ok() ? reply->str : "";
}

// A resharding's first steps: `slot` marked as moving from `source` to `target`.
void BeginSlotMove(const RedisCluster& cluster, const std::string& slot, size_t source,
                   size_t target) {
  ASSERT_TRUE(Direct(cluster, target)
                  ->Execute({"CLUSTER", "SETSLOT", slot, "IMPORTING", NodeId(cluster, source)},
                            absl::Seconds(1))
                  .ok());
  ASSERT_TRUE(Direct(cluster, source)
                  ->Execute({"CLUSTER", "SETSLOT", slot, "MIGRATING", NodeId(cluster, target)},
                            absl::Seconds(1))
                  .ok());
}

// One key of a slot on the move sent to its target, as a resharding does key by key.
void MoveKey(const RedisCluster& cluster, const std::string& key, size_t source, size_t target) {
  const RedisAddress& as = cluster.address();
  auto migrate = Direct(cluster, source)
                     ->Execute({"MIGRATE", "127.0.0.1", absl::StrCat(cluster.port(target)), "", "0",
                                "5000", "AUTH2", as.username, as.password, "KEYS", key},
                               absl::Seconds(5));
  ASSERT_TRUE(migrate.ok() && !migrate->IsError()) << (migrate.ok() ? migrate->str : "");
}

TEST(RedisClusterClientTest, EachCommandGoesToTheMasterOfItsSlot) {
  RedisCluster cluster(3);
  RedisClient client(ClusterOptions(cluster));
  std::vector<std::string> keys = KeysOfManyOrganisations(60);
  std::set<size_t> masters;
  for (const std::string& key : keys) {
    auto set = client.Execute({"SET", key, key});
    ASSERT_TRUE(set.ok()) << set.status();
    ASSERT_EQ(set->str, "OK") << key;
    size_t master = cluster.MasterOf(key);
    masters.insert(master);
    auto there = Direct(cluster, master)->Execute({"GET", key}, absl::Seconds(1));
    ASSERT_TRUE(there.ok());
    EXPECT_EQ(there->str, key);
  }
  EXPECT_EQ(masters.size(), 3u);
}

TEST(RedisClusterClientTest, APipelineOverEveryNodeIsAnsweredInItsOrder) {
  RedisCluster cluster(3);
  RedisClient client(ClusterOptions(cluster));
  std::vector<std::string> keys = KeysOfManyOrganisations(40);
  std::vector<RedisCommand> commands;
  for (size_t i = 0; i < keys.size(); ++i) {
    commands.push_back({"INCRBY", keys[i], absl::StrCat(i)});
    commands.push_back({"INCRBY", keys[i], "1000"});
  }
  auto replies = client.ExecuteAll(commands);
  ASSERT_TRUE(replies.ok()) << replies.status();
  ASSERT_EQ(replies->size(), commands.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ((*replies)[2 * i].integer, static_cast<long long>(i));
    EXPECT_EQ((*replies)[2 * i + 1].integer, static_cast<long long>(i) + 1000);
  }
}

// SCAN has no key: one that matches an organisation's keys goes to that organisation's node.
TEST(RedisClusterClientTest, AScanOfAnOrganisationsKeysGoesToItsNode) {
  RedisCluster cluster(3);
  RedisClient client(ClusterOptions(cluster));
  std::string org;
  for (int i = 0; org.empty(); ++i) {
    std::string candidate = absl::StrCat("o-", i);
    if (cluster.MasterOf(absl::StrCat("pw:{", candidate, "}:x")) != cluster.MasterOf("")) {
      org = candidate;
    }
  }
  std::set<std::string> written;
  for (int i = 0; i < 25; ++i) {
    const std::string key = absl::StrCat("pw:{", org, "}:key:", i);
    written.insert(key);
    ASSERT_TRUE(client.Execute({"SET", key, "v"}).ok());
  }
  std::set<std::string> found;
  std::string cursor = "0";
  do {
    auto page =
        client.Execute({"SCAN", cursor, "MATCH", absl::StrCat("pw:{", org, "}:*"), "COUNT", "10"});
    ASSERT_TRUE(page.ok() && page->IsArray()) << page.status();
    cursor = page->elements[0].str;
    for (const RedisReply& key : page->elements[1].elements) found.insert(key.str);
  } while (cursor != "0");
  EXPECT_EQ(found, written);
}

TEST(RedisClusterClientTest, TransactionsAndScriptsRunOnTheirOrganisationsNode) {
  RedisCluster cluster(3);
  RedisClient client(ClusterOptions(cluster));
  for (int org = 0; org < 12; ++org) {
    const std::string a = absl::StrCat("pw:{o-", org, "}:a");
    const std::string b = absl::StrCat("pw:{o-", org, "}:b");
    auto transaction = client.Transaction({{"SET", a, "1"}, {"INCR", a}, {"SET", b, "x"}});
    ASSERT_TRUE(transaction.ok()) << transaction.status();
    EXPECT_EQ((*transaction)[1].integer, 2);
    RedisScript script("return redis.call('INCR', KEYS[1]) .. redis.call('GET', KEYS[2])");
    auto eval = client.Eval(script, {a, b}, {});
    ASSERT_TRUE(eval.ok()) << eval.status();
    EXPECT_EQ(eval->str, "3x");
  }
}

// A slot moved to another master after the client learned the map: MOVED, followed. While it
// moves, a key already on the new master is read there after ASKING, and one still on the old
// master is read there.
TEST(RedisClusterClientTest, ASlotMigratedAndMovedIsFollowed) {
  RedisCluster cluster(3);
  RedisClient client(ClusterOptions(cluster));
  const std::string moved = "pw:{o-7}:moved";
  const std::string stays = "pw:{o-7}:stays";
  ASSERT_TRUE(client.Execute({"SET", moved, "m"}).ok());
  ASSERT_TRUE(client.Execute({"SET", stays, "s"}).ok());
  const size_t source = cluster.MasterOf(moved);
  const size_t target = (source + 1) % 3;
  const std::string slot = absl::StrCat(KeySlot(moved));
  ASSERT_NO_FATAL_FAILURE(BeginSlotMove(cluster, slot, source, target));
  ASSERT_NO_FATAL_FAILURE(MoveKey(cluster, moved, source, target));

  auto asked = client.Execute({"GET", moved});
  ASSERT_TRUE(asked.ok()) << asked.status();
  EXPECT_EQ(asked->str, "m");
  auto still = client.Execute({"GET", stays});
  ASSERT_TRUE(still.ok()) << still.status();
  EXPECT_EQ(still->str, "s");

  ASSERT_NO_FATAL_FAILURE(MoveKey(cluster, stays, source, target));
  for (size_t node = 0; node < 3; ++node) {
    ASSERT_TRUE(Direct(cluster, node)
                    ->Execute({"CLUSTER", "SETSLOT", slot, "NODE", NodeId(cluster, target)},
                              absl::Seconds(1))
                    .ok());
  }
  auto after = client.ExecuteAll({{"GET", stays}, {"SET", moved, "m2"}, {"GET", moved}});
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ((*after)[0].str, "s");
  EXPECT_EQ((*after)[2].str, "m2");
  auto on_target = Direct(cluster, target)->Execute({"GET", moved}, absl::Seconds(1));
  ASSERT_TRUE(on_target.ok());
  EXPECT_EQ(on_target->str, "m2");
}

// A command without keys asked for the node of a key (the erasure's BGREWRITEAOF) runs on the
// master of that key's slot, whichever it is.
TEST(RedisClusterClientTest, AKeylessCommandForAKeyRunsOnThatKeysMaster) {
  RedisCluster cluster(3);
  RedisClient client(ClusterOptions(cluster));
  std::set<size_t> masters;
  for (const std::string& key : KeysOfManyOrganisations(30)) {
    auto id = client.ExecuteOnNodeOf(key, {"CLUSTER", "MYID"});
    ASSERT_TRUE(id.ok()) << id.status();
    const size_t master = cluster.MasterOf(key);
    masters.insert(master);
    EXPECT_EQ(id->str, NodeId(cluster, master)) << key;
  }
  EXPECT_EQ(masters.size(), 3u);
}

// Every script keeps to its keys' slot: one that reaches a key of another slot is refused there,
// even when that slot is on the same node (where, without "#!lua", Redis would let it through
// until the slots are moved).
TEST(RedisClusterClientTest, AScriptReachingAnotherSlotOnItsNodeIsRefused) {
  RedisCluster cluster(3);
  RedisClient client(ClusterOptions(cluster));
  const std::string declared = "pw:{o-0}:declared";
  std::string other;
  for (int i = 1; other.empty(); ++i) {
    std::string candidate = absl::StrCat("pw:{o-", i, "}:other");
    if (cluster.MasterOf(candidate) == cluster.MasterOf(declared) &&
        KeySlot(candidate) != KeySlot(declared)) {
      other = candidate;
    }
  }
  RedisScript script("return redis.call('SET', ARGV[1], 'x')");
  EXPECT_TRUE(absl::StartsWith(script.source(), "#!lua\n"));
  auto reply = client.Eval(script, {declared}, {other});
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_TRUE(reply->IsError());
  EXPECT_THAT(reply->str, ::testing::HasSubstr("do not hash to the same slot"));
  EXPECT_EQ(client.Execute({"EXISTS", other})->integer, 0);
}

// A connection of its own (WatchAlerts' XREAD BLOCK on an organisation's feed) reaches the master
// of its key's slot from the first seed, and follows the key when its slot moves to another.
TEST(RedisClusterClientTest, AConnectionOfItsOwnFollowsItsKeyToItsMaster) {
  RedisCluster cluster(3);
  RedisClient client(ClusterOptions(cluster));
  auto read_all = [](RedisKeyConnection& connection, const std::string& key) -> size_t {
    auto read =
        connection.Execute({"XREAD", "COUNT", "10", "STREAMS", key, "0-0"}, absl::Seconds(2));
    EXPECT_TRUE(read.ok()) << read.status();
    if (!read.ok() || !read->IsArray() || read->elements.empty()) return 0;
    return read->elements[0].elements[1].elements.size();
  };
  std::set<size_t> masters;
  for (const std::string& key : KeysOfManyOrganisations(12)) {
    ASSERT_TRUE(client.Execute({"XADD", key, "*", "n", "1"}).ok());
    masters.insert(cluster.MasterOf(key));
    RedisKeyConnection connection(cluster.address());
    EXPECT_EQ(read_all(connection, key), 1u) << key;
  }
  EXPECT_EQ(masters.size(), 3u);

  const std::string feed = "pw:{o-moving}:feed";
  ASSERT_TRUE(client.Execute({"XADD", feed, "*", "n", "1"}).ok());
  RedisKeyConnection connection(cluster.address());
  ASSERT_EQ(read_all(connection, feed), 1u);
  cluster.MoveSlot(KeySlot(feed), (cluster.MasterOf(feed) + 1) % 3);
  ASSERT_TRUE(client.Execute({"XADD", feed, "*", "n", "2"}).ok());
  EXPECT_EQ(read_all(connection, feed), 2u);
}

// While its key's slot migrates and the key is already on the importing node, the source answers
// ASK: a connection of its own (WatchAlerts' reader) asks the importing node for it there
// (ASKING first), and still reads the key where it was for a key not moved yet.
TEST(RedisClusterClientTest, AConnectionOfItsOwnFollowsAskWhileItsKeysSlotMigrates) {
  RedisCluster cluster(3);
  RedisClient client(ClusterOptions(cluster));
  const std::string feed = "pw:{o-asked}:feed";
  const std::string stays = "pw:{o-asked}:stays";
  ASSERT_TRUE(
      client.ExecuteAll({{"XADD", feed, "*", "n", "1"}, {"XADD", stays, "*", "n", "1"}}).ok());
  const size_t source = cluster.MasterOf(feed);
  const size_t target = (source + 1) % 3;
  const std::string slot = absl::StrCat(KeySlot(feed));
  RedisKeyConnection connection(cluster.address());
  auto read = [&](const std::string& key) -> absl::StatusOr<size_t> {
    auto reply =
        connection.Execute({"XREAD", "COUNT", "10", "STREAMS", key, "0-0"}, absl::Seconds(2));
    if (!reply.ok()) return reply.status();
    if (reply->IsError()) return absl::InternalError(reply->str);
    if (!reply->IsArray() || reply->elements.empty()) return 0;
    return reply->elements[0].elements[1].elements.size();
  };
  ASSERT_EQ(read(feed).value_or(0), 1u);  // connected to the source
  ASSERT_NO_FATAL_FAILURE(BeginSlotMove(cluster, slot, source, target));
  ASSERT_NO_FATAL_FAILURE(MoveKey(cluster, feed, source, target));
  auto asked = read(feed);
  ASSERT_TRUE(asked.ok()) << asked.status();
  EXPECT_EQ(*asked, 1u);
  auto stayed = read(stays);
  ASSERT_TRUE(stayed.ok()) << stayed.status();
  EXPECT_EQ(*stayed, 1u);
}

// A master killed: its replica takes over within seconds, and the client finds it (its calls fail
// meanwhile, by their deadline, and succeed once the map says where the slots went).
TEST(RedisClusterClientTest, AfterAFailoverCallsReachTheNewMaster) {
  RedisCluster cluster(3, 1);
  RedisClient client(ClusterOptions(cluster));
  const std::string key = "pw:{o-3}:failover";
  ASSERT_TRUE(client.Execute({"SET", key, "before"}).ok());
  ASSERT_TRUE(client.Execute({"WAIT", "1", "2000"}).ok());
  const size_t master = cluster.MasterOf(key);
  cluster.Kill(master);
  bool written = WaitFor(
      [&] {
        ScopedDeadline deadline(absl::Now() + absl::Milliseconds(500));
        auto set = client.Execute({"SET", key, "after"});
        return set.ok() && set->str == "OK";
      },
      absl::Seconds(20));
  ASSERT_TRUE(written);
  auto read = client.Execute({"GET", key});
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->str, "after");
  EXPECT_NE(cluster.MasterOf(key, (master + 1) % cluster.size()), master);
}

// Acknowledged means replicated: with min_replicas, a write its master's replica has not got is
// not acknowledged (UNAVAILABLE), so a failover loses nothing acknowledged. Without it, a write is
// acknowledged and lost: the replica was paused, and the write had not left the master.
TEST(RedisClusterClientTest, WithAReplicaWaitNoAcknowledgedWriteIsLostInAFailover) {
  RedisCluster cluster(3, 1);
  RedisOptions waiting = ClusterOptions(cluster);
  waiting.min_replicas = 1;
  waiting.replica_wait = absl::Milliseconds(200);
  RedisClient client(waiting);
  RedisClient unwaiting(ClusterOptions(cluster));
  const std::vector<std::string> keys = KeysOfManyOrganisations(30);
  const size_t master = cluster.MasterOf(keys[0]);
  ASSERT_TRUE(client.Execute({"SET", keys[0], "before"}).ok());  // learns the map
  ASSERT_TRUE(unwaiting.Execute({"GET", keys[0]}).ok());
  const size_t replica = cluster.ReplicaOf(master);
  cluster.Pause(replica);

  std::map<std::string, std::string> acknowledged;
  int refused = 0;
  for (const std::string& key : keys) {
    ScopedDeadline deadline(absl::Now() + absl::Seconds(2));
    auto set = client.Execute({"SET", key, "while-paused"});
    if (set.ok() && set->str == "OK") {
      acknowledged[key] = "while-paused";
    } else {
      EXPECT_EQ(set.status().code(), absl::StatusCode::kUnavailable) << set.status();
      EXPECT_EQ(cluster.MasterOf(key), master) << key;
      ++refused;
    }
  }
  EXPECT_GT(refused, 0);
  EXPECT_LT(acknowledged.size(), keys.size());
  // More than the sockets between the master and its paused replica hold, so that the last
  // write is still in the master's own memory when it dies.
  const std::string filler(1 << 20, 'x');
  for (int i = 0; i < 48; ++i) {
    ASSERT_TRUE(unwaiting.Execute({"SET", absl::StrCat(keys[0], ":filler"), filler}).ok());
  }
  auto unreplicated = unwaiting.Execute({"SET", keys[0], "unreplicated"});
  ASSERT_TRUE(unreplicated.ok() && unreplicated->str == "OK");

  cluster.Kill(master);
  cluster.Resume(replica);
  ASSERT_TRUE(WaitFor(
      [&] {
        ScopedDeadline deadline(absl::Now() + absl::Milliseconds(500));
        auto read = client.Execute({"GET", keys[0]});
        return read.ok() && !read->IsError();
      },
      absl::Seconds(20)));
  for (const auto& [key, value] : acknowledged) {
    auto read = client.Execute({"GET", key});
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_EQ(read->str, value) << key;
  }
  auto lost = client.Execute({"GET", keys[0]});
  ASSERT_TRUE(lost.ok());
  // The unwaiting client's acknowledged write is gone (what is there is older: "before", or the
  // waiting client's refused write, which had reached the replica's socket).
  EXPECT_NE(lost->str, "unreplicated");
}

}  // namespace
}  // namespace peerwell
