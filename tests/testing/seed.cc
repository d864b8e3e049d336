#include "tests/testing/seed.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/common/auth.h"

namespace peerwell::testing {

namespace dv1 = ::peerwell::directory::v1;

absl::StatusOr<SeededOrganization> SeedOrganization(dv1::DirectoryService::Stub& directory,
                                                    const std::string& jwt_secret,
                                                    const SeedOptions& options) {
  auto call = [&](const std::string& token) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->AddMetadata("authorization", "Bearer " + token);
    context->set_deadline(absl::ToChronoTime(absl::Now() + options.call_deadline));
    return context;
  };
  SeededOrganization seeded;
  auto mint = [&](CallerRole role, const std::string& subject) {
    return MintToken(jwt_secret, {subject, seeded.organization_id, role, options.token_lifetime},
                     absl::Now());
  };
  auto failed = [](const char* what, const grpc::Status& status) {
    return absl::UnavailableError(absl::StrCat("directory (", what, "): ", status.error_message()));
  };
  dv1::CreateOrganizationRequest create_org;
  create_org.set_display_name(options.display_name);
  dv1::CreateOrganizationResponse org;
  grpc::Status status =
      directory.CreateOrganization(call(mint(CallerRole::kAdmin, "op")).get(), create_org, &org);
  if (!status.ok()) return failed("CreateOrganization", status);
  seeded.organization_id = org.organization().organization_id();
  auto create = [&](const std::string& token, dv1::Role role, const std::string& name,
                    SeededPerson& person) {
    dv1::CreatePersonRequest request;
    request.mutable_person()->set_display_name(name);
    request.mutable_person()->set_role(role);
    if (role == dv1::ROLE_VOLUNTEER && !seeded.supervisor.person_id.empty()) {
      request.mutable_person()->add_supervisor_ids(seeded.supervisor.person_id);
    }
    dv1::CreatePersonResponse response;
    grpc::Status created = directory.CreatePerson(call(token).get(), request, &response);
    person.person_id = response.person().person_id();
    return created;
  };
  status = create(mint(CallerRole::kAdmin, "op"), dv1::ROLE_COORDINATOR, "Coordinator",
                  seeded.coordinator);
  if (!status.ok()) return failed("CreatePerson", status);
  seeded.coordinator.token = mint(CallerRole::kCoordinator, seeded.coordinator.person_id);
  if (options.supervisor) {
    status =
        create(seeded.coordinator.token, dv1::ROLE_SUPERVISOR, "Supervisor", seeded.supervisor);
    if (!status.ok()) return failed("CreatePerson", status);
    seeded.supervisor.token = mint(CallerRole::kSupervisor, seeded.supervisor.person_id);
  }
  const bool consents =
      options.risk_monitoring || options.research_export || options.share_scores_with_supervisor;
  for (int v = 0; v < options.volunteers; ++v) {
    SeededPerson volunteer;
    status = create(seeded.coordinator.token, dv1::ROLE_VOLUNTEER, absl::StrCat("Volunteer ", v),
                    volunteer);
    if (!status.ok()) return failed("CreatePerson", status);
    volunteer.token = mint(CallerRole::kVolunteer, volunteer.person_id);
    if (consents) {
      dv1::SetConsentRequest consent;
      consent.mutable_consent()->set_risk_monitoring(options.risk_monitoring);
      consent.mutable_consent()->set_research_export(options.research_export);
      consent.mutable_consent()->set_share_scores_with_supervisor(
          options.share_scores_with_supervisor);
      dv1::SetConsentResponse set;
      status = directory.SetConsent(call(volunteer.token).get(), consent, &set);
      if (!status.ok()) return failed("SetConsent", status);
    }
    seeded.volunteers.push_back(std::move(volunteer));
  }
  return seeded;
}

}  // namespace peerwell::testing
