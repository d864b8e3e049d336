// PeerWell for volunteers, on a phone: check in, ask to talk, report a critical incident, answer
// a debrief offer, see their own data, book supervision and talk to peers. The same Connect API
// and sign-in as the dashboard (shared/); what is made offline waits in the outbox (outbox.js).
import {
  ALERTS, CHECKIN, DIRECTORY, NetworkError, SUPERVISION, call, callAll, forgetToken, keepTokenIn,
  takeTokenFromAddress, token,
} from "../shared/api.js";
import { LiveAlerts, alertList } from "../shared/alerts.js";
import { calendarFeeds } from "../shared/calendar.js";
import { announce, card, errorText, h } from "../shared/dom.js";
import { startSignedIn } from "../shared/signin.js";
import { trendChart } from "../shared/trends.js";
import { BAND_WORDS, SESSION_KIND_WORDS, durationMinutes, when } from "../shared/words.js";
import { SCALES, checkinView, pulseView, resultView } from "./checkin.js";
import { MAX_FAILED_ANSWERS, Outbox } from "./outbox.js";
import { PeerFeed, peersView } from "./peers.js";

keepTokenIn(localStorage);

const main = document.getElementById("main");
const CACHE = "peerwell.volunteer.cache";

// What the app keeps from the services to work offline: the instruments and the organisation's
// support resources (a phone that lost its connection still shows them after an incident).
function cached(key) {
  try {
    return JSON.parse(localStorage.getItem(`${CACHE}.${key}`) || "null");
  } catch {
    return null;
  }
}

async function fetchCached(key, load) {
  try {
    const value = await load();
    localStorage.setItem(`${CACHE}.${key}`, JSON.stringify(value));
    return value;
  } catch (error) {
    const kept = cached(key);
    if (kept !== null) return kept;
    throw error;
  }
}

const app = {
  me: null,
  person: null,
  outbox: null,
  names: new Map(),
  people: [],  // the organisation's people as a volunteer sees them: names and roles
  namesLoaded: Promise.resolve(),
  // Once per page load: instruments change with a new release, not between two screens.
  instrumentsLoad: null,
  instruments: () => {
    app.instrumentsLoad ??= fetchCached("instruments", async () =>
      (await call(CHECKIN, "ListInstruments", {})).instruments || []);
    app.instrumentsLoad.catch(() => { app.instrumentsLoad = null; });
    return app.instrumentsLoad;
  },
  // The first home screen's due check-ins, asked for beside the sign-in check (see below).
  firstDue: null,
  supportResources: () => fetchCached("resources", async () =>
    (await call(CHECKIN, "GetCheckinSettings", {})).settings?.supportResources || []),
};

const INCIDENT_TYPES = [
  ["INCIDENT_TYPE_AGGRESSION", "Aggression or threats"],
  ["INCIDENT_TYPE_SUICIDE_DISCLOSURE", "Someone told me they think of suicide"],
  ["INCIDENT_TYPE_SUICIDE_ATTEMPT", "A suicide attempt"],
  ["INCIDENT_TYPE_DEATH_OF_SUPPORTED_PERSON", "Someone I support died"],
  ["INCIDENT_TYPE_SAFEGUARDING", "A safeguarding concern"],
  ["INCIDENT_TYPE_OTHER", "Something else that shook me"],
];

const DUE_REASONS = {
  first_checkin: "Your first one.",
  cadence: "Your regular check-in",
  incident_follow_up: "A follow-up after a hard moment",
};

// --- Pieces ----------------------------------------------------------------------------------

