#include "services/common/config.h"

#include <stdlib.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace peerwell {
namespace {

using ::testing::HasSubstr;

const ServiceDefaults kDefaults{"directory", 50051, 9551};
const std::string kSecret = "--jwt_secret=0123456789abcdef0123456789abcdef";

// A secret in a file of its own, as a mounted Secret holds it: the caller removes it.
std::string WriteSecretFile(const std::string& contents) {
  char path[] = "/tmp/peerwell-secret-XXXXXX";
  int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(write(fd, contents.data(), contents.size()), static_cast<ssize_t>(contents.size()));
  close(fd);
  return path;
}

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name :
         {"PEERWELL_LISTEN_ADDR", "PEERWELL_REDIS_ADDR", "PEERWELL_JWT_SECRET",
          "PEERWELL_JWT_SECRET_FILE", "PEERWELL_LOG_LEVEL", "PEERWELL_REDIS_USER",
          "PEERWELL_REDIS_PASSWORD", "PEERWELL_REDIS_PASSWORD_FILE", "PEERWELL_REDIS_MODE"}) {
      unsetenv(name);
    }
  }
};

TEST_F(ConfigTest, DefaultsFollowTheContract) {
  auto config = LoadServiceConfig({kSecret}, kDefaults);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->listen_addr, "127.0.0.1:50051");
  EXPECT_EQ(config->directory_addr, "127.0.0.1:50051");
  EXPECT_EQ(config->checkin_addr, "127.0.0.1:50052");
  EXPECT_EQ(config->redis.ToString(), "127.0.0.1:6379");
}

TEST_F(ConfigTest, EnvironmentOverridesDefaultAndFlagOverridesEnvironment) {
  setenv("PEERWELL_LISTEN_ADDR", "127.0.0.1:6000", 1);
  EXPECT_EQ(LoadServiceConfig({kSecret}, kDefaults)->listen_addr, "127.0.0.1:6000");
  EXPECT_EQ(LoadServiceConfig({kSecret, "--listen_addr", "127.0.0.1:0"}, kDefaults)->listen_addr,
            "127.0.0.1:0");
}

TEST_F(ConfigTest, ReadsUnixSocketRedis) {
  auto config = LoadServiceConfig({kSecret, "--redis_addr=unix:/run/redis.sock"}, kDefaults);
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->redis.unix_path, "/run/redis.sock");
}

TEST_F(ConfigTest, ReadsClusterSeedsInClusterMode) {
  auto config = LoadServiceConfig(
      {kSecret, "--redis_mode=cluster", "--redis_addr=10.0.0.1:7000, redis-1.redis:7001"},
      kDefaults);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->redis.cluster);
  EXPECT_EQ(config->redis.seeds, (std::vector<std::pair<std::string, int>>{
                                     {"10.0.0.1", 7000}, {"redis-1.redis", 7001}}));
  EXPECT_EQ(config->redis.host, "10.0.0.1");
  EXPECT_EQ(config->redis.ToString(), "cluster 10.0.0.1:7000,redis-1.redis:7001");
  // One of its nodes by itself, as the same user.
  config->redis.username = "alerts";
  RedisAddress node = config->redis.Node("redis-1.redis", 7001);
  EXPECT_FALSE(node.cluster);
  EXPECT_TRUE(node.seeds.empty());
  EXPECT_EQ(node.ToString(), "redis-1.redis:7001");
  EXPECT_EQ(node.username, "alerts");
  // A list is a cluster's alone; one server is not taken for a cluster.
  EXPECT_THAT(LoadServiceConfig({kSecret, "--redis_addr=10.0.0.1:7000,10.0.0.2:7000"}, kDefaults)
                  .status()
                  .message(),
              HasSubstr("PEERWELL_REDIS_ADDR"));
  EXPECT_FALSE(LoadServiceConfig({kSecret}, kDefaults)->redis.cluster);
}

