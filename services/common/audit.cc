#include "services/common/audit.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "services/common/redis_values.h"

namespace peerwell {

std::string AuditStreamKey(absl::string_view organization_id) {
  return absl::StrCat("pw:{", organization_id, "}:audit");
}

RedisCommand AuditXadd(const AuditRecord& record) {
  return {"XADD",
          AuditStreamKey(record.organization_id),
          "*",
          "actor_id",
          record.actor_id,
          "actor_role",
          std::string(CallerRoleName(record.actor_role)),
          "organization_id",
          record.organization_id,
          "subject_id",
          record.subject_id,
          "rpc",
          record.rpc,
          "outcome",
          record.outcome,
          "time",
          Rfc3339(record.time)};
}

absl::Status AuditAppender::AppendAll(const std::vector<AuditRecord>& records) {
  if (records.empty()) return absl::OkStatus();
  std::vector<RedisCommand> appends;
  appends.reserve(records.size());
  for (const AuditRecord& record : records) appends.push_back(AuditXadd(record));
  auto replies = redis_.ExecuteAll(std::move(appends));
  if (!replies.ok()) return replies.status();
  for (const RedisReply& reply : *replies) {
    if (reply.IsError()) return absl::InternalError(absl::StrCat("audit append: ", reply.str));
  }
  return absl::OkStatus();
}

}  // namespace peerwell
