// peerwellctl as a person uses it: against the real directory binary and a real redis-server.
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/process.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/tokens.h"

namespace peerwell {
namespace {

using ::peerwell::testing::RedisServer;
using ::peerwell::testing::ServerProcess;
using ::testing::HasSubstr;
using ::testing::Not;

struct CtlRun {
  int exit_code = -1;
  std::string output;
};

class PeerwellctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = std::make_unique<ServerProcess>(
        PEERWELL_DIRECTORY_BINARY,
        std::vector<std::string>{"--listen_addr=127.0.0.1:0", "--metrics_addr=127.0.0.1:0",
                                 "--redis_addr=" + redis_.address_string()},
        std::vector<std::pair<std::string, std::string>>{
            {"PEERWELL_JWT_SECRET", peerwell::testing::kTestJwtSecret}});
    directory_->Start();
    int port = directory_->WaitForLoggedPort(absl::Seconds(10));
    ASSERT_GT(port, 0) << directory_->Output();
    address_ = absl::StrCat("127.0.0.1:", port);
  }

  CtlRun Ctl(std::vector<std::string> args, bool with_secret = true) {
    std::vector<std::pair<std::string, std::string>> env{{"PEERWELL_DIRECTORY_ADDR", address_}};
    if (with_secret) env.push_back({"PEERWELL_JWT_SECRET", peerwell::testing::kTestJwtSecret});
    ServerProcess ctl(PEERWELLCTL_BINARY, args, env);
    ctl.Start();
    CtlRun run;
    run.exit_code = ctl.WaitForExit(absl::Seconds(20)).value_or(-1);
    run.output = ctl.Output();
    return run;
  }

  RedisServer redis_;
  std::unique_ptr<ServerProcess> directory_;
  std::string address_;
};

TEST_F(PeerwellctlTest, SeedsTheDemoOrganisationOnceAndListsItsPeople) {
  CtlRun seed = Ctl({"demo", "seed", "--json"});
  ASSERT_EQ(seed.exit_code, 0) << seed.output;
  EXPECT_THAT(seed.output, HasSubstr("Harbour Peer Support (demo)"));
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

}  // namespace
}  // namespace peerwell
