#include "services/common/redis_commands.h"

#include <array>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace peerwell {
namespace {

constexpr std::array<uint16_t, 256> Crc16Table() {
  std::array<uint16_t, 256> table{};
  for (uint32_t byte = 0; byte < 256; ++byte) {
    uint32_t crc = byte << 8;
    for (int bit = 0; bit < 8; ++bit) crc = (crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1;
    table[byte] = static_cast<uint16_t>(crc);
  }
  return table;
}
constexpr std::array<uint16_t, 256> kCrc16 = Crc16Table();

uint16_t Crc16(std::string_view data) {
  uint16_t crc = 0;
  for (unsigned char c : data) {
    crc = static_cast<uint16_t>((crc << 8) ^ kCrc16[((crc >> 8) ^ c) & 0xff]);
  }
  return crc;
}

std::string Upper(std::string_view name) {
  std::string upper(name);
  absl::AsciiStrToUpper(&upper);
  return upper;
}

enum class KeySpec {
  kNone,        // a server command
  kFirst,       // the first argument
  kSecond,      // after a subcommand (XGROUP CREATE <key>, XINFO GROUPS <key>, OBJECT ...)
  kFirstTwo,    // RENAME, RENAMENX, SMOVE, LMOVE, COPY
  kAll,         // every argument
  kEveryOther,  // MSET k v k v
  kScript,      // EVAL script numkeys key...
  kStreams,     // XREAD ... STREAMS key... id...
};

const absl::flat_hash_map<std::string, KeySpec>& KeySpecs() {
  static const auto* const specs = [] {
    auto* map = new absl::flat_hash_map<std::string, KeySpec>;
    for (const char* name :
         {"ACL",       "ASKING",    "AUTH",     "BGREWRITEAOF", "BGSAVE",  "CLIENT",
          "CLUSTER",   "COMMAND",   "CONFIG",   "DBSIZE",       "DEBUG",   "DISCARD",
          "ECHO",      "EXEC",      "FLUSHALL", "FLUSHDB",      "HELLO",   "INFO",
          "KEYS",      "LASTSAVE",  "MULTI",    "PING",         "PUBLISH", "READONLY",
          "READWRITE", "ROLE",      "SAVE",     "SCAN",         "SCRIPT",  "SELECT",
          "SHUTDOWN",  "SUBSCRIBE", "TIME",     "UNWATCH",      "WAIT",    "WAITAOF"}) {
      (*map)[name] = KeySpec::kNone;
    }
    for (const char* name : {"DEL", "EXISTS", "MGET", "PFCOUNT", "SDIFF", "SINTER", "SUNION",
                             "TOUCH", "UNLINK", "WATCH"}) {
      (*map)[name] = KeySpec::kAll;
    }
    for (const char* name : {"MSET", "MSETNX"}) (*map)[name] = KeySpec::kEveryOther;
    for (const char* name : {"EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO"}) {
      (*map)[name] = KeySpec::kScript;
    }
    for (const char* name : {"XREAD", "XREADGROUP"}) (*map)[name] = KeySpec::kStreams;
    for (const char* name : {"XGROUP", "XINFO", "OBJECT", "MEMORY"}) {
      (*map)[name] = KeySpec::kSecond;
    }
    for (const char* name : {"RENAME", "RENAMENX", "SMOVE", "LMOVE", "COPY"}) {
      (*map)[name] = KeySpec::kFirstTwo;
    }
    return map;
  }();
  return *specs;
}

KeySpec SpecOf(const std::string& name) {
  auto it = KeySpecs().find(name);
  return it == KeySpecs().end() ? KeySpec::kFirst : it->second;
}

const absl::flat_hash_set<std::string>& ReadOnlyCommands() {
  static const auto* const names =
      new absl::flat_hash_set<std::string>{"DBSIZE",      "EXISTS",
                                           "GET",         "HEXISTS",
                                           "HGET",        "HGETALL",
                                           "HKEYS",       "HLEN",
                                           "HMGET",       "HVALS",
                                           "INFO",        "KEYS",
                                           "LLEN",        "LRANGE",
                                           "MGET",        "PING",
                                           "PTTL",        "SCAN",
                                           "SCARD",       "SISMEMBER",
                                           "SMEMBERS",    "STRLEN",
                                           "TIME",        "TTL",
                                           "TYPE",        "XINFO",
                                           "XLEN",        "XPENDING",
                                           "XRANGE",      "XREAD",
                                           "XREVRANGE",   "ZCARD",
                                           "ZCOUNT",      "ZRANGE",
                                           "ZRANGEBYLEX", "ZRANGEBYSCORE",
                                           "ZREVRANGE",   "ZREVRANGEBYSCORE",
                                           "ZSCAN",       "ZSCORE",
                                           "ZMSCORE",     "HSCAN",
                                           "SSCAN",       "CLUSTER",
                                           "MULTI",       "EXEC",
                                           "DISCARD",     "ASKING",
                                           "WATCH",       "UNWATCH"};
  return *names;
}

}  // namespace

bool IsReadOnly(const RedisCommand& command) {
  return !command.empty() && ReadOnlyCommands().contains(Upper(command[0]));
}

std::string OrganizationOfKey(std::string_view key) {
  size_t open = key.find('{');
  size_t close = open == std::string_view::npos ? open : key.find('}', open + 1);
  if (close == std::string_view::npos) return "";
  return std::string(key.substr(open + 1, close - open - 1));
}

uint16_t KeySlot(std::string_view key) {
  size_t open = key.find('{');
  if (open != std::string_view::npos) {
    size_t close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) {
      key = key.substr(open + 1, close - open - 1);
    }
  }
  return Crc16(key) % kRedisSlots;
}