// A support contact, with a link a phone can follow: call a number, open an address.
function contactLink(contact) {
  if (/^https?:\/\//i.test(contact)) return h("a", { href: contact }, contact);
  if (/^\+?[\d\s().-]{6,}$/.test(contact)) {
    return h("a", { href: `tel:${contact.replace(/[^\d+]/g, "")}` }, contact);
  }
  return contact;
}

// The organisation's support resources: those an answer carried (kept for offline use), else
// the ones kept or fetched.
async function supportResourcesList(answered = []) {
  let resources = answered;
  if (resources.length) {
    localStorage.setItem(`${CACHE}.resources`, JSON.stringify(resources));
  } else {
    try {
      resources = await app.supportResources();
    } catch {
      // Nothing kept and no connection: the words below still say what to do.
    }
  }
  if (resources.length === 0) {
    return h("p", {}, "Your organisation has not listed support contacts here yet. Your " +
                      "supervisor is told about what you send.");
  }
  return h("ul", { className: "resources" }, resources.map((resource) => h("li", {},
    h("strong", {}, resource.title),
    resource.description ? h("span", {}, resource.description) : null,
    resource.contact ? h("span", { className: "contact" }, contactLink(resource.contact)) : null)));
}

// What became of something sent through the outbox: `answer` is null while it waits.
function sentWords(answer, sentText) {
  if (answer) return sentText;
  return app.outbox.blocked
    ? `It is saved on this phone. ${app.outbox.blocked}`
    : "It is saved on this phone and will be sent as soon as you are back online.";
}

// A view's heading takes the focus, so a screen reader starts reading the new screen there.
function show(...children) {
  main.replaceChildren(...children.filter(Boolean));
  const heading = main.querySelector("h1");
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus();
    document.title = `${heading.textContent} · PeerWell`;
  }
}

// --- Outbox ----------------------------------------------------------------------------------

let waitingBefore = 0;

function renderOutbox() {
  const banner = document.getElementById("outbox");
  const waiting = app.outbox.items();
  const refused = app.outbox.refused;
  // The banner is not a live region (it is rebuilt on every retry); a change of what waits is
  // announced once.
  if (waiting.length !== waitingBefore) {
    if (waiting.length > waitingBefore) announce(`Waiting to be sent: ${waiting.length}`);
    else if (waiting.length === 0) announce("Everything waiting has been sent.");
    waitingBefore = waiting.length;
  }
  if (waiting.length === 0 && refused.length === 0) {
    banner.replaceChildren();
    return;
  }
  const focused = banner.contains(document.activeElement) ? document.activeElement.textContent : "";
  banner.replaceChildren(...[
    waiting.length ? h("div", {},
      h("p", {}, h("strong", {}, `Waiting to be sent (${waiting.length})`), " — ",
        app.outbox.blocked || "sent by itself when the connection returns."),
      h("ul", {}, waiting.map((item) => h("li", {}, `${item.label}, made ${when(item.createTime)}`,
        item.failedAnswers ? ` (the service could not take it: try ${item.failedAnswers} of ` +
                             `${MAX_FAILED_ANSWERS})` : ""))),
      h("button", { type: "button", className: "secondary", onclick: () => app.outbox.flush() },
        "Send now")) : null,
    refused.length ? h("div", {},
      h("ul", {}, refused.map(({ label, reason }) =>
        h("li", { className: "error" }, `${label} could not be sent: ${reason}`))),
      h("button", { type: "button", className: "secondary",
                    onclick: () => app.outbox.dismissRefused() }, "Dismiss")) : null,
  ].filter(Boolean));
  // A button that had the focus keeps it across the rebuild.
  if (focused) {
    [...banner.querySelectorAll("button")].find((button) => button.textContent === focused)
      ?.focus();
  }
}

// --- Home ------------------------------------------------------------------------------------

async function askForSupport(urgency, status, buttons) {
  const struggling = urgency === "URGENCY_HIGH";
  // One request per tap: a second tap while the first is on its way sends nothing more.
  if (buttons.some((button) => button.disabled)) return;
  buttons.forEach((button) => { button.disabled = true; });
  status.replaceChildren(h("p", {}, "Sending…"));
  try {
    const answer = await app.outbox.submit(
      CHECKIN, "RequestSupport", { urgency },
      struggling ? "“I'm struggling”" : "“I need to talk”");
    status.replaceChildren(h("div", {},
      h("h2", { tabindex: "-1" },
        struggling ? "You are not alone with this" : "Your supervisor will be in touch"),
      h("p", {}, sentWords(answer, struggling
        ? "Your supervisor has been told you are struggling, as a priority."
        : "Your supervisor has been told you would like to talk.")),
      struggling ? h("div", {}, h("p", {}, "If you need someone now:"),
                     await supportResourcesList()) : null));
    status.querySelector("h2").focus();
  } catch (error) {
    status.replaceChildren(errorText(error));
  } finally {
    buttons.forEach((button) => { button.disabled = false; });
  }
}

