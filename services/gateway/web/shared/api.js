// The Connect API as the signed-in person: their token, unary calls and server streams. Shared
// by the dashboard and the volunteers' app; every request goes to the page's own origin.

// --- Signing in ------------------------------------------------------------------------------

const TOKEN_KEY = "peerwell.token";
// The dashboard keeps the token for the tab only; the volunteers' app keeps it on the phone
// (localStorage), so that it opens signed in and can send what was made offline.
let tokenStore = sessionStorage;

export function keepTokenIn(storage) {
  tokenStore = storage;
}

export function token() {
  return tokenStore.getItem(TOKEN_KEY) || "";
}

export function setToken(value) {
  tokenStore.setItem(TOKEN_KEY, value);
}

export function forgetToken() {
  tokenStore.removeItem(TOKEN_KEY);
}

// A link /#token=<JWT> signs in: the token moves to the token store and leaves the address bar
// (and so the history and any screenshot of it); the rest of the fragment stays (a page of the
// volunteers' app: #/checkin&token=...).
export function takeTokenFromAddress() {
  const match = /(^#|&)token=([^&]*)/.exec(location.hash);
  if (!match) return;
  try {
    setToken(decodeURIComponent(match[2]));
  } catch {
    forgetToken();  // a broken link: the sign-in page says so
  }
  const before = location.hash.slice(1, match.index);
  const after = location.hash.slice(match.index + match[0].length).replace(/^&/, "");
  const rest = [before, after].filter(Boolean).join("&");
  history.replaceState(null, "", location.pathname + location.search + (rest ? `#${rest}` : ""));
}

// A random id for a request_id or client_message_id: the same one on every retry of a write.
export function newRequestId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  // A page served over plain HTTP from an address other than localhost has no randomUUID.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

export function claimsOf(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(payload));
  } catch {
    return null;
  }
}

// --- The Connect API -------------------------------------------------------------------------

export class ApiError extends Error {
  constructor(code, message) {
    super(message || code);
    this.code = code;
  }
}

// No answer at all: the browser is offline, or the gateway cannot be reached.
export class NetworkError extends Error {}

// One Connect request of the signed-in person: `contentType` says unary or streaming. Streams
// go at low priority: they stay open for as long as the page does, and must not hold up what
// the page is loading (nor count as loading it).
function post(service, method, contentType, body, signal) {
  const streaming = contentType === "application/connect+json";
  return fetch(`/${service}/${method}`, {
    method: "POST",
    headers: {
      "Content-Type": contentType,
      "Connect-Protocol-Version": "1",
      Authorization: `Bearer ${token()}`,
    },
    body,
    signal,
    priority: streaming ? "low" : "auto",
  }).catch((error) => {
    throw error.name === "AbortError" ? error : new NetworkError(error.message);
  });
}

export async function call(service, method, request = {}) {
  const response = await post(service, method, "application/json", JSON.stringify(request));
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(body.code || "unknown", body.message);
  return body;
}

// Every page of a List call, merged.
export async function callAll(service, method, request, field) {
  const items = [];
  let pageToken = "";
  do {
    const page = await call(service, method, { ...request, pageToken });
    items.push(...(page[field] || []));
    pageToken = page.nextPageToken || "";
  } while (pageToken);
  return items;
}

export const DIRECTORY = "peerwell.directory.v1.DirectoryService";
export const CHECKIN = "peerwell.checkin.v1.CheckinService";
export const ALERTS = "peerwell.alerts.v1.AlertService";
export const SUPERVISION = "peerwell.supervision.v1.SupervisionService";
export const NETWORK = "peerwell.network.v1.PeerNetworkService";

// A Connect server stream: each message framed by a flags byte and a 4-byte length; the last
// frame (flag 2) ends the stream, with {"error": ...} when it failed. Resolves when the stream
// ends; `onOpen` runs once the service's stream is live (the response head).
export async function stream(service, method, request, { onOpen, onMessage, signal }) {
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

// Keeps a live stream going for as long as the page wants it: `connect()` opens it and settles
// when it ends; it is then opened again, with a backoff that starts over only after a stream
// stayed up a while (a stream that fails as it opens, the service being away or a cap reached,
// answers like an open one and ends at once). `onDrop` hears every end. Resolves with the error
// when the credentials are refused, or with nothing once `signal` aborts.
export async function keepStreaming(connect, { signal, onDrop } = {}) {
  let delay = 500;
  while (!signal?.aborted) {
    const began = Date.now();
    try {
      await connect();
    } catch (error) {
      if (error instanceof ApiError &&
          ["unauthenticated", "permission_denied"].includes(error.code)) {
        return error;
      }
    }
    onDrop?.();
    if (Date.now() - began > 10000) delay = 500;
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 15000);
  }
  return undefined;
}
