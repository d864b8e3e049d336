// The gateway's GET routes beside Connect, without a service: FHIR search parameters, FHIR
// resources made from de-identified check-ins, calendar tokens, and query strings.
#include "services/gateway/rest_routes.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/gateway/fhir.h"
#include "services/gateway/gateway_config.h"
#include "services/gateway/http_rules.h"

namespace peerwell::gateway {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;
using Json = nlohmann::json;

absl::Time Utc(int year, int month, int day, int hour = 0) {
  return absl::FromCivil(absl::CivilSecond(year, month, day, hour, 0, 0), absl::UTCTimeZone());
}

absl::StatusOr<ExportSearch> Search(const std::string& query) {
  auto parameters = ParseQueryString(query);
  if (!parameters.ok()) return parameters.status();
  return ParseExportSearch(*parameters);
}

TEST(QueryStringTest, DecodesEscapesAndPlusAndKeepsOrder) {
  auto parameters = ParseQueryString("_lastUpdated=ge2026-11-01&b=x%20y+z&empty=&_count=5");
  ASSERT_TRUE(parameters.ok());
  EXPECT_THAT(*parameters, ElementsAre(Pair("_lastUpdated", "ge2026-11-01"), Pair("b", "x y z"),
                                       Pair("empty", ""), Pair("_count", "5")));
  EXPECT_FALSE(ParseQueryString("a=%2").ok());
  EXPECT_FALSE(ParseQueryString("a=%zz").ok());
  EXPECT_EQ(PercentEncode("a b/c+d~_.-"), "a%20b%2Fc%2Bd~_.-");
}

// FHIR's date prefixes over the implicit range of a date: "gt2026-11-30" is after that day.
TEST(ExportSearchTest, LastUpdatedPrefixesOverDaysAndInstants) {
  auto ge = Search("_lastUpdated=ge2026-11-30");
  ASSERT_TRUE(ge.ok()) << ge.status();
  EXPECT_EQ(ge->updated_start, Utc(2026, 11, 30));
  EXPECT_FALSE(ge->updated_end.has_value());
  EXPECT_EQ(Search("_lastUpdated=gt2026-11-30")->updated_start, Utc(2026, 12, 1));
  EXPECT_EQ(Search("_lastUpdated=lt2026-11-30")->updated_end, Utc(2026, 11, 30));
  EXPECT_EQ(Search("_lastUpdated=le2026-11-30")->updated_end, Utc(2026, 12, 1));
  auto eq = Search("_lastUpdated=2026-11");
  EXPECT_EQ(eq->updated_start, Utc(2026, 11, 1));
  EXPECT_EQ(eq->updated_end, Utc(2026, 12, 1));
  auto both = Search("_lastUpdated=ge2026-01-01&_lastUpdated=lt2026-02-01&_count=20");
  EXPECT_EQ(both->updated_start, Utc(2026, 1, 1));
  EXPECT_EQ(both->updated_end, Utc(2026, 2, 1));
  EXPECT_EQ(both->count, 20);
  EXPECT_EQ(Search("_lastUpdated=ge2026-11-30T09:30:00%2B01:00")->updated_start,
            Utc(2026, 11, 30, 8) + absl::Minutes(30));
}

TEST(ExportSearchTest, BadParametersNameThemselves) {
  auto no_zone = Search("_lastUpdated=ge2026-11-30T09:30:00");
  EXPECT_EQ(no_zone.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(no_zone.status().message(), HasSubstr("_lastUpdated"));
  EXPECT_THAT(Search("_count=0").status().message(), HasSubstr("_count"));
  EXPECT_THAT(Search("_count=201").status().message(), HasSubstr("_count"));
  EXPECT_THAT(Search("subject=v-1").status().message(), HasSubstr("subject"));
  EXPECT_EQ(Search("").value().count, 50);
}

checkin::v1::ExportCheckinsResponse OnePage() {
  checkin::v1::ExportCheckinsResponse page;
  auto* checkin = page.add_checkins();
  checkin->set_export_id("c-0123456789abcdef0123456789abcdef");
  checkin->set_subject_pseudonym("v-fedcba9876543210fedcba9876543210");
  checkin->set_instrument_id("who5");
  checkin->set_instrument_version(1);
  checkin->set_authored_date("2026-11-30");
  auto* answer = checkin->add_answers();
  answer->set_item_id("1");
  answer->set_value(3);
  auto* score = checkin->add_scores();
  score->set_scale_id("who5");
  score->set_value(60);
  score->set_band("good");
  return page;
}

TEST(FhirTest, ABundleOfQuestionnaireResponsesToTheDay) {
  Json bundle = Json::parse(SearchBundleJson(OnePage(), "/fhir/r4/QuestionnaireResponse",
                                             "/fhir/r4/QuestionnaireResponse?_page=x"));
  EXPECT_EQ(bundle["resourceType"], "Bundle");
  EXPECT_EQ(bundle["type"], "searchset");
  EXPECT_EQ(bundle["link"][1]["relation"], "next");
  const Json& response = bundle["entry"][0]["resource"];
  EXPECT_EQ(bundle["entry"][0]["search"]["mode"], "match");
  EXPECT_EQ(response["resourceType"], "QuestionnaireResponse");
  EXPECT_EQ(response["status"], "completed");
  EXPECT_EQ(response["authored"], "2026-11-30");
  EXPECT_EQ(response["meta"]["lastUpdated"], "2026-11-30T00:00:00Z");
  EXPECT_EQ(response["questionnaire"], "urn:peerwell:questionnaire:who5|1");
  EXPECT_EQ(response["subject"]["identifier"]["value"], "v-fedcba9876543210fedcba9876543210");
  EXPECT_EQ(response["item"][0]["linkId"], "1");
  EXPECT_EQ(response["item"][0]["answer"][0]["valueCoding"]["code"], "3");
  EXPECT_EQ(response["item"][1]["linkId"], "score.who5");
  EXPECT_EQ(response["item"][1]["answer"][0]["valueDecimal"], 60);
  EXPECT_EQ(response["item"][2]["answer"][0]["valueCoding"]["code"], "good");
  // The last page has no next link; an empty page no entries.
  Json last = Json::parse(SearchBundleJson({}, "/self", ""));
  EXPECT_EQ(last["link"].size(), 1u);
  EXPECT_FALSE(last.contains("entry"));
}

TEST(FhirTest, AQuestionnaireWithItsOptionsScalesAndLicence) {
  checkin::v1::Instrument instrument;
  instrument.set_instrument_id("who5");
  instrument.set_version(1);
  instrument.set_title("WHO-5 Well-Being Index");
  instrument.set_attribution("WHO. Licence: CC BY-NC-SA 3.0 IGO");
  instrument.set_licence("CC BY-NC-SA 3.0 IGO");
  instrument.set_recall_period("the last two weeks");
  auto* item = instrument.add_items();
  item->set_item_id("1");
  item->set_text("I have felt cheerful and in good spirits.");
  item->set_required(true);
  auto* option = item->add_options();
  option->set_value(5);
  option->set_label("All of the time");
  auto* scale = instrument.add_scales();
  scale->set_scale_id("who5");
  scale->add_bands("poor");
  scale->add_bands("good");
  Json questionnaire = Json::parse(QuestionnaireJson(instrument));
  EXPECT_EQ(questionnaire["id"], "who5");
  EXPECT_EQ(questionnaire["url"], "urn:peerwell:questionnaire:who5");
  EXPECT_EQ(questionnaire["copyright"], "WHO. Licence: CC BY-NC-SA 3.0 IGO");
  EXPECT_EQ(questionnaire["extension"][0]["valueString"], "CC BY-NC-SA 3.0 IGO");
  EXPECT_THAT(questionnaire["description"].get<std::string>(), HasSubstr("the last two weeks"));
  EXPECT_EQ(questionnaire["item"][0]["answerOption"][0]["valueCoding"]["display"],
            "All of the time");
  EXPECT_EQ(questionnaire["item"][1]["linkId"], "score.who5");
  EXPECT_EQ(questionnaire["item"][1]["readOnly"], true);
  EXPECT_EQ(questionnaire["item"][2]["answerOption"].size(), 2u);
}

TEST(FhirTest, ErrorsAreOperationOutcomesWithTheirHttpStatus) {
  auto [status, body] =
      OperationOutcome(grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "lacks exports:read"));
  EXPECT_EQ(status, 403);
  Json outcome = Json::parse(body);
  EXPECT_EQ(outcome["resourceType"], "OperationOutcome");
  EXPECT_EQ(outcome["issue"][0]["code"], "forbidden");
  EXPECT_EQ(outcome["issue"][0]["diagnostics"], "lacks exports:read");
  EXPECT_EQ(OperationOutcome(grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "")).first, 401);
  EXPECT_EQ(OperationOutcome(grpc::Status(grpc::StatusCode::NOT_FOUND, "")).first, 404);
}

