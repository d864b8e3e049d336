#include "services/common/events.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/common/organization_registry.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/wait.h"

namespace peerwell {
namespace {

using ::peerwell::testing::RedisServer;
using ::peerwell::testing::WaitFor;

constexpr char kService[] = "test";
const std::string kStream = EventStreamKey(kService, "o1");

ConsumerOptions FastOptions(const std::string& consumer) {
  ConsumerOptions options;
  options.source = kService;
  options.group = "testers";
  options.consumer = consumer;
  options.claim_min_idle = absl::Milliseconds(100);
  options.claim_interval = absl::Milliseconds(50);
  options.sweep_interval = absl::Milliseconds(100);
  options.max_deliveries = 3;
  return options;
}

class EventsTest : public ::testing::Test {
 protected:
  // The organisation the tests publish for, registered as the directory does: its stream is
  // swept, and so read even when no doorbell was heard.
  void SetUp() override { ASSERT_TRUE(RegisterOrganization(redis_, "o1", absl::Now()).ok()); }

  void Publish(const std::string& type, const std::vector<EventField>& fields,
               const std::string& organization_id = "o1") {
    auto replies = redis_.Transaction(
        PublishEventCommands(kService, type, organization_id, absl::Now(), fields));
    ASSERT_TRUE(replies.ok()) << replies.status();
    for (const RedisReply& reply : *replies) ASSERT_FALSE(reply.IsError()) << reply.str;
  }
  // How many clients are subscribed to a doorbell: consumers that hear a ring from now on.
  int DoorbellListeners() {
    auto clients = redis_.Execute({"CLIENT", "LIST"});
    if (!clients.ok()) return 0;
    int listeners = 0;
    for (size_t at = clients->str.find(" sub=1 "); at != std::string::npos;
         at = clients->str.find(" sub=1 ", at + 1)) {
      ++listeners;
    }
    return listeners;
  }
  long long Pending(const std::string& stream = kStream) {
    auto reply = redis_.Execute({"XPENDING", stream, "testers"});
    return reply.ok() && reply->IsArray() && !reply->elements.empty() ? reply->elements[0].integer
                                                                      : -1;
  }

