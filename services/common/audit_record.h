#pragma once

#include <string>

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
  virtual absl::Status Append(const AuditRecord& record) = 0;
};

}  // namespace peerwell
