// Alerts as every view shows them: live from WatchAlerts, each in words with its factors, and
// (for supervisors and coordinators) acknowledged and resolved in place.
import { ALERTS, call, callAll, keepStreaming, stream } from "./api.js";
import { announce, h } from "./dom.js";
import { OUTCOMES, PRIORITY, ruleWords, when } from "./words.js";

// The open alerts a person may see, kept current from WatchAlerts: the stream resumes from the
// last event's token after a dropped connection, so no event is lost.
export class LiveAlerts {
  constructor(onChange) {
    this.alerts = new Map();
    this.touched = new Set();  // alerts an event told about since the listing began: newer
    this.listed = () => {};
    this.listings = 0;
    this.opened = false;
    this.onChange = onChange;
    this.resumeToken = "";
    this.status = h("p", { className: "status", role: "status" }, "Connecting…");
    this.aborter = new AbortController();
  }

  // Ends the stream for good (the page showing it went away).
  stop() {
    this.aborter.abort();
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

  // The stream, reopened after a drop (keepStreaming) from the last event's resume token.
  async watch() {
    const refused = await keepStreaming(() => {
      const resuming = Boolean(this.resumeToken);
      return stream(ALERTS, "WatchAlerts", { resumeToken: this.resumeToken }, {
        onOpen: () => {
          this.opened = true;
          this.setStatus(true);
          if (!resuming) this.relist();
        },
        onMessage: (event) => this.apply(event),
        signal: this.aborter.signal,
      });
    }, {
      signal: this.aborter.signal,
      onDrop: () => {
        if (!this.opened) this.listed();  // the page shows what it has, and keeps trying
        this.setStatus(false);
      },
    });
    if (refused) {
      this.status.textContent = "Live updates stopped: sign in again.";
      this.listed();
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

export function alertArticle(alert, names, { canAct, onDone }) {
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
      openResolveForms.set(alert.alertId, { outcome: "", note: "", focused: "outcome" });
      openForm(true);
    },
  }, "Resolve");
  function openForm(focusNow) {
    const form = resolveForm(alert, focusNow, (resolved) => {
      openResolveForms.delete(alert.alertId);
      onDone(resolved);
    }, () => {
      openResolveForms.delete(alert.alertId);
      form.remove();
      resolveButton.setAttribute("aria-expanded", "false");
      resolveButton.focus();
    });
    resolveButton.setAttribute("aria-expanded", "true");
    article.append(form);
  }
  actions.append(resolveButton);
  article.append(actions, feedback);
  // A list drawn again (a new event, a refreshed risk band) keeps a form being filled in.
  if (openResolveForms.has(alert.alertId)) openForm(false);
  return article;
}

// Resolve forms open on the page, by alert id, with what was chosen and typed and which field
// had the focus: the alert list is drawn anew on every event, and must not close them.
const openResolveForms = new Map();

// `focusNow`: the form was just opened; otherwise it takes the focus only if the form it
// replaces had it.
function resolveForm(alert, focusNow, onDone, onCancel) {
  const kept = openResolveForms.get(alert.alertId);
  const id = `resolve-${alert.alertId}`;
  const hadFocus = document.getElementById(id)?.contains(document.activeElement);
  const outcome = h("select", { id: `${id}-outcome`, required: true },
                    h("option", { value: "" }, "Choose what came of it"),
                    OUTCOMES.map(([value, words]) => h("option", { value }, words)));
  const note = h("textarea", { id: `${id}-note`, maxlength: "2000" });
  outcome.value = kept?.outcome || "";
  note.value = kept?.note || "";
  const feedback = h("p", { className: "error", role: "alert" });
  const form = h("form", {
    id,
    className: "resolve",
    "aria-label": "Resolve this alert",
    oninput: () => {
      if (kept) Object.assign(kept, { outcome: outcome.value, note: note.value });
    },
    onfocusin: (event) => {
      if (kept) kept.focused = event.target.dataset.field || "";
    },
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
    h("button", { type: "submit", "data-field": "submit" }, "Resolve alert"),
    h("button", { type: "button", className: "secondary", onclick: onCancel }, "Cancel")),
  feedback);
  outcome.dataset.field = "outcome";
  note.dataset.field = "note";
  note.setAttribute("aria-describedby", `${id}-note-help`);
  // The field that had the focus has it again once the new form is on the page.
  const focus = form.querySelector(`[data-field="${kept?.focused || "outcome"}"]`);
  // Two events in one read draw the list twice before the first form could take the focus:
  // the pending focus passes on to the newest form.
  if (focusNow || hadFocus || kept?.focusPending) {
    if (kept) kept.focusPending = true;
    queueMicrotask(() => {
      if (!form.isConnected) return;
      if (kept) kept.focusPending = false;
      focus?.focus();
    });
  }
  return form;
}

export function alertList(alerts, names, options) {
  if (alerts.length === 0) return h("p", { className: "empty" }, "No open alerts.");
  return h("div", { className: "alerts" },
           alerts.map((alert) => alertArticle(alert, names, options)));
}