  RedisServer server_;
  RedisClient redis_{RedisOptions{server_.address()}};
};

TEST_F(EventsTest, DeliversEachEntryAndAcknowledgesIt) {
  Publish("person.created", {{"person_id", "p1"}});  // before the group exists: still delivered
  std::mutex mu;
  std::vector<std::string> seen;
  ConsumerGroupRunner runner(server_.address(), FastOptions("c1"), [&](const StreamEntry& e) {
    std::lock_guard<std::mutex> lock(mu);
    seen.push_back(e.Get("person_id"));
    EXPECT_EQ(e.Get("organization_id"), "o1");
    return absl::OkStatus();
  });
  runner.Start();
  Publish("person.created", {{"person_id", "p2"}});
  ASSERT_TRUE(WaitFor([&] { return runner.handled() == 2; }));
  runner.Stop();
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(seen, (std::vector<std::string>{"p1", "p2"}));
  EXPECT_EQ(Pending(), 0);
}

TEST_F(EventsTest, HandlesDifferentLanesSideBySideAndOneLaneInOrder) {
  ConsumerOptions options = FastOptions("c1");
  options.lanes = 8;
  options.lane_key = [](const StreamEntry& e) { return e.Get("person_id"); };
  // Two volunteers whose events fall in different lanes.
  const std::string a = "a";
  std::string b;
  for (int i = 0; b.empty(); ++i) {
    std::string key = absl::StrCat("b", i);
    if (std::hash<std::string>()(key) % 8 != std::hash<std::string>()(a) % 8) b = key;
  }
  for (int seq = 1; seq <= 3; ++seq) {
    Publish("checkin.submitted", {{"person_id", a}, {"seq", absl::StrCat(seq)}});
    Publish("checkin.submitted", {{"person_id", b}, {"seq", absl::StrCat(seq)}});
  }
  std::mutex mu;
  std::condition_variable changed;
  bool b_started = false;
  bool a_saw_b_meanwhile = false;
  std::vector<std::string> order_of_a;
  ConsumerGroupRunner runner(server_.address(), options, [&](const StreamEntry& e) {
    std::unique_lock<std::mutex> lock(mu);
    if (e.Get("person_id") == b) {
      b_started = true;
      changed.notify_all();
      return absl::OkStatus();
    }
    if (e.Get("seq") == "1") {
      // a's first event holds its lane until b's lane has run: only side by side can it.
      a_saw_b_meanwhile =
          changed.wait_for(lock, std::chrono::seconds(5), [&] { return b_started; });
    }
    order_of_a.push_back(e.Get("seq"));
    return absl::OkStatus();
  });
  runner.Start();
  ASSERT_TRUE(WaitFor([&] { return runner.handled() == 6; }));
  runner.Stop();
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_TRUE(a_saw_b_meanwhile);
  EXPECT_EQ(order_of_a, (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_EQ(Pending(), 0);
}

TEST_F(EventsTest, ALaneWaitsBehindItsFailedEntryInsteadOfOvertakingIt) {
  ConsumerOptions options = FastOptions("c1");
  options.lanes = 8;
  options.lane_key = [](const StreamEntry& e) { return e.Get("person_id"); };
  for (int seq = 1; seq <= 3; ++seq) {
    Publish("checkin.submitted", {{"person_id", "a"}, {"seq", absl::StrCat(seq)}});
  }
  std::mutex mu;
  std::vector<std::string> attempts;
  bool failed_once = false;
  ConsumerGroupRunner runner(server_.address(), options, [&](const StreamEntry& e) {
    std::lock_guard<std::mutex> lock(mu);
    attempts.push_back(e.Get("seq"));
    if (e.Get("seq") == "1" && !failed_once) {
      failed_once = true;
      return absl::UnavailableError("briefly down");
    }
    return absl::OkStatus();
  });
  runner.Start();
  ASSERT_TRUE(WaitFor([&] { return runner.handled() == 3; }));
  runner.Stop();
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(attempts, (std::vector<std::string>{"1", "1", "2", "3"}));
  EXPECT_EQ(Pending(), 0);
}

TEST_F(EventsTest, RoundsHandOneEntryOfEveryKeyTogetherAndKeepEachKeysOrder) {
  ConsumerOptions options = FastOptions("c1");
  options.lane_key = [](const StreamEntry& e) { return e.Get("person_id"); };
  for (auto [person, seq] : {std::pair{"a", "1"}, {"b", "1"}, {"a", "2"}, {"c", "1"}, {"a", "3"}}) {
    Publish("checkin.submitted", {{"person_id", person}, {"seq", seq}});
  }
  std::mutex mu;
  std::vector<std::vector<std::string>> rounds;  // what each call was given
  bool failed_once = false;
  ConsumerGroupRunner runner(
      server_.address(), options, [&](const std::vector<const StreamEntry*>& entries) {
        std::lock_guard<std::mutex> lock(mu);
        std::vector<std::string> round;
        std::vector<absl::Status> statuses;
        for (const StreamEntry* e : entries) {
          round.push_back(e->Get("person_id") + e->Get("seq"));
          bool fail = round.back() == "a2" && !failed_once;
          failed_once = failed_once || fail;
          statuses.push_back(fail ? absl::UnavailableError("briefly down") : absl::OkStatus());
        }
        rounds.push_back(std::move(round));
        return statuses;
      });
  runner.Start();
  ASSERT_TRUE(WaitFor([&] { return runner.handled() == 5 && Pending() == 0; }));
  runner.Stop();
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_GE(rounds.size(), 3u);
  // The batch's first round has the first entry of every key; a2 fails alone in the second,
  // and a3 waits behind it (pending) instead of overtaking it.
  EXPECT_EQ(rounds[0], (std::vector<std::string>{"a1", "b1", "c1"}));
  EXPECT_EQ(rounds[1], (std::vector<std::string>{"a2"}));
  std::vector<std::string> later;
  for (size_t i = 2; i < rounds.size(); ++i) {
    later.insert(later.end(), rounds[i].begin(), rounds[i].end());
  }
  EXPECT_EQ(later, (std::vector<std::string>{"a2", "a3"}));
}

TEST_F(EventsTest, ALingeringConsumerStopsAtOnceAndAcknowledgesWhatItHandled) {
  ConsumerOptions options = FastOptions("c1");
  options.linger = absl::Seconds(60);
  std::atomic<int> calls{0};
  ConsumerGroupRunner runner(server_.address(), options, [&](const StreamEntry&) {
    ++calls;
    return absl::OkStatus();
  });
  runner.Start();
  Publish("person.created", {{"person_id", "p1"}});
  ASSERT_TRUE(WaitFor([&] { return calls.load() == 1; }));
  // Now lingering, its acknowledgement waiting for the next read.
  absl::Time start = absl::Now();
  runner.Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  EXPECT_EQ(runner.handled(), 1);
  EXPECT_EQ(Pending(), 0);
}

TEST_F(EventsTest, AfterALingerTheNextDoorbellIsHeardAtOnceNotAtTheNextSweep) {
  ConsumerOptions options = FastOptions("c1");
  options.linger = absl::Milliseconds(5);
  options.claim_interval = absl::Minutes(1);
  options.sweep_interval = absl::Minutes(1);
  std::atomic<int> calls{0};
  ConsumerGroupRunner runner(server_.address(), options, [&](const StreamEntry&) {
    ++calls;
    return absl::OkStatus();
  });
  runner.Start();
  for (int i = 1; i <= 3; ++i) {
    Publish("person.created", {{"person_id", absl::StrCat("p", i)}});
    ASSERT_TRUE(WaitFor([&] { return calls.load() == i; })) << i;
  }
  ASSERT_TRUE(WaitFor([&] { return Pending() == 0; }));
  runner.Stop();
}

TEST_F(EventsTest, ABatchThatOutlastedTheLingerIsFollowedByTheNextReadAtOnce) {
  // The linger is counted from the read that brought a batch: handling that took longer has
  // let the next events gather already, and waiting on top of it would only add latency.
  testing::FakeClock clock;
  ConsumerOptions options = FastOptions("c1");
  options.linger = absl::Seconds(60);
  options.clock = &clock;
  std::atomic<int> calls{0};
  ConsumerGroupRunner runner(server_.address(), options, [&](const StreamEntry&) {
    if (++calls == 1) clock.Advance(absl::Seconds(61));  // a slow batch
    return absl::OkStatus();
  });
  runner.Start();
  Publish("person.created", {{"person_id", "p1"}});
  ASSERT_TRUE(WaitFor([&] { return calls.load() == 1; }));
  Publish("person.created", {{"person_id", "p2"}});
  EXPECT_TRUE(WaitFor([&] { return calls.load() == 2; }));
  runner.Stop();
}

TEST_F(EventsTest, ReclaimsEntriesADeadConsumerLeftPending) {
  ASSERT_TRUE(redis_.Execute({"XGROUP", "CREATE", kStream, "testers", "0", "MKSTREAM"}).ok());
  Publish("consent.changed", {{"volunteer_id", "p9"}});
  // A consumer reads the entry and dies before acknowledging it.
  auto taken = redis_.Execute(
      {"XREADGROUP", "GROUP", "testers", "dead", "COUNT", "10", "STREAMS", kStream, ">"});
  ASSERT_TRUE(taken.ok());
  ASSERT_EQ(Pending(), 1);

  std::atomic<int> handled{0};
  ConsumerGroupRunner survivor(server_.address(), FastOptions("survivor"),
                               [&](const StreamEntry& e) {
                                 EXPECT_EQ(e.Get("volunteer_id"), "p9");
                                 ++handled;
                                 return absl::OkStatus();
                               });
  survivor.Start();
  ASSERT_TRUE(WaitFor([&] { return handled.load() == 1 && Pending() == 0; }));
  survivor.Stop();
  EXPECT_EQ(handled.load(), 1);
}

TEST_F(EventsTest, BetweenSweepsClaimsFromTheStreamsWithEventsOfLate) {
  // "stuck" takes the first entry and never finishes it; no sweep comes for a minute.
  ConsumerOptions slow_sweep = FastOptions("stuck");
  slow_sweep.sweep_interval = absl::Minutes(1);
  std::mutex mu;
  std::condition_variable changed;
  bool stuck = false;
  bool release = false;
  ConsumerGroupRunner stuck_runner(server_.address(), slow_sweep, [&](const StreamEntry&) {
    std::unique_lock<std::mutex> lock(mu);
    stuck = true;
    changed.notify_all();
    changed.wait(lock, [&] { return release; });
    return absl::UnavailableError("gave up");
  });
  stuck_runner.Start();
  Publish("person.created", {{"person_id", "p1"}});
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(changed.wait_for(lock, std::chrono::seconds(10), [&] { return stuck; }));
  }
  std::mutex seen_mu;
  std::set<std::string> seen;
  slow_sweep.consumer = "survivor";
  ConsumerGroupRunner survivor(server_.address(), slow_sweep, [&](const StreamEntry& e) {
    std::lock_guard<std::mutex> lock(seen_mu);
    seen.insert(e.Get("person_id"));
    return absl::OkStatus();
  });
  survivor.Start();
  ASSERT_TRUE(WaitFor([&] { return DoorbellListeners() >= 2; }));
  // A later event of the organisation: the survivor hears it, and then claims p1 once idle.
  Publish("person.created", {{"person_id", "p2"}});
  bool both = WaitFor([&] {
    std::lock_guard<std::mutex> lock(seen_mu);
    return seen.count("p1") == 1 && seen.count("p2") == 1;
  });
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  changed.notify_all();
  survivor.Stop();
  stuck_runner.Stop();
  EXPECT_TRUE(both);
}

TEST_F(EventsTest, MovesAPoisonEntryToTheDeadLetterStream) {
  Publish("person.updated", {{"person_id", "good-1"}});
  Publish("person.updated", {{"person_id", "poison"}});
  Publish("person.updated", {{"person_id", "good-2"}});
  std::atomic<int> poison_attempts{0};
  ConsumerGroupRunner runner(server_.address(), FastOptions("c1"), [&](const StreamEntry& e) {
    if (e.Get("person_id") == "poison") {
      ++poison_attempts;
      return absl::InternalError("cannot handle this one");
    }
    return absl::OkStatus();
  });
  runner.Start();
  ASSERT_TRUE(WaitFor([&] { return runner.dead_lettered() == 1 && Pending() == 0; }));
  runner.Stop();
  EXPECT_EQ(runner.handled(), 2);
  EXPECT_EQ(poison_attempts.load(), 3);  // max_deliveries
  auto dead = redis_.Execute({"XRANGE", DeadLetterStreamKey(kStream), "-", "+"});
  ASSERT_TRUE(dead.ok());
  auto entries = ParseStreamEntries(*dead);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].Get("event.person_id"), "poison");
  EXPECT_EQ(entries[0].Get("error"), "cannot handle this one");
}

// Claims are made slow here, so only the consumer's own retry can hand an entry over in time.
ConsumerOptions SlowClaimOptions(const std::string& consumer) {
  ConsumerOptions options = FastOptions(consumer);
  options.claim_min_idle = absl::Minutes(5);
  options.claim_interval = absl::Minutes(5);
  options.sweep_interval = absl::Minutes(5);
  return options;
}

TEST_F(EventsTest, RetriesItsOwnFailedEntrySoonRatherThanAfterTheClaimIdleTime) {
  Publish("incident.reported", {{"incident_id", "i1"}});
  std::atomic<int> attempts{0};
  ConsumerGroupRunner runner(server_.address(), SlowClaimOptions("c1"), [&](const StreamEntry&) {
    return ++attempts == 1 ? absl::InternalError("first attempt fails") : absl::OkStatus();
  });
  runner.Start();
  ASSERT_TRUE(WaitFor([&] { return runner.handled() == 1 && Pending() == 0; }));
  runner.Stop();
  EXPECT_EQ(attempts.load(), 2);
}

TEST_F(EventsTest, RetriesAnEntryFailedForWantOfRedisOrAServiceUntilItSucceeds) {
  Publish("incident.reported", {{"incident_id", "i1"}});
  std::atomic<int> attempts{0};
  // More failures than max_deliveries (3): they come back, so the entry is not dead-lettered.
  ConsumerGroupRunner runner(server_.address(), SlowClaimOptions("c1"), [&](const StreamEntry&) {
    int attempt = ++attempts;
    if (attempt <= 3) return absl::UnavailableError("directory unavailable");
    if (attempt <= 6) return absl::DeadlineExceededError("directory too slow");
    return absl::OkStatus();
  });
  runner.Start();
  ASSERT_TRUE(WaitFor([&] { return runner.handled() == 1 && Pending() == 0; }));
  runner.Stop();
  EXPECT_EQ(attempts.load(), 7);
  EXPECT_EQ(runner.dead_lettered(), 0);
}

TEST_F(EventsTest, AcknowledgesAnEntryHandledWhileRedisWasAwayOnceItIsBack) {
  std::mutex mu;
  std::condition_variable changed;
  bool in_handler = false;
  bool release = false;
  std::atomic<int> attempts{0};
  ConsumerGroupRunner runner(server_.address(), SlowClaimOptions("c1"), [&](const StreamEntry&) {
    std::unique_lock<std::mutex> lock(mu);
    if (++attempts == 1) {
      in_handler = true;
      changed.notify_all();
      changed.wait(lock, [&] { return release; });
    }
    return absl::OkStatus();
  });
  runner.Start();
  Publish("incident.reported", {{"incident_id", "i1"}});
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(changed.wait_for(lock, std::chrono::seconds(10), [&] { return in_handler; }));
  }
  // Redis dies while the entry is being handled: its XACK cannot be sent.
  server_.Kill();
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  changed.notify_all();
  server_.Start();
  ASSERT_TRUE(WaitFor([&] { return runner.handled() == 1 && Pending() == 0; }));
  runner.Stop();
  EXPECT_EQ(attempts.load(), 1);  // handled once: its acknowledgement was kept, not lost
}

