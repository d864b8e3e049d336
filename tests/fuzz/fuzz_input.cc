#include "tests/fuzz/fuzz_input.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace peerwell::fuzz {

FuzzInput ParseFuzzInput(absl::string_view data) {
  FuzzInput input;
  for (const auto& [prefix, field] :
       {std::pair<absl::string_view, std::string*>{"# rpc: ", &input.rpc},
        std::pair<absl::string_view, std::string*>{"# caller: ", &input.caller},
        std::pair<absl::string_view, std::string*>{"# target: ", &input.target}}) {
    if (!absl::ConsumePrefix(&data, prefix)) break;
    size_t end = data.find('\n');
    *field = std::string(absl::StripAsciiWhitespace(data.substr(0, end)));
    data = end == absl::string_view::npos ? absl::string_view() : data.substr(end + 1);
  }
  input.request_text = std::string(data);
  return input;
}

std::string FormatFuzzInput(const FuzzInput& input) {
  return absl::StrCat("# rpc: ", input.rpc, "\n# caller: ", input.caller,
                      "\n# target: ", input.target, "\n", input.request_text);
}

}  // namespace peerwell::fuzz
