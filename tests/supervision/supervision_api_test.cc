// The supervision service over real gRPC channels, with the real directory and a real
// redis-server; its domain runs on a fake clock that starts on Thursday 1 October 2026 (before
// the daylight-saving changes of Europe/London on 25 October and America/New_York on 1 November).
#include <fnmatch.h>
#include <libical/ical.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "services/common/events.h"
#include "services/common/ids.h"
#include "services/common/proto_time.h"
#include "services/supervision/event_mapping.h"
#include "tests/supervision/supervision_test_server.h"

namespace peerwell::supervision::testing {
namespace {

namespace dv1 = ::peerwell::directory::v1;
using ::peerwell::testing::TestToken;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

const absl::Time kStart =
    absl::FromCivil(absl::CivilSecond(2026, 10, 1, 8, 0, 0), absl::UTCTimeZone());

absl::TimeZone Zone(const std::string& name) {
  absl::TimeZone zone;
  EXPECT_TRUE(absl::LoadTimeZone(name, &zone));
  return zone;
}

absl::Time Utc(int year, int month, int day, int hour, int minute = 0) {
  return absl::FromCivil(absl::CivilSecond(year, month, day, hour, minute, 0), absl::UTCTimeZone());
}

google::protobuf::Duration Minutes(int minutes) {
  google::protobuf::Duration d;
  d.set_seconds(minutes * 60);
  return d;
}

// Every string in a reply, nested arrays included, one after another.
std::string FlattenReply(const RedisReply& reply) {
  std::string out = reply.str;
  for (const RedisReply& element : reply.elements)
    absl::StrAppend(&out, "\n", FlattenReply(element));
  return out;
}

class SupervisionApiTest : public ::testing::Test {
 protected:
  void SetUp() override { Seed(); }

  std::unique_ptr<grpc::ClientContext> As(const std::string& token) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->AddMetadata("authorization", "Bearer " + token);
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return context;
  }
  std::string Token(CallerRole role, const std::string& person) {
    return TestToken(role, person, org_);
  }
  std::string Coordinator() { return Token(CallerRole::kCoordinator, coordinator_); }
  std::string Sam() { return Token(CallerRole::kSupervisor, sam_); }
  std::string Sasha() { return Token(CallerRole::kSupervisor, sasha_); }
  std::string Volunteer(const std::string& id) { return Token(CallerRole::kVolunteer, id); }

