// `peerwellctl migrate` against a real redis-server holding data in the layout of the releases
// before events and schedules were per organisation: everything lands where this release reads
// it, the consumer groups go on where they had got to, a second run changes nothing, and a run
// that stopped halfway is finished by the next.
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/events.h"
#include "services/common/organization_registry.h"
#include "services/common/redis_client.h"
#include "tests/testing/process.h"
#include "tests/testing/redis_server.h"

namespace peerwell {
namespace {

using ::peerwell::testing::RedisServer;
using ::peerwell::testing::ServerProcess;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

struct CtlRun {
  int exit_code = -1;
  std::string output;
};

class MigrateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // As the tests' own user, which may touch every key (as the migration's user must).
    const RedisAddress as = redis_.address();
    password_file_ = absl::StrCat(redis_.directory(), "/migrate-password");
    std::ofstream(password_file_) << as.password << "\n";
    user_ = as.username;
    ASSERT_NO_FATAL_FAILURE(WriteOldLayout());
  }

  CtlRun Migrate(bool json = true, bool as_each_service = false) {
    std::vector<std::string> args = {"migrate", "--redis-addr", redis_.address_string()};
    if (as_each_service) {
      // The services' passwords, a file each, as their Secret holds them.
      const std::string folder = absl::StrCat(redis_.directory(), "/service-passwords");
      std::filesystem::create_directories(folder);
      for (const char* service :
           {"directory", "checkin", "alerts", "supervision", "network", "webhooks"}) {
        std::ofstream(absl::StrCat(folder, "/", service))
            << peerwell::testing::TestRedisPassword(service);
      }
      args.insert(args.end(), {"--redis-password-dir", folder});
    } else {
      args.insert(args.end(), {"--redis-user", user_, "--redis-password-file", password_file_});
    }
    if (json) args.insert(args.begin(), "--json");
    ServerProcess ctl(PEERWELLCTL_BINARY, args, {});
    ctl.Start();
    CtlRun run;
    run.exit_code = ctl.WaitForExit(absl::Seconds(30)).value_or(-1);
    run.output = ctl.Output();
    return run;
  }

  RedisReply Do(RedisCommand command) {
    auto reply = redis_client_.Execute(std::move(command));
    EXPECT_TRUE(reply.ok()) << reply.status();
    EXPECT_FALSE(reply.ok() && reply->IsError()) << reply->str;
    return reply.ok() ? *reply : RedisReply{};
  }

  // How many of the keys exist (one EXISTS each: they are in different slots).
  long long Existing(const std::vector<std::string>& keys) {
    long long existing = 0;
    for (const std::string& key : keys) existing += Do({"EXISTS", key}).integer;
    return existing;
  }

  std::vector<std::string> Ids(const std::string& stream) {
    std::vector<std::string> ids;
    for (const StreamEntry& entry : ParseStreamEntries(Do({"XRANGE", stream, "-", "+"}))) {
      ids.push_back(entry.id);
    }
    return ids;
  }

  // What a group reads next from a stream, its unacknowledged entries first (as a consumer that
  // restarts does: "0", then ">").
  std::vector<std::string> GroupReads(const std::string& stream, const std::string& group) {
    std::vector<std::string> ids;
    for (const char* from : {"0", ">"}) {
      RedisReply read = Do({"XREADGROUP", "GROUP", group, "consumer-1", "STREAMS", stream, from});
      if (!read.IsArray() || read.elements.empty()) continue;
      for (const StreamEntry& entry : ParseStreamEntries(read.elements[0].elements[1])) {
        ids.push_back(entry.id);
      }
    }
    return ids;
  }

  // Two organisations of the directory, not in the registry; the check-ins' events of both in
  // the one stream of the old layout, read by the alerts (up to the third, the second of which it
  // never acknowledged) and the supervision service (up to the first); a dead letter; every
  // schedule for both organisations in the one key of its kind.
  void WriteOldLayout() {
    Do({"HSET", "pw:{o1}:directory:org", "display_name", "Harbour", "create_time",
        "1700000000000000"});
    Do({"HSET", "pw:{o2}:directory:org", "display_name", "Lighthouse", "create_time",
        "1700000100000000"});
    const std::string old_stream = "pw:events:checkin";
    const std::vector<std::string> orgs = {"o1", "o2", "o1", "o2", "o1"};
    for (size_t i = 0; i < orgs.size(); ++i) {
      const std::string id = absl::StrCat("1700000200000-", i + 1);
      Do({"XADD", old_stream, id, "type", "checkin.submitted", "organization_id", orgs[i],
          "volunteer_id", absl::StrCat("v", i + 1)});
    }
    Do({"XGROUP", "CREATE", old_stream, "alerts", "0"});
    Do({"XREADGROUP", "GROUP", "alerts", "a", "COUNT", "3", "STREAMS", old_stream, ">"});
    Do({"XACK", old_stream, "alerts", "1700000200000-1", "1700000200000-3"});
    Do({"XGROUP", "CREATE", old_stream, "supervision", "0"});
    Do({"XREADGROUP", "GROUP", "supervision", "s", "COUNT", "1", "STREAMS", old_stream, ">"});
    Do({"XACK", old_stream, "supervision", "1700000200000-1"});
    // As a consumer writes it: where it came from, and the event's fields as "event.<name>".
    Do({"XADD", "pw:events:checkin:dead", "1700000300000-0", "source_stream", "pw:events:checkin",
        "source_id", "1700000100000-0", "group", "alerts", "error", "no such volunteer",
        "event.type", "checkin.submitted", "event.organization_id", "o2"});
    Do({"ZADD", "pw:alerts:deadlines", "1700000400000000", "pw:{o1}:alerts:alert:a1",
        "1700000500000000", "pw:{o2}:alerts:alert:a2"});
    Do({"ZADD", "pw:alerts:last_checkin", "1700000600000000", "o1/v1", "1700000700000000",
        "o2/v2"});
    Do({"ZADD", "pw:webhooks:due", "1700000800000000", "pw:{o2}:webhooks:delivery:w1:e1"});
    Do({"ZADD", "pw:directory:erasures_due", "1700000900000000", "o1/er1"});
  }

