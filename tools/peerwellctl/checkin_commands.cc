// The `checkin ...` commands: a volunteer's check-ins, incidents and support requests, the trends
// a volunteer (or, with consent, their supervisor) reads, and the organisation's settings.

#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "google/protobuf/duration.pb.h"
#include "services/common/proto_time.h"
#include "tools/peerwellctl/checkin_format.h"
#include "tools/peerwellctl/command.h"
#include "tools/peerwellctl/command_support.h"
#include "tools/peerwellctl/format.h"

namespace peerwell::ctl {
namespace {

using Stub = checkin_v1::CheckinService::Stub;

// The trend window when --window is not given: long enough to show a change against the
// 90-day baseline, short enough to read at a glance.
constexpr absl::string_view kDefaultTrendWindow = "90d";

// The enabled instrument `instrument_id`, fetched to ask its items on the terminal.
absl::StatusOr<checkin_v1::Instrument> FetchInstrument(Context& context,
                                                       const std::string& instrument_id) {
  auto listed = context.checkin.Call(&Stub::ListInstruments, checkin_v1::ListInstrumentsRequest(),
                                     context.token);
  if (!listed.ok()) return listed.status();
  std::vector<std::string> ids;
  for (const checkin_v1::Instrument& instrument : listed->instruments()) {
    if (instrument.instrument_id() == instrument_id) return instrument;
    ids.push_back(instrument.instrument_id());
  }
  return UsageError(
      absl::StrCat("instrument '", instrument_id,
                   "' is not enabled for your organisation; enabled: ", absl::StrJoin(ids, ", ")));
}

// Asks each item on the terminal and re-asks until the answer is one of the item's values.
// Prompts go to stderr, so that stdout holds only the result (and --json stays parseable).
absl::StatusOr<std::vector<checkin_v1::Answer>> AskAnswers(
    const checkin_v1::Instrument& instrument) {
  std::cerr << InstrumentIntro(instrument);
  std::vector<checkin_v1::Answer> answers;
  for (int i = 0; i < instrument.items_size(); ++i) {
    const checkin_v1::Item& item = instrument.items(i);
    std::cerr << ItemPrompt(item, i + 1, instrument.items_size());
    std::vector<std::string> values;
    for (const checkin_v1::ResponseOption& option : item.options()) {
      values.push_back(absl::StrCat(option.value()));
    }
    while (true) {
      std::cerr << "your answer" << (item.required() ? "" : " (Enter to skip)") << ": "
                << std::flush;
      std::string line;
      if (!std::getline(std::cin, line)) {
        return UsageError("input ended before every item was answered; nothing was submitted");
      }
      std::string text(absl::StripAsciiWhitespace(line));
      if (text.empty() && !item.required()) break;
      int value = 0;
      bool is_option =
          absl::SimpleAtoi(text, &value) &&
          std::any_of(item.options().begin(), item.options().end(),
                      [value](const checkin_v1::ResponseOption& o) { return o.value() == value; });
      if (is_option) {
        checkin_v1::Answer& answer = answers.emplace_back();
        answer.set_item_id(item.item_id());
        answer.set_value(value);
        break;
      }
      std::cerr << "'" << text << "' is not one of " << absl::StrJoin(values, ", ") << "\n";
    }
  }
  std::cerr << "\n";
  return answers;
}

}  // namespace

absl::Status RunCheckinInstruments(Context& context, const ParsedArgs&) {
  auto response = context.checkin.Call(&Stub::ListInstruments, checkin_v1::ListInstrumentsRequest(),
                                       context.token);
  if (!response.ok()) return response.status();
  return Print(context, *response, InstrumentsText(response->instruments()));
}

absl::Status RunCheckinSubmit(Context& context, const ParsedArgs& args) {
  checkin_v1::SubmitCheckinRequest request;
  request.set_instrument_id(args.positionals()[0]);
  for (const std::string& text : args.GetAll("answer")) {
    auto answer = ParseAnswer("answer", text);
    if (!answer.ok()) return answer.status();
    *request.add_answers() = *answer;
  }
  checkin_v1::CheckinContext& session = *request.mutable_context();
  if (auto hours = args.Get("hours")) {
    auto parsed = ParseNumber("hours", *hours);
    if (!parsed.ok()) return parsed.status();
    session.set_hours(*parsed);
  }
  if (auto sessions = args.Get("sessions")) {
    auto parsed = ParseCount("sessions", *sessions);
    if (!parsed.ok()) return parsed.status();
    session.set_sessions_facilitated(*parsed);
  }
  session.set_session_kind(args.Get("session-kind").value_or(""));
  request.set_note(args.Get("note").value_or(""));
  request.set_request_id(args.Get("request-id").value_or(""));
  if (request.answers().empty()) {
    if (!isatty(STDIN_FILENO)) {
      return UsageError(
          "give the answers with --answer ITEM=VALUE (stdin is not a terminal to ask them on); "
          "'peerwellctl --json checkin instruments' lists the items and their values");
    }
    auto instrument = FetchInstrument(context, request.instrument_id());
    if (!instrument.ok()) return instrument.status();
    auto answers = AskAnswers(*instrument);
    if (!answers.ok()) return answers.status();
    for (checkin_v1::Answer& answer : *answers) *request.add_answers() = std::move(answer);
  }
  auto response = context.checkin.Call(&Stub::SubmitCheckin, request, context.token);
  if (!response.ok()) return response.status();
  const checkin_v1::Checkin& checkin = response->checkin();
  return Print(
      context, *response,
      absl::StrCat("check-in ", checkin.checkin_id(), " recorded: ", checkin.instrument_id(), " v",
                   checkin.instrument_version(), " at ", FormatTimestamp(checkin.submit_time()),
                   "\n", ScoresTable(checkin.scores())));
}

absl::Status RunCheckinIncident(Context& context, const ParsedArgs& args) {
  checkin_v1::ReportCriticalIncidentRequest request;
  auto type = ParseIncidentType("type", *args.Get("type"));
  if (!type.ok()) return type.status();
  request.set_incident_type(*type);
  auto when = ParsePointInTime("when", *args.Get("when"), absl::Now());
  if (!when.ok()) return when.status();
  *request.mutable_occur_time() = TimestampToProto(*when);
  request.set_description(args.Get("description").value_or(""));
  request.set_request_id(args.Get("request-id").value_or(""));
  auto response = context.checkin.Call(&Stub::ReportCriticalIncident, request, context.token);
  if (!response.ok()) return response.status();
  const checkin_v1::Incident& incident = response->incident();
  return Print(context, *response,
               absl::StrCat("incident ", incident.incident_id(), " recorded: ",
                            IncidentTypeWord(incident.incident_type()), ", occurred ",
                            FormatTimestamp(incident.occur_time()), "\n\nsupport available now:\n",
                            SupportResourcesText(response->support_resources())));
}

absl::Status RunCheckinSupport(Context& context, const ParsedArgs& args) {
  checkin_v1::RequestSupportRequest request;
  auto urgency = ParseUrgency("urgency", *args.Get("urgency"));
  if (!urgency.ok()) return urgency.status();
  request.set_urgency(*urgency);
  request.set_note(args.Get("note").value_or(""));
  request.set_request_id(args.Get("request-id").value_or(""));
  auto response = context.checkin.Call(&Stub::RequestSupport, request, context.token);
  if (!response.ok()) return response.status();
  const checkin_v1::SupportRequest& support = response->support_request();
  return Print(context, *response,
               FormatFields({{"support request", support.support_request_id()},
                             {"urgency", UrgencyWord(support.urgency())},
                             {"created", FormatTimestamp(support.create_time())}}));
}

absl::Status RunCheckinList(Context& context, const ParsedArgs& args) {
  checkin_v1::ListCheckinsRequest request;
  if (!args.positionals().empty()) request.set_volunteer_id(args.positionals()[0]);
  request.set_instrument_id(args.Get("instrument").value_or(""));
  if (auto since = args.Get("since")) {
    auto start = ParsePointInTime("since", *since, absl::Now());
    if (!start.ok()) return start.status();
    *request.mutable_start_time() = TimestampToProto(*start);
  }
  if (auto status = ApplyPaging(args, request); !status.ok()) return status;
  auto response =
      FetchPages(context.checkin, context.token, &Stub::ListCheckins, request, args.Has("all"));
  if (!response.ok()) return response.status();
  std::vector<checkin_v1::Checkin> checkins(response->checkins().begin(),
                                            response->checkins().end());
  std::string human = checkins.empty() ? "no check-ins found\n" : CheckinsTable(checkins);
  if (absl::Status printed = Print(context, *response, human); !printed.ok()) return printed;
  if (!context.json) NoteMorePages(response->next_page_token(), "check-ins");
  return absl::OkStatus();
}

absl::Status RunCheckinTrend(Context& context, const ParsedArgs& args) {
  checkin_v1::GetTrendRequest request;
  request.set_scale_id(args.positionals()[0]);
  if (args.positionals().size() > 1) request.set_volunteer_id(args.positionals()[1]);
  auto window = ParseSpan("window", args.Get("window").value_or(std::string(kDefaultTrendWindow)));
  if (!window.ok()) return window.status();
  request.mutable_window()->set_seconds(absl::ToInt64Seconds(*window));
  auto response = context.checkin.Call(&Stub::GetTrend, request, context.token);
  if (!response.ok()) return response.status();
  return Print(context, *response, TrendText(request.scale_id(), *window, *response));
}

absl::Status RunCheckinDue(Context& context, const ParsedArgs&) {
  auto response = context.checkin.Call(&Stub::ListDueCheckins, checkin_v1::ListDueCheckinsRequest(),
                                       context.token);
  if (!response.ok()) return response.status();
  return Print(context, *response, DueTable(response->due()));
}

absl::Status RunCheckinSettingsGet(Context& context, const ParsedArgs&) {
  auto response = context.checkin.Call(&Stub::GetCheckinSettings,
                                       checkin_v1::GetCheckinSettingsRequest(), context.token);
  if (!response.ok()) return response.status();
  return Print(context, *response, SettingsText(response->settings()));
}

absl::Status RunCheckinSettingsSet(Context& context, const ParsedArgs& args) {
  if (!args.Has("cadence") && !args.Has("swemwbs-registration") && !args.Has("resource")) {
    return UsageError(
        "nothing to set: give at least one of --cadence, --swemwbs-registration, --resource");
  }
  // UpdateCheckinSettings replaces everything; read the settings first so that only what the
  // flags name changes. Another coordinator's change in between would be lost, as with any
  // read-modify-write; settings change rarely enough for that to be acceptable here.
  auto current = context.checkin.Call(&Stub::GetCheckinSettings,
                                      checkin_v1::GetCheckinSettingsRequest(), context.token);
  if (!current.ok()) return current.status();
  checkin_v1::UpdateCheckinSettingsRequest request;
  checkin_v1::CheckinSettings& settings = *request.mutable_settings();
  settings = current->settings();
  for (const std::string& text : args.GetAll("cadence")) {
    std::pair<std::string, std::string> parts = absl::StrSplit(text, absl::MaxSplits('=', 1));
    if (parts.first.empty() || parts.second.empty()) {
      return UsageError(absl::StrCat(
          "--cadence: expected INSTRUMENT=DAYS such as who5=14 (or who5=off), got '", text, "'"));
    }
    if (NormalizedWord(parts.second) == "off") {
      settings.mutable_cadence_days()->erase(parts.first);
      continue;
    }
    auto days = ParseCount("cadence", parts.second);
    if (!days.ok()) return days.status();
    (*settings.mutable_cadence_days())[parts.first] = *days;
  }
  if (auto registration = args.Get("swemwbs-registration")) {
    settings.set_swemwbs_registration(NormalizedWord(*registration) == "none" ? "" : *registration);
  }
  // A list has no names to change one entry by, so the resources given replace them all.
  if (args.Has("resource")) settings.clear_support_resources();
  for (const std::string& text : args.GetAll("resource")) {
    std::vector<std::string> parts = absl::StrSplit(text, absl::MaxSplits('|', 2));
    if (parts.size() < 2 || parts[0].empty()) {
      return UsageError(absl::StrCat(
          "--resource: expected \"TITLE|DESCRIPTION|CONTACT\" (CONTACT may be left out), got '",
          text, "'"));
    }
    checkin_v1::SupportResource& resource = *settings.add_support_resources();
    resource.set_title(parts[0]);
    resource.set_description(parts[1]);
    if (parts.size() == 3) resource.set_contact(parts[2]);
  }
  auto response = context.checkin.Call(&Stub::UpdateCheckinSettings, request, context.token);
  if (!response.ok()) return response.status();
  return Print(context, *response, SettingsText(response->settings()));
}

std::vector<Command> CheckinCommands() {
  FlagSpec request_id = {"request-id", FlagKind::kValue, "ID",
                         "retries with the same id return the first one instead of a second"};
  std::vector<FlagSpec> list_flags = {
      {"instrument", FlagKind::kValue, "ID", "only this instrument, e.g. who5"},
      {"since", FlagKind::kValue, "TIME", "only since an RFC 3339 time, or a span ago (-30d)"}};
  for (FlagSpec& flag : PagingFlags()) list_flags.push_back(std::move(flag));
  std::vector<Command> commands = {
      {"checkin instruments",
       {},
       "list the instruments enabled for your organisation",
       {},
       "Shows each instrument's id, version, number of items and title, with its attribution\n"
       "and licence (and how it was adapted, when it was). --json adds the items and options.",
       true,
       RunCheckinInstruments,
       Backend::kCheckin},
      {"checkin submit",
       {"INSTRUMENT"},
       "submit a check-in (volunteers) and see its scores",
       {{"answer", FlagKind::kRepeated, "ITEM=VALUE",
         "an item's answer, e.g. 1=3 (repeatable); without any, asks each item"},
        {"note", FlagKind::kValue, "TEXT", "a private note, only ever shown to you"},
        {"hours", FlagKind::kValue, "H", "hours volunteered in the session, e.g. 2.5"},
        {"session-kind", FlagKind::kValue, "KIND", "e.g. group or one_to_one"},
        {"sessions", FlagKind::kValue, "N", "sessions facilitated"},
        request_id},
       "Without --answer, and with stdin a terminal, each item is asked in turn with its\n"
       "options; type the value of your answer. 'peerwellctl checkin instruments' lists the\n"
       "instruments. Examples:\n"
       "  peerwellctl checkin submit who5\n"
       "  peerwellctl checkin submit pulse --answer energy=4 --answer stayed_with_me=0 \\\n"
       "      --answer want_to_talk=0 --hours 2 --session-kind group",
       true,
       RunCheckinSubmit,
       Backend::kCheckin},
      {"checkin incident",
       {},
       "report a critical incident (volunteers)",
       {{"type", FlagKind::kValue, "TYPE",
         "aggression, suicide-disclosure, suicide-attempt, death-of-supported-person, "
         "safeguarding or other",
         true},
        {"when", FlagKind::kValue, "TIME", "when it happened: RFC 3339, now, or a span ago (-2h)",
         true},
        {"description", FlagKind::kValue, "TEXT", "what happened; private, only shown to you"},
        request_id},
       "The description is encrypted at rest and returned only to you.",
       true,
       RunCheckinIncident,
       Backend::kCheckin},
      {"checkin support",
       {},
       "ask to talk to someone (volunteers)",
       {{"urgency", FlagKind::kValue, "low|high",
         "low: I'd like to talk to someone; high: I'm struggling", true},
        {"note", FlagKind::kValue, "TEXT", "a private note, only shown to you"},
        request_id},
       "",
       true,
       RunCheckinSupport,
       Backend::kCheckin},
      {"checkin list",
       {"[VOLUNTEER_ID]"},
       "list check-ins, newest first (yourself when no id is given)",
       list_flags,
       "A supervisor or coordinator sees a volunteer's check-ins only with their consent to\n"
       "share scores; each such read is audited.",
       true,
       RunCheckinList,
       Backend::kCheckin},
      {"checkin trend",
       {"SCALE", "[VOLUNTEER_ID]"},
       "chart a scale over time, with baseline and change",
       {{"window", FlagKind::kValue, "SPAN", "how far back, e.g. 30d or 26w (default 90d)"}},
       "Without VOLUNTEER_ID, your own trend. SCALE is one of who5, who5_raw, cbi_personal, "
       "cbi_volunteering, cbi_people_supported,\n"
       "proqol_compassion_satisfaction, proqol_burnout, proqol_secondary_traumatic_stress,\n"
       "swemwbs. The baseline is the median of your own values in the 90 days before the latest\n"
       "one; for WHO-5 a change of 10 points is meaningful.",
       true,
       RunCheckinTrend,
       Backend::kCheckin},
      {"checkin due",
       {},
       "the check-ins you are due to complete (volunteers)",
       {},
       "",
       true,
       RunCheckinDue,
       Backend::kCheckin},
      {"checkin settings",
       {},
       "show the organisation's check-in settings",
       {},
       "",
       true,
       RunCheckinSettingsGet,
       Backend::kCheckin},
      {"checkin settings set",
       {},
       "change check-in settings (coordinator; only what is given)",
       {{"cadence", FlagKind::kRepeated, "INSTRUMENT=DAYS",
         "days between check-ins, e.g. who5=14; INSTRUMENT=off stops asking (repeatable)"},
        {"swemwbs-registration", FlagKind::kValue, "REF",
         "the registration with Warwick Medical School that enables swemwbs; none clears it"},
        {"resource", FlagKind::kRepeated, "\"TITLE|DESCRIPTION|CONTACT\"",
         "a support resource shown with every incident (repeatable; replaces the list)"}},
       "Reads the current settings and changes only the instruments named by --cadence, the\n"
       "registration when given, and the whole list of resources when any --resource is given.",
       true,
       RunCheckinSettingsSet,
       Backend::kCheckin},
  };
  return commands;
}

}  // namespace peerwell::ctl