TEST_F(EventsTest, HandlesEntriesDeliveredToItWhoseReplyItNeverSaw) {
  ASSERT_TRUE(redis_.Execute({"XGROUP", "CREATE", kStream, "testers", "0", "MKSTREAM"}).ok());
  Publish("incident.reported", {{"incident_id", "i1"}});
  // Delivered to c1 (a read whose reply was lost with its connection, or c1 before a restart),
  // and no claim for minutes: only c1's walk of its own pending entries finds it.
  ASSERT_TRUE(
      redis_
          .Execute({"XREADGROUP", "GROUP", "testers", "c1", "COUNT", "10", "STREAMS", kStream, ">"})
          .ok());
  std::atomic<int> handled{0};
  ConsumerGroupRunner runner(server_.address(), SlowClaimOptions("c1"), [&](const StreamEntry& e) {
    EXPECT_EQ(e.Get("incident_id"), "i1");
    ++handled;
    return absl::OkStatus();
  });
  runner.Start();
  ASSERT_TRUE(WaitFor([&] { return handled.load() == 1 && Pending() == 0; }));
  runner.Stop();
}

TEST_F(EventsTest, StopsPromptlyAndLeavesUnhandledEntriesPending) {
  ConsumerGroupRunner runner(server_.address(), FastOptions("c1"),
                             [&](const StreamEntry&) { return absl::UnavailableError("down"); });
  runner.Start();
  Publish("person.created", {{"person_id", "p1"}});
  ASSERT_TRUE(WaitFor([&] { return Pending() == 1; }));
  absl::Time start = absl::Now();
  runner.Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  EXPECT_EQ(runner.handled(), 0);
}

