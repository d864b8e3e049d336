// The PeerWell dashboard: supervisors and coordinators, over the gateway's Connect API (the same
// RPCs as every other client, with the signed-in person's own token). No framework and nothing
// from another host; every text from the services goes into the page as text, never as markup.
// Volunteers have their own app (volunteer/); what both use is in shared/.
import {
  ALERTS, CHECKIN, DIRECTORY, NETWORK, SUPERVISION, call, callAll, forgetToken, token,
} from "./shared/api.js";
import { LiveAlerts, alertList } from "./shared/alerts.js";
import { calendarFeeds } from "./shared/calendar.js";
import { card, errorText, h } from "./shared/dom.js";
import { startSignedIn } from "./shared/signin.js";
import { trendChart } from "./shared/trends.js";
import { BAND_WORDS, ROLE_WORDS, SESSION_KIND_WORDS, when } from "./shared/words.js";

// --- Trends ----------------------------------------------------------------------------------

const TRENDS = [
  ["cbi_volunteering", "Volunteering-related burnout (CBI)", "higher is worse"],
  ["who5", "Wellbeing (WHO-5)", "higher is better"],
];
async function volunteerDetail(volunteer, container) {
  const headingId = `detail-${volunteer.personId}`;
  const section = h("section", { className: "card wide", "aria-labelledby": headingId },
                    h("h2", { id: headingId, tabindex: "-1" }, volunteer.displayName));
  container.replaceChildren(section);
  section.querySelector("h2").focus();
  try {
    const { consent } = await call(DIRECTORY, "GetConsent", { volunteerId: volunteer.personId });
    if (!consent?.shareScoresWithSupervisor) {
      section.append(h("p", {},
        `${volunteer.displayName} has not shared their scores with you, so no scores are shown. ` +
        "Their alerts still reach you if they chose risk monitoring."));
      return;
    }
    const charts = await Promise.all(TRENDS.map(async ([scaleId, title, hint]) => {
      try {
        const trend = await call(CHECKIN, "GetTrend", {
          volunteerId: volunteer.personId, scaleId, window: `${180 * 86400}s`,
        });
        return trendChart(title, hint, trend);
      } catch (error) {
        return h("figure", { className: "chart" }, h("figcaption", {}, title), errorText(error));
      }
    }));
    section.append(h("h3", {}, "Wellbeing trends"), ...charts);
  } catch (error) {
    section.append(errorText(error));
  }
}

// --- Views -----------------------------------------------------------------------------------

async function peopleNames() {
  const people = await callAll(DIRECTORY, "ListPeople", {}, "people");
  return { people, names: new Map(people.map((person) => [person.personId, person.displayName])) };
}

