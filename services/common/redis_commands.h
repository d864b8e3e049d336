#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "services/common/redis_client.h"

namespace peerwell {

// Redis Cluster splits keys into this many hash slots; an atomic operation (one command, a
// script, a MULTI ... EXEC) may only name keys of one of them.
inline constexpr uint16_t kRedisSlots = 16384;

// The hash slot of a key: CRC16 (XMODEM) of the key modulo 16384, or of its hash tag when it has
// one (the text between the first '{' and the next '}', when not empty). PeerWell's keys carry
// the organisation as their tag (pw:{<org>}:...), so an organisation's keys share a slot.
uint16_t KeySlot(std::string_view key);
// The organisation a key names in its hash tag ("pw:{<org>}:..."), or "" when it has none.
std::string OrganizationOfKey(std::string_view key);

// The keys a command names, where Redis Cluster looks for them: the first argument for most
// commands, every argument for DEL, EXISTS, MGET and their kind, the declared keys of a script,
// the streams of XREAD and XREADGROUP, none for server commands (PING, INFO, MULTI, SCAN, ...).
std::vector<std::string_view> CommandKeys(const RedisCommand& command);

// Whether the command only reads (GET, HGETALL, ZRANGE, XRANGE, XREAD, SCAN, ...). Anything
// else counts as a write, scripts included.
bool IsReadOnly(const RedisCommand& command);

// OK when every atomic unit of `commands` names keys of one slot: each command on its own (a
// script's declared keys, a multi-key command's keys), and every MULTI ... EXEC as a whole.
// Otherwise FAILED_PRECONDITION naming two keys of different slots: the layout puts together
// what a cluster would refuse (CROSSSLOT), which no retry mends. A plain pipeline may span slots.
absl::Status CheckOneSlotPerAtomicWrite(std::span<const RedisCommand> commands);

}  // namespace peerwell
