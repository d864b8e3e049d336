#include "services/supervision/recurrence.h"

#include <algorithm>
#include <mutex>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "services/supervision/libical_support.h"

namespace peerwell::supervision {
namespace {

bool Parse(const std::string& rule, icalrecurrencetype* out) {
  std::lock_guard<std::mutex> lock(LibicalMutex());
  icalerror_clear_errno();
  *out = icalrecurrencetype_from_string(rule.c_str());
  bool ok = icalerrno == ICAL_NO_ERROR && out->freq != ICAL_NO_RECURRENCE;
  icalerror_clear_errno();
  return ok;
}

}  // namespace

absl::Status ValidateRecurrenceRule(const std::string& field, const std::string& rule) {
  if (rule.size() > 256) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": must be at most 256 characters"));
  }
  icalrecurrencetype recur;
  if (!Parse(rule, &recur)) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": must be an RFC 5545 RRULE value such as FREQ=WEEKLY;BYDAY=TU;COUNT=8"));
  }
  if (recur.freq != ICAL_DAILY_RECURRENCE && recur.freq != ICAL_WEEKLY_RECURRENCE &&
      recur.freq != ICAL_MONTHLY_RECURRENCE && recur.freq != ICAL_YEARLY_RECURRENCE) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY"));
  }
  // Occurrences at several times of one day would overlap each other's people.
  for (absl::string_view part : absl::StrSplit(rule, ';')) {
    if (absl::StartsWith(part, "BYHOUR=") || absl::StartsWith(part, "BYMINUTE=") ||
        absl::StartsWith(part, "BYSECOND=")) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ": BYHOUR, BYMINUTE and BYSECOND are not accepted: the start time sets the hour"));
    }
  }
  if (recur.count < 0 || recur.count > 1000) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": COUNT must be 1-1000"));
  }
  if (!icaltime_is_null_time(recur.until) && recur.count > 0) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": has both COUNT and UNTIL"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<absl::Time>> ExpandRecurrence(const std::string& rule,
                                                         absl::Time first_start,
                                                         const absl::TimeZone& zone,
                                                         absl::Time from, absl::Time until) {
  icalrecurrencetype recur;
  if (!Parse(rule, &recur)) return absl::InvalidArgumentError("recurrence_rule: cannot be parsed");
  // UNTIL is applied here rather than by libical, which would compare a UTC bound with the
  // floating local starts: a UTC UNTIL is an instant, a floating or date one is read in `zone`.
  if (!icaltime_is_null_time(recur.until)) {
    const icaltimetype& u = recur.until;
    absl::CivilSecond local(u.year, u.month, u.day, u.is_date ? 23 : u.hour,
                            u.is_date ? 59 : u.minute, u.is_date ? 59 : u.second);
    absl::Time bound = icaltime_is_utc(u) ? absl::FromCivil(local, absl::UTCTimeZone())
                                          : absl::FromCivil(local, zone);
    until = std::min(until, bound + absl::Seconds(1));  // UNTIL is inclusive
    recur.until = icaltime_null_time();
  }
  icaltimetype start = FloatingIcalTime(absl::ToCivilSecond(first_start, zone));
  std::vector<absl::Time> starts;
  std::lock_guard<std::mutex> lock(LibicalMutex());
  icalrecur_iterator* iterator = icalrecur_iterator_new(recur, start);
  if (iterator == nullptr) return absl::InvalidArgumentError("recurrence_rule: cannot be expanded");
  // Every occurrence from the first is walked (COUNT counts from DTSTART); bounded all the same.
  for (int walked = 0; walked < 10 * kMaxOccurrencesPerExpansion; ++walked) {
    icaltimetype next = icalrecur_iterator_next(iterator);
    if (icaltime_is_null_time(next)) break;
    absl::CivilSecond local(next.year, next.month, next.day, next.hour, next.minute, next.second);
    absl::Time at = absl::FromCivil(local, zone);
    if (at >= until) break;
    if (at < from) continue;
    starts.push_back(at);
    if (static_cast<int>(starts.size()) >= kMaxOccurrencesPerExpansion) break;
  }
  icalrecur_iterator_free(iterator);
  return starts;
}

bool RecurrencePinsDays(const std::string& rule) {
  for (absl::string_view part : absl::StrSplit(rule, ';')) {
    for (absl::string_view pin :
         {"BYDAY=", "BYMONTHDAY=", "BYYEARDAY=", "BYWEEKNO=", "BYMONTH=", "BYSETPOS="}) {
      if (absl::StartsWith(part, pin)) return true;
    }
  }
  return false;
}

int RecurrenceCount(const std::string& rule) {
  for (absl::string_view part : absl::StrSplit(rule, ';')) {
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(part, '=');
    int count = 0;
    if (kv.first == "COUNT" && absl::SimpleAtoi(kv.second, &count)) return count;
  }
  return 0;
}

std::string WithRecurrenceCount(const std::string& rule, int count) {
  std::vector<std::string> parts;
  for (absl::string_view part : absl::StrSplit(rule, ';', absl::SkipEmpty())) {
    if (!absl::StartsWith(part, "COUNT=")) parts.emplace_back(part);
  }
  if (count > 0) parts.push_back(absl::StrCat("COUNT=", count));
  return absl::StrJoin(parts, ";");
}

}  // namespace peerwell::supervision
