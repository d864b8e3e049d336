#include "tools/bench/machine.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iterator>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "services/common/redis_client.h"

namespace peerwell::bench {
namespace {

constexpr char kFsyncKey[] = "pw:bench:fsync";
// A small value: the figure is the fsync under a write, not the bytes.
constexpr size_t kFsyncValueBytes = 100;
// Unmeasured first writes: the connection's and the append-only file's first use.
constexpr int kFsyncWarmupWrites = 10;
constexpr absl::Duration kFsyncTimeout = absl::Seconds(2);

double PercentileOf(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t index = static_cast<size_t>(p / 100.0 * (sorted.size() - 1) + 0.5);
  return sorted[std::min(index, sorted.size() - 1)];
}

// A setting from CONFIG GET, or empty when the user may not read it.
std::string ConfigValue(RedisConnection& redis, const std::string& name) {
  auto reply = redis.Execute({"CONFIG", "GET", name}, kFsyncTimeout);
  if (!reply.ok() || !reply->IsArray() || reply->elements.size() < 2) return "";
  return reply->elements[1].str;
}

}  // namespace

absl::StatusOr<FsyncedWrites> MeasureFsyncedWrites(const RedisAddress& address, int writes) {
  auto redis = RedisConnection::Connect(address, kFsyncTimeout);
  if (!redis.ok()) return redis.status();
  FsyncedWrites result;
  result.appendonly = ConfigValue(**redis, "appendonly");
  result.appendfsync = ConfigValue(**redis, "appendfsync");
  const std::string value(kFsyncValueBytes, 'x');
  std::vector<double> latencies_us;
  latencies_us.reserve(writes);
  absl::Time first = absl::Now();
  for (int i = 0; i < kFsyncWarmupWrites + writes; ++i) {
    if (i == kFsyncWarmupWrites) first = absl::Now();
    absl::Time sent = absl::Now();
    auto reply = (*redis)->Execute({"SET", kFsyncKey, value}, kFsyncTimeout);
    if (!reply.ok()) return reply.status();
    if (reply->IsError()) return absl::InternalError(absl::StrCat("SET: ", reply->str));
    if (i >= kFsyncWarmupWrites)
      latencies_us.push_back(absl::ToDoubleMicroseconds(absl::Now() - sent));
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - first);
  (void)(*redis)->Execute({"DEL", kFsyncKey}, kFsyncTimeout);  // best effort: one small key
  std::sort(latencies_us.begin(), latencies_us.end());
  result.writes = writes;
  result.median_us = PercentileOf(latencies_us, 50);
  result.p99_us = PercentileOf(latencies_us, 99);
  result.per_second = seconds > 0 ? writes / seconds : 0;
  return result;
}

void CpuClock::Add(std::string name, pid_t pid) {
  names_.push_back(std::move(name));
  pids_.push_back(pid);
}

std::vector<double> CpuClock::Read() const {
  static const long ticks_per_second = sysconf(_SC_CLK_TCK);
  std::vector<double> seconds;
  for (pid_t pid : pids_) {
    std::ifstream file(absl::StrCat("/proc/", pid, "/stat"));
    std::string stat((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
    // utime and stime are fields 14 and 15, so the 12th and 13th after the name.
    size_t name_end = stat.rfind(')');
    double total = -1;
    if (name_end != std::string::npos && ticks_per_second > 0) {
      std::vector<absl::string_view> fields =
          absl::StrSplit(absl::string_view(stat).substr(name_end + 1), ' ', absl::SkipEmpty());
      long utime = 0;
      long stime = 0;
      if (fields.size() > 12 && absl::SimpleAtoi(fields[11], &utime) &&
          absl::SimpleAtoi(fields[12], &stime)) {
        total = static_cast<double>(utime + stime) / ticks_per_second;
      }
    }
    seconds.push_back(total);
  }
  return seconds;
}

}  // namespace peerwell::bench
