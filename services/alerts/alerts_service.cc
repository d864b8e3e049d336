#include "services/alerts/alerts_service.h"

#include <algorithm>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/common/ids.h"
#include "services/common/validation.h"

namespace peerwell::alerts {
namespace {

constexpr char kServicePrefix[] = "peerwell.alerts.v1.AlertService/";
constexpr size_t kMaxNoteChars = 1000;

bool IsHandler(const Caller& caller) {
  return caller.role == CallerRole::kSupervisor || caller.role == CallerRole::kCoordinator;
}

// What a resolution note is sealed for: its alert, so that it opens with no other.
std::string ResolutionNoteRecord(const std::string& alert_id) {
  return absl::StrCat(alert_id, "/resolution");
}

Alert WithFactors(Alert alert, bool values) {
  if (!values) {
    for (Factor& factor : alert.factors) factor = RedactFactor(factor);
  }
  return alert;
}

// A resolution note, opened. One that no longer opens (its key destroyed, or altered) reads as
// empty, as check-in notes do, so that its alert and the rest still show.
absl::StatusOr<std::string> OpenOrLeaveOut(TextCipher& cipher, const std::string& organization_id,
                                           const std::string& volunteer_id,
                                           const std::string& alert_id, const std::string& sealed) {
  if (sealed.empty()) return std::string();
  auto note = cipher.Open(organization_id, volunteer_id, ResolutionNoteRecord(alert_id), sealed);
  if (!note.ok() && note.status().code() == absl::StatusCode::kDataLoss) return std::string();
  return note;
}

}  // namespace

absl::StatusOr<AlertService::Access> AlertService::AccessTo(const Caller& caller,
                                                            const std::string& volunteer_id) {
  if (caller.role != CallerRole::kVolunteer && !IsHandler(caller)) return Access{};
  return AccessFrom(caller, volunteer_id,
                    caller.role == CallerRole::kVolunteer
                        ? absl::StatusOr<VolunteerFacts>(VolunteerFacts{})
                        : directory_.GetVolunteer(caller.organization_id, volunteer_id));
}

absl::StatusOr<AlertService::Access> AlertService::AccessFrom(
    const Caller& caller, const std::string& volunteer_id,
    const absl::StatusOr<VolunteerFacts>& facts) {
  if (caller.role == CallerRole::kVolunteer) {
    return Access{caller.person_id == volunteer_id, true};
  }
  if (!IsHandler(caller)) return Access{};
  if (facts.status().code() == absl::StatusCode::kNotFound) return Access{};
  if (!facts.ok()) return facts.status();
  bool supervises = std::find(facts->supervisor_ids.begin(), facts->supervisor_ids.end(),
                              caller.person_id) != facts->supervisor_ids.end();
  bool visible = caller.role == CallerRole::kCoordinator || supervises;
  return Access{visible, visible && facts->share_scores_with_supervisor};
}

AuditRecord AlertService::ReadRecord(const Caller& caller, const std::string& volunteer_id,
                                     const char* rpc, const absl::Status& outcome) const {
  return {caller.person_id,
          caller.role,
          caller.organization_id,
          volunteer_id,
          absl::StrCat(kServicePrefix, rpc),
          std::string(absl::StatusCodeToString(outcome.code())),
          clock_.Now()};
}

absl::Status AlertService::Audit(const Caller& caller, const std::string& volunteer_id,
                                 const char* rpc, const absl::Status& outcome) {
  if (caller.person_id == volunteer_id) return absl::OkStatus();
  return audit_.Append(ReadRecord(caller, volunteer_id, rpc, outcome));
}

absl::StatusOr<AlertService::VisibleAlert> AlertService::Visible(const Caller& caller,
                                                                 const std::string& alert_id,
                                                                 const char* rpc) {
  if (alert_id.empty()) return InvalidField("alert_id", "is required");
  if (!IsWellFormedId(alert_id, "a")) return InvalidField("alert_id", "is not an alert id");
  auto alert = store_.GetAlert(caller.organization_id, alert_id);
  if (!alert.ok()) return alert.status();
  absl::Status missing = absl::NotFoundError("alert_id: no such alert");
  if (!alert->has_value()) return missing;
  const std::string& volunteer = (*alert)->alert.volunteer_id;
  auto access = AccessTo(caller, volunteer);
  if (!access.ok()) return access.status();
  if (!access->visible) return missing;
  if (auto audited = Audit(caller, volunteer, rpc, absl::OkStatus()); !audited.ok()) {
    return audited;
  }
  return VisibleAlert{**std::move(alert), *access};
}

absl::StatusOr<Alert> AlertService::Readable(const std::string& organization_id, SealedAlert stored,
                                             bool values) {
  Alert alert = WithFactors(std::move(stored.alert), values);
  auto note =
      OpenOrLeaveOut(cipher_, organization_id, alert.volunteer_id, alert.id, stored.sealed_note);
  if (!note.ok()) return note.status();
  alert.resolution_note = *std::move(note);
  return alert;
}

absl::StatusOr<AlertPage> AlertService::ListAlerts(const Caller& caller, const AlertFilter& filter,
                                                   int page_size, const std::string& position) {
  if (caller.role != CallerRole::kVolunteer && !IsHandler(caller)) {
    return absl::PermissionDeniedError("this credential cannot read alerts");
  }
  std::string volunteer = filter.volunteer_id;
  if (caller.role == CallerRole::kVolunteer) {
    if (!volunteer.empty() && volunteer != caller.person_id) {
      return absl::PermissionDeniedError("volunteers see only their own alerts");
    }
    volunteer = caller.person_id;
  }
  absl::Time before = absl::InfiniteFuture();
  if (!position.empty()) {
    int64_t micros = 0;
    if (!absl::SimpleAtoi(position, &micros)) {
      return InvalidField("page_token", "is not a page token of this listing");
    }
    before = absl::FromUnixMicros(micros);
  }
  // Access is decided once per volunteer, whatever the number of their alerts.
  std::map<std::string, Access> access;
  absl::Status failure;
  auto keep = [&](const Alert& alert) {
    if (!failure.ok()) return false;  // the call fails anyway: ask the directory no more
    if (!volunteer.empty() && alert.volunteer_id != volunteer) return false;
    if (!filter.states.empty() &&
        std::find(filter.states.begin(), filter.states.end(), alert.state) == filter.states.end()) {
      return false;
    }
    if (alert.priority < filter.min_priority) return false;
    auto it = access.find(alert.volunteer_id);
    if (it == access.end()) {
      auto decided = AccessTo(caller, alert.volunteer_id);
      if (!decided.ok()) {
        failure = decided.status();
        return false;
      }
      it = access.emplace(alert.volunteer_id, *decided).first;
    }
    return it->second.visible;
  };
  auto listed = store_.ListAlerts(caller.organization_id, before, page_size, keep);
  if (!failure.ok()) return failure;
  if (!listed.ok()) return listed.status();
  AlertPage page;
  std::set<std::string> audited;
  // Only what `keep` let through is here: notes open for those who may read them alone.
  for (SealedAlert& stored : listed->first) {
    const std::string volunteer_id = stored.alert.volunteer_id;
    if (audited.insert(volunteer_id).second) {
      if (auto status = Audit(caller, volunteer_id, "ListAlerts", absl::OkStatus()); !status.ok()) {
        return status;
      }
    }
    auto alert = Readable(caller.organization_id, std::move(stored), access[volunteer_id].values);
    if (!alert.ok()) return alert.status();
    page.alerts.push_back(*std::move(alert));
  }
  if (listed->second.has_value()) {
    page.next_position = absl::StrCat(absl::ToUnixMicros(*listed->second));
  }
  if (caller.role == CallerRole::kCoordinator) {
    // Coordinators are who escalations reach: open escalated alerts lead each page.
    std::stable_sort(page.alerts.begin(), page.alerts.end(), [](const Alert& a, const Alert& b) {
      auto escalated = [](const Alert& alert) {
        return alert.escalation_level > 0 && alert.state != AlertState::kResolved;
      };
      return escalated(a) && !escalated(b);
    });
  }
  return page;
}

absl::StatusOr<Alert> AlertService::GetAlert(const Caller& caller, const std::string& alert_id) {
  auto visible = Visible(caller, alert_id, "GetAlert");
  if (!visible.ok()) return visible.status();
  return Readable(caller.organization_id, std::move(visible->stored), visible->access.values);
}

absl::StatusOr<std::vector<std::optional<Alert>>> AlertService::WatchedAlerts(
    const Caller& caller, const std::vector<std::string>& alert_ids) {
  std::vector<std::optional<Alert>> alerts(alert_ids.size());
  std::vector<std::string> ids;
  for (const std::string& id : alert_ids) ids.push_back(IsWellFormedId(id, "a") ? id : "");
  auto stored = store_.GetAlerts(caller.organization_id, ids);
  if (!stored.ok()) return stored.status();
  // Access decided once per volunteer, what the directory's cache lacks asked side by side.
  std::vector<std::string> volunteers;
  for (const auto& sealed : *stored) {
    if (sealed.has_value()) volunteers.push_back(sealed->alert.volunteer_id);
  }
  std::sort(volunteers.begin(), volunteers.end());
  volunteers.erase(std::unique(volunteers.begin(), volunteers.end()), volunteers.end());
  std::vector<absl::StatusOr<VolunteerFacts>> facts;
  if (IsHandler(caller)) {
    std::vector<VolunteerDirectory::VolunteerRef> refs;
    for (const std::string& volunteer : volunteers) {
      refs.push_back({caller.organization_id, volunteer});
    }
    facts = directory_.GetVolunteers(refs);
  } else {
    facts.assign(volunteers.size(), VolunteerFacts{});
  }
  std::map<std::string, Access> access;
  std::vector<AuditRecord> reads;
  for (size_t v = 0; v < volunteers.size(); ++v) {
    auto decided = AccessFrom(caller, volunteers[v], facts[v]);
    if (!decided.ok()) return decided.status();
    access.emplace(volunteers[v], *decided);
    if (decided->visible && caller.person_id != volunteers[v]) {
      reads.push_back(ReadRecord(caller, volunteers[v], "WatchAlerts", absl::OkStatus()));
    }
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i].empty() || !(*stored)[i].has_value()) continue;
    SealedAlert& sealed = *(*stored)[i];
    auto it = access.find(sealed.alert.volunteer_id);
    if (!it->second.visible) continue;
    auto alert = Readable(caller.organization_id, std::move(sealed), it->second.values);
    if (!alert.ok()) return alert.status();
    alerts[i] = *std::move(alert);
  }
  if (auto audited = audit_.AppendAll(reads); !audited.ok()) return audited;
  return alerts;
}