TEST_F(EventsTest, AStoppingConsumerDoesNotGoOnThroughABatchThatFails) {
  for (int i = 0; i < 20; ++i) Publish("person.created", {{"person_id", absl::StrCat("p", i)}});
  std::atomic<int> attempts{0};
  // Each attempt fails after a while, as a call to a service that is down times out.
  ConsumerGroupRunner runner(server_.address(), FastOptions("c1"), [&](const StreamEntry&) {
    ++attempts;
    absl::SleepFor(absl::Milliseconds(200));
    return absl::UnavailableError("directory unavailable");
  });
  runner.Start();
  ASSERT_TRUE(WaitFor([&] { return attempts.load() >= 1; }));
  absl::Time start = absl::Now();
  runner.Stop();
  // Not the 20 × 200 ms the rest of the batch would take.
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_EQ(runner.handled(), 0);
}

TEST_F(EventsTest, AnIdleConsumerStopsWithoutWaitingForItsNextSweep) {
  ConsumerOptions options = FastOptions("c1");
  options.claim_interval = absl::Seconds(60);
  options.sweep_interval = absl::Seconds(60);
  ConsumerGroupRunner runner(server_.address(), options, [&](const StreamEntry&) {
    return absl::OkStatus();
  });
  runner.Start();
  Publish("person.created", {{"person_id", "p1"}});
  ASSERT_TRUE(WaitFor([&] { return runner.handled() == 1; }));
  // Now waiting for a doorbell, or its next sweep a minute on.
  ASSERT_TRUE(WaitFor([&] { return DoorbellListeners() >= 1; }));
  absl::Time start = absl::Now();
  runner.Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST_F(EventsTest, KeepsConsumingAcrossARedisRestart) {
  std::mutex mu;
  std::set<std::string> seen;
  ConsumerGroupRunner runner(server_.address(), FastOptions("c1"), [&](const StreamEntry& e) {
    std::lock_guard<std::mutex> lock(mu);
    seen.insert(e.Get("person_id"));
    return absl::OkStatus();
  });
  auto has_seen = [&](const std::string& person_id) {
    std::lock_guard<std::mutex> lock(mu);
    return seen.count(person_id) == 1;
  };
  runner.Start();
  Publish("person.created", {{"person_id", "p1"}});
  ASSERT_TRUE(WaitFor([&] { return has_seen("p1"); }));
  // The kill may land between p1's handling and its XACK: p1 is then handled again after the
  // restart (at least once), so the test waits for p2 rather than for a count.
  server_.Restart();
  ASSERT_TRUE(WaitFor([&] { return redis_.Ping(absl::Milliseconds(200)).ok(); }));
  Publish("person.created", {{"person_id", "p2"}});
  ASSERT_TRUE(WaitFor([&] { return has_seen("p2"); }));
  runner.Stop();
}

TEST_F(EventsTest, AcknowledgesEntriesDeletedWhilePending) {
  ASSERT_TRUE(redis_.Execute({"XGROUP", "CREATE", kStream, "testers", "0", "MKSTREAM"}).ok());
  Publish("person.created", {{"person_id", "p1"}});
  // Consumer c1 read the entry, then crashed; meanwhile the entry was trimmed away.
  auto taken = redis_.Execute(
      {"XREADGROUP", "GROUP", "testers", "c1", "COUNT", "10", "STREAMS", kStream, ">"});
  ASSERT_TRUE(taken.ok());
  std::string id = ParseStreamEntries(taken->elements[0].elements[1]).at(0).id;
  ASSERT_TRUE(redis_.Execute({"XDEL", kStream, id}).ok());
  std::atomic<int> handled{0};
  ConsumerGroupRunner restarted(server_.address(), FastOptions("c1"), [&](const StreamEntry&) {
    ++handled;
    return absl::OkStatus();
  });
  restarted.Start();
  ASSERT_TRUE(WaitFor([&] { return Pending() == 0; }));
  restarted.Stop();
  EXPECT_EQ(handled.load(), 0);
  EXPECT_EQ(restarted.dead_lettered(), 0);
}

TEST_F(EventsTest, RecreatesAVanishedGroupAndGoesOn) {
  std::mutex mu;
  std::set<std::string> seen;
  ConsumerGroupRunner runner(server_.address(), FastOptions("c1"), [&](const StreamEntry& e) {
    std::lock_guard<std::mutex> lock(mu);
    seen.insert(e.Get("person_id"));
    return absl::OkStatus();
  });
  runner.Start();
  Publish("person.created", {{"person_id", "p1"}});
  ASSERT_TRUE(WaitFor([&] { return runner.handled() >= 1; }));
  ASSERT_TRUE(redis_.Execute({"XGROUP", "DESTROY", kStream, "testers"}).ok());
  Publish("person.created", {{"person_id", "p2"}});
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard<std::mutex> lock(mu);
    return seen.count("p2") == 1;
  }));
  runner.Stop();
}

