#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/common/config.h"

namespace peerwell::gateway {

// How the gateway meets the open internet: what a client may send, for how long, and how much
// it may hold open.
struct HttpLimits {
  size_t max_body_bytes = 1 << 20;
  size_t max_header_bytes = 16 << 10;
  // From a request's first byte to its last; a client trickling bytes is cut off after it.
  absl::Duration read_timeout = absl::Seconds(10);
  // How long a response (or one message of a stream) may wait for the client to take it.
  absl::Duration write_timeout = absl::Seconds(10);
  // How long a kept-alive connection may wait for its next request.
  absl::Duration idle_timeout = absl::Seconds(60);
  int max_connections = 4096;
  int max_streams_per_credential = 8;
  // The longest a unary call may take, whatever Connect-Timeout-Ms asks.
  absl::Duration max_call_timeout = absl::Seconds(60);
};

struct GatewayConfig : ProcessConfig {
  HttpLimits limits;
  // Origins ("https://dashboard.example.org") whose pages may call the API from a browser;
  // empty: no CORS at all, only the gateway's own pages.
  std::vector<std::string> cors_allowed_origins;
  int http_threads = 2;
  // How clients reach the gateway ("https://peerwell.example.org"), for the absolute links of
  // FHIR Bundles; empty: the links are relative to the gateway.
  std::string public_url;
};

inline constexpr int kGatewayHttpPort = 8080;
inline constexpr int kGatewayMetricsPort = 9556;

std::vector<SettingSpec> GatewaySettingSpecs();
// Parses and validates the gateway's configuration; the error names the setting at fault.
absl::StatusOr<GatewayConfig> LoadGatewayConfig(const std::vector<std::string>& args);

}  // namespace peerwell::gateway
