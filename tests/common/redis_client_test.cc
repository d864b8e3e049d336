#include "services/common/redis_client.h"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <limits>
#include <string>
#include <thread>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/common/blocking.h"
#include "services/common/deadline.h"
#include "services/common/organization_registry.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/wait.h"

namespace peerwell {
namespace {

using ::peerwell::testing::RedisServer;
using ::peerwell::testing::WaitFor;

RedisOptions Options(const RedisServer& server) {
  RedisOptions options;
  options.address = server.address();
  options.default_timeout = absl::Seconds(2);
  return options;
}

TEST(RedisClientTest, RunsCommandsAndReadsReplies) {
  RedisServer server;
  RedisClient client(Options(server));
  ASSERT_TRUE(client.Execute({"SET", "k", "v"}).ok());
  auto reply = client.Execute({"GET", "k"});
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->str, "v");
  auto missing = client.Execute({"GET", "nothing"});
  ASSERT_TRUE(missing.ok());
  EXPECT_TRUE(missing->IsNil());
  auto error = client.Execute({"INCR", "k"});
  ASSERT_TRUE(error.ok());
  EXPECT_TRUE(error->IsError());
}

// Replies are built straight from the wire: every shape, nested, and an array too large for
// one read of the socket, arrive whole.
TEST(RedisClientTest, RepliesOfEveryShapeArriveWhole) {
  RedisServer server;
  RedisClient client(Options(server));
  auto nested = client.Execute(
      {"EVAL", "return {1, 'two', {3, {'four'}, false}, redis.status_reply('FIVE'), {}}", "0"});
  ASSERT_TRUE(nested.ok()) << nested.status();
  ASSERT_TRUE(nested->IsArray());
  ASSERT_EQ(nested->elements.size(), 5u);
  EXPECT_EQ(nested->elements[0].type, RedisReply::Type::kInteger);
  EXPECT_EQ(nested->elements[0].integer, 1);
  EXPECT_EQ(nested->elements[1].type, RedisReply::Type::kString);
  EXPECT_EQ(nested->elements[1].str, "two");
  const RedisReply& inner = nested->elements[2];
  ASSERT_EQ(inner.elements.size(), 3u);
  EXPECT_EQ(inner.elements[0].integer, 3);
  ASSERT_EQ(inner.elements[1].elements.size(), 1u);
  EXPECT_EQ(inner.elements[1].elements[0].str, "four");
  EXPECT_TRUE(inner.elements[2].IsNil());
  EXPECT_EQ(nested->elements[3].type, RedisReply::Type::kStatus);
  EXPECT_EQ(nested->elements[3].str, "FIVE");
  EXPECT_TRUE(nested->elements[4].IsArray());
  EXPECT_TRUE(nested->elements[4].elements.empty());

  auto exec = client.Transaction({{"SET", "s", "x"}, {"INCR", "s"}, {"GET", "s"}});
  ASSERT_TRUE(exec.ok()) << exec.status();
  ASSERT_EQ(exec->size(), 3u);
  EXPECT_EQ((*exec)[0].type, RedisReply::Type::kStatus);
  EXPECT_TRUE((*exec)[1].IsError());
  EXPECT_EQ((*exec)[2].str, "x");

  std::string member(100, 'm');
  RedisCommand add{"ZADD", "z"};
  for (int i = 0; i < 5000; ++i) {
    add.push_back(absl::StrCat(i));
    add.push_back(absl::StrCat(member, i));
  }
  ASSERT_TRUE(client.Execute(add).ok());
  auto range = client.Execute({"ZRANGE", "z", "0", "-1", "WITHSCORES"});
  ASSERT_TRUE(range.ok()) << range.status();
  ASSERT_EQ(range->elements.size(), 10000u);
  EXPECT_EQ(range->elements[0].str, absl::StrCat(member, 0));
  EXPECT_EQ(range->elements[9998].str, absl::StrCat(member, 4999));
  EXPECT_EQ(range->elements[9999].str, "4999");
}

TEST(RedisClientTest, ATransactionABusyServerRefusesIsUnavailableNotAFailure) {
  RedisServer server;
  RedisClient client(Options(server));
  ASSERT_TRUE(client.Execute({"CONFIG", "SET", "busy-reply-threshold", "20"}).ok());
  auto blocker = RedisConnection::Connect(server.address(), absl::Seconds(1));
  ASSERT_TRUE(blocker.ok()) << blocker.status();
  std::thread script([&] {
    (void)(*blocker)->Execute({"EVAL", "while true do end", "0"}, absl::Seconds(20));
  });
  // Busy once the script has run past the threshold: every command is refused with BUSY.
  bool busy = WaitFor([&] {
    auto reply = client.Execute({"GET", "k"});
    return !reply.ok() || reply->IsError();
  });
  auto result = client.Transaction({{"SET", "k", "v"}});
  auto killer = RedisConnection::Connect(server.address(), absl::Seconds(1));
  ASSERT_TRUE(killer.ok()) << killer.status();
  (void)(*killer)->Execute({"SCRIPT", "KILL"}, absl::Seconds(2));
  script.join();
  ASSERT_TRUE(busy);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable) << result.status();
}

