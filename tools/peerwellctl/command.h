#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "absl/strings/string_view.h"
#include "tools/peerwellctl/args.h"
#include "tools/peerwellctl/service_client.h"

namespace peerwell::ctl {

// What every command runs with, settled from the global flags before it starts.
struct Context {
  DirectoryClient& directory;
  CheckinClient& checkin;
  AlertsClient& alerts;
  SupervisionClient& supervision;
  NetworkClient& network;
  WebhooksClient& webhooks;
  std::string token;  // bearer token for the call; empty sends no credentials
  bool json = false;  // print protobuf's JSON mapping instead of text
};

// Runs one command. A service's refusal comes back as its status (exit 1); a bad command line
// as a UsageError (exit 2).
using CommandFunction = absl::Status (*)(Context& context, const ParsedArgs& args);

// The service a command calls, so that a connection error names the right address and flag.
enum class Backend { kDirectory, kCheckin, kAlerts, kSupervision, kNetwork, kWebhooks, kRedis };

// `status` marked as coming from `backend`, for a command that calls more than one service
// (`demo seed`): main names that service in its hint instead of the command's own backend.
absl::Status FromBackend(Backend backend, absl::Status status);
// The backend a status was marked with by FromBackend, if any.
std::optional<Backend> StatusBackend(const absl::Status& status);

struct Command {
  std::string name;                    // the words that select it: "person create"
  std::vector<std::string> arguments;  // positionals for help; "[ID]" is optional
  std::string summary;                 // one line for `peerwellctl help`
  std::vector<FlagSpec> flags;
  std::string details;  // more help for `<command> --help`; may be empty
  // Whether the command calls its service with the caller's identity (--token / --as).
  // `token` and `demo seed` mint their own.
  bool uses_identity = true;
  CommandFunction run = nullptr;
  Backend backend = Backend::kDirectory;
  // How long a token minted for --as lives: one invocation's worth, unless the command hands the
  // token on (a dashboard sign-in link lasts a working day).
  absl::Duration as_token_lifetime = absl::Minutes(15);
};

// Every command, in the order `peerwellctl help` lists them.
const std::vector<Command>& AllCommands();

// The `checkin ...` commands, in help order (checkin_commands.cc); AllCommands lists them too.
std::vector<Command> CheckinCommands();
// The `alerts ...` commands, in help order (alerts_commands.cc); AllCommands lists them too.
std::vector<Command> AlertsCommands();
// The `supervision ...` commands, in help order (supervision_commands.cc); AllCommands lists
// them too.
std::vector<Command> SupervisionCommands();
// The `network ...` commands, in help order (network_commands.cc); AllCommands lists them too.
std::vector<Command> NetworkCommands();
// The `partner ...` commands, in help order (partner_commands.cc); AllCommands lists them too.
std::vector<Command> PartnerCommands();

// The commands, one function each (commands.cc, checkin_commands.cc, alerts_commands.cc,
// supervision_commands.cc, network_commands.cc, demo_seed.cc).
absl::Status RunToken(Context& context, const ParsedArgs& args);
absl::Status RunOrgCreate(Context& context, const ParsedArgs& args);
absl::Status RunPersonCreate(Context& context, const ParsedArgs& args);
absl::Status RunPersonGet(Context& context, const ParsedArgs& args);
absl::Status RunPersonList(Context& context, const ParsedArgs& args);
absl::Status RunPersonUpdate(Context& context, const ParsedArgs& args);
absl::Status RunAssign(Context& context, const ParsedArgs& args);
absl::Status RunUnassign(Context& context, const ParsedArgs& args);
absl::Status RunConsentGet(Context& context, const ParsedArgs& args);
absl::Status RunConsentSet(Context& context, const ParsedArgs& args);
absl::Status RunApiKeyCreate(Context& context, const ParsedArgs& args);
absl::Status RunApiKeyList(Context& context, const ParsedArgs& args);
absl::Status RunApiKeyRevoke(Context& context, const ParsedArgs& args);
absl::Status RunCheckinInstruments(Context& context, const ParsedArgs& args);
absl::Status RunCheckinSubmit(Context& context, const ParsedArgs& args);
absl::Status RunCheckinIncident(Context& context, const ParsedArgs& args);
absl::Status RunCheckinSupport(Context& context, const ParsedArgs& args);
absl::Status RunCheckinList(Context& context, const ParsedArgs& args);
absl::Status RunCheckinTrend(Context& context, const ParsedArgs& args);
absl::Status RunCheckinDue(Context& context, const ParsedArgs& args);
absl::Status RunCheckinSettingsGet(Context& context, const ParsedArgs& args);
absl::Status RunCheckinSettingsSet(Context& context, const ParsedArgs& args);
absl::Status RunAlertsList(Context& context, const ParsedArgs& args);
absl::Status RunAlertsGet(Context& context, const ParsedArgs& args);
absl::Status RunAlertsAck(Context& context, const ParsedArgs& args);
absl::Status RunAlertsResolve(Context& context, const ParsedArgs& args);
absl::Status RunAlertsProfile(Context& context, const ParsedArgs& args);
absl::Status RunAlertsSilence(Context& context, const ParsedArgs& args);
absl::Status RunAlertsSilences(Context& context, const ParsedArgs& args);
absl::Status RunAlertsUnsilence(Context& context, const ParsedArgs& args);
absl::Status RunAlertsPolicyGet(Context& context, const ParsedArgs& args);
absl::Status RunAlertsPolicySet(Context& context, const ParsedArgs& args);
absl::Status RunAlertsWatch(Context& context, const ParsedArgs& args);
absl::Status RunSupervisionAvailabilitySet(Context& context, const ParsedArgs& args);
absl::Status RunSupervisionAvailabilityGet(Context& context, const ParsedArgs& args);
absl::Status RunSupervisionSessionCreate(Context& context, const ParsedArgs& args);
absl::Status RunSupervisionSessionGet(Context& context, const ParsedArgs& args);
absl::Status RunSupervisionSessionList(Context& context, const ParsedArgs& args);
absl::Status RunSupervisionPropose(Context& context, const ParsedArgs& args);
absl::Status RunSupervisionJoin(Context& context, const ParsedArgs& args);
absl::Status RunSupervisionLeave(Context& context, const ParsedArgs& args);
absl::Status RunSupervisionCancel(Context& context, const ParsedArgs& args);
absl::Status RunSupervisionReschedule(Context& context, const ParsedArgs& args);
absl::Status RunSupervisionAttend(Context& context, const ParsedArgs& args);
absl::Status RunSupervisionOffers(Context& context, const ParsedArgs& args);
absl::Status RunSupervisionOfferAccept(Context& context, const ParsedArgs& args);
absl::Status RunSupervisionOfferDecline(Context& context, const ParsedArgs& args);
absl::Status RunSupervisionOverdue(Context& context, const ParsedArgs& args);
absl::Status RunSupervisionPolicyGet(Context& context, const ParsedArgs& args);
absl::Status RunSupervisionPolicySet(Context& context, const ParsedArgs& args);
absl::Status RunSupervisionCalendar(Context& context, const ParsedArgs& args);
absl::Status RunSupervisionCalendarFeedCreate(Context& context, const ParsedArgs& args);
absl::Status RunSupervisionCalendarFeedList(Context& context, const ParsedArgs& args);
absl::Status RunSupervisionCalendarFeedRevoke(Context& context, const ParsedArgs& args);
absl::Status RunNetworkChannels(Context& context, const ParsedArgs& args);
absl::Status RunNetworkChannelGet(Context& context, const ParsedArgs& args);
absl::Status RunNetworkChannelCreate(Context& context, const ParsedArgs& args);
absl::Status RunNetworkJoin(Context& context, const ParsedArgs& args);
absl::Status RunNetworkLeave(Context& context, const ParsedArgs& args);
absl::Status RunNetworkPost(Context& context, const ParsedArgs& args);
absl::Status RunNetworkMessages(Context& context, const ParsedArgs& args);
absl::Status RunNetworkTail(Context& context, const ParsedArgs& args);
absl::Status RunNetworkMarkRead(Context& context, const ParsedArgs& args);
absl::Status RunNetworkReadMarkers(Context& context, const ParsedArgs& args);
absl::Status RunNetworkSettingsGet(Context& context, const ParsedArgs& args);
absl::Status RunNetworkSettingsSet(Context& context, const ParsedArgs& args);
absl::Status RunNetworkDelete(Context& context, const ParsedArgs& args);
absl::Status RunNetworkReport(Context& context, const ParsedArgs& args);
absl::Status RunNetworkReports(Context& context, const ParsedArgs& args);
absl::Status RunNetworkResolve(Context& context, const ParsedArgs& args);
absl::Status RunDemoSeed(Context& context, const ParsedArgs& args);
absl::Status RunMigrate(Context& context, const ParsedArgs& args);  // migrate_command.cc

}  // namespace peerwell::ctl
