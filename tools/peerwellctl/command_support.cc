#include "tools/peerwellctl/command_support.h"

#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace peerwell::ctl {
namespace {

constexpr absl::string_view kBackendPayload = "peerwellctl/backend";

}  // namespace

absl::Status FromBackend(Backend backend, absl::Status status) {
  if (!status.ok()) {
    status.SetPayload(kBackendPayload, absl::Cord(absl::StrCat(static_cast<int>(backend))));
  }
  return status;
}

std::optional<Backend> StatusBackend(const absl::Status& status) {
  auto payload = status.GetPayload(kBackendPayload);
  int value = 0;
  if (!payload.has_value() || !absl::SimpleAtoi(std::string(*payload), &value)) {
    return std::nullopt;
  }
  return static_cast<Backend>(value);
}

std::string GatewayUrl(const ParsedArgs& args) {
  return NamedGatewayUrl(args).value_or("http://127.0.0.1:8080");
}

std::optional<std::string> NamedGatewayUrl(const ParsedArgs& args) {
  if (auto flag = args.Get("gateway")) return *flag;
  const char* env = std::getenv("PEERWELL_GATEWAY_URL");
  if (env != nullptr && *env != '\0') return std::string(env);
  return std::nullopt;
}

namespace {
// `page` ("/", "/volunteer/") on the gateway, signed in with `token` from the fragment.
std::string SignInUrl(absl::string_view gateway, absl::string_view page, absl::string_view token) {
  return absl::StrCat(absl::StripSuffix(gateway, "/"), page, "#token=", token);
}
}  // namespace

std::string DashboardUrl(absl::string_view gateway, absl::string_view token) {
  return SignInUrl(gateway, "/", token);
}

std::string VolunteerAppUrl(absl::string_view gateway, absl::string_view token) {
  return SignInUrl(gateway, "/volunteer/", token);
}

PersonNames VisiblePersonNames(Context& context) {
  PersonNames names;
  if (context.json) return names;
  auto people = FetchPages(context.directory, context.token,
                           &directory::v1::DirectoryService::Stub::ListPeople,
                           directory::v1::ListPeopleRequest(), /*all=*/true);
  if (!people.ok()) return names;
  for (const directory::v1::Person& person : people->people()) {
    names.Add(person.person_id(), person.display_name());
  }
  return names;
}

absl::Status Print(const Context& context, const google::protobuf::Message& response,
                   const std::string& human) {
  if (!context.json) {
    std::cout << human;
    return absl::OkStatus();
  }
  auto json = MessageToJson(response);
  if (!json.ok()) return json.status();
  std::cout << *json << "\n";
  return absl::OkStatus();
}

void NoteMorePages(absl::string_view next_page_token, absl::string_view what) {
  if (next_page_token.empty()) return;
  std::cerr << "more " << what << ": run again with --page-token " << next_page_token
            << " (or --all)\n";
}

std::vector<FlagSpec> PagingFlags() {
  return {{"page-size", FlagKind::kValue, "N", "at most N per page (the service's default 50)"},
          {"page-token", FlagKind::kValue, "TOKEN", "continue from an earlier page"},
          {"all", FlagKind::kSwitch, "", "follow next_page_token until the last page"}};
}

}  // namespace peerwell::ctl
