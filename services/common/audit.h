#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/common/audit_record.h"
#include "services/common/redis_client.h"

namespace peerwell {

// "pw:{<org>}:audit": append-only; nothing in the services trims or deletes it.
std::string AuditStreamKey(absl::string_view organization_id);

// The XADD of a record, for callers that write it in the same transaction as something else.
RedisCommand AuditXadd(const AuditRecord& record);

class AuditAppender final : public AuditSink {
 public:
  explicit AuditAppender(RedisClient& redis) : redis_(redis) {}
  absl::Status AppendAll(const std::vector<AuditRecord>& records) override;

 private:
  RedisClient& redis_;
};

}  // namespace peerwell