async function supervisorView(me, main) {
  const { people, names } = await peopleNames();
  const volunteers = people.filter((person) => person.role === "ROLE_VOLUNTEER" &&
                                               (person.supervisorIds || []).includes(me.sub));
  const mine = new Set(volunteers.map((volunteer) => volunteer.personId));
  const bands = new Map();
  const detail = h("div", { className: "grid" });
  const volunteerCard = h("div");
  const alertsCard = h("div");

  const live = new LiveAlerts((alert) => {
    if (alert) refreshBand(alert.volunteerId);
    render();
  });
  const actOn = { canAct: true, onDone: (alert) => live.apply({ alert }) };

  async function refreshBand(volunteerId) {
    if (!mine.has(volunteerId)) return;
    try {
      const { profile } = await call(ALERTS, "GetRiskProfile", { volunteerId });
      bands.set(volunteerId, profile.band);
    } catch {
      bands.set(volunteerId, null);
    }
    render();
  }

  function render() {
    const open = live.sorted((alert) => mine.has(alert.volunteerId));
    const rows = volunteers.map((volunteer) => {
      const [band, tone] = BAND_WORDS[bands.get(volunteer.personId)] || ["not monitored", "low"];
      const count = open.filter((alert) => alert.volunteerId === volunteer.personId).length;
      return h("tr", {},
        h("th", { scope: "row" },
          h("button", { type: "button", className: "link",
                        onclick: () => volunteerDetail(volunteer, detail) },
            volunteer.displayName)),
        h("td", {}, h("span", { className: `badge ${tone}` }, band)),
        h("td", {}, String(count)));
    });
    volunteerCard.replaceChildren(volunteers.length === 0
      ? h("p", { className: "empty" }, "No volunteers are assigned to you.")
      : h("div", { className: "table-wrap" },
          h("table", {},
            h("caption", { className: "visually-hidden" }, "My volunteers"),
            h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Volunteer"),
                                 h("th", { scope: "col" }, "Risk"),
                                 h("th", { scope: "col" }, "Open alerts"))),
            h("tbody", {}, rows))));
    alertsCard.replaceChildren(live.status, alertList(open, names, actOn));
  }

  main.replaceChildren(
    h("h1", {}, "Supervision dashboard"),
    h("div", { className: "grid" },
      card("My volunteers", "my-volunteers", volunteerCard),
      card("Open alerts", "open-alerts", alertsCard)),
    detail,
    h("div", { className: "grid" }, await sessionsCards(me, names),
      card("Calendar feed", "calendar-feed", calendarFeeds())));
  render();
  await Promise.all([live.start(), ...volunteers.map((v) => refreshBand(v.personId))]);
  render();
}

async function sessionsCards(me, names) {
  const upcoming = h("div"), offers = h("div"), overdue = h("div");
  try {
    const now = new Date();
    const later = new Date(now.getTime() + 28 * 86400 * 1000);
    const sessions = await callAll(SUPERVISION, "ListSessions",
                                   { startTime: now.toISOString(), endTime: later.toISOString() },
                                   "sessions");
    const describe = (session) => h("li", {},
      h("strong", {}, `${when(session.startTime)} `),
      `${SESSION_KIND_WORDS[session.kind] || "Session"}: ${session.title || ""}`,
      (session.participantIds || []).length
        ? ` with ${session.participantIds.map((id) => names.get(id) || "a volunteer").join(", ")}`
        : "");
    const scheduled = sessions.filter((s) => s.state === "SESSION_STATE_SCHEDULED");
    const offered = sessions.filter((s) => s.state === "SESSION_STATE_OFFERED");
    upcoming.append(scheduled.length ? h("ul", {}, scheduled.map(describe))
                                     : h("p", { className: "empty" }, "Nothing in the next four weeks."));
    offers.append(offered.length ? h("ul", {}, offered.map(describe))
                                 : h("p", { className: "empty" }, "No debrief offers waiting."));
  } catch (error) {
    upcoming.append(errorText(error));
  }
  try {
    const late = await callAll(SUPERVISION, "ListOverdue", {}, "overdue");
    overdue.append(late.length
      ? h("ul", {}, late.map((entry) => h("li", {},
          `${names.get(entry.volunteerId) || "A volunteer"}: `,
          entry.lastSessionTime ? `last supervised ${when(entry.lastSessionTime)}, `
                                : "never supervised, ",
          `${entry.daysOverdue} days overdue`)))
      : h("p", { className: "empty" }, "Nobody is overdue for supervision."));
  } catch (error) {
    overdue.append(errorText(error));
  }
  return [card("Upcoming sessions", "upcoming-sessions", upcoming),
          card("Debrief offers", "debrief-offers", offers),
          card("Overdue supervision", "overdue-supervision", overdue)];
}
async function coordinatorView(me, main) {
  const { people, names } = await peopleNames();
  const alertsCard = h("div");
  const live = new LiveAlerts(() => render());
  const actOn = { canAct: true, onDone: (alert) => live.apply({ alert }) };
  function render() {
    alertsCard.replaceChildren(live.status, alertList(live.sorted(), names, actOn));
  }

  const peopleTable = h("div", { className: "table-wrap" }, h("table", {},
    h("caption", { className: "visually-hidden" }, "People and supervisors"),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Name"), h("th", { scope: "col" }, "Role"),
                     h("th", { scope: "col" }, "Supervisors"))),
    h("tbody", {}, people.map((person) => h("tr", {},
      h("th", { scope: "row" }, person.displayName),
      h("td", {}, ROLE_WORDS[person.role] || ""),
      h("td", {}, (person.supervisorIds || []).map((id) => names.get(id) || id).join(", ")))))));

  main.replaceChildren(
    h("h1", {}, "Coordination dashboard"),
    h("div", { className: "grid" },
      h("section", { className: "card wide", "aria-labelledby": "all-alerts" },
        h("h2", { id: "all-alerts" }, "Alerts, escalated first"), alertsCard),
      h("section", { className: "card wide", "aria-labelledby": "wellbeing" },
        h("h2", { id: "wellbeing" }, "Wellbeing across the organisation"), aggregates()),
      h("section", { className: "card wide", "aria-labelledby": "people" },
        h("h2", { id: "people" }, "People and supervisors"), peopleTable),
      card("Moderation queue", "moderation", await moderationQueue(names)),
      card("Alert policy", "alert-policy", await alertPolicy()),
      card("Calendar feed", "calendar-feed", calendarFeeds())));
  render();
  await live.start();
  render();
}

