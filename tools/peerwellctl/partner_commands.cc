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
#include "absl/strings/str_join.h"
#include "services/common/proto_time.h"
#include "services/gateway/fhir.h"
#include "services/webhooks/webhooks.h"
#include "tools/peerwellctl/checkin_format.h"
#include "tools/peerwellctl/command.h"
#include "tools/peerwellctl/command_support.h"
#include "tools/peerwellctl/partner_format.h"

namespace peerwell::ctl {
namespace {

using CheckinStub = checkin_v1::CheckinService::Stub;
using WebhookStub = webhooks_v1::WebhookService::Stub;

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

absl::Status RunPartnerWebhookCreate(Context& context, const ParsedArgs& args) {
  webhooks_v1::CreateWebhookRequest request;
  request.set_url(args.positionals()[0]);
  std::vector<std::string> events = args.GetAll("event");
  if (events.empty()) events.assign(std::begin(webhooks::kAlertEventTypes),
                                    std::end(webhooks::kAlertEventTypes));
  for (const std::string& event : events) request.add_event_types(event);
  auto response = context.webhooks.Call(&WebhookStub::CreateWebhook, request, context.token);
  if (!response.ok()) return response.status();
  const webhooks_v1::Webhook& webhook = response->webhook();
  absl::Status printed = Print(
      context, *response,
      absl::StrCat("webhook_id: ", webhook.webhook_id(), "\nurl: ", webhook.url(),
                   "\nevents: ", absl::StrJoin(webhook.event_types(), ","),
                   "\nsecret: ", response->secret(), "\n"));
  if (!printed.ok()) return printed;
  std::cerr << "warning: the signing secret is shown only now; keep it where your receiver "
               "verifies PeerWell-Signature with it.\n";
  return absl::OkStatus();
}

absl::Status RunPartnerWebhookList(Context& context, const ParsedArgs&) {
  auto response = context.webhooks.Call(&WebhookStub::ListWebhooks,
                                        webhooks_v1::ListWebhooksRequest(), context.token);
  if (!response.ok()) return response.status();
  return Print(context, *response,
               response->webhooks().empty() ? "no webhooks\n" : WebhooksTable(*response));
}

absl::Status RunPartnerWebhookDelete(Context& context, const ParsedArgs& args) {
  webhooks_v1::DeleteWebhookRequest request;
  request.set_webhook_id(args.positionals()[0]);
  auto response = context.webhooks.Call(&WebhookStub::DeleteWebhook, request, context.token);
  if (!response.ok()) return response.status();
  return Print(context, *response, absl::StrCat("deleted ", request.webhook_id(), "\n"));
}

absl::Status RunPartnerWebhookDeliveries(Context& context, const ParsedArgs& args) {
  webhooks_v1::ListWebhookDeliveriesRequest request;
  request.set_webhook_id(args.positionals()[0]);
  if (auto status = ApplyPaging(args, request); !status.ok()) return status;
  auto response = FetchPages(context.webhooks, context.token, &WebhookStub::ListWebhookDeliveries,
                             request, args.Has("all"));
  if (!response.ok()) return response.status();
  std::string human =
      response->deliveries().empty() ? "no delivery attempts yet\n" : DeliveriesTable(*response);
  if (absl::Status printed = Print(context, *response, human); !printed.ok()) return printed;
  if (!context.json) NoteMorePages(response->next_page_token(), "attempts");
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
      {"partner webhook create",
       {"URL"},
       "POST alert events to URL, signed (webhooks:manage); prints the secret once",
       {{"event", FlagKind::kRepeated, "TYPE",
         "alert.triggered, alert.updated, alert.acknowledged, alert.escalated or alert.resolved "
         "(default all five)"}},
       "URL is https://… on a public address. Each event arrives as JSON with PeerWell-Event-Id\n"
       "and PeerWell-Signature; anything but a 2xx is retried for 24 hours (docs/PARTNERS.md).",
       true,
       RunPartnerWebhookCreate,
       Backend::kWebhooks},
      {"partner webhook list",
       {},
       "this key's webhooks (webhooks:manage)",
       {},
       "",
       true,
       RunPartnerWebhookList,
       Backend::kWebhooks},
      {"partner webhook delete",
       {"WEBHOOK_ID"},
       "stop delivering to a webhook, and drop its delivery log (webhooks:manage)",
       {},
       "",
       true,
       RunPartnerWebhookDelete,
       Backend::kWebhooks},
      {"partner webhook deliveries",
       {"WEBHOOK_ID"},
       "every attempt to deliver to a webhook, newest first (webhooks:manage)",
       PagingFlags(),
       "",
       true,
       RunPartnerWebhookDeliveries,
       Backend::kWebhooks},
  };
}

}  // namespace peerwell::ctl
