#pragma once

#include <libical/ical.h>

#include <mutex>

#include "absl/time/civil_time.h"

namespace peerwell::supervision {

// libical keeps its error state and its built-in time zones in process-wide tables: every use of
// it in the service holds this one lock.
std::mutex& LibicalMutex();

// A floating (zone-less) libical time: the local wall clock that rules run on and that a TZID
// parameter places in its zone.
icaltimetype FloatingIcalTime(const absl::CivilSecond& local);

}  // namespace peerwell::supervision
