#pragma once

#include <string>

namespace peerwell {

// Who asked for a create, for idempotency: the same (caller, request_id) gets the first call's
// result. An empty request_id means the call is not deduplicated.
struct CreateRequest {
  std::string caller_id;
  std::string request_id;
};

// The id a create stored: the first call's id when a request_id is replayed.
struct Created {
  std::string id;
  bool replayed = false;
};

}  // namespace peerwell