// The scales the aggregates offer, in words.
const AGGREGATE_SCALES = [
  ["who5", "WHO-5 wellbeing (0-100, higher is better)"],
  ["cbi_volunteering", "Volunteering-related burnout, CBI (0-100, higher is worse)"],
  ["cbi_personal", "Personal burnout, CBI (0-100, higher is worse)"],
];
const SCORE_BAND_WORDS = {
  likely_depression: "possible depression", poor: "poor", good: "good",
  low: "low", moderate: "moderate", high: "high", severe: "severe",
};

// GetAggregates as partners see it: the volunteers who agreed to research export, periods that
// have ended, with every group of fewer than 5 hidden, so that no one can be recognised.
function aggregates() {
  const scale = h("select", { id: "aggregate-scale" },
    AGGREGATE_SCALES.map(([id, words]) => h("option", { value: id }, words)));
  const period = h("select", { id: "aggregate-period" },
    h("option", { value: "AGGREGATE_PERIOD_MONTH" }, "Month"),
    h("option", { value: "AGGREGATE_PERIOD_WEEK" }, "Week"));
  const table = h("div", { className: "table-wrap", "aria-live": "polite" });
  async function load() {
    table.replaceChildren(h("p", {}, "Loading…"));
    try {
      const { cells = [] } = await call(CHECKIN, "GetAggregates",
                                        { scaleId: scale.value, period: period.value });
      const weekly = period.value === "AGGREGATE_PERIOD_WEEK";
      const label = (start) => new Date(start).toLocaleDateString(undefined, weekly
        ? { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" }
        : { month: "long", year: "numeric", timeZone: "UTC" });
      table.replaceChildren(h("table", {},
        h("caption", { className: "visually-hidden" },
          `${scale.selectedOptions[0].textContent} by ${weekly ? "week" : "month"}`),
        h("thead", {}, h("tr", {},
          h("th", { scope: "col" }, weekly ? "Week of" : "Month"),
          h("th", { scope: "col" }, "Volunteers"), h("th", { scope: "col" }, "Mean"),
          h("th", { scope: "col" }, "By band"))),
        h("tbody", {}, cells.slice().reverse().map((cell) => h("tr", {},
          h("th", { scope: "row" }, label(cell.periodStartTime)),
          ...(cell.suppressed
            ? [h("td", { colspan: "3" }, "Fewer than 5 volunteers: not shown")]
            : [h("td", {}, String(cell.volunteerCount)),
               h("td", {}, (cell.mean || 0).toFixed(1)),
               h("td", {}, (cell.bandCounts || []).map(
                 (band) => `${SCORE_BAND_WORDS[band.band] || band.band} ${band.count || 0}`).join(", "))])
        )))));
    } catch (error) {
      table.replaceChildren(errorText(error));
    }
  }
  scale.addEventListener("change", load);
  period.addEventListener("change", load);
  load();
  return h("div", {},
    h("p", {}, "Only volunteers who agreed to research export are counted, each once with the "
      + "mean of their own scores. A group of fewer than 5 is never shown, so that nobody can "
      + "be recognised. Partners with an API key see these same figures."),
    h("div", { className: "filters" },
      h("label", { for: scale.id }, "Scale"), scale,
      h("label", { for: period.id }, "Period"), period),
    table);
}

async function moderationQueue(names) {
  try {
    const reports = await callAll(NETWORK, "ListReports", { states: ["REPORT_STATE_OPEN"] },
                                  "reports");
    if (reports.length === 0) return h("p", { className: "empty" }, "No open reports.");
    return h("ul", {}, reports.map((report) => {
      const item = h("li", {},
        h("p", {}, h("strong", {}, `Reported ${when(report.createTime)} by `,
                     names.get(report.reporterId) || "a member"), `: ${report.reason}`),
        report.message ? h("blockquote", {},
          `${report.message.authorDisplayName || "Someone"}: `,
          report.message.deleted ? "(deleted)" : report.message.body || "") : null);
      const done = (action, words) => h("button", {
        type: "button", className: "secondary",
        onclick: async () => {
          try {
            await call(NETWORK, "ResolveReport", { reportId: report.reportId, action });
            item.replaceChildren(h("p", {}, `Resolved: ${words}.`));
          } catch (error) {
            item.append(errorText(error));
          }
        },
      }, words);
      item.append(h("div", { className: "actions" },
                    done("REPORT_ACTION_DISMISS", "Dismiss"),
                    done("REPORT_ACTION_DELETE_MESSAGE", "Delete the message")));
      return item;
    }));
  } catch (error) {
    return errorText(error);
  }
}

async function alertPolicy() {
  try {
    const { policy } = await call(ALERTS, "GetAlertPolicy", {});
    const hours = (duration) => {
      const seconds = parseFloat(duration || "0");
      for (const [size, unit] of [[86400, "day"], [3600, "hour"], [60, "minute"], [1, "second"]]) {
        if (seconds >= size || size === 1) {
          const count = Math.round((seconds / size) * 10) / 10;
          return `${count} ${unit}${count === 1 ? "" : "s"}`;
        }
      }
      return "";
    };
    const rows = [
      ["Acknowledge a critical alert within", hours(policy.ackDeadlineCritical)],
      ["… a high one within", hours(policy.ackDeadlineHigh)],
      ["… a medium one within", hours(policy.ackDeadlineMedium)],
      ["… a low one within", hours(policy.ackDeadlineLow)],
      ["Escalations at most", String(policy.maxEscalations ?? 0)],
      ["Burnout rise that alerts (CBI points)", String(policy.cbiRisePoints ?? "")],
      ["Wellbeing drop that alerts (WHO-5 points)", String(policy.who5DropPoints ?? "")],
    ];
    return h("dl", { className: "policy" },
             rows.flatMap(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
  } catch (error) {
    return errorText(error);
  }
}

// Volunteers have their own app, made for a phone; a volunteer's sign-in link to the dashboard
// takes them there, signed in.
function toVolunteerApp() {
  const link = `/volunteer/#token=${encodeURIComponent(token())}`;
  forgetToken();
  location.replace(link);
}

startSignedIn({
  main: document.getElementById("main"),
  who: document.getElementById("who"),
  signOut: document.getElementById("sign-out"),
  show: async (claims) => {
    if (claims.role === "volunteer") return toVolunteerApp();
    const view = { supervisor: supervisorView, coordinator: coordinatorView }[claims.role];
    if (!view) throw new Error("This dashboard is for supervisors and coordinators.");
    await view(claims, document.getElementById("main"));
  },
});
