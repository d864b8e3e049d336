#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/generic/generic_stub.h"
#include "tests/authz/world.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/fuzz/in_process_suite.h"
#include "tests/fuzz/request_mutator.h"

namespace peerwell::fuzz {

// The linked-in descriptor of "<package.Service>/<Rpc>", or nullptr.
const google::protobuf::MethodDescriptor* FindMethod(const std::string& rpc);

// One call per input (tests/fuzz/fuzz_input.h) through the real gRPC stack into the services
// of an in-process suite. libFuzzer drives it in peerwell-fuzz; fuzz_corpus_test replays the
// corpus through it in every build.
//
// Beyond what the sanitizers catch, every answer must be one a client is promised: a refusal
// with a code that says what was wrong (INVALID_ARGUMENT with a message naming the field), never
// INTERNAL, UNKNOWN or a deadline overrun.
class FuzzTarget {
 public:
  // `only_rpc`: "<package.Service>/<Rpc>" to skip every other RPC's inputs, or empty.
  // `placeholders`: what the mutator may put in a string field (SeedPlaceholders).
  static absl::StatusOr<std::unique_ptr<FuzzTarget>> Start(std::string only_rpc,
                                                           std::vector<std::string> placeholders);

  enum class Outcome { kAnswered, kSkipped };
  // kSkipped: an input for another RPC than only_rpc, one that names no RPC, caller or target,
  // or whose request does not parse once filled in. An error: an answer no client is promised,
  // with the request.
  absl::StatusOr<Outcome> Run(absl::string_view data);

  // libFuzzer's custom mutator: the mutant of `data` in text, at most `max_size` bytes, or
  // `data` unchanged when none fits.
  std::string Mutate(absl::string_view data, size_t max_size, unsigned int seed) const;

 private:
  FuzzTarget() = default;
  // Two new organisations to call in (authz::World).
  absl::Status RenewWorld();

  static constexpr int kRunsPerWorld = 5000;

  std::string only_rpc_;
  std::unique_ptr<InProcessSuite> suite_;
  std::unique_ptr<authz::Stubs> stubs_for_world_;
  std::unique_ptr<authz::World> world_;
  int runs_in_world_ = 0;
  bool world_spoiled_ = false;  // a caller of it was deactivated
  std::unique_ptr<RequestMutator> mutator_;
  std::map<std::string, std::unique_ptr<grpc::GenericStub>> stubs_;  // by service address
};

}  // namespace peerwell::fuzz
