#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace peerwell {

// A new random identifier: the prefix, then 20 lowercase hex digits (80 random bits).
std::string NewId(absl::string_view prefix);

// Whether `id` has the shape NewId produces for `prefix`.
bool IsWellFormedId(absl::string_view id, absl::string_view prefix);

}  // namespace peerwell
