// peerwellctl as a person uses it: against the real directory, check-in, alerts, supervision and
// peer-network binaries and a real redis-server.
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/auth.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/process.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/tokens.h"
#include "tests/testing/wait.h"
#include "tests/testing/webhook_receiver.h"

namespace peerwell {
namespace {

using ::peerwell::testing::kTestMasterKey;
using ::peerwell::testing::kTestPseudonymKey;
using ::peerwell::testing::RedisServer;
using ::peerwell::testing::ServerProcess;
using ::peerwell::testing::StartedServer;
using ::peerwell::testing::WaitFor;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

// Nothing listens here, so the CLI finds no check-in, alerts, supervision or network service unless
// a test starts one (and never reaches one that happens to run on the default port).
constexpr char kNothingListens[] = "127.0.0.1:1";

// The string value of the first "key":"..." in JSON output; empty when there is none.
std::string JsonValue(const std::string& json, const std::string& key) {
  std::string marker = absl::StrCat("\"", key, "\":\"");
  size_t at = json.find(marker);
  if (at == std::string::npos) return "";
  std::string value = json.substr(at + marker.size());
  return value.substr(0, value.find('"'));
}

struct CtlRun {
  int exit_code = -1;
  std::string output;
};

class PeerwellctlTest : public ::testing::Test {
 protected:
  void SetUp() override { directory_ = Start(PEERWELL_DIRECTORY_BINARY, {}); }

  // A server talking to this test's Redis (and directory, once it runs); the CLI uses it.
  StartedServer Start(const char* binary, std::vector<std::pair<std::string, std::string>> env,
                      const std::string& listen_addr = "127.0.0.1:0") {
    env.push_back({"PEERWELL_JWT_SECRET", peerwell::testing::kTestJwtSecret});
    for (auto& setting : redis_.ServiceEnv(peerwell::testing::ServiceOfBinary(binary))) {
      env.push_back(setting);
    }
    if (!directory_.address.empty()) env.push_back({"PEERWELL_DIRECTORY_ADDR", directory_.address});
    auto started =
        peerwell::testing::StartServer(binary, std::move(env), absl::Milliseconds(10), listen_addr);
    EXPECT_TRUE(started.ok()) << started.status();
    return started.ok() ? *std::move(started) : StartedServer{};
  }

  void StartCheckin() {
    checkin_ = Start(PEERWELL_CHECKIN_BINARY, {{"PEERWELL_MASTER_KEY", kTestMasterKey},
                                               {"PEERWELL_PSEUDONYM_KEY", kTestPseudonymKey}});
  }

  // Started before anything is seeded, so that it sees every check-in event.
  void StartAlerts() {
    alerts_ = Start(PEERWELL_ALERTS_BINARY, {{"PEERWELL_MASTER_KEY", kTestMasterKey}});
  }

  void StartSupervision() { supervision_ = Start(PEERWELL_SUPERVISION_BINARY, {}); }
  // Delivering to receivers on loopback, as on a closed network.
  void StartWebhooks() {
    webhooks_ = Start(PEERWELL_WEBHOOKS_BINARY, {{"PEERWELL_PSEUDONYM_KEY", kTestPseudonymKey},
                                                 {"PEERWELL_WEBHOOK_ALLOW_PRIVATE", "true"}});
  }

  void StartNetwork() {
    network_ = Start(PEERWELL_NETWORK_BINARY, {{"PEERWELL_MASTER_KEY", kTestMasterKey}});
  }

  // Stops the network service (SIGTERM, as a rolling update does) and starts it again on the
  // same address, so that the CLI's clients reach the new process without being told.
  void RestartNetwork() {
    network_.process->Signal(SIGTERM);
    ASSERT_TRUE(network_.process->WaitForExit(absl::Seconds(20)).has_value());
    network_.process = std::make_unique<ServerProcess>(
        PEERWELL_NETWORK_BINARY,
        std::vector<std::string>{"--listen_addr=" + network_.address, "--metrics_addr=127.0.0.1:0"},
        peerwell::testing::Env({{"PEERWELL_JWT_SECRET", peerwell::testing::kTestJwtSecret},
                                {"PEERWELL_DIRECTORY_ADDR", directory_.address},
                                {"PEERWELL_MASTER_KEY", kTestMasterKey}},
                               redis_.ServiceEnv("network")));
    network_.process->Start();
    ASSERT_NE(network_.process->WaitForLoggedPort(absl::Seconds(10)), 0)
        << network_.process->Output();
  }

  // Every service a person's export gathers from, on ports chosen first, and a directory told
  // where they are; it takes over from the one SetUp started (the same Redis: nothing is lost).
  void StartExportSources() {
    std::vector<peerwell::testing::ReservedPort> ports;
    for (int i = 0; i < 4; ++i) {
      auto port = peerwell::testing::ReservedPort::Take();
      ASSERT_TRUE(port.ok()) << port.status();
      ports.push_back(*std::move(port));
    }
    directory_ =
        Start(PEERWELL_DIRECTORY_BINARY, {{"PEERWELL_CHECKIN_ADDR", ports[0].address()},
                                          {"PEERWELL_ALERTS_ADDR", ports[1].address()},
                                          {"PEERWELL_SUPERVISION_ADDR", ports[2].address()},
                                          {"PEERWELL_NETWORK_ADDR", ports[3].address()}});
    checkin_ = Start(
        PEERWELL_CHECKIN_BINARY,
        {{"PEERWELL_MASTER_KEY", kTestMasterKey}, {"PEERWELL_PSEUDONYM_KEY", kTestPseudonymKey}},
        ports[0].address());
    alerts_ = Start(PEERWELL_ALERTS_BINARY, {{"PEERWELL_MASTER_KEY", kTestMasterKey}},
                    ports[1].address());
    supervision_ = Start(PEERWELL_SUPERVISION_BINARY, {}, ports[2].address());
    network_ = Start(PEERWELL_NETWORK_BINARY, {{"PEERWELL_MASTER_KEY", kTestMasterKey}},
                     ports[3].address());
  }

  // A new organisation with a coordinator, a supervisor in Europe/London and a volunteer they
  // supervise: their ids and --as identities.
  struct Team {
    std::string org_id, coordinator, supervisor_id, supervisor, volunteer_id, volunteer;
  };
  Team NewTeam() {
    Team team;
    CtlRun org = Ctl({"--as", "admin:ops", "--json", "org", "create", "Lighthouse"});
    team.org_id = JsonValue(org.output, "organizationId");
    EXPECT_FALSE(team.org_id.empty()) << org.output;
    CtlRun coordinator = Ctl({"--as", "admin:ops:" + team.org_id, "--json", "person", "create",
                              "--name", "Grace", "--role", "coordinator"});
    std::string coordinator_id = JsonValue(coordinator.output, "personId");
    EXPECT_FALSE(coordinator_id.empty()) << coordinator.output;
    team.coordinator = absl::StrCat("coordinator:", coordinator_id, ":", team.org_id);
    CtlRun supervisor = Ctl({"--as", team.coordinator, "--json", "person", "create", "--name",
                             "Daniel", "--role", "supervisor", "--timezone", "Europe/London"});
    team.supervisor_id = JsonValue(supervisor.output, "personId");
    EXPECT_FALSE(team.supervisor_id.empty()) << supervisor.output;
    team.supervisor = absl::StrCat("supervisor:", team.supervisor_id, ":", team.org_id);
    CtlRun volunteer =
        Ctl({"--as", team.coordinator, "--json", "person", "create", "--name", "Vera", "--role",
             "volunteer", "--timezone", "Europe/London", "--supervisor", team.supervisor_id});
    team.volunteer_id = JsonValue(volunteer.output, "personId");
    EXPECT_FALSE(team.volunteer_id.empty()) << volunteer.output;
    team.volunteer = absl::StrCat("volunteer:", team.volunteer_id, ":", team.org_id);
    return team;
  }

  // A new organisation with one volunteer; the volunteer's --as identity.
  std::string NewVolunteer() {
    CtlRun org = Ctl({"--as", "admin:ops", "--json", "org", "create", "Lighthouse"});
    std::string org_id = JsonValue(org.output, "organizationId");
    EXPECT_FALSE(org_id.empty()) << org.output;
    CtlRun coordinator = Ctl({"--as", "admin:ops:" + org_id, "--json", "person", "create", "--name",
                              "Grace", "--role", "coordinator"});
    std::string coordinator_id = JsonValue(coordinator.output, "personId");
    EXPECT_FALSE(coordinator_id.empty()) << coordinator.output;
    CtlRun volunteer = Ctl({"--as", absl::StrCat("coordinator:", coordinator_id, ":", org_id),
                            "--json", "person", "create", "--name", "Vera", "--role", "volunteer"});
    std::string person_id = JsonValue(volunteer.output, "personId");
    EXPECT_FALSE(person_id.empty()) << volunteer.output;
    return absl::StrCat("volunteer:", person_id, ":", org_id);
  }

  // Where the CLI finds the services (and, `with_secret`, the signing secret for --as).
  std::vector<std::pair<std::string, std::string>> CtlEnv(bool with_secret = true) {
    std::vector<std::pair<std::string, std::string>> env{
        {"PEERWELL_DIRECTORY_ADDR", directory_.address},
        {"PEERWELL_CHECKIN_ADDR", checkin_.process ? checkin_.address : kNothingListens},
        {"PEERWELL_ALERTS_ADDR", alerts_.process ? alerts_.address : kNothingListens},
        {"PEERWELL_SUPERVISION_ADDR",
         supervision_.process ? supervision_.address : kNothingListens},
        {"PEERWELL_NETWORK_ADDR", network_.process ? network_.address : kNothingListens},
        {"PEERWELL_WEBHOOKS_ADDR", webhooks_.process ? webhooks_.address : kNothingListens}};
    if (with_secret) env.push_back({"PEERWELL_JWT_SECRET", peerwell::testing::kTestJwtSecret});
    return env;
  }

