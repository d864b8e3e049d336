#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "services/gateway/gateway_config.h"
#include "services/gateway/rpc_proxy.h"
#include "services/gateway/static_files.h"

namespace peerwell::gateway {

class HttpSession;

// The gateway's request counts and latency by route and status, and what it holds open.
class GatewayMetrics {
 public:
  explicit GatewayMetrics(prometheus::Registry& registry);
  // `route` is the RPC path, "/healthz", "static" or "unmatched": never a path a client chose.
  void Observe(const std::string& route, int http_status, absl::Duration latency);
  prometheus::Gauge& open_connections() { return connections_; }
  prometheus::Gauge& open_streams() { return streams_; }

 private:
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& seconds_;
  prometheus::Gauge& connections_;
  prometheus::Gauge& streams_;
};

// Streaming calls open per credential, against HttpLimits::max_streams_per_credential.
class StreamQuota {
 public:
  explicit StreamQuota(int max_per_credential) : max_(max_per_credential) {}
  bool TryAcquire(const std::string& credential);
  void Release(const std::string& credential);

 private:
  const int max_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, int> open_ ABSL_GUARDED_BY(mu_);
};

// The gateway's HTTP server (Boost.Beast, HTTP/1.1): Connect calls to the services, the
// dashboard's files, /healthz. Asynchronous throughout: a connection holds no thread while it
// waits for its client or for a service.
class HttpServer {
 public:
  HttpServer(const GatewayConfig& config, Backends& backends, GatewayMetrics& metrics,
             const StaticFiles& files);
  ~HttpServer();

  // Binds config.listen_addr, starts config.http_threads threads, logs
  // {"message":"serving","port":N}. Returns the bound port.
  absl::StatusOr<int> Start();
  // Stops accepting and turns /healthz to 503; ends open streams with UNAVAILABLE (their clients
  // reconnect to another replica), lets calls in flight finish within `grace`, then cancels the
  // rest and stops.
  void Shutdown(absl::Duration grace);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace peerwell::gateway
