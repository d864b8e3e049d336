#pragma once

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/common/redis_client.h"

namespace peerwell {

// How long a request_id is remembered: a client retrying later than this creates anew.
inline constexpr absl::Duration kRequestIdRetention = absl::Hours(24 * 7);

// "pw:{<org>}:<service>:request:<caller>:<request_id>" — scoped to the caller, so that two
// people who happen to choose the same request_id do not see each other's results.
std::string RequestKey(absl::string_view organization_id, absl::string_view service,
                       absl::string_view caller_id, absl::string_view request_id);

// Wraps the body of a write script so that it runs at most once per request key. KEYS[1] is the
// request key and ARGV[1] its retention in seconds ("0": a call without a request_id,
// nothing remembered); the body sees the other KEYS and ARGV and
// returns a string (such as the id it created) or redis.error_reply(...). The script answers
// {0, result} when it ran the body and {1, result} when it replayed an earlier run. Because a
// script runs atomically, two racing calls with one request_id cannot both run the body.
RedisScript IdempotentScript(absl::string_view body);

struct IdempotentResult {
  std::string value;
  bool replayed = false;
};
// Interprets the reply of an IdempotentScript.
absl::StatusOr<IdempotentResult> ParseIdempotentReply(const absl::StatusOr<RedisReply>& reply);

}  // namespace peerwell
