#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace peerwell::gateway {

// What the gateway answers with on every response, whatever the route: a strict
// Content-Security-Policy (the dashboard loads nothing from another host and runs no inline
// script) and the usual headers against sniffing, framing and leaking the address (which may
// carry a sign-in token in its fragment).
const std::vector<std::pair<std::string, std::string>>& SecurityHeaders();

// Whether a browser page from `origin` may call the API: only origins on the allowlist, compared
// exactly (scheme, host and port); with no allowlist, none.
bool OriginAllowed(const std::vector<std::string>& allowlist, absl::string_view origin);
// The headers of a CORS preflight answer for an allowed origin.
std::vector<std::pair<std::string, std::string>> CorsPreflightHeaders(absl::string_view origin);

// How a Connect request's body is encoded, from its Content-Type.
struct ConnectContentType {
  bool streaming = false;  // application/connect+json or application/connect+proto
  bool json = true;        // otherwise protobuf's binary encoding
};
// UNIMPLEMENTED (HTTP 415) for anything else.
absl::StatusOr<ConnectContentType> ParseConnectContentType(absl::string_view header);
std::string ContentTypeOf(const ConnectContentType& type);

// The credential a request carries (Authorization, else x-api-key), which keys the cap on its
// open streams; nullopt when it carries none. The same credential written differently (the
// scheme's letter case, spaces around the token, which the services accept alike) is one key.
std::optional<std::string> CredentialOf(absl::string_view authorization,
                                        absl::string_view api_key);

// The parameters of a URL's query ("a=1&b=x%20y"), decoded (percent escapes, "+" as a space),
// in order; INVALID_ARGUMENT for a malformed escape.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseQueryString(
    absl::string_view query);
// `text` with everything but unreserved characters (RFC 3986) percent-escaped.
std::string PercentEncode(absl::string_view text);

// Whether an If-None-Match header matches the entity tag `etag` (quoted): "*", or any tag of
// its comma-separated list, compared weakly (RFC 9110 §13.1.2: W/ ignored), so that a cache or
// proxy that weakened the tag still gets 304 Not Modified.
bool IfNoneMatchMatches(absl::string_view header, absl::string_view etag);

// Header values the gateway passes on to the services: visible ASCII and spaces only (gRPC refuses
// any other byte in metadata, and would abort the process on it).
bool IsPrintableAscii(absl::string_view value);

// What a connected socket that was reported readable really holds, looked at without reading
// or blocking. A readiness report can arrive for bytes an earlier read already took (the
// reactor's edge for them comes after the read), so "readable with nothing to read" is not by
// itself a client that left.
enum class PeerState {
  kSending,  // bytes wait to be read
  kIdle,     // nothing to read, the connection open: a stale readiness report
  kGone,     // the client closed its side, or the connection failed
};
PeerState ProbePeer(int socket_fd);

}  // namespace peerwell::gateway