async function debriefOffers() {
  const now = new Date();
  const sessions = await callAll(SUPERVISION, "ListSessions", {
    startTime: new Date(now.getTime() - 86400 * 1000).toISOString(),
    endTime: new Date(now.getTime() + 30 * 86400 * 1000).toISOString(),
    states: ["SESSION_STATE_OFFERED"],
  }, "sessions");
  await app.namesLoaded;
  return sessions.map((session) => {
    const supervisor = (session.supervisorIds || []).map((id) => app.names.get(id)).find(Boolean)
      || "Your supervisor";
    const minutes = durationMinutes(session.duration);
    const outcome = h("div", { role: "status" });
    const answer = async (accept, event) => {
      const buttons = event.currentTarget.parentElement.querySelectorAll("button");
      buttons.forEach((button) => { button.disabled = true; });
      try {
        await call(SUPERVISION, "RespondToOffer", { sessionId: session.sessionId, accept });
        outcome.replaceChildren(h("p", { tabindex: "-1" }, accept
          ? `Accepted: ${when(session.startTime)} is in your upcoming sessions.`
          : "Declined. Nothing else changes, and you can ask to talk any time."));
        // The buttons go; the focus moves to what happened rather than to the page's top.
        outcome.firstChild.focus();
        buttons.forEach((button) => button.remove());
      } catch (error) {
        outcome.replaceChildren(errorText(error));
        buttons.forEach((button) => { button.disabled = false; });
      }
    };
    return h("article", { className: "offer", "aria-labelledby": `offer-${session.sessionId}` },
      h("h3", { id: `offer-${session.sessionId}` }, "A debrief is offered to you"),
      h("p", {}, `${supervisor} can meet you ${when(session.startTime)}` +
                 (minutes ? ` for ${minutes} minutes` : "") +
                 " to talk through what happened. It is your choice: saying no is fine and " +
                 "changes nothing else."),
      session.offerExpireTime ? h("p", { className: "muted" },
        `The offer stands until ${when(session.offerExpireTime)}.`) : null,
      h("div", { className: "actions pair" },
        h("button", { type: "button", onclick: (event) => answer(true, event) }, "Accept"),
        h("button", { type: "button", className: "secondary",
                      onclick: (event) => answer(false, event) }, "Decline")),
      outcome);
  });
}

async function homeView() {
  const status = h("div", { className: "support-status" });
  const supportButtons = [
    h("button", { type: "button", onclick: () => askForSupport("URGENCY_LOW", status, supportButtons) },
      "I need to talk"),
    h("button", { type: "button", className: "urgent",
                  onclick: () => askForSupport("URGENCY_HIGH", status, supportButtons) },
      "I'm struggling"),
  ];
  const due = h("div", {}, h("p", {}, "Loading…"));
  const offers = h("div");
  show(
    h("h1", {}, `Hello, ${app.person.displayName.split(" ")[0]}`),
    h("section", { className: "card now", "aria-labelledby": "now" },
      h("h2", { id: "now" }, "Right now"),
      h("div", { className: "big-actions" }, ...supportButtons,
        h("a", { className: "button", href: "#/incident" }, "Report a critical incident"),
        h("a", { className: "button secondary", href: "#/pulse" }, "After-session pulse")),
      status),
    offers,
    card("Check-ins", "checkins-due", due));
  try {
    const found = await debriefOffers();
    if (found.length) offers.replaceChildren(card("Debrief offers", "offers", ...found));
  } catch (error) {
    // Offline, the check-ins card says so; offers show once the connection is back.
    if (!(error instanceof NetworkError)) offers.replaceChildren(errorText(error));
  }
  try {
    const instruments = await app.instruments();
    let list = null;  // unknown offline
    const asked = app.firstDue || call(CHECKIN, "ListDueCheckins", {});
    app.firstDue = null;
    try {
      ({ due: list = [] } = await asked);
    } catch (error) {
      if (!(error instanceof NetworkError)) throw error;
    }
    const byId = new Map(instruments.map((instrument) => [instrument.instrumentId, instrument]));
    // The service lists what is due now (by its clock, not the phone's).
    const dueNow = (list || []).filter((entry) => byId.has(entry.instrumentId));
    const others = instruments.filter((instrument) => instrument.instrumentId !== "pulse" &&
      !dueNow.some((entry) => entry.instrumentId === instrument.instrumentId));
    const otherLinks = h("ul", {}, others.map((instrument) => h("li", {},
      h("a", { href: `#/checkin/${instrument.instrumentId}` }, instrument.title))));
    if (list === null) {
      due.replaceChildren(h("div", {},
        h("p", {}, "You are offline, so what is due shows later. You can still check in: it is " +
                   "sent when you are back online."), otherLinks));
      return;
    }
    due.replaceChildren(h("div", {},
      dueNow.length
        ? h("ul", { className: "due" }, dueNow.map((entry) => h("li", {},
            h("a", { className: "button", href: `#/checkin/${entry.instrumentId}` },
              `Start ${byId.get(entry.instrumentId).title}`),
            h("span", { className: "muted" }, entry.reason === "first_checkin"
              ? DUE_REASONS.first_checkin
              : `${DUE_REASONS[entry.reason] || "Due"}, due since ${when(entry.dueTime)}.`))))
        : h("p", {}, "Nothing is due. Thank you for keeping up."),
      others.length
        ? h("details", {}, h("summary", {}, "Check in with something else"), otherLinks) : null));
  } catch (error) {
    due.replaceChildren(errorText(error));
  }
}