absl::StatusOr<Alert> AlertService::AcknowledgeAlert(const Caller& caller,
                                                     const std::string& alert_id) {
  if (!IsHandler(caller)) {
    return absl::PermissionDeniedError("supervisors and coordinators acknowledge alerts");
  }
  auto visible = Visible(caller, alert_id, "AcknowledgeAlert");
  if (!visible.ok()) return visible.status();
  auto acknowledged =
      store_.Acknowledge(caller.organization_id, alert_id, caller.person_id, clock_.Now());
  if (!acknowledged.ok()) return acknowledged.status();
  auto access = AccessTo(caller, acknowledged->alert.volunteer_id);
  if (!access.ok()) return access.status();
  return Readable(caller.organization_id, *std::move(acknowledged), access->values);
}

absl::StatusOr<Alert> AlertService::ResolveAlert(const Caller& caller, const std::string& alert_id,
                                                 Outcome outcome, const std::string& note) {
  if (!IsHandler(caller)) {
    return absl::PermissionDeniedError("supervisors and coordinators resolve alerts");
  }
  if (auto status = ValidateFreeText("note", note, kMaxNoteChars); !status.ok()) return status;
  auto visible = Visible(caller, alert_id, "ResolveAlert");
  if (!visible.ok()) return visible.status();
  const Alert& alert = visible->stored.alert;
  if (alert.priority >= Priority::kMedium && outcome == Outcome::kUnspecified) {
    return InvalidField("outcome", "is required to resolve a wellbeing alert");
  }
  std::string sealed_note;
  if (!note.empty()) {
    auto sealed = cipher_.Seal(caller.organization_id, alert.volunteer_id,
                               ResolutionNoteRecord(alert_id), note);
    if (!sealed.ok()) return sealed.status();
    sealed_note = *std::move(sealed);
  }
  auto resolved = store_.Resolve(caller.organization_id, alert_id, caller.person_id, outcome,
                                 sealed_note, clock_.Now());
  if (!resolved.ok()) return resolved.status();
  auto access = AccessTo(caller, resolved->alert.volunteer_id);
  if (!access.ok()) return access.status();
  // The answer's note is the one stored, opened as any reader's is.
  return Readable(caller.organization_id, *std::move(resolved), access->values);
}

