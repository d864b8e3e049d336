#pragma once

// The authorization matrix (tests/authz/matrix.txt): for every RPC of every PeerWell service, the
// status code each kind of caller gets for each kind of target.

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace peerwell::authz {

// Who calls: no or bad credentials, each role, and partner keys with one scope each.
const std::vector<std::string>& Callers();
// What the request names, relative to the caller (see the matrix's header).
const std::vector<std::string>& Targets();

struct Cell {
  std::string rpc;     // "peerwell.directory.v1.DirectoryService/GetPerson"
  std::string caller;  // one of Callers()
  std::map<std::string, std::string> codes;  // target → status name ("OK", "NOT_FOUND")
  int line = 0;
};

// Parses the matrix text: "<rpc> <caller> <CODE>" (one code for every target, or an RPC that
// names no target) or "<rpc> <caller> own=<CODE> assigned=<CODE> same_org=<CODE>
// other_org=<CODE> missing=<CODE>"; '#' starts a comment. INVALID_ARGUMENT names the line of a
// malformed row, an unknown caller, target or status name, or a row given twice.
absl::StatusOr<std::vector<Cell>> ParseMatrix(absl::string_view text);

// Every RPC of every service declared under `protos_dir`/peerwell (read from the .proto files,
// so that a new service or RPC is seen without a change here), as "<package.Service>/<Rpc>".
// The benchmark tool's own in-process service is left out: the suite does not serve it.
absl::StatusOr<std::vector<std::string>> DeclaredRpcs(const std::string& protos_dir);

}  // namespace peerwell::authz