// --- Checking in -----------------------------------------------------------------------------

async function checkinRoute(instrumentId, shown) {
  let instrument;
  try {
    instrument = (await app.instruments()).find((each) => each.instrumentId === instrumentId);
  } catch (error) {
    if (isShown(shown)) show(h("h1", {}, "Check in"), errorText(error));
    return;
  }
  if (!isShown(shown)) return;
  if (!instrument) return show(h("h1", {}, "Check in"), h("p", {}, "There is no such check-in."));
  const send = (request) => app.outbox.submit(CHECKIN, "SubmitCheckin", request,
                                              `Check-in: ${instrument.title}`);
  if (instrument.instrumentId === "pulse") {
    return show(pulseView(instrument, {
      send,
      onDone: (answer, wantsToTalk) => isShown(shown) && show(
        h("h1", {}, "Thank you"),
        h("p", {}, sentWords(answer, "Your pulse is in.")),
        wantsToTalk ? h("p", {}, "Your supervisor will hear that you would like to talk.") : null,
        h("p", {}, h("a", { href: "#/" }, "Back to home"))),
    }));
  }
  show(checkinView(instrument, {
    send,
    onDone: async (answer) => {
      if (!isShown(shown)) return;
      show(h("h1", {}, "Thank you for checking in"),
           h("p", {}, sentWords(answer, "Your check-in is in. Here is how it looks:")));
      const told = answer ? await resultView(answer.checkin) : [];
      if (!isShown(shown)) return;
      main.append(...told,
        h("p", { className: "muted" }, "Scores are a starting point for a conversation, not a " +
          "verdict. If something is weighing on you, you can ask to talk from the home screen."),
        h("p", {}, h("a", { href: "#/" }, "Back to home")));
    },
  }));
}

// --- A critical incident: three taps, then help at once ---------------------------------------

