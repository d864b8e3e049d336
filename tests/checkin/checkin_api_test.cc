// The check-in service over real gRPC channels, with the real directory and a real redis-server.

#include <fnmatch.h>

#include <algorithm>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "services/checkin/checkin_server.h"
#include "services/common/events.h"
#include "services/common/ids.h"
#include "services/common/proto_time.h"
#include "tests/checkin/checkin_test_server.h"
#include "tests/checkin/stored_checkin.h"
#include "tests/testing/redis_text.h"
#include "tests/testing/wait.h"

namespace peerwell::checkin::testing {
namespace {

namespace dv1 = ::peerwell::directory::v1;
namespace pv1 = ::peerwell::privacy::v1;
using ::google::protobuf::Struct;
using ::peerwell::testing::TestToken;
using ::testing::HasSubstr;

// The records of one family of an export, each as its JSON object.
std::vector<Struct> Family(const Struct& records, const std::string& family) {
  std::vector<Struct> out;
  auto found = records.fields().find(family);
  if (found == records.fields().end()) {
    ADD_FAILURE() << "the export has no family " << family;
    return out;
  }
  for (const auto& value : found->second.list_value().values()) {
    out.push_back(value.struct_value());
  }
  return out;
}

// A string field of an exported record; empty when the JSON mapping left it out.
std::string Field(const Struct& record, const std::string& name) {
  auto found = record.fields().find(name);
  return found == record.fields().end() ? "" : found->second.string_value();
}

std::vector<std::string> FamilyNames(const Struct& records) {
  std::vector<std::string> names;
  for (const auto& [name, value] : records.fields()) names.push_back(name);
  return names;
}

struct People {
  std::string org;
  std::string coordinator;
  std::string supervisor;        // supervises `volunteer`
  std::string other_supervisor;  // supervises nobody here
  std::string volunteer;
  std::string peer;  // another volunteer
};

class CheckinApiTest : public ::testing::Test {
 protected:
  void SetUp() override { people_ = Seed("Harbour"); }

  std::unique_ptr<grpc::ClientContext> As(const std::string& token) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->AddMetadata("authorization", "Bearer " + token);
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return context;
  }

  std::string Volunteer() {
    return TestToken(CallerRole::kVolunteer, people_.volunteer, people_.org);
  }
  std::string Supervisor() {
    return TestToken(CallerRole::kSupervisor, people_.supervisor, people_.org);
  }
  std::string Coordinator() {
    return TestToken(CallerRole::kCoordinator, people_.coordinator, people_.org);
  }
  std::string Peer() { return TestToken(CallerRole::kVolunteer, people_.peer, people_.org); }
  // The directory gathering a person's export.
  std::string Service() { return TestToken(CallerRole::kService, "directory", people_.org); }

