// Runs the authorization matrix (tests/authz/matrix.txt) against the whole suite: every cell's
// request (tests/authz/requests.txt) is sent by its caller for each target, in a world made
// through the public RPCs (tests/authz/world.h), and the answer's code must be the cell's. Another
// organisation's resource must also answer exactly like a missing one: the same code and the same
// message once the ids are taken out. The runner knows no service: it finds each RPC in the
// descriptors and sends the request it builds from text as bytes.
#include <algorithm>
#include <condition_variable>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "services/common/channel.h"
#include "tests/authz/matrix.h"
#include "tests/authz/world.h"
#include "tests/testing/local_suite.h"

namespace peerwell::authz {
namespace {

using ::peerwell::testing::LocalSuite;

// Worlds are independent, so cells run on a few threads at once: most of a call's time is
// waiting for the services (and Redis' fsync), which the two cores can overlap.
constexpr int kWorkers = 4;
constexpr absl::Duration kCallDeadline = absl::Seconds(15);

std::string ReadFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

std::string CodeName(grpc::StatusCode code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

struct Answer {
  std::string code;
  std::string message;
};

Answer Invoke(grpc::GenericStub& stub, const google::protobuf::MethodDescriptor& method,
              const ProtoSchema& schema, const google::protobuf::Message& request,
              const Credentials& credentials) {
  std::string response;
  grpc::Status status =
      CallRpc(stub, method, request.SerializeAsString(), credentials, kCallDeadline, &response);
  if (status.ok() && !method.server_streaming() &&
      !schema.NewMessage(*method.output_type())->ParseFromString(response)) {
    return {"OK", absl::StrCat("(the answer is not a ", method.output_type()->full_name(), ")")};
  }
  return {CodeName(status.error_code()), status.error_message()};
}

// What one cell found: per target, the answer (or why it could not be asked).
struct CellRun {
  const Cell* cell = nullptr;
  std::string setup_error;
  std::vector<std::pair<std::string, Answer>> answers;  // by target ("" for none), in order
  std::map<std::string, std::vector<std::string>> target_values;
  int calls = 0;
};

struct Shared {
  const ProtoSchema& schema;
  const Requests& requests;
  const Stubs& stubs;
  const std::map<std::string, std::unique_ptr<grpc::GenericStub>>& generic;  // by gRPC service
  std::string jwt_secret;
};

// The answer the matrix's code stands for: an RPC whose OK state cannot be reached through the
// public RPCs is judged by the answer it gives once past authorization.
std::string Judged(const RequestTemplate& request, const Answer& answer) {
  if (request.authorized_if.has_value() && answer.code == request.authorized_if->first &&
      absl::StartsWith(answer.message, request.authorized_if->second)) {
    return "OK";
  }
  return answer.code;
}

// Asks one cell: its caller sends the RPC's request for each target (once, for a request that
// names none), in a world of its own, so that what one cell changes (a session cancelled, a
// supervisor assigned) cannot change another's answer.
CellRun RunCell(const Shared& shared, const Cell& cell) {
  CellRun run;
  run.cell = &cell;
  const RequestTemplate& request = shared.requests.templates.at(cell.rpc);
  const google::protobuf::MethodDescriptor& method = *shared.schema.FindMethod(cell.rpc);
  bool names_target = false;
  for (const std::string& name : PlaceholderNames(request.text)) {
    names_target = names_target || !TargetKindOf(name).empty();
  }
  World world(shared.stubs, shared.jwt_secret);
  if (absl::Status seeded = world.Seed(); !seeded.ok()) {
    run.setup_error = seeded.ToString();
    return run;
  }
  auto credentials = world.CredentialsOf(cell.caller);
  if (!credentials.ok()) {
    run.setup_error = credentials.status().ToString();
    return run;
  }
  // Every target's resources are made before the first call, so that no call changes them first.
  std::vector<std::string> targets = names_target ? Targets() : std::vector<std::string>{""};
  std::map<std::string, std::unique_ptr<google::protobuf::Message>> messages;
  for (const std::string& target : targets) {
    auto filled = world.Fill(request.text, cell.caller, target);
    if (!filled.ok()) {
      run.setup_error = absl::StrCat("target ", target, ": ", filled.status().ToString());
      return run;
    }
    auto message = shared.schema.ParseRequest(method, filled->text);
    if (!message.ok()) {
      run.setup_error = message.status().ToString();
      return run;
    }
    messages[target] = *std::move(message);
    run.target_values[target] = filled->target_values;
  }
  run.calls = world.calls();
  auto& stub = *shared.generic.at(method.service()->full_name());
  for (const std::string& target : targets) {
    run.answers.emplace_back(target,
                             Invoke(stub, method, shared.schema, *messages[target], *credentials));
    ++run.calls;
  }
  return run;
}

void RunCells(const Shared& shared, const std::vector<const Cell*>& cells,
              std::vector<CellRun>& runs) {
  for (const Cell* cell : cells) runs.push_back(RunCell(shared, *cell));
}

// An answer's message with the ids of the target it was about taken out.
std::string WithoutIds(std::string message, const std::vector<std::string>& ids) {
  for (const std::string& id : ids) {
    if (!id.empty()) message = absl::StrReplaceAll(message, {{id, "<id>"}});
  }
  return message;
}

TEST(AuthzMatrixTest, EveryCellAnswersAsTheMatrixSays) {
  absl::Time started = absl::Now();
  auto cells = ParseMatrix(ReadFile(PEERWELL_SOURCE_DIR "/tests/authz/matrix.txt"));
  ASSERT_TRUE(cells.ok()) << cells.status();
  auto requests = ParseRequests(ReadFile(PEERWELL_SOURCE_DIR "/tests/authz/requests.txt"));
  ASSERT_TRUE(requests.ok()) << requests.status();
  auto schema = ProtoSchema::Load(PEERWELL_SOURCE_DIR "/protos");
  ASSERT_TRUE(schema.ok()) << schema.status();
  for (const Cell& cell : *cells) {
    ASSERT_NE((*schema)->FindMethod(cell.rpc), nullptr) << cell.rpc;
    ASSERT_EQ(requests->templates.count(cell.rpc), 1u) << "no request for " << cell.rpc;
    ASSERT_EQ(requests->servers.count((*schema)->FindMethod(cell.rpc)->service()->full_name()), 1u)
        << "no service serves " << cell.rpc;
  }

  testing::SuiteOptions options;
  options.binaries = PEERWELL_BUILD_DIR;
  auto suite = LocalSuite::Start(options);
  ASSERT_TRUE(suite.ok()) << suite.status();
  absl::Time suite_up = absl::Now();
  Stubs stubs = ConnectStubs([&](const std::string& name) { return (*suite)->Target(name); });
  std::map<std::string, std::unique_ptr<grpc::GenericStub>> generic;
  for (const auto& [service, name] : requests->servers) {
    generic[service] = std::make_unique<grpc::GenericStub>(ServiceChannel((*suite)->Target(name)));
  }
  Shared shared{**schema, *requests, stubs, generic, (*suite)->jwt_secret()};

  std::vector<std::vector<const Cell*>> shards(kWorkers);
  for (size_t i = 0; i < cells->size(); ++i) shards[i % kWorkers].push_back(&(*cells)[i]);
  std::vector<std::vector<CellRun>> runs(kWorkers);
  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&, w] { RunCells(shared, shards[w], runs[w]); });
  }
  for (std::thread& worker : workers) worker.join();