function incidentView(shown) {
  const feedback = h("p", { className: "error", role: "alert" });
  const occurred = h("select", { id: "incident-when" },
                 [["0", "Just now"], ["60", "About an hour ago"], ["240", "Earlier today"],
                  ["1440", "Yesterday"]].map(([minutes, words]) =>
                   h("option", { value: minutes }, words)));
  const description = h("textarea", { id: "incident-description", maxlength: "4000",
                                      "aria-describedby": "incident-description-help" });
  const form = h("form", {
    onsubmit: async (event) => {
      event.preventDefault();
      const chosen = form.querySelector("input[name=incident-type]:checked");
      if (!chosen) {
        feedback.textContent = "Choose what happened.";
        form.querySelector("input[name=incident-type]").focus();
        return;
      }
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        const answer = await app.outbox.submit(CHECKIN, "ReportCriticalIncident", {
          incidentType: chosen.value,
          occurTime: new Date(Date.now() - Number(occurred.value) * 60000).toISOString(),
          description: description.value.trim(),
        }, "Critical incident report");
        const resources = await supportResourcesList(answer?.supportResources);
        if (!isShown(shown)) return;
        show(h("h1", {}, "Your report is in"),
             h("p", {}, sentWords(answer, "Your supervisor has been told.")),
             h("section", { className: "card", "aria-labelledby": "help-now" },
               h("h2", { id: "help-now" }, "Support you can reach now"), resources),
             h("p", {}, "A debrief may be offered to you on the home screen; take it or leave it."),
             h("p", {}, h("a", { href: "#/" }, "Back to home")));
      } catch (error) {
        feedback.textContent = `Your report was not accepted: ${error.message}`;
        button.disabled = false;
      }
    },
  },
  h("fieldset", { className: "question" },
    h("legend", {}, "What happened?"),
    h("div", { className: "choices" }, INCIDENT_TYPES.map(([value, words]) => h("div",
      { className: "choice" },
      h("input", { type: "radio", name: "incident-type", id: `type-${value}`, value }),
      h("label", { for: `type-${value}` }, words))))),
  h("div", { className: "actions" }, h("button", { type: "submit" }, "Send report")),
  feedback,
  h("details", {},
    h("summary", {}, "Add when and what happened (optional)"),
    h("label", { for: occurred.id }, "When"), occurred,
    h("label", { for: description.id }, "What happened"),
    h("p", { id: "incident-description-help", className: "muted" },
      "Only you can read this. Please leave out names of the people you support."),
    description));
  show(h("h1", {}, "Report a critical incident"),
       h("p", {}, "Your supervisor is told at once, and you will see who you can reach now."),
       form);
}

// --- My data ---------------------------------------------------------------------------------

const CONSENTS = [
  ["riskMonitoring", "Risk monitoring",
   "PeerWell watches your check-ins for signs of burnout and tells your supervisor when it " +
   "sees one, with the reasons in words. Off: no alerts and no risk profile are made about you."],
  ["shareScoresWithSupervisor", "Share my scores with my supervisor",
   "Your supervisor can see your scores and trends. Off: they see alerts only (if risk " +
   "monitoring is on), never your scores. Private notes are never shared."],
  ["researchExport", "Include me in anonymous research",
   "Your check-ins may be counted in figures for research partners, without your name, only in " +
   "groups of five or more people. Off: you are left out of them."],
];

// `given`: the volunteer's consent as GetConsent answers it (a promise, shared with the page).
function consentSwitches(given) {
  const box = h("div", {}, h("p", {}, "Loading…"));
  (async () => {
    try {
      let consent = await given;
      const feedback = h("p", { role: "status" });
      box.replaceChildren(...CONSENTS.map(([field, title, meaning]) => {
        const id = `consent-${field}`;
        const input = h("input", {
          type: "checkbox", role: "switch", id, checked: Boolean(consent[field]),
          "aria-describedby": `${id}-meaning`,
          onchange: async () => {
            // One change at a time, each sending every switch as it stands.
            const inputs = [...box.querySelectorAll("input[role=switch]")];
            inputs.forEach((each) => { each.disabled = true; });
            const wanted = Object.fromEntries(inputs.map((each) =>
              [each.id.replace(/^consent-/, ""), each.checked]));
            try {
              ({ consent } = await call(DIRECTORY, "SetConsent", { consent: wanted }));
              feedback.textContent = `${title}: ${input.checked ? "on" : "off"}.`;
            } catch (error) {
              input.checked = !input.checked;
              feedback.textContent = `Not changed: ${error.message}`;
            } finally {
              inputs.forEach((each) => { each.disabled = false; });
            }
          },
        });
        return h("div", { className: "switch" }, input, h("label", { for: id }, title),
                 h("p", { id: `${id}-meaning`, className: "muted" }, meaning));
      }), feedback);
    } catch (error) {
      box.replaceChildren(errorText(error));
    }
  })();
  return box;
}

async function riskProfile(given) {
  try {
    const consent = await given;
    if (!consent.riskMonitoring) {
      return h("p", {}, "You have not turned on risk monitoring, so no risk profile is kept.");
    }
    const { profile } = await call(ALERTS, "GetRiskProfile", {});
    const [band] = BAND_WORDS[profile.band] || ["not assessed"];
    return h("div", {},
      h("p", {}, `Your burnout risk is ${band}.`),
      h("p", { className: "muted" }, "What it is based on:"),
      (profile.factors || []).length
        ? h("ul", { className: "factors" }, profile.factors.map((f) => h("li", {}, f.description)))
        : h("p", { className: "empty" }, "Nothing stands out at the moment."));
  } catch (error) {
    return errorText(error);
  }
}

