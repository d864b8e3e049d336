#include "services/common/redis_cluster.h"

#include <pthread.h>

#include <algorithm>
#include <map>
#include <optional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/common/log.h"
#include "services/common/redis_commands.h"

namespace peerwell {
namespace {

// A slot refused for a moment (being migrated, or its master failing over) is asked again after
// this; a map asked for again no sooner than this after the last time.
constexpr absl::Duration kRetryDelay = absl::Milliseconds(20);
constexpr absl::Duration kMinRefreshInterval = absl::Milliseconds(100);
constexpr absl::Duration kRefreshTimeout = absl::Milliseconds(250);

// SCAN has no key, but PeerWell's patterns name the organisation's hash tag (pw:{<org>}:...):
// the slot of that tag, or -1 (a pattern with a wildcard in its tag spans every master).
int ScanSlot(const RedisCommand& command) {
  if (command.empty() || !absl::EqualsIgnoreCase(command[0], "SCAN")) return -1;
  for (size_t i = 1; i + 1 < command.size(); ++i) {
    if (!absl::EqualsIgnoreCase(command[i], "MATCH")) continue;
    const std::string& pattern = command[i + 1];
    size_t open = pattern.find('{');
    size_t close = open == std::string::npos ? open : pattern.find('}', open + 1);
    if (close == std::string::npos || close == open + 1) return -1;
    std::string_view tag(pattern.data() + open + 1, close - open - 1);
    if (tag.find_first_of("*?[\\") != std::string_view::npos) return -1;
    return KeySlot(pattern);
  }
  return -1;
}

bool IsVerb(const RedisCommand& command, const char* name) {
  return command.size() == 1 && absl::EqualsIgnoreCase(command[0], name);
}

// "MOVED 3999 127.0.0.1:6381" and "ASK 3999 127.0.0.1:6381": the slot and where it is.
struct Redirection {
  bool ask = false;
  int slot = 0;
  std::string host;
  int port = 0;
};

std::optional<Redirection> RedirectionOf(const RedisReply& reply) {
  if (!reply.IsError()) return std::nullopt;
  Redirection redirection;
  absl::string_view text = reply.str;
  if (absl::ConsumePrefix(&text, "ASK ")) {
    redirection.ask = true;
  } else if (!absl::ConsumePrefix(&text, "MOVED ")) {
    return std::nullopt;
  }
  std::vector<absl::string_view> parts = absl::StrSplit(text, ' ');
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &redirection.slot)) return std::nullopt;
  size_t colon = parts[1].rfind(':');
  if (colon == absl::string_view::npos ||
      !absl::SimpleAtoi(parts[1].substr(colon + 1), &redirection.port)) {
    return std::nullopt;
  }
  redirection.host = std::string(parts[1].substr(0, colon));
  return redirection;
}

bool IsMomentaryRefusal(const RedisReply& reply) {
  return reply.IsError() &&
         (absl::StartsWith(reply.str, "TRYAGAIN") || absl::StartsWith(reply.str, "CLUSTERDOWN"));
}

}  // namespace

struct RedisClusterRouter::Node {
  std::string host;
  int port = 0;
  std::unique_ptr<RedisClient> client;
};

// A command, or a MULTI ... EXEC, of a call: what goes to one node at a time.
struct RedisClusterRouter::Unit {
  size_t first = 0;  // its commands in the call's group, and so its replies
  size_t count = 0;
  int slot = -1;  // -1: keyless, any node will do
  bool done = false;
  // Redirected with ASK: to this node next, after ASKING.
  int ask_node = -1;
  int redirections = 0;  // MOVED and ASK replies so far
};

struct RedisClusterRouter::Call {
  std::vector<RedisCommand> commands;
  absl::Time deadline;
  RedisRepliesDone done;
  std::vector<Unit> units;
  std::vector<RedisReply> replies;
  std::mutex mu;
  int outstanding = 0;  // node groups sent and not answered
  absl::Status failure;
  bool again = false;  // a unit to send again at once
  bool later = false;  // a unit to send again after kRetryDelay
  bool finished = false;
};

