#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "services/common/config.h"

namespace peerwell::bench {

// What one fsync'd write costs on this machine: sequential SETs from one connection, each
// answered only once Redis has fsynced it (appendfsync always). Every figure of an acknowledged
// write stands on it, and it varies more between machines (disk, virtualisation) than anything
// else the tool measures.
struct FsyncedWrites {
  int writes = 0;
  double median_us = 0;
  double p99_us = 0;
  double per_second = 0;  // one client, one write at a time
  // The server's appendonly and appendfsync ("yes", "always"), or empty when the user may not
  // read its configuration.
  std::string appendonly;
  std::string appendfsync;

  // Whether each write was fsynced before its answer, as far as the server says.
  bool Fsynced() const { return appendonly == "yes" && appendfsync == "always"; }
};

// `writes` SETs of a small value to pw:bench:fsync (deleted after), after a few unmeasured ones.
absl::StatusOr<FsyncedWrites> MeasureFsyncedWrites(const RedisAddress& address, int writes);

// The CPU time the processes of a run have used so far: utime + stime of every thread, from
// /proc/<pid>/stat. They count in clock ticks (10 ms): over rounds of seconds and thousands of
// calls, a microsecond per call or better.
class CpuClock {
 public:
  // `name` for the output, e.g. "redis-server"; the tool itself is getpid().
  void Add(std::string name, pid_t pid);
  const std::vector<std::string>& names() const { return names_; }
  // Seconds per process, in the order added; -1 for one that cannot be read (gone).
  std::vector<double> Read() const;

 private:
  std::vector<std::string> names_;
  std::vector<pid_t> pids_;
};

}  // namespace peerwell::bench