TEST_F(EventsTest, ReadsTheStreamOfEachOrganisationThatRingsItsDoorbell) {
  // Organisations the registry does not list yet, and no sweep before a minute is out: only
  // their doorbells bring their events.
  ConsumerOptions options = FastOptions("c1");
  options.claim_interval = absl::Minutes(1);
  options.sweep_interval = absl::Minutes(1);
  std::mutex mu;
  std::set<std::string> seen;
  ConsumerGroupRunner runner(server_.address(), options, [&](const StreamEntry& e) {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(e.stream, EventStreamKey(kService, e.Get("organization_id")));
    seen.insert(absl::StrCat(e.Get("organization_id"), "/", e.Get("person_id")));
    return absl::OkStatus();
  });
  runner.Start();
  ASSERT_TRUE(WaitFor([&] { return DoorbellListeners() >= 1; }));
  Publish("person.created", {{"person_id", "p1"}}, "o2");
  Publish("person.created", {{"person_id", "p2"}}, "o3");
  Publish("person.created", {{"person_id", "p3"}}, "o2");
  ASSERT_TRUE(WaitFor([&] { return runner.handled() == 3; }));
  runner.Stop();
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(seen, (std::set<std::string>{"o2/p1", "o2/p3", "o3/p2"}));
  EXPECT_EQ(Pending(EventStreamKey(kService, "o2")), 0);
  EXPECT_EQ(Pending(EventStreamKey(kService, "o3")), 0);
}

