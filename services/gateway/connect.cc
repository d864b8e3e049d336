#include "services/gateway/connect.h"

#include <algorithm>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/message.h"
#include "google/protobuf/util/json_util.h"
#include "peerwell/alerts/v1/alerts.pb.h"
#include "peerwell/checkin/v1/checkin.pb.h"
#include "peerwell/directory/v1/directory.pb.h"
#include "peerwell/gateway/v1/webhooks.pb.h"
#include "peerwell/network/v1/network.pb.h"
#include "peerwell/supervision/v1/supervision.pb.h"
#include "services/common/log.h"

namespace peerwell::gateway {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::Message;
using google::protobuf::MessageFactory;
using google::protobuf::ServiceDescriptor;

// A service of the file that defines `message`: naming a message type links its generated code,
// whose descriptors the lookup below needs.
const ServiceDescriptor* ServiceOf(const Descriptor* message, const char* service) {
  return message->file()->FindServiceByName(service);
}

std::unique_ptr<Message> NewMessage(const Descriptor* type) {
  const Message* prototype = MessageFactory::generated_factory()->GetPrototype(type);
  return prototype == nullptr ? nullptr : std::unique_ptr<Message>(prototype->New());
}

std::string JsonString(absl::string_view text) {
  return absl::StrCat("\"", JsonEscape(text), "\"");
}

}  // namespace

std::vector<const ServiceDescriptor*> ServedServices() {
  return {
      ServiceOf(directory::v1::Person::descriptor(), "DirectoryService"),
      ServiceOf(checkin::v1::Checkin::descriptor(), "CheckinService"),
      ServiceOf(alerts::v1::Alert::descriptor(), "AlertService"),
      ServiceOf(supervision::v1::Session::descriptor(), "SupervisionService"),
      ServiceOf(network::v1::Channel::descriptor(), "PeerNetworkService"),
      ServiceOf(gateway::v1::Webhook::descriptor(), "WebhookService"),
  };
}

absl::StatusOr<RpcMethod> FindMethod(absl::string_view path) {
  absl::string_view rest = path;
  if (!absl::ConsumePrefix(&rest, "/")) return absl::UnimplementedError("no such method");
  size_t slash = rest.find('/');
  if (slash == absl::string_view::npos) return absl::UnimplementedError("no such method");
  absl::string_view service_name = rest.substr(0, slash);
  absl::string_view method_name = rest.substr(slash + 1);
  for (const ServiceDescriptor* service : ServedServices()) {
    if (service == nullptr || service->full_name() != service_name) continue;
    const google::protobuf::MethodDescriptor* method =
        service->FindMethodByName(std::string(method_name));
    if (method == nullptr || method->client_streaming()) break;
    return RpcMethod{method, method->server_streaming(), std::string(path)};
  }
  return absl::UnimplementedError(absl::StrCat("no such method: ", path));
}

absl::StatusOr<std::string> JsonToRequest(const RpcMethod& method, absl::string_view json) {
  std::unique_ptr<Message> request = NewMessage(method.descriptor->input_type());
  if (request == nullptr) return absl::InternalError("no request type");
  if (!absl::StripAsciiWhitespace(json).empty()) {
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = false;
    auto parsed =
        google::protobuf::util::JsonStringToMessage(std::string(json), request.get(), options);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("the request body is not a ",
                                                     method.descriptor->input_type()->full_name(),
                                                     " in JSON: ", parsed.message().as_string()));
    }
  }
  std::string bytes;
  if (!request->SerializeToString(&bytes)) {
    return absl::InvalidArgumentError("the request cannot be encoded");
  }
  return bytes;
}

absl::StatusOr<std::string> ResponseToJson(const RpcMethod& method, absl::string_view bytes) {
  std::unique_ptr<Message> response = NewMessage(method.descriptor->output_type());
  if (response == nullptr) return absl::InternalError("no response type");
  if (!response->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::InternalError("the service's response could not be decoded");
  }
  std::string json;
  auto printed = google::protobuf::util::MessageToJsonString(*response, &json);
  if (!printed.ok()) return absl::InternalError(printed.message().as_string());
  return json;
}

