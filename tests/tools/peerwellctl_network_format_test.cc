// How peerwellctl reads the peer network's words on the command line and prints its answers,
// without a service: what a person sees in `network messages`, `tail`, `channels` and `reports`.
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/peerwellctl/args.h"
#include "tools/peerwellctl/format.h"
#include "tools/peerwellctl/network_format.h"

namespace peerwell::ctl {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// 2025-03-04 10:00:00 UTC plus `minutes`.
google::protobuf::Timestamp At(int minutes) {
  google::protobuf::Timestamp time;
  time.set_seconds(1741082400 + 60 * minutes);
  return time;
}

network_v1::Message MakeMessage(int64_t sequence, const std::string& id, const std::string& author,
                                const std::string& body, const std::string& reply_to = "") {
  network_v1::Message message;
  message.set_message_id(id);
  message.set_channel_id("ch00000000000000000001");
  message.set_sequence(sequence);
  message.set_author_id(absl::StrCat("p-", author));
  message.set_author_display_name(author);
  message.set_body(body);
  message.set_reply_to_message_id(reply_to);
  *message.mutable_create_time() = At(static_cast<int>(sequence));
  return message;
}

TEST(NetworkWordsTest, ChannelKindsReadInAnyCaseAndAsTheProtoNames) {
  EXPECT_EQ(*ParseChannelKind("kind", "buddy"), network_v1::CHANNEL_KIND_BUDDY);
  EXPECT_EQ(*ParseChannelKind("kind", "Announcement"), network_v1::CHANNEL_KIND_ANNOUNCEMENT);
  EXPECT_EQ(*ParseChannelKind("kind", "CHANNEL_KIND_GROUP"), network_v1::CHANNEL_KIND_GROUP);
  auto bad = ParseChannelKind("kind", "room");
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(IsUsageError(bad.status()));
  EXPECT_THAT(bad.status().message(), HasSubstr("group, direct, buddy, announcement"));
  EXPECT_EQ(ChannelKindWord(network_v1::CHANNEL_KIND_DIRECT), "direct");
  EXPECT_EQ(ChannelKindWord(network_v1::CHANNEL_KIND_UNSPECIFIED), "-");
}

TEST(NetworkWordsTest, ReportActionsAndStates) {
  EXPECT_EQ(*ParseReportAction("action", "dismiss"), network_v1::REPORT_ACTION_DISMISS);
  EXPECT_EQ(*ParseReportAction("action", "delete"), network_v1::REPORT_ACTION_DELETE_MESSAGE);
  EXPECT_EQ(*ParseReportAction("action", "delete-message"),
            network_v1::REPORT_ACTION_DELETE_MESSAGE);
  EXPECT_EQ(*ParseReportAction("action", "REPORT_ACTION_DELETE_MESSAGE"),
            network_v1::REPORT_ACTION_DELETE_MESSAGE);
  auto bad = ParseReportAction("action", "ban");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("dismiss, delete"));
  EXPECT_EQ(*ParseReportState("state", "open"), network_v1::REPORT_STATE_OPEN);
  EXPECT_EQ(*ParseReportState("state", "REPORT_STATE_RESOLVED"), network_v1::REPORT_STATE_RESOLVED);
  EXPECT_FALSE(ParseReportState("state", "closed").ok());
}

TEST(NetworkWordsTest, AMessageIsASequenceOrAnId) {
  EXPECT_EQ(*ParseMessageRef("reply-to", "#3")->sequence, 3);
  EXPECT_EQ(*ParseMessageRef("reply-to", "12")->sequence, 12);
  auto id = ParseMessageRef("reply-to", "m0123456789abcdef0123");
  ASSERT_TRUE(id.ok());
  EXPECT_FALSE(id->sequence.has_value());
  EXPECT_EQ(id->message_id, "m0123456789abcdef0123");

  auto zero = ParseMessageRef("reply-to", "#0");
  ASSERT_FALSE(zero.ok());
  EXPECT_THAT(zero.status().message(), HasSubstr("--reply-to: sequences start at 1"));
  EXPECT_FALSE(ParseMessageRef("reply-to", "#x").ok());
  EXPECT_FALSE(ParseMessageRef("reply-to", " ").ok());
  // A positional is named as help shows it, not as a flag.
  auto positional = ParseMessageRef("MESSAGE", "#-2");
  ASSERT_FALSE(positional.ok());
  EXPECT_THAT(positional.status().message(), HasSubstr("MESSAGE: "));
  EXPECT_THAT(positional.status().message(), Not(HasSubstr("--MESSAGE")));
}

