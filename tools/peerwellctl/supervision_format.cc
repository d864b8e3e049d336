#include "tools/peerwellctl/supervision_format.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "services/common/proto_time.h"
#include "tools/peerwellctl/alerts_format.h"
#include "tools/peerwellctl/args.h"
#include "tools/peerwellctl/checkin_format.h"
#include "tools/peerwellctl/format.h"

namespace peerwell::ctl {
namespace {

constexpr EnumName<supervision_v1::SessionKind> kSessionKinds[] = {
    {"individual", supervision_v1::SESSION_KIND_INDIVIDUAL},
    {"group", supervision_v1::SESSION_KIND_GROUP},
    {"reflective", supervision_v1::SESSION_KIND_REFLECTIVE_PRACTICE},
    {"debrief", supervision_v1::SESSION_KIND_DEBRIEF},
    {"peer", supervision_v1::SESSION_KIND_PEER},
};

constexpr EnumName<supervision_v1::SessionState> kSessionStates[] = {
    {"scheduled", supervision_v1::SESSION_STATE_SCHEDULED},
    {"offered", supervision_v1::SESSION_STATE_OFFERED},
    {"cancelled", supervision_v1::SESSION_STATE_CANCELLED},
    {"completed", supervision_v1::SESSION_STATE_COMPLETED},
    {"declined", supervision_v1::SESSION_STATE_DECLINED},
};

constexpr EnumName<supervision_v1::AttendanceStatus> kAttendanceStatuses[] = {
    {"present", supervision_v1::ATTENDANCE_STATUS_PRESENT},
    {"absent", supervision_v1::ATTENDANCE_STATUS_ABSENT},
    {"excused", supervision_v1::ATTENDANCE_STATUS_EXCUSED},
};

constexpr absl::string_view kWeekdays[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
constexpr absl::string_view kLongWeekdays[] = {"monday", "tuesday",  "wednesday", "thursday",
                                               "friday", "saturday", "sunday"};

// 1 (Monday) … 7 (Sunday) for "mon", "monday" or "1"; 0 when it is none of them.
int WeekdayNumber(absl::string_view text) {
  std::string word = absl::AsciiStrToLower(absl::StripAsciiWhitespace(text));
  int number = 0;
  if (absl::SimpleAtoi(word, &number)) return number >= 1 && number <= 7 ? number : 0;
  for (int i = 0; i < 7; ++i) {
    if (word == absl::AsciiStrToLower(kWeekdays[i]) || word == kLongWeekdays[i]) return i + 1;
  }
  return 0;
}

// The ids, comma-separated, or "none".
std::string People(const google::protobuf::RepeatedPtrField<std::string>& ids) {
  return ids.empty() ? "none" : absl::StrJoin(ids, ", ");
}

// "taken/capacity"; taken from seats_left, since a volunteer listing sessions open to join is
// not shown who is in them.
std::string Seats(const supervision_v1::Session& session) {
  if (session.capacity() <= 0) return absl::StrCat(session.participant_ids_size());
  return absl::StrCat(session.capacity() - session.seats_left(), "/", session.capacity());
}

absl::Time TimeOf(const google::protobuf::Timestamp& time) {
  return absl::FromUnixSeconds(time.seconds()) + absl::Nanoseconds(time.nanos());
}

absl::Duration DurationOf(const google::protobuf::Duration& duration) {
  return absl::Seconds(duration.seconds()) + absl::Nanoseconds(duration.nanos());
}

// A policy's span as people say it: "30d" and "14d", but "24h" rather than "1d".
std::string PolicySpan(const google::protobuf::Duration& duration) {
  if (DurationOf(duration) == absl::Hours(24)) return "24h";
  return FormatDurationProto(duration);
}

}  // namespace

absl::StatusOr<supervision_v1::SessionKind> ParseSessionKind(absl::string_view flag,
                                                             absl::string_view text) {
  // The proto's long name reads as the short one.
  std::string word = NormalizedWord(text);
  if (absl::EndsWith(word, "reflective-practice")) word.resize(word.size() - 9);
  auto kind = ParseWord(kSessionKinds, "session-kind-", flag, word);
  if (!kind.ok()) return BadChoice(flag, text, "individual, group, reflective, debrief, peer");
  return kind;
}

absl::StatusOr<supervision_v1::SessionState> ParseSessionState(absl::string_view flag,
                                                               absl::string_view text) {
  return ParseWord(kSessionStates, "session-state-", flag, text);
}

absl::StatusOr<std::vector<supervision_v1::WeeklyWindow>> ParseWeeklyWindows(
    absl::string_view flag, absl::string_view text) {
  auto usage = [&] {
    return UsageError(
        absl::StrCat("--", flag,
                     ": expected DAYS=HH:MM-HH:MM such as mon=09:00-12:00, mon-thu=09:00-17:00 or "
                     "tue,thu=13:00-16:00; got '",
                     text, "'"));
  };
  std::pair<absl::string_view, absl::string_view> parts =
      absl::StrSplit(text, absl::MaxSplits('=', 1));
  std::pair<absl::string_view, absl::string_view> times =
      absl::StrSplit(parts.second, absl::MaxSplits('-', 1));
  if (parts.first.empty() || times.first.empty() || times.second.empty()) return usage();

  std::vector<int> days;
  for (absl::string_view item : absl::StrSplit(parts.first, ',')) {
    std::pair<absl::string_view, absl::string_view> range =
        absl::StrSplit(item, absl::MaxSplits('-', 1));
    int first = WeekdayNumber(range.first);
    int last = range.second.empty() ? first : WeekdayNumber(range.second);
    if (first == 0 || last == 0) return usage();
    // A range may wrap round the week: fri-mon is Friday to Monday.
    for (int day = first;; day = day % 7 + 1) {
      days.push_back(day);
      if (day == last) break;
    }
  }
  std::vector<supervision_v1::WeeklyWindow> windows;
  for (int day : days) {
    supervision_v1::WeeklyWindow& window = windows.emplace_back();
    window.set_weekday(day);
    window.set_start(std::string(absl::StripAsciiWhitespace(times.first)));
    window.set_end(std::string(absl::StripAsciiWhitespace(times.second)));
  }
  return windows;
}

absl::StatusOr<absl::Time> ParseTimeArgument(absl::string_view flag, absl::string_view text,
                                             absl::Time now) {
  auto time =
      absl::StartsWith(text, "+") ? ParseUntil(flag, text, now) : ParsePointInTime(flag, text, now);
  if (time.ok()) return time;
  return UsageError(
      absl::StrCat("--", flag,
                   ": expected an RFC 3339 time such as 2025-03-04T10:00:00Z (or with an offset, "
                   "+01:00), now, or a span from now or ago such as +3d or -2h; got '",
                   text, "'"));
}

absl::StatusOr<supervision_v1::AvailabilityException> ParseException(absl::string_view flag,
                                                                     absl::string_view text,
                                                                     bool available,
                                                                     absl::Time now) {
  std::pair<absl::string_view, absl::string_view> parts =
      absl::StrSplit(text, absl::MaxSplits("..", 1));
  if (parts.first.empty() || parts.second.empty()) {
    return UsageError(absl::StrCat(
        "--", flag,
        ": expected START..END such as 2025-03-03T00:00:00Z..2025-03-08T00:00:00Z, got '", text,
        "'"));
  }
  auto start = ParseTimeArgument(flag, parts.first, now);
  if (!start.ok()) return start.status();
  auto end = ParseTimeArgument(flag, parts.second, now);
  if (!end.ok()) return end.status();
  supervision_v1::AvailabilityException exception;
  *exception.mutable_start_time() = TimestampToProto(*start);
  *exception.mutable_end_time() = TimestampToProto(*end);
  exception.set_available(available);
  return exception;
}

google::protobuf::Duration DurationToProto(absl::Duration duration) {
  google::protobuf::Duration proto;
  proto.set_seconds(absl::ToInt64Seconds(duration));
  proto.set_nanos(
      static_cast<int32_t>(absl::ToInt64Nanoseconds(duration - absl::Seconds(proto.seconds()))));
  return proto;
}

std::string SessionKindWord(supervision_v1::SessionKind kind) { return Word(kSessionKinds, kind); }
std::string SessionStateWord(supervision_v1::SessionState state) {
  return Word(kSessionStates, state);
}
std::string AttendanceStatusWord(supervision_v1::AttendanceStatus status) {
  return Word(kAttendanceStatuses, status);
}

std::string WeekdayWord(int weekday) {
  if (weekday < 1 || weekday > 7) return absl::StrCat(weekday);
  return std::string(kWeekdays[weekday - 1]);
}

std::string AvailabilityText(const supervision_v1::Availability& availability) {
  std::string out = FormatFields(
      {{"supervisor", availability.supervisor_id().empty() ? "-" : availability.supervisor_id()},
       {"timezone", availability.timezone().empty() ? "-" : availability.timezone()}});
  std::vector<supervision_v1::WeeklyWindow> weekly(availability.weekly().begin(),
                                                   availability.weekly().end());
  std::stable_sort(
      weekly.begin(), weekly.end(),
      [](const supervision_v1::WeeklyWindow& a, const supervision_v1::WeeklyWindow& b) {
        return std::make_pair(a.weekday(), a.start()) < std::make_pair(b.weekday(), b.start());
      });
  if (weekly.empty()) {
    absl::StrAppend(&out, "\nno weekly windows: not available for supervision\n");
  } else {
    std::vector<std::vector<std::string>> rows;
    for (const supervision_v1::WeeklyWindow& window : weekly) {
      rows.push_back({WeekdayWord(window.weekday()), window.start(), window.end()});
    }
    absl::StrAppend(&out, "\nweekly, local time:\n", FormatTable({"DAY", "FROM", "TO"}, rows));
  }
  std::vector<supervision_v1::AvailabilityException> exceptions(availability.exceptions().begin(),
                                                                availability.exceptions().end());
  std::stable_sort(exceptions.begin(), exceptions.end(),
                   [](const supervision_v1::AvailabilityException& a,
                      const supervision_v1::AvailabilityException& b) {
                     return TimeOf(a.start_time()) < TimeOf(b.start_time());
                   });
  if (!exceptions.empty()) {
    std::vector<std::vector<std::string>> rows;
    for (const supervision_v1::AvailabilityException& exception : exceptions) {
      rows.push_back({exception.available() ? "extra" : "leave",
                      FormatTimestamp(exception.start_time()),
                      FormatTimestamp(exception.end_time())});
    }
    absl::StrAppend(&out, "\nexceptions:\n", FormatTable({"KIND", "FROM", "TO"}, rows));
  }
  return out;
}

std::string SessionText(const supervision_v1::Session& session) {
  Fields fields = {{"session", session.session_id()}};
  if (!session.series_id().empty()) fields.emplace_back("series", session.series_id());
  fields.emplace_back("kind", SessionKindWord(session.kind()));
  fields.emplace_back("state", SessionStateWord(session.state()));
  if (!session.title().empty()) fields.emplace_back("title", session.title());
  fields.emplace_back("start", FormatTimestamp(session.start_time()));
  if (session.has_duration()) {
    fields.emplace_back(
        "duration",
        absl::StrCat(FormatDurationProto(session.duration()), " (until ",
                     HumanTime(TimeOf(session.start_time()) + DurationOf(session.duration())),
                     ")"));
  }
  fields.emplace_back("supervisors", People(session.supervisor_ids()));
  fields.emplace_back("participants", People(session.participant_ids()));
  fields.emplace_back("seats", session.capacity() > 0
                                   ? absl::StrCat(session.participant_ids_size(), " of ",
                                                  session.capacity(), " taken")
                                   : "as many as are named");
  if (!session.recurrence_rule().empty()) fields.emplace_back("repeats", session.recurrence_rule());
  for (const supervision_v1::Attendance& attendance : session.attendance()) {
    fields.emplace_back("attendance", absl::StrCat(attendance.person_id(), " ",
                                                   AttendanceStatusWord(attendance.status())));
  }
  if (!session.incident_id().empty()) fields.emplace_back("after incident", session.incident_id());
  if (session.has_offer_expire_time()) {
    fields.emplace_back("offer expires", FormatTimestamp(session.offer_expire_time()));
  }
  if (!session.cancel_reason().empty()) {
    fields.emplace_back("cancel reason", session.cancel_reason());
  }
  fields.emplace_back("created", FormatTimestamp(session.create_time()));
  if (session.has_update_time()) {
    fields.emplace_back("updated", absl::StrCat(FormatTimestamp(session.update_time()),
                                                " (sequence ", session.sequence(), ")"));
  }
  return FormatFields(fields);
}

std::string SessionsTable(const std::vector<supervision_v1::Session>& sessions) {
  std::vector<std::vector<std::string>> rows;
  for (const supervision_v1::Session& session : sessions) {
    rows.push_back({session.session_id(), FormatTimestamp(session.start_time()),
                    FormatDurationProto(session.duration()), SessionKindWord(session.kind()),
                    SessionStateWord(session.state()), Seats(session),
                    session.title().empty() ? "-" : session.title()});
  }
  return FormatTable({"ID", "START", "DURATION", "KIND", "STATE", "SEATS", "TITLE"}, rows);
}

std::string SlotsTable(const google::protobuf::RepeatedPtrField<supervision_v1::Slot>& slots) {
  if (slots.empty()) return "no free slots in this window\n";
  std::vector<std::vector<std::string>> rows;
  int rank = 0;
  for (const supervision_v1::Slot& slot : slots) {
    rows.push_back({absl::StrCat(++rank), FormatTimestamp(slot.start_time()),
                    FormatTimestamp(slot.end_time()), slot.supervisor_id(),
                    FormatScoreValue(slot.score())});
  }
  // The reasons are sentences: on wrapped lines under their slot, as alerts' factors are.
  std::vector<std::string> lines =
      absl::StrSplit(FormatTable({"#", "START", "END", "SUPERVISOR", "SCORE"}, rows), '\n');
  std::string out = absl::StrCat(lines[0], "\n");
  for (int i = 0; i < slots.size(); ++i) {
    absl::StrAppend(&out, lines[i + 1], "\n", Wrap(absl::StrJoin(slots[i].reasons(), "; "), "   "));
  }
  return out;
}

std::string OffersTable(const std::vector<supervision_v1::Session>& offers) {
  std::vector<std::vector<std::string>> rows;
  for (const supervision_v1::Session& offer : offers) {
    rows.push_back({offer.session_id(), FormatTimestamp(offer.start_time()),
                    FormatDurationProto(offer.duration()), SessionKindWord(offer.kind()),
                    People(offer.supervisor_ids()), FormatTimestamp(offer.offer_expire_time())});
  }
  return FormatTable({"ID", "START", "DURATION", "KIND", "WITH", "ANSWER BY"}, rows);
}

std::string OverdueTable(const std::vector<supervision_v1::OverdueVolunteer>& overdue) {
  std::vector<std::vector<std::string>> rows;
  for (const supervision_v1::OverdueVolunteer& volunteer : overdue) {
    rows.push_back({volunteer.volunteer_id(),
                    volunteer.has_last_session_time()
                        ? FormatTimestamp(volunteer.last_session_time())
                        : "never",
                    absl::StrCat(volunteer.days_overdue())});
  }
  return FormatTable({"VOLUNTEER", "LAST SESSION", "DAYS OVERDUE"}, rows);
}

std::string CalendarFeedText(const supervision_v1::CalendarFeed& feed, absl::string_view address) {
  Fields fields = {{"feed", feed.feed_id()},
                   {"person", feed.person_id()},
                   {"created", FormatTimestamp(feed.create_time())}};
  if (!address.empty()) fields.push_back({"address", std::string(address)});
  return FormatFields(fields);
}

std::string CalendarFeedsTable(const std::vector<supervision_v1::CalendarFeed>& feeds) {
  std::vector<std::vector<std::string>> rows;
  for (const supervision_v1::CalendarFeed& feed : feeds) {
    rows.push_back({feed.feed_id(), feed.person_id(), FormatTimestamp(feed.create_time())});
  }
  return FormatTable({"FEED", "PERSON", "CREATED"}, rows);
}

std::string SupervisionPolicyText(const supervision_v1::SupervisionPolicy& policy) {
  return FormatFields({
      {"cadence", absl::StrCat(PolicySpan(policy.cadence()),
                               " (individual or group supervision at least this often)")},
      {"debrief offer window", absl::StrCat(PolicySpan(policy.debrief_offer_window()),
                                            " (a debrief is offered this soon after an incident)")},
      {"debrief buffer",
       absl::StrCat(PolicySpan(policy.debrief_buffer()), " (kept free after a debrief)")},
      {"two facilitators", absl::StrCat(OnOff(policy.require_two_facilitators()),
                                        " (group sessions need two supervisors)")},
  });
}

}  // namespace peerwell::ctl
