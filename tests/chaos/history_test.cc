// The history checker finds each kind of anomaly, and passes a history that has none.
#include "tests/chaos/history.h"

#include "gtest/gtest.h"

namespace peerwell::chaos {
namespace {

void Attempt(History& history, const std::string& key, Outcome outcome,
             const std::string& id = "") {
  size_t index = history.Invoke(0, "message", key, "channel-1");
  history.Complete(index, outcome, id);
}

TEST(HistoryTest, AcceptsOkWritesStoredOnceAndUnknownsRetriedToOk) {
  History history;
  Attempt(history, "a", Outcome::kOk, "m1");
  Attempt(history, "b", Outcome::kUnknown);
  Attempt(history, "b", Outcome::kOk, "m2");  // the retry with the same key
  Attempt(history, "c", Outcome::kUnknown);   // never retried: may be stored, or not
  Attempt(history, "d", Outcome::kFail);
  Verdict verdict = history.Check(
      "message", {{"a", "m1", "channel-1", 1}, {"b", "m2", "channel-1", 2}}, true);
  EXPECT_TRUE(verdict.Clean()) << Summary(verdict);
  EXPECT_EQ(verdict.attempts, 5);
  EXPECT_EQ(verdict.writes, 4);
  EXPECT_EQ(verdict.ok, 2);
  EXPECT_EQ(verdict.unknown, 2);
  EXPECT_EQ(verdict.failed, 1);
}

TEST(HistoryTest, FindsALostAcknowledgedWrite) {
  History history;
  Attempt(history, "a", Outcome::kOk, "m1");
  Verdict verdict = history.Check("message", {});
  EXPECT_EQ(verdict.lost, 1);
  EXPECT_FALSE(verdict.Clean());
}

TEST(HistoryTest, FindsAWriteStoredTwice) {
  History history;
  Attempt(history, "a", Outcome::kUnknown);
  Attempt(history, "a", Outcome::kOk, "m1");
  Verdict verdict =
      history.Check("message", {{"a", "m1", "channel-1", 1}, {"a", "m9", "channel-1", 2}});
  EXPECT_EQ(verdict.duplicated, 1);
}

TEST(HistoryTest, FindsWritesNeverInvokedOrRefused) {
  History history;
  Attempt(history, "refused", Outcome::kFail);
  Verdict verdict = history.Check(
      "message", {{"refused", "m1", "channel-1", 1}, {"stranger", "m2", "channel-1", 2}});
  EXPECT_EQ(verdict.phantom, 2);
}

TEST(HistoryTest, FindsAnAcknowledgementNamingAnotherRecord) {
  History history;
  Attempt(history, "a", Outcome::kOk, "m1");
  Verdict verdict = history.Check("message", {{"a", "m7", "channel-1", 1}});
  EXPECT_EQ(verdict.wrong_id, 1);
}

TEST(HistoryTest, FindsAWriteStoredUnderAnotherSubject) {
  History history;
  Attempt(history, "a", Outcome::kOk, "m1");  // written to channel-1
  Verdict verdict = history.Check("message", {{"a", "m1", "channel-2", 1}});
  EXPECT_EQ(verdict.misplaced, 1);
  EXPECT_FALSE(verdict.Clean());
}

TEST(HistoryTest, FindsAGapInAChannelsSequence) {
  History history;
  Attempt(history, "a", Outcome::kOk, "m1");
  Attempt(history, "b", Outcome::kOk, "m2");
  Verdict verdict =
      history.Check("message", {{"a", "m1", "channel-1", 1}, {"b", "m2", "channel-1", 3}}, true);
  EXPECT_EQ(verdict.gaps, 1);
  EXPECT_FALSE(verdict.Clean());
}

}  // namespace
}  // namespace peerwell::chaos
