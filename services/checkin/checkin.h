#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"

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

// --- Check-ins, incidents, support requests ---------------------------------------------------

struct CheckinContext {
  std::string session_kind;
  double hours = 0;
  int sessions_facilitated = 0;
};

struct Checkin {
  std::string id;
  std::string organization_id;
  std::string volunteer_id;
  std::string instrument_id;
  int instrument_version = 0;
  absl::Time submit_time = absl::InfinitePast();
  std::vector<Answer> answers;
  CheckinContext context;
  std::vector<Score> scores;
  // Plain text inside the domain only; sealed at rest, and empty unless the reader may see it.
  std::string note;
};

enum class IncidentType {
  kUnspecified = 0,
  kAggression = 1,
  kSuicideDisclosure = 2,
  kSuicideAttempt = 3,
  kDeathOfSupportedPerson = 4,
  kSafeguarding = 5,
  kOther = 6,
};

struct Incident {
  std::string id;
  std::string organization_id;
  std::string volunteer_id;
  IncidentType type = IncidentType::kUnspecified;
  absl::Time occur_time = absl::InfinitePast();
  absl::Time report_time = absl::InfinitePast();
  std::string description;  // sealed at rest
};

enum class Urgency { kUnspecified = 0, kLow = 1, kHigh = 2 };

struct SupportRequest {
  std::string id;
  std::string organization_id;
  std::string volunteer_id;
  Urgency urgency = Urgency::kUnspecified;
  absl::Time create_time = absl::InfinitePast();
  std::string source;  // kSupportSourceRequest or kSupportSourcePulse
  // Plain text inside the domain only; sealed at rest, and empty unless the reader may see it.
  std::string note;
};

// SupportRequest::source, as the store and the support.requested event name it: a RequestSupport
// call, or a pulse check-in that answered want_to_talk.
inline constexpr char kSupportSourceRequest[] = "request";
inline constexpr char kSupportSourcePulse[] = "pulse";

// Everything the check-in service holds about one person, texts opened: its part of the person's
// data export (GDPR articles 15 and 20). Newest first within each list.
struct PersonRecords {
  std::vector<Checkin> checkins;
  std::vector<Incident> incidents;
  std::vector<SupportRequest> support_requests;
};

// The record families of the export, as it names them; the store's key families point at them.
inline constexpr char kCheckinsFamily[] = "checkins";
inline constexpr char kIncidentsFamily[] = "incidents";
inline constexpr char kSupportRequestsFamily[] = "supportRequests";

// An organisation's settings list at most this many support resources.
inline constexpr size_t kMaxSupportResources = 10;

struct SupportResource {
  std::string title;
  std::string description;
  std::string contact;
};

// What an organisation sets for check-ins; defaults apply until it does.
struct CheckinSettings {
  // Days between check-ins per instrument (SPEC §3 defaults: who5 14, cbi 30, proqol5 90).
  std::map<std::string, int> cadence_days;
  std::vector<SupportResource> support_resources;
  // The organisation's SWEMWBS registration with Warwick Medical School; empty: not registered.
  std::string swemwbs_registration;
};
CheckinSettings DefaultCheckinSettings();

struct TrendPoint {
  absl::Time time;
  double value = 0;
};

struct Trend {
  std::vector<TrendPoint> points;  // oldest first
  std::optional<double> baseline;  // median of the 90 days before the latest point
  std::optional<double> latest;
  std::optional<double> change;  // latest - baseline
};

struct DueCheckin {
  std::string instrument_id;
  absl::Time due_time;
  std::string reason;  // "cadence", "first_checkin" or "incident_follow_up"
};

}  // namespace peerwell::checkin
