#include "tools/bench/people.h"

#include <chrono>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "peerwell/directory/v1/directory.grpc.pb.h"
#include "services/common/auth.h"
#include "services/common/channel.h"

namespace peerwell::bench {

namespace dv1 = ::peerwell::directory::v1;

absl::StatusOr<std::vector<BenchOrganisation>> CreateOrganisations(const ScenarioContext& context,
                                                                   int organisations,
                                                                   int volunteers,
                                                                   BenchConsent consent) {
  auto directory = dv1::DirectoryService::NewStub(ServiceChannel(context.directory_addr));
  auto call = [](const std::string& token) {
    auto client_context = std::make_unique<grpc::ClientContext>();
    client_context->AddMetadata("authorization", "Bearer " + token);
    client_context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return client_context;
  };
  auto mint = [&](CallerRole role, const std::string& subject, const std::string& org) {
    return MintToken(context.jwt_secret, {subject, org, role, absl::Hours(2)}, absl::Now());
  };
  auto failed = [](const char* what, const grpc::Status& status) {
    return absl::UnavailableError(absl::StrCat("directory (", what, "): ", status.error_message()));
  };
  std::vector<BenchOrganisation> created;
  for (int o = 0; o < organisations; ++o) {
    dv1::CreateOrganizationRequest create_org;
    create_org.set_display_name(absl::StrCat("Bench organisation ", o));
    dv1::CreateOrganizationResponse org;
    grpc::Status status = directory->CreateOrganization(
        call(mint(CallerRole::kAdmin, "bench", "")).get(), create_org, &org);
    if (!status.ok()) return failed("CreateOrganization", status);
    BenchOrganisation organisation;
    organisation.organization_id = org.organization().organization_id();
    const std::string& org_id = organisation.organization_id;
    dv1::CreatePersonRequest person;
    person.mutable_person()->set_display_name("Bench coordinator");
    person.mutable_person()->set_role(dv1::ROLE_COORDINATOR);
    dv1::CreatePersonResponse coordinator;
    status = directory->CreatePerson(call(mint(CallerRole::kAdmin, "bench", org_id)).get(), person,
                                     &coordinator);
    if (!status.ok()) return failed("CreatePerson", status);
    std::string coordinator_token =
        mint(CallerRole::kCoordinator, coordinator.person().person_id(), org_id);
    organisation.coordinator_authorization = "Bearer " + coordinator_token;
    for (int v = 0; v < volunteers; ++v) {
      person.mutable_person()->set_display_name(absl::StrCat("Bench volunteer ", v));
      person.mutable_person()->set_role(dv1::ROLE_VOLUNTEER);
      dv1::CreatePersonResponse volunteer;
      status = directory->CreatePerson(call(coordinator_token).get(), person, &volunteer);
      if (!status.ok()) return failed("CreatePerson", status);
      std::string token = mint(CallerRole::kVolunteer, volunteer.person().person_id(), org_id);
      if (consent.risk_monitoring || consent.research_export) {
        dv1::SetConsentRequest given;
        given.mutable_consent()->set_risk_monitoring(consent.risk_monitoring);
        given.mutable_consent()->set_research_export(consent.research_export);
        dv1::SetConsentResponse set;
        status = directory->SetConsent(call(token).get(), given, &set);
        if (!status.ok()) return failed("SetConsent", status);
      }
      organisation.volunteers.push_back({volunteer.person().person_id(), "Bearer " + token});
    }
    created.push_back(std::move(organisation));
  }
  return created;
}

}  // namespace peerwell::bench