  // An organisation and its people.
  People Seed(const std::string& organization_name) {
    auto& directory = server_.directory().stub();
    People people;
    dv1::CreateOrganizationRequest create_org;
    create_org.set_display_name(organization_name);
    dv1::CreateOrganizationResponse org;
    EXPECT_TRUE(
        directory
            .CreateOrganization(As(TestToken(CallerRole::kAdmin, "op", "")).get(), create_org, &org)
            .ok());
    people.org = org.organization().organization_id();
    auto create = [&](const std::string& token, dv1::Role role, const std::string& name,
                      const std::string& supervisor = "") {
      dv1::CreatePersonRequest request;
      request.mutable_person()->set_display_name(name);
      request.mutable_person()->set_role(role);
      if (!supervisor.empty()) request.mutable_person()->add_supervisor_ids(supervisor);
      dv1::CreatePersonResponse response;
      grpc::Status status = directory.CreatePerson(As(token).get(), request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      return response.person().person_id();
    };
    people.coordinator =
        create(TestToken(CallerRole::kAdmin, "op", people.org), dv1::ROLE_COORDINATOR, "Grace");
    std::string coordinator = TestToken(CallerRole::kCoordinator, people.coordinator, people.org);
    people.supervisor = create(coordinator, dv1::ROLE_SUPERVISOR, "Sam");
    people.other_supervisor = create(coordinator, dv1::ROLE_SUPERVISOR, "Sasha");
    people.volunteer = create(coordinator, dv1::ROLE_VOLUNTEER, "Vera", people.supervisor);
    people.peer = create(coordinator, dv1::ROLE_VOLUNTEER, "Viktor", people.supervisor);
    return people;
  }

  void ShareScores(bool share) {
    dv1::SetConsentRequest request;
    request.mutable_consent()->set_share_scores_with_supervisor(share);
    dv1::SetConsentResponse response;
    ASSERT_TRUE(
        server_.directory().stub().SetConsent(As(Volunteer()).get(), request, &response).ok());
    server_.directory_client().Forget(people_.org, people_.volunteer);
  }

  grpc::Status Submit(const std::string& token, const std::string& instrument,
                      const std::vector<std::pair<std::string, int>>& answers,
                      const std::string& note = "", const std::string& request_id = "",
                      v1::Checkin* out = nullptr) {
    v1::SubmitCheckinRequest request;
    request.set_instrument_id(instrument);
    for (const auto& [item, value] : answers) {
      auto* answer = request.add_answers();
      answer->set_item_id(item);
      answer->set_value(value);
    }
    request.set_note(note);
    request.set_request_id(request_id);
    request.mutable_context()->set_hours(2.5);
    request.mutable_context()->set_session_kind("group");
    v1::SubmitCheckinResponse response;
    grpc::Status status = server_.stub().SubmitCheckin(As(token).get(), request, &response);
    if (out != nullptr) *out = response.checkin();
    return status;
  }

  static std::vector<std::pair<std::string, int>> Who5(int each) {
    return {{"1", each}, {"2", each}, {"3", each}, {"4", each}, {"5", each}};
  }

  grpc::Status List(const std::string& token, const std::string& volunteer_id,
                    v1::ListCheckinsResponse* out, int page_size = 0,
                    const std::string& page_token = "") {
    v1::ListCheckinsRequest request;
    request.set_volunteer_id(volunteer_id);
    request.set_page_size(page_size);
    request.set_page_token(page_token);
    return server_.stub().ListCheckins(As(token).get(), request, out);
  }

  // Every kind of record a volunteer makes, each text marked with `tag`: a WHO-5 and a pulse
  // that asks to talk (so a support request from the pulse), both with notes, an incident and a
  // support request of their own. Request ids too, so that request keys are written.
  void RecordEverything(const std::string& token, const std::string& tag) {
    ASSERT_TRUE(Submit(token, "who5", Who5(3), tag + " who5 note", tag + "-who5").ok());
    server_.clock().Advance(absl::Minutes(1));
    ASSERT_TRUE(Submit(token, "pulse", {{"energy", 2}, {"stayed_with_me", 1}, {"want_to_talk", 1}},
                       tag + " pulse note")
                    .ok());
    server_.clock().Advance(absl::Minutes(1));
    v1::ReportCriticalIncidentRequest incident;
    incident.set_incident_type(v1::INCIDENT_TYPE_AGGRESSION);
    *incident.mutable_occur_time() = TimestampToProto(server_.clock().Now() - absl::Hours(1));
    incident.set_description(tag + " incident description");
    incident.set_request_id(tag + "-incident");
    v1::ReportCriticalIncidentResponse reported;
    ASSERT_TRUE(server_.stub().ReportCriticalIncident(As(token).get(), incident, &reported).ok());
    server_.clock().Advance(absl::Minutes(1));
    v1::RequestSupportRequest support;
    support.set_urgency(v1::URGENCY_HIGH);
    support.set_note(tag + " support note");
    support.set_request_id(tag + "-support");
    v1::RequestSupportResponse requested;
    ASSERT_TRUE(server_.stub().RequestSupport(As(token).get(), support, &requested).ok());
  }

  grpc::Status ExportRecords(const std::string& token, const std::string& person_id,
                             Struct* records) {
    pv1::ExportPersonRecordsRequest request;
    request.set_person_id(person_id);
    pv1::ExportPersonRecordsResponse response;
    grpc::Status status = server_.stub().ExportPersonRecords(As(token).get(), request, &response);
    *records = response.records();
    return status;
  }

  // Every key in Redis, by SCAN.
  std::vector<std::string> AllKeys() {
    std::vector<std::string> keys;
    std::string cursor = "0";
    do {
      auto reply = server_.redis().Execute({"SCAN", cursor, "COUNT", "1000"});
      if (!reply.ok() || reply->elements.size() != 2) {
        ADD_FAILURE() << "SCAN failed";
        break;
      }
      cursor = reply->elements[0].str;
      for (const auto& key : reply->elements[1].elements) keys.push_back(key.str);
    } while (cursor != "0");
    return keys;
  }

  std::vector<StreamEntry> Events() {
    return ParseStreamEntries(
        *server_.redis().Execute({"XRANGE", EventStreamKey("checkin", people_.org), "-", "+"}));
  }
  long long KeyCount() { return server_.redis().Execute({"DBSIZE"})->integer; }

  // A key's value as text, read by its type (no DUMP, whose encoding may hide what is looked for).
  std::string ValueText(const std::string& key) {
    auto type = server_.redis().Execute({"TYPE", key});
    if (!type.ok()) return "";
    RedisCommand read;
    if (type->str == "string") {
      read = {"GET", key};
    } else if (type->str == "hash") {
      read = {"HGETALL", key};
    } else if (type->str == "set") {
      read = {"SMEMBERS", key};
    } else if (type->str == "zset") {
      read = {"ZRANGE", key, "0", "-1", "WITHSCORES"};
    } else if (type->str == "list") {
      read = {"LRANGE", key, "0", "-1"};
    } else if (type->str == "stream") {
      read = {"XRANGE", key, "-", "+"};
    } else {
      return "";
    }
    auto value = server_.redis().Execute(read);
    if (!value.ok()) return "";
    std::string text;
    auto append = [&](const RedisReply& reply, auto& self) -> void {
      absl::StrAppend(&text, reply.str, "\n");
      for (const RedisReply& element : reply.elements) self(element, self);
    };
    append(*value, append);
    return text;
  }

  // Every key with its value as text.
  std::map<std::string, std::string> Snapshot() {
    std::map<std::string, std::string> snapshot;
    for (const std::string& key : AllKeys()) snapshot[key] = ValueText(key);
    return snapshot;
  }

  // What an erasure of someone else must spare: the volunteer's whole export, texts opened.
  Struct ExportOf(const std::string& person_id) {
    Struct records;
    grpc::Status status = ExportRecords(Service(), person_id, &records);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return records;
  }
  static bool Same(const Struct& a, const Struct& b) {
    return google::protobuf::util::MessageDifferencer::Equals(a, b);
  }

  // The ids of every record of the volunteer's export.
  std::vector<std::string> RecordIds(const std::string& person_id) {
    Struct records;
    EXPECT_TRUE(ExportRecords(Service(), person_id, &records).ok());
    std::vector<std::string> ids;
    for (const auto& [family, id_field] : std::vector<std::pair<std::string, std::string>>{
             {"checkins", "checkinId"},
             {"incidents", "incidentId"},
             {"supportRequests", "supportRequestId"}}) {
      for (const Struct& record : Family(records, family)) ids.push_back(Field(record, id_field));
    }
    return ids;
  }

  // Everything an erasure has to find, for the volunteer (tag "Vera") and their peer ("Viktor"):
  // every kind of record, an import for the volunteer by the platform operator (whose request key
  // names the operator as the caller), the organisation's settings, and every event also as a
  // dead letter, as a consumer group that gave up on it leaves it.
  void RecordForErasure() {
    ASSERT_NO_FATAL_FAILURE(RecordEverything(Volunteer(), "Vera"));
    ASSERT_NO_FATAL_FAILURE(RecordEverything(Peer(), "Viktor"));
    v1::SubmitCheckinRequest import;
    import.set_volunteer_id(people_.volunteer);
    import.set_instrument_id("cbi");
    for (int item = 1; item <= 19; ++item) {
      auto* answer = import.add_answers();
      answer->set_item_id(absl::StrCat(item));
      answer->set_value(50);
    }
    import.set_note("Vera imported note");
    import.set_request_id("import-1");
    *import.mutable_submit_time() = TimestampToProto(server_.clock().Now() - absl::Hours(24 * 40));
    v1::SubmitCheckinResponse imported;
    grpc::Status status = server_.stub().SubmitCheckin(
        As(TestToken(CallerRole::kAdmin, "op", people_.org)).get(), import, &imported);
    ASSERT_TRUE(status.ok()) << status.error_message();

    v1::UpdateCheckinSettingsRequest settings;
    (*settings.mutable_settings()->mutable_cadence_days())["who5"] = 7;
    v1::UpdateCheckinSettingsResponse updated;
    ASSERT_TRUE(
        server_.stub().UpdateCheckinSettings(As(Coordinator()).get(), settings, &updated).ok());

    for (const StreamEntry& event : Events()) {
      RedisCommand dead{"XADD",
                        DeadLetterStreamKey(EventStreamKey("checkin", people_.org)),
                        "*",
                        "source_stream",
                        EventStreamKey("checkin", people_.org),
                        "source_id",
                        event.id,
                        "group",
                        "alerts",
                        "error",
                        "INTERNAL: test"};
      for (const EventField& field : event.fields) {
        dead.push_back("event." + field.name);
        dead.push_back(field.value);
      }
      ASSERT_TRUE(server_.redis().Execute(dead).ok());
    }
  }

  // Every key of Redis but the directory's (its records and audit stream are its own to erase)
  // that mentions one of `needles` in its name or value: "<key>: <needle>".
  std::vector<std::string> CheckinKeysMentioning(const std::vector<std::string>& needles) {
    std::vector<std::string> found;
    for (const auto& [key, value] : Snapshot()) {
      if (absl::StrContains(key, "}:directory:") || absl::StrContains(key, "}:events:directory") ||
          absl::EndsWith(key, "}:audit")) {
        continue;
      }
      for (const std::string& needle : needles) {
        if (absl::StrContains(key, needle) || absl::StrContains(value, needle)) {
          found.push_back(absl::StrCat(key, ": ", needle));
        }
      }
    }
    return found;
  }

  // The volunteer's id, their records' ids and texts.
  std::vector<std::string> AboutVolunteer() {
    std::vector<std::string> needles = RecordIds(people_.volunteer);
    EXPECT_EQ(needles.size(), 6u);  // who5, pulse, cbi; an incident; two support requests
    needles.push_back(people_.volunteer);
    for (const char* text : {"Vera who5 note", "Vera pulse note", "Vera incident description",
                             "Vera support note", "Vera imported note"}) {
      needles.push_back(text);
    }
    return needles;
  }

  CheckinTestServer server_;
  People people_;
};

TEST_F(CheckinApiTest, ListsInstrumentsWithAttribution) {
  v1::ListInstrumentsResponse response;
  ASSERT_TRUE(server_.stub()
                  .ListInstruments(As(Volunteer()).get(), v1::ListInstrumentsRequest(), &response)
                  .ok());
  std::vector<std::string> ids;
  for (const auto& instrument : response.instruments()) {
    ids.push_back(instrument.instrument_id());
    EXPECT_FALSE(instrument.attribution().empty()) << instrument.instrument_id();
  }
  EXPECT_THAT(ids, ::testing::ElementsAre("pulse", "who5", "cbi", "proqol5"));
  EXPECT_EQ(response.instruments(1).items(0).options(0).label(), "All of the time");
}

TEST_F(CheckinApiTest, VolunteerSubmitsScoredCheckinAndReadsItBackWithNote) {
  v1::Checkin checkin;
  ASSERT_TRUE(Submit(Volunteer(), "who5", {{"1", 3}, {"2", 3}, {"3", 3}, {"4", 2}, {"5", 2}},
                     "Tired after a heavy group.", "", &checkin)
                  .ok());
  ASSERT_EQ(checkin.scores_size(), 2);
  EXPECT_EQ(checkin.scores(0).scale_id(), "who5_raw");
  EXPECT_EQ(checkin.scores(0).value(), 13);
  EXPECT_EQ(checkin.scores(1).value(), 52);
  EXPECT_EQ(checkin.scores(1).band(), "good");
  EXPECT_EQ(checkin.volunteer_id(), people_.volunteer);

  server_.clock().Advance(absl::Minutes(1));
  ASSERT_TRUE(Submit(Volunteer(), "who5", Who5(1)).ok());
  v1::ListCheckinsResponse listed;
  ASSERT_TRUE(List(Volunteer(), "", &listed).ok());
  ASSERT_EQ(listed.checkins_size(), 2);
  EXPECT_EQ(listed.checkins(0).scores(1).value(), 20);  // newest first
  EXPECT_EQ(listed.checkins(1).note(), "Tired after a heavy group.");
  EXPECT_EQ(listed.checkins(1).context().session_kind(), "group");

  // The event carries scores for the risk engine, never the note.
  auto events = Events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].Get("type"), "checkin.submitted");
  EXPECT_EQ(events[0].Get("volunteer_id"), people_.volunteer);
  EXPECT_THAT(events[0].Get("scores"), HasSubstr("who5=52=good"));
  for (const auto& field : events[0].fields)
    EXPECT_EQ(field.value.find("Tired"), std::string::npos);
}

