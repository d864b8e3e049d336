#include "services/supervision/libical_support.h"

namespace peerwell::supervision {

std::mutex& LibicalMutex() {
  static auto* mu = new std::mutex;
  return *mu;
}

icaltimetype FloatingIcalTime(const absl::CivilSecond& local) {
  icaltimetype time = icaltime_null_time();
  time.year = static_cast<int>(local.year());
  time.month = local.month();
  time.day = local.day();
  time.hour = local.hour();
  time.minute = local.minute();
  time.second = local.second();
  time.is_date = 0;
  time.zone = nullptr;
  return time;
}

}  // namespace peerwell::supervision
