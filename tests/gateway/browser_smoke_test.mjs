// The browser tests' footing, before any dashboard test depends on it: Debian's chromium starts
// under the pinned playwright-core, reaches the suite's gateway, and meets the gateway's
// Content-Security-Policy the way the helpers in browser.mjs expect.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { axeViolations, gatewayUrl, launchBrowser } from "./browser.mjs";

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

test("the browser reaches the gateway, which answers with its security headers", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const response = await page.goto(`${gatewayUrl()}/healthz`);
  assert.equal(response.status(), 200);
  assert.deepEqual(await response.json(), { status: "SERVING" });
  const csp = response.headers()["content-security-policy"];
  assert.ok(csp, "no Content-Security-Policy header");
  assert.match(csp, /script-src 'self'/);
  await context.close();
});

// axeViolations() injects an inline script, which the policy forbids: it must fail loudly
// where the policy holds, and run where signIn(..., { forAxe: true }) lifted it.
test("axe-core runs only where the Content-Security-Policy is bypassed", async () => {
  for (const bypassCSP of [false, true]) {
    const context = await browser.newContext({ bypassCSP });
    const page = await context.newPage();
    await page.goto(`${gatewayUrl()}/healthz`);
    if (bypassCSP) {
      assert.ok(Array.isArray(await axeViolations(page)));
    } else {
      await assert.rejects(axeViolations(page), /Content-Security-Policy/);
    }
    await context.close();
  }
});