// A token cannot be recalled, so the service asks the directory whether its person is still a
// member: a deactivated volunteer's token stops working once what it knew about them expires.
TEST_F(CheckinApiTest, ADeactivatedVolunteersTokenIsRefusedWithinTheDirectoryCacheLifetime) {
  ASSERT_TRUE(Submit(Volunteer(), "who5", Who5(3)).ok());
  dv1::UpdatePersonRequest update;
  update.mutable_person()->set_person_id(people_.volunteer);
  update.mutable_person()->set_status(dv1::PERSON_STATUS_INACTIVE);
  update.mutable_update_mask()->add_paths("status");
  dv1::UpdatePersonResponse updated;
  ASSERT_TRUE(
      server_.directory().stub().UpdatePerson(As(Coordinator()).get(), update, &updated).ok());
  // The directory, which holds the truth, refuses the token at once.
  dv1::GetConsentRequest consent;
  dv1::GetConsentResponse got;
  EXPECT_EQ(
      server_.directory().stub().GetConsent(As(Volunteer()).get(), consent, &got).error_code(),
      grpc::StatusCode::UNAUTHENTICATED);

  server_.clock().Advance(DirectoryClientOptions().cache_ttl + absl::Seconds(1));
  grpc::Status refused = Submit(Volunteer(), "who5", Who5(3));
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(refused.error_message(), "invalid credentials: this account has been deactivated");
  // Only the deactivated person is cut off.
  std::string peer = TestToken(CallerRole::kVolunteer, people_.peer, people_.org);
  EXPECT_TRUE(Submit(peer, "who5", Who5(3)).ok());
}

TEST_F(CheckinApiTest, OnlyTheVolunteerSubmitsForThemselves) {
  v1::SubmitCheckinRequest request;
  request.set_volunteer_id(people_.peer);
  request.set_instrument_id("who5");
  for (const auto& [item, value] : Who5(3)) {
    auto* answer = request.add_answers();
    answer->set_item_id(item);
    answer->set_value(value);
  }
  v1::SubmitCheckinResponse response;
  EXPECT_EQ(server_.stub().SubmitCheckin(As(Volunteer()).get(), request, &response).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  request.clear_volunteer_id();
  EXPECT_EQ(server_.stub().SubmitCheckin(As(Supervisor()).get(), request, &response).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(server_.stub().SubmitCheckin(As(Coordinator()).get(), request, &response).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(Events().empty());
}

TEST_F(CheckinApiTest, BadInputNamesTheFieldAndStoresNothing) {
  ASSERT_TRUE(Submit(Volunteer(), "who5", Who5(3)).ok());  // creates the data key up front
  long long keys = KeyCount();
  size_t events = Events().size();
  struct Case {
    std::string instrument;
    std::vector<std::pair<std::string, int>> answers;
    std::string note;
    std::string field;
  };
  std::vector<Case> cases = {
      {"who6", Who5(3), "", "instrument_id"},
      {"swemwbs",
       {{"1", 3}, {"2", 3}, {"3", 3}, {"4", 3}, {"5", 3}, {"6", 3}, {"7", 3}},
       "",
       "instrument_id"},  // not registered
      {"who5", {{"1", 3}, {"2", 3}, {"3", 3}, {"4", 3}, {"9", 3}}, "", "answers[4].item_id"},
      {"who5", {{"1", 3}, {"1", 3}, {"3", 3}, {"4", 3}, {"5", 3}}, "", "answers[1].item_id"},
      {"who5", {{"1", 3}, {"2", 3}, {"3", 7}, {"4", 3}, {"5", 3}}, "", "answers[2].value"},
      {"who5", {{"1", 3}, {"2", 3}, {"3", 3}, {"4", 3}}, "", "answers"},
      {"cbi", {{"1", 60}}, "", "answers[0].value"},
      {"who5", Who5(3), std::string(2001, 'x'), "note"},
      {"who5", Who5(3), "bad\x01note", "note"},
  };
  for (const Case& c : cases) {
    grpc::Status status = Submit(Volunteer(), c.instrument, c.answers, c.note);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.field;
    EXPECT_THAT(status.error_message(), HasSubstr(c.field));
  }
  v1::SubmitCheckinRequest bad_hours;
  bad_hours.set_instrument_id("pulse");
  for (const auto& [item, value] : std::vector<std::pair<std::string, int>>{
           {"energy", 3}, {"stayed_with_me", 0}, {"want_to_talk", 0}}) {
    auto* answer = bad_hours.add_answers();
    answer->set_item_id(item);
    answer->set_value(value);
  }
  bad_hours.mutable_context()->set_hours(30);
  v1::SubmitCheckinResponse response;
  grpc::Status status = server_.stub().SubmitCheckin(As(Volunteer()).get(), bad_hours, &response);
  EXPECT_THAT(status.error_message(), HasSubstr("context.hours"));

  v1::ReportCriticalIncidentRequest future;
  future.set_incident_type(v1::INCIDENT_TYPE_AGGRESSION);
  *future.mutable_occur_time() = TimestampToProto(server_.clock().Now() + absl::Hours(2));
  v1::ReportCriticalIncidentResponse reported;
  status = server_.stub().ReportCriticalIncident(As(Volunteer()).get(), future, &reported);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("occur_time"));
  future.set_incident_type(static_cast<v1::IncidentType>(42));
  status = server_.stub().ReportCriticalIncident(As(Volunteer()).get(), future, &reported);
  EXPECT_THAT(status.error_message(), HasSubstr("incident_type"));

  EXPECT_EQ(KeyCount(), keys);
  EXPECT_EQ(Events().size(), events);
}

TEST_F(CheckinApiTest, RequestIdStoresOnceEvenWhenRacing) {
  std::vector<std::string> ids(8);
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      v1::Checkin checkin;
      grpc::Status status = Submit(Volunteer(), "who5", Who5(4), "same note", "retry-1", &checkin);
      EXPECT_TRUE(status.ok()) << status.error_message();
      ids[i] = checkin.checkin_id();
      EXPECT_EQ(checkin.note(), "same note");
    });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& id : ids) EXPECT_EQ(id, ids[0]);
  v1::ListCheckinsResponse listed;
  ASSERT_TRUE(List(Volunteer(), "", &listed).ok());
  EXPECT_EQ(listed.checkins_size(), 1);
  EXPECT_EQ(Events().size(), 1u);
}

