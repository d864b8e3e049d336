#pragma once

#include <string>

#include "services/common/redis_client.h"

namespace peerwell::testing {

// Every key and every value in Redis as plain text, read type by type (GET, HGETALL, ZRANGE,
// SMEMBERS, LRANGE, XRANGE), for tests that search for what must not be stored. Plain reads,
// not DUMP, whose serialisation may compress a value and hide what the test looks for.
inline std::string AllRedisText(RedisClient& redis) {
  std::string text;
  auto append = [&](const RedisReply& reply, auto& self) -> void {
    text += reply.str;
    text += '\n';
    for (const auto& element : reply.elements) self(element, self);
  };
  auto keys = redis.Execute({"KEYS", "*"});
  if (!keys.ok()) return text;
  for (const auto& key : keys->elements) {
    text += key.str + "\n";
    auto type = redis.Execute({"TYPE", key.str});
    if (!type.ok()) continue;
    RedisCommand read;
    if (type->str == "string")
      read = {"GET", key.str};
    else if (type->str == "hash")
      read = {"HGETALL", key.str};
    else if (type->str == "zset")
      read = {"ZRANGE", key.str, "0", "-1", "WITHSCORES"};
    else if (type->str == "set")
      read = {"SMEMBERS", key.str};
    else if (type->str == "list")
      read = {"LRANGE", key.str, "0", "-1"};
    else if (type->str == "stream")
      read = {"XRANGE", key.str, "-", "+"};
    else
      continue;
    auto value = redis.Execute(read);
    if (value.ok()) append(*value, append);
  }
  return text;
}

}  // namespace peerwell::testing
