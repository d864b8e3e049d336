#pragma once

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace peerwell {

// How every store writes values into Redis and reads them back, in one place: times as Unix
// microseconds (also sorted-set scores), doubles exactly, timestamps in events as RFC 3339 UTC.
// Parsing is lenient (a missing or bad value reads as InfinitePast / 0): stores only read what
// they wrote.
std::string RedisMicros(absl::Time time);
absl::Time ParseRedisMicros(absl::string_view text);
std::string RedisDouble(double value);
double ParseRedisDouble(absl::string_view text);
int ParseRedisInt(absl::string_view text);
std::string Rfc3339(absl::Time time);

}  // namespace peerwell
