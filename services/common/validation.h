#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace peerwell {

// Every INVALID_ARGUMENT of PeerWell names the field and the rule: "person.timezone: must be an
// IANA time zone name such as Europe/London".
absl::Status InvalidField(absl::string_view field, absl::string_view rule);

// A human-entered line of text (names, labels): valid UTF-8, no control characters, at most
// `max_chars` characters, and at least `min_chars`.
absl::Status ValidateText(absl::string_view field, absl::string_view value, size_t min_chars,
                          size_t max_chars);

// Free text a person writes (notes, descriptions, messages): like ValidateText, but line breaks
// and tabs are allowed; may be empty.
absl::Status ValidateFreeText(absl::string_view field, absl::string_view value, size_t max_chars);

// A client-chosen token such as a request_id: 1-128 characters of [A-Za-z0-9._:-].
absl::Status ValidateToken(absl::string_view field, absl::string_view value);

// A page size: negative is invalid, 0 means the default (50), more than 1000 is capped.
absl::StatusOr<int> NormalizePageSize(absl::string_view field, int page_size);

// "HH:MM" on a 24-hour clock; the minutes since midnight, or nullopt.
std::optional<int> ParseLocalTimeOfDay(absl::string_view text);

bool IsIanaTimeZone(const std::string& name);

size_t Utf8Length(absl::string_view text);

}  // namespace peerwell