absl::StatusOr<RiskProfile> AlertService::GetRiskProfile(const Caller& caller,
                                                         const std::string& volunteer_id) {
  std::string volunteer = volunteer_id.empty() ? caller.person_id : volunteer_id;
  if (caller.role == CallerRole::kVolunteer && volunteer != caller.person_id) {
    return absl::PermissionDeniedError("volunteers see only their own risk profile");
  }
  if (caller.role != CallerRole::kVolunteer && !IsHandler(caller)) {
    return absl::PermissionDeniedError("this credential cannot read risk profiles");
  }
  if (!IsWellFormedId(volunteer, "p")) return InvalidField("volunteer_id", "is not a person id");
  auto access = AccessTo(caller, volunteer);
  if (!access.ok()) return access.status();
  if (!access->visible) return absl::NotFoundError("volunteer_id: no such volunteer");
  if (auto audited = Audit(caller, volunteer, "GetRiskProfile", absl::OkStatus()); !audited.ok()) {
    return audited;
  }
  absl::Time now = clock_.Now();
  auto policy = store_.GetPolicy(caller.organization_id);
  if (!policy.ok()) return policy.status();
  auto history = store_.GetHistory(caller.organization_id, volunteer);
  if (!history.ok()) return history.status();
  auto facts = directory_.GetVolunteer(caller.organization_id, volunteer);
  if (!facts.ok()) return facts.status();
  history->commitment_hours_per_month = facts->commitment_hours_per_month;
  history->active = facts->active;
  // What holds now, plus what the volunteer reported that is still open.
  std::vector<RuleHit> hits = EvaluateCheckinRules(*policy, *history, "", now);
  if (auto missed = CheckinsMissedHit(*policy, *history, now); missed.has_value()) {
    hits.push_back(*std::move(missed));
  }
  auto open = store_.OpenAlerts(caller.organization_id, volunteer);
  if (!open.ok()) return open.status();
  for (const Alert& alert : *open) {
    if (alert.rule_id == "critical_incident" || alert.rule_id == "support_requested" ||
        alert.rule_id == "supervision_overdue") {
      hits.push_back({alert.rule_id, alert.priority, alert.factors});
    }
  }
  RiskProfile profile = ComposeRiskProfile(hits);
  if (!access->values) {
    for (Factor& factor : profile.factors) factor = RedactFactor(factor);
  }
  return profile;
}

