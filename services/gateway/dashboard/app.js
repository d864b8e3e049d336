// The PeerWell dashboard: supervisors, coordinators and volunteers, over the gateway's Connect API
// (the same RPCs as every other client, with the signed-in person's own token). No framework and
// nothing from another host; every text from the services goes into the page as text, never as
// markup.

const TOKEN_KEY = "peerwell.token";

// --- Signing in ------------------------------------------------------------------------------

// A link /#token=<JWT> signs in: the token moves to this tab's session storage and leaves the
// address bar (and so the history and any screenshot of it).
function takeTokenFromAddress() {
  const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (!match) return;
  try {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
  } catch {
    sessionStorage.removeItem(TOKEN_KEY);  // a broken link: the sign-in page says so
  }
  history.replaceState(null, "", location.pathname + location.search);
}

function claimsOf(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(payload));
  } catch {
    return null;
  }
}

// --- The Connect API -------------------------------------------------------------------------

class ApiError extends Error {
  constructor(code, message) {
    super(message || code);
    this.code = code;
  }
}

function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

// One Connect request of the signed-in person: `contentType` says unary or streaming.
function post(service, method, contentType, body, signal) {
  return fetch(`/${service}/${method}`, {
    method: "POST",
    headers: {
      "Content-Type": contentType,
      "Connect-Protocol-Version": "1",
      Authorization: `Bearer ${token()}`,
    },
    body,
    signal,
  });
}

async function call(service, method, request = {}) {
  const response = await post(service, method, "application/json", JSON.stringify(request));
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(body.code || "unknown", body.message);
  return body;
}

// Every page of a List call, merged.
async function callAll(service, method, request, field) {
  const items = [];
  let pageToken = "";
  do {
    const page = await call(service, method, { ...request, pageToken });
    items.push(...(page[field] || []));
    pageToken = page.nextPageToken || "";
  } while (pageToken);
  return items;
}

const DIRECTORY = "peerwell.directory.v1.DirectoryService";
const CHECKIN = "peerwell.checkin.v1.CheckinService";
const ALERTS = "peerwell.alerts.v1.AlertService";
const SUPERVISION = "peerwell.supervision.v1.SupervisionService";
const NETWORK = "peerwell.network.v1.PeerNetworkService";

// A Connect server stream: each message framed by a flags byte and a 4-byte length; the last
// frame (flag 2) ends the stream, with {"error": ...} when it failed. Resolves when the stream
// ends; `onOpen` runs once the service's stream is live (the response head).
async function stream(service, method, request, { onOpen, onMessage, signal }) {
  const json = new TextEncoder().encode(JSON.stringify(request));
  const body = new Uint8Array(5 + json.length);
  new DataView(body.buffer).setUint32(1, json.length);
  body.set(json, 5);
  const response = await post(service, method, "application/connect+json", body, signal);
  if (!response.ok) {
    const error = await response.json().catch(() => ({}));
    throw new ApiError(error.code || "unavailable", error.message);
  }
  onOpen?.();
  const reader = response.body.getReader();
  let buffered = new Uint8Array(0);
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new ApiError("unavailable", "the stream was cut");
    const joined = new Uint8Array(buffered.length + value.length);
    joined.set(buffered);
    joined.set(value, buffered.length);
    buffered = joined;
    while (buffered.length >= 5) {
      const size = new DataView(buffered.buffer, buffered.byteOffset).getUint32(1);
      if (buffered.length < 5 + size) break;
      const flags = buffered[0];
      const message = JSON.parse(new TextDecoder().decode(buffered.subarray(5, 5 + size)));
      buffered = buffered.slice(5 + size);
      if (flags & 2) {
        if (message.error) throw new ApiError(message.error.code, message.error.message);
        return;
      }
      onMessage(message);
    }
  }
}

// --- Words -----------------------------------------------------------------------------------

