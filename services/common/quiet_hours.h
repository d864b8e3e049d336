#pragma once

#include "absl/time/time.h"

namespace peerwell {

// A person's local "quiet hours" (directory `quiet_hours`): minutes since midnight in their time
// zone; an end before the start spans midnight, equal ends are no quiet hours.
struct QuietHours {
  int start_minute = 0;
  int end_minute = 0;
};

// Whether [start, end) touches the quiet hours, on any local day, across daylight-saving changes.
bool InQuietHours(const QuietHours& quiet, const absl::TimeZone& zone, absl::Time start,
                  absl::Time end);

}  // namespace peerwell
