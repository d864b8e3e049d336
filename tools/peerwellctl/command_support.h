#pragma once

// What the commands of every service share: printing a response, and following pages.

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "tools/peerwellctl/args.h"
#include "tools/peerwellctl/command.h"
#include "tools/peerwellctl/format.h"
#include "tools/peerwellctl/service_client.h"

namespace peerwell::ctl {

// The display names of the people the caller may see in the directory; with --json, or when the
// directory cannot be asked, none (ids are shown instead: the names only help reading).
PersonNames VisiblePersonNames(Context& context);

// The gateway's address: --gateway, else $PEERWELL_GATEWAY_URL, else the local run's.
std::string GatewayUrl(const ParsedArgs& args);
// The gateway's address when the command line or the environment names it (--gateway,
// $PEERWELL_GATEWAY_URL); nullopt when only the local run's default would be a guess.
std::optional<std::string> NamedGatewayUrl(const ParsedArgs& args);
// The link that signs into the dashboard with `token` (kept in the fragment, which browsers
// never send to a server).
std::string DashboardUrl(absl::string_view gateway, absl::string_view token);
// The same for the volunteers' app (a volunteer's dashboard link leads there too).
std::string VolunteerAppUrl(absl::string_view gateway, absl::string_view token);

// Prints the response as JSON with --json, else the human-readable text.
absl::Status Print(const Context& context, const google::protobuf::Message& response,
                   const std::string& human);

// Fetches one page, or with `all` every page from the request's page_token on, merged into one
// response (so that --json --all prints a single object).
template <typename Service, typename Request, typename Response>
absl::StatusOr<Response> FetchPages(ServiceClient<Service>& client, const std::string& token,
                                    StubMethod<typename Service::Stub, Request, Response> method,
                                    Request request, bool all) {
  Response merged;
  while (true) {
    auto page = client.Call(method, request, token);
    if (!page.ok()) return page.status();
    std::string next = page->next_page_token();
    merged.MergeFrom(*page);
    merged.set_next_page_token(next);
    if (!all || next.empty()) return merged;
    // A token that does not move would loop forever; better to stop and say so.
    if (next == request.page_token()) {
      return absl::InternalError("the service returned the same page token twice");
    }
    request.set_page_token(next);
  }
}

// The paging flags of a list command, applied to its request.
template <typename Request>
absl::Status ApplyPaging(const ParsedArgs& args, Request& request) {
  if (auto size = args.Get("page-size")) {
    auto parsed = ParseCount("page-size", *size);
    if (!parsed.ok()) return parsed.status();
    request.set_page_size(*parsed);
  }
  if (auto token = args.Get("page-token")) request.set_page_token(*token);
  return absl::OkStatus();
}

// On stderr, so that a script reading the output sees only the page it asked for.
void NoteMorePages(absl::string_view next_page_token, absl::string_view what);

std::vector<FlagSpec> PagingFlags();

}  // namespace peerwell::ctl
