// The authorization matrix classifies every RPC the services declare, for every caller, and is
// consistent with itself; and requests.txt holds a valid request for every RPC to ask it with: a
// new RPC (or service) cannot ship without its rows in matrix.txt and its request.
#include <fstream>
#include <set>
#include <sstream>

#include "gtest/gtest.h"
#include "tests/authz/matrix.h"

namespace peerwell::authz {
namespace {

std::string ReadFile(const char* name) {
  std::ifstream file(std::string(PEERWELL_SOURCE_DIR "/tests/authz/") + name);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

std::string ReadMatrix() { return ReadFile("matrix.txt"); }

TEST(AuthzMatrixTest, ParsesRowsAndRefusesMalformedOnes) {
  auto cells = ParseMatrix(
      "# a comment\n"
      "p.v1.S/A none UNAUTHENTICATED\n"
      "p.v1.S/A volunteer own=OK assigned=NOT_FOUND same_org=NOT_FOUND other_org=NOT_FOUND "
      "missing=NOT_FOUND  # why\n");
  ASSERT_TRUE(cells.ok()) << cells.status();
  ASSERT_EQ(cells->size(), 2u);
  EXPECT_EQ((*cells)[0].codes.at("missing"), "UNAUTHENTICATED");
  EXPECT_EQ((*cells)[1].codes.at("own"), "OK");
  EXPECT_EQ((*cells)[1].codes.at("other_org"), "NOT_FOUND");
  for (const char* bad :
       {"p.v1.S/A stranger OK\n", "p.v1.S/A none MAYBE\n", "p.v1.S/A none OK\np.v1.S/A none OK\n",
        "p.v1.S/A volunteer own=OK\n",
        "p.v1.S/A volunteer own=OK assigned=OK same_org=OK other_org=OK x=OK\n"}) {
    EXPECT_EQ(ParseMatrix(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(AuthzMatrixTest, ListsEveryDeclaredRpcForEveryCallerAndNothingElse) {
  auto declared = DeclaredRpcs(PEERWELL_SOURCE_DIR "/protos");
  ASSERT_TRUE(declared.ok()) << declared.status();
  ASSERT_GT(declared->size(), 50u);
  auto cells = ParseMatrix(ReadMatrix());
  ASSERT_TRUE(cells.ok()) << cells.status();
  std::set<std::pair<std::string, std::string>> listed;
  for (const Cell& cell : *cells) {
    listed.insert({cell.rpc, cell.caller});
    EXPECT_TRUE(std::binary_search(declared->begin(), declared->end(), cell.rpc))
        << "matrix.txt line " << cell.line << ": " << cell.rpc << " is not an RPC of any service";
  }
  for (const std::string& rpc : *declared) {
    for (const std::string& caller : Callers()) {
      EXPECT_EQ(listed.count({rpc, caller}), 1u)
          << rpc << " is not classified for caller " << caller << " in tests/authz/matrix.txt";
    }
  }
}

// Another organisation's resource answers exactly like a missing one, so that no caller can tell
// from an answer that it exists; and bad credentials are refused whatever the request names,
// except by the few RPCs whose request carries its own capability (no credentials needed).
TEST(AuthzMatrixTest, OtherOrganisationsAnswerLikeMissingAndBadCredentialsLikeNone) {
  auto cells = ParseMatrix(ReadMatrix());
  ASSERT_TRUE(cells.ok()) << cells.status();
  std::set<std::string> capability_rpcs;
  for (const Cell& cell : *cells) {
    if (cell.caller == "none" && cell.codes.at("missing") != "UNAUTHENTICATED") {
      capability_rpcs.insert(cell.rpc);
    }
  }
  for (const Cell& cell : *cells) {
    EXPECT_EQ(cell.codes.at("other_org"), cell.codes.at("missing"))
        << "matrix.txt line " << cell.line << ": " << cell.rpc << " " << cell.caller;
    if (capability_rpcs.count(cell.rpc) == 0 &&
        (cell.caller == "none" || cell.caller == "bad_signature" || cell.caller == "expired" ||
         cell.caller == "wrong_audience")) {
      for (const auto& [target, code] : cell.codes) {
        EXPECT_EQ(code, "UNAUTHENTICATED")
            << "matrix.txt line " << cell.line << ": " << cell.rpc << " " << cell.caller;
      }
    }
  }
}

TEST(AuthzMatrixTest, ParsesRequestsAndRefusesMalformedOnes) {
  auto requests = ParseRequests(
      "# a comment\n"
      "serve p.v1.S s\n"
      "rpc p.v1.S/A\n"
      "  id: \"${person}\"\n"
      "  when { seconds: ${time+24h} }\n"
      "rpc p.v1.S/B\n"
      "authorized_if p.v1.S/B FAILED_PRECONDITION it has not ended\n");
  ASSERT_TRUE(requests.ok()) << requests.status();
  EXPECT_EQ(requests->servers.at("p.v1.S"), "s");
  EXPECT_EQ(requests->templates.at("p.v1.S/A").text,
            "id: \"${person}\"\nwhen { seconds: ${time+24h} }");
  EXPECT_EQ(requests->templates.at("p.v1.S/B").text, "");
  EXPECT_EQ(requests->templates.at("p.v1.S/B").authorized_if->second, "it has not ended");
  for (const char* bad : {"rpc p.v1.S/A\n  id: \"${nobody}\"\n", "rpc p.v1.S/A\nrpc p.v1.S/A\n",
                          "  id: 1\n", "rpc p.v1.S/A x\n", "authorized_if p.v1.S/A OK x\n",
                          "rpc p.v1.S/A\nauthorized_if p.v1.S/A MAYBE x\n"}) {
    EXPECT_EQ(ParseRequests(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(AuthzMatrixTest, FillsPlaceholdersAndLeavesOutLinesWithoutAValue) {
  auto filled =
      FillTemplate("a: \"${person}\"\nb: \"${participant}\"\nc: ${slot}",
                   [](const std::string& name) -> absl::StatusOr<std::optional<std::string>> {
                     if (name == "participant") return std::nullopt;
                     if (name == "slot") return "42";
                     return "p\"1";
                   });
  ASSERT_TRUE(filled.ok()) << filled.status();
  EXPECT_EQ(*filled, "a: \"p\\\"1\"\nc: 42");
  EXPECT_EQ(TargetKindOf("message.channel"), "message");
  EXPECT_EQ(TargetKindOf("A.V"), "");
  EXPECT_TRUE(CheckPlaceholder("time-1h").ok());
  EXPECT_FALSE(CheckPlaceholder("message.author").ok());
}

// Every RPC has a request, served by a service of the suite, that parses as the RPC's input once
// its placeholders are filled in; a row that tells targets apart has a request that names one.
TEST(AuthzMatrixTest, HasAValidRequestForEveryRpc) {
  auto schema = ProtoSchema::Load(PEERWELL_SOURCE_DIR "/protos");
  ASSERT_TRUE(schema.ok()) << schema.status();
  auto requests = ParseRequests(ReadFile("requests.txt"));
  ASSERT_TRUE(requests.ok()) << requests.status();
  const std::set<std::string> suite{"directory",   "checkin", "alerts",
                                    "supervision", "network", "webhooks"};
  for (const std::string& rpc : (*schema)->rpcs()) {
    auto request = requests->templates.find(rpc);
    if (request == requests->templates.end()) {
      ADD_FAILURE() << rpc << " has no request in tests/authz/requests.txt";
      continue;
    }
    const google::protobuf::MethodDescriptor* method = (*schema)->FindMethod(rpc);
    auto server = requests->servers.find(method->service()->full_name());
    EXPECT_TRUE(server != requests->servers.end() && suite.count(server->second) > 0)
        << "requests.txt: no service of the suite serves " << method->service()->full_name();
    auto filled =
        FillTemplate(request->second.text,
                     [](const std::string& name) -> absl::StatusOr<std::optional<std::string>> {
                       if (name == "slot" || name.rfind("time", 0) == 0) return "1700000000";
                       return "p0123456789abcdef0123";
                     });
    ASSERT_TRUE(filled.ok()) << filled.status();
    auto parsed = (*schema)->ParseRequest(*method, *filled);
    EXPECT_TRUE(parsed.ok()) << "requests.txt line " << request->second.line << ": "
                             << parsed.status();
  }
  for (const auto& [rpc, request] : requests->templates) {
    EXPECT_NE((*schema)->FindMethod(rpc), nullptr)
        << "requests.txt line " << request.line << ": " << rpc << " is not an RPC of any service";
  }
  auto cells = ParseMatrix(ReadMatrix());
  ASSERT_TRUE(cells.ok()) << cells.status();
  for (const Cell& cell : *cells) {
    auto request = requests->templates.find(cell.rpc);
    if (request == requests->templates.end()) continue;
    std::set<std::string> codes;
    for (const auto& [target, code] : cell.codes) codes.insert(code);
    bool names_target = false;
    for (const std::string& name : PlaceholderNames(request->second.text)) {
      names_target = names_target || !TargetKindOf(name).empty();
    }
    EXPECT_TRUE(codes.size() == 1 || names_target)
        << "matrix.txt line " << cell.line << " tells targets apart, but the request for "
        << cell.rpc << " (requests.txt line " << request->second.line << ") names no target";
  }
}

}  // namespace
}  // namespace peerwell::authz
