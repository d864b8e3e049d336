#include "services/gateway/fhir.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "services/gateway/connect.h"

namespace peerwell::gateway {
namespace {

using Json = nlohmann::ordered_json;

constexpr char kPseudonymSystem[] = "urn:peerwell:partner-pseudonym";
constexpr int kMaxCount = 200;

std::string AnswerSystem(absl::string_view instrument_id) {
  return absl::StrCat(QuestionnaireCanonical(instrument_id), ":answers");
}
std::string BandSystem(absl::string_view instrument_id) {
  return absl::StrCat(QuestionnaireCanonical(instrument_id), ":bands");
}
std::string ScoreLinkId(absl::string_view scale_id) { return absl::StrCat("score.", scale_id); }
std::string BandLinkId(absl::string_view scale_id) { return absl::StrCat("band.", scale_id); }

Json Coding(const std::string& system, const std::string& code) {
  return Json{{"system", system}, {"code", code}};
}

Json ResponseResource(const checkin::v1::ExportedCheckin& checkin) {
  Json items = Json::array();
  for (const auto& answer : checkin.answers()) {
    items.push_back(
        {{"linkId", answer.item_id()},
         {"answer", Json::array({{{"valueCoding", Coding(AnswerSystem(checkin.instrument_id()),
                                                         absl::StrCat(answer.value()))}}})}});
  }
  for (const auto& score : checkin.scores()) {
    items.push_back({{"linkId", ScoreLinkId(score.scale_id())},
                     {"answer", Json::array({{{"valueDecimal", score.value()}}})}});
    if (!score.band().empty()) {
      items.push_back(
          {{"linkId", BandLinkId(score.scale_id())},
           {"answer", Json::array({{{"valueCoding",
                                     Coding(BandSystem(checkin.instrument_id()), score.band())}}})}});
    }
  }
  Json resource{
      {"resourceType", "QuestionnaireResponse"},
      {"id", checkin.export_id()},
      // The day, like `authored`: the export never tells the time of day.
      {"meta", {{"lastUpdated", absl::StrCat(checkin.authored_date(), "T00:00:00Z")}}},
      {"questionnaire", absl::StrCat(QuestionnaireCanonical(checkin.instrument_id()), "|",
                                     checkin.instrument_version())},
      {"status", "completed"},
      {"subject",
       {{"identifier", {{"system", kPseudonymSystem}, {"value", checkin.subject_pseudonym()}}}}},
      {"authored", checkin.authored_date()},
  };
  if (!items.empty()) resource["item"] = std::move(items);
  return resource;
}

// A FHIR date or dateTime as the instants [lower, upper) it stands for: a day is the whole day, a
// dateTime the instant itself.
absl::StatusOr<std::pair<absl::Time, absl::Time>> ParseFhirInstantRange(const std::string& text) {
  absl::Time time;
  std::string error;
  if (absl::ParseTime("%Y-%m-%d", text, absl::UTCTimeZone(), &time, &error)) {
    return std::make_pair(time, time + absl::Hours(24));
  }
  absl::CivilMonth month;
  if (text.size() == 7 && absl::ParseCivilTime(text, &month)) {
    return std::make_pair(absl::FromCivil(month, absl::UTCTimeZone()),
                          absl::FromCivil(month + 1, absl::UTCTimeZone()));
  }
  absl::CivilYear year;
  if (text.size() == 4 && absl::ParseCivilTime(text, &year)) {
    return std::make_pair(absl::FromCivil(year, absl::UTCTimeZone()),
                          absl::FromCivil(year + 1, absl::UTCTimeZone()));
  }
  // A dateTime must say its zone (FHIR): "2026-11-30T09:00:00Z" or "…+01:00".
  if (text.find('T') != std::string::npos &&
      absl::ParseTime(absl::RFC3339_full, text, &time, &error)) {
    return std::make_pair(time, time + absl::Microseconds(1));
  }
  return absl::InvalidArgumentError(
      "_lastUpdated: expected a date (2026-11-30) or a dateTime with its zone "
      "(2026-11-30T09:00:00Z), after an optional prefix eq, ge, gt, le or lt");
}

const char* IssueCode(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::UNAUTHENTICATED:
      return "login";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "forbidden";
    case grpc::StatusCode::NOT_FOUND:
      return "not-found";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "invalid";
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "transient";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "not-supported";
    default:
      return "exception";
  }
}

}  // namespace

std::string QuestionnaireCanonical(absl::string_view instrument_id) {
  return absl::StrCat("urn:peerwell:questionnaire:", instrument_id);
}

std::string CapabilityStatementJson(absl::Time now) {
  Json statement{
      {"resourceType", "CapabilityStatement"},
      {"status", "active"},
      {"date", absl::FormatTime("%Y-%m-%d", now, absl::UTCTimeZone())},
      {"publisher", "PeerWell"},
      {"kind", "instance"},
      {"software", {{"name", "PeerWell gateway"}}},
      {"implementation",
       {{"description", "PeerWell's de-identified export of volunteers' wellbeing check-ins"}}},
      {"fhirVersion", "4.0.1"},
      {"format", Json::array({"json"})},
      {"rest",
       Json::array(
           {{{"mode", "server"},
             {"security",
              {{"description",
                "A partner API key in the x-api-key header; QuestionnaireResponse needs the "
                "exports:read scope."}}},
             {"resource",
              Json::array(
                  {{{"type", "QuestionnaireResponse"},
                    {"interaction", Json::array({{{"code", "search-type"}}})},
                    {"searchParam", Json::array({{{"name", "_lastUpdated"},
                                                  {"type", "date"},
                                                  {"documentation",
                                                   "To the day: times count from the next "
                                                   "midnight (UTC)."}}})}},
                   {{"type", "Questionnaire"},
                    {"interaction", Json::array({{{"code", "read"}}})}}})}}})},
  };
  return statement.dump();
}

