#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/channel.h"
#include "tools/bench/load.h"

namespace peerwell::bench {

// What a scenario may use to prepare itself: where the services are and how to sign tokens.
struct ScenarioContext {
  std::string directory_addr;
  std::string checkin_addr;
  std::string alerts_addr;
  std::string supervision_addr;
  std::string jwt_secret;
  int channels = 2;       // connections to the service under load
  int organisations = 4;  // created for the run
  int volunteers = 25;    // per organisation
  int supervisors = 50;   // the supervision scenarios' pool, each with 8–12 volunteers
  LoadOptions load;       // the run the scenario will be driven by
};

// A scenario prepares itself once (organisations, people, streams) and then issues calls for
// RunLoad; a call's latency runs from when it was due to when it calls `done`.
class Scenario {
 public:
  virtual ~Scenario() = default;
  virtual IssueCall Issuer() = 0;
  // Lines worth printing after the run (e.g. how the service under load was doing).
  virtual std::vector<std::string> Notes() { return {}; }
};

// A scenario the tool knows by name. To add one for a new service: write a class deriving from
// Scenario and add a line to AllScenarios() (scenarios.cc).
struct ScenarioSpec {
  std::string name;
  std::string description;
  bool needs_services = true;  // false: runs inside the tool (the empty baseline)
  std::function<absl::StatusOr<std::unique_ptr<Scenario>>(const ScenarioContext&)> create;
};

const std::vector<ScenarioSpec>& AllScenarios();
const ScenarioSpec* FindScenario(const std::string& name);

// The baseline: an empty unary handler served inside the tool, over `channels` connections.
std::unique_ptr<Scenario> MakeEmptyScenario(int channels);

// Separate connections (distinct channel arguments) to one target.
std::vector<std::shared_ptr<grpc::Channel>> Channels(const std::string& target, int count);

// Scenarios of the check-in and alerts services (checkin_scenarios.cc).
absl::StatusOr<std::unique_ptr<Scenario>> MakeSubmitCheckinScenario(const ScenarioContext& context);
absl::StatusOr<std::unique_ptr<Scenario>> MakeCheckinToAlertScenario(
    const ScenarioContext& context);

// Scenarios of the supervision service (supervision_scenarios.cc).
absl::StatusOr<std::unique_ptr<Scenario>> MakeProposeSlotsScenario(const ScenarioContext& context);

}  // namespace peerwell::bench
