#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/common/events.h"
#include "services/common/idempotency.h"
#include "services/common/redis_client.h"

namespace peerwell {

// One stored record: a hash, and the sorted sets that index it under `score`.
struct RecordWrite {
  std::string hash_key;
  std::vector<std::pair<std::string, std::string>> fields;
  std::vector<std::string> index_keys;
  double score = 0;
};

struct EventWrite {
  std::string type;
  std::string organization_id;
  absl::Time occur_time;
  std::vector<EventField> fields;
};

// Writes records, their indexes and the events announcing them in one Lua script, at most once
// per request key (see IdempotentScript). The script checks nothing after its first write, and
// Redis logs and replicates a script's effects as one MULTI/EXEC, so records, indexes and events
// are stored together or not at all. Scores are kept unique within an index (a tie moves up by
// one), so paging by an exclusive score never skips a record.
// `result` is what the call returns (e.g. the new record's id), now and on every replay.
absl::StatusOr<IdempotentResult> WriteRecordsOnce(RedisClient& redis,
                                                  const std::string& request_key,
                                                  bool remember_request, const std::string& result,
                                                  const std::vector<RecordWrite>& records,
                                                  const std::string& event_stream,
                                                  const std::vector<EventWrite>& events);
// The same, answered through `done` on the Redis client's I/O thread (see RedisRepliesDone).
void WriteRecordsOnceAsync(RedisClient& redis, const std::string& request_key,
                           bool remember_request, const std::string& result,
                           const std::vector<RecordWrite>& records, const std::string& event_stream,
                           const std::vector<EventWrite>& events,
                           absl::AnyInvocable<void(absl::StatusOr<IdempotentResult>) &&> done);

}  // namespace peerwell