TEST_F(EventsTest, SweepsARegisteredOrganisationsStreamWhoseDoorbellWasNotHeard) {
  std::atomic<int> handled{0};
  ConsumerGroupRunner runner(server_.address(), FastOptions("c1"), [&](const StreamEntry&) {
    ++handled;
    return absl::OkStatus();
  });
  runner.Start();
  // An entry without its doorbell, as when the ring was lost with a subscription.
  ASSERT_TRUE(redis_
                  .Execute({"XADD", kStream, "*", "type", "person.created", "organization_id", "o1",
                            "person_id", "p1"})
                  .ok());
  ASSERT_TRUE(WaitFor([&] { return handled.load() == 1 && Pending() == 0; }));
  runner.Stop();
}

// A sweep of many organisations goes a slice of streams a round: every one of them still read.
TEST_F(EventsTest, ASweepOfManyOrganisationsReadsEveryOnesStream) {
  constexpr int kOrganisations = 250;
  for (int o = 2; o <= kOrganisations; ++o) {
    ASSERT_TRUE(RegisterOrganization(redis_, absl::StrCat("o", o), absl::Now()).ok());
  }
  std::atomic<int> handled{0};
  ConsumerGroupRunner runner(server_.address(), FastOptions("c1"), [&](const StreamEntry&) {
    ++handled;
    return absl::OkStatus();
  });
  runner.Start();
  // Entries without their doorbells: only the sweep finds them.
  std::vector<RedisCommand> entries;
  for (int o = 1; o <= kOrganisations; ++o) {
    const std::string organization_id = absl::StrCat("o", o);
    entries.push_back({"XADD", EventStreamKey(kService, organization_id), "*", "type",
                       "person.created", "organization_id", organization_id});
  }
  ASSERT_TRUE(redis_.ExecuteAll(entries).ok());
  ASSERT_TRUE(WaitFor([&] { return handled.load() == kOrganisations; }));
  runner.Stop();
}

