#include "services/directory/person_records_client.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "peerwell/alerts/v1/alerts.grpc.pb.h"
#include "peerwell/checkin/v1/checkin.grpc.pb.h"
#include "peerwell/network/v1/network.grpc.pb.h"
#include "peerwell/supervision/v1/supervision.grpc.pb.h"
#include "services/common/channel.h"
#include "services/common/deadline.h"

namespace peerwell::directory {
namespace {

constexpr int kMaxPartBytes = 64 << 20;

template <typename Service>
PersonRecordsSource SourceOf(std::string service, const std::string& address) {
  // A volunteer with years of check-ins and messages outgrows gRPC's default 4 MB answer.
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxPartBytes);
  std::shared_ptr<typename Service::Stub> stub =
      Service::NewStub(ServiceChannel(address, std::move(args)));
  return {std::move(service), [stub](grpc::ClientContext* context,
                                     const privacy::v1::ExportPersonRecordsRequest& request,
                                     privacy::v1::ExportPersonRecordsResponse* response) {
            return stub->ExportPersonRecords(context, request, response);
          }};
}

}  // namespace

std::vector<PersonRecordsSource> SuitePersonRecordsSources(const ProcessConfig& config) {
  std::vector<PersonRecordsSource> sources;
  sources.push_back(SourceOf<checkin::v1::CheckinService>("checkin", config.checkin_addr));
  sources.push_back(SourceOf<alerts::v1::AlertService>("alerts", config.alerts_addr));
  sources.push_back(
      SourceOf<supervision::v1::SupervisionService>("supervision", config.supervision_addr));
  sources.push_back(SourceOf<network::v1::PeerNetworkService>("network", config.network_addr));
  return sources;
}

absl::StatusOr<std::vector<ServiceRecords>> PersonRecordsClient::Collect(
    const std::string& organization_id, const std::string& person_id) {
  privacy::v1::ExportPersonRecordsRequest request;
  request.set_person_id(person_id);
  std::vector<ServiceRecords> parts;
  for (const PersonRecordsSource& source : sources_) {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + tokens_.For(organization_id));
    context.set_deadline(
        absl::ToChronoTime(std::min(CurrentDeadline(), absl::Now() + call_timeout_)));
    privacy::v1::ExportPersonRecordsResponse response;
    grpc::Status status = source.call(&context, request, &response);
    if (!status.ok()) {
      // Whatever the cause, the person cannot have a complete export now; they may ask again.
      return absl::UnavailableError(absl::StrCat(
          "the ", source.service, " service could not give its records: ", status.error_message()));
    }
    std::string json;
    auto printed = google::protobuf::util::MessageToJsonString(response.records(), &json);
    if (!printed.ok()) return absl::InternalError(printed.message().as_string());
    parts.push_back({source.service, std::move(json)});
  }
  return parts;
}

}  // namespace peerwell::directory
