#include "services/common/idempotency.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace peerwell {

std::string RequestKey(absl::string_view organization_id, absl::string_view service,
                       absl::string_view caller_id, absl::string_view request_id) {
  return absl::StrCat("pw:{", organization_id, "}:", service, ":request:", caller_id, ":",
                      request_id);
}

RedisScript IdempotentScript(absl::string_view body) {
  return RedisScript(absl::StrCat(R"lua(
-- ARGV[1] '0': no request_id, nothing was ever remembered under this key, nothing to look up.
local prior = ARGV[1] ~= '0' and redis.call('GET', KEYS[1])
if prior then return {1, prior} end
local result = (function()
)lua",
                                  body, R"lua(
end)()
if type(result) == 'table' and result.err then return result end
if ARGV[1] ~= '0' then redis.call('SET', KEYS[1], result, 'EX', ARGV[1]) end
return {0, result}
)lua"));
}

absl::StatusOr<IdempotentResult> ParseIdempotentReply(const absl::StatusOr<RedisReply>& reply) {
  if (!reply.ok()) return reply.status();
  if (reply->IsError()) return ScriptErrorToStatus(*reply);
  if (!reply->IsArray() || reply->elements.size() != 2) {
    return absl::InternalError("unexpected reply from an idempotent script");
  }
  return IdempotentResult{reply->elements[1].str, reply->elements[0].integer == 1};
}

}  // namespace peerwell
