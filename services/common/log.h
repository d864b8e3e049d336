#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace peerwell {

enum class Severity { kDebug, kInfo, kWarning, kError };

// A field of a log line. Values are program facts (ids, codes, counts) and never free text that
// a person wrote: notes, descriptions and messages stay out of logs.
struct LogField {
  std::string key;
  std::string value;
  bool is_number = false;
};
LogField Field(std::string key, std::string value);
LogField NumberField(std::string key, long long value);

// Configures the process-wide logger: one JSON object per line on stdout.
void InitLogging(std::string service, absl::string_view level);
// Routes gRPC's own log messages through the same JSON lines.
void RouteGrpcLogs();

void Log(Severity severity, absl::string_view message, const std::vector<LogField>& fields = {});

// The line Log would write, without the trailing newline (for tests).
std::string FormatLogLine(Severity severity, absl::string_view service, absl::string_view message,
                          const std::vector<LogField>& fields);

std::string JsonEscape(absl::string_view text);

}  // namespace peerwell
