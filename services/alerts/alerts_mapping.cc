#include "services/alerts/alerts_mapping.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/common/person_records.h"
#include "services/common/proto_time.h"
#include "services/common/validation.h"

namespace peerwell::alerts {
namespace {

v1::Factor FactorToProto(const Factor& factor) {
  v1::Factor proto;
  proto.set_factor_id(factor.factor_id);
  proto.set_description(factor.description);
  proto.set_value(factor.value);
  proto.set_threshold(factor.threshold);
  proto.set_contribution(factor.contribution);
  return proto;
}

// Acknowledge deadlines run to 30 days; rule windows (baseline, hours, talk) to a year.
absl::StatusOr<absl::Duration> Deadline(const google::protobuf::Duration& proto,
                                        absl::string_view field) {
  bool window = absl::EndsWith(field, "_window") || field == "checkins_missed_after";
  absl::Duration max = window ? absl::Hours(24 * 365) : absl::Hours(24 * 30);
  absl::Duration d = absl::Seconds(proto.seconds()) + absl::Nanoseconds(proto.nanos());
  if (d < absl::Seconds(1) || d > max) {
    return InvalidField(
        absl::StrCat("policy.", field),
        window ? "must be between 1 second and 365 days" : "must be between 1 second and 30 days");
  }
  return d;
}

absl::Status Range(double value, double low, double high, absl::string_view field) {
  if (!(value >= low && value <= high)) {
    return InvalidField(absl::StrCat("policy.", field),
                        absl::StrCat("must be between ", low, " and ", high));
  }
  return absl::OkStatus();
}

}  // namespace

v1::Alert AlertToProto(const Alert& alert) {
  v1::Alert proto;
  proto.set_alert_id(alert.id);
  proto.set_volunteer_id(alert.volunteer_id);
  proto.set_rule_id(alert.rule_id);
  proto.set_priority(static_cast<v1::Priority>(alert.priority));
  proto.set_state(static_cast<v1::AlertState>(alert.state));
  proto.set_dedup_key(alert.dedup_key);
  for (const Factor& factor : alert.factors) {
    *proto.add_factors() = FactorToProto(factor);
  }
  SetKnownTime(alert.trigger_time, [&] { return proto.mutable_trigger_time(); });
  SetKnownTime(alert.ack_deadline_time, [&] { return proto.mutable_ack_deadline_time(); });
  SetKnownTime(alert.acknowledge_time, [&] { return proto.mutable_acknowledge_time(); });
  proto.set_acknowledged_by(alert.acknowledged_by);
  proto.set_escalation_level(alert.escalation_level);
  SetKnownTime(alert.resolve_time, [&] { return proto.mutable_resolve_time(); });
  proto.set_resolved_by(alert.resolved_by);
  proto.set_outcome(static_cast<v1::Outcome>(alert.outcome));
  proto.set_occurrence_count(alert.occurrence_count);
  SetKnownTime(alert.last_occurrence_time, [&] { return proto.mutable_last_occurrence_time(); });
  proto.set_silenced(alert.silenced);
  proto.set_inhibited(alert.inhibited);
  proto.set_resolution_note(alert.resolution_note);
  return proto;
}

v1::Silence SilenceToProto(const Silence& silence) {
  v1::Silence proto;
  proto.set_silence_id(silence.id);
  proto.set_volunteer_id(silence.volunteer_id);
  *proto.mutable_end_time() = TimestampToProto(silence.end_time);
  proto.set_reason(silence.reason);
  proto.set_created_by(silence.created_by);
  *proto.mutable_create_time() = TimestampToProto(silence.create_time);
  return proto;
}

absl::Status PersonRecordsToProto(const PersonRecords& records, google::protobuf::Struct* out) {
  PersonRecordsBuilder builder(out);
  for (const char* family :
       {kAlertsFamily, kRiskHistoryFamily, kSilencesFamily, kLastCheckinFamily}) {
    builder.Declare(family);
  }
  for (const Alert& alert : records.alerts) {
    if (auto added = builder.Add(kAlertsFamily, AlertToProto(alert)); !added.ok()) return added;
  }
  for (const CheckinEvent& checkin : records.risk_history) {
    v1::RiskHistoryEntry entry;
    entry.set_event_id(checkin.event_id);
    entry.set_instrument_id(checkin.instrument_id);
    *entry.mutable_submit_time() = TimestampToProto(checkin.submit_time);
    for (const auto& [scale, value] : checkin.scores) (*entry.mutable_scores())[scale] = value;
    for (const auto& [item, value] : checkin.answers) (*entry.mutable_answers())[item] = value;
    entry.set_hours(checkin.hours);
    if (auto added = builder.Add(kRiskHistoryFamily, entry); !added.ok()) return added;
  }
  for (const Silence& silence : records.silences) {
    if (auto added = builder.Add(kSilencesFamily, SilenceToProto(silence)); !added.ok()) {
      return added;
    }
  }
  if (records.last_checkin.has_value()) {
    v1::LastCheckin last;
    *last.mutable_submit_time() = TimestampToProto(*records.last_checkin);
    if (auto added = builder.Add(kLastCheckinFamily, last); !added.ok()) return added;
  }
  return absl::OkStatus();
}

v1::RiskProfile RiskProfileToProto(const std::string& volunteer_id, const RiskProfile& profile,
                                   absl::Time evaluate_time) {
  v1::RiskProfile proto;
  proto.set_volunteer_id(volunteer_id);
  proto.set_risk_score(profile.risk_score);
  proto.set_band(static_cast<v1::RiskBand>(profile.band));
  for (const Factor& factor : profile.factors) {
    *proto.add_factors() = FactorToProto(factor);
  }
  *proto.mutable_evaluate_time() = TimestampToProto(evaluate_time);
  return proto;
}

absl::StatusOr<AlertFilter> AlertFilterFromRequest(const v1::ListAlertsRequest& request) {
  AlertFilter filter;
  filter.volunteer_id = request.volunteer_id();
  if (request.states_size() > 3) return InvalidField("states", "names at most 3 states");
  for (int state : request.states()) {
    if (!v1::AlertState_IsValid(state) || state == 0) {
      return InvalidField("states", "must be ALERT_STATE_TRIGGERED, _ACKNOWLEDGED or _RESOLVED");
    }
    filter.states.push_back(static_cast<AlertState>(state));
  }
  if (!v1::Priority_IsValid(request.min_priority())) {
    return InvalidField("min_priority", "is not a known priority");
  }
  filter.min_priority = static_cast<Priority>(request.min_priority());
  return filter;
}

absl::StatusOr<Outcome> OutcomeFromProto(int value) {
  if (!v1::Outcome_IsValid(value)) return InvalidField("outcome", "is not a known outcome");
  return static_cast<Outcome>(value);
}

v1::AlertPolicy AlertPolicyToProto(const AlertPolicy& policy) {
  v1::AlertPolicy proto;
  *proto.mutable_ack_deadline_critical() = DurationToProto(policy.ack_deadline_critical);
  *proto.mutable_ack_deadline_high() = DurationToProto(policy.ack_deadline_high);
  *proto.mutable_ack_deadline_medium() = DurationToProto(policy.ack_deadline_medium);
  *proto.mutable_ack_deadline_low() = DurationToProto(policy.ack_deadline_low);
  proto.set_max_escalations(policy.max_escalations);
  proto.set_cbi_rise_points(policy.cbi_rise_points);
  proto.set_cbi_high_enabled(policy.cbi_high_enabled);
  proto.set_cbi_high_threshold(policy.cbi_high_threshold);
  proto.set_who5_drop_points(policy.who5_drop_points);
  proto.set_who5_low_threshold(policy.who5_low_threshold);
  proto.set_proqol_high_threshold(policy.proqol_high_threshold);
  proto.set_talk_repeated_count(policy.talk_repeated_count);
  *proto.mutable_talk_repeated_window() = DurationToProto(policy.talk_repeated_window);
  proto.set_hours_over_commitment_ratio(policy.hours_over_commitment_ratio);
  *proto.mutable_hours_window() = DurationToProto(policy.hours_window);
  *proto.mutable_checkins_missed_after() = DurationToProto(policy.checkins_missed_after);
  *proto.mutable_baseline_window() = DurationToProto(policy.baseline_window);
  return proto;
}

AlertPolicy AlertPolicyFromProto(const v1::AlertPolicy& proto) {
  AlertPolicy policy;
  auto duration = [](const google::protobuf::Duration& d, bool present, absl::Duration* out) {
    if (present) *out = absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
  };
  duration(proto.ack_deadline_critical(), proto.has_ack_deadline_critical(),
           &policy.ack_deadline_critical);
  duration(proto.ack_deadline_high(), proto.has_ack_deadline_high(), &policy.ack_deadline_high);
  duration(proto.ack_deadline_medium(), proto.has_ack_deadline_medium(),
           &policy.ack_deadline_medium);
  duration(proto.ack_deadline_low(), proto.has_ack_deadline_low(), &policy.ack_deadline_low);
  policy.max_escalations = proto.max_escalations();
  policy.cbi_rise_points = proto.cbi_rise_points();
  policy.cbi_high_enabled = proto.cbi_high_enabled();
  policy.cbi_high_threshold = proto.cbi_high_threshold();
  policy.who5_drop_points = proto.who5_drop_points();
  policy.who5_low_threshold = proto.who5_low_threshold();
  policy.proqol_high_threshold = proto.proqol_high_threshold();
  policy.talk_repeated_count = proto.talk_repeated_count();
  duration(proto.talk_repeated_window(), proto.has_talk_repeated_window(),
           &policy.talk_repeated_window);
  policy.hours_over_commitment_ratio = proto.hours_over_commitment_ratio();
  duration(proto.hours_window(), proto.has_hours_window(), &policy.hours_window);
  duration(proto.checkins_missed_after(), proto.has_checkins_missed_after(),
           &policy.checkins_missed_after);
  duration(proto.baseline_window(), proto.has_baseline_window(), &policy.baseline_window);
  return policy;
}

absl::StatusOr<AlertPolicy> ApplyAlertPolicy(AlertPolicy policy, const v1::AlertPolicy& proto,
                                             const google::protobuf::FieldMask& mask) {
  if (mask.paths_size() == 0) return InvalidField("update_mask", "must name the fields to change");
  if (mask.paths_size() > 20) return InvalidField("update_mask", "names too many fields");
  for (const std::string& path : mask.paths()) {
    absl::Status status;
    auto deadline = [&](const google::protobuf::Duration& d, absl::Duration* out) {
      auto parsed = Deadline(d, path);
      if (parsed.ok()) *out = *parsed;
      return parsed.status();
    };
    if (path == "ack_deadline_critical") {
      status = deadline(proto.ack_deadline_critical(), &policy.ack_deadline_critical);
    } else if (path == "ack_deadline_high") {
      status = deadline(proto.ack_deadline_high(), &policy.ack_deadline_high);
    } else if (path == "ack_deadline_medium") {
      status = deadline(proto.ack_deadline_medium(), &policy.ack_deadline_medium);
    } else if (path == "ack_deadline_low") {
      status = deadline(proto.ack_deadline_low(), &policy.ack_deadline_low);
    } else if (path == "max_escalations") {
      status = Range(proto.max_escalations(), 0, 10, path);
      policy.max_escalations = proto.max_escalations();
    } else if (path == "cbi_rise_points") {
      status = Range(proto.cbi_rise_points(), 1, 100, path);
      policy.cbi_rise_points = proto.cbi_rise_points();
    } else if (path == "cbi_high_enabled") {
      policy.cbi_high_enabled = proto.cbi_high_enabled();
    } else if (path == "cbi_high_threshold") {
      status = Range(proto.cbi_high_threshold(), 1, 100, path);
      policy.cbi_high_threshold = proto.cbi_high_threshold();
    } else if (path == "who5_drop_points") {
      status = Range(proto.who5_drop_points(), 1, 100, path);
      policy.who5_drop_points = proto.who5_drop_points();
    } else if (path == "who5_low_threshold") {
      status = Range(proto.who5_low_threshold(), 0, 100, path);
      policy.who5_low_threshold = proto.who5_low_threshold();
    } else if (path == "proqol_high_threshold") {
      status = Range(proto.proqol_high_threshold(), 10, 50, path);
      policy.proqol_high_threshold = proto.proqol_high_threshold();
    } else if (path == "talk_repeated_count") {
      status = Range(proto.talk_repeated_count(), 1, 50, path);
      policy.talk_repeated_count = proto.talk_repeated_count();
    } else if (path == "talk_repeated_window") {
      status = deadline(proto.talk_repeated_window(), &policy.talk_repeated_window);
    } else if (path == "hours_over_commitment_ratio") {
      status = Range(proto.hours_over_commitment_ratio(), 1, 5, path);
      policy.hours_over_commitment_ratio = proto.hours_over_commitment_ratio();
    } else if (path == "hours_window") {
      status = deadline(proto.hours_window(), &policy.hours_window);
    } else if (path == "checkins_missed_after") {
      status = deadline(proto.checkins_missed_after(), &policy.checkins_missed_after);
      if (status.ok() && policy.checkins_missed_after < kMinCheckinsMissedAfter) {
        status = InvalidField("policy.checkins_missed_after", "must be at least 7 days");
      }
    } else if (path == "baseline_window") {
      status = deadline(proto.baseline_window(), &policy.baseline_window);
    } else {
      return InvalidField("update_mask",
                          absl::StrCat("'", path.substr(0, 64), "' is not a policy field"));
    }
    if (!status.ok()) return status;
  }
  return policy;
}

}  // namespace peerwell::alerts
