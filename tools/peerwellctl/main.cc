// peerwellctl: the command-line client of the PeerWell directory, check-in, alerts, supervision
// and peer-network services, for coordinators, supervisors, operators, volunteers and local runs.
// main.cc reads the global flags, picks the command, prints help and turns the outcome into an
// exit code; the commands themselves live in commands.cc, checkin_commands.cc,
// alerts_commands.cc, supervision_commands.cc, network_commands.cc and demo_seed.cc.

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "services/common/api_key_secret.h"
#include "tools/peerwellctl/args.h"
#include "tools/peerwellctl/command.h"
#include "tools/peerwellctl/format.h"
#include "tools/peerwellctl/identity.h"
#include "tools/peerwellctl/service_client.h"

namespace peerwell::ctl {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitServiceError = 1;  // a service answered with an error
constexpr int kExitUsage = 2;         // the command line (or the local setup) is wrong

constexpr absl::string_view kDefaultDirectoryAddress = "127.0.0.1:50051";
constexpr absl::string_view kDefaultCheckinAddress = "127.0.0.1:50052";
constexpr absl::string_view kDefaultAlertsAddress = "127.0.0.1:50053";
constexpr absl::string_view kDefaultSupervisionAddress = "127.0.0.1:50054";
constexpr absl::string_view kDefaultNetworkAddress = "127.0.0.1:50055";
constexpr absl::string_view kDefaultWebhooksAddress = "127.0.0.1:50056";
constexpr absl::string_view kDefaultTimeout = "5s";

std::vector<FlagSpec> GlobalFlags() {
  return {
      {"addr", FlagKind::kValue, "HOST:PORT",
       "the directory (default $PEERWELL_DIRECTORY_ADDR, else 127.0.0.1:50051)"},
      {"checkin-addr", FlagKind::kValue, "HOST:PORT",
       "the check-in service (default $PEERWELL_CHECKIN_ADDR, else 127.0.0.1:50052)"},
      {"alerts-addr", FlagKind::kValue, "HOST:PORT",
       "the alerts service (default $PEERWELL_ALERTS_ADDR, else 127.0.0.1:50053)"},
      {"supervision-addr", FlagKind::kValue, "HOST:PORT",
       "the supervision service (default $PEERWELL_SUPERVISION_ADDR, else 127.0.0.1:50054)"},
      {"network-addr", FlagKind::kValue, "HOST:PORT",
       "the peer network (default $PEERWELL_NETWORK_ADDR, else 127.0.0.1:50055)"},
      {"webhooks-addr", FlagKind::kValue, "HOST:PORT",
       "partners' webhooks (default $PEERWELL_WEBHOOKS_ADDR, else 127.0.0.1:50056)"},
      {"token", FlagKind::kValue, "TOKEN", "bearer token (default $PEERWELL_TOKEN)"},
      {"api-key", FlagKind::kValue, "KEY",
       "a partner's API key instead of a token (default $PEERWELL_API_KEY)"},
      {"as", FlagKind::kValue, "ROLE:SUBJECT:ORG",
       "act as this identity (a 15-minute token minted here; admin may omit :ORG)"},
      {"json", FlagKind::kSwitch, "", "print protobuf's JSON mapping of the response"},
      {"timeout", FlagKind::kValue, "DURATION", "deadline of every call (default 5s)"},
      {"help", FlagKind::kSwitch, "", "show help (also -h)"},
  };
}

std::string EnvOr(const char* name, absl::string_view fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : std::string(fallback);
}

// --- Help -------------------------------------------------------------------------------------

std::string FlagUsage(const FlagSpec& flag) {
  std::string text = absl::StrCat("--", flag.name);
  if (flag.kind != FlagKind::kSwitch) absl::StrAppend(&text, " ", flag.value_name);
  if (flag.kind == FlagKind::kRepeated) absl::StrAppend(&text, " ...");
  return flag.required ? text : absl::StrCat("[", text, "]");
}

std::string UsageLine(const Command& command) {
  std::vector<std::string> parts = {"peerwellctl", command.name};
  for (const std::string& argument : command.arguments) parts.push_back(argument);
  for (const FlagSpec& flag : command.flags) parts.push_back(FlagUsage(flag));
  // Wrapped to fit a terminal, continuation lines indented under the command.
  constexpr size_t kWidth = 96;
  std::string out;
  size_t line_length = 0;
  for (const std::string& part : parts) {
    if (line_length > 0 && line_length + 1 + part.size() > kWidth) {
      absl::StrAppend(&out, "\n       ");
      line_length = 7;
    } else if (line_length > 0) {
      absl::StrAppend(&out, " ");
      ++line_length;
    }
    absl::StrAppend(&out, part);
    line_length += part.size();
  }
  return out;
}

std::string FlagList(const std::vector<FlagSpec>& flags) {
  std::vector<std::vector<std::string>> rows;
  for (const FlagSpec& flag : flags) {
    std::string name = absl::StrCat("  --", flag.name);
    if (flag.kind != FlagKind::kSwitch) absl::StrAppend(&name, " ", flag.value_name);
    rows.push_back({name, absl::StrCat(flag.help, flag.required ? " (required)" : "")});
  }
  std::string table = FormatTable({"", ""}, rows);
  return table.substr(table.find('\n') + 1);  // drop the empty header line
}

// The commands of `group` (every command when empty) with their summaries, as an indented
// table; `extra` rows go at the end.
std::string CommandList(absl::string_view group, std::vector<std::vector<std::string>> extra = {}) {
  std::vector<std::vector<std::string>> rows;
  for (const Command& command : AllCommands()) {
    if (!group.empty() && !absl::StartsWith(command.name, absl::StrCat(group, " "))) continue;
    std::vector<std::string> words = {command.name};
    for (const std::string& argument : command.arguments) words.push_back(argument);
    rows.push_back({absl::StrCat("  ", absl::StrJoin(words, " ")), command.summary});
  }
  for (auto& row : extra) rows.push_back(std::move(row));
  std::string table = FormatTable({"", ""}, rows);
  return table.substr(table.find('\n') + 1);
}

std::string GeneralHelp() {
  return absl::StrCat(
      "peerwellctl: the command-line client of the PeerWell directory (organisations, people,\n"
      "supervisor assignments, consent, partner API keys), check-ins (wellbeing instruments,\n"
      "critical incidents, support requests, trends), alerts (burnout risk, acknowledge and\n"
      "resolve, silences, the live stream), supervision (availability, sessions and series,\n"
      "proposed slots, debrief offers, the cadence policy and who is overdue, calendars) and the\n"
      "peer network (channels, direct and buddy conversations, threads, the live stream, read\n"
      "markers, moderation), and what partners reach with an API key (aggregates, the FHIR\n"
      "export, webhooks).\n\n"
      "usage: peerwellctl [GLOBAL FLAGS] COMMAND [ARGUMENTS] [FLAGS]\n\n"
      "commands:\n",
      CommandList("", {{"  help [COMMAND]", "this help, or a command's flags"}}),
      "\n"
      "global flags (before or after the command):\n",
      FlagList(GlobalFlags()),
      "\nenvironment:\n"
      "  PEERWELL_DIRECTORY_ADDR    default for --addr\n"
      "  PEERWELL_CHECKIN_ADDR      default for --checkin-addr\n"
      "  PEERWELL_ALERTS_ADDR       default for --alerts-addr\n"
      "  PEERWELL_SUPERVISION_ADDR  default for --supervision-addr\n"
      "  PEERWELL_NETWORK_ADDR      default for --network-addr\n"
      "  PEERWELL_WEBHOOKS_ADDR     default for --webhooks-addr\n"
      "  PEERWELL_TOKEN             default for --token\n"
      "  PEERWELL_API_KEY           default for --api-key (when PEERWELL_TOKEN is not set)\n"
      "  PEERWELL_JWT_SECRET        the services' signing secret, for token, --as and demo seed\n"
      "  PEERWELL_JWT_SECRET_FILE   a file holding it instead\n\n"
      "exit codes: 0 success; 1 a service answered with an error (printed as\n"
      "'error: CODE: message'); 2 wrong usage or missing local setup.\n\n"
      "examples:\n"
      "  export PEERWELL_JWT_SECRET=...          # the secret the services run with \n"
      "  peerwellctl demo seed                   # a demo organisation, with tokens to copy\n"
      "  peerwellctl --as admin:ops org create \"Harbour Peer Support\"\n"
      "  peerwellctl --as admin:ops:ORG_ID person create --role coordinator --name \"Grace O\"\n"
      "  export PEERWELL_TOKEN=$(peerwellctl token --role coordinator --subject P_ID --org ORG)\n"
      "  peerwellctl person list --role volunteer --all\n"
      "  peerwellctl --json person get P_ID | jq .person.status\n"
      "  peerwellctl checkin submit who5                # as a volunteer; asks each item\n"
      "  peerwellctl checkin trend who5\n"
      "  peerwellctl alerts list --state triggered      # as a supervisor\n"
      "  peerwellctl alerts watch\n"
      "  peerwellctl supervision propose --duration 1h   # as a volunteer: free slots, best first\n"
      "  peerwellctl supervision calendar --output me.ics\n"
      "  peerwellctl network channels                  # your channels, with unread counts\n"
      "  peerwellctl network post CHANNEL \"See you Thursday!\"\n"
      "  peerwellctl network tail                      # every channel of yours, live\n\n"
      "run 'peerwellctl COMMAND --help' for a command's flags.\n");
}

std::string CommandHelp(const Command& command) {
  std::string out = absl::StrCat("usage: ", UsageLine(command), "\n\n", command.summary, "\n");
  if (!command.flags.empty()) absl::StrAppend(&out, "\nflags:\n", FlagList(command.flags));
  if (!command.details.empty()) absl::StrAppend(&out, "\n", command.details, "\n");
  absl::StrAppend(&out,
                  "\nglobal flags: --addr, --checkin-addr, --alerts-addr, --supervision-addr, "
                  "--network-addr, --webhooks-addr, --token, --as, --api-key, --json, --timeout (see "
                  "'peerwellctl help')\n");
  return out;
}

std::string GroupHelp(absl::string_view group) {
  return absl::StrCat("usage: peerwellctl ", group, " SUBCOMMAND ...\n\nsubcommands:\n",
                      CommandList(group), "\nrun 'peerwellctl ", group,
                      " SUBCOMMAND --help' for its flags.\n");
}

// --- Choosing the command -----------------------------------------------------------------------

// The command whose words start `words`, preferring the longest name; nullptr when none does.
const Command* FindCommand(const std::vector<std::string>& words) {
  const Command* best = nullptr;
  size_t best_length = 0;
  for (const Command& command : AllCommands()) {
    std::vector<std::string> name = absl::StrSplit(command.name, ' ');
    if (name.size() > words.size() || name.size() <= best_length) continue;
    if (std::equal(name.begin(), name.end(), words.begin())) {
      best = &command;
      best_length = name.size();
    }
  }
  return best;
}

bool IsGroup(absl::string_view word) {
  for (const Command& command : AllCommands()) {
    if (absl::StartsWith(command.name, absl::StrCat(word, " "))) return true;
  }
  return false;
}

// The words that may follow `group`, in help order: "create, list or revoke".
std::string SubcommandWords(absl::string_view group) {
  std::vector<std::string> words;
  for (const Command& command : AllCommands()) {
    absl::string_view rest = command.name;
    if (!absl::ConsumePrefix(&rest, absl::StrCat(group, " "))) continue;
    std::string word(rest.substr(0, rest.find(' ')));
    if (std::find(words.begin(), words.end(), word) == words.end()) words.push_back(word);
  }
  if (words.size() < 2) return absl::StrJoin(words, "");
  std::string last = words.back();
  words.pop_back();
  return absl::StrCat(absl::StrJoin(words, ", "), " or ", last);
}

size_t WordCount(const Command& command) {
  return std::vector<std::string>(absl::StrSplit(command.name, ' ')).size();
}

absl::Status CheckArguments(const Command& command, const ParsedArgs& args) {
  size_t required = 0;
  for (const std::string& argument : command.arguments) {
    if (!absl::StartsWith(argument, "[")) ++required;
  }
  size_t given = args.positionals().size();
  if (given < required) {
    return UsageError(
        absl::StrCat("'", command.name, "' needs ", absl::StrJoin(command.arguments, " ")));
  }
  if (given > command.arguments.size()) {
    bool takes_name = std::find(command.arguments.begin(), command.arguments.end(), "NAME") !=
                      command.arguments.end();
    return UsageError(absl::StrCat(
        "unexpected argument '", args.positionals()[command.arguments.size()], "' for '",
        command.name, "'", takes_name ? " (quote a name with spaces)" : ""));
  }
  return absl::OkStatus();
}

// --- Outcome -------------------------------------------------------------------------------------

int ReportUsageError(absl::string_view message, absl::string_view help_topic) {
  std::cerr << "error: " << message << "\n"
            << "run 'peerwellctl " << (help_topic.empty() ? "help" : help_topic)
            << (help_topic.empty() ? "" : " --help") << "' for usage\n";
  return kExitUsage;
}

// Where the service a command calls is, and how to point the CLI elsewhere, for the hints.
struct BackendAddress {
  absl::string_view service;
  std::string address;
  absl::string_view flags;
};

int ReportServiceError(const absl::Status& status, const BackendAddress& backend) {
  std::cerr << "error: " << absl::StatusCodeToString(status.code()) << ": " << status.message()
            << "\n";
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
      std::cerr << "hint: the " << backend.service << " is not reachable at " << backend.address
                << " (or cannot reach its Redis or the services it needs); check " << backend.flags
                << "\n";
      break;
    case absl::StatusCode::kDeadlineExceeded:
      std::cerr << "hint: the " << backend.service << " at " << backend.address
                << " did not answer in time; raise --timeout or check the service\n";
      break;
    case absl::StatusCode::kUnauthenticated:
      std::cerr << "hint: pass --token, set PEERWELL_TOKEN, or use --as ROLE:SUBJECT:ORG with "
                   "PEERWELL_JWT_SECRET set (partners: --api-key or PEERWELL_API_KEY)\n";
      break;
    default:
      break;
  }
  return kExitServiceError;
}

