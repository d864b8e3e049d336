// Replays the fuzzers' seeds (from the authorization matrix's requests) and their corpus of
// inputs worth keeping (tests/fuzz/corpus) through the same in-process suite and checks as
// peerwell-fuzz, in every build: a crash or a broken promise found once stays fixed, and every
// RPC the protos declare is reached by a seed.
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "gtest/gtest.h"
#include "tests/authz/matrix.h"
#include "tests/fuzz/fuzz_seeds.h"
#include "tests/fuzz/fuzz_target.h"

namespace peerwell::fuzz {
namespace {

TEST(FuzzCorpusTest, EveryInputIsAnsweredAsPromisedAndEveryRpcIsReached) {
  auto seeds = SeedsFromMatrix(PEERWELL_SOURCE_DIR);
  ASSERT_TRUE(seeds.ok()) << seeds.status();
  auto target = FuzzTarget::Start("", SeedPlaceholders(*seeds));
  ASSERT_TRUE(target.ok()) << target.status();
  struct Input {
    std::string name;
    std::string data;
    bool kept;  // from tests/fuzz/corpus: kept because it matters, so it must still be a call
  };
  std::vector<Input> inputs;
  for (const FuzzInput& seed : *seeds) {
    inputs.push_back({SeedFileName(seed), FormatFuzzInput(seed), false});
  }
  std::filesystem::path corpus = PEERWELL_SOURCE_DIR "/tests/fuzz/corpus";
  if (std::filesystem::exists(corpus)) {
    for (const auto& entry : std::filesystem::directory_iterator(corpus)) {
      std::ifstream file(entry.path());
      std::stringstream data;
      data << file.rdbuf();
      inputs.push_back({entry.path().filename().string(), data.str(), true});
    }
  }

  std::map<std::string, int> answered;  // by RPC
  for (const Input& input : inputs) {
    auto outcome = (*target)->Run(input.data);
    ASSERT_TRUE(outcome.ok()) << input.name << ": " << outcome.status();
    if (*outcome == FuzzTarget::Outcome::kAnswered) ++answered[ParseFuzzInput(input.data).rpc];
    if (input.kept) {
      EXPECT_EQ(*outcome, FuzzTarget::Outcome::kAnswered) << input.name << " makes no call now";
    }
  }
  auto rpcs = authz::DeclaredRpcs(PEERWELL_SOURCE_DIR "/protos");
  ASSERT_TRUE(rpcs.ok()) << rpcs.status();
  for (const std::string& rpc : *rpcs) {
    EXPECT_GT(answered[rpc], 0) << rpc << ": no seed reaches it";
  }
}

}  // namespace
}  // namespace peerwell::fuzz
