// peerwell-gateway: the suite's one door to the outside (SPEC Appendix C): every RPC of the
// services over the Connect protocol, and the dashboard.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "services/common/log.h"
#include "services/common/metrics.h"
#include "services/common/server.h"
#include "services/gateway/gateway_config.h"
#include "services/gateway/http_server.h"
#include "services/gateway/rpc_proxy.h"
#include "services/gateway/static_files.h"

int main(int argc, char** argv) {
  using namespace peerwell;
  using namespace peerwell::gateway;
  BlockTerminationSignals();
  DisableMutexDeadlockDetection();
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    std::fputs(SettingsHelp("peerwell-gateway", GatewaySettingSpecs()).c_str(), stdout);
    return 0;
  }
  auto config = LoadGatewayConfig(args);
  if (!config.ok()) {
    std::fprintf(stderr, "peerwell-gateway: configuration error: %s\n",
                 std::string(config.status().message()).c_str());
    return 2;
  }
  InitLogging("gateway", config->log_level);
  RouteGrpcLogs();

  Metrics metrics;
  auto metrics_port = metrics.Serve(config->metrics_addr);
  if (!metrics_port.ok()) {
    Log(Severity::kError, "cannot start",
        {Field("error", std::string(metrics_port.status().message()))});
    return 1;
  }
  GatewayMetrics gateway_metrics(metrics.registry());
  Backends backends(*config);
  HttpServer server(*config, backends, gateway_metrics, WebFiles());
  if (auto port = server.Start(); !port.ok()) {
    Log(Severity::kError, "cannot start", {Field("error", std::string(port.status().message()))});
    return 1;
  }
  Log(Severity::kInfo, "metrics serving", {NumberField("metrics_port", *metrics_port)});
  int signal = WaitForTerminationSignal();
  Log(Severity::kInfo, "shutting down", {Field("signal", strsignal(signal))});
  server.Shutdown(config->shutdown_grace);
  Log(Severity::kInfo, "stopped");
  return 0;
}
