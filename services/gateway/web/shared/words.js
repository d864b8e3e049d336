// Words for what the services send: rule ids, risk bands, priorities, session kinds, times.

export const PRIORITY = {
  PRIORITY_CRITICAL: ["critical", 4],
  PRIORITY_HIGH: ["high", 3],
  PRIORITY_MEDIUM: ["medium", 2],
  PRIORITY_LOW: ["low", 1],
};
export const RULE_WORDS = {
  critical_incident: "Critical incident",
  cbi_rise: "Burnout rising",
  cbi_high: "Burnout high",
  who5_drop: "Wellbeing dropped",
  who5_low: "Wellbeing low",
  proqol_high: "Compassion fatigue",
  support_requested: "Asked for support",
  talk_repeated: "Sessions staying with them",
  hours_over_commitment: "More hours than agreed",
  checkins_missed: "Check-ins missed",
  supervision_overdue: "Supervision overdue",
};
export const BAND_WORDS = {
  RISK_BAND_LOW: ["low", "ok"],
  RISK_BAND_MODERATE: ["moderate", "medium"],
  RISK_BAND_HIGH: ["high", "high"],
  RISK_BAND_SEVERE: ["severe", "critical"],
};
export const OUTCOMES = [
  ["OUTCOME_TALKED", "We talked"],
  ["OUTCOME_REFERRED", "Referred for further support"],
  ["OUTCOME_ROTA_CHANGED", "Rota changed"],
  ["OUTCOME_VOLUNTEER_DECLINED", "Volunteer declined support"],
  ["OUTCOME_NO_ACTION_NEEDED", "No action needed"],
];
export const SESSION_KIND_WORDS = {
  SESSION_KIND_INDIVIDUAL: "One-to-one",
  SESSION_KIND_GROUP: "Group",
  SESSION_KIND_REFLECTIVE_PRACTICE: "Reflective practice",
  SESSION_KIND_DEBRIEF: "Debrief",
  SESSION_KIND_PEER: "Peer session",
};
export const ROLE_WORDS = {
  ROLE_VOLUNTEER: "volunteer",
  ROLE_SUPERVISOR: "supervisor",
  ROLE_COORDINATOR: "coordinator",
};

export function ruleWords(ruleId) {
  return RULE_WORDS[ruleId] || ruleId.replace(/_/g, " ");
}

export function when(timestamp) {
  if (!timestamp) return "";
  return new Date(timestamp).toLocaleString(undefined, {
    weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
  });
}

// A protobuf Duration in JSON ("5400s") in whole minutes; 0 when absent.
export function durationMinutes(duration) {
  return Math.round(parseFloat(duration || "0") / 60);
}