  void ExpectNewLayout() {
    EXPECT_THAT(*ListOrganizations(redis_client_), ElementsAre("o1", "o2"));
    EXPECT_EQ(Do({"ZSCORE", kOrganizationsKey, "o2"}).str, "1700000100000000");
    const std::string o1 = EventStreamKey("checkin", "o1");
    const std::string o2 = EventStreamKey("checkin", "o2");
    // Entries no group still needed (the first, handled by both) stay behind; the others keep
    // their ids.
    EXPECT_THAT(Ids(o1), ElementsAre("1700000200000-3", "1700000200000-5"));
    EXPECT_THAT(Ids(o2), ElementsAre("1700000200000-2", "1700000200000-4"));
    EXPECT_THAT(Ids(DeadLetterStreamKey(o2)), ElementsAre("1700000300000-0"));
    std::vector<StreamEntry> dead =
        ParseStreamEntries(Do({"XRANGE", DeadLetterStreamKey(o2), "-", "+"}));
    ASSERT_EQ(dead.size(), 1u);
    EXPECT_EQ(dead[0].Get("source_stream"), o2);  // where it would be sent again from now
    EXPECT_EQ(dead[0].Get("event.organization_id"), "o2");
    EXPECT_EQ(dead[0].Get("error"), "no such volunteer");
    EXPECT_EQ(Existing({"pw:checkin:migrated_until:events", "pw:checkin:migrated_until:dead"}), 0);
    EXPECT_EQ(Existing({"pw:events:checkin", "pw:events:checkin:dead"}), 0);
    // Schedules, each in its organisation's key.
    EXPECT_EQ(Do({"ZSCORE", "pw:{o1}:alerts:deadlines", "pw:{o1}:alerts:alert:a1"}).str,
              "1700000400000000");
    EXPECT_EQ(Do({"ZSCORE", "pw:{o2}:alerts:deadlines", "pw:{o2}:alerts:alert:a2"}).str,
              "1700000500000000");
    EXPECT_EQ(Do({"ZSCORE", "pw:{o1}:alerts:last_checkin", "v1"}).str, "1700000600000000");
    EXPECT_EQ(Do({"ZSCORE", "pw:{o2}:alerts:last_checkin", "v2"}).str, "1700000700000000");
    EXPECT_EQ(Do({"ZSCORE", "pw:{o2}:webhooks:due", "pw:{o2}:webhooks:delivery:w1:e1"}).str,
              "1700000800000000");
    EXPECT_EQ(Do({"ZSCORE", "pw:{o1}:directory:erasures_due", "o1/er1"}).str, "1700000900000000");
    EXPECT_EQ(Existing({"pw:alerts:deadlines", "pw:alerts:last_checkin", "pw:webhooks:due",
                        "pw:directory:erasures_due"}),
              0);
  }

  RedisServer redis_;
  RedisClient redis_client_{RedisOptions{redis_.address()}};
  std::string user_, password_file_;
};

TEST_F(MigrateTest, MovesEventsSchedulesAndOrganisationsWhereThisReleaseReadsThem) {
  CtlRun run = Migrate();
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("\"organizationsRegistered\":2"));
  EXPECT_THAT(run.output, HasSubstr("\"entriesCopied\":5"));  // four events, one dead letter
  EXPECT_THAT(run.output, HasSubstr("\"scheduleMembersMoved\":6"));
  ExpectNewLayout();
  // Each group reads on from where it was: the alerts the one it had not acknowledged and the
  // ones it had not read; supervision everything after the first.
  EXPECT_THAT(GroupReads(EventStreamKey("checkin", "o2"), "alerts"),
              ElementsAre("1700000200000-2", "1700000200000-4"));
  EXPECT_THAT(GroupReads(EventStreamKey("checkin", "o1"), "alerts"),
              ElementsAre("1700000200000-5"));
  EXPECT_THAT(GroupReads(EventStreamKey("checkin", "o1"), "supervision"),
              ElementsAre("1700000200000-3", "1700000200000-5"));
  EXPECT_THAT(GroupReads(EventStreamKey("checkin", "o2"), "supervision"),
              ElementsAre("1700000200000-2", "1700000200000-4"));
}