const PRIORITY = {
  PRIORITY_CRITICAL: ["critical", 4],
  PRIORITY_HIGH: ["high", 3],
  PRIORITY_MEDIUM: ["medium", 2],
  PRIORITY_LOW: ["low", 1],
};
const RULE_WORDS = {
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
const BAND_WORDS = {
  RISK_BAND_LOW: ["low", "ok"],
  RISK_BAND_MODERATE: ["moderate", "medium"],
  RISK_BAND_HIGH: ["high", "high"],
  RISK_BAND_SEVERE: ["severe", "critical"],
};
const OUTCOMES = [
  ["OUTCOME_TALKED", "We talked"],
  ["OUTCOME_REFERRED", "Referred for further support"],
  ["OUTCOME_ROTA_CHANGED", "Rota changed"],
  ["OUTCOME_VOLUNTEER_DECLINED", "Volunteer declined support"],
  ["OUTCOME_NO_ACTION_NEEDED", "No action needed"],
];
const SESSION_KIND_WORDS = {
  SESSION_KIND_INDIVIDUAL: "One-to-one",
  SESSION_KIND_GROUP: "Group",
  SESSION_KIND_REFLECTIVE_PRACTICE: "Reflective practice",
  SESSION_KIND_DEBRIEF: "Debrief",
  SESSION_KIND_PEER: "Peer session",
};
const ROLE_WORDS = {
  ROLE_VOLUNTEER: "volunteer",
  ROLE_SUPERVISOR: "supervisor",
  ROLE_COORDINATOR: "coordinator",
};

function ruleWords(ruleId) {
  return RULE_WORDS[ruleId] || ruleId.replace(/_/g, " ");
}

function when(timestamp) {
  if (!timestamp) return "";
  return new Date(timestamp).toLocaleString(undefined, {
    weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
  });
}

// --- Building the page -----------------------------------------------------------------------

// h("button", {type: "button", onclick}, "Acknowledge"): an element with properties (event
// handlers as functions, the rest as attributes) and children (strings become text nodes).
function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "className") element.className = value;
    else element.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  for (const child of children.flat()) {
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

function announce(text) {
  const announcer = document.getElementById("announcer");
  announcer.textContent = "";
  setTimeout(() => { announcer.textContent = text; }, 50);
}

function card(title, id, ...content) {
  return h("section", { className: "card", "aria-labelledby": id },
           h("h2", { id }, title), ...content);
}

function errorText(error) {
  return h("p", { className: "error", role: "alert" },
           error instanceof ApiError ? `Could not load this: ${error.message}` : String(error));
}

// --- Alerts, shared by every view ------------------------------------------------------------

// The open alerts a person may see, kept current from WatchAlerts: the stream resumes from the
// last event's token after a dropped connection, so no event is lost.
class LiveAlerts {
  constructor(onChange) {
    this.alerts = new Map();
    this.touched = new Set();  // alerts an event told about since the listing began: newer
    this.listed = () => {};
    this.listings = 0;
    this.opened = false;
    this.onChange = onChange;
    this.resumeToken = "";
    this.status = h("p", { className: "status", role: "status" }, "Connecting…");
  }

  // Resolves once the first listing is in. Whenever the stream (re)opens without a resume token
  // (the first time, or before any event came), the open alerts are listed again after it is
  // live, so that an alert raised before, or while the page was cut off, is on one or the other.
  start() {
    return new Promise((resolve) => {
      this.listed = resolve;
      this.watch();
    });
  }

  async relist() {
    const since = new Set();
    this.touched = since;
    const generation = ++this.listings;
    try {
      const open = await callAll(
        ALERTS, "ListAlerts", { states: ["ALERT_STATE_TRIGGERED", "ALERT_STATE_ACKNOWLEDGED"] },
        "alerts");
      if (generation !== this.listings) return;  // a later listing is under way
      const listed = new Set(open.map((alert) => alert.alertId));
      for (const id of [...this.alerts.keys()]) {
        if (!listed.has(id) && !since.has(id)) this.alerts.delete(id);  // closed while away
      }
      for (const alert of open) {
        if (!since.has(alert.alertId)) this.alerts.set(alert.alertId, alert);
      }
      this.onChange(null);
    } catch {
      // The next reconnection lists again; meanwhile the page keeps what it has.
    } finally {
      this.listed();
    }
  }

  // Reconnects with backoff; the backoff starts over only after a stream stayed up a while (a
  // stream that fails as it opens, the service being away or the stream cap reached, answers
  // like an open one and ends at once).
  async watch() {
    let delay = 500;
    for (;;) {
      const resuming = Boolean(this.resumeToken);
      const began = Date.now();
      try {
        await stream(ALERTS, "WatchAlerts", { resumeToken: this.resumeToken }, {
          onOpen: () => {
            this.opened = true;
            this.setStatus(true);
            if (!resuming) this.relist();
          },
          onMessage: (event) => this.apply(event),
        });
      } catch (error) {
        if (error instanceof ApiError &&
            ["unauthenticated", "permission_denied"].includes(error.code)) {
          this.status.textContent = "Live updates stopped: sign in again.";
          this.listed();
          return;
        }
        if (!this.opened) this.listed();  // the page shows what it has, and keeps trying
      }
      this.setStatus(false);
      if (Date.now() - began > 10000) delay = 500;
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 15000);
    }
  }

  setStatus(live) {
    this.status.className = `status ${live ? "live" : "down"}`;
    this.status.textContent = live ? "Live: new alerts appear here as they happen"
                                   : "Reconnecting… (nothing is missed)";
  }

  apply(event) {
    this.resumeToken = event.resumeToken || this.resumeToken;
    const alert = event.alert;
    if (!alert) return;
    this.touched.add(alert.alertId);
    const isNew = !this.alerts.has(alert.alertId);
    if (alert.state === "ALERT_STATE_RESOLVED") this.alerts.delete(alert.alertId);
    else this.alerts.set(alert.alertId, alert);
    if (isNew && event.eventType === "ALERT_EVENT_TYPE_TRIGGERED") {
      announce(`New ${PRIORITY[alert.priority]?.[0] || ""} alert: ${ruleWords(alert.ruleId)}`);
    }
    this.onChange(alert);
  }

  // Escalated first, then by priority, then the newest.
  sorted(filter = () => true) {
    return [...this.alerts.values()].filter(filter).sort((a, b) =>
      (b.escalationLevel || 0) - (a.escalationLevel || 0) ||
      (PRIORITY[b.priority]?.[1] || 0) - (PRIORITY[a.priority]?.[1] || 0) ||
      String(b.triggerTime).localeCompare(String(a.triggerTime)));
  }
}