std::string ConnectCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::CANCELLED:
      return "canceled";
    case grpc::StatusCode::UNKNOWN:
      return "unknown";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "invalid_argument";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "deadline_exceeded";
    case grpc::StatusCode::NOT_FOUND:
      return "not_found";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "already_exists";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "permission_denied";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "resource_exhausted";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "failed_precondition";
    case grpc::StatusCode::ABORTED:
      return "aborted";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "out_of_range";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "unimplemented";
    case grpc::StatusCode::INTERNAL:
      return "internal";
    case grpc::StatusCode::UNAVAILABLE:
      return "unavailable";
    case grpc::StatusCode::DATA_LOSS:
      return "data_loss";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "unauthenticated";
    default:
      return "unknown";
  }
}

grpc::StatusCode ConnectCodeFromName(absl::string_view name) {
  for (int code = grpc::StatusCode::CANCELLED; code <= grpc::StatusCode::UNAUTHENTICATED; ++code) {
    auto status_code = static_cast<grpc::StatusCode>(code);
    if (ConnectCodeName(status_code) == name) return status_code;
  }
  return grpc::StatusCode::UNKNOWN;
}

int ConnectHttpStatus(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return 200;
    case grpc::StatusCode::CANCELLED:
      return 499;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::OUT_OF_RANGE:
      return 400;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return 504;
    case grpc::StatusCode::NOT_FOUND:
      return 404;
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::ABORTED:
      return 409;
    case grpc::StatusCode::PERMISSION_DENIED:
      return 403;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return 429;
    case grpc::StatusCode::UNIMPLEMENTED:
      return 501;
    case grpc::StatusCode::UNAVAILABLE:
      return 503;
    case grpc::StatusCode::UNAUTHENTICATED:
      return 401;
    default:  // UNKNOWN, INTERNAL, DATA_LOSS
      return 500;
  }
}

std::string ConnectErrorJson(const grpc::Status& status) {
  std::string json = absl::StrCat("{\"code\":", JsonString(ConnectCodeName(status.error_code())));
  if (!status.error_message().empty()) {
    absl::StrAppend(&json, ",\"message\":", JsonString(status.error_message()));
  }
  json += "}";
  return json;
}

std::string Envelope(uint8_t flags, absl::string_view payload) {
  std::string envelope;
  envelope.reserve(5 + payload.size());
  envelope += static_cast<char>(flags);
  uint32_t size = static_cast<uint32_t>(payload.size());
  for (int shift = 24; shift >= 0; shift -= 8)
    envelope += static_cast<char>((size >> shift) & 0xff);
  envelope.append(payload.data(), payload.size());
  return envelope;
}

std::string EndStreamJson(const grpc::Status& status) {
  if (status.ok()) return "{}";
  return absl::StrCat("{\"error\":", ConnectErrorJson(status), "}");
}

absl::StatusOr<ParsedEnvelope> ParseEnvelope(absl::string_view data, size_t max_size) {
  if (data.size() < 5) return absl::InvalidArgumentError("an envelope is cut short");
  uint32_t size = 0;
  for (int i = 1; i <= 4; ++i) size = (size << 8) | static_cast<unsigned char>(data[i]);
  if (size > max_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("a message is larger than ", max_size, " bytes"));
  }
  if (data.size() < 5 + static_cast<size_t>(size)) {
    return absl::InvalidArgumentError("an envelope is cut short");
  }
  return ParsedEnvelope{static_cast<uint8_t>(data[0]), std::string(data.substr(5, size))};
}

absl::StatusOr<std::optional<absl::Duration>> ParseConnectTimeout(
    std::optional<absl::string_view> header) {
  if (!header.has_value()) return std::nullopt;
  int64_t millis = 0;
  if (header->empty() || header->size() > 10 ||
      !std::all_of(header->begin(), header->end(), absl::ascii_isdigit) ||
      !absl::SimpleAtoi(*header, &millis)) {
    return absl::InvalidArgumentError("Connect-Timeout-Ms: must be 1 to 10 digits");
  }
  return absl::Milliseconds(millis);
}

}  // namespace peerwell::gateway
