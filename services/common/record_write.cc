#include "services/common/record_write.h"

#include <iterator>

#include "absl/strings/str_cat.h"
#include "services/common/redis_values.h"

namespace peerwell {
namespace {

const RedisScript& WriteRecordsScript() {
  // KEYS: request, event stream, then per record its hash and its index keys.
  // ARGV: retention, result, the event streams' cap, record count, then per record: index count,
  //       score, field count, fields...; then event count, per event: field count, fields...
  static const auto* script = new RedisScript(IdempotentScript(absl::StrCat(kXaddEventLua, R"lua(
  -- `a` is the index of the last argument read. Fields go to HSET and XADD straight from ARGV
  -- (unpack of a range): each copy into a Lua table would cost the script more than a command.
  local a = 4
  local k = 3
  for r = 1, tonumber(ARGV[4]) do
    local hash = KEYS[k]; k = k + 1
    local indexes, score, time = tonumber(ARGV[a + 1]), ARGV[a + 2], tonumber(ARGV[a + 2])
    local last = a + 3 + 2 * tonumber(ARGV[a + 3])
    redis.call('HSET', hash, unpack(ARGV, a + 4, last))
    a = last
    for i = 1, indexes do
      -- Scores are unique within an index (a tie moves up by one), so that a page position
      -- (an exclusive score) never skips a record that shares its time with another. Without a
      -- tie the score goes as it came: no formatting of a number.
      local s = time
      while redis.call('ZCOUNT', KEYS[k], s, s) > 0 do s = s + 1 end
      redis.call('ZADD', KEYS[k], s == time and score or string.format('%.17g', s), hash)
      k = k + 1
    end
  end
  a = a + 1
  for e = 1, tonumber(ARGV[a]) do
    local last = a + 1 + 2 * tonumber(ARGV[a + 1])
    xadd_event(KEYS[2], 'MAXLEN', '~', ARGV[3], '*', unpack(ARGV, a + 2, last))
    a = last
  end
  return ARGV[2]
)lua")));
  return *script;
}

}  // namespace

namespace {

// WriteRecordsScript's keys and arguments.
std::pair<std::vector<std::string>, std::vector<std::string>> WriteRecordsCall(
    const std::string& request_key, bool remember_request, const std::string& result,
    const std::vector<RecordWrite>& records, const std::string& event_stream,
    const std::vector<EventWrite>& events) {
  std::vector<std::string> keys{request_key, event_stream};
  std::vector<std::string> args{
      remember_request ? absl::StrCat(absl::ToInt64Seconds(kRequestIdRetention)) : "0", result,
      absl::StrCat(kEventStreamMaxLen), absl::StrCat(records.size())};
  for (const RecordWrite& record : records) {
    keys.push_back(record.hash_key);
    keys.insert(keys.end(), record.index_keys.begin(), record.index_keys.end());
    args.push_back(absl::StrCat(record.index_keys.size()));
    args.push_back(RedisDouble(record.score));  // scores are microsecond times: exactly
    args.push_back(absl::StrCat(record.fields.size()));
    for (const auto& [name, value] : record.fields) {
      args.push_back(name);
      args.push_back(value);
    }
  }
  args.push_back(absl::StrCat(events.size()));
  for (const EventWrite& event : events) {
    std::vector<std::string> pairs =
        EventFieldPairs(event.type, event.organization_id, event.occur_time, event.fields);
    args.push_back(absl::StrCat(pairs.size() / 2));
    args.insert(args.end(), std::make_move_iterator(pairs.begin()),
                std::make_move_iterator(pairs.end()));
  }
  return {std::move(keys), std::move(args)};
}

}  // namespace

absl::StatusOr<IdempotentResult> WriteRecordsOnce(RedisClient& redis,
                                                  const std::string& request_key,
                                                  bool remember_request, const std::string& result,
                                                  const std::vector<RecordWrite>& records,
                                                  const std::string& event_stream,
                                                  const std::vector<EventWrite>& events) {
  auto [keys, args] =
      WriteRecordsCall(request_key, remember_request, result, records, event_stream, events);
  return ParseIdempotentReply(redis.Eval(WriteRecordsScript(), keys, args));
}

void WriteRecordsOnceAsync(RedisClient& redis, const std::string& request_key,
                           bool remember_request, const std::string& result,
                           const std::vector<RecordWrite>& records, const std::string& event_stream,
                           const std::vector<EventWrite>& events,
                           absl::AnyInvocable<void(absl::StatusOr<IdempotentResult>) &&> done) {
  auto [keys, args] =
      WriteRecordsCall(request_key, remember_request, result, records, event_stream, events);
  redis.EvalAsync(WriteRecordsScript(), std::move(keys), std::move(args),
                  [done = std::move(done)](absl::StatusOr<RedisReply> reply) mutable {
                    std::move(done)(ParseIdempotentReply(reply));
                  });
}

}  // namespace peerwell