  std::vector<const CellRun*> all;
  for (const auto& shard : runs) {
    for (const CellRun& run : shard) all.push_back(&run);
  }
  std::sort(all.begin(), all.end(),
            [](const CellRun* a, const CellRun* b) { return a->cell->line < b->cell->line; });
  int calls = 0;
  int asked = 0;
  int cells_passed = 0;
  for (const CellRun* run : all) {
    const Cell& cell = *run->cell;
    calls += run->calls;
    std::string where = absl::StrCat("matrix.txt:", cell.line, " ", cell.rpc, " ", cell.caller);
    if (!run->setup_error.empty()) {
      ADD_FAILURE() << where << ": could not be asked: " << run->setup_error;
      continue;
    }
    bool passed = true;
    const RequestTemplate& request = requests->templates.at(cell.rpc);
    std::map<std::string, const Answer*> by_target;
    for (const auto& [target, answer] : run->answers) {
      by_target[target] = &answer;
      ++asked;
      const std::string& expected = cell.codes.at(target.empty() ? "own" : target);
      std::string judged = Judged(request, answer);
      if (judged != expected) {
        ADD_FAILURE() << where << " target " << (target.empty() ? "(none)" : target)
                      << ": expected " << expected << ", got " << answer.code << " \""
                      << answer.message << "\"";
        passed = false;
      }
    }
    if (by_target.count("other_org") > 0 && by_target.count("missing") > 0) {
      const Answer& other = *by_target.at("other_org");
      const Answer& missing = *by_target.at("missing");
      std::string other_message = WithoutIds(other.message, run->target_values.at("other_org"));
      std::string missing_message = WithoutIds(missing.message, run->target_values.at("missing"));
      if (other.code != missing.code || other_message != missing_message) {
        ADD_FAILURE() << where << ": another organisation's resource answers " << other.code
                      << " \"" << other_message << "\" but a missing one " << missing.code << " \""
                      << missing_message << "\"";
        passed = false;
      }
    }
    if (passed) ++cells_passed;
  }
  std::cout << "authz matrix: " << cells_passed << " of " << cells->size() << " cells passed, "
            << asked << " answers judged, " << calls << " calls in all; suite up in "
            << absl::FormatDuration(suite_up - started) << ", cells in "
            << absl::FormatDuration(absl::Now() - suite_up) << "\n"
            << std::flush;
}

}  // namespace
}  // namespace peerwell::authz
