// The dashboard as supervisors and coordinators use it (volunteers have their own app,
// volunteer_app_test.mjs): Debian's Chromium against the whole suite with the demo organisation
// (peerwell-suite-runner), controls found by role and accessible name, axe-core on every view. With PEERWELL_SCREENSHOTS=<folder> it also saves the
// screenshots the README links (docs/dashboard-*.png).
import assert from "node:assert/strict";
import net from "node:net";
import path from "node:path";
import { after, before, test } from "node:test";

import {
  axeViolations, connectCall, demo, formatViolations, gatewayUrl, launchBrowser, mintToken,
  signIn,
} from "./browser.mjs";

const ALERTS = "peerwell.alerts.v1.AlertService";
const NETWORK = "peerwell.network.v1.PeerNetworkService";
const SUPERVISION = "peerwell.supervision.v1.SupervisionService";
const LIVE = /Live: new alerts appear here/;

let browser;
let people;  // display name -> person
let org;

before(async () => {
  browser = await launchBrowser();
  org = demo().organization.organizationId;
  const listed = await connectCall("/peerwell.directory.v1.DirectoryService/ListPeople",
                                   demo().tokens.coordinator, { pageSize: 100 });
  people = new Map(listed.people.map((person) => [person.displayName, person]));
});

after(async () => {
  await browser?.close();
});

const tokenOf = (role, name) => mintToken(role, people.get(name).personId, org);

async function screenshot(page, name) {
  if (!process.env.PEERWELL_SCREENSHOTS) return;
  await page.screenshot({ path: path.join(process.env.PEERWELL_SCREENSHOTS, name),
                          fullPage: true });
}

async function expectAccessible(page, view) {
  const violations = await axeViolations(page);
  assert.equal(violations.length, 0, `${view}:\n${formatViolations(violations)}`);
}

async function reportIncident(volunteerName) {
  const occurTime = new Date(Date.now() - 30 * 60 * 1000).toISOString();
  const { incident } = await connectCall(
    "/peerwell.checkin.v1.CheckinService/ReportCriticalIncident",
    tokenOf("volunteer", volunteerName),
    { incidentType: "INCIDENT_TYPE_AGGRESSION", occurTime });
  return incident;
}

