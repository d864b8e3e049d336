#include "services/common/metrics.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/support/status.h"

namespace peerwell {
namespace {

// Opens and closes one connection to host:port; failures do not matter.
void Knock(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) return;
  int fd = socket(found->ai_family, found->ai_socktype | SOCK_CLOEXEC, found->ai_protocol);
  if (fd >= 0) {
    (void)connect(fd, found->ai_addr, found->ai_addrlen);
    close(fd);
  }
  freeaddrinfo(found);
}

const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return *buckets;
}

// Whether `service`/`method` is an RPC this process actually serves: a method of a compiled
// service, or one of gRPC's own (served by libgrpc++ without a protobuf descriptor).
bool IsKnownMethod(const std::string& service, const std::string& method) {
  static const auto* builtin =
      new std::set<std::string>{"grpc.health.v1.Health/Check", "grpc.health.v1.Health/Watch",
                                "grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"};
  if (builtin->count(absl::StrCat(service, "/", method)) > 0) return true;
  return google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(
             absl::StrCat(service, ".", method)) != nullptr;
}

// Splits "/package.Service/Method". Any path that is not a real method (a probe, a typo, a
// client making up names) is counted under "unknown", so that callers cannot create label
// series at will.
std::pair<std::string, std::string> SplitMethod(absl::string_view full) {
  size_t slash = full.rfind('/');
  if (full.size() < 3 || full.front() != '/' || slash == 0 || slash == absl::string_view::npos) {
    return {"unknown", "unknown"};
  }
  std::string service(full.substr(1, slash - 1));
  std::string method(full.substr(slash + 1));
  if (!IsKnownMethod(service, method)) return {"unknown", "unknown"};
  return {service, method};
}

class MetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  MetricsInterceptor(Metrics& metrics, grpc::experimental::ServerRpcInfo* info)
      : series_(metrics.SeriesFor(info->method() == nullptr ? "" : info->method())),
        start_(absl::Now()) {
    series_.Started();
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      series_.Handled(methods->GetSendStatus().error_code(),
                      absl::ToDoubleSeconds(absl::Now() - start_));
    }
    methods->Proceed();
  }

 private:
  Metrics::MethodSeries& series_;
  absl::Time start_;
};

class MetricsInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit MetricsInterceptorFactory(Metrics& metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new MetricsInterceptor(metrics_, info);
  }

 private:
  Metrics& metrics_;
};

}  // namespace

std::string GrpcCodeName(int code) {
  static constexpr const char* kNames[] = {"OK",
                                           "CANCELLED",
                                           "UNKNOWN",
                                           "INVALID_ARGUMENT",
                                           "DEADLINE_EXCEEDED",
                                           "NOT_FOUND",
                                           "ALREADY_EXISTS",
                                           "PERMISSION_DENIED",
                                           "RESOURCE_EXHAUSTED",
                                           "FAILED_PRECONDITION",
                                           "ABORTED",
                                           "OUT_OF_RANGE",
                                           "UNIMPLEMENTED",
                                           "INTERNAL",
                                           "UNAVAILABLE",
                                           "DATA_LOSS",
                                           "UNAUTHENTICATED"};
  if (code < 0 || code >= static_cast<int>(std::size(kNames))) return "UNKNOWN";
  return kNames[code];
}

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      started_(prometheus::BuildCounter()
                   .Name("grpc_server_started_total")
                   .Help("RPCs started on the server.")
                   .Register(*registry_)),
      handled_(prometheus::BuildCounter()
                   .Name("grpc_server_handled_total")
                   .Help("RPCs completed on the server, by status code.")
                   .Register(*registry_)),
      handling_seconds_(prometheus::BuildHistogram()
                            .Name("grpc_server_handling_seconds")
                            .Help("Time from the start of an RPC to its status.")
                            .Register(*registry_)),
      redis_requests_(prometheus::BuildCounter()
                          .Name("redis_client_requests_total")
                          .Help("Command groups sent to Redis, by outcome (error: unreachable, "
                                "slow or loading).")
                          .Register(*registry_)),
      redis_connects_(prometheus::BuildCounter()
                          .Name("redis_client_connects_total")
                          .Help("Connection attempts to Redis, by outcome.")
                          .Register(*registry_)),
      redis_ok_(redis_requests_.Add({{"outcome", "ok"}})),
      redis_errors_(redis_requests_.Add({{"outcome", "error"}})),
      redis_commands_(prometheus::BuildCounter()
                          .Name("redis_client_commands_total")
                          .Help("Commands sent to Redis.")
                          .Register(*registry_)
                          .Add({})),
      redis_seconds_(prometheus::BuildHistogram()
                         .Name("redis_client_request_duration_seconds")
                         .Help("Time from queueing a command group to its last reply.")
                         .Register(*registry_)
                         .Add({}, LatencyBuckets())),
      redis_reconnects_ok_(redis_connects_.Add({{"outcome", "ok"}})),
      redis_reconnects_failed_(redis_connects_.Add({{"outcome", "failed"}})) {}