RedisClusterRouter::RedisClusterRouter(const RedisOptions& options, RedisObserver* observer)
    : options_(options), observer_(observer), slot_node_(kRedisSlots, -1) {
  thread_ = std::thread([this] { Loop(); });
  pthread_setname_np(thread_.native_handle(), "redis-cluster");
}

RedisClusterRouter::~RedisClusterRouter() {
  std::deque<Delayed> delayed;
  {
    std::unique_lock<std::mutex> lock(mu_);
    stopping_ = true;
    delayed.swap(delayed_);
    // A send under way (from another node's I/O thread) ends before any node goes.
    wake_.notify_all();
    wake_.wait(lock, [this] { return sending_ == 0; });
  }
  thread_.join();
  for (Delayed& waiting : delayed) {
    Fail(waiting.call, absl::UnavailableError("redis client is shutting down"));
  }
  // Each node's client completes what it still holds (into OnNodeReplies) as it stops.
  std::vector<std::unique_ptr<Node>> nodes;
  {
    std::lock_guard<std::mutex> lock(mu_);
    nodes.swap(nodes_);
  }
  nodes.clear();
}

void RedisClusterRouter::Route(std::vector<RedisCommand> commands, absl::Time deadline,
                               RedisRepliesDone done, int keyless_slot) {
  auto call = std::make_shared<Call>();
  call->commands = std::move(commands);
  call->deadline = deadline;
  call->done = std::move(done);
  call->replies.resize(call->commands.size());
  if (call->commands.empty()) return Finish(call);
  for (size_t i = 0; i < call->commands.size(); ++i) {
    Unit unit;
    unit.first = i;
    if (IsVerb(call->commands[i], "MULTI")) {
      while (i + 1 < call->commands.size() && !IsVerb(call->commands[i], "EXEC")) ++i;
    }
    unit.count = i - unit.first + 1;
    for (size_t c = unit.first; c <= i && unit.slot < 0; ++c) {
      std::vector<std::string_view> keys = CommandKeys(call->commands[c]);
      if (!keys.empty()) unit.slot = KeySlot(keys.front());
    }
    if (unit.slot < 0) unit.slot = ScanSlot(call->commands[unit.first]);
    if (unit.slot < 0) unit.slot = keyless_slot;
    call->units.push_back(unit);
  }
  Dispatch(call);
}

int RedisClusterRouter::IndexLocked(const std::string& host, int port) {
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i]->host == host && nodes_[i]->port == port) return static_cast<int>(i);
  }
  RedisOptions node_options = options_;
  node_options.address = options_.address.Node(host, port);
  auto node = std::make_unique<Node>();
  node->host = host;
  node->port = port;
  node->client = std::make_unique<RedisClient>(std::move(node_options), observer_);
  nodes_.push_back(std::move(node));
  return static_cast<int>(nodes_.size()) - 1;
}

