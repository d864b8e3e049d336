// Each service reaches Redis as its own ACL user (deploy/base/redis-acl-rules.conf, the rules
// every deployment and the tests' redis-server load). The whole suite runs under them in every
// process test; here, what each user must be refused.
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/common/audit.h"
#include "services/common/events.h"
#include "services/common/organization_registry.h"
#include "services/common/redis_client.h"
#include "tests/testing/redis_server.h"

namespace peerwell {
namespace {

using ::peerwell::testing::RedisServer;

const std::vector<std::string> kServices = {"directory",   "checkin", "alerts",
                                            "supervision", "network", "webhooks"};

class RedisAclTest : public ::testing::Test {
 protected:
  // As the service's own client connects: the address with its user and password.
  std::unique_ptr<RedisClient> ClientOf(const std::string& user) {
    RedisOptions options;
    options.address = server_.address_for(user);
    options.default_timeout = absl::Seconds(2);
    return std::make_unique<RedisClient>(options);
  }

  // "" when Redis did it; its error otherwise.
  static std::string Run(RedisClient& client, const RedisCommand& command) {
    auto reply = client.Execute(command);
    if (!reply.ok()) return std::string(reply.status().message());
    return reply->IsError() ? reply->str : "";
  }

  static bool Refused(RedisClient& client, const RedisCommand& command) {
    return absl::StartsWith(Run(client, command), "NOPERM");
  }

  // Whether `user` may hear `service`'s doorbell (SUBSCRIBE, on a connection of its own).
  bool Subscribes(const std::string& user, const std::string& service) {
    auto connection = RedisConnection::Connect(server_.address_for(user), absl::Seconds(1));
    if (!connection.ok()) return false;
    auto reply = (*connection)->Execute({"SUBSCRIBE", EventChannel(service)}, absl::Seconds(1));
    return reply.ok() && !reply->IsError();
  }

