// What partners receive from the check-in service (SPEC Appendix C) over real gRPC channels,
// with the real directory and a real redis-server: scopes, consent, small-cell suppression and
// the de-identified export.

#include <set>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/proto_time.h"
#include "tests/checkin/checkin_test_server.h"

namespace peerwell::checkin::testing {
namespace {

namespace dv1 = ::peerwell::directory::v1;
using ::peerwell::testing::TestToken;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int kVolunteers = 7;  // the first six consent to research_export

class PartnerApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto& directory = server_.directory().stub();
    dv1::CreateOrganizationRequest create_org;
    create_org.set_display_name("Harbour");
    dv1::CreateOrganizationResponse org;
    ASSERT_TRUE(
        directory
            .CreateOrganization(As(TestToken(CallerRole::kAdmin, "op", "")).get(), create_org, &org)
            .ok());
    org_ = org.organization().organization_id();
    auto create = [&](const std::string& token, dv1::Role role, const std::string& name) {
      dv1::CreatePersonRequest request;
      request.mutable_person()->set_display_name(name);
      request.mutable_person()->set_role(role);
      dv1::CreatePersonResponse response;
      grpc::Status status = directory.CreatePerson(As(token).get(), request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      return response.person().person_id();
    };
    coordinator_ =
        create(TestToken(CallerRole::kAdmin, "op", org_), dv1::ROLE_COORDINATOR, "Grace");
    supervisor_ = create(Coordinator(), dv1::ROLE_SUPERVISOR, "Sam");
    for (int i = 0; i < kVolunteers; ++i) {
      volunteers_.push_back(create(Coordinator(), dv1::ROLE_VOLUNTEER, absl::StrCat("Vol", i)));
      if (i < kVolunteers - 1) SetResearchConsent(i, true);
    }
    aggregates_key_ = CreateKey("Research partner", {"aggregates:read"});
    exports_key_ = CreateKey("Exports A", {"exports:read"});
    other_exports_key_ = CreateKey("Exports B", {"exports:read"});
    webhooks_key_ = CreateKey("Webhooks only", {"webhooks:manage"});
  }

