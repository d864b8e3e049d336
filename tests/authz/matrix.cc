#include "tests/authz/matrix.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/protobuf/text_format.h"

namespace peerwell::authz {
namespace {

const std::set<std::string>& StatusNames() {
  static const auto* names = new std::set<std::string>{
      "OK",           "CANCELLED",          "UNKNOWN",           "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED", "NOT_FOUND",     "ALREADY_EXISTS",    "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",   "OUT_OF_RANGE",
      "UNIMPLEMENTED", "INTERNAL",          "UNAVAILABLE",       "DATA_LOSS",
      "UNAUTHENTICATED"};
  return *names;
}

bool Contains(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

}  // namespace

const std::vector<std::string>& Callers() {
  static const auto* callers = new std::vector<std::string>{
      "none",      "bad_signature", "expired", "wrong_audience",     "volunteer",
      "supervisor", "coordinator",  "admin",   "service",            "partner_aggregates",
      "partner_exports", "partner_webhooks"};
  return *callers;
}

const std::vector<std::string>& Targets() {
  static const auto* targets =
      new std::vector<std::string>{"own", "assigned", "same_org", "other_org", "missing"};
  return *targets;
}

absl::StatusOr<std::vector<Cell>> ParseMatrix(absl::string_view text) {
  std::vector<Cell> cells;
  std::set<std::pair<std::string, std::string>> seen;
  int number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++number;
    line = line.substr(0, line.find('#'));
    std::vector<std::string> words = absl::StrSplit(line, ' ', absl::SkipWhitespace());
    if (words.empty()) continue;
    auto bad = [&](absl::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat("matrix line ", number, ": ", why));
    };
    if (words.size() != 3 && words.size() != 2 + Targets().size()) {
      return bad("expected '<rpc> <caller> <CODE>' or a code for each of the five targets");
    }
    Cell cell;
    cell.rpc = words[0];
    cell.caller = words[1];
    cell.line = number;
    if (cell.rpc.find('/') == std::string::npos) return bad("an rpc is <package.Service>/<Rpc>");
    if (!Contains(Callers(), cell.caller)) return bad(absl::StrCat("unknown caller ", cell.caller));
    if (!seen.insert({cell.rpc, cell.caller}).second) return bad("this rpc and caller again");
    if (words.size() == 3) {
      if (StatusNames().count(words[2]) == 0) return bad(absl::StrCat("unknown code ", words[2]));
      for (const std::string& target : Targets()) cell.codes[target] = words[2];
    } else {
      for (size_t i = 2; i < words.size(); ++i) {
        std::pair<std::string, std::string> pair = absl::StrSplit(words[i], '=');
        if (!Contains(Targets(), pair.first)) return bad(absl::StrCat("unknown target ", words[i]));
        if (StatusNames().count(pair.second) == 0) {
          return bad(absl::StrCat("unknown code ", pair.second));
        }
        if (!cell.codes.emplace(pair.first, pair.second).second) return bad("a target twice");
      }
    }
    cells.push_back(std::move(cell));
  }
  return cells;
}

class ProtoSchema::Errors : public google::protobuf::compiler::MultiFileErrorCollector {
 public:
  void AddError(const std::string& filename, int line, int column,
                const std::string& message) override {
    absl::StrAppend(&errors, filename, ":", line + 1, ":", column + 1, ": ", message, "\n");
  }
  std::string errors;
};

ProtoSchema::ProtoSchema() : errors_(std::make_unique<Errors>()) {}
ProtoSchema::~ProtoSchema() = default;

