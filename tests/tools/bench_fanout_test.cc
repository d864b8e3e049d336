// The books of the bench's post-fanout scenario, fed the deliveries a misbehaving service would
// make: each subscriber must receive each sequence once and in order, and a post counts as done
// only once it has been replied to and reached everyone.
#include <optional>
#include <vector>

#include "gtest/gtest.h"
#include "tools/bench/fanout.h"

namespace peerwell::bench {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1'800'000'000);

class FanoutLedgerTest : public ::testing::Test {
 protected:
  // Calls a post at `at`; its outcome lands in outcomes_ at the index of the call.
  long Call(absl::Time at) {
    long number = ledger_.Called(at, [this, index = outcomes_.size()](absl::Status status) {
      outcomes_[index] = status;
      ++finishes_[index];
    });
    outcomes_.emplace_back();
    finishes_.push_back(0);
    return number;
  }
  // Delivers `post` as `sequence` to every subscriber at `at`.
  void DeliverToAll(long post, int64_t sequence, absl::Time at) {
    for (int s = 0; s < kSubscribers; ++s) ledger_.Delivered(s, post, sequence, at);
  }
  long Errors(const LoadResult& result, const std::string& kind) {
    auto found = result.errors.find(kind);
    return found == result.errors.end() ? 0 : found->second;
  }

