#include "services/common/log.h"

#include <cstdio>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpc/support/log.h"

namespace peerwell {
namespace {

struct LoggerState {
  std::mutex mu;
  std::string service = "peerwell";
  Severity min_severity = Severity::kInfo;
};

LoggerState& State() {
  static LoggerState* state = new LoggerState();
  return *state;
}

absl::string_view SeverityName(Severity severity) {
  switch (severity) {
    case Severity::kDebug:
      return "DEBUG";
    case Severity::kInfo:
      return "INFO";
    case Severity::kWarning:
      return "WARNING";
    case Severity::kError:
      return "ERROR";
  }
  return "INFO";
}

void GrpcLogToJson(gpr_log_func_args* args) {
  Severity severity = args->severity == GPR_LOG_SEVERITY_ERROR   ? Severity::kError
                      : args->severity == GPR_LOG_SEVERITY_DEBUG ? Severity::kDebug
                                                                 : Severity::kInfo;
  Log(severity, args->message, {Field("source", "grpc"), Field("file", args->file)});
}

}  // namespace

LogField Field(std::string key, std::string value) {
  return LogField{std::move(key), std::move(value), false};
}

LogField NumberField(std::string key, long long value) {
  return LogField{std::move(key), absl::StrCat(value), true};
}

std::string JsonEscape(absl::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += absl::StrFormat("\\u%04x", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

void InitLogging(std::string service, absl::string_view level) {
  auto& state = State();
  std::lock_guard<std::mutex> lock(state.mu);
  state.service = std::move(service);
  state.min_severity = level == "debug"     ? Severity::kDebug
                       : level == "warning" ? Severity::kWarning
                       : level == "error"   ? Severity::kError
                                            : Severity::kInfo;
}

void RouteGrpcLogs() { gpr_set_log_function(GrpcLogToJson); }

std::string FormatLogLine(Severity severity, absl::string_view service, absl::string_view message,
                          const std::vector<LogField>& fields) {
  std::string line =
      absl::StrCat("{\"timestamp\":\"",
                   absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()),
                   "\",\"severity\":\"", SeverityName(severity), "\",\"service\":\"",
                   JsonEscape(service), "\",\"message\":\"", JsonEscape(message), "\"");
  for (const auto& field : fields) {
    absl::StrAppend(&line, ",\"", JsonEscape(field.key), "\":");
    if (field.is_number) {
      absl::StrAppend(&line, field.value);
    } else {
      absl::StrAppend(&line, "\"", JsonEscape(field.value), "\"");
    }
  }
  line += "}";
  return line;
}

void Log(Severity severity, absl::string_view message, const std::vector<LogField>& fields) {
  auto& state = State();
  std::lock_guard<std::mutex> lock(state.mu);
  if (severity < state.min_severity) return;
  std::string line = FormatLogLine(severity, state.service, message, fields);
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
}

}  // namespace peerwell
