#include "services/supervision/supervision_mapping.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/common/person_records.h"
#include "services/common/proto_time.h"
#include "services/common/validation.h"

namespace peerwell::supervision {
namespace {

constexpr int kMaxIds = 100;
constexpr int kMaxFilters = 8;

std::string LocalTime(int minutes) {
  return absl::StrFormat("%02d:%02d", minutes / 60, minutes % 60);
}

// "HH:MM", and "24:00" for the end of a day.
absl::StatusOr<int> MinutesOfDay(const std::string& text, absl::string_view field) {
  if (text == "24:00") return 24 * 60;
  auto minutes = ParseLocalTimeOfDay(text);
  if (!minutes.has_value()) return InvalidField(field, "must be a local time \"HH:MM\"");
  return *minutes;
}

absl::Status CopyIds(const google::protobuf::RepeatedPtrField<std::string>& ids,
                     absl::string_view field, std::vector<std::string>* out) {
  if (ids.size() > kMaxIds) {
    return InvalidField(field, absl::StrCat("must have at most ", kMaxIds, " entries"));
  }
  for (const std::string& id : ids) {
    if (auto status = ValidateToken(field, id); !status.ok()) return status;
    out->push_back(id);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SessionKind> SessionKindFromProto(int value, absl::string_view field) {
  if (value < 1 || value > 5) return InvalidField(field, "must be a SESSION_KIND_ value");
  return static_cast<SessionKind>(value);
}

absl::StatusOr<SessionState> SessionStateFromProto(int value, absl::string_view field) {
  if (value < 1 || value > 5) return InvalidField(field, "must be a SESSION_STATE_ value");
  return static_cast<SessionState>(value);
}

SeriesScope SeriesScopeFromProto(v1::SeriesScope scope) {
  return scope == v1::SERIES_SCOPE_THIS_AND_FOLLOWING ? SeriesScope::kThisAndFollowing
                                                      : SeriesScope::kThis;
}

// Times and durations are kept to the microsecond, as they are stored: a session's busy entry
// is found again from its stored start and duration only if nothing finer went into it.
absl::StatusOr<std::optional<absl::Duration>> DurationFromProto(
    bool present, const google::protobuf::Duration& proto, absl::string_view field) {
  if (!present) return std::nullopt;
  if (proto.seconds() < 0 || proto.nanos() < 0 || proto.nanos() >= 1'000'000'000 ||
      proto.seconds() > 400LL * 24 * 3600) {
    return InvalidField(field, "must be a positive duration of at most 400 days");
  }
  return absl::Seconds(proto.seconds()) + absl::Microseconds(proto.nanos() / 1000);
}

absl::StatusOr<absl::Time> MicrosecondTime(const google::protobuf::Timestamp& proto,
                                           absl::string_view field) {
  auto time = TimestampFromProto(proto, field);
  if (!time.ok()) return time.status();
  return absl::FromUnixMicros(absl::ToUnixMicros(*time));
}

absl::StatusOr<absl::Time> RequiredTime(bool present, const google::protobuf::Timestamp& proto,
                                        absl::string_view field) {
  if (!present) return InvalidField(field, "is required");
  return MicrosecondTime(proto, field);
}

absl::StatusOr<Availability> AvailabilityFromProto(const v1::Availability& proto) {
  Availability availability;
  if (proto.weekly_size() > 50) {
    return InvalidField("availability.weekly", "must have at most 50 entries");
  }
  if (proto.exceptions_size() > 200) {
    return InvalidField("availability.exceptions", "must have at most 200 entries");
  }
  for (int i = 0; i < proto.weekly_size(); ++i) {
    const v1::WeeklyWindow& w = proto.weekly(i);
    std::string field = absl::StrCat("availability.weekly[", i, "]");
    auto start = MinutesOfDay(w.start(), field + ".start");
    if (!start.ok()) return start.status();
    auto end = MinutesOfDay(w.end(), field + ".end");
    if (!end.ok()) return end.status();
    availability.weekly.push_back({w.weekday(), *start, *end});
  }
  for (int i = 0; i < proto.exceptions_size(); ++i) {
    const v1::AvailabilityException& e = proto.exceptions(i);
    std::string field = absl::StrCat("availability.exceptions[", i, "]");
    auto start = RequiredTime(e.has_start_time(), e.start_time(), field + ".start_time");
    if (!start.ok()) return start.status();
    auto end = RequiredTime(e.has_end_time(), e.end_time(), field + ".end_time");
    if (!end.ok()) return end.status();
    availability.exceptions.push_back({*start, *end, e.available()});
  }
  return availability;
}

v1::Availability AvailabilityToProto(const Availability& availability) {
  v1::Availability proto;
  proto.set_supervisor_id(availability.supervisor_id);
  proto.set_timezone(availability.timezone);
  for (const WeeklyWindow& w : availability.weekly) {
    v1::WeeklyWindow* out = proto.add_weekly();
    out->set_weekday(w.weekday);
    out->set_start(LocalTime(w.start_minute));
    out->set_end(LocalTime(w.end_minute));
  }
  for (const AvailabilityException& e : availability.exceptions) {
    v1::AvailabilityException* out = proto.add_exceptions();
    *out->mutable_start_time() = TimestampToProto(e.start_time);
    *out->mutable_end_time() = TimestampToProto(e.end_time);
    out->set_available(e.available);
  }
  return proto;
}

absl::StatusOr<Session> SessionFromProto(const v1::Session& proto) {
  Session session;
  if (proto.kind() != v1::SESSION_KIND_UNSPECIFIED) {
    auto kind = SessionKindFromProto(proto.kind(), "session.kind");
    if (!kind.ok()) return kind.status();
    session.kind = *kind;
  }
  session.title = proto.title();
  if (auto status =
          CopyIds(proto.supervisor_ids(), "session.supervisor_ids", &session.supervisor_ids);
      !status.ok()) {
    return status;
  }
  if (auto status =
          CopyIds(proto.participant_ids(), "session.participant_ids", &session.participant_ids);
      !status.ok()) {
    return status;
  }
  if (proto.has_start_time()) {
    auto start = MicrosecondTime(proto.start_time(), "session.start_time");
    if (!start.ok()) return start.status();
    session.start_time = *start;
  }
  auto duration = DurationFromProto(proto.has_duration(), proto.duration(), "session.duration");
  if (!duration.ok()) return duration.status();
  if (!duration->has_value()) return InvalidField("session.duration", "is required");
  session.duration = **duration;
  session.capacity = proto.capacity();
  session.recurrence_rule = proto.recurrence_rule();
  return session;
}

v1::Session SessionToProto(const Session& session) {
  v1::Session proto;
  proto.set_session_id(session.id);
  proto.set_series_id(session.series_id);
  proto.set_kind(static_cast<v1::SessionKind>(session.kind));
  proto.set_state(static_cast<v1::SessionState>(session.state));
  proto.set_title(session.title);
  for (const std::string& id : session.supervisor_ids) proto.add_supervisor_ids(id);
  for (const std::string& id : session.participant_ids) proto.add_participant_ids(id);
  *proto.mutable_start_time() = TimestampToProto(session.start_time);
  *proto.mutable_duration() = DurationToProto(session.duration);
  proto.set_capacity(session.capacity);
  proto.set_recurrence_rule(session.recurrence_rule);
  for (const Attendance& a : session.attendance) {
    v1::Attendance* out = proto.add_attendance();
    out->set_person_id(a.person_id);
    out->set_status(static_cast<v1::AttendanceStatus>(a.status));
  }
  proto.set_incident_id(session.incident_id);
  if (session.offer_expire_time != absl::InfinitePast()) {
    *proto.mutable_offer_expire_time() = TimestampToProto(session.offer_expire_time);
  }
  proto.set_cancel_reason(session.cancel_reason);
  *proto.mutable_create_time() = TimestampToProto(session.create_time);
  *proto.mutable_update_time() = TimestampToProto(session.update_time);
  proto.set_sequence(session.sequence);
  proto.set_seats_left(session.SeatsLeft());
  return proto;
}

absl::StatusOr<std::vector<Attendance>> AttendanceFromProto(
    const google::protobuf::RepeatedPtrField<v1::Attendance>& attendance) {
  if (attendance.size() > kMaxIds) {
    return InvalidField("attendance", absl::StrCat("must have at most ", kMaxIds, " entries"));
  }
  std::vector<Attendance> out;
  for (int i = 0; i < attendance.size(); ++i) {
    std::string field = absl::StrCat("attendance[", i, "]");
    if (auto status = ValidateToken(field + ".person_id", attendance[i].person_id());
        !status.ok()) {
      return status;
    }
    int status = attendance[i].status();
    if (status < 1 || status > 3) {
      return InvalidField(field + ".status", "must be an ATTENDANCE_STATUS_ value");
    }
    out.push_back({attendance[i].person_id(), static_cast<AttendanceStatus>(status)});
  }
  return out;
}

absl::StatusOr<SessionQuery> SessionQueryFromProto(const v1::ListSessionsRequest& request) {
  SessionQuery query;
  if (request.has_start_time()) {
    auto start = TimestampFromProto(request.start_time(), "start_time");
    if (!start.ok()) return start.status();
    query.start_time = *start;
  }
  if (request.has_end_time()) {
    auto end = TimestampFromProto(request.end_time(), "end_time");
    if (!end.ok()) return end.status();
    query.end_time = *end;
  }
  if (request.kinds_size() > kMaxFilters) return InvalidField("kinds", "names too many kinds");
  if (request.states_size() > kMaxFilters) return InvalidField("states", "names too many states");
  for (int kind : request.kinds()) {
    auto parsed = SessionKindFromProto(kind, "kinds");
    if (!parsed.ok()) return parsed.status();
    query.kinds.push_back(*parsed);
  }
  for (int state : request.states()) {
    auto parsed = SessionStateFromProto(state, "states");
    if (!parsed.ok()) return parsed.status();
    query.states.push_back(*parsed);
  }
  auto size = NormalizePageSize("page_size", request.page_size());
  if (!size.ok()) return size.status();
  query.page_size = *size;
  query.open_to_join = request.open_to_join();
  if (query.open_to_join && !request.person_id().empty()) {
    return InvalidField("person_id", "must be empty with open_to_join");
  }
  return query;
}

v1::Slot SlotToProto(const Slot& slot) {
  v1::Slot proto;
  proto.set_supervisor_id(slot.supervisor_id);
  *proto.mutable_start_time() = TimestampToProto(slot.start_time);
  *proto.mutable_end_time() = TimestampToProto(slot.end_time);
  proto.set_score(slot.score);
  for (const std::string& reason : slot.reasons) proto.add_reasons(reason);
  return proto;
}

v1::OverdueVolunteer OverdueToProto(const OverdueVolunteer& overdue) {
  v1::OverdueVolunteer proto;
  proto.set_volunteer_id(overdue.volunteer_id);
  if (overdue.last_session_time.has_value()) {
    *proto.mutable_last_session_time() = TimestampToProto(*overdue.last_session_time);
  }
  proto.set_days_overdue(overdue.days_overdue);
  return proto;
}

v1::CalendarFeed CalendarFeedToProto(const CalendarFeed& feed, absl::string_view token) {
  v1::CalendarFeed proto;
  proto.set_feed_id(feed.id);
  proto.set_person_id(feed.person_id);
  if (!token.empty()) proto.set_path(absl::StrCat("/calendar/", token, ".ics"));
  *proto.mutable_create_time() = TimestampToProto(feed.create_time);
  return proto;
}

v1::Series SeriesToProto(const Series& series) {
  const Session& occurrence = series.prototype;
  v1::Series proto;
  proto.set_series_id(series.id);
  proto.set_recurrence_rule(series.recurrence_rule);
  proto.set_timezone(series.timezone);
  *proto.mutable_first_start_time() = TimestampToProto(series.first_start);
  if (series.end_before != absl::InfiniteFuture()) {
    *proto.mutable_cut_time() = TimestampToProto(series.end_before);
  }
  proto.set_kind(static_cast<v1::SessionKind>(occurrence.kind));
  proto.set_title(occurrence.title);
  for (const std::string& id : occurrence.supervisor_ids) proto.add_supervisor_ids(id);
  for (const std::string& id : occurrence.participant_ids) proto.add_participant_ids(id);
  *proto.mutable_duration() = DurationToProto(occurrence.duration);
  proto.set_capacity(occurrence.capacity);
  return proto;
}

absl::Status PersonRecordsToProto(const PersonRecords& records, google::protobuf::Struct* out) {
  PersonRecordsBuilder builder(out);
  for (const char* family :
       {kSessionsRecords, kSeriesRecords, kAvailabilityRecords, kCalendarFeedsRecords,
        kLastSupervisedRecords, kOverdueAnnouncedRecords}) {
    builder.Declare(family);
  }
  absl::Status status;
  for (const Session& session : records.sessions) {
    status.Update(builder.Add(kSessionsRecords, SessionToProto(session)));
  }
  for (const Series& series : records.series) {
    status.Update(builder.Add(kSeriesRecords, SeriesToProto(series)));
  }
  if (records.availability.has_value()) {
    status.Update(builder.Add(kAvailabilityRecords, AvailabilityToProto(*records.availability)));
  }
  for (const CalendarFeed& feed : records.calendar_feeds) {
    status.Update(builder.Add(kCalendarFeedsRecords, CalendarFeedToProto(feed)));
  }
  if (records.last_supervised.has_value()) {
    v1::LastSupervision last;
    last.set_volunteer_id(records.person_id);
    *last.mutable_last_session_time() = TimestampToProto(*records.last_supervised);
    status.Update(builder.Add(kLastSupervisedRecords, last));
  }
  if (records.announced_gap.has_value()) {
    v1::OverdueAnnouncement announced;
    announced.set_volunteer_id(records.person_id);
    if (records.announced_gap->last_session_time.has_value()) {
      *announced.mutable_last_session_time() =
          TimestampToProto(*records.announced_gap->last_session_time);
    }
    status.Update(builder.Add(kOverdueAnnouncedRecords, announced));
  }
  return status;
}

v1::SupervisionPolicy PolicyToProto(const SupervisionPolicy& policy) {
  v1::SupervisionPolicy proto;
  *proto.mutable_cadence() = DurationToProto(policy.cadence);
  *proto.mutable_debrief_offer_window() = DurationToProto(policy.debrief_offer_window);
  *proto.mutable_debrief_buffer() = DurationToProto(policy.debrief_buffer);
  proto.set_require_two_facilitators(policy.require_two_facilitators);
  return proto;
}

absl::StatusOr<PolicyUpdate> PolicyUpdateFromProto(const v1::SupervisionPolicy& policy,
                                                   const google::protobuf::FieldMask& mask) {
  if (mask.paths_size() == 0) return InvalidField("update_mask", "must name the fields to change");
  if (mask.paths_size() > 8) return InvalidField("update_mask", "names too many fields");
  PolicyUpdate update;
  for (const std::string& path : mask.paths()) {
    auto duration = [&](bool present, const google::protobuf::Duration& d,
                        std::optional<absl::Duration>* out) -> absl::Status {
      auto parsed = DurationFromProto(present, d, absl::StrCat("policy.", path));
      if (!parsed.ok()) return parsed.status();
      if (!parsed->has_value()) return InvalidField(absl::StrCat("policy.", path), "is required");
      *out = **parsed;
      return absl::OkStatus();
    };
    absl::Status status;
    if (path == "cadence") {
      status = duration(policy.has_cadence(), policy.cadence(), &update.cadence);
    } else if (path == "debrief_offer_window") {
      status = duration(policy.has_debrief_offer_window(), policy.debrief_offer_window(),
                        &update.debrief_offer_window);
    } else if (path == "debrief_buffer") {
      status =
          duration(policy.has_debrief_buffer(), policy.debrief_buffer(), &update.debrief_buffer);
    } else if (path == "require_two_facilitators") {
      update.require_two_facilitators = policy.require_two_facilitators();
    } else {
      return InvalidField("update_mask",
                          absl::StrCat("'", path.substr(0, 64), "' is not a policy field"));
    }
    if (!status.ok()) return status;
  }
  return update;
}

}  // namespace peerwell::supervision
