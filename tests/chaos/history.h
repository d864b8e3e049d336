#pragma once

// A history of client operations in the style of Jepsen's: every attempt is logged when it is
// invoked and again when it completes, as ok, fail (a definite refusal: nothing was written) or
// unknown (a timeout or a lost connection: it may or may not have been written). After the
// faults, what the services hold is read back and checked against the history.

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace peerwell::chaos {

enum class Outcome { kInvoked, kOk, kFail, kUnknown };

struct Operation {
  std::string kind;     // "checkin", "incident", "message", "ack", "resolve"
  std::string key;      // the request_id / client_message_id, one per logical write
  std::string subject;  // what the write is about: a volunteer, a channel, an alert
  int client = 0;
  absl::Time invoke_time;
  absl::Time complete_time;
  Outcome outcome = Outcome::kInvoked;
  std::string result_id;  // the id an ok answer gave
  std::string error;      // a fail's or an unknown's status
};

// A write as read back from the services after the faults.
struct StoredWrite {
  std::string key;  // the value the write carried that names its operation (a note, a body)
  std::string id;
  std::string subject;
  long long sequence = 0;  // messages: the channel's sequence number
};

// What a check found, per kind of write.
struct Verdict {
  std::string kind;
  int attempts = 0;     // every invocation, retries included
  int writes = 0;       // distinct keys
  int ok = 0;           // keys with an ok answer
  int unknown = 0;      // attempts that ended unknown
  int failed = 0;       // attempts refused definitely
  int lost = 0;         // ok keys not stored
  int duplicated = 0;   // keys stored more than once
  int phantom = 0;      // stored writes no operation invoked
  int wrong_id = 0;     // ok answers naming another id than the one stored
  int misplaced = 0;    // stored under another subject (channel, volunteer) than written to
  int gaps = 0;         // missing sequence numbers in a subject's sequence (messages)
  std::vector<std::string> problems;  // the first few, in words

  bool Clean() const { return lost + duplicated + phantom + wrong_id + misplaced + gaps == 0; }
};

class History {
 public:
  // Logs an invocation; returns its index for Complete().
  size_t Invoke(int client, const std::string& kind, const std::string& key,
                const std::string& subject);
  void Complete(size_t index, Outcome outcome, const std::string& result_id = "",
                const std::string& error = "");

  std::vector<Operation> Operations() const;
  std::vector<Operation> OfKind(const std::string& kind) const;

  // Checks the writes of `kind` against what was read back: every key with an ok answer is
  // stored exactly once under the id the answer gave, a key whose attempts were all unknown is
  // stored at most once, a key only refused is not stored, nothing is stored that no operation
  // invoked, each write is stored under the subject it was written to, and (when `sequenced`)
  // each subject's sequence numbers run without a gap.
  Verdict Check(const std::string& kind, const std::vector<StoredWrite>& stored,
                bool sequenced = false) const;

 private:
  mutable std::mutex mu_;
  std::vector<Operation> operations_;
};

// One line of figures, e.g. "checkin: 412 attempts, 380 writes, 380 ok, 29 unknown, 0 lost".
std::string Summary(const Verdict& verdict);

}  // namespace peerwell::chaos
