#include "services/gateway/gateway_config.h"

#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace peerwell::gateway {
namespace {

ServiceDefaults GatewayDefaults() { return {"gateway", kGatewayHttpPort, kGatewayMetricsPort}; }

absl::Status SettingError(absl::string_view flag, absl::string_view env,
                          absl::string_view expected) {
  return absl::InvalidArgumentError(absl::StrCat("--", flag, " (", env, "): expected ", expected));
}

// An origin as browsers send it: scheme, host and an optional port, nothing after.
bool IsOrigin(absl::string_view origin) {
  absl::string_view rest = origin;
  if (!absl::ConsumePrefix(&rest, "https://") && !absl::ConsumePrefix(&rest, "http://")) {
    return false;
  }
  return !rest.empty() && rest.find_first_of("/?#*, ") == absl::string_view::npos;
}

}  // namespace

std::vector<SettingSpec> GatewaySettingSpecs() {
  std::vector<SettingSpec> specs = ProcessSettingSpecs(GatewayDefaults());
  specs.insert(specs.end(), {
      {"cors_allowed_origins", "PEERWELL_CORS_ALLOWED_ORIGINS", "",
       "comma-separated origins whose pages may call the API (none: no CORS)"},
      {"http_max_body_bytes", "PEERWELL_HTTP_MAX_BODY_BYTES", "1048576",
       "largest request body accepted"},
      {"http_max_header_bytes", "PEERWELL_HTTP_MAX_HEADER_BYTES", "16384",
       "largest request head (request line and headers) accepted"},
      {"http_read_timeout", "PEERWELL_HTTP_READ_TIMEOUT", "10s",
       "time a client has to send a whole request"},
      {"http_write_timeout", "PEERWELL_HTTP_WRITE_TIMEOUT", "10s",
       "time a client has to take a response or one message of a stream"},
      {"http_idle_timeout", "PEERWELL_HTTP_IDLE_TIMEOUT", "60s",
       "time a kept-alive connection may wait for its next request"},
      {"http_max_connections", "PEERWELL_HTTP_MAX_CONNECTIONS", "4096",
       "open connections beyond which new ones are closed at once"},
      {"max_streams_per_credential", "PEERWELL_MAX_STREAMS_PER_CREDENTIAL", "8",
       "streaming calls one credential may hold open at once"},
      {"http_threads", "PEERWELL_HTTP_THREADS", "2", "threads that serve HTTP"},
      {"public_url", "PEERWELL_PUBLIC_URL", "",
       "the gateway's address as clients reach it (https://host[:port][/path]), for absolute "
       "links in FHIR Bundles; empty: relative links"},
  });
  return specs;
}

absl::StatusOr<GatewayConfig> LoadGatewayConfig(const std::vector<std::string>& args) {
  auto settings = ParseSettings(args, GatewaySettingSpecs());
  if (!settings.ok()) return settings.status();
  auto& s = *settings;
  auto process = ReadProcessConfig(s, GatewayDefaults());
  if (!process.ok()) return process.status();
  GatewayConfig config;
  static_cast<ProcessConfig&>(config) = *std::move(process);

  for (absl::string_view origin : absl::StrSplit(s["cors_allowed_origins"], ',', absl::SkipEmpty())) {
    origin = absl::StripAsciiWhitespace(origin);
    if (!IsOrigin(origin)) {
      return SettingError("cors_allowed_origins", "PEERWELL_CORS_ALLOWED_ORIGINS",
                          absl::StrCat("origins such as https://example.org, got '", origin, "'"));
    }
    config.cors_allowed_origins.emplace_back(origin);
  }

  absl::string_view public_url = s["public_url"];
  if (!public_url.empty()) {
    // An origin, then perhaps a path (the gateway behind a prefix), without a trailing /.
    size_t scheme_end = public_url.find("://");
    size_t path_at = scheme_end == absl::string_view::npos
                         ? absl::string_view::npos
                         : public_url.find('/', scheme_end + 3);
    absl::string_view path =
        path_at == absl::string_view::npos ? absl::string_view() : public_url.substr(path_at);
    if (!IsOrigin(public_url.substr(0, path_at)) || absl::EndsWith(public_url, "/") ||
        path.find_first_of("?#* ") != absl::string_view::npos) {
      return SettingError("public_url", "PEERWELL_PUBLIC_URL",
                          "a URL such as https://peerwell.example.org, without a trailing /");
    }
    config.public_url = std::string(public_url);
  }

  auto read_size = [&](const char* flag, const char* env, size_t min, size_t max,
                       size_t* out) -> absl::Status {
    uint64_t value = 0;
    if (!absl::SimpleAtoi(s[flag], &value) || value < min || value > max) {
      return SettingError(flag, env, absl::StrCat(min, " to ", max));
    }
    *out = static_cast<size_t>(value);
    return absl::OkStatus();
  };
  auto read_count = [&](const char* flag, const char* env, int min, int max,
                        int* out) -> absl::Status {
    size_t value = 0;
    if (auto status = read_size(flag, env, min, max, &value); !status.ok()) return status;
    *out = static_cast<int>(value);
    return absl::OkStatus();
  };
  auto read_duration = [&](const char* flag, const char* env, absl::Duration* out) -> absl::Status {
    if (!absl::ParseDuration(s[flag], out) || *out < absl::Milliseconds(10)) {
      return SettingError(flag, env, "a duration of at least 10ms, such as 10s");
    }
    return absl::OkStatus();
  };
  HttpLimits& limits = config.limits;
  for (absl::Status status : {
           read_size("http_max_body_bytes", "PEERWELL_HTTP_MAX_BODY_BYTES", 1024, 64 << 20,
                     &limits.max_body_bytes),
           read_size("http_max_header_bytes", "PEERWELL_HTTP_MAX_HEADER_BYTES", 1024, 1 << 20,
                     &limits.max_header_bytes),
           read_duration("http_read_timeout", "PEERWELL_HTTP_READ_TIMEOUT", &limits.read_timeout),
           read_duration("http_write_timeout", "PEERWELL_HTTP_WRITE_TIMEOUT",
                         &limits.write_timeout),
           read_duration("http_idle_timeout", "PEERWELL_HTTP_IDLE_TIMEOUT", &limits.idle_timeout),
           read_count("http_max_connections", "PEERWELL_HTTP_MAX_CONNECTIONS", 1, 1 << 20,
                      &limits.max_connections),
           read_count("max_streams_per_credential", "PEERWELL_MAX_STREAMS_PER_CREDENTIAL", 1,
                      10000, &limits.max_streams_per_credential),
           read_count("http_threads", "PEERWELL_HTTP_THREADS", 1, 64, &config.http_threads),
       }) {
    if (!status.ok()) return status;
  }
  return config;
}

}  // namespace peerwell::gateway