async function myScores() {
  const charts = await Promise.all(Object.entries(SCALES).map(async ([scaleId, scale]) => {
    try {
      const trend = await call(CHECKIN, "GetTrend", { scaleId, window: `${365 * 86400}s` });
      if (!(trend.points || []).length) return null;
      return trendChart(scale.name, scale.hint, trend, scale.range);
    } catch {
      return null;
    }
  }));
  const shown = charts.filter(Boolean);
  return shown.length ? shown : [h("p", { className: "empty" }, "No scores in the last year.")];
}

async function dataView() {
  const alertsBox = h("div");
  const live = new LiveAlerts(() => {
    alertsBox.replaceChildren(live.status,
                              alertList(live.sorted(), new Map([[app.me.sub, "you"]]),
                                        { canAct: false }));
  });
  const scores = h("div", {}, h("p", {}, "Loading…"));
  const profile = h("div", {}, h("p", {}, "Loading…"));
  // Read once for the page: the switches and the risk profile both depend on it.
  const consent = call(DIRECTORY, "GetConsent", {}).then((answer) => answer.consent || {});
  consent.catch(() => {});  // each card shows the error
  show(h("h1", {}, "My data"),
       h("p", {}, "What PeerWell holds about you and who it shows it to. Your supervisor sees " +
                  "your alerts and risk profile when risk monitoring is on."),
       card("My scores", "my-scores", scores),
       card("My alerts", "my-alerts", alertsBox),
       card("My risk profile", "my-risk", profile),
       card("My choices", "my-consent", consentSwitches(consent)));
  currentCleanup = () => live.stop();
  live.start();
  profile.replaceChildren(await riskProfile(consent));
  scores.replaceChildren(...await myScores());
}

// --- Supervision -----------------------------------------------------------------------------

function sessionItem(session) {
  const minutes = durationMinutes(session.duration);
  const supervisors = (session.supervisorIds || []).map((id) => app.names.get(id)).filter(Boolean);
  return h("li", {},
    h("strong", {}, when(session.startTime)),
    ` ${SESSION_KIND_WORDS[session.kind] || "Session"}`,
    session.title ? `: ${session.title}` : "",
    minutes ? `, ${minutes} minutes` : "",
    supervisors.length ? ` with ${supervisors.join(" and ")}` : "");
}

function bookingCard(onBooked) {
  const list = h("div", {}, h("p", {}, "Looking for times…"));
  const feedback = h("p", { role: "status" });
  (async () => {
    try {
      const start = new Date(Date.now() + 86400 * 1000);
      const end = new Date(start.getTime() + 14 * 86400 * 1000);
      const { slots = [] } = await call(SUPERVISION, "ProposeSlots", {
        kind: "SESSION_KIND_INDIVIDUAL", duration: "3600s", maxResults: 5,
        windowStartTime: start.toISOString(), windowEndTime: end.toISOString(),
      });
      await app.namesLoaded;
      if (slots.length === 0) {
        list.replaceChildren(h("p", {}, "No free times in the next two weeks. Ask to talk from " +
                                        "the home screen and your supervisor will find one."));
        return;
      }
      list.replaceChildren(h("ul", { className: "slots" }, slots.map((slot) => {
        const supervisor = app.names.get(slot.supervisorId) || "a supervisor";
        const label = `${when(slot.startTime)} with ${supervisor}`;
        return h("li", {}, h("button", {
          type: "button", className: "secondary", "aria-label": `Book ${label}`,
          onclick: async (event) => {
            event.currentTarget.disabled = true;
            try {
              const { session } = await call(SUPERVISION, "CreateSession", {
                session: {
                  kind: "SESSION_KIND_INDIVIDUAL", supervisorIds: [slot.supervisorId],
                  participantIds: [app.me.sub], startTime: slot.startTime, duration: "3600s",
                  title: "One-to-one supervision",
                },
                requestId: `book-${app.me.sub}-${slot.supervisorId}-${Date.parse(slot.startTime)}`,
              });
              feedback.textContent = `Booked: ${when(session.startTime)} with ${supervisor}.`;
              onBooked();
            } catch (error) {
              feedback.textContent = `Not booked: ${error.message}`;
              event.target.disabled = false;
            }
          },
        }, label));
      })));
    } catch (error) {
      list.replaceChildren(errorText(error));
    }
  })();
  return h("div", {},
    h("p", {}, "Free one-hour times in the next two weeks, your own supervisor first:"),
    list, feedback);
}

