// What a volunteer made on a bad connection: check-ins, incident reports and support requests
// are written to this phone's storage first, with the request_id they keep until the service has
// them, and sent from there, at once when the connection allows and again whenever it returns.
// The services store a request_id's call once (for a week), so a request that reached the
// service but whose answer was lost is not stored twice when it is sent again.
import { ApiError, call } from "../shared/api.js";

// Answers that say "try again later" rather than "this request is wrong".
const TRANSIENT = new Set(["unavailable", "deadline_exceeded", "resource_exhausted", "aborted",
                           "unknown", "internal"]);

function requestId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  // A page served over plain HTTP from an address other than localhost has no randomUUID.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

export class Outbox {
  // `owner`: the signed-in person, whose items these are; another person signing in on the same
  // phone neither sees nor sends them.
  constructor(owner) {
    this.key = `peerwell.outbox.${owner}`;
    this.listeners = new Set();
    this.flushing = null;
    this.awaited = new Set();  // items whose submit() waits for the answer
    this.answers = new Map();  // item id -> the service's answer (or refusal) for that submit()
    this.refused = [];         // items the service refused after submit() had returned
    this.blocked = "";         // why sending stopped, when it is not the connection
    this.retryTimer = 0;
    this.retryDelay = 2000;
    addEventListener("online", () => this.flush());
    addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.flush();
    });
  }

  items() {
    try {
      return JSON.parse(localStorage.getItem(this.key) || "[]");
    } catch {
      return [];
    }
  }

  save(items) {
    if (items.length) localStorage.setItem(this.key, JSON.stringify(items));
    else localStorage.removeItem(this.key);
    for (const listener of this.listeners) listener();
  }

  onChange(listener) {
    this.listeners.add(listener);
  }

  // Keeps the request and sends it. Resolves with the service's answer when it got there now,
  // or with null when it waits for the connection; rejects (and keeps nothing) when the service
  // refused it. `label` says what it is, for the list of what waits ("Check-in: WHO-5").
  async submit(service, method, request, label) {
    const item = {
      id: requestId(), service, method, label, createTime: new Date().toISOString(),
      request: { ...request, requestId: requestId() },
    };
    this.awaited.add(item.id);
    this.save([...this.items(), item]);
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
  // the service cannot take now, and tries again later.
  flush() {
    this.flushing ??= this.sendWaiting().finally(() => {
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
          this.blocked = "Your sign-in has expired: open a new sign-in link to send these.";
          this.save(this.items());
          return;
        }
        if (error instanceof ApiError && !TRANSIENT.has(error.code)) {
          // Refused: sending it again would be refused again.
          if (!this.awaited.has(item.id)) this.refused.push({ label: item.label, error });
          this.remove(item.id, error);
          continue;
        }
        // Offline (fetch itself failed) or the service is away for now.
        this.retryTimer = setTimeout(() => this.flush(), this.retryDelay);
        this.retryDelay = Math.min(this.retryDelay * 2, 60000);
        this.save(this.items());
        return;
      }
    }
    this.retryDelay = 2000;
  }

  remove(id, answer) {
    if (this.awaited.has(id)) this.answers.set(id, answer);
    this.blocked = "";
    this.save(this.items().filter((item) => item.id !== id));
  }

  dismissRefused() {
    this.refused = [];
    this.save(this.items());
  }

  // Forgets what waits (signing out on a shared phone).
  clear() {
    this.refused = [];
    this.save([]);
  }
}