  std::string CreatePerson(const std::string& token, dv1::Role role, const std::string& name,
                           const std::string& timezone, const std::string& supervisor = "",
                           const std::string& quiet_start = "", const std::string& quiet_end = "") {
    dv1::CreatePersonRequest request;
    request.mutable_person()->set_display_name(name);
    request.mutable_person()->set_role(role);
    request.mutable_person()->set_timezone(timezone);
    if (!supervisor.empty()) request.mutable_person()->add_supervisor_ids(supervisor);
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

  std::string CreateOrganization(const std::string& name) {
    dv1::CreateOrganizationRequest request;
    request.set_display_name(name);
    dv1::CreateOrganizationResponse response;
    EXPECT_TRUE(server_.directory()
                    .stub()
                    .CreateOrganization(As(TestToken(CallerRole::kAdmin, "op", "")).get(), request,
                                        &response)
                    .ok());
    return response.organization().organization_id();
  }

  // The token of the coordinator of a new organisation: someone real, of another organisation.
  std::string ForeignCoordinator(const std::string& organization_name) {
    std::string org = CreateOrganization(organization_name);
    return TestToken(CallerRole::kCoordinator,
                     CreatePerson(TestToken(CallerRole::kAdmin, "op", org), dv1::ROLE_COORDINATOR,
                                  "Elsewhere", "Europe/London"),
                     org);
  }

  void Seed() {
    org_ = CreateOrganization("Harbour");
    coordinator_ = CreatePerson(TestToken(CallerRole::kAdmin, "op", org_), dv1::ROLE_COORDINATOR,
                                "Grace", "Europe/London");
    sam_ = CreatePerson(Coordinator(), dv1::ROLE_SUPERVISOR, "Sam", "Europe/London");
    sasha_ = CreatePerson(Coordinator(), dv1::ROLE_SUPERVISOR, "Sasha", "America/New_York");
    vera_ = CreatePerson(Coordinator(), dv1::ROLE_VOLUNTEER, "Vera", "Europe/London", sam_);
    viktor_ = CreatePerson(Coordinator(), dv1::ROLE_VOLUNTEER, "Viktor", "Europe/London", sam_);
    // Quiet from 17:00 to 09:00 London time: mornings and evenings are off limits.
    quinn_ = CreatePerson(Coordinator(), dv1::ROLE_VOLUNTEER, "Quinn", "Europe/London", sam_,
                          "17:00", "09:00");
    for (int i = 0; i < 10; ++i) {
      others_.push_back(CreatePerson(Coordinator(), dv1::ROLE_VOLUNTEER, absl::StrCat("W", i),
                                     "Europe/London", sasha_));
    }
    // Monday to Friday, 08:00-18:00 in each supervisor's own zone.
    for (const auto& [token, id] : {std::pair{Sam(), sam_}, std::pair{Sasha(), sasha_}}) {
      v1::SetAvailabilityRequest request;
      for (int day = 1; day <= 5; ++day) {
        auto* window = request.mutable_availability()->add_weekly();
        window->set_weekday(day);
        window->set_start("08:00");
        window->set_end("18:00");
      }
      v1::SetAvailabilityResponse response;
      grpc::Status status = server_.stub().SetAvailability(As(token).get(), request, &response);
      ASSERT_TRUE(status.ok()) << status.error_message();
    }
  }

  grpc::Status Create(const std::string& token, v1::SessionKind kind,
                      const std::vector<std::string>& supervisors,
                      const std::vector<std::string>& participants, absl::Time start,
                      int minutes = 60, int capacity = 0, const std::string& rrule = "",
                      v1::Session* out = nullptr, const std::string& request_id = "") {
    v1::CreateSessionRequest request;
    v1::Session* session = request.mutable_session();
    session->set_kind(kind);
    session->set_title("Supervision");
    for (const auto& id : supervisors) session->add_supervisor_ids(id);
    for (const auto& id : participants) session->add_participant_ids(id);
    *session->mutable_start_time() = TimestampToProto(start);
    *session->mutable_duration() = Minutes(minutes);
    session->set_capacity(capacity);
    session->set_recurrence_rule(rrule);
    request.set_request_id(request_id);
    v1::CreateSessionResponse response;
    grpc::Status status = server_.stub().CreateSession(As(token).get(), request, &response);
    if (out != nullptr) *out = response.session();
    return status;
  }

  std::vector<v1::Session> List(const std::string& token, const std::string& person = "",
                                std::vector<v1::SessionState> states = {}) {
    std::vector<v1::Session> all;
    v1::ListSessionsRequest request;
    request.set_person_id(person);
    for (auto state : states) request.add_states(state);
    request.set_page_size(7);  // several pages, so paging is exercised too
    do {
      v1::ListSessionsResponse response;
      grpc::Status status = server_.stub().ListSessions(As(token).get(), request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      if (!status.ok()) break;
      all.insert(all.end(), response.sessions().begin(), response.sessions().end());
      request.set_page_token(response.next_page_token());
    } while (!request.page_token().empty());
    return all;
  }

  v1::Session Get(const std::string& token, const std::string& id) {
    v1::GetSessionRequest request;
    request.set_session_id(id);
    v1::GetSessionResponse response;
    grpc::Status status = server_.stub().GetSession(As(token).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.session();
  }

  static void ExpectConflict(const grpc::Status& status, const std::string& reason) {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << status.error_message();
    EXPECT_THAT(status.error_message(), StartsWith(reason + ": "));
    // The same reason as google.rpc.ErrorInfo in the status details.
    google::rpc::Status details;
    ASSERT_TRUE(details.ParseFromString(status.error_details()));
    ASSERT_EQ(details.details_size(), 1);
    google::rpc::ErrorInfo info;
    ASSERT_TRUE(details.details(0).UnpackTo(&info));
    EXPECT_EQ(info.reason(), reason);
  }

  std::vector<StreamEntry> Events(const std::string& type) {
    auto reply = server_.redis().Execute({"XRANGE", EventStreamKey("supervision", org_), "-", "+"});
    std::vector<StreamEntry> out;
    if (!reply.ok()) return out;
    for (StreamEntry& entry : ParseStreamEntries(*reply)) {
      if (entry.Get("type") == type) out.push_back(std::move(entry));
    }
    return out;
  }

  // --- Calendar feeds ---
  grpc::Status CreateFeed(const std::string& token, const std::string& person,
                          v1::CalendarFeed* out = nullptr) {
    v1::CreateCalendarFeedRequest request;
    request.set_person_id(person);
    v1::CreateCalendarFeedResponse response;
    grpc::Status status = server_.stub().CreateCalendarFeed(As(token).get(), request, &response);
    if (out != nullptr) *out = response.feed();
    return status;
  }
  grpc::Status ListFeeds(const std::string& token, const std::string& person,
                         std::vector<v1::CalendarFeed>* out = nullptr) {
    v1::ListCalendarFeedsRequest request;
    request.set_person_id(person);
    v1::ListCalendarFeedsResponse response;
    grpc::Status status = server_.stub().ListCalendarFeeds(As(token).get(), request, &response);
    if (out != nullptr) out->assign(response.feeds().begin(), response.feeds().end());
    return status;
  }
  grpc::Status RevokeFeed(const std::string& token, const std::string& feed_id) {
    v1::RevokeCalendarFeedRequest request;
    request.set_feed_id(feed_id);
    v1::RevokeCalendarFeedResponse response;
    return server_.stub().RevokeCalendarFeed(As(token).get(), request, &response);
  }
  // GetCalendarFeed as the gateway calls it: no credentials at all, the token is the capability.
  grpc::Status FetchFeed(const std::string& token, std::string* ics = nullptr) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::GetCalendarFeedRequest request;
    request.set_token(token);
    v1::GetCalendarFeedResponse response;
    grpc::Status status = server_.stub().GetCalendarFeed(&context, request, &response);
    if (ics != nullptr) *ics = response.ics();
    return status;
  }
  // The token in a feed's path "/calendar/<token>.ics".
  static std::string TokenOf(const v1::CalendarFeed& feed) {
    std::string token = feed.path();
    if (absl::StartsWith(token, "/calendar/")) token.erase(0, std::string("/calendar/").size());
    if (absl::EndsWith(token, ".ics")) token.resize(token.size() - 4);
    return token;
  }

  // --- A person's export ---
  // ExportPersonRecords' families, each a list of records in the protobuf JSON mapping; `json`
  // the whole answer.
  using Records = std::map<std::string, std::vector<google::protobuf::Struct>>;
  grpc::Status Export(const std::string& token, const std::string& person, Records* out = nullptr,
                      std::string* json = nullptr) {
    privacy::v1::ExportPersonRecordsRequest request;
    request.set_person_id(person);
    privacy::v1::ExportPersonRecordsResponse response;
    grpc::Status status = server_.stub().ExportPersonRecords(As(token).get(), request, &response);
    if (out != nullptr) {
      out->clear();
      for (const auto& [family, list] : response.records().fields()) {
        std::vector<google::protobuf::Struct>& records = (*out)[family];
        for (const auto& value : list.list_value().values()) {
          records.push_back(value.struct_value());
        }
      }
    }
    if (json != nullptr) {
      json->clear();
      EXPECT_TRUE(google::protobuf::util::MessageToJsonString(response.records(), json).ok());
    }
    return status;
  }
  static std::string Field(const google::protobuf::Struct& record, const std::string& name) {
    auto found = record.fields().find(name);
    return found == record.fields().end() ? "" : found->second.string_value();
  }
  static std::set<std::string> FieldNames(const google::protobuf::Struct& record) {
    std::set<std::string> names;
    for (const auto& [name, value] : record.fields()) names.insert(name);
    return names;
  }

  // What a month of supervision leaves in Redis: Vera's sessions with Sam (one attended with a
  // request_id, one scheduled, one cancelled, the occurrences of a weekly group series), a
  // session of Viktor's with Sam, Vera's calendar feed, a policy, the sweep's overdue marker for
  // Vera and a debrief offered to Viktor.
  struct Workload {
    v1::Session attended, scheduled, cancelled, viktors, first_occurrence;
    v1::CalendarFeed feed;
    std::string offer_id;
  };
  Workload RunWorkload() {
    Workload w;
    v1::UpdateSupervisionPolicyRequest policy;
    *policy.mutable_policy()->mutable_cadence() = Minutes(30 * 24 * 60);
    policy.mutable_update_mask()->add_paths("cadence");
    v1::UpdateSupervisionPolicyResponse updated;
    EXPECT_TRUE(
        server_.stub().UpdateSupervisionPolicy(As(Coordinator()).get(), policy, &updated).ok());
    EXPECT_TRUE(Create(Sam(), v1::SESSION_KIND_INDIVIDUAL, {sam_}, {vera_}, Utc(2026, 10, 2, 9), 60,
                       0, "", &w.attended, "first-of-vera")
                    .ok());
    EXPECT_TRUE(Create(Sam(), v1::SESSION_KIND_INDIVIDUAL, {sam_}, {vera_}, Utc(2026, 10, 5, 9), 60,
                       0, "", &w.scheduled)
                    .ok());
    EXPECT_TRUE(Create(Sam(), v1::SESSION_KIND_INDIVIDUAL, {sam_}, {vera_}, Utc(2026, 10, 6, 9), 60,
                       0, "", &w.cancelled)
                    .ok());
    EXPECT_TRUE(Create(Sam(), v1::SESSION_KIND_INDIVIDUAL, {sam_}, {viktor_}, Utc(2026, 10, 7, 9),
                       60, 0, "", &w.viktors)
                    .ok());
    EXPECT_TRUE(Create(Sam(), v1::SESSION_KIND_GROUP, {sam_}, {vera_}, Utc(2026, 10, 8, 13), 60, 6,
                       "FREQ=WEEKLY;BYDAY=TH;COUNT=4", &w.first_occurrence)
                    .ok());
    v1::CancelSessionRequest cancel;
    cancel.set_session_id(w.cancelled.session_id());
    v1::CancelSessionResponse cancelled;
    EXPECT_TRUE(server_.stub().CancelSession(As(Sam()).get(), cancel, &cancelled).ok());
    w.cancelled = cancelled.session();
    EXPECT_TRUE(CreateFeed(Volunteer(vera_), "", &w.feed).ok());

    server_.clock().Advance(Utc(2026, 10, 2, 10, 30) - server_.clock().Now());
    v1::RecordAttendanceRequest attend;
    attend.set_session_id(w.attended.session_id());
    attend.add_attendance()->set_person_id(vera_);
    attend.mutable_attendance(0)->set_status(v1::ATTENDANCE_STATUS_PRESENT);
    v1::RecordAttendanceResponse attended;
    EXPECT_TRUE(server_.stub().RecordAttendance(As(Sam()).get(), attend, &attended).ok());
    w.attended = attended.session();

    // A month on, Vera is past the cadence (the others joined later, by the directory's clock).
    server_.clock().Advance(Utc(2026, 11, 3, 8) - server_.clock().Now());
    EXPECT_TRUE(server_.service().RegisterOrganization(org_).ok());
    EXPECT_TRUE(server_.service().Sweep().ok());
    EXPECT_TRUE(server_.service()
                    .OfferDebrief({"1-0", org_, viktor_, "inc-1", server_.clock().Now()})
                    .ok());
    std::vector<v1::Session> offers = List(Volunteer(viktor_), "", {v1::SESSION_STATE_OFFERED});
    EXPECT_EQ(offers.size(), 1u);
    if (!offers.empty()) w.offer_id = offers[0].session_id();
    return w;
  }

  // --- Erasing a person ---
  // Every key of the service and its value as text, read by type, from a SCAN of all of Redis.
  std::map<std::string, std::string> SupervisionKeys() {
    std::map<std::string, std::string> keys;
    std::string cursor = "0";
    do {
      auto page = server_.redis().Execute({"SCAN", cursor, "COUNT", "1000"});
      EXPECT_TRUE(page.ok() && page->elements.size() == 2);
      if (!page.ok() || page->elements.size() != 2) break;
      cursor = page->elements[0].str;
      for (const RedisReply& name : page->elements[1].elements) {
        const std::string& key = name.str;
        if (fnmatch("pw:{*}:supervision:*", key.c_str(), 0) != 0 &&
            fnmatch("pw:supervision:*", key.c_str(), 0) != 0 &&
            fnmatch("pw:{*}:events:supervision*", key.c_str(), 0) != 0) {
          continue;
        }
        auto type = server_.redis().Execute({"TYPE", key});
        EXPECT_TRUE(type.ok());
        if (!type.ok()) continue;
        RedisCommand read;
        if (type->str == "string") {
          read = {"GET", key};
        } else if (type->str == "hash") {
          read = {"HGETALL", key};
        } else if (type->str == "zset") {
          read = {"ZRANGE", key, "0", "-1", "WITHSCORES"};
        } else if (type->str == "set") {
          read = {"SMEMBERS", key};
        } else if (type->str == "list") {
          read = {"LRANGE", key, "0", "-1"};
        } else {
          EXPECT_EQ(type->str, "stream") << key;
          read = {"XRANGE", key, "-", "+"};
        }
        auto value = server_.redis().Execute(read);
        EXPECT_TRUE(value.ok()) << key;
        if (value.ok()) keys[key] = FlattenReply(*value);
      }
    } while (cursor != "0");
    return keys;
  }

  // Fails the test for every key whose name or value holds one of `needles`.
  void ExpectNowhere(const std::map<std::string, std::string>& keys,
                     const std::vector<std::string>& needles) {
    for (const std::string& needle : needles) {
      ASSERT_FALSE(needle.empty());
      for (const auto& [key, value] : keys) {
        EXPECT_THAT(key, Not(HasSubstr(needle)));
        EXPECT_THAT(value, Not(HasSubstr(needle))) << key;
      }
    }
  }

  std::map<std::string, v1::Session> SessionsOf(const std::string& person) {
    std::map<std::string, v1::Session> sessions;
    for (v1::Session& session : List(Coordinator(), person)) {
      sessions[session.session_id()] = std::move(session);
    }
    return sessions;
  }

  // A dead letter of a consumer of the service's events, as ConsumerGroupRunner writes them.
  void AddDeadLetter(const std::string& participant_ids) {
    const std::string events = EventStreamKey("supervision", org_);
    auto added = server_.redis().Execute(
        {"XADD", DeadLetterStreamKey(events), "*", "source_stream", events, "source_id", "1-0",
         "group", "alerts", "error", "failed", "event.type", "session.scheduled",
         "event.organization_id", org_, "event.participant_ids", participant_ids});
    ASSERT_TRUE(added.ok() && !added->IsError());
  }

  // Vera's and Viktor's sessions together beside the workload's: a group session ahead, one
  // both attended (so Viktor has a last supervision of his own), a weekly group series, and a
  // session Vera booked herself with a request_id; dead letters naming each.
  struct SharedWorkload {
    v1::Session together, attended_together, weekly_together, booked;
  };
  SharedWorkload RunSharedWorkload() {
    SharedWorkload w;
    EXPECT_TRUE(Create(Sam(), v1::SESSION_KIND_GROUP, {sam_}, {vera_, viktor_},
                       Utc(2026, 11, 4, 10), 60, 6, "", &w.together)
                    .ok());
    EXPECT_TRUE(Create(Sam(), v1::SESSION_KIND_GROUP, {sam_}, {vera_, viktor_},
                       Utc(2026, 11, 4, 14), 60, 0, "", &w.attended_together)
                    .ok());
    EXPECT_TRUE(Create(Sam(), v1::SESSION_KIND_REFLECTIVE_PRACTICE, {sam_}, {vera_, viktor_},
                       Utc(2026, 11, 5, 14), 60, 8, "FREQ=WEEKLY;BYDAY=TH;COUNT=3",
                       &w.weekly_together)
                    .ok());
    EXPECT_TRUE(Create(Volunteer(vera_), v1::SESSION_KIND_INDIVIDUAL, {sam_}, {vera_},
                       Utc(2026, 11, 6, 9), 60, 0, "", &w.booked, "vera-books")
                    .ok());
    server_.clock().Advance(Utc(2026, 11, 4, 15, 30) - server_.clock().Now());
    v1::RecordAttendanceRequest attend;
    attend.set_session_id(w.attended_together.session_id());
    for (const std::string& id : {vera_, viktor_}) {
      auto* entry = attend.add_attendance();
      entry->set_person_id(id);
      entry->set_status(v1::ATTENDANCE_STATUS_PRESENT);
    }
    v1::RecordAttendanceResponse attended;
    EXPECT_TRUE(server_.stub().RecordAttendance(As(Sam()).get(), attend, &attended).ok());
    w.attended_together = attended.session();
    AddDeadLetter(absl::StrCat(vera_, " ", viktor_));
    AddDeadLetter(viktor_);
    return w;
  }

  // A session as it reads once `person` is taken out of it at `now`.
  static v1::Session Without(v1::Session session, const std::string& person, absl::Time now) {
    auto* participants = session.mutable_participant_ids();
    participants->erase(std::remove(participants->begin(), participants->end(), person),
                        participants->end());
    auto* attendance = session.mutable_attendance();
    attendance->erase(
        std::remove_if(attendance->begin(), attendance->end(),
                       [&](const v1::Attendance& a) { return a.person_id() == person; }),
        attendance->end());
    session.set_sequence(session.sequence() + 1);
    *session.mutable_update_time() = TimestampToProto(now);
    if (session.capacity() > 0) session.set_seats_left(session.seats_left() + 1);
    return session;
  }

  SupervisionTestServer server_{kStart};
  std::string org_, coordinator_, sam_, sasha_, vera_, viktor_, quinn_;
  std::vector<std::string> others_;
};

TEST_F(SupervisionApiTest, AvailabilityIsSetBySupervisorsAndValidated) {
  v1::GetAvailabilityRequest get;
  get.set_supervisor_id(sasha_);
  v1::GetAvailabilityResponse got;
  ASSERT_TRUE(server_.stub().GetAvailability(As(Volunteer(vera_)).get(), get, &got).ok());
  EXPECT_EQ(got.availability().weekly_size(), 5);
  EXPECT_EQ(got.availability().weekly(0).start(), "08:00");
  EXPECT_EQ(got.availability().timezone(), "America/New_York");

  v1::SetAvailabilityRequest bad;
  auto* window = bad.mutable_availability()->add_weekly();
  window->set_weekday(8);
  window->set_start("09:00");
  window->set_end("10:00");
  v1::SetAvailabilityResponse set;
  grpc::Status status = server_.stub().SetAvailability(As(Sam()).get(), bad, &set);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("availability.weekly[0].weekday"));
  window->set_weekday(1);
  window->set_start("9 am");
  status = server_.stub().SetAvailability(As(Sam()).get(), bad, &set);
  EXPECT_THAT(status.error_message(), HasSubstr("availability.weekly[0].start"));
  // Nothing was stored from either: Sam still has five windows.
  get.set_supervisor_id(sam_);
  ASSERT_TRUE(server_.stub().GetAvailability(As(Sam()).get(), get, &got).ok());
  EXPECT_EQ(got.availability().weekly_size(), 5);

  window->set_start("09:00");
  EXPECT_EQ(server_.stub().SetAvailability(As(Volunteer(vera_)).get(), bad, &set).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  bad.set_supervisor_id(sam_);
  EXPECT_EQ(server_.stub().SetAvailability(As(Sasha()).get(), bad, &set).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(SupervisionApiTest, EveryConflictIsRefusedByNameAndStoresNothing) {
  auto stored = [&] { return List(Coordinator()).size(); };
  // Saturday 3 October, 10:00 London: outside Sam's weekdays.
  ExpectConflict(Create(Sam(), v1::SESSION_KIND_INDIVIDUAL, {sam_}, {vera_}, Utc(2026, 10, 3, 9)),
                 "OUTSIDE_AVAILABILITY");
  // Leave on Monday 5 October.
  {
    v1::SetAvailabilityRequest request;
    v1::GetAvailabilityRequest get;
    v1::GetAvailabilityResponse current;
    ASSERT_TRUE(server_.stub().GetAvailability(As(Sam()).get(), get, &current).ok());
    *request.mutable_availability() = current.availability();
    auto* leave = request.mutable_availability()->add_exceptions();
    *leave->mutable_start_time() = TimestampToProto(Utc(2026, 10, 12, 0));
    *leave->mutable_end_time() = TimestampToProto(Utc(2026, 10, 13, 0));
    leave->set_available(false);
    v1::SetAvailabilityResponse response;
    ASSERT_TRUE(server_.stub().SetAvailability(As(Sam()).get(), request, &response).ok());
    ExpectConflict(
        Create(Sam(), v1::SESSION_KIND_INDIVIDUAL, {sam_}, {vera_}, Utc(2026, 10, 12, 10)),
        "OUTSIDE_AVAILABILITY");
  }

  // Monday 5 October 13:00Z is 14:00 in London and 09:00 in New York: both supervisors work.
  ASSERT_TRUE(
      Create(Sam(), v1::SESSION_KIND_INDIVIDUAL, {sam_}, {vera_}, Utc(2026, 10, 5, 13)).ok());
  size_t before = stored();
  ExpectConflict(
      Create(Sam(), v1::SESSION_KIND_INDIVIDUAL, {sam_}, {viktor_}, Utc(2026, 10, 5, 13, 30)),
      "SUPERVISOR_DOUBLE_BOOKED");
  ExpectConflict(
      Create(Sasha(), v1::SESSION_KIND_INDIVIDUAL, {sasha_}, {vera_}, Utc(2026, 10, 5, 13, 30)),
      "PARTICIPANT_DOUBLE_BOOKED");
  ExpectConflict(Create(Sasha(), v1::SESSION_KIND_GROUP, {sasha_}, {others_[0], others_[1]},
                        Utc(2026, 10, 6, 14), 60, 1),
                 "OVER_CAPACITY");
  // 08:00 London on Wednesday 7 October is inside Sam's hours but inside Quinn's quiet hours.
  ExpectConflict(Create(Sam(), v1::SESSION_KIND_INDIVIDUAL, {sam_}, {quinn_}, Utc(2026, 10, 7, 7)),
                 "IN_QUIET_HOURS");

  v1::UpdateSupervisionPolicyRequest policy;
  policy.mutable_policy()->set_require_two_facilitators(true);
  policy.mutable_update_mask()->add_paths("require_two_facilitators");
  v1::UpdateSupervisionPolicyResponse updated;
  EXPECT_EQ(server_.stub().UpdateSupervisionPolicy(As(Sam()).get(), policy, &updated).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(
      server_.stub().UpdateSupervisionPolicy(As(Coordinator()).get(), policy, &updated).ok());
  ExpectConflict(
      Create(Sasha(), v1::SESSION_KIND_GROUP, {sasha_}, {others_[0]}, Utc(2026, 10, 6, 14)),
      "TOO_FEW_FACILITATORS");
  EXPECT_EQ(stored(), before);
  // With two facilitators it lands.
  EXPECT_TRUE(
      Create(Sasha(), v1::SESSION_KIND_GROUP, {sasha_, sam_}, {others_[0]}, Utc(2026, 10, 6, 14))
          .ok());
  EXPECT_EQ(stored(), before + 1);

  // Bad input names the field and stores nothing either.
  grpc::Status bad = Create(Sam(), v1::SESSION_KIND_INDIVIDUAL, {sam_}, {vera_},
                            Utc(2026, 10, 8, 13), 60, 0, "FREQ=SOMETIMES");
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(bad.error_message(), HasSubstr("session.recurrence_rule"));
  bad = Create(Sam(), v1::SESSION_KIND_INDIVIDUAL, {sam_}, {vera_}, Utc(2026, 10, 8, 13), 600);
  EXPECT_THAT(bad.error_message(), HasSubstr("session.duration"));
  EXPECT_EQ(stored(), before + 1);
}

TEST_F(SupervisionApiTest, ManyClientsRaceForTheLastSeatAndExactlyOneGetsIt) {
  v1::Session session;
  ASSERT_TRUE(Create(Sasha(), v1::SESSION_KIND_REFLECTIVE_PRACTICE, {sasha_},
                     {others_[0], others_[1]}, Utc(2026, 10, 6, 14), 90, 3, "", &session)
                  .ok());
  std::atomic<int> joined{0};
  std::atomic<int> full{0};
  std::vector<std::thread> racers;
  for (int i = 2; i < 10; ++i) {
    racers.emplace_back([&, i] {
      v1::JoinSessionRequest request;
      request.set_session_id(session.session_id());
      v1::JoinSessionResponse response;
      grpc::Status status =
          server_.stub().JoinSession(As(Volunteer(others_[i])).get(), request, &response);
      if (status.ok()) ++joined;
      if (status.error_code() == grpc::StatusCode::FAILED_PRECONDITION &&
          absl::StartsWith(status.error_message(), "OVER_CAPACITY: ")) {
        ++full;
      }
    });
  }
  for (auto& racer : racers) racer.join();
  EXPECT_EQ(joined.load(), 1);
  EXPECT_EQ(full.load(), 7);
  EXPECT_EQ(Get(Sasha(), session.session_id()).participant_ids_size(), 3);

  // Once cancelled, it is not there for someone it does not concern.
  v1::CancelSessionRequest cancel;
  cancel.set_session_id(session.session_id());
  v1::CancelSessionResponse cancelled;
  ASSERT_TRUE(server_.stub().CancelSession(As(Sasha()).get(), cancel, &cancelled).ok());
  v1::JoinSessionRequest join;
  join.set_session_id(session.session_id());
  v1::JoinSessionResponse response;
  EXPECT_EQ(server_.stub().JoinSession(As(Volunteer(vera_)).get(), join, &response).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(SupervisionApiTest, VolunteersFindSessionsOpenToJoinWithoutSeeingWhoIsIn) {
  v1::Session open, full, mine, cancelled;
  ASSERT_TRUE(Create(Sasha(), v1::SESSION_KIND_REFLECTIVE_PRACTICE, {sasha_}, {others_[0]},
                     Utc(2026, 10, 6, 14), 90, 3, "", &open)
                  .ok());
  ASSERT_TRUE(Create(Sasha(), v1::SESSION_KIND_GROUP, {sasha_}, {others_[1], others_[2]},
                     Utc(2026, 10, 7, 14), 90, 2, "", &full)
                  .ok());
  ASSERT_TRUE(Create(Sam(), v1::SESSION_KIND_GROUP, {sam_}, {vera_}, Utc(2026, 10, 8, 10), 60, 4,
                     "", &mine)
                  .ok());
  ASSERT_TRUE(Create(Sam(), v1::SESSION_KIND_GROUP, {sam_}, {}, Utc(2026, 10, 9, 10), 60, 4, "",
                     &cancelled)
                  .ok());
  v1::CancelSessionRequest cancel;
  cancel.set_session_id(cancelled.session_id());
  v1::CancelSessionResponse cancel_response;
  ASSERT_TRUE(server_.stub().CancelSession(As(Sam()).get(), cancel, &cancel_response).ok());
  ASSERT_TRUE(Create(Sam(), v1::SESSION_KIND_INDIVIDUAL, {sam_}, {viktor_}, Utc(2026, 10, 12, 10))
                  .ok());

  auto open_to = [&](const std::string& token) {
    v1::ListSessionsRequest request;
    request.set_open_to_join(true);
    v1::ListSessionsResponse response;
    grpc::Status status = server_.stub().ListSessions(As(token).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return std::vector<v1::Session>(response.sessions().begin(), response.sessions().end());
  };
  // Vera: the reflective practice with seats, not the full group, not her own, not the
  // cancelled one, not a one-to-one; and nobody's name in it.
  std::vector<v1::Session> for_vera = open_to(Volunteer(vera_));
  ASSERT_EQ(for_vera.size(), 1u);
  EXPECT_EQ(for_vera[0].session_id(), open.session_id());
  EXPECT_EQ(for_vera[0].seats_left(), 2);
  EXPECT_EQ(for_vera[0].participant_ids_size(), 0);
  EXPECT_EQ(for_vera[0].supervisor_ids(0), sasha_);
  // Viktor may also join Sam's group, which Vera is in.
  EXPECT_EQ(open_to(Volunteer(viktor_)).size(), 2u);
  // Sam supervises nobody in Sasha's session: he sees how full it is, not who is in it; a
  // coordinator sees them.
  std::vector<v1::Session> for_sam = open_to(Sam());
  ASSERT_EQ(for_sam.size(), 1u);
  EXPECT_EQ(for_sam[0].participant_ids_size(), 0);
  EXPECT_EQ(for_sam[0].seats_left(), 2);
  std::vector<v1::Session> for_coordinator = open_to(Coordinator());
  ASSERT_EQ(for_coordinator.size(), 2u);
  EXPECT_EQ(for_coordinator[0].participant_ids_size(), 1);
  // Her own sessions still show her and the others as before, seats counted.
  v1::Session own = Get(Volunteer(vera_), mine.session_id());
  EXPECT_EQ(own.participant_ids_size(), 1);
  EXPECT_EQ(own.seats_left(), 3);

  // She joins: the session leaves her open list, and its seats go down for the next one.
  v1::JoinSessionRequest join;
  join.set_session_id(for_vera[0].session_id());
  v1::JoinSessionResponse joined;
  ASSERT_TRUE(server_.stub().JoinSession(As(Volunteer(vera_)).get(), join, &joined).ok());
  EXPECT_EQ(joined.session().seats_left(), 1);
  EXPECT_TRUE(open_to(Volunteer(vera_)).empty());
  std::vector<v1::Session> for_viktor = open_to(Volunteer(viktor_));
  ASSERT_EQ(for_viktor.size(), 2u);
  EXPECT_EQ(for_viktor[0].seats_left(), 1);

  // Once it has started it is no longer open.
  server_.clock().Advance(Utc(2026, 10, 6, 15) - kStart);
  EXPECT_EQ(open_to(Volunteer(viktor_)).size(), 1u);

  // An evening group at 18:00 London is not offered to Quinn, whose quiet hours begin at 17:00.
  v1::Session evening;
  ASSERT_TRUE(Create(Sasha(), v1::SESSION_KIND_GROUP, {sasha_}, {}, Utc(2026, 10, 13, 17), 60, 4,
                     "", &evening)
                  .ok());
  auto ids = [](const std::vector<v1::Session>& sessions) {
    std::set<std::string> out;
    for (const v1::Session& session : sessions) out.insert(session.session_id());
    return out;
  };
  EXPECT_TRUE(ids(open_to(Volunteer(viktor_))).count(evening.session_id()));
  EXPECT_FALSE(ids(open_to(Volunteer(quinn_))).count(evening.session_id()));
  EXPECT_TRUE(ids(open_to(Volunteer(quinn_))).count(mine.session_id()));

  // A person and open_to_join do not go together.
  v1::ListSessionsRequest both;
  both.set_open_to_join(true);
  both.set_person_id(vera_);
  v1::ListSessionsResponse response;
  grpc::Status bad = server_.stub().ListSessions(As(Coordinator()).get(), both, &response);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(bad.error_message(), HasSubstr("person_id"));
}

TEST_F(SupervisionApiTest, AWeeklySeriesKeepsItsLocalHourAcrossDaylightSavingChanges) {
  // Tuesdays at 10:00 local, eight weeks from 6 October: London leaves summer time on 25
  // October, New York on 1 November.
  for (const auto& [token, supervisor, zone_name, first] :
       {std::tuple{Sam(), sam_, std::string("Europe/London"), Utc(2026, 10, 6, 9)},
        std::tuple{Sasha(), sasha_, std::string("America/New_York"), Utc(2026, 10, 6, 14)}}) {
    v1::Session created;
    ASSERT_TRUE(Create(token, v1::SESSION_KIND_REFLECTIVE_PRACTICE, {supervisor}, {}, first, 60, 8,
                       "FREQ=WEEKLY;BYDAY=TU;COUNT=8", &created)
                    .ok());
    EXPECT_FALSE(created.series_id().empty());
    std::vector<v1::Session> sessions = List(token);
    ASSERT_EQ(sessions.size(), 8u) << zone_name;
    absl::TimeZone zone = Zone(zone_name);
    std::set<int> utc_hours;
    for (const v1::Session& session : sessions) {
      absl::Time start = *TimestampFromProto(session.start_time(), "start");
      absl::CivilSecond local = absl::ToCivilSecond(start, zone);
      EXPECT_EQ(local.hour(), 10) << zone_name << " " << absl::FormatCivilTime(local);
      EXPECT_EQ(absl::GetWeekday(absl::CivilDay(local)), absl::Weekday::tuesday);
      utc_hours.insert(absl::ToCivilHour(start, absl::UTCTimeZone()).hour());
      EXPECT_EQ(session.series_id(), created.series_id());
    }
    // The UTC hour moved by one at the change: the local hour did not.
    EXPECT_EQ(utc_hours.size(), 2u) << zone_name;
  }
}

TEST_F(SupervisionApiTest, ThisAndFollowingNeverRewritesPastOccurrences) {
  // Wednesdays 11:00 London, six weeks from 7 October.
  v1::Session first;
  ASSERT_TRUE(Create(Sam(), v1::SESSION_KIND_GROUP, {sam_}, {vera_, viktor_}, Utc(2026, 10, 7, 10),
                     60, 6, "FREQ=WEEKLY;BYDAY=WE;COUNT=6", &first)
                  .ok());
  std::vector<v1::Session> before = List(Sam());
  ASSERT_EQ(before.size(), 6u);
  // Two occurrences lie in the past now.
  server_.clock().Advance(Utc(2026, 10, 15, 12) - kStart);
  v1::RescheduleSessionRequest past;
  past.set_session_id(before[0].session_id());
  *past.mutable_start_time() = TimestampToProto(Utc(2026, 10, 22, 11));
  past.set_scope(v1::SERIES_SCOPE_THIS_AND_FOLLOWING);
  v1::RescheduleSessionResponse moved;
  EXPECT_EQ(server_.stub().RescheduleSession(As(Sam()).get(), past, &moved).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  // The third occurrence (21 October, 11:00 BST) and every later one move to 12:00 local.
  v1::RescheduleSessionRequest request;
  request.set_session_id(before[2].session_id());
  *request.mutable_start_time() = TimestampToProto(Utc(2026, 10, 21, 11));
  request.set_scope(v1::SERIES_SCOPE_THIS_AND_FOLLOWING);
  grpc::Status status = server_.stub().RescheduleSession(As(Sam()).get(), request, &moved);
  ASSERT_TRUE(status.ok()) << status.error_message();

  std::vector<v1::Session> after = List(Sam());
  ASSERT_EQ(after.size(), 6u);
  absl::TimeZone london = Zone("Europe/London");
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(after[i].session_id(), before[i].session_id());
    EXPECT_EQ(after[i].start_time().seconds(), before[i].start_time().seconds());
    EXPECT_EQ(after[i].sequence(), 0);
    EXPECT_EQ(after[i].series_id(), first.series_id());
  }
  for (int i = 2; i < 6; ++i) {
    absl::Time start = *TimestampFromProto(after[i].start_time(), "start");
    EXPECT_EQ(absl::ToCivilHour(start, london).hour(), 12) << i;
    EXPECT_EQ(after[i].sequence(), 1);
    EXPECT_NE(after[i].series_id(), first.series_id());
    EXPECT_EQ(after[i].session_id(), before[i].session_id());  // calendars keep their UID
  }

  // Cancelling this-and-following from the fifth leaves the third and fourth scheduled.
  v1::CancelSessionRequest cancel;
  cancel.set_session_id(after[4].session_id());
  cancel.set_reason("Summer break");
  cancel.set_scope(v1::SERIES_SCOPE_THIS_AND_FOLLOWING);
  v1::CancelSessionResponse cancelled;
  ASSERT_TRUE(server_.stub().CancelSession(As(Sam()).get(), cancel, &cancelled).ok());
  std::vector<v1::Session> last = List(Sam());
  std::vector<v1::SessionState> states;
  for (const auto& session : last) states.push_back(session.state());
  EXPECT_THAT(states,
              ::testing::ElementsAre(v1::SESSION_STATE_SCHEDULED, v1::SESSION_STATE_SCHEDULED,
                                     v1::SESSION_STATE_SCHEDULED, v1::SESSION_STATE_SCHEDULED,
                                     v1::SESSION_STATE_CANCELLED, v1::SESSION_STATE_CANCELLED));
  EXPECT_EQ(last[5].cancel_reason(), "Summer break");
  EXPECT_EQ(last[0].sequence(), 0);
  // Every change announced in the same write: six occurrences scheduled, four moved, two
  // cancelled.
  EXPECT_EQ(Events("session.scheduled").size(), 10u);
  EXPECT_EQ(Events("session.cancelled").size(), 2u);

  // A filtered page reads on past the sessions it leaves out: the two cancelled ones come first.
  v1::ListSessionsRequest filtered;
  filtered.add_states(v1::SESSION_STATE_CANCELLED);
  filtered.set_page_size(2);
  v1::ListSessionsResponse page;
  ASSERT_TRUE(server_.stub().ListSessions(As(Sam()).get(), filtered, &page).ok());
  EXPECT_EQ(page.sessions_size(), 2);
}

TEST_F(SupervisionApiTest, FollowingOccurrencesMoveTogetherOntoEachOthersOldTimes) {
  // Mondays 10:00 London for four weeks, moved a week later from the first on: each occurrence
  // lands where the next one was, which is no double booking.
  ASSERT_TRUE(Create(Sam(), v1::SESSION_KIND_INDIVIDUAL, {sam_}, {vera_}, Utc(2026, 10, 5, 9), 60,
                     0, "FREQ=WEEKLY;BYDAY=MO;COUNT=4")
                  .ok());
  std::vector<v1::Session> before = List(Sam());
  ASSERT_EQ(before.size(), 4u);
  v1::RescheduleSessionRequest request;
  request.set_session_id(before[0].session_id());
  *request.mutable_start_time() = TimestampToProto(Utc(2026, 10, 12, 9));
  request.set_scope(v1::SERIES_SCOPE_THIS_AND_FOLLOWING);
  v1::RescheduleSessionResponse moved;
  grpc::Status status = server_.stub().RescheduleSession(As(Sam()).get(), request, &moved);
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::vector<v1::Session> after = List(Sam());
  ASSERT_EQ(after.size(), 4u);
  // To Tuesdays: the rule names Mondays, so the rest of the series cannot follow.
  request.set_session_id(after[0].session_id());
  *request.mutable_start_time() = TimestampToProto(Utc(2026, 10, 13, 9));
  EXPECT_EQ(server_.stub().RescheduleSession(As(Sam()).get(), request, &moved).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  absl::TimeZone london = Zone("Europe/London");
  for (int i = 0; i < 4; ++i) {
    // A week later on the local wall clock (one of them across the end of summer time).
    absl::CivilSecond was =
        absl::ToCivilSecond(*TimestampFromProto(before[i].start_time(), "start"), london);
    absl::CivilSecond is =
        absl::ToCivilSecond(*TimestampFromProto(after[i].start_time(), "start"), london);
    EXPECT_EQ(is, was + 7 * 24 * 3600) << i;
  }
}

TEST_F(SupervisionApiTest, ProposedSlotsPutTheOwnSupervisorFirstAndAvoidQuietHours) {
  // Sam is busy on Monday afternoon.
  ASSERT_TRUE(
      Create(Sam(), v1::SESSION_KIND_INDIVIDUAL, {sam_}, {vera_}, Utc(2026, 10, 5, 13)).ok());
  v1::ProposeSlotsRequest request;
  request.set_volunteer_id(quinn_);
  request.set_kind(v1::SESSION_KIND_INDIVIDUAL);
  *request.mutable_duration() = Minutes(60);
  *request.mutable_window_start_time() = TimestampToProto(Utc(2026, 10, 5, 0));
  *request.mutable_window_end_time() = TimestampToProto(Utc(2026, 10, 10, 0));
  request.set_max_results(30);
  v1::ProposeSlotsResponse response;
  grpc::Status status =
      server_.stub().ProposeSlots(As(Volunteer(quinn_)).get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_FALSE(response.slots().empty());
  EXPECT_EQ(response.slots(0).supervisor_id(), sam_);
  EXPECT_THAT(response.slots(0).reasons(), ::testing::Contains(HasSubstr("own supervisor")));
  absl::TimeZone london = Zone("Europe/London");
  bool seen_other = false;
  for (const v1::Slot& slot : response.slots()) {
    absl::Time start = *TimestampFromProto(slot.start_time(), "start");
    absl::Time end = *TimestampFromProto(slot.end_time(), "end");
    // Quinn is quiet from 17:00 to 09:00 London time.
    absl::CivilMinute local_start = absl::ToCivilMinute(start, london);
    absl::CivilMinute local_end = absl::ToCivilMinute(end, london);
    EXPECT_GE(local_start.hour(), 9);
    EXPECT_LE(local_end.hour() * 60 + local_end.minute(), 17 * 60);
    EXPECT_FALSE(start < Utc(2026, 10, 5, 14) && Utc(2026, 10, 5, 13) < end &&
                 slot.supervisor_id() == sam_);
    // The own supervisor's slots all come before anyone else's.
    if (slot.supervisor_id() != sam_) seen_other = true;
    if (seen_other) {
      EXPECT_NE(slot.supervisor_id(), sam_);
    }
    EXPECT_FALSE(slot.reasons().empty());
  }
  EXPECT_TRUE(seen_other);

  request.mutable_duration()->set_seconds(0);
  EXPECT_EQ(
      server_.stub().ProposeSlots(As(Volunteer(quinn_)).get(), request, &response).error_code(),
      grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(SupervisionApiTest, TheCalendarParsesWithLibicalAndMatchesTheSessions) {
  v1::Session cancelled;
  ASSERT_TRUE(Create(Sam(), v1::SESSION_KIND_INDIVIDUAL, {sam_}, {vera_}, Utc(2026, 10, 5, 13), 60,
                     0, "", &cancelled)
                  .ok());
  ASSERT_TRUE(Create(Sam(), v1::SESSION_KIND_GROUP, {sam_}, {vera_, viktor_}, Utc(2026, 10, 7, 10),
                     60, 6, "FREQ=WEEKLY;BYDAY=WE;COUNT=3")
                  .ok());
  v1::CancelSessionRequest cancel;
  cancel.set_session_id(cancelled.session_id());
  v1::CancelSessionResponse response;
  ASSERT_TRUE(server_.stub().CancelSession(As(Sam()).get(), cancel, &response).ok());

  v1::ExportCalendarRequest request;
  v1::ExportCalendarResponse calendar;
  ASSERT_TRUE(server_.stub().ExportCalendar(As(Volunteer(vera_)).get(), request, &calendar).ok());
  icalcomponent* parsed = icalparser_parse_string(calendar.ics().c_str());
  ASSERT_NE(parsed, nullptr);
  std::map<std::string, icalcomponent*> events;
  for (icalcomponent* event = icalcomponent_get_first_component(parsed, ICAL_VEVENT_COMPONENT);
       event != nullptr; event = icalcomponent_get_next_component(parsed, ICAL_VEVENT_COMPONENT)) {
    events[icalcomponent_get_uid(event)] = event;
  }
  icalcomponent* zone = icalcomponent_get_first_component(parsed, ICAL_VTIMEZONE_COMPONENT);
  ASSERT_NE(zone, nullptr);
  // The zone's rules from the first session on, not its history since the 1890s.
  EXPECT_LE(icalcomponent_count_components(zone, ICAL_XSTANDARD_COMPONENT) +
                icalcomponent_count_components(zone, ICAL_XDAYLIGHT_COMPONENT),
            8);
  std::vector<v1::Session> sessions = List(Volunteer(vera_));
  ASSERT_EQ(sessions.size(), 4u);
  EXPECT_EQ(events.size(), sessions.size());
  for (const v1::Session& session : sessions) {
    auto found = events.find(session.session_id() + "@peerwell");
    ASSERT_NE(found, events.end()) << session.session_id();
    icalcomponent* event = found->second;
    icalproperty* dtstart = icalcomponent_get_first_property(event, ICAL_DTSTART_PROPERTY);
    icalparameter* tzid = icalproperty_get_first_parameter(dtstart, ICAL_TZID_PARAMETER);
    ASSERT_NE(tzid, nullptr);
    EXPECT_STREQ(icalparameter_get_tzid(tzid), "Europe/London");
    icaltimetype start = icalproperty_get_dtstart(dtstart);
    absl::Time local = absl::FromCivil(
        absl::CivilSecond(start.year, start.month, start.day, start.hour, start.minute, 0),
        Zone("Europe/London"));
    EXPECT_EQ(absl::ToUnixSeconds(local), session.start_time().seconds());
    EXPECT_EQ(icalcomponent_get_status(event), session.state() == v1::SESSION_STATE_CANCELLED
                                                   ? ICAL_STATUS_CANCELLED
                                                   : ICAL_STATUS_CONFIRMED);
    EXPECT_EQ(
        icalproperty_get_sequence(icalcomponent_get_first_property(event, ICAL_SEQUENCE_PROPERTY)),
        session.sequence());
  }
  icalcomponent_free(parsed);

  // Another volunteer's calendar is not Vera's to read.
  request.set_person_id(viktor_);
  EXPECT_EQ(
      server_.stub().ExportCalendar(As(Volunteer(vera_)).get(), request, &calendar).error_code(),
      grpc::StatusCode::NOT_FOUND);
}

TEST_F(SupervisionApiTest, ADebriefIsOfferedAfterAnIncidentAndCanBeAcceptedOrDeclined) {
  auto offers = [&](const std::string& volunteer) {
    return List(Volunteer(volunteer), "", {v1::SESSION_STATE_OFFERED});
  };
  IncidentReported incident{"1-0", org_, vera_, "inc-1", server_.clock().Now()};
  ASSERT_TRUE(server_.service().OfferDebrief(incident).ok());
  ASSERT_TRUE(server_.service().OfferDebrief(incident).ok());  // redelivered: one offer still
  std::vector<v1::Session> offered = offers(vera_);
  ASSERT_EQ(offered.size(), 1u);
  const v1::Session& offer = offered[0];
  EXPECT_EQ(offer.kind(), v1::SESSION_KIND_DEBRIEF);
  EXPECT_EQ(offer.incident_id(), "inc-1");
  EXPECT_THAT(offer.supervisor_ids(), ::testing::ElementsAre(sam_));  // her own supervisor
  absl::Time start = *TimestampFromProto(offer.start_time(), "start");
  EXPECT_GT(start, server_.clock().Now());
  EXPECT_LE(start + absl::Hours(1), incident.report_time + absl::Hours(24));
  EXPECT_EQ(Events("debrief.offered").size(), 1u);

  // An offer is answered, not moved.
  v1::RescheduleSessionRequest move;
  move.set_session_id(offer.session_id());
  *move.mutable_start_time() = TimestampToProto(start + absl::Hours(2));
  v1::RescheduleSessionResponse moved;
  EXPECT_EQ(server_.stub().RescheduleSession(As(Sam()).get(), move, &moved).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  // Only Vera answers it; accepting schedules it.
  v1::RespondToOfferRequest respond;
  respond.set_session_id(offer.session_id());
  respond.set_accept(true);
  v1::RespondToOfferResponse answered;
  EXPECT_EQ(server_.stub().RespondToOffer(As(Sam()).get(), respond, &answered).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(server_.stub().RespondToOffer(As(Volunteer(vera_)).get(), respond, &answered).ok());
  EXPECT_EQ(answered.session().state(), v1::SESSION_STATE_SCHEDULED);

  // Viktor declines his: the session is declined, nothing else happens.
  ASSERT_TRUE(
      server_.service().OfferDebrief({"2-0", org_, viktor_, "inc-2", server_.clock().Now()}).ok());
  offered = offers(viktor_);
  ASSERT_EQ(offered.size(), 1u);
  respond.set_session_id(offered[0].session_id());
  respond.set_accept(false);
  ASSERT_TRUE(server_.stub().RespondToOffer(As(Volunteer(viktor_)).get(), respond, &answered).ok());
  EXPECT_EQ(answered.session().state(), v1::SESSION_STATE_DECLINED);
  EXPECT_EQ(Events("debrief.declined").size(), 1u);
  EXPECT_EQ(List(Volunteer(viktor_)).size(), 1u);

  // Quinn does not answer hers in time: answering late is OFFER_EXPIRED, and the sweep lets it
  // lapse.
  ASSERT_TRUE(
      server_.service().OfferDebrief({"3-0", org_, quinn_, "inc-3", server_.clock().Now()}).ok());
  offered = offers(quinn_);
  ASSERT_EQ(offered.size(), 1u);
  server_.clock().Advance(absl::Hours(25));
  ASSERT_TRUE(server_.service().RegisterOrganization(org_).ok());
  respond.set_session_id(offered[0].session_id());
  respond.set_accept(true);
  ExpectConflict(server_.stub().RespondToOffer(As(Volunteer(quinn_)).get(), respond, &answered),
                 "OFFER_EXPIRED");
  ASSERT_TRUE(server_.service().Sweep().ok());
  v1::Session lapsed = Get(Volunteer(quinn_), offered[0].session_id());
  EXPECT_EQ(lapsed.state(), v1::SESSION_STATE_CANCELLED);
  EXPECT_THAT(lapsed.cancel_reason(), StartsWith("OFFER_EXPIRED"));
}

TEST_F(SupervisionApiTest, VolunteersPastTheCadenceAreOverdueUntilTheyAttend) {
  // Everyone joined "now" by the directory's real clock; 31 days later all are past 30 days.
  server_.clock().Advance(absl::Now() + absl::Hours(24 * 31) - server_.clock().Now());
  auto overdue = [&](const std::string& token) {
    v1::ListOverdueRequest request;
    v1::ListOverdueResponse response;
    grpc::Status status = server_.stub().ListOverdue(As(token).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    std::set<std::string> ids;
    for (const auto& entry : response.overdue()) {
      ids.insert(entry.volunteer_id());
      EXPECT_GE(entry.days_overdue(), 1);
    }
    return ids;
  };
  EXPECT_EQ(overdue(Coordinator()).size(), 13u);
  EXPECT_EQ(overdue(Sam()), (std::set<std::string>{vera_, viktor_, quinn_}));
  v1::ListOverdueRequest request;
  v1::ListOverdueResponse response;
  EXPECT_EQ(server_.stub().ListOverdue(As(Volunteer(vera_)).get(), request, &response).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  // The sweep announces each gap once, however often it runs.
  ASSERT_TRUE(server_.service().RegisterOrganization(org_).ok());
  ASSERT_TRUE(server_.service().Sweep().ok());
  ASSERT_TRUE(server_.service().Sweep().ok());
  EXPECT_EQ(Events("supervision.overdue").size(), 13u);

  // Vera attends an individual session: she is no longer overdue.
  absl::Time now = server_.clock().Now();
  absl::CivilDay next_monday = absl::ToCivilDay(now, Zone("Europe/London")) + 7;
  while (absl::GetWeekday(next_monday) != absl::Weekday::monday) --next_monday;
  absl::Time start = absl::FromCivil(absl::CivilHour(next_monday) + 10, Zone("Europe/London"));
  v1::Session session;
  grpc::Status created =
      Create(Sam(), v1::SESSION_KIND_INDIVIDUAL, {sam_}, {vera_}, start, 60, 0, "", &session);
  ASSERT_TRUE(created.ok()) << created.error_message();
  v1::RecordAttendanceRequest attend;
  attend.set_session_id(session.session_id());
  auto* present = attend.add_attendance();
  present->set_person_id(vera_);
  present->set_status(v1::ATTENDANCE_STATUS_PRESENT);
  v1::RecordAttendanceResponse attended;
  server_.clock().Advance(start + absl::Minutes(30) - now);
  EXPECT_EQ(server_.stub().RecordAttendance(As(Sam()).get(), attend, &attended).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);  // still running: it holds their time
  server_.clock().Advance(absl::Minutes(30));
  ASSERT_TRUE(server_.stub().RecordAttendance(As(Sam()).get(), attend, &attended).ok());
  EXPECT_EQ(attended.session().state(), v1::SESSION_STATE_COMPLETED);
  EXPECT_EQ(overdue(Sam()), (std::set<std::string>{viktor_, quinn_}));
  ASSERT_EQ(Events("session.attended").size(), 1u);
  EXPECT_EQ(Events("session.attended")[0].Get("present_ids"), vera_);
  // Recorded present by mistake and corrected: she is overdue again.
  present->set_status(v1::ATTENDANCE_STATUS_ABSENT);
  ASSERT_TRUE(server_.stub().RecordAttendance(As(Sam()).get(), attend, &attended).ok());
  EXPECT_EQ(overdue(Sam()), (std::set<std::string>{vera_, viktor_, quinn_}));
}

TEST_F(SupervisionApiTest, OneMinutePastTheCadenceIsOneDayOverdue) {
  // The directory stamped everyone's joining "now"; 30 days and a minute later they are overdue.
  server_.clock().Advance(absl::Now() + absl::Hours(24 * 30) + absl::Minutes(1) -
                          server_.clock().Now());
  v1::ListOverdueRequest request;
  v1::ListOverdueResponse response;
  ASSERT_TRUE(server_.stub().ListOverdue(As(Sam()).get(), request, &response).ok());
  ASSERT_EQ(response.overdue_size(), 3);
  for (const auto& entry : response.overdue()) EXPECT_EQ(entry.days_overdue(), 1);
}

TEST_F(SupervisionApiTest, AnOpenSeriesIsToppedUpAsTimePassesAndNeverDuplicated) {
  // Every Thursday at 15:00 London, without end.
  v1::Session first;
  ASSERT_TRUE(Create(Sam(), v1::SESSION_KIND_GROUP, {sam_}, {viktor_}, Utc(2026, 10, 8, 14), 60, 10,
                     "FREQ=WEEKLY;BYDAY=TH", &first)
                  .ok());
  // Viktor takes a break: the series goes on (with him still in it) all the same.
  dv1::UpdatePersonRequest on_break;
  on_break.mutable_person()->set_person_id(viktor_);
  on_break.mutable_person()->set_status(dv1::PERSON_STATUS_ON_BREAK);
  on_break.mutable_update_mask()->add_paths("status");
  dv1::UpdatePersonResponse updated;
  ASSERT_TRUE(
      server_.directory().stub().UpdatePerson(As(Coordinator()).get(), on_break, &updated).ok());
  auto horizon = [&] {
    std::vector<v1::Session> sessions = List(Sam());
    std::set<std::string> ids;
    for (const auto& session : sessions) ids.insert(session.session_id());
    EXPECT_EQ(ids.size(), sessions.size());  // no occurrence twice
    return *TimestampFromProto(sessions.back().start_time(), "start");
  };
  EXPECT_GE(horizon(), server_.clock().Now() + absl::Hours(24 * 7 * 12));
  ASSERT_TRUE(server_.service().RegisterOrganization(org_).ok());
  server_.clock().Advance(absl::Hours(24 * 7 * 3));
  // Two replicas sweeping at once (and again) create each occurrence once.
  std::thread other([&] { EXPECT_TRUE(server_.service().Sweep().ok()); });
  EXPECT_TRUE(server_.service().Sweep().ok());
  other.join();
  ASSERT_TRUE(server_.service().Sweep().ok());
  EXPECT_GE(horizon(), server_.clock().Now() + absl::Hours(24 * 7 * 12));
  for (const auto& session : List(Sam())) {
    EXPECT_EQ(session.series_id(), first.series_id());
    EXPECT_EQ(
        absl::ToCivilHour(*TimestampFromProto(session.start_time(), "start"), Zone("Europe/London"))
            .hour(),
        15);
  }
}

TEST_F(SupervisionApiTest, ADebriefGoesToAnotherSupervisorWhenTheOwnHasNoTime) {
  // Sam is on leave for the whole offer window.
  v1::SetAvailabilityRequest leave;
  auto* exception = leave.mutable_availability()->add_exceptions();
  *exception->mutable_start_time() = TimestampToProto(kStart - absl::Hours(1));
  *exception->mutable_end_time() = TimestampToProto(kStart + absl::Hours(48));
  exception->set_available(false);
  v1::SetAvailabilityResponse set;
  ASSERT_TRUE(server_.stub().SetAvailability(As(Sam()).get(), leave, &set).ok());
  ASSERT_TRUE(
      server_.service().OfferDebrief({"1-0", org_, vera_, "inc-1", server_.clock().Now()}).ok());
  std::vector<v1::Session> offers = List(Volunteer(vera_), "", {v1::SESSION_STATE_OFFERED});
  ASSERT_EQ(offers.size(), 1u);
  EXPECT_THAT(offers[0].supervisor_ids(), ::testing::ElementsAre(sasha_));
  // A supervisor sees the sessions of the volunteers they supervise, not others'.
  EXPECT_EQ(List(Sam(), vera_).size(), 1u);
  v1::ListSessionsRequest request;
  request.set_person_id(vera_);
  v1::ListSessionsResponse response;
  EXPECT_EQ(server_.stub().ListSessions(As(Sasha()).get(), request, &response).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(SupervisionApiTest, SessionsAreSeenOnlyByThoseTheyConcern) {
  v1::Session session;
  ASSERT_TRUE(Create(Sam(), v1::SESSION_KIND_INDIVIDUAL, {sam_}, {vera_}, Utc(2026, 10, 5, 13), 60,
                     0, "", &session)
                  .ok());
  v1::GetSessionRequest request;
  request.set_session_id(session.session_id());
  v1::GetSessionResponse response;
  EXPECT_TRUE(server_.stub().GetSession(As(Volunteer(vera_)).get(), request, &response).ok());
  EXPECT_TRUE(server_.stub().GetSession(As(Coordinator()).get(), request, &response).ok());
  EXPECT_EQ(
      server_.stub().GetSession(As(Volunteer(viktor_)).get(), request, &response).error_code(),
      grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(server_.stub().GetSession(As(Sasha()).get(), request, &response).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(server_.stub()
                .GetSession(As(ForeignCoordinator("Lighthouse")).get(), request, &response)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(server_.stub().GetSession(As("not-a-token").get(), request, &response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(SupervisionApiTest, ARetriedCreateWithItsRequestIdStoresOneSession) {
  v1::Session first;
  v1::Session again;
  ASSERT_TRUE(Create(Volunteer(vera_), v1::SESSION_KIND_INDIVIDUAL, {sam_}, {},
                     Utc(2026, 10, 5, 13), 60, 0, "", &first, "book-1")
                  .ok());
  ASSERT_TRUE(Create(Volunteer(vera_), v1::SESSION_KIND_INDIVIDUAL, {sam_}, {},
                     Utc(2026, 10, 5, 13), 60, 0, "", &again, "book-1")
                  .ok());
  EXPECT_EQ(first.session_id(), again.session_id());
  EXPECT_EQ(List(Volunteer(vera_)).size(), 1u);
  // Retried after its start has passed: still the first answer, not "must be in the future".
  server_.clock().Advance(Utc(2026, 10, 5, 13, 30) - server_.clock().Now());
  grpc::Status late = Create(Volunteer(vera_), v1::SESSION_KIND_INDIVIDUAL, {sam_}, {},
                             Utc(2026, 10, 5, 13), 60, 0, "", &again, "book-1");
  ASSERT_TRUE(late.ok()) << late.error_message();
  EXPECT_EQ(again.session_id(), first.session_id());
  // A volunteer books for themselves only.
  EXPECT_EQ(
      Create(Volunteer(vera_), v1::SESSION_KIND_INDIVIDUAL, {sam_}, {viktor_}, Utc(2026, 10, 6, 13))
          .error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(SupervisionApiTest, ACalendarFeedServesItsPersonsCalendarToItsTokenAloneUntilRevoked) {
  v1::Session session;
  ASSERT_TRUE(Create(Sam(), v1::SESSION_KIND_INDIVIDUAL, {sam_}, {vera_}, Utc(2026, 10, 5, 13), 60,
                     0, "", &session)
                  .ok());
  v1::CalendarFeed feed;
  grpc::Status created = CreateFeed(Volunteer(vera_), "", &feed);
  ASSERT_TRUE(created.ok()) << created.error_message();
  EXPECT_THAT(feed.feed_id(), StartsWith("cf"));
  EXPECT_EQ(feed.person_id(), vera_);
  EXPECT_EQ(feed.create_time().seconds(), absl::ToUnixSeconds(kStart));
  // "/calendar/pcf_<organisation>_<feed>_<43 URL-safe characters>.ics".
  EXPECT_THAT(feed.path(),
              ::testing::MatchesRegex(absl::StrCat("/calendar/pcf_", org_, "_", feed.feed_id(),
                                                   "_[-_A-Za-z0-9]{43}\\.ics")));
  std::string token = TokenOf(feed);

  // The token is shown once: the listing has the feed without its path.
  std::vector<v1::CalendarFeed> listed;
  ASSERT_TRUE(ListFeeds(Volunteer(vera_), "", &listed).ok());
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].feed_id(), feed.feed_id());
  EXPECT_EQ(listed[0].person_id(), vera_);
  EXPECT_EQ(listed[0].create_time().seconds(), feed.create_time().seconds());
  EXPECT_EQ(listed[0].path(), "");

  // With no credentials at all, the token serves what ExportCalendar gives Vera.
  std::string ics;
  grpc::Status fetched = FetchFeed(token, &ics);
  ASSERT_TRUE(fetched.ok()) << fetched.error_message();
  EXPECT_THAT(ics, StartsWith("BEGIN:VCALENDAR"));
  EXPECT_THAT(ics, HasSubstr(session.session_id() + "@peerwell"));
  v1::ExportCalendarRequest export_request;
  v1::ExportCalendarResponse exported;
  ASSERT_TRUE(
      server_.stub().ExportCalendar(As(Volunteer(vera_)).get(), export_request, &exported).ok());
  EXPECT_EQ(ics, exported.ics());
  // Read again later with nothing changed, the same bytes: the gateway's ETag then holds and a
  // calendar application's poll is answered 304 (DTSTAMP is each session's last change).
  server_.clock().Advance(absl::Minutes(7));
  std::string again;
  ASSERT_TRUE(FetchFeed(token, &again).ok());
  EXPECT_EQ(again, ics);

  // One character changed anywhere, or no token shape at all: NOT_FOUND, never INVALID_ARGUMENT.
  for (size_t at : {token.size() - 1, token.size() / 2, size_t{5}}) {
    std::string altered = token;
    altered[at] = altered[at] == 'a' ? 'b' : 'a';
    EXPECT_EQ(FetchFeed(altered).error_code(), grpc::StatusCode::NOT_FOUND) << at;
  }
  EXPECT_EQ(FetchFeed("").error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(FetchFeed("not a token").error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(FetchFeed(token + "x").error_code(), grpc::StatusCode::NOT_FOUND);

  // Revoked: the token stops working, the listing is empty, and a second revoke finds nothing.
  v1::RevokeCalendarFeedRequest revoke;
  revoke.set_feed_id(feed.feed_id());
  v1::RevokeCalendarFeedResponse revoked;
  ASSERT_TRUE(server_.stub().RevokeCalendarFeed(As(Volunteer(vera_)).get(), revoke, &revoked).ok());
  EXPECT_EQ(revoked.feed().feed_id(), feed.feed_id());
  EXPECT_EQ(revoked.feed().person_id(), vera_);
  EXPECT_EQ(FetchFeed(token).error_code(), grpc::StatusCode::NOT_FOUND);
  ASSERT_TRUE(ListFeeds(Volunteer(vera_), "", &listed).ok());
  EXPECT_TRUE(listed.empty());
  EXPECT_EQ(RevokeFeed(Volunteer(vera_), feed.feed_id()).error_code(), grpc::StatusCode::NOT_FOUND);
  grpc::Status malformed = RevokeFeed(Volunteer(vera_), "../" + feed.feed_id());
  EXPECT_EQ(malformed.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(malformed.error_message(), HasSubstr("feed_id"));
}

TEST_F(SupervisionApiTest, CalendarFeedsAreManagedByTheirPersonAndCoordinatorsOnly) {
  v1::CalendarFeed own;
  ASSERT_TRUE(CreateFeed(Volunteer(vera_), vera_, &own).ok());
  // Another volunteer does not see Vera at all, as ExportCalendar does not show her to them.
  EXPECT_EQ(CreateFeed(Volunteer(viktor_), vera_).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ListFeeds(Volunteer(viktor_), vera_).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(RevokeFeed(Volunteer(viktor_), own.feed_id()).error_code(),
            grpc::StatusCode::NOT_FOUND);
  // Her supervisor sees her calendar but does not hand out addresses to it.
  EXPECT_EQ(CreateFeed(Sam(), vera_).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ListFeeds(Sam(), vera_).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(RevokeFeed(Sam(), own.feed_id()).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  // Another organisation's coordinator finds neither Vera nor her feed.
  std::string elsewhere = ForeignCoordinator("Beacon");
  EXPECT_EQ(CreateFeed(elsewhere, vera_).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ListFeeds(elsewhere, vera_).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(RevokeFeed(elsewhere, own.feed_id()).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(CreateFeed(Coordinator(), "p00000000000000000000").error_code(),
            grpc::StatusCode::NOT_FOUND);

  // Her coordinator creates, lists (oldest first) and revokes them.
  server_.clock().Advance(absl::Minutes(1));
  v1::CalendarFeed by_coordinator;
  ASSERT_TRUE(CreateFeed(Coordinator(), vera_, &by_coordinator).ok());
  EXPECT_EQ(by_coordinator.person_id(), vera_);
  EXPECT_TRUE(FetchFeed(TokenOf(by_coordinator)).ok());
  std::vector<v1::CalendarFeed> listed;
  ASSERT_TRUE(ListFeeds(Coordinator(), vera_, &listed).ok());
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].feed_id(), own.feed_id());
  EXPECT_EQ(listed[1].feed_id(), by_coordinator.feed_id());
  EXPECT_TRUE(RevokeFeed(Coordinator(), own.feed_id()).ok());
  EXPECT_EQ(FetchFeed(TokenOf(own)).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(FetchFeed(TokenOf(by_coordinator)).ok());
  // Nobody lists anyone else's by leaving the person out: that is the caller's own.
  ASSERT_TRUE(ListFeeds(Volunteer(viktor_), "", &listed).ok());
  EXPECT_TRUE(listed.empty());
}

TEST_F(SupervisionApiTest, RedisKeepsACalendarFeedsTokenHashNeverTheToken) {
  v1::CalendarFeed feed;
  ASSERT_TRUE(CreateFeed(Volunteer(vera_), "", &feed).ok());
  std::string token = TokenOf(feed);
  std::string random = token.substr(absl::StrCat("pcf_", org_, "_", feed.feed_id(), "_").size());
  ASSERT_EQ(random.size(), 43u);

  std::string key = absl::StrCat("pw:{", org_, "}:supervision:calendar_feed:", feed.feed_id());
  auto hash = server_.redis().Execute({"HGETALL", key});
  ASSERT_TRUE(hash.ok()) << hash.status();
  std::vector<std::pair<std::string, std::string>> fields = ReplyPairs(*hash);
  ASSERT_FALSE(fields.empty());
  for (const auto& [name, value] : fields) {
    EXPECT_NE(value, token) << name;
    EXPECT_THAT(value, Not(HasSubstr(random))) << name;
  }
  EXPECT_THAT(fields, Contains(std::pair<std::string, std::string>("person_id", vera_)));
  auto index = server_.redis().Execute(
      {"ZRANGE", absl::StrCat("pw:{", org_, "}:supervision:person:", vera_, ":calendar_feeds"), "0",
       "-1"});
  ASSERT_TRUE(index.ok());
  ASSERT_EQ(index->elements.size(), 1u);
  EXPECT_EQ(index->elements[0].str, feed.feed_id());

  // Nowhere else either: no key, and no value of any key, holds the token's random part.
  auto keys = server_.redis().Execute({"KEYS", "*"});
  ASSERT_TRUE(keys.ok());
  for (const RedisReply& name : keys->elements) {
    EXPECT_THAT(name.str, Not(HasSubstr(random)));
    auto type = server_.redis().Execute({"TYPE", name.str});
    ASSERT_TRUE(type.ok());
    RedisCommand read = type->str == "hash"     ? RedisCommand{"HGETALL", name.str}
                        : type->str == "zset"   ? RedisCommand{"ZRANGE", name.str, "0", "-1"}
                        : type->str == "set"    ? RedisCommand{"SMEMBERS", name.str}
                        : type->str == "list"   ? RedisCommand{"LRANGE", name.str, "0", "-1"}
                        : type->str == "stream" ? RedisCommand{"XRANGE", name.str, "-", "+"}
                                                : RedisCommand{"GET", name.str};
    auto contents = server_.redis().Execute(read);
    ASSERT_TRUE(contents.ok()) << name.str;
    EXPECT_THAT(FlattenReply(*contents), Not(HasSubstr(random))) << name.str;
  }
}

TEST_F(SupervisionApiTest, APersonHasAtMostTenCalendarFeeds) {
  std::vector<v1::CalendarFeed> feeds(10);
  for (v1::CalendarFeed& feed : feeds) {
    ASSERT_TRUE(CreateFeed(Volunteer(vera_), "", &feed).ok());
  }
  grpc::Status eleventh = CreateFeed(Volunteer(vera_), "");
  EXPECT_EQ(eleventh.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(eleventh.error_message(), HasSubstr("at most 10 calendar feeds"));
  EXPECT_THAT(eleventh.error_message(), HasSubstr("revoke one"));
  // Also when a coordinator asks; other people's feeds do not count.
  EXPECT_EQ(CreateFeed(Coordinator(), vera_).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(CreateFeed(Volunteer(viktor_), "").ok());
  std::vector<v1::CalendarFeed> listed;
  ASSERT_TRUE(ListFeeds(Volunteer(vera_), "", &listed).ok());
  EXPECT_EQ(listed.size(), 10u);
  // Every feed still works, and revoking one makes room for another.
  EXPECT_TRUE(FetchFeed(TokenOf(feeds.front())).ok());
  EXPECT_TRUE(FetchFeed(TokenOf(feeds.back())).ok());
  ASSERT_TRUE(RevokeFeed(Volunteer(vera_), feeds[3].feed_id()).ok());
  EXPECT_TRUE(CreateFeed(Volunteer(vera_), "").ok());
}

TEST_F(SupervisionApiTest, ACalendarFeedStopsWhenItsPersonBecomesInactiveNotOnABreak) {
  v1::CalendarFeed feed;
  ASSERT_TRUE(CreateFeed(Volunteer(vera_), "", &feed).ok());
  auto set_status = [&](dv1::PersonStatus status) {
    dv1::UpdatePersonRequest request;
    request.mutable_person()->set_person_id(vera_);
    request.mutable_person()->set_status(status);
    request.mutable_update_mask()->add_paths("status");
    dv1::UpdatePersonResponse response;
    grpc::Status updated =
        server_.directory().stub().UpdatePerson(As(Coordinator()).get(), request, &response);
    ASSERT_TRUE(updated.ok()) << updated.error_message();
    // Past the directory client's cache.
    server_.clock().Advance(absl::Minutes(1));
  };
  set_status(dv1::PERSON_STATUS_ON_BREAK);
  EXPECT_TRUE(FetchFeed(TokenOf(feed)).ok());
  set_status(dv1::PERSON_STATUS_INACTIVE);
  EXPECT_EQ(FetchFeed(TokenOf(feed)).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(CreateFeed(Coordinator(), vera_).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  set_status(dv1::PERSON_STATUS_ACTIVE);
  EXPECT_TRUE(FetchFeed(TokenOf(feed)).ok());
}

TEST_F(SupervisionApiTest, AnExportHoldsEveryRecordOfTheVolunteerAndNoneOfAnyoneElse) {
  Workload w = RunWorkload();
  Records records;
  std::string json;
  grpc::Status exported = Export(Token(CallerRole::kService, "directory"), vera_, &records, &json);
  ASSERT_TRUE(exported.ok()) << exported.error_message();
  EXPECT_THAT(json, Not(HasSubstr(viktor_)));

  // Every session of hers in every state, exactly the ones the API lists for her.
  std::set<std::string> listed;
  for (const v1::Session& session : List(Coordinator(), vera_)) listed.insert(session.session_id());
  EXPECT_EQ(listed.size(), 7u);  // three alone with Sam, four of the series
  std::map<std::string, google::protobuf::Struct> sessions;
  for (const auto& record : records["sessions"]) sessions[Field(record, "sessionId")] = record;
  std::set<std::string> exported_ids;
  for (const auto& [id, record] : sessions) exported_ids.insert(id);
  EXPECT_EQ(exported_ids, listed);
  EXPECT_EQ(records["sessions"].size(), listed.size());
  EXPECT_FALSE(sessions.count(w.viktors.session_id()));
  EXPECT_FALSE(sessions.count(w.offer_id));
  const google::protobuf::Struct& attended = sessions[w.attended.session_id()];
  EXPECT_EQ(Field(attended, "state"), "SESSION_STATE_COMPLETED");
  const auto& attendance = attended.fields().at("attendance").list_value();
  ASSERT_EQ(attendance.values_size(), 1);
  EXPECT_EQ(Field(attendance.values(0).struct_value(), "personId"), vera_);
  EXPECT_EQ(Field(attendance.values(0).struct_value(), "status"), "ATTENDANCE_STATUS_PRESENT");
  EXPECT_EQ(Field(sessions[w.cancelled.session_id()], "state"), "SESSION_STATE_CANCELLED");
  EXPECT_EQ(Field(sessions[w.scheduled.session_id()], "state"), "SESSION_STATE_SCHEDULED");

  ASSERT_EQ(records["series"].size(), 1u);
  EXPECT_EQ(Field(records["series"][0], "seriesId"), w.first_occurrence.series_id());
  EXPECT_EQ(Field(records["series"][0], "recurrenceRule"), "FREQ=WEEKLY;BYDAY=TH;COUNT=4");

  // When she was last supervised, and the gap announced for her since.
  ASSERT_EQ(records["lastSupervised"].size(), 1u);
  EXPECT_EQ(Field(records["lastSupervised"][0], "volunteerId"), vera_);
  EXPECT_EQ(Field(records["lastSupervised"][0], "lastSessionTime"), Field(attended, "startTime"));
  ASSERT_EQ(records["overdueAnnounced"].size(), 1u);
  EXPECT_EQ(Field(records["overdueAnnounced"][0], "lastSessionTime"), Field(attended, "startTime"));

  // Her feed by id and creation only: never its token nor the token's hash.
  ASSERT_EQ(records["calendarFeeds"].size(), 1u);
  EXPECT_EQ(FieldNames(records["calendarFeeds"][0]),
            (std::set<std::string>{"feedId", "personId", "createTime"}));
  EXPECT_EQ(Field(records["calendarFeeds"][0], "feedId"), w.feed.feed_id());
  EXPECT_THAT(json, Not(HasSubstr(TokenOf(w.feed))));

  EXPECT_TRUE(records["availability"].empty());  // a volunteer has none
}

TEST_F(SupervisionApiTest, AnExportOfASupervisorHoldsTheirAvailabilityAndTheSessionsTheyRun) {
  Workload w = RunWorkload();
  Records records;
  grpc::Status exported = Export(Token(CallerRole::kService, "directory"), sam_, &records);
  ASSERT_TRUE(exported.ok()) << exported.error_message();
  ASSERT_EQ(records["availability"].size(), 1u);
  EXPECT_EQ(Field(records["availability"][0], "supervisorId"), sam_);
  EXPECT_EQ(records["availability"][0].fields().at("weekly").list_value().values_size(), 5);
  std::set<std::string> ids;
  for (const auto& record : records["sessions"]) ids.insert(Field(record, "sessionId"));
  for (const std::string& id :
       {w.attended.session_id(), w.scheduled.session_id(), w.cancelled.session_id(),
        w.viktors.session_id(), w.offer_id, w.first_occurrence.session_id()}) {
    EXPECT_TRUE(ids.count(id)) << id;
  }
  EXPECT_EQ(ids.size(), 9u);  // and the series' three other occurrences
  EXPECT_EQ(records["series"].size(), 1u);
  EXPECT_TRUE(records["lastSupervised"].empty());
  EXPECT_TRUE(records["calendarFeeds"].empty());
}

TEST_F(SupervisionApiTest, OnlyAServiceExportsAndAPersonWithNothingGetsEveryFamilyEmpty) {
  for (const std::string& token :
       {Volunteer(vera_), Sam(), Coordinator(), TestToken(CallerRole::kAdmin, "op", org_)}) {
    EXPECT_EQ(Export(token, vera_).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  }
  const std::string service = Token(CallerRole::kService, "directory");
  for (const std::string& malformed : {std::string(""), std::string("not an id")}) {
    grpc::Status status = Export(service, malformed);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << malformed;
    EXPECT_THAT(status.error_message(), HasSubstr("person_id"));
  }
  const std::set<std::string> families{"sessions",      "series",         "availability",
                                       "calendarFeeds", "lastSupervised", "overdueAnnounced"};
  // Quinn has no records yet; Vera has none in another organisation, whose service asks the
  // same as for someone it never heard of.
  for (const auto& [token, person] :
       {std::pair{service, quinn_},
        std::pair{TestToken(CallerRole::kService, "directory", CreateOrganization("Elsewhere")),
                  vera_},
        std::pair{service, std::string("nobody-at-all")}}) {
    Records records;
    grpc::Status exported = Export(token, person, &records);
    ASSERT_TRUE(exported.ok()) << exported.error_message();
    std::set<std::string> named;
    for (const auto& [family, list] : records) {
      named.insert(family);
      EXPECT_TRUE(list.empty()) << person << " " << family;
    }
    EXPECT_EQ(named, families) << person;
  }
}

TEST_F(SupervisionApiTest, EveryKeyOfTheServiceIsInAFamilyOfTheExport) {
  RunWorkload();
  Records records;
  ASSERT_TRUE(Export(Token(CallerRole::kService, "directory"), vera_, &records).ok());
  const std::vector<PersonKeyFamily>& families = RedisSupervisionStore::PersonKeyFamilies();
  for (const PersonKeyFamily& family : families) {
    // Either shown in a family the export has, or said why not.
    EXPECT_NE(family.exported_as.empty(), family.not_exported_because.empty()) << family.pattern;
    if (!family.exported_as.empty()) {
      EXPECT_TRUE(records.count(family.exported_as)) << family.pattern;
    }
  }
  std::vector<int> matched(families.size());
  std::string cursor = "0";
  int keys = 0;
  do {
    auto page = server_.redis().Execute({"SCAN", cursor, "COUNT", "1000"});
    ASSERT_TRUE(page.ok()) << page.status();
    ASSERT_EQ(page->elements.size(), 2u);
    cursor = page->elements[0].str;
    for (const RedisReply& name : page->elements[1].elements) {
      const std::string& key = name.str;
      if (fnmatch("pw:{*}:supervision:*", key.c_str(), 0) != 0 &&
          fnmatch("pw:supervision:*", key.c_str(), 0) != 0 &&
          fnmatch("pw:{*}:events:supervision", key.c_str(), 0) != 0) {
        continue;
      }
      ++keys;
      bool covered = false;
      for (size_t i = 0; i < families.size(); ++i) {
        if (fnmatch(families[i].pattern.c_str(), key.c_str(), 0) == 0) {
          covered = true;
          ++matched[i];
        }
      }
      EXPECT_TRUE(covered) << key;
    }
  } while (cursor != "0");
  EXPECT_GT(keys, 0);
  // The workload leaves a key of every family, so none of the patterns is a dead letter.
  for (size_t i = 0; i < families.size(); ++i) {
    EXPECT_GT(matched[i], 0) << families[i].pattern;
  }
}

// --- Erasing a person ----------------------------------------------------------------------------

TEST_F(SupervisionApiTest, ErasingAVolunteerLeavesNoTraceOfThemAndOthersRecordsAsTheyWere) {
  Workload w = RunWorkload();
  SharedWorkload shared = RunSharedWorkload();
  const std::string service = Token(CallerRole::kService, "directory");
  std::map<std::string, v1::Session> viktors = SessionsOf(viktor_);
  ASSERT_EQ(viktors.size(), 7u);  // his own, the offer, two together, three of the series
  std::map<std::string, v1::Session> sams = SessionsOf(sam_);
  Records viktor_records, sam_records;
  ASSERT_TRUE(Export(service, viktor_, &viktor_records).ok());
  ASSERT_EQ(viktor_records["lastSupervised"].size(), 1u);
  ASSERT_TRUE(Export(service, sam_, &sam_records).ok());
  ASSERT_EQ(sam_records["series"].size(), 2u);
  ASSERT_THAT(SupervisionKeys(), Contains(::testing::Key(HasSubstr(vera_))));

  ASSERT_TRUE(server_.service().ErasePerson(org_, vera_).ok());
  const absl::Time erased_at = server_.clock().Now();

  // No key of the service names her or any record of hers: sessions, the occurrences of her
  // series (their ids start with its id), the session she booked, her feed.
  std::map<std::string, std::string> keys = SupervisionKeys();
  ExpectNowhere(keys, {vera_, w.attended.session_id(), w.scheduled.session_id(),
                       w.cancelled.session_id(), w.first_occurrence.series_id(),
                       shared.booked.session_id(), w.feed.feed_id(), TokenOf(w.feed)});
  for (const auto& [key, value] : keys) EXPECT_THAT(key, Not(HasSubstr("datakey")));

  // Viktor's sessions are all there: his own as they were, the shared ones without her (a new
  // sequence, so calendars see the change; a seat freed).
  std::map<std::string, v1::Session> after = SessionsOf(viktor_);
  ASSERT_EQ(after.size(), viktors.size());
  for (const auto& [id, before] : viktors) {
    ASSERT_TRUE(after.count(id)) << id;
    bool was_shared =
        std::count(before.participant_ids().begin(), before.participant_ids().end(), vera_) > 0;
    v1::Session expected = was_shared ? Without(before, vera_, erased_at) : before;
    EXPECT_EQ(after[id].DebugString(), expected.DebugString()) << id;
  }
  v1::Session attended = after[shared.attended_together.session_id()];
  ASSERT_EQ(attended.attendance_size(), 1);
  EXPECT_EQ(attended.attendance(0).person_id(), viktor_);
  // Sam keeps what he runs with others; what he ran with her alone is gone.
  std::map<std::string, v1::Session> sams_after = SessionsOf(sam_);
  for (const auto& [id, session] : sams_after) EXPECT_TRUE(sams.count(id)) << id;
  EXPECT_EQ(sams_after.size(), viktors.size());  // the sessions with Viktor
  Records records;
  ASSERT_TRUE(Export(service, viktor_, &records).ok());
  EXPECT_EQ(records["lastSupervised"][0].DebugString(),
            viktor_records["lastSupervised"][0].DebugString());
  // The series they share goes on without her; hers alone is gone.
  ASSERT_TRUE(Export(service, sam_, &records).ok());
  ASSERT_EQ(records["series"].size(), 1u);
  EXPECT_EQ(Field(records["series"][0], "seriesId"), shared.weekly_together.series_id());
  const auto& series_people = records["series"][0].fields().at("participantIds").list_value();
  ASSERT_EQ(series_people.values_size(), 1);
  EXPECT_EQ(series_people.values(0).string_value(), viktor_);
  EXPECT_EQ(records["availability"].size(), 1u);
  // Events and dead letters about Viktor alone stay.
  EXPECT_EQ(Events("debrief.offered").size(), 1u);
  auto dead = server_.redis().Execute(
      {"XRANGE", DeadLetterStreamKey(EventStreamKey("supervision", org_)), "-", "+"});
  ASSERT_TRUE(dead.ok());
  ASSERT_EQ(dead->elements.size(), 1u);
  EXPECT_EQ(ParseStreamEntries(*dead)[0].Get("event.participant_ids"), viktor_);
  // Nothing is left to export about her.
  EXPECT_EQ(Export(service, vera_, &records).error_code(), grpc::StatusCode::OK);
  for (const auto& [family, list] : records) EXPECT_TRUE(list.empty()) << family;

  // Again (the directory announces an erasure until every service reported): nothing changes.
  ASSERT_TRUE(server_.service().ErasePerson(org_, vera_).ok());
  EXPECT_EQ(SupervisionKeys(), keys);
  // Someone the service never heard of.
  ASSERT_TRUE(server_.service().ErasePerson(org_, NewId("p")).ok());
  EXPECT_EQ(SupervisionKeys(), keys);
}

TEST_F(SupervisionApiTest, AnIncidentOfAVolunteerTheDirectoryDoesNotKnowOffersNoDebrief) {
  // What an incident of an erased volunteer reads like once the directory erased them.
  StreamEntry incident{"1-0",
                       {{"type", "incident.reported"},
                        {"organization_id", org_},
                        {"occur_time", absl::FormatTime(absl::RFC3339_full, server_.clock().Now(),
                                                        absl::UTCTimeZone())},
                        {"incident_id", "inc-1"},
                        {"volunteer_id", NewId("p")},
                        {"incident_type", "1"},
                        {"incident_occur_time", "2026-10-01T07:00:00Z"}},
                       /*deleted=*/false,
                       EventStreamKey("checkin", org_)};
  std::map<std::string, std::string> keys = SupervisionKeys();
  ASSERT_TRUE(HandleCheckinServiceEvent(server_.service(), incident).ok());  // acknowledged
  EXPECT_EQ(SupervisionKeys(), keys);
  EXPECT_TRUE(Events("debrief.offered").empty());
}

TEST_F(SupervisionApiTest, ASupervisorsErasureKeepsTheirSessionsWithOthersRunByTheRest) {
  // Sasha (New York) runs an individual session, a group with Sam, a weekly series and an
  // empty group session; she has her availability and a calendar feed.
  v1::Session individual, cofacilitated, series, empty;
  ASSERT_TRUE(Create(Sasha(), v1::SESSION_KIND_INDIVIDUAL, {sasha_}, {others_[0]},
                     Utc(2026, 10, 5, 14), 60, 0, "", &individual)
                  .ok());
  ASSERT_TRUE(Create(Coordinator(), v1::SESSION_KIND_GROUP, {sasha_, sam_}, {others_[1]},
                     Utc(2026, 10, 6, 14), 60, 0, "", &cofacilitated)
                  .ok());
  ASSERT_TRUE(Create(Sasha(), v1::SESSION_KIND_GROUP, {sasha_}, {others_[2]}, Utc(2026, 10, 7, 14),
                     60, 0, "FREQ=WEEKLY;BYDAY=WE;COUNT=3", &series)
                  .ok());
  ASSERT_TRUE(
      Create(Sasha(), v1::SESSION_KIND_GROUP, {sasha_}, {}, Utc(2026, 10, 8, 14), 60, 0, "", &empty)
          .ok());
  ASSERT_TRUE(CreateFeed(Sasha(), "").ok());

  ASSERT_TRUE(server_.service().ErasePerson(org_, sasha_).ok());
  ExpectNowhere(SupervisionKeys(), {sasha_, empty.session_id()});

  // Kept for their participants, run by whoever else ran them (nobody, for her own).
  v1::Session kept = Get(Coordinator(), individual.session_id());
  EXPECT_THAT(kept.supervisor_ids(), ::testing::IsEmpty());
  EXPECT_THAT(kept.participant_ids(), ::testing::ElementsAre(others_[0]));
  EXPECT_EQ(kept.state(), v1::SESSION_STATE_SCHEDULED);
  kept = Get(Coordinator(), cofacilitated.session_id());
  EXPECT_THAT(kept.supervisor_ids(), ::testing::ElementsAre(sam_));
  EXPECT_THAT(kept.participant_ids(), ::testing::ElementsAre(others_[1]));
  std::map<std::string, v1::Session> occurrences = SessionsOf(others_[2]);
  EXPECT_EQ(occurrences.size(), 3u);
  for (const auto& [id, occurrence] : occurrences) {
    EXPECT_THAT(occurrence.supervisor_ids(), ::testing::IsEmpty()) << id;
  }
  // The series had nobody left to run it: gone, so no top-up makes more.
  Records records;
  ASSERT_TRUE(Export(Token(CallerRole::kService, "directory"), others_[2], &records).ok());
  EXPECT_TRUE(records["series"].empty());
  server_.clock().Advance(absl::Hours(24 * 7 * 8));
  ASSERT_TRUE(server_.service().RegisterOrganization(org_).ok());
  ASSERT_TRUE(server_.service().Sweep().ok());
  EXPECT_EQ(SessionsOf(others_[2]).size(), 3u);
  // Nothing that ran since named her again.
  ExpectNowhere(SupervisionKeys(), {sasha_});
}

// The store of a service that loses Redis after a number of writes: erasing through it stops
// half way, at every point in turn.
class WritesRunOutStore final : public SupervisionStore {
 public:
  WritesRunOutStore(SupervisionStore& store, int writes) : store_(store), writes_(writes) {}
  bool ran_out() const { return ran_out_; }

  absl::StatusOr<std::optional<Availability>> GetAvailability(const std::string& o,
                                                              const std::string& s) override {
    return store_.GetAvailability(o, s);
  }
  absl::StatusOr<std::vector<Availability>> GetAvailabilities(
      const std::string& o, const std::vector<std::string>& s) override {
    return store_.GetAvailabilities(o, s);
  }
  absl::Status SetAvailability(const std::string& o, const Availability& a) override {
    if (!Write()) return absl::UnavailableError("Redis went away");
    return store_.SetAvailability(o, a);
  }
  absl::StatusOr<std::optional<Session>> GetSession(const std::string& o,
                                                    const std::string& s) override {
    return store_.GetSession(o, s);
  }
  absl::StatusOr<std::vector<Session>> GetSessions(const std::string& o,
                                                   const std::vector<std::string>& s) override {
    return store_.GetSessions(o, s);
  }
  absl::StatusOr<std::map<std::string, std::vector<BusyInterval>>> BusyIntervals(
      const std::string& o, const std::vector<std::string>& p, absl::Time f,
      absl::Time t) override {
    return store_.BusyIntervals(o, p, f, t);
  }
  absl::StatusOr<SessionIndexPage> ListSessionIds(const std::string& o, const std::string& p,
                                                  absl::Time f, absl::Time t, int l,
                                                  const std::string& position) override {
    return store_.ListSessionIds(o, p, f, t, l, position);
  }
  absl::StatusOr<std::vector<std::string>> SeriesSessionIds(const std::string& o,
                                                            const std::string& s,
                                                            absl::Time f) override {
    return store_.SeriesSessionIds(o, s, f);
  }
  absl::StatusOr<Created> Apply(const std::string& o, const Commit& c, const CreateRequest& r,
                                const std::string& v) override {
    if (!Write()) return absl::UnavailableError("Redis went away");
    return store_.Apply(o, c, r, v);
  }
  absl::StatusOr<std::optional<std::string>> EarlierResult(const std::string& o,
                                                           const CreateRequest& r) override {
    return store_.EarlierResult(o, r);
  }
  absl::StatusOr<std::optional<Series>> GetSeries(const std::string& o,
                                                  const std::string& s) override {
    return store_.GetSeries(o, s);
  }
  absl::StatusOr<std::vector<Series>> GetSeveralSeries(const std::string& o,
                                                       const std::vector<std::string>& s) override {
    return store_.GetSeveralSeries(o, s);
  }
  absl::StatusOr<std::vector<std::string>> SeriesToTopUp(const std::string& o, absl::Time h,
                                                         int l) override {
    return store_.SeriesToTopUp(o, h, l);
  }
  absl::StatusOr<std::vector<std::string>> ExpiredOffers(const std::string& o, absl::Time n,
                                                         int l) override {
    return store_.ExpiredOffers(o, n, l);
  }
  absl::StatusOr<SupervisionPolicy> GetPolicy(const std::string& o) override {
    return store_.GetPolicy(o);
  }
  absl::Status SetPolicy(const std::string& o, const SupervisionPolicy& p) override {
    if (!Write()) return absl::UnavailableError("Redis went away");
    return store_.SetPolicy(o, p);
  }
  absl::StatusOr<std::map<std::string, absl::Time>> LastSupervised(const std::string& o) override {
    return store_.LastSupervised(o);
  }
  absl::StatusOr<CadenceMarks> GetCadenceMarks(const std::string& o,
                                               const std::string& v) override {
    return store_.GetCadenceMarks(o, v);
  }
  absl::StatusOr<bool> PublishOverdueOnce(const std::string& o, const std::string& v,
                                          const std::string& g, const DomainEvent& e) override {
    if (!Write()) return absl::UnavailableError("Redis went away");
    return store_.PublishOverdueOnce(o, v, g, e);
  }
  absl::StatusOr<std::optional<CalendarFeed>> GetCalendarFeed(const std::string& o,
                                                              const std::string& f) override {
    return store_.GetCalendarFeed(o, f);
  }
  absl::StatusOr<std::vector<CalendarFeed>> ListCalendarFeeds(const std::string& o,
                                                              const std::string& p) override {
    return store_.ListCalendarFeeds(o, p);
  }
  absl::StatusOr<bool> AddCalendarFeed(const CalendarFeed& f, int l) override {
    if (!Write()) return absl::UnavailableError("Redis went away");
    return store_.AddCalendarFeed(f, l);
  }
  absl::StatusOr<bool> RemoveCalendarFeed(const CalendarFeed& f) override {
    if (!Write()) return absl::UnavailableError("Redis went away");
    return store_.RemoveCalendarFeed(f);
  }
  absl::Status AddOrganization(const std::string& o) override {
    if (!Write()) return absl::UnavailableError("Redis went away");
    return store_.AddOrganization(o);
  }
  absl::StatusOr<std::vector<std::string>> Organizations() override {
    return store_.Organizations();
  }
  absl::StatusOr<std::vector<Series>> SeriesNaming(const std::string& o,
                                                   const std::string& p) override {
    return store_.SeriesNaming(o, p);
  }
  absl::Status RemovePersonRecords(const std::string& o, const std::string& p) override {
    if (!Write()) return absl::UnavailableError("Redis went away");
    return store_.RemovePersonRecords(o, p);
  }
  absl::Status RemovePersonRequests(const std::string& o, const std::string& p) override {
    if (!Write()) return absl::UnavailableError("Redis went away");
    return store_.RemovePersonRequests(o, p);
  }
  absl::Status RemovePersonEvents(const std::string& o, const std::string& p) override {
    if (!Write()) return absl::UnavailableError("Redis went away");
    return store_.RemovePersonEvents(o, p);
  }

 private:
  // Whether Redis takes one more write.
  bool Write() {
    if (writes_-- > 0) return true;
    ran_out_ = true;
    return false;
  }

  SupervisionStore& store_;
  int writes_;
  bool ran_out_ = false;
};

TEST_F(SupervisionApiTest, AnErasureStoppedAtAnyPointFinishesWhenItRunsAgain) {
  // For each write of the erasure in turn: a new organisation with the workload, an erasure that
  // loses Redis at that write, then one that runs to the end.
  for (int writes = 0;; ++writes) {
    SCOPED_TRACE(absl::StrCat("Redis lost at write ", writes));
    if (writes > 0) {
      Seed();
      server_.clock().Advance(kStart - server_.clock().Now());
    }
    Workload w = RunWorkload();
    SharedWorkload shared = RunSharedWorkload();
    std::map<std::string, v1::Session> viktors = SessionsOf(viktor_);
    WritesRunOutStore store(server_.store(), writes);
    SupervisionService stopped(store, server_.people(), server_.clock(), server_.secrets());
    absl::Status erased = stopped.ErasePerson(org_, vera_);
    if (!store.ran_out()) {  // every point was tried
      ASSERT_TRUE(erased.ok()) << erased;
      EXPECT_GT(writes, 15);
      break;
    }
    ASSERT_EQ(erased.code(), absl::StatusCode::kUnavailable) << erased;
    ASSERT_TRUE(server_.service().ErasePerson(org_, vera_).ok());

    ExpectNowhere(SupervisionKeys(), {vera_, w.attended.session_id(), w.scheduled.session_id(),
                                      w.cancelled.session_id(), w.first_occurrence.series_id(),
                                      shared.booked.session_id(), w.feed.feed_id()});
    std::map<std::string, v1::Session> after = SessionsOf(viktor_);
    ASSERT_EQ(after.size(), viktors.size());
    for (const auto& [id, before] : viktors) {
      ASSERT_TRUE(after.count(id)) << id;
      bool was_shared =
          std::count(before.participant_ids().begin(), before.participant_ids().end(), vera_) > 0;
      // Taken out once, by whichever run got to it.
      EXPECT_EQ(after[id].sequence(), before.sequence() + (was_shared ? 1 : 0)) << id;
      EXPECT_EQ(after[id].participant_ids_size(), before.participant_ids_size() - was_shared) << id;
    }
    ASSERT_LT(writes, 100);
  }
}

}  // namespace
}  // namespace peerwell::supervision::testing
