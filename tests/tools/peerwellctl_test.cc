// peerwellctl as a person uses it: against the real directory, check-in and alerts binaries and
// a real redis-server.
#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/process.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/tokens.h"
#include "tests/testing/wait.h"

namespace peerwell {
namespace {

using ::peerwell::testing::kTestMasterKey;
using ::peerwell::testing::RedisServer;
using ::peerwell::testing::ServerProcess;
using ::peerwell::testing::StartedServer;
using ::peerwell::testing::WaitFor;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

// Nothing listens here, so the CLI finds no check-in or alerts service unless a test starts one
// (and never reaches one that happens to run on the default port).
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
  StartedServer Start(const char* binary, std::vector<std::pair<std::string, std::string>> env) {
    env.push_back({"PEERWELL_JWT_SECRET", peerwell::testing::kTestJwtSecret});
    env.push_back({"PEERWELL_REDIS_ADDR", redis_.address_string()});
    if (!directory_.address.empty()) env.push_back({"PEERWELL_DIRECTORY_ADDR", directory_.address});
    auto started = peerwell::testing::StartServer(binary, std::move(env));
    EXPECT_TRUE(started.ok()) << started.status();
    return started.ok() ? *std::move(started) : StartedServer{};
  }

  void StartCheckin() {
    checkin_ = Start(PEERWELL_CHECKIN_BINARY, {{"PEERWELL_MASTER_KEY", kTestMasterKey}});
  }

  // Started before anything is seeded, so that it sees every check-in event.
  void StartAlerts() { alerts_ = Start(PEERWELL_ALERTS_BINARY, {}); }

  // A new organisation with one volunteer; the volunteer's --as identity.
  std::string NewVolunteer() {
    CtlRun org = Ctl({"--as", "admin:ops", "--json", "org", "create", "Lighthouse"});
    std::string org_id = JsonValue(org.output, "organizationId");
    EXPECT_FALSE(org_id.empty()) << org.output;
    CtlRun volunteer = Ctl({"--as", "coordinator:p0000000000000000beef:" + org_id, "--json",
                            "person", "create", "--name", "Vera", "--role", "volunteer"});
    std::string person_id = JsonValue(volunteer.output, "personId");
    EXPECT_FALSE(person_id.empty()) << volunteer.output;
    return absl::StrCat("volunteer:", person_id, ":", org_id);
  }

  // Where the CLI finds the services (and, `with_secret`, the signing secret for --as).
  std::vector<std::pair<std::string, std::string>> CtlEnv(bool with_secret = true) {
    std::vector<std::pair<std::string, std::string>> env{
        {"PEERWELL_DIRECTORY_ADDR", directory_.address},
        {"PEERWELL_CHECKIN_ADDR", checkin_.process ? checkin_.address : kNothingListens},
        {"PEERWELL_ALERTS_ADDR", alerts_.process ? alerts_.address : kNothingListens}};
    if (with_secret) env.push_back({"PEERWELL_JWT_SECRET", peerwell::testing::kTestJwtSecret});
    return env;
  }

  CtlRun Ctl(std::vector<std::string> args, bool with_secret = true) {
    ServerProcess ctl(PEERWELLCTL_BINARY, args, CtlEnv(with_secret));
    ctl.Start();
    CtlRun run;
    run.exit_code = ctl.WaitForExit(absl::Seconds(20)).value_or(-1);
    run.output = ctl.Output();
    return run;
  }

  RedisServer redis_;
  StartedServer directory_, checkin_, alerts_;
};

TEST_F(PeerwellctlTest, SeedsTheDemoOrganisationOnceAndListsItsPeople) {
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
}

TEST_F(PeerwellctlTest, ExitCodesTellUsageFromServiceErrors) {
  CtlRun usage = Ctl({"person", "frobnicate"});
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_THAT(usage.output, HasSubstr("help"));

  CtlRun no_token = Ctl({"person", "list"});
  EXPECT_EQ(no_token.exit_code, 1);
  EXPECT_THAT(no_token.output, HasSubstr("error: UNAUTHENTICATED"));

  CtlRun denied = Ctl({"--as", "volunteer:p0000000000000000beef:o0000000000000000dead", "person",
                       "create", "--name", "X", "--role", "volunteer"});
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

  CtlRun coordinator = Ctl({"--as", "admin:ops:" + org_id, "person", "create", "--name", "Grace",
                            "--role", "coordinator", "--timezone", "Europe/London"});
  ASSERT_EQ(coordinator.exit_code, 0) << coordinator.output;
  EXPECT_THAT(coordinator.output, HasSubstr("Grace"));

  CtlRun bad_zone = Ctl({"--as", "coordinator:p0000000000000000beef:" + org_id, "person", "create",
                         "--name", "Vera", "--role", "volunteer", "--timezone", "Nowhere/Else"});
  EXPECT_EQ(bad_zone.exit_code, 1);
  EXPECT_THAT(bad_zone.output, HasSubstr("person.timezone"));

  CtlRun key = Ctl({"--as", "coordinator:p0000000000000000beef:" + org_id, "apikey", "create",
                    "Partner", "--scope", "aggregates:read"});
  ASSERT_EQ(key.exit_code, 0) << key.output;
  EXPECT_THAT(key.output, HasSubstr("pwk_" + org_id));
  CtlRun keys = Ctl({"--as", "coordinator:p0000000000000000beef:" + org_id, "apikey", "list"});
  ASSERT_EQ(keys.exit_code, 0) << keys.output;
  EXPECT_THAT(keys.output, HasSubstr("Partner"));
  EXPECT_THAT(keys.output, Not(HasSubstr("pwk_")));
}

TEST_F(PeerwellctlTest, SeedsCheckinHistoryOnceAndTheVolunteerListsIt) {
  StartCheckin();
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

  CtlRun get = Ctl({"--token", supervisor, "alerts", "get", alert_id});
  ASSERT_EQ(get.exit_code, 0) << get.output;
  EXPECT_THAT(get.output, HasSubstr("factors:"));

  CtlRun ack = Ctl({"--token", supervisor, "alerts", "ack", alert_id});
  ASSERT_EQ(ack.exit_code, 0) << ack.output;
  EXPECT_THAT(ack.output, HasSubstr("acknowledged"));

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

}  // namespace
}  // namespace peerwell