function alertArticle(alert, names, { canAct, onDone }) {
  const [priority] = PRIORITY[alert.priority] || ["low"];
  const volunteer = names.get(alert.volunteerId) || "A volunteer";
  const escalated = (alert.escalationLevel || 0) > 0;
  const acknowledged = alert.state === "ALERT_STATE_ACKNOWLEDGED";
  const heading = `${ruleWords(alert.ruleId)}: ${volunteer}`;
  const article = h("article", {
    className: `alert priority-${priority}${escalated ? " escalated" : ""}`,
    "aria-label": heading,
    "data-alert-id": alert.alertId,
  });
  article.append(
    h("h3", {},
      h("span", {}, heading),
      h("span", { className: `badge ${priority}` }, priority),
      escalated ? h("span", { className: "badge critical" }, `escalated ×${alert.escalationLevel}`)
                : null,
      acknowledged ? h("span", { className: "badge ok" }, "acknowledged") : null),
    h("p", { className: "muted" },
      `Since ${when(alert.triggerTime)}`,
      alert.occurrenceCount > 1 ? ` · ${alert.occurrenceCount} times` : "",
      acknowledged && alert.acknowledgedBy
        ? ` · acknowledged by ${names.get(alert.acknowledgedBy) || "a colleague"}` : "",
      !acknowledged && alert.ackDeadlineTime ? ` · acknowledge by ${when(alert.ackDeadlineTime)}`
                                             : ""),
    h("ul", { className: "factors" },
      (alert.factors || []).map((factor) => h("li", {}, factor.description))));
  if (!canAct) return article;

  const actions = h("div", { className: "actions" });
  const feedback = h("p", { className: "error", role: "alert" });
  if (!acknowledged) {
    actions.append(h("button", {
      type: "button",
      onclick: async (event) => {
        event.currentTarget.disabled = true;
        try {
          const { alert: updated } = await call(ALERTS, "AcknowledgeAlert",
                                                { alertId: alert.alertId });
          onDone(updated);
        } catch (error) {
          feedback.textContent = error.message;
          event.target.disabled = false;
        }
      },
    }, "Acknowledge"));
  }
  const resolveButton = h("button", {
    type: "button",
    className: "secondary",
    "aria-expanded": "false",
    onclick: () => {
      const form = resolveForm(alert, onDone, () => {
        form.remove();
        resolveButton.setAttribute("aria-expanded", "false");
        resolveButton.focus();
      });
      resolveButton.setAttribute("aria-expanded", "true");
      article.append(form);
      form.querySelector("select").focus();
    },
  }, "Resolve");
  actions.append(resolveButton);
  article.append(actions, feedback);
  return article;
}

