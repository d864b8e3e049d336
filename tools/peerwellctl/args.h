#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace peerwell::ctl {

// A wrong command line exits with 2 and a service's refusal with 1. Both travel as absl::Status
// through the same returns; a payload marks the usage errors so that main can tell them apart
// even when the service itself answered INVALID_ARGUMENT.
absl::Status UsageError(absl::string_view message);
bool IsUsageError(const absl::Status& status);

enum class FlagKind {
  kValue,     // --name VALUE or --name=VALUE; given at most once
  kRepeated,  // --scope A --scope B
  kSwitch,    // --json; takes no value
};

struct FlagSpec {
  std::string name;  // without the dashes: "request-id"
  FlagKind kind = FlagKind::kValue;
  std::string value_name;  // shown in help: "ID"
  std::string help;
  bool required = false;
};

// What a command line said, after checking it against the flags a command accepts.
class ParsedArgs {
 public:
  bool Has(absl::string_view flag) const;
  // The value of a kValue flag, or nullopt when it was not given.
  std::optional<std::string> Get(absl::string_view flag) const;
  // Every value of a kRepeated flag, in command-line order.
  std::vector<std::string> GetAll(absl::string_view flag) const;
  const std::vector<std::string>& positionals() const { return positionals_; }

 private:
  friend absl::StatusOr<ParsedArgs> ParseFlags(const std::vector<std::string>& args,
                                               const std::vector<FlagSpec>& specs,
                                               std::vector<std::string>* rest);
  std::map<std::string, std::vector<std::string>, std::less<>> values_;
  std::vector<std::string> positionals_;
};

// Parses `args` against `specs`. With `rest` == nullptr every flag must be known and every
// other argument is a positional. With `rest` set, only the flags of `specs` are taken out and
// everything else (other flags with their values, words) is kept in `rest` in order: that is how
// the global flags may stand anywhere on the line. "--" ends the flags; "-h" means "--help".
// Required flags are checked only when `rest` is nullptr.
absl::StatusOr<ParsedArgs> ParseFlags(const std::vector<std::string>& args,
                                      const std::vector<FlagSpec>& specs,
                                      std::vector<std::string>* rest = nullptr);

}  // namespace peerwell::ctl