  static constexpr int kSubscribers = 3;
  static constexpr int64_t kAfter = 10;  // the channel had ten messages before the run
  FanoutLedger ledger_{kSubscribers, kAfter};
  std::vector<std::optional<absl::Status>> outcomes_;
  std::vector<int> finishes_;
};

TEST_F(FanoutLedgerTest, TimesEveryDeliveryFromItsPostsCall) {
  long first = Call(kStart);
  long second = Call(kStart + absl::Milliseconds(50));
  ledger_.Replied(first, absl::OkStatus(), 11);
  ledger_.Replied(second, absl::OkStatus(), 12);
  for (int s = 0; s < kSubscribers; ++s) {
    ledger_.Delivered(s, first, 11, kStart + absl::Milliseconds(2 + s));
    ledger_.Delivered(s, second, 12, kStart + absl::Milliseconds(60));
  }
  ASSERT_TRUE(outcomes_[0].has_value() && outcomes_[1].has_value());
  EXPECT_TRUE(outcomes_[0]->ok());
  EXPECT_TRUE(outcomes_[1]->ok());
  LoadResult round = ledger_.CloseRound(kStart, kStart + absl::Seconds(1), 1.0);
  EXPECT_EQ(round.calls, 6);
  EXPECT_EQ(round.ErrorCount(), 0);
  EXPECT_EQ(round.latencies_ms, (std::vector<double>{2, 3, 4, 10, 10, 10}));
  EXPECT_EQ(ledger_.LastSeen(0), 12);
}

TEST_F(FanoutLedgerTest, APostDeliveredBeforeItsReplyFinishesWithTheReply) {
  long post = Call(kStart);
  DeliverToAll(post, 11, kStart + absl::Milliseconds(1));
  EXPECT_FALSE(outcomes_[0].has_value());  // its caller's context must outlive the call
  ledger_.Replied(post, absl::OkStatus(), 11);
  ASSERT_TRUE(outcomes_[0].has_value());
  EXPECT_TRUE(outcomes_[0]->ok());
}

TEST_F(FanoutLedgerTest, AFailedPostFinishesAtOnceWithItsError) {
  long post = Call(kStart);
  ledger_.Replied(post, absl::UnavailableError("redis down"), 0);
  ASSERT_TRUE(outcomes_[0].has_value());
  EXPECT_EQ(outcomes_[0]->code(), absl::StatusCode::kUnavailable);
  ledger_.Expire(kStart + absl::Hours(1));
  EXPECT_EQ(finishes_[0], 1);
}

TEST_F(FanoutLedgerTest, CountsADuplicateOnceAndDoesNotLetItStandForAnotherSubscriber) {
  long post = Call(kStart);
  ledger_.Replied(post, absl::OkStatus(), 11);
  ledger_.Delivered(0, post, 11, kStart);
  ledger_.Delivered(0, post, 11, kStart);
  ledger_.Delivered(1, post, 11, kStart);
  EXPECT_FALSE(outcomes_[0].has_value());  // subscriber 2 still lacks it
  ledger_.Delivered(2, post, 11, kStart);
  ASSERT_TRUE(outcomes_[0].has_value());
  LoadResult round = ledger_.CloseRound(kStart, kStart + absl::Seconds(1), 1.0);
  EXPECT_EQ(Errors(round, "DUPLICATE"), 1);
  EXPECT_EQ(round.calls, 3);
}

TEST_F(FanoutLedgerTest, CountsASequenceReceivedAfterALaterOneAsOutOfOrder) {
  long first = Call(kStart);
  long second = Call(kStart);
  ledger_.Replied(first, absl::OkStatus(), 11);
  ledger_.Replied(second, absl::OkStatus(), 12);
  ledger_.Delivered(0, second, 12, kStart);
  ledger_.Delivered(0, first, 11, kStart);
  for (int s = 1; s < kSubscribers; ++s) {
    ledger_.Delivered(s, first, 11, kStart);
    ledger_.Delivered(s, second, 12, kStart);
  }
  LoadResult round = ledger_.CloseRound(kStart, kStart + absl::Seconds(1), 1.0);
  EXPECT_EQ(Errors(round, "OUT_OF_ORDER"), 1);
  EXPECT_EQ(round.ErrorCount(), 1);
}

TEST_F(FanoutLedgerTest, ExpiresAPostSomeoneLacksAndCountsItMissingOnceEvenWhenItComesLate) {
  long post = Call(kStart);
  ledger_.Replied(post, absl::OkStatus(), 11);
  ledger_.Delivered(0, post, 11, kStart);
  ledger_.Delivered(1, post, 11, kStart);
  ledger_.Expire(kStart);  // not older than the cutoff yet
  EXPECT_FALSE(outcomes_[0].has_value());
  ledger_.Expire(kStart + absl::Seconds(5));
  ASSERT_TRUE(outcomes_[0].has_value());
  EXPECT_EQ(outcomes_[0]->code(), absl::StatusCode::kDeadlineExceeded);
  LoadResult round = ledger_.CloseRound(kStart, kStart + absl::Seconds(1), 1.0);
  EXPECT_EQ(Errors(round, "MISSING"), 1);

  ledger_.Delivered(2, post, 11, kStart + absl::Seconds(6));
  EXPECT_EQ(finishes_[0], 1);
  LoadResult next = ledger_.CloseRound(kStart + absl::Seconds(10), kStart + absl::Seconds(11), 1.0);
  EXPECT_EQ(next.ErrorCount(), 0);
  EXPECT_EQ(ledger_.totals().late, 1);
}

TEST_F(FanoutLedgerTest, AnUnrepliedPostIsNotExpiredBeforeItsReply) {
  long post = Call(kStart);
  ledger_.Expire(kStart + absl::Hours(1));
  EXPECT_FALSE(outcomes_[0].has_value());
  ledger_.Replied(post, absl::OkStatus(), 11);
  ledger_.Expire(kStart + absl::Hours(1));
  ASSERT_TRUE(outcomes_[0].has_value());
  EXPECT_EQ(outcomes_[0]->code(), absl::StatusCode::kDeadlineExceeded);
}

TEST_F(FanoutLedgerTest, CountsAGapInTheSequencesAsMissingForEverySubscriber) {
  long post = Call(kStart);
  ledger_.Replied(post, absl::OkStatus(), 12);  // 11 was never delivered to anyone
  DeliverToAll(post, 12, kStart);
  LoadResult round = ledger_.CloseRound(kStart, kStart + absl::Seconds(1), 1.0);
  EXPECT_EQ(Errors(round, "MISSING"), kSubscribers);
}

TEST_F(FanoutLedgerTest, RefusesDeliveriesAtOrBeforeTheCursorAndOfNoPost) {
  long post = Call(kStart);
  ledger_.Replied(post, absl::OkStatus(), 11);
  ledger_.Delivered(0, post, kAfter, kStart);  // the subscription started after it
  ledger_.Delivered(0, 99, 12, kStart);
  ledger_.DeliveredUnknown();
  ledger_.StreamEnded("RESOURCE_EXHAUSTED");
  DeliverToAll(post, 11, kStart);
  LoadResult round = ledger_.CloseRound(kStart, kStart + absl::Seconds(1), 1.0);
  EXPECT_EQ(Errors(round, "WRONG_SEQUENCE"), 1);
  EXPECT_EQ(Errors(round, "UNKNOWN_MESSAGE"), 2);
  EXPECT_EQ(Errors(round, "STREAM_RESOURCE_EXHAUSTED"), 1);
  EXPECT_EQ(Errors(round, "MISSING"), 0);
}

TEST_F(FanoutLedgerTest, LeavesPostsCalledOutsideTheMeasuredWindowOutOfTheFigures) {
  long warmup = Call(kStart);
  long measured = Call(kStart + absl::Seconds(1));
  ledger_.Replied(warmup, absl::OkStatus(), 11);
  ledger_.Replied(measured, absl::OkStatus(), 12);
  DeliverToAll(warmup, 11, kStart + absl::Milliseconds(5));
  DeliverToAll(measured, 12, kStart + absl::Seconds(1) + absl::Milliseconds(7));
  LoadResult round = ledger_.CloseRound(kStart + absl::Seconds(1), kStart + absl::Seconds(2), 1.0);
  EXPECT_EQ(round.calls, kSubscribers);
  EXPECT_EQ(round.latencies_ms.front(), 7);
}

}  // namespace
}  // namespace peerwell::bench
