#include "services/common/validation.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/ids.h"

namespace peerwell {
namespace {

using ::testing::HasSubstr;

TEST(ValidateTextTest, AcceptsUnicodeWithinLimits) {
  EXPECT_TRUE(ValidateText("display_name", "Søren Ålund", 1, 11).ok());
}

TEST(ValidateTextTest, CountsCharactersNotBytes) {
  EXPECT_TRUE(ValidateText("f", "ææææ", 1, 4).ok());
  EXPECT_FALSE(ValidateText("f", "æææææ", 1, 4).ok());
}

TEST(ValidateTextTest, NamesFieldAndRule) {
  absl::Status status = ValidateText("person.display_name", "", 1, 100);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("person.display_name"));
  EXPECT_THAT(status.message(), HasSubstr("required"));
}

TEST(ValidateTextTest, RefusesControlCharactersAndBadUtf8) {
  EXPECT_THAT(ValidateText("f", "a\nb", 1, 10).message(), HasSubstr("control"));
  EXPECT_THAT(ValidateText("f", "a\x7f", 1, 10).message(), HasSubstr("control"));
  EXPECT_THAT(ValidateText("f", "\xc3", 1, 10).message(), HasSubstr("UTF-8"));
  EXPECT_THAT(ValidateText("f", "\xc0\xaf", 1, 10).message(), HasSubstr("UTF-8"));  // overlong
  EXPECT_THAT(ValidateText("f", "\xed\xa0\x80", 1, 10).message(), HasSubstr("UTF-8"));
}

TEST(ValidateTokenTest, AllowsRequestIdCharacters) {
  EXPECT_TRUE(ValidateToken("request_id", "2f1c-9a:b_c.d").ok());
  EXPECT_FALSE(ValidateToken("request_id", "").ok());
  EXPECT_FALSE(ValidateToken("request_id", "has space").ok());
  EXPECT_FALSE(ValidateToken("request_id", std::string(129, 'a')).ok());
}

TEST(PageSizeTest, DefaultsCapsAndRefusesNegative) {
  EXPECT_EQ(*NormalizePageSize("page_size", 0), 50);
  EXPECT_EQ(*NormalizePageSize("page_size", 7), 7);
  EXPECT_EQ(*NormalizePageSize("page_size", 5000), 1000);
  EXPECT_THAT(NormalizePageSize("page_size", -1).status().message(), HasSubstr("page_size"));
}

TEST(LocalTimeOfDayTest, ParsesTwentyFourHourClock) {
  EXPECT_EQ(ParseLocalTimeOfDay("00:00"), 0);
  EXPECT_EQ(ParseLocalTimeOfDay("23:59"), 23 * 60 + 59);
  EXPECT_EQ(ParseLocalTimeOfDay("24:00"), std::nullopt);
  EXPECT_EQ(ParseLocalTimeOfDay("7:30"), std::nullopt);
  EXPECT_EQ(ParseLocalTimeOfDay("07:60"), std::nullopt);
  EXPECT_EQ(ParseLocalTimeOfDay("07-30"), std::nullopt);
}

TEST(TimeZoneTest, KnowsIanaNamesOnly) {
  EXPECT_TRUE(IsIanaTimeZone("Europe/Copenhagen"));
  EXPECT_TRUE(IsIanaTimeZone("America/Argentina/Buenos_Aires"));
  EXPECT_TRUE(IsIanaTimeZone("UTC"));
  EXPECT_FALSE(IsIanaTimeZone("Mars/Olympus_Mons"));
  EXPECT_FALSE(IsIanaTimeZone("../../etc/passwd"));
  EXPECT_FALSE(IsIanaTimeZone("/etc/localtime"));
  EXPECT_FALSE(IsIanaTimeZone(""));
}

TEST(IdsTest, NewIdsAreWellFormedAndDistinct) {
  std::string a = NewId("p");
  std::string b = NewId("p");
  EXPECT_NE(a, b);
  EXPECT_TRUE(IsWellFormedId(a, "p"));
  EXPECT_FALSE(IsWellFormedId(a, "o"));
  EXPECT_FALSE(IsWellFormedId("p123", "p"));
  EXPECT_FALSE(IsWellFormedId("pZZZZZZZZZZZZZZZZZZZZ", "p"));
}

TEST(IdsTest, StreamIdsOrderAsTheStreamDoesNotAsText) {
  EXPECT_TRUE(StreamIdBefore("999-5", "1000-0"));  // as text, "999-5" sorts after
  EXPECT_TRUE(StreamIdBefore("1000-2", "1000-10"));
  EXPECT_FALSE(StreamIdBefore("1000-10", "1000-2"));
  EXPECT_FALSE(StreamIdBefore("1000-2", "1000-2"));
  EXPECT_FALSE(StreamIdBefore("missed-v1-1000", "1000-2"));  // not an entry id
  EXPECT_FALSE(StreamIdBefore("1000-2", "2000"));
  EXPECT_EQ(ParseStreamId("18446744073709551615-7"), std::make_pair(18446744073709551615ULL, 7ULL));
  EXPECT_FALSE(ParseStreamId("12-x").has_value());
}

}  // namespace
}  // namespace peerwell
