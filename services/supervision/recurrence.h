#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace peerwell::supervision {

// RFC 5545 recurrence rules, parsed and expanded by libical (the reference iCalendar library)
// rather than by hand. A rule is expanded on the local wall clock of the series' time zone, then
// each local start is placed in that zone: a weekly 10:00 session stays at 10:00 local across
// daylight-saving changes.

// At most this many occurrences come from one expansion, whatever the rule says.
inline constexpr int kMaxOccurrencesPerExpansion = 400;

// INVALID_ARGUMENT naming `field` unless `rule` is an RRULE value libical accepts with a
// frequency of daily or slower (sessions are never hourly).
absl::Status ValidateRecurrenceRule(const std::string& field, const std::string& rule);

// The starts of the occurrences of `rule` whose series begins at `first_start` in `zone`, from
// `from` (inclusive) to `until` (exclusive), oldest first; the first occurrence is `first_start`
// itself. The rule must have passed ValidateRecurrenceRule.
absl::StatusOr<std::vector<absl::Time>> ExpandRecurrence(const std::string& rule,
                                                         absl::Time first_start,
                                                         const absl::TimeZone& zone,
                                                         absl::Time from, absl::Time until);

// Whether the rule pins occurrences to days (BYDAY, BYMONTHDAY, BYYEARDAY, BYWEEKNO, BYMONTH,
// BYSETPOS) rather than taking them from its first start.
bool RecurrencePinsDays(const std::string& rule);

// The rule's COUNT, 0 when it has none.
int RecurrenceCount(const std::string& rule);
// The rule with its COUNT replaced by `count` (a series cut in two keeps the rest of its count).
std::string WithRecurrenceCount(const std::string& rule, int count);

}  // namespace peerwell::supervision