// Group, reflective-practice and peer sessions ahead with a seat free, to join with one tap.
function openSessionsCard(onJoined) {
  const list = h("div", {}, h("p", {}, "Loading…"));
  const feedback = h("p", { role: "status", tabindex: "-1" });
  (async () => {
    try {
      const now = new Date();
      const sessions = await callAll(SUPERVISION, "ListSessions", {
        openToJoin: true, endTime: new Date(now.getTime() + 60 * 86400 * 1000).toISOString(),
      }, "sessions");
      await app.namesLoaded;
      if (sessions.length === 0) {
        list.replaceChildren(h("p", { className: "empty" },
          "No group sessions with a free seat in the next two months."));
        return;
      }
      list.replaceChildren(h("ul", { className: "sessions" }, sessions.map((session) => {
        const seats = session.capacity
          ? `${session.seatsLeft || 0} of ${session.capacity} seats left` : "open to all";
        const label = `${SESSION_KIND_WORDS[session.kind] || "Session"}` +
                      `${session.title ? `: ${session.title}` : ""}, ${when(session.startTime)}`;
        const item = sessionItem(session);
        item.append(h("span", { className: "muted" }, ` (${seats})`), " ", h("button", {
          type: "button", className: "secondary", "aria-label": `Join ${label}`,
          onclick: async (event) => {
            event.currentTarget.disabled = true;
            try {
              await call(SUPERVISION, "JoinSession", { sessionId: session.sessionId });
              feedback.textContent = `Joined: ${label}.`;
              feedback.focus();  // rather than the page's top, as its button goes
              item.remove();
              onJoined();
            } catch (error) {
              feedback.textContent = `Not joined: ${error.message}`;
              event.target.disabled = false;
            }
          },
        }, "Join"));
        return item;
      })));
    } catch (error) {
      list.replaceChildren(errorText(error));
    }
  })();
  return h("div", {}, list, feedback);
}

async function supervisionView() {
  const upcoming = h("div", {}, h("p", {}, "Loading…"));
  async function loadUpcoming() {
    try {
      const now = new Date();
      const sessions = await callAll(SUPERVISION, "ListSessions", {
        startTime: now.toISOString(),
        endTime: new Date(now.getTime() + 60 * 86400 * 1000).toISOString(),
        states: ["SESSION_STATE_SCHEDULED"],
      }, "sessions");
      await app.namesLoaded;
      upcoming.replaceChildren(sessions.length
        ? h("ul", { className: "sessions" }, sessions.map(sessionItem))
        : h("p", { className: "empty" }, "Nothing booked in the next two months."));
    } catch (error) {
      upcoming.replaceChildren(errorText(error));
    }
  }
  show(h("h1", {}, "Supervision"),
       card("Upcoming sessions", "upcoming", upcoming),
       card("Book a one-to-one", "book", bookingCard(loadUpcoming)),
       card("Join a group", "join-group", openSessionsCard(loadUpcoming)),
       card("Calendar feed", "calendar-feed", calendarFeeds()));
  await loadUpcoming();
}

// New messages from peers, outside quiet hours, on the Peers tab.
function showPeersBadge(count) {
  const link = document.querySelector('#nav a[href="#/peers"]');
  link.replaceChildren("Peers", count
    ? h("span", { className: "count" }, String(count),
        h("span", { className: "visually-hidden" }, " new")) : "");
}

// --- Routing ---------------------------------------------------------------------------------

let currentCleanup = () => {};
// The screen being shown, counted: an answer that arrives after the volunteer moved on to
// another screen is not written over it (see isShown).
let screen = 0;

function isShown(which) {
  return which === screen;
}

