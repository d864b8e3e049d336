#pragma once

#include <optional>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"

namespace peerwell {

// A new random identifier: the prefix, then 20 lowercase hex digits (80 random bits).
std::string NewId(absl::string_view prefix);

// Whether `id` has the shape NewId produces for `prefix`.
bool IsWellFormedId(absl::string_view id, absl::string_view prefix);

// A Redis stream entry id ("<milliseconds>-<sequence>"; events are known by theirs) as its two
// numbers, which order entries as the stream does; none for anything else.
std::optional<std::pair<unsigned long long, unsigned long long>> ParseStreamId(
    absl::string_view id);

// Whether entry `a` came before entry `b` in a stream; false when either is not an entry id.
bool StreamIdBefore(absl::string_view a, absl::string_view b);

}  // namespace peerwell