TEST(RedisClientTest, AnErrorWhoseCodeOnlyBeginsLikeBusyIsTheCommandsOwnReply) {
  RedisServer server;
  RedisClient client(Options(server));
  ASSERT_TRUE(client.Execute({"XGROUP", "CREATE", "s", "g", "0", "MKSTREAM"}).ok());
  // BUSYGROUP: the group exists already. The command failed; the server is not busy.
  auto again = client.Execute({"XGROUP", "CREATE", "s", "g", "0"});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->IsError());
  EXPECT_TRUE(absl::StartsWith(again->str, "BUSYGROUP")) << again->str;
}

// When Redis's memory is full (noeviction), reads still run, and a script is refused before it
// starts, so that it never stops halfway with some writes done.
TEST(RedisClientTest, AtMaxmemoryReadsRunAndAScriptIsRefusedBeforeItStarts) {
  RedisServer server;
  RedisClient client(Options(server));
  ASSERT_EQ(client.Execute({"SET", "pw:{o}:a", "x"})->str, "OK");
  const RedisScript writes("redis.call('DEL', KEYS[1]) redis.call('SET', KEYS[2], 'y') return 1");
  ASSERT_FALSE(client.Execute({"CONFIG", "SET", "maxmemory", "1"})->IsError());
  auto read = client.ExecuteAll({{"MGET", "pw:{o}:a"}, {"HGETALL", "pw:{o}:h"}});
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ((*read)[0].elements[0].str, "x");
  auto write = client.Eval(writes, {"pw:{o}:a", "pw:{o}:b"}, {});
  ASSERT_TRUE(write.ok()) << write.status();
  EXPECT_TRUE(write->IsError());
  EXPECT_NE(write->str.find("OOM"), std::string::npos) << write->str;
  ASSERT_FALSE(client.Execute({"CONFIG", "SET", "maxmemory", "0"})->IsError());
  // Nothing of it happened: not even the DEL, which needs no memory.
  EXPECT_EQ(client.Execute({"GET", "pw:{o}:a"})->str, "x");
  EXPECT_EQ(client.Execute({"EXISTS", "pw:{o}:b"})->integer, 0);
}

TEST(RedisClientTest, KeepsRepliesOfConcurrentCallersInOrder) {
  RedisServer server;
  RedisClient client(Options(server));
  constexpr int kThreads = 32;
  constexpr int kCallsPerThread = 400;
  std::atomic<int> mismatches{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCallsPerThread; ++i) {
        std::string key = absl::StrCat("key:", t, ":", i);
        std::string value = absl::StrCat("value:", t, ":", i);
        // A group of commands whose replies must come back to this caller, in this order.
        auto replies = client.ExecuteAll({{"SET", key, value}, {"GET", key}, {"STRLEN", key}});
        if (!replies.ok()) {
          ++failures;
          continue;
        }
        if ((*replies)[1].str != value ||
            (*replies)[2].integer != static_cast<long long>(value.size())) {
          ++mismatches;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(mismatches.load(), 0);
  auto size = client.Execute({"DBSIZE"});
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(size->integer, kThreads * kCallsPerThread);
}

TEST(RedisClientTest, TransactionIsAtomicGroup) {
  RedisServer server;
  RedisClient client(Options(server));
  auto replies = client.Transaction({{"INCR", "a"}, {"INCRBY", "a", "10"}, {"GET", "a"}});
  ASSERT_TRUE(replies.ok()) << replies.status();
  ASSERT_EQ(replies->size(), 3u);
  EXPECT_EQ((*replies)[2].str, "11");
}

TEST(RedisClientTest, EvalFallsBackWhenScriptIsUnknown) {
  RedisServer server;
  RedisClient client(Options(server));
  RedisScript script("return redis.call('INCRBY', KEYS[1], ARGV[1])");
  auto first = client.Eval(script, {"counter"}, {"2"});
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->integer, 2);
  ASSERT_TRUE(client.Execute({"SCRIPT", "FLUSH"}).ok());
  auto second = client.Eval(script, {"counter"}, {"3"});
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->integer, 5);
}