TEST_F(CheckinApiTest, SupervisorSeesScoresOnlyWithConsentAndNeverTheNote) {
  ASSERT_TRUE(Submit(Volunteer(), "who5", Who5(2), "private thoughts").ok());
  v1::ListCheckinsResponse listed;
  EXPECT_EQ(List(Supervisor(), people_.volunteer, &listed).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(List(Coordinator(), people_.volunteer, &listed).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ShareScores(true);
  ASSERT_TRUE(List(Supervisor(), people_.volunteer, &listed).ok());
  ASSERT_EQ(listed.checkins_size(), 1);
  EXPECT_EQ(listed.checkins(0).scores(1).value(), 40);
  EXPECT_EQ(listed.checkins(0).note(), "");
  ASSERT_TRUE(List(Coordinator(), people_.volunteer, &listed).ok());
  EXPECT_EQ(listed.checkins(0).note(), "");

  // Not assigned, another organisation, or a peer: as if the volunteer did not exist, to the
  // letter of the answer.
  std::string other = TestToken(CallerRole::kSupervisor, people_.other_supervisor, people_.org);
  grpc::Status unassigned = List(other, people_.volunteer, &listed);
  EXPECT_EQ(unassigned.error_code(), grpc::StatusCode::NOT_FOUND);
  grpc::Status missing = List(other, "p0000000000000000f00d", &listed);
  EXPECT_EQ(missing.error_code(), unassigned.error_code());
  EXPECT_EQ(missing.error_message(), unassigned.error_message());
  People beacon = Seed("Beacon");
  std::string foreign = TestToken(CallerRole::kCoordinator, beacon.coordinator, beacon.org);
  EXPECT_EQ(List(foreign, people_.volunteer, &listed).error_code(), grpc::StatusCode::NOT_FOUND);
  std::string peer = TestToken(CallerRole::kVolunteer, people_.peer, people_.org);
  EXPECT_EQ(List(peer, people_.volunteer, &listed).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  // Every read by someone else is audited, refused ones too.
  auto audit = ParseStreamEntries(
      *server_.redis().Execute({"XRANGE", absl::StrCat("pw:{", people_.org, "}:audit"), "-", "+"}));
  std::vector<std::string> outcomes;
  for (const auto& record : audit) {
    if (record.Get("rpc") == "peerwell.checkin.v1.CheckinService/ListCheckins") {
      outcomes.push_back(record.Get("actor_role") + ":" + record.Get("outcome"));
      EXPECT_EQ(record.Get("subject_id"), people_.volunteer);
    }
  }
  EXPECT_THAT(outcomes, ::testing::ElementsAre("supervisor:PERMISSION_DENIED",
                                               "coordinator:PERMISSION_DENIED", "supervisor:OK",
                                               "coordinator:OK", "supervisor:NOT_FOUND"));
}

TEST_F(CheckinApiTest, PlantedCanariesAppearNowhereInRedisNorItsAppendOnlyFile) {
  const std::string note_canary = "CANARY-NOTE-7f3a91";
  const std::string incident_canary = "CANARY-INCIDENT-c21d77";
  const std::string support_canary = "CANARY-SUPPORT-55e0b2";
  ASSERT_TRUE(Submit(Volunteer(), "who5", Who5(3), "note " + note_canary).ok());
  v1::ReportCriticalIncidentRequest incident;
  incident.set_incident_type(v1::INCIDENT_TYPE_SUICIDE_DISCLOSURE);
  *incident.mutable_occur_time() = TimestampToProto(server_.clock().Now() - absl::Hours(1));
  incident.set_description("what happened " + incident_canary);
  v1::ReportCriticalIncidentResponse reported;
  ASSERT_TRUE(
      server_.stub().ReportCriticalIncident(As(Volunteer()).get(), incident, &reported).ok());
  EXPECT_EQ(reported.incident().description(), "what happened " + incident_canary);
  EXPECT_FALSE(reported.support_resources().empty());
  v1::RequestSupportRequest support;
  support.set_urgency(v1::URGENCY_HIGH);
  support.set_note(support_canary);
  v1::RequestSupportResponse requested;
  ASSERT_TRUE(server_.stub().RequestSupport(As(Volunteer()).get(), support, &requested).ok());

  std::string everything = peerwell::testing::AllRedisText(server_.redis());
  ASSERT_NE(everything.find("checkin.submitted"), std::string::npos);  // it did read the events
  everything +=
      peerwell::testing::AppendOnlyFileText(server_.directory().redis_server().directory());
  ASSERT_GT(everything.size(), 1000u);
  for (const std::string& canary : {note_canary, incident_canary, support_canary}) {
    EXPECT_EQ(everything.find(canary), std::string::npos) << canary;
  }
  // ...while the volunteer still reads the note.
  v1::ListCheckinsResponse listed;
  ASSERT_TRUE(List(Volunteer(), "", &listed).ok());
  EXPECT_EQ(listed.checkins(0).note(), "note " + note_canary);
}

TEST_F(CheckinApiTest, ANoteCopiedToAnotherCheckinDoesNotDecrypt) {
  v1::Checkin first, second;
  ASSERT_TRUE(Submit(Volunteer(), "who5", Who5(3), "first note", "", &first).ok());
  server_.clock().Advance(absl::Minutes(1));
  ASSERT_TRUE(Submit(Volunteer(), "who5", Who5(3), "second note", "", &second).ok());
  std::string prefix = absl::StrCat("pw:{", people_.org, "}:checkin:checkin:");
  auto sealed = server_.redis().Execute({"HGET", prefix + first.checkin_id(), "note"});
  ASSERT_TRUE(
      server_.redis().Execute({"HSET", prefix + second.checkin_id(), "note", sealed->str}).ok());
  // The moved note does not open under the other check-in: it is left out, the rest still shows.
  v1::ListCheckinsResponse listed;
  ASSERT_TRUE(List(Volunteer(), "", &listed).ok());
  ASSERT_EQ(listed.checkins_size(), 2);
  EXPECT_EQ(listed.checkins(0).checkin_id(), second.checkin_id());
  EXPECT_EQ(listed.checkins(0).note(), "");
  EXPECT_EQ(listed.checkins(1).note(), "first note");
}

TEST_F(CheckinApiTest, PulseAskingToTalkRaisesASupportRequestInTheSameWrite) {
  v1::Checkin checkin;
  ASSERT_TRUE(Submit(Volunteer(), "pulse",
                     {{"energy", 2}, {"stayed_with_me", 1}, {"want_to_talk", 1}}, "", "", &checkin)
                  .ok());
  EXPECT_EQ(checkin.scores_size(), 0);
  auto events = Events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].Get("type"), "checkin.submitted");
  EXPECT_EQ(events[0].Get("answers"), "energy=2,stayed_with_me=1,want_to_talk=1");
  EXPECT_EQ(events[1].Get("type"), "support.requested");
  EXPECT_EQ(events[1].Get("source"), "pulse");
  EXPECT_EQ(events[1].Get("volunteer_id"), people_.volunteer);

  ASSERT_TRUE(
      Submit(Volunteer(), "pulse", {{"energy", 4}, {"stayed_with_me", 0}, {"want_to_talk", 0}})
          .ok());
  EXPECT_EQ(Events().size(), 3u);
}

TEST_F(CheckinApiTest, IncidentsAndSupportRequestsAreAnnouncedWithoutTheirText) {
  v1::ReportCriticalIncidentRequest incident;
  incident.set_incident_type(v1::INCIDENT_TYPE_AGGRESSION);
  *incident.mutable_occur_time() = TimestampToProto(server_.clock().Now() - absl::Hours(3));
  incident.set_description("shouted at during the group");
  incident.set_request_id("incident-1");
  v1::ReportCriticalIncidentResponse first, again;
  ASSERT_TRUE(server_.stub().ReportCriticalIncident(As(Volunteer()).get(), incident, &first).ok());
  ASSERT_TRUE(server_.stub().ReportCriticalIncident(As(Volunteer()).get(), incident, &again).ok());
  EXPECT_EQ(first.incident().incident_id(), again.incident().incident_id());
  EXPECT_EQ(again.incident().description(), "shouted at during the group");
  auto events = Events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].Get("type"), "incident.reported");
  EXPECT_EQ(events[0].Get("incident_type"), "1");
  for (const auto& field : events[0].fields) {
    EXPECT_EQ(field.value.find("shouted"), std::string::npos);
  }
}