// With the services' own users, as against the bundled Redis, which has no user that may touch
// every key: each part is moved by the service whose keys they are, within its ACL rules.
TEST_F(MigrateTest, EachServicesOwnUserMovesItsOwnKeys) {
  CtlRun run = Migrate(/*json=*/true, /*as_each_service=*/true);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("\"entriesCopied\":5"));
  ExpectNewLayout();
  EXPECT_THAT(GroupReads(EventStreamKey("checkin", "o2"), "alerts"),
              ElementsAre("1700000200000-2", "1700000200000-4"));
}

TEST_F(MigrateTest, ASecondRunChangesNothing) {
  ASSERT_EQ(Migrate().exit_code, 0);
  CtlRun again = Migrate(/*json=*/false);
  ASSERT_EQ(again.exit_code, 0) << again.output;
  for (const char* nothing :
       {"organisations registered: 0", "event entries copied: 0", "consumer groups created: 0",
        "schedule members moved: 0", "old event streams removed: 0"}) {
    EXPECT_THAT(again.output, HasSubstr(nothing));
  }
  ExpectNewLayout();
}

TEST_F(MigrateTest, ARunThatStoppedHalfwayIsFinishedByTheNext) {
  // What a run stopped after its first page of copies and its first schedule's moves leaves:
  // some entries copied (and so newer than the groups), one schedule member moved.
  Do({"XADD", EventStreamKey("checkin", "o2"), "1700000200000-2", "type", "checkin.submitted",
      "organization_id", "o2", "volunteer_id", "v2"});
  Do({"ZADD", "pw:{o1}:alerts:deadlines", "1700000400000000", "pw:{o1}:alerts:alert:a1"});
  Do({"ZREM", "pw:alerts:deadlines", "pw:{o1}:alerts:alert:a1"});
  CtlRun run = Migrate();
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("\"entriesCopied\":4"));
  ExpectNewLayout();
}

TEST_F(MigrateTest, AnEventWithoutAnOrganisationIsLeftInPlaceAndSaid) {
  Do({"XADD", "pw:events:alerts", "1700000200000-9", "type", "alert.triggered"});
  CtlRun run = Migrate();
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_THAT(run.output,
              HasSubstr("pw:events:alerts (or its dead letters) holds entries without an "
                        "organization_id"));
  EXPECT_EQ(Do({"EXISTS", "pw:events:alerts"}).integer, 1);
}

// Run after this release's services had started: an organisation's stream already holds their
// newer events, so the old ones go after them, under new ids, and are still read.
TEST_F(MigrateTest, AfterThisReleaseWroteEventsTheOldOnesComeAfterThem) {
  const std::string o1 = EventStreamKey("checkin", "o1");
  Do({"XADD", o1, "1800000000000-0", "type", "checkin.submitted", "organization_id", "o1",
      "volunteer_id", "v9"});
  Do({"XGROUP", "CREATE", o1, "alerts", "0"});
  Do({"XREADGROUP", "GROUP", "alerts", "a", "STREAMS", o1, ">"});
  Do({"XACK", o1, "alerts", "1800000000000-0"});
  CtlRun run = Migrate();
  ASSERT_EQ(run.exit_code, 0) << run.output;
  std::vector<StreamEntry> entries = ParseStreamEntries(Do({"XRANGE", o1, "-", "+"}));
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].Get("volunteer_id"), "v9");
  EXPECT_EQ(entries[1].Get("volunteer_id"), "v3");
  EXPECT_EQ(entries[2].Get("volunteer_id"), "v5");
  EXPECT_NE(entries[1].id, "1700000200000-3");  // under a new id
  // The alerts' group, already there, reads the old events next.
  EXPECT_THAT(GroupReads(o1, "alerts"), ElementsAre(entries[1].id, entries[2].id));
  // A second run copies none of them again.
  CtlRun again = Migrate();
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(Ids(o1).size(), 3u);
}

TEST_F(MigrateTest, AnUnreachableRedisIsNamed) {
  std::vector<std::string> args = {"migrate",      "--redis-addr", "unix:/nonexistent/redis.sock",
                                   "--redis-user", user_,          "--redis-password-file",
                                   password_file_};
  ServerProcess ctl(PEERWELLCTL_BINARY, args, {});
  ctl.Start();
  EXPECT_EQ(ctl.WaitForExit(absl::Seconds(60)).value_or(-1), 1) << ctl.Output();
  EXPECT_THAT(ctl.Output(), HasSubstr("hint: the Redis is not reachable at unix:/nonexistent"));
}

}  // namespace
}  // namespace peerwell