TEST(RedisClientTest, ExecuteInSlicesAnswersEveryCommandInOrderAcrossItsRoundTrips) {
  RedisServer server;
  RedisClient client(Options(server));
  std::vector<RedisCommand> commands;
  for (int i = 0; i < 7; ++i) commands.push_back({"INCRBY", "counter", absl::StrCat(i)});
  auto replies = client.ExecuteInSlices(commands, 3);
  ASSERT_TRUE(replies.ok()) << replies.status();
  ASSERT_EQ(replies->size(), 7u);
  for (int i = 0, total = 0; i < 7; ++i) EXPECT_EQ((*replies)[i].integer, total += i);
}

TEST(RedisClientTest, EvalEachRunsTheScriptOncePerCallSendingItsSourceWhereUnknown) {
  RedisServer server;
  RedisClient client(Options(server));
  RedisScript script("return redis.call('INCRBY', KEYS[1], ARGV[1])");
  ASSERT_TRUE(client.Execute({"SCRIPT", "FLUSH"}).ok());
  auto replies = client.EvalEach(script, {{{"a"}, {"2"}}, {{"b"}, {"3"}}, {{"a"}, {"4"}}});
  ASSERT_TRUE(replies.ok()) << replies.status();
  ASSERT_EQ(replies->size(), 3u);
  EXPECT_EQ((*replies)[0].integer, 2);
  EXPECT_EQ((*replies)[1].integer, 3);
  EXPECT_EQ((*replies)[2].integer, 6);
}

