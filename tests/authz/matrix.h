#pragma once

// The authorization matrix (tests/authz/matrix.txt): for every RPC of every PeerWell service, the
// status code each kind of caller gets for each kind of target.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/compiler/importer.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/message.h"

namespace peerwell::authz {

// Who calls: no or bad credentials, each role, and partner keys with one scope each.
const std::vector<std::string>& Callers();
// What the request names, relative to the caller (see the matrix's header).
const std::vector<std::string>& Targets();

struct Cell {
  std::string rpc;                           // "peerwell.directory.v1.DirectoryService/GetPerson"
  std::string caller;                        // one of Callers()
  std::map<std::string, std::string> codes;  // target → status name ("OK", "NOT_FOUND")
  int line = 0;
};

// Parses the matrix text: "<rpc> <caller> <CODE>" (one code for every target, or an RPC that
// names no target) or "<rpc> <caller> own=<CODE> assigned=<CODE> same_org=<CODE>
// other_org=<CODE> missing=<CODE>"; '#' starts a comment. INVALID_ARGUMENT names the line of a
// malformed row, an unknown caller, target or status name, or a row given twice.
absl::StatusOr<std::vector<Cell>> ParseMatrix(absl::string_view text);

// The services' schema read from the .proto files under `protos_dir`/peerwell, so that a new
// service or RPC is seen without a change here, and requests are built from it without any
// service's generated code. The benchmark tool's own in-process service is left out: the suite
// does not serve it.
class ProtoSchema {
 public:
  static absl::StatusOr<std::unique_ptr<ProtoSchema>> Load(const std::string& protos_dir);
  ~ProtoSchema();

  // Every RPC, as "<package.Service>/<Rpc>", sorted.
  const std::vector<std::string>& rpcs() const { return rpcs_; }
  // Null for an RPC no service declares.
  const google::protobuf::MethodDescriptor* FindMethod(const std::string& rpc) const;
  // A new request of the RPC's input type parsed from protobuf text format.
  absl::StatusOr<std::unique_ptr<google::protobuf::Message>> ParseRequest(
      const google::protobuf::MethodDescriptor& method, const std::string& text) const;
  // An empty message of `descriptor`'s type (e.g. to parse a response into).
  std::unique_ptr<google::protobuf::Message> NewMessage(
      const google::protobuf::Descriptor& descriptor) const;

 private:
  class Errors;
  ProtoSchema();
  google::protobuf::compiler::DiskSourceTree sources_;
  std::unique_ptr<Errors> errors_;
  std::unique_ptr<google::protobuf::compiler::Importer> importer_;
  mutable google::protobuf::DynamicMessageFactory factory_;
  std::vector<std::string> rpcs_;
  std::map<std::string, const google::protobuf::MethodDescriptor*> methods_;
};

// The RPCs of ProtoSchema::Load(protos_dir).
absl::StatusOr<std::vector<std::string>> DeclaredRpcs(const std::string& protos_dir);

// tests/authz/requests.txt: one valid request per RPC, in protobuf text format with placeholders
// that the runner fills in for each cell, and which of the suite's services serves each gRPC
// service.
struct RequestTemplate {
  std::string rpc;
  std::string text;
  int line = 0;
  // Set when the world cannot be brought to the state in which this RPC answers OK through the
  // public RPCs: the answer that comes instead, once the caller has passed authorization (a
  // status name and the start of its message).
  std::optional<std::pair<std::string, std::string>> authorized_if;
};
struct Requests {
  std::map<std::string, RequestTemplate> templates;  // by rpc
  std::map<std::string, std::string> servers;        // gRPC service -> the suite's service name
};

// "serve <package.Service> <suite service>" lines; "rpc <package.Service>/<Rpc>" followed by the
// request's text on indented lines (none for an empty request); "authorized_if <rpc> <CODE>
// <message start>"; '#' starts a comment line. INVALID_ARGUMENT names the line of anything else,
// of an unknown placeholder, or of an rpc given twice.
absl::StatusOr<Requests> ParseRequests(absl::string_view text);

// Placeholders are written ${name}. The ones named by a kind of resource (requests.txt lists
// them; ${kind} for its id, ${kind.field} for another of its fields) stand for what the cell's
// target names; the others (FixedPlaceholders(), and ${time+<N>h} / ${time-<N>h}: Unix seconds N
// hours from now) are the same for every target.
const std::vector<std::string>& FixedPlaceholders();
// The placeholders `text` uses, in order of appearance, each once.
std::vector<std::string> PlaceholderNames(absl::string_view text);
// The kind of resource a placeholder names ("message" for "message.channel"), or "" for a fixed
// one.
std::string TargetKindOf(absl::string_view placeholder);
// INVALID_ARGUMENT for a name that is neither a target kind's nor a fixed placeholder.
absl::Status CheckPlaceholder(absl::string_view placeholder);

// Fills in every placeholder of `text` with `value(name)`; a line holding a placeholder whose
// value is nullopt is left out (a field the request does not set for that target). Values are
// escaped for a text-format string.
absl::StatusOr<std::string> FillTemplate(
    absl::string_view text,
    const std::function<absl::StatusOr<std::optional<std::string>>(const std::string&)>& value);

}  // namespace peerwell::authz
