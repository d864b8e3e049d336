#include "services/common/paging.h"

#include "gtest/gtest.h"

namespace peerwell {
namespace {

class PageTokenTest : public ::testing::Test {
 protected:
  PageTokenCodec codec_{PageTokenKey("a-jwt-secret-of-at-least-32-bytes!!")};
};

TEST_F(PageTokenTest, RoundTripsPosition) {
  std::string token = codec_.Encode("o1", "people/1/0/p1", "42");
  auto position = codec_.Decode(token, "o1", "people/1/0/p1");
  ASSERT_TRUE(position.ok()) << position.status();
  EXPECT_EQ(*position, "42");
  EXPECT_EQ(token.find("42"), std::string::npos) << "token must be opaque";
}

TEST_F(PageTokenTest, EmptyTokenIsFirstPage) { EXPECT_EQ(*codec_.Decode("", "o1", "q"), ""); }

TEST_F(PageTokenTest, RefusesTamperedToken) {
  std::string token = codec_.Encode("o1", "q", "42");
  for (size_t i = 0; i < token.size(); ++i) {
    std::string tampered = token;
    tampered[i] = tampered[i] == 'A' ? 'B' : 'A';
    auto decoded = codec_.Decode(tampered, "o1", "q");
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument) << i;
  }
}

TEST_F(PageTokenTest, RefusesForeignOrganisationOrQuery) {
  std::string token = codec_.Encode("o1", "q", "42");
  EXPECT_EQ(codec_.Decode(token, "o2", "q").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(codec_.Decode(token, "o1", "q2").status().code(), absl::StatusCode::kInvalidArgument);
  PageTokenCodec other(PageTokenKey("another-secret-of-at-least-32-bytes"));
  EXPECT_EQ(other.Decode(token, "o1", "q").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(PageTokenTest, NamesTheField) {
  EXPECT_NE(codec_.Decode("!!!", "o1", "q").status().message().find("page_token"),
            absl::string_view::npos);
}

}  // namespace
}  // namespace peerwell
