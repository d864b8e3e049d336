#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/support/server_interceptor.h"
#include "prometheus/counter.h"
#include "prometheus/exposer.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "services/common/events.h"
#include "services/common/redis_client.h"

namespace peerwell {

// The Prometheus metrics of one process: the shared gRPC server metrics, the Redis client
// metrics, and whatever business metrics a service adds to registry().
class Metrics final : public RedisObserver {
 public:
  Metrics();
  ~Metrics() override;

  // Starts serving /metrics on `address` ("host:port"; port 0 picks one). Returns the bound port.
  absl::StatusOr<int> Serve(const std::string& address);

  prometheus::Registry& registry() { return *registry_; }

  // Records grpc_server_started_total, grpc_server_handled_total and
  // grpc_server_handling_seconds for every call of every service of the server.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> NewInterceptorFactory();

  void OnRedisCall(size_t commands, absl::Duration latency, const absl::Status& status) override;
  void OnRedisReconnect(bool ok) override;

  // Used by the interceptor.
  void RecordStarted(const std::string& service, const std::string& method);
  void RecordHandled(const std::string& service, const std::string& method, const std::string& code,
                     double seconds);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  prometheus::Family<prometheus::Counter>& started_;
  prometheus::Family<prometheus::Counter>& handled_;
  prometheus::Family<prometheus::Histogram>& handling_seconds_;
  prometheus::Family<prometheus::Counter>& redis_requests_;
  prometheus::Family<prometheus::Counter>& redis_connects_;
  prometheus::Counter& redis_ok_;
  prometheus::Counter& redis_errors_;
  prometheus::Counter& redis_commands_;
  prometheus::Histogram& redis_seconds_;
  prometheus::Counter& redis_reconnects_ok_;
  prometheus::Counter& redis_reconnects_failed_;
};

// The backlog of one consumer group as gauges, which the suite's alerting rules watch
// (helm/peerwell's PrometheusRule): peerwell_event_consumer_lag, peerwell_event_consumer_pending
// {stream, group} and peerwell_event_dead_letter_entries{stream}.
class ConsumerBacklogGauges {
 public:
  ConsumerBacklogGauges(prometheus::Registry& registry, const ConsumerOptions& options);
  void Set(const ConsumerBacklog& backlog);

 private:
  prometheus::Gauge& lag_;
  prometheus::Gauge& pending_;
  prometheus::Gauge& dead_letters_;
};

// "OK", "NOT_FOUND", ... as gRPC names its codes.
std::string GrpcCodeName(int code);

}  // namespace peerwell
