#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "peerwell/directory/v1/directory.grpc.pb.h"

namespace peerwell::testing {

// An organisation made through the directory's API, as an operator and its coordinator would
// make one: for the tests and the benchmark that need people to act as.
struct SeedOptions {
  std::string display_name = "Harbour";
  int volunteers = 0;
  // A supervisor, who supervises every volunteer.
  bool supervisor = false;
  // What every volunteer consents to (nothing is asked when all are false).
  bool risk_monitoring = false;
  bool research_export = false;
  bool share_scores_with_supervisor = false;
  absl::Duration token_lifetime = absl::Hours(2);
  absl::Duration call_deadline = absl::Seconds(10);
};

struct SeededPerson {
  std::string person_id;
  std::string token;  // a JWT of theirs, without "Bearer "
};

struct SeededOrganization {
  std::string organization_id;
  SeededPerson coordinator;
  SeededPerson supervisor;  // empty without SeedOptions::supervisor
  std::vector<SeededPerson> volunteers;
};

// Creates the organisation, its coordinator, its supervisor and volunteers, and their consent;
// tokens are minted with `jwt_secret`. UNAVAILABLE naming the call that failed.
absl::StatusOr<SeededOrganization> SeedOrganization(
    directory::v1::DirectoryService::Stub& directory, const std::string& jwt_secret,
    const SeedOptions& options);

}  // namespace peerwell::testing
