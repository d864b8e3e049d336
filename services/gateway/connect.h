#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/support/status.h"

namespace peerwell::gateway {

// The Connect protocol (connectrpc.com) as the gateway speaks it to HTTP clients, and the
// transcoding between its JSON and the services' protobuf, through protobuf's own JSON mapping
// and the services' descriptors: one generic path, so a new RPC of a served service needs no
// gateway code.

// An RPC the gateway serves: "/<package>.<Service>/<Method>" of one of the suite's services.
struct RpcMethod {
  const google::protobuf::MethodDescriptor* descriptor = nullptr;
  bool server_streaming = false;
  std::string path;  // also the gRPC method path
};

// The suite's services the gateway serves (directory, check-ins, alerts, supervision, network).
std::vector<const google::protobuf::ServiceDescriptor*> ServedServices();

// The method at `path`; UNIMPLEMENTED for anything else (another service, an unknown method, a
// client- or bidirectional-streaming one, which Connect over HTTP/1.1 cannot carry).
absl::StatusOr<RpcMethod> FindMethod(absl::string_view path);

// A request's JSON (proto3 JSON mapping; unknown fields refused) as the protobuf bytes the
// service takes; INVALID_ARGUMENT saying what is wrong. An empty body is the empty message.
absl::StatusOr<std::string> JsonToRequest(const RpcMethod& method, absl::string_view json);
// A response's protobuf bytes as JSON (field names in lowerCamelCase, as Connect clients expect).
absl::StatusOr<std::string> ResponseToJson(const RpcMethod& method, absl::string_view bytes);

// Connect's name of a code ("not_found") and the HTTP status a unary error answers with.
std::string ConnectCodeName(grpc::StatusCode code);
// The code a Connect name stands for (what a client reads from an error body); UNKNOWN for a
// name Connect does not have.
grpc::StatusCode ConnectCodeFromName(absl::string_view name);
int ConnectHttpStatus(grpc::StatusCode code);
// The error object of a Connect response: {"code": "...", "message": "..."}.
std::string ConnectErrorJson(const grpc::Status& status);

// Server-streaming responses are enveloped: a flags byte, the length (4 bytes, big-endian) and
// the message. The last envelope has the end-stream flag and carries {"error": …} or {}.
inline constexpr uint8_t kEndStreamFlag = 0x02;
std::string Envelope(uint8_t flags, absl::string_view payload);
// The end-of-stream envelope's JSON: {} after success, {"error": {...}} otherwise.
std::string EndStreamJson(const grpc::Status& status);
struct ParsedEnvelope {
  uint8_t flags = 0;
  std::string payload;
};
// One envelope at the start of `data` (a streaming request's body); INVALID_ARGUMENT when it is
// cut short or longer than `max_size`.
absl::StatusOr<ParsedEnvelope> ParseEnvelope(absl::string_view data, size_t max_size);

// The `Connect-Timeout-Ms` header: 1 to 10 digits, milliseconds; nullopt when absent.
absl::StatusOr<std::optional<absl::Duration>> ParseConnectTimeout(
    std::optional<absl::string_view> header);

}  // namespace peerwell::gateway