function resolveForm(alert, onDone, onCancel) {
  const id = `resolve-${alert.alertId}`;
  const outcome = h("select", { id: `${id}-outcome`, required: true },
                    h("option", { value: "" }, "Choose what came of it"),
                    OUTCOMES.map(([value, words]) => h("option", { value }, words)));
  const note = h("textarea", { id: `${id}-note`, maxlength: "2000" });
  const feedback = h("p", { className: "error", role: "alert" });
  const form = h("form", {
    className: "resolve",
    "aria-label": "Resolve this alert",
    onsubmit: async (event) => {
      event.preventDefault();
      if (!outcome.value) {
        feedback.textContent = "Choose an outcome.";
        outcome.focus();
        return;
      }
      try {
        const { alert: resolved } = await call(ALERTS, "ResolveAlert", {
          alertId: alert.alertId, outcome: outcome.value, note: note.value,
        });
        onDone(resolved);
      } catch (error) {
        feedback.textContent = error.message;
      }
    },
  },
  h("label", { for: outcome.id }, "Outcome"), outcome,
  h("label", { for: note.id }, "Note (optional)"),
  h("p", { className: "muted", id: `${id}-note-help` },
    "Only people who may read this alert see the note; it is stored encrypted."),
  note,
  h("div", { className: "actions" },
    h("button", { type: "submit" }, "Resolve alert"),
    h("button", { type: "button", className: "secondary", onclick: onCancel }, "Cancel")),
  feedback);
  note.setAttribute("aria-describedby", `${id}-note-help`);
  return form;
}

function alertList(alerts, names, options) {
  if (alerts.length === 0) return h("p", { className: "empty" }, "No open alerts.");
  return h("div", { className: "alerts" },
           alerts.map((alert) => alertArticle(alert, names, options)));
}

// --- Trends ----------------------------------------------------------------------------------

const TRENDS = [
  ["cbi_volunteering", "Volunteering-related burnout (CBI)", "higher is worse"],
  ["who5", "Wellbeing (WHO-5)", "higher is better"],
];

function trendChart(title, hint, trend) {
  const points = trend.points || [];
  if (points.length === 0) {
    return h("figure", { className: "chart" }, h("figcaption", {}, title),
             h("p", { className: "empty" }, "No check-ins in this period."));
  }
  const width = 360, height = 160, left = 32, right = 8, top = 8, bottom = 22;
  const times = points.map((point) => Date.parse(point.time));
  const first = Math.min(...times), last = Math.max(...times);
  const x = (time) => left + (last === first ? 0.5 : (time - first) / (last - first)) *
                             (width - left - right);
  const y = (value) => top + (1 - value / 100) * (height - top - bottom);
  const latest = points[points.length - 1];
  const description = `${title}: latest ${Math.round(latest.value)} of 100 on ` +
                      `${when(latest.time)}, ${points.length} check-ins` +
                      (trend.baseline ? `, usual level ${Math.round(trend.baseline)}` : "") +
                      ` (${hint}).`;
  const chart = svg("svg", { class: "trend", viewBox: `0 0 ${width} ${height}`, role: "img",
                             "aria-label": description },
    svg("line", { class: "axis", x1: left, y1: y(0), x2: width - right, y2: y(0) }),
    svg("line", { class: "axis", x1: left, y1: y(100), x2: left, y2: y(0) }),
    [0, 50, 100].map((value) => svg("text", { x: 4, y: y(value) + 4 }, String(value))),
    trend.baseline ? svg("line", { class: "baseline", x1: left, x2: width - right,
                                   y1: y(trend.baseline), y2: y(trend.baseline) }) : [],
    svg("polyline", { class: "line",
                      points: points.map((p) => `${x(Date.parse(p.time))},${y(p.value)}`)
                                    .join(" ") }),
    points.map((p) => svg("circle", { class: "point", r: 3, cx: x(Date.parse(p.time)),
                                      cy: y(p.value) })));
  return h("figure", { className: "chart" }, h("figcaption", {}, title), chart,
           h("p", { className: "muted" }, description));
}

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

// --- Calendar feeds --------------------------------------------------------------------------

