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

// What every volunteer of a run agrees to (nothing unless a scenario needs it).
struct BenchConsent {
  bool risk_monitoring = false;
  bool research_export = false;
};

// Creates `organisations` organisations of a run through the directory, as a client would: each
// with its coordinator and `volunteers` volunteers, who give `consent`.
absl::StatusOr<std::vector<BenchOrganisation>> CreateOrganisations(const ScenarioContext& context,
                                                                   int organisations,
                                                                   int volunteers,
                                                                   BenchConsent consent = {});

}  // namespace peerwell::bench