Metrics::~Metrics() {
  if (exposer_ == nullptr) return;
  // The exposer's listener (civetweb) sees that it is stopped only between polls of up to two
  // seconds; a connection ends the poll, so the process exits at once rather than up to 2 s
  // after a SIGTERM.
  std::atomic<bool> stopped{false};
  std::thread waker([this, &stopped] {
    while (!stopped.load()) {
      Knock(exposer_host_, exposer_port_);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  exposer_.reset();
  stopped = true;
  waker.join();
}

absl::StatusOr<int> Metrics::Serve(const std::string& address) {
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(address, 2);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", address, ": ", e.what()));
  }
  exposer_->RegisterCollectable(registry_);
  auto ports = exposer_->GetListeningPorts();
  if (ports.empty()) return absl::UnavailableError("metrics server bound no port");
  exposer_port_ = ports.front();
  absl::string_view host = absl::string_view(address).substr(0, address.rfind(':'));
  if (absl::ConsumePrefix(&host, "[")) absl::ConsumeSuffix(&host, "]");
  if (host.empty() || host == "0.0.0.0") {
    exposer_host_ = "127.0.0.1";
  } else if (host == "::") {
    exposer_host_ = "::1";
  } else {
    exposer_host_ = std::string(host);
  }
  return exposer_port_;
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
Metrics::NewInterceptorFactory() {
  return std::make_unique<MetricsInterceptorFactory>(*this);
}

Metrics::MethodSeries::MethodSeries(Metrics& metrics, std::string service, std::string method)
    : metrics_(metrics),
      service_(std::move(service)),
      method_(std::move(method)),
      started_(metrics.started_.Add({{"grpc_service", service_}, {"grpc_method", method_}})),
      seconds_(metrics.handling_seconds_.Add({{"grpc_service", service_}, {"grpc_method", method_}},
                                             LatencyBuckets())) {}

void Metrics::MethodSeries::Handled(int code, double seconds) {
  if (code < 0 || code >= kCodes) code = grpc::StatusCode::UNKNOWN;
  prometheus::Counter* counter = handled_[code].load(std::memory_order_acquire);
  if (counter == nullptr) {
    // Two calls racing here get the same counter: the family hands out one per label set.
    counter = &metrics_.handled_.Add(
        {{"grpc_service", service_}, {"grpc_method", method_}, {"grpc_code", GrpcCodeName(code)}});
    handled_[code].store(counter, std::memory_order_release);
  }
  counter->Increment();
  seconds_.Observe(seconds);
}

Metrics::MethodSeries& Metrics::SeriesFor(absl::string_view path) {
  {
    absl::ReaderMutexLock lock(&series_mu_);
    auto found = series_.find(path);
    if (found != series_.end()) return *found->second;
  }
  // Unknown paths share one "unknown" series, so that callers cannot make series at will.
  auto [service, method] = SplitMethod(path);
  std::string key = service == "unknown" ? "unknown" : std::string(path);
  absl::MutexLock lock(&series_mu_);
  auto& series = series_[key];
  if (series == nullptr) series = std::make_unique<MethodSeries>(*this, service, method);
  return *series;
}

void Metrics::OnRedisCall(size_t commands, absl::Duration latency, const absl::Status& status) {
  (status.ok() ? redis_ok_ : redis_errors_).Increment();
  redis_commands_.Increment(static_cast<double>(commands));
  redis_seconds_.Observe(absl::ToDoubleSeconds(latency));
}

void Metrics::OnRedisReconnect(bool ok) {
  (ok ? redis_reconnects_ok_ : redis_reconnects_failed_).Increment();
}

ConsumerBacklogGauges::ConsumerBacklogGauges(prometheus::Registry& registry, RedisClient& redis,
                                             ConsumerOptions options)
    : redis_(redis),
      options_(std::move(options)),
      lag_(prometheus::BuildGauge()
               .Name("peerwell_event_consumer_lag")
               .Help("Stream entries not yet delivered to the consumer group.")
               .Register(registry)
               .Add({{"stream", EventChannel(options_.source)}, {"group", options_.group}})),
      pending_(prometheus::BuildGauge()
                   .Name("peerwell_event_consumer_pending")
                   .Help("Stream entries delivered to a consumer and not yet acknowledged.")
                   .Register(registry)
                   .Add({{"stream", EventChannel(options_.source)}, {"group", options_.group}})),
      dead_letters_(prometheus::BuildGauge()
                        .Name("peerwell_event_dead_letter_entries")
                        .Help("Entries in the dead-letter stream: events no handler could take.")
                        .Register(registry)
                        .Add({{"stream", DeadLetterStreamKey(EventChannel(options_.source))}})) {}

absl::Status ConsumerBacklogGauges::Refresh() {
  auto read = ReadConsumerBacklog(redis_, options_);
  if (!read.ok()) return read.status();
  const ConsumerBacklog& backlog = *read;
  // An unknown lag keeps the last known one rather than reading as "caught up".
  if (backlog.lag.has_value()) lag_.Set(static_cast<double>(*backlog.lag));
  pending_.Set(static_cast<double>(backlog.pending));
  dead_letters_.Set(static_cast<double>(backlog.dead_letters));
  return absl::OkStatus();
}

}  // namespace peerwell