function route() {
  // A new sign-in link opened in this tab: sign in afresh.
  if (/(^#|&)token=/.test(location.hash)) {
    takeTokenFromAddress();
    location.reload();
    return;
  }
  const path = location.hash.replace(/^#/, "") || "/";
  if (!path.startsWith("/")) return;  // a link within the page, such as "Skip to content"
  currentCleanup();
  currentCleanup = () => {};
  const shown = ++screen;
  for (const link of document.querySelectorAll("#nav a")) {
    const target = link.getAttribute("href").slice(1);
    const current = target === "/" ? path === "/" : path.startsWith(target);
    if (current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const [, first, second] = path.split("/");
  const view = {
    "": homeView,
    checkin: () => checkinRoute(second, shown),
    pulse: () => checkinRoute("pulse", shown),
    incident: () => incidentView(shown),
    data: dataView,
    supervision: supervisionView,
    peers: () => {
      currentCleanup = peersView(app, show, second);
    },
  }[first];
  if (!view) return show(h("h1", {}, "Not found"), h("p", {}, h("a", { href: "#/" }, "Home")));
  Promise.resolve(view()).catch((error) => {
    if (isShown(shown)) main.append(errorText(error));
  });
}

// What the first screen shows is asked for at once, beside the sign-in check rather than after
// it (a round trip less on a slow connection); a refused token fails these as it fails that.
takeTokenFromAddress();
if (token()) {
  app.instruments().catch(() => {});
  if ((location.hash.replace(/^#/, "") || "/") === "/") {
    app.firstDue = call(CHECKIN, "ListDueCheckins", {});
    app.firstDue.catch(() => {});
  }
}

// Who signed in on this phone, so that the app opens without a connection.
const personStore = {
  get: (personId) => {
    const kept = cached("person");
    return kept?.personId === personId ? kept : null;
  },
  set: ({ personId, displayName, role }) =>
    localStorage.setItem(`${CACHE}.person`, JSON.stringify({ personId, displayName, role })),
};

startSignedIn({
  main,
  who: document.getElementById("who"),
  signOut: document.getElementById("sign-out"),
  personStore,
  show: async (claims, person) => {
    if (claims.role !== "volunteer") {
      // The dashboard is for supervisors and coordinators; the token is not kept on this phone.
      const link = `/#token=${encodeURIComponent(token())}`;
      forgetDevice();
      location.replace(link);
      return;
    }
    app.me = claims;
    app.person = person;
    app.outbox = new Outbox(claims.sub);
    app.outbox.onChange(renderOutbox);
    renderOutbox();
    document.getElementById("sign-out").onclick = () => {
      const waiting = app.outbox.items().length;
      if (waiting) askBeforeSigningOut(waiting);
      else signOut();
    };
    // Names are a nicety, loaded beside the first page: offline, sessions say "your supervisor".
    app.namesLoaded = callAll(DIRECTORY, "ListPeople", {}, "people").then((people) => {
      app.people = people;
      for (const each of people) app.names.set(each.personId, each.displayName);
    }).catch(() => {});
    app.peers = new PeerFeed(claims.sub, showPeersBadge);
    document.getElementById("nav").hidden = false;
    addEventListener("hashchange", route);
    route();
    app.outbox.flush();
    // Kept for a moment without a connection: whom to call after an incident.
    app.supportResources().catch(() => {});
    if ("serviceWorker" in navigator) {
      navigator.serviceWorker.register("/volunteer/sw.js").catch(() => {});
    }
    announce(`Signed in as ${person.displayName}`);
  },
});

// Everything the app keeps on this phone about the person, forgotten: what waits to be sent,
// who they are, what was kept for offline use, the token.
function forgetDevice() {
  app.outbox?.clear();
  for (const key of ["person", "instruments", "resources"]) {
    localStorage.removeItem(`${CACHE}.${key}`);
  }
  forgetToken();
}

function signOut() {
  forgetDevice();
  location.replace("/volunteer/");
}

// Signing out on a shared phone deletes what waits to be sent: asked first, in place.
function askBeforeSigningOut(waiting) {
  const box = document.getElementById("sign-out-confirm");
  box.replaceChildren(
    h("p", { id: "sign-out-warning" },
      `${waiting === 1 ? "One thing has" : `${waiting} things have`} not been sent yet. ` +
      "Signing out deletes them from this phone."),
    h("div", { className: "actions pair" },
      h("button", { type: "button", "aria-describedby": "sign-out-warning", onclick: signOut },
        "Sign out and delete them"),
      h("button", {
        type: "button", className: "secondary",
        onclick: () => {
          box.replaceChildren();
          document.getElementById("sign-out").focus();
        },
      }, "Stay signed in")));
  box.querySelector("button").focus();
}