// The organisation whose oldest due work is the oldest goes first, whatever the order of the
// registry: one organisation's backlog does not keep another's older work waiting.
TEST(RedisClientTest, ADueClaimIsSharedOutEarliestDueFirst) {
  RedisServer server;
  RedisClient client(Options(server));
  const absl::Time created = absl::FromUnixSeconds(1'700'000'000);
  for (const char* organization_id : {"o1", "o2", "o3", "o4"}) {
    ASSERT_TRUE(RegisterOrganization(client, organization_id,
                                     created + absl::Seconds(organization_id[1] - '0'))
                    .ok());
  }
  auto schedule = [](const std::string& organization_id) {
    return absl::StrCat("pw:{", organization_id, "}:test:due");
  };
  // o1 (the oldest): two due since 30 and one later; o2: nothing; o3: three due since 10; o4:
  // one due since 20.
  ASSERT_TRUE(client
                  .ExecuteAll({{"ZADD", schedule("o1"), "30", "a", "40", "b", "99", "later"},
                               {"ZADD", schedule("o3"), "10", "c", "11", "d", "12", "e"},
                               {"ZADD", schedule("o4"), "20", "f"}})
                  .ok());
  auto shares = DueAcrossOrganizations(client, schedule, "50", 4);
  ASSERT_TRUE(shares.ok()) << shares.status();
  std::vector<std::tuple<std::string, long long, int>> got;
  for (const DueShare& share : *shares)
    got.emplace_back(share.organization_id, share.due, share.take);
  EXPECT_EQ(got, (std::vector<std::tuple<std::string, long long, int>>{
                     {"o3", 3, 3}, {"o4", 1, 1}, {"o1", 2, 0}}));
}

// One organisation's schedule that cannot be read (here a key of the wrong type) leaves its own
// work waiting, not every organisation's.
TEST(RedisClientTest, ADueClaimGoesOnPastAnOrganisationWhoseScheduleCannotBeRead) {
  RedisServer server;
  RedisClient client(Options(server));
  auto schedule = [](const std::string& organization_id) {
    return absl::StrCat("pw:{", organization_id, "}:test:due");
  };
  for (const char* organization_id : {"o1", "o2", "o3"}) {
    ASSERT_TRUE(RegisterOrganization(client, organization_id, absl::Now()).ok());
  }
  ASSERT_TRUE(client
                  .ExecuteAll({{"ZADD", schedule("o1"), "10", "a"},
                               {"SET", schedule("o2"), "not a schedule"},
                               {"ZADD", schedule("o3"), "20", "c"}})
                  .ok());
  auto organizations = [](const std::vector<DueShare>& shares) {
    std::vector<std::string> named;
    for (const DueShare& share : shares) named.push_back(share.organization_id);
    return named;
  };
  auto shares = DueAcrossOrganizations(client, schedule, "50", 10);
  ASSERT_TRUE(shares.ok()) << shares.status();
  EXPECT_EQ(organizations(*shares), (std::vector<std::string>{"o1", "o3"}));
  ScheduleView view(schedule, absl::Minutes(1));
  view.Scheduled("o2");
  auto viewed = view.Due(client, "50", 10);
  ASSERT_TRUE(viewed.ok()) << viewed.status();
  EXPECT_EQ(organizations(*viewed), (std::vector<std::string>{"o1", "o3"}));
  // A claim that fails for one share (the key's type, a slot being moved) leaves the others'.
  const RedisScript claim(R"lua(
  local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
  for _, member in ipairs(due) do redis.call('ZADD', KEYS[1], ARGV[2], member) end
  return due
)lua");
  std::vector<DueShare> all{{"o1", 1, 1}, {"o2", 1, 1}, {"o3", 1, 1}};
  auto claimed = ClaimDueShares(client, claim, schedule, all, absl::FromUnixMicros(50),
                                absl::FromUnixMicros(100));
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  ASSERT_EQ(claimed->size(), 2u);
  EXPECT_EQ((*claimed)[0].elements[0].str, "a");
  EXPECT_EQ((*claimed)[1].elements[0].str, "c");
  // Only when every claim fails is the claim an error.
  auto failed = ClaimDueShares(client, claim, schedule, {{"o2", 1, 1}}, absl::FromUnixMicros(50),
                               absl::FromUnixMicros(100));
  EXPECT_FALSE(failed.ok());
}

TEST(RedisClientTest, AScheduleViewCountsTheOrganisationsWithAnythingScheduledAlone) {
  RedisServer server;
  RedisClient client(Options(server));
  for (const char* organization_id : {"o1", "o2"}) {
    ASSERT_TRUE(RegisterOrganization(client, organization_id, absl::Now()).ok());
  }
  auto schedule = [](const std::string& organization_id) {
    return absl::StrCat("pw:{", organization_id, "}:test:due");
  };
  auto organizations = [](const absl::StatusOr<std::vector<DueShare>>& shares) {
    std::vector<std::string> named;
    for (const DueShare& share : *shares) named.push_back(share.organization_id);
    return named;
  };
  ScheduleView view(schedule, absl::Minutes(1));
  auto none = view.Due(client, "50", 10);  // the first look: every organisation's schedule
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->empty());
  // Scheduled by another process: not seen before the next look at every organisation.
  ASSERT_TRUE(client.Execute({"ZADD", schedule("o2"), "10", "a"}).ok());
  auto unseen = view.Due(client, "50", 10);
  ASSERT_TRUE(unseen.ok()) << unseen.status();
  EXPECT_TRUE(unseen->empty());
  // Scheduled by this one: counted from now on.
  view.Scheduled("o2");
  auto seen = view.Due(client, "50", 10);
  ASSERT_TRUE(seen.ok()) << seen.status();
  EXPECT_EQ(organizations(seen), (std::vector<std::string>{"o2"}));
  // A view that looks at every organisation each time sees the other process's at once.
  ScheduleView eager(schedule, absl::ZeroDuration());
  ASSERT_TRUE(client.Execute({"ZADD", schedule("o1"), "20", "b"}).ok());
  auto both = eager.Due(client, "50", 10);
  ASSERT_TRUE(both.ok()) << both.status();
  EXPECT_EQ(organizations(both), (std::vector<std::string>{"o2", "o1"}));  // earliest due first
}