absl::StatusOr<std::unique_ptr<ProtoSchema>> ProtoSchema::Load(const std::string& protos_dir) {
  auto schema = std::unique_ptr<ProtoSchema>(new ProtoSchema());
  schema->sources_.MapPath("", protos_dir);
  schema->sources_.MapPath("", PEERWELL_PROTOBUF_INCLUDE_DIR);  // the well-known types
  schema->importer_ = std::make_unique<google::protobuf::compiler::Importer>(&schema->sources_,
                                                                             schema->errors_.get());
  for (const auto& entry : std::filesystem::recursive_directory_iterator(
           std::filesystem::path(protos_dir) / "peerwell")) {
    if (entry.path().extension() != ".proto") continue;
    std::string relative = std::filesystem::relative(entry.path(), protos_dir).string();
    const google::protobuf::FileDescriptor* file = schema->importer_->Import(relative);
    if (file == nullptr) return absl::InvalidArgumentError(schema->errors_->errors);
    if (file->package() == "peerwell.bench.v1") continue;
    for (int s = 0; s < file->service_count(); ++s) {
      const google::protobuf::ServiceDescriptor* service = file->service(s);
      for (int m = 0; m < service->method_count(); ++m) {
        std::string rpc = absl::StrCat(service->full_name(), "/", service->method(m)->name());
        schema->rpcs_.push_back(rpc);
        schema->methods_[rpc] = service->method(m);
      }
    }
  }
  std::sort(schema->rpcs_.begin(), schema->rpcs_.end());
  return schema;
}

const google::protobuf::MethodDescriptor* ProtoSchema::FindMethod(const std::string& rpc) const {
  auto it = methods_.find(rpc);
  return it == methods_.end() ? nullptr : it->second;
}

std::unique_ptr<google::protobuf::Message> ProtoSchema::NewMessage(
    const google::protobuf::Descriptor& descriptor) const {
  return std::unique_ptr<google::protobuf::Message>(factory_.GetPrototype(&descriptor)->New());
}

absl::StatusOr<std::unique_ptr<google::protobuf::Message>> ProtoSchema::ParseRequest(
    const google::protobuf::MethodDescriptor& method, const std::string& text) const {
  class Collect : public google::protobuf::io::ErrorCollector {
   public:
    void AddError(int line, int column, const std::string& message) override {
      absl::StrAppend(&errors, line + 1, ":", column + 1, ": ", message, "; ");
    }
    std::string errors;
  };
  std::unique_ptr<google::protobuf::Message> request = NewMessage(*method.input_type());
  google::protobuf::TextFormat::Parser parser;
  Collect errors;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(text, request.get())) {
    return absl::InvalidArgumentError(
        absl::StrCat(method.input_type()->full_name(), " from \"", text, "\": ", errors.errors));
  }
  return request;
}

absl::StatusOr<std::vector<std::string>> DeclaredRpcs(const std::string& protos_dir) {
  auto schema = ProtoSchema::Load(protos_dir);
  if (!schema.ok()) return schema.status();
  return (*schema)->rpcs();
}

namespace {

// A target's resource and the fields of it a request may name besides its id.
const std::map<std::string, std::set<std::string>>& TargetFields() {
  static const auto* fields = new std::map<std::string, std::set<std::string>>{
      {"person", {}},  {"participant", {}}, {"supervisor", {}},
      {"alert", {}},   {"silence", {}},     {"api_key", {"secret"}},
      {"webhook", {}}, {"channel", {}},     {"message", {"channel"}},
      {"report", {}},  {"session", {}},     {"group_session", {}},
      {"offer", {}},   {"feed", {}}};
  return *fields;
}

bool IsRelativeTime(absl::string_view name) {
  if (!absl::ConsumePrefix(&name, "time") || !absl::ConsumeSuffix(&name, "h")) return false;
  if (!absl::ConsumePrefix(&name, "+") && !absl::ConsumePrefix(&name, "-")) return false;
  int hours = 0;
  return absl::SimpleAtoi(name, &hours) && hours >= 0;
}

}  // namespace

const std::vector<std::string>& FixedPlaceholders() {
  static const auto* names = new std::vector<std::string>{
      "request_id", "slot", "calendar_token", "A.C", "A.S", "A.S2", "A.V", "A.W"};
  return *names;
}

std::vector<std::string> PlaceholderNames(absl::string_view text) {
  std::vector<std::string> names;
  for (size_t at = text.find("${"); at != absl::string_view::npos; at = text.find("${", at)) {
    size_t end = text.find('}', at);
    if (end == absl::string_view::npos) break;
    std::string name(text.substr(at + 2, end - at - 2));
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    at = end;
  }
  return names;
}

