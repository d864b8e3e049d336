#include "services/supervision/supervision_service.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/common/ids.h"
#include "services/common/validation.h"
#include "services/supervision/calendar.h"
#include "services/supervision/recurrence.h"

namespace peerwell::supervision {
namespace {

constexpr int kMaxAttempts = 5;
constexpr int kMaxWeeklyWindows = 50;
constexpr int kMaxExceptions = 200;
constexpr int kSweepBatch = 100;
constexpr int kMaxCalendarSessions = 2000;
// Session ids read at a time for an export or an erasure, which read them all.
constexpr int kExportPageSize = 500;

absl::Status Conflict(absl::string_view reason, absl::string_view message) {
  return absl::FailedPreconditionError(absl::StrCat(reason, ": ", message));
}

absl::Status NotFound() { return absl::NotFoundError("session not found"); }

absl::TimeZone ZoneOf(const std::string& name) {
  absl::TimeZone zone;
  if (name.empty() || !absl::LoadTimeZone(name, &zone)) return absl::UTCTimeZone();
  return zone;
}

PersonSchedule ScheduleOf(const PersonFacts& person) {
  return {person.person_id, ZoneOf(person.timezone), person.quiet_hours};
}

bool Contains(const std::vector<std::string>& ids, const std::string& id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

bool IsSupervising(const PersonFacts& person) {
  return person.role == PersonRole::kSupervisor || person.role == PersonRole::kCoordinator;
}

std::string Rfc3339Utc(absl::Time time) {
  return absl::FormatTime(absl::RFC3339_full, time, absl::UTCTimeZone());
}

// Group sessions are the ones the two-facilitator rule speaks of.
bool IsGroupKind(SessionKind kind) {
  return kind == SessionKind::kGroup || kind == SessionKind::kReflectivePractice;
}

// Sessions a volunteer joins for a seat; individual sessions and debriefs are booked.
bool IsJoinable(SessionKind kind) {
  return kind == SessionKind::kGroup || kind == SessionKind::kReflectivePractice ||
         kind == SessionKind::kPeer;
}

// A session `person_id` could take a seat in now: one for seats, scheduled, not started, not
// full, and not theirs already.
bool OpenToJoin(const Session& session, const std::string& person_id, absl::Time now) {
  return IsJoinable(session.kind) && session.state == SessionState::kScheduled &&
         session.start_time >= now && !session.Involves(person_id) &&
         (session.capacity == 0 || session.SeatsLeft() > 0);
}

// Supervision that counts for the cadence (SPEC §5: individual or group supervision).
bool CountsForCadence(SessionKind kind) {
  return kind == SessionKind::kIndividual || kind == SessionKind::kGroup ||
         kind == SessionKind::kReflectivePractice;
}

// Active supervisors: first those assigned to the volunteer, then the others.
std::pair<std::vector<PersonFacts>, std::vector<PersonFacts>> SplitByAssignment(
    std::vector<PersonFacts> supervisors, const PersonFacts& volunteer) {
  std::pair<std::vector<PersonFacts>, std::vector<PersonFacts>> split;
  for (PersonFacts& supervisor : supervisors) {
    if (!supervisor.active()) continue;
    (Contains(volunteer.supervisor_ids, supervisor.person_id) ? split.first : split.second)
        .push_back(std::move(supervisor));
  }
  return split;
}

DomainEvent SessionEvent(const std::string& type, const Session& session, absl::Time now,
                         std::vector<std::pair<std::string, std::string>> extra = {}) {
  DomainEvent event{type,
                    now,
                    {{"session_id", session.id},
                     {"kind", absl::StrCat(static_cast<int>(session.kind))},
                     {"start_time", Rfc3339Utc(session.start_time)},
                     {"supervisor_ids", absl::StrJoin(session.supervisor_ids, " ")},
                     {"participant_ids", absl::StrJoin(session.participant_ids, " ")}}};
  if (!session.series_id.empty()) event.fields.push_back({"series_id", session.series_id});
  for (auto& field : extra) event.fields.push_back(std::move(field));
  return event;
}

void Unique(std::vector<std::string>& ids) {
  std::vector<std::string> out;
  for (std::string& id : ids) {
    if (!Contains(out, id)) out.push_back(std::move(id));
  }
  ids = std::move(out);
}

// The occurrence id of a series' occurrence originally due at `start`: the same on every
// replica and every retry, so occurrences are created idempotently.
std::string OccurrenceId(const std::string& series_id, absl::Time start) {
  return absl::StrCat(series_id, "_", absl::ToUnixSeconds(start));
}

// The gap of a supervision.overdue, as its once-per-gap marker keeps it: since the volunteer's
// last supervision (its start, in micros), or "never".
std::string GapText(const std::optional<absl::Time>& last_session_time) {
  return last_session_time.has_value() ? absl::StrCat(absl::ToUnixMicros(*last_session_time))
                                       : "never";
}

// The last supervision a gap was counted from; none for "never".
std::optional<absl::Time> GapTime(const std::string& text) {
  int64_t micros = 0;
  if (!absl::SimpleAtoi(text, &micros)) return std::nullopt;
  return absl::FromUnixMicros(micros);
}

void RemoveId(std::vector<std::string>& ids, const std::string& id) {
  ids.erase(std::remove(ids.begin(), ids.end(), id), ids.end());
}

// A session or series the person took part in that has no other participant once they are
// taken out: it was theirs alone, with the people running it.
bool WasTheirsAlone(const Session& before, const Session& after, const std::string& person_id) {
  return Contains(before.participant_ids, person_id) && after.participant_ids.empty();
}

absl::Status ValidateSessionShape(const Session& session) {
  if (session.kind == SessionKind::kUnspecified) {
    return InvalidField("session.kind", "is required");
  }
  if (session.start_time == absl::InfinitePast()) {
    return InvalidField("session.start_time", "is required");
  }
  if (session.duration < kMinSessionDuration || session.duration > kMaxSessionDuration) {
    return InvalidField("session.duration", "must be between 5 minutes and 8 hours");
  }
  if (auto status = ValidateText("session.title", session.title, 0, kMaxTitleChars); !status.ok()) {
    return status;
  }
  if (session.supervisor_ids.empty()) {
    return InvalidField("session.supervisor_ids", "must name at least one supervisor");
  }
  if (static_cast<int>(session.supervisor_ids.size()) > kMaxSupervisors) {
    return InvalidField("session.supervisor_ids",
                        absl::StrCat("must have at most ", kMaxSupervisors, " entries"));
  }
  if (static_cast<int>(session.participant_ids.size()) > kMaxParticipants) {
    return InvalidField("session.participant_ids",
                        absl::StrCat("must have at most ", kMaxParticipants, " entries"));
  }
  for (const auto* ids : {&session.supervisor_ids, &session.participant_ids}) {
    for (const std::string& id : *ids) {
      if (auto status = ValidateToken(
              ids == &session.supervisor_ids ? "session.supervisor_ids" : "session.participant_ids",
              id);
          !status.ok()) {
        return status;
      }
    }
  }
  for (const std::string& id : session.participant_ids) {
    if (Contains(session.supervisor_ids, id)) {
      return InvalidField("session.participant_ids", "must not name a supervisor of the session");
    }
  }
  if (session.capacity < 0 || session.capacity > kMaxCapacity) {
    return InvalidField("session.capacity", absl::StrCat("must be 0-", kMaxCapacity));
  }
  if (!session.recurrence_rule.empty()) {
    return ValidateRecurrenceRule("session.recurrence_rule", session.recurrence_rule);
  }
  return absl::OkStatus();
}

}  // namespace

bool Session::Involves(const std::string& person_id) const {
  return Contains(supervisor_ids, person_id) || Contains(participant_ids, person_id);
}

int Session::SeatsLeft() const {
  if (capacity <= 0) return 0;
  int taken = withheld_participants >= 0 ? withheld_participants
                                         : static_cast<int>(participant_ids.size());
  return std::max(0, capacity - taken);
}

template <typename Attempt>
auto SupervisionService::Retrying(Attempt attempt) -> decltype(attempt()) {
  for (int i = 1;; ++i) {
    auto result = attempt();
    if (result.ok() || result.status().code() != absl::StatusCode::kAborted || i == kMaxAttempts) {
      return result;
    }
  }
}

// --- Visibility ----------------------------------------------------------------------------------

absl::StatusOr<bool> SupervisionService::MaySee(const Caller& caller, const Session& session) {
  if (caller.role == CallerRole::kCoordinator || caller.role == CallerRole::kService) return true;
  if (session.Involves(caller.person_id)) return true;
  if (caller.role != CallerRole::kSupervisor) return false;
  for (const std::string& participant : session.participant_ids) {
    auto person = people_.GetPerson(caller.organization_id, participant);
    if (person.status().code() == absl::StatusCode::kNotFound) continue;
    if (!person.ok()) return person.status();
    if (Contains(person->supervisor_ids, caller.person_id)) return true;
  }
  return false;
}

absl::StatusOr<bool> SupervisionService::MaySeePerson(const Caller& caller,
                                                      const std::string& person_id) {
  if (person_id == caller.person_id && caller.IsMember()) return true;
  auto person = people_.GetPerson(caller.organization_id, person_id);
  if (person.status().code() == absl::StatusCode::kNotFound) return false;
  if (!person.ok()) return person.status();
  if (caller.role == CallerRole::kCoordinator || caller.role == CallerRole::kService) return true;
  return caller.role == CallerRole::kSupervisor &&
         Contains(person->supervisor_ids, caller.person_id);
}

absl::StatusOr<Session> SupervisionService::LoadVisible(const Caller& caller,
                                                        const std::string& session_id) {
  if (!caller.IsMember() && caller.role != CallerRole::kService) {
    return absl::PermissionDeniedError("supervision is for the people of an organisation");
  }
  if (auto status = ValidateToken("session_id", session_id); !status.ok()) return status;
  auto session = store_.GetSession(caller.organization_id, session_id);
  if (!session.ok()) return session.status();
  if (!session->has_value()) return NotFound();
  auto visible = MaySee(caller, **session);
  if (!visible.ok()) return visible.status();
  if (!*visible) return NotFound();
  return **std::move(session);
}

absl::Status SupervisionService::MayManage(const Caller& caller, const Session& session) {
  if (caller.role == CallerRole::kCoordinator) return absl::OkStatus();
  if (caller.role == CallerRole::kSupervisor &&
      Contains(session.supervisor_ids, caller.person_id)) {
    return absl::OkStatus();
  }
  // A volunteer may cancel or move the individual session they booked for themselves.
  if (caller.role == CallerRole::kVolunteer && session.kind == SessionKind::kIndividual &&
      session.participant_ids == std::vector<std::string>{caller.person_id}) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(
      "only the session's supervisors and coordinators may change it");
}

// --- Availability --------------------------------------------------------------------------------

absl::StatusOr<PersonFacts> SupervisionService::LoadSupervisor(const std::string& organization_id,
                                                               const std::string& person_id) {
  auto person = people_.GetPerson(organization_id, person_id);
  if (person.status().code() == absl::StatusCode::kNotFound ||
      (person.ok() && !IsSupervising(*person))) {
    return absl::NotFoundError("supervisor not found");
  }
  return person;
}

absl::StatusOr<Availability> SupervisionService::SetAvailability(const Caller& caller,
                                                                 const std::string& supervisor_id,
                                                                 Availability availability) {
  std::string target = supervisor_id.empty() ? caller.person_id : supervisor_id;
  if (caller.role != CallerRole::kCoordinator &&
      !(caller.role == CallerRole::kSupervisor && target == caller.person_id)) {
    return absl::PermissionDeniedError(
        "supervisors set their own availability; coordinators anyone's");
  }
  if (static_cast<int>(availability.weekly.size()) > kMaxWeeklyWindows) {
    return InvalidField("availability.weekly",
                        absl::StrCat("must have at most ", kMaxWeeklyWindows, " entries"));
  }
  if (static_cast<int>(availability.exceptions.size()) > kMaxExceptions) {
    return InvalidField("availability.exceptions",
                        absl::StrCat("must have at most ", kMaxExceptions, " entries"));
  }
  for (size_t i = 0; i < availability.weekly.size(); ++i) {
    const WeeklyWindow& window = availability.weekly[i];
    if (window.weekday < 1 || window.weekday > 7) {
      return InvalidField(absl::StrCat("availability.weekly[", i, "].weekday"),
                          "must be 1 (Monday) to 7 (Sunday)");
    }
    if (window.end_minute <= window.start_minute) {
      return InvalidField(absl::StrCat("availability.weekly[", i, "].end"),
                          "must be after start on the same day");
    }
  }
  for (size_t i = 0; i < availability.exceptions.size(); ++i) {
    const AvailabilityException& exception = availability.exceptions[i];
    if (exception.end_time <= exception.start_time) {
      return InvalidField(absl::StrCat("availability.exceptions[", i, "].end_time"),
                          "must be after start_time");
    }
    if (exception.end_time - exception.start_time > absl::Hours(24 * 366)) {
      return InvalidField(absl::StrCat("availability.exceptions[", i, "]"),
                          "must span at most a year");
    }
  }
  auto person = LoadSupervisor(caller.organization_id, target);
  if (!person.ok()) return person.status();
  availability.supervisor_id = target;
  availability.timezone = person->timezone;
  if (auto status = store_.SetAvailability(caller.organization_id, availability); !status.ok()) {
    return status;
  }
  return availability;
}

absl::StatusOr<Availability> SupervisionService::GetAvailability(const Caller& caller,
                                                                 const std::string& supervisor_id) {
  if (!caller.IsMember() && caller.role != CallerRole::kService) {
    return absl::PermissionDeniedError("supervision is for the people of an organisation");
  }
  std::string target = supervisor_id.empty() ? caller.person_id : supervisor_id;
  auto person = LoadSupervisor(caller.organization_id, target);
  if (!person.ok()) return person.status();
  auto stored = store_.GetAvailability(caller.organization_id, target);
  if (!stored.ok()) return stored.status();
  Availability availability = stored->value_or(Availability{});
  availability.supervisor_id = target;
  availability.timezone = person->timezone;
  return availability;
}

// --- Creating sessions ---------------------------------------------------------------------------

absl::Status SupervisionService::CheckSession(const std::string& organization_id,
                                              const Session& session,
                                              const SupervisionPolicy& policy,
                                              bool people_named_anew, Commit& commit) {
  if (session.capacity > 0 && static_cast<int>(session.participant_ids.size()) > session.capacity) {
    return Conflict(kOverCapacity, absl::StrCat(session.participant_ids.size(),
                                                " participants for ", session.capacity, " seats"));
  }
  if (policy.require_two_facilitators && IsGroupKind(session.kind) &&
      session.supervisor_ids.size() < 2) {
    return Conflict(kTooFewFacilitators,
                    "the organisation's policy asks for two facilitators in group sessions");
  }
  std::vector<PersonFacts> supervisors;
  for (const std::string& id : session.supervisor_ids) {
    auto person = people_.GetPerson(organization_id, id);
    if (person.status().code() == absl::StatusCode::kNotFound ||
        (person.ok() && (!IsSupervising(*person) || (people_named_anew && !person->active())))) {
      return InvalidField("session.supervisor_ids",
                          absl::StrCat(id, " is not an active supervisor of the organisation"));
    }
    if (!person.ok()) return person.status();
    supervisors.push_back(*std::move(person));
  }
  for (const std::string& id : session.participant_ids) {
    auto person = people_.GetPerson(organization_id, id);
    if (person.status().code() == absl::StatusCode::kNotFound ||
        (person.ok() &&
         (person->role != PersonRole::kVolunteer || (people_named_anew && !person->active())))) {
      return InvalidField("session.participant_ids",
                          absl::StrCat(id, " is not an active volunteer of the organisation"));
    }
    if (!person.ok()) return person.status();
    if (InQuietHours(ScheduleOf(*person), session.start_time, session.end_time())) {
      return Conflict(kInQuietHours, absl::StrCat("the time is inside the quiet hours of ", id));
    }
  }
  auto availabilities = store_.GetAvailabilities(organization_id, session.supervisor_ids);
  if (!availabilities.ok()) return availabilities.status();
  for (size_t i = 0; i < supervisors.size(); ++i) {
    if (!InsideAvailability((*availabilities)[i], ZoneOf(supervisors[i].timezone),
                            session.start_time, session.end_time())) {
      return Conflict(
          kOutsideAvailability,
          absl::StrCat(supervisors[i].person_id, " is not available from ",
                       Rfc3339Utc(session.start_time), " to ", Rfc3339Utc(session.end_time())));
    }
  }
  for (const std::string& id : session.supervisor_ids) {
    commit.checks.push_back(
        {id,
         session.start_time,
         session.end_time() + session.supervisor_buffer,
         absl::StrCat(kSupervisorDoubleBooked, ": ", id, " already has a session then"),
         {session.id}});
  }
  for (const std::string& id : session.participant_ids) {
    commit.checks.push_back(
        {id,
         session.start_time,
         session.end_time(),
         absl::StrCat(kParticipantDoubleBooked, ": ", id, " already has a session then"),
         {session.id}});
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Session>> SupervisionService::NewOccurrences(const Series& series,
                                                                        absl::Time from,
                                                                        absl::Time until) {
  auto starts = ExpandRecurrence(series.recurrence_rule, series.first_start,
                                 ZoneOf(series.timezone), from, std::min(until, series.end_before));
  if (!starts.ok()) return starts.status();
  std::vector<Session> occurrences;
  absl::Time now = clock_.Now();
  for (absl::Time start : *starts) {
    Session occurrence = series.prototype;
    occurrence.id = OccurrenceId(series.id, start);
    occurrence.organization_id = series.organization_id;
    occurrence.series_id = series.id;
    occurrence.state = SessionState::kScheduled;
    occurrence.start_time = start;
    occurrence.recurrence_rule = series.recurrence_rule;
    occurrence.timezone = series.timezone;
    occurrence.create_time = now;
    occurrence.update_time = now;
    occurrence.sequence = 0;
    occurrence.version = 0;
    occurrences.push_back(std::move(occurrence));
  }
  return occurrences;
}

absl::StatusOr<Session> SupervisionService::CreateSession(const Caller& caller, Session input,
                                                          const std::string& request_id) {
  if (!caller.IsMember()) {
    return absl::PermissionDeniedError("supervision is for the people of an organisation");
  }
  if (!request_id.empty()) {
    if (auto status = ValidateToken("request_id", request_id); !status.ok()) return status;
    // A retry gets the first answer, even once its start has passed or its time was taken.
    auto earlier = store_.EarlierResult(caller.organization_id, {caller.person_id, request_id});
    if (!earlier.ok()) return earlier.status();
    if (earlier->has_value()) {
      auto first = store_.GetSession(caller.organization_id, **earlier);
      if (!first.ok()) return first.status();
      if (first->has_value()) return **first;
    }
  }
  Unique(input.supervisor_ids);
  Unique(input.participant_ids);
  switch (caller.role) {
    case CallerRole::kVolunteer:
      if (input.kind != SessionKind::kIndividual) {
        return absl::PermissionDeniedError(
            "volunteers book individual sessions; supervisors and coordinators create the rest");
      }
      if (input.participant_ids.empty()) input.participant_ids = {caller.person_id};
      if (input.participant_ids != std::vector<std::string>{caller.person_id}) {
        return absl::PermissionDeniedError("volunteers book sessions for themselves only");
      }
      break;
    case CallerRole::kSupervisor:
      if (input.supervisor_ids.empty()) input.supervisor_ids = {caller.person_id};
      if (!Contains(input.supervisor_ids, caller.person_id)) {
        return absl::PermissionDeniedError("supervisors create sessions they run");
      }
      break;
    default:
      break;
  }
  if (input.kind == SessionKind::kIndividual && input.participant_ids.size() > 1) {
    return InvalidField("session.participant_ids", "an individual session has one participant");
  }
  if (auto status = ValidateSessionShape(input); !status.ok()) return status;
  absl::Time now = clock_.Now();
  if (input.start_time < now) {
    return InvalidField("session.start_time", "must be in the future");
  }
  const std::string& org = caller.organization_id;
  auto policy = store_.GetPolicy(org);
  if (!policy.ok()) return policy.status();
  auto lead = people_.GetPerson(org, input.supervisor_ids.front());
  if (lead.status().code() == absl::StatusCode::kNotFound) {
    return InvalidField("session.supervisor_ids",
                        absl::StrCat(input.supervisor_ids.front(),
                                     " is not an active supervisor of the organisation"));
  }
  if (!lead.ok()) return lead.status();

  Session prototype = input;
  prototype.organization_id = org;
  prototype.state = SessionState::kScheduled;
  prototype.timezone = lead->timezone;
  prototype.supervisor_buffer =
      input.kind == SessionKind::kDebrief ? policy->debrief_buffer : absl::ZeroDuration();
  prototype.incident_id.clear();
  prototype.offer_expire_time = absl::InfinitePast();
  prototype.cancel_reason.clear();
  prototype.attendance.clear();
  prototype.create_time = now;
  prototype.update_time = now;
  prototype.sequence = 0;
  prototype.version = 0;

  Commit commit;
  std::vector<Session> sessions;
  if (prototype.recurrence_rule.empty()) {
    prototype.id = NewId("ses");
    sessions.push_back(prototype);
  } else {
    Series series;
    series.id = NewId("ser");
    series.organization_id = org;
    series.recurrence_rule = prototype.recurrence_rule;
    series.timezone = prototype.timezone;
    series.first_start = prototype.start_time;
    series.prototype = prototype;
    // A week beyond the promised horizon, so the top-up has slack.
    series.generated_until = now + kSeriesHorizon + absl::Hours(24 * 7);
    auto occurrences = NewOccurrences(series, series.first_start, series.generated_until);
    if (!occurrences.ok()) return occurrences.status();
    if (occurrences->empty()) {
      return InvalidField("session.recurrence_rule", "has no occurrence after start_time");
    }
    if (occurrences->size() >= static_cast<size_t>(kMaxOccurrencesPerExpansion)) {
      series.generated_until = occurrences->back().start_time + absl::Seconds(1);
    }
    sessions = *std::move(occurrences);
    commit.series.push_back(std::move(series));
  }
  for (const Session& session : sessions) {
    if (auto status = CheckSession(org, session, *policy, true, commit); !status.ok()) {
      return status;
    }
    commit.sessions.push_back({session, std::nullopt});
    commit.events.push_back(SessionEvent("session.scheduled", session, now));
  }
  auto created = store_.Apply(org, commit, {caller.person_id, request_id}, sessions.front().id);
  if (!created.ok()) return created.status();
  if (created->replayed) {
    auto first = store_.GetSession(org, created->id);
    if (!first.ok()) return first.status();
    if (!first->has_value()) return NotFound();
    return **first;
  }
  Session first = sessions.front();
  first.version = 1;
  return first;
}

absl::StatusOr<Session> SupervisionService::GetSession(const Caller& caller,
                                                       const std::string& session_id) {
  return LoadVisible(caller, session_id);
}

absl::StatusOr<Page<Session>> SupervisionService::ListSessions(const Caller& caller,
                                                               const std::string& person_id,
                                                               const SessionQuery& query) {
  if (!caller.IsMember() && caller.role != CallerRole::kService) {
    return absl::PermissionDeniedError("supervision is for the people of an organisation");
  }
  // A coordinator without a person lists the organisation; everyone else a person's sessions,
  // unless they ask for the sessions open to join (the organisation's, filtered below).
  std::string person = person_id;
  if (person.empty() && caller.role != CallerRole::kCoordinator && !query.open_to_join) {
    person = caller.person_id;
  }
  absl::Time start_time = query.start_time;
  // A volunteer looking for a seat is not offered one in their quiet hours (JoinSession would
  // refuse it).
  std::optional<PersonFacts> joiner;
  if (query.open_to_join) {
    start_time = std::max(start_time, clock_.Now());
    if (caller.role == CallerRole::kVolunteer) {
      auto facts = people_.GetPerson(caller.organization_id, caller.person_id);
      if (!facts.ok()) return facts.status();
      joiner = *std::move(facts);
    }
  }
  if (!person.empty()) {
    if (auto status = ValidateToken("person_id", person); !status.ok()) return status;
    auto visible = MaySeePerson(caller, person);
    if (!visible.ok()) return visible.status();
    if (!*visible) return absl::NotFoundError("person not found");
  }
  // Filters apply to loaded sessions, so a page reads on until it is full or it has looked at
  // kMaxScannedPerPage sessions (then it may come back short, with a token to go on).
  constexpr int kMaxScannedPerPage = 2000;
  Page<Session> page;
  page.next_position = query.position;
  int scanned = 0;
  do {
    int want = static_cast<int>(query.page_size - page.items.size());
    auto ids = store_.ListSessionIds(caller.organization_id, person, start_time, query.end_time,
                                     want, page.next_position);
    if (!ids.ok()) return ids.status();
    auto sessions = store_.GetSessions(caller.organization_id, ids->session_ids);
    if (!sessions.ok()) return sessions.status();
    scanned += static_cast<int>(ids->session_ids.size());
    for (Session& session : *sessions) {
      if (!query.kinds.empty() &&
          std::find(query.kinds.begin(), query.kinds.end(), session.kind) == query.kinds.end()) {
        continue;
      }
      if (!query.states.empty() && std::find(query.states.begin(), query.states.end(),
                                             session.state) == query.states.end()) {
        continue;
      }
      if (query.open_to_join) {
        if (!OpenToJoin(session, caller.person_id, start_time)) continue;
        if (joiner.has_value() &&
            InQuietHours(ScheduleOf(*joiner), session.start_time, session.end_time())) {
          continue;
        }
        // Who takes a seat is for those who may see the session otherwise (a coordinator, a
        // supervisor of a participant); anyone else sees how full it is. Once in, they see it
        // as its participants do.
        auto visible = MaySee(caller, session);
        if (!visible.ok()) return visible.status();
        if (!*visible) {
          session.withheld_participants = static_cast<int>(session.participant_ids.size());
          session.participant_ids.clear();
          session.attendance.clear();
        }
      }
      page.items.push_back(std::move(session));
    }
    page.next_position = ids->next_position;
  } while (!page.next_position.empty() && static_cast<int>(page.items.size()) < query.page_size &&
           scanned < kMaxScannedPerPage);
  return page;
}

// --- Slots ---------------------------------------------------------------------------------------

absl::StatusOr<std::vector<SlotCandidate>> SupervisionService::LoadCandidates(
    const std::string& organization_id, const std::vector<PersonFacts>& pool, bool own,
    const std::string& volunteer_id, absl::Time busy_from, absl::Time busy_to,
    SlotRequest& request) {
  std::vector<std::string> ids;
  for (const PersonFacts& p : pool) ids.push_back(p.person_id);
  auto availabilities = store_.GetAvailabilities(organization_id, ids);
  if (!availabilities.ok()) return availabilities.status();
  if (!volunteer_id.empty()) ids.push_back(volunteer_id);
  auto busy = store_.BusyIntervals(organization_id, ids, busy_from, busy_to);
  if (!busy.ok()) return busy.status();
  if (!volunteer_id.empty()) request.volunteer_busy = std::move((*busy)[volunteer_id]);
  std::vector<SlotCandidate> candidates;
  for (size_t i = 0; i < pool.size(); ++i) {
    SlotCandidate candidate;
    candidate.supervisor = ScheduleOf(pool[i]);
    candidate.availability = std::move((*availabilities)[i]);
    candidate.busy = std::move((*busy)[pool[i].person_id]);
    candidate.own_supervisor = own;
    for (const BusyInterval& interval : candidate.busy) {
      ++candidate.sessions_per_week[WeekOf(interval.start, candidate.supervisor.zone)];
    }
    candidates.push_back(std::move(candidate));
  }
  return candidates;
}

absl::StatusOr<std::vector<Slot>> SupervisionService::ProposeSlots(const Caller& caller,
                                                                   ProposeSlotsInput input) {
  if (!caller.IsMember() && caller.role != CallerRole::kService) {
    return absl::PermissionDeniedError("supervision is for the people of an organisation");
  }
  if (input.volunteer_id.empty()) input.volunteer_id = caller.person_id;
  if (input.kind == SessionKind::kUnspecified) return InvalidField("kind", "is required");
  if (input.duration < kMinSessionDuration || input.duration > kMaxSessionDuration) {
    return InvalidField("duration", "must be between 5 minutes and 8 hours");
  }
  if (input.window_start == absl::InfinitePast() || input.window_end == absl::InfinitePast()) {
    return InvalidField("window_start_time", "and window_end_time are required");
  }
  if (input.window_end <= input.window_start) {
    return InvalidField("window_end_time", "must be after window_start_time");
  }
  if (input.window_end - input.window_start > absl::Hours(24 * 7 * 8)) {
    return InvalidField("window_end_time", "the window must span at most 8 weeks");
  }
  if (input.max_results < 0) return InvalidField("max_results", "must not be negative");
  if (input.max_results == 0) input.max_results = 10;
  input.max_results = std::min(input.max_results, 100);
  if (auto status = ValidateToken("volunteer_id", input.volunteer_id); !status.ok()) return status;
  const std::string& org = caller.organization_id;
  auto visible = MaySeePerson(caller, input.volunteer_id);
  if (!visible.ok()) return visible.status();
  if (!*visible) return absl::NotFoundError("volunteer not found");
  auto volunteer = people_.GetPerson(org, input.volunteer_id);
  if (!volunteer.ok()) return volunteer.status();
  if (volunteer->role != PersonRole::kVolunteer) return absl::NotFoundError("volunteer not found");
  auto supervisors = people_.ListPeople(org, PersonRole::kSupervisor);
  if (!supervisors.ok()) return supervisors.status();
  absl::Time from = std::max(input.window_start, clock_.Now());
  auto [own, others] = SplitByAssignment(*std::move(supervisors), *volunteer);
  SlotRequest request;
  request.volunteer = ScheduleOf(*volunteer);
  request.duration = input.duration;
  if (input.kind == SessionKind::kDebrief) {
    auto policy = store_.GetPolicy(org);
    if (!policy.ok()) return policy.status();
    request.supervisor_buffer = policy->debrief_buffer;
  }
  request.window_start = from;
  request.window_end = input.window_end;
  request.max_results = input.max_results;
  // The own supervisors rank first, so the others are read only when they leave room. Busy
  // times are read from a week before: the load counts whole weeks.
  auto propose = [&](const std::vector<PersonFacts>& pool,
                     bool own_pool) -> absl::StatusOr<std::vector<Slot>> {
    auto candidates = LoadCandidates(org, pool, own_pool, own_pool ? input.volunteer_id : "",
                                     from - absl::Hours(24 * 7), input.window_end, request);
    if (!candidates.ok()) return candidates.status();
    return supervision::ProposeSlots(request, *candidates);
  };
  auto slots = propose(own, true);
  if (!slots.ok() || static_cast<int>(slots->size()) >= request.max_results || others.empty()) {
    return slots;
  }
  request.max_results -= static_cast<int>(slots->size());
  auto more = propose(others, false);
  if (!more.ok()) return more.status();
  slots->insert(slots->end(), std::make_move_iterator(more->begin()),
                std::make_move_iterator(more->end()));
  return slots;
}

// --- Seats ---------------------------------------------------------------------------------------

absl::StatusOr<Session> SupervisionService::JoinSession(const Caller& caller,
                                                        const std::string& session_id,
                                                        const std::string& person_id) {
  if (!caller.IsMember()) {
    return absl::PermissionDeniedError("supervision is for the people of an organisation");
  }
  if (auto status = ValidateToken("session_id", session_id); !status.ok()) return status;
  std::string person = person_id.empty() ? caller.person_id : person_id;
  if (auto status = ValidateToken("person_id", person); !status.ok()) return status;
  const std::string& org = caller.organization_id;
  return Retrying([&]() -> absl::StatusOr<Session> {
    auto stored = store_.GetSession(org, session_id);
    if (!stored.ok()) return stored.status();
    if (!stored->has_value()) return NotFound();
    Session session = **std::move(stored);
    // Joinable sessions are found by their id (shared by the people who run them): to someone
    // they do not concern yet, one that is not open for joining answers like a missing one.
    auto visible = MaySee(caller, session);
    if (!visible.ok()) return visible.status();
    bool open = IsJoinable(session.kind) && session.state == SessionState::kScheduled &&
                session.start_time > clock_.Now();
    if (!*visible && !open) return NotFound();
    if (!IsJoinable(session.kind)) {
      return absl::FailedPreconditionError(
          "individual sessions and debriefs are booked, not joined");
    }
    if (session.state != SessionState::kScheduled) {
      return absl::FailedPreconditionError("only a scheduled session can be joined");
    }
    if (session.start_time <= clock_.Now()) {
      return absl::FailedPreconditionError("the session has already started");
    }
    if (person != caller.person_id) {
      auto target = people_.GetPerson(org, person);
      bool supervises = target.ok() && Contains(target->supervisor_ids, caller.person_id);
      if (caller.role != CallerRole::kCoordinator &&
          !Contains(session.supervisor_ids, caller.person_id) && !supervises) {
        return absl::PermissionDeniedError(
            "volunteers join for themselves; supervisors for their volunteers");
      }
    }
    if (Contains(session.participant_ids, person)) return session;
    auto facts = people_.GetPerson(org, person);
    if (facts.status().code() == absl::StatusCode::kNotFound ||
        (facts.ok() && facts->role != PersonRole::kVolunteer)) {
      return InvalidField("person_id", "must be a volunteer of the organisation");
    }
    if (!facts.ok()) return facts.status();
    if (session.capacity > 0 &&
        static_cast<int>(session.participant_ids.size()) >= session.capacity) {
      return Conflict(kOverCapacity, absl::StrCat("all ", session.capacity, " seats are taken"));
    }
    if (InQuietHours(ScheduleOf(*facts), session.start_time, session.end_time())) {
      return Conflict(kInQuietHours,
                      absl::StrCat("the time is inside the quiet hours of ", person));
    }
    Commit commit;
    Session joined = session;
    joined.participant_ids.push_back(person);
    joined.sequence++;
    joined.update_time = clock_.Now();
    commit.checks.push_back(
        {person,
         joined.start_time,
         joined.end_time(),
         absl::StrCat(kParticipantDoubleBooked, ": ", person, " already has a session then"),
         {joined.id}});
    commit.sessions.push_back({joined, session});
    commit.events.push_back(
        SessionEvent("session.scheduled", joined, clock_.Now(), {{"change", "joined"}}));
    return ApplyAndReturn(org, commit, joined.id);
  });
}

absl::StatusOr<Session> SupervisionService::LeaveSession(const Caller& caller,
                                                         const std::string& session_id,
                                                         const std::string& person_id) {
  std::string person = person_id.empty() ? caller.person_id : person_id;
  if (auto status = ValidateToken("person_id", person); !status.ok()) return status;
  return Retrying([&]() -> absl::StatusOr<Session> {
    auto session = LoadVisible(caller, session_id);
    if (!session.ok()) return session.status();
    if (person != caller.person_id) {
      if (auto status = MayManage(caller, *session); !status.ok()) return status;
    }
    if (!Contains(session->participant_ids, person)) return *session;
    if (!IsJoinable(session->kind)) {
      return absl::FailedPreconditionError(
          "individual sessions and debriefs are cancelled or declined, not left");
    }
    if (session->start_time <= clock_.Now()) {
      return absl::FailedPreconditionError("the session has already started");
    }
    Commit commit;
    Session left = *session;
    left.participant_ids.erase(
        std::find(left.participant_ids.begin(), left.participant_ids.end(), person));
    left.sequence++;
    left.update_time = clock_.Now();
    commit.sessions.push_back({left, *session});
    return ApplyAndReturn(caller.organization_id, commit, left.id);
  });
}

absl::StatusOr<Session> SupervisionService::ApplyAndReturn(const std::string& organization_id,
                                                           const Commit& commit,
                                                           const std::string& session_id) {
  auto applied = store_.Apply(organization_id, commit, {}, session_id);
  if (!applied.ok()) return applied.status();
  for (const SessionChange& change : commit.sessions) {
    if (change.session.id == session_id) {
      Session written = change.session;
      written.version++;
      return written;
    }
  }
  return absl::InternalError("the change did not hold the session it was for");
}

// --- Cancel and reschedule -----------------------------------------------------------------------

absl::StatusOr<Session> SupervisionService::CancelSession(const Caller& caller,
                                                          const std::string& session_id,
                                                          const std::string& reason,
                                                          SeriesScope scope) {
  if (auto status = ValidateText("reason", reason, 0, kMaxReasonChars); !status.ok()) {
    return status;
  }
  return Retrying([&]() -> absl::StatusOr<Session> {
    auto session = LoadVisible(caller, session_id);
    if (!session.ok()) return session.status();
    if (auto status = MayManage(caller, *session); !status.ok()) return status;
    if (session->state == SessionState::kCancelled) return *session;
    if (!session->Active()) {
      return absl::FailedPreconditionError("only a scheduled or offered session can be cancelled");
    }
    absl::Time now = clock_.Now();
    if (session->start_time <= now) {
      return absl::FailedPreconditionError("a session that has started cannot be cancelled");
    }
    std::vector<Session> affected{*session};
    Commit commit;
    if (scope == SeriesScope::kThisAndFollowing && !session->series_id.empty()) {
      auto series = store_.GetSeries(caller.organization_id, session->series_id);
      if (!series.ok()) return series.status();
      if (series->has_value()) {
        auto ids = store_.SeriesSessionIds(caller.organization_id, session->series_id,
                                           session->start_time);
        if (!ids.ok()) return ids.status();
        auto following = store_.GetSessions(caller.organization_id, *ids);
        if (!following.ok()) return following.status();
        affected.clear();
        for (Session& occurrence : *following) {
          // Past occurrences are never rewritten.
          if (occurrence.start_time >= session->start_time && occurrence.start_time > now &&
              occurrence.Active()) {
            affected.push_back(std::move(occurrence));
          }
        }
        Series cut = **series;
        cut.end_before = std::min(cut.end_before, session->start_time);
        cut.generated_until = absl::InfiniteFuture();
        commit.series.push_back(std::move(cut));
      }
    }
    for (const Session& before : affected) {
      Session cancelled = before;
      cancelled.state = SessionState::kCancelled;
      cancelled.cancel_reason = reason;
      cancelled.sequence++;
      cancelled.update_time = now;
      commit.sessions.push_back({cancelled, before});
      commit.events.push_back(SessionEvent("session.cancelled", cancelled, now));
    }
    return ApplyAndReturn(caller.organization_id, commit, session->id);
  });
}

absl::StatusOr<Session> SupervisionService::RescheduleSession(
    const Caller& caller, const std::string& session_id, absl::Time start_time,
    std::optional<absl::Duration> duration, SeriesScope scope) {
  if (start_time == absl::InfinitePast()) return InvalidField("start_time", "is required");
  if (duration.has_value() &&
      (*duration < kMinSessionDuration || *duration > kMaxSessionDuration)) {
    return InvalidField("duration", "must be between 5 minutes and 8 hours");
  }
  absl::Time now = clock_.Now();
  if (start_time <= now) return InvalidField("start_time", "must be in the future");
  return Retrying([&]() -> absl::StatusOr<Session> {
    auto session = LoadVisible(caller, session_id);
    if (!session.ok()) return session.status();
    if (auto status = MayManage(caller, *session); !status.ok()) return status;
    if (session->state != SessionState::kScheduled) {
      return absl::FailedPreconditionError(
          "only a scheduled session can be moved (an offer is answered, or cancelled and offered "
          "anew)");
    }
    if (session->start_time <= now) {
      return absl::FailedPreconditionError("a session that has started cannot be moved");
    }
    const std::string& org = caller.organization_id;
    auto policy = store_.GetPolicy(org);
    if (!policy.ok()) return policy.status();
    Commit commit;
    std::vector<Session> affected{*session};
    std::optional<Series> cut;
    if (scope == SeriesScope::kThisAndFollowing && !session->series_id.empty()) {
      auto series = store_.GetSeries(org, session->series_id);
      if (!series.ok()) return series.status();
      if (series->has_value()) {
        cut = **series;
        auto ids = store_.SeriesSessionIds(org, session->series_id, session->start_time);
        if (!ids.ok()) return ids.status();
        auto following = store_.GetSessions(org, *ids);
        if (!following.ok()) return following.status();
        affected.clear();
        for (Session& occurrence : *following) {
          if (occurrence.start_time >= session->start_time && occurrence.start_time > now &&
              occurrence.Active()) {
            affected.push_back(std::move(occurrence));
          }
        }
      }
    }
    // The move is a change of local wall-clock time in the series' zone, so every following
    // occurrence keeps its local hour across daylight-saving changes.
    absl::TimeZone zone = ZoneOf(session->timezone);
    absl::CivilSecond old_local = absl::ToCivilSecond(session->start_time, zone);
    absl::CivilSecond new_local = absl::ToCivilSecond(start_time, zone);
    absl::civil_diff_t shift = new_local - old_local;
    if (cut.has_value() && RecurrencePinsDays(cut->recurrence_rule)) {
      // The rest of the series is the same rule from the new start: a rule that names its days
      // (BYDAY=TU) keeps them, so following occurrences may move by whole weeks, not to other
      // days.
      absl::civil_diff_t days = absl::CivilDay(new_local) - absl::CivilDay(old_local);
      bool weekly_days_only = cut->recurrence_rule.find("BYMONTHDAY") == std::string::npos &&
                              cut->recurrence_rule.find("BYYEARDAY") == std::string::npos &&
                              cut->recurrence_rule.find("BYWEEKNO") == std::string::npos &&
                              cut->recurrence_rule.find("BYMONTH=") == std::string::npos &&
                              cut->recurrence_rule.find("BYSETPOS") == std::string::npos;
      if (days != 0 && !(weekly_days_only && days % 7 == 0)) {
        return absl::FailedPreconditionError(
            "the series names its days: move the following occurrences within their day (or by "
            "whole weeks), or cancel them and create a new series");
      }
    }
    std::string new_series_id = cut.has_value() ? NewId("ser") : "";
    Session answer = *session;
    // The occurrences move together: one may land where another one was.
    std::vector<std::string> moving;
    for (const Session& before : affected) moving.push_back(before.id);
    for (const Session& before : affected) {
      Session moved = before;
      moved.start_time =
          before.id == session->id
              ? start_time
              : absl::FromCivil(absl::ToCivilSecond(before.start_time, zone) + shift, zone);
      if (duration.has_value()) moved.duration = *duration;
      if (cut.has_value()) moved.series_id = new_series_id;
      moved.sequence++;
      moved.update_time = now;
      if (auto status = CheckSession(org, moved, *policy, false, commit); !status.ok()) {
        return status;
      }
      commit.sessions.push_back({moved, before});
      commit.events.push_back(
          SessionEvent("session.scheduled", moved, now, {{"change", "rescheduled"}}));
      if (before.id == session->id) answer = moved;
    }
    for (BusyCheck& check : commit.checks) check.ignore_session_ids = moving;
    if (cut.has_value()) {
      // The series is cut in two at this occurrence: the old one keeps the past, a new one
      // (the same rule from the new time, with the rest of its COUNT) takes the rest.
      Series following = *cut;
      following.id = new_series_id;
      following.version = 0;
      following.first_start = answer.start_time;
      int count = RecurrenceCount(cut->recurrence_rule);
      if (count > 0) {
        auto before =
            ExpandRecurrence(cut->recurrence_rule, cut->first_start, ZoneOf(cut->timezone),
                             cut->first_start, session->start_time);
        if (!before.ok()) return before.status();
        following.recurrence_rule = WithRecurrenceCount(
            cut->recurrence_rule, std::max(1, count - static_cast<int>(before->size())));
      }
      following.prototype.duration = answer.duration;
      following.prototype.recurrence_rule = following.recurrence_rule;
      absl::Time last = answer.start_time;
      for (const SessionChange& change : commit.sessions) {
        last = std::max(last, change.session.start_time);
      }
      following.generated_until = std::max(
          last + absl::Seconds(1),
          cut->generated_until == absl::InfiniteFuture()
              ? last + absl::Seconds(1)
              : absl::FromCivil(absl::ToCivilSecond(cut->generated_until, zone) + shift, zone));
      cut->end_before = std::min(cut->end_before, session->start_time);
      cut->generated_until = absl::InfiniteFuture();
      commit.series.push_back(*cut);
      commit.series.push_back(std::move(following));
    }
    return ApplyAndReturn(org, commit, session->id);
  });
}

// --- Attendance and offers -----------------------------------------------------------------------

absl::StatusOr<Session> SupervisionService::RecordAttendance(
    const Caller& caller, const std::string& session_id,
    const std::vector<Attendance>& attendance) {
  if (attendance.empty()) return InvalidField("attendance", "must name at least one person");
  if (static_cast<int>(attendance.size()) > kMaxParticipants) {
    return InvalidField("attendance",
                        absl::StrCat("must have at most ", kMaxParticipants, " entries"));
  }
  return Retrying([&]() -> absl::StatusOr<Session> {
    auto session = LoadVisible(caller, session_id);
    if (!session.ok()) return session.status();
    if (caller.role != CallerRole::kCoordinator &&
        !(caller.role == CallerRole::kSupervisor &&
          Contains(session->supervisor_ids, caller.person_id))) {
      return absl::PermissionDeniedError(
          "attendance is recorded by the session's supervisors or a coordinator");
    }
    if (session->state != SessionState::kScheduled && session->state != SessionState::kCompleted) {
      return absl::FailedPreconditionError("attendance is recorded for scheduled sessions");
    }
    absl::Time now = clock_.Now();
    // Until it has ended the session holds its people's time (and counts for nobody's cadence).
    if (session->end_time() > now) {
      return absl::FailedPreconditionError("attendance is recorded once the session has ended");
    }
    Session recorded = *session;
    for (size_t i = 0; i < attendance.size(); ++i) {
      const Attendance& entry = attendance[i];
      if (!Contains(session->participant_ids, entry.person_id)) {
        return InvalidField(absl::StrCat("attendance[", i, "].person_id"),
                            "is not a participant of the session");
      }
      if (entry.status == AttendanceStatus::kUnspecified) {
        return InvalidField(absl::StrCat("attendance[", i, "].status"), "is required");
      }
      auto existing =
          std::find_if(recorded.attendance.begin(), recorded.attendance.end(),
                       [&](const Attendance& a) { return a.person_id == entry.person_id; });
      if (existing != recorded.attendance.end()) {
        existing->status = entry.status;
      } else {
        recorded.attendance.push_back(entry);
      }
    }
    recorded.state = SessionState::kCompleted;
    recorded.sequence++;
    recorded.update_time = now;
    Commit commit;
    commit.sessions.push_back({recorded, *session});
    std::vector<std::string> present;
    for (const Attendance& entry : recorded.attendance) {
      if (entry.status != AttendanceStatus::kPresent) continue;
      present.push_back(entry.person_id);
      if (CountsForCadence(recorded.kind)) {
        commit.supervised.push_back({entry.person_id, recorded.start_time});
      }
    }
    // Present corrected to absent or excused: their last supervision is the one before.
    for (const Attendance& was : session->attendance) {
      if (was.status != AttendanceStatus::kPresent || !CountsForCadence(recorded.kind) ||
          std::find(present.begin(), present.end(), was.person_id) != present.end()) {
        continue;
      }
      auto latest = LatestSupervision(caller.organization_id, was.person_id, recorded.id);
      if (!latest.ok()) return latest.status();
      commit.supervised_reset.push_back({was.person_id, *latest});
    }
    commit.events.push_back(
        SessionEvent("session.attended", recorded, now,
                     {{"present_ids", absl::StrJoin(present, " ")},
                      {"counts_for_cadence", CountsForCadence(recorded.kind) ? "true" : "false"}}));
    return ApplyAndReturn(caller.organization_id, commit, recorded.id);
  });
}

absl::StatusOr<std::optional<absl::Time>> SupervisionService::LatestSupervision(
    const std::string& organization_id, const std::string& volunteer_id,
    const std::string& except) {
  absl::Time now = clock_.Now();
  // A year back is far more than any cadence (at most 365 days).
  auto ids = store_.ListSessionIds(organization_id, volunteer_id, now - absl::Hours(24 * 366), now,
                                   2000, "");
  if (!ids.ok()) return ids.status();
  auto sessions = store_.GetSessions(organization_id, ids->session_ids);
  if (!sessions.ok()) return sessions.status();
  std::optional<absl::Time> latest;
  for (const Session& session : *sessions) {
    if (session.id == except || session.state != SessionState::kCompleted ||
        !CountsForCadence(session.kind)) {
      continue;
    }
    for (const Attendance& entry : session.attendance) {
      if (entry.person_id == volunteer_id && entry.status == AttendanceStatus::kPresent &&
          (!latest.has_value() || session.start_time > *latest)) {
        latest = session.start_time;
      }
    }
  }
  return latest;
}

absl::StatusOr<Session> SupervisionService::RespondToOffer(const Caller& caller,
                                                           const std::string& session_id,
                                                           bool accept) {
  return Retrying([&]() -> absl::StatusOr<Session> {
    auto session = LoadVisible(caller, session_id);
    if (!session.ok()) return session.status();
    if (!Contains(session->participant_ids, caller.person_id) ||
        caller.role != CallerRole::kVolunteer) {
      return absl::PermissionDeniedError("only the volunteer it is offered to answers an offer");
    }
    if (session->state != SessionState::kOffered) {
      return absl::FailedPreconditionError("the session is not an open offer");
    }
    absl::Time now = clock_.Now();
    if (now >= session->offer_expire_time) {
      return Conflict(kOfferExpired, "the offer lapsed before it was answered");
    }
    Session answered = *session;
    answered.state = accept ? SessionState::kScheduled : SessionState::kDeclined;
    answered.sequence++;
    answered.update_time = now;
    Commit commit;
    commit.sessions.push_back({answered, *session});
    if (accept) {
      commit.events.push_back(
          SessionEvent("session.scheduled", answered, now, {{"change", "offer_accepted"}}));
    } else {
      // Declining is a first-class answer: it frees the time and changes nothing else.
      commit.events.push_back({"debrief.declined",
                               now,
                               {{"session_id", answered.id},
                                {"volunteer_id", caller.person_id},
                                {"incident_id", answered.incident_id}}});
    }
    return ApplyAndReturn(caller.organization_id, commit, answered.id);
  });
}

absl::Status SupervisionService::OfferDebrief(const IncidentReported& incident) {
  const std::string& org = incident.organization_id;
  auto volunteer = people_.GetPerson(org, incident.volunteer_id);
  if (volunteer.status().code() == absl::StatusCode::kNotFound) return absl::OkStatus();
  if (!volunteer.ok()) return volunteer.status();
  auto policy = store_.GetPolicy(org);
  if (!policy.ok()) return policy.status();
  absl::Time now = clock_.Now();
  absl::Time window_end = incident.report_time + policy->debrief_offer_window;
  if (window_end <= now + kDebriefNotice) return absl::OkStatus();  // too late to offer in time
  auto supervisors = people_.ListPeople(org, PersonRole::kSupervisor);
  if (!supervisors.ok()) return supervisors.status();
  auto [own, others] = SplitByAssignment(*std::move(supervisors), *volunteer);
  SlotRequest request;
  request.volunteer = ScheduleOf(*volunteer);
  request.duration = kDebriefDuration;
  request.supervisor_buffer = policy->debrief_buffer;
  request.window_start = now + kDebriefNotice;
  request.window_end = window_end;
  // Each supervisor's first free start of each day; the earliest of them all is taken.
  request.max_results = std::numeric_limits<int>::max();
  request.step = absl::Minutes(15);
  request.per_supervisor_per_day = 1;
  // The first free time with their own supervisor; another supervisor only if theirs has none.
  std::optional<Slot> slot;
  for (const std::vector<PersonFacts>* pool : {&own, &others}) {
    if (pool->empty()) continue;
    auto candidates = LoadCandidates(org, *pool, pool == &own, incident.volunteer_id,
                                     now - kMaxSessionDuration, window_end, request);
    if (!candidates.ok()) return candidates.status();
    for (Slot& candidate : supervision::ProposeSlots(request, *candidates)) {
      if (!slot.has_value() || candidate.start_time < slot->start_time) slot = std::move(candidate);
    }
    if (slot.has_value()) break;
  }
  if (!slot.has_value()) {
    return absl::OkStatus();  // nobody free in the window; the incident alert reaches supervisors
  }
  Session offer;
  offer.id = NewId("ses");
  offer.organization_id = org;
  offer.kind = SessionKind::kDebrief;
  offer.state = SessionState::kOffered;
  offer.title = "Debrief after a critical incident";
  offer.supervisor_ids = {slot->supervisor_id};
  offer.participant_ids = {incident.volunteer_id};
  offer.start_time = slot->start_time;
  offer.duration = kDebriefDuration;
  offer.capacity = 1;
  offer.incident_id = incident.incident_id;
  offer.offer_expire_time = slot->start_time;
  offer.create_time = now;
  offer.update_time = now;
  auto lead = people_.GetPerson(org, slot->supervisor_id);
  if (!lead.ok()) return lead.status();
  offer.timezone = lead->timezone;
  offer.supervisor_buffer = policy->debrief_buffer;
  Commit commit;
  if (auto status = CheckSession(org, offer, *policy, false, commit); !status.ok()) {
    // Taken in the meantime: the consumer retries the event.
    return absl::AbortedError(status.message());
  }
  commit.sessions.push_back({offer, std::nullopt});
  commit.events.push_back({"debrief.offered",
                           now,
                           {{"session_id", offer.id},
                            {"volunteer_id", incident.volunteer_id},
                            {"supervisor_id", slot->supervisor_id},
                            {"incident_id", incident.incident_id},
                            {"start_time", Rfc3339Utc(offer.start_time)}}});
  // One offer per incident, whichever replica handles the event and however often.
  auto applied = store_.Apply(org, commit, {"incident", incident.incident_id}, offer.id);
  return applied.status();
}

// --- Policy, overdue, calendar -------------------------------------------------------------------

absl::StatusOr<SupervisionPolicy> SupervisionService::GetPolicy(const Caller& caller) {
  if (!caller.IsMember() && caller.role != CallerRole::kService) {
    return absl::PermissionDeniedError("supervision is for the people of an organisation");
  }
  return store_.GetPolicy(caller.organization_id);
}

absl::StatusOr<SupervisionPolicy> SupervisionService::UpdatePolicy(const Caller& caller,
                                                                   const PolicyUpdate& update) {
  if (caller.role != CallerRole::kCoordinator) {
    return absl::PermissionDeniedError("coordinators set the supervision policy");
  }
  if (update.cadence.has_value() &&
      (*update.cadence < absl::Hours(24) || *update.cadence > absl::Hours(24 * 365))) {
    return InvalidField("policy.cadence", "must be between 1 and 365 days");
  }
  if (update.debrief_offer_window.has_value() &&
      (*update.debrief_offer_window < absl::Hours(1) ||
       *update.debrief_offer_window > absl::Hours(24 * 14))) {
    return InvalidField("policy.debrief_offer_window", "must be between 1 hour and 14 days");
  }
  if (update.debrief_buffer.has_value() &&
      (*update.debrief_buffer < absl::ZeroDuration() || *update.debrief_buffer > absl::Hours(4))) {
    return InvalidField("policy.debrief_buffer", "must be between 0 and 4 hours");
  }
  auto policy = store_.GetPolicy(caller.organization_id);
  if (!policy.ok()) return policy.status();
  if (update.cadence) policy->cadence = *update.cadence;
  if (update.debrief_offer_window) policy->debrief_offer_window = *update.debrief_offer_window;
  if (update.debrief_buffer) policy->debrief_buffer = *update.debrief_buffer;
  if (update.require_two_facilitators) {
    policy->require_two_facilitators = *update.require_two_facilitators;
  }
  if (auto status = store_.SetPolicy(caller.organization_id, *policy); !status.ok()) return status;
  return *policy;
}

absl::StatusOr<std::vector<OverdueVolunteer>> SupervisionService::ComputeOverdue(
    const std::string& organization_id, const std::string& supervisor_id) {
  auto volunteers = people_.ListPeople(organization_id, PersonRole::kVolunteer);
  if (!volunteers.ok()) return volunteers.status();
  auto policy = store_.GetPolicy(organization_id);
  if (!policy.ok()) return policy.status();
  auto last = store_.LastSupervised(organization_id);
  if (!last.ok()) return last.status();
  absl::Time now = clock_.Now();
  std::vector<OverdueVolunteer> overdue;
  for (const PersonFacts& volunteer : *volunteers) {
    if (!volunteer.active()) continue;
    if (!supervisor_id.empty() && !Contains(volunteer.supervisor_ids, supervisor_id)) continue;
    OverdueVolunteer entry;
    entry.volunteer_id = volunteer.person_id;
    absl::Time since = volunteer.create_time;
    if (auto found = last->find(volunteer.person_id); found != last->end()) {
      entry.last_session_time = found->second;
      since = found->second;
    }
    if (since == absl::InfinitePast()) continue;  // joined when, the directory does not say
    absl::Duration past = now - (since + policy->cadence);
    if (past <= absl::ZeroDuration()) continue;
    // Days past the cadence, counting a day begun: one minute overdue is one day overdue.
    entry.days_overdue = static_cast<int>(std::ceil(absl::ToDoubleHours(past) / 24));
    overdue.push_back(std::move(entry));
  }
  std::sort(overdue.begin(), overdue.end(), [](const auto& a, const auto& b) {
    if (a.days_overdue != b.days_overdue) return a.days_overdue > b.days_overdue;
    return a.volunteer_id < b.volunteer_id;
  });
  return overdue;
}

absl::StatusOr<Page<OverdueVolunteer>> SupervisionService::ListOverdue(
    const Caller& caller, int page_size, const std::string& position) {
  std::string only_for;
  if (caller.role == CallerRole::kSupervisor) {
    only_for = caller.person_id;
  } else if (caller.role != CallerRole::kCoordinator && caller.role != CallerRole::kService) {
    return absl::PermissionDeniedError("supervisors and coordinators see who is overdue");
  }
  auto overdue = ComputeOverdue(caller.organization_id, only_for);
  if (!overdue.ok()) return overdue.status();
  int offset = 0;
  if (!position.empty() && !absl::SimpleAtoi(position, &offset)) {
    return InvalidField("page_token", "is not a page token of this listing");
  }
  Page<OverdueVolunteer> page;
  for (int i = offset; i < static_cast<int>(overdue->size()) && i < offset + page_size; ++i) {
    page.items.push_back((*overdue)[i]);
  }
  if (offset + page_size < static_cast<int>(overdue->size())) {
    page.next_position = absl::StrCat(offset + page_size);
  }
  return page;
}

absl::StatusOr<std::string> SupervisionService::ExportCalendar(const Caller& caller,
                                                               const std::string& person_id) {
  if (!caller.IsMember() && caller.role != CallerRole::kService) {
    return absl::PermissionDeniedError("supervision is for the people of an organisation");
  }
  std::string person = person_id.empty() ? caller.person_id : person_id;
  if (auto status = ValidateToken("person_id", person); !status.ok()) return status;
  auto visible = MaySeePerson(caller, person);
  if (!visible.ok()) return visible.status();
  if (!*visible) return absl::NotFoundError("person not found");
  return CalendarOf(caller.organization_id, person);
}

absl::StatusOr<std::string> SupervisionService::CalendarOf(const std::string& organization_id,
                                                           const std::string& person_id) {
  absl::Time now = clock_.Now();
  auto ids = store_.ListSessionIds(organization_id, person_id, now - absl::Hours(24 * 90),
                                   absl::InfiniteFuture(), kMaxCalendarSessions, "");
  if (!ids.ok()) return ids.status();
  auto sessions = store_.GetSessions(organization_id, ids->session_ids);
  if (!sessions.ok()) return sessions.status();
  return CalendarIcs(*sessions, now);
}

// --- Calendar feeds ------------------------------------------------------------------------------

absl::Status SupervisionService::MayManageFeeds(const Caller& caller,
                                                const std::string& person_id) {
  if (!caller.IsMember()) {
    return absl::PermissionDeniedError("calendar feeds are for the people of an organisation");
  }
  if (person_id == caller.person_id) return absl::OkStatus();
  auto visible = MaySeePerson(caller, person_id);
  if (!visible.ok()) return visible.status();
  if (!*visible) return absl::NotFoundError("person not found");
  if (caller.role == CallerRole::kCoordinator) return absl::OkStatus();
  return absl::PermissionDeniedError(
      "only the person and coordinators manage a person's calendar feeds");
}

absl::StatusOr<CreatedCalendarFeed> SupervisionService::CreateCalendarFeed(
    const Caller& caller, const std::string& person_id) {
  std::string person = person_id.empty() ? caller.person_id : person_id;
  if (auto status = ValidateToken("person_id", person); !status.ok()) return status;
  if (auto status = MayManageFeeds(caller, person); !status.ok()) return status;
  auto facts = people_.GetPerson(caller.organization_id, person);
  if (facts.status().code() == absl::StatusCode::kNotFound) {
    return absl::NotFoundError("person not found");
  }
  if (!facts.ok()) return facts.status();
  if (facts->status == PersonFacts::Status::kInactive) {
    return absl::FailedPreconditionError(
        "the person is inactive: a calendar feed serves people of the organisation only");
  }
  CreatedCalendarFeed created;
  CalendarFeed& feed = created.feed;
  feed.id = NewId("cf");
  feed.organization_id = caller.organization_id;
  feed.person_id = person;
  feed.create_time = clock_.Now();
  auto token = secrets_.NewSecret(kCalendarFeedSecret, feed.organization_id, feed.id);
  if (!token.ok()) return token.status();
  created.token = *std::move(token);
  feed.token_hash = secrets_.Hash(created.token);
  auto added = store_.AddCalendarFeed(feed, kMaxCalendarFeedsPerPerson);
  if (!added.ok()) return added.status();
  if (!*added) {
    return absl::FailedPreconditionError(
        absl::StrCat("a person has at most ", kMaxCalendarFeedsPerPerson,
                     " calendar feeds: revoke one that is no longer used before creating "
                     "another"));
  }
  return created;
}

absl::StatusOr<std::vector<CalendarFeed>> SupervisionService::ListCalendarFeeds(
    const Caller& caller, const std::string& person_id) {
  std::string person = person_id.empty() ? caller.person_id : person_id;
  if (auto status = ValidateToken("person_id", person); !status.ok()) return status;
  if (auto status = MayManageFeeds(caller, person); !status.ok()) return status;
  return store_.ListCalendarFeeds(caller.organization_id, person);
}

absl::StatusOr<CalendarFeed> SupervisionService::RevokeCalendarFeed(const Caller& caller,
                                                                    const std::string& feed_id) {
  if (!IsWellFormedId(feed_id, "cf")) return InvalidField("feed_id", "must be a calendar feed id");
  if (!caller.IsMember()) {
    return absl::PermissionDeniedError("calendar feeds are for the people of an organisation");
  }
  auto feed = store_.GetCalendarFeed(caller.organization_id, feed_id);
  if (!feed.ok()) return feed.status();
  if (!feed->has_value()) return absl::NotFoundError("calendar feed not found");
  if (auto status = MayManageFeeds(caller, (*feed)->person_id); !status.ok()) {
    // A feed of someone the caller may not see is not there for them.
    if (status.code() == absl::StatusCode::kNotFound) {
      return absl::NotFoundError("calendar feed not found");
    }
    return status;
  }
  auto removed = store_.RemoveCalendarFeed(**feed);
  if (!removed.ok()) return removed.status();
  if (!*removed) return absl::NotFoundError("calendar feed not found");  // revoked meanwhile
  return **std::move(feed);
}

absl::StatusOr<std::string> SupervisionService::CalendarOfFeed(const std::string& token) {
  // One answer for every way a token can fail, so that probing learns nothing.
  const absl::Status not_found = absl::NotFoundError("calendar feed not found");
  std::optional<SecretIdentity> identity = ParseSecret(kCalendarFeedSecret, token);
  if (!identity.has_value()) return not_found;
  auto feed = store_.GetCalendarFeed(identity->organization_id, identity->record_id);
  if (!feed.ok()) return feed.status();
  if (!feed->has_value() || !secrets_.Matches(token, (*feed)->token_hash)) return not_found;
  auto person = people_.GetPerson(identity->organization_id, (*feed)->person_id);
  if (person.status().code() == absl::StatusCode::kNotFound) return not_found;
  if (!person.ok()) return person.status();
  if (person->status == PersonFacts::Status::kInactive) return not_found;
  return CalendarOf(identity->organization_id, (*feed)->person_id);
}

// --- A person's export ---------------------------------------------------------------------------

absl::StatusOr<PersonRecords> SupervisionService::ExportPerson(const Caller& caller,
                                                               const std::string& person_id) {
  if (auto status = CheckPersonRecordsRequest(caller, person_id); !status.ok()) return status;
  const std::string& org = caller.organization_id;
  PersonRecords records;
  records.person_id = person_id;
  std::string position;
  do {
    auto ids = store_.ListSessionIds(org, person_id, absl::InfinitePast(), absl::InfiniteFuture(),
                                     kExportPageSize, position);
    if (!ids.ok()) return ids.status();
    auto sessions = store_.GetSessions(org, ids->session_ids);
    if (!sessions.ok()) return sessions.status();
    records.sessions.insert(records.sessions.end(), std::make_move_iterator(sessions->begin()),
                            std::make_move_iterator(sessions->end()));
    position = ids->next_position;
  } while (!position.empty());

  std::vector<std::string> series_ids;
  for (const Session& session : records.sessions) {
    if (!session.series_id.empty()) series_ids.push_back(session.series_id);
  }
  Unique(series_ids);
  auto series = store_.GetSeveralSeries(org, series_ids);
  if (!series.ok()) return series.status();
  for (Series& one : *series) {
    // A series someone joined one occurrence of was not made with them and does not name them.
    if (one.prototype.Involves(person_id)) records.series.push_back(std::move(one));
  }

  // Without its time zone: that is the directory's, in the directory's part of the export.
  auto availability = store_.GetAvailability(org, person_id);
  if (!availability.ok()) return availability.status();
  records.availability = *std::move(availability);

  auto feeds = store_.ListCalendarFeeds(org, person_id);
  if (!feeds.ok()) return feeds.status();
  records.calendar_feeds = *std::move(feeds);
  // The hash only checks a token the person was shown once; it tells them nothing.
  for (CalendarFeed& feed : records.calendar_feeds) feed.token_hash.clear();

  auto marks = store_.GetCadenceMarks(org, person_id);
  if (!marks.ok()) return marks.status();
  records.last_supervised = marks->last_supervised;
  if (marks->published_gap.has_value()) {
    records.announced_gap = AnnouncedGap{GapTime(*marks->published_gap)};
  }
  return records;
}

// --- Erasing a person ----------------------------------------------------------------------------

absl::Status SupervisionService::ErasePerson(const std::string& organization_id,
                                             const std::string& person_id) {
  if (organization_id.empty() || person_id.empty()) {
    return absl::InvalidArgumentError("an erasure names its organisation and person");
  }
  const std::string& org = organization_id;
  // The series first: once none names them, no top-up makes new occurrences with them.
  auto series = store_.SeriesNaming(org, person_id);
  if (!series.ok()) return series.status();
  std::vector<std::string> emptied;
  for (const Series& one : *series) {
    auto empty = TakeOutOfSeries(org, one.id, person_id);
    if (!empty.ok()) return empty.status();
    if (*empty) emptied.push_back(one.id);
  }
  // Each session leaves their index as it is dealt with, so a run after a crash finds the rest.
  std::string position;
  do {
    auto ids = store_.ListSessionIds(org, person_id, absl::InfinitePast(), absl::InfiniteFuture(),
                                     kExportPageSize, position);
    if (!ids.ok()) return ids.status();
    for (const std::string& id : ids->session_ids) {
      if (auto status = TakeOutOfSession(org, id, person_id); !status.ok()) return status;
    }
    position = ids->next_position;
  } while (!position.empty());
  for (const std::string& id : emptied) {
    if (auto status = DeleteSeries(org, id); !status.ok()) return status;
  }
  // After the sessions: another caller's request is known to be theirs by its session being gone.
  if (auto status = store_.RemovePersonRequests(org, person_id); !status.ok()) return status;
  if (auto status = store_.RemovePersonRecords(org, person_id); !status.ok()) return status;
  return store_.RemovePersonEvents(org, person_id);
}

absl::StatusOr<bool> SupervisionService::TakeOutOfSeries(const std::string& organization_id,
                                                         const std::string& series_id,
                                                         const std::string& person_id) {
  return Retrying([&]() -> absl::StatusOr<bool> {
    auto stored = store_.GetSeries(organization_id, series_id);
    if (!stored.ok()) return stored.status();
    if (!stored->has_value() || !(*stored)->prototype.Involves(person_id)) return false;
    const Series& before = **stored;
    Series after = before;
    RemoveId(after.prototype.supervisor_ids, person_id);
    RemoveId(after.prototype.participant_ids, person_id);
    // Without supervisors its new occurrences would have nobody to run them.
    bool empty = WasTheirsAlone(before.prototype, after.prototype, person_id) ||
                 after.prototype.supervisor_ids.empty();
    if (empty) {
      after = before;
      after.end_before = std::min(after.end_before, clock_.Now());
      after.generated_until = absl::InfiniteFuture();  // out of the top-up's horizon
    }
    Commit commit;
    commit.series.push_back(std::move(after));
    auto applied = store_.Apply(organization_id, commit, {}, series_id);
    if (!applied.ok()) return applied.status();
    return empty;
  });
}

absl::Status SupervisionService::DeleteSeries(const std::string& organization_id,
                                              const std::string& series_id) {
  auto result = Retrying([&]() -> absl::StatusOr<bool> {
    auto stored = store_.GetSeries(organization_id, series_id);
    if (!stored.ok()) return stored.status();
    if (!stored->has_value()) return false;
    Commit commit;
    commit.deleted_series.push_back(**std::move(stored));
    auto applied = store_.Apply(organization_id, commit, {}, series_id);
    if (!applied.ok()) return applied.status();
    return true;
  });
  return result.status();
}

absl::Status SupervisionService::TakeOutOfSession(const std::string& organization_id,
                                                  const std::string& session_id,
                                                  const std::string& person_id) {
  auto result = Retrying([&]() -> absl::StatusOr<bool> {
    auto stored = store_.GetSession(organization_id, session_id);
    if (!stored.ok()) return stored.status();
    if (!stored->has_value()) return false;  // a stale index entry: it goes with their index
    const Session& before = **stored;
    auto theirs = [&](const Attendance& a) { return a.person_id == person_id; };
    if (!before.Involves(person_id) &&
        std::none_of(before.attendance.begin(), before.attendance.end(), theirs)) {
      return false;
    }
    Session after = before;
    RemoveId(after.supervisor_ids, person_id);
    RemoveId(after.participant_ids, person_id);
    after.attendance.erase(std::remove_if(after.attendance.begin(), after.attendance.end(), theirs),
                           after.attendance.end());
    Commit commit;
    if (WasTheirsAlone(before, after, person_id) ||
        (after.supervisor_ids.empty() && after.participant_ids.empty())) {
      commit.deleted_sessions.push_back(before);
    } else {
      // A change like any other: its version moves on, so a concurrent edit reads it again and
      // cannot put them back, and calendars see a new SEQUENCE.
      after.sequence++;
      after.update_time = clock_.Now();
      commit.sessions.push_back({std::move(after), before});
    }
    auto applied = store_.Apply(organization_id, commit, {}, session_id);
    if (!applied.ok()) return applied.status();
    return true;
  });
  return result.status();
}

// --- The sweep -----------------------------------------------------------------------------------

absl::Status SupervisionService::RegisterOrganization(const std::string& organization_id) {
  return store_.AddOrganization(organization_id);
}

absl::Status SupervisionService::TopUpSeries(const std::string& organization_id,
                                             const std::string& series_id) {
  auto result = Retrying([&]() -> absl::StatusOr<bool> {
    auto stored = store_.GetSeries(organization_id, series_id);
    if (!stored.ok()) return stored.status();
    if (!stored->has_value()) return false;
    Series series = **std::move(stored);
    absl::Time now = clock_.Now();
    if (series.generated_until >= now + kSeriesHorizon) return false;
    absl::Time until = now + kSeriesHorizon + absl::Hours(24 * 7);
    auto occurrences = NewOccurrences(series, series.generated_until, until);
    if (!occurrences.ok()) return occurrences.status();
    if (occurrences->size() >= static_cast<size_t>(kMaxOccurrencesPerExpansion)) {
      until = occurrences->back().start_time + absl::Seconds(1);  // the rest next time
    }
    auto policy = store_.GetPolicy(organization_id);
    if (!policy.ok()) return policy.status();
    // The people's busy times over all the new occurrences, read once.
    std::map<std::string, std::vector<BusyInterval>> busy;
    if (!occurrences->empty()) {
      std::vector<std::string> people = series.prototype.supervisor_ids;
      people.insert(people.end(), series.prototype.participant_ids.begin(),
                    series.prototype.participant_ids.end());
      auto read =
          store_.BusyIntervals(organization_id, people, occurrences->front().start_time,
                               occurrences->back().end_time() + series.prototype.supervisor_buffer);
      if (!read.ok()) return read.status();
      busy = *std::move(read);
    }
    Commit commit;
    for (Session& occurrence : *occurrences) {
      Commit checks;
      absl::Status fits = CheckSession(organization_id, occurrence, *policy, false, checks);
      if (!fits.ok() && fits.code() != absl::StatusCode::kFailedPrecondition &&
          fits.code() != absl::StatusCode::kInvalidArgument) {
        return fits;  // Redis or the directory: the next sweep tries again
      }
      // A later occurrence whose time is no longer free is kept, cancelled with the conflict, so
      // the people who run the series see it.
      std::string taken;
      for (const BusyCheck& check : checks.checks) {
        if (FirstOverlap(busy[check.person_id], check.start, check.end) != nullptr) {
          taken = check.message;
        }
      }
      if (!fits.ok()) taken = std::string(fits.message());
      if (!taken.empty()) {
        occurrence.state = SessionState::kCancelled;
        occurrence.cancel_reason = taken;
      } else {
        commit.checks.insert(commit.checks.end(), checks.checks.begin(), checks.checks.end());
        commit.events.push_back(SessionEvent("session.scheduled", occurrence, now));
      }
      commit.sessions.push_back({occurrence, std::nullopt});
    }
    series.generated_until = until;
    commit.series.push_back(series);
    auto applied = store_.Apply(organization_id, commit, {}, series.id);
    if (!applied.ok()) return applied.status();
    return true;
  });
  return result.status();
}

absl::Status SupervisionService::LapseOffer(const std::string& organization_id,
                                            const std::string& session_id) {
  auto result = Retrying([&]() -> absl::StatusOr<bool> {
    auto stored = store_.GetSession(organization_id, session_id);
    if (!stored.ok()) return stored.status();
    if (!stored->has_value()) return false;
    const Session& session = **stored;
    absl::Time now = clock_.Now();
    if (session.state != SessionState::kOffered || session.offer_expire_time > now) return false;
    Session lapsed = session;
    lapsed.state = SessionState::kCancelled;
    lapsed.cancel_reason = absl::StrCat(kOfferExpired, ": the offer lapsed unanswered");
    lapsed.sequence++;
    lapsed.update_time = now;
    Commit commit;
    commit.sessions.push_back({lapsed, session});
    commit.events.push_back(
        SessionEvent("session.cancelled", lapsed, now, {{"change", "offer_lapsed"}}));
    auto applied = store_.Apply(organization_id, commit, {}, session_id);
    if (!applied.ok()) return applied.status();
    return true;
  });
  return result.status();
}

absl::Status SupervisionService::SweepOrganization(const std::string& organization_id) {
  absl::Status status;
  absl::Time now = clock_.Now();
  if (auto due = store_.SeriesToTopUp(organization_id, now + kSeriesHorizon, kSweepBatch);
      due.ok()) {
    for (const std::string& id : *due) status.Update(TopUpSeries(organization_id, id));
  } else {
    status.Update(due.status());
  }
  if (auto expired = store_.ExpiredOffers(organization_id, now, kSweepBatch); expired.ok()) {
    for (const std::string& id : *expired) status.Update(LapseOffer(organization_id, id));
  } else {
    status.Update(expired.status());
  }
  auto overdue = ComputeOverdue(organization_id, "");
  if (!overdue.ok()) {
    status.Update(overdue.status());
    return status;
  }
  for (const OverdueVolunteer& volunteer : *overdue) {
    std::string gap = GapText(volunteer.last_session_time);
    DomainEvent event{"supervision.overdue",
                      now,
                      {{"volunteer_id", volunteer.volunteer_id},
                       {"days_overdue", absl::StrCat(volunteer.days_overdue)},
                       {"last_session_time", volunteer.last_session_time.has_value()
                                                 ? Rfc3339Utc(*volunteer.last_session_time)
                                                 : ""}}};
    status.Update(
        store_.PublishOverdueOnce(organization_id, volunteer.volunteer_id, gap, event).status());
  }
  return status;
}

absl::Status SupervisionService::Sweep() {
  auto organizations = store_.Organizations();
  if (!organizations.ok()) return organizations.status();
  absl::Status status;
  for (const std::string& organization_id : *organizations) {
    status.Update(SweepOrganization(organization_id));
  }
  return status;
}

}  // namespace peerwell::supervision
