#include "tools/bench/people.h"

#include "absl/strings/str_cat.h"
#include "peerwell/directory/v1/directory.grpc.pb.h"
#include "services/common/channel.h"
#include "tests/testing/seed.h"

namespace peerwell::bench {

namespace dv1 = ::peerwell::directory::v1;

absl::StatusOr<std::vector<BenchOrganisation>> CreateOrganisations(const ScenarioContext& context,
                                                                   int organisations,
                                                                   int volunteers,
                                                                   BenchConsent consent) {
  auto directory = dv1::DirectoryService::NewStub(ServiceChannel(context.directory_addr));
  std::vector<BenchOrganisation> created;
  for (int o = 0; o < organisations; ++o) {
    auto seeded = testing::SeedOrganization(*directory, context.jwt_secret,
                                            {.display_name = absl::StrCat("Bench organisation ", o),
                                             .volunteers = volunteers,
                                             .risk_monitoring = consent.risk_monitoring,
                                             .research_export = consent.research_export});
    if (!seeded.ok()) return seeded.status();
    BenchOrganisation organisation;
    organisation.organization_id = seeded->organization_id;
    organisation.coordinator_authorization = "Bearer " + seeded->coordinator.token;
    for (const testing::SeededPerson& volunteer : seeded->volunteers) {
      organisation.volunteers.push_back({volunteer.person_id, "Bearer " + volunteer.token});
    }
    created.push_back(std::move(organisation));
  }
  return created;
}

}  // namespace peerwell::bench
