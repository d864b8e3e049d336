// The `alerts ...` commands: a volunteer's burnout-risk profile, the alerts a supervisor or
// coordinator handles (acknowledge, resolve, silence), the organisation's alert policy, and the
// live stream of alert events.

#include <atomic>
#include <chrono>
#include <csignal>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/duration.pb.h"
#include "services/common/proto_time.h"
#include "tools/peerwellctl/alerts_format.h"
#include "tools/peerwellctl/checkin_format.h"
#include "tools/peerwellctl/command.h"
#include "tools/peerwellctl/command_support.h"
#include "tools/peerwellctl/format.h"

namespace peerwell::ctl {
namespace {

using Stub = alerts_v1::AlertService::Stub;

// How often `alerts watch` looks whether Ctrl-C was pressed; a signal handler may only set a
// flag, so the cancelling happens on a thread of its own.
constexpr auto kInterruptPoll = std::chrono::milliseconds(50);

// Set by the SIGINT handler while `alerts watch` runs.
std::atomic<bool> interrupted{false};

void OnInterrupt(int) { interrupted.store(true); }

// A flag of `alerts policy set` and the AlertPolicy field it sets; the field's type says how
// the value is read (a span, a count, a number or on/off).
struct PolicyFlag {
  absl::string_view flag;
  absl::string_view field;
  absl::string_view value_name;
  absl::string_view help;
};

constexpr PolicyFlag kPolicyFlags[] = {
    {"ack-deadline-critical", "ack_deadline_critical", "SPAN",
     "time to acknowledge a critical alert before it escalates, e.g. 60m"},
    {"ack-deadline-high", "ack_deadline_high", "SPAN", "the same for high, e.g. 24h"},
    {"ack-deadline-medium", "ack_deadline_medium", "SPAN", "the same for medium, e.g. 3d"},
    {"ack-deadline-low", "ack_deadline_low", "SPAN", "the same for low, e.g. 7d"},
    {"max-escalations", "max_escalations", "N", "how many times an alert escalates at most"},
    {"cbi-rise-points", "cbi_rise_points", "X",
     "CBI points above the volunteer's own median that raise cbi_rise"},
    {"cbi-high", "cbi_high_enabled", "on|off", "whether the cbi_high rule runs at all"},
    {"cbi-high-threshold", "cbi_high_threshold", "X", "the CBI score that raises cbi_high"},
    {"who5-drop-points", "who5_drop_points", "X", "WHO-5 points below baseline for who5_drop"},
    {"who5-low-threshold", "who5_low_threshold", "X", "a WHO-5 at or below this is who5_drop"},
    {"proqol-high-threshold", "proqol_high_threshold", "X",
     "ProQOL burnout or secondary traumatic stress that raises proqol_high"},
    {"talk-repeated-count", "talk_repeated_count", "N", "answers that raise talk_repeated..."},
    {"talk-repeated-window", "talk_repeated_window", "SPAN", "...within this span, e.g. 14d"},
    {"hours-over-commitment-ratio", "hours_over_commitment_ratio", "X",
     "hours over commitment that raise hours_over_commitment, e.g. 1.25..."},
    {"hours-window", "hours_window", "SPAN", "...counted over this span, e.g. 28d"},
    {"checkins-missed-after", "checkins_missed_after", "SPAN",
     "no check-in for this long raises checkins_missed, e.g. 21d"},
    {"baseline-window", "baseline_window", "SPAN", "how far back a volunteer's baseline reaches"},
};

// Sets `field` of `policy` from the flag's text, read as the field's type wants.
absl::Status SetPolicyField(const PolicyFlag& flag, const std::string& text,
                            alerts_v1::AlertPolicy& policy) {
  const google::protobuf::FieldDescriptor* field =
      alerts_v1::AlertPolicy::descriptor()->FindFieldByName(std::string(flag.field));
  if (field == nullptr) {
    return absl::InternalError(absl::StrCat("AlertPolicy has no field ", flag.field));
  }
  const google::protobuf::Reflection* reflection = policy.GetReflection();
  switch (field->cpp_type()) {
    case google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE: {
      auto span = ParseSpan(flag.flag, text);
      if (!span.ok()) return span.status();
      google::protobuf::Duration duration;
      duration.set_seconds(absl::ToInt64Seconds(*span));
      duration.set_nanos(static_cast<int32_t>(
          absl::ToInt64Nanoseconds(*span - absl::Seconds(duration.seconds()))));
      reflection->MutableMessage(&policy, field)->CopyFrom(duration);
      return absl::OkStatus();
    }
    case google::protobuf::FieldDescriptor::CPPTYPE_INT32: {
      auto count = ParseCount(flag.flag, text);
      if (!count.ok()) return count.status();
      reflection->SetInt32(&policy, field, *count);
      return absl::OkStatus();
    }
    case google::protobuf::FieldDescriptor::CPPTYPE_DOUBLE: {
      auto number = ParseNumber(flag.flag, text);
      if (!number.ok()) return number.status();
      reflection->SetDouble(&policy, field, *number);
      return absl::OkStatus();
    }
    case google::protobuf::FieldDescriptor::CPPTYPE_BOOL: {
      auto on = ParseOnOff(flag.flag, text);
      if (!on.ok()) return on.status();
      reflection->SetBool(&policy, field, *on);
      return absl::OkStatus();
    }
    default:
      return absl::InternalError(absl::StrCat("AlertPolicy.", flag.field, " has no flag type"));
  }
}

}  // namespace

absl::Status RunAlertsList(Context& context, const ParsedArgs& args) {
  alerts_v1::ListAlertsRequest request;
  request.set_volunteer_id(args.Get("volunteer").value_or(""));
  for (const std::string& text : args.GetAll("state")) {
    auto state = ParseAlertState("state", text);
    if (!state.ok()) return state.status();
    request.add_states(*state);
  }
  if (auto text = args.Get("min-priority")) {
    auto priority = ParsePriority("min-priority", *text);
    if (!priority.ok()) return priority.status();
    request.set_min_priority(*priority);
  }
  if (auto status = ApplyPaging(args, request); !status.ok()) return status;
  auto response =
      FetchPages(context.alerts, context.token, &Stub::ListAlerts, request, args.Has("all"));
  if (!response.ok()) return response.status();
  std::vector<alerts_v1::Alert> alerts(response->alerts().begin(), response->alerts().end());
  std::string human = alerts.empty() ? "no alerts found\n" : AlertsTable(alerts, VisiblePersonNames(context));
  if (absl::Status printed = Print(context, *response, human); !printed.ok()) return printed;
  if (!context.json) NoteMorePages(response->next_page_token(), "alerts");
  return absl::OkStatus();
}

absl::Status RunAlertsGet(Context& context, const ParsedArgs& args) {
  alerts_v1::GetAlertRequest request;
  request.set_alert_id(args.positionals()[0]);
  auto response = context.alerts.Call(&Stub::GetAlert, request, context.token);
  if (!response.ok()) return response.status();
  return Print(context, *response, AlertText(response->alert(), VisiblePersonNames(context)));
}

absl::Status RunAlertsAck(Context& context, const ParsedArgs& args) {
  alerts_v1::AcknowledgeAlertRequest request;
  request.set_alert_id(args.positionals()[0]);
  auto response = context.alerts.Call(&Stub::AcknowledgeAlert, request, context.token);
  if (!response.ok()) return response.status();
  return Print(context, *response,
               absl::StrCat("alert ", response->alert().alert_id(), " acknowledged\n\n",
                            AlertText(response->alert(), VisiblePersonNames(context))));
}

absl::Status RunAlertsResolve(Context& context, const ParsedArgs& args) {
  alerts_v1::ResolveAlertRequest request;
  request.set_alert_id(args.positionals()[0]);
  // Left out, the service decides: operational (low) alerts resolve without one, wellbeing
  // alerts answer INVALID_ARGUMENT naming the outcome.
  if (auto text = args.Get("outcome")) {
    auto outcome = ParseOutcome("outcome", *text);
    if (!outcome.ok()) return outcome.status();
    request.set_outcome(*outcome);
  }
  request.set_note(args.Get("note").value_or(""));
  auto response = context.alerts.Call(&Stub::ResolveAlert, request, context.token);
  if (!response.ok()) return response.status();
  return Print(context, *response,
               absl::StrCat("alert ", response->alert().alert_id(), " resolved\n\n",
                            AlertText(response->alert(), VisiblePersonNames(context))));
}

absl::Status RunAlertsProfile(Context& context, const ParsedArgs& args) {
  alerts_v1::GetRiskProfileRequest request;
  if (!args.positionals().empty()) request.set_volunteer_id(args.positionals()[0]);
  auto response = context.alerts.Call(&Stub::GetRiskProfile, request, context.token);
  if (!response.ok()) return response.status();
  return Print(context, *response, RiskProfileText(response->profile()));
}

absl::Status RunAlertsSilence(Context& context, const ParsedArgs& args) {
  alerts_v1::CreateSilenceRequest request;
  request.set_volunteer_id(args.positionals()[0]);
  auto until = ParseUntil("until", *args.Get("until"), absl::Now());
  if (!until.ok()) return until.status();
  *request.mutable_end_time() = TimestampToProto(*until);
  request.set_reason(*args.Get("reason"));
  auto response = context.alerts.Call(&Stub::CreateSilence, request, context.token);
  if (!response.ok()) return response.status();
  return Print(context, *response, SilenceText(response->silence()));
}

absl::Status RunAlertsSilences(Context& context, const ParsedArgs& args) {
  alerts_v1::ListSilencesRequest request;
  if (auto status = ApplyPaging(args, request); !status.ok()) return status;
  auto response =
      FetchPages(context.alerts, context.token, &Stub::ListSilences, request, args.Has("all"));
  if (!response.ok()) return response.status();
  std::vector<alerts_v1::Silence> silences(response->silences().begin(),
                                           response->silences().end());
  std::string human = silences.empty() ? "no silences\n" : SilencesTable(silences);
  if (absl::Status printed = Print(context, *response, human); !printed.ok()) return printed;
  if (!context.json) NoteMorePages(response->next_page_token(), "silences");
  return absl::OkStatus();
}

absl::Status RunAlertsUnsilence(Context& context, const ParsedArgs& args) {
  alerts_v1::DeleteSilenceRequest request;
  request.set_silence_id(args.positionals()[0]);
  auto response = context.alerts.Call(&Stub::DeleteSilence, request, context.token);
  if (!response.ok()) return response.status();
  return Print(context, *response, absl::StrCat("silence ", request.silence_id(), " deleted\n"));
}

absl::Status RunAlertsPolicyGet(Context& context, const ParsedArgs&) {
  auto response =
      context.alerts.Call(&Stub::GetAlertPolicy, alerts_v1::GetAlertPolicyRequest(), context.token);
  if (!response.ok()) return response.status();
  return Print(context, *response, PolicyText(response->policy()));
}

absl::Status RunAlertsPolicySet(Context& context, const ParsedArgs& args) {
  // UpdateAlertPolicy takes a field mask, so only what the flags name changes and there is no
  // need to read the policy first.
  alerts_v1::UpdateAlertPolicyRequest request;
  std::vector<std::string> names;
  for (const PolicyFlag& flag : kPolicyFlags) {
    names.push_back(absl::StrCat("--", flag.flag));
    auto text = args.Get(flag.flag);
    if (!text.has_value()) continue;
    if (absl::Status status = SetPolicyField(flag, *text, *request.mutable_policy());
        !status.ok()) {
      return status;
    }
    request.mutable_update_mask()->add_paths(std::string(flag.field));
  }
  if (request.update_mask().paths().empty()) {
    return UsageError(
        absl::StrCat("nothing to set: give at least one of ", absl::StrJoin(names, ", ")));
  }
  auto response = context.alerts.Call(&Stub::UpdateAlertPolicy, request, context.token);
  if (!response.ok()) return response.status();
  return Print(context, *response, PolicyText(response->policy()));
}

absl::Status RunAlertsWatch(Context& context, const ParsedArgs& args) {
  alerts_v1::WatchAlertsRequest request;
  request.set_resume_token(args.Get("resume").value_or(""));
  int count = 0;  // 0: no limit
  if (auto text = args.Get("count")) {
    auto parsed = ParseCount("count", *text);
    if (!parsed.ok()) return parsed.status();
    if (*parsed == 0) return UsageError("--count: expected at least 1 event");
    count = *parsed;
  }
  std::optional<absl::Duration> limit;
  if (auto text = args.Get("for")) {
    auto parsed = ParseSpan("for", *text);
    if (!parsed.ok()) return parsed.status();
    limit = *parsed;
  }

  // A stream runs as long as the user wants: no --timeout, only --for bounds it.
  grpc::ClientContext call;
  if (limit.has_value()) {
    call.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(*limit));
  }
  if (!context.token.empty())
    call.AddMetadata("authorization", absl::StrCat("Bearer ", context.token));