  RedisServer server_;
};

TEST_F(RedisAclTest, EachServiceWritesItsOwnKeysAndNoOtherServices) {
  for (const std::string& service : kServices) {
    SCOPED_TRACE(service);
    auto client = ClientOf(service);
    const std::string own = absl::StrCat("pw:{o1}:", service, ":thing:1");
    EXPECT_EQ(Run(*client, {"HSET", own, "field", "value"}), "");
    EXPECT_EQ(Run(*client, {"HGET", own, "field"}), "");
    EXPECT_EQ(Run(*client, {"SET", absl::StrCat("pw:", service, ":platform"), "1"}), "");
    EXPECT_EQ(Run(*client, {"XADD", EventStreamKey(service, "o1"), "*", "type", "x"}), "");
    EXPECT_EQ(Run(*client, {"PUBLISH", EventChannel(service), "o1"}), "");
    // A script's keys are checked too, those in KEYS and those it names itself.
    EXPECT_EQ(Run(*client, {"EVAL", "return redis.call('SET', KEYS[1], 'v')", "1", own}), "");
    for (const std::string& other : kServices) {
      if (other == service) continue;
      SCOPED_TRACE(other);
      const std::string theirs = absl::StrCat("pw:{o1}:", other, ":thing:1");
      EXPECT_TRUE(Refused(*client, {"HSET", theirs, "field", "value"}));
      EXPECT_TRUE(Refused(*client, {"HGETALL", theirs}));
      EXPECT_TRUE(Refused(*client, {"DEL", theirs}));
      EXPECT_TRUE(Refused(*client, {"GET", absl::StrCat("pw:", other, ":platform")}));
      // Forging another service's events.
      EXPECT_TRUE(Refused(*client, {"XADD", EventStreamKey(other, "o1"), "*", "type", "x"}));
      EXPECT_TRUE(Refused(*client, {"XDEL", EventStreamKey(other, "o1"), "1-1"}));
      EXPECT_TRUE(Refused(*client, {"PUBLISH", EventChannel(other), "o1"}));
      EXPECT_TRUE(Refused(*client, {"EVAL", "return redis.call('GET', KEYS[1])", "1", theirs}));
      const std::string named_inside = absl::StrCat("return redis.call('GET', '", theirs, "')");
      EXPECT_NE(Run(*client, {"EVAL", named_inside, "0"}), "");
    }
  }
}

TEST_F(RedisAclTest, NoServiceTrimsTheAuditStreamOnlyTheDirectoryReadsItAndDeletesAnEntry) {
  const std::string audit = AuditStreamKey("o1");
  auto tests = ClientOf("peerwell-tests");
  auto id = tests->Execute({"XADD", audit, "*", "rpc", "GetPerson"});
  ASSERT_TRUE(id.ok() && !id->IsError());
  for (const std::string& service : kServices) {
    SCOPED_TRACE(service);
    auto client = ClientOf(service);
    EXPECT_TRUE(Refused(*client, {"XTRIM", audit, "MAXLEN", "0"}));
    EXPECT_TRUE(Refused(*client, {"DEL", audit}));
    EXPECT_TRUE(Refused(*client, {"UNLINK", audit}));
    EXPECT_TRUE(Refused(*client, {"RENAME", audit, absl::StrCat("pw:{o1}:", service, ":x")}));
    // A script cannot do it for them either.
    EXPECT_NE(Run(*client, {"EVAL", "return redis.call('DEL', KEYS[1])", "1", audit}), "");
    EXPECT_NE(
        Run(*client, {"EVAL", "return redis.call('XTRIM', KEYS[1], 'MAXLEN', '0')", "1", audit}),
        "");
    if (service != "directory") {
      EXPECT_TRUE(Refused(*client, {"XRANGE", audit, "-", "+"}));
      EXPECT_TRUE(Refused(*client, {"XREVRANGE", audit, "+", "-"}));
      EXPECT_TRUE(Refused(*client, {"XDEL", audit, id->str}));
      EXPECT_NE(Run(*client,
                    {"EVAL", "return redis.call('XDEL', KEYS[1], ARGV[1])", "1", audit, id->str}),
                "");
    }
  }
  // Only the services that audit reads of personal data append to it.
  for (const char* service : {"directory", "checkin", "alerts"}) {
    auto client = ClientOf(service);
    EXPECT_EQ(Run(*client, {"XADD", audit, "*", "rpc", "x"}), "") << service;
  }
  for (const char* service : {"supervision", "network", "webhooks"}) {
    auto client = ClientOf(service);
    EXPECT_TRUE(Refused(*client, {"XADD", audit, "*", "rpc", "x"})) << service;
  }
  // ListAuditRecords and ExportPersonData: the directory reads it, newest first or oldest; an
  // erasure deletes the records about the erased person, from a script too (ErasePerson writes
  // its own record in the script that erases).
  auto directory = ClientOf("directory");
  EXPECT_EQ(Run(*directory, {"XRANGE", audit, "-", "+"}), "");
  EXPECT_EQ(Run(*directory, {"XREVRANGE", audit, "+", "-", "COUNT", "1"}), "");
  EXPECT_EQ(
      Run(*directory,
          {"EVAL", "return redis.call('XADD', KEYS[1], '*', 'rpc', 'ErasePerson')", "1", audit}),
      "");
  EXPECT_EQ(Run(*directory, {"XDEL", audit, id->str}), "");
  auto length = tests->Execute({"XLEN", audit});
  ASSERT_TRUE(length.ok());
  EXPECT_EQ(length->integer, 4);
}

TEST_F(RedisAclTest, AConsumerReadsItsSourceStreamsAsAGroupAndWritesOnlyTheirDeadLetters) {
  struct Consumer {
    std::string service;
    std::vector<std::string> sources;
  };
  for (const Consumer& consumer :
       {Consumer{"checkin", {"directory"}},
        Consumer{"alerts", {"checkin", "supervision", "directory"}},
        Consumer{"supervision", {"checkin", "directory"}}, Consumer{"network", {"directory"}},
        Consumer{"webhooks", {"alerts", "directory"}}}) {
    SCOPED_TRACE(consumer.service);
    auto client = ClientOf(consumer.service);
    for (const std::string& source : consumer.sources) {
      const std::string stream = EventStreamKey(source, "o1");
      const std::string group = consumer.service;
      EXPECT_TRUE(Subscribes(consumer.service, source));
      EXPECT_EQ(Run(*client, {"XGROUP", "CREATE", stream, group, "0", "MKSTREAM"}), "");
      EXPECT_EQ(
          Run(*client, {"XREADGROUP", "GROUP", group, "c1", "COUNT", "1", "STREAMS", stream, ">"}),
          "");
      EXPECT_EQ(Run(*client, {"XAUTOCLAIM", stream, group, "c1", "1000", "0-0"}), "");
      EXPECT_EQ(Run(*client, {"XACK", stream, group, "1-1"}), "");
      EXPECT_EQ(Run(*client, {"XPENDING", stream, group}), "");
      EXPECT_EQ(Run(*client, {"XINFO", "GROUPS", stream}), "");
      EXPECT_EQ(Run(*client, {"XADD", stream + ":dead", "*", "source_id", "1-1"}), "");
      EXPECT_TRUE(Refused(*client, {"XADD", stream, "*", "type", "forged"}));
      EXPECT_TRUE(Refused(*client, {"PUBLISH", EventChannel(source), "o1"}));
      EXPECT_TRUE(Refused(*client, {"XGROUP", "DESTROY", stream, group}));
      EXPECT_TRUE(Refused(*client, {"XTRIM", stream, "MAXLEN", "0"}));
      EXPECT_TRUE(Refused(*client, {"DEL", stream + ":dead"}));
    }
  }
  // Every replica of a service that asks the directory follows its events without a group too
  // (DirectoryChangeFeed; the network's live delivery as well), and every consumer sweeps the
  // organisations the directory registered.
  for (const char* service : {"checkin", "alerts", "supervision", "network", "webhooks"}) {
    SCOPED_TRACE(service);
    auto client = ClientOf(service);
    const std::string stream = EventStreamKey("directory", "o1");
    EXPECT_EQ(Run(*client, {"XREVRANGE", stream, "+", "-", "COUNT", "1"}), "");
    EXPECT_EQ(Run(*client, {"XREAD", "COUNT", "1", "STREAMS", stream, "0-0"}), "");
    EXPECT_TRUE(Subscribes(service, "directory"));
    EXPECT_EQ(Run(*client, {"ZRANGE", kOrganizationsKey, "0", "-1"}), "");
    EXPECT_TRUE(Refused(*client, {"ZADD", kOrganizationsKey, "1", "o9"}));
  }
  // Nobody hears a doorbell it has no group for: the webhooks service not the check-ins'.
  EXPECT_FALSE(Subscribes("webhooks", "checkin"));
  // A service owns its own events' dead letters: an erasure deletes a person's from them.
  for (const std::string& service : kServices) {
    SCOPED_TRACE(service);
    auto client = ClientOf(service);
    const std::string dead = DeadLetterStreamKey(EventStreamKey(service, "o1"));
    EXPECT_EQ(Run(*client, {"XRANGE", dead, "-", "+"}), "");
    EXPECT_EQ(Run(*client, {"XDEL", dead, "1-1"}), "");
  }
}

TEST_F(RedisAclTest, NoServiceRunsDangerousCommandsAndTheDefaultUserIsOff) {
  for (const std::string& service : kServices) {
    SCOPED_TRACE(service);
    auto client = ClientOf(service);
    for (const RedisCommand& command :
         {RedisCommand{"FLUSHALL"}, RedisCommand{"KEYS", "*"}, RedisCommand{"CONFIG", "GET", "*"},
          RedisCommand{"ACL", "LIST"}, RedisCommand{"CLIENT", "LIST"},
          RedisCommand{"SHUTDOWN"}}) {
      EXPECT_TRUE(Refused(*client, command)) << command[0];
    }
    // The health check's read.
    EXPECT_EQ(Run(*client, {"EXISTS", "pw:health"}), "");
    EXPECT_TRUE(Refused(*client, {"SET", "pw:health", "1"}));
  }
  auto probe = ClientOf("probe");
  EXPECT_EQ(Run(*probe, {"PING"}), "");
  EXPECT_TRUE(Refused(*probe, {"EXISTS", "pw:health"}));

  // No password: Redis's default user, which is off.
  RedisAddress anonymous = server_.address_for("checkin");
  anonymous.password.clear();
  auto connection = RedisConnection::Connect(anonymous, absl::Seconds(1));
  ASSERT_TRUE(connection.ok()) << connection.status();
  auto reply = (*connection)->Execute({"PING"}, absl::Seconds(1));
  ASSERT_TRUE(reply.ok());
  EXPECT_TRUE(absl::StartsWith(reply->str, "NOAUTH")) << reply->str;
}

TEST_F(RedisAclTest, WritesOfScriptsAndTransactionsSurviveACrashWithTheDefaultUserOff) {
  auto checkin = ClientOf("checkin");
  // Redis writes a script's effects to the append-only file as MULTI/EXEC, and replays it as the
  // default user: a default user without permissions would drop these on restart.
  ASSERT_EQ(Run(*checkin, {"EVAL", "return redis.call('SET', KEYS[1], 'scripted')", "1",
                           "pw:{o1}:checkin:scripted"}),
            "");
  auto transaction = checkin->Transaction({{"SET", "pw:{o1}:checkin:in_multi", "1"},
                                           {"SET", "pw:{o1}:checkin:in_multi_too", "2"}});
  ASSERT_TRUE(transaction.ok()) << transaction.status();
  checkin.reset();
  server_.Restart();
  auto after = ClientOf("checkin");
  auto values = after->Execute({"MGET", "pw:{o1}:checkin:scripted", "pw:{o1}:checkin:in_multi",
                                "pw:{o1}:checkin:in_multi_too"});
  ASSERT_TRUE(values.ok()) << values.status();
  ASSERT_EQ(values->elements.size(), 3u);
  EXPECT_EQ(values->elements[0].str, "scripted");
  EXPECT_EQ(values->elements[1].str, "1");
  EXPECT_EQ(values->elements[2].str, "2");
}

TEST_F(RedisAclTest, AWrongPasswordIsUnavailableNamingTheUserNotThePassword) {
  RedisAddress wrong = server_.address_for("checkin");
  wrong.password = "not-the-password";
  auto connection = RedisConnection::Connect(wrong, absl::Seconds(1));
  ASSERT_FALSE(connection.ok());
  EXPECT_EQ(connection.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(connection.status().message(), "refused user checkin"))
      << connection.status();
  EXPECT_FALSE(absl::StrContains(connection.status().message(), "not-the-password"));

  RedisOptions options;
  options.address = wrong;
  RedisClient client(options);
  EXPECT_EQ(client.Ping(absl::Milliseconds(500)).code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace peerwell