void RedisClusterRouter::Dispatch(const std::shared_ptr<Call>& call) {
  if (absl::Now() >= call->deadline) {
    return Fail(call, absl::DeadlineExceededError("redis did not answer before the deadline"));
  }
  // Units by node, in the call's order within each node.
  std::map<RedisClient*, std::vector<size_t>> by_node;
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (stopping_) {
      lock.unlock();
      return Fail(call, absl::UnavailableError("redis client is shutting down"));
    }
    for (size_t u = 0; u < call->units.size(); ++u) {
      Unit& unit = call->units[u];
      if (unit.done) continue;
      // A command without keys goes to whichever master serves slot 0.
      int node = unit.ask_node >= 0 ? unit.ask_node : slot_node_[std::max(unit.slot, 0)];
      if (node < 0) {
        // The map does not say yet: the router's thread asks for it, then sends the call again.
        refresh_wanted_ = true;
        delayed_.push_back({absl::Now(), call});
        wake_.notify_all();
        return;
      }
      by_node[nodes_[node]->client.get()].push_back(u);
    }
    ++sending_;
  }
  {
    std::lock_guard<std::mutex> lock(call->mu);
    call->outstanding = static_cast<int>(by_node.size());
    call->again = call->later = false;
  }
  for (auto& [client, units] : by_node) {
    std::vector<RedisCommand> group;
    for (size_t u : units) {
      const Unit& unit = call->units[u];
      if (unit.ask_node >= 0) group.push_back({"ASKING"});
      for (size_t c = unit.first; c < unit.first + unit.count; ++c) {
        group.push_back(call->commands[c]);
      }
    }
    // The node's own queue, without the outer client's reading of the replies (a TRYAGAIN or a
    // READONLY is the router's to act on; the call's caller gets the final replies read).
    client->Enqueue(
        std::move(group), call->deadline,
        [this, call, units = units](absl::StatusOr<std::vector<RedisReply>> replies) mutable {
          OnNodeReplies(call, std::move(units), std::move(replies));
        });
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (--sending_ == 0 && stopping_) wake_.notify_all();
}

void RedisClusterRouter::OnNodeReplies(const std::shared_ptr<Call>& call, std::vector<size_t> units,
                                       absl::StatusOr<std::vector<RedisReply>> replies) {
  std::vector<Redirection> moved;                     // slots whose master is another node
  std::vector<std::pair<size_t, Redirection>> asked;  // units to send once to another node
  bool map_stale = false;
  {
    std::lock_guard<std::mutex> lock(call->mu);
    if (!replies.ok()) {
      // The node did not answer (down, or failing over): the map is asked for again, and the
      // call fails as the node's client says (nothing is known of what it wrote: the caller
      // decides whether to retry).
      if (call->failure.ok()) call->failure = replies.status();
      map_stale = true;
    } else {
      size_t next = 0;
      for (size_t u : units) {
        Unit& unit = call->units[u];
        const bool was_asked = unit.ask_node >= 0;
        if (was_asked) ++next;  // ASKING's own reply
        unit.ask_node = -1;
        std::optional<Redirection> redirection;
        bool momentary = false;
        for (size_t c = 0; c < unit.count; ++c) {
          const RedisReply& reply = (*replies)[next + c];
          if (!redirection.has_value()) redirection = RedirectionOf(reply);
          if (IsMomentaryRefusal(reply)) momentary = true;
          // A write to a node that is a replica now: the map is out of date.
          if (reply.IsError() && absl::StartsWith(reply.str, "READONLY")) {
            momentary = map_stale = true;
          }
          if (reply.IsError() && absl::StartsWith(reply.str, "CLUSTERDOWN")) map_stale = true;
        }
        if (redirection.has_value()) ++unit.redirections;
        if (redirection.has_value() && !redirection->ask) {
          // Sent again at once the first time; after that the nodes disagree (a failover under
          // way), and it waits a moment.
          moved.push_back(*redirection);
          (unit.redirections > 1 ? call->later : call->again) = true;
        } else if (redirection.has_value() && !was_asked) {
          // ASKING holds for a whole MULTI ... EXEC too.
          asked.emplace_back(u, *redirection);
          call->again = true;
        } else if (redirection.has_value() || momentary) {
          call->later = true;
        } else {
          for (size_t c = 0; c < unit.count; ++c) {
            call->replies[unit.first + c] = std::move((*replies)[next + c]);
          }
          unit.done = true;
        }
        next += unit.count;
      }
    }
  }
  std::vector<std::pair<size_t, int>> ask_nodes;
  if (!moved.empty() || !asked.empty() || map_stale) {
    std::lock_guard<std::mutex> lock(mu_);
    // Stopping: the call ends when it is sent again (no node made meanwhile).
    if (stopping_) {
      moved.clear();
      asked.clear();
    }
    for (const Redirection& redirection : moved) {
      slot_node_[redirection.slot] = IndexLocked(redirection.host, redirection.port);
      refresh_wanted_ = true;  // the rest of the map has likely moved too
    }
    for (const auto& [unit, redirection] : asked) {
      ask_nodes.emplace_back(unit, IndexLocked(redirection.host, redirection.port));
    }
    if (map_stale) refresh_wanted_ = true;
    wake_.notify_all();
  }
  bool again = false;
  bool later = false;
  {
    std::lock_guard<std::mutex> lock(call->mu);
    for (const auto& [unit, node] : ask_nodes) call->units[unit].ask_node = node;
    if (--call->outstanding > 0) return;
    if (call->failure.ok()) {
      again = call->again;
      later = call->later;
    }
  }
  if (again) return Dispatch(call);
  if (later) return Later(call, kRetryDelay);
  Finish(call);
}