TEST(NetworkWordsTest, ACursorIsAChannelAndTheLastSequenceSeen) {
  auto cursor = ParseCursor("cursor", "ch00000000000000000001:42");
  ASSERT_TRUE(cursor.ok());
  EXPECT_EQ(cursor->channel_id(), "ch00000000000000000001");
  EXPECT_EQ(cursor->after_sequence(), 42);
  EXPECT_EQ(ParseCursor("cursor", "ch1:0")->after_sequence(), 0);
  for (const char* bad : {"ch1", "ch1:", ":4", "ch1:-1", "ch1:x"}) {
    auto parsed = ParseCursor("cursor", bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_THAT(parsed.status().message(), HasSubstr("CHANNEL:SEQUENCE")) << bad;
  }
}

TEST(NetworkOutputTest, AConversationShowsSequenceTimeAuthorRepliesAndDeletions) {
  google::protobuf::RepeatedPtrField<network_v1::Message> messages;
  *messages.Add() = MakeMessage(1, "m1", "Amira Haddad", "How did Tuesday go?");
  *messages.Add() =
      MakeMessage(2, "m2", "Jonas Nielsen", "It took it out of me.\n\nI kept thinking about it.");
  *messages.Add() = MakeMessage(3, "m3", "Amira Haddad", "That is a lot to carry.", "m2");
  network_v1::Message deleted = MakeMessage(4, "m4", "Jonas Nielsen", "");
  deleted.set_deleted(true);
  *messages.Add() = deleted;
  *messages.Add() = MakeMessage(5, "m5", "Amira Haddad", "Still there?", "m0-not-listed");

  EXPECT_EQ(MessagesText(messages),
            "#1  2025-03-04 10:01:00 UTC  Amira Haddad  id m1\n"
            "    How did Tuesday go?\n"
            "#2  2025-03-04 10:02:00 UTC  Jonas Nielsen  id m2\n"
            "    It took it out of me.\n"
            "\n"
            "    I kept thinking about it.\n"
            "#3  2025-03-04 10:03:00 UTC  Amira Haddad  (reply to #2)  id m3\n"
            "    That is a lot to carry.\n"
            "#4  2025-03-04 10:04:00 UTC  Jonas Nielsen  id m4\n"
            "    (deleted)\n"
            "#5  2025-03-04 10:05:00 UTC  Amira Haddad  (reply to m0-not-listed)  id m5\n"
            "    Still there?\n");
}

TEST(NetworkOutputTest, ALongBodyWrapsUnderItsHeader) {
  std::string body;
  for (int i = 0; i < 30; ++i) absl::StrAppend(&body, i == 0 ? "" : " ", "word");
  std::string text = MessageText(MakeMessage(1, "m1", "Zofia Wiśniewska", body), {});
  std::vector<std::string> lines = absl::StrSplit(text, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u) << text;
  EXPECT_THAT(lines[0], HasSubstr("Zofia Wiśniewska"));
  for (size_t i = 1; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i].substr(0, 8), "    word") << text;
    EXPECT_LE(lines[i].size(), kTextWidth) << text;
  }
}

TEST(NetworkOutputTest, TailLinesNameTheChannelAndMarkSilentEvents) {
  std::map<std::string, std::string> names = {{"ch1", "Volunteer cohort"}};
  SequenceById sequences = {{"m7", 7}};

  network_v1::NetworkEvent posted;
  posted.set_event_type(network_v1::NETWORK_EVENT_TYPE_MESSAGE_POSTED);
  posted.set_channel_id("ch1");
  posted.set_silent(true);
  *posted.mutable_message() = MakeMessage(8, "m8", "Seán O'Brien", "Five-minute warning.", "m7");
  EXPECT_EQ(NetworkEventText(posted, names, sequences),
            "[Volunteer cohort] #8  2025-03-04 10:08:00 UTC  Seán O'Brien  [silent]  "
            "(reply to #7)  id m8\n"
            "    Five-minute warning.\n");

  posted.set_silent(false);
  posted.set_channel_id("ch2");
  EXPECT_THAT(NetworkEventText(posted, names, sequences), HasSubstr("[ch2] #8  "));
  EXPECT_THAT(NetworkEventText(posted, names, sequences), Not(HasSubstr("[silent]")));

  network_v1::NetworkEvent deleted;
  deleted.set_event_type(network_v1::NETWORK_EVENT_TYPE_MESSAGE_DELETED);
  deleted.set_channel_id("ch1");
  *deleted.mutable_message() = MakeMessage(8, "m8", "Seán O'Brien", "");
  EXPECT_EQ(NetworkEventText(deleted, names, sequences), "[Volunteer cohort] #8 deleted (id m8)\n");

  network_v1::NetworkEvent updated;
  updated.set_event_type(network_v1::NETWORK_EVENT_TYPE_CHANNEL_UPDATED);
  updated.set_channel_id("ch3");
  updated.mutable_channel()->set_display_name("Amira Haddad and Jonas Nielsen");
  updated.mutable_channel()->add_member_ids("p1");
  updated.mutable_channel()->add_invited_ids("p2");
  updated.mutable_channel()->set_unread_count(0);
  updated.set_silent(true);
  EXPECT_EQ(NetworkEventText(updated, names, sequences),
            "[ch3] channel updated: 1 member, 1 invited, 0 unread  [silent]\n");
}

