#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/bench/scenario.h"

namespace peerwell::bench {

struct BenchVolunteer {
  std::string person_id;
  std::string authorization;  // "Bearer <token>"
};

struct BenchOrganisation {
  std::string organization_id;
  std::string coordinator_authorization;
  std::vector<BenchVolunteer> volunteers;
};

// Creates `organisations` organisations of a run through the directory, as a client would: each
// with its coordinator and `volunteers` volunteers, who consent to risk monitoring when asked.
absl::StatusOr<std::vector<BenchOrganisation>> CreateOrganisations(const ScenarioContext& context,
                                                                   int organisations,
                                                                   int volunteers,
                                                                   bool consent_to_monitoring);

}  // namespace peerwell::bench
