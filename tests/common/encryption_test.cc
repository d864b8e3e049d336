#include "services/common/encryption.h"

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace peerwell {
namespace {

TEST(AesGcmTest, SealsAndOpensWithTheSameKeyAndAad) {
  std::string key = *NewDataKey();
  auto sealed = SealAesGcm(key, "I had a hard night after the group.", "o1|p1|c1");
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->find("hard night"), std::string::npos);
  auto opened = OpenAesGcm(key, *sealed, "o1|p1|c1");
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, "I had a hard night after the group.");
}

TEST(AesGcmTest, SameTextSealsDifferentlyEachTime) {
  std::string key = *NewDataKey();
  EXPECT_NE(*SealAesGcm(key, "same", "aad"), *SealAesGcm(key, "same", "aad"));
}

TEST(AesGcmTest, RefusesOtherAadOtherKeyOrAnyAlteration) {
  std::string key = *NewDataKey();
  std::string sealed = *SealAesGcm(key, "note", "o1|p1|c1");
  // Copied to another record, volunteer or organisation: it does not open.
  EXPECT_EQ(OpenAesGcm(key, sealed, "o1|p1|c2").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(OpenAesGcm(*NewDataKey(), sealed, "o1|p1|c1").status().code(),
            absl::StatusCode::kDataLoss);
  for (size_t i = 0; i < sealed.size(); ++i) {
    std::string altered = sealed;
    altered[i] ^= 0x01;
    EXPECT_FALSE(OpenAesGcm(key, altered, "o1|p1|c1").ok()) << i;
  }
  EXPECT_FALSE(OpenAesGcm(key, sealed.substr(0, 10), "o1|p1|c1").ok());
  EXPECT_TRUE(OpenAesGcm(key, *SealAesGcm(key, "", "x"), "x").ok());  // empty text is fine
}

TEST(MasterKeyTest, WrapsDataKeysForOneVolunteerOnly) {
  auto master = MasterKey::FromBase64(absl::Base64Escape(std::string(32, '\x07')));
  ASSERT_TRUE(master.ok());
  std::string data_key = *NewDataKey();
  std::string wrapped = *master->Wrap(data_key, "o1", "p1");
  EXPECT_EQ(wrapped.find(data_key), std::string::npos);
  EXPECT_EQ(*master->Unwrap(wrapped, "o1", "p1"), data_key);
  EXPECT_FALSE(master->Unwrap(wrapped, "o1", "p2").ok());
  EXPECT_FALSE(master->Unwrap(wrapped, "o2", "p1").ok());
  auto other = MasterKey::FromBase64(absl::Base64Escape(std::string(32, '\x08')));
  EXPECT_FALSE(other->Unwrap(wrapped, "o1", "p1").ok());
  EXPECT_FALSE(MasterKey::FromBase64("c2hvcnQ=").ok());
}

}  // namespace
}  // namespace peerwell