  interrupted.store(false);
  auto previous_handler = std::signal(SIGINT, OnInterrupt);
  std::atomic<bool> finished{false};
  std::thread canceller([&call, &finished] {
    while (!finished.load()) {
      if (interrupted.load()) {
        call.TryCancel();
        return;
      }
      std::this_thread::sleep_for(kInterruptPoll);
    }
  });

  auto reader = context.alerts.stub().WatchAlerts(&call, request);
  // The server answers with its initial metadata once the stream is live (or ends it at once).
  reader->WaitForInitialMetadata();
  std::cerr << "watching alerts at " << context.alerts.address() << "; Ctrl-C to stop\n";
  const PersonNames names = VisiblePersonNames(context);
  std::string last_token = request.resume_token();
  int seen = 0;
  absl::Status printed = absl::OkStatus();
  alerts_v1::AlertEvent event;
  while (reader->Read(&event)) {
    last_token = event.resume_token();
    if (context.json) {
      auto json = MessageToJson(event);
      if (!json.ok()) {
        printed = json.status();
        call.TryCancel();
        break;
      }
      std::cout << *json << std::endl;
    } else {
      std::cout << AlertEventLine(event, names) << std::endl;
    }
    if (count > 0 && ++seen >= count) {
      call.TryCancel();
      break;
    }
  }
  while (reader->Read(&event)) {
  }  // after a cancel, whatever was already on its way
  grpc::Status status = reader->Finish();
  finished.store(true);
  canceller.join();
  std::signal(SIGINT, previous_handler);

