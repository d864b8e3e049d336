#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/channel.h"
#include "grpcpp/server.h"
#include "services/common/config.h"
#include "tools/bench/load.h"

namespace peerwell::bench {

// What a scenario may use to prepare itself: where the services are and how to sign tokens.
struct ScenarioContext {
  std::string directory_addr;
  std::string checkin_addr;
  std::string alerts_addr;
  std::string supervision_addr;
  std::string network_addr;
  std::string webhooks_addr;
  std::string gateway_addr;  // host:port of its HTTP server
  std::string jwt_secret;
  // The Redis the services write to (the suite's, or --redis_addr), as a user that may write
  // pw:bench:*; none when the run has no Redis.
  std::optional<RedisAddress> redis;
  // Replicas the durable-write baseline's writes must reach before it answers (WAIT): what
  // PEERWELL_REDIS_MIN_REPLICAS costs the services' writes.
  int redis_min_replicas = 0;
  int channels = 2;       // connections to the service under load
  int organisations = 4;  // created for the run
  int volunteers = 25;    // per organisation
  int supervisors = 50;   // the supervision scenarios' pool, each with 8–12 volunteers
  int subscribers = 100;  // post-fanout: the channel's members, each with a Subscribe stream
  LoadOptions load;       // the run the scenario will be driven by
};

// What one round measured: the calls, and for a scenario whose figure is something other than
// its calls (each delivery of a post to a subscriber, the messages of a stream), that figure under
// its name. Ratios against a baseline compare the figures.
struct RoundResult {
  LoadResult calls;
  std::string counted = "calls";  // what the calls are, in the table: posts, messages
  std::string figure_name;        // empty: the figure is the calls
  LoadResult figure;

  RoundResult() = default;
  explicit RoundResult(LoadResult measured) : calls(std::move(measured)) {}

  const LoadResult& Figure() const { return figure_name.empty() ? calls : figure; }
};

// A scenario prepares itself once (organisations, people, streams) and then issues calls for
// RunLoad; a call's latency runs from when it was due to when it calls `done`.
class Scenario {
 public:
  virtual ~Scenario() = default;
  // The calls RunLoad drives; a scenario that runs its rounds itself needs none.
  virtual IssueCall Issuer() { return nullptr; }
  // One round under `options`: by default RunLoad of the issuer's calls.
  virtual RoundResult Run(const LoadOptions& options) {
    return RoundResult(RunLoad(options, Issuer()));
  }
  // Lines worth printing after the run (e.g. how the service under load was doing).
  virtual std::vector<std::string> Notes() { return {}; }
};

// A scenario the tool knows by name. To add one for a new service: write a class deriving from
// Scenario and add a line to AllScenarios() (scenarios.cc).
struct ScenarioSpec {
  std::string name;
  std::string description;
  bool needs_services = true;  // false: runs inside the tool (the baselines)
  std::function<absl::StatusOr<std::unique_ptr<Scenario>>(const ScenarioContext&)> create;
  double default_rate = 0;   // without --rate: 0 a closed loop, above 0 an open loop
  bool needs_redis = false;  // true: writes to Redis itself (durable-write)
};

const std::vector<ScenarioSpec>& AllScenarios();
const ScenarioSpec* FindScenario(const std::string& name);

// The baseline: an empty unary handler served inside the tool, over `channels` connections.
std::unique_ptr<Scenario> MakeEmptyScenario(int channels);

// The baseline of an acknowledged write: a unary handler served inside the tool, over `channels`
// connections, that answers once one atomic, fsync'd write of a check-in's size to `redis` is done
// (durable_write.cc); with `min_replicas`, once that many replicas have it too.
absl::StatusOr<std::unique_ptr<Scenario>> MakeDurableWriteScenario(const RedisAddress& redis,
                                                                   int channels,
                                                                   int min_replicas = 0);

// The baseline of a server stream: one stream of the tool's own server, read as fast as it comes,
// of messages as large as a post-fanout delivery (a NetworkEvent carrying a post: 315 bytes on
// average, as that scenario's notes report), so that the two differ in the work, not in the bytes.
// Its calls are the messages, each timed from the one before.
inline constexpr int kEmptyStreamMessageBytes = 315;
std::unique_ptr<Scenario> MakeEmptyStreamScenario(int message_bytes);

// A service of the tool's own (a baseline) on a free loopback port of this process. `service`
// must outlive it.
class InProcessServer {
 public:
  explicit InProcessServer(grpc::Service& service);
  ~InProcessServer();
  InProcessServer(const InProcessServer&) = delete;
  InProcessServer& operator=(const InProcessServer&) = delete;
  std::string address() const;

 private:
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

// Separate connections (distinct channel arguments) to one target.
std::vector<std::shared_ptr<grpc::Channel>> Channels(const std::string& target, int count);

// Scenarios of the check-in and alerts services (checkin_scenarios.cc).
absl::StatusOr<std::unique_ptr<Scenario>> MakeSubmitCheckinScenario(const ScenarioContext& context);
absl::StatusOr<std::unique_ptr<Scenario>> MakeCheckinToAlertScenario(
    const ScenarioContext& context);

// Scenarios of the supervision service (supervision_scenarios.cc).
absl::StatusOr<std::unique_ptr<Scenario>> MakeProposeSlotsScenario(const ScenarioContext& context);

// Scenarios of the peer network (network_scenarios.cc).
absl::StatusOr<std::unique_ptr<Scenario>> MakePostFanoutScenario(const ScenarioContext& context);

// Scenarios of partners' webhooks (webhooks_scenarios.cc).
absl::StatusOr<std::unique_ptr<Scenario>> MakeIncidentToWebhookScenario(
    const ScenarioContext& context);

// Scenarios of the gateway, over HTTP (gateway_scenarios.cc).
absl::StatusOr<std::unique_ptr<Scenario>> MakeGatewayGetPersonScenario(
    const ScenarioContext& context);

}  // namespace peerwell::bench