TEST_F(EventsTest, BacklogIsCountedOverOrganisationsReadASliceAtATime) {
  ConsumerOptions options = FastOptions("c1");
  std::vector<RedisCommand> entries;
  for (int o = 1; o <= 250; ++o) {
    const std::string organization_id = absl::StrCat("o", o);
    if (o > 1) {
      ASSERT_TRUE(RegisterOrganization(redis_, organization_id, absl::Now()).ok());
    }
    entries.push_back({"XADD", EventStreamKey(kService, organization_id), "*", "type",
                       "person.created", "organization_id", organization_id});
  }
  ASSERT_TRUE(redis_.ExecuteAll(entries).ok());
  auto backlog = ReadConsumerBacklog(redis_, options);
  ASSERT_TRUE(backlog.ok()) << backlog.status();
  EXPECT_EQ(backlog->lag, 250);
}

TEST_F(EventsTest, AFollowerReadsEveryOrganisationsEventsFromWhenItStartedAndSaysWhenCaughtUp) {
  // Published ten seconds before the follower starts (the entry's id says when).
  ASSERT_TRUE(
      redis_
          .Execute({"XADD", kStream,
                    absl::StrCat(absl::ToUnixMillis(absl::Now() - absl::Seconds(10)), "-0"), "type",
                    "person.created", "organization_id", "o1", "person_id", "before"})
          .ok());
  std::mutex mu;
  std::vector<std::string> seen;
  std::atomic<bool> caught_up{false};
  absl::Time started = absl::Now();
  EventFollower follower(
      server_.address(), EventFollower::Options{.services = {kService}},
      [&](const std::string& service, const StreamEntry& e) {
        EXPECT_EQ(service, kService);
        std::lock_guard<std::mutex> lock(mu);
        seen.push_back(absl::StrCat(e.Get("organization_id"), "/", e.Get("person_id")));
      },
      [&](absl::Time heard_until) {
        if (heard_until > started) caught_up = true;
      });
  ASSERT_TRUE(WaitFor([&] { return caught_up.load(); }));
  Publish("person.created", {{"person_id", "p1"}}, "o2");  // unregistered: its doorbell
  Publish("person.created", {{"person_id", "p2"}});
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard<std::mutex> lock(mu);
    return seen.size() == 2;
  }));
  // Redis restarts: the follower reads on from where it was in each stream.
  server_.Restart();
  ASSERT_TRUE(WaitFor([&] { return redis_.Ping(absl::Milliseconds(200)).ok(); }));
  Publish("person.created", {{"person_id", "p3"}}, "o2");
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard<std::mutex> lock(mu);
    return seen.size() == 3;
  }));
  std::lock_guard<std::mutex> lock(mu);
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<std::string>{"o1/p2", "o2/p1", "o2/p3"}));
}