// A thousand organisations whose work is hours ahead cost a sweep nothing: a view counts only
// the organisations whose earliest member is due by then, as it last read it.
TEST(RedisClientTest, AScheduleViewCountsNothingWhereNothingIsDueYet) {
  RedisServer server;
  RedisClient client(Options(server));
  auto schedule = [](const std::string& organization_id) {
    return absl::StrCat("pw:{", organization_id, "}:test:due");
  };
  for (const char* organization_id : {"o1", "o2"}) {
    ASSERT_TRUE(RegisterOrganization(client, organization_id, absl::Now()).ok());
    ASSERT_TRUE(client.Execute({"ZADD", schedule(organization_id), "100", "later"}).ok());
  }
  auto zcounts = [&] {
    auto stats = client.Execute({"INFO", "commandstats"});
    return stats.ok() && absl::StrContains(stats->str, "cmdstat_zcount:");
  };
  ScheduleView view(schedule, absl::Minutes(1));
  ASSERT_TRUE(view.Due(client, "50", 10).ok());  // the first look reads each earliest member
  ASSERT_TRUE(client.Execute({"CONFIG", "RESETSTAT"}).ok());
  auto none = view.Due(client, "50", 10);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->empty());
  EXPECT_FALSE(zcounts());
  // Due by a later sweep's time: counted then.
  auto due = view.Due(client, "150", 10);
  ASSERT_TRUE(due.ok()) << due.status();
  EXPECT_EQ(due->size(), 2u);
  EXPECT_TRUE(zcounts());
  // Something earlier that this process scheduled is counted at once; what another process
  // scheduled earlier waits for the next look at every organisation.
  ASSERT_TRUE(client
                  .ExecuteAll({{"ZADD", schedule("o1"), "10", "soon"},
                               {"ZADD", schedule("o2"), "10", "soon"}})
                  .ok());
  view.Scheduled("o1");
  auto noted = view.Due(client, "50", 10);
  ASSERT_TRUE(noted.ok()) << noted.status();
  ASSERT_EQ(noted->size(), 1u);
  EXPECT_EQ((*noted)[0].organization_id, "o1");
  ScheduleView eager(schedule, absl::ZeroDuration());
  auto both = eager.Due(client, "50", 10);
  ASSERT_TRUE(both.ok()) << both.status();
  EXPECT_EQ(both->size(), 2u);
}

// What an asynchronous call answers, waited for here (the callback runs on an I/O thread).
template <typename T>
class Outcome {
 public:
  absl::AnyInvocable<void(T) &&> Receiver() {
    return [this](T value) { promise_.set_value(std::move(value)); };
  }
  T Get() { return future_.get(); }

 private:
  std::promise<T> promise_;
  std::future<T> future_ = promise_.get_future();
};

TEST(RedisClientTest, AsynchronousCallsAnswerThroughTheirCallbackAndScriptsFallBackToo) {
  RedisServer server;
  RedisClient client(Options(server));
  Outcome<absl::StatusOr<std::vector<RedisReply>>> written;
  client.TransactionAsync({{"INCR", "a"}, {"INCRBY", "a", "10"}, {"GET", "a"}}, written.Receiver());
  auto replies = written.Get();
  ASSERT_TRUE(replies.ok()) << replies.status();
  ASSERT_EQ(replies->size(), 3u);
  EXPECT_EQ((*replies)[2].str, "11");

  RedisScript script("return redis.call('INCRBY', KEYS[1], ARGV[1])");
  Outcome<absl::StatusOr<RedisReply>> first;
  client.EvalAsync(script, {"counter"}, {"2"}, first.Receiver());
  auto counted = first.Get();
  ASSERT_TRUE(counted.ok()) << counted.status();
  EXPECT_EQ(counted->integer, 2);
  ASSERT_TRUE(client.Execute({"SCRIPT", "FLUSH"}).ok());
  Outcome<absl::StatusOr<RedisReply>> second;
  client.EvalAsync(script, {"counter"}, {"3"}, second.Receiver());
  counted = second.Get();
  ASSERT_TRUE(counted.ok()) << counted.status();
  EXPECT_EQ(counted->integer, 5);

  // The deadline is the calling thread's when the call starts.
  Outcome<absl::StatusOr<std::vector<RedisReply>>> late;
  {
    ScopedDeadline passed(absl::Now() - absl::Seconds(1));
    client.ExecuteAllAsync({{"SET", "late", "1"}}, late.Receiver());
  }
  EXPECT_EQ(late.Get().status().code(), absl::StatusCode::kDeadlineExceeded);
  auto stored = client.Execute({"EXISTS", "late"});
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->integer, 0);
}

