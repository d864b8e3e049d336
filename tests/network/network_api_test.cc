// The peer network over real gRPC channels: two replicas of the service, the real directory and
// one real redis-server. The network's clock is fake and starts on Thursday 1 October 2026 at
// 12:00 UTC (13:00 in London), so tests can step into someone's quiet hours or past a retention.
#include <fnmatch.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <numeric>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "services/common/events.h"
#include "services/common/ids.h"
#include "services/network/redis_network_store.h"
#include "tests/network/network_test_server.h"
#include "tests/testing/redis_text.h"
#include "tests/testing/wait.h"

namespace peerwell::network::testing {
namespace {

namespace dv1 = ::peerwell::directory::v1;
using ::peerwell::testing::TestToken;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const absl::Time kStart =
    absl::FromCivil(absl::CivilSecond(2026, 10, 1, 12, 0, 0), absl::UTCTimeZone());

std::unique_ptr<grpc::ClientContext> As(const std::string& token) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->AddMetadata("authorization", "Bearer " + token);
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return context;
}

// One Subscribe stream read on a thread of its own (or not read at all, for a stalled client).
class Subscriber {
 public:
  Subscriber(v1::PeerNetworkService::Stub& stub, const std::string& token,
             const v1::SubscribeRequest& request, bool read = true) {
    context_.AddMetadata("authorization", "Bearer " + token);
    reader_ = stub.Subscribe(&context_, request);
    // The stream is live once its initial metadata arrived.
    reader_->WaitForInitialMetadata();
    if (read) StartReading();
  }
  ~Subscriber() {
    context_.TryCancel();
    if (thread_.joinable()) thread_.join();
  }

  void StartReading() {
    thread_ = std::thread([this] {
      v1::NetworkEvent event;
      while (reader_->Read(&event)) {
        std::lock_guard<std::mutex> lock(mu_);
        events_.push_back(event);
        changed_.notify_all();
      }
      grpc::Status status = reader_->Finish();
      std::lock_guard<std::mutex> lock(mu_);
      status_ = status;
      done_ = true;
      changed_.notify_all();
    });
  }

  // Waits until `count` posted messages arrived (or the stream ended, or 10 s passed).
  std::vector<v1::Message> WaitForMessages(size_t count) {
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait_for(lock, std::chrono::seconds(10),
                      [&] { return done_ || PostedLocked().size() >= count; });
    return PostedLocked();
  }
  std::vector<v1::NetworkEvent> WaitForEvents(
      const std::function<bool(const std::vector<v1::NetworkEvent>&)>& done) {
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait_for(lock, std::chrono::seconds(10), [&] { return done_ || done(events_); });
    return events_;
  }
  // The stream's status once it ended (waits up to `timeout`); OK while it is still open.
  grpc::Status WaitForEnd(absl::Duration timeout = absl::Seconds(10)) {
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [&] { return done_; });
    return done_ ? status_ : grpc::Status::OK;
  }
  void Cancel() {
    context_.TryCancel();
    WaitForEnd();
  }

 private:
  std::vector<v1::Message> PostedLocked() {
    std::vector<v1::Message> posted;
    for (const v1::NetworkEvent& event : events_) {
      if (event.event_type() == v1::NETWORK_EVENT_TYPE_MESSAGE_POSTED) {
        posted.push_back(event.message());
      }
    }
    return posted;
  }

  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<v1::NetworkEvent>> reader_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::vector<v1::NetworkEvent> events_;
  bool done_ = false;
  grpc::Status status_;
};

v1::SubscribeRequest From(const std::string& channel_id, int64_t after_sequence) {
  v1::SubscribeRequest request;
  auto* cursor = request.add_cursors();
  cursor->set_channel_id(channel_id);
  cursor->set_after_sequence(after_sequence);
  return request;
}

// Each sequence once, ascending, from `first` to `last`.
void ExpectSequences(const std::vector<v1::Message>& messages, int64_t first, int64_t last) {
  std::vector<int64_t> seen;
  for (const v1::Message& message : messages) seen.push_back(message.sequence());
  std::vector<int64_t> expected;
  for (int64_t sequence = first; sequence <= last; ++sequence) expected.push_back(sequence);
  EXPECT_EQ(seen, expected);
}

class NetworkApiTest : public ::testing::Test {
 protected:
  explicit NetworkApiTest(Subscription::Options options = {}) : server_(kStart, options) {}

  void SetUp() override {
    dv1::CreateOrganizationRequest create;
    create.set_display_name("Harbour");
    dv1::CreateOrganizationResponse organization;
    ASSERT_TRUE(server_.directory()
                    .stub()
                    .CreateOrganization(As(TestToken(CallerRole::kAdmin, "op", "")).get(), create,
                                        &organization)
                    .ok());
    org_ = organization.organization().organization_id();
    coordinator_ =
        Person(TestToken(CallerRole::kAdmin, "op", org_), dv1::ROLE_COORDINATOR, "Grace");
    sam_ = Person(Coordinator(), dv1::ROLE_SUPERVISOR, "Sam");
    vera_ = Person(Coordinator(), dv1::ROLE_VOLUNTEER, "Vera");
    viktor_ = Person(Coordinator(), dv1::ROLE_VOLUNTEER, "Viktor");
    // Quiet from 17:00 to 09:00 London time.
    quinn_ = Person(Coordinator(), dv1::ROLE_VOLUNTEER, "Quinn", "17:00", "09:00");
  }

