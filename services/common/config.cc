#include "services/common/config.h"

#include <fstream>
#include <sstream>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "services/common/encryption.h"
#include "services/common/hmac_pseudonymizer.h"

namespace peerwell {
namespace {

const SettingSpec* FindSpec(const std::vector<SettingSpec>& specs, absl::string_view flag) {
  for (const auto& spec : specs) {
    if (spec.flag == flag) return &spec;
  }
  return nullptr;
}

std::string LocalAddress(int port) { return absl::StrCat("127.0.0.1:", port); }

}  // namespace

absl::StatusOr<std::map<std::string, std::string>> ParseSettings(
    const std::vector<std::string>& args, const std::vector<SettingSpec>& specs) {
  std::map<std::string, std::string> from_flags;
  for (size_t i = 0; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (!absl::ConsumePrefix(&arg, "--")) {
      return absl::InvalidArgumentError(absl::StrCat("unexpected argument '", arg, "'"));
    }
    std::string name;
    std::string value;
    size_t eq = arg.find('=');
    if (eq != absl::string_view::npos) {
      name = std::string(arg.substr(0, eq));
      value = std::string(arg.substr(eq + 1));
    } else {
      name = std::string(arg);
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
      }
      value = args[++i];
    }
    if (FindSpec(specs, name) == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    }
    from_flags[name] = value;
  }
  std::map<std::string, std::string> settings;
  for (const auto& spec : specs) {
    if (auto it = from_flags.find(spec.flag); it != from_flags.end()) {
      settings[spec.flag] = it->second;
    } else if (const char* env = std::getenv(spec.env.c_str()); env != nullptr) {
      settings[spec.flag] = env;
    } else {
      settings[spec.flag] = spec.default_value;
    }
  }
  return settings;
}

std::string SettingsHelp(absl::string_view program, const std::vector<SettingSpec>& specs) {
  std::ostringstream out;
  out << "usage: " << program << " [--flag=value ...]\n\n"
      << "Each flag may also be set through its environment variable; a flag on the command "
         "line wins.\n\n";
  for (const auto& spec : specs) {
    out << "  --" << spec.flag << " (" << spec.env << ")";
    if (!spec.default_value.empty()) out << " default " << spec.default_value;
    out << "\n      " << spec.help << "\n";
  }
  return out.str();
}

RedisAddress RedisAddress::Node(std::string node_host, int node_port) const {
  RedisAddress node = *this;
  node.cluster = false;
  node.seeds.clear();
  node.unix_path.clear();
  node.host = std::move(node_host);
  node.port = node_port;
  return node;
}

std::string RedisAddress::ToString() const {
  if (cluster && !seeds.empty()) {
    return absl::StrCat("cluster ",
                        absl::StrJoin(seeds, ",", [](std::string* out, const auto& seed) {
                          absl::StrAppend(out, seed.first, ":", seed.second);
                        }));
  }
  return unix_path.empty() ? absl::StrCat(host, ":", port) : absl::StrCat("unix:", unix_path);
}

absl::StatusOr<RedisAddress> ParseRedisAddress(absl::string_view text) {
  RedisAddress address;
  if (absl::ConsumePrefix(&text, "unix:")) {
    if (text.empty() || text.front() != '/') {
      return absl::InvalidArgumentError("a Unix socket address must be unix:/absolute/path");
    }
    address.unix_path = std::string(text);
    return address;
  }
  size_t colon = text.rfind(':');
  int port = 0;
  if (colon == absl::string_view::npos || colon == 0 ||
      !absl::SimpleAtoi(text.substr(colon + 1), &port) || port <= 0 || port > 65535 ||
      text.substr(0, colon).find_first_of(", \t") != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        "expected host:port or unix:/path (a list of nodes is for PEERWELL_REDIS_MODE=cluster)");
  }
  address.host = std::string(text.substr(0, colon));
  address.port = port;
  return address;
}

absl::StatusOr<RedisAddress> ParseRedisClusterSeeds(absl::string_view text) {
  RedisAddress address;
  address.cluster = true;
  for (absl::string_view seed : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    auto node = ParseRedisAddress(absl::StripAsciiWhitespace(seed));
    if (!node.ok() || !node->unix_path.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "expected host:port of cluster nodes, separated by commas; got '", seed, "'"));
    }
    address.seeds.emplace_back(node->host, node->port);
  }
  if (address.seeds.empty()) {
    return absl::InvalidArgumentError("expected at least one host:port of a cluster node");
  }
  std::tie(address.host, address.port) = address.seeds.front();
  return address;
}

