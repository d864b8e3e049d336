#include "tests/chaos/history.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace peerwell::chaos {
namespace {

constexpr size_t kProblemsKept = 10;

void Problem(Verdict& verdict, std::string text) {
  if (verdict.problems.size() < kProblemsKept) verdict.problems.push_back(std::move(text));
}

}  // namespace

size_t History::Invoke(int client, const std::string& kind, const std::string& key,
                       const std::string& subject) {
  std::lock_guard<std::mutex> lock(mu_);
  Operation operation;
  operation.client = client;
  operation.kind = kind;
  operation.key = key;
  operation.subject = subject;
  operation.invoke_time = absl::Now();
  operations_.push_back(std::move(operation));
  return operations_.size() - 1;
}

void History::Complete(size_t index, Outcome outcome, const std::string& result_id,
                       const std::string& error) {
  std::lock_guard<std::mutex> lock(mu_);
  Operation& operation = operations_.at(index);
  operation.complete_time = absl::Now();
  operation.outcome = outcome;
  operation.result_id = result_id;
  operation.error = error;
}

std::vector<Operation> History::Operations() const {
  std::lock_guard<std::mutex> lock(mu_);
  return operations_;
}

std::vector<Operation> History::OfKind(const std::string& kind) const {
  std::vector<Operation> found;
  for (Operation& operation : Operations()) {
    if (operation.kind == kind) found.push_back(std::move(operation));
  }
  return found;
}

Verdict History::Check(const std::string& kind, const std::vector<StoredWrite>& stored,
                       bool sequenced) const {
  Verdict verdict;
  verdict.kind = kind;
  // Per key: the ids ok answers gave, and whether any attempt may have written.
  struct KeyState {
    std::set<std::string> ok_ids;
    bool maybe_written = false;  // an ok or an unknown attempt
    std::string subject;
  };
  std::map<std::string, KeyState> keys;
  for (const Operation& operation : OfKind(kind)) {
    ++verdict.attempts;
    KeyState& key = keys[operation.key];
    key.subject = operation.subject;
    switch (operation.outcome) {
      case Outcome::kOk:
        key.ok_ids.insert(operation.result_id);
        key.maybe_written = true;
        break;
      case Outcome::kUnknown:
      case Outcome::kInvoked:  // never completed: as unknown
        ++verdict.unknown;
        key.maybe_written = true;
        break;
      case Outcome::kFail:
        ++verdict.failed;
        break;
    }
  }
  verdict.writes = static_cast<int>(keys.size());
  std::map<std::string, std::vector<const StoredWrite*>> stored_by_key;
  for (const StoredWrite& write : stored) stored_by_key[write.key].push_back(&write);

  for (const auto& [key, state] : keys) {
    auto found = stored_by_key.find(key);
    size_t copies = found == stored_by_key.end() ? 0 : found->second.size();
    if (!state.ok_ids.empty()) ++verdict.ok;
    if (copies > 1) {
      ++verdict.duplicated;
      Problem(verdict, absl::StrCat(kind, " ", key, " is stored ", copies, " times"));
    }
    if (!state.ok_ids.empty() && copies == 0) {
      ++verdict.lost;
      Problem(verdict, absl::StrCat(kind, " ", key, " was acknowledged and is not stored"));
    }
    if (!state.maybe_written && copies > 0) {
      ++verdict.phantom;
      Problem(verdict, absl::StrCat(kind, " ", key, " was refused and is stored"));
    }
    if (found != stored_by_key.end()) {
      for (const StoredWrite* write : found->second) {
        if (write->subject == state.subject) continue;
        ++verdict.misplaced;
        Problem(verdict, absl::StrCat(kind, " ", key, " was written to ", state.subject,
                                      " and is stored under ", write->subject));
      }
    }
    if (copies == 1 && !state.ok_ids.empty()) {
      const std::string& id = found->second.front()->id;
      if (state.ok_ids.size() != 1 || *state.ok_ids.begin() != id) {
        ++verdict.wrong_id;
        Problem(verdict, absl::StrCat(kind, " ", key, " is stored as ", id,
                                      " but was acknowledged as ", *state.ok_ids.begin()));
      }
    }
  }
  for (const auto& [key, writes] : stored_by_key) {
    if (keys.count(key) == 0) {
      verdict.phantom += static_cast<int>(writes.size());
      Problem(verdict, absl::StrCat(kind, " ", key, " is stored and was never invoked"));
    }
  }
  if (sequenced) {
    std::map<std::string, std::vector<long long>> sequences;
    for (const StoredWrite& write : stored) sequences[write.subject].push_back(write.sequence);
    for (auto& [subject, numbers] : sequences) {
      std::sort(numbers.begin(), numbers.end());
      for (size_t i = 0; i < numbers.size(); ++i) {
        long long expected = i == 0 ? 1 : numbers[i - 1] + 1;
        if (numbers[i] != expected) {
          verdict.gaps += static_cast<int>(std::max(1LL, numbers[i] - expected));
          Problem(verdict, absl::StrCat(subject, ": sequence ", numbers[i], " follows ",
                                        expected - 1));
        }
      }
    }
  }
  return verdict;
}

std::string Summary(const Verdict& verdict) {
  return absl::StrCat(verdict.kind, ": ", verdict.attempts, " attempts, ", verdict.writes,
                      " writes, ", verdict.ok, " ok, ", verdict.unknown, " unknown, ",
                      verdict.failed, " refused, ", verdict.lost, " lost, ", verdict.duplicated,
                      " duplicated, ", verdict.phantom, " never invoked, ", verdict.misplaced,
                      " misplaced, ", verdict.gaps, " sequence gaps");
}

}  // namespace peerwell::chaos
