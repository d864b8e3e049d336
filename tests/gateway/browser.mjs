// What the gateway's browser tests share: Debian's chromium driven by the tool cache's pinned
// playwright-core (tools/deploy-tools.sh provides both, as DEPLOY_CHROMIUM and
// DEPLOY_NODE_MODULES), the pinned axe-core, and the suite that peerwell-suite-runner started
// (PEERWELL_GATEWAY_URL, PEERWELL_CTL, PEERWELL_DEMO_JSON...). Run the tests through
// run-node-test.sh under peerwell-suite-runner, which sets all of these.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

function env(name) {
  const value = process.env[name];
  if (!value) {
    const from = name.startsWith("DEPLOY_")
      ? "tools/deploy-tools.sh prints it, and tests/gateway/run-node-test.sh must export it"
      : "peerwell-suite-runner sets it: run this test through run-node-test.sh under it";
    throw new Error(`${name} is not set: ${from}`);
  }
  return value;
}

const require = createRequire(path.join(env("DEPLOY_NODE_MODULES"), "index.js"));
const { chromium } = require("playwright-core");

export const gatewayUrl = () => env("PEERWELL_GATEWAY_URL");

export const DESKTOP = Object.freeze({ width: 1280, height: 800 });
// Playwright's own phone descriptors always pair isMobile with hasTouch; a phone without touch
// would skip the coarse-pointer styles a real one gets.
export const PHONE = Object.freeze({
  width: 360, height: 740, deviceScaleFactor: 2, isMobile: true, hasTouch: true,
});

export async function launchBrowser() {
  return chromium.launch({
    executablePath: env("DEPLOY_CHROMIUM"),
    headless: true,
    args: [
      // Chromium's sandbox refuses to start as root, and containers seldom allow the user
      // namespaces it would use otherwise.
      "--no-sandbox",
      // A container's /dev/shm is often 64 MB, too little for Chromium's shared memory: it
      // crashes tabs instead of reporting why. Debian's launcher adds this only when it finds
      // /dev/shm small, and its check breaks where findmnt lists /dev/shm more than once.
      "--disable-dev-shm-usage",
      // Containers have no GPU, and Debian's launcher asks for GPU rasterization (its default
      // flags): rendering in software from the start makes it the same on every machine.
      "--disable-gpu",
    ],
  });
}

// A new context and page signed in as `token` the way a person follows a sign-in link: the
// dashboard reads the token from the URL's fragment, which never reaches the server or its logs.
// `baseUrl` puts something (a test's proxy) between the browser and the gateway; `path` opens
// another page than the dashboard ("/volunteer/", the volunteers' app).
//
// `forAxe: true` turns off the page's Content-Security-Policy. The gateway allows scripts from
// its own origin only, so the inline script axeViolations() injects would be refused; but a
// context without the policy would also hide what it exists to catch (an inline script or style
// that real browsers block), so only contexts that run axe bypass it.
export async function signIn(browser, token,
                             { viewport = DESKTOP, forAxe = false, baseUrl = gatewayUrl(),
                               path = "/" } = {}) {
  const { width, height, deviceScaleFactor = 1, isMobile = false, hasTouch = false } = viewport;
  const context = await browser.newContext({
    viewport: { width, height }, deviceScaleFactor, isMobile, hasTouch, bypassCSP: forAxe,
  });
  const page = await context.newPage();
  const response = await page.goto(`${baseUrl}${path}#token=${encodeURIComponent(token)}`);
  // Failing here names the cause; a missing page would otherwise surface as a selector's timeout.
  if (!response.ok()) {
    await context.close();
    throw new Error(`the page did not load: HTTP ${response.status()} for ${response.url()}`);
  }
  return { context, page };
}

const axeSource = fs.readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

// The page's accessibility violations that keep someone from using it: axe-core's "serious"
// and "critical" ones. Needs a page from signIn(..., {forAxe: true}) (see there).
export async function axeViolations(page) {
  if (!(await page.evaluate(() => typeof window.axe === "object"))) {
    await page.addScriptTag({ content: axeSource }).catch(() => {});
    if (!(await page.evaluate(() => typeof window.axe === "object"))) {
      throw new Error("axe-core did not load: the page's Content-Security-Policy refused it; " +
                      "open the page with signIn(browser, token, { forAxe: true })");
    }
  }
  const violations = await page.evaluate(async () => {
    const results = await window.axe.run(document, { resultTypes: ["violations"] });
    return results.violations;
  });
  return violations.filter((v) => v.impact === "serious" || v.impact === "critical");
}

// One line per violation and element, for an assertion's message.
export function formatViolations(violations) {
  return violations.flatMap((v) => v.nodes.map(
    (node) => `${v.impact} ${v.id} (${v.help}): ${node.target.join(" ")}`)).join("\n");
}

// A token minted from the suite's signing secret (PEERWELL_JWT_SECRET); `org` may be left out
// for an admin.
export function mintToken(role, subject, org) {
  const args = ["token", "--role", role, "--subject", subject];
  if (org) args.push("--org", org);
  return execFileSync(env("PEERWELL_CTL"), args, { encoding: "utf8" }).trim();
}

let seeded;
// `peerwellctl demo seed --json`'s output: the organisation, its people, their tokens.
export function demo() {
  seeded ??= JSON.parse(fs.readFileSync(env("PEERWELL_DEMO_JSON"), "utf8"));
  return seeded;
}

// A unary Connect call in JSON, e.g.
//   connectCall("/peerwell.directory.v1.DirectoryService/ListPeople", token, {})
// The answer's JSON; on failure an Error whose `code` is the Connect code ("not_found"...),
// `rawMessage` the service's message and `status` the HTTP status.
export async function connectCall(method, token, body = {}) {
  const headers = { "content-type": "application/json", "connect-protocol-version": "1" };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`${gatewayUrl()}/${method.replace(/^\//, "")}`, {
    method: "POST", headers, body: JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status !== 200) {
    let answer = {};
    try { answer = JSON.parse(text); } catch { /* not Connect's error JSON */ }
    const code = answer.code ?? "unknown";
    const rawMessage = answer.message ?? (text || response.statusText);
    const error = new Error(`${method}: [${code}] ${rawMessage}`);
    error.code = code;
    error.rawMessage = rawMessage;
    error.status = response.status;
    error.details = answer.details;
    throw error;
  }
  return JSON.parse(text);
}