TEST(RedisClientTest, ASynchronousCallWhereNothingMayWaitAnswersWouldBlockAndSendsNothing) {
  RedisServer server;
  RedisClient client(Options(server));
  {
    NonBlockingScope scope;
    EXPECT_FALSE(MayBlock());
    auto refused = client.Execute({"SET", "k", "v"});
    EXPECT_TRUE(IsWouldBlock(refused.status())) << refused.status();
    // An asynchronous call waits for nothing, so it goes ahead.
    Outcome<absl::StatusOr<std::vector<RedisReply>>> written;
    client.ExecuteAllAsync({{"SET", "async", "v"}}, written.Receiver());
    EXPECT_TRUE(written.Get().ok());
  }
  EXPECT_TRUE(MayBlock());
  auto k = client.Execute({"EXISTS", "k"});
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->integer, 0);
  auto async = client.Execute({"EXISTS", "async"});
  ASSERT_TRUE(async.ok());
  EXPECT_EQ(async->integer, 1);
  EXPECT_FALSE(IsWouldBlock(absl::UnavailableError("redis is away")));
}

TEST(RedisClientTest, ScriptErrorsBecomeStatuses) {
  RedisServer server;
  RedisClient client(Options(server));
  RedisScript script("return redis.error_reply('NOT_FOUND person_id: no such person')");
  auto reply = client.Eval(script, {}, {});
  ASSERT_TRUE(reply.ok());
  absl::Status status = ScriptErrorToStatus(*reply);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "person_id: no such person");
}

TEST(RedisClientTest, UnavailableWhileRedisIsDownAndRecoversAfter) {
  RedisServer server;
  RedisClient client(Options(server));
  ASSERT_TRUE(client.Ping(absl::Seconds(1)).ok());
  server.Kill();
  auto down = client.Execute({"GET", "k"});
  EXPECT_EQ(down.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(client.Ping(absl::Milliseconds(300)).ok());
  server.Start();
  EXPECT_TRUE(WaitFor([&] { return client.Ping(absl::Milliseconds(300)).ok(); }));
  auto up = client.Execute({"SET", "k", "v"});
  EXPECT_TRUE(up.ok()) << up.status();
}

// Redis restarted while the client's connections sat idle: they are replaced before the next
// call rather than failing it (a caller writes on an idle connection from its own thread).
TEST(RedisClientTest, AConnectionTheServerClosedWhileIdleIsReplacedBeforeTheNextCall) {
  RedisServer server;
  RedisClient client(Options(server));
  ASSERT_TRUE(client.ExecuteAll({{"SET", "k", "v"}, {"GET", "k"}}).ok());
  for (int restart = 0; restart < 3; ++restart) {
    server.Restart();
    auto reply = client.Execute({"GET", "k"});
    ASSERT_TRUE(reply.ok()) << "after restart " << restart << ": " << reply.status();
    EXPECT_EQ(reply->str, "v");
  }
}

// The voluntary context switches of the client's I/O threads ("redis-io"), summed.
long IoThreadSwitches(int* threads) {
  long switches = 0;
  *threads = 0;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    std::getline(comm, name);
    if (name != "redis-io") continue;
    ++*threads;
    std::ifstream status(task.path() / "status");
    for (std::string line; std::getline(status, line);) {
      if (absl::StartsWith(line, "voluntary_ctxt_switches:")) {
        switches += std::stol(line.substr(line.find(':') + 1));
      }
    }
  }
  return switches;
}