  std::unique_ptr<grpc::ClientContext> As(const std::string& token) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->AddMetadata("authorization", "Bearer " + token);
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return context;
  }
  std::unique_ptr<grpc::ClientContext> WithKey(const std::string& secret) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->AddMetadata("x-api-key", secret);
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return context;
  }
  std::string Coordinator() {
    return TestToken(CallerRole::kCoordinator, coordinator_, org_);
  }
  std::string VolunteerToken(int i) {
    return TestToken(CallerRole::kVolunteer, volunteers_[i], org_);
  }

  std::string CreateKey(const std::string& name, const std::vector<std::string>& scopes) {
    dv1::CreateApiKeyRequest request;
    request.set_display_name(name);
    for (const auto& scope : scopes) request.add_scopes(scope);
    dv1::CreateApiKeyResponse response;
    grpc::Status status =
        server_.directory().stub().CreateApiKey(As(Coordinator()).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.secret();
  }

  void SetResearchConsent(int i, bool consent) {
    dv1::SetConsentRequest request;
    request.mutable_consent()->set_research_export(consent);
    dv1::SetConsentResponse response;
    ASSERT_TRUE(server_.directory()
                    .stub()
                    .SetConsent(As(VolunteerToken(i)).get(), request, &response)
                    .ok());
    server_.directory_client().Forget(org_, volunteers_[i]);
  }

  void SubmitWho5(int i, int each, const std::string& session_kind = "group") {
    v1::SubmitCheckinRequest request;
    request.set_instrument_id("who5");
    for (int item = 1; item <= 5; ++item) {
      auto* answer = request.add_answers();
      answer->set_item_id(absl::StrCat(item));
      answer->set_value(each);
    }
    request.set_note(absl::StrCat("private note of Vol", i));
    request.mutable_context()->set_session_kind(session_kind);
    v1::SubmitCheckinResponse response;
    grpc::Status status =
        server_.stub().SubmitCheckin(As(VolunteerToken(i)).get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  // Into the first hour of next month: this month's figures are published once it has ended.
  void EndThisMonth() {
    absl::Time now = server_.clock().Now();
    absl::CivilMonth month(absl::ToCivilSecond(now, absl::UTCTimeZone()));
    server_.clock().Advance(absl::FromCivil(month + 1, absl::UTCTimeZone()) + absl::Hours(1) - now);
  }

  grpc::Status Aggregates(std::unique_ptr<grpc::ClientContext> context, bool by_session_kind,
                          v1::GetAggregatesResponse* response) {
    v1::GetAggregatesRequest request;
    request.set_scale_id("who5");
    request.set_period(v1::AGGREGATE_PERIOD_MONTH);
    request.set_by_session_kind(by_session_kind);
    return server_.stub().GetAggregates(context.get(), request, response);
  }

  // Every page of the export for `key`.
  std::vector<v1::ExportedCheckin> ExportAll(const std::string& key, int page_size,
                                             int* pages = nullptr) {
    std::vector<v1::ExportedCheckin> all;
    v1::ExportCheckinsRequest request;
    request.set_page_size(page_size);
    int count = 0;
    do {
      v1::ExportCheckinsResponse response;
      grpc::Status status = server_.stub().ExportCheckins(WithKey(key).get(), request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      if (!status.ok()) break;
      ++count;
      all.insert(all.end(), response.checkins().begin(), response.checkins().end());
      request.set_page_token(response.next_page_token());
    } while (!request.page_token().empty() && count < 100);
    if (pages != nullptr) *pages = count;
    return all;
  }

  CheckinTestServer server_;
  std::string org_;
  std::string coordinator_;
  std::string supervisor_;
  std::vector<std::string> volunteers_;
  std::string aggregates_key_;
  std::string exports_key_;
  std::string other_exports_key_;
  std::string webhooks_key_;
};

TEST_F(PartnerApiTest, EachPartnerCallNeedsItsScope) {
  v1::GetAggregatesResponse aggregates;
  grpc::Status status = Aggregates(WithKey(webhooks_key_), false, &aggregates);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(), HasSubstr("aggregates:read"));
  EXPECT_EQ(Aggregates(WithKey(exports_key_), false, &aggregates).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(Aggregates(WithKey(aggregates_key_), false, &aggregates).ok());
  EXPECT_TRUE(Aggregates(As(Coordinator()), false, &aggregates).ok());
  EXPECT_EQ(Aggregates(As(TestToken(CallerRole::kSupervisor, supervisor_, org_)), false,
                       &aggregates)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Aggregates(As(VolunteerToken(0)), false, &aggregates).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  v1::ExportCheckinsResponse exported;
  for (const std::string& key : {aggregates_key_, webhooks_key_}) {
    status = server_.stub().ExportCheckins(WithKey(key).get(), {}, &exported);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  }
  EXPECT_THAT(status.error_message(), HasSubstr("exports:read"));
  EXPECT_EQ(server_.stub().ExportCheckins(As(Coordinator()).get(), {}, &exported).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(server_.stub().ExportCheckins(WithKey(exports_key_).get(), {}, &exported).ok());
}

TEST_F(PartnerApiTest, AggregatesCountOnlyConsentingVolunteersAndSuppressSmallCells) {
  for (int i = 0; i < kVolunteers; ++i) SubmitWho5(i, 3);  // 60 each
  EndThisMonth();
  v1::GetAggregatesResponse response;
  ASSERT_TRUE(Aggregates(WithKey(aggregates_key_), false, &response).ok());
  ASSERT_EQ(response.cells_size(), 12);  // the last twelve months
  const v1::AggregateCell& now = response.cells(11);
  EXPECT_EQ(now.scale_id(), "who5");
  EXPECT_FALSE(now.suppressed());
  EXPECT_EQ(now.volunteer_count(), kVolunteers - 1);
  EXPECT_DOUBLE_EQ(now.mean(), 60);
  EXPECT_TRUE(response.cells(0).suppressed());

  // Two withdraw: four are left, and the cell says nothing about them.
  SetResearchConsent(0, false);
  SetResearchConsent(1, false);
  ASSERT_TRUE(Aggregates(WithKey(aggregates_key_), false, &response).ok());
  const v1::AggregateCell& suppressed = response.cells(11);
  EXPECT_TRUE(suppressed.suppressed());
  EXPECT_EQ(suppressed.volunteer_count(), 0);
  EXPECT_EQ(suppressed.mean(), 0);
  EXPECT_EQ(suppressed.band_counts_size(), 0);
}

// The difference between the total and the session kinds would isolate the one volunteer of a
// small kind: it is in neither figure.
TEST_F(PartnerApiTest, TwoFilteredQueriesCannotBeSubtractedToIsolateOneVolunteer) {
  for (int i = 0; i < 5; ++i) SubmitWho5(i, 3, "group");
  SubmitWho5(5, 0, "one_to_one");
  EndThisMonth();
  v1::GetAggregatesResponse total;
  v1::GetAggregatesResponse by_kind;
  ASSERT_TRUE(Aggregates(WithKey(aggregates_key_), false, &total).ok());
  ASSERT_TRUE(Aggregates(WithKey(aggregates_key_), true, &by_kind).ok());
  const v1::AggregateCell& month = total.cells(total.cells_size() - 1);
  std::map<std::string, v1::AggregateCell> kinds;
  for (const auto& cell : by_kind.cells()) {
    if (cell.period_start_time().seconds() == month.period_start_time().seconds()) {
      kinds[cell.session_kind()] = cell;
    }
  }
  ASSERT_EQ(kinds.size(), 2u);
  EXPECT_EQ(kinds["group"].volunteer_count(), 5);
  EXPECT_TRUE(kinds["one_to_one"].suppressed());
  EXPECT_EQ(month.volunteer_count(), kinds["group"].volunteer_count());
  EXPECT_DOUBLE_EQ(month.mean(), kinds["group"].mean());
}

// A figure of a running period would change with each check-in, and two readings apart would
// give away the score of whoever checked in between: only ended periods are published, and a
// range ending anywhere in a period covers the whole of it.
TEST_F(PartnerApiTest, AggregatesPublishEndedPeriodsOnlySoReadingsDoNotChange) {
  for (int i = 0; i < 5; ++i) SubmitWho5(i, 3);
  v1::GetAggregatesResponse running;
  ASSERT_TRUE(Aggregates(WithKey(aggregates_key_), false, &running).ok());
  ASSERT_EQ(running.cells_size(), 12);
  absl::CivilMonth this_month(absl::ToCivilSecond(server_.clock().Now(), absl::UTCTimeZone()));
  EXPECT_LT(running.cells(11).period_start_time().seconds(),
            absl::ToUnixSeconds(absl::FromCivil(this_month, absl::UTCTimeZone())));
  EXPECT_TRUE(running.cells(11).suppressed());

  EndThisMonth();
  v1::GetAggregatesResponse ended;
  ASSERT_TRUE(Aggregates(WithKey(aggregates_key_), false, &ended).ok());
  ASSERT_EQ(ended.cells_size(), 12);
  EXPECT_EQ(ended.cells(11).volunteer_count(), 5);
  SubmitWho5(5, 0);  // in the new month
  v1::GetAggregatesResponse later;
  ASSERT_TRUE(Aggregates(WithKey(aggregates_key_), false, &later).ok());
  EXPECT_EQ(later.SerializeAsString(), ended.SerializeAsString());

  // Ranges ending a day apart inside the ended month: the same whole month.
  auto ending = [&](absl::Time end) {
    v1::GetAggregatesRequest request;
    request.set_scale_id("who5");
    request.set_period(v1::AGGREGATE_PERIOD_MONTH);
    *request.mutable_start_time() = TimestampToProto(absl::FromCivil(this_month, absl::UTCTimeZone()));
    *request.mutable_end_time() = TimestampToProto(end);
    v1::GetAggregatesResponse response;
    EXPECT_TRUE(server_.stub().GetAggregates(WithKey(aggregates_key_).get(), request, &response).ok());
    return response;
  };
  absl::Time first_day_end = absl::FromCivil(absl::CivilDay(this_month) + 1, absl::UTCTimeZone());
  v1::GetAggregatesResponse to_first_day = ending(first_day_end);
  v1::GetAggregatesResponse to_second_day = ending(first_day_end + absl::Hours(24));
  ASSERT_EQ(to_first_day.cells_size(), 1);
  EXPECT_EQ(to_first_day.cells(0).volunteer_count(), 5);
  EXPECT_EQ(to_first_day.SerializeAsString(), to_second_day.SerializeAsString());
}

TEST_F(PartnerApiTest, AggregatesRejectBadQueries) {
  v1::GetAggregatesRequest request;
  v1::GetAggregatesResponse response;
  request.set_period(v1::AGGREGATE_PERIOD_WEEK);
  grpc::Status status =
      server_.stub().GetAggregates(WithKey(aggregates_key_).get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("scale_id"));
  request.set_scale_id("who5");
  request.set_period(static_cast<v1::AggregatePeriod>(7));
  status = server_.stub().GetAggregates(WithKey(aggregates_key_).get(), request, &response);
  EXPECT_THAT(status.error_message(), HasSubstr("period"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  request.set_period(v1::AGGREGATE_PERIOD_MONTH);
  SetKnownTime(absl::FromUnixSeconds(1'700'000'000), [&] { return request.mutable_start_time(); });
  SetKnownTime(absl::FromUnixSeconds(1'700'000'000) + absl::Hours(24 * 365 * 4),
               [&] { return request.mutable_end_time(); });
  status = server_.stub().GetAggregates(WithKey(aggregates_key_).get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("start_time"));
  request.set_scale_id("who6");
  status = server_.stub().GetAggregates(WithKey(aggregates_key_).get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("scale_id"));
  request.set_scale_id("who5");
  request.set_period(v1::AGGREGATE_PERIOD_WEEK);
  SetKnownTime(absl::FromUnixSeconds(2'000'000'000), [&] { return request.mutable_start_time(); });
  SetKnownTime(absl::FromUnixSeconds(1'900'000'000), [&] { return request.mutable_end_time(); });
  status = server_.stub().GetAggregates(WithKey(aggregates_key_).get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("end_time"));
}

TEST_F(PartnerApiTest, ExportHoldsConsentingVolunteersDeidentifiedPerKey) {
  for (int i = 0; i < kVolunteers; ++i) {
    SubmitWho5(i, 3);
    server_.clock().Advance(absl::Hours(30));
    SubmitWho5(i, 4);
  }
  int pages = 0;
  auto exported = ExportAll(exports_key_, 5, &pages);
  ASSERT_EQ(exported.size(), 2u * (kVolunteers - 1));
  EXPECT_EQ(pages, 3);
  std::set<std::string> subjects;
  std::set<std::string> ids;
  for (const auto& checkin : exported) {
    subjects.insert(checkin.subject_pseudonym());
    ids.insert(checkin.export_id());
    EXPECT_EQ(checkin.instrument_id(), "who5");
    EXPECT_THAT(checkin.authored_date(), ::testing::MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}"));
    EXPECT_EQ(checkin.answers_size(), 5);
    ASSERT_EQ(checkin.scores_size(), 2);  // who5_raw and who5
    std::string wire = checkin.SerializeAsString();
    for (int i = 0; i < kVolunteers; ++i) {
      EXPECT_THAT(wire, Not(HasSubstr(volunteers_[i])));
      EXPECT_THAT(wire, Not(HasSubstr(absl::StrCat("Vol", i))));
    }
    EXPECT_THAT(wire, Not(HasSubstr("private note")));
  }
  EXPECT_EQ(subjects.size(), static_cast<size_t>(kVolunteers - 1));
  EXPECT_EQ(ids.size(), exported.size());

  // The same pseudonyms on every export for this key, other ones for another key.
  auto again = ExportAll(exports_key_, 200);
  ASSERT_EQ(again.size(), exported.size());
  for (size_t i = 0; i < again.size(); ++i) {
    EXPECT_EQ(again[i].subject_pseudonym(), exported[i].subject_pseudonym());
    EXPECT_EQ(again[i].export_id(), exported[i].export_id());
  }
  auto other = ExportAll(other_exports_key_, 200);
  ASSERT_EQ(other.size(), exported.size());
  for (const auto& checkin : other) {
    EXPECT_EQ(subjects.count(checkin.subject_pseudonym()), 0u);
    EXPECT_EQ(ids.count(checkin.export_id()), 0u);
  }

  // Withdrawing consent removes the volunteer's check-ins from later exports.
  SetResearchConsent(2, false);
  EXPECT_EQ(ExportAll(exports_key_, 200).size(), 2u * (kVolunteers - 2));
}

TEST_F(PartnerApiTest, ExportRejectsBadPagingNamingTheField) {
  for (int i = 0; i < 3; ++i) SubmitWho5(i, 3);
  v1::ExportCheckinsRequest request;
  v1::ExportCheckinsResponse response;
  request.set_page_size(-1);
  grpc::Status status =
      server_.stub().ExportCheckins(WithKey(exports_key_).get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("page_size"));

  request.set_page_size(1);
  ASSERT_TRUE(server_.stub().ExportCheckins(WithKey(exports_key_).get(), request, &response).ok());
  ASSERT_FALSE(response.next_page_token().empty());
  std::string token = response.next_page_token();
  std::string altered = token;
  altered[altered.size() / 2] = altered[altered.size() / 2] == 'A' ? 'B' : 'A';
  // Altered, or another key's: positions are pseudonyms of one key.
  for (const auto& [key, page_token] :
       {std::make_pair(exports_key_, altered), std::make_pair(other_exports_key_, token)}) {
    request.set_page_token(page_token);
    status = server_.stub().ExportCheckins(WithKey(key).get(), request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr("page_token"));
  }
}

TEST_F(PartnerApiTest, ExportFiltersByDayAndNeverByTimeOfDay) {
  absl::Time first_day = server_.clock().Now();
  for (int i = 0; i < 5; ++i) SubmitWho5(i, 3);
  server_.clock().Advance(absl::Hours(48));
  for (int i = 0; i < 5; ++i) SubmitWho5(i, 4);
  absl::Time midnight_after_first = absl::FromCivil(
      absl::CivilDay(absl::ToCivilSecond(first_day, absl::UTCTimeZone())) + 1,
      absl::UTCTimeZone());

  auto count = [&](std::optional<absl::Time> start, std::optional<absl::Time> end) {
    v1::ExportCheckinsRequest request;
    request.set_page_size(200);
    if (start) SetKnownTime(*start, [&] { return request.mutable_updated_start_time(); });
    if (end) SetKnownTime(*end, [&] { return request.mutable_updated_end_time(); });
    v1::ExportCheckinsResponse response;
    grpc::Status status =
        server_.stub().ExportCheckins(WithKey(exports_key_).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.checkins_size();
  };
  EXPECT_EQ(count(std::nullopt, std::nullopt), 10);
  EXPECT_EQ(count(midnight_after_first, std::nullopt), 5);
  EXPECT_EQ(count(std::nullopt, midnight_after_first), 5);
  // A time within the first day counts from the next midnight: the filter cannot find the
  // check-ins' time of day.
  EXPECT_EQ(count(first_day - absl::Seconds(1), std::nullopt), 5);
  EXPECT_EQ(count(first_day, std::nullopt), first_day == midnight_after_first - absl::Hours(24)
                                                 ? 10
                                                 : 5);
}

}  // namespace
}  // namespace peerwell::checkin::testing
