#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
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

  // The series of one RPC path ("/package.Service/Method"), found once and kept: resolving
  // labels on every call cost more than a fast handler's own work. Used by the interceptor.
  class MethodSeries {
   public:
    MethodSeries(Metrics& metrics, std::string service, std::string method);
    void Started() { started_.Increment(); }
    void Handled(int code, double seconds);

   private:
    static constexpr int kCodes = 17;  // gRPC's status codes, OK to UNAUTHENTICATED
    Metrics& metrics_;
    const std::string service_;
    const std::string method_;
    prometheus::Counter& started_;
    prometheus::Histogram& seconds_;
    // By status code, made on first use so that /metrics shows only codes that happened.
    std::array<std::atomic<prometheus::Counter*>, kCodes> handled_{};
  };
  MethodSeries& SeriesFor(absl::string_view path);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::string exposer_host_;  // where a connection reaches the exposer, to wake it at exit
  int exposer_port_ = 0;
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
  absl::Mutex series_mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<MethodSeries>> series_
      ABSL_GUARDED_BY(series_mu_);
};

// The backlog of one consumer group over every organisation's stream as gauges, which the suite's
// alerting rules watch (helm/peerwell's PrometheusRule): peerwell_event_consumer_lag,
// peerwell_event_consumer_pending{stream, group} and peerwell_event_dead_letter_entries{stream},
// the streams named together ("pw:events:checkin", "pw:events:checkin:dead").
class ConsumerBacklogGauges {
 public:
  ConsumerBacklogGauges(prometheus::Registry& registry, RedisClient& redis,
                        ConsumerOptions options);
  // Reads the group's backlog (ReadConsumerBacklog) and sets the gauges; when it cannot be read
  // they keep their last values and the error is returned.
  absl::Status Refresh();

 private:
  RedisClient& redis_;
  const ConsumerOptions options_;
  prometheus::Gauge& lag_;
  prometheus::Gauge& pending_;
  prometheus::Gauge& dead_letters_;
};

// "OK", "NOT_FOUND", ... as gRPC names its codes.
std::string GrpcCodeName(int code);

}  // namespace peerwell