// The volunteer is the only one who requests support for themselves, so the answer gives them
// their note back, as SubmitCheckin does, a replay too; the event never carries it.
TEST_F(CheckinApiTest, RequestSupportAnswersTheVolunteerWithTheirNoteAndItsSource) {
  v1::RequestSupportRequest support;
  support.set_urgency(v1::URGENCY_HIGH);
  support.set_note("rough night on the phones");
  support.set_request_id("support-1");
  v1::RequestSupportResponse first, again;
  ASSERT_TRUE(server_.stub().RequestSupport(As(Volunteer()).get(), support, &first).ok());
  ASSERT_TRUE(server_.stub().RequestSupport(As(Volunteer()).get(), support, &again).ok());
  for (const v1::RequestSupportResponse* response : {&first, &again}) {
    const v1::SupportRequest& request = response->support_request();
    EXPECT_EQ(request.support_request_id(), first.support_request().support_request_id());
    EXPECT_EQ(request.volunteer_id(), people_.volunteer);
    EXPECT_EQ(request.urgency(), v1::URGENCY_HIGH);
    EXPECT_EQ(request.note(), "rough night on the phones");
    EXPECT_EQ(request.source(), v1::SUPPORT_REQUEST_SOURCE_REQUEST);
  }

  server_.clock().Advance(absl::Minutes(1));
  v1::RequestSupportRequest without_note;
  without_note.set_urgency(v1::URGENCY_LOW);
  v1::RequestSupportResponse plain;
  ASSERT_TRUE(server_.stub().RequestSupport(As(Volunteer()).get(), without_note, &plain).ok());
  EXPECT_EQ(plain.support_request().note(), "");
  EXPECT_EQ(plain.support_request().source(), v1::SUPPORT_REQUEST_SOURCE_REQUEST);

  auto events = Events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].Get("type"), "support.requested");
  EXPECT_EQ(events[0].Get("source"), "request");
  for (const auto& field : events[0].fields) {
    EXPECT_EQ(field.value.find("rough night"), std::string::npos);
  }
}

