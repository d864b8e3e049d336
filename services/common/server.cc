#include "services/common/server.h"

#include <csignal>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "services/common/log.h"

namespace peerwell {

ServerHost::ServerHost(ServerHostOptions options, Metrics& metrics, RedisClient& redis)
    : options_(std::move(options)), metrics_(metrics), redis_(redis) {}

ServerHost::~ServerHost() { Shutdown(); }

void ServerHost::AddService(grpc::Service* service) { services_.push_back(service); }

absl::Status ServerHost::Start() {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options_.listen_addr, grpc::InsecureServerCredentials(), &port_);
  for (grpc::Service* service : services_) builder.RegisterService(service);
  builder.SetMaxReceiveMessageSize(4 << 20);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 60'000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20'000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10'000);
  // Clients balance over the replicas their DNS lookup found; a connection that ends (GOAWAY after
  // five minutes, ±10 %) makes them look again, so replicas added by a scale-up get calls. Calls
  // and streams in progress finish on the old connection (the grace is unlimited).
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, 5 * 60'000);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
  creators.push_back(metrics_.NewInterceptorFactory());
  builder.experimental().SetInterceptorCreators(std::move(creators));
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options_.listen_addr));
  }
  // Serve health at once from what Redis says now, then keep following it.
  absl::Status redis = redis_.Ping(options_.health_timeout);
  serving_ = redis.ok();
  // Said at once, not only on a change: refused credentials would otherwise go unexplained.
  if (!serving_) {
    Log(Severity::kWarning, "redis unreachable: not serving",
        {Field("error", std::string(redis.message()))});
  }
  server_->GetHealthCheckService()->SetServingStatus(kLivenessHealthService, true);
  server_->GetHealthCheckService()->SetServingStatus("", serving_);
  health_thread_ = std::thread([this] { HealthLoop(); });
  Log(Severity::kInfo, "serving",
      {NumberField("port", port_), Field("address", options_.listen_addr)});
  return absl::OkStatus();
}

void ServerHost::HealthLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    lock.unlock();
    absl::Status redis = redis_.Ping(options_.health_timeout);
    lock.lock();
    if (stopping_) break;
    bool serving = redis.ok();
    if (serving != serving_) {
      serving_ = serving;
      server_->GetHealthCheckService()->SetServingStatus("", serving);
      if (serving) {
        Log(Severity::kInfo, "redis reachable again: serving");
      } else {
        Log(Severity::kWarning, "redis unreachable: not serving",
            {Field("error", std::string(redis.message()))});
      }
    }
    stop_health_.wait_for(lock, absl::ToChronoNanoseconds(options_.health_interval),
                          [this] { return stopping_; });
  }
}

void ServerHost::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || server_ == nullptr) return;
    stopping_ = true;
  }
  stop_health_.notify_all();
  if (health_thread_.joinable()) health_thread_.join();
  server_->GetHealthCheckService()->SetServingStatus(false);
  for (const auto& hook : hooks_) hook();
  Log(Severity::kInfo, "draining",
      {NumberField("grace_ms", absl::ToInt64Milliseconds(options_.shutdown_grace))});
  server_->Shutdown(absl::ToChronoTime(absl::Now() + options_.shutdown_grace));
  server_->Wait();
  // Gone before the services registered with it, which their owners destroy next.
  server_.reset();
}

void BlockTerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void DisableMutexDeadlockDetection() {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
}

int WaitForTerminationSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  int signal = 0;
  sigwait(&set, &signal);
  return signal;
}

int RunServerMain(int argc, char** argv, const ServiceDefaults& defaults,
                  const ServiceBuilder& build) {
  BlockTerminationSignals();
  DisableMutexDeadlockDetection();
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string program = absl::StrCat("peerwell-", defaults.service_name);
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    std::fputs(SettingsHelp(program, ServiceSettingSpecs(defaults)).c_str(), stdout);
    return 0;
  }
  auto config = LoadServiceConfig(args, defaults);
  if (!config.ok()) {
    std::fprintf(stderr, "%s: configuration error: %s\n", program.c_str(),
                 std::string(config.status().message()).c_str());
    return 2;
  }
  InitLogging(defaults.service_name, config->log_level);
  RouteGrpcLogs();

  Metrics metrics;
  auto metrics_port = metrics.Serve(config->metrics_addr);
  if (!metrics_port.ok()) {
    Log(Severity::kError, "cannot start",
        {Field("error", std::string(metrics_port.status().message()))});
    return 1;
  }
  RedisOptions redis_options;
  redis_options.address = config->redis;
  redis_options.min_replicas = config->redis_min_replicas;
  RedisClient redis(redis_options, &metrics);
  ServerHostOptions host_options;
  host_options.listen_addr = config->listen_addr;
  host_options.shutdown_grace = config->shutdown_grace;
  ServerHost host(host_options, metrics, redis);
  ServerRuntime runtime{*config, metrics, redis};
  auto keep_alive = build(runtime, host);
  if (!keep_alive.ok()) {
    Log(Severity::kError, "cannot start",
        {Field("error", std::string(keep_alive.status().message()))});
    return 1;
  }
  if (auto status = host.Start(); !status.ok()) {
    Log(Severity::kError, "cannot start", {Field("error", std::string(status.message()))});
    return 1;
  }
  Log(Severity::kInfo, "metrics serving", {NumberField("metrics_port", *metrics_port)});
  int signal = WaitForTerminationSignal();
  Log(Severity::kInfo, "shutting down", {Field("signal", strsignal(signal))});
  host.Shutdown();
  keep_alive->clear();
  Log(Severity::kInfo, "stopped");
  return 0;
}

}  // namespace peerwell
