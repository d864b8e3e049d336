#pragma once

#include <dirent.h>

#include <fstream>
#include <sstream>
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

// The append-only files of a redis-server's data directory, as they are on disk.
inline std::string AppendOnlyFileText(const std::string& directory) {
  std::string all;
  for (const std::string& dir : {directory, directory + "/appendonlydir"}) {
    DIR* handle = opendir(dir.c_str());
    if (handle == nullptr) continue;
    while (dirent* entry = readdir(handle)) {
      std::string name = entry->d_name;
      if (name.find("appendonly") == std::string::npos) continue;
      std::ifstream file(dir + "/" + name, std::ios::binary);
      std::stringstream contents;
      contents << file.rdbuf();
      all += contents.str();
    }
    closedir(handle);
  }
  return all;
}

}  // namespace peerwell::testing
