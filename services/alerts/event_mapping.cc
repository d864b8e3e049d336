#include "services/alerts/event_mapping.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace peerwell::alerts {
namespace {

absl::StatusOr<absl::Time> ParseTime(const StreamEntry& entry, const char* field) {
  absl::Time time;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, entry.Get(field), &time, &error)) {
    return absl::InvalidArgumentError(absl::StrCat("event ", entry.id, ": bad ", field));
  }
  return time;
}

absl::Status Require(const StreamEntry& entry, std::initializer_list<const char*> fields) {
  for (const char* field : fields) {
    if (entry.Get(field).empty()) {
      return absl::InvalidArgumentError(absl::StrCat("event ", entry.id, ": no ", field));
    }
  }
  return absl::OkStatus();
}

// "a=1,b=2" as the check-in service writes scores and answers.
template <typename T>
std::map<std::string, T> ParsePairs(const std::string& text) {
  std::map<std::string, T> out;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    std::vector<std::string> fields = absl::StrSplit(part, '=');
    if (fields.size() < 2) continue;
    T value{};
    if constexpr (std::is_same_v<T, double>) {
      if (!absl::SimpleAtod(fields[1], &value)) continue;
    } else {
      if (!absl::SimpleAtoi(fields[1], &value)) continue;
    }
    out[fields[0]] = value;
  }
  return out;
}

const char* IncidentTypeName(const std::string& number) {
  static constexpr const char* kNames[] = {"unspecified",
                                           "aggression",
                                           "suicide disclosure",
                                           "suicide attempt",
                                           "death of a supported person",
                                           "safeguarding",
                                           "other"};
  int value = 0;
  if (!absl::SimpleAtoi(number, &value) || value < 0 || value > 6) return "other";
  return kNames[value];
}

// A check-in service event as the risk engine judges it; nullopt for a type it does not judge,
// an error for a malformed event.
absl::StatusOr<std::optional<RiskEvent>> CheckinServiceRiskEvent(const StreamEntry& entry) {
  const std::string type = entry.Get("type");
  if (type == "checkin.submitted") {
    if (auto status = Require(entry, {"organization_id", "volunteer_id", "instrument_id"});
        !status.ok()) {
      return status;
    }
    auto time = ParseTime(entry, "occur_time");
    if (!time.ok()) return time.status();
    CheckinEvent event;
    event.event_id = entry.id;
    event.organization_id = entry.Get("organization_id");
    event.volunteer_id = entry.Get("volunteer_id");
    event.instrument_id = entry.Get("instrument_id");
    event.submit_time = *time;
    // Scores are "scale=value=band"; the band is not needed here.
    event.scores = ParsePairs<double>(entry.Get("scores"));
    event.answers = ParsePairs<int>(entry.Get("answers"));
    (void)absl::SimpleAtod(entry.Get("hours"), &event.hours);
    return event;
  }
  if (type == "incident.reported") {
    if (auto status = Require(entry, {"organization_id", "volunteer_id"}); !status.ok()) {
      return status;
    }
    auto reported = ParseTime(entry, "occur_time");
    if (!reported.ok()) return reported.status();
    auto occurred = ParseTime(entry, "incident_occur_time");
    if (!occurred.ok()) return occurred.status();
    return IncidentEvent{entry.id,
                         entry.Get("organization_id"),
                         entry.Get("volunteer_id"),
                         IncidentTypeName(entry.Get("incident_type")),
                         *occurred,
                         *reported};
  }
  if (type == "support.requested") {
    if (auto status = Require(entry, {"organization_id", "volunteer_id"}); !status.ok()) {
      return status;
    }
    auto time = ParseTime(entry, "occur_time");
    if (!time.ok()) return time.status();
    return SupportEvent{entry.id,
                        entry.Get("organization_id"),
                        entry.Get("volunteer_id"),
                        entry.Get("urgency") == "high",
                        entry.Get("source"),
                        *time};
  }
  return std::nullopt;  // not for the risk engine
}

}  // namespace

std::vector<absl::Status> HandleCheckinServiceEvents(
    RiskEngine& engine, const std::vector<const StreamEntry*>& entries) {
  std::vector<absl::Status> statuses(entries.size());
  std::vector<RiskEvent> events;
  std::vector<size_t> judged;  // the entries handed to the engine, by index
  for (size_t i = 0; i < entries.size(); ++i) {
    auto event = CheckinServiceRiskEvent(*entries[i]);
    if (!event.ok()) {
      statuses[i] = event.status();
    } else if (event->has_value()) {
      events.push_back(**std::move(event));
      judged.push_back(i);
    }
  }
  if (events.empty()) return statuses;
  std::vector<absl::Status> outcomes = engine.OnEvents(events);
  for (size_t k = 0; k < judged.size(); ++k) statuses[judged[k]] = outcomes[k];
  return statuses;
}

absl::Status HandleCheckinServiceEvent(RiskEngine& engine, const StreamEntry& entry) {
  return HandleCheckinServiceEvents(engine, {&entry}).front();
}

absl::Status HandleSupervisionServiceEvent(RiskEngine& engine, const StreamEntry& entry) {
  const std::string type = entry.Get("type");
  if (type == "supervision.overdue") {
    if (auto status = Require(entry, {"organization_id", "volunteer_id", "days_overdue"});
        !status.ok()) {
      return status;
    }
    SupervisionOverdueEvent event{entry.id, entry.Get("organization_id"),
                                  entry.Get("volunteer_id")};
    if (!absl::SimpleAtoi(entry.Get("days_overdue"), &event.days_overdue)) {
      return absl::InvalidArgumentError(absl::StrCat("event ", entry.id, ": bad days_overdue"));
    }
    return engine.OnSupervisionOverdue(event);
  }
  if (type == "session.attended" && entry.Get("counts_for_cadence") == "true") {
    if (auto status = Require(entry, {"organization_id"}); !status.ok()) return status;
    for (absl::string_view volunteer :
         absl::StrSplit(entry.Get("present_ids"), ' ', absl::SkipEmpty())) {
      if (auto status = engine.OnSupervised(entry.Get("organization_id"), std::string(volunteer));
          !status.ok()) {
        return status;
      }
    }
  }
  return absl::OkStatus();  // not for the risk engine
}

}  // namespace peerwell::alerts
