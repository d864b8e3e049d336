#pragma once

#include <string>
#include <vector>

#include "services/checkin/checkin.h"

namespace peerwell::checkin {

// Every instrument PeerWell knows, in their current versions: pulse, who5, cbi, proqol5,
// swemwbs. A new version of an instrument is a new entry with version + 1; stored check-ins keep
// the version they were scored with.
const std::vector<Instrument>& AllInstruments();

// The instrument with this id, or nullptr.
const Instrument* FindInstrument(const std::string& instrument_id);

// What an organisation may use: everything, except instruments that require a registration the
// organisation has not recorded.
std::vector<const Instrument*> EnabledInstruments(bool swemwbs_registered);

}  // namespace peerwell::checkin
