#pragma once

#include <functional>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grpcpp/support/status.h"

namespace peerwell::gateway {

// An answer the gateway writes itself rather than a Connect response.
struct HttpAnswer {
  int status = 200;
  std::string content_type;
  std::string body;
  const char* cache_control = "no-store";
  // With an ETag, and 304 Not Modified to a request whose If-None-Match matches it.
  bool etag = false;
};

// The gateway's GET routes beside Connect: FHIR R4 for partners (/fhir/r4/…) and calendar feeds
// (/calendar/<token>.ics). Each is one unary RPC of a service, so that the service decides who
// may see what exactly as it does for the same call over gRPC or Connect; this only translates
// the request and the answer.
struct RestRoute {
  std::string label;                 // the route's name in metrics
  std::optional<HttpAnswer> answer;  // answered without a call (metadata, a bad request)
  std::string rpc;                   // else the RPC's path, e.g.
                                     // "/peerwell.checkin.v1.CheckinService/ExportCheckins"
  std::string request;               // and its request, protobuf bytes
  // False when the request carries its own capability (a calendar feed's token): the caller's
  // credentials are neither needed nor passed on.
  bool forwards_credentials = true;
  std::function<HttpAnswer(const std::string& response)> render;
  std::function<HttpAnswer(const grpc::Status& status)> render_error;
};

// The route of a GET to `path` with `query` (without the "?"), or nullopt when the path is not
// one of these routes. `public_url` (GatewayConfig::public_url) begins absolute links; empty,
// links are relative.
std::optional<RestRoute> MatchRestRoute(absl::string_view path, absl::string_view query,
                                        absl::Time now, absl::string_view public_url);

}  // namespace peerwell::gateway
