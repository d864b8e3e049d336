#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/checkin/checkin.h"

namespace peerwell::checkin {

// Checks the answers against the instrument: every item known and answered once, every value
// one of the item's options, every required item present. INVALID_ARGUMENT names the field
// ("answers[3].value") and the rule.
absl::Status ValidateAnswers(const Instrument& instrument, const std::vector<Answer>& answers);

// Scores validated answers: one Score per scale whose missing-data rule is met, in the order of
// the instrument's scales. A scale whose rule is not met is left out.
std::vector<Score> ScoreAnswers(const Instrument& instrument, const std::vector<Answer>& answers);

// ValidateAnswers, then ScoreAnswers; INVALID_ARGUMENT when an instrument with scales gets too
// few answers to score any of them.
absl::StatusOr<std::vector<Score>> ValidateAndScore(const Instrument& instrument,
                                                    const std::vector<Answer>& answers);

// The band `value` falls in on `scale`; "" for a scale without bands.
std::string BandOf(const Scale& scale, double value);

}  // namespace peerwell::checkin
