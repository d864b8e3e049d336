// The `partner ...` commands: what a partner organisation reads with its API key (--api-key or
// $PEERWELL_API_KEY), as docs/PARTNERS.md describes it.

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/common/proto_time.h"
#include "services/gateway/fhir.h"
#include "tools/peerwellctl/checkin_format.h"
#include "tools/peerwellctl/command.h"
#include "tools/peerwellctl/command_support.h"
#include "tools/peerwellctl/partner_format.h"

namespace peerwell::ctl {
namespace {

using CheckinStub = checkin_v1::CheckinService::Stub;

constexpr int kExportPageSize = 200;

}  // namespace

absl::Status RunPartnerAggregates(Context& context, const ParsedArgs& args) {
  checkin_v1::GetAggregatesRequest request;
  request.set_scale_id(args.positionals()[0]);
  auto period = ParseAggregatePeriod("period", args.Get("period").value_or("month"));
  if (!period.ok()) return period.status();
  request.set_period(*period);
  absl::Time now = absl::Now();
  if (auto from = args.Get("from")) {
    auto time = ParsePointInTime("from", *from, now);
    if (!time.ok()) return time.status();
    *request.mutable_start_time() = TimestampToProto(*time);
  }
  if (auto to = args.Get("to")) {
    auto time = ParsePointInTime("to", *to, now);
    if (!time.ok()) return time.status();
    *request.mutable_end_time() = TimestampToProto(*time);
  }
  request.set_by_session_kind(args.Has("by-session-kind"));
  auto response = context.checkin.Call(&CheckinStub::GetAggregates, request, context.token);
  if (!response.ok()) return response.status();
  return Print(context, *response, AggregatesTable(*response, request.by_session_kind()));
}

// Every page of ExportCheckins, written as FHIR NDJSON (one QuestionnaireResponse per line), the
// format of FHIR's bulk data export.
absl::Status RunPartnerExport(Context& context, const ParsedArgs& args) {
  checkin_v1::ExportCheckinsRequest request;
  request.set_page_size(kExportPageSize);
  if (auto since = args.Get("since")) {
    auto time = ParsePointInTime("since", *since, absl::Now());
    if (!time.ok()) return time.status();
    *request.mutable_updated_start_time() = TimestampToProto(*time);
  }
  std::string path = *args.Get("output");
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (!file) {
    return UsageError(absl::StrCat("--output: cannot write ", path, ": ", std::strerror(errno)));
  }
  std::set<std::string> subjects;
  int written = 0;
  do {
    auto page = context.checkin.Call(&CheckinStub::ExportCheckins, request, context.token);
    if (!page.ok()) return page.status();
    for (const checkin_v1::ExportedCheckin& checkin : page->checkins()) {
      file << gateway::QuestionnaireResponseJson(checkin) << "\n";
      subjects.insert(checkin.subject_pseudonym());
      ++written;
    }
    if (!page->next_page_token().empty() && page->next_page_token() == request.page_token()) {
      return absl::InternalError("the service returned the same page token twice");
    }
    request.set_page_token(page->next_page_token());
  } while (!request.page_token().empty());
  file.close();
  if (!file) {
    return UsageError(absl::StrCat("--output: cannot write ", path, ": ", std::strerror(errno)));
  }
  if (context.json) {
    std::cout << absl::StrCat("{\"written\":", written, ",\"volunteers\":", subjects.size(),
                              "}\n");
  } else {
    std::cout << absl::StrCat("wrote ", written, " check-ins of ", subjects.size(),
                              " volunteers to ", path,
                              " (FHIR R4 QuestionnaireResponses, one per line)\n");
  }
  return absl::OkStatus();
}

std::vector<Command> PartnerCommands() {
  return {
      {"partner aggregates",
       {"SCALE"},
       "scores per month or week over consenting volunteers, small cells suppressed "
       "(aggregates:read, or a coordinator)",
       {{"period", FlagKind::kValue, "month|week", "calendar months or ISO weeks (default month)"},
        {"from", FlagKind::kValue, "TIME", "every period from the one holding TIME"},
        {"to", FlagKind::kValue, "TIME", "up to TIME (default now)"},
        {"by-session-kind", FlagKind::kSwitch, "", "one row per session kind"}},
       "SCALE is a scale of an instrument: who5, cbi_volunteering, cbi_personal, ... A period\n"
       "with fewer than 5 volunteers shows no figures (docs/PARTNERS.md says why).",
       true,
       RunPartnerAggregates,
       Backend::kCheckin},
      {"partner export",
       {},
       "the de-identified check-ins of consenting volunteers, as FHIR NDJSON (exports:read)",
       {{"output", FlagKind::kValue, "FILE", "where to write them", true},
        {"since", FlagKind::kValue, "TIME", "only those of the day holding TIME and after"}},
       "Writes one FHIR R4 QuestionnaireResponse per line, as GET /fhir/r4/QuestionnaireResponse\n"
       "gives them: volunteers under this key's pseudonyms, the day without the time, no notes.",
       true,
       RunPartnerExport,
       Backend::kCheckin},
  };
}

}  // namespace peerwell::ctl