test("a supervisor signs in and sees their volunteers, and nobody else's", async () => {
  const { context, page } = await signIn(browser, demo().tokens.supervisor, { forAxe: true });
  try {
    await page.getByRole("heading", { name: "Supervision dashboard" }).waitFor();
    // The token left the address bar once it was read.
    assert.ok(!page.url().includes("token="), page.url());
    await page.getByText(LIVE).waitFor();
    const volunteers = page.getByRole("table");
    for (const name of ["Amira Haddad", "Jonas Nielsen", "Zofia Wiśniewska"]) {
      await volunteers.getByRole("button", { name }).waitFor();
    }
    // Daniel's volunteers are not Mette's to see.
    for (const name of ["Seán O'Brien", "Priya Natarajan", "Kwame Mensah"]) {
      assert.equal(await page.getByText(name).count(), 0, `${name} is on Mette's page`);
    }
    // The story of the demo: Zofia's incident and Jonas's drift, each explained in words.
    await page.getByRole("article", { name: "Critical incident: Zofia Wiśniewska" }).waitFor();
    const drift = page.getByRole("article", { name: "Burnout rising: Jonas Nielsen" });
    await drift.getByText(/above the volunteer's own usual level/).first().waitFor();
    // The demo's one story and nothing else: every alert on Mette's page is about Jonas or Zofia.
    const labels = await page.getByRole("article")
      .evaluateAll((articles) => articles.map((article) => article.getAttribute("aria-label")));
    assert.ok(labels.length >= 2, labels.join("; "));
    for (const label of labels) assert.match(label, /: (Jonas Nielsen|Zofia Wiśniewska)$/);
    const sessions = page.getByRole("region", { name: "Upcoming sessions" });
    await sessions.getByText(/Reflective practice/).first().waitFor();
    await sessions.getByText(/One-to-one supervision with Jonas Nielsen/).waitFor();
    await page.getByRole("heading", { name: "Overdue supervision" }).waitFor();
    await expectAccessible(page, "supervisor");
    await screenshot(page, "dashboard-supervisor.png");
  } finally {
    await context.close();
  }
});

test("a supervisor makes a calendar feed, a calendar app reads it, she revokes it", async () => {
  const mette = demo().tokens.supervisor;
  // What the feed must carry: the one-to-one with Jonas that the demo books for Mette.
  const now = Date.now();
  const { sessions = [] } = await connectCall(`/${SUPERVISION}/ListSessions`, mette, {
    startTime: new Date(now).toISOString(),
    endTime: new Date(now + 28 * 86400 * 1000).toISOString(),
    pageSize: 1000,
  });
  const jonas = people.get("Jonas Nielsen").personId;
  const oneToOne = sessions.find((session) => session.kind === "SESSION_KIND_INDIVIDUAL" &&
                                              (session.participantIds || []).includes(jonas));
  assert.ok(oneToOne, "the demo gives Mette a one-to-one with Jonas");

  const { context, page } = await signIn(browser, mette, { forAxe: true });
  try {
    const feedCard = page.getByRole("region", { name: "Calendar feed" });
    const revokeButtons = feedCard.getByRole("button", { name: /^Revoke calendar feed created / });
    const listed = async () => {
      await feedCard.getByRole("list").or(feedCard.getByText("You have no calendar feeds."))
        .waitFor();
      return revokeButtons.count();
    };
    const before = await listed();

    await feedCard.getByRole("button", { name: "Create calendar feed" }).click();
    const link = feedCard.getByRole("textbox", { name: "Calendar feed link" });
    await link.waitFor();
    const url = await link.inputValue();
    assert.match(url, /\/calendar\/[A-Za-z0-9_-]+\.ics$/);
    assert.ok(url.startsWith(`${new URL(gatewayUrl()).origin}/calendar/`), url);
    assert.equal(await link.getAttribute("readonly"), "");
    await feedCard.getByText(/shown only this once/).waitFor();
    await feedCard.getByText(/Anyone with the link sees your supervision calendar/).waitFor();
    await feedCard.getByRole("button", { name: "Copy link" }).waitFor();
    await revokeButtons.nth(before).waitFor();
    assert.equal(await revokeButtons.count(), before + 1);
    await expectAccessible(page, "supervisor, a new calendar feed");

    // A calendar application: the address alone, no credentials.
    const response = await fetch(url);
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type"), /^text\/calendar\b/);
    const ics = (await response.text()).replace(/\r?\n[ \t]/g, "");  // unfolded
    assert.match(ics, /^BEGIN:VCALENDAR\r?\n/);
    assert.ok(ics.includes(`UID:${oneToOne.sessionId}@peerwell`),
              `the feed lacks the one-to-one ${oneToOne.sessionId}:\n${ics}`);

    // The newest feed is the last (the list is oldest first). Revoke asks first; Cancel keeps it.
    const revoke = revokeButtons.last();
    const name = await revoke.getAttribute("aria-label");
    await revoke.click();
    await feedCard.getByText(/This cannot be undone/).waitFor();
    await feedCard.getByRole("button", { name: /^Cancel revoking the calendar feed created / })
      .click();
    await feedCard.getByRole("button", { name, exact: true }).waitFor();
    assert.equal((await fetch(url)).status, 200, "Cancel revoked the feed");

    // Revoked from the keyboard: the confirmation has the focus.
    await feedCard.getByRole("button", { name, exact: true }).click();
    const confirm = feedCard.getByRole("button", { name: `Yes, r${name.slice(1)}`, exact: true });
    await confirm.waitFor();
    assert.ok(await confirm.evaluate((button) => button === document.activeElement));
    await page.keyboard.press("Enter");
    await feedCard.getByText(/no longer works/).waitFor();
    assert.equal(await feedCard.getByRole("button", { name, exact: true }).count(), 0);
    assert.equal(await link.count(), 0, "the revoked feed's link is still shown");
    assert.equal(await revokeButtons.count(), before);

    const gone = await fetch(url);
    assert.equal(gone.status, 404);
    // The service agrees, and so does the page once reloaded.
    const { feeds = [] } = await connectCall(`/${SUPERVISION}/ListCalendarFeeds`, mette, {});
    assert.equal(feeds.length, before);
    await page.reload();
    assert.equal(await listed(), before);
    assert.equal(await feedCard.getByRole("button", { name, exact: true }).count(), 0);
  } finally {
    await context.close();
  }
});

test("a critical incident appears without a reload, and is acknowledged and resolved", async () => {
  const { context, page } = await signIn(browser, demo().tokens.supervisor);
  try {
    await page.getByText(LIVE).waitFor();
    const incident = await reportIncident("Amira Haddad");
    const alert = page.getByRole("article", { name: "Critical incident: Amira Haddad" });
    await alert.waitFor({ timeout: 20_000 });
    const alertId = await alert.getAttribute("data-alert-id");
    assert.ok(alertId);
    assert.ok(incident.incidentId);

    await alert.getByRole("button", { name: "Acknowledge" }).click();
    await alert.getByText("acknowledged", { exact: true }).waitFor();
    await alert.getByRole("button", { name: "Resolve", exact: true }).click();
    await alert.getByRole("combobox", { name: "Outcome" }).selectOption({ label: "We talked" });
    const note = alert.getByRole("textbox", { name: "Note (optional)" });
    await note.fill("Called Amira; she is safe and has a debrief booked.");
    // An alert changes while the form is being filled in (Zofia's incident of the demo happens
    // again): the list is drawn anew, and the form stays open with what was chosen and typed,
    // the focus where it was.
    await reportIncident("Zofia Wiśniewska");
    await page.getByRole("article", { name: "Critical incident: Zofia Wiśniewska" })
      .getByText(/· 2 times/).waitFor({ timeout: 20_000 });
    assert.equal(await alert.getByRole("combobox", { name: "Outcome" }).inputValue(),
                 "OUTCOME_TALKED");
    assert.equal(await note.inputValue(), "Called Amira; she is safe and has a debrief booked.");
    // The list may be drawn once more for the band the alert refreshes: the focus follows.
    await page.waitForFunction(
      (id) => document.activeElement?.id === `resolve-${id}-note`, alertId);
    await alert.getByRole("button", { name: "Resolve alert" }).click();
    await alert.waitFor({ state: "detached" });

    const { alert: stored } = await connectCall(`/${ALERTS}/GetAlert`, demo().tokens.supervisor,
                                                { alertId });
    assert.equal(stored.state, "ALERT_STATE_RESOLVED");
    assert.equal(stored.outcome, "OUTCOME_TALKED");
    assert.ok(stored.acknowledgeTime, "the acknowledgement is kept");
    assert.equal(stored.acknowledgedBy, people.get("Mette Rasmussen").personId);
    assert.equal(stored.resolvedBy, people.get("Mette Rasmussen").personId);
  } finally {
    await context.close();
  }
});

// A TCP proxy between the browser and the gateway, to cut the page's connections for real:
// cut() drops every open one and refuses new ones until restore().
async function startCuttableProxy() {
  const target = new URL(process.env.PEERWELL_GATEWAY_URL);
  const open = new Set();
  let refusing = false;
  const server = net.createServer((client) => {
    if (refusing) return client.destroy();
    const upstream = net.connect(Number(target.port), target.hostname);
    for (const [from, to] of [[client, upstream], [upstream, client]]) {
      open.add(from);
      from.on("error", () => to.destroy());
      from.on("close", () => { open.delete(from); to.destroy(); });
      from.pipe(to);
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    cut() {
      refusing = true;
      for (const socket of open) socket.destroy();
    },
    restore() { refusing = false; },
    close: () => new Promise((resolve) => { for (const s of open) s.destroy(); server.close(resolve); }),
  };
}

test("after a dropped connection the page catches up without losing an alert", async () => {
  const proxy = await startCuttableProxy();
  const { context, page } = await signIn(browser, demo().tokens.supervisor,
                                         { baseUrl: proxy.url });
  try {
    await page.getByText(LIVE).waitFor();
    // One event first, so that the page holds a resume token.
    await reportIncident("Amira Haddad");
    await page.getByRole("article", { name: "Critical incident: Amira Haddad" }).waitFor();

    proxy.cut();
    await page.getByText(/Reconnecting/).waitFor();
    await reportIncident("Jonas Nielsen");  // while the page hears nothing
    proxy.restore();
    await page.getByRole("article", { name: "Critical incident: Jonas Nielsen" })
      .waitFor({ timeout: 30_000 });
    await page.getByText(LIVE).waitFor();
  } finally {
    await context.close();
    await proxy.close();
  }
});

test("scores show only where the volunteer shares them", async () => {
  // Priya shares alerts but not scores with Daniel.
  const daniel = await signIn(browser, tokenOf("supervisor", "Daniel Hughes"), { forAxe: true });
  try {
    const { page } = daniel;
    // Daniel's volunteers are the demo's well ones: no alert.
    await page.getByRole("region", { name: "Open alerts" }).getByText("No open alerts.").waitFor();
    await page.getByRole("button", { name: "Priya Natarajan" }).click();
    const detail = page.getByRole("region", { name: "Priya Natarajan" });
    await detail.getByText(/has not shared their scores with you/).waitFor();
    assert.equal(await detail.getByRole("img").count(), 0);
    assert.doesNotMatch(await detail.innerText(), /\d/, "no numbers about Priya");
    await expectAccessible(page, "supervisor, a volunteer who shares no scores");
  } finally {
    await daniel.context.close();
  }

  // Jonas shares his with Mette: both trends, drawn and described.
  const mette = await signIn(browser, demo().tokens.supervisor, { forAxe: true });
  try {
    const { page } = mette;
    await page.getByRole("button", { name: "Jonas Nielsen" }).click();
    const detail = page.getByRole("region", { name: "Jonas Nielsen" });
    await detail.getByRole("img", { name: /Volunteering-related burnout \(CBI\): latest 75/ })
      .waitFor();
    await detail.getByRole("img", { name: /Wellbeing \(WHO-5\): latest/ }).waitFor();
    await expectAccessible(page, "supervisor, a volunteer's trends");
    await screenshot(page, "dashboard-volunteer-trends.png");
  } finally {
    await mette.context.close();
  }
});

test("the coordinator sees the escalated alert first", async () => {
  const coordinator = demo().tokens.coordinator;
  // Critical alerts escalate after one second from now on, so that one does within the test.
  await connectCall(`/${ALERTS}/UpdateAlertPolicy`, coordinator, {
    policy: { ackDeadlineCritical: "1s" }, updateMask: "ackDeadlineCritical",
  });
  await reportIncident("Seán O'Brien");
  const sean = people.get("Seán O'Brien").personId;
  const deadline = Date.now() + 20_000;
  for (;;) {
    const { alerts = [] } = await connectCall(`/${ALERTS}/ListAlerts`, coordinator,
                                         { volunteerId: sean });
    if (alerts.some((alert) => alert.escalationLevel > 0)) break;
    assert.ok(Date.now() < deadline, "Seán's alert never escalated");
    await new Promise((resolve) => setTimeout(resolve, 200));
  }

  // Amira reports a message of her buddy conversation: it waits in the moderation queue.
  const amira = demo().tokens.volunteer;
  const { channels } = await connectCall(`/${NETWORK}/ListChannels`, amira, {});
  const buddies = channels.find((channel) => channel.kind === "CHANNEL_KIND_BUDDY");
  const { messages } = await connectCall(`/${NETWORK}/ListMessages`, amira,
                                         { channelId: buddies.channelId });
  await connectCall(`/${NETWORK}/ReportMessage`, amira, {
    channelId: buddies.channelId, messageId: messages[0].messageId,
    reason: "This crossed a line for me.",
  });

  const { context, page } = await signIn(browser, coordinator, { forAxe: true });
  try {
    await page.getByRole("heading", { name: "Coordination dashboard" }).waitFor();
    await page.getByText(LIVE).waitFor();
    const first = page.getByRole("article").first();
    assert.equal(await first.getAttribute("aria-label"), "Critical incident: Seán O'Brien");
    await first.getByText(/escalated/).waitFor();
    await page.getByRole("heading", { name: "People and supervisors" }).waitFor();
    await page.getByRole("row", { name: /Priya Natarajan volunteer Daniel Hughes/ }).waitFor();
    const queue = page.getByRole("region", { name: "Moderation queue" });
    await queue.getByText(/Reported .* by Amira Haddad: .*crossed a line/).waitFor();
    await queue.getByRole("button", { name: "Dismiss" }).waitFor();
    await page.getByRole("heading", { name: "Alert policy" }).waitFor();
    await page.getByText("1 second", { exact: true }).waitFor();
    // The organisation's wellbeing: the demo's five consenting volunteers show an ended month's
    // WHO-5; a week with nobody is hidden, not shown as zero.
    const wellbeing = page.getByRole("region", { name: "Wellbeing across the organisation" });
    await wellbeing.getByRole("row", { name: /^\S+ \d{4} 5 \d+\.\d .*good [1-5]$/ }).first().waitFor();
    await wellbeing.getByRole("combobox", { name: "Period" }).selectOption("AGGREGATE_PERIOD_WEEK");
    await wellbeing.getByRole("columnheader", { name: "Week of" }).waitFor();
    await wellbeing.getByText("Fewer than 5 volunteers: not shown").first().waitFor();
    await wellbeing.getByRole("combobox", { name: "Scale" }).selectOption("cbi_volunteering");
    await wellbeing.getByRole("table", { name: /Volunteering-related burnout/ }).waitFor();
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 1280, `the page is ${width} px wide in a 1280 px window`);
    await expectAccessible(page, "coordinator");
    await screenshot(page, "dashboard-coordinator.png");
  } finally {
    await context.close();
  }
});

test("without a token the page asks to sign in", async () => {
  const context = await browser.newContext({ bypassCSP: true });  // for axe (see signIn)
  try {
    const page = await context.newPage();
    await page.goto(process.env.PEERWELL_GATEWAY_URL);
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    await expectAccessible(page, "sign in");
    await page.getByLabel("Access token").fill(demo().tokens.supervisor);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Supervision dashboard" }).waitFor();
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
  } finally {
    await context.close();
  }
});