  std::string Person(const std::string& token, dv1::Role role, const std::string& name,
                     const std::string& quiet_start = "", const std::string& quiet_end = "") {
    dv1::CreatePersonRequest request;
    request.mutable_person()->set_display_name(name);
    request.mutable_person()->set_role(role);
    request.mutable_person()->set_timezone("Europe/London");
    if (!quiet_start.empty()) {
      request.mutable_person()->mutable_quiet_hours()->set_start(quiet_start);
      request.mutable_person()->mutable_quiet_hours()->set_end(quiet_end);
    }
    dv1::CreatePersonResponse response;
    grpc::Status status =
        server_.directory().stub().CreatePerson(As(token).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.person().person_id();
  }

  std::string Token(CallerRole role, const std::string& id) { return TestToken(role, id, org_); }
  std::string Coordinator() { return Token(CallerRole::kCoordinator, coordinator_); }
  std::string Volunteer(const std::string& id) { return Token(CallerRole::kVolunteer, id); }
  std::string Sam() { return Token(CallerRole::kSupervisor, sam_); }

  grpc::Status Create(const std::string& token, v1::ChannelKind kind, const std::string& name,
                      const std::vector<std::string>& members,
                      const std::vector<std::string>& invited, v1::Channel* channel,
                      int64_t retention_seconds = 0) {
    v1::CreateChannelRequest request;
    request.mutable_channel()->set_kind(kind);
    request.mutable_channel()->set_display_name(name);
    for (const std::string& id : members) request.mutable_channel()->add_member_ids(id);
    for (const std::string& id : invited) request.mutable_channel()->add_invited_ids(id);
    if (retention_seconds > 0) {
      request.mutable_channel()->mutable_retention()->set_seconds(retention_seconds);
    }
    v1::CreateChannelResponse response;
    grpc::Status status = server_.stub().CreateChannel(As(token).get(), request, &response);
    *channel = response.channel();
    return status;
  }

  // A cohort group of Vera and Viktor, made by the coordinator.
  std::string Cohort(int64_t retention_seconds = 0) {
    v1::Channel channel;
    grpc::Status status = Create(Coordinator(), v1::CHANNEL_KIND_GROUP, "Cohort", {vera_, viktor_},
                                 {}, &channel, retention_seconds);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return channel.channel_id();
  }

  grpc::Status Post(const std::string& token, const std::string& channel_id,
                    const std::string& body, v1::Message* message = nullptr,
                    const std::string& reply_to = "", const std::string& client_message_id = "",
                    int replica = 0) {
    v1::PostMessageRequest request;
    request.set_channel_id(channel_id);
    request.set_body(body);
    request.set_reply_to_message_id(reply_to);
    request.set_client_message_id(client_message_id);
    v1::PostMessageResponse response;
    grpc::Status status =
        server_.replica(replica).stub().PostMessage(As(token).get(), request, &response);
    if (message != nullptr) *message = response.message();
    return status;
  }

  grpc::Status List(const std::string& token, const std::string& channel_id,
                    v1::ListMessagesResponse* response, int64_t after = 0,
                    const std::string& thread = "", int page_size = 0,
                    const std::string& page_token = "") {
    v1::ListMessagesRequest request;
    request.set_channel_id(channel_id);
    request.set_after_sequence(after);
    request.set_thread_root_message_id(thread);
    request.set_page_size(page_size);
    request.set_page_token(page_token);
    return server_.stub().ListMessages(As(token).get(), request, response);
  }

  v1::Channel Get(const std::string& token, const std::string& channel_id) {
    v1::GetChannelRequest request;
    request.set_channel_id(channel_id);
    v1::GetChannelResponse response;
    grpc::Status status = server_.stub().GetChannel(As(token).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.channel();
  }

  grpc::Status Join(const std::string& token, const std::string& channel_id,
                    const std::string& person_id = "") {
    v1::JoinChannelRequest request;
    request.set_channel_id(channel_id);
    request.set_person_id(person_id);
    v1::JoinChannelResponse response;
    return server_.stub().JoinChannel(As(token).get(), request, &response);
  }

  grpc::Status Leave(const std::string& token, const std::string& channel_id,
                     const std::string& person_id = "") {
    v1::LeaveChannelRequest request;
    request.set_channel_id(channel_id);
    request.set_person_id(person_id);
    v1::LeaveChannelResponse response;
    return server_.stub().LeaveChannel(As(token).get(), request, &response);
  }

  NetworkTestServer server_;
  std::string org_, coordinator_, sam_, vera_, viktor_, quinn_;
};

TEST_F(NetworkApiTest, OnlyCoordinatorsCreateGroupsAndAnnouncementsAndOnlyTheyPostAnnouncements) {
  v1::Channel channel;
  EXPECT_EQ(
      Create(Volunteer(vera_), v1::CHANNEL_KIND_GROUP, "Mine", {vera_}, {}, &channel).error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(Create(Coordinator(), v1::CHANNEL_KIND_ANNOUNCEMENT, "News", {}, {}, &channel).ok());
  EXPECT_EQ(Post(Volunteer(vera_), channel.channel_id(), "may I?").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(Post(Coordinator(), channel.channel_id(), "Welcome, everyone").ok());
  // Everyone in the organisation reads announcements, without joining.
  v1::ListMessagesResponse listed;
  ASSERT_TRUE(List(Volunteer(quinn_), channel.channel_id(), &listed).ok());
  ASSERT_EQ(listed.messages_size(), 1);
  EXPECT_EQ(listed.messages(0).body(), "Welcome, everyone");
  EXPECT_EQ(listed.messages(0).author_display_name(), "Grace");
  EXPECT_EQ(Get(Volunteer(quinn_), channel.channel_id()).unread_count(), 1);
  EXPECT_EQ(Join(Volunteer(quinn_), channel.channel_id()).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

// Found by the fuzzer: the largest position there is, as any other past the last message.
TEST_F(NetworkApiTest, AfterTheLastSequenceOrTheLargestOneThereIsNothing) {
  std::string cohort = Cohort();
  ASSERT_TRUE(Post(Volunteer(vera_), cohort, "one").ok());
  for (int64_t after : {int64_t{1}, int64_t{1000}, std::numeric_limits<int64_t>::max()}) {
    v1::ListMessagesResponse listed;
    grpc::Status status = List(Volunteer(vera_), cohort, &listed, after);
    ASSERT_TRUE(status.ok()) << after << ": " << status.error_message();
    EXPECT_EQ(listed.messages_size(), 0) << after;
  }
}

TEST_F(NetworkApiTest, ADirectChannelIsOnePerPairWhoeverAsks) {
  v1::Channel first, again, other_side;
  ASSERT_TRUE(Create(Volunteer(vera_), v1::CHANNEL_KIND_DIRECT, "", {viktor_}, {}, &first).ok());
  ASSERT_TRUE(Create(Volunteer(vera_), v1::CHANNEL_KIND_DIRECT, "", {viktor_}, {}, &again).ok());
  ASSERT_TRUE(
      Create(Volunteer(viktor_), v1::CHANNEL_KIND_DIRECT, "", {vera_}, {}, &other_side).ok());
  EXPECT_EQ(again.channel_id(), first.channel_id());
  EXPECT_EQ(other_side.channel_id(), first.channel_id());
  EXPECT_THAT(first.member_ids(), ::testing::UnorderedElementsAre(vera_, viktor_));
  EXPECT_EQ(first.display_name(), vera_ < viktor_ ? "Vera and Viktor" : "Viktor and Vera");
  // Exactly one other person.
  v1::Channel refused;
  EXPECT_EQ(Create(Volunteer(vera_), v1::CHANNEL_KIND_DIRECT, "", {viktor_, quinn_}, {}, &refused)
                .error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(
      Create(Volunteer(vera_), v1::CHANNEL_KIND_DIRECT, "", {vera_}, {}, &refused).error_code(),
      grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(NetworkApiTest, NobodyPostsInABuddyChannelBeforeTheInvitedBuddyJoins) {
  v1::Channel buddy;
  ASSERT_TRUE(Create(Volunteer(vera_), v1::CHANNEL_KIND_BUDDY, "", {}, {viktor_}, &buddy).ok());
  EXPECT_THAT(buddy.member_ids(), ::testing::ElementsAre(vera_));
  EXPECT_THAT(buddy.invited_ids(), ::testing::ElementsAre(viktor_));
  grpc::Status early = Post(Volunteer(vera_), buddy.channel_id(), "hello?");
  EXPECT_EQ(early.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(early.error_message(), StartsWith("BUDDY_NOT_ACCEPTED"));
  // The invitation is visible to the invited, and joining accepts it.
  EXPECT_THAT(Get(Volunteer(viktor_), buddy.channel_id()).invited_ids(),
              ::testing::ElementsAre(viktor_));
  EXPECT_EQ(Join(Volunteer(quinn_), buddy.channel_id()).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(Join(Volunteer(viktor_), buddy.channel_id()).ok());
  EXPECT_TRUE(Post(Volunteer(vera_), buddy.channel_id(), "hello!").ok());
  // Buddies are volunteers, by their own choice.
  v1::Channel refused;
  EXPECT_EQ(Create(Sam(), v1::CHANNEL_KIND_BUDDY, "", {}, {vera_}, &refused).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(NetworkApiTest, ABuddyWhoDeclinedCanBeInvitedAgainAndSeesTheInvitationLive) {
  v1::Channel buddy, again;
  ASSERT_TRUE(Create(Volunteer(vera_), v1::CHANNEL_KIND_BUDDY, "", {}, {viktor_}, &buddy).ok());
  ASSERT_TRUE(Leave(Volunteer(viktor_), buddy.channel_id()).ok());  // declines
  EXPECT_TRUE(Get(Volunteer(vera_), buddy.channel_id()).invited_ids().empty());
  Subscriber viktor(server_.stub(), Volunteer(viktor_), v1::SubscribeRequest());
  ASSERT_TRUE(Create(Volunteer(vera_), v1::CHANNEL_KIND_BUDDY, "", {}, {viktor_}, &again).ok());
  EXPECT_EQ(again.channel_id(), buddy.channel_id());
  EXPECT_THAT(again.invited_ids(), ::testing::ElementsAre(viktor_));
  auto events = viktor.WaitForEvents([](const auto& events) { return !events.empty(); });
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events[0].event_type(), v1::NETWORK_EVENT_TYPE_CHANNEL_UPDATED);
  EXPECT_THAT(events[0].channel().invited_ids(), ::testing::ElementsAre(viktor_));
  ASSERT_TRUE(Join(Volunteer(viktor_), buddy.channel_id()).ok());
  EXPECT_TRUE(Post(Volunteer(vera_), buddy.channel_id(), "glad you are in").ok());
}

TEST_F(NetworkApiTest, OnlyMembersReadOrPostAndAnotherOrganisationsChannelDoesNotExist) {
  std::string cohort = Cohort();
  ASSERT_TRUE(Post(Volunteer(vera_), cohort, "after tonight's group").ok());
  v1::ListMessagesResponse listed;
  // A supervisor or coordinator who is not a member is refused like anyone else.
  EXPECT_EQ(List(Sam(), cohort, &listed).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(List(Coordinator(), cohort, &listed).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(List(Volunteer(quinn_), cohort, &listed).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Post(Sam(), cohort, "hi").error_code(), grpc::StatusCode::PERMISSION_DENIED);
  Subscriber refused(server_.stub(), Sam(), From(cohort, 0));
  EXPECT_EQ(refused.WaitForEnd().error_code(), grpc::StatusCode::PERMISSION_DENIED);
  // A coordinator of another organisation.
  dv1::CreateOrganizationRequest create;
  create.set_display_name("Elsewhere");
  dv1::CreateOrganizationResponse other;
  ASSERT_TRUE(
      server_.directory()
          .stub()
          .CreateOrganization(As(TestToken(CallerRole::kAdmin, "op", "")).get(), create, &other)
          .ok());
  const std::string other_org = other.organization().organization_id();
  std::string stranger = TestToken(
      CallerRole::kCoordinator,
      Person(TestToken(CallerRole::kAdmin, "op", other_org), dv1::ROLE_COORDINATOR, "Olu"),
      other_org);
  EXPECT_EQ(List(stranger, cohort, &listed).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Post(stranger, cohort, "hi").error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(NetworkApiTest, BadBodiesAreRefusedNamingTheFieldAndStoreNothing) {
  std::string cohort = Cohort();
  // (Invalid UTF-8 never gets this far: protobuf refuses it in a string field.)
  for (const std::string& body : {std::string(), std::string(4001, 'a')}) {
    grpc::Status status = Post(Volunteer(vera_), cohort, body);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), StartsWith("body"));
  }
  EXPECT_EQ(Post(Volunteer(vera_), cohort, "ok", nullptr, "", "bad id!").error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Get(Volunteer(vera_), cohort).last_sequence(), 0);
  // 4,000 characters (not bytes) are fine.
  std::string longest;
  for (int i = 0; i < 4000; ++i) longest += "é";
  v1::Message message;
  ASSERT_TRUE(Post(Volunteer(vera_), cohort, longest, &message).ok());
  EXPECT_EQ(message.sequence(), 1);
}

TEST_F(NetworkApiTest, ConcurrentPostsThroughTwoReplicasGetGapFreeSequences) {
  std::string cohort = Cohort();
  constexpr int kThreads = 8;
  constexpr int kPosts = 25;
  std::vector<std::thread> threads;
  std::mutex mu;
  std::vector<int64_t> sequences;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPosts; ++i) {
        v1::Message message;
        grpc::Status status = Post(Volunteer(t % 2 == 0 ? vera_ : viktor_), cohort,
                                   absl::StrCat("post ", t, "/", i), &message, "", "", t % 2);
        ASSERT_TRUE(status.ok()) << status.error_message();
        std::lock_guard<std::mutex> lock(mu);
        sequences.push_back(message.sequence());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::sort(sequences.begin(), sequences.end());
  std::vector<int64_t> expected(kThreads * kPosts);
  std::iota(expected.begin(), expected.end(), 1);
  EXPECT_EQ(sequences, expected);
  EXPECT_EQ(Get(Volunteer(vera_), cohort).last_sequence(), kThreads * kPosts);
}

TEST_F(NetworkApiTest, RetriesWithOneClientMessageIdStoreOneMessage) {
  std::string cohort = Cohort();
  std::vector<std::thread> threads;
  std::mutex mu;
  std::set<std::string> ids;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      v1::Message message;
      grpc::Status status =
          Post(Volunteer(vera_), cohort, "only once", &message, "", "phone-42", t % 2);
      ASSERT_TRUE(status.ok()) << status.error_message();
      std::lock_guard<std::mutex> lock(mu);
      ids.insert(message.message_id());
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(ids.size(), 1u);
  v1::ListMessagesResponse listed;
  ASSERT_TRUE(List(Volunteer(vera_), cohort, &listed).ok());
  ASSERT_EQ(listed.messages_size(), 1);
  EXPECT_EQ(listed.messages(0).body(), "only once");
  // The id is the author's: another author with the same id posts their own message.
  ASSERT_TRUE(Post(Volunteer(viktor_), cohort, "mine", nullptr, "", "phone-42").ok());
  EXPECT_EQ(Get(Volunteer(vera_), cohort).last_sequence(), 2);
}

TEST_F(NetworkApiTest, RepliesFormFlatThreadsListedInOrderAndPaged) {
  std::string cohort = Cohort();
  v1::Message root, reply, nested, unrelated;
  ASSERT_TRUE(Post(Volunteer(vera_), cohort, "rough evening", &root).ok());
  ASSERT_TRUE(Post(Volunteer(viktor_), cohort, "unrelated", &unrelated).ok());
  ASSERT_TRUE(Post(Volunteer(viktor_), cohort, "here for you", &reply, root.message_id()).ok());
  ASSERT_TRUE(Post(Volunteer(vera_), cohort, "thanks", &nested, reply.message_id()).ok());
  EXPECT_EQ(nested.reply_to_message_id(), reply.message_id());
  v1::ListMessagesResponse thread;
  ASSERT_TRUE(List(Volunteer(vera_), cohort, &thread, 0, root.message_id()).ok());
  std::vector<std::string> bodies;
  for (const auto& message : thread.messages()) bodies.push_back(message.body());
  EXPECT_THAT(bodies, ::testing::ElementsAre("rough evening", "here for you", "thanks"));
  // Paging by two through the whole channel.
  v1::ListMessagesResponse first, second;
  ASSERT_TRUE(List(Volunteer(vera_), cohort, &first, 0, "", 2).ok());
  ASSERT_EQ(first.messages_size(), 2);
  ASSERT_FALSE(first.next_page_token().empty());
  ASSERT_TRUE(List(Volunteer(vera_), cohort, &second, 0, "", 2, first.next_page_token()).ok());
  ASSERT_EQ(second.messages_size(), 2);
  EXPECT_EQ(second.messages(0).sequence(), 3);
  EXPECT_TRUE(second.next_page_token().empty());
  EXPECT_EQ(
      Post(Volunteer(vera_), cohort, "to nothing", nullptr, "m00000000000000000000").error_code(),
      grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(NetworkApiTest, ARetriedCreateMakesOneChannelAndListingStopsBeforeASequence) {
  v1::CreateChannelRequest create;
  create.mutable_channel()->set_kind(v1::CHANNEL_KIND_GROUP);
  create.mutable_channel()->set_display_name("Region north");
  create.mutable_channel()->add_member_ids(vera_);
  create.set_request_id("create-north-1");
  v1::CreateChannelResponse first, again;
  ASSERT_TRUE(server_.stub().CreateChannel(As(Coordinator()).get(), create, &first).ok());
  ASSERT_TRUE(
      server_.replica(1).stub().CreateChannel(As(Coordinator()).get(), create, &again).ok());
  EXPECT_EQ(again.channel().channel_id(), first.channel().channel_id());
  v1::ListChannelsResponse listed;
  ASSERT_TRUE(server_.stub()
                  .ListChannels(As(Volunteer(vera_)).get(), v1::ListChannelsRequest(), &listed)
                  .ok());
  EXPECT_EQ(listed.channels_size(), 1);

  const std::string& north = first.channel().channel_id();
  for (int i = 1; i <= 5; ++i) {
    ASSERT_TRUE(Post(Volunteer(vera_), north, absl::StrCat("note ", i)).ok());
  }
  v1::ListMessagesRequest request;
  request.set_channel_id(north);
  request.set_after_sequence(1);
  request.set_before_sequence(4);
  v1::ListMessagesResponse between;
  ASSERT_TRUE(server_.stub().ListMessages(As(Volunteer(vera_)).get(), request, &between).ok());
  ASSERT_EQ(between.messages_size(), 2);
  EXPECT_EQ(between.messages(0).sequence(), 2);
  EXPECT_EQ(between.messages(1).sequence(), 3);
}

TEST_F(NetworkApiTest, ACoordinatorModeratesAMessageWithoutAReportOrMembership) {
  std::string cohort = Cohort();
  v1::Message message;
  ASSERT_TRUE(Post(Volunteer(vera_), cohort, "out of line", &message).ok());
  v1::DeleteMessageRequest request;
  request.set_channel_id(cohort);
  request.set_message_id(message.message_id());
  v1::DeleteMessageResponse response;
  EXPECT_EQ(server_.stub().DeleteMessage(As(Sam()).get(), request, &response).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(server_.stub().DeleteMessage(As(Coordinator()).get(), request, &response).ok());
  EXPECT_TRUE(response.message().deleted());
  EXPECT_EQ(response.message().sequence(), message.sequence());
}

TEST_F(NetworkApiTest, ASubscriberResumingOnTheOtherReplicaSeesEveryMessageOnceInOrder) {
  std::string cohort = Cohort();
  auto first =
      std::make_unique<Subscriber>(server_.replica(0).stub(), Volunteer(viktor_), From(cohort, 0));
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(Post(Volunteer(vera_), cohort, "a", nullptr, "", "", 1).ok());
  auto seen = first->WaitForMessages(10);
  ExpectSequences(seen, 1, 10);
  first->Cancel();
  // While the client is away, both replicas take posts at once.
  std::thread away([&] {
    for (int i = 0; i < 15; ++i)
      ASSERT_TRUE(Post(Volunteer(vera_), cohort, "b", nullptr, "", "", 0).ok());
  });
  for (int i = 0; i < 15; ++i)
    ASSERT_TRUE(Post(Volunteer(vera_), cohort, "c", nullptr, "", "", 1).ok());
  // It comes back to the other replica mid-flow, from the last sequence it saw.
  Subscriber resumed(server_.replica(1).stub(), Volunteer(viktor_),
                     From(cohort, seen.back().sequence()));
  away.join();
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(Post(Volunteer(vera_), cohort, "d", nullptr, "", "", i % 2).ok());
  ExpectSequences(resumed.WaitForMessages(40), 11, 50);
}

TEST_F(NetworkApiTest, LivePostsReachSubscribersOnBothReplicasInOrder) {
  std::string cohort = Cohort();
  Subscriber on_zero(server_.replica(0).stub(), Volunteer(viktor_), v1::SubscribeRequest());
  Subscriber on_one(server_.replica(1).stub(), Volunteer(vera_), v1::SubscribeRequest());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        ASSERT_TRUE(
            Post(Volunteer(t % 2 ? vera_ : viktor_), cohort, "live", nullptr, "", "", t % 2).ok());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  ExpectSequences(on_zero.WaitForMessages(80), 1, 80);
  ExpectSequences(on_one.WaitForMessages(80), 1, 80);
}

TEST_F(NetworkApiTest, QuietHoursMarkEventsSilentForTheRecipientOnly) {
  v1::Channel group;
  ASSERT_TRUE(
      Create(Coordinator(), v1::CHANNEL_KIND_GROUP, "Evening", {vera_, quinn_}, {}, &group).ok());
  // 20:00 in London: inside Quinn's quiet hours (17:00-09:00), not Vera's (she has none).
  server_.clock().Advance(absl::Hours(7));
  Subscriber quinn(server_.stub(), Volunteer(quinn_), v1::SubscribeRequest());
  Subscriber vera(server_.stub(), Volunteer(vera_), v1::SubscribeRequest());
  ASSERT_TRUE(Post(Volunteer(vera_), group.channel_id(), "thinking of you all").ok());
  auto posted = [](const std::vector<v1::NetworkEvent>& events) {
    return std::any_of(events.begin(), events.end(), [](const v1::NetworkEvent& e) {
      return e.event_type() == v1::NETWORK_EVENT_TYPE_MESSAGE_POSTED;
    });
  };
  auto quinn_events = quinn.WaitForEvents(posted);
  auto vera_events = vera.WaitForEvents(posted);
  ASSERT_TRUE(posted(quinn_events));
  ASSERT_TRUE(posted(vera_events));
  EXPECT_TRUE(quinn_events.back().silent());
  EXPECT_FALSE(vera_events.back().silent());
  // At 10:00 the next morning Quinn's events make a sound again.
  server_.clock().Advance(absl::Hours(14));
  ASSERT_TRUE(Post(Volunteer(vera_), group.channel_id(), "morning").ok());
  auto morning = quinn.WaitForMessages(2);
  ASSERT_EQ(morning.size(), 2u);
  auto events = quinn.WaitForEvents([](const auto& e) { return e.size() >= 2; });
  EXPECT_FALSE(events.back().silent());
}

class SlowSubscriberTest : public NetworkApiTest {
 protected:
  SlowSubscriberTest() : NetworkApiTest(Subscription::Options{.max_queued = 16}) {}
};

TEST_F(SlowSubscriberTest, AStalledSubscriberDoesNotDelayAHealthyOneAndIsEndedToResume) {
  std::string cohort = Cohort();
  // A client that does not read, with small transport windows so that its stream backs up soon.
  grpc::ChannelArguments small_windows;
  small_windows.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  small_windows.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 16 * 1024);
  auto stalled_stub = v1::PeerNetworkService::NewStub(
      grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", server_.replica(0).port()),
                                grpc::InsecureChannelCredentials(), small_windows));
  Subscriber stalled(*stalled_stub, Volunteer(viktor_), From(cohort, 0), /*read=*/false);
  Subscriber healthy(server_.stub(), Volunteer(vera_), From(cohort, 0));
  // Large bodies fill the stalled client's transport windows, then its queue.
  const std::string body(4000, 'x');
  constexpr int kPosts = 300;
  for (int i = 0; i < kPosts; ++i) ASSERT_TRUE(Post(Volunteer(vera_), cohort, body).ok());
  ExpectSequences(healthy.WaitForMessages(kPosts), 1, kPosts);
  // The stalled one got what fit, in order, and then the end that tells it to resume.
  stalled.StartReading();
  grpc::Status ended = stalled.WaitForEnd();
  EXPECT_EQ(ended.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(ended.error_message(), StartsWith("SUBSCRIBER_TOO_SLOW"));
  auto got = stalled.WaitForMessages(0);
  ASSERT_LT(got.size(), static_cast<size_t>(kPosts));
  if (!got.empty()) ExpectSequences(got, 1, got.back().sequence());
  // Resuming from its cursor, it gets the rest.
  Subscriber resumed(server_.stub(), Volunteer(viktor_),
                     From(cohort, got.empty() ? 0 : got.back().sequence()));
  auto rest = resumed.WaitForMessages(kPosts - got.size());
  ExpectSequences(rest, got.empty() ? 1 : got.back().sequence() + 1, kPosts);
}

TEST_F(SlowSubscriberTest, AClientResumingSeveralChannelsFarBehindGetsThemAllWithoutBeingEnded) {
  // Each channel alone is behind by more than the stream's whole queue (16 events here).
  std::vector<std::string> channels;
  for (int c = 0; c < 3; ++c) {
    channels.push_back(Cohort());
    for (int i = 0; i < 40; ++i) ASSERT_TRUE(Post(Volunteer(vera_), channels[c], "catch up").ok());
  }
  v1::SubscribeRequest request;
  for (const std::string& channel : channels) {
    auto* cursor = request.add_cursors();
    cursor->set_channel_id(channel);
    cursor->set_after_sequence(0);
  }
  Subscriber resumed(server_.stub(), Volunteer(viktor_), request);
  auto got = resumed.WaitForMessages(120);
  EXPECT_EQ(resumed.WaitForEnd(absl::ZeroDuration()).error_code(), grpc::StatusCode::OK);
  for (const std::string& channel : channels) {
    std::vector<v1::Message> of_channel;
    for (const v1::Message& message : got) {
      if (message.channel_id() == channel) of_channel.push_back(message);
    }
    ExpectSequences(of_channel, 1, 40);
  }
}

TEST_F(NetworkApiTest, BadCursorsAndPeopleAreRefusedNamingTheField) {
  std::string cohort = Cohort();
  ASSERT_TRUE(Post(Volunteer(vera_), cohort, "one").ok());
  Subscriber ahead(server_.stub(), Volunteer(viktor_), From(cohort, 5));
  grpc::Status refused = ahead.WaitForEnd();
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(refused.error_message(), StartsWith("cursors[0].after_sequence"));
  Subscriber malformed(server_.stub(), Volunteer(viktor_), From("not-a-channel", 0));
  refused = malformed.WaitForEnd();
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(refused.error_message(), StartsWith("cursors[0].channel_id"));
  grpc::Status left = Leave(Coordinator(), cohort, "somebody");
  EXPECT_EQ(left.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(left.error_message(), StartsWith("person_id"));
}

TEST_F(NetworkApiTest, TheOpenReportsQueuePagesWithoutSkippingWhatOthersResolved) {
  std::string cohort = Cohort();
  std::vector<std::string> reports;
  for (int i = 0; i < 3; ++i) {
    v1::Message message;
    ASSERT_TRUE(Post(Volunteer(vera_), cohort, absl::StrCat("message ", i), &message).ok());
    v1::ReportMessageRequest report;
    report.set_channel_id(cohort);
    report.set_message_id(message.message_id());
    report.set_reason("please look");
    v1::ReportMessageResponse reported;
    ASSERT_TRUE(server_.stub().ReportMessage(As(Volunteer(viktor_)).get(), report, &reported).ok());
  }
  v1::ListReportsRequest list;
  list.add_states(v1::REPORT_STATE_OPEN);
  list.set_page_size(2);
  v1::ListReportsResponse first;
  ASSERT_TRUE(server_.stub().ListReports(As(Coordinator()).get(), list, &first).ok());
  ASSERT_EQ(first.reports_size(), 2);
  // The coordinator resolves what they saw before turning the page.
  for (const v1::Report& report : first.reports()) {
    v1::ResolveReportRequest resolve;
    resolve.set_report_id(report.report_id());
    resolve.set_action(v1::REPORT_ACTION_DISMISS);
    v1::ResolveReportResponse resolved;
    ASSERT_TRUE(server_.stub().ResolveReport(As(Coordinator()).get(), resolve, &resolved).ok());
  }
  list.set_page_token(first.next_page_token());
  v1::ListReportsResponse second;
  ASSERT_TRUE(server_.stub().ListReports(As(Coordinator()).get(), list, &second).ok());
  ASSERT_EQ(second.reports_size(), 1);
  EXPECT_EQ(second.reports(0).message().body(), "message 0");  // newest first
}

TEST_F(NetworkApiTest, ADeletedMessageKeepsItsSequenceWithNoBody) {
  std::string cohort = Cohort();
  Subscriber viktor(server_.stub(), Volunteer(viktor_), v1::SubscribeRequest());
  v1::Message first, second;
  ASSERT_TRUE(Post(Volunteer(vera_), cohort, "regret this", &first).ok());
  ASSERT_TRUE(Post(Volunteer(vera_), cohort, "and this stays", &second).ok());
  // Neither someone else nor a supervisor deletes it; the author does.
  v1::DeleteMessageRequest request;
  request.set_channel_id(cohort);
  request.set_message_id(first.message_id());
  v1::DeleteMessageResponse response;
  EXPECT_EQ(
      server_.stub().DeleteMessage(As(Volunteer(viktor_)).get(), request, &response).error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(server_.stub().DeleteMessage(As(Volunteer(vera_)).get(), request, &response).ok());
  EXPECT_TRUE(response.message().deleted());
  EXPECT_EQ(response.message().body(), "");
  v1::ListMessagesResponse listed;
  ASSERT_TRUE(List(Volunteer(viktor_), cohort, &listed).ok());
  ASSERT_EQ(listed.messages_size(), 2);
  EXPECT_EQ(listed.messages(0).sequence(), 1);
  EXPECT_TRUE(listed.messages(0).deleted());
  EXPECT_EQ(listed.messages(0).body(), "");
  EXPECT_EQ(listed.messages(1).body(), "and this stays");
  auto events = viktor.WaitForEvents([](const auto& events) {
    return std::any_of(events.begin(), events.end(), [](const v1::NetworkEvent& e) {
      return e.event_type() == v1::NETWORK_EVENT_TYPE_MESSAGE_DELETED;
    });
  });
  ASSERT_EQ(events.back().event_type(), v1::NETWORK_EVENT_TYPE_MESSAGE_DELETED);
  EXPECT_EQ(events.back().message().sequence(), 1);
  EXPECT_EQ(events.back().message().body(), "");
}

TEST_F(NetworkApiTest, RetentionRemovesOldMessagesAndTheirStreamEntries) {
  std::string cohort = Cohort(/*retention_seconds=*/24 * 3600);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Post(Volunteer(vera_), cohort, "old").ok());
  server_.clock().Advance(absl::Hours(36));
  ASSERT_TRUE(Post(Volunteer(vera_), cohort, "recent").ok());
  ASSERT_TRUE(server_.replica(0).service().ExpireMessages().ok());
  v1::ListMessagesResponse listed;
  ASSERT_TRUE(List(Volunteer(vera_), cohort, &listed).ok());
  ASSERT_EQ(listed.messages_size(), 1);
  EXPECT_EQ(listed.messages(0).sequence(), 4);
  EXPECT_EQ(listed.messages(0).body(), "recent");
  auto stream = server_.redis().Execute({"XRANGE", EventStreamKey("network", org_), "-", "+"});
  ASSERT_TRUE(stream.ok());
  int posted = 0;
  for (const StreamEntry& entry : ParseStreamEntries(*stream)) {
    if (entry.Get("type") == "message.posted" && entry.Get("channel_id") == cohort) ++posted;
  }
  EXPECT_EQ(posted, 1);
  // A subscriber resuming from before the removed messages gets what is kept, and nothing hangs.
  Subscriber resumed(server_.stub(), Volunteer(viktor_), From(cohort, 0));
  ExpectSequences(resumed.WaitForMessages(1), 4, 4);
  // Sequences go on from where they were.
  v1::Message next;
  ASSERT_TRUE(Post(Volunteer(vera_), cohort, "next", &next).ok());
  EXPECT_EQ(next.sequence(), 5);
}

TEST_F(NetworkApiTest, ACanaryBodyIsNowhereInRedisNorItsAppendOnlyFile) {
  const std::string canary = "CANARY-MESSAGE-3e9b14";
  const std::string reason_canary = "CANARY-REPORT-a81c02";
  std::string cohort = Cohort();
  v1::Message message;
  ASSERT_TRUE(Post(Volunteer(vera_), cohort, "what I heard tonight " + canary, &message).ok());
  v1::ReportMessageRequest report;
  report.set_channel_id(cohort);
  report.set_message_id(message.message_id());
  report.set_reason("worried " + reason_canary);
  v1::ReportMessageResponse reported;
  ASSERT_TRUE(server_.stub().ReportMessage(As(Volunteer(viktor_)).get(), report, &reported).ok());
  std::string everything = peerwell::testing::AllRedisText(server_.redis());
  ASSERT_NE(everything.find("message.posted"), std::string::npos);  // it did read the events
  everything +=
      peerwell::testing::AppendOnlyFileText(server_.directory().redis_server().directory());
  for (const std::string& text : {canary, reason_canary}) {
    EXPECT_EQ(everything.find(text), std::string::npos) << text;
  }
  v1::ListMessagesResponse listed;
  ASSERT_TRUE(List(Volunteer(viktor_), cohort, &listed).ok());
  EXPECT_EQ(listed.messages(0).body(), "what I heard tonight " + canary);
}

TEST_F(NetworkApiTest, ReadMarkersArePrivateUnlessReceiptsAreOnAndGiveUnreadCounts) {
  std::string cohort = Cohort();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Post(Volunteer(vera_), cohort, "news").ok());
  v1::ListChannelsRequest list;
  v1::ListChannelsResponse channels;
  ASSERT_TRUE(server_.stub().ListChannels(As(Volunteer(viktor_)).get(), list, &channels).ok());
  ASSERT_EQ(channels.channels_size(), 1);
  EXPECT_EQ(channels.channels(0).unread_count(), 3);
  // Her own posts are read by her.
  EXPECT_EQ(Get(Volunteer(vera_), cohort).unread_count(), 0);
  v1::MarkReadRequest mark;
  mark.set_channel_id(cohort);
  mark.set_sequence(2);
  v1::MarkReadResponse marked;
  ASSERT_TRUE(server_.stub().MarkRead(As(Volunteer(viktor_)).get(), mark, &marked).ok());
  EXPECT_EQ(Get(Volunteer(viktor_), cohort).unread_count(), 1);
  mark.set_sequence(1);  // markers only move forward
  ASSERT_TRUE(server_.stub().MarkRead(As(Volunteer(viktor_)).get(), mark, &marked).ok());
  EXPECT_EQ(marked.read_marker().sequence(), 2);
  mark.set_sequence(9);
  EXPECT_EQ(server_.stub().MarkRead(As(Volunteer(viktor_)).get(), mark, &marked).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  v1::ListReadMarkersRequest markers;
  markers.set_channel_id(cohort);
  v1::ListReadMarkersResponse listed;
  ASSERT_TRUE(server_.stub().ListReadMarkers(As(Volunteer(vera_)).get(), markers, &listed).ok());
  EXPECT_EQ(listed.read_markers_size(), 0);  // receipts are off by default
  v1::UpdateNetworkSettingsRequest update;
  update.mutable_settings()->set_read_receipts(true);
  update.mutable_update_mask()->add_paths("read_receipts");
  v1::UpdateNetworkSettingsResponse updated;
  ASSERT_TRUE(
      server_.stub().UpdateNetworkSettings(As(Volunteer(viktor_)).get(), update, &updated).ok());
  ASSERT_TRUE(server_.stub().ListReadMarkers(As(Volunteer(vera_)).get(), markers, &listed).ok());
  ASSERT_EQ(listed.read_markers_size(), 1);
  EXPECT_EQ(listed.read_markers(0).person_id(), viktor_);
  EXPECT_EQ(listed.read_markers(0).sequence(), 2);
}

TEST_F(NetworkApiTest, ReportsGoToCoordinatorsWhoDismissOrDeleteAndTheReporterStaysHidden) {
  std::string cohort = Cohort();
  v1::Message message;
  ASSERT_TRUE(Post(Volunteer(vera_), cohort, "something hurtful", &message).ok());
  v1::ReportMessageRequest report;
  report.set_channel_id(cohort);
  report.set_message_id(message.message_id());
  report.set_reason("this crossed a line");
  v1::ReportMessageResponse reported;
  ASSERT_TRUE(server_.stub().ReportMessage(As(Volunteer(viktor_)).get(), report, &reported).ok());
  EXPECT_EQ(reported.report().reporter_id(), "");
  EXPECT_EQ(reported.report().state(), v1::REPORT_STATE_OPEN);

  v1::ListReportsRequest list;
  v1::ListReportsResponse listed;
  for (const std::string& token : {Volunteer(vera_), Volunteer(viktor_), Sam()}) {
    EXPECT_EQ(server_.stub().ListReports(As(token).get(), list, &listed).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  ASSERT_TRUE(server_.stub().ListReports(As(Coordinator()).get(), list, &listed).ok());
  ASSERT_EQ(listed.reports_size(), 1);
  EXPECT_EQ(listed.reports(0).reporter_id(), viktor_);
  EXPECT_EQ(listed.reports(0).reason(), "this crossed a line");
  EXPECT_EQ(listed.reports(0).message().body(), "something hurtful");

  v1::ResolveReportRequest resolve;
  resolve.set_report_id(reported.report().report_id());
  resolve.set_action(v1::REPORT_ACTION_DELETE_MESSAGE);
  resolve.set_note("talked with both");
  v1::ResolveReportResponse resolved;
  EXPECT_EQ(
      server_.stub().ResolveReport(As(Volunteer(vera_)).get(), resolve, &resolved).error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(server_.stub().ResolveReport(As(Coordinator()).get(), resolve, &resolved).ok());
  EXPECT_EQ(resolved.report().state(), v1::REPORT_STATE_RESOLVED);
  EXPECT_TRUE(resolved.report().message().deleted());
  grpc::Status again = server_.stub().ResolveReport(As(Coordinator()).get(), resolve, &resolved);
  EXPECT_EQ(again.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(again.error_message(), StartsWith("REPORT_RESOLVED"));
  list.add_states(v1::REPORT_STATE_OPEN);
  ASSERT_TRUE(server_.stub().ListReports(As(Coordinator()).get(), list, &listed).ok());
  EXPECT_EQ(listed.reports_size(), 0);
  v1::ListMessagesResponse messages;
  ASSERT_TRUE(List(Volunteer(vera_), cohort, &messages).ok());
  EXPECT_TRUE(messages.messages(0).deleted());
}

TEST_F(NetworkApiTest, APersonRemovedFromAChannelStopsReceivingAtOnce) {
  std::string cohort = Cohort();
  v1::Channel elsewhere;
  ASSERT_TRUE(
      Create(Coordinator(), v1::CHANNEL_KIND_GROUP, "Other", {vera_, viktor_}, {}, &elsewhere)
          .ok());
  Subscriber viktor(server_.replica(1).stub(), Volunteer(viktor_), v1::SubscribeRequest());
  ASSERT_TRUE(Leave(Coordinator(), cohort, viktor_).ok());
  ASSERT_TRUE(Post(Volunteer(vera_), cohort, "after he left").ok());
  ASSERT_TRUE(Post(Volunteer(vera_), elsewhere.channel_id(), "still here").ok());
  auto seen = viktor.WaitForMessages(1);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].body(), "still here");
  auto events = viktor.WaitForEvents([](const auto&) { return true; });
  EXPECT_EQ(events.front().event_type(), v1::NETWORK_EVENT_TYPE_CHANNEL_UPDATED);
  EXPECT_EQ(events.front().channel_id(), cohort);
  v1::ListMessagesResponse listed;
  EXPECT_EQ(List(Volunteer(viktor_), cohort, &listed).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(NetworkApiTest, SomeoneWhoLeavesTheOrganisationIsCutOff) {
  std::string cohort = Cohort();
  Subscriber viktor(server_.stub(), Volunteer(viktor_), v1::SubscribeRequest());
  dv1::UpdatePersonRequest update;
  update.mutable_person()->set_person_id(viktor_);
  update.mutable_person()->set_status(dv1::PERSON_STATUS_INACTIVE);
  update.mutable_update_mask()->add_paths("status");
  dv1::UpdatePersonResponse updated;
  ASSERT_TRUE(
      server_.directory().stub().UpdatePerson(As(Coordinator()).get(), update, &updated).ok());
  EXPECT_EQ(viktor.WaitForEnd().error_code(), grpc::StatusCode::PERMISSION_DENIED);
  // His token is refused from then on: it no longer speaks for a member.
  EXPECT_EQ(Post(Volunteer(viktor_), cohort, "still here?").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(NetworkApiTest, ChannelsJoinedWhileSubscribedArriveOnTheOpenStream) {
  Subscriber quinn(server_.stub(), Volunteer(quinn_), v1::SubscribeRequest());
  v1::Channel group;
  ASSERT_TRUE(Create(Coordinator(), v1::CHANNEL_KIND_GROUP, "Later", {vera_}, {}, &group).ok());
  ASSERT_TRUE(Post(Volunteer(vera_), group.channel_id(), "before").ok());
  grpc::Status joined = Join(Coordinator(), group.channel_id(), quinn_);
  ASSERT_TRUE(joined.ok()) << joined.error_code() << " " << joined.error_message();
  ASSERT_TRUE(Post(Volunteer(vera_), group.channel_id(), "welcome Quinn").ok());
  auto seen = quinn.WaitForMessages(1);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].body(), "welcome Quinn");
  EXPECT_EQ(seen[0].sequence(), 2);
  // A new announcement channel reaches everyone.
  v1::Channel news;
  ASSERT_TRUE(Create(Coordinator(), v1::CHANNEL_KIND_ANNOUNCEMENT, "News", {}, {}, &news).ok());
  ASSERT_TRUE(Post(Coordinator(), news.channel_id(), "training on Monday").ok());
  EXPECT_EQ(quinn.WaitForMessages(2).back().body(), "training on Monday");
}

TEST_F(NetworkApiTest, StreamsEndCleanlyOnShutdown) {
  std::string cohort = Cohort();
  Subscriber viktor(server_.replica(1).stub(), Volunteer(viktor_), From(cohort, 0));
  server_.replica(1).Shutdown();
  EXPECT_EQ(viktor.WaitForEnd().error_code(), grpc::StatusCode::UNAVAILABLE);
}

// What a person's export is made from: Vera (V) and Viktor (W) both post in their cohort and
// report each other's messages; Vera also has a direct channel with Quinn, a group she posted in
// and left, read markers and settings; the coordinator announces.
class PersonExportTest : public NetworkApiTest {
 protected:
  void SetUp() override {
    NetworkApiTest::SetUp();
    if (HasFatalFailure()) return;
    cohort_ = Cohort();
    v1::Message w_message;
    ASSERT_TRUE(Post(Volunteer(vera_), cohort_, "V opens the evening", &v_message_).ok());
    ASSERT_TRUE(Post(Volunteer(viktor_), cohort_, "W answers", &w_message).ok());
    ASSERT_TRUE(
        Post(Volunteer(vera_), cohort_, "V replies", nullptr, w_message.message_id(), "v-1").ok());
    v1::Channel direct;
    ASSERT_TRUE(Create(Volunteer(vera_), v1::CHANNEL_KIND_DIRECT, "", {quinn_}, {}, &direct).ok());
    direct_ = direct.channel_id();
    ASSERT_TRUE(Post(Volunteer(vera_), direct_, "V to Quinn").ok());
    ASSERT_TRUE(Post(Volunteer(quinn_), direct_, "Quinn to V").ok());
    MarkRead(Volunteer(vera_), direct_, 2);
    MarkRead(Volunteer(viktor_), cohort_, 3);
    v1::Channel former;
    ASSERT_TRUE(
        Create(Coordinator(), v1::CHANNEL_KIND_GROUP, "Former", {vera_, viktor_}, {quinn_}, &former)
            .ok());
    former_ = former.channel_id();
    ASSERT_TRUE(Post(Volunteer(vera_), former_, "V before leaving").ok());
    ASSERT_TRUE(Leave(Volunteer(vera_), former_).ok());
    v1::Channel news;
    ASSERT_TRUE(Create(Coordinator(), v1::CHANNEL_KIND_ANNOUNCEMENT, "News", {}, {}, &news).ok());
    ASSERT_TRUE(Post(Coordinator(), news.channel_id(), "training on Monday").ok());
    ReadReceipts(Volunteer(vera_), true);
    ReadReceipts(Volunteer(viktor_), true);
    ReportAs(Volunteer(vera_), w_message, "V finds this unkind");
    ReportAs(Volunteer(viktor_), v_message_, "W objects");
  }

  void MarkRead(const std::string& token, const std::string& channel_id, int64_t sequence) {
    v1::MarkReadRequest request;
    request.set_channel_id(channel_id);
    request.set_sequence(sequence);
    v1::MarkReadResponse response;
    grpc::Status status = server_.stub().MarkRead(As(token).get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  void ReadReceipts(const std::string& token, bool on) {
    v1::UpdateNetworkSettingsRequest request;
    request.mutable_settings()->set_read_receipts(on);
    v1::UpdateNetworkSettingsResponse response;
    grpc::Status status = server_.stub().UpdateNetworkSettings(As(token).get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  void ReportAs(const std::string& token, const v1::Message& message, const std::string& reason) {
    v1::ReportMessageRequest request;
    request.set_channel_id(message.channel_id());
    request.set_message_id(message.message_id());
    request.set_reason(reason);
    v1::ReportMessageResponse response;
    grpc::Status status = server_.stub().ReportMessage(As(token).get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  std::string Service() { return Token(CallerRole::kService, "directory"); }

  grpc::Status Export(const std::string& token, const std::string& person_id,
                      google::protobuf::Struct* records) {
    privacy::v1::ExportPersonRecordsRequest request;
    request.set_person_id(person_id);
    privacy::v1::ExportPersonRecordsResponse response;
    grpc::Status status = server_.stub().ExportPersonRecords(As(token).get(), request, &response);
    *records = response.records();
    return status;
  }

  // The records of one family, each the JSON object of its API message.
  static std::vector<google::protobuf::Struct> Family(const google::protobuf::Struct& records,
                                                      const std::string& name) {
    std::vector<google::protobuf::Struct> family;
    auto found = records.fields().find(name);
    if (found == records.fields().end() || !found->second.has_list_value()) {
      ADD_FAILURE() << "the export has no family " << name;
      return family;
    }
    for (const auto& value : found->second.list_value().values()) {
      family.push_back(value.struct_value());
    }
    return family;
  }
  static std::string Text(const google::protobuf::Struct& record, const std::string& field) {
    auto found = record.fields().find(field);
    return found == record.fields().end() ? "" : found->second.string_value();
  }
  static std::multiset<std::string> Texts(const std::vector<google::protobuf::Struct>& records,
                                          const std::string& field) {
    std::multiset<std::string> texts;
    for (const auto& record : records) texts.insert(Text(record, field));
    return texts;
  }

  std::string cohort_, direct_, former_;
  v1::Message v_message_;
};

TEST_F(PersonExportTest, HoldsThePersonsChannelsMessagesMarkersSettingsAndReportsOnly) {
  google::protobuf::Struct records;
  grpc::Status status = Export(Service(), vera_, &records);
  ASSERT_TRUE(status.ok()) << status.error_message();

  // The channels she is in, as the API shows them to her; not the one she left.
  auto channels = Family(records, "channels");
  EXPECT_EQ(Texts(channels, "channelId"), (std::multiset<std::string>{cohort_, direct_}));
  for (const auto& channel : channels) {
    if (Text(channel, "channelId") == cohort_) {
      EXPECT_EQ(Text(channel, "displayName"), "Cohort");
      EXPECT_EQ(Text(channel, "lastSequence"), "3");
    }
  }
  // Her messages, wherever she posted them, opened; none of anyone else's.
  auto messages = Family(records, "messages");
  EXPECT_EQ(Texts(messages, "body"),
            (std::multiset<std::string>{"V opens the evening", "V replies", "V to Quinn",
                                        "V before leaving"}));
  EXPECT_EQ(Texts(messages, "authorId"), (std::multiset<std::string>{vera_, vera_, vera_, vera_}));
  for (const auto& message : messages) {
    if (Text(message, "body") == "V opens the evening") {
      EXPECT_EQ(Text(message, "messageId"), v_message_.message_id());
      EXPECT_EQ(Text(message, "authorDisplayName"), "Vera");
      EXPECT_EQ(Text(message, "sequence"), "1");
    }
  }
  auto markers = Family(records, "readMarkers");
  EXPECT_EQ(Texts(markers, "channelId"), (std::multiset<std::string>{cohort_, direct_, former_}));
  EXPECT_EQ(Texts(markers, "personId"), (std::multiset<std::string>{vera_, vera_, vera_}));
  for (const auto& marker : markers) {
    if (Text(marker, "channelId") == direct_) {
      EXPECT_EQ(Text(marker, "sequence"), "2");
    }
  }
  auto settings = Family(records, "settings");
  ASSERT_EQ(settings.size(), 1u);
  EXPECT_TRUE(settings[0].fields().at("readReceipts").bool_value());
  auto reports = Family(records, "reports");
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(Text(reports[0], "reason"), "V finds this unkind");
  EXPECT_EQ(Text(reports[0], "reporterId"), vera_);
  EXPECT_EQ(Text(reports[0], "state"), "REPORT_STATE_OPEN");

  std::string json;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(records, &json).ok());
  for (const char* theirs : {"W answers", "W objects", "Quinn to V", "training on Monday"}) {
    EXPECT_EQ(json.find(theirs), std::string::npos) << theirs;
  }
}

TEST_F(PersonExportTest, OnlyServicesExportAndAPersonIdMustBeWellFormed) {
  google::protobuf::Struct records;
  for (const std::string& token : {Volunteer(vera_), Coordinator(), Sam()}) {
    EXPECT_EQ(Export(token, vera_, &records).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  }
  grpc::Status malformed = Export(Service(), "not a person!", &records);
  EXPECT_EQ(malformed.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(malformed.error_message(), HasSubstr("person_id"));
}

TEST_F(PersonExportTest, SomeoneWithNoRecordsGetsEveryFamilyEmpty) {
  google::protobuf::Struct records;
  grpc::Status status = Export(Service(), sam_, &records);
  ASSERT_TRUE(status.ok()) << status.error_message();
  for (const char* family : {"channels", "messages", "readMarkers", "settings", "reports"}) {
    EXPECT_TRUE(Family(records, family).empty()) << family;
  }
  EXPECT_EQ(records.fields_size(), 5);
}

TEST_F(PersonExportTest, TheKeyFamiliesCoverEveryKeyTheNetworkWrites) {
  const auto& families = RedisNetworkStore::PersonKeyFamilies();
  auto matches = [](const std::string& pattern, const std::string& key) {
    return fnmatch(pattern.c_str(), key.c_str(), 0) == 0;
  };
  std::set<std::string> matched;
  std::string cursor = "0";
  int keys = 0;
  do {
    auto reply = server_.redis().Execute({"SCAN", cursor, "COUNT", "1000"});
    ASSERT_TRUE(reply.ok()) << reply.status();
    ASSERT_EQ(reply->elements.size(), 2u);
    cursor = reply->elements[0].str;
    for (const RedisReply& element : reply->elements[1].elements) {
      const std::string& key = element.str;
      if (!matches("pw:{*}:network:*", key) && !matches("pw:network:*", key) &&
          !matches(EventStreamKey("network", "*"), key)) {
        continue;
      }
      ++keys;
      bool covered = false;
      for (const PersonKeyFamily& family : families) {
        if (!matches(family.pattern, key)) continue;
        covered = true;
        matched.insert(family.pattern);
      }
      EXPECT_TRUE(covered) << key << " is in no family of PersonKeyFamilies()";
    }
  } while (cursor != "0");
  EXPECT_GT(keys, 20);
  // The workload writes every kind of key, so a pattern nothing matches is a mistake.
  for (const PersonKeyFamily& family : families) {
    EXPECT_EQ(matched.count(family.pattern), 1u) << family.pattern << " matched no key";
    EXPECT_NE(family.exported_as.empty(), family.not_exported_because.empty()) << family.pattern;
  }
}

// The fields of a stored message record: id, author, author's name, sealed body, reply-to,
// thread root, create micros, deleted ("<length>:<bytes>" each).
std::vector<std::string> RecordFields(absl::string_view packed) {
  std::vector<std::string> fields;
  while (!packed.empty()) {
    size_t colon = packed.find(':');
    size_t length = 0;
    if (colon == absl::string_view::npos || !absl::SimpleAtoi(packed.substr(0, colon), &length)) {
      ADD_FAILURE() << "a damaged record";
      return fields;
    }
    fields.emplace_back(packed.substr(colon + 1, length));
    packed.remove_prefix(colon + 1 + length);
  }
  return fields;
}

// Every key the network service keeps (its own keys, its stream and dead letters) and every
// value, read type by type, as text in key order; sets and hashes sorted, so that two reads of
// unchanged data compare equal.
std::string NetworkText(RedisClient& redis) {
  std::vector<std::string> keys;
  std::string cursor = "0";
  do {
    auto reply = redis.Execute({"SCAN", cursor, "COUNT", "1000"});
    if (!reply.ok() || reply->elements.size() != 2) {
      ADD_FAILURE() << "SCAN failed";
      return "";
    }
    cursor = reply->elements[0].str;
    for (const RedisReply& key : reply->elements[1].elements) {
      if (fnmatch("pw:{*}:network:*", key.str.c_str(), 0) == 0 ||
          fnmatch("pw:network:*", key.str.c_str(), 0) == 0 ||
          fnmatch("pw:{*}:events:network*", key.str.c_str(), 0) == 0) {
        keys.push_back(key.str);
      }
    }
  } while (cursor != "0");
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  std::string text;
  for (const std::string& key : keys) {
    auto type = redis.Execute({"TYPE", key});
    if (!type.ok()) continue;
    std::vector<std::string> lines;
    RedisCommand read;
    if (type->str == "string") read = {"GET", key};
    if (type->str == "hash") read = {"HGETALL", key};
    if (type->str == "zset") read = {"ZRANGE", key, "0", "-1", "WITHSCORES"};
    if (type->str == "set") read = {"SMEMBERS", key};
    if (type->str == "list") read = {"LRANGE", key, "0", "-1"};
    if (type->str == "stream") read = {"XRANGE", key, "-", "+"};
    auto value = read.empty() ? absl::StatusOr<RedisReply>(RedisReply{}) : redis.Execute(read);
    if (!value.ok()) continue;
    if (type->str == "hash") {
      for (size_t i = 0; i + 1 < value->elements.size(); i += 2) {
        lines.push_back(absl::StrCat(value->elements[i].str, "=", value->elements[i + 1].str));
      }
      std::sort(lines.begin(), lines.end());
    } else if (type->str == "stream") {
      for (const StreamEntry& entry : ParseStreamEntries(*value)) {
        std::string line = entry.id;
        for (const EventField& field : entry.fields) {
          absl::StrAppend(&line, " ", field.name, "=", field.value);
        }
        lines.push_back(line);
      }
    } else {
      lines.push_back(value->str);
      for (const RedisReply& element : value->elements) lines.push_back(element.str);
      if (type->str == "set") std::sort(lines.begin(), lines.end());
    }
    absl::StrAppend(&text, key, "\n");
    for (const std::string& line : lines) absl::StrAppend(&text, "  ", line, "\n");
  }
  return text;
}

// The network's domain reaching Redis as the service's own ACL user, as in production, so that
// an erasure's SCANs, scripts and deletions from the dead letters are held to its rules.
struct NetworkAsItsUser {
  explicit NetworkAsItsUser(NetworkTestServer& server)
      : redis(RedisOptions{server.directory().redis_server().address_for("network")}),
        directory(grpc::CreateChannel(absl::StrCat("127.0.0.1:", server.directory().port()),
                                      grpc::InsecureChannelCredentials()),
                  {"network", peerwell::testing::kTestJwtSecret}, server.clock()),
        people(directory),
        store(redis),
        vault(redis, *MasterKey::FromBase64(peerwell::testing::kTestMasterKey), server.clock(),
              kChannelKeys),
        service(store, people, vault, server.clock()) {}

  RedisClient redis;
  DirectoryClient directory;
  DirectoryPeople people;
  RedisNetworkStore store;
  DataKeyVault vault;
  NetworkService service;
};

// Erasing Vera (V): the export's workload, plus a buddy pair of hers with Viktor (W) where each
// answers the other, and a group she alone is a member of (Quinn invited), made by the
// coordinator with a request_id. Viktor follows everything live.
class NetworkErasureTest : public PersonExportTest {
 protected:
  void SetUp() override {
    PersonExportTest::SetUp();
    if (HasFatalFailure()) return;
    v1::Channel buddy;
    ASSERT_TRUE(Create(Volunteer(vera_), v1::CHANNEL_KIND_BUDDY, "", {}, {viktor_}, &buddy).ok());
    buddy_ = buddy.channel_id();
    ASSERT_TRUE(Join(Volunteer(viktor_), buddy_).ok());
    v1::Message to_buddy;
    ASSERT_TRUE(Post(Volunteer(vera_), buddy_, "V to her buddy", &to_buddy).ok());
    ASSERT_TRUE(
        Post(Volunteer(viktor_), buddy_, "W to his buddy", nullptr, to_buddy.message_id()).ok());
    v1::CreateChannelRequest solo;
    solo.mutable_channel()->set_kind(v1::CHANNEL_KIND_GROUP);
    solo.mutable_channel()->set_display_name("Solo");
    solo.mutable_channel()->add_member_ids(vera_);
    solo.mutable_channel()->add_invited_ids(quinn_);
    solo.set_request_id("solo-1");
    v1::CreateChannelResponse created;
    ASSERT_TRUE(server_.stub().CreateChannel(As(Coordinator()).get(), solo, &created).ok());
    solo_ = created.channel().channel_id();
    ASSERT_TRUE(Post(Volunteer(vera_), solo_, "V alone").ok());
    // Dead letters of the network's stream, one naming each of them.
    for (const std::string& author : {vera_, viktor_}) {
      ASSERT_TRUE(server_.redis()
                      .Execute({"XADD", DeadLetterStreamKey(EventStreamKey("network", org_)), "*",
                                "source_stream", EventStreamKey("network", org_), "group",
                                "someone", "error", "failed", "event.type", "message.posted",
                                "event.author_id", author})
                      .ok());
    }
  }

  // Runs the network's erasure of the person as its ACL user.
  absl::Status Erase(const std::string& person_id) {
    NetworkAsItsUser network(server_);
    return network.service.ErasePerson(org_, person_id);
  }

  google::protobuf::Struct ExportOf(const std::string& person_id) {
    google::protobuf::Struct records;
    grpc::Status status = Export(Service(), person_id, &records);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return records;
  }

  static void ExpectSameRecords(const std::vector<google::protobuf::Struct>& after,
                                const std::vector<google::protobuf::Struct>& before,
                                const std::string& family) {
    ASSERT_EQ(after.size(), before.size()) << family;
    for (size_t i = 0; i < after.size(); ++i) {
      EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(after[i], before[i]))
          << family << ": " << after[i].DebugString() << " was " << before[i].DebugString();
    }
  }

  std::vector<v1::Message> Messages(const std::string& token, const std::string& channel_id) {
    v1::ListMessagesResponse listed;
    grpc::Status status = List(token, channel_id, &listed);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return {listed.messages().begin(), listed.messages().end()};
  }

  // The sealed bodies of the person's messages as they are stored.
  std::vector<std::string> SealedBodiesOf(const std::string& person_id) {
    std::vector<std::string> bodies;
    for (const std::string& channel : {cohort_, direct_, former_, buddy_, solo_}) {
      auto records = server_.redis().Execute({"HVALS", MessagesKey(org_, channel)});
      EXPECT_TRUE(records.ok());
      for (const RedisReply& record : records->elements) {
        std::vector<std::string> fields = RecordFields(record.str);
        if (fields.size() == 8 && fields[1] == person_id) bodies.push_back(fields[3]);
      }
    }
    return bodies;
  }

  static void ExpectErased(const v1::Message& message) {
    EXPECT_EQ(message.author_id(), "") << message.message_id();
    EXPECT_EQ(message.author_display_name(), "former member") << message.message_id();
    EXPECT_EQ(message.body(), "") << message.message_id();
    EXPECT_TRUE(message.deleted()) << message.message_id();
  }

  std::string buddy_, solo_;
};

TEST_F(NetworkErasureTest, LeavesNothingOfHerWhileHerMessagesKeepTheirPlaceAndHisRecordsStay) {
  google::protobuf::Struct before = ExportOf(viktor_);
  std::vector<v1::Message> cohort_before = Messages(Volunteer(viktor_), cohort_);
  std::vector<std::string> sealed = SealedBodiesOf(vera_);
  ASSERT_EQ(sealed.size(), 6u);
  v1::ListReportsRequest list;
  v1::ListReportsResponse reports;
  ASSERT_TRUE(server_.stub().ListReports(As(Coordinator()).get(), list, &reports).ok());
  std::string her_report;
  for (const v1::Report& report : reports.reports()) {
    if (report.reporter_id() == vera_) her_report = report.report_id();
  }
  ASSERT_FALSE(her_report.empty());
  const std::string data_key = absl::StrCat("pw:{", org_, "}:network:datakey:");
  ASSERT_EQ(server_.redis().Execute({"EXISTS", data_key + solo_})->integer, 1);
  std::string before_text = NetworkText(server_.redis());
  for (const std::string& there : {vera_, solo_, std::string("Vera"), her_report, sealed[0]}) {
    ASSERT_NE(before_text.find(there), std::string::npos) << there;  // what is looked for below
  }
  Subscriber viktor(server_.stub(), Volunteer(viktor_), v1::SubscribeRequest());

  ASSERT_TRUE(Erase(vera_).ok());

  // Nothing the network keeps names her, holds what she wrote (sealed or not) or her name, or
  // the records that went with her: her report, the group only she was in.
  std::string text = NetworkText(server_.redis());
  ASSERT_NE(text.find(viktor_), std::string::npos);  // it did read the keys
  for (const std::string& gone :
       {vera_, std::string("Vera"), her_report, solo_, std::string("V opens the evening"),
        std::string("V finds this unkind")}) {
    EXPECT_EQ(text.find(gone), std::string::npos) << gone;
  }
  for (const std::string& body : sealed) EXPECT_EQ(text.find(body), std::string::npos);
  EXPECT_EQ(server_.redis().Execute({"EXISTS", data_key + solo_})->integer, 0);
  EXPECT_EQ(server_.redis().Execute({"EXISTS", data_key + cohort_})->integer, 1);
  EXPECT_NE(text.find("event.author_id=" + viktor_), std::string::npos);  // his dead letter stays

  // Her messages keep their place, thread and time, with no author and no body.
  std::vector<v1::Message> cohort = Messages(Volunteer(viktor_), cohort_);
  ASSERT_EQ(cohort.size(), 3u);
  for (int i : {0, 2}) {
    ExpectErased(cohort[i]);
    EXPECT_EQ(cohort[i].message_id(), cohort_before[i].message_id());
    EXPECT_EQ(cohort[i].sequence(), cohort_before[i].sequence());
    EXPECT_EQ(cohort[i].reply_to_message_id(), cohort_before[i].reply_to_message_id());
    EXPECT_EQ(cohort[i].create_time().seconds(), cohort_before[i].create_time().seconds());
  }
  EXPECT_EQ(cohort[1].SerializeAsString(), cohort_before[1].SerializeAsString());
  v1::ListMessagesResponse thread;
  ASSERT_TRUE(List(Volunteer(viktor_), cohort_, &thread, 0, cohort[1].message_id()).ok());
  ASSERT_EQ(thread.messages_size(), 2);  // his message and her reply to it
  EXPECT_EQ(thread.messages(1).sequence(), 3);

  // Their buddy pair stays his, no longer named after her.
  v1::Channel buddy = Get(Volunteer(viktor_), buddy_);
  EXPECT_THAT(buddy.member_ids(), ::testing::ElementsAre(viktor_));
  EXPECT_EQ(buddy.display_name(),
            vera_ < viktor_ ? "former member and Viktor" : "Viktor and former member");
  std::vector<v1::Message> pair = Messages(Volunteer(viktor_), buddy_);
  ASSERT_EQ(pair.size(), 2u);
  ExpectErased(pair[0]);
  EXPECT_EQ(pair[1].body(), "W to his buddy");
  EXPECT_EQ(pair[1].reply_to_message_id(), pair[0].message_id());
  // And the direct conversation stays Quinn's, who cannot post in it alone.
  v1::Channel direct = Get(Volunteer(quinn_), direct_);
  EXPECT_THAT(direct.member_ids(), ::testing::ElementsAre(quinn_));
  EXPECT_THAT(direct.display_name(), HasSubstr("Quinn"));
  EXPECT_EQ(Messages(Volunteer(quinn_), direct_)[1].body(), "Quinn to V");
  grpc::Status alone = Post(Volunteer(quinn_), direct_, "anyone?");
  EXPECT_EQ(alone.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(alone.error_message(), StartsWith("PEER_LEFT"));
  // The group she alone was in is gone, for Quinn who was invited too.
  v1::GetChannelRequest get_solo;
  get_solo.set_channel_id(solo_);
  v1::GetChannelResponse got;
  EXPECT_EQ(server_.stub().GetChannel(As(Coordinator()).get(), get_solo, &got).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::ListChannelsResponse quinns;
  ASSERT_TRUE(server_.stub()
                  .ListChannels(As(Volunteer(quinn_)).get(), v1::ListChannelsRequest(), &quinns)
                  .ok());
  for (const v1::Channel& channel : quinns.channels()) EXPECT_NE(channel.channel_id(), solo_);

  // His records are as they were; his channels only lost her.
  google::protobuf::Struct after = ExportOf(viktor_);
  for (const char* family : {"messages", "readMarkers", "settings", "reports"}) {
    ExpectSameRecords(Family(after, family), Family(before, family), family);
  }
  EXPECT_EQ(Texts(Family(after, "channels"), "channelId"),
            Texts(Family(before, "channels"), "channelId"));
  EXPECT_EQ(Texts(Family(after, "channels"), "lastSequence"),
            Texts(Family(before, "channels"), "lastSequence"));

  // Live, he is told her messages lost their body and author, and the hub goes on after the
  // stream entries deleted under it.
  auto events = viktor.WaitForEvents([](const auto& events) {
    return std::count_if(events.begin(), events.end(), [](const v1::NetworkEvent& e) {
             return e.event_type() == v1::NETWORK_EVENT_TYPE_MESSAGE_DELETED;
           }) == 4;
  });
  int deleted = 0;
  for (const v1::NetworkEvent& event : events) {
    if (event.event_type() == v1::NETWORK_EVENT_TYPE_MESSAGE_DELETED) {
      ++deleted;
      ExpectErased(event.message());
    }
    if (event.event_type() == v1::NETWORK_EVENT_TYPE_CHANNEL_UPDATED) {
      EXPECT_THAT(event.channel().member_ids(), ::testing::Not(::testing::Contains(vera_)));
    }
  }
  EXPECT_EQ(deleted, 4);  // cohort 1 and 3, the former group's, the buddy pair's
  ASSERT_TRUE(Post(Volunteer(viktor_), cohort_, "still here").ok());
  auto posted = viktor.WaitForMessages(1);
  ASSERT_EQ(posted.size(), 1u);
  EXPECT_EQ(posted[0].body(), "still here");
}

TEST_F(NetworkErasureTest, ErasingAgainOrSomeoneUnknownChangesNothing) {
  ASSERT_TRUE(Erase(vera_).ok());
  std::string once = NetworkText(server_.redis());
  ASSERT_TRUE(Erase(vera_).ok());
  EXPECT_EQ(NetworkText(server_.redis()), once);
  ASSERT_TRUE(Erase(NewId("p")).ok());
  EXPECT_EQ(NetworkText(server_.redis()), once);
  EXPECT_EQ(Erase("p-not-an-id*").code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(NetworkErasureTest, AnErasureStoppedHalfWayFinishesWhenRunAgain) {
  // Quinn joins the group only Vera is in, and leaves it: his read marker of it stays.
  ASSERT_TRUE(Join(Volunteer(quinn_), solo_).ok());
  ASSERT_TRUE(Leave(Volunteer(quinn_), solo_).ok());
  // An erasure that stopped once that group had gone, leaving the coordinator's request key
  // that made it, Quinn's marker, her events and her own keys.
  NetworkAsItsUser network(server_);
  auto solo = network.store.GetChannel(org_, solo_);
  ASSERT_TRUE(solo.ok());
  absl::Time now = server_.clock().Now();
  ASSERT_TRUE(network.store.EraseMessagesBy(org_, solo_, vera_, kFormerMember, 1, 1, now).ok());
  auto empty = network.store.RemoveErasedPerson(*solo, vera_, std::nullopt, now);
  ASSERT_TRUE(empty.ok() && *empty);
  auto deleted = network.store.DeleteEmptyChannel(org_, solo_);
  ASSERT_TRUE(deleted.ok() && *deleted);
  ASSERT_NE(NetworkText(server_.redis()).find(solo_), std::string::npos);

  ASSERT_TRUE(network.service.ErasePerson(org_, vera_).ok());
  std::string text = NetworkText(server_.redis());
  for (const std::string& gone : {vera_, solo_, std::string("solo-1")}) {
    EXPECT_EQ(text.find(gone), std::string::npos) << gone;
  }
  v1::GetChannelResponse got;
  v1::GetChannelRequest get;
  get.set_channel_id(direct_);
  ASSERT_TRUE(server_.stub().GetChannel(As(Volunteer(quinn_)).get(), get, &got).ok());
  EXPECT_THAT(got.channel().member_ids(), ::testing::ElementsAre(quinn_));
}

TEST_F(NetworkErasureTest, TheDirectorysErasureReachesTheNetworkWhichReportsItsPart) {
  Subscriber vera(server_.stub(), Volunteer(vera_), v1::SubscribeRequest());
  dv1::ErasePersonRequest request;
  request.set_person_id(vera_);
  dv1::ErasePersonResponse response;
  grpc::Status erased =
      server_.directory().stub().ErasePerson(As(Coordinator()).get(), request, &response);
  ASSERT_TRUE(erased.ok()) << erased.error_message();
  // Her open stream ends at once.
  EXPECT_EQ(vera.WaitForEnd().error_code(), grpc::StatusCode::PERMISSION_DENIED);
  bool reported = peerwell::testing::WaitFor([&] {
    dv1::GetErasureRequest get;
    get.set_erasure_id(response.erasure().erasure_id());
    dv1::GetErasureResponse got;
    if (!server_.directory().stub().GetErasure(As(Coordinator()).get(), get, &got).ok()) {
      return false;
    }
    for (const dv1::ErasureProgress& progress : got.erasure().services()) {
      if (progress.service() == "network") return progress.done();
    }
    return false;
  });
  EXPECT_TRUE(reported);
  ExpectErased(Messages(Volunteer(viktor_), cohort_)[0]);
  EXPECT_EQ(NetworkText(server_.redis()).find(vera_), std::string::npos);
}

// A coordinator erased: the announcement channel and group they made stay, their announcement
// keeps its place, and a report they resolved stays resolved without their name or their note.
TEST_F(NetworkApiTest, AnErasedCoordinatorsChannelsAndResolutionsStayWithoutThem) {
  std::string ada = Person(Coordinator(), dv1::ROLE_COORDINATOR, "Ada");
  std::string as_ada = Token(CallerRole::kCoordinator, ada);
  v1::Channel news;
  ASSERT_TRUE(Create(as_ada, v1::CHANNEL_KIND_ANNOUNCEMENT, "News", {}, {}, &news).ok());
  ASSERT_TRUE(Post(as_ada, news.channel_id(), "Ada announces").ok());
  v1::Channel group;
  ASSERT_TRUE(
      Create(as_ada, v1::CHANNEL_KIND_GROUP, "Evenings", {vera_, viktor_}, {}, &group).ok());
  v1::Message message;
  ASSERT_TRUE(Post(Volunteer(vera_), group.channel_id(), "something sharp", &message).ok());
  v1::ReportMessageRequest report;
  report.set_channel_id(group.channel_id());
  report.set_message_id(message.message_id());
  report.set_reason("too sharp");
  v1::ReportMessageResponse reported;
  ASSERT_TRUE(server_.stub().ReportMessage(As(Volunteer(viktor_)).get(), report, &reported).ok());
  v1::ResolveReportRequest resolve;
  resolve.set_report_id(reported.report().report_id());
  resolve.set_action(v1::REPORT_ACTION_DISMISS);
  resolve.set_note("Ada spoke with Vera");
  v1::ResolveReportResponse resolved;
  ASSERT_TRUE(server_.stub().ResolveReport(As(as_ada).get(), resolve, &resolved).ok());
  const std::string report_key =
      absl::StrCat("pw:{", org_, "}:network:report:", reported.report().report_id());
  std::string sealed_note = server_.redis().Execute({"HGET", report_key, "note"})->str;
  ASSERT_FALSE(sealed_note.empty());

  NetworkAsItsUser network(server_);
  ASSERT_TRUE(network.service.ErasePerson(org_, ada).ok());

  std::string text = NetworkText(server_.redis());
  EXPECT_EQ(text.find(ada), std::string::npos);
  EXPECT_EQ(text.find(sealed_note), std::string::npos);
  v1::ListMessagesResponse listed;
  ASSERT_TRUE(List(Volunteer(vera_), news.channel_id(), &listed).ok());
  ASSERT_EQ(listed.messages_size(), 1);
  EXPECT_EQ(listed.messages(0).author_display_name(), "former member");
  EXPECT_EQ(listed.messages(0).body(), "");
  EXPECT_EQ(Get(Volunteer(viktor_), group.channel_id()).member_ids_size(), 2);
  v1::ListReportsRequest list;
  v1::ListReportsResponse reports;
  ASSERT_TRUE(server_.stub().ListReports(As(Coordinator()).get(), list, &reports).ok());
  ASSERT_EQ(reports.reports_size(), 1);
  EXPECT_EQ(reports.reports(0).state(), v1::REPORT_STATE_RESOLVED);
  EXPECT_EQ(reports.reports(0).action(), v1::REPORT_ACTION_DISMISS);
  EXPECT_EQ(reports.reports(0).resolved_by(), "");
  EXPECT_EQ(reports.reports(0).note(), "");
  EXPECT_EQ(reports.reports(0).reason(), "too sharp");
  EXPECT_EQ(reports.reports(0).reporter_id(), viktor_);
}

}  // namespace
}  // namespace peerwell::network::testing
