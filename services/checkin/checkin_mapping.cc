#include "services/checkin/checkin_mapping.h"

#include "absl/strings/str_cat.h"
#include "services/common/person_records.h"
#include "services/common/proto_time.h"
#include "services/common/validation.h"

namespace peerwell::checkin {
namespace {
constexpr int kMaxAnswers = 64;
constexpr size_t kMaxItemIdChars = 32;
constexpr int kMaxCadenceEntries = 16;
// A check-in's scores and answers, onto a Checkin or an ExportedCheckin.
template <typename Proto>
void AddScoresAndAnswers(const std::vector<Score>& scores, const std::vector<Answer>& answers,
                         Proto& proto) {
  for (const Score& score : scores) {
    v1::Score* out = proto.add_scores();
    out->set_scale_id(score.scale_id);
    out->set_value(score.value);
    out->set_band(score.band);
  }
  for (const Answer& answer : answers) {
    v1::Answer* out = proto.add_answers();
    out->set_item_id(answer.item_id);
    out->set_value(answer.value);
  }
}

// The store's source names to the API's enum; UNSPECIFIED for a name it does not know.
v1::SupportRequestSource SupportSourceToProto(const std::string& source) {
  if (source == kSupportSourceRequest) return v1::SUPPORT_REQUEST_SOURCE_REQUEST;
  if (source == kSupportSourcePulse) return v1::SUPPORT_REQUEST_SOURCE_PULSE;
  return v1::SUPPORT_REQUEST_SOURCE_UNSPECIFIED;
}

}  // namespace

v1::Instrument InstrumentToProto(const Instrument& instrument) {
  v1::Instrument proto;
  proto.set_instrument_id(instrument.id);
  proto.set_version(instrument.version);
  proto.set_title(instrument.title);
  proto.set_instruction(instrument.instruction);
  proto.set_recall_period(instrument.recall_period);
  proto.set_adaptation(instrument.adaptation);
  proto.set_attribution(absl::StrCat(instrument.attribution, " Licence: ", instrument.licence));
  proto.set_licence(instrument.licence);
  for (const Scale& scale : instrument.scales) {
    v1::Scale* out = proto.add_scales();
    out->set_scale_id(scale.id);
    for (const Band& band : scale.bands) out->add_bands(band.name);
  }
  for (const Item& item : instrument.items) {
    v1::Item* out = proto.add_items();
    out->set_item_id(item.id);
    out->set_text(item.text);
    out->set_required(item.required);
    for (const ResponseOption& option : item.options) {
      v1::ResponseOption* o = out->add_options();
      o->set_value(option.value);
      o->set_label(option.label);
    }
  }
  return proto;
}

absl::StatusOr<std::vector<Answer>> AnswersFromProto(
    const google::protobuf::RepeatedPtrField<v1::Answer>& answers) {
  if (answers.size() > kMaxAnswers) {
    return InvalidField("answers", absl::StrCat("must have at most ", kMaxAnswers, " entries"));
  }
  std::vector<Answer> out;
  for (int i = 0; i < answers.size(); ++i) {
    if (answers[i].item_id().size() > kMaxItemIdChars) {
      return InvalidField(absl::StrCat("answers[", i, "].item_id"), "is too long");
    }
    out.push_back({answers[i].item_id(), answers[i].value()});
  }
  return out;
}

CheckinContext ContextFromProto(const v1::CheckinContext& context) {
  return {context.session_kind(), context.hours(), context.sessions_facilitated()};
}

v1::Checkin CheckinToProto(const Checkin& checkin) {
  v1::Checkin proto;
  proto.set_checkin_id(checkin.id);
  proto.set_volunteer_id(checkin.volunteer_id);
  proto.set_instrument_id(checkin.instrument_id);
  proto.set_instrument_version(checkin.instrument_version);
  *proto.mutable_submit_time() = TimestampToProto(checkin.submit_time);
  AddScoresAndAnswers(checkin.scores, checkin.answers, proto);
  proto.mutable_context()->set_session_kind(checkin.context.session_kind);
  proto.mutable_context()->set_hours(checkin.context.hours);
  proto.mutable_context()->set_sessions_facilitated(checkin.context.sessions_facilitated);
  proto.set_note(checkin.note);
  return proto;
}

absl::StatusOr<IncidentType> IncidentTypeFromProto(int value) {
  if (!v1::IncidentType_IsValid(value)) {
    return InvalidField("incident_type", "is not a known incident type");
  }
  return static_cast<IncidentType>(value);
}

v1::Incident IncidentToProto(const Incident& incident) {
  v1::Incident proto;
  proto.set_incident_id(incident.id);
  proto.set_volunteer_id(incident.volunteer_id);
  proto.set_incident_type(static_cast<v1::IncidentType>(incident.type));
  *proto.mutable_occur_time() = TimestampToProto(incident.occur_time);
  *proto.mutable_report_time() = TimestampToProto(incident.report_time);
  proto.set_description(incident.description);
  return proto;
}

absl::StatusOr<Urgency> UrgencyFromProto(int value) {
  if (!v1::Urgency_IsValid(value)) return InvalidField("urgency", "is not a known urgency");
  return static_cast<Urgency>(value);
}

v1::SupportRequest SupportRequestToProto(const SupportRequest& request) {
  v1::SupportRequest proto;
  proto.set_support_request_id(request.id);
  proto.set_volunteer_id(request.volunteer_id);
  proto.set_urgency(static_cast<v1::Urgency>(request.urgency));
  *proto.mutable_create_time() = TimestampToProto(request.create_time);
  proto.set_note(request.note);
  proto.set_source(SupportSourceToProto(request.source));
  return proto;
}

v1::SupportResource SupportResourceToProto(const SupportResource& resource) {
  v1::SupportResource proto;
  proto.set_title(resource.title);
  proto.set_description(resource.description);
  proto.set_contact(resource.contact);
  return proto;
}

void TrendToProto(const Trend& trend, v1::GetTrendResponse* response) {
  for (const TrendPoint& point : trend.points) {
    v1::TrendPoint* out = response->add_points();
    *out->mutable_time() = TimestampToProto(point.time);
    out->set_value(point.value);
  }
  if (trend.latest.has_value()) {
    response->set_has_latest(true);
    response->set_latest(*trend.latest);
  }
  if (trend.baseline.has_value()) {
    response->set_has_baseline(true);
    response->set_baseline(*trend.baseline);
    response->set_change(trend.change.value_or(0));
  }
}

v1::DueCheckin DueCheckinToProto(const DueCheckin& due) {
  v1::DueCheckin proto;
  proto.set_instrument_id(due.instrument_id);
  *proto.mutable_due_time() = TimestampToProto(due.due_time);
  proto.set_reason(due.reason);
  return proto;
}

absl::StatusOr<CheckinSettings> SettingsFromProto(const v1::CheckinSettings& proto) {
  if (proto.cadence_days_size() > kMaxCadenceEntries) {
    return InvalidField("settings.cadence_days", "has too many entries");
  }
  // Refused before anything is copied; the settings' own check says the same.
  if (static_cast<size_t>(proto.support_resources_size()) > kMaxSupportResources) {
    return InvalidField("settings.support_resources",
                        absl::StrCat("must have at most ", kMaxSupportResources, " entries"));
  }
  CheckinSettings settings;
  for (const auto& [instrument, days] : proto.cadence_days()) {
    settings.cadence_days[instrument] = days;
  }
  for (const auto& resource : proto.support_resources()) {
    settings.support_resources.push_back(
        {resource.title(), resource.description(), resource.contact()});
  }
  settings.swemwbs_registration = proto.swemwbs_registration();
  return settings;
}

v1::CheckinSettings SettingsToProto(const CheckinSettings& settings) {
  v1::CheckinSettings proto;
  for (const auto& [instrument, days] : settings.cadence_days) {
    (*proto.mutable_cadence_days())[instrument] = days;
  }
  for (const auto& resource : settings.support_resources) {
    *proto.add_support_resources() = SupportResourceToProto(resource);
  }
  proto.set_swemwbs_registration(settings.swemwbs_registration);
  return proto;
}

absl::StatusOr<AggregatePeriod> AggregatePeriodFromProto(int value) {
  switch (value) {
    case v1::AGGREGATE_PERIOD_MONTH:
      return AggregatePeriod::kMonth;
    case v1::AGGREGATE_PERIOD_WEEK:
      return AggregatePeriod::kWeek;
    default:
      return InvalidField("period", "must be AGGREGATE_PERIOD_MONTH or AGGREGATE_PERIOD_WEEK");
  }
}

v1::AggregateCell AggregateCellToProto(const std::string& scale_id, const AggregateCell& cell) {
  v1::AggregateCell proto;
  proto.set_scale_id(scale_id);
  SetKnownTime(cell.period_start, [&] { return proto.mutable_period_start_time(); });
  proto.set_session_kind(cell.session_kind);
  proto.set_suppressed(cell.suppressed);
  if (cell.suppressed) return proto;
  proto.set_volunteer_count(cell.volunteer_count);
  proto.set_mean(cell.mean);
  for (const auto& [band, count] : cell.band_counts) {
    v1::BandCount* out = proto.add_band_counts();
    out->set_band(band);
    out->set_count(count);
  }
  return proto;
}

v1::ExportedCheckin ExportedCheckinToProto(const ExportedCheckin& exported) {
  v1::ExportedCheckin proto;
  proto.set_export_id(exported.export_id);
  proto.set_subject_pseudonym(exported.subject_pseudonym);
  proto.set_instrument_id(exported.instrument_id);
  proto.set_instrument_version(exported.instrument_version);
  proto.set_authored_date(exported.authored_date);
  AddScoresAndAnswers(exported.scores, exported.answers, proto);
  return proto;
}

absl::Status PersonRecordsToProto(const PersonRecords& records, google::protobuf::Struct* out) {
  PersonRecordsBuilder builder(out);
  for (const char* family : {kCheckinsFamily, kIncidentsFamily, kSupportRequestsFamily}) {
    builder.Declare(family);
  }
  for (const Checkin& checkin : records.checkins) {
    if (auto added = builder.Add(kCheckinsFamily, CheckinToProto(checkin)); !added.ok()) {
      return added;
    }
  }
  for (const Incident& incident : records.incidents) {
    if (auto added = builder.Add(kIncidentsFamily, IncidentToProto(incident)); !added.ok()) {
      return added;
    }
  }
  for (const SupportRequest& request : records.support_requests) {
    if (auto added = builder.Add(kSupportRequestsFamily, SupportRequestToProto(request));
        !added.ok()) {
      return added;
    }
  }
  return absl::OkStatus();
}

}  // namespace peerwell::checkin
