#include "services/common/quiet_hours.h"

namespace peerwell {

bool InQuietHours(const QuietHours& quiet, const absl::TimeZone& zone, absl::Time start,
                  absl::Time end) {
  if (quiet.start_minute == quiet.end_minute) return false;
  // Every local day whose quiet stretch could reach into [start, end).
  absl::CivilDay first = absl::ToCivilDay(start, zone) - 1;
  absl::CivilDay last = absl::ToCivilDay(end, zone);
  for (absl::CivilDay day = first; day <= last; ++day) {
    absl::CivilMinute midnight(day);
    absl::Time quiet_start = absl::FromCivil(midnight + quiet.start_minute, zone);
    int end_minute = quiet.end_minute + (quiet.end_minute < quiet.start_minute ? 24 * 60 : 0);
    absl::Time quiet_end = absl::FromCivil(midnight + end_minute, zone);
    if (start < quiet_end && quiet_start < end) return true;
  }
  return false;
}

}  // namespace peerwell
