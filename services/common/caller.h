#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace peerwell {

// Who is calling, as established by authentication. The organisation of every request comes
// from here and never from a request field.
enum class CallerRole {
  kVolunteer,
  kSupervisor,
  kCoordinator,
  kAdmin,    // the platform operator
  kService,  // another PeerWell service
  kPartner,  // a partner NGO's API key
};

struct Caller {
  std::string person_id;  // JWT `sub`; the API key id for partners
  std::string organization_id;
  CallerRole role = CallerRole::kVolunteer;
  std::vector<std::string> scopes;  // partners only

  // A person of the organisation (volunteer, supervisor or coordinator), not the operator, a
  // service or a partner.
  bool IsMember() const {
    return role == CallerRole::kVolunteer || role == CallerRole::kSupervisor ||
           role == CallerRole::kCoordinator;
  }

  bool HasScope(absl::string_view scope) const {
    for (const auto& s : scopes) {
      if (s == scope) return true;
    }
    return false;
  }
};

// OK when the caller holds `scope`, else PERMISSION_DENIED naming it (for partners' keys).
absl::Status RequireScope(const Caller& caller, absl::string_view scope);

// Whether a member's token (IsMember) still speaks for them: OK while the person it names is
// `found` in its organisation and not `deactivated`, else UNAUTHENTICATED. A signed token cannot
// be recalled; this check, made on every call, is what ends it.
absl::Status MemberTokenStatus(bool found, bool deactivated);

// Who may call a service's ExportPersonRecords (the directory gathering ExportPersonData): role
// `service` alone, PERMISSION_DENIED for anyone else; then a well-formed `person_id`.
absl::Status CheckPersonRecordsRequest(const Caller& caller, absl::string_view person_id);

absl::string_view CallerRoleName(CallerRole role);
// Parses a JWT `role` claim; false for an unknown name.
bool ParseCallerRole(absl::string_view name, CallerRole* role);

}  // namespace peerwell
