// The authorization matrix classifies every RPC the services declare, for every caller, and is
// consistent with itself: a new RPC (or service) cannot ship without its row in matrix.txt.
#include <fstream>
#include <set>
#include <sstream>

#include "gtest/gtest.h"
#include "tests/authz/matrix.h"

namespace peerwell::authz {
namespace {

std::string ReadMatrix() {
  std::ifstream file(PEERWELL_SOURCE_DIR "/tests/authz/matrix.txt");
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

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
  for (const char* bad : {"p.v1.S/A stranger OK\n", "p.v1.S/A none MAYBE\n",
                          "p.v1.S/A none OK\np.v1.S/A none OK\n", "p.v1.S/A volunteer own=OK\n",
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

}  // namespace
}  // namespace peerwell::authz
