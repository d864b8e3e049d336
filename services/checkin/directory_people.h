#pragma once

#include "services/checkin/checkin_service.h"
#include "services/common/directory_client.h"

namespace peerwell::checkin {

// The directory as the check-in domain needs it, over the cached directory client.
class DirectoryPeople final : public PeopleDirectory {
 public:
  explicit DirectoryPeople(DirectoryClient& directory) : directory_(directory) {}

  absl::StatusOr<PersonFacts> GetPerson(const std::string& organization_id,
                                        const std::string& person_id) override {
    auto person = directory_.GetPerson(organization_id, person_id);
    if (!person.ok()) return person.status();
    PersonFacts facts;
    facts.is_volunteer = person->role() == directory::v1::ROLE_VOLUNTEER;
    facts.active = person->status() != directory::v1::PERSON_STATUS_INACTIVE;
    facts.supervisor_ids.assign(person->supervisor_ids().begin(), person->supervisor_ids().end());
    return facts;
  }

  absl::StatusOr<bool> SharesScores(const std::string& organization_id,
                                    const std::string& volunteer_id) override {
    auto consent = directory_.GetConsent(organization_id, volunteer_id);
    if (!consent.ok()) return consent.status();
    return consent->share_scores_with_supervisor();
  }

  absl::StatusOr<std::vector<std::string>> ResearchVolunteers(
      const std::string& organization_id) override {
    auto volunteers = directory_.ListPeople(organization_id, directory::v1::ROLE_VOLUNTEER);
    if (!volunteers.ok()) return volunteers.status();
    std::vector<std::string> consenting;
    for (const directory::v1::Person& volunteer : *volunteers) {
      auto consent = directory_.GetConsent(organization_id, volunteer.person_id());
      if (!consent.ok()) return consent.status();
      if (consent->research_export()) consenting.push_back(volunteer.person_id());
    }
    return consenting;
  }

 private:
  DirectoryClient& directory_;
};

}  // namespace peerwell::checkin