TEST_F(ConfigTest, ErrorsNameTheSetting) {
  EXPECT_THAT(LoadServiceConfig({}, kDefaults).status().message(),
              HasSubstr("PEERWELL_JWT_SECRET"));
  EXPECT_THAT(LoadServiceConfig({"--jwt_secret=short"}, kDefaults).status().message(),
              HasSubstr("at least 32 bytes"));
  EXPECT_THAT(LoadServiceConfig({kSecret, "--redis_addr=nowhere"}, kDefaults).status().message(),
              HasSubstr("PEERWELL_REDIS_ADDR"));
  EXPECT_THAT(LoadServiceConfig({kSecret, "--listen_addr=x"}, kDefaults).status().message(),
              HasSubstr("--listen_addr"));
  EXPECT_THAT(LoadServiceConfig({kSecret, "--log_level=loud"}, kDefaults).status().message(),
              HasSubstr("PEERWELL_LOG_LEVEL"));
  EXPECT_THAT(LoadServiceConfig({kSecret, "--bogus=1"}, kDefaults).status().message(),
              HasSubstr("unknown flag --bogus"));
  EXPECT_THAT(LoadServiceConfig({kSecret, "--master_key=abc"}, kDefaults).status().message(),
              HasSubstr("PEERWELL_MASTER_KEY"));
  EXPECT_THAT(LoadServiceConfig({kSecret, "--redis_min_replicas=-1"}, kDefaults).status().message(),
              HasSubstr("PEERWELL_REDIS_MIN_REPLICAS"));
  EXPECT_THAT(LoadServiceConfig({kSecret, "--redis_mode=sentinel"}, kDefaults).status().message(),
              HasSubstr("PEERWELL_REDIS_MODE"));
  EXPECT_THAT(LoadServiceConfig({kSecret, "--redis_mode=cluster", "--redis_addr=unix:/run/r.sock"},
                                kDefaults)
                  .status()
                  .message(),
              HasSubstr("PEERWELL_REDIS_ADDR"));
}

TEST_F(ConfigTest, WritesWaitForNoReplicaUnlessAsked) {
  EXPECT_EQ(LoadServiceConfig({kSecret}, kDefaults)->redis_min_replicas, 0);
  EXPECT_EQ(LoadServiceConfig({kSecret, "--redis_min_replicas=1"}, kDefaults)->redis_min_replicas,
            1);
}

TEST_F(ConfigTest, ReadsSecretFromFile) {
  std::string path = WriteSecretFile("from-a-file-0123456789abcdef0123456789\n");
  setenv("PEERWELL_JWT_SECRET_FILE", path.c_str(), 1);
  auto config = LoadServiceConfig({}, kDefaults);
  unlink(path.c_str());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->jwt_secret, "from-a-file-0123456789abcdef0123456789");
}

TEST_F(ConfigTest, TheRedisUserIsTheServicesOwnAndItsPasswordASecret) {
  auto anonymous = LoadServiceConfig({kSecret}, kDefaults);
  ASSERT_TRUE(anonymous.ok()) << anonymous.status();
  EXPECT_EQ(anonymous->redis.username, "directory");
  EXPECT_EQ(anonymous->redis.password, "");

  std::string path = WriteSecretFile("redis-password-of-the-directory\n");
  setenv("PEERWELL_REDIS_PASSWORD_FILE", path.c_str(), 1);
  auto config = LoadServiceConfig({kSecret}, kDefaults);
  auto both = LoadServiceConfig({kSecret, "--redis_password=also"}, kDefaults);
  unsetenv("PEERWELL_REDIS_PASSWORD_FILE");
  unlink(path.c_str());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->redis.username, "directory");
  EXPECT_EQ(config->redis.password, "redis-password-of-the-directory");
  // Where Redis is, never the password.
  EXPECT_EQ(config->redis.ToString(), "127.0.0.1:6379");
  EXPECT_THAT(both.status().message(), HasSubstr("PEERWELL_REDIS_PASSWORD"));

  auto other_user =
      LoadServiceConfig({kSecret, "--redis_user=dir", "--redis_password=p"}, kDefaults);
  ASSERT_TRUE(other_user.ok()) << other_user.status();
  EXPECT_EQ(other_user->redis.username, "dir");
  EXPECT_THAT(LoadServiceConfig({kSecret, "--redis_user=", "--redis_password=p"}, kDefaults)
                  .status()
                  .message(),
              HasSubstr("PEERWELL_REDIS_USER"));
}

}  // namespace
}  // namespace peerwell
