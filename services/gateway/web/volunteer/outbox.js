// What a volunteer made on a bad connection: check-ins, incident reports and support requests
// are written to this phone's storage first, with the request_id they keep until the service has
// them, and sent from there, at once when the connection allows and again whenever it returns.
// The services store a request_id's call once (for a week), so a request that reached the
// service but whose answer was lost is not stored twice when it is sent again.
import { ApiError, NetworkError, call, newRequestId } from "../shared/api.js";

// Answers that say "try again later" rather than "this request is wrong".
const TRANSIENT = new Set(["unavailable", "deadline_exceeded", "resource_exhausted", "aborted",
                           "unknown", "internal"]);
// An item the service keeps failing with one of those is given up after this many answers, so
// that it cannot hold back everything behind it (failing to reach the service at all does not
// count: that is the connection).
export const MAX_FAILED_ANSWERS = 5;

export class Outbox {
  // `owner`: the signed-in person, whose items these are; another person signing in on the same
  // phone neither sees nor sends them.
  constructor(owner) {
    this.key = `peerwell.outbox.${owner}`;
    this.refusedKey = `${this.key}.refused`;
    this.listeners = new Set();
    this.flushing = null;
    this.awaited = new Set();  // items whose submit() waits for the answer
    this.answers = new Map();  // item id -> the service's answer (or refusal) for that submit()
    this.blocked = "";         // why sending stopped, when it is not the connection
    this.retryTimer = 0;
    this.retryDelay = 2000;
    addEventListener("online", () => this.flush());
    addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.flush();
    });
    // Another tab of the app changed the outbox.
    addEventListener("storage", (event) => {
      if (event.key === this.key || event.key === this.refusedKey) this.changed();
    });
  }

  items() {
    return this.read(this.key);
  }

  // What the service refused, by label and reason (not the request: it may hold private words),
  // until the volunteer has seen it.
  get refused() {
    return this.read(this.refusedKey);
  }

  read(key) {
    try {
      return JSON.parse(localStorage.getItem(key) || "[]");
    } catch {
      return [];
    }
  }

  write(key, list) {
    if (list.length) localStorage.setItem(key, JSON.stringify(list));
    else localStorage.removeItem(key);
    this.changed();
  }

  changed() {
    for (const listener of this.listeners) listener();
  }

  onChange(listener) {
    this.listeners.add(listener);
  }

  // Keeps the request and sends it. Resolves with the service's answer when it got there now,
  // or with null when it waits (for the connection, or for a new sign-in: `blocked` says);
  // rejects (and keeps nothing) when the service refused it. `label` says what it is, for the
  // list of what waits ("Check-in: WHO-5").
  async submit(service, method, request, label) {
    const item = {
      id: newRequestId(), service, method, label, createTime: new Date().toISOString(),
      request: { ...request, requestId: newRequestId() }, failedAnswers: 0,
    };
    this.awaited.add(item.id);
    this.write(this.key, [...this.items(), item]);
    await this.flush();
    this.awaited.delete(item.id);
    if (this.answers.has(item.id)) {
      const answer = this.answers.get(item.id);
      this.answers.delete(item.id);
      if (answer instanceof Error) throw answer;
      return answer;
    }
    return null;
  }

  // Sends what waits, oldest first, one at a time; stops at the first item the connection or
  // the service cannot take now, and tries again later. One tab sends at a time.
  flush() {
    this.flushing ??= (navigator.locks
      ? navigator.locks.request(this.key, () => this.sendWaiting())
      : this.sendWaiting()).finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  async sendWaiting() {
    clearTimeout(this.retryTimer);
    for (let item = this.items()[0]; item; item = this.items()[0]) {
      try {
        const answer = await call(item.service, item.method, item.request);
        this.remove(item.id, answer);
      } catch (error) {
        if (error instanceof ApiError && error.code === "unauthenticated") {
          this.blocked = "Your sign-in has expired: open a new sign-in link to send it.";
          this.changed();
          return;
        }
        const transient = !(error instanceof ApiError) || TRANSIENT.has(error.code);
        const failedAnswers = item.failedAnswers + (error instanceof NetworkError ? 0 : 1);
        if (!transient || failedAnswers >= MAX_FAILED_ANSWERS) {
          this.refuse(item, error);
          continue;
        }
        if (failedAnswers !== item.failedAnswers) {
          this.write(this.key, this.items().map((each) =>
            (each.id === item.id ? { ...each, failedAnswers } : each)));
        }
        this.retryTimer = setTimeout(() => this.flush(), this.retryDelay);
        this.retryDelay = Math.min(this.retryDelay * 2, 60000);
        return;
      }
    }
    this.retryDelay = 2000;
  }

  remove(id, answer) {
    if (this.awaited.has(id)) this.answers.set(id, answer);
    this.blocked = "";
    this.write(this.key, this.items().filter((item) => item.id !== id));
  }

  // Sending it again would be refused again: it leaves the outbox, and unless a submit() waits
  // to tell the volunteer at once, the refusal is kept for them to read.
  refuse(item, error) {
    if (!this.awaited.has(item.id)) {
      this.write(this.refusedKey,
                 [...this.refused, { label: item.label, reason: error.message }]);
    }
    this.remove(item.id, error);
  }

  dismissRefused() {
    this.write(this.refusedKey, []);
  }

  // Forgets what waits and what was refused (signing out on a shared phone).
  clear() {
    localStorage.removeItem(this.refusedKey);
    this.write(this.key, []);
  }
}
