#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tests/fuzz/fuzz_input.h"

namespace peerwell::fuzz {

// The fuzzers' seeds, from the authorization matrix's requests (tests/authz/requests.txt, one
// valid request per RPC, which a new RPC cannot ship without): each request as every caller the
// matrix (tests/authz/matrix.txt) lets it succeed for, about the first target it succeeds with,
// so that fuzzing starts from calls that reach the services' logic. An RPC nobody may succeed at
// is seeded as its coordinator's call about their own.
absl::StatusOr<std::vector<FuzzInput>> SeedsFromMatrix(const std::string& source_dir);

// Every placeholder the seeds use and the fixed ones ("${person}", "${request_id}", ...): the
// mutator's dictionary for string fields.
std::vector<std::string> SeedPlaceholders(const std::vector<FuzzInput>& seeds);

// A file name for a seed: "<Service>.<Rpc>.<caller>.<target>".
std::string SeedFileName(const FuzzInput& seed);

}  // namespace peerwell::fuzz
