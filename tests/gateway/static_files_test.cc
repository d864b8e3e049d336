#include "services/gateway/static_files.h"

#include <gtest/gtest.h>

namespace peerwell::gateway {
namespace {

TEST(StaticFilesTest, AFolderIsServedByItsIndex) {
  StaticFiles files({{"/index.html", "text/html", "dashboard"},
                     {"/app.js", "text/javascript", "script"},
                     {"/volunteer/index.html", "text/html", "app"},
                     {"/volunteer/app.js", "text/javascript", "app script"}});
  ASSERT_NE(files.Find("/"), nullptr);
  EXPECT_EQ(files.Find("/")->body, "dashboard");
  ASSERT_NE(files.Find("/volunteer/"), nullptr);
  EXPECT_EQ(files.Find("/volunteer/")->body, "app");
  EXPECT_EQ(files.Find("/volunteer/app.js")->body, "app script");
  EXPECT_EQ(files.Find("/app.js")->body, "script");
}

TEST(StaticFilesTest, NothingElseIsFound) {
  StaticFiles files({{"/index.html", "text/html", "dashboard"},
                     {"/volunteer/index.html", "text/html", "app"}});
  EXPECT_EQ(files.Find("/volunteer"), nullptr);  // the gateway redirects it to "/volunteer/"
  EXPECT_EQ(files.Find("/other/"), nullptr);
  EXPECT_EQ(files.Find("/volunteer/missing.js"), nullptr);
  EXPECT_EQ(files.Find(""), nullptr);
}

TEST(StaticFilesTest, TheEmbeddedFilesHoldBothPages) {
  for (const char* path : {"/", "/app.js", "/shared/api.js", "/volunteer/", "/volunteer/app.js",
                           "/volunteer/sw.js", "/volunteer/manifest.webmanifest"}) {
    EXPECT_NE(WebFiles().Find(path), nullptr) << path;
  }
  EXPECT_EQ(WebFiles().Find("/volunteer/manifest.webmanifest")->content_type,
            "application/manifest+json");
}

}  // namespace
}  // namespace peerwell::gateway
