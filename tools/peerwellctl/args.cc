#include "tools/peerwellctl/args.h"

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace peerwell::ctl {
namespace {

constexpr absl::string_view kUsagePayload = "peerwellctl/usage";

const FlagSpec* FindFlag(const std::vector<FlagSpec>& specs, absl::string_view name) {
  for (const FlagSpec& spec : specs) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

}  // namespace

absl::Status UsageError(absl::string_view message) {
  absl::Status status = absl::InvalidArgumentError(message);
  status.SetPayload(kUsagePayload, absl::Cord("1"));
  return status;
}

bool IsUsageError(const absl::Status& status) {
  return status.GetPayload(kUsagePayload).has_value();
}

bool ParsedArgs::Has(absl::string_view flag) const { return values_.find(flag) != values_.end(); }

std::optional<std::string> ParsedArgs::Get(absl::string_view flag) const {
  auto it = values_.find(flag);
  if (it == values_.end() || it->second.empty()) return std::nullopt;
  return it->second.front();
}

std::vector<std::string> ParsedArgs::GetAll(absl::string_view flag) const {
  auto it = values_.find(flag);
  if (it == values_.end()) return {};
  return it->second;
}

absl::StatusOr<ParsedArgs> ParseFlags(const std::vector<std::string>& args,
                                      const std::vector<FlagSpec>& specs,
                                      std::vector<std::string>* rest) {
  ParsedArgs parsed;
  bool flags_ended = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (flags_ended) {
      if (rest != nullptr) {
        rest->push_back(arg);
      } else {
        parsed.positionals_.push_back(arg);
      }
      continue;
    }
    if (arg == "--") {
      flags_ended = true;
      if (rest != nullptr) rest->push_back(arg);
      continue;
    }
    absl::string_view text = arg;
    if (arg == "-h") text = "--help";
    if (!absl::ConsumePrefix(&text, "--")) {
      // "-x" is neither a word we know nor a flag: say so rather than treat it as a value.
      if (rest == nullptr && absl::StartsWith(text, "-") && text.size() > 1) {
        return UsageError(absl::StrCat("unknown flag ", text));
      }
      if (rest != nullptr) {
        rest->push_back(arg);
      } else {
        parsed.positionals_.push_back(arg);
      }
      continue;
    }
    absl::string_view name = text;
    std::optional<std::string> inline_value;
    if (size_t eq = text.find('='); eq != absl::string_view::npos) {
      name = text.substr(0, eq);
      inline_value = std::string(text.substr(eq + 1));
    }
    const FlagSpec* spec = FindFlag(specs, name);
    if (spec == nullptr) {
      if (rest == nullptr) return UsageError(absl::StrCat("unknown flag --", name));
      rest->push_back(arg);
      continue;
    }
    std::vector<std::string>& values = parsed.values_[spec->name];
    if (spec->kind == FlagKind::kSwitch) {
      if (inline_value.has_value()) {
        return UsageError(absl::StrCat("--", name, " takes no value"));
      }
      values.push_back("");
      continue;
    }
    std::string value;
    if (inline_value.has_value()) {
      value = *inline_value;
    } else if (i + 1 < args.size()) {
      // Like getopt, a value flag takes the next argument whatever it looks like, so that
      // values such as "-5" get through.
      value = args[++i];
    } else {
      return UsageError(absl::StrCat("--", name, " needs a value (", spec->value_name, ")"));
    }
    if (spec->kind == FlagKind::kValue && !values.empty()) {
      return UsageError(absl::StrCat("--", name, " is given twice"));
    }
    values.push_back(std::move(value));
  }
  if (rest == nullptr) {
    for (const FlagSpec& spec : specs) {
      if (spec.required && !parsed.Has(spec.name)) {
        return UsageError(absl::StrCat("--", spec.name, " is required"));
      }
    }
  }
  return parsed;
}

}  // namespace peerwell::ctl
