#include "services/common/log.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace peerwell {
namespace {

using ::testing::HasSubstr;

TEST(LogTest, WritesOneJsonObjectPerLine) {
  std::string line = FormatLogLine(Severity::kInfo, "directory", "serving",
                                   {NumberField("port", 50051), Field("rpc", "GetPerson")});
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line.front(), '{');
  EXPECT_EQ(line.back(), '}');
  EXPECT_THAT(line, HasSubstr(R"("severity":"INFO")"));
  EXPECT_THAT(line, HasSubstr(R"("service":"directory")"));
  EXPECT_THAT(line, HasSubstr(R"("message":"serving")"));
  EXPECT_THAT(line, HasSubstr(R"("port":50051)"));
  EXPECT_THAT(line, HasSubstr(R"("timestamp":")"));
}

TEST(LogTest, EscapesWhatWouldBreakTheLine) {
  std::string line = FormatLogLine(Severity::kError, "s", "a \"quoted\"\nline\\", {});
  EXPECT_THAT(line, HasSubstr(R"(a \"quoted\"\nline\\)"));
  EXPECT_EQ(JsonEscape(std::string("\x01", 1)), "\\u0001");
}

}  // namespace
}  // namespace peerwell