TEST(RestRoutesTest, MatchesOnlyItsPaths) {
  const std::string relative;  // no PEERWELL_PUBLIC_URL
  EXPECT_FALSE(MatchRestRoute("/", "", absl::Now(), relative).has_value());
  EXPECT_FALSE(MatchRestRoute("/fhir/r4", "", absl::Now(), relative).has_value());
  EXPECT_FALSE(MatchRestRoute("/calendar/abc", "", absl::Now(), relative).has_value());
  auto metadata = MatchRestRoute("/fhir/r4/metadata", "", Utc(2026, 12, 2), relative);
  ASSERT_TRUE(metadata.has_value() && metadata->answer.has_value());
  Json statement = Json::parse(metadata->answer->body);
  EXPECT_EQ(statement["resourceType"], "CapabilityStatement");
  EXPECT_EQ(statement["date"], "2026-12-02");
  auto search = MatchRestRoute("/fhir/r4/QuestionnaireResponse", "_count=2", absl::Now(), relative);
  ASSERT_TRUE(search.has_value());
  EXPECT_FALSE(search->answer.has_value());
  EXPECT_EQ(search->rpc, "/peerwell.checkin.v1.CheckinService/ExportCheckins");
  EXPECT_TRUE(search->forwards_credentials);
  auto bad = MatchRestRoute("/fhir/r4/QuestionnaireResponse", "_count=x", absl::Now(), relative);
  ASSERT_TRUE(bad->answer.has_value());
  EXPECT_EQ(bad->answer->status, 400);
  auto other = MatchRestRoute("/fhir/r4/Patient", "", absl::Now(), relative);
  EXPECT_EQ(other->answer->status, 404);
}

