#include "tests/fuzz/fuzz_seeds.h"

#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "tests/authz/matrix.h"

namespace peerwell::fuzz {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream file(path);
  if (!file) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

}  // namespace

absl::StatusOr<std::vector<FuzzInput>> SeedsFromMatrix(const std::string& source_dir) {
  auto requests_text = ReadFile(source_dir + "/tests/authz/requests.txt");
  if (!requests_text.ok()) return requests_text.status();
  auto matrix_text = ReadFile(source_dir + "/tests/authz/matrix.txt");
  if (!matrix_text.ok()) return matrix_text.status();
  auto requests = authz::ParseRequests(*requests_text);
  if (!requests.ok()) return requests.status();
  auto cells = authz::ParseMatrix(*matrix_text);
  if (!cells.ok()) return cells.status();

  std::vector<FuzzInput> seeds;
  for (const auto& [rpc, request] : requests->templates) {
    size_t before = seeds.size();
    for (const authz::Cell& cell : *cells) {
      if (cell.rpc != rpc) continue;
      for (const std::string& target : authz::Targets()) {
        auto code = cell.codes.find(target);
        if (code != cell.codes.end() && code->second == "OK") {
          seeds.push_back({rpc, cell.caller, target, request.text});
          break;
        }
      }
    }
    if (seeds.size() == before) seeds.push_back({rpc, "coordinator", "own", request.text});
  }
  return seeds;
}

std::vector<std::string> SeedPlaceholders(const std::vector<FuzzInput>& seeds) {
  std::set<std::string> names(authz::FixedPlaceholders().begin(), authz::FixedPlaceholders().end());
  for (const FuzzInput& seed : seeds) {
    for (std::string& name : authz::PlaceholderNames(seed.request_text)) {
      names.insert(std::move(name));
    }
  }
  std::vector<std::string> placeholders;
  for (const std::string& name : names) placeholders.push_back(absl::StrCat("${", name, "}"));
  return placeholders;
}

std::string SeedFileName(const FuzzInput& seed) {
  std::string rpc = seed.rpc.substr(seed.rpc.rfind('.', seed.rpc.find('/')) + 1);
  return absl::StrCat(absl::StrReplaceAll(rpc, {{"/", "."}}), ".", seed.caller, ".", seed.target);
}

}  // namespace peerwell::fuzz