  CtlRun Ctl(std::vector<std::string> args, bool with_secret = true,
             std::vector<std::pair<std::string, std::string>> extra_env = {}) {
    std::vector<std::pair<std::string, std::string>> env = CtlEnv(with_secret);
    env.insert(env.end(), extra_env.begin(), extra_env.end());
    ServerProcess ctl(PEERWELLCTL_BINARY, args, env);
    ctl.Start();
    CtlRun run;
    run.exit_code = ctl.WaitForExit(absl::Seconds(20)).value_or(-1);
    run.output = ctl.Output();
    return run;
  }

  RedisServer redis_;
  StartedServer directory_, checkin_, alerts_, supervision_, network_, webhooks_;
};

// The id in the first column of each row of `network channels`, by the kind in its second.
std::map<std::string, std::string> ChannelsByKind(const std::string& output) {
  std::map<std::string, std::string> ids;
  for (absl::string_view line : absl::StrSplit(output, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> cells = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (cells.size() >= 2 && absl::StartsWith(cells[0], "ch")) {
      ids[std::string(cells[1])] = std::string(cells[0]);
    }
  }
  return ids;
}

// How many messages a `network messages` or `tail` output shows: their header lines.
int MessageCount(const std::string& output) {
  int count = 0;
  for (absl::string_view line : absl::StrSplit(output, '\n')) {
    absl::string_view rest = line;
    if (absl::StartsWith(rest, "[")) rest = rest.substr(rest.find("] ") + 2);
    if (absl::StartsWith(rest, "#") && absl::StrContains(rest, " UTC  ")) ++count;
  }
  return count;
}

TEST_F(PeerwellctlTest, SeedsTheDemoOrganisationOnceAndListsItsPeople) {
  StartSupervision();
  CtlRun seed = Ctl({"demo", "seed", "--json"});
  ASSERT_EQ(seed.exit_code, 0) << seed.output;
  EXPECT_THAT(seed.output, HasSubstr("Harbour Peer Support (demo)"));
  // Without a check-in service the seed still seeds the directory, and says what it skipped.
  EXPECT_THAT(seed.output, HasSubstr("\"checkinsImported\":null"));
  EXPECT_THAT(seed.output, HasSubstr("seeded the directory only"));
  CtlRun again = Ctl({"demo", "seed", "--json"});
  ASSERT_EQ(again.exit_code, 0) << again.output;

  // The coordinator's token from the seed lists everyone: 1 coordinator, 2 supervisors and
  // 6 volunteers, once each although the seed ran twice.
  std::string marker = "\"coordinator\":\"";
  size_t at = seed.output.find(marker);
  ASSERT_NE(at, std::string::npos) << seed.output;
  std::string token = seed.output.substr(at + marker.size());
  token = token.substr(0, token.find('"'));
  CtlRun list = Ctl({"--token", token, "person", "list", "--all"});
  ASSERT_EQ(list.exit_code, 0) << list.output;
  EXPECT_EQ(std::count(list.output.begin(), list.output.end(), '\n'), 1 + 9) << list.output;
  EXPECT_THAT(list.output, HasSubstr("volunteer"));

  // One partner key with every scope, its secret shown by the first seed only.
  std::string key_marker = "\"partnerApiKey\":\"";
  size_t key_at = seed.output.find(key_marker);
  ASSERT_NE(key_at, std::string::npos) << seed.output;
  std::string key = seed.output.substr(key_at + key_marker.size());
  key = key.substr(0, key.find('"'));
  EXPECT_THAT(again.output, HasSubstr("\"partnerApiKey\":null"));
  CtlRun keys = Ctl({"--token", token, "apikey", "list"});
  ASSERT_EQ(keys.exit_code, 0) << keys.output;
  EXPECT_EQ(std::count(keys.output.begin(), keys.output.end(), '\n'), 1 + 1) << keys.output;
  EXPECT_THAT(keys.output, HasSubstr("Demo research partner"));
  StartWebhooks();
  CtlRun webhooks = Ctl({"--api-key", key, "partner", "webhook", "list"});
  EXPECT_EQ(webhooks.exit_code, 0) << webhooks.output;
  EXPECT_THAT(webhooks.output, HasSubstr("no webhooks"));
}

TEST_F(PeerwellctlTest, ExitCodesTellUsageFromServiceErrors) {
  CtlRun usage = Ctl({"person", "frobnicate"});
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_THAT(usage.output, HasSubstr("help"));

  CtlRun no_token = Ctl({"person", "list"});
  EXPECT_EQ(no_token.exit_code, 1);
  EXPECT_THAT(no_token.output, HasSubstr("error: UNAUTHENTICATED"));

  CtlRun denied =
      Ctl({"--as", NewVolunteer(), "person", "create", "--name", "X", "--role", "volunteer"});
  EXPECT_EQ(denied.exit_code, 1);
  EXPECT_THAT(denied.output, HasSubstr("error: PERMISSION_DENIED"));

  CtlRun no_secret = Ctl({"--as", "admin:ops", "org", "create", "Harbour"}, /*with_secret=*/false);
  EXPECT_EQ(no_secret.exit_code, 2);
  EXPECT_THAT(no_secret.output, HasSubstr("PEERWELL_JWT_SECRET"));

  // The hint names the service the command calls, and the flag that points at it.
  CtlRun no_checkin =
      Ctl({"--as", "volunteer:p0000000000000000beef:o0000000000000000dead", "checkin", "due"});
  EXPECT_EQ(no_checkin.exit_code, 1);
  EXPECT_THAT(no_checkin.output, HasSubstr("error: UNAVAILABLE"));
  EXPECT_THAT(no_checkin.output, HasSubstr("--checkin-addr"));

  CtlRun bad_type = Ctl({"--as", "volunteer:p0000000000000000beef:o0000000000000000dead", "checkin",
                         "incident", "--type", "argument", "--when", "-2h"});
  EXPECT_EQ(bad_type.exit_code, 2);
  EXPECT_THAT(bad_type.output, HasSubstr("suicide-disclosure"));
}

TEST_F(PeerwellctlTest, CreatesAnOrganisationItsCoordinatorAndAnApiKey) {
  CtlRun org = Ctl({"--as", "admin:ops", "--json", "org", "create", "Lighthouse"});
  ASSERT_EQ(org.exit_code, 0) << org.output;
  std::string marker = "\"organizationId\":\"";
  size_t at = org.output.find(marker);
  ASSERT_NE(at, std::string::npos) << org.output;
  std::string org_id = org.output.substr(at + marker.size(), 21);

  CtlRun coordinator = Ctl({"--as", "admin:ops:" + org_id, "--json", "person", "create", "--name",
                            "Grace", "--role", "coordinator", "--timezone", "Europe/London"});
  ASSERT_EQ(coordinator.exit_code, 0) << coordinator.output;
  EXPECT_THAT(coordinator.output, HasSubstr("Grace"));
  std::string as_grace =
      absl::StrCat("coordinator:", JsonValue(coordinator.output, "personId"), ":", org_id);

  CtlRun bad_zone = Ctl({"--as", as_grace, "person", "create", "--name", "Vera", "--role",
                         "volunteer", "--timezone", "Nowhere/Else"});
  EXPECT_EQ(bad_zone.exit_code, 1);
  EXPECT_THAT(bad_zone.output, HasSubstr("person.timezone"));

  CtlRun key = Ctl({"--as", as_grace, "apikey", "create", "Partner", "--scope", "aggregates:read"});
  ASSERT_EQ(key.exit_code, 0) << key.output;
  EXPECT_THAT(key.output, HasSubstr("pwk_" + org_id));
  CtlRun keys = Ctl({"--as", as_grace, "apikey", "list"});
  ASSERT_EQ(keys.exit_code, 0) << keys.output;
  EXPECT_THAT(keys.output, HasSubstr("Partner"));
  EXPECT_THAT(keys.output, Not(HasSubstr("pwk_")));
}

// A sign-in link for the dashboard: the gateway's address with the person's token in the
// fragment, valid for a working day (not --as's usual 15 minutes).
TEST_F(PeerwellctlTest, DashboardUrlSignsInAsTheGivenPersonForAWorkingDay) {
  absl::Time minted = absl::Now();
  CtlRun url = Ctl({"--as", "supervisor:p0000000000000000beef:o00000000000000000001",
                    "dashboard-url", "--gateway", "https://peerwell.example.org/"});
  ASSERT_EQ(url.exit_code, 0) << url.output;
  const std::string prefix = "https://peerwell.example.org/#token=";
  ASSERT_TRUE(absl::StartsWith(url.output, prefix)) << url.output;
  std::string token(absl::StripTrailingAsciiWhitespace(url.output.substr(prefix.size())));

  peerwell::testing::FakeClock clock(minted + absl::Hours(7) + absl::Minutes(50));
  TokenVerifier verifier(peerwell::testing::kTestJwtSecret, &clock);
  auto caller = verifier.Verify(token);
  ASSERT_TRUE(caller.ok()) << caller.status();
  EXPECT_EQ(caller->person_id, "p0000000000000000beef");
  EXPECT_EQ(caller->role, CallerRole::kSupervisor);
  clock.Advance(absl::Minutes(20));
  EXPECT_FALSE(TokenVerifier(peerwell::testing::kTestJwtSecret, &clock).Verify(token).ok());

  CtlRun nobody = Ctl({"dashboard-url"});
  EXPECT_EQ(nobody.exit_code, 2) << nobody.output;
  EXPECT_THAT(nobody.output, HasSubstr("--as"));
}

TEST_F(PeerwellctlTest, SeedsCheckinHistoryOnceAndTheVolunteerListsIt) {
  StartCheckin();
  StartSupervision();
  CtlRun seed = Ctl({"demo", "seed", "--json"});
  ASSERT_EQ(seed.exit_code, 0) << seed.output;
  EXPECT_THAT(seed.output, Not(HasSubstr("\"checkinsImported\":null")));
  CtlRun again = Ctl({"demo", "seed"});
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_THAT(again.output, HasSubstr("Check-in history:"));

  // The first volunteer's history: 5 WHO-5s, 3 CBIs and 20 pulses, once each although the seed
  // ran twice.
  std::string token = JsonValue(seed.output, "volunteer");
  ASSERT_FALSE(token.empty()) << seed.output;
  CtlRun list = Ctl({"--token", token, "checkin", "list", "--all"});
  ASSERT_EQ(list.exit_code, 0) << list.output;
  EXPECT_EQ(std::count(list.output.begin(), list.output.end(), '\n'), 1 + 28) << list.output;
  EXPECT_THAT(list.output, HasSubstr("(good)"));
  EXPECT_THAT(list.output, HasSubstr("cbi_volunteering="));
  EXPECT_THAT(list.output, HasSubstr("energy="));

  CtlRun who5 =
      Ctl({"--token", token, "checkin", "list", "--instrument", "who5", "--since", "-90d"});
  ASSERT_EQ(who5.exit_code, 0) << who5.output;
  EXPECT_EQ(std::count(who5.output.begin(), who5.output.end(), '\n'), 1 + 5) << who5.output;
}

TEST_F(PeerwellctlTest, SubmitsACheckinAndPrintsItsScores) {
  StartCheckin();
  std::string volunteer = NewVolunteer();
  CtlRun submit =
      Ctl({"--as", volunteer, "checkin", "submit", "who5", "--answer", "1=3", "--answer", "2=3",
           "--answer", "3=3", "--answer", "4=3", "--answer", "5=3", "--note", "a long week"});
  ASSERT_EQ(submit.exit_code, 0) << submit.output;
  EXPECT_THAT(submit.output, HasSubstr("recorded: who5 v1"));
  std::vector<std::string> lines = absl::StrSplit(submit.output, '\n');
  EXPECT_THAT(lines, Contains(HasSubstr("who5_raw  15")));
  EXPECT_THAT(lines, Contains(HasSubstr("who5      60     good")));
}

TEST_F(PeerwellctlTest, APersonExportsTheirDataAndSeesWhoReadIt) {
  StartExportSources();
  Team team = NewTeam();
  ASSERT_EQ(Ctl({"--as", team.volunteer, "consent", "set", "--share-scores", "on"}).exit_code, 0);
  CtlRun submit = Ctl({"--as", team.volunteer, "checkin", "submit", "who5", "--answer", "1=3",
                       "--answer", "2=3", "--answer", "3=3", "--answer", "4=3", "--answer", "5=3",
                       "--note", "the night shift stays with me"});
  ASSERT_EQ(submit.exit_code, 0) << submit.output;
  CtlRun read = Ctl({"--as", team.supervisor, "checkin", "list", team.volunteer_id});
  ASSERT_EQ(read.exit_code, 0) << read.output;

  CtlRun audit = Ctl({"--as", team.volunteer, "person", "audit"});
  ASSERT_EQ(audit.exit_code, 0) << audit.output;
  EXPECT_THAT(audit.output, HasSubstr("Daniel (" + team.supervisor_id + ")"));
  EXPECT_THAT(audit.output, HasSubstr("ListCheckins"));

  std::string file = absl::StrCat(::testing::TempDir(), "/export-", team.volunteer_id, ".json");
  CtlRun exported = Ctl({"--as", team.volunteer, "person", "export", "--output", file});
  ASSERT_EQ(exported.exit_code, 0) << exported.output;
  struct stat info {};
  ASSERT_EQ(stat(file.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  std::ifstream in(file);
  std::stringstream document;
  document << in.rdbuf();
  EXPECT_THAT(document.str(), HasSubstr("\"schemaVersion\": 1"));
  EXPECT_THAT(document.str(), HasSubstr("the night shift stays with me"));
  EXPECT_THAT(document.str(), HasSubstr("\"readerId\": \"" + team.supervisor_id + "\""));

  CtlRun by_coordinator = Ctl({"--as", team.coordinator, "person", "export", team.volunteer_id});
  ASSERT_EQ(by_coordinator.exit_code, 0) << by_coordinator.output;
  EXPECT_THAT(by_coordinator.output, HasSubstr("\"personId\": \"" + team.volunteer_id + "\""));
  CtlRun by_supervisor = Ctl({"--as", team.supervisor, "person", "export", team.volunteer_id});
  EXPECT_EQ(by_supervisor.exit_code, 1) << by_supervisor.output;
  EXPECT_THAT(by_supervisor.output, HasSubstr("PERMISSION_DENIED"));
}

TEST_F(PeerwellctlTest, ACoordinatorErasesAPersonAndFollowsTheErasure) {
  Team team = NewTeam();
  CtlRun refused = Ctl({"--as", team.supervisor, "person", "erase", team.volunteer_id});
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_THAT(refused.output, HasSubstr("PERMISSION_DENIED"));

  CtlRun erased = Ctl({"--as", team.coordinator, "--json", "person", "erase", team.volunteer_id,
                       "--request-id", "erase-vera"});
  ASSERT_EQ(erased.exit_code, 0) << erased.output;
  std::string erasure_id = JsonValue(erased.output, "erasureId");
  ASSERT_FALSE(erasure_id.empty()) << erased.output;
  CtlRun again = Ctl({"--as", team.coordinator, "--json", "person", "erase", team.volunteer_id,
                      "--request-id", "erase-vera"});
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(JsonValue(again.output, "erasureId"), erasure_id);

  CtlRun progress = Ctl({"--as", team.coordinator, "person", "erasure", erasure_id});
  ASSERT_EQ(progress.exit_code, 0) << progress.output;
  EXPECT_THAT(progress.output, HasSubstr(team.volunteer_id));
  EXPECT_THAT(progress.output, HasSubstr("checkin"));
  EXPECT_THAT(progress.output, HasSubstr("webhooks"));
  CtlRun gone = Ctl({"--as", team.volunteer, "person", "get", team.volunteer_id});
  EXPECT_EQ(gone.exit_code, 1) << gone.output;
  EXPECT_THAT(gone.output, HasSubstr("UNAUTHENTICATED"));
}

TEST_F(PeerwellctlTest, ABadAnswerIsTheServicesInvalidArgumentNamingTheField) {
  StartCheckin();
  std::string volunteer = NewVolunteer();
  CtlRun submit = Ctl({"--as", volunteer, "checkin", "submit", "who5", "--answer", "1=9"});
  EXPECT_EQ(submit.exit_code, 1) << submit.output;
  EXPECT_THAT(submit.output, HasSubstr("error: INVALID_ARGUMENT"));
  EXPECT_THAT(submit.output, HasSubstr("answers[0].value"));

  CtlRun malformed = Ctl({"--as", volunteer, "checkin", "submit", "who5", "--answer", "1:3"});
  EXPECT_EQ(malformed.exit_code, 2) << malformed.output;
  EXPECT_THAT(malformed.output, HasSubstr("ITEM=VALUE"));
}

TEST_F(PeerwellctlTest, ChartsATrend) {
  StartCheckin();
  std::string volunteer = NewVolunteer();
  CtlRun submit = Ctl({"--as", volunteer, "checkin", "submit", "who5", "--answer", "1=4",
                       "--answer", "2=4", "--answer", "3=3", "--answer", "4=3", "--answer", "5=4"});
  ASSERT_EQ(submit.exit_code, 0) << submit.output;

  CtlRun trend = Ctl({"--as", volunteer, "checkin", "trend", "who5"});
  ASSERT_EQ(trend.exit_code, 0) << trend.output;
  // 18 of 25 is 72%: 36 of the 50 characters of a bar from 0 to 100.
  std::vector<std::string> lines = absl::StrSplit(trend.output, '\n');
  EXPECT_THAT(lines, Contains(HasSubstr("72  " + std::string(36, '#'))));
  EXPECT_THAT(trend.output, HasSubstr("latest:"));
  EXPECT_THAT(trend.output, HasSubstr("baseline:"));
}

TEST_F(PeerwellctlTest, TheSupervisorHandlesTheSeededAlertAndWatchesTheStream) {
  StartCheckin();
  StartAlerts();
  StartSupervision();
  CtlRun seed = Ctl({"demo", "seed", "--json"});
  ASSERT_EQ(seed.exit_code, 0) << seed.output;
  // Mette supervises Jonas, whose CBIs rise, and Amira, the seed's volunteer.
  std::string supervisor = JsonValue(seed.output, "supervisor");
  std::string volunteer = JsonValue(seed.output, "volunteer");
  ASSERT_FALSE(supervisor.empty()) << seed.output;
  ASSERT_FALSE(volunteer.empty()) << seed.output;

  // The alerts service reads the imported check-ins on its own time.
  std::string alert_id;
  CtlRun list;
  ASSERT_TRUE(WaitFor(
      [&] {
        list = Ctl({"--token", supervisor, "alerts", "list", "--state", "triggered"});
        for (absl::string_view line : absl::StrSplit(list.output, '\n')) {
          if (absl::StrContains(line, " cbi_rise ")) {
            alert_id = std::string(line.substr(0, line.find(' ')));
          }
        }
        return !alert_id.empty();
      },
      absl::Seconds(20), absl::Milliseconds(200)))
      << list.output;
  EXPECT_THAT(list.output, HasSubstr("ESCALATION"));
  // Supervisors think in names: the volunteer is shown by display name, not by id.
  std::string jonas_line;
  for (absl::string_view line : absl::StrSplit(list.output, '\n')) {
    if (absl::StartsWith(line, alert_id)) jonas_line = std::string(line);
  }
  EXPECT_THAT(jonas_line, HasSubstr("Jonas Nielsen"));
  EXPECT_THAT(jonas_line, Not(HasSubstr(" p")));

  CtlRun get = Ctl({"--token", supervisor, "alerts", "get", alert_id});
  ASSERT_EQ(get.exit_code, 0) << get.output;
  EXPECT_THAT(get.output, HasSubstr("factors:"));
  EXPECT_THAT(get.output, ::testing::ContainsRegex("volunteer: +Jonas Nielsen \\(p[0-9a-f]+\\)"));

  CtlRun ack = Ctl({"--token", supervisor, "alerts", "ack", alert_id});
  ASSERT_EQ(ack.exit_code, 0) << ack.output;
  EXPECT_THAT(ack.output, HasSubstr("acknowledged"));
  EXPECT_THAT(ack.output, HasSubstr("by Mette Rasmussen"));

  // A wellbeing alert needs to say what came of it.
  CtlRun no_outcome = Ctl({"--token", supervisor, "alerts", "resolve", alert_id});
  EXPECT_EQ(no_outcome.exit_code, 1) << no_outcome.output;
  EXPECT_THAT(no_outcome.output, HasSubstr("error: INVALID_ARGUMENT"));
  EXPECT_THAT(no_outcome.output, HasSubstr("outcome"));

  CtlRun resolve =
      Ctl({"--token", supervisor, "alerts", "resolve", alert_id, "--outcome", "talked"});
  ASSERT_EQ(resolve.exit_code, 0) << resolve.output;
  EXPECT_THAT(resolve.output, HasSubstr("outcome:"));
  EXPECT_THAT(resolve.output, HasSubstr("talked"));

  CtlRun bad_outcome =
      Ctl({"--token", supervisor, "alerts", "resolve", alert_id, "--outcome", "chatted"});
  EXPECT_EQ(bad_outcome.exit_code, 2) << bad_outcome.output;
  EXPECT_THAT(bad_outcome.output, HasSubstr("rota-changed"));

  // The stream starts from now: once the watch says it is live, one incident reaches it.
  ServerProcess watch(
      PEERWELLCTL_BINARY,
      {"--token", supervisor, "alerts", "watch", "--count", "1", "--json", "--for", "60s"},
      CtlEnv());
  watch.Start();
  ASSERT_TRUE(WaitFor([&] { return absl::StrContains(watch.Output(), "watching alerts at"); },
                      absl::Seconds(10)))
      << watch.Output();
  CtlRun incident =
      Ctl({"--token", volunteer, "checkin", "incident", "--type", "aggression", "--when", "-1h"});
  EXPECT_EQ(incident.exit_code, 0) << incident.output;
  std::optional<int> watch_exit = watch.WaitForExit(absl::Seconds(30));
  ASSERT_TRUE(watch_exit.has_value()) << watch.Output();
  EXPECT_EQ(*watch_exit, 0) << watch.Output();
  EXPECT_THAT(watch.Output(), HasSubstr("{\"eventType\":\"ALERT_EVENT_TYPE_"));
  EXPECT_THAT(watch.Output(), HasSubstr("--resume "));
}

TEST_F(PeerwellctlTest, SeedsSupervisionOnceAndTheSupervisorSeesIt) {
  StartSupervision();
  CtlRun seed = Ctl({"demo", "seed", "--json"});
  ASSERT_EQ(seed.exit_code, 0) << seed.output;
  EXPECT_THAT(seed.output, HasSubstr("\"supervisionSessions\":[{"));
  EXPECT_THAT(seed.output, HasSubstr("FREQ=WEEKLY;INTERVAL=2;BYDAY=WE"));
  std::string coordinator = JsonValue(seed.output, "coordinator");
  std::string supervisor = JsonValue(seed.output, "supervisor");
  ASSERT_FALSE(coordinator.empty()) << seed.output;
  CtlRun again = Ctl({"demo", "seed"});
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_THAT(again.output, HasSubstr("reflective"));

  // Every session of the organisation in the next five weeks, once each although the seed ran
  // twice: the group's 2 or 3 occurrences (every other Wednesday) and 5 one-to-ones.
  CtlRun list = Ctl({"--token", coordinator, "supervision", "session", "list", "--from", "now",
                     "--to", "+35d", "--all"});
  ASSERT_EQ(list.exit_code, 0) << list.output;
  std::vector<std::string> lines = absl::StrSplit(list.output, '\n', absl::SkipEmpty());
  auto count = [&lines](absl::string_view kind) {
    return std::count_if(lines.begin(), lines.end(), [kind](const std::string& line) {
      return absl::StrContains(line, absl::StrCat(" ", kind, " "));
    });
  };
  EXPECT_EQ(count("individual"), 5) << list.output;
  EXPECT_GE(count("reflective"), 2) << list.output;
  EXPECT_LE(count("reflective"), 3) << list.output;

  CtlRun availability = Ctl({"--token", supervisor, "supervision", "availability", "get"});
  ASSERT_EQ(availability.exit_code, 0) << availability.output;
  EXPECT_THAT(availability.output, HasSubstr("Thu  09:00  17:00"));
  EXPECT_THAT(availability.output, Not(HasSubstr("Fri")));
}

TEST_F(PeerwellctlTest, TheSeedNamesTheSupervisionServiceWhenItIsNotRunning) {
  CtlRun seed = Ctl({"demo", "seed"});
  EXPECT_EQ(seed.exit_code, 1) << seed.output;
  EXPECT_THAT(seed.output, HasSubstr("reaching the supervision service"));
  EXPECT_THAT(seed.output, HasSubstr("--supervision-addr"));
}

TEST_F(PeerwellctlTest, SetsAndReadsASupervisorsAvailability) {
  StartSupervision();
  Team team = NewTeam();
  CtlRun set = Ctl({"--as", team.supervisor, "supervision", "availability", "set", "--weekly",
                    "mon-thu=09:00-17:00", "--weekly", "fri=09:00-12:00", "--leave",
                    "2030-01-07T00:00:00Z..2030-01-08T00:00:00Z"});
  ASSERT_EQ(set.exit_code, 0) << set.output;
  EXPECT_THAT(set.output, HasSubstr("Europe/London"));

  // Adding extra hours keeps the weekly windows and the leave set before.
  CtlRun extra = Ctl({"--as", team.supervisor, "supervision", "availability", "set", "--extra",
                      "2030-01-12T10:00:00Z..2030-01-12T12:00:00Z"});
  ASSERT_EQ(extra.exit_code, 0) << extra.output;

  CtlRun get =
      Ctl({"--as", team.coordinator, "supervision", "availability", "get", team.supervisor_id});
  ASSERT_EQ(get.exit_code, 0) << get.output;
  std::vector<std::string> lines = absl::StrSplit(get.output, '\n');
  EXPECT_THAT(lines, Contains(HasSubstr("Mon  09:00  17:00")));
  EXPECT_THAT(lines, Contains(HasSubstr("Thu  09:00  17:00")));
  EXPECT_THAT(lines, Contains(HasSubstr("Fri  09:00  12:00")));
  EXPECT_THAT(lines, Contains(HasSubstr("leave  2030-01-07 00:00:00 UTC")));
  EXPECT_THAT(lines, Contains(HasSubstr("extra  2030-01-12 10:00:00 UTC")));

  CtlRun json = Ctl({"--as", team.supervisor, "--json", "supervision", "availability", "get"});
  ASSERT_EQ(json.exit_code, 0) << json.output;
  EXPECT_THAT(json.output, HasSubstr("\"weekday\":5"));

  CtlRun bad_day = Ctl({"--as", team.supervisor, "supervision", "availability", "set", "--weekly",
                        "funday=09:00-17:00"});
  EXPECT_EQ(bad_day.exit_code, 2) << bad_day.output;
  EXPECT_THAT(bad_day.output, HasSubstr("DAYS=HH:MM-HH:MM"));

  CtlRun backwards = Ctl({"--as", team.supervisor, "supervision", "availability", "set", "--weekly",
                          "mon=17:00-09:00"});
  EXPECT_EQ(backwards.exit_code, 1) << backwards.output;
  EXPECT_THAT(backwards.output, HasSubstr("error: INVALID_ARGUMENT"));
  EXPECT_THAT(backwards.output, HasSubstr("availability.weekly[0].end"));
}

TEST_F(PeerwellctlTest, CreatesListsMovesAndCancelsASession) {
  StartSupervision();
  Team team = NewTeam();
  ASSERT_EQ(Ctl({"--as", team.supervisor, "supervision", "availability", "set", "--weekly",
                 "mon-fri=09:00-17:00"})
                .exit_code,
            0);
  std::vector<std::string> create = {"--as",          team.coordinator,
                                     "--json",        "supervision",
                                     "session",       "create",
                                     "--kind",        "individual",
                                     "--title",       "Monthly one-to-one",
                                     "--supervisor",  team.supervisor_id,
                                     "--participant", team.volunteer_id,
                                     "--start",       "2030-01-08T10:00:00Z",
                                     "--duration",    "50m",
                                     "--request-id",  "one-to-one-1"};
  CtlRun created = Ctl(create);
  ASSERT_EQ(created.exit_code, 0) << created.output;
  std::string session_id = JsonValue(created.output, "sessionId");
  ASSERT_FALSE(session_id.empty()) << created.output;
  // The same request id returns the same session.
  CtlRun retried = Ctl(create);
  ASSERT_EQ(retried.exit_code, 0) << retried.output;
  EXPECT_EQ(JsonValue(retried.output, "sessionId"), session_id);

  CtlRun list = Ctl({"--as", team.volunteer, "supervision", "session", "list", "--from",
                     "2030-01-01T00:00:00Z", "--to", "2030-02-01T00:00:00Z"});
  ASSERT_EQ(list.exit_code, 0) << list.output;
  std::vector<std::string> lines = absl::StrSplit(list.output, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u) << list.output;
  EXPECT_THAT(lines[1], HasSubstr(session_id));
  EXPECT_THAT(lines[1], HasSubstr("2030-01-08 10:00:00 UTC"));
  EXPECT_THAT(lines[1], HasSubstr("individual"));
  EXPECT_THAT(lines[1], HasSubstr("scheduled"));
  EXPECT_THAT(lines[1], HasSubstr("Monthly one-to-one"));

  CtlRun get = Ctl({"--as", team.supervisor, "supervision", "session", "get", session_id});
  ASSERT_EQ(get.exit_code, 0) << get.output;
  EXPECT_THAT(get.output, HasSubstr("50m (until 2030-01-08 10:50:00 UTC)"));
  EXPECT_THAT(get.output, HasSubstr(team.volunteer_id));

  // A Saturday is outside the supervisor's weekly windows: the service names the conflict.
  CtlRun saturday = Ctl({"--as", team.coordinator, "supervision", "session", "create", "--kind",
                         "individual", "--supervisor", team.supervisor_id, "--participant",
                         team.volunteer_id, "--start", "2030-01-12T10:00:00Z"});
  EXPECT_EQ(saturday.exit_code, 1) << saturday.output;
  EXPECT_THAT(saturday.output, HasSubstr("error: FAILED_PRECONDITION: OUTSIDE_AVAILABILITY"));

  CtlRun moved = Ctl({"--as", team.supervisor, "supervision", "reschedule", session_id, "--start",
                      "2030-01-09T14:00:00Z", "--duration", "1h"});
  ASSERT_EQ(moved.exit_code, 0) << moved.output;
  EXPECT_THAT(moved.output, HasSubstr("rescheduled"));
  EXPECT_THAT(moved.output, HasSubstr("2030-01-09 14:00:00 UTC"));

  CtlRun cancelled =
      Ctl({"--as", team.supervisor, "supervision", "cancel", session_id, "--reason", "unwell"});
  ASSERT_EQ(cancelled.exit_code, 0) << cancelled.output;
  EXPECT_THAT(cancelled.output, HasSubstr("cancelled"));
  EXPECT_THAT(cancelled.output, HasSubstr("unwell"));

  CtlRun only_cancelled =
      Ctl({"--as", team.volunteer, "supervision", "session", "list", "--state", "cancelled"});
  ASSERT_EQ(only_cancelled.exit_code, 0) << only_cancelled.output;
  EXPECT_THAT(only_cancelled.output, HasSubstr(session_id));
  CtlRun only_scheduled =
      Ctl({"--as", team.volunteer, "supervision", "session", "list", "--state", "scheduled"});
  ASSERT_EQ(only_scheduled.exit_code, 0) << only_scheduled.output;
  EXPECT_THAT(only_scheduled.output, HasSubstr("no sessions found"));
}

TEST_F(PeerwellctlTest, AVolunteerTakesASeatInAGroupAndGivesItUp) {
  StartSupervision();
  Team team = NewTeam();
  ASSERT_EQ(Ctl({"--as", team.supervisor, "supervision", "availability", "set", "--weekly",
                 "wed=09:00-17:00"})
                .exit_code,
            0);
  CtlRun created = Ctl({"--as", team.supervisor, "--json", "supervision", "session", "create",
                        "--kind", "group", "--title", "Group supervision", "--start",
                        "2030-01-09T14:00:00Z", "--duration", "90m", "--capacity", "6"});
  ASSERT_EQ(created.exit_code, 0) << created.output;
  std::string session_id = JsonValue(created.output, "sessionId");
  ASSERT_FALSE(session_id.empty()) << created.output;

  // The volunteer finds it among the sessions open to join.
  CtlRun open = Ctl({"--as", team.volunteer, "supervision", "session", "list", "--open"});
  ASSERT_EQ(open.exit_code, 0) << open.output;
  EXPECT_THAT(open.output, HasSubstr(session_id));
  EXPECT_THAT(open.output, HasSubstr("0/6"));

  CtlRun joined = Ctl({"--as", team.volunteer, "supervision", "join", session_id});
  ASSERT_EQ(joined.exit_code, 0) << joined.output;
  EXPECT_THAT(joined.output, HasSubstr("1 of 6 taken"));
  CtlRun taken = Ctl({"--as", team.volunteer, "supervision", "session", "list", "--open"});
  EXPECT_THAT(taken.output, Not(HasSubstr(session_id)));
  CtlRun left = Ctl({"--as", team.volunteer, "supervision", "leave", session_id});
  ASSERT_EQ(left.exit_code, 0) << left.output;
  EXPECT_THAT(left.output, HasSubstr("0 of 6 taken"));

  // Attendance waits for the session to start.
  CtlRun early = Ctl({"--as", team.supervisor, "supervision", "attend", session_id, "--present",
                      team.volunteer_id});
  EXPECT_EQ(early.exit_code, 1) << early.output;
  EXPECT_THAT(early.output, HasSubstr("error: FAILED_PRECONDITION"));
  CtlRun nobody = Ctl({"--as", team.supervisor, "supervision", "attend", session_id});
  EXPECT_EQ(nobody.exit_code, 2) << nobody.output;
}

TEST_F(PeerwellctlTest, ProposesSlotsWithTheVolunteersOwnSupervisor) {
  StartSupervision();
  Team team = NewTeam();
  ASSERT_EQ(Ctl({"--as", team.supervisor, "supervision", "availability", "set", "--weekly",
                 "mon-fri=09:00-17:00"})
                .exit_code,
            0);
  CtlRun propose = Ctl({"--as", team.volunteer, "supervision", "propose", "--from",
                        "2030-01-07T00:00:00Z", "--to", "2030-01-09T00:00:00Z", "--max", "3"});
  ASSERT_EQ(propose.exit_code, 0) << propose.output;
  // Three slots, best first, each with the reasons for its rank on indented lines below it, and
  // how to book the first.
  std::vector<std::string> lines = absl::StrSplit(propose.output, '\n', absl::SkipEmpty());
  std::vector<std::string> slots;
  for (const std::string& line : lines) {
    if (absl::StrContains(line, " UTC  ")) slots.push_back(line);
  }
  ASSERT_EQ(slots.size(), 3u) << propose.output;
  for (int i = 0; i < 3; ++i) {
    EXPECT_THAT(slots[i], HasSubstr(absl::StrCat(i + 1, "  2030-01-0"))) << propose.output;
    EXPECT_THAT(slots[i], HasSubstr(team.supervisor_id)) << propose.output;
  }
  EXPECT_THAT(lines, Contains(HasSubstr("SUPERVISOR")));
  EXPECT_THAT(propose.output,
              HasSubstr("book the first with: peerwellctl supervision session create --kind "
                        "individual --supervisor " +
                        team.supervisor_id + " --start 2030-01-0"));

  CtlRun json = Ctl({"--as", team.volunteer, "--json", "supervision", "propose", "--from",
                     "2030-01-07T00:00:00Z", "--to", "2030-01-09T00:00:00Z", "--max", "1"});
  ASSERT_EQ(json.exit_code, 0) << json.output;
  EXPECT_THAT(json.output, HasSubstr("{\"slots\":[{\"supervisorId\":\"" + team.supervisor_id));
}

TEST_F(PeerwellctlTest, ShowsOverdueOffersAndThePolicy) {
  StartSupervision();
  Team team = NewTeam();
  // Everyone joined just now: nobody is overdue yet, and nobody has been offered a debrief.
  CtlRun overdue = Ctl({"--as", team.coordinator, "supervision", "overdue", "--all"});
  ASSERT_EQ(overdue.exit_code, 0) << overdue.output;
  EXPECT_THAT(overdue.output, HasSubstr("no volunteer is overdue"));
  CtlRun offers = Ctl({"--as", team.volunteer, "supervision", "offers"});
  ASSERT_EQ(offers.exit_code, 0) << offers.output;
  EXPECT_THAT(offers.output, HasSubstr("no offers waiting"));

  CtlRun policy = Ctl({"--as", team.coordinator, "supervision", "policy", "get"});
  ASSERT_EQ(policy.exit_code, 0) << policy.output;
  EXPECT_THAT(policy.output, HasSubstr(" 30d "));
  EXPECT_THAT(policy.output, HasSubstr(" 24h "));

  CtlRun set = Ctl({"--as", team.coordinator, "supervision", "policy", "set", "--cadence", "21d",
                    "--two-facilitators", "on"});
  ASSERT_EQ(set.exit_code, 0) << set.output;
  std::vector<std::string> lines = absl::StrSplit(set.output, '\n');
  EXPECT_THAT(lines, Contains(AllOf(HasSubstr("cadence:"), HasSubstr(" 21d "))));
  EXPECT_THAT(lines, Contains(AllOf(HasSubstr("debrief offer window:"), HasSubstr(" 24h "))));
  EXPECT_THAT(lines, Contains(AllOf(HasSubstr("two facilitators:"), HasSubstr(" on "))));

  CtlRun denied = Ctl({"--as", team.volunteer, "supervision", "policy", "set", "--cadence", "90d"});
  EXPECT_EQ(denied.exit_code, 1) << denied.output;
  EXPECT_THAT(denied.output, HasSubstr("error: PERMISSION_DENIED"));
  CtlRun nothing = Ctl({"--as", team.coordinator, "supervision", "policy", "set"});
  EXPECT_EQ(nothing.exit_code, 2) << nothing.output;
}

TEST_F(PeerwellctlTest, ExportsACalendarToStdoutAndToAFile) {
  StartSupervision();
  Team team = NewTeam();
  ASSERT_EQ(Ctl({"--as", team.supervisor, "supervision", "availability", "set", "--weekly",
                 "mon-fri=09:00-17:00"})
                .exit_code,
            0);
  CtlRun created = Ctl({"--as", team.supervisor, "supervision", "session", "create", "--kind",
                        "individual", "--title", "One-to-one", "--participant", team.volunteer_id,
                        "--start", "2030-01-08T10:00:00Z"});
  ASSERT_EQ(created.exit_code, 0) << created.output;

  CtlRun ics = Ctl({"--as", team.volunteer, "supervision", "calendar"});
  ASSERT_EQ(ics.exit_code, 0) << ics.output;
  EXPECT_THAT(ics.output, HasSubstr("BEGIN:VCALENDAR"));
  EXPECT_THAT(ics.output, HasSubstr("BEGIN:VEVENT"));
  EXPECT_THAT(ics.output, HasSubstr("One-to-one"));

  std::string path = absl::StrCat(::testing::TempDir(), "/peerwellctl-calendar.ics");
  CtlRun file = Ctl(
      {"--as", team.coordinator, "supervision", "calendar", team.supervisor_id, "--output", path});
  ASSERT_EQ(file.exit_code, 0) << file.output;
  EXPECT_THAT(file.output, HasSubstr("wrote 1 session to " + path));
  std::ifstream written(path);
  std::stringstream contents;
  contents << written.rdbuf();
  EXPECT_THAT(contents.str(), HasSubstr("BEGIN:VCALENDAR"));
  EXPECT_THAT(contents.str(), HasSubstr("END:VCALENDAR"));
}

TEST_F(PeerwellctlTest, CreatesListsAndRevokesCalendarFeeds) {
  StartSupervision();
  Team team = NewTeam();
  // With the gateway named, the full address; the warning says it is shown once.
  CtlRun created = Ctl({"--as", team.volunteer, "supervision", "calendar", "feed", "create",
                        "--gateway", "https://peerwell.example.org/"});
  ASSERT_EQ(created.exit_code, 0) << created.output;
  EXPECT_THAT(created.output, ::testing::ContainsRegex(absl::StrCat(
                                  "address: +https://peerwell\\.example\\.org/calendar/pcf_",
                                  team.org_id, "_cf[0-9a-f]{20}_[-_A-Za-z0-9]{43}\\.ics\n")));
  EXPECT_THAT(created.output, HasSubstr("shown only now"));
  std::string feed_id = created.output.substr(created.output.find("cf"), 22);

  // Without it, the path, and how to get the full address.
  CtlRun path = Ctl({"--as", team.coordinator, "supervision", "calendar", "feed", "create",
                     "--person", team.volunteer_id},
                    true, {{"PEERWELL_GATEWAY_URL", ""}});
  ASSERT_EQ(path.exit_code, 0) << path.output;
  EXPECT_THAT(path.output, ::testing::ContainsRegex("address: +/calendar/pcf_[^ ]+\\.ics\n"));
  EXPECT_THAT(path.output, HasSubstr("--gateway"));
  CtlRun from_env =
      Ctl({"--as", team.volunteer, "--json", "supervision", "calendar", "feed", "create"}, true,
          {{"PEERWELL_GATEWAY_URL", "http://gateway.test:8080"}});
  ASSERT_EQ(from_env.exit_code, 0) << from_env.output;
  EXPECT_THAT(from_env.output, HasSubstr("\"path\":\"/calendar/pcf_"));

  CtlRun listed = Ctl({"--as", team.coordinator, "supervision", "calendar", "feed", "list",
                       "--person", team.volunteer_id});
  ASSERT_EQ(listed.exit_code, 0) << listed.output;
  EXPECT_THAT(listed.output, HasSubstr(feed_id));
  EXPECT_THAT(listed.output, Not(HasSubstr("pcf_")));
  EXPECT_EQ(std::count(listed.output.begin(), listed.output.end(), '\n'), 4) << listed.output;

  CtlRun revoked =
      Ctl({"--as", team.volunteer, "supervision", "calendar", "feed", "revoke", feed_id});
  ASSERT_EQ(revoked.exit_code, 0) << revoked.output;
  EXPECT_THAT(revoked.output, HasSubstr("calendar feed " + feed_id + " revoked"));
  CtlRun after = Ctl({"--as", team.volunteer, "supervision", "calendar", "feed", "list"});
  ASSERT_EQ(after.exit_code, 0) << after.output;
  EXPECT_THAT(after.output, Not(HasSubstr(feed_id)));
  CtlRun again =
      Ctl({"--as", team.volunteer, "supervision", "calendar", "feed", "revoke", feed_id});
  EXPECT_EQ(again.exit_code, 1) << again.output;
  EXPECT_THAT(again.output, HasSubstr("NOT_FOUND"));

  // The supervisor sees Vera's calendar but does not hand out addresses to it.
  CtlRun supervisor = Ctl({"--as", team.supervisor, "supervision", "calendar", "feed", "create",
                           "--person", team.volunteer_id});
  EXPECT_EQ(supervisor.exit_code, 1) << supervisor.output;
  EXPECT_THAT(supervisor.output, HasSubstr("PERMISSION_DENIED"));
  CtlRun bare = Ctl({"--as", team.volunteer, "supervision", "calendar", "feed"});
  EXPECT_EQ(bare.exit_code, 2) << bare.output;
  EXPECT_THAT(bare.output, HasSubstr("create, list or revoke"));
}

// A partner's commands run with its API key: aggregates (one consenting volunteer: suppressed)
// and the export as FHIR NDJSON, each needing its scope.
TEST_F(PeerwellctlTest, PartnerCommandsRunWithAnApiKeyAndItsScopes) {
  StartCheckin();
  Team team = NewTeam();
  ASSERT_EQ(Ctl({"--as", team.volunteer, "consent", "set", "--research-export", "on"}).exit_code,
            0);
  CtlRun submitted =
      Ctl({"--as", team.volunteer, "checkin", "submit", "who5", "--answer", "1=3", "--answer",
           "2=3", "--answer", "3=3", "--answer", "4=3", "--answer", "5=3", "--note", "only mine"});
  ASSERT_EQ(submitted.exit_code, 0) << submitted.output;
  auto key_of = [&](const std::vector<std::string>& scopes) {
    std::vector<std::string> args{"--as", team.coordinator, "apikey", "create", "Partner"};
    for (const std::string& scope : scopes) args.insert(args.end(), {"--scope", scope});
    CtlRun created = Ctl(args);
    EXPECT_EQ(created.exit_code, 0) << created.output;
    size_t at = created.output.find("pwk_");
    return created.output.substr(at, created.output.find_first_of(" \n", at) - at);
  };
  std::string key = key_of({"aggregates:read", "exports:read"});
  std::string aggregates_only = key_of({"aggregates:read"});

  CtlRun aggregates = Ctl({"--api-key", key, "partner", "aggregates", "who5"});
  ASSERT_EQ(aggregates.exit_code, 0) << aggregates.output;
  EXPECT_THAT(aggregates.output, HasSubstr("suppressed: fewer than 5 volunteers"));
  EXPECT_EQ(std::count(aggregates.output.begin(), aggregates.output.end(), '\n'), 13)
      << aggregates.output;

  std::string path = absl::StrCat(::testing::TempDir(), "/peerwellctl-export.ndjson");
  CtlRun exported = Ctl({"--api-key", key, "partner", "export", "--output", path});
  ASSERT_EQ(exported.exit_code, 0) << exported.output;
  EXPECT_THAT(exported.output, HasSubstr("wrote 1 check-ins of 1 volunteers"));
  std::ifstream file(path);
  std::string line;
  ASSERT_TRUE(std::getline(file, line));
  EXPECT_THAT(line, HasSubstr(R"("resourceType":"QuestionnaireResponse")"));
  EXPECT_THAT(line, Not(HasSubstr(team.volunteer_id)));
  EXPECT_THAT(line, Not(HasSubstr("only mine")));
  EXPECT_FALSE(std::getline(file, line));

  CtlRun denied = Ctl({"--api-key", aggregates_only, "partner", "export", "--output", path});
  EXPECT_EQ(denied.exit_code, 1) << denied.output;
  EXPECT_THAT(denied.output, HasSubstr("exports:read"));
  CtlRun not_a_key = Ctl({"--api-key", "eyJhbGciOi", "partner", "aggregates", "who5"});
  EXPECT_EQ(not_a_key.exit_code, 2) << not_a_key.output;
  CtlRun both = Ctl({"--api-key", key, "--as", team.coordinator, "partner", "aggregates", "who5"});
  EXPECT_EQ(both.exit_code, 2) << both.output;

  // The key from the environment; weeks, by session kind (none ended yet: only the header), and
  // an export from the day after tomorrow, which holds nothing.
  CtlRun weekly = Ctl({"partner", "aggregates", "who5", "--period", "week", "--by-session-kind"},
                      true, {{"PEERWELL_API_KEY", key}});
  ASSERT_EQ(weekly.exit_code, 0) << weekly.output;
  EXPECT_THAT(weekly.output, HasSubstr("SESSION KIND"));
  CtlRun bad_period = Ctl({"--api-key", key, "partner", "aggregates", "who5", "--period", "day"});
  EXPECT_EQ(bad_period.exit_code, 2) << bad_period.output;
  EXPECT_THAT(bad_period.output, HasSubstr("--period"));
  std::string day_after =
      absl::FormatTime(absl::RFC3339_sec, absl::Now() + absl::Hours(48), absl::UTCTimeZone());
  CtlRun later =
      Ctl({"--api-key", key, "partner", "export", "--output", path, "--since", day_after});
  ASSERT_EQ(later.exit_code, 0) << later.output;
  EXPECT_THAT(later.output, HasSubstr("wrote 0 check-ins"));
}

TEST_F(PeerwellctlTest, PartnerWebhooksAreCreatedListedLoggedAndDeleted) {
  StartCheckin();
  StartAlerts();
  StartWebhooks();
  peerwell::testing::TestReceiver receiver({204});
  Team team = NewTeam();
  ASSERT_EQ(Ctl({"--as", team.volunteer, "consent", "set", "--research-export", "on"}).exit_code,
            0);
  CtlRun key =
      Ctl({"--as", team.coordinator, "apikey", "create", "Partner", "--scope", "webhooks:manage"});
  ASSERT_EQ(key.exit_code, 0) << key.output;
  size_t at = key.output.find("pwk_");
  std::string secret = key.output.substr(at, key.output.find_first_of(" \n", at) - at);

  std::string url = absl::StrCat("http://127.0.0.1:", receiver.port(), "/hook");
  CtlRun created =
      Ctl({"--api-key", secret, "partner", "webhook", "create", url, "--event", "alert.triggered"});
  ASSERT_EQ(created.exit_code, 0) << created.output;
  EXPECT_THAT(created.output, HasSubstr("secret: whsec_"));
  EXPECT_THAT(created.output, HasSubstr("shown only now"));
  size_t id_at = created.output.find("webhook_id: ") + std::strlen("webhook_id: ");
  std::string webhook_id = created.output.substr(id_at, created.output.find('\n', id_at) - id_at);
  CtlRun listed = Ctl({"--api-key", secret, "partner", "webhook", "list"});
  ASSERT_EQ(listed.exit_code, 0) << listed.output;
  EXPECT_THAT(listed.output, HasSubstr(webhook_id));
  EXPECT_THAT(listed.output, HasSubstr(url));

  CtlRun incident =
      Ctl({"--as", team.volunteer, "checkin", "incident", "--type", "aggression", "--when", "-1h"});
  ASSERT_EQ(incident.exit_code, 0) << incident.output;
  CtlRun deliveries;
  ASSERT_TRUE(peerwell::testing::WaitFor([&] {
    deliveries = Ctl({"--api-key", secret, "partner", "webhook", "deliveries", webhook_id});
    return deliveries.exit_code == 0 && absl::StrContains(deliveries.output, "204");
  })) << deliveries.output;
  EXPECT_THAT(deliveries.output, HasSubstr("alert.triggered"));
  EXPECT_THAT(deliveries.output, HasSubstr("evt_"));

  CtlRun unscoped = Ctl({"--as", team.coordinator, "partner", "webhook", "list"});
  EXPECT_EQ(unscoped.exit_code, 1) << unscoped.output;
  EXPECT_THAT(unscoped.output, HasSubstr("PERMISSION_DENIED"));
  CtlRun deleted = Ctl({"--api-key", secret, "partner", "webhook", "delete", webhook_id});
  ASSERT_EQ(deleted.exit_code, 0) << deleted.output;
  CtlRun empty = Ctl({"--api-key", secret, "partner", "webhook", "list"});
  EXPECT_THAT(empty.output, HasSubstr("no webhooks"));
}

TEST_F(PeerwellctlTest, AVolunteerIsOfferedADebriefAfterAnIncidentAndDeclinesIt) {
  StartCheckin();
  StartSupervision();
  Team team = NewTeam();
  // Available around the clock, so that the debrief fits within the 24 hours whenever this runs.
  ASSERT_EQ(Ctl({"--as", team.supervisor, "supervision", "availability", "set", "--weekly",
                 "mon-sun=00:00-23:59"})
                .exit_code,
            0);
  CtlRun incident =
      Ctl({"--as", team.volunteer, "checkin", "incident", "--type", "aggression", "--when", "-1h"});
  ASSERT_EQ(incident.exit_code, 0) << incident.output;

  // The supervision service reads the incident from the check-in service's events.
  std::string offer_id;
  CtlRun offers;
  ASSERT_TRUE(WaitFor(
      [&] {
        offers = Ctl({"--as", team.volunteer, "supervision", "offers"});
        for (absl::string_view line : absl::StrSplit(offers.output, '\n')) {
          if (absl::StrContains(line, " debrief ")) {
            offer_id = std::string(line.substr(0, line.find(' ')));
          }
        }
        return !offer_id.empty();
      },
      absl::Seconds(20), absl::Milliseconds(200)))
      << offers.output;
  EXPECT_THAT(offers.output, HasSubstr(team.supervisor_id));
  EXPECT_THAT(offers.output, HasSubstr("ANSWER BY"));

  CtlRun declined = Ctl({"--as", team.volunteer, "supervision", "offer", "decline", offer_id});
  ASSERT_EQ(declined.exit_code, 0) << declined.output;
  EXPECT_THAT(declined.output, HasSubstr("declined"));
  std::vector<std::string> lines = absl::StrSplit(declined.output, '\n');
  EXPECT_THAT(lines, Contains(AllOf(HasSubstr("state:"), HasSubstr("declined"))));

  CtlRun none = Ctl({"--as", team.volunteer, "supervision", "offers"});
  ASSERT_EQ(none.exit_code, 0) << none.output;
  EXPECT_THAT(none.output, HasSubstr("no offers waiting"));
  CtlRun too_late = Ctl({"--as", team.volunteer, "supervision", "offer", "accept", offer_id});
  EXPECT_EQ(too_late.exit_code, 1) << too_late.output;
  EXPECT_THAT(too_late.output, HasSubstr("error: FAILED_PRECONDITION"));
}

TEST_F(PeerwellctlTest, SeedsThePeerNetworkOnceAndTheVolunteerReadsIt) {
  StartSupervision();
  StartNetwork();
  CtlRun seed = Ctl({"demo", "seed", "--json"});
  ASSERT_EQ(seed.exit_code, 0) << seed.output;
  EXPECT_THAT(seed.output, HasSubstr("\"networkChannels\":[{"));
  CtlRun again = Ctl({"demo", "seed"});
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_THAT(again.output, HasSubstr("Kwame Mensah (invited)"));
  std::string volunteer = JsonValue(seed.output, "volunteer");
  std::string coordinator = JsonValue(seed.output, "coordinator");
  ASSERT_FALSE(volunteer.empty()) << seed.output;

  // Amira reads the announcements, the cohort group and her buddy channel; the direct
  // conversation is Priya's and Seán's.
  CtlRun channels = Ctl({"--token", volunteer, "network", "channels"});
  ASSERT_EQ(channels.exit_code, 0) << channels.output;
  std::map<std::string, std::string> ids = ChannelsByKind(channels.output);
  EXPECT_EQ(ids.size(), 3u) << channels.output;
  ASSERT_TRUE(ids.contains("buddy")) << channels.output;
  // The service names a pair's channel after both, in the order of their ids.
  EXPECT_THAT(channels.output, ::testing::ContainsRegex("buddy .*(Amira Haddad and Jonas "
                                                        "Nielsen|Jonas Nielsen and Amira Haddad)"));
  EXPECT_THAT(channels.output, HasSubstr("Volunteer cohort"));

  // Every message once, although the seed ran twice, each under its author's name.
  CtlRun buddies = Ctl({"--token", volunteer, "network", "messages", ids["buddy"]});
  ASSERT_EQ(buddies.exit_code, 0) << buddies.output;
  EXPECT_EQ(MessageCount(buddies.output), 4) << buddies.output;
  EXPECT_THAT(buddies.output, HasSubstr("Jonas Nielsen  id m"));
  EXPECT_THAT(buddies.output, HasSubstr("Amira Haddad  (reply to #2)"));
  CtlRun cohort = Ctl({"--token", volunteer, "network", "messages", ids["group"], "--thread", "2"});
  ASSERT_EQ(cohort.exit_code, 0) << cohort.output;
  EXPECT_EQ(MessageCount(cohort.output), 3) << cohort.output;
  CtlRun welcome = Ctl({"--token", coordinator, "network", "messages", ids["announcement"]});
  ASSERT_EQ(welcome.exit_code, 0) << welcome.output;
  EXPECT_EQ(MessageCount(welcome.output), 1) << welcome.output;
  EXPECT_THAT(welcome.output, HasSubstr("Grace Okafor"));
}

TEST_F(PeerwellctlTest, BuddiesTalkInAThreadAndACoordinatorModerates) {
  StartNetwork();
  Team team = NewTeam();
  CtlRun other = Ctl({"--as", team.coordinator, "--json", "person", "create", "--name", "Ali",
                      "--role", "volunteer"});
  std::string ali_id = JsonValue(other.output, "personId");
  ASSERT_FALSE(ali_id.empty()) << other.output;
  std::string ali = absl::StrCat("volunteer:", ali_id, ":", team.org_id);

  CtlRun created = Ctl({"--as", team.volunteer, "--json", "network", "channel", "create", "--kind",
                        "buddy", "--invite", ali_id, "--request-id", "buddy-1"});
  ASSERT_EQ(created.exit_code, 0) << created.output;
  std::string channel = JsonValue(created.output, "channelId");
  ASSERT_FALSE(channel.empty()) << created.output;
  CtlRun too_soon = Ctl({"--as", team.volunteer, "network", "post", channel, "Hello?"});
  EXPECT_EQ(too_soon.exit_code, 1) << too_soon.output;
  EXPECT_THAT(too_soon.output, HasSubstr("BUDDY_NOT_ACCEPTED"));
  CtlRun invited = Ctl({"--as", ali, "network", "channels"});
  EXPECT_THAT(invited.output, HasSubstr("1 (+1 invited)")) << invited.output;
  CtlRun joined = Ctl({"--as", ali, "network", "join", channel});
  ASSERT_EQ(joined.exit_code, 0) << joined.output;
  EXPECT_THAT(joined.output, HasSubstr("joined"));

  CtlRun hello = Ctl({"--as", team.volunteer, "network", "post", channel, "How was your week?",
                      "--client-message-id", "hello-1"});
  ASSERT_EQ(hello.exit_code, 0) << hello.output;
  EXPECT_THAT(hello.output, HasSubstr("posted #1"));
  CtlRun retried = Ctl({"--as", team.volunteer, "network", "post", channel, "How was your week?",
                        "--client-message-id", "hello-1"});
  EXPECT_THAT(retried.output, HasSubstr("posted #1")) << retried.output;

  // The answer comes on stdin, as a reply to the first message named by its sequence.
  ServerProcess piped(
      "/bin/sh",
      {"-c", "printf 'Long, but good.\\nThanks for asking.\\n' | \"$0\" \"$@\"", PEERWELLCTL_BINARY,
       "--as", ali, "network", "post", channel, "--reply-to", "#1"},
      CtlEnv());
  piped.Start();
  ASSERT_EQ(piped.WaitForExit(absl::Seconds(20)), 0) << piped.Output();
  EXPECT_THAT(piped.Output(), HasSubstr("(reply to #1)"));

  CtlRun messages = Ctl({"--as", team.volunteer, "network", "messages", channel});
  ASSERT_EQ(messages.exit_code, 0) << messages.output;
  EXPECT_EQ(MessageCount(messages.output), 2) << messages.output;
  EXPECT_THAT(messages.output, HasSubstr("Ali  (reply to #1)"));
  EXPECT_THAT(messages.output, HasSubstr("\n    Long, but good.\n    Thanks for asking.\n"));
  // A supervisor who is not a member reads nothing.
  CtlRun supervisor = Ctl({"--as", team.supervisor, "network", "messages", channel});
  EXPECT_EQ(supervisor.exit_code, 1) << supervisor.output;
  EXPECT_THAT(supervisor.output, HasSubstr("error: PERMISSION_DENIED"));

  // Read markers are private until their owner turns receipts on.
  ASSERT_EQ(Ctl({"--as", ali, "network", "mark-read", channel}).exit_code, 0);
  CtlRun hidden = Ctl({"--as", team.volunteer, "network", "read-markers", channel});
  EXPECT_THAT(hidden.output, HasSubstr("nobody in this channel shares")) << hidden.output;
  CtlRun receipts = Ctl({"--as", ali, "network", "settings", "set", "--read-receipts", "on"});
  EXPECT_THAT(receipts.output, HasSubstr("read receipts: on")) << receipts.output;
  CtlRun shown = Ctl({"--as", team.volunteer, "network", "read-markers", channel});
  EXPECT_THAT(shown.output, HasSubstr(ali_id + "  #2")) << shown.output;

  // Reported to the coordinators, who delete it; the message keeps its place.
  CtlRun report = Ctl(
      {"--as", team.volunteer, "network", "report", channel, "2", "--reason", "Testing the queue"});
  ASSERT_EQ(report.exit_code, 0) << report.output;
  CtlRun not_mine = Ctl({"--as", team.volunteer, "network", "reports"});
  EXPECT_EQ(not_mine.exit_code, 1) << not_mine.output;
  CtlRun queue = Ctl({"--as", team.coordinator, "network", "reports", "--state", "open"});
  ASSERT_EQ(queue.exit_code, 0) << queue.output;
  EXPECT_THAT(queue.output, HasSubstr("reason: Testing the queue"));
  EXPECT_THAT(queue.output, HasSubstr("message: Ali: Long, but good. Thanks for asking."));
  EXPECT_THAT(queue.output, HasSubstr(team.volunteer_id));
  std::string report_id = queue.output.substr(queue.output.find("\nr") + 1);
  report_id = report_id.substr(0, report_id.find(' '));
  CtlRun resolved = Ctl({"--as", team.coordinator, "network", "resolve", report_id, "--action",
                         "delete", "--note", "Only a test"});
  ASSERT_EQ(resolved.exit_code, 0) << resolved.output;
  EXPECT_THAT(resolved.output, HasSubstr("the message is deleted"));
  CtlRun after = Ctl({"--as", ali, "network", "messages", channel, "--last", "1"});
  ASSERT_EQ(after.exit_code, 0) << after.output;
  EXPECT_EQ(MessageCount(after.output), 1) << after.output;
  EXPECT_THAT(after.output, HasSubstr("#2  "));
  EXPECT_THAT(after.output, HasSubstr("(deleted)"));
  CtlRun bad_action =
      Ctl({"--as", team.coordinator, "network", "resolve", report_id, "--action", "ban"});
  EXPECT_EQ(bad_action.exit_code, 2) << bad_action.output;
}

TEST_F(PeerwellctlTest, TailFollowsAChannelAndResumesAfterTheServiceRestarts) {
  StartNetwork();
  Team team = NewTeam();
  CtlRun other = Ctl({"--as", team.coordinator, "--json", "person", "create", "--name", "Ali",
                      "--role", "volunteer"});
  std::string ali_id = JsonValue(other.output, "personId");
  ASSERT_FALSE(ali_id.empty()) << other.output;
  std::string ali = absl::StrCat("volunteer:", ali_id, ":", team.org_id);
  CtlRun created = Ctl({"--as", team.volunteer, "--json", "network", "channel", "create", "--kind",
                        "direct", "--member", ali_id});
  std::string channel = JsonValue(created.output, "channelId");
  ASSERT_FALSE(channel.empty()) << created.output;
  ASSERT_EQ(Ctl({"--as", ali, "network", "post", channel, "Before the tail"}).exit_code, 0);

  // Following everything: a channel the volunteer is only invited to is not theirs to follow
  // yet, and does not stop the others.
  ASSERT_EQ(Ctl({"--as", ali, "network", "channel", "create", "--kind", "buddy", "--invite",
                 team.volunteer_id})
                .exit_code,
            0);
  ServerProcess all(PEERWELLCTL_BINARY,
                    {"--as", team.volunteer, "network", "tail", "--count", "1", "--for", "30s"},
                    CtlEnv());
  all.Start();
  ASSERT_TRUE(
      WaitFor([&] { return absl::StrContains(all.Output(), "following all"); }, absl::Seconds(10)))
      << all.Output();
  ASSERT_EQ(Ctl({"--as", ali, "network", "post", channel, "To everything"}).exit_code, 0);
  std::optional<int> all_exit = all.WaitForExit(absl::Seconds(20));
  ASSERT_TRUE(all_exit.has_value()) << all.Output();
  EXPECT_EQ(*all_exit, 0) << all.Output();
  EXPECT_THAT(all.Output(), ::testing::ContainsRegex("(Vera and Ali|Ali and Vera)\\] #2  "));
  EXPECT_THAT(all.Output(), HasSubstr(absl::StrCat("--cursor ", channel, ":2")));

  // From now: the messages posted before it started are not shown.
  ServerProcess tail(
      PEERWELLCTL_BINARY,
      {"--as", team.volunteer, "network", "tail", channel, "--count", "3", "--for", "60s"},
      CtlEnv());
  tail.Start();
  ASSERT_TRUE(WaitFor([&] { return absl::StrContains(tail.Output(), "following channel"); },
                      absl::Seconds(10)))
      << tail.Output();
  ASSERT_EQ(Ctl({"--as", ali, "network", "post", channel, "First live"}).exit_code, 0);
  ASSERT_TRUE(
      WaitFor([&] { return absl::StrContains(tail.Output(), "First live"); }, absl::Seconds(10)))
      << tail.Output();

  // A rolling update ends the stream with UNAVAILABLE; what is posted meanwhile still arrives,
  // once each and in order.
  RestartNetwork();
  ASSERT_EQ(Ctl({"--as", ali, "network", "post", channel, "Second, after the restart"}).exit_code,
            0);
  ASSERT_EQ(Ctl({"--as", ali, "network", "post", channel, "Third"}).exit_code, 0);
  std::optional<int> exit_code = tail.WaitForExit(absl::Seconds(45));
  ASSERT_TRUE(exit_code.has_value()) << tail.Output();
  EXPECT_EQ(*exit_code, 0) << tail.Output();
  std::string output = tail.Output();
  EXPECT_EQ(MessageCount(output), 3) << output;
  EXPECT_THAT(output, Not(HasSubstr("Before the tail")));
  EXPECT_THAT(output, Not(HasSubstr("To everything")));
  size_t first = output.find("#3  ");
  size_t second = output.find("#4  ");
  size_t third = output.find("#5  ");
  EXPECT_TRUE(first < second && second < third && third != std::string::npos) << output;
  EXPECT_THAT(output, HasSubstr("resuming after the last message seen"));
  EXPECT_THAT(output, HasSubstr(absl::StrCat("network tail ", channel, " --after 5")));
}

}  // namespace
}  // namespace peerwell