void RedisClusterRouter::Finish(const std::shared_ptr<Call>& call) {
  absl::StatusOr<std::vector<RedisReply>> result;
  {
    std::lock_guard<std::mutex> lock(call->mu);
    if (call->finished) return;
    call->finished = true;
    if (call->failure.ok()) {
      result = std::move(call->replies);
    } else {
      result = call->failure;
    }
  }
  std::move(call->done)(std::move(result));
}

void RedisClusterRouter::Fail(const std::shared_ptr<Call>& call, absl::Status status) {
  {
    std::lock_guard<std::mutex> lock(call->mu);
    if (call->failure.ok()) call->failure = std::move(status);
  }
  Finish(call);
}

void RedisClusterRouter::Later(const std::shared_ptr<Call>& call, absl::Duration delay) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      delayed_.push_back({absl::Now() + delay, call});
      wake_.notify_all();
      return;
    }
  }
  Fail(call, absl::UnavailableError("redis client is shutting down"));
}

void RedisClusterRouter::RefreshMap() {
  std::vector<std::pair<std::string, int>> candidates;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& node : nodes_) candidates.emplace_back(node->host, node->port);
  }
  for (const auto& seed : options_.address.seeds) candidates.push_back(seed);
  for (const auto& [host, port] : candidates) {
    RedisAddress address = options_.address.Node(host, port);
    // Briefly: a node that does not answer at once is tried after the others, not waited for.
    auto connection = RedisConnection::Connect(address, kRefreshTimeout);
    if (!connection.ok()) continue;
    auto slots = (*connection)->Execute({"CLUSTER", "SLOTS"}, kRefreshTimeout);
    if (!slots.ok() || !slots->IsArray() || slots->elements.empty()) continue;
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<int> map(kRedisSlots, -1);
    bool complete = true;
    for (const RedisReply& range : slots->elements) {
      if (!range.IsArray() || range.elements.size() < 3 || !range.elements[2].IsArray() ||
          range.elements[2].elements.size() < 2) {
        complete = false;
        continue;
      }
      const RedisReply& master = range.elements[2];
      // An empty host means "the address you asked me at".
      std::string master_host = master.elements[0].str.empty() ? host : master.elements[0].str;
      const int index = IndexLocked(master_host, static_cast<int>(master.elements[1].integer));
      for (long long slot = range.elements[0].integer;
           slot <= range.elements[1].integer && slot < kRedisSlots; ++slot) {
        map[slot] = index;
      }
    }
    for (int node : map) complete = complete && node >= 0;
    slot_node_ = std::move(map);
    refresh_wanted_ = !complete;
    last_refresh_ = absl::Now();
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  last_refresh_ = absl::Now();
  Log(Severity::kWarning, "redis cluster: no node answered CLUSTER SLOTS");
}