TEST_F(EventsTest, BacklogCountsUndeliveredPendingAndDeadLetteredEntries) {
  ConsumerOptions options = FastOptions("c1");
  auto none = ReadConsumerBacklog(redis_, options);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(none->lag, 0);
  EXPECT_EQ(none->pending, 0);
  EXPECT_EQ(none->dead_letters, 0);

  for (int i = 0; i < 3; ++i) Publish("person.created", {{"person_id", absl::StrCat("p", i)}});
  auto before_group = ReadConsumerBacklog(redis_, options);
  ASSERT_TRUE(before_group.ok()) << before_group.status();
  EXPECT_EQ(before_group->lag, 3);  // no group yet: everything waits for it

  ASSERT_TRUE(redis_.Execute({"XGROUP", "CREATE", kStream, "testers", "0"}).ok());
  ASSERT_TRUE(
      redis_
          .Execute({"XREADGROUP", "GROUP", "testers", "c1", "COUNT", "1", "STREAMS", kStream, ">"})
          .ok());
  ASSERT_TRUE(redis_.Execute({"XADD", DeadLetterStreamKey(kStream), "*", "entry", "1-1"}).ok());
  auto backlog = ReadConsumerBacklog(redis_, options);
  ASSERT_TRUE(backlog.ok()) << backlog.status();
  EXPECT_EQ(backlog->lag, 2);
  EXPECT_EQ(backlog->pending, 1);
  EXPECT_EQ(backlog->dead_letters, 1);
}

}  // namespace
}  // namespace peerwell