std::string TargetKindOf(absl::string_view placeholder) {
  std::string kind(placeholder.substr(0, placeholder.find('.')));
  return TargetFields().count(kind) > 0 ? kind : "";
}

absl::Status CheckPlaceholder(absl::string_view placeholder) {
  const auto& fixed = FixedPlaceholders();
  if (std::find(fixed.begin(), fixed.end(), placeholder) != fixed.end() ||
      IsRelativeTime(placeholder)) {
    return absl::OkStatus();
  }
  std::string kind = TargetKindOf(placeholder);
  if (!kind.empty()) {
    if (placeholder == kind) return absl::OkStatus();
    std::string field(placeholder.substr(kind.size() + 1));
    if (TargetFields().at(kind).count(field) > 0) return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown placeholder ${", placeholder, "}"));
}

absl::StatusOr<std::string> FillTemplate(
    absl::string_view text,
    const std::function<absl::StatusOr<std::optional<std::string>>(const std::string&)>& value) {
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    std::string filled;
    bool absent = false;
    size_t from = 0;
    for (size_t at = line.find("${"); at != absl::string_view::npos; at = line.find("${", from)) {
      size_t end = line.find('}', at);
      if (end == absl::string_view::npos) {
        return absl::InvalidArgumentError(absl::StrCat("unclosed placeholder in: ", line));
      }
      auto found = value(std::string(line.substr(at + 2, end - at - 2)));
      if (!found.ok()) return found.status();
      if (!found->has_value()) absent = true;
      absl::StrAppend(&filled, line.substr(from, at - from),
                      found->has_value() ? absl::CEscape(**found) : "");
      from = end + 1;
    }
    if (absent) continue;
    absl::StrAppend(&filled, line.substr(from));
    lines.push_back(std::move(filled));
  }
  return absl::StrJoin(lines, "\n");
}

absl::StatusOr<Requests> ParseRequests(absl::string_view text) {
  Requests requests;
  RequestTemplate* open = nullptr;
  int number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++number;
    auto bad = [&](absl::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat("requests line ", number, ": ", why));
    };
    if (absl::StripLeadingAsciiWhitespace(line).empty() ||
        absl::StartsWith(absl::StripLeadingAsciiWhitespace(line), "#")) {
      continue;
    }
    if (absl::ascii_isspace(static_cast<unsigned char>(line[0]))) {
      if (open == nullptr) return bad("a request's text outside an 'rpc' block");
      for (const std::string& name : PlaceholderNames(line)) {
        if (absl::Status known = CheckPlaceholder(name); !known.ok()) return bad(known.message());
      }
      absl::StrAppend(&open->text, open->text.empty() ? "" : "\n",
                      absl::StripAsciiWhitespace(line));
      continue;
    }
    open = nullptr;
    std::vector<std::string> words = absl::StrSplit(line, ' ', absl::SkipWhitespace());
    if (words[0] == "serve" && words.size() == 3) {
      if (!requests.servers.emplace(words[1], words[2]).second) return bad("this service again");
    } else if (words[0] == "rpc" && words.size() == 2) {
      if (words[1].find('/') == std::string::npos) return bad("an rpc is <package.Service>/<Rpc>");
      auto [it, added] = requests.templates.emplace(words[1], RequestTemplate{});
      if (!added) return bad("this rpc again");
      it->second.rpc = words[1];
      it->second.line = number;
      open = &it->second;
    } else if (words[0] == "authorized_if" && words.size() >= 4) {
      auto it = requests.templates.find(words[1]);
      if (it == requests.templates.end()) return bad("authorized_if before its rpc's request");
      if (StatusNames().count(words[2]) == 0) return bad(absl::StrCat("unknown code ", words[2]));
      std::vector<std::string> rest(words.begin() + 3, words.end());
      it->second.authorized_if = {words[2], absl::StrJoin(rest, " ")};
    } else {
      return bad("expected 'serve', 'rpc' or 'authorized_if'");
    }
  }
  return requests;
}

}  // namespace peerwell::authz