// A call on an idle connection is written by its caller, and the I/O thread sleeps once per
// round trip, until the reply (it used to sleep twice: waiting for work, then for the reply).
TEST(RedisClientTest, ARoundTripWakesTheIoThreadOnce) {
  RedisServer server;
  RedisClient client(Options(server));
  ASSERT_TRUE(client.Ping(absl::Seconds(1)).ok());
  constexpr int kCalls = 200;
  constexpr int kTries = 5;
  int threads = 0;
  ASSERT_EQ((IoThreadSwitches(&threads), threads), client.options().connections);
  // Another process taking the core between a caller's write and its hand-over costs the I/O
  // thread a wait more: the quietest of a few tries counts (two sleeps per call do not go away).
  long fewest = std::numeric_limits<long>::max();
  for (int tried = 0; tried < kTries && fewest >= kCalls * 2 * 3 / 4; ++tried) {
    long before = IoThreadSwitches(&threads);
    for (int i = 0; i < kCalls; ++i) ASSERT_TRUE(client.Execute({"INCR", "n"}).ok());
    std::promise<void> all_answered;
    std::atomic<int> answered{0};
    for (int i = 0; i < kCalls; ++i) {
      client.ExecuteAllAsync({{"INCR", "n"}}, [&](absl::StatusOr<std::vector<RedisReply>> replies) {
        EXPECT_TRUE(replies.ok()) << replies.status();
        if (++answered == kCalls) all_answered.set_value();
      });
    }
    all_answered.get_future().wait();
    fewest = std::min(fewest, IoThreadSwitches(&threads) - before);
    auto total = client.Execute({"GET", "n"});
    ASSERT_TRUE(total.ok());
    EXPECT_EQ(total->str, absl::StrCat(2 * kCalls * (tried + 1)));
  }
  EXPECT_LT(fewest, kCalls * 2 * 3 / 4) << "for " << 2 * kCalls << " calls";
}

TEST(RedisClientTest, PausedRedisAnswersByTheCallDeadline) {
  RedisServer server;
  RedisClient client(Options(server));
  ASSERT_TRUE(client.Ping(absl::Seconds(1)).ok());
  server.Pause();
  absl::Time start = absl::Now();
  absl::StatusOr<RedisReply> reply;
  {
    ScopedDeadline deadline(start + absl::Milliseconds(300));
    reply = client.Execute({"GET", "k"});
  }
  absl::Duration took = absl::Now() - start;
  server.Resume();
  EXPECT_TRUE(reply.status().code() == absl::StatusCode::kDeadlineExceeded ||
              reply.status().code() == absl::StatusCode::kUnavailable)
      << reply.status();
  EXPECT_LT(took, absl::Seconds(2));
  EXPECT_TRUE(WaitFor([&] { return client.Ping(absl::Milliseconds(500)).ok(); }));
}

// A group its caller wrote on an idle connection gets no reply from a paused Redis, so nothing
// wakes the connection's I/O thread: the call still ends by its deadline.
TEST(RedisClientTest, AnAsynchronousCallToAPausedRedisIsAnsweredByItsDeadline) {
  RedisServer server;
  RedisClient client(Options(server));
  ASSERT_TRUE(client.Ping(absl::Seconds(1)).ok());  // connected and idle
  server.Pause();
  auto answered = std::make_shared<std::promise<absl::Status>>();
  {
    ScopedDeadline deadline(absl::Now() + absl::Milliseconds(300));
    client.ExecuteAllAsync({{"GET", "k"}},
                           [answered](absl::StatusOr<std::vector<RedisReply>> replies) {
                             answered->set_value(replies.status());
                           });
  }
  auto status = answered->get_future();
  const bool in_time = status.wait_for(std::chrono::seconds(2)) == std::future_status::ready;
  server.Resume();
  ASSERT_TRUE(in_time) << "no answer two seconds after a deadline of 300 ms";
  absl::Status got = status.get();
  EXPECT_TRUE(got.code() == absl::StatusCode::kDeadlineExceeded ||
              got.code() == absl::StatusCode::kUnavailable)
      << got;
  EXPECT_TRUE(WaitFor([&] { return client.Ping(absl::Milliseconds(500)).ok(); }));
}

TEST(RedisClientTest, DataWrittenIsInTheAppendOnlyFileAfterACrash) {
  RedisServer server;
  {
    RedisClient client(Options(server));
    ASSERT_TRUE(client.Execute({"SET", "durable", "yes"}).ok());
  }
  server.Restart();  // SIGKILL, then start on the same directory
  RedisClient client(Options(server));
  auto reply = client.Execute({"GET", "durable"});
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->str, "yes");
}

