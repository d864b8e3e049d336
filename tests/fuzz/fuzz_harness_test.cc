// The fuzzers' own parts: the input format, and a mutator whose every mutant is a well-formed
// request of any RPC the protos declare.
#include <random>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "gtest/gtest.h"
#include "tests/authz/matrix.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/fuzz/fuzz_target.h"
#include "tests/fuzz/in_process_suite.h"
#include "tests/fuzz/request_mutator.h"

namespace peerwell::fuzz {
namespace {

using google::protobuf::Message;

TEST(FuzzInputTest, KeepsRpcCallerAndRequestThroughText) {
  FuzzInput input{"peerwell.checkin.v1.CheckinService/ListCheckins", "supervisor", "assigned",
                  "volunteer_id: \"${person}\"\n"};
  FuzzInput read = ParseFuzzInput(FormatFuzzInput(input));
  EXPECT_EQ(read.rpc, input.rpc);
  EXPECT_EQ(read.caller, input.caller);
  EXPECT_EQ(read.target, input.target);
  EXPECT_EQ(read.request_text, input.request_text);
}

TEST(FuzzInputTest, AnInputWithoutHeaderIsAllRequest) {
  FuzzInput read = ParseFuzzInput("page_size: 3");
  EXPECT_EQ(read.rpc, "");
  EXPECT_EQ(read.caller, "");
  EXPECT_EQ(read.request_text, "page_size: 3");
}

TEST(RequestMutatorTest, EveryMutantOfEveryRequestSurvivesTheWire) {
  auto rpcs = authz::DeclaredRpcs(PEERWELL_SOURCE_DIR "/protos");
  ASSERT_TRUE(rpcs.ok()) << rpcs.status();
  std::vector<std::string> served = InProcessSuite::ServedPackages();
  RequestMutator mutator({"${person}", "${channel}"});
  std::mt19937_64 random(20261203);
  for (const std::string& rpc : *rpcs) {
    const google::protobuf::MethodDescriptor* method = FindMethod(rpc);
    // Every service runs in the fuzzers' suite, its messages linked in.
    ASSERT_NE(method, nullptr) << rpc << " is not linked into the fuzz harness";
    EXPECT_NE(std::find(served.begin(), served.end(), method->service()->file()->package()),
              served.end())
        << rpc << ": its service is not started by InProcessSuite";
    std::unique_ptr<Message> request(google::protobuf::MessageFactory::generated_factory()
                                         ->GetPrototype(method->input_type())
                                         ->New());
    int changed = 0;
    for (int i = 0; i < 300; ++i) {
      std::string before = request->SerializeAsString();
      mutator.Mutate(*request, random);
      std::string wire;
      ASSERT_TRUE(request->SerializeToString(&wire)) << rpc;
      std::unique_ptr<Message> parsed(request->New());
      // What the server's parser would refuse (invalid UTF-8 in a string) fails here.
      ASSERT_TRUE(parsed->ParseFromString(wire)) << rpc << ": " << request->DebugString();
      if (wire != before) ++changed;
      // Keep requests small enough for a fuzzer's input, as libFuzzer would.
      if (wire.size() > 16384) request->Clear();
    }
    // Messages with fields change nearly every time; a mutator stuck on nothing fails here.
    if (method->input_type()->field_count() > 0) {
      EXPECT_GT(changed, 150) << rpc;
    }
  }
}

}  // namespace
}  // namespace peerwell::fuzz
