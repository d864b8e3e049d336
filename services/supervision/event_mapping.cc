#include "services/supervision/event_mapping.h"

#include "absl/strings/str_cat.h"

namespace peerwell::supervision {

absl::Status HandleCheckinServiceEvent(SupervisionService& service, const StreamEntry& entry) {
  if (entry.Get("type") != "incident.reported") return absl::OkStatus();
  IncidentReported incident;
  incident.event_id = entry.id;
  incident.organization_id = entry.Get("organization_id");
  incident.volunteer_id = entry.Get("volunteer_id");
  incident.incident_id = entry.Get("incident_id");
  std::string error;
  if (incident.organization_id.empty() || incident.volunteer_id.empty() ||
      incident.incident_id.empty() ||
      !absl::ParseTime(absl::RFC3339_full, entry.Get("occur_time"), &incident.report_time,
                       &error)) {
    return absl::InvalidArgumentError(absl::StrCat("event ", entry.id, ": malformed incident"));
  }
  return service.OfferDebrief(incident);
}

absl::Status HandleDirectoryEvent(SupervisionService& service, const StreamEntry& entry,
                                  const ErasureStep& erase, const ErasureStep& report) {
  if (auto status = HandlePersonErased(entry, erase, report); !status.ok()) return status;
  if (entry.Get("type") != "person.created") return absl::OkStatus();
  std::string organization_id = entry.Get("organization_id");
  if (organization_id.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("event ", entry.id, ": no organization_id"));
  }
  return service.RegisterOrganization(organization_id);
}

}  // namespace peerwell::supervision