std::vector<std::string_view> CommandKeys(const RedisCommand& command) {
  std::vector<std::string_view> keys;
  if (command.empty()) return keys;
  const size_t n = command.size();
  switch (SpecOf(Upper(command[0]))) {
    case KeySpec::kNone:
      break;
    case KeySpec::kFirst:
      if (n > 1) keys.push_back(command[1]);
      break;
    case KeySpec::kSecond:
      if (n > 2) keys.push_back(command[2]);
      break;
    case KeySpec::kFirstTwo:
      for (size_t i = 1; i < n && i <= 2; ++i) keys.push_back(command[i]);
      break;
    case KeySpec::kAll:
      for (size_t i = 1; i < n; ++i) keys.push_back(command[i]);
      break;
    case KeySpec::kEveryOther:
      for (size_t i = 1; i < n; i += 2) keys.push_back(command[i]);
      break;
    case KeySpec::kScript: {
      size_t count = 0;
      if (n > 2 && absl::SimpleAtoi(command[2], &count)) {
        for (size_t i = 3; i < n && i < 3 + count; ++i) keys.push_back(command[i]);
      }
      break;
    }
    case KeySpec::kStreams:
      for (size_t i = 1; i < n; ++i) {
        if (Upper(command[i]) != "STREAMS") continue;
        const size_t streams = (n - i - 1) / 2;
        for (size_t k = 0; k < streams; ++k) keys.push_back(command[i + 1 + k]);
        break;
      }
      break;
  }
  return keys;
}

absl::Status CheckOneSlotPerAtomicWrite(std::span<const RedisCommand> commands) {
  // The first key of the unit being checked, and whether it is a transaction.
  std::optional<std::string_view> first;
  bool in_transaction = false;
  for (const RedisCommand& command : commands) {
    if (command.empty()) continue;
    const std::string name = Upper(command[0]);
    if (name == "MULTI") {
      in_transaction = true;
      first.reset();
      continue;
    }
    if (name == "EXEC" || name == "DISCARD") {
      in_transaction = false;
      first.reset();
      continue;
    }
    if (!in_transaction) first.reset();
    for (std::string_view key : CommandKeys(command)) {
      if (!first.has_value()) {
        first = key;
      } else if (KeySlot(key) != KeySlot(*first)) {
        return absl::FailedPreconditionError(
            absl::StrCat(in_transaction ? "a transaction" : absl::StrCat("one ", name),
                         " names keys of two hash slots (", std::string(*first), " and ",
                         std::string(key), "): a Redis Cluster refuses it (CROSSSLOT)"));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace peerwell
