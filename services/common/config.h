#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace peerwell {

// One setting: a command-line flag with an environment override. A flag given on the command
// line wins, then the environment variable, then the default.
struct SettingSpec {
  std::string flag;  // "redis_addr" for --redis_addr
  std::string env;   // "PEERWELL_REDIS_ADDR"
  std::string default_value;
  std::string help;
};

// Reads every setting of `specs` from argv and the environment. Unknown flags, flags without a
// value and positional arguments are errors naming the argument.
absl::StatusOr<std::map<std::string, std::string>> ParseSettings(
    const std::vector<std::string>& args, const std::vector<SettingSpec>& specs);

std::string SettingsHelp(absl::string_view program, const std::vector<SettingSpec>& specs);

// Where a Redis server is: TCP host and port, or a Unix socket path.
struct RedisAddress {
  std::string host;
  int port = 0;
  std::string unix_path;  // set for "unix:/path"
  // The ACL user and its password, sent with AUTH on every new connection when the password is
  // set; with none, the connection is Redis's default user.
  std::string username;
  std::string password;
  // Refuse, before sending it, an atomic write (a command, a script, a MULTI ... EXEC) whose keys
  // lie in two hash slots: what a Redis Cluster would refuse, caught on a single server too, so
  // that a layout mistake fails every test that makes it.
  bool refuse_cross_slot = true;
  // A Redis Cluster: its map of slots is asked of these nodes first; host and port are the first
  // of them.
  bool cluster = false;
  std::vector<std::pair<std::string, int>> seeds;

  // One node of this cluster (or the server at host:port) by itself, as the same user: where
  // a command for that node alone goes (CLUSTER SLOTS, a redirect, a node's own rewrite).
  RedisAddress Node(std::string node_host, int node_port) const;
  // Where, never the password.
  std::string ToString() const;
};
absl::StatusOr<RedisAddress> ParseRedisAddress(absl::string_view text);
// "host:port,host:port,...": a Redis Cluster's seed nodes.
absl::StatusOr<RedisAddress> ParseRedisClusterSeeds(absl::string_view text);

// "host:port" with a numeric port 0-65535 (0 asks the kernel for a free port).
absl::Status ValidateHostPort(absl::string_view setting, absl::string_view text);

// What every PeerWell process that serves shares (SPEC §8): the gRPC servers and the gateway.
struct ProcessConfig {
  std::string service_name;
  std::string listen_addr;
  std::string metrics_addr;
  std::string directory_addr;
  std::string checkin_addr;
  std::string alerts_addr;
  std::string supervision_addr;
  std::string network_addr;
  std::string webhooks_addr;
  std::string log_level;
  absl::Duration shutdown_grace = absl::Seconds(10);
};

// The configuration of a service's gRPC server.
struct ServiceConfig : ProcessConfig {
  RedisAddress redis;
  std::string jwt_secret;
  std::string master_key;  // base64 of 32 bytes; empty when the service encrypts nothing
  // Base64 of 32 bytes; empty when the service gives partners nothing about a person.
  std::string pseudonym_key;
  int worker_threads = 32;
  // How long an event may stay unacknowledged with a consumer before another takes it over.
  absl::Duration event_claim_idle = absl::Seconds(2);
  // Replicas each write must reach before a call is answered (RedisOptions::min_replicas).
  int redis_min_replicas = 0;
  // The values of ServiceDefaults::own_settings by flag name, for the service to check.
  std::map<std::string, std::string> own_settings;
};

struct ServiceDefaults {
  ServiceDefaults(std::string service_name, int grpc_port, int metrics_port,
                  std::vector<SettingSpec> own_settings = {})
      : service_name(std::move(service_name)),
        grpc_port(grpc_port),
        metrics_port(metrics_port),
        own_settings(std::move(own_settings)) {}

  std::string service_name;
  int grpc_port = 0;
  int metrics_port = 0;
  // Settings of this service alone, beside the shared ones.
  std::vector<SettingSpec> own_settings;
};

// Parses and validates the configuration of a server; the error names the setting at fault.
absl::StatusOr<ServiceConfig> LoadServiceConfig(const std::vector<std::string>& args,
                                                const ServiceDefaults& defaults);

// The settings a server accepts, for --help.
std::vector<SettingSpec> ServiceSettingSpecs(const ServiceDefaults& defaults);

// The settings of ProcessConfig, and reading them from what ParseSettings returned; for a process
// with settings of its own beside them (the gateway).
std::vector<SettingSpec> ProcessSettingSpecs(const ServiceDefaults& defaults);
absl::StatusOr<ProcessConfig> ReadProcessConfig(const std::map<std::string, std::string>& settings,
                                                const ServiceDefaults& defaults);

// Reads a secret given directly or through a *_FILE setting; trailing newlines are dropped.
absl::StatusOr<std::string> ReadSecret(absl::string_view name, const std::string& value,
                                       const std::string& file);

}  // namespace peerwell
