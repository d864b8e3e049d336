#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace peerwell {

// Which data keys a vault holds: "pw:{<org>}:<service>:datakey:<owner>", and the label that
// starts the AAD of every text it seals ("peerwell note" for check-in notes).
struct DataKeyFamily {
  std::string service;
  std::string aad_label;
};

// Seals and opens the free text people write (AES-256-GCM under the data key of its owner: a
// volunteer for notes, a channel for messages). `record` names the record, so a sealed text
// copied to another record does not open. Domain code sees only this interface.
class TextCipher {
 public:
  virtual ~TextCipher() = default;
  virtual absl::StatusOr<std::string> Seal(const std::string& organization_id,
                                           const std::string& owner_id, const std::string& record,
                                           const std::string& text) = 0;
  virtual absl::StatusOr<std::string> Open(const std::string& organization_id,
                                           const std::string& owner_id, const std::string& record,
                                           const std::string& sealed) = 0;
};

}  // namespace peerwell
