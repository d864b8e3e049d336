// The `supervision ...` commands: supervisors' availability, sessions and series (create, list,
// join and leave a seat, cancel, reschedule, attendance), slots proposed to a volunteer, debrief
// offers, the organisation's cadence policy and who is overdue, and iCalendar feeds.

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "services/common/proto_time.h"
#include "tools/peerwellctl/alerts_format.h"
#include "tools/peerwellctl/checkin_format.h"
#include "tools/peerwellctl/command.h"
#include "tools/peerwellctl/command_support.h"
#include "tools/peerwellctl/format.h"
#include "tools/peerwellctl/supervision_format.h"

namespace peerwell::ctl {
namespace {

using Stub = supervision_v1::SupervisionService::Stub;

// What `session create` and `propose` assume when --duration is not given.
constexpr absl::string_view kDefaultDuration = "1h";
// How far ahead `propose` looks when --to is not given.
constexpr absl::Duration kDefaultProposeWindow = absl::Hours(24 * 14);

absl::StatusOr<google::protobuf::Duration> DurationFlag(const ParsedArgs& args,
                                                        absl::string_view flag,
                                                        absl::string_view fallback) {
  auto span = ParseSpan(flag, args.Get(flag).value_or(std::string(fallback)));
  if (!span.ok()) return span.status();
  return DurationToProto(*span);
}

// The time of flag `flag` when given; nullopt when not.
absl::StatusOr<std::optional<google::protobuf::Timestamp>> TimeFlag(const ParsedArgs& args,
                                                                    absl::string_view flag,
                                                                    absl::Time now) {
  auto text = args.Get(flag);
  if (!text.has_value()) return std::optional<google::protobuf::Timestamp>();
  auto time = ParseTimeArgument(flag, *text, now);
  if (!time.ok()) return time.status();
  return std::optional<google::protobuf::Timestamp>(TimestampToProto(*time));
}

supervision_v1::SeriesScope Scope(const ParsedArgs& args) {
  return args.Has("following") ? supervision_v1::SERIES_SCOPE_THIS_AND_FOLLOWING
                               : supervision_v1::SERIES_SCOPE_THIS;
}

// The session a change answered with, under a line saying what happened.
absl::Status PrintSession(Context& context, const google::protobuf::Message& response,
                          const supervision_v1::Session& session, absl::string_view what) {
  return Print(
      context, response,
      absl::StrCat("session ", session.session_id(), " ", what, "\n\n", SessionText(session)));
}

std::string PositionalOr(const ParsedArgs& args, size_t index) {
  return args.positionals().size() > index ? args.positionals()[index] : "";
}

absl::Status RespondToOffer(Context& context, const ParsedArgs& args, bool accept) {
  supervision_v1::RespondToOfferRequest request;
  request.set_session_id(args.positionals()[0]);
  request.set_accept(accept);
  auto response = context.supervision.Call(&Stub::RespondToOffer, request, context.token);
  if (!response.ok()) return response.status();
  return PrintSession(context, *response, response->session(),
                      accept ? "accepted: it is in your calendar"
                             : "declined (that is a fine answer; nothing else changes)");
}

}  // namespace

absl::Status RunSupervisionAvailabilitySet(Context& context, const ParsedArgs& args) {
  if (!args.Has("weekly") && !args.Has("leave") && !args.Has("extra") &&
      !args.Has("clear-exceptions")) {
    return UsageError(
        "nothing to set: give at least one of --weekly, --leave, --extra, --clear-exceptions");
  }
  absl::Time now = absl::Now();
  supervision_v1::SetAvailabilityRequest request;
  request.set_supervisor_id(PositionalOr(args, 0));
  // SetAvailability replaces everything; read the availability first so that only what the flags
  // name changes (as `checkin settings set` does). A supervisor who never set any has none.
  supervision_v1::GetAvailabilityRequest get;
  get.set_supervisor_id(request.supervisor_id());
  auto current = context.supervision.Call(&Stub::GetAvailability, get, context.token);
  if (!current.ok()) return current.status();
  supervision_v1::Availability& availability = *request.mutable_availability();
  availability = current->availability();
  availability.set_supervisor_id(request.supervisor_id());
  availability.clear_timezone();  // output only

  std::vector<std::string> weekly = args.GetAll("weekly");
  if (!weekly.empty()) availability.clear_weekly();
  bool none = weekly.size() == 1 && NormalizedWord(weekly.front()) == "none";
  for (const std::string& text : none ? std::vector<std::string>() : weekly) {
    auto windows = ParseWeeklyWindows("weekly", text);
    if (!windows.ok()) return windows.status();
    for (supervision_v1::WeeklyWindow& window : *windows) {
      *availability.add_weekly() = std::move(window);
    }
  }
  if (args.Has("clear-exceptions")) availability.clear_exceptions();
  for (auto [flag, available] :
       {std::pair<absl::string_view, bool>{"leave", false}, {"extra", true}}) {
    for (const std::string& text : args.GetAll(flag)) {
      auto exception = ParseException(flag, text, available, now);
      if (!exception.ok()) return exception.status();
      *availability.add_exceptions() = *std::move(exception);
    }
  }
  auto response = context.supervision.Call(&Stub::SetAvailability, request, context.token);
  if (!response.ok()) return response.status();
  return Print(context, *response, AvailabilityText(response->availability()));
}

absl::Status RunSupervisionAvailabilityGet(Context& context, const ParsedArgs& args) {
  supervision_v1::GetAvailabilityRequest request;
  request.set_supervisor_id(PositionalOr(args, 0));
  auto response = context.supervision.Call(&Stub::GetAvailability, request, context.token);
  if (!response.ok()) return response.status();
  return Print(context, *response, AvailabilityText(response->availability()));
}

absl::Status RunSupervisionSessionCreate(Context& context, const ParsedArgs& args) {
  supervision_v1::CreateSessionRequest request;
  supervision_v1::Session& session = *request.mutable_session();
  auto kind = ParseSessionKind("kind", *args.Get("kind"));
  if (!kind.ok()) return kind.status();
  session.set_kind(*kind);
  session.set_title(args.Get("title").value_or(""));
  for (const std::string& id : args.GetAll("supervisor")) session.add_supervisor_ids(id);
  for (const std::string& id : args.GetAll("participant")) session.add_participant_ids(id);
  auto start = ParseTimeArgument("start", *args.Get("start"), absl::Now());
  if (!start.ok()) return start.status();
  *session.mutable_start_time() = TimestampToProto(*start);
  auto duration = DurationFlag(args, "duration", kDefaultDuration);
  if (!duration.ok()) return duration.status();
  *session.mutable_duration() = *duration;
  if (auto capacity = args.Get("capacity")) {
    auto seats = ParseCount("capacity", *capacity);
    if (!seats.ok()) return seats.status();
    session.set_capacity(*seats);
  }
  session.set_recurrence_rule(args.Get("repeat").value_or(""));
  request.set_request_id(args.Get("request-id").value_or(""));
  auto response = context.supervision.Call(&Stub::CreateSession, request, context.token);
  if (!response.ok()) return response.status();
  const supervision_v1::Session& created = response->session();
  return PrintSession(context, *response, created,
                      created.series_id().empty()
                          ? "created"
                          : absl::StrCat("created, the first of series ", created.series_id(),
                                         " (list the others with 'session list')"));
}

absl::Status RunSupervisionSessionGet(Context& context, const ParsedArgs& args) {
  supervision_v1::GetSessionRequest request;
  request.set_session_id(args.positionals()[0]);
  auto response = context.supervision.Call(&Stub::GetSession, request, context.token);
  if (!response.ok()) return response.status();
  return Print(context, *response, SessionText(response->session()));
}

absl::Status RunSupervisionSessionList(Context& context, const ParsedArgs& args) {
  supervision_v1::ListSessionsRequest request;
  request.set_person_id(args.Get("person").value_or(""));
  request.set_open_to_join(args.Has("open"));
  absl::Time now = absl::Now();
  auto from = TimeFlag(args, "from", now);
  if (!from.ok()) return from.status();
  if (from->has_value()) *request.mutable_start_time() = **from;
  auto to = TimeFlag(args, "to", now);
  if (!to.ok()) return to.status();
  if (to->has_value()) *request.mutable_end_time() = **to;
  for (const std::string& text : args.GetAll("kind")) {
    auto kind = ParseSessionKind("kind", text);
    if (!kind.ok()) return kind.status();
    request.add_kinds(*kind);
  }
  for (const std::string& text : args.GetAll("state")) {
    auto state = ParseSessionState("state", text);
    if (!state.ok()) return state.status();
    request.add_states(*state);
  }
  if (auto status = ApplyPaging(args, request); !status.ok()) return status;
  auto response =
      FetchPages(context.supervision, context.token, &Stub::ListSessions, request, args.Has("all"));
  if (!response.ok()) return response.status();
  std::vector<supervision_v1::Session> sessions(response->sessions().begin(),
                                                response->sessions().end());
  std::string human = sessions.empty() ? "no sessions found\n" : SessionsTable(sessions);
  if (absl::Status printed = Print(context, *response, human); !printed.ok()) return printed;
  if (!context.json) NoteMorePages(response->next_page_token(), "sessions");
  return absl::OkStatus();
}

absl::Status RunSupervisionPropose(Context& context, const ParsedArgs& args) {
  supervision_v1::ProposeSlotsRequest request;
  request.set_volunteer_id(args.Get("volunteer").value_or(""));
  auto kind = ParseSessionKind("kind", args.Get("kind").value_or("individual"));
  if (!kind.ok()) return kind.status();
  request.set_kind(*kind);
  auto duration = DurationFlag(args, "duration", kDefaultDuration);
  if (!duration.ok()) return duration.status();
  *request.mutable_duration() = *duration;
  absl::Time now = absl::Now();
  absl::Time from = now;
  if (auto text = args.Get("from")) {
    auto parsed = ParseTimeArgument("from", *text, now);
    if (!parsed.ok()) return parsed.status();
    from = *parsed;
  }
  absl::Time to = from + kDefaultProposeWindow;
  if (auto text = args.Get("to")) {
    auto parsed = ParseTimeArgument("to", *text, now);
    if (!parsed.ok()) return parsed.status();
    to = *parsed;
  }
  *request.mutable_window_start_time() = TimestampToProto(from);
  *request.mutable_window_end_time() = TimestampToProto(to);
  if (auto text = args.Get("max")) {
    auto max = ParseCount("max", *text);
    if (!max.ok()) return max.status();
    request.set_max_results(*max);
  }
  auto response = context.supervision.Call(&Stub::ProposeSlots, request, context.token);
  if (!response.ok()) return response.status();
  std::string human = absl::StrCat("free ", FormatDurationProto(request.duration()), " slots from ",
                                   HumanTime(from), " to ", HumanTime(to), ", best first:\n",
                                   SlotsTable(response->slots()));
  if (!response->slots().empty()) {
    const supervision_v1::Slot& best = response->slots(0);
    absl::StrAppend(&human, "\nbook the first with: peerwellctl supervision session create --kind ",
                    SessionKindWord(request.kind()), " --supervisor ", best.supervisor_id(),
                    " --start ", JsonTime(absl::FromUnixSeconds(best.start_time().seconds())),
                    " --duration ", FormatDurationProto(request.duration()),
                    request.volunteer_id().empty()
                        ? ""
                        : absl::StrCat(" --participant ", request.volunteer_id()),
                    "\n");
  }
  return Print(context, *response, human);
}

absl::Status RunSupervisionJoin(Context& context, const ParsedArgs& args) {
  supervision_v1::JoinSessionRequest request;
  request.set_session_id(args.positionals()[0]);
  request.set_person_id(args.Get("person").value_or(""));
  auto response = context.supervision.Call(&Stub::JoinSession, request, context.token);
  if (!response.ok()) return response.status();
  return PrintSession(
      context, *response, response->session(),
      absl::StrCat("joined", request.person_id().empty() ? "" : " by " + request.person_id()));
}

absl::Status RunSupervisionLeave(Context& context, const ParsedArgs& args) {
  supervision_v1::LeaveSessionRequest request;
  request.set_session_id(args.positionals()[0]);
  request.set_person_id(args.Get("person").value_or(""));
  auto response = context.supervision.Call(&Stub::LeaveSession, request, context.token);
  if (!response.ok()) return response.status();
  return PrintSession(
      context, *response, response->session(),
      absl::StrCat("left", request.person_id().empty() ? "" : " by " + request.person_id(),
                   "; the seat is free again"));
}

absl::Status RunSupervisionCancel(Context& context, const ParsedArgs& args) {
  supervision_v1::CancelSessionRequest request;
  request.set_session_id(args.positionals()[0]);
  request.set_reason(args.Get("reason").value_or(""));
  request.set_scope(Scope(args));
  auto response = context.supervision.Call(&Stub::CancelSession, request, context.token);
  if (!response.ok()) return response.status();
  return PrintSession(
      context, *response, response->session(),
      args.Has("following") ? "cancelled, with the occurrences after it" : "cancelled");
}

absl::Status RunSupervisionReschedule(Context& context, const ParsedArgs& args) {
  supervision_v1::RescheduleSessionRequest request;
  request.set_session_id(args.positionals()[0]);
  auto start = ParseTimeArgument("start", *args.Get("start"), absl::Now());
  if (!start.ok()) return start.status();
  *request.mutable_start_time() = TimestampToProto(*start);
  if (args.Has("duration")) {
    auto duration = DurationFlag(args, "duration", "");
    if (!duration.ok()) return duration.status();
    *request.mutable_duration() = *duration;
  }
  request.set_scope(Scope(args));
  auto response = context.supervision.Call(&Stub::RescheduleSession, request, context.token);
  if (!response.ok()) return response.status();
  return PrintSession(
      context, *response, response->session(),
      args.Has("following") ? "rescheduled, with the occurrences after it" : "rescheduled");
}

absl::Status RunSupervisionAttend(Context& context, const ParsedArgs& args) {
  supervision_v1::RecordAttendanceRequest request;
  request.set_session_id(args.positionals()[0]);
  for (auto [flag, status] : {std::pair<absl::string_view, supervision_v1::AttendanceStatus>{
                                  "present", supervision_v1::ATTENDANCE_STATUS_PRESENT},
                              {"absent", supervision_v1::ATTENDANCE_STATUS_ABSENT},
                              {"excused", supervision_v1::ATTENDANCE_STATUS_EXCUSED}}) {
    for (const std::string& person : args.GetAll(flag)) {
      supervision_v1::Attendance& attendance = *request.add_attendance();
      attendance.set_person_id(person);
      attendance.set_status(status);
    }
  }
  if (request.attendance().empty()) {
    return UsageError("nobody to record: give --present, --absent or --excused with a person id");
  }
  auto response = context.supervision.Call(&Stub::RecordAttendance, request, context.token);
  if (!response.ok()) return response.status();
  return PrintSession(context, *response, response->session(), "attendance recorded");
}

absl::Status RunSupervisionOffers(Context& context, const ParsedArgs&) {
  supervision_v1::ListSessionsRequest request;
  request.add_states(supervision_v1::SESSION_STATE_OFFERED);
  // The state filters each page of sessions, so a page may hold no offer while a later one does:
  // offers are few, so read every page.
  auto response = FetchPages(context.supervision, context.token, &Stub::ListSessions, request,
                             /*all=*/true);
  if (!response.ok()) return response.status();
  std::vector<supervision_v1::Session> offers(response->sessions().begin(),
                                              response->sessions().end());
  std::string human =
      offers.empty()
          ? "no offers waiting for your answer\n"
          : absl::StrCat(OffersTable(offers),
                         "\nanswer with: peerwellctl supervision offer accept ID (or decline ID); "
                         "declining is a fine answer\n");
  return Print(context, *response, human);
}

absl::Status RunSupervisionOfferAccept(Context& context, const ParsedArgs& args) {
  return RespondToOffer(context, args, true);
}

absl::Status RunSupervisionOfferDecline(Context& context, const ParsedArgs& args) {
  return RespondToOffer(context, args, false);
}

absl::Status RunSupervisionOverdue(Context& context, const ParsedArgs& args) {
  supervision_v1::ListOverdueRequest request;
  if (auto status = ApplyPaging(args, request); !status.ok()) return status;
  auto response =
      FetchPages(context.supervision, context.token, &Stub::ListOverdue, request, args.Has("all"));
  if (!response.ok()) return response.status();
  std::vector<supervision_v1::OverdueVolunteer> overdue(response->overdue().begin(),
                                                        response->overdue().end());
  std::string human =
      overdue.empty() ? "no volunteer is overdue for supervision\n" : OverdueTable(overdue);
  if (absl::Status printed = Print(context, *response, human); !printed.ok()) return printed;
  if (!context.json) NoteMorePages(response->next_page_token(), "overdue volunteers");
  return absl::OkStatus();
}

absl::Status RunSupervisionPolicyGet(Context& context, const ParsedArgs&) {
  auto response = context.supervision.Call(
      &Stub::GetSupervisionPolicy, supervision_v1::GetSupervisionPolicyRequest(), context.token);
  if (!response.ok()) return response.status();
  return Print(context, *response, SupervisionPolicyText(response->policy()));
}

absl::Status RunSupervisionPolicySet(Context& context, const ParsedArgs& args) {
  // UpdateSupervisionPolicy takes a field mask: only what the flags name changes.
  supervision_v1::UpdateSupervisionPolicyRequest request;
  supervision_v1::SupervisionPolicy& policy = *request.mutable_policy();
  auto mask = [&request](absl::string_view path) {
    request.mutable_update_mask()->add_paths(std::string(path));
  };
  struct SpanFlag {
    absl::string_view flag;
    absl::string_view path;
    google::protobuf::Duration* (supervision_v1::SupervisionPolicy::*field)();
  };
  for (const SpanFlag& span :
       {SpanFlag{"cadence", "cadence", &supervision_v1::SupervisionPolicy::mutable_cadence},
        SpanFlag{"debrief-window", "debrief_offer_window",
                 &supervision_v1::SupervisionPolicy::mutable_debrief_offer_window},
        SpanFlag{"debrief-buffer", "debrief_buffer",
                 &supervision_v1::SupervisionPolicy::mutable_debrief_buffer}}) {
    auto text = args.Get(span.flag);
    if (!text.has_value()) continue;
    google::protobuf::Duration& field = *(policy.*span.field)();
    // No buffer at all is a choice too (a zero duration); the other spans must be positive.
    if (span.flag == "debrief-buffer" && (*text == "0" || NormalizedWord(*text) == "none")) {
      field.Clear();
    } else {
      auto parsed = ParseSpan(span.flag, *text);
      if (!parsed.ok()) return parsed.status();
      field = DurationToProto(*parsed);
    }
    mask(span.path);
  }
  if (auto text = args.Get("two-facilitators")) {
    auto on = ParseOnOff("two-facilitators", *text);
    if (!on.ok()) return on.status();
    policy.set_require_two_facilitators(*on);
    mask("require_two_facilitators");
  }
  if (request.update_mask().paths().empty()) {
    return UsageError(
        "nothing to set: give at least one of --cadence, --debrief-window, --debrief-buffer, "
        "--two-facilitators");
  }
  auto response = context.supervision.Call(&Stub::UpdateSupervisionPolicy, request, context.token);
  if (!response.ok()) return response.status();
  return Print(context, *response, SupervisionPolicyText(response->policy()));
}

absl::Status RunSupervisionCalendar(Context& context, const ParsedArgs& args) {
  supervision_v1::ExportCalendarRequest request;
  request.set_person_id(PositionalOr(args, 0));
  auto response = context.supervision.Call(&Stub::ExportCalendar, request, context.token);
  if (!response.ok()) return response.status();
  auto output = args.Get("output");
  if (!output.has_value()) return Print(context, *response, response->ics());
  std::ofstream file(*output, std::ios::binary | std::ios::trunc);
  file << response->ics();
  file.close();
  if (!file) {
    return UsageError(absl::StrCat("--output: cannot write ", *output, ": ", std::strerror(errno)));
  }
  int events = 0;
  for (size_t at = response->ics().find("BEGIN:VEVENT"); at != std::string::npos;
       at = response->ics().find("BEGIN:VEVENT", at + 1)) {
    ++events;
  }
  return Print(context, *response,
               absl::StrCat("wrote ", events, events == 1 ? " session" : " sessions", " to ",
                            *output, "\n"));
}

absl::Status RunSupervisionCalendarFeedCreate(Context& context, const ParsedArgs& args) {
  supervision_v1::CreateCalendarFeedRequest request;
  request.set_person_id(args.Get("person").value_or(""));
  auto response = context.supervision.Call(&Stub::CreateCalendarFeed, request, context.token);
  if (!response.ok()) return response.status();
  const supervision_v1::CalendarFeed& feed = response->feed();
  // The full address when we know where the gateway is; else the path, for the reader to put
  // behind the gateway's address (the local run's default would be a guess).
  std::optional<std::string> gateway = NamedGatewayUrl(args);
  std::string human =
      gateway.has_value()
          ? CalendarFeedText(feed, absl::StrCat(absl::StripSuffix(*gateway, "/"), feed.path()))
          : absl::StrCat(CalendarFeedText(feed, feed.path()),
                         "\n(the path on the gateway: give --gateway URL or set "
                         "PEERWELL_GATEWAY_URL for the full address)\n");
  if (absl::Status printed = Print(context, *response, human); !printed.ok()) return printed;
  // On stderr, so that a script capturing the output still gets only the feed.
  std::cerr << "warning: the address is shown only now; the service keeps just a hash of its "
               "token. Anyone holding it reads the calendar until the feed is revoked "
               "(peerwellctl supervision calendar feed revoke "
            << feed.feed_id() << ").\n";
  return absl::OkStatus();
}

absl::Status RunSupervisionCalendarFeedList(Context& context, const ParsedArgs& args) {
  supervision_v1::ListCalendarFeedsRequest request;
  request.set_person_id(args.Get("person").value_or(""));
  auto response = context.supervision.Call(&Stub::ListCalendarFeeds, request, context.token);
  if (!response.ok()) return response.status();
  std::vector<supervision_v1::CalendarFeed> feeds(response->feeds().begin(),
                                                  response->feeds().end());
  return Print(context, *response,
               feeds.empty() ? "no calendar feeds\n" : CalendarFeedsTable(feeds));
}

absl::Status RunSupervisionCalendarFeedRevoke(Context& context, const ParsedArgs& args) {
  supervision_v1::RevokeCalendarFeedRequest request;
  request.set_feed_id(args.positionals()[0]);
  auto response = context.supervision.Call(&Stub::RevokeCalendarFeed, request, context.token);
  if (!response.ok()) return response.status();
  return Print(context, *response,
               absl::StrCat("calendar feed ", response->feed().feed_id(),
                            " revoked: its address no longer works\n\n",
                            CalendarFeedText(response->feed(), "")));
}

std::vector<Command> SupervisionCommands() {
  FlagSpec person = {"person", FlagKind::kValue, "ID",
                     "someone else (a supervisor for their volunteers, a coordinator for anyone)"};
  FlagSpec feed_person = {"person", FlagKind::kValue, "ID",
                          "someone else's (a coordinator, for anyone in the organisation)"};
  FlagSpec following = {"following", FlagKind::kSwitch, "",
                        "also every later occurrence of the series (never earlier ones)"};
  std::vector<FlagSpec> list_flags = {
      {"person", FlagKind::kValue, "ID",
       "someone's sessions (default yours; for a coordinator, the organisation's)"},
      {"from", FlagKind::kValue, "TIME", "starting at or after: RFC 3339, now, -7d or +1d"},
      {"to", FlagKind::kValue, "TIME", "starting before this time"},
      {"kind", FlagKind::kRepeated, "KIND",
       "individual, group, reflective, debrief or peer (repeatable; default all)"},
      {"state", FlagKind::kRepeated, "STATE",
       "scheduled, offered, cancelled, completed or declined (repeatable; default all)"},
      {"open", FlagKind::kSwitch, "",
       "instead: the group, reflective and peer sessions ahead with a seat for you"}};
  for (FlagSpec& flag : PagingFlags()) list_flags.push_back(std::move(flag));
  constexpr absl::string_view kTimes =
      "Times are RFC 3339 (2025-03-04T10:00:00Z, or with an offset such as +01:00), now, or a\n"
      "span from now or ago (+2d, -1h; d and w for days and weeks).";
  std::vector<Command> commands = {
      {"supervision availability set",
       {"[ID]"},
       "set a supervisor's weekly windows and leave (yourself when no id)",
       {{"weekly", FlagKind::kRepeated, "DAYS=HH:MM-HH:MM",
         "local weekly hours, e.g. mon-thu=09:00-17:00 (repeatable; replaces them all; none "
         "clears)"},
        {"leave", FlagKind::kRepeated, "START..END", "not available in this span (repeatable)"},
        {"extra", FlagKind::kRepeated, "START..END",
         "available in this span besides the weekly windows (repeatable)"},
        {"clear-exceptions", FlagKind::kSwitch, "", "drop the leave and extra spans set before"}},
       absl::StrCat(
           "Reads the current availability and changes what the flags name: --weekly replaces\n"
           "every weekly window, --leave and --extra add to the exceptions. Windows are local\n"
           "times in the supervisor's directory timezone. Days: mon..sun, ranges (mon-fri) and\n"
           "lists (tue,thu).\n",
           kTimes,
           "\nExample:\n"
           "  peerwellctl supervision availability set --weekly mon-thu=09:00-17:00 \\\n"
           "      --weekly fri=09:00-12:00 --leave 2025-08-04T00:00:00Z..2025-08-16T00:00:00Z"),
       true,
       RunSupervisionAvailabilitySet,
       Backend::kSupervision},
      {"supervision availability get",
       {"[ID]"},
       "show a supervisor's availability (yourself when no id)",
       {},
       "",
       true,
       RunSupervisionAvailabilityGet,
       Backend::kSupervision},
      {"supervision session create",
       {},
       "create a session, or a series with --repeat",
       {{"kind", FlagKind::kValue, "KIND", "individual, group, reflective, debrief or peer", true},
        {"title", FlagKind::kValue, "TEXT", "what people see in their calendar"},
        {"supervisor", FlagKind::kRepeated, "ID", "a facilitating supervisor (repeatable)"},
        {"participant", FlagKind::kRepeated, "ID", "a volunteer taking part (repeatable)"},
        {"start", FlagKind::kValue, "TIME", "when it starts", true},
        {"duration", FlagKind::kValue, "SPAN", "how long, e.g. 50m or 1h30m (default 1h)"},
        {"capacity", FlagKind::kValue, "N", "seats for participants (default: those named)"},
        {"repeat", FlagKind::kValue, "RRULE",
         "an RFC 5545 rule, e.g. FREQ=WEEKLY;INTERVAL=2;BYDAY=WE"},
        {"request-id", FlagKind::kValue, "ID",
         "retries with the same id return the first session instead of a second"}},
       absl::StrCat(
           kTimes,
           "\nA series repeats at the same local time in the (first) supervisor's timezone; its\n"
           "occurrences are sessions of their own, created at least 12 weeks ahead. A conflict\n"
           "(SUPERVISOR_DOUBLE_BOOKED, OUTSIDE_AVAILABILITY, IN_QUIET_HOURS, ...) is refused with\n"
           "FAILED_PRECONDITION naming it. Example:\n"
           "  peerwellctl supervision session create --kind reflective --title \"Reflective "
           "practice\" \\\n"
           "      --supervisor S1 --supervisor S2 --participant V1 --participant V2 --capacity 8 "
           "\\\n"
           "      --start 2025-03-05T14:00:00+01:00 --duration 90m "
           "--repeat 'FREQ=WEEKLY;INTERVAL=2;BYDAY=WE'"),
       true,
       RunSupervisionSessionCreate,
       Backend::kSupervision},
      {"supervision session get",
       {"ID"},
       "show a session with its people, seats and attendance",
       {},
       "",
       true,
       RunSupervisionSessionGet,
       Backend::kSupervision},
      {"supervision session list",
       {},
       "list sessions by start time (yours, or --person's; a coordinator's: everyone's)",
       list_flags,
       absl::StrCat("A volunteer sees the sessions they take part in, a supervisor theirs and "
                    "their\nvolunteers', a coordinator everyone's. With --open: the sessions "
                    "anyone may take a\nseat in (join one with 'supervision join ID'); a volunteer "
                    "sees how many seats are left,\nnot who is in them.\n",
                    kTimes),
       true,
       RunSupervisionSessionList,
       Backend::kSupervision},
      {"supervision propose",
       {},
       "free slots for a volunteer, best first (their own supervisor first)",
       {{"volunteer", FlagKind::kValue, "ID", "whom for (default yourself)"},
        {"kind", FlagKind::kValue, "KIND", "individual (default), group, debrief, ..."},
        {"duration", FlagKind::kValue, "SPAN", "how long (default 1h)"},
        {"from", FlagKind::kValue, "TIME", "the window's start (default now)"},
        {"to", FlagKind::kValue, "TIME", "the window's end (default 14 days after --from)"},
        {"max", FlagKind::kValue, "N", "at most N slots (the service's default 10)"}},
       absl::StrCat("Slots respect the supervisors' availability and everyone's quiet hours.\n",
                    kTimes),
       true,
       RunSupervisionPropose,
       Backend::kSupervision},
      {"supervision join",
       {"ID"},
       "take a seat in a session (yourself unless --person)",
       {person},
       "",
       true,
       RunSupervisionJoin,
       Backend::kSupervision},
      {"supervision leave",
       {"ID"},
       "give up a seat in a session (yourself unless --person)",
       {person},
       "",
       true,
       RunSupervisionLeave,
       Backend::kSupervision},
      {"supervision cancel",
       {"ID"},
       "cancel a session (or, --following, it and the rest of its series)",
       {{"reason", FlagKind::kValue, "TEXT", "shown to the people taking part"}, following},
       "Past occurrences of a series are never changed.",
       true,
       RunSupervisionCancel,
       Backend::kSupervision},
      {"supervision reschedule",
       {"ID"},
       "move a session (or, --following, it and the rest of its series)",
       {{"start", FlagKind::kValue, "TIME", "the new start", true},
        {"duration", FlagKind::kValue, "SPAN", "a new length (default unchanged)"},
        following},
       absl::StrCat(kTimes, "\nPast occurrences of a series are never changed."),
       true,
       RunSupervisionReschedule,
       Backend::kSupervision},
      {"supervision attend",
       {"ID"},
       "record who attended a session (supervisors)",
       {{"present", FlagKind::kRepeated, "PERSON", "attended (repeatable)"},
        {"absent", FlagKind::kRepeated, "PERSON", "did not attend (repeatable)"},
        {"excused", FlagKind::kRepeated, "PERSON", "sent apologies (repeatable)"}},
       "An individual or group session attended (present) counts for the cadence.",
       true,
       RunSupervisionAttend,
       Backend::kSupervision},
      {"supervision offers",
       {},
       "the sessions offered to you (debriefs after an incident) awaiting your answer",
       {},
       "A debrief is offered within the policy's window after a critical incident you report.\n"
       "Run by a coordinator, lists every open offer of the organisation.",
       true,
       RunSupervisionOffers,
       Backend::kSupervision},
      {"supervision offer accept",
       {"ID"},
       "accept an offered session: it is scheduled",
       {},
       "",
       true,
       RunSupervisionOfferAccept,
       Backend::kSupervision},
      {"supervision offer decline",
       {"ID"},
       "decline an offered session; nothing else changes for you",
       {},
       "Declining is a first-class answer with no penalty.",
       true,
       RunSupervisionOfferDecline,
       Backend::kSupervision},
      {"supervision overdue",
       {},
       "volunteers past the supervision cadence, with days overdue",
       PagingFlags(),
       "Active volunteers whose last attended individual or group supervision is older than the\n"
       "cadence (or who never had one and joined longer ago than it). A supervisor sees their\n"
       "volunteers, a coordinator everyone.",
       true,
       RunSupervisionOverdue,
       Backend::kSupervision},
      {"supervision policy get",
       {},
       "show the organisation's supervision policy",
       {},
       "",
       true,
       RunSupervisionPolicyGet,
       Backend::kSupervision},
      {"supervision policy set",
       {},
       "change the supervision policy (coordinator; only what is given)",
       {{"cadence", FlagKind::kValue, "SPAN", "supervision at least this often, e.g. 30d"},
        {"debrief-window", FlagKind::kValue, "SPAN",
         "offer a debrief within this span of an incident, e.g. 24h"},
        {"debrief-buffer", FlagKind::kValue, "SPAN",
         "time kept free after a debrief, e.g. 30m (0 for none)"},
        {"two-facilitators", FlagKind::kValue, "on|off", "group sessions need two supervisors"}},
       "Only the fields named by the flags change (the request's update_mask lists them).",
       true,
       RunSupervisionPolicySet,
       Backend::kSupervision},
      {"supervision calendar",
       {"[ID]"},
       "print an iCalendar (RFC 5545) feed of someone's sessions (yours when no id)",
       {{"output", FlagKind::kValue, "FILE", "write the feed to FILE instead"}},
       "Import the file into a calendar app, or subscribe to a calendar feed's address\n"
       "(peerwellctl supervision calendar feed create).",
       true,
       RunSupervisionCalendar,
       Backend::kSupervision},
      {"supervision calendar feed create",
       {},
       "a secret address that serves a calendar to calendar apps (yours unless --person)",
       {feed_person,
        {"gateway", FlagKind::kValue, "URL",
         "the gateway, to print the full address (default $PEERWELL_GATEWAY_URL)"}},
       "Calendar apps subscribe to the address without any other credentials, so it is shown\n"
       "only now (the service keeps just a hash of its token); anyone holding it reads the\n"
       "calendar until the feed is revoked. At most 10 feeds per person (one per calendar app,\n"
       "say); revoke those no longer used. Example:\n"
       "  peerwellctl supervision calendar feed create --gateway https://peerwell.example.org",
       true,
       RunSupervisionCalendarFeedCreate,
       Backend::kSupervision},
      {"supervision calendar feed list",
       {},
       "someone's calendar feeds, oldest first (yours unless --person)",
       {feed_person},
       "The addresses are not shown again; revoke a feed and create another to get a new one.",
       true,
       RunSupervisionCalendarFeedList,
       Backend::kSupervision},
      {"supervision calendar feed revoke",
       {"ID"},
       "revoke a calendar feed: its address stops working",
       {},
       "",
       true,
       RunSupervisionCalendarFeedRevoke,
       Backend::kSupervision},
  };
  return commands;
}

}  // namespace peerwell::ctl
