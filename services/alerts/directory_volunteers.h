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
    return Facts(*person, directory_.GetConsent(organization_id, volunteer_id));
  }

  std::vector<absl::StatusOr<VolunteerFacts>> GetVolunteers(
      const std::vector<VolunteerRef>& volunteers) override {
    std::vector<DirectoryClient::PersonRef> refs;
    for (const VolunteerRef& v : volunteers) refs.push_back({v.organization_id, v.volunteer_id});
    std::vector<absl::StatusOr<VolunteerFacts>> facts;
    for (auto& found : directory_.GetPeopleAndConsents(refs)) {
      if (!found.person.ok()) {
        facts.push_back(found.person.status());
      } else if (found.person->role() != directory::v1::ROLE_VOLUNTEER) {
        facts.push_back(absl::NotFoundError("volunteer_id: no such volunteer"));
      } else {
        facts.push_back(Facts(*found.person, found.consent));
      }
    }
    return facts;
  }

 private:
  static absl::StatusOr<VolunteerFacts> Facts(
      const directory::v1::Person& person, const absl::StatusOr<directory::v1::Consent>& consent) {
    if (!consent.ok()) return consent.status();
    VolunteerFacts facts;
    facts.risk_monitoring = consent->risk_monitoring();
    facts.share_scores_with_supervisor = consent->share_scores_with_supervisor();
    facts.active = person.status() == directory::v1::PERSON_STATUS_ACTIVE;
    facts.commitment_hours_per_month = person.commitment_hours_per_month();
    facts.supervisor_ids.assign(person.supervisor_ids().begin(), person.supervisor_ids().end());
    return facts;
  }

  DirectoryClient& directory_;
};

}  // namespace peerwell::alerts
