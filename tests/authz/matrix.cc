#include "tests/authz/matrix.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/protobuf/compiler/importer.h"
#include "google/protobuf/descriptor.h"

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

class CollectErrors : public google::protobuf::compiler::MultiFileErrorCollector {
 public:
  void AddError(const std::string& filename, int line, int column,
                const std::string& message) override {
    absl::StrAppend(&errors, filename, ":", line + 1, ":", column + 1, ": ", message, "\n");
  }
  std::string errors;
};

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

absl::StatusOr<std::vector<std::string>> DeclaredRpcs(const std::string& protos_dir) {
  google::protobuf::compiler::DiskSourceTree sources;
  sources.MapPath("", protos_dir);
  sources.MapPath("", PEERWELL_PROTOBUF_INCLUDE_DIR);  // google/protobuf's well-known types
  CollectErrors errors;
  google::protobuf::compiler::Importer importer(&sources, &errors);
  std::vector<std::string> rpcs;
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(std::filesystem::path(protos_dir) /
                                                     "peerwell")) {
    if (entry.path().extension() != ".proto") continue;
    std::string relative = std::filesystem::relative(entry.path(), protos_dir).string();
    const google::protobuf::FileDescriptor* file = importer.Import(relative);
    if (file == nullptr) return absl::InvalidArgumentError(errors.errors);
    if (file->package() == "peerwell.bench.v1") continue;
    for (int s = 0; s < file->service_count(); ++s) {
      const google::protobuf::ServiceDescriptor* service = file->service(s);
      for (int m = 0; m < service->method_count(); ++m) {
        rpcs.push_back(absl::StrCat(service->full_name(), "/", service->method(m)->name()));
      }
    }
  }
  std::sort(rpcs.begin(), rpcs.end());
  return rpcs;
}

}  // namespace peerwell::authz
