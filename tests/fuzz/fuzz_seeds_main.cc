// peerwell-fuzz-seeds <dir>: writes the fuzzers' seeds (fuzz_seeds.h) into <dir>, one file each,
// for tools/fuzz.sh to start libFuzzer from.
#include <cstdio>
#include <fstream>

#include "tests/fuzz/fuzz_seeds.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <dir>\n", argv[0]);
    return 2;
  }
  auto seeds = peerwell::fuzz::SeedsFromMatrix(PEERWELL_SOURCE_DIR);
  if (!seeds.ok()) {
    std::fprintf(stderr, "%s\n", seeds.status().ToString().c_str());
    return 1;
  }
  for (const peerwell::fuzz::FuzzInput& seed : *seeds) {
    std::ofstream file(std::string(argv[1]) + "/" + peerwell::fuzz::SeedFileName(seed));
    file << peerwell::fuzz::FormatFuzzInput(seed);
    if (!file) {
      std::fprintf(stderr, "cannot write into %s\n", argv[1]);
      return 1;
    }
  }
  return 0;
}