TEST(RestRoutesTest, TheNextLinkRepeatsTheSearchWithThePublicUrl) {
  const std::string absolute = "https://peerwell.example.org";
  auto search = MatchRestRoute("/fhir/r4/QuestionnaireResponse",
                               "_lastUpdated=ge2026-11-01&_page=old", absl::Now(), absolute);
  ASSERT_TRUE(search.has_value());
  checkin::v1::ExportCheckinsResponse response;
  response.set_next_page_token("tok/en=");
  Json bundle = Json::parse(search->render(response.SerializeAsString()).body);
  EXPECT_EQ(bundle["link"][0]["url"],
            "https://peerwell.example.org/fhir/r4/QuestionnaireResponse"
            "?_lastUpdated=ge2026-11-01&_page=old");
  EXPECT_EQ(bundle["link"][1]["url"],
            "https://peerwell.example.org/fhir/r4/QuestionnaireResponse"
            "?_lastUpdated=ge2026-11-01&_page=tok%2Fen%3D");
}

// A calendar feed's token is its own credential: nothing else is passed on, and a token that
// cannot be one is answered 404 without asking the service.
TEST(RestRoutesTest, CalendarFeedsCarryOnlyTheirToken) {
  auto feed = MatchRestRoute("/calendar/pcf_o1_f2_abcDEF-_09.ics", "", absl::Now(), {});
  ASSERT_TRUE(feed.has_value());
  EXPECT_FALSE(feed->answer.has_value());
  EXPECT_FALSE(feed->forwards_credentials);
  EXPECT_EQ(feed->rpc, "/peerwell.supervision.v1.SupervisionService/GetCalendarFeed");
  for (const char* path : {"/calendar/.ics", "/calendar/a%2Fb.ics", "/calendar/a.b.ics"}) {
    auto refused = MatchRestRoute(path, "", absl::Now(), {});
    ASSERT_TRUE(refused.has_value()) << path;
    ASSERT_TRUE(refused->answer.has_value()) << path;
    EXPECT_EQ(refused->answer->status, 404) << path;
  }
  HttpAnswer missing =
      feed->render_error(grpc::Status(grpc::StatusCode::NOT_FOUND, "no such feed"));
  EXPECT_EQ(missing.status, 404);
  EXPECT_THAT(missing.body, Not(HasSubstr("no such feed")));
}

TEST(GatewayConfigTest, PublicUrlMustBeAnAbsoluteUrlWithoutTrailingSlash) {
  EXPECT_TRUE(LoadGatewayConfig({"--public_url=https://peerwell.example.org"}).ok());
  EXPECT_TRUE(LoadGatewayConfig({"--public_url=http://localhost:8080/pw"}).ok());
  for (const char* bad : {"peerwell.example.org", "https://peerwell.example.org/",
                          "ftp://x", "https://x?y"}) {
    auto config = LoadGatewayConfig({absl::StrCat("--public_url=", bad)});
    EXPECT_FALSE(config.ok()) << bad;
    EXPECT_THAT(config.status().message(), HasSubstr("PEERWELL_PUBLIC_URL")) << bad;
  }
}

}  // namespace
}  // namespace peerwell::gateway