void RedisClusterRouter::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    absl::Time now = absl::Now();
    if (refresh_wanted_ && now >= last_refresh_ + kMinRefreshInterval) {
      lock.unlock();
      RefreshMap();
      lock.lock();
      continue;
    }
    std::vector<std::shared_ptr<Call>> due;
    absl::Time next =
        refresh_wanted_ ? last_refresh_ + kMinRefreshInterval : now + absl::Seconds(1);
    for (auto it = delayed_.begin(); it != delayed_.end();) {
      // A call queued since the last map waits for the refresh wanted above.
      const bool waits_for_map = refresh_wanted_ && it->due >= last_refresh_;
      // Past its deadline it goes too: Dispatch answers it DEADLINE_EXCEEDED.
      if ((!waits_for_map && it->due <= now) || it->call->deadline <= now) {
        due.push_back(std::move(it->call));
        it = delayed_.erase(it);
        continue;
      }
      next = std::min(next, waits_for_map ? it->call->deadline : it->due);
      ++it;
    }
    if (!due.empty()) {
      lock.unlock();
      for (auto& call : due) Dispatch(call);
      lock.lock();
      continue;
    }
    wake_.wait_for(lock, absl::ToChronoMicroseconds(next - now));
  }
}

absl::StatusOr<RedisReply> RedisKeyConnection::Execute(const RedisCommand& command,
                                                       absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::Status last = absl::UnavailableError("redis: no node reached");
  int moved = 0;
  while (absl::Now() < deadline) {
    if (connection_ == nullptr) {
      RedisAddress node = address_;
      if (address_.cluster) {
        const auto& [host, port] = redirected_to_.has_value()
                                       ? *redirected_to_
                                       : address_.seeds[next_seed_++ % address_.seeds.size()];
        node = address_.Node(host, port);
      }
      auto connected = RedisConnection::Connect(
          node, std::min(absl::Seconds(1), std::max(deadline - absl::Now(), absl::ZeroDuration())));
      if (!connected.ok()) {
        last = connected.status();
        redirected_to_.reset();
        if (!address_.cluster) break;
        // The node may be gone (a failover): the other seeds know where the slot went.
        if (next_seed_ % address_.seeds.size() == 0) absl::SleepFor(kRetryDelay);
        continue;
      }
      connection_ = *std::move(connected);
    }
    auto reply =
        connection_->Execute(command, std::max(deadline - absl::Now(), absl::Milliseconds(1)));
    if (!reply.ok()) {
      connection_.reset();
      redirected_to_.reset();
      last = reply.status();
      if (!address_.cluster || absl::IsDeadlineExceeded(last)) break;
      continue;
    }
    if (!address_.cluster) return reply;
    if (std::optional<Redirection> redirection = RedirectionOf(*reply)) {
      last = absl::UnavailableError(absl::StrCat("redis: ", reply->str));
      if (redirection->ask) {
        // The key has gone ahead to the node its slot is migrating to: asked there once, after
        // ASKING, on a connection of that moment (the slot is still this node's).
        auto there = RedisConnection::Connect(
            address_.Node(redirection->host, redirection->port),
            std::min(absl::Seconds(1), std::max(deadline - absl::Now(), absl::ZeroDuration())));
        if (!there.ok()) {
          last = there.status();
          absl::SleepFor(kRetryDelay);
          continue;
        }
        auto asking = (*there)->Execute({"ASKING"}, absl::Seconds(1));
        if (!asking.ok() || asking->IsError()) {
          absl::SleepFor(kRetryDelay);
          continue;
        }
        auto asked =
            (*there)->Execute(command, std::max(deadline - absl::Now(), absl::Milliseconds(1)));
        if (asked.ok() && !asked->IsError()) return asked;
        absl::SleepFor(kRetryDelay);
        continue;
      }
      connection_.reset();
      redirected_to_.emplace(redirection->host, redirection->port);
      // Nodes that disagree during a failover send each other's way: not at full speed.
      if (++moved > 1) absl::SleepFor(kRetryDelay);
      continue;
    }
    if (IsMomentaryRefusal(*reply)) {
      last = absl::UnavailableError(absl::StrCat("redis: ", reply->str));
      absl::SleepFor(kRetryDelay);
      continue;
    }
    return reply;
  }
  if (absl::IsDeadlineExceeded(last) || absl::IsUnavailable(last)) return last;
  return absl::UnavailableError(last.message());
}

}  // namespace peerwell