absl::StatusOr<AlertPolicy> AlertService::GetAlertPolicy(const Caller& caller) {
  if (caller.role != CallerRole::kVolunteer && !IsHandler(caller) &&
      caller.role != CallerRole::kService) {
    return absl::PermissionDeniedError("this credential cannot read the alert policy");
  }
  return store_.GetPolicy(caller.organization_id);
}

absl::StatusOr<AlertPolicy> AlertService::UpdateAlertPolicy(const Caller& caller,
                                                            const AlertPolicy& policy) {
  if (caller.role != CallerRole::kCoordinator) {
    return absl::PermissionDeniedError("only a coordinator changes the alert policy");
  }
  if (auto status = store_.SetPolicy(caller.organization_id, policy); !status.ok()) return status;
  return policy;
}

absl::StatusOr<Silence> AlertService::CreateSilence(const Caller& caller,
                                                    const std::string& volunteer_id,
                                                    absl::Time end_time,
                                                    const std::string& reason) {
  if (!IsHandler(caller)) {
    return absl::PermissionDeniedError("supervisors and coordinators create silences");
  }
  if (!IsWellFormedId(volunteer_id, "p")) return InvalidField("volunteer_id", "is not a person id");
  absl::Time now = clock_.Now();
  if (end_time <= now || end_time > now + absl::Hours(24 * 90)) {
    return InvalidField("end_time", "must be in the next 90 days");
  }
  if (auto status = ValidateText("reason", reason, 1, 200); !status.ok()) return status;
  auto access = AccessTo(caller, volunteer_id);
  if (!access.ok()) return access.status();
  if (!access->visible) return absl::NotFoundError("volunteer_id: no such volunteer");
  Silence silence{NewId("s"), caller.organization_id, volunteer_id, end_time,
                  reason,     caller.person_id,       now};
  if (auto status = store_.CreateSilence(silence); !status.ok()) return status;
  return silence;
}

