#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grpcpp/support/status.h"
#include "peerwell/checkin/v1/checkin.pb.h"

namespace peerwell::gateway {

// HL7 FHIR R4 (JSON) for partners' exports (SPEC Appendix C): check-ins as
// QuestionnaireResponses in a searchset Bundle, instruments as Questionnaires. Every resource is
// made from what the check-in service already de-identified (ExportCheckins); nothing here sees a
// person id, a name or a note.

inline constexpr char kFhirContentType[] = "application/fhir+json; charset=utf-8";
inline constexpr char kFhirBase[] = "/fhir/r4";

// The canonical URL of an instrument's Questionnaire (QuestionnaireResponse.questionnaire adds
// "|<version>").
std::string QuestionnaireCanonical(absl::string_view instrument_id);

// What the server serves, for GET /fhir/r4/metadata.
std::string CapabilityStatementJson(absl::Time now);

std::string QuestionnaireJson(const checkin::v1::Instrument& instrument);

// One exported check-in as a QuestionnaireResponse (one line of FHIR NDJSON).
std::string QuestionnaireResponseJson(const checkin::v1::ExportedCheckin& checkin);

// One page of the export. `self_url` and `next_url` are the Bundle's links (next omitted when
// empty).
std::string SearchBundleJson(const checkin::v1::ExportCheckinsResponse& page,
                             const std::string& self_url, const std::string& next_url);

// An error as an OperationOutcome, with the HTTP status it is answered with.
std::pair<int, std::string> OperationOutcome(const grpc::Status& status);

// The search parameters of GET /fhir/r4/QuestionnaireResponse, checked: `_lastUpdated` (any
// number of times; prefixes eq, ge, gt, le, lt; a date or a dateTime with its zone), `_count`
// (1-200, default 50) and `_page` (the token of a `next` link). Anything else is
// INVALID_ARGUMENT naming the parameter.
struct ExportSearch {
  std::optional<absl::Time> updated_start;  // inclusive
  std::optional<absl::Time> updated_end;    // exclusive
  int count = 50;
  std::string page_token;
};
absl::StatusOr<ExportSearch> ParseExportSearch(
    const std::vector<std::pair<std::string, std::string>>& parameters);

}  // namespace peerwell::gateway
