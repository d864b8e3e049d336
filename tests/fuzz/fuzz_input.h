#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace peerwell::fuzz {

// One fuzzer input: which RPC, as whom, naming whose resources, with what request. Stored as
// text so that a seed is readable and a crash reproducer tells its story:
//   # rpc: peerwell.checkin.v1.CheckinService/ListCheckins
//   # caller: supervisor
//   # target: assigned
//   volunteer_id: "${person}" ...   (the request in protobuf text format)
// Callers, targets and placeholders are the authorization matrix's (tests/authz/matrix.txt,
// requests.txt), filled in by its World. The header lines are comments to the text format.
struct FuzzInput {
  std::string rpc;
  std::string caller;
  std::string target;
  std::string request_text;
};

// Reads the header lines wherever they are missing or garbled as empty.
FuzzInput ParseFuzzInput(absl::string_view data);
std::string FormatFuzzInput(const FuzzInput& input);

}  // namespace peerwell::fuzz