absl::Status ValidateHostPort(absl::string_view setting, absl::string_view text) {
  size_t colon = text.rfind(':');
  int port = 0;
  if (colon == absl::string_view::npos || colon == 0 ||
      !absl::SimpleAtoi(text.substr(colon + 1), &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat(setting, ": expected host:port, got '", text, "'"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadSecret(absl::string_view name, const std::string& value,
                                       const std::string& file) {
  if (!value.empty() && !file.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": set the value or the file, not both"));
  }
  if (file.empty()) return value;
  std::ifstream in(file, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat(name, "_FILE: cannot read ", file));
  std::string contents((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!contents.empty() && (contents.back() == '\n' || contents.back() == '\r')) {
    contents.pop_back();
  }
  return contents;
}

std::vector<SettingSpec> ProcessSettingSpecs(const ServiceDefaults& defaults) {
  return {
      {"listen_addr", "PEERWELL_LISTEN_ADDR", LocalAddress(defaults.grpc_port),
       "host:port the server binds; port 0 picks a free port"},
      {"metrics_addr", "PEERWELL_METRICS_ADDR", LocalAddress(defaults.metrics_port),
       "host:port of the Prometheus /metrics endpoint; port 0 picks a free port"},
      {"directory_addr", "PEERWELL_DIRECTORY_ADDR", "127.0.0.1:50051", "directory service"},
      {"checkin_addr", "PEERWELL_CHECKIN_ADDR", "127.0.0.1:50052", "check-in service"},
      {"alerts_addr", "PEERWELL_ALERTS_ADDR", "127.0.0.1:50053", "alert service"},
      {"supervision_addr", "PEERWELL_SUPERVISION_ADDR", "127.0.0.1:50054", "supervision service"},
      {"network_addr", "PEERWELL_NETWORK_ADDR", "127.0.0.1:50055", "peer-network service"},
      {"webhooks_addr", "PEERWELL_WEBHOOKS_ADDR", "127.0.0.1:50056", "partners' webhook service"},
      {"log_level", "PEERWELL_LOG_LEVEL", "info", "debug, info, warning or error"},
      {"shutdown_grace", "PEERWELL_SHUTDOWN_GRACE", "10s",
       "how long SIGTERM waits for in-flight calls"},
  };
}

std::vector<SettingSpec> ServiceSettingSpecs(const ServiceDefaults& defaults) {
  std::vector<SettingSpec> specs = ProcessSettingSpecs(defaults);
  specs.insert(
      specs.end(),
      {
          {"redis_addr", "PEERWELL_REDIS_ADDR", "127.0.0.1:6379",
           "host:port or unix:/path; in cluster mode, host:port of nodes separated by commas"},
          {"redis_mode", "PEERWELL_REDIS_MODE", "single",
           "single (one server, or a primary with replicas) or cluster (a Redis Cluster)"},
          {"redis_user", "PEERWELL_REDIS_USER", defaults.service_name,
           "the service's Redis ACL user (used with a password)"},
          {"redis_password", "PEERWELL_REDIS_PASSWORD", "",
           "the Redis user's password (none: Redis's default user)"},
          {"redis_password_file", "PEERWELL_REDIS_PASSWORD_FILE", "",
           "file holding the Redis user's password"},
          {"jwt_secret", "PEERWELL_JWT_SECRET", "", "HS256 signing secret (at least 32 bytes)"},
          {"jwt_secret_file", "PEERWELL_JWT_SECRET_FILE", "", "file holding the signing secret"},
          {"master_key", "PEERWELL_MASTER_KEY", "", "base64 of the 32-byte master key"},
          {"master_key_file", "PEERWELL_MASTER_KEY_FILE", "", "file holding the master key"},
          {"pseudonym_key", "PEERWELL_PSEUDONYM_KEY", "",
           "base64 of the 32-byte key of partners' pseudonyms"},
          {"pseudonym_key_file", "PEERWELL_PSEUDONYM_KEY_FILE", "",
           "file holding the pseudonym key"},
          {"worker_threads", "PEERWELL_WORKER_THREADS", "32",
           "threads that run handlers (blocking work never runs on gRPC's threads)"},
          {"event_claim_idle", "PEERWELL_EVENT_CLAIM_IDLE", "2s",
           "how long an event may wait with a silent consumer before another replica takes it"},
          {"redis_min_replicas", "PEERWELL_REDIS_MIN_REPLICAS", "0",
           "replicas every write must reach (WAIT, up to 1s) before a call is answered; 0: none"},
      });
  specs.insert(specs.end(), defaults.own_settings.begin(), defaults.own_settings.end());
  return specs;
}

absl::StatusOr<ProcessConfig> ReadProcessConfig(const std::map<std::string, std::string>& settings,
                                                const ServiceDefaults& defaults) {
  auto setting = [&](const std::string& name) {
    auto it = settings.find(name);
    return it == settings.end() ? std::string() : it->second;
  };
  ProcessConfig config;
  config.service_name = defaults.service_name;
  for (const char* name : {"listen_addr", "metrics_addr", "directory_addr", "checkin_addr",
                           "alerts_addr", "supervision_addr", "network_addr", "webhooks_addr"}) {
    if (auto status = ValidateHostPort(absl::StrCat("--", name), setting(name)); !status.ok()) {
      return status;
    }
  }
  config.listen_addr = setting("listen_addr");
  config.metrics_addr = setting("metrics_addr");
  config.directory_addr = setting("directory_addr");
  config.checkin_addr = setting("checkin_addr");
  config.alerts_addr = setting("alerts_addr");
  config.supervision_addr = setting("supervision_addr");
  config.network_addr = setting("network_addr");
  config.webhooks_addr = setting("webhooks_addr");

  config.log_level = absl::AsciiStrToLower(setting("log_level"));
  if (config.log_level != "debug" && config.log_level != "info" && config.log_level != "warning" &&
      config.log_level != "error") {
    return absl::InvalidArgumentError(
        "--log_level (PEERWELL_LOG_LEVEL): expected debug, info, warning or error");
  }
  if (!absl::ParseDuration(setting("shutdown_grace"), &config.shutdown_grace) ||
      config.shutdown_grace < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "--shutdown_grace (PEERWELL_SHUTDOWN_GRACE): expected a duration such as 10s");
  }
  return config;
}

absl::StatusOr<ServiceConfig> LoadServiceConfig(const std::vector<std::string>& args,
                                                const ServiceDefaults& defaults) {
  auto settings = ParseSettings(args, ServiceSettingSpecs(defaults));
  if (!settings.ok()) return settings.status();
  auto& s = *settings;
  auto process = ReadProcessConfig(s, defaults);
  if (!process.ok()) return process.status();
  ServiceConfig config;
  static_cast<ProcessConfig&>(config) = *std::move(process);
  if (s["redis_mode"] != "single" && s["redis_mode"] != "cluster") {
    return absl::InvalidArgumentError(
        "--redis_mode (PEERWELL_REDIS_MODE): expected single or cluster");
  }
  auto redis = s["redis_mode"] == "cluster" ? ParseRedisClusterSeeds(s["redis_addr"])
                                            : ParseRedisAddress(s["redis_addr"]);
  if (!redis.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--redis_addr (PEERWELL_REDIS_ADDR): ", redis.status().message()));
  }
  config.redis = *redis;
  auto redis_password =
      ReadSecret("PEERWELL_REDIS_PASSWORD", s["redis_password"], s["redis_password_file"]);
  if (!redis_password.ok()) return redis_password.status();
  config.redis.password = *redis_password;
  config.redis.username = s["redis_user"];
  if (!config.redis.password.empty() && config.redis.username.empty()) {
    return absl::InvalidArgumentError(
        "--redis_user (PEERWELL_REDIS_USER): required with a Redis password");
  }

  auto secret = ReadSecret("PEERWELL_JWT_SECRET", s["jwt_secret"], s["jwt_secret_file"]);
  if (!secret.ok()) return secret.status();
  if (secret->empty()) {
    return absl::InvalidArgumentError(
        "PEERWELL_JWT_SECRET (or PEERWELL_JWT_SECRET_FILE) is required");
  }
  if (secret->size() < 32) {
    return absl::InvalidArgumentError("PEERWELL_JWT_SECRET: must be at least 32 bytes");
  }
  config.jwt_secret = *secret;

  auto master = ReadSecret("PEERWELL_MASTER_KEY", s["master_key"], s["master_key_file"]);
  if (!master.ok()) return master.status();
  if (!master->empty()) {
    if (auto key = MasterKey::FromBase64(*master); !key.ok()) return key.status();
  }
  config.master_key = *master;

  auto pseudonym = ReadSecret("PEERWELL_PSEUDONYM_KEY", s["pseudonym_key"], s["pseudonym_key_file"]);
  if (!pseudonym.ok()) return pseudonym.status();
  if (!pseudonym->empty()) {
    if (auto key = HmacPseudonymizer::FromBase64(*pseudonym); !key.ok()) return key.status();
  }
  config.pseudonym_key = *pseudonym;

  if (!absl::SimpleAtoi(s["worker_threads"], &config.worker_threads) || config.worker_threads < 1 ||
      config.worker_threads > 1024) {
    return absl::InvalidArgumentError(
        "--worker_threads (PEERWELL_WORKER_THREADS): expected 1 to 1024");
  }
  if (!absl::ParseDuration(s["event_claim_idle"], &config.event_claim_idle) ||
      config.event_claim_idle < absl::Milliseconds(100)) {
    return absl::InvalidArgumentError(
        "--event_claim_idle (PEERWELL_EVENT_CLAIM_IDLE): expected a duration of at least 100ms");
  }
  if (!absl::SimpleAtoi(s["redis_min_replicas"], &config.redis_min_replicas) ||
      config.redis_min_replicas < 0 || config.redis_min_replicas > 16) {
    return absl::InvalidArgumentError(
        "--redis_min_replicas (PEERWELL_REDIS_MIN_REPLICAS): expected 0 to 16");
  }
  for (const SettingSpec& spec : defaults.own_settings) {
    config.own_settings[spec.flag] = s[spec.flag];
  }
  return config;
}

}  // namespace peerwell
