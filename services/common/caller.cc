#include "services/common/caller.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "services/common/validation.h"

namespace peerwell {

absl::Status RequireScope(const Caller& caller, absl::string_view scope) {
  if (caller.HasScope(scope)) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat("this API key lacks the ", scope, " scope"));
}

absl::Status CheckPersonRecordsRequest(const Caller& caller, absl::string_view person_id) {
  if (caller.role != CallerRole::kService) {
    return absl::PermissionDeniedError(
        "only the directory's export, as role service, may read a person's records here");
  }
  return ValidateToken("person_id", person_id);
}

absl::Status MemberTokenStatus(bool found, bool deactivated) {
  if (!found) {
    return absl::UnauthenticatedError(
        "invalid credentials: the token names nobody in its organisation");
  }
  if (deactivated) {
    return absl::UnauthenticatedError("invalid credentials: this account has been deactivated");
  }
  return absl::OkStatus();
}

absl::string_view CallerRoleName(CallerRole role) {
  switch (role) {
    case CallerRole::kVolunteer:
      return "volunteer";
    case CallerRole::kSupervisor:
      return "supervisor";
    case CallerRole::kCoordinator:
      return "coordinator";
    case CallerRole::kAdmin:
      return "admin";
    case CallerRole::kService:
      return "service";
    case CallerRole::kPartner:
      return "partner";
  }
  return "unknown";
}

bool ParseCallerRole(absl::string_view name, CallerRole* role) {
  // Partners authenticate with API keys, never with a token, so "partner" is not accepted here.
  static constexpr CallerRole kTokenRoles[] = {CallerRole::kVolunteer, CallerRole::kSupervisor,
                                               CallerRole::kCoordinator, CallerRole::kAdmin,
                                               CallerRole::kService};
  for (CallerRole candidate : kTokenRoles) {
    if (CallerRoleName(candidate) == name) {
      *role = candidate;
      return true;
    }
  }
  return false;
}

}  // namespace peerwell