// The bearer token for a command that acts as the caller: --as mints one, else --token, else
// $PEERWELL_TOKEN; none at all lets the service answer UNAUTHENTICATED with its own reason.
absl::StatusOr<std::string> ResolveToken(const ParsedArgs& global, absl::Duration as_lifetime) {
  int given = global.Has("as") + global.Has("token") + global.Has("api-key");
  if (given > 1) return UsageError("give one of --token, --as and --api-key");
  if (auto key = global.Get("api-key")) {
    if (!ParseSecret(kApiKeySecret, *key).has_value()) {
      return UsageError("--api-key: not an API key (they look like pwk_<org>_<id>_<secret>)");
    }
    return *key;
  }
  if (auto as = global.Get("as")) {
    auto claims = ParseAs(*as, as_lifetime);
    if (!claims.ok()) return claims.status();
    return MintFromEnvironment(*claims);
  }
  if (auto token = global.Get("token")) return *token;
  return EnvOr("PEERWELL_TOKEN", EnvOr("PEERWELL_API_KEY", ""));
}

// `peerwellctl help [TOPIC...]`: everything, one command, or a group's subcommands.
int ShowHelp(const std::vector<std::string>& topic) {
  if (topic.empty()) {
    std::cout << GeneralHelp();
    return kExitOk;
  }
  if (const Command* command = FindCommand(topic);
      command != nullptr && WordCount(*command) == topic.size()) {
    std::cout << CommandHelp(*command);
    return kExitOk;
  }
  if (topic.size() == 1 && IsGroup(topic.front())) {
    std::cout << GroupHelp(topic.front());
    return kExitOk;
  }
  return ReportUsageError(absl::StrCat("no help for '", absl::StrJoin(topic, " "), "'"), "");
}