TEST_F(CheckinApiTest, TrendShowsBaselineAsMedianOfThePrevious90Days) {
  ShareScores(true);
  // WHO-5 percentages 60, 40, 80 over three weeks, then 40: baseline 60, change -20.
  for (int each : {3, 2, 4, 2}) {
    ASSERT_TRUE(Submit(Volunteer(), "who5", Who5(each)).ok());
    server_.clock().Advance(absl::Hours(24 * 7));
  }
  v1::GetTrendRequest request;
  request.set_scale_id("who5");
  v1::GetTrendResponse trend;
  ASSERT_TRUE(server_.stub().GetTrend(As(Volunteer()).get(), request, &trend).ok());
  ASSERT_EQ(trend.points_size(), 4);
  EXPECT_EQ(trend.points(0).value(), 60);
  EXPECT_EQ(trend.latest(), 40);
  EXPECT_TRUE(trend.has_latest());
  EXPECT_TRUE(trend.has_baseline());
  EXPECT_EQ(trend.baseline(), 60);
  EXPECT_EQ(trend.change(), -20);

  request.set_volunteer_id(people_.volunteer);
  ASSERT_TRUE(server_.stub().GetTrend(As(Supervisor()).get(), request, &trend).ok());
  EXPECT_EQ(trend.latest(), 40);
  request.set_scale_id("who7");
  EXPECT_EQ(server_.stub().GetTrend(As(Supervisor()).get(), request, &trend).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(CheckinApiTest, DueCheckinsFollowCadenceAndIncidents) {
  auto due = [&] {
    v1::ListDueCheckinsResponse response;
    EXPECT_TRUE(server_.stub()
                    .ListDueCheckins(As(Volunteer()).get(), v1::ListDueCheckinsRequest(), &response)
                    .ok());
    std::vector<std::string> out;
    for (const auto& entry : response.due()) {
      out.push_back(entry.instrument_id() + ":" + entry.reason());
    }
    return out;
  };
  EXPECT_THAT(due(), ::testing::UnorderedElementsAre("who5:first_checkin", "cbi:first_checkin",
                                                     "proqol5:first_checkin"));
  ASSERT_TRUE(Submit(Volunteer(), "who5", Who5(3)).ok());
  EXPECT_THAT(due(), ::testing::UnorderedElementsAre("cbi:first_checkin", "proqol5:first_checkin"));
  server_.clock().Advance(absl::Hours(24 * 14));
  EXPECT_THAT(due(), ::testing::Contains("who5:cadence"));
  ASSERT_TRUE(Submit(Volunteer(), "who5", Who5(3)).ok());

  v1::ReportCriticalIncidentRequest incident;
  incident.set_incident_type(v1::INCIDENT_TYPE_SAFEGUARDING);
  *incident.mutable_occur_time() = TimestampToProto(server_.clock().Now());
  v1::ReportCriticalIncidentResponse reported;
  ASSERT_TRUE(
      server_.stub().ReportCriticalIncident(As(Volunteer()).get(), incident, &reported).ok());
  server_.clock().Advance(absl::Hours(24 * 7));
  EXPECT_THAT(due(), ::testing::Contains("who5:incident_follow_up"));
  ASSERT_TRUE(Submit(Volunteer(), "who5", Who5(3)).ok());
  EXPECT_THAT(due(), ::testing::Not(::testing::Contains("who5:incident_follow_up")));
  server_.clock().Advance(absl::Hours(24 * 23));
  EXPECT_THAT(due(), ::testing::Contains("who5:incident_follow_up"));

  v1::ListDueCheckinsRequest someone_else;
  someone_else.set_volunteer_id(people_.peer);
  v1::ListDueCheckinsResponse response;
  EXPECT_EQ(
      server_.stub().ListDueCheckins(As(Volunteer()).get(), someone_else, &response).error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(CheckinApiTest, CoordinatorRecordsSwemwbsRegistrationAndCadence) {
  v1::UpdateCheckinSettingsRequest update;
  update.mutable_settings()->set_swemwbs_registration("WARWICK-REG-2026-0042");
  (*update.mutable_settings()->mutable_cadence_days())["who5"] = 7;
  auto* resource = update.mutable_settings()->add_support_resources();
  resource->set_title("Harbour duty phone");
  resource->set_contact("+45 12 34 56 78");
  v1::UpdateCheckinSettingsResponse updated;
  EXPECT_EQ(
      server_.stub().UpdateCheckinSettings(As(Volunteer()).get(), update, &updated).error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  grpc::Status status =
      server_.stub().UpdateCheckinSettings(As(Coordinator()).get(), update, &updated);
  ASSERT_TRUE(status.ok()) << status.error_message();

  v1::ListInstrumentsResponse instruments;
  ASSERT_TRUE(
      server_.stub()
          .ListInstruments(As(Volunteer()).get(), v1::ListInstrumentsRequest(), &instruments)
          .ok());
  EXPECT_EQ(instruments.instruments_size(), 5);
  v1::Checkin checkin;
  ASSERT_TRUE(Submit(Volunteer(), "swemwbs",
                     {{"1", 3}, {"2", 3}, {"3", 3}, {"4", 3}, {"5", 3}, {"6", 3}, {"7", 3}}, "", "",
                     &checkin)
                  .ok());
  EXPECT_DOUBLE_EQ(checkin.scores(0).value(), 19.25);

  v1::ReportCriticalIncidentRequest incident;
  incident.set_incident_type(v1::INCIDENT_TYPE_OTHER);
  *incident.mutable_occur_time() = TimestampToProto(server_.clock().Now());
  v1::ReportCriticalIncidentResponse reported;
  ASSERT_TRUE(
      server_.stub().ReportCriticalIncident(As(Volunteer()).get(), incident, &reported).ok());
  ASSERT_EQ(reported.support_resources_size(), 1);
  EXPECT_EQ(reported.support_resources(0).title(), "Harbour duty phone");

  v1::UpdateCheckinSettingsRequest unregistered;
  (*unregistered.mutable_settings()->mutable_cadence_days())["swemwbs"] = 30;
  status = server_.stub().UpdateCheckinSettings(As(Coordinator()).get(), unregistered, &updated);
  EXPECT_THAT(status.error_message(), HasSubstr("cadence_days[swemwbs]"));

  (*update.mutable_settings()->mutable_cadence_days())["pulse"] = 7;
  status = server_.stub().UpdateCheckinSettings(As(Coordinator()).get(), update, &updated);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("cadence_days[pulse]"));
}

TEST_F(CheckinApiTest, PagesNewestFirst) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(Submit(Volunteer(), "who5", Who5(i)).ok());
    server_.clock().Advance(absl::Hours(1));
  }
  std::vector<double> seen;
  std::string token;
  int pages = 0;
  do {
    v1::ListCheckinsResponse page;
    ASSERT_TRUE(List(Volunteer(), "", &page, 2, token).ok());
    for (const auto& checkin : page.checkins()) seen.push_back(checkin.scores(0).value());
    token = page.next_page_token();
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_THAT(seen, ::testing::ElementsAre(20, 15, 10, 5, 0));
  v1::ListCheckinsResponse page;
  EXPECT_EQ(List(Volunteer(), "", &page, 2, "forged").error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(CheckinApiTest, OnlyThePlatformOperatorImportsHistoricCheckins) {
  v1::SubmitCheckinRequest request;
  request.set_volunteer_id(people_.volunteer);
  request.set_instrument_id("who5");
  for (const auto& [item, value] : Who5(3)) {
    auto* answer = request.add_answers();
    answer->set_item_id(item);
    answer->set_value(value);
  }
  absl::Time three_weeks_ago = server_.clock().Now() - absl::Hours(24 * 21);
  *request.mutable_submit_time() = TimestampToProto(three_weeks_ago);
  v1::SubmitCheckinResponse response;
  std::string admin = TestToken(CallerRole::kAdmin, "op", people_.org);
  ASSERT_TRUE(server_.stub().SubmitCheckin(As(admin).get(), request, &response).ok());
  EXPECT_EQ(response.checkin().submit_time().seconds(), absl::ToUnixSeconds(three_weeks_ago));
  EXPECT_EQ(response.checkin().volunteer_id(), people_.volunteer);

  request.clear_volunteer_id();
  grpc::Status status = server_.stub().SubmitCheckin(As(Volunteer()).get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("submit_time"));
  request.set_volunteer_id(people_.volunteer);
  EXPECT_EQ(
      server_.stub()
          .SubmitCheckin(As(TestToken(CallerRole::kAdmin, "op", "")).get(), request, &response)
          .error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  *request.mutable_submit_time() = TimestampToProto(server_.clock().Now() + absl::Hours(1));
  EXPECT_EQ(server_.stub().SubmitCheckin(As(admin).get(), request, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::ListCheckinsResponse listed;
  ASSERT_TRUE(List(Volunteer(), "", &listed).ok());
  EXPECT_EQ(listed.checkins_size(), 1);
}

TEST_F(CheckinApiTest, ARequestIdReusedForAnotherKindOfRecordCreatesThatRecord) {
  ASSERT_TRUE(Submit(Volunteer(), "who5", Who5(3), "", "shared-id").ok());
  v1::ReportCriticalIncidentRequest incident;
  incident.set_incident_type(v1::INCIDENT_TYPE_AGGRESSION);
  *incident.mutable_occur_time() = TimestampToProto(server_.clock().Now());
  incident.set_request_id("shared-id");
  v1::ReportCriticalIncidentResponse reported;
  grpc::Status status =
      server_.stub().ReportCriticalIncident(As(Volunteer()).get(), incident, &reported);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(reported.incident().incident_type(), v1::INCIDENT_TYPE_AGGRESSION);
  EXPECT_EQ(Events().size(), 2u);
}

TEST_F(CheckinApiTest, CheckinsSharingASubmitTimePageWithoutLoss) {
  std::string admin = TestToken(CallerRole::kAdmin, "op", people_.org);
  absl::Time same = absl::FromUnixSeconds(absl::ToUnixSeconds(server_.clock().Now()) - 3600);
  for (const char* instrument : {"who5", "who5", "pulse"}) {
    v1::SubmitCheckinRequest request;
    request.set_volunteer_id(people_.volunteer);
    request.set_instrument_id(instrument);
    std::vector<std::pair<std::string, int>> answers =
        std::string(instrument) == "pulse"
            ? std::vector<std::pair<std::string, int>>{{"energy", 3},
                                                       {"stayed_with_me", 1},
                                                       {"want_to_talk", 1}}
            : Who5(2);
    for (const auto& [item, value] : answers) {
      auto* answer = request.add_answers();
      answer->set_item_id(item);
      answer->set_value(value);
    }
    *request.mutable_submit_time() = TimestampToProto(same);
    v1::SubmitCheckinResponse response;
    ASSERT_TRUE(server_.stub().SubmitCheckin(As(admin).get(), request, &response).ok());
  }
  std::set<std::string> seen;
  std::string token;
  for (int pages = 0; pages < 10; ++pages) {
    v1::ListCheckinsResponse page;
    ASSERT_TRUE(List(Volunteer(), "", &page, 1, token).ok());
    for (const auto& checkin : page.checkins()) seen.insert(checkin.checkin_id());
    token = page.next_page_token();
    if (token.empty()) break;
  }
  EXPECT_EQ(seen.size(), 3u);
  // The imported pulse that asked to talk is history: no support request now.
  for (const auto& event : Events()) EXPECT_NE(event.Get("type"), "support.requested");
}

TEST_F(CheckinApiTest, AScoredInstrumentNeedsEnoughAnswersToScoreSomething) {
  grpc::Status status = Submit(Volunteer(), "cbi", {});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("answers"));
  EXPECT_EQ(Submit(Volunteer(), "cbi", {{"1", 50}, {"2", 50}}).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::Checkin checkin;
  ASSERT_TRUE(Submit(Volunteer(), "cbi", {{"1", 50}, {"2", 50}, {"3", 75}}, "", "", &checkin).ok());
  ASSERT_EQ(checkin.scores_size(), 1);
  EXPECT_EQ(checkin.scores(0).scale_id(), "cbi_personal");
}

TEST_F(CheckinApiTest, ExportPersonRecordsGivesEveryRecordOfThePersonWithTextsOpened) {
  ASSERT_NO_FATAL_FAILURE(RecordEverything(Volunteer(), "Vera"));
  ASSERT_NO_FATAL_FAILURE(RecordEverything(Peer(), "Viktor"));
  Struct records;
  grpc::Status status = ExportRecords(Service(), people_.volunteer, &records);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(FamilyNames(records),
              ::testing::UnorderedElementsAre("checkins", "incidents", "supportRequests"));

  std::vector<Struct> checkins = Family(records, "checkins");
  ASSERT_EQ(checkins.size(), 2u);
  EXPECT_EQ(Field(checkins[0], "instrumentId"), "pulse");  // newest first
  EXPECT_EQ(Field(checkins[0], "note"), "Vera pulse note");
  EXPECT_EQ(Field(checkins[1], "instrumentId"), "who5");
  EXPECT_EQ(Field(checkins[1], "note"), "Vera who5 note");
  EXPECT_EQ(checkins[1].fields().at("scores").list_value().values_size(), 2);
  EXPECT_EQ(checkins[1].fields().at("answers").list_value().values_size(), 5);
  EXPECT_EQ(
      checkins[1].fields().at("context").struct_value().fields().at("sessionKind").string_value(),
      "group");

  std::vector<Struct> incidents = Family(records, "incidents");
  ASSERT_EQ(incidents.size(), 1u);
  EXPECT_EQ(Field(incidents[0], "incidentType"), "INCIDENT_TYPE_AGGRESSION");
  EXPECT_EQ(Field(incidents[0], "description"), "Vera incident description");
  EXPECT_FALSE(Field(incidents[0], "occurTime").empty());

  // Each support request reads back as the API's SupportRequest, note and source included.
  std::vector<v1::SupportRequest> support;
  for (const Struct& record : Family(records, "supportRequests")) {
    std::string json;
    ASSERT_TRUE(google::protobuf::util::MessageToJsonString(record, &json).ok());
    v1::SupportRequest request;
    auto parsed = google::protobuf::util::JsonStringToMessage(json, &request);
    ASSERT_TRUE(parsed.ok()) << parsed.ToString() << " in " << json;
    support.push_back(std::move(request));
  }
  ASSERT_EQ(support.size(), 2u);
  EXPECT_EQ(support[0].urgency(), v1::URGENCY_HIGH);
  EXPECT_EQ(support[0].source(), v1::SUPPORT_REQUEST_SOURCE_REQUEST);
  EXPECT_EQ(support[0].note(), "Vera support note");
  EXPECT_EQ(support[1].urgency(), v1::URGENCY_LOW);
  EXPECT_EQ(support[1].source(), v1::SUPPORT_REQUEST_SOURCE_PULSE);
  EXPECT_EQ(support[1].note(), "");
  // Absent when empty, as the JSON mapping leaves out every empty field.
  EXPECT_EQ(Family(records, "supportRequests")[1].fields().count("note"), 0u);

  for (const char* family : {"checkins", "incidents", "supportRequests"}) {
    for (const Struct& record : Family(records, family)) {
      EXPECT_EQ(Field(record, "volunteerId"), people_.volunteer) << family;
    }
  }
  std::string json;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(records, &json).ok());
  EXPECT_EQ(json.find("Viktor"), std::string::npos);
  EXPECT_EQ(json.find(people_.peer), std::string::npos);
}

TEST_F(CheckinApiTest, OnlyAServiceExportsAPersonsRecordsForAWellFormedPersonId) {
  ASSERT_NO_FATAL_FAILURE(RecordEverything(Volunteer(), "Vera"));
  Struct records;
  for (const std::string& token : {Volunteer(), Supervisor(), Coordinator(),
                                   TestToken(CallerRole::kAdmin, "op", people_.org)}) {
    EXPECT_EQ(ExportRecords(token, people_.volunteer, &records).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  for (const std::string& malformed :
       std::vector<std::string>{"", "not a person", "p1:checkins", std::string(200, 'p')}) {
    grpc::Status status = ExportRecords(Service(), malformed, &records);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << malformed;
    EXPECT_THAT(status.error_message(), HasSubstr("person_id")) << malformed;
  }
}

TEST_F(CheckinApiTest, APersonWithNoRecordsExportsEmptyFamilies) {
  ASSERT_NO_FATAL_FAILURE(RecordEverything(Volunteer(), "Vera"));
  People beacon = Seed("Beacon");
  // Someone who never checks in, an id nobody has, and this volunteer asked for by another
  // organisation's export: nothing, and every family says so.
  std::vector<std::pair<std::string, std::string>> nobodies = {
      {Service(), people_.supervisor},
      {Service(), "p0000000000000000f00d"},
      {TestToken(CallerRole::kService, "directory", beacon.org), people_.volunteer}};
  for (const auto& [token, person] : nobodies) {
    Struct records;
    grpc::Status status = ExportRecords(token, person, &records);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_THAT(FamilyNames(records),
                ::testing::UnorderedElementsAre("checkins", "incidents", "supportRequests"));
    for (const auto& [family, value] : records.fields()) {
      EXPECT_EQ(value.list_value().values_size(), 0) << person << " " << family;
    }
  }
}

TEST_F(CheckinApiTest, ExportPersonRecordsReadsEveryPageOfALongHistory) {
  // One more record of each kind than one read takes, written through the store itself.
  RedisCheckinStore store(server_.redis());
  const int count = kPersonRecordsPage + 1;
  std::set<std::string> checkin_ids, incident_ids, support_ids;
  absl::Time start = server_.clock().Now() - absl::Hours(24 * 365);
  for (int i = 0; i < count; ++i) {
    absl::Time time = start + absl::Minutes(i);
    Checkin checkin;
    checkin.id = NewId("c");
    checkin.organization_id = people_.org;
    checkin.volunteer_id = people_.volunteer;
    checkin.instrument_id = "who5";
    checkin.instrument_version = 1;
    checkin.submit_time = time;
    checkin.answers = {{"1", 3}, {"2", 3}, {"3", 3}, {"4", 3}, {"5", 3}};
    ASSERT_TRUE(testing::StoreCheckin(store, {checkin, ""}, {people_.volunteer, ""}).ok());
    checkin_ids.insert(checkin.id);
    Incident incident{NewId("i"), people_.org, people_.volunteer, IncidentType::kOther, time,
                      time,       ""};
    ASSERT_TRUE(store.CreateIncident({incident, ""}, {people_.volunteer, ""}).ok());
    incident_ids.insert(incident.id);
    SupportRequest request{NewId("s"), people_.org, people_.volunteer, Urgency::kLow, time,
                           "request",  ""};
    ASSERT_TRUE(store.CreateSupportRequest({request, ""}, {people_.volunteer, ""}).ok());
    support_ids.insert(request.id);
  }
  Struct records;
  grpc::Status status = ExportRecords(Service(), people_.volunteer, &records);
  ASSERT_TRUE(status.ok()) << status.error_message();
  auto ids = [&](const std::string& family, const std::string& id_field) {
    std::set<std::string> out;
    for (const Struct& record : Family(records, family)) out.insert(Field(record, id_field));
    return out;
  };
  EXPECT_EQ(ids("checkins", "checkinId"), checkin_ids);
  EXPECT_EQ(ids("incidents", "incidentId"), incident_ids);
  EXPECT_EQ(ids("supportRequests", "supportRequestId"), support_ids);
}

// The export's completeness rests on PersonKeyFamilies naming every kind of key: a key the
// service writes that no family matches would be a record the person never sees.
TEST_F(CheckinApiTest, PersonKeyFamiliesMatchEveryKeyTheServiceWrites) {
  ASSERT_NO_FATAL_FAILURE(RecordEverything(Volunteer(), "Vera"));
  v1::UpdateCheckinSettingsRequest settings;
  (*settings.mutable_settings()->mutable_cadence_days())["who5"] = 7;
  v1::UpdateCheckinSettingsResponse updated;
  ASSERT_TRUE(
      server_.stub().UpdateCheckinSettings(As(Coordinator()).get(), settings, &updated).ok());

  const std::vector<PersonKeyFamily>& families = RedisCheckinStore::PersonKeyFamilies();
  std::set<std::string> used;
  int ours = 0;
  for (const std::string& key : AllKeys()) {
    bool checkin_key =
        absl::StartsWith(key, "pw:{") &&
        (absl::StrContains(key, "}:checkin:") || absl::StrContains(key, "}:events:checkin"));
    if (!checkin_key) continue;
    ++ours;
    bool matched = false;
    for (const PersonKeyFamily& family : families) {
      if (fnmatch(family.pattern.c_str(), key.c_str(), 0) == 0) {
        matched = true;
        used.insert(family.pattern);
      }
    }
    EXPECT_TRUE(matched) << "no family matches " << key;
  }
  EXPECT_GT(ours, 10);
  for (const PersonKeyFamily& family : families) {
    // Each family is either exported, as one of the export's families, or says why not.
    EXPECT_NE(family.exported_as.empty(), family.not_exported_because.empty()) << family.pattern;
    if (!family.exported_as.empty()) {
      EXPECT_THAT(family.exported_as, ::testing::AnyOf("checkins", "incidents", "supportRequests"));
    }
    // A pattern that matched nothing the workload wrote is stale (or the workload incomplete).
    EXPECT_TRUE(used.count(family.pattern) > 0) << "nothing matches " << family.pattern;
  }
}

// GDPR article 17. Once the directory announces a volunteer's erasure, nothing here names them,
// their records or holds their texts, not even the events others consume or gave up on, while
// their peer's records and the organisation's settings stay exactly as they were.
TEST_F(CheckinApiTest, ErasePersonLeavesNothingAboutThemAndSparesEveryoneElse) {
  ASSERT_NO_FATAL_FAILURE(RecordForErasure());
  const std::vector<std::string> about_volunteer = AboutVolunteer();
  ASSERT_FALSE(CheckinKeysMentioning({people_.volunteer}).empty());  // it can see them
  const std::string data_key = server_.vault().DataKeyKey(people_.org, people_.volunteer);
  ASSERT_EQ(server_.redis().Execute({"EXISTS", data_key})->integer, 1);
  const Struct peer_before = ExportOf(people_.peer);
  ASSERT_EQ(Family(peer_before, "incidents").size(), 1u);
  ASSERT_EQ(Field(Family(peer_before, "incidents")[0], "description"),
            "Viktor incident description");
  auto events_of = [](const std::vector<StreamEntry>& events, const std::string& person) {
    return std::count_if(events.begin(), events.end(), [&](const StreamEntry& event) {
      return event.Get("volunteer_id") == person;
    });
  };
  const auto peer_events = events_of(Events(), people_.peer);
  ASSERT_EQ(peer_events, 5);

  ASSERT_TRUE(server_.service().ErasePerson(people_.org, people_.volunteer).ok());

  EXPECT_EQ(server_.redis().Execute({"EXISTS", data_key})->integer, 0);
  EXPECT_THAT(CheckinKeysMentioning(about_volunteer), ::testing::IsEmpty());
  EXPECT_TRUE(Same(ExportOf(people_.peer), peer_before));
  EXPECT_EQ(events_of(Events(), people_.peer), peer_events);
  EXPECT_EQ(server_.redis()
                .Execute({"XLEN", DeadLetterStreamKey(EventStreamKey("checkin", people_.org))})
                ->integer,
            peer_events);
  v1::GetCheckinSettingsResponse settings;
  ASSERT_TRUE(
      server_.stub()
          .GetCheckinSettings(As(Coordinator()).get(), v1::GetCheckinSettingsRequest(), &settings)
          .ok());
  EXPECT_EQ(settings.settings().cadence_days().at("who5"), 7);
  Struct records;
  ASSERT_TRUE(ExportRecords(Service(), people_.volunteer, &records).ok());
  for (const auto& [family, value] : records.fields()) {
    EXPECT_EQ(value.list_value().values_size(), 0) << family;
  }

  // The event comes again (redelivered, or announced again until every service reported): the
  // same answer, and nothing changes. Nor does erasing someone never seen here.
  const auto after = Snapshot();
  EXPECT_TRUE(server_.service().ErasePerson(people_.org, people_.volunteer).ok());
  EXPECT_TRUE(server_.service().ErasePerson(people_.org, NewId("p")).ok());
  EXPECT_EQ(Snapshot(), after);
  // A malformed id would widen the store's search patterns to other people's keys.
  for (const std::string& malformed : {std::string("*"), people_.peer + "*", std::string()}) {
    EXPECT_EQ(server_.service().ErasePerson(people_.org, malformed).code(),
              absl::StatusCode::kInvalidArgument)
        << malformed;
  }
  EXPECT_EQ(server_.service().ErasePerson("*", people_.peer).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Snapshot(), after);
}

// An erasure that stopped half way (here after the data key and one record went, the record's
// index entries left behind) is finished by the next run.
TEST_F(CheckinApiTest, ErasePersonFinishesAnErasureThatStoppedHalfWay) {
  ASSERT_NO_FATAL_FAILURE(RecordForErasure());
  const std::vector<std::string> about_volunteer = AboutVolunteer();
  const Struct peer_before = ExportOf(people_.peer);
  v1::ListCheckinsResponse listed;
  ASSERT_TRUE(List(Volunteer(), "", &listed).ok());
  ASSERT_FALSE(listed.checkins().empty());
  RedisCheckinStore store(server_.redis());
  ASSERT_TRUE(store.DeleteDataKey(people_.org, people_.volunteer).ok());
  ASSERT_TRUE(server_.redis()
                  .Execute({"DEL", absl::StrCat("pw:{", people_.org, "}:checkin:checkin:",
                                                listed.checkins(0).checkin_id())})
                  .ok());

  ASSERT_TRUE(server_.service().ErasePerson(people_.org, people_.volunteer).ok());
  EXPECT_THAT(CheckinKeysMentioning(about_volunteer), ::testing::IsEmpty());
  EXPECT_TRUE(Same(ExportOf(people_.peer), peer_before));
}

// The service as its binary runs it (BuildCheckinServer, as its own Redis user): its consumer
// group on the directory's events erases the person a `person.erased` event names.
TEST_F(CheckinApiTest, TheServersConsumerErasesThePersonOfAPersonErasedEvent) {
  ASSERT_NO_FATAL_FAILURE(RecordForErasure());
  const std::vector<std::string> about_volunteer = AboutVolunteer();
  const Struct peer_before = ExportOf(people_.peer);
  const std::string data_key = server_.vault().DataKeyKey(people_.org, people_.volunteer);

  ServiceConfig config;
  config.service_name = "checkin";
  config.redis = server_.directory().redis_server().address_for("checkin");
  config.jwt_secret = peerwell::testing::kTestJwtSecret;
  config.master_key = peerwell::testing::kTestMasterKey;
  config.pseudonym_key = peerwell::testing::kTestPseudonymKey;
  config.directory_addr = absl::StrCat("127.0.0.1:", server_.directory().port());
  config.worker_threads = 2;
  Metrics metrics;
  RedisClient redis(RedisOptions{config.redis}, &metrics);
  ServerHost host(ServerHostOptions{"127.0.0.1:0"}, metrics, redis);
  ServerRuntime runtime{config, metrics, redis};
  auto parts = BuildCheckinServer(runtime, host);
  ASSERT_TRUE(parts.ok()) << parts.status();

  // As the directory publishes it. Its report of the erasure does not reach the directory here
  // (this erasure is not the directory's), so the consumer retries it, erasing again each time.
  ASSERT_TRUE(
      server_.redis()
          .Transaction(PublishEventCommands(
              "directory", "person.erased", people_.org, absl::Now(),
              {{"person_id", people_.volunteer}, {"erasure_id", NewId("e")}, {"role", "1"}}))
          .ok());
  EXPECT_TRUE(peerwell::testing::WaitFor([&] {
    return server_.redis().Execute({"EXISTS", data_key})->integer == 0 &&
           CheckinKeysMentioning(about_volunteer).empty();
  })) << absl::StrJoin(CheckinKeysMentioning(about_volunteer), "\n");
  EXPECT_TRUE(Same(ExportOf(people_.peer), peer_before));
  parts->clear();
}

TEST(DataKeyVaultTest, ADeletedDataKeyStopsOpeningAndSealingOnceTheCacheExpires) {
  peerwell::testing::RedisServer server;
  RedisClient redis{RedisOptions{server.address()}};
  peerwell::testing::FakeClock clock;
  DataKeyVault vault(redis, TestMasterKey(), clock, kNoteKeys);
  constexpr char kOrg[] = "o00000000000000000001";
  constexpr char kVolunteer[] = "p00000000000000000001";
  auto sealed = vault.Seal(kOrg, kVolunteer, "c1", "a hard week");
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  ASSERT_TRUE(vault.Open(kOrg, kVolunteer, "c1", *sealed).ok());

  // Erasure: the wrapped key goes. Within the cache's time the replica still holds it...
  ASSERT_TRUE(redis.Execute({"DEL", vault.DataKeyKey(kOrg, kVolunteer)}).ok());
  EXPECT_TRUE(vault.Open(kOrg, kVolunteer, "c1", *sealed).ok());
  // ...and after it, the old texts are unreadable and new ones are sealed under a new key.
  clock.Advance(DataKeyVault::kDataKeyCacheTtl);
  EXPECT_EQ(vault.Open(kOrg, kVolunteer, "c1", *sealed).status().code(),
            absl::StatusCode::kDataLoss);
  auto resealed = vault.Seal(kOrg, kVolunteer, "c2", "better now");
  ASSERT_TRUE(resealed.ok()) << resealed.status();
  DataKeyVault other_replica(redis, TestMasterKey(), clock, kNoteKeys);
  auto opened = other_replica.Open(kOrg, kVolunteer, "c2", *resealed);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, "better now");
}

}  // namespace
}  // namespace peerwell::checkin::testing
