#include "services/checkin/checkin_service.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/checkin/instrument_registry.h"
#include "services/checkin/scoring.h"
#include "services/common/deadline.h"
#include "services/common/ids.h"
#include "services/common/validation.h"

namespace peerwell::checkin {
namespace {

constexpr char kServicePrefix[] = "peerwell.checkin.v1.CheckinService/";
constexpr absl::Duration kFutureTolerance = absl::Minutes(5);
constexpr absl::Duration kMaxTrendWindow = absl::Hours(24 * 365 * 5);
constexpr absl::Duration kFollowUpNagFor = absl::Hours(24 * 30);
constexpr int kTrendReadPage = 1000;
constexpr absl::Duration kMaxImportAge = absl::Hours(24 * 365 * 2);

absl::Status CheckOptionalRequestId(const std::string& request_id) {
  return request_id.empty() ? absl::OkStatus() : ValidateToken("request_id", request_id);
}

absl::Status ValidateContext(const CheckinContext& context) {
  if (!context.session_kind.empty()) {
    if (auto status = ValidateToken("context.session_kind", context.session_kind);
        !status.ok() || context.session_kind.size() > 32) {
      return InvalidField("context.session_kind",
                          "must be up to 32 letters, digits or . _ : - (e.g. group)");
    }
  }
  if (!std::isfinite(context.hours) || context.hours < 0 || context.hours > 24) {
    return InvalidField("context.hours", "must be between 0 and 24");
  }
  if (context.sessions_facilitated < 0 || context.sessions_facilitated > 50) {
    return InvalidField("context.sessions_facilitated", "must be between 0 and 50");
  }
  return absl::OkStatus();
}

// The scale with `scale_id` and the instrument that scores it; nulls when there is none.
struct ScaleOfInstrument {
  const Instrument* instrument = nullptr;
  const Scale* scale = nullptr;
};
ScaleOfInstrument FindScale(const std::string& scale_id) {
  for (const Instrument& instrument : AllInstruments()) {
    for (const Scale& scale : instrument.scales) {
      if (scale.id == scale_id) return {&instrument, &scale};
    }
  }
  return {};
}

// A partner's key needs the scope; coordinators need none where they are allowed at all.
absl::Status CheckScope(const Caller& caller, absl::string_view scope) {
  if (caller.role != CallerRole::kPartner) return absl::OkStatus();
  return RequireScope(caller, scope);
}

// Midnight (UTC) at or after `time`: a partner's time filter never tells more than the day.
absl::Time DayBoundaryAtOrAfter(absl::Time time) {
  absl::CivilDay day(absl::ToCivilSecond(time, absl::UTCTimeZone()));
  absl::Time midnight = absl::FromCivil(day, absl::UTCTimeZone());
  return midnight == time ? midnight : absl::FromCivil(day + 1, absl::UTCTimeZone());
}

constexpr int kAggregatePeriodsByDefault = 12;
constexpr absl::Duration kMaxAggregateSpan = absl::Hours(24 * (3 * 365 + 1));
constexpr int kMaxAggregateCheckinsPerVolunteer = 5000;
constexpr size_t kCheckinLoadBatch = 500;
// Volunteers whose index one round trip reads: ids only, so a page takes few round trips.
constexpr size_t kExportVolunteerBatch = 128;

std::string CheckinRecord(const std::string& id) { return absl::StrCat("checkin/", id); }
std::string IncidentRecord(const std::string& id) { return absl::StrCat("incident/", id); }
std::string SupportRecord(const std::string& id) { return absl::StrCat("support/", id); }

// A text the volunteer wrote, opened. One that does not open (altered, or its key destroyed)
// reads as empty, so that its record and the rest still show.
absl::StatusOr<std::string> OpenOrLeaveOut(NoteCipher& cipher, const std::string& organization_id,
                                           const std::string& volunteer_id,
                                           const std::string& record, const std::string& sealed) {
  if (sealed.empty()) return std::string();
  auto text = cipher.Open(organization_id, volunteer_id, record, sealed);
  if (!text.ok() && text.status().code() == absl::StatusCode::kDataLoss) return std::string();
  return text;
}

}  // namespace

CheckinSettings DefaultCheckinSettings() {
  CheckinSettings settings;
  settings.cadence_days = {{"who5", 14}, {"cbi", 30}, {"proqol5", 90}};
  settings.support_resources = {
      {"Talk to your supervisor",
       "Your supervisor has been told and will contact you. You can also call them directly.",
       "See your supervisor's contact details in PeerWell"},
      {"Debrief",
       "A debrief session is offered after every critical incident. Accepting or "
       "declining it is entirely your choice.",
       "Supervision in PeerWell"},
      {"If you are in crisis",
       "If you feel unsafe or at risk, contact emergency services or a "
       "crisis line now.",
       "Emergency services: 112 / 999 / 911"},
  };
  return settings;
}

Trend ComputeTrend(std::vector<TrendPoint> points) {
  Trend trend;
  trend.points = std::move(points);
  if (trend.points.empty()) return trend;
  const TrendPoint& last = trend.points.back();
  trend.latest = last.value;
  std::vector<double> before;
  for (size_t i = 0; i + 1 < trend.points.size(); ++i) {
    const TrendPoint& point = trend.points[i];
    if (point.time >= last.time - kBaselineWindow && point.time < last.time) {
      before.push_back(point.value);
    }
  }
  if (!before.empty()) {
    std::sort(before.begin(), before.end());
    size_t middle = before.size() / 2;
    trend.baseline =
        before.size() % 2 == 1 ? before[middle] : (before[middle - 1] + before[middle]) / 2;
    trend.change = *trend.latest - *trend.baseline;
  }
  return trend;
}

std::vector<DueCheckin> ComputeDueCheckins(const CheckinSettings& settings,
                                           const std::map<std::string, absl::Time>& last_submit,
                                           const std::vector<absl::Time>& who5_times,
                                           const std::vector<absl::Time>& incident_times,
                                           absl::Time now) {
  std::map<std::string, DueCheckin> due;
  for (const auto& [instrument, days] : settings.cadence_days) {
    auto last = last_submit.find(instrument);
    if (last == last_submit.end()) {
      due[instrument] = {instrument, now, "first_checkin"};
    } else if (absl::Time next = last->second + absl::Hours(24 * days); next <= now) {
      due[instrument] = {instrument, next, "cadence"};
    }
  }
  for (absl::Time reported : incident_times) {
    for (int days : {7, 30}) {
      absl::Time follow_up = reported + absl::Hours(24 * days);
      if (follow_up > now || now - follow_up > kFollowUpNagFor) continue;
      bool done = std::any_of(who5_times.begin(), who5_times.end(),
                              [&](absl::Time t) { return t >= follow_up; });
      if (done) continue;
      auto it = due.find("who5");
      if (it == due.end() || it->second.reason != "incident_follow_up" ||
          follow_up < it->second.due_time) {
        due["who5"] = {"who5", follow_up, "incident_follow_up"};
      }
    }
  }
  std::vector<DueCheckin> out;
  for (auto& [id, entry] : due) out.push_back(entry);
  std::sort(out.begin(), out.end(), [](const DueCheckin& a, const DueCheckin& b) {
    return a.due_time != b.due_time ? a.due_time < b.due_time : a.instrument_id < b.instrument_id;
  });
  return out;
}

absl::StatusOr<std::string> CheckinService::SubmitterFor(const Caller& caller,
                                                         const std::string& volunteer_id) {
  if (caller.role != CallerRole::kVolunteer) {
    return absl::PermissionDeniedError("only volunteers submit, and only for themselves");
  }
  if (!volunteer_id.empty() && volunteer_id != caller.person_id) {
    return absl::PermissionDeniedError("volunteer_id: volunteers submit only for themselves");
  }
  auto facts = people_.GetPerson(caller.organization_id, caller.person_id);
  if (!facts.ok()) return facts.status();
  if (!facts->is_volunteer) {
    return absl::PermissionDeniedError("only volunteers submit check-ins");
  }
  return caller.person_id;
}

absl::StatusOr<std::string> CheckinService::ImportTarget(const Caller& caller,
                                                         const std::string& volunteer_id) {
  if (caller.organization_id.empty()) {
    return absl::PermissionDeniedError("an import needs the organisation as the token's org");
  }
  if (volunteer_id.empty()) return InvalidField("volunteer_id", "is required for an import");
  if (!IsWellFormedId(volunteer_id, "p")) return InvalidField("volunteer_id", "is not a person id");
  auto facts = people_.GetPerson(caller.organization_id, volunteer_id);
  if (!facts.ok()) return facts.status();
  if (!facts->is_volunteer) {
    return absl::FailedPreconditionError("volunteer_id: check-ins are a volunteer's");
  }
  return volunteer_id;
}

absl::StatusOr<std::string> CheckinService::ReaderFor(const Caller& caller,
                                                      const std::string& volunteer_id,
                                                      const char* rpc) {
  if (caller.role == CallerRole::kVolunteer) {
    if (!volunteer_id.empty() && volunteer_id != caller.person_id) {
      return absl::PermissionDeniedError("volunteers see only their own check-ins");
    }
    return caller.person_id;
  }
  if (caller.role != CallerRole::kSupervisor && caller.role != CallerRole::kCoordinator) {
    return absl::PermissionDeniedError("this credential cannot read check-ins");
  }
  if (volunteer_id.empty()) return InvalidField("volunteer_id", "is required");
  if (!IsWellFormedId(volunteer_id, "p")) return InvalidField("volunteer_id", "is not a person id");
  // Someone missing, not a volunteer, or not the supervisor's all get this very answer, so that
  // its words do not tell them apart.
  const absl::Status no_such_volunteer = absl::NotFoundError("volunteer_id: no such volunteer");
  auto facts = people_.GetPerson(caller.organization_id, volunteer_id);
  if (!facts.ok()) {
    return facts.status().code() == absl::StatusCode::kNotFound ? no_such_volunteer
                                                                : facts.status();
  }
  bool supervises = std::find(facts->supervisor_ids.begin(), facts->supervisor_ids.end(),
                              caller.person_id) != facts->supervisor_ids.end();
  if (!facts->is_volunteer) return no_such_volunteer;
  if (caller.role == CallerRole::kSupervisor && !supervises) {
    // An attempt on a volunteer's data, so audited; answered like a missing volunteer.
    const absl::Status& hidden = no_such_volunteer;
    AuditRecord record{caller.person_id,
                       caller.role,
                       caller.organization_id,
                       volunteer_id,
                       absl::StrCat(kServicePrefix, rpc),
                       std::string(absl::StatusCodeToString(hidden.code())),
                       clock_.Now()};
    if (auto audited = audit_.Append(record); !audited.ok()) return audited;
    return hidden;
  }
  auto shares = people_.SharesScores(caller.organization_id, volunteer_id);
  if (!shares.ok()) return shares.status();
  absl::Status allowed =
      *shares
          ? absl::OkStatus()
          : absl::PermissionDeniedError("the volunteer has not consented to share their scores");
  AuditRecord record{caller.person_id,
                     caller.role,
                     caller.organization_id,
                     volunteer_id,
                     absl::StrCat(kServicePrefix, rpc),
                     std::string(absl::StatusCodeToString(allowed.code())),
                     clock_.Now()};
  if (auto audited = audit_.Append(record); !audited.ok()) return audited;
  if (!allowed.ok()) return allowed;
  return volunteer_id;
}

absl::StatusOr<std::vector<const Instrument*>> CheckinService::ListInstruments(
    const Caller& caller) {
  // Partners read them too: their export and aggregates refer to the instruments' items and
  // scales.
  if (!caller.IsMember() && caller.role != CallerRole::kService &&
      caller.role != CallerRole::kPartner) {
    return absl::PermissionDeniedError("this credential cannot list instruments");
  }
  auto settings = store_.GetSettings(caller.organization_id);
  if (!settings.ok()) return settings.status();
  return EnabledInstruments(!settings->swemwbs_registration.empty());
}

void CheckinService::SubmitCheckin(const Caller& caller, SubmitCheckinInput input,
                                   CheckinDone done) {
  auto prepared = PrepareCheckin(caller, input);
  if (!prepared.ok()) return std::move(done)(prepared.status());
  Checkin checkin = prepared->sealed.checkin;
  checkin.note = std::move(input.note);
  store_.CreateCheckin(prepared->sealed, prepared->support, {caller.person_id, input.request_id},
                       [this, checkin = std::move(checkin), deadline = CurrentDeadline(),
                        done = std::move(done)](absl::StatusOr<Created> created) mutable {
                         AnswerStored(std::move(created), std::move(checkin), deadline,
                                      std::move(done));
                       });
}

void CheckinService::AnswerStored(absl::StatusOr<Created> created, Checkin checkin,
                                  absl::Time deadline, CheckinDone done) {
  if (!created.ok()) return std::move(done)(created.status());
  if (!created->replayed) return std::move(done)(std::move(checkin));
  // Reading the first submission back waits: not on the Redis client's thread, where this runs.
  auto answer = std::make_shared<CheckinDone>(std::move(done));
  bool queued = executor_.Submit(
      [this, organization_id = checkin.organization_id, id = created->id, deadline, answer] {
        ScopedDeadline scoped(deadline);
        std::move (*answer)(StoredCheckin(organization_id, id));
      });
  if (!queued) std::move (*answer)(absl::UnavailableError("server is overloaded"));
}

absl::StatusOr<CheckinService::PreparedCheckin> CheckinService::PrepareCheckin(
    const Caller& caller, SubmitCheckinInput& input) {
  absl::StatusOr<std::string> volunteer;
  absl::Time submit_time = clock_.Now();
  if (caller.role == CallerRole::kAdmin) {
    volunteer = ImportTarget(caller, input.volunteer_id);
    if (input.submit_time.has_value()) {
      if (*input.submit_time > submit_time || *input.submit_time < submit_time - kMaxImportAge) {
        return InvalidField("submit_time", "must be within the last two years");
      }
      submit_time = *input.submit_time;
    }
  } else {
    if (input.submit_time.has_value()) {
      return InvalidField("submit_time", "is set only when the platform operator imports");
    }
    volunteer = SubmitterFor(caller, input.volunteer_id);
  }
  if (!volunteer.ok()) return volunteer.status();
  const Instrument* instrument = FindInstrument(input.instrument_id);
  if (instrument == nullptr) {
    return InvalidField("instrument_id", "is not a known instrument (see ListInstruments)");
  }
  if (instrument->requires_registration) {
    auto settings = store_.GetSettings(caller.organization_id);
    if (!settings.ok()) return settings.status();
    if (settings->swemwbs_registration.empty()) {
      return InvalidField("instrument_id", absl::StrCat(instrument->id,
                                                        " is not enabled for this organisation: "
                                                        "a coordinator records its registration "
                                                        "first"));
    }
  }
  auto scores = ValidateAndScore(*instrument, input.answers);
  if (!scores.ok()) return scores.status();
  if (auto status = ValidateContext(input.context); !status.ok()) return status;
  if (auto status = ValidateFreeText("note", input.note, kMaxNoteChars); !status.ok()) {
    return status;
  }
  if (auto status = CheckOptionalRequestId(input.request_id); !status.ok()) return status;

  PreparedCheckin prepared;
  Checkin& checkin = prepared.sealed.checkin;
  checkin.id = NewId("c");
  checkin.organization_id = caller.organization_id;
  checkin.volunteer_id = *volunteer;
  checkin.instrument_id = instrument->id;
  checkin.instrument_version = instrument->version;
  checkin.submit_time = submit_time;
  checkin.answers = std::move(input.answers);
  checkin.context = input.context;
  checkin.scores = *std::move(scores);
  if (!input.note.empty()) {
    auto note = cipher_.Seal(checkin.organization_id, checkin.volunteer_id,
                             CheckinRecord(checkin.id), input.note);
    if (!note.ok()) return note.status();
    prepared.sealed.sealed_note = *std::move(note);
  }
  // An imported pulse is history: it does not raise a support request now.
  if (instrument->id == "pulse" && caller.role != CallerRole::kAdmin) {
    for (const Answer& answer : checkin.answers) {
      if (answer.item_id == "want_to_talk" && answer.value == 1) {
        SupportRequest request{NewId("s"),
                               checkin.organization_id,
                               checkin.volunteer_id,
                               Urgency::kLow,
                               checkin.submit_time,
                               kSupportSourcePulse,
                               ""};
        prepared.support = SealedSupportRequest{request, ""};
      }
    }
  }
  return prepared;
}

absl::StatusOr<Checkin> CheckinService::StoredCheckin(const std::string& organization_id,
                                                      const std::string& checkin_id) {
  auto stored = store_.GetCheckin(organization_id, checkin_id);
  if (!stored.ok()) return stored.status();
  if (!stored->has_value()) return absl::InternalError("replayed check-in is missing");
  Checkin first = (*stored)->checkin;
  if (!(*stored)->sealed_note.empty()) {
    auto note = cipher_.Open(first.organization_id, first.volunteer_id, CheckinRecord(first.id),
                             (*stored)->sealed_note);
    if (!note.ok()) return note.status();
    first.note = *std::move(note);
  }
  return first;
}

absl::StatusOr<std::pair<Incident, std::vector<SupportResource>>>
CheckinService::ReportCriticalIncident(const Caller& caller, ReportIncidentInput input) {
  auto volunteer = SubmitterFor(caller, input.volunteer_id);
  if (!volunteer.ok()) return volunteer.status();
  if (input.type == IncidentType::kUnspecified) {
    return InvalidField("incident_type", "is required");
  }
  absl::Time now = clock_.Now();
  if (!input.occur_time.has_value()) return InvalidField("occur_time", "is required");
  if (*input.occur_time > now + kFutureTolerance) {
    return InvalidField("occur_time", "must not be in the future");
  }
  if (*input.occur_time < now - absl::Hours(24 * 365)) {
    return InvalidField("occur_time", "must be within the last year");
  }
  if (auto status = ValidateFreeText("description", input.description, kMaxDescriptionChars);
      !status.ok()) {
    return status;
  }
  if (auto status = CheckOptionalRequestId(input.request_id); !status.ok()) return status;
  auto settings = store_.GetSettings(caller.organization_id);
  if (!settings.ok()) return settings.status();

  Incident incident{
      NewId("i"), caller.organization_id, *volunteer, input.type, *input.occur_time, now, ""};
  SealedIncident sealed{incident, ""};
  if (!input.description.empty()) {
    auto description = cipher_.Seal(incident.organization_id, incident.volunteer_id,
                                    IncidentRecord(incident.id), input.description);
    if (!description.ok()) return description.status();
    sealed.sealed_description = *std::move(description);
  }
  auto created = store_.CreateIncident(sealed, {caller.person_id, input.request_id});
  if (!created.ok()) return created.status();
  if (created->replayed) {
    auto stored = store_.GetIncident(caller.organization_id, created->id);
    if (!stored.ok()) return stored.status();
    if (!stored->has_value()) return absl::InternalError("replayed incident is missing");
    incident = (*stored)->incident;
    if (!(*stored)->sealed_description.empty()) {
      auto description = cipher_.Open(incident.organization_id, incident.volunteer_id,
                                      IncidentRecord(incident.id), (*stored)->sealed_description);
      if (!description.ok()) return description.status();
      incident.description = *std::move(description);
    }
  } else {
    incident.description = std::move(input.description);
  }
  return std::make_pair(incident, settings->support_resources);
}

absl::StatusOr<SupportRequest> CheckinService::RequestSupport(const Caller& caller,
                                                              RequestSupportInput input) {
  auto volunteer = SubmitterFor(caller, input.volunteer_id);
  if (!volunteer.ok()) return volunteer.status();
  if (input.urgency == Urgency::kUnspecified) return InvalidField("urgency", "is required");
  if (auto status = ValidateFreeText("note", input.note, kMaxNoteChars); !status.ok()) {
    return status;
  }
  if (auto status = CheckOptionalRequestId(input.request_id); !status.ok()) return status;
  SupportRequest request{NewId("s"),   caller.organization_id, *volunteer, input.urgency,
                         clock_.Now(), kSupportSourceRequest,  ""};
  SealedSupportRequest sealed{request, ""};
  if (!input.note.empty()) {
    auto note = cipher_.Seal(request.organization_id, request.volunteer_id,
                             SupportRecord(request.id), input.note);
    if (!note.ok()) return note.status();
    sealed.sealed_note = *std::move(note);
  }
  auto created = store_.CreateSupportRequest(sealed, {caller.person_id, input.request_id});
  if (!created.ok()) return created.status();
  if (created->replayed) {
    auto stored = store_.GetSupportRequest(caller.organization_id, created->id);
    if (!stored.ok()) return stored.status();
    if (!stored->has_value()) return absl::InternalError("replayed support request is missing");
    request = (*stored)->request;
    if (!(*stored)->sealed_note.empty()) {
      auto note = cipher_.Open(request.organization_id, request.volunteer_id,
                               SupportRecord(request.id), (*stored)->sealed_note);
      if (!note.ok()) return note.status();
      request.note = *std::move(note);
    }
  } else {
    // The caller is the volunteer (SubmitterFor), so the note goes back to them.
    request.note = std::move(input.note);
  }
  return request;
}

absl::StatusOr<std::pair<std::vector<Checkin>, std::string>> CheckinService::ListCheckins(
    const Caller& caller, const std::string& volunteer_id, CheckinQuery query) {
  if (!query.instrument_id.empty() && FindInstrument(query.instrument_id) == nullptr) {
    return InvalidField("instrument_id", "is not a known instrument");
  }
  if (query.start_time > query.end_time) {
    return InvalidField("start_time", "must not be after end_time");
  }
  auto reader = ReaderFor(caller, volunteer_id, "ListCheckins");
  if (!reader.ok()) return reader.status();
  auto page = store_.ListCheckins(caller.organization_id, *reader, query);
  if (!page.ok()) return page.status();
  bool own = *reader == caller.person_id;
  std::vector<Checkin> checkins;
  for (SealedCheckin& sealed : page->checkins) {
    Checkin checkin = std::move(sealed.checkin);
    if (own) {
      auto note = OpenOrLeaveOut(cipher_, checkin.organization_id, checkin.volunteer_id,
                                 CheckinRecord(checkin.id), sealed.sealed_note);
      if (!note.ok()) return note.status();
      checkin.note = *std::move(note);
    }
    checkins.push_back(std::move(checkin));
  }
  return std::make_pair(std::move(checkins), page->next_position);
}

absl::StatusOr<Trend> CheckinService::GetTrend(const Caller& caller,
                                               const std::string& volunteer_id,
                                               const std::string& scale_id,
                                               std::optional<absl::Duration> window) {
  const Instrument* instrument = FindScale(scale_id).instrument;
  if (instrument == nullptr) return InvalidField("scale_id", "is not a known scale");
  absl::Duration span = window.value_or(kDefaultTrendWindow);
  if (span < absl::Hours(24) || span > kMaxTrendWindow) {
    return InvalidField("window", "must be between 1 day and 5 years");
  }
  auto reader = ReaderFor(caller, volunteer_id, "GetTrend");
  if (!reader.ok()) return reader.status();
  absl::Time now = clock_.Now();
  CheckinQuery query;
  query.instrument_id = instrument->id;
  query.start_time = now - span - kBaselineWindow;
  query.end_time = now;
  query.page_size = kTrendReadPage;
  std::vector<TrendPoint> all;
  while (true) {
    auto page = store_.ListCheckins(caller.organization_id, *reader, query);
    if (!page.ok()) return page.status();
    for (const SealedCheckin& sealed : page->checkins) {
      for (const Score& score : sealed.checkin.scores) {
        if (score.scale_id == scale_id) all.push_back({sealed.checkin.submit_time, score.value});
      }
    }
    if (page->next_position.empty()) break;
    query.position = page->next_position;
  }
  std::reverse(all.begin(), all.end());  // oldest first
  // Nothing inside the window: no latest value and no baseline either.
  if (all.empty() || all.back().time < now - span) return Trend{};
  Trend trend = ComputeTrend(all);
  std::vector<TrendPoint> shown;
  for (const TrendPoint& point : trend.points) {
    if (point.time >= now - span) shown.push_back(point);
  }
  trend.points = std::move(shown);
  return trend;
}

absl::StatusOr<std::vector<DueCheckin>> CheckinService::ListDueCheckins(
    const Caller& caller, const std::string& volunteer_id) {
  if (caller.role != CallerRole::kVolunteer ||
      (!volunteer_id.empty() && volunteer_id != caller.person_id)) {
    return absl::PermissionDeniedError("volunteers see only their own due check-ins");
  }
  auto settings = store_.GetSettings(caller.organization_id);
  if (!settings.ok()) return settings.status();
  absl::Time now = clock_.Now();
  std::vector<std::string> instruments;
  for (const auto& [instrument, days] : settings->cadence_days) instruments.push_back(instrument);
  absl::Time since = now - absl::Hours(24 * 30) - kFollowUpNagFor;
  auto times = store_.GetCheckinTimes(caller.organization_id, caller.person_id, instruments, since);
  if (!times.ok()) return times.status();
  return ComputeDueCheckins(*settings, times->last_by_instrument, times->who5_since,
                            times->incidents_since, now);
}

absl::StatusOr<CheckinSettings> CheckinService::GetSettings(const Caller& caller) {
  if (!caller.IsMember() && caller.role != CallerRole::kService) {
    return absl::PermissionDeniedError("this credential cannot read check-in settings");
  }
  return store_.GetSettings(caller.organization_id);
}

absl::StatusOr<CheckinSettings> CheckinService::UpdateSettings(const Caller& caller,
                                                               const CheckinSettings& settings) {
  if (caller.role != CallerRole::kCoordinator) {
    return absl::PermissionDeniedError("only a coordinator changes check-in settings");
  }
  for (const auto& [instrument, days] : settings.cadence_days) {
    std::string field = absl::StrCat("settings.cadence_days[", instrument.substr(0, 32), "]");
    const Instrument* known = FindInstrument(instrument);
    if (known == nullptr || known->scales.empty()) {
      return InvalidField(field, "is not a scored instrument");
    }
    if (days < 1 || days > 365) return InvalidField(field, "must be 1 to 365 days");
  }
  if (settings.cadence_days.count("swemwbs") > 0 && settings.swemwbs_registration.empty()) {
    return InvalidField("settings.cadence_days[swemwbs]",
                        "needs the organisation's SWEMWBS registration");
  }
  if (settings.support_resources.size() > kMaxSupportResources) {
    return InvalidField("settings.support_resources",
                        absl::StrCat("must have at most ", kMaxSupportResources, " entries"));
  }
  for (size_t i = 0; i < settings.support_resources.size(); ++i) {
    const SupportResource& resource = settings.support_resources[i];
    std::string prefix = absl::StrCat("settings.support_resources[", i, "]");
    if (auto status = ValidateText(prefix + ".title", resource.title, 1, 100); !status.ok()) {
      return status;
    }
    if (auto status = ValidateFreeText(prefix + ".description", resource.description, 500);
        !status.ok()) {
      return status;
    }
    if (auto status = ValidateText(prefix + ".contact", resource.contact, 0, 200); !status.ok()) {
      return status;
    }
  }
  if (auto status =
          ValidateText("settings.swemwbs_registration", settings.swemwbs_registration, 0, 100);
      !status.ok()) {
    return status;
  }
  if (auto status = store_.SetSettings(caller.organization_id, settings); !status.ok()) {
    return status;
  }
  return settings;
}

absl::StatusOr<std::vector<AggregateCell>> CheckinService::GetAggregates(
    const Caller& caller, const AggregateQuery& query) {
  if (caller.role != CallerRole::kCoordinator && caller.role != CallerRole::kPartner) {
    return absl::PermissionDeniedError("aggregates are for coordinators and partners' API keys");
  }
  if (auto scoped = CheckScope(caller, kAggregatesScope); !scoped.ok()) return scoped;
  if (query.scale_id.empty()) return InvalidField("scale_id", "is required (e.g. who5)");
  auto [instrument, found] = FindScale(query.scale_id);
  if (instrument == nullptr) {
    return InvalidField("scale_id", "is not a scale of any instrument (see ListInstruments)");
  }
  const Scale& scale = *found;
  if (!query.period.has_value()) {
    return InvalidField("period", "must be AGGREGATE_PERIOD_MONTH or AGGREGATE_PERIOD_WEEK");
  }
  AggregatePeriod period = *query.period;
  // Closed periods only: a figure that changes while its period runs would show, from one
  // reading to the next, the score of whoever checked in between.
  const absl::Time open_period = PeriodStart(period, clock_.Now());
  if (!query.end_time.has_value() && query.start_time.has_value() &&
      *query.start_time >= open_period) {
    return std::vector<AggregateCell>();  // from inside the running period: nothing closed yet
  }
  absl::Time end = query.end_time.value_or(open_period);
  absl::Time start = query.start_time.value_or(ShiftPeriods(
      period, PeriodStart(period, end - absl::Microseconds(1)), 1 - kAggregatePeriodsByDefault));
  if (end <= start) return InvalidField("end_time", "must be after start_time");
  if (end - start > kMaxAggregateSpan) {
    return InvalidField("start_time", "the range may span at most 3 years");
  }
  // Whole periods only, so that no two queries differ by part of a period.
  absl::Time window_start = PeriodStart(period, start);
  absl::Time window_end = std::min(
      open_period, ShiftPeriods(period, PeriodStart(period, end - absl::Microseconds(1)), 1));
  if (window_end <= window_start) return std::vector<AggregateCell>();

  auto volunteers = people_.ResearchVolunteers(caller.organization_id);
  if (!volunteers.ok()) return volunteers.status();
  std::vector<CheckinIdRange> ranges;
  for (const std::string& volunteer : *volunteers) {
    ranges.push_back({volunteer, 0, kMaxAggregateCheckinsPerVolunteer});
  }
  auto ids = store_.ListCheckinIds(caller.organization_id, ranges, instrument->id, window_start,
                                   window_end);
  if (!ids.ok()) return ids.status();
  std::vector<std::string> all_ids;
  for (const auto& own : *ids) all_ids.insert(all_ids.end(), own.begin(), own.end());
  std::vector<ScaleValue> values;
  for (size_t first = 0; first < all_ids.size(); first += kCheckinLoadBatch) {
    std::vector<std::string> batch(
        all_ids.begin() + static_cast<std::ptrdiff_t>(first),
        all_ids.begin() +
            static_cast<std::ptrdiff_t>(std::min(all_ids.size(), first + kCheckinLoadBatch)));
    auto checkins = store_.GetCheckins(caller.organization_id, batch);
    if (!checkins.ok()) return checkins.status();
    for (const Checkin& checkin : *checkins) {
      for (const Score& score : checkin.scores) {
        if (score.scale_id != scale.id) continue;
        values.push_back(
            {checkin.volunteer_id, checkin.submit_time, checkin.context.session_kind, score.value});
      }
    }
  }
  return ComputeAggregates(scale, period, window_start, window_end, query.by_session_kind, values);
}

absl::StatusOr<ExportPage> CheckinService::ExportCheckins(const Caller& caller,
                                                          const ExportQuery& query) {
  if (caller.role != CallerRole::kPartner) {
    return absl::PermissionDeniedError("exports are for partners' API keys");
  }
  if (auto scoped = CheckScope(caller, kExportsScope); !scoped.ok()) return scoped;
  absl::Time start = query.updated_start_time.has_value()
                         ? DayBoundaryAtOrAfter(*query.updated_start_time)
                         : absl::InfinitePast();
  absl::Time end = query.updated_end_time.has_value()
                       ? DayBoundaryAtOrAfter(*query.updated_end_time)
                       : absl::InfiniteFuture();
  std::string after_pseudonym;
  int offset = 0;
  if (!query.position.empty()) {
    std::pair<std::string, std::string> parts =
        absl::StrSplit(query.position, absl::MaxSplits('/', 1));
    if (!absl::SimpleAtoi(parts.second, &offset) || offset < 0) {
      return InvalidField("page_token", "is not a page token of this export");
    }
    after_pseudonym = parts.first;
  }

  auto volunteers = people_.ResearchVolunteers(caller.organization_id);
  if (!volunteers.ok()) return volunteers.status();
  // (pseudonym, volunteer id), in pseudonym order: the order of the export.
  std::vector<std::pair<std::string, std::string>> subjects;
  for (const std::string& volunteer : *volunteers) {
    std::string pseudonym = VolunteerPseudonym(pseudonyms_, caller.person_id, volunteer);
    if (pseudonym < after_pseudonym) continue;
    subjects.push_back({std::move(pseudonym), volunteer});
  }
  std::sort(subjects.begin(), subjects.end());

  struct Entry {
    size_t subject;
    int offset;
    std::string checkin_id;
  };
  std::vector<Entry> entries;
  const size_t wanted = static_cast<size_t>(query.page_size) + 1;
  for (size_t first = 0; first < subjects.size() && entries.size() < wanted;
       first += kExportVolunteerBatch) {
    size_t last = std::min(subjects.size(), first + kExportVolunteerBatch);
    std::vector<CheckinIdRange> ranges;
    for (size_t i = first; i < last; ++i) {
      int skip = subjects[i].first == after_pseudonym ? offset : 0;
      ranges.push_back({subjects[i].second, skip, static_cast<int>(wanted - entries.size())});
    }
    auto ids = store_.ListCheckinIds(caller.organization_id, ranges, "", start, end);
    if (!ids.ok()) return ids.status();
    for (size_t i = first; i < last && entries.size() < wanted; ++i) {
      const std::vector<std::string>& own = (*ids)[i - first];
      for (size_t j = 0; j < own.size() && entries.size() < wanted; ++j) {
        entries.push_back({i, ranges[i - first].offset + static_cast<int>(j), own[j]});
      }
    }
  }
  ExportPage page;
  if (entries.size() == wanted) {
    const Entry& next = entries.back();
    page.next_position = absl::StrCat(subjects[next.subject].first, "/", next.offset);
    entries.pop_back();
  }
  std::vector<std::string> ids;
  std::map<std::string, std::string> pseudonym_of;  // volunteer id → pseudonym
  for (const Entry& entry : entries) {
    ids.push_back(entry.checkin_id);
    pseudonym_of[subjects[entry.subject].second] = subjects[entry.subject].first;
  }
  auto checkins = store_.GetCheckins(caller.organization_id, ids);
  if (!checkins.ok()) return checkins.status();
  for (Checkin& checkin : *checkins) {
    ExportedCheckin exported;
    exported.export_id = pseudonyms_.Pseudonym(caller.person_id, "checkin", checkin.id, "c-");
    exported.subject_pseudonym = pseudonym_of[checkin.volunteer_id];
    exported.instrument_id = checkin.instrument_id;
    exported.instrument_version = checkin.instrument_version;
    exported.authored_date = absl::FormatTime("%Y-%m-%d", checkin.submit_time, absl::UTCTimeZone());
    exported.answers = std::move(checkin.answers);
    exported.scores = std::move(checkin.scores);
    page.checkins.push_back(std::move(exported));
  }
  return page;
}

absl::StatusOr<PersonRecords> CheckinService::ExportPerson(const Caller& caller,
                                                           const std::string& person_id) {
  if (auto allowed = CheckPersonRecordsRequest(caller, person_id); !allowed.ok()) return allowed;
  if (!IsWellFormedId(person_id, "p")) return InvalidField("person_id", "is not a person id");
  if (caller.organization_id.empty()) {
    return absl::PermissionDeniedError(
        "an export needs the person's organisation as the token's org");
  }
  const std::string& org = caller.organization_id;
  PersonRecords records;
  // Every page: the export is everything, however long the volunteer has checked in.
  CheckinQuery query;
  query.page_size = kPersonRecordsPage;
  do {
    auto page = store_.ListCheckins(org, person_id, query);
    if (!page.ok()) return page.status();
    for (SealedCheckin& sealed : page->checkins) {
      Checkin checkin = std::move(sealed.checkin);
      auto note = OpenOrLeaveOut(cipher_, org, checkin.volunteer_id, CheckinRecord(checkin.id),
                                 sealed.sealed_note);
      if (!note.ok()) return note.status();
      checkin.note = *std::move(note);
      records.checkins.push_back(std::move(checkin));
    }
    query.position = std::move(page->next_position);
  } while (!query.position.empty());

  std::string position;
  do {
    auto page = store_.ListIncidents(org, person_id, kPersonRecordsPage, position);
    if (!page.ok()) return page.status();
    for (SealedIncident& sealed : page->incidents) {
      Incident incident = std::move(sealed.incident);
      auto description = OpenOrLeaveOut(cipher_, org, incident.volunteer_id,
                                        IncidentRecord(incident.id), sealed.sealed_description);
      if (!description.ok()) return description.status();
      incident.description = *std::move(description);
      records.incidents.push_back(std::move(incident));
    }
    position = std::move(page->next_position);
  } while (!position.empty());

  do {
    auto page = store_.ListSupportRequests(org, person_id, kPersonRecordsPage, position);
    if (!page.ok()) return page.status();
    for (SealedSupportRequest& sealed : page->requests) {
      SupportRequest request = std::move(sealed.request);
      auto note = OpenOrLeaveOut(cipher_, org, request.volunteer_id, SupportRecord(request.id),
                                 sealed.sealed_note);
      if (!note.ok()) return note.status();
      request.note = *std::move(note);
      records.support_requests.push_back(std::move(request));
    }
    position = std::move(page->next_position);
  } while (!position.empty());
  return records;
}

absl::Status CheckinService::ErasePerson(const std::string& organization_id,
                                         const std::string& person_id) {
  // The ids come from the directory's event; they also make the store's search patterns, which
  // a malformed id could widen to other people's keys.
  if (!IsWellFormedId(organization_id, "o")) {
    return InvalidField("organization_id", "is not an organisation id");
  }
  if (!IsWellFormedId(person_id, "p")) return InvalidField("person_id", "is not a person id");
  if (auto status = store_.DeleteDataKey(organization_id, person_id); !status.ok()) return status;
  if (auto status = store_.DeleteVolunteerRecords(organization_id, person_id); !status.ok()) {
    return status;
  }
  if (auto status = store_.DeletePersonRequests(organization_id, person_id); !status.ok()) {
    return status;
  }
  return store_.DeletePersonEvents(organization_id, person_id);
}

}  // namespace peerwell::checkin
