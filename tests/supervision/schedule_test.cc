// The pure time rules of scheduling and recurrence.
#include "services/supervision/schedule.h"

#include "gtest/gtest.h"
#include "services/supervision/recurrence.h"

namespace peerwell::supervision {
namespace {

absl::TimeZone Zone(const std::string& name) {
  absl::TimeZone zone;
  EXPECT_TRUE(absl::LoadTimeZone(name, &zone));
  return zone;
}

absl::Time Local(const absl::TimeZone& zone, int y, int m, int d, int h, int min = 0) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, h, min, 0), zone);
}

TEST(QuietHoursTest, SpanMidnightInThePersonsZone) {
  absl::TimeZone oslo = Zone("Europe/Oslo");
  PersonSchedule person{"p", oslo, QuietHours{22 * 60, 7 * 60}};
  EXPECT_TRUE(InQuietHours(person, Local(oslo, 2026, 10, 5, 6), Local(oslo, 2026, 10, 5, 8)));
  EXPECT_TRUE(
      InQuietHours(person, Local(oslo, 2026, 10, 5, 21, 30), Local(oslo, 2026, 10, 5, 22, 1)));
  EXPECT_FALSE(InQuietHours(person, Local(oslo, 2026, 10, 5, 7), Local(oslo, 2026, 10, 5, 22)));
  person.quiet_hours.reset();
  EXPECT_FALSE(InQuietHours(person, Local(oslo, 2026, 10, 5, 23), Local(oslo, 2026, 10, 6, 1)));
}

TEST(AvailabilityTest, AdjacentWindowsJoinAndLeaveWins) {
  absl::TimeZone london = Zone("Europe/London");
  Availability availability;
  availability.weekly = {{1, 9 * 60, 12 * 60}, {1, 12 * 60, 17 * 60}};
  // Monday 5 October 2026.
  EXPECT_TRUE(InsideAvailability(availability, london, Local(london, 2026, 10, 5, 11, 30),
                                 Local(london, 2026, 10, 5, 12, 30)));
  EXPECT_FALSE(InsideAvailability(availability, london, Local(london, 2026, 10, 5, 16, 30),
                                  Local(london, 2026, 10, 5, 17, 30)));
  EXPECT_FALSE(InsideAvailability(availability, london, Local(london, 2026, 10, 6, 10),
                                  Local(london, 2026, 10, 6, 11)));
  availability.exceptions = {
      {Local(london, 2026, 10, 5, 0), Local(london, 2026, 10, 6, 0), false},
      {Local(london, 2026, 10, 6, 10), Local(london, 2026, 10, 6, 12), true}};
  EXPECT_FALSE(InsideAvailability(availability, london, Local(london, 2026, 10, 5, 10),
                                  Local(london, 2026, 10, 5, 11)));
  EXPECT_TRUE(InsideAvailability(availability, london, Local(london, 2026, 10, 6, 10),
                                 Local(london, 2026, 10, 6, 11)));
}

TEST(ProposeSlotsTest, NeverInsideTheSupervisorsBusyTimeOrBuffer) {
  absl::TimeZone london = Zone("Europe/London");
  SlotCandidate candidate;
  candidate.supervisor = {"s", london, std::nullopt};
  candidate.availability.weekly = {{1, 9 * 60, 12 * 60}};
  candidate.busy = {{"x", Local(london, 2026, 10, 5, 11), Local(london, 2026, 10, 5, 12)}};
  SlotRequest request;
  request.volunteer = {"v", london, std::nullopt};
  request.duration = absl::Hours(1);
  request.supervisor_buffer = absl::Minutes(30);
  request.window_start = Local(london, 2026, 10, 5, 0);
  request.window_end = Local(london, 2026, 10, 6, 0);
  request.per_supervisor_per_day = 10;
  // 09:00 and 09:30; 10:00 would end at 11:00 with no buffer before the 11:00 session.
  std::vector<Slot> slots = ProposeSlots(request, {candidate});
  ASSERT_EQ(slots.size(), 2u);
  EXPECT_EQ(slots[0].start_time, Local(london, 2026, 10, 5, 9));
  EXPECT_EQ(slots[1].start_time, Local(london, 2026, 10, 5, 9, 30));
  request.supervisor_buffer = absl::ZeroDuration();
  EXPECT_EQ(ProposeSlots(request, {candidate}).size(), 3u);
}

TEST(ProposeSlotsTest, RanksOwnSupervisorThenTheLightestWeekThenTheEarliest) {
  absl::TimeZone london = Zone("Europe/London");
  auto candidate = [&](const std::string& id, bool own, int sessions_that_week) {
    SlotCandidate c;
    c.supervisor = {id, london, std::nullopt};
    c.availability.weekly = {{1, 9 * 60, 10 * 60}};  // Mondays 09:00-10:00: one slot a week
    c.own_supervisor = own;
    c.sessions_per_week[absl::CivilDay(2026, 10, 5)] = sessions_that_week;
    return c;
  };
  SlotRequest request;
  request.volunteer = {"v", london, std::nullopt};
  request.duration = absl::Hours(1);
  request.window_start = Local(london, 2026, 10, 5, 0);
  request.window_end = Local(london, 2026, 10, 6, 0);
  std::vector<Slot> slots = ProposeSlots(
      request,
      {candidate("busy", false, 9), candidate("light", false, 2), candidate("own", true, 12)});
  ASSERT_EQ(slots.size(), 3u);
  EXPECT_EQ(slots[0].supervisor_id, "own");
  EXPECT_EQ(slots[1].supervisor_id, "light");
  EXPECT_EQ(slots[2].supervisor_id, "busy");
  EXPECT_GT(slots[1].score, slots[2].score);
  // When the own supervisor fills the answer, nobody else is offered.
  request.max_results = 1;
  slots = ProposeSlots(request, {candidate("light", false, 0), candidate("own", true, 12)});
  ASSERT_EQ(slots.size(), 1u);
  EXPECT_EQ(slots[0].supervisor_id, "own");
}

TEST(RecurrenceTest, UntilInUtcIsInclusiveAndCountCanBeReplaced) {
  absl::TimeZone london = Zone("Europe/London");
  absl::Time first = Local(london, 2026, 10, 6, 10);
  auto starts = ExpandRecurrence("FREQ=WEEKLY;UNTIL=20261020T090000Z", first, london,
                                 absl::InfinitePast(), absl::InfiniteFuture());
  ASSERT_TRUE(starts.ok());
  EXPECT_EQ(starts->size(), 3u);
  EXPECT_EQ(RecurrenceCount("FREQ=WEEKLY;COUNT=8"), 8);
  EXPECT_EQ(WithRecurrenceCount("FREQ=WEEKLY;COUNT=8;BYDAY=TU", 3), "FREQ=WEEKLY;BYDAY=TU;COUNT=3");
  EXPECT_FALSE(ValidateRecurrenceRule("r", "FREQ=HOURLY").ok());
  EXPECT_FALSE(ValidateRecurrenceRule("r", "nonsense").ok());
  EXPECT_TRUE(ValidateRecurrenceRule("r", "FREQ=WEEKLY;INTERVAL=2;BYDAY=WE").ok());
}

}  // namespace
}  // namespace peerwell::supervision
