#include "services/common/redis_values.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace peerwell {

std::string RedisMicros(absl::Time time) { return absl::StrCat(absl::ToUnixMicros(time)); }

absl::Time ParseRedisMicros(absl::string_view text) {
  int64_t micros = 0;
  return absl::SimpleAtoi(text, &micros) ? absl::FromUnixMicros(micros) : absl::InfinitePast();
}

// StrCat would round to six digits; %.17g round-trips every double.
std::string RedisDouble(double value) { return absl::StrFormat("%.17g", value); }

double ParseRedisDouble(absl::string_view text) {
  double value = 0;
  return absl::SimpleAtod(text, &value) ? value : 0;
}

int ParseRedisInt(absl::string_view text) {
  int value = 0;
  return absl::SimpleAtoi(text, &value) ? value : 0;
}

std::string Rfc3339(absl::Time time) {
  return absl::FormatTime(absl::RFC3339_full, time, absl::UTCTimeZone());
}

}  // namespace peerwell