// What a Redis Cluster refuses (CROSSSLOT) is refused on a single server too when the address
// asks: before anything is sent, so nothing of it is stored. A pipeline may span slots.
TEST(RedisClientTest, ACrossSlotAtomicWriteIsRefusedBeforeItIsSent) {
  RedisServer server;
  RedisOptions options = Options(server);
  options.address.refuse_cross_slot = true;
  RedisClient client(options);
  const std::string a = "pw:{o-1}:a";
  const std::string a2 = "pw:{o-1}:b";
  const std::string b = "pw:{o-2}:a";
  auto transaction = client.Transaction({{"SET", a, "1"}, {"SET", b, "1"}});
  EXPECT_EQ(transaction.status().code(), absl::StatusCode::kFailedPrecondition)
      << transaction.status();
  RedisScript script("redis.call('SET', KEYS[1], 1); redis.call('SET', KEYS[2], 1)");
  auto eval = client.Eval(script, {a, b}, {});
  EXPECT_EQ(eval.status().code(), absl::StatusCode::kFailedPrecondition) << eval.status();
  auto exists = client.Execute({"EXISTS", a});
  ASSERT_TRUE(exists.ok()) << exists.status();
  EXPECT_EQ(exists->integer, 0);
  EXPECT_TRUE(client.Execute({"EXISTS", b}).ok());

  EXPECT_TRUE(client.Transaction({{"SET", a, "1"}, {"SET", a2, "1"}}).ok());
  EXPECT_TRUE(client.Eval(script, {a, a2}, {}).ok());
  auto pipeline = client.ExecuteAll({{"SET", a, "2"}, {"SET", b, "2"}});
  ASSERT_TRUE(pipeline.ok()) << pipeline.status();
  EXPECT_EQ((*pipeline)[1].str, "OK");

  // A connection of its own (a consumer's dead-lettering) refuses a transaction whole, and stays
  // usable: nothing of it was written.
  auto connection = RedisConnection::Connect(options.address, absl::Seconds(1));
  ASSERT_TRUE(connection.ok()) << connection.status();
  std::vector<RedisCommand> dead_letter{
      {"MULTI"}, {"XADD", a, "*", "f", "v"}, {"XADD", b, "*", "f", "v"}, {"EXEC"}};
  EXPECT_EQ((*connection)->AppendAll(dead_letter).code(), absl::StatusCode::kFailedPrecondition);
  auto ping = (*connection)->Execute({"PING"}, absl::Seconds(1));
  ASSERT_TRUE(ping.ok()) << ping.status();
  EXPECT_EQ(ping->str, "PONG");
  EXPECT_EQ((*connection)
                ->Execute({"XREAD", "STREAMS", a, b, "0", "0"}, absl::Seconds(1))
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
}

// With the refusal turned off, a single server runs the same transaction: the refusal above is
// the client's, not the server's.
TEST(RedisClientTest, ASingleServerRunsACrossSlotWriteWhenTheRefusalIsOff) {
  RedisServer server;
  RedisOptions options = Options(server);
  options.address.refuse_cross_slot = false;
  RedisClient client(options);
  auto transaction = client.Transaction({{"SET", "pw:{o-1}:a", "1"}, {"SET", "pw:{o-2}:a", "1"}});
  ASSERT_TRUE(transaction.ok()) << transaction.status();
  auto both = client.Execute({"EXISTS", "pw:{o-1}:a", "pw:{o-2}:a"});
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(both->integer, 2);
}

// With a replica wait, a write no replica has is not acknowledged; a read needs no replica.
TEST(RedisClientTest, AWriteNoReplicaHasIsNotAcknowledgedWithAReplicaWait) {
  RedisServer server;  // no replica at all
  RedisOptions options = Options(server);
  options.min_replicas = 1;
  options.replica_wait = absl::Milliseconds(50);
  RedisClient client(options);
  auto write = client.Execute({"SET", "k", "v"});
  EXPECT_EQ(write.status().code(), absl::StatusCode::kUnavailable) << write.status();
  EXPECT_TRUE(absl::StrContains(write.status().message(), "replicas")) << write.status();
  auto script = client.Eval(RedisScript("return redis.call('INCR', KEYS[1])"), {"n"}, {});
  EXPECT_EQ(script.status().code(), absl::StatusCode::kUnavailable) << script.status();
  auto read = client.ExecuteAll({{"GET", "k"}, {"EXISTS", "n"}});
  ASSERT_TRUE(read.ok()) << read.status();
  // Written on the server all the same: not acknowledged is not undone (the caller retries with
  // its request id).
  EXPECT_EQ((*read)[0].str, "v");
}

}  // namespace
}  // namespace peerwell
