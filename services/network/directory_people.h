#pragma once

#include "services/common/directory_client.h"
#include "services/network/network_service.h"

namespace peerwell::network {

// The directory as the network needs it, over the cached directory client.
class DirectoryPeople final : public PeopleDirectory {
 public:
  explicit DirectoryPeople(DirectoryClient& directory) : directory_(directory) {}

  absl::StatusOr<PersonFacts> GetPerson(const std::string& organization_id,
                                        const std::string& person_id) override {
    auto person = directory_.GetPerson(organization_id, person_id);
    if (!person.ok()) return person.status();
    PersonFacts facts;
    facts.person_id = person->person_id();
    facts.display_name = person->display_name();
    facts.role = person->role() == directory::v1::ROLE_SUPERVISOR    ? PersonRole::kSupervisor
                 : person->role() == directory::v1::ROLE_COORDINATOR ? PersonRole::kCoordinator
                                                                     : PersonRole::kVolunteer;
    // On break is still part of the organisation; inactive people have left it.
    facts.active = person->status() != directory::v1::PERSON_STATUS_INACTIVE;
    absl::TimeZone zone;
    if (!person->timezone().empty() && absl::LoadTimeZone(person->timezone(), &zone)) {
      facts.zone = zone;
    }
    facts.quiet_hours = QuietHoursOf(*person);
    return facts;
  }

  void Forget(const std::string& organization_id, const std::string& person_id) override {
    directory_.Forget(organization_id, person_id);
  }

 private:
  DirectoryClient& directory_;
};

}  // namespace peerwell::network