std::string QuestionnaireJson(const checkin::v1::Instrument& instrument) {
  const std::string& id = instrument.instrument_id();
  Json items = Json::array();
  for (const auto& item : instrument.items()) {
    Json options = Json::array();
    for (const auto& option : item.options()) {
      Json coding = Coding(AnswerSystem(id), absl::StrCat(option.value()));
      coding["display"] = option.label();
      options.push_back({{"valueCoding", std::move(coding)}});
    }
    items.push_back({{"linkId", item.item_id()},
                     {"text", item.text()},
                     {"type", "choice"},
                     {"required", item.required()},
                     {"answerOption", std::move(options)}});
  }
  for (const auto& scale : instrument.scales()) {
    items.push_back({{"linkId", ScoreLinkId(scale.scale_id())},
                     {"text", absl::StrCat("Score: ", scale.scale_id())},
                     {"type", "decimal"},
                     {"readOnly", true}});
    if (scale.bands().empty()) continue;
    Json bands = Json::array();
    for (const auto& band : scale.bands()) {
      bands.push_back({{"valueCoding", Coding(BandSystem(id), band)}});
    }
    items.push_back({{"linkId", BandLinkId(scale.scale_id())},
                     {"text", absl::StrCat("Band: ", scale.scale_id())},
                     {"type", "choice"},
                     {"readOnly", true},
                     {"answerOption", std::move(bands)}});
  }
  std::string description = instrument.instruction();
  if (!instrument.recall_period().empty()) {
    absl::StrAppend(&description, "\n\nRecall period: ", instrument.recall_period(), ".");
  }
  if (!instrument.adaptation().empty()) {
    absl::StrAppend(&description, "\n\nAdaptation: ", instrument.adaptation());
  }
  Json questionnaire{
      {"resourceType", "Questionnaire"},
      {"id", id},
      {"url", QuestionnaireCanonical(id)},
      {"version", absl::StrCat(instrument.version())},
      {"title", instrument.title()},
      {"status", "active"},
      {"description", description},
      {"copyright", instrument.attribution()},
      {"item", std::move(items)},
  };
  if (!instrument.licence().empty()) {
    // The licence on its own, for a partner's tooling (the copyright text holds it too).
    questionnaire["extension"] = Json::array(
        {{{"url", "urn:peerwell:fhir:licence"}, {"valueString", instrument.licence()}}});
  }
  return questionnaire.dump();
}

std::string QuestionnaireResponseJson(const checkin::v1::ExportedCheckin& checkin) {
  return ResponseResource(checkin).dump();
}

std::string SearchBundleJson(const checkin::v1::ExportCheckinsResponse& page,
                             const std::string& self_url, const std::string& next_url) {
  Json links = Json::array({{{"relation", "self"}, {"url", self_url}}});
  if (!next_url.empty()) links.push_back({{"relation", "next"}, {"url", next_url}});
  Json entries = Json::array();
  for (const auto& checkin : page.checkins()) {
    entries.push_back({{"resource", ResponseResource(checkin)}, {"search", {{"mode", "match"}}}});
  }
  Json bundle{{"resourceType", "Bundle"}, {"type", "searchset"}, {"link", std::move(links)}};
  if (!entries.empty()) bundle["entry"] = std::move(entries);
  return bundle.dump();
}

std::pair<int, std::string> OperationOutcome(const grpc::Status& status) {
  Json outcome{{"resourceType", "OperationOutcome"},
               {"issue", Json::array({{{"severity", "error"},
                                       {"code", IssueCode(status.error_code())},
                                       {"diagnostics", status.error_message()}}})}};
  return {ConnectHttpStatus(status.error_code()), outcome.dump()};
}

absl::StatusOr<ExportSearch> ParseExportSearch(
    const std::vector<std::pair<std::string, std::string>>& parameters) {
  ExportSearch search;
  for (const auto& [name, value] : parameters) {
    if (name == "_lastUpdated") {
      std::string prefix = "eq";
      std::string text = value;
      for (const char* known : {"eq", "ge", "gt", "le", "lt"}) {
        if (absl::StartsWith(value, known)) {
          prefix = known;
          text = value.substr(2);
        }
      }
      auto range = ParseFhirInstantRange(text);
      if (!range.ok()) return range.status();
      auto [lower, upper] = *range;
      auto raise_start = [&](absl::Time t) {
        search.updated_start = search.updated_start ? std::max(*search.updated_start, t) : t;
      };
      auto lower_end = [&](absl::Time t) {
        search.updated_end = search.updated_end ? std::min(*search.updated_end, t) : t;
      };
      if (prefix == "eq" || prefix == "ge") raise_start(lower);
      if (prefix == "gt") raise_start(upper);
      if (prefix == "eq" || prefix == "le") lower_end(upper);
      if (prefix == "lt") lower_end(lower);
    } else if (name == "_count") {
      if (!absl::SimpleAtoi(value, &search.count) || search.count < 1 ||
          search.count > kMaxCount) {
        return absl::InvalidArgumentError(
            absl::StrCat("_count: expected a number from 1 to ", kMaxCount));
      }
    } else if (name == "_page") {
      search.page_token = value;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          name, ": not a search parameter here (supported: _lastUpdated, _count, _page)"));
    }
  }
  return search;
}

}  // namespace peerwell::gateway
