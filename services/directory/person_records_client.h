#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/client_context.h"
#include "peerwell/privacy/v1/privacy.pb.h"
#include "services/common/auth.h"
#include "services/common/config.h"
#include "services/directory/directory_service.h"

namespace peerwell::directory {

// One service's ExportPersonRecords, whichever gRPC service declares it.
struct PersonRecordsSource {
  std::string service;  // its part's name in the export ("checkin")
  std::function<grpc::Status(grpc::ClientContext*, const privacy::v1::ExportPersonRecordsRequest&,
                             privacy::v1::ExportPersonRecordsResponse*)>
      call;
};

// The sources of every service of the suite that holds data about people, at the addresses of
// `config` (check-ins, alerts, supervision, peer network).
std::vector<PersonRecordsSource> SuitePersonRecordsSources(const ProcessConfig& config);

// Asks each source in turn, as role `service` for the person's organisation, each call bounded
// by the export's own deadline and `call_timeout`.
class PersonRecordsClient final : public PersonRecordSources {
 public:
  PersonRecordsClient(std::vector<PersonRecordsSource> sources, ServiceTokens& tokens,
                      absl::Duration call_timeout = absl::Seconds(10))
      : sources_(std::move(sources)), tokens_(tokens), call_timeout_(call_timeout) {}

  absl::StatusOr<std::vector<ServiceRecords>> Collect(const std::string& organization_id,
                                                      const std::string& person_id) override;

 private:
  const std::vector<PersonRecordsSource> sources_;
  ServiceTokens& tokens_;
  const absl::Duration call_timeout_;
};

}  // namespace peerwell::directory
