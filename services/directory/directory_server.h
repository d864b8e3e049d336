#pragma once

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "services/common/config.h"
#include "services/common/server.h"

namespace peerwell::directory {

// peerwell-directory as it runs: its name, default ports and own settings, and every part of it
// wired to the runtime's configuration, Redis and metrics, its handler added to `host`; what it
// returns must outlive the server. The binary's main and the in-process fuzz suite (tests/fuzz)
// both start the service this way.
ServiceDefaults DirectoryDefaults();
absl::StatusOr<std::vector<std::shared_ptr<void>>> BuildDirectoryServer(ServerRuntime& runtime,
                                                                        ServerHost& host);

}  // namespace peerwell::directory