int Run(const std::vector<std::string>& argv) {
  std::vector<std::string> rest;
  auto global = ParseFlags(argv, GlobalFlags(), &rest);
  if (!global.ok()) return ReportUsageError(global.status().message(), "");
  bool help = global->Has("help");

  if (!rest.empty() && rest.front() == "--") rest.erase(rest.begin());
  if (rest.empty()) {
    if (help) {
      std::cout << GeneralHelp();
      return kExitOk;
    }
    std::cerr << GeneralHelp();
    return kExitUsage;
  }
  if (rest.front() == "help") return ShowHelp({rest.begin() + 1, rest.end()});

  // `group` named by rest's first `words` words: its help, or what is missing after it.
  auto group_usage = [&](const std::string& group, size_t words) {
    if (help) {
      std::cout << GroupHelp(group);
      return kExitOk;
    }
    std::string problem = rest.size() > words
                              ? absl::StrCat("unknown ", group, " subcommand '", rest[words], "'")
                              : absl::StrCat("'", group, "' needs a subcommand: ",
                                             SubcommandWords(group));
    return ReportUsageError(problem, group);
  };
  const Command* command = FindCommand(rest);
  if (command == nullptr) {
    const std::string& word = rest.front();
    if (IsGroup(word)) return group_usage(word, 1);
    return ReportUsageError(absl::StrCat("unknown command '", word, "'"), "");
  }
  // A command whose name also begins a group ("supervision calendar" and "supervision calendar
  // feed ..."): a next word that continues to the group names the group, not an argument.
  if (size_t words = WordCount(*command); rest.size() > words) {
    std::string group = absl::StrCat(command->name, " ", rest[words]);
    if (IsGroup(group)) return group_usage(group, words + 1);
  }
  if (help) {
    std::cout << CommandHelp(*command);
    return kExitOk;
  }

  std::vector<std::string> command_args(rest.begin() + WordCount(*command), rest.end());
  auto args = ParseFlags(command_args, command->flags);
  if (args.ok()) {
    if (absl::Status status = CheckArguments(*command, *args); !status.ok()) args = status;
  }
  if (!args.ok()) return ReportUsageError(args.status().message(), command->name);

  auto timeout = ParsePositiveDuration(
      "timeout", global->Get("timeout").value_or(std::string(kDefaultTimeout)));
  if (!timeout.ok()) return ReportUsageError(timeout.status().message(), "");
  DirectoryClient directory(
      global->Get("addr").value_or(EnvOr("PEERWELL_DIRECTORY_ADDR", kDefaultDirectoryAddress)),
      *timeout);
  CheckinClient checkin(
      global->Get("checkin-addr").value_or(EnvOr("PEERWELL_CHECKIN_ADDR", kDefaultCheckinAddress)),
      *timeout);
  AlertsClient alerts(
      global->Get("alerts-addr").value_or(EnvOr("PEERWELL_ALERTS_ADDR", kDefaultAlertsAddress)),
      *timeout);
  SupervisionClient supervision(
      global->Get("supervision-addr")
          .value_or(EnvOr("PEERWELL_SUPERVISION_ADDR", kDefaultSupervisionAddress)),
      *timeout);
  NetworkClient network(
      global->Get("network-addr").value_or(EnvOr("PEERWELL_NETWORK_ADDR", kDefaultNetworkAddress)),
      *timeout);
  WebhooksClient webhooks(
      global->Get("webhooks-addr")
          .value_or(EnvOr("PEERWELL_WEBHOOKS_ADDR", kDefaultWebhooksAddress)),
      *timeout);
  Context context{directory, checkin, alerts,           supervision,
                  network,   webhooks, "", global->Has("json")};
  if (command->uses_identity) {
    auto token = ResolveToken(*global, command->as_token_lifetime);
    if (!token.ok()) return ReportUsageError(token.status().message(), "");
    context.token = *token;
  }

  absl::Status status = command->run(context, *args);
  if (status.ok()) return kExitOk;
  if (IsUsageError(status)) return ReportUsageError(status.message(), command->name);
  // A command that calls several services (demo seed) marks which one failed.
  switch (StatusBackend(status).value_or(command->backend)) {
    case Backend::kCheckin:
      return ReportServiceError(status, {"check-in service", checkin.address(),
                                         "--checkin-addr or PEERWELL_CHECKIN_ADDR"});
    case Backend::kAlerts:
      return ReportServiceError(
          status, {"alerts service", alerts.address(), "--alerts-addr or PEERWELL_ALERTS_ADDR"});
    case Backend::kSupervision:
      return ReportServiceError(status, {"supervision service", supervision.address(),
                                         "--supervision-addr or PEERWELL_SUPERVISION_ADDR"});
    case Backend::kNetwork:
      return ReportServiceError(
          status, {"peer network", network.address(), "--network-addr or PEERWELL_NETWORK_ADDR"});
    case Backend::kWebhooks:
      return ReportServiceError(status, {"webhook service", webhooks.address(),
                                         "--webhooks-addr or PEERWELL_WEBHOOKS_ADDR"});
    case Backend::kRedis:
      return ReportServiceError(
          status, {"Redis",
                   args->Get("redis-addr").value_or(EnvOr("PEERWELL_REDIS_ADDR", "127.0.0.1:6379")),
                   "--redis-addr or PEERWELL_REDIS_ADDR, and the user's password"});
    case Backend::kDirectory:
      break;
  }
  return ReportServiceError(
      status, {"directory", directory.address(), "--addr or PEERWELL_DIRECTORY_ADDR"});
}

}  // namespace
}  // namespace peerwell::ctl

int main(int argc, char** argv) {
  return peerwell::ctl::Run(std::vector<std::string>(argv + 1, argv + argc));
}
