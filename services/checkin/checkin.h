#pragma once

#include <optional>
#include <string>
#include <vector>

namespace peerwell::checkin {

// The domain types of check-ins. Instruments are data: items and their wording, response options,
// reversed items, scales with their scoring and missing-data rules, bands, recall period, licence
// and attribution. Scoring (scoring.h) is one set of pure functions over this data.

struct ResponseOption {
  int value = 0;
  std::string label;
};

struct Item {
  std::string id;
  std::string text;
  std::vector<ResponseOption> options;
  bool required = true;
  // Scored as (max option + min option - value): CBI item 13, ProQOL burnout 1, 4, 15, 17, 29.
  bool reversed = false;
};

// How a scale turns its items' (reversal-adjusted) values into a score.
enum class ScaleMethod {
  kSum,          // sum of the items; every item must be answered
  kMean,         // mean of the answered items, if at least min_answered are answered
  kScaledSum,    // sum × multiplier; every item must be answered (WHO-5 percentage)
  kTableLookup,  // the sum, mapped through `table` (SWEMWBS raw to metric score)
};

// A band is the first whose bound the value does not exceed (or stays below, when exclusive).
struct Band {
  double bound = 0;
  bool inclusive = true;  // value <= bound (else value < bound)
  std::string name;
};

struct Scale {
  std::string id;
  std::vector<std::string> item_ids;
  ScaleMethod method = ScaleMethod::kSum;
  int min_answered = 0;                       // kMean only
  double multiplier = 1;                      // kScaledSum only
  std::vector<std::pair<int, double>> table;  // kTableLookup: sum → score
  std::vector<Band> bands;                    // the last band should catch everything
};

struct Instrument {
  std::string id;
  int version = 1;
  std::string title;
  std::string instruction;
  std::string recall_period;
  std::vector<Item> items;
  std::vector<Scale> scales;
  std::string attribution;
  std::string licence;
  // Empty when the wording is the published original; otherwise how it was adapted.
  std::string adaptation;
  // Offered only to organisations that recorded their registration with the licensor.
  bool requires_registration = false;

  const Item* FindItem(const std::string& item_id) const;
};

struct Answer {
  std::string item_id;
  int value = 0;
};

struct Score {
  std::string scale_id;
  double value = 0;
  std::string band;
};

}  // namespace peerwell::checkin
