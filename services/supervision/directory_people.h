#pragma once

#include "services/common/directory_client.h"
#include "services/common/proto_time.h"
#include "services/supervision/supervision_service.h"

namespace peerwell::supervision {

// The directory as the supervision domain needs it, over the cached directory client.
class DirectoryPeople final : public PeopleDirectory {
 public:
  explicit DirectoryPeople(DirectoryClient& directory) : directory_(directory) {}

  absl::StatusOr<PersonFacts> GetPerson(const std::string& organization_id,
                                        const std::string& person_id) override {
    auto person = directory_.GetPerson(organization_id, person_id);
    if (!person.ok()) return person.status();
    return Facts(*person);
  }

  absl::StatusOr<std::vector<PersonFacts>> ListPeople(const std::string& organization_id,
                                                      PersonRole role) override {
    auto people = directory_.ListPeople(
        organization_id, role == PersonRole::kVolunteer    ? directory::v1::ROLE_VOLUNTEER
                         : role == PersonRole::kSupervisor ? directory::v1::ROLE_SUPERVISOR
                                                           : directory::v1::ROLE_COORDINATOR);
    if (!people.ok()) return people.status();
    std::vector<PersonFacts> facts;
    for (const directory::v1::Person& person : *people) facts.push_back(Facts(person));
    return facts;
  }

 private:
  static PersonFacts Facts(const directory::v1::Person& person) {
    PersonFacts facts;
    facts.person_id = person.person_id();
    facts.role = person.role() == directory::v1::ROLE_SUPERVISOR    ? PersonRole::kSupervisor
                 : person.role() == directory::v1::ROLE_COORDINATOR ? PersonRole::kCoordinator
                                                                    : PersonRole::kVolunteer;
    // "Active volunteers" (SPEC Appendix B): on break or inactive people are not scheduled.
    facts.status = person.status() == directory::v1::PERSON_STATUS_INACTIVE
                       ? PersonFacts::Status::kInactive
                   : person.status() == directory::v1::PERSON_STATUS_ON_BREAK
                       ? PersonFacts::Status::kOnBreak
                       : PersonFacts::Status::kActive;
    facts.timezone = person.timezone();
    facts.quiet_hours = QuietHoursOf(person);
    facts.supervisor_ids.assign(person.supervisor_ids().begin(), person.supervisor_ids().end());
    if (person.has_create_time()) {
      auto created = TimestampFromProto(person.create_time(), "create_time");
      if (created.ok()) facts.create_time = *created;
    }
    return facts;
  }

  DirectoryClient& directory_;
};

}  // namespace peerwell::supervision