  if (!last_token.empty()) {
    std::cerr << "to continue from here: peerwellctl alerts watch --resume " << last_token << "\n";
  }
  if (!printed.ok()) return printed;
  bool stopped_here = interrupted.load() || (count > 0 && seen >= count) ||
                      (limit.has_value() && status.error_code() == grpc::DEADLINE_EXCEEDED);
  if (status.ok() || stopped_here) return absl::OkStatus();
  return StatusFromGrpc(status);
}

std::vector<Command> AlertsCommands() {
  std::vector<FlagSpec> list_flags = {
      {"volunteer", FlagKind::kValue, "ID", "only this volunteer's alerts"},
      {"state", FlagKind::kRepeated, "STATE",
       "triggered, acknowledged or resolved (repeatable; default all)"},
      {"min-priority", FlagKind::kValue, "PRIORITY", "low, medium, high or critical"}};
  for (FlagSpec& flag : PagingFlags()) list_flags.push_back(std::move(flag));
  std::vector<FlagSpec> policy_flags;
  for (const PolicyFlag& flag : kPolicyFlags) {
    policy_flags.push_back({std::string(flag.flag), FlagKind::kValue, std::string(flag.value_name),
                            std::string(flag.help)});
  }
  std::vector<Command> commands = {
      {"alerts list",
       {},
       "list the alerts you may see (for coordinators, a page's escalated ones first)",
       list_flags,
       "A volunteer sees their own alerts, a supervisor those of the volunteers assigned to them,\n"
       "a coordinator every alert of the organisation. A state marked (silenced) or (inhibited)\n"
       "was recorded without notifying anyone.",
       true,
       RunAlertsList,
       Backend::kAlerts},
      {"alerts get",
       {"ID"},
       "show an alert with the factors behind it",
       {},
       "",
       true,
       RunAlertsGet,
       Backend::kAlerts},
      {"alerts ack",
       {"ID"},
       "acknowledge an alert, which stops its escalation",
       {},
       "",
       true,
       RunAlertsAck,
       Backend::kAlerts},
      {"alerts resolve",
       {"ID"},
       "resolve an alert with what came of it",
       {{"outcome", FlagKind::kValue, "OUTCOME",
         "talked, referred, rota-changed, volunteer-declined or no-action-needed"},
        {"note", FlagKind::kValue, "TEXT", "private to the people who handle the alert"}},
       "Wellbeing alerts (medium and above) need --outcome; the service refuses them without.",
       true,
       RunAlertsResolve,
       Backend::kAlerts},
      {"alerts profile",
       {"[VOLUNTEER_ID]"},
       "a volunteer's burnout-risk score and the factors behind it (yourself when no id)",
       {},
       "The score runs from 0 to 100; each factor says how many points it adds.",
       true,
       RunAlertsProfile,
       Backend::kAlerts},
      {"alerts silence",
       {"VOLUNTEER_ID"},
       "record a volunteer's alerts without notifying, until a time",
       {{"until", FlagKind::kValue, "TIME", "an RFC 3339 time, or a span from now such as +3d",
         true},
        {"reason", FlagKind::kValue, "TEXT", "why, e.g. on leave", true}},
       "A critical incident is never silenced.",
       true,
       RunAlertsSilence,
       Backend::kAlerts},
      {"alerts silences",
       {},
       "list the silences",
       PagingFlags(),
       "",
       true,
       RunAlertsSilences,
       Backend::kAlerts},
      {"alerts unsilence",
       {"SILENCE_ID"},
       "delete a silence",
       {},
       "",
       true,
       RunAlertsUnsilence,
       Backend::kAlerts},
      {"alerts policy",
       {},
       "show the organisation's alert policy",
       {},
       "",
       true,
       RunAlertsPolicyGet,
       Backend::kAlerts},
      {"alerts policy set",
       {},
       "change the alert policy (coordinator; only what is given)",
       policy_flags,
       "Only the fields named by the flags change (the request's update_mask lists them).\n"
       "Spans are written like 60m, 24h, 3d or 2w. Example:\n"
       "  peerwellctl alerts policy set --ack-deadline-high 12h --cbi-high on",
       true,
       RunAlertsPolicySet,
       Backend::kAlerts},
      {"alerts watch",
       {},
       "print alert events as they happen, one line each, until Ctrl-C",
       {{"resume", FlagKind::kValue, "TOKEN", "continue after the event this token came with"},
        {"count", FlagKind::kValue, "N", "stop after N events"},
        {"for", FlagKind::kValue, "SPAN", "stop after this long, e.g. 30m"}},
       "Each line shows the time, event, priority, rule, volunteer and alert id; with --json,\n"
       "each event is one line of JSON. --timeout does not apply. When it stops, the last resume\n"
       "token goes to stderr: pass it to --resume to miss nothing in between.",
       true,
       RunAlertsWatch,
       Backend::kAlerts},
  };
  return commands;
}

}  // namespace peerwell::ctl
