#pragma once

#include "services/alerts/risk_engine.h"
#include "services/common/directory_client.h"

namespace peerwell::alerts {

// The directory as the alert domain needs it, over the cached directory client.
class DirectoryVolunteers final : public VolunteerDirectory {
 public:
  explicit DirectoryVolunteers(DirectoryClient& directory) : directory_(directory) {}

  absl::StatusOr<VolunteerFacts> GetVolunteer(const std::string& organization_id,
                                              const std::string& volunteer_id) override {
    auto person = directory_.GetPerson(organization_id, volunteer_id);
    if (!person.ok()) return person.status();
    if (person->role() != directory::v1::ROLE_VOLUNTEER) {
      return absl::NotFoundError("volunteer_id: no such volunteer");
    }
    auto consent = directory_.GetConsent(organization_id, volunteer_id);
    if (!consent.ok()) return consent.status();
    VolunteerFacts facts;
    facts.risk_monitoring = consent->risk_monitoring();
    facts.share_scores_with_supervisor = consent->share_scores_with_supervisor();
    facts.active = person->status() == directory::v1::PERSON_STATUS_ACTIVE;
    facts.commitment_hours_per_month = person->commitment_hours_per_month();
    facts.supervisor_ids.assign(person->supervisor_ids().begin(), person->supervisor_ids().end());
    return facts;
  }

 private:
  DirectoryClient& directory_;
};

}  // namespace peerwell::alerts
