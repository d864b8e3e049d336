#include "services/checkin/scoring.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "services/common/validation.h"

namespace peerwell::checkin {

namespace {

int ScoredValue(const Item& item, int value) {
  if (!item.reversed) return value;
  auto [low, high] = std::minmax_element(
      item.options.begin(), item.options.end(),
      [](const ResponseOption& a, const ResponseOption& b) { return a.value < b.value; });
  return low->value + high->value - value;
}

}  // namespace

std::string BandOf(const Scale& scale, double value) {
  for (const Band& band : scale.bands) {
    if (band.inclusive ? value <= band.bound : value < band.bound) return band.name;
  }
  return scale.bands.empty() ? "" : scale.bands.back().name;
}

absl::Status ValidateAnswers(const Instrument& instrument, const std::vector<Answer>& answers) {
  if (answers.size() > instrument.items.size()) {
    return InvalidField("answers", absl::StrCat("has more answers than ", instrument.id,
                                                " has items (", instrument.items.size(), ")"));
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < answers.size(); ++i) {
    const Answer& answer = answers[i];
    const Item* item = instrument.FindItem(answer.item_id);
    if (item == nullptr) {
      return InvalidField(absl::StrCat("answers[", i, "].item_id"),
                          absl::StrCat("is not an item of ", instrument.id));
    }
    if (!seen.insert(answer.item_id).second) {
      return InvalidField(absl::StrCat("answers[", i, "].item_id"),
                          absl::StrCat("item ", answer.item_id, " is answered twice"));
    }
    bool is_option = std::any_of(item->options.begin(), item->options.end(),
                                 [&](const ResponseOption& o) { return o.value == answer.value; });
    if (!is_option) {
      std::string allowed;
      for (const auto& option : item->options) {
        absl::StrAppend(&allowed, allowed.empty() ? "" : ", ", option.value);
      }
      return InvalidField(absl::StrCat("answers[", i, "].value"),
                          absl::StrCat("must be one of ", allowed, " for item ", item->id));
    }
  }
  for (const Item& item : instrument.items) {
    if (item.required && seen.count(item.id) == 0) {
      return InvalidField("answers",
                          absl::StrCat("item ", item.id, " of ", instrument.id, " is required"));
    }
  }
  return absl::OkStatus();
}

std::vector<Score> ScoreAnswers(const Instrument& instrument, const std::vector<Answer>& answers) {
  std::map<std::string, int> values;
  for (const Answer& answer : answers) {
    const Item* item = instrument.FindItem(answer.item_id);
    if (item != nullptr) values[answer.item_id] = ScoredValue(*item, answer.value);
  }
  std::vector<Score> scores;
  for (const Scale& scale : instrument.scales) {
    int answered = 0;
    int sum = 0;
    for (const std::string& id : scale.item_ids) {
      if (auto it = values.find(id); it != values.end()) {
        ++answered;
        sum += it->second;
      }
    }
    bool complete = answered == static_cast<int>(scale.item_ids.size());
    std::optional<double> value;
    switch (scale.method) {
      case ScaleMethod::kSum:
        if (complete) value = sum;
        break;
      case ScaleMethod::kScaledSum:
        if (complete) value = sum * scale.multiplier;
        break;
      case ScaleMethod::kMean:
        if (answered > 0 && answered >= scale.min_answered) {
          value = static_cast<double>(sum) / answered;
        }
        break;
      case ScaleMethod::kTableLookup:
        if (complete) {
          for (const auto& [raw, converted] : scale.table) {
            if (raw == sum) value = converted;
          }
        }
        break;
    }
    if (value.has_value()) scores.push_back({scale.id, *value, BandOf(scale, *value)});
  }
  return scores;
}

absl::StatusOr<std::vector<Score>> ValidateAndScore(const Instrument& instrument,
                                                    const std::vector<Answer>& answers) {
  if (auto status = ValidateAnswers(instrument, answers); !status.ok()) return status;
  std::vector<Score> scores = ScoreAnswers(instrument, answers);
  if (!instrument.scales.empty() && scores.empty()) {
    // Stored, it would count as a completed check-in that says nothing.
    return InvalidField("answers",
                        absl::StrCat("too few answers to score any scale of ", instrument.id));
  }
  return scores;
}

}  // namespace peerwell::checkin