// The signed-in person's calendar feeds: private addresses that calendar applications subscribe
// to without signing in. The service keeps only a hash of a feed's token, so a new feed's link
// can be shown once, when it is made; the list shows each feed by when it was made, to revoke.
function calendarFeeds() {
  const feedback = h("p", { className: "error", role: "alert" });
  const notice = h("p", { className: "muted", role: "status" });
  const fresh = h("div", { className: "new-feed", "aria-live": "polite" });
  const list = h("div", {}, h("p", {}, "Loading…"));
  let feeds = [];
  let shownFeedId = "";  // the feed whose link `fresh` shows

  // Disabled while the listing loads and while a feed is being made.
  const create = h("button", {
    type: "button",
    onclick: async () => {
      create.disabled = true;
      feedback.textContent = "";
      notice.textContent = "";
      try {
        const { feed } = await call(SUPERVISION, "CreateCalendarFeed", {});
        showLink(feed.feedId, new URL(feed.path, location.origin).href);
        feeds = [...feeds, feed];
        renderList();
      } catch (error) {
        feedback.textContent = `Could not create a calendar feed: ${error.message}`;
      } finally {
        create.disabled = false;
      }
    },
  }, "Create calendar feed");
  create.disabled = true;

  function showLink(feedId, url) {
    shownFeedId = feedId;
    const field = h("input", {
      id: "calendar-feed-link", type: "text", readonly: true, value: url, spellcheck: "false",
      autocomplete: "off", "aria-describedby": "calendar-feed-link-note",
    });
    const copy = h("button", {
      type: "button",
      className: "secondary",
      onclick: async () => {
        try {
          await navigator.clipboard.writeText(url);
          notice.textContent = "Link copied.";
        } catch {
          // No clipboard for this page (a plain-HTTP address, or permission refused): the link
          // is selected for the person to copy.
          field.focus();
          field.select();
          notice.textContent = document.execCommand("copy")
            ? "Link copied." : "The link is selected: copy it with Ctrl+C (⌘C on a Mac).";
        }
      },
    }, "Copy link");
    fresh.replaceChildren(
      h("p", {}, "Your new calendar feed is ready."),
      h("label", { for: field.id }, "Calendar feed link"), field,
      h("p", { id: "calendar-feed-link-note", className: "muted" },
        "This link is shown only this once: add it to your calendar app now. Anyone with the " +
        "link sees your supervision calendar without signing in, so keep it to yourself, and " +
        "revoke the feed if the link gets out."),
      h("div", { className: "actions" }, copy));
  }

  function renderList() {
    if (feeds.length === 0) {
      list.replaceChildren(h("p", { className: "empty" }, "You have no calendar feeds."));
      return;
    }
    const seen = new Map();  // names stay unique when two feeds were made in the same minute
    list.replaceChildren(h("ul", { className: "feeds" },
      feeds.map((feed) => {
        const made = when(feed.createTime);
        const count = (seen.get(made) || 0) + 1;
        seen.set(made, count);
        return feedItem(feed, count > 1 ? `${made} (${count})` : made);
      })));
  }

  // A feed, with "Revoke" asking once more before it acts: calendar apps lose the feed for good.
  function feedItem(feed, made) {
    const name = `calendar feed created ${made}`;
    const actions = h("div", { className: "actions" });
    const revoke = h("button", {
      type: "button", className: "secondary", "aria-label": `Revoke ${name}`,
      onclick: () => {
        const warningId = `revoke-${feed.feedId}-warning`;
        const yes = h("button", {
          type: "button", "aria-label": `Yes, revoke ${name}`, "aria-describedby": warningId,
          onclick: async () => {
            if (yes.getAttribute("aria-busy")) return;
            yes.setAttribute("aria-busy", "true");
            feedback.textContent = "";
            notice.textContent = "";
            try {
              await call(SUPERVISION, "RevokeCalendarFeed", { feedId: feed.feedId });
              feeds = feeds.filter((other) => other.feedId !== feed.feedId);
              if (shownFeedId === feed.feedId) {
                fresh.replaceChildren();
                shownFeedId = "";
              }
              renderList();
              notice.textContent = `Revoked the ${name}: its link no longer works.`;
              create.focus();
            } catch (error) {
              feedback.textContent = `Could not revoke the calendar feed: ${error.message}`;
              yes.removeAttribute("aria-busy");
            }
          },
        }, "Yes, revoke");
        const cancel = h("button", {
          type: "button", className: "secondary", "aria-label": `Cancel revoking the ${name}`,
          onclick: () => {
            actions.replaceChildren(revoke);
            revoke.focus();
          },
        }, "Cancel");
        actions.replaceChildren(
          h("p", { id: warningId, className: "confirm" },
            "Calendar apps using this link stop getting your sessions. This cannot be undone."),
          yes, cancel);
        yes.focus();
      },
    }, "Revoke");
    actions.append(revoke);
    return h("li", {},
      h("span", {}, `Created ${made}`,
        feed.feedId === shownFeedId ? h("span", { className: "muted" }, " · its link is above")
                                    : null),
      actions);
  }

  (async () => {
    try {
      ({ feeds = [] } = await call(SUPERVISION, "ListCalendarFeeds", {}));
      renderList();
    } catch (error) {
      list.replaceChildren(errorText(error));
    } finally {
      create.disabled = false;
    }
  })();

  return h("div", {},
    h("p", {}, "Follow your supervision sessions in your calendar app (Outlook, Google Calendar, " +
      "Apple Calendar…): it subscribes to a private link and picks up changes by itself."),
    h("div", { className: "actions" }, create),
    fresh, feedback, notice,
    h("h3", {}, "My calendar feeds"), list);
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

async function volunteerView(me, main) {
  const names = new Map([[me.sub, "you"]]);
  const alertsCard = h("div");
  const profileCard = h("div");
  const live = new LiveAlerts(() => render());
  function render() {
    alertsCard.replaceChildren(live.status,
                               alertList(live.sorted(), names, { canAct: false }));
  }
  try {
    const { profile } = await call(ALERTS, "GetRiskProfile", {});
    const [band] = BAND_WORDS[profile.band] || ["not assessed"];
    profileCard.append(
      h("p", {}, `Your burnout risk is ${band}.`),
      h("p", { className: "muted" }, "What it is based on:"),
      (profile.factors || []).length
        ? h("ul", { className: "factors" }, profile.factors.map((f) => h("li", {}, f.description)))
        : h("p", { className: "empty" }, "Nothing stands out at the moment."));
  } catch (error) {
    profileCard.append(error.code === "permission_denied" || error.code === "failed_precondition"
      ? h("p", {}, "You have not turned on risk monitoring, so no risk profile is kept.")
      : errorText(error));
  }
  main.replaceChildren(
    h("h1", {}, "Your wellbeing at PeerWell"),
    h("p", { className: "muted" },
      "This is what PeerWell shows your supervisor about you: your alerts and the risk profile " +
      "behind them. Nobody sees other volunteers here."),
    h("div", { className: "grid" },
      card("My alerts", "my-alerts", alertsCard),
      card("My risk profile", "my-risk", profileCard),
      card("Calendar feed", "calendar-feed", calendarFeeds())));
  render();
  await live.start();
  render();
}

function signInView(main, problem) {
  const field = h("input", { id: "token", type: "password", autocomplete: "off", required: true });
  main.replaceChildren(
    h("h1", {}, "Sign in"),
    problem ? h("p", { className: "error", role: "alert" }, problem) : null,
    h("p", {}, "Open the sign-in link you were given (your coordinator or ",
      h("code", {}, "peerwellctl dashboard-url"), " prints one), or paste your access token."),
    h("form", {
      onsubmit: (event) => {
        event.preventDefault();
        sessionStorage.setItem(TOKEN_KEY, field.value.trim());
        start();
      },
    }, h("label", { for: "token" }, "Access token"), field,
       h("div", { className: "actions" }, h("button", { type: "submit" }, "Sign in"))));
}

async function start() {
  takeTokenFromAddress();
  const main = document.getElementById("main");
  const who = document.getElementById("who");
  const signOut = document.getElementById("sign-out");
  signOut.onclick = () => {
    sessionStorage.removeItem(TOKEN_KEY);
    location.reload();
  };
  const claims = claimsOf(token());
  if (!claims) {
    who.textContent = "";
    signOut.hidden = true;
    return signInView(main);
  }
  if (claims.exp && claims.exp * 1000 < Date.now()) {
    sessionStorage.removeItem(TOKEN_KEY);
    return signInView(main, "Your sign-in has expired. Open a new sign-in link.");
  }
  signOut.hidden = false;
  try {
    const { person } = await call(DIRECTORY, "GetPerson", { personId: claims.sub });
    who.textContent = `Signed in as ${person.displayName} (${ROLE_WORDS[person.role] || claims.role})`;
    const view = { supervisor: supervisorView, coordinator: coordinatorView,
                   volunteer: volunteerView }[claims.role];
    if (!view) return signInView(main, "This dashboard is for volunteers, supervisors and coordinators.");
    await view(claims, main);
  } catch (error) {
    if (error instanceof ApiError && error.code === "unauthenticated") {
      sessionStorage.removeItem(TOKEN_KEY);
      return signInView(main, "That sign-in did not work. Open a new sign-in link.");
    }
    main.replaceChildren(errorText(error));
  }
}

start();
