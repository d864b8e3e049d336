// peerwell-fuzz: the libFuzzer target over every RPC of every gRPC service (FuzzTarget), built
// by Clang under AddressSanitizer and UndefinedBehaviorSanitizer (tools/build.sh --sanitize).
// PEERWELL_FUZZ_RPC=<package.Service>/<Rpc> keeps one RPC's inputs: tools/fuzz.sh runs each RPC
// on its own for a number of inputs.

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "tests/fuzz/fuzz_seeds.h"
#include "tests/fuzz/fuzz_target.h"

namespace {

peerwell::fuzz::FuzzTarget* target = nullptr;

[[noreturn]] void Fail(const absl::Status& status) {
  std::fprintf(stderr, "peerwell-fuzz: %s\n", status.ToString().c_str());
  std::abort();
}

absl::string_view View(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  const char* rpc = std::getenv("PEERWELL_FUZZ_RPC");
  auto seeds = peerwell::fuzz::SeedsFromMatrix(PEERWELL_SOURCE_DIR);
  if (!seeds.ok()) Fail(seeds.status());
  auto started = peerwell::fuzz::FuzzTarget::Start(rpc == nullptr ? "" : rpc,
                                                   peerwell::fuzz::SeedPlaceholders(*seeds));
  if (!started.ok()) Fail(started.status());
  target = started->release();
  // libFuzzer ends with exit(), whose handlers destroy the program's static objects while the
  // services' own threads still run and read them (ASan saw the alerts escalator read a freed
  // key name). Registered after those objects were made, this runs before they go: the suite
  // shuts down first, as a binary's does before main returns.
  std::atexit([] {
    delete target;
    target = nullptr;
  });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto outcome = target->Run(View(data, size));
  if (!outcome.ok()) Fail(outcome.status());
  // -1 keeps an input that tests nothing out of the corpus.
  return *outcome == peerwell::fuzz::FuzzTarget::Outcome::kSkipped ? -1 : 0;
}

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
                                          unsigned int seed) {
  std::string mutant = target->Mutate(View(data, size), max_size, seed);
  std::memcpy(data, mutant.data(), mutant.size());
  return mutant.size();
}