TEST(NetworkOutputTest, ChannelsListTheirUnreadCountsAndPeople) {
  network_v1::Channel announcements;
  announcements.set_channel_id("ch1");
  announcements.set_kind(network_v1::CHANNEL_KIND_ANNOUNCEMENT);
  announcements.set_display_name("Harbour announcements");
  announcements.set_last_sequence(1);
  announcements.set_unread_count(1);
  network_v1::Channel group;
  group.set_channel_id("ch2");
  group.set_kind(network_v1::CHANNEL_KIND_GROUP);
  group.set_display_name("Volunteer cohort");
  group.add_member_ids("p1");
  group.add_member_ids("p2");
  group.add_invited_ids("p3");
  group.set_last_sequence(4);
  group.set_unread_count(3);
  EXPECT_EQ(ChannelsTable({announcements, group}),
            "ID   KIND          UNREAD  MESSAGES  PEOPLE          NAME\n"
            "ch1  announcement  1       1         everyone        Harbour announcements\n"
            "ch2  group         3       4         2 (+1 invited)  Volunteer cohort\n");

  group.mutable_retention()->set_seconds(30 * 24 * 3600);
  std::string text = ChannelText(group);
  EXPECT_THAT(text, HasSubstr("members:   p1, p2\n"));
  EXPECT_THAT(text, HasSubstr("invited:   p3\n"));
  EXPECT_THAT(text, HasSubstr("retention: 30d (older messages are deleted)\n"));
  EXPECT_THAT(text, HasSubstr("messages:  #1 to #4\n"));
  EXPECT_THAT(text, HasSubstr("unread:    3\n"));
  announcements.set_last_sequence(0);
  EXPECT_THAT(ChannelText(announcements), HasSubstr("messages:  none yet\n"));
  EXPECT_THAT(ChannelText(announcements), Not(HasSubstr("invited:")));
  EXPECT_THAT(ChannelText(announcements), HasSubstr("members:   everyone in the organisation\n"));
}

TEST(NetworkOutputTest, ReportsShowTheReasonTheMessageAndTheNoteUnderTheirRow) {
  network_v1::Report open;
  open.set_report_id("r1");
  open.set_channel_id("ch2");
  open.set_message_id("m4");
  open.set_reason("Names a person we support.");
  open.set_state(network_v1::REPORT_STATE_OPEN);
  *open.mutable_create_time() = At(30);
  open.set_reporter_id("p9");
  *open.mutable_message() = MakeMessage(4, "m4", "Kwame Mensah", "Line one\nline two");
  network_v1::Report resolved = open;
  resolved.set_report_id("r0");
  resolved.set_state(network_v1::REPORT_STATE_RESOLVED);
  resolved.set_action(network_v1::REPORT_ACTION_DELETE_MESSAGE);
  resolved.set_note("Removed; talked it through with Kwame.");
  resolved.mutable_message()->set_deleted(true);
  resolved.mutable_message()->clear_body();
  resolved.clear_reporter_id();

  EXPECT_EQ(ReportsText({open, resolved}),
            "ID  STATE              CREATED                  CHANNEL  MESSAGE  REPORTED BY\n"
            "r1  open               2025-03-04 10:30:00 UTC  ch2      #4       p9\n"
            "   reason: Names a person we support.\n"
            "   message: Kwame Mensah: Line one line two\n"
            "r0  resolved (delete)  2025-03-04 10:30:00 UTC  ch2      #4       -\n"
            "   reason: Names a person we support.\n"
            "   message: Kwame Mensah: (deleted)\n"
            "   note: Removed; talked it through with Kwame.\n");

  std::string text = ReportText(resolved);
  EXPECT_THAT(text, HasSubstr("action:   delete\n"));
  EXPECT_THAT(text, HasSubstr("note:     Removed; talked it through with Kwame.\n"));
  EXPECT_THAT(text, Not(HasSubstr("reported by")));
  EXPECT_THAT(text, HasSubstr("the message as it is now:\n#4  "));
  EXPECT_THAT(ReportText(open), HasSubstr("reported by: p9\n"));
}

TEST(NetworkOutputTest, ReadReceiptsSayWhoSeesHowFarYouRead) {
  network_v1::NetworkSettings settings;
  EXPECT_THAT(NetworkSettingsText(settings), HasSubstr("read receipts: off (how far you have read "
                                                       "stays private; the default)"));
  settings.set_read_receipts(true);
  EXPECT_THAT(NetworkSettingsText(settings), HasSubstr("read receipts: on"));

  google::protobuf::RepeatedPtrField<network_v1::ReadMarker> markers;
  network_v1::ReadMarker& marker = *markers.Add();
  marker.set_channel_id("ch2");
  marker.set_person_id("p1");
  marker.set_sequence(4);
  *marker.mutable_update_time() = At(10);
  EXPECT_EQ(ReadMarkersTable(markers),
            "PERSON  READ UP TO  UPDATED\n"
            "p1      #4          2025-03-04 10:10:00 UTC\n");
}

}  // namespace
}  // namespace peerwell::ctl
