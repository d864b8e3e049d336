#include "services/common/ids.h"

#include <cstdint>

#include "absl/random/random.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"

namespace peerwell {
namespace {
constexpr size_t kHexDigits = 20;
}  // namespace

std::string NewId(absl::string_view prefix) {
  thread_local absl::BitGen gen;
  uint64_t high = absl::Uniform<uint64_t>(gen) & 0xffff;
  uint64_t low = absl::Uniform<uint64_t>(gen);
  return absl::StrCat(prefix, absl::StrFormat("%04x%016x", high, low));
}

bool IsWellFormedId(absl::string_view id, absl::string_view prefix) {
  if (id.size() != prefix.size() + kHexDigits || id.substr(0, prefix.size()) != prefix) {
    return false;
  }
  for (char c : id.substr(prefix.size())) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::optional<std::pair<unsigned long long, unsigned long long>> ParseStreamId(
    absl::string_view id) {
  size_t dash = id.find('-');
  std::pair<unsigned long long, unsigned long long> parts;
  if (dash == absl::string_view::npos || !absl::SimpleAtoi(id.substr(0, dash), &parts.first) ||
      !absl::SimpleAtoi(id.substr(dash + 1), &parts.second)) {
    return std::nullopt;
  }
  return parts;
}

bool StreamIdBefore(absl::string_view a, absl::string_view b) {
  auto first = ParseStreamId(a);
  auto second = ParseStreamId(b);
  return first.has_value() && second.has_value() && *first < *second;
}

}  // namespace peerwell
