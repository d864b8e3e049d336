#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "services/common/caller.h"

namespace peerwell {

// One read of a volunteer's data by someone other than that volunteer (SPEC §1.5).
struct AuditRecord {
  std::string actor_id;
  CallerRole actor_role = CallerRole::kVolunteer;
  std::string organization_id;
  std::string subject_id;  // whose data was read
  std::string rpc;         // e.g. "peerwell.directory.v1.DirectoryService/GetConsent"
  std::string outcome;     // "OK" or the status code name
  absl::Time time;
};

// Where domain code sends audit records; the Redis appender is the real one.
class AuditSink {
 public:
  virtual ~AuditSink() = default;
  // Appends the records in order, together (one round trip for a batch of reads).
  virtual absl::Status AppendAll(const std::vector<AuditRecord>& records) = 0;
  absl::Status Append(const AuditRecord& record) { return AppendAll({record}); }
};

}  // namespace peerwell
