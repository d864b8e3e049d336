#include "services/gateway/rest_routes.h"

#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "peerwell/checkin/v1/checkin.pb.h"
#include "peerwell/supervision/v1/supervision.pb.h"
#include "services/gateway/fhir.h"
#include "services/gateway/http_rules.h"

namespace peerwell::gateway {
namespace {

constexpr char kCalendarContentType[] = "text/calendar; charset=utf-8";
// Calendar applications poll a subscribed feed; five minutes between fetches keeps a change of
// plan visible soon without letting a client hammer the service.
constexpr char kCalendarCacheControl[] = "private, max-age=300";
constexpr size_t kMaxCalendarTokenChars = 256;

HttpAnswer FhirAnswer(std::string body) {
  return {200, kFhirContentType, std::move(body)};
}

HttpAnswer FhirError(const grpc::Status& status) {
  auto [http_status, body] = OperationOutcome(status);
  return {http_status, kFhirContentType, std::move(body)};
}

RestRoute FhirImmediate(std::string label, HttpAnswer answer) {
  RestRoute route;
  route.label = std::move(label);
  route.answer = std::move(answer);
  return route;
}

RestRoute QuestionnaireRoute(std::string instrument_id) {
  RestRoute route;
  route.label = "/fhir/r4/Questionnaire";
  route.rpc = "/peerwell.checkin.v1.CheckinService/ListInstruments";
  route.request = checkin::v1::ListInstrumentsRequest().SerializeAsString();
  route.render = [instrument_id](const std::string& bytes) {
    checkin::v1::ListInstrumentsResponse response;
    if (!response.ParseFromString(bytes)) {
      return FhirError(grpc::Status(grpc::StatusCode::INTERNAL, "unreadable answer"));
    }
    for (const auto& instrument : response.instruments()) {
      if (instrument.instrument_id() == instrument_id) {
        return FhirAnswer(QuestionnaireJson(instrument));
      }
    }
    return FhirError(grpc::Status(grpc::StatusCode::NOT_FOUND,
                                  absl::StrCat("no Questionnaire ", instrument_id)));
  };
  route.render_error = FhirError;
  return route;
}

RestRoute QuestionnaireResponseSearch(absl::string_view query, absl::string_view public_url) {
  const std::string label = "/fhir/r4/QuestionnaireResponse";
  auto bad_search = [&](const absl::Status& status) {
    return FhirImmediate(label, FhirError(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                                       std::string(status.message()))));
  };
  auto parameters = ParseQueryString(query);
  if (!parameters.ok()) return bad_search(parameters.status());
  auto search = ParseExportSearch(*parameters);
  if (!search.ok()) return bad_search(search.status());
  checkin::v1::ExportCheckinsRequest request;
  if (search->updated_start) {
    request.mutable_updated_start_time()->set_seconds(absl::ToUnixSeconds(*search->updated_start));
  }
  if (search->updated_end) {
    // Rounded up to the second: the service rounds up to midnight anyway.
    absl::Time end = *search->updated_end;
    int64_t seconds = absl::ToUnixSeconds(end);
    if (absl::FromUnixSeconds(seconds) < end) ++seconds;
    request.mutable_updated_end_time()->set_seconds(seconds);
  }
  request.set_page_size(search->count);
  request.set_page_token(search->page_token);

  // The links repeat the search without its page, then name the next one.
  std::string base = absl::StrCat(public_url, kFhirBase, "/QuestionnaireResponse");
  std::string search_query;
  for (const auto& [name, value] : *parameters) {
    if (name == "_page") continue;
    absl::StrAppend(&search_query, search_query.empty() ? "" : "&", PercentEncode(name), "=",
                    PercentEncode(value));
  }
  std::string self_url = base;
  if (!query.empty()) absl::StrAppend(&self_url, "?", query);
  RestRoute route;
  route.label = label;
  route.rpc = "/peerwell.checkin.v1.CheckinService/ExportCheckins";
  route.request = request.SerializeAsString();
  route.render = [base, search_query, self_url](const std::string& bytes) {
    checkin::v1::ExportCheckinsResponse response;
    if (!response.ParseFromString(bytes)) {
      return FhirError(grpc::Status(grpc::StatusCode::INTERNAL, "unreadable answer"));
    }
    std::string next_url;
    if (!response.next_page_token().empty()) {
      next_url = absl::StrCat(base, "?", search_query, search_query.empty() ? "" : "&",
                              "_page=", PercentEncode(response.next_page_token()));
    }
    return FhirAnswer(SearchBundleJson(response, self_url, next_url));
  };
  route.render_error = FhirError;
  return route;
}

std::optional<RestRoute> FhirRoute(absl::string_view rest, absl::string_view query,
                                   absl::Time now, absl::string_view public_url) {
  if (rest == "metadata") {
    return FhirImmediate("/fhir/r4/metadata", FhirAnswer(CapabilityStatementJson(now)));
  }
  if (rest == "QuestionnaireResponse") return QuestionnaireResponseSearch(query, public_url);
  if (absl::ConsumePrefix(&rest, "Questionnaire/") && !rest.empty() &&
      rest.find('/') == absl::string_view::npos) {
    return QuestionnaireRoute(std::string(rest));
  }
  return FhirImmediate(
      "/fhir/r4/unsupported",
      FhirError(grpc::Status(grpc::StatusCode::NOT_FOUND,
                             "not served here: see /fhir/r4/metadata for what is")));
}

HttpAnswer CalendarNotFound() {
  return {404, "text/plain; charset=utf-8",
          "This calendar feed does not exist or was revoked.\n"};
}

bool IsTokenCharacter(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
}

RestRoute CalendarRoute(absl::string_view token) {
  RestRoute route;
  route.label = "/calendar";
  bool well_formed = !token.empty() && token.size() <= kMaxCalendarTokenChars;
  for (char c : token) well_formed = well_formed && IsTokenCharacter(c);
  if (!well_formed) {
    route.answer = CalendarNotFound();
    return route;
  }
  supervision::v1::GetCalendarFeedRequest request;
  request.set_token(std::string(token));
  route.rpc = "/peerwell.supervision.v1.SupervisionService/GetCalendarFeed";
  route.request = request.SerializeAsString();
  route.forwards_credentials = false;
  route.render = [](const std::string& bytes) {
    supervision::v1::GetCalendarFeedResponse response;
    if (!response.ParseFromString(bytes)) {
      return HttpAnswer{500, "text/plain; charset=utf-8", "unreadable answer\n"};
    }
    HttpAnswer answer{200, kCalendarContentType, response.ics(), kCalendarCacheControl};
    answer.etag = true;
    return answer;
  };
  route.render_error = [](const grpc::Status& status) {
    if (status.error_code() == grpc::StatusCode::NOT_FOUND) return CalendarNotFound();
    return HttpAnswer{503, "text/plain; charset=utf-8",
                      "The calendar cannot be read right now; try again later.\n"};
  };
  return route;
}

}  // namespace

std::optional<RestRoute> MatchRestRoute(absl::string_view path, absl::string_view query,
                                        absl::Time now, absl::string_view public_url) {
  absl::string_view rest = path;
  if (absl::ConsumePrefix(&rest, kFhirBase) && absl::ConsumePrefix(&rest, "/")) {
    return FhirRoute(rest, query, now, public_url);
  }
  rest = path;
  if (absl::ConsumePrefix(&rest, "/calendar/") && absl::ConsumeSuffix(&rest, ".ics")) {
    return CalendarRoute(rest);
  }
  return std::nullopt;
}

}  // namespace peerwell::gateway
