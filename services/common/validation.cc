#include "services/common/validation.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace peerwell {
namespace {

constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 1000;

// Decodes one UTF-8 sequence at text[*pos]; false when it is malformed or overlong.
bool NextCodePoint(absl::string_view text, size_t* pos, char32_t* out) {
  unsigned char lead = static_cast<unsigned char>(text[*pos]);
  size_t extra;
  char32_t cp;
  if (lead < 0x80) {
    extra = 0;
    cp = lead;
  } else if ((lead & 0xE0) == 0xC0) {
    extra = 1;
    cp = lead & 0x1F;
  } else if ((lead & 0xF0) == 0xE0) {
    extra = 2;
    cp = lead & 0x0F;
  } else if ((lead & 0xF8) == 0xF0) {
    extra = 3;
    cp = lead & 0x07;
  } else {
    return false;
  }
  if (*pos + extra >= text.size()) return false;
  for (size_t i = 1; i <= extra; ++i) {
    unsigned char c = static_cast<unsigned char>(text[*pos + i]);
    if ((c & 0xC0) != 0x80) return false;
    cp = (cp << 6) | (c & 0x3F);
  }
  static constexpr char32_t kMinForLength[] = {0, 0x80, 0x800, 0x10000};
  if (cp < kMinForLength[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
  *pos += extra + 1;
  *out = cp;
  return true;
}

}  // namespace

absl::Status InvalidField(absl::string_view field, absl::string_view rule) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", rule));
}

size_t Utf8Length(absl::string_view text) {
  size_t count = 0;
  for (unsigned char c : text) {
    if ((c & 0xC0) != 0x80) ++count;
  }
  return count;
}

namespace {

absl::Status CheckText(absl::string_view field, absl::string_view value, size_t min_chars,
                       size_t max_chars, bool allow_line_breaks) {
  size_t chars = 0;
  size_t pos = 0;
  while (pos < value.size()) {
    char32_t cp;
    if (!NextCodePoint(value, &pos, &cp)) return InvalidField(field, "must be valid UTF-8");
    bool line_break = cp == '\n' || cp == '\r' || cp == '\t';
    if ((cp < 0x20 && !(allow_line_breaks && line_break)) || cp == 0x7F ||
        (cp >= 0x80 && cp < 0xA0)) {
      return InvalidField(field, "must not contain control characters");
    }
    ++chars;
  }
  if (chars < min_chars) {
    return InvalidField(field, min_chars == 1
                                   ? "is required"
                                   : absl::StrCat("must have at least ", min_chars, " characters"));
  }
  if (chars > max_chars) {
    return InvalidField(field, absl::StrCat("must have at most ", max_chars, " characters"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateText(absl::string_view field, absl::string_view value, size_t min_chars,
                          size_t max_chars) {
  return CheckText(field, value, min_chars, max_chars, /*allow_line_breaks=*/false);
}

absl::Status ValidateFreeText(absl::string_view field, absl::string_view value, size_t max_chars) {
  return CheckText(field, value, 0, max_chars, /*allow_line_breaks=*/true);
}

absl::Status ValidateToken(absl::string_view field, absl::string_view value) {
  if (value.empty() || value.size() > 128) {
    return InvalidField(field, "must have 1 to 128 characters");
  }
  for (char c : value) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return InvalidField(field, "may contain only letters, digits and . _ : -");
  }
  return absl::OkStatus();
}

absl::StatusOr<int> NormalizePageSize(absl::string_view field, int page_size) {
  if (page_size < 0) return InvalidField(field, "must not be negative");
  if (page_size == 0) return kDefaultPageSize;
  return page_size > kMaxPageSize ? kMaxPageSize : page_size;
}

std::optional<int> ParseLocalTimeOfDay(absl::string_view text) {
  if (text.size() != 5 || text[2] != ':') return std::nullopt;
  for (size_t i : {0, 1, 3, 4}) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
  }
  int hours = (text[0] - '0') * 10 + (text[1] - '0');
  int minutes = (text[3] - '0') * 10 + (text[4] - '0');
  if (hours > 23 || minutes > 59) return std::nullopt;
  return hours * 60 + minutes;
}

bool IsIanaTimeZone(const std::string& name) {
  // Zone names are ASCII paths like "America/Argentina/Buenos_Aires"; refusing anything else
  // keeps the lookup from ever touching a file outside the zone database.
  if (name.empty() || name.size() > 64 || name.front() == '/' ||
      name.find("..") != std::string::npos) {
    return false;
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '/' || c == '_' || c == '-' || c == '+';
    if (!ok) return false;
  }
  absl::TimeZone zone;
  return absl::LoadTimeZone(name, &zone);
}

}  // namespace peerwell
