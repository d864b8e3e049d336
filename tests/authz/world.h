#pragma once

// The world the authorization matrix is judged in (tests/authz/matrix.txt's header): a pair of
// organisations A and B of one shape, and the resources a request names, made through the
// services' public RPCs as their users would make them.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/generic/generic_stub.h"
#include "peerwell/alerts/v1/alerts.grpc.pb.h"
#include "peerwell/checkin/v1/checkin.grpc.pb.h"
#include "peerwell/directory/v1/directory.grpc.pb.h"
#include "peerwell/gateway/v1/webhooks.grpc.pb.h"
#include "peerwell/network/v1/network.grpc.pb.h"
#include "peerwell/supervision/v1/supervision.grpc.pb.h"

namespace peerwell::authz {

// The stubs every world is made through.
struct Stubs {
  std::unique_ptr<directory::v1::DirectoryService::Stub> directory;
  std::unique_ptr<checkin::v1::CheckinService::Stub> checkin;
  std::unique_ptr<alerts::v1::AlertService::Stub> alerts;
  std::unique_ptr<supervision::v1::SupervisionService::Stub> supervision;
  std::unique_ptr<network::v1::PeerNetworkService::Stub> network;
  std::unique_ptr<gateway::v1::WebhookService::Stub> webhooks;
};

// Stubs on the channels to each service, `address_of` giving a gRPC target for a service's name
// ("directory", ..., "webhooks").
Stubs ConnectStubs(const std::function<std::string(const std::string& service)>& address_of);

// What a caller sends: a bearer token, an API key, or nothing.
struct Credentials {
  std::string bearer;
  std::string api_key;
};
inline Credentials Bearer(std::string token) { return {std::move(token), ""}; }
inline Credentials ApiKey(std::string secret) { return {"", std::move(secret)}; }

// A request filled in for one caller and target, and the values that stand for the target in it
// (so that an answer can be compared with another once they are taken out).
struct FilledRequest {
  std::string text;
  std::vector<std::string> target_values;
};

// Organisations A and B: coordinator C, supervisors S and S2, volunteer V supervised by S and
// volunteer W supervised by S2, both consenting to risk monitoring and to sharing their scores
// with their supervisors. Anything else (sessions, alerts, channels, keys …) is made the first
// time a request names it. Not thread-safe: one world per thread.
class World {
 public:
  World(const Stubs& stubs, std::string jwt_secret);

  // Makes both organisations and their people.
  absl::Status Seed();

  // One of matrix.h's Callers(), acting in organisation A.
  absl::StatusOr<Credentials> CredentialsOf(const std::string& caller);

  // Fills in requests.txt's placeholders for `caller` and `target` (one of Targets(), or "" for
  // a request that names no target).
  absl::StatusOr<FilledRequest> Fill(const std::string& text, const std::string& caller,
                                     const std::string& target);

  // Calls made to build this world so far.
  int calls() const { return calls_; }

 private:
  using Resource = std::map<std::string, std::string>;  // field ("" = the id) -> value
  struct Org {
    std::string name;
    std::string id;
    std::map<std::string, std::string> people;  // "C", "S", "S2", "V", "W" -> person id
    std::map<std::string, std::string> tokens;  // the same -> bearer token
    bool supervisors_available = false;
    std::map<std::pair<std::string, std::string>, Resource> resources;  // (kind, label)
    std::map<std::string, std::pair<std::string, std::string>> keys;    // label -> (id, secret)
  };
  // Which resource a target names: in which organisation, whose (a label), or none at all.
  struct Named {
    Org* org = nullptr;  // null: missing
    std::string label;
    bool absent = false;
  };

  absl::Status SeedOrg(Org& org);
  Named NameTarget(const std::string& kind, const std::string& caller, const std::string& target);
  absl::StatusOr<Resource> Make(const std::string& kind, Org& org, const std::string& label);
  absl::StatusOr<Resource> MakeSession(Org& org, const std::string& label, bool group);
  // The debrief offered to `person` after a critical incident they report, which must be with
  // their own `supervisor` (the service prefers them).
  absl::StatusOr<std::string> OfferTo(Org& org, const std::string& person,
                                      const std::string& supervisor);
  absl::StatusOr<std::string> AlertAbout(Org& org, const std::string& person);
  absl::Status ReportIncident(Org& org, const std::string& person);
  absl::Status MakeSupervisorsAvailable(Org& org);
  absl::StatusOr<std::pair<std::string, std::string>> Key(Org& org, const std::string& label,
                                                          const std::string& scope);
  std::string NextSlot();
  std::string Token(Org& org, const std::string& person) { return org.tokens.at(person); }
  template <typename Send>
  absl::Status Call(const char* what, const Credentials& credentials, Send send);

  const Stubs& stubs_;
  std::string jwt_secret_;
  Org a_;
  Org b_;
  absl::Time first_slot_;
  int next_slot_ = 0;
  int next_request_ = 0;
  int calls_ = 0;
};

// Calls `method` with the request's wire bytes as `credentials`, within `deadline`. A unary call
// leaves its answer's wire bytes in `response`; a server-streaming one is OK once the server
// has sent its initial metadata (the services send it when the stream is live), and is then
// cancelled, else it is the status the stream ended with.
grpc::Status CallRpc(grpc::GenericStub& stub, const google::protobuf::MethodDescriptor& method,
                     const std::string& request, const Credentials& credentials,
                     absl::Duration deadline, std::string* response);

// `value` with every id in it (20 lowercase hex digits at the end of a run of them, as
// services/common/ids.h makes them) replaced by a new random one: well-formed, naming nothing.
std::string MissingLike(const std::string& value);

}  // namespace peerwell::authz