absl::StatusOr<std::vector<Silence>> AlertService::ListSilences(const Caller& caller) {
  if (!IsHandler(caller)) {
    return absl::PermissionDeniedError("supervisors and coordinators list silences");
  }
  auto silences = store_.ListSilences(caller.organization_id, clock_.Now());
  if (!silences.ok()) return silences.status();
  std::vector<Silence> visible;
  for (Silence& silence : *silences) {
    auto access = AccessTo(caller, silence.volunteer_id);
    if (!access.ok()) return access.status();
    if (access->visible) visible.push_back(std::move(silence));
  }
  return visible;
}

absl::Status AlertService::DeleteSilence(const Caller& caller, const std::string& silence_id) {
  if (!IsHandler(caller)) {
    return absl::PermissionDeniedError("supervisors and coordinators delete silences");
  }
  if (!IsWellFormedId(silence_id, "s")) return InvalidField("silence_id", "is not a silence id");
  auto silence = store_.GetSilence(caller.organization_id, silence_id);
  if (!silence.ok()) return silence.status();
  absl::Status missing = absl::NotFoundError("silence_id: no such silence");
  if (!silence->has_value()) return missing;
  auto access = AccessTo(caller, (*silence)->volunteer_id);
  if (!access.ok()) return access.status();
  if (!access->visible) return missing;
  return store_.DeleteSilence(**silence);
}

absl::StatusOr<PersonRecords> AlertService::ExportPerson(const Caller& caller,
                                                         const std::string& person_id) {
  if (auto status = CheckPersonRecordsRequest(caller, person_id); !status.ok()) return status;
  // The id goes into key names: nothing but a person id's shape may (a ':' could reach keys of
  // another shape).
  if (!IsWellFormedId(person_id, "p")) return InvalidField("person_id", "is not a person id");
  const std::string& org = caller.organization_id;
  PersonRecords records;
  auto alerts = store_.VolunteerAlerts(org, person_id);
  if (!alerts.ok()) return alerts.status();
  for (SealedAlert& stored : *alerts) {
    // Their own alerts: every factor value, and the note opened (left out when it no longer
    // opens; the alert and the rest of the export still show).
    auto alert = Readable(org, std::move(stored), /*values=*/true);
    if (!alert.ok()) return alert.status();
    records.alerts.push_back(*std::move(alert));
  }
  auto history = store_.HistoryCheckins(org, person_id);
  if (!history.ok()) return history.status();
  records.risk_history = *std::move(history);
  auto silences = store_.VolunteerSilences(org, person_id);
  if (!silences.ok()) return silences.status();
  records.silences = *std::move(silences);
  auto last_checkin = store_.LastCheckin(org, person_id);
  if (!last_checkin.ok()) return last_checkin.status();
  records.last_checkin = *last_checkin;
  return records;
}

absl::Status AlertService::ErasePerson(const std::string& organization_id,
                                       const std::string& person_id) {
  // The ids come from the directory's event; they also make the store's key names and search
  // patterns, which a malformed id could widen to other people's keys.
  if (!IsWellFormedId(organization_id, "o")) {
    return InvalidField("organization_id", "is not an organisation id");
  }
  if (!IsWellFormedId(person_id, "p")) return InvalidField("person_id", "is not a person id");
  // The data key on its own, first: should a later step fail, every resolution note about the
  // volunteer is already unreadable wherever a copy of it is left.
  if (auto status = store_.DeleteDataKey(organization_id, person_id); !status.ok()) return status;
  if (auto status = store_.DeleteVolunteerAlerts(organization_id, person_id); !status.ok()) {
    return status;
  }
  if (auto status = store_.DeleteRiskHistory(organization_id, person_id); !status.ok()) {
    return status;
  }
  if (auto status = store_.DeleteVolunteerSilences(organization_id, person_id); !status.ok()) {
    return status;
  }
  if (auto status = store_.ForgetHandler(organization_id, person_id); !status.ok()) return status;
  return store_.DeleteEventsNaming(organization_id, person_id);
}

}  // namespace peerwell::alerts
