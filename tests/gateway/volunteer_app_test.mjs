// The volunteers' app as volunteers use it: on a phone-sized screen in Debian's Chromium, against
// the whole suite with the demo organisation, controls found by role and accessible name,
// axe-core on every page. Each test that writes signs in as a volunteer of its own (made here by
// the demo's coordinator and assigned to Mette), so that what one test stores cannot pass for
// another's. With PEERWELL_SCREENSHOTS=<folder> it also saves the screenshots the README links
// (docs/volunteer-*.png).
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, test } from "node:test";

import {
  DESKTOP, PHONE, axeViolations, connectCall, demo, formatViolations, gatewayUrl, launchBrowser,
  mintToken, signIn,
} from "./browser.mjs";

const DIRECTORY = "/peerwell.directory.v1.DirectoryService";
const CHECKIN = "/peerwell.checkin.v1.CheckinService";
const SUPERVISION = "/peerwell.supervision.v1.SupervisionService";
const NETWORK = "/peerwell.network.v1.PeerNetworkService";
const APP = { viewport: PHONE, forAxe: true, path: "/volunteer/" };

let browser;
let people;  // display name -> person
let org;
let created = 0;

before(async () => {
  browser = await launchBrowser();
  org = demo().organization.organizationId;
  const listed = await connectCall(`${DIRECTORY}/ListPeople`, demo().tokens.coordinator,
                                   { pageSize: 100 });
  people = new Map(listed.people.map((person) => [person.displayName, person]));
  // The demo's supervisors work Monday to Thursday, 09:00-17:00: a debrief offered at least an
  // hour ahead would find no time on a Thursday evening or a weekend. The volunteers here are
  // Mette's, and she is free at any hour, so that what the tests see does not depend on the day.
  await connectCall(`${SUPERVISION}/SetAvailability`, demo().tokens.coordinator, {
    supervisorId: people.get("Mette Rasmussen").personId,
    availability: { weekly: [1, 2, 3, 4, 5, 6, 7].map((weekday) => ({
      weekday, start: "00:00", end: "23:59" })) },
  });
});

after(async () => {
  await browser?.close();
});

const tokenOf = (role, name) => mintToken(role, people.get(name).personId, org);

// A volunteer of this test's own, supervised by Mette, who chose risk monitoring (so that what
// they ask for reaches her as an alert).
async function newVolunteer(firstName, { quietHours } = {}) {
  created += 1;
  const coordinator = demo().tokens.coordinator;
  const { person } = await connectCall(`${DIRECTORY}/CreatePerson`, coordinator, {
    person: { displayName: `${firstName} Test${created}`, role: "ROLE_VOLUNTEER",
              timezone: "UTC", quietHours },
    requestId: `volunteer-app-test-${firstName}-${created}`,
  });
  await connectCall(`${DIRECTORY}/AssignSupervisor`, coordinator, {
    volunteerId: person.personId, supervisorId: people.get("Mette Rasmussen").personId,
  });
  const token = mintToken("volunteer", person.personId, org);
  await connectCall(`${DIRECTORY}/SetConsent`, token, { consent: { riskMonitoring: true } });
  return { person, token };
}

// The phone's screen as the volunteer sees it (a full-page capture would paint the fixed tabs
// over the middle of the page).
async function screenshot(page, name) {
  if (!process.env.PEERWELL_SCREENSHOTS) return;
  await page.screenshot({ path: path.join(process.env.PEERWELL_SCREENSHOTS, name) });
}

async function expectAccessible(page, view) {
  const violations = await axeViolations(page);
  assert.equal(violations.length, 0, `${view}:\n${formatViolations(violations)}`);
  // Usable at 360 pixels: nothing wider than the screen.
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= PHONE.width, `${view}: the page is ${width} px wide on a 360 px screen`);
}

async function checkinsOf(token) {
  const { checkins = [] } = await connectCall(`${CHECKIN}/ListCheckins`, token, {});
  return checkins;
}

// Answers the WHO-5 with "More than half of the time" throughout (3 of 5 each: 60 of 100).
async function answerWho5(page) {
  for (let question = 1; question <= 5; question += 1) {
    await page.getByText(`Question ${question} of 5`).waitFor();
    await page.getByRole("radio", { name: "More than half of the time" }).check();
    await page.getByRole("button", { name: "Next" }).click();
  }
}

test("a volunteer completes the due WHO-5 and sees the result in words", async () => {
  const { person, token } = await newVolunteer("Ana");
  const { context, page } = await signIn(browser, token, APP);
  try {
    await page.getByRole("heading", { name: "Hello, Ana" }).waitFor();
    assert.ok(!page.url().includes("token="), page.url());
    await expectAccessible(page, "home");
    await screenshot(page, "volunteer-home.png");

    await page.getByRole("link", { name: "Start WHO-5 Well-Being Index" }).click();
    await page.getByRole("heading", { name: "WHO-5 Well-Being Index" }).waitFor();
    await page.getByText("Thinking about the last two weeks.").waitFor();
    await page.getByRole("progressbar").waitFor();
    await expectAccessible(page, "check-in");
    await screenshot(page, "volunteer-checkin.png");
    // A required question holds the volunteer until it is answered.
    await page.getByRole("button", { name: "Next" }).click();
    await page.getByText("Choose an answer to go on.").waitFor();
    await answerWho5(page);
    const note = page.getByRole("textbox", { name: "A private note (optional)" });
    await note.fill("Long week; the Tuesday group was heavy.");
    await page.getByText("Only you can read this.").waitFor();
    await page.getByRole("button", { name: "Send check-in" }).click();

    await page.getByRole("heading", { name: "Thank you for checking in" }).waitFor();
    const score = page.getByRole("region", { name: "Wellbeing (WHO-5)" });
    await score.getByText("60 on a scale from 0 to 100").waitFor();
    await score.getByText("This is the first score of its kind").waitFor();
    await expectAccessible(page, "check-in result");

    const stored = await checkinsOf(token);
    assert.equal(stored.length, 1);
    assert.equal(stored[0].volunteerId, person.personId);
    assert.equal(stored[0].note, "Long week; the Tuesday group was heavy.");
    // Done: the WHO-5 is no longer due on the home screen.
    await page.getByRole("link", { name: "Back to home" }).click();
    await page.getByRole("heading", { name: "Hello, Ana" }).waitFor();
    await page.getByRole("link", { name: /^Start / }).first().waitFor();
    assert.equal(await page.getByRole("link", { name: "Start WHO-5 Well-Being Index" }).count(), 0);
  } finally {
    await context.close();
  }
});

test("a volunteer with a history sees a new score beside their own usual level", async () => {
  // Priya's eight weeks of the demo's WHO-5s give her a usual level.
  const { context, page } = await signIn(browser, tokenOf("volunteer", "Priya Natarajan"), APP);
  try {
    await page.getByRole("heading", { name: "Hello, Priya" }).waitFor();
    await page.evaluate(() => { location.hash = "#/checkin/who5"; });
    await answerWho5(page);
    await page.getByRole("button", { name: "Send check-in" }).click();
    const score = page.getByRole("region", { name: "Wellbeing (WHO-5)" });
    await score.getByText(
      /^Your usual level over the last months is \d+; this one is (the same|\d+ (higher|lower))\.$/)
      .waitFor();
    await score.getByRole("figure").filter({ hasText: "Your Wellbeing (WHO-5) over time" })
      .waitFor();
  } finally {
    await context.close();
  }
});

test("a pulse with “I'd like to talk” reaches the supervisor's open dashboard live", async () => {
  const { person, token } = await newVolunteer("Ben");
  const supervisor = await signIn(browser, demo().tokens.supervisor, { viewport: DESKTOP });
  const volunteer = await signIn(browser, token, APP);
  try {
    await supervisor.page.getByText(/Live: new alerts appear here/).waitFor();
    const page = volunteer.page;
    await page.getByRole("link", { name: "After-session pulse" }).click();
    await page.getByRole("heading", { name: "After-session pulse" }).waitFor();
    await expectAccessible(page, "pulse");
    await page.getByRole("group", { name: "How is your energy right now?" })
      .getByRole("radio", { name: "Low", exact: true }).check();
    await page.getByRole("group", { name: "Something from this session has stayed with me." })
      .getByRole("radio", { name: "Yes" }).check();
    await page.getByRole("group", { name: "I'd like to talk to someone about it." })
      .getByRole("radio", { name: "Yes" }).check();
    await page.getByRole("combobox", { name: "The session was" }).selectOption("group");
    await page.getByRole("spinbutton", { name: "Hours today (optional)" }).fill("3");
    await page.getByRole("button", { name: "Send pulse" }).click();
    await page.getByText("Your supervisor will hear that you would like to talk.").waitFor();

    await supervisor.page.getByRole("article", { name: `Asked for support: ${person.displayName}` })
      .waitFor();
    const [pulse] = await checkinsOf(token);
    assert.equal(pulse.instrumentId, "pulse");
    assert.equal(pulse.context.sessionKind, "group");
    assert.equal(pulse.context.hours, 3);
  } finally {
    await supervisor.context.close();
    await volunteer.context.close();
  }
});

test("a check-in made offline is sent when the connection returns, and stored once", async () => {
  const { token } = await newVolunteer("Cleo");
  const { context, page } = await signIn(browser, token, APP);
  try {
    await page.getByRole("link", { name: "Start WHO-5 Well-Being Index" }).click();
    await answerWho5(page);
    await context.setOffline(true);
    await page.getByRole("button", { name: "Send check-in" }).click();
    await page.getByText("It is saved on this phone and will be sent as soon as you are back " +
                         "online.").waitFor();
    const outbox = page.locator("#outbox");
    await outbox.getByText("Waiting to be sent (1)").waitFor();
    await outbox.getByText("Check-in: WHO-5 Well-Being Index").waitFor();
    // Trying again while still offline keeps it waiting.
    await outbox.getByRole("button", { name: "Send now" }).click();
    await outbox.getByText("Waiting to be sent (1)").waitFor();
    assert.equal((await checkinsOf(token)).length, 0);
    await expectAccessible(page, "waiting to be sent");

    await context.setOffline(false);
    await outbox.getByText("Waiting to be sent").waitFor({ state: "detached" });
    // Opening the app again sends nothing twice.
    await page.reload();
    await page.getByRole("heading", { name: "WHO-5 Well-Being Index" }).waitFor();
    const stored = await checkinsOf(token);
    assert.equal(stored.length, 1, JSON.stringify(stored));
    assert.equal(stored[0].instrumentId, "who5");
  } finally {
    await context.close();
  }
});

test("the app opens without a connection, and a pulse made then is sent later", async () => {
  const { token } = await newVolunteer("Noa");
  const { context, page } = await signIn(browser, token, APP);
  try {
    await page.getByRole("heading", { name: "Hello, Noa" }).waitFor();
    // The service worker has cached the app's files and controls the page, and the app has kept
    // the instruments (the home screen's first ListInstruments may still be on its way when the
    // heading shows: offline without them, the app could only say it cannot load them).
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
    await page.waitForFunction(
      () => localStorage.getItem("peerwell.volunteer.cache.instruments") !== null);
    await context.setOffline(true);
    await page.reload();
    await page.getByRole("heading", { name: "Hello, Noa" }).waitFor();
    await page.getByText("You are offline, so what is due shows later.").waitFor();
    await page.getByRole("link", { name: "After-session pulse" }).click();
    await page.getByRole("group", { name: "How is your energy right now?" })
      .getByRole("radio", { name: "OK" }).check();
    for (const question of ["Something from this session has stayed with me.",
                            "I'd like to talk to someone about it."]) {
      await page.getByRole("group", { name: question }).getByRole("radio", { name: "No" }).check();
    }
    await page.getByRole("button", { name: "Send pulse" }).click();
    await page.getByText("It is saved on this phone").waitFor();
    await page.locator("#outbox").getByText("Check-in: After-session pulse").waitFor();
    assert.equal((await checkinsOf(token)).length, 0);

    await context.setOffline(false);
    await page.locator("#outbox").getByText("Waiting to be sent").waitFor({ state: "detached" });
    const stored = await checkinsOf(token);
    assert.equal(stored.length, 1, JSON.stringify(stored));
    assert.equal(stored[0].instrumentId, "pulse");
  } finally {
    await context.close();
  }
});

test("a request the service keeps failing is given up after five answers, and said so", async () => {
  const { token } = await newVolunteer("Quin");
  const { context, page } = await signIn(browser, token, APP);
  try {
    // The check-in service failing inside, as the gateway would pass it on.
    const failing = (route) => route.fulfill({
      status: 500, contentType: "application/json",
      body: JSON.stringify({ code: "internal", message: "the check-in store is broken" }),
    });
    await page.route("**/peerwell.checkin.v1.CheckinService/SubmitCheckin", failing);
    await page.getByRole("link", { name: "After-session pulse" }).click();
    for (const [question, answer] of [["How is your energy right now?", "Good"],
                                      ["Something from this session has stayed with me.", "No"],
                                      ["I'd like to talk to someone about it.", "No"]]) {
      await page.getByRole("group", { name: question })
        .getByRole("radio", { name: answer, exact: true }).check();
    }
    await page.getByRole("button", { name: "Send pulse" }).click();
    await page.getByText("It is saved on this phone").waitFor();
    const outbox = page.locator("#outbox");
    // Four more answers like it (asked for with "Send now", or by the outbox's own retry timer),
    // and it leaves the queue, listed as not sent.
    const refused = outbox.getByText(
      "Check-in: After-session pulse could not be sent: the check-in store is broken");
    for (let round = 0; round < 5 && !(await refused.count()); round += 1) {
      const text = await outbox.getByText(/try \d of 5/).or(refused).first().textContent();
      const tries = Number(/try (\d) of 5/.exec(text)?.[1] ?? 5);
      // The button goes with the item if the timer's try was the fifth.
      await Promise.race([outbox.getByRole("button", { name: "Send now" }).click()
                            .catch(() => {}),
                          refused.waitFor()]);
      await outbox.getByText(new RegExp(`try [${Math.min(tries + 1, 5)}-5] of 5`)).or(refused)
        .first().waitFor();
    }
    await refused.waitFor();
    assert.equal(await outbox.getByText("Waiting to be sent").count(), 0);
    // Kept until read, across a reload; then dismissed.
    await page.unroute("**/peerwell.checkin.v1.CheckinService/SubmitCheckin", failing);
    await page.reload();
    await refused.waitFor();
    await outbox.getByRole("button", { name: "Dismiss" }).click();
    await refused.waitFor({ state: "detached" });
    assert.equal((await checkinsOf(token)).length, 0);
  } finally {
    await context.close();
  }
});

test("an incident in three taps shows the support resources, then a debrief is accepted",
     async () => {
  const { person, token } = await newVolunteer("Dev");
  // The organisation's own line, beside the service's default resources: a number to call.
  const coordinator = demo().tokens.coordinator;
  const { settings } = await connectCall(`${CHECKIN}/GetCheckinSettings`, coordinator, {});
  settings.supportResources.push({ title: "Duty supervisor, day and night",
                                   description: "On call after a hard session, any hour.",
                                   contact: "+44 20 7946 0123" });
  await connectCall(`${CHECKIN}/UpdateCheckinSettings`, coordinator, { settings });
  const { context, page } = await signIn(browser, token, APP);
  try {
    await page.getByRole("link", { name: "Report a critical incident" }).click();          // 1
    await page.getByRole("radio", { name: "Aggression or threats" }).check();               // 2
    await expectAccessible(page, "incident");
    await page.getByRole("button", { name: "Send report" }).click();                        // 3
    await page.getByRole("heading", { name: "Your report is in" }).waitFor();
    const help = page.getByRole("region", { name: "Support you can reach now" });
    await help.getByText("Duty supervisor, day and night").waitFor();
    await help.getByRole("link", { name: "+44 20 7946 0123" }).waitFor();
    await expectAccessible(page, "incident reported");
    await screenshot(page, "volunteer-incident.png");

    // The supervision service offers a debrief after the incident (SPEC §5): it shows on the
    // home screen as an offer, Accept and Decline side by side.
    const offer = page.getByRole("article", { name: "A debrief is offered to you" });
    const deadline = Date.now() + 20000;
    for (;;) {
      await page.getByRole("link", { name: "Home", exact: true }).click();
      await page.getByRole("heading", { name: "Hello, Dev" }).waitFor();
      await page.getByRole("heading", { name: "Check-ins" }).waitFor();
      if (await offer.count()) break;
      assert.ok(Date.now() < deadline, "no debrief offer within 20 s of the incident");
      await page.getByRole("link", { name: "My data" }).click();
      await page.getByRole("heading", { name: "My data" }).waitFor();
    }
    await offer.getByRole("button", { name: "Decline" }).waitFor();
    await expectAccessible(page, "debrief offer");
    await offer.getByRole("button", { name: "Accept" }).click();
    await offer.getByText(/^Accepted: /).waitFor();
    const { sessions = [] } = await connectCall(`${SUPERVISION}/ListSessions`, token, {
      startTime: new Date(Date.now() - 86400000).toISOString(),
      endTime: new Date(Date.now() + 30 * 86400000).toISOString(),
    });
    const debrief = sessions.find((session) => session.kind === "SESSION_KIND_DEBRIEF");
    assert.equal(debrief?.state, "SESSION_STATE_SCHEDULED", JSON.stringify(sessions));
    assert.deepEqual(debrief.participantIds, [person.personId]);
  } finally {
    await context.close();
  }
});

test("“I'm struggling” is one tap, and shows who to reach", async () => {
  const { token } = await newVolunteer("Eli");
  const { context, page } = await signIn(browser, token, APP);
  try {
    await page.getByRole("button", { name: "I'm struggling" }).click();
    await page.getByRole("heading", { name: "You are not alone with this" }).waitFor();
    await page.getByText("If you are in crisis").waitFor();
    const { alerts = [] } = await connectCall("/peerwell.alerts.v1.AlertService/ListAlerts",
                                              token, {});
    assert.ok(alerts.some((alert) => alert.ruleId === "support_requested"),
              JSON.stringify(alerts));
  } finally {
    await context.close();
  }
});

test("a volunteer books a one-to-one from the proposed slots", async () => {
  const { token } = await newVolunteer("Fay");
  const { context, page } = await signIn(browser, token, APP);
  try {
    await page.getByRole("link", { name: "Supervision" }).click();
    await page.getByRole("heading", { name: "Supervision", level: 1 }).waitFor();
    const upcoming = page.getByRole("region", { name: "Upcoming sessions" });
    await upcoming.getByText("Nothing booked in the next two months.").waitFor();
    const slot = page.getByRole("button", { name: /^Book .* with Mette Rasmussen$/ }).first();
    await slot.waitFor();
    await expectAccessible(page, "supervision");
    await slot.click();
    await page.getByText(/^Booked: .* with Mette Rasmussen\.$/).waitFor();
    await upcoming.getByText(/One-to-one: One-to-one supervision, 60 minutes with Mette Rasmussen/)
      .waitFor();
  } finally {
    await context.close();
  }
});

test("a volunteer joins a group session that has seats left", async () => {
  const { token } = await newVolunteer("Max");
  // Mette runs a group at a time she is free (the first slot proposed to her volunteer).
  const start = new Date(Date.now() + 2 * 86400000);
  const { slots } = await connectCall(`${SUPERVISION}/ProposeSlots`, token, {
    kind: "SESSION_KIND_INDIVIDUAL", duration: "5400s", maxResults: 1,
    windowStartTime: start.toISOString(),
    windowEndTime: new Date(start.getTime() + 14 * 86400000).toISOString(),
  });
  const { session } = await connectCall(`${SUPERVISION}/CreateSession`, demo().tokens.supervisor, {
    session: { kind: "SESSION_KIND_GROUP", title: "Evening group supervision",
               supervisorIds: [people.get("Mette Rasmussen").personId],
               participantIds: [people.get("Amira Haddad").personId],
               startTime: slots[0].startTime, duration: "5400s", capacity: 6 },
    requestId: "volunteer-app-test-group",
  });
  const { context, page } = await signIn(browser, token, APP);
  try {
    await page.getByRole("link", { name: "Supervision" }).click();
    const open = page.getByRole("region", { name: "Join a group" });
    const item = open.getByRole("listitem").filter({ hasText: "Evening group supervision" });
    await item.getByText("(5 of 6 seats left)").waitFor();
    // Who else is in it is not the volunteer's to see.
    assert.equal(await open.getByText("Amira Haddad").count(), 0);
    await expectAccessible(page, "join a group");
    await item.getByRole("button", { name: /^Join Group: Evening group supervision, / }).click();
    await open.getByText(/^Joined: Group: Evening group supervision, /).waitFor();
    await page.getByRole("region", { name: "Upcoming sessions" })
      .getByText(/Group: Evening group supervision, 90 minutes with Mette Rasmussen/).waitFor();
    const { session: joined } = await connectCall(`${SUPERVISION}/GetSession`, token,
                                                  { sessionId: session.sessionId });
    assert.equal(joined.seatsLeft, 4);
  } finally {
    await context.close();
  }
});

test("buddies talk live, and a message can be reported", async () => {
  const amira = await signIn(browser, demo().tokens.volunteer, APP);
  const jonas = await signIn(browser, tokenOf("volunteer", "Jonas Nielsen"), APP);
  try {
    for (const { page } of [amira, jonas]) {
      await page.getByRole("link", { name: "Peers" }).click();
      await page.getByRole("heading", { name: "Peers" }).waitFor();
    }
    await expectAccessible(jonas.page, "peers");
    // The buddy channel as each sees it, by the name the service gives it.
    const buddyLink = (page) => page.getByRole("region", { name: "My channels" })
      .getByRole("listitem").filter({ hasText: "Buddy" }).getByRole("link");
    for (const { page } of [amira, jonas]) await buddyLink(page).click();
    const text = `Are you around after Thursday's group? (${Date.now()})`;
    await jonas.page.getByRole("log", { name: "Messages" })
      .getByText("Thank you, that means a lot.", { exact: false }).waitFor();
    await expectAccessible(jonas.page, "conversation");
    await amira.page.getByRole("textbox", { name: "Message" }).fill(text);
    await amira.page.getByRole("button", { name: "Send" }).click();
    await jonas.page.getByRole("log", { name: "Messages" }).getByText(text).waitFor();

    const message = jonas.page.getByRole("listitem").filter({ hasText: text });
    await message.getByRole("button", { name: "Report message from Amira Haddad" }).click();
    await jonas.page.getByRole("textbox", { name: "What is wrong with this message?" })
      .fill("Testing the report button.");
    await jonas.page.getByRole("button", { name: "Send report" }).click();
    await jonas.page.getByText(/^Reported\./).waitFor();
  } finally {
    await amira.context.close();
    await jonas.context.close();
  }
});

// Presses Tab until the focused element is the control named `name` (its text or its label).
async function tabTo(page, name) {
  for (let presses = 0; presses < 40; presses += 1) {
    await page.keyboard.press("Tab");
    const focused = await page.evaluate(() => {
      const element = document.activeElement;
      return (element.labels?.[0]?.textContent || element.textContent || "").trim();
    });
    if (focused === name) return;
  }
  assert.fail(`Tab never reached “${name}”`);
}

test("the pulse is sent with the keyboard alone", async () => {
  const { token } = await newVolunteer("Kit");
  const { context, page } = await signIn(browser, token, APP);
  try {
    await page.getByRole("heading", { name: "Hello, Kit" }).waitFor();
    await tabTo(page, "After-session pulse");
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "After-session pulse" }).waitFor();
    // Each question is a radio group: Tab enters it, the arrow keys and Space choose.
    await tabTo(page, "Very low");
    await page.keyboard.press("ArrowDown");  // Low
    await page.keyboard.press("Tab");
    await page.keyboard.press("Space");      // No
    await page.keyboard.press("ArrowDown");  // Yes
    await page.keyboard.press("Tab");
    await page.keyboard.press("Space");      // No
    await tabTo(page, "Send pulse");
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Thank you" })
      .or(page.getByRole("alert").filter({ hasText: /./ })).waitFor();
    assert.equal(await page.getByRole("alert").filter({ hasText: /./ }).count(), 0,
                 await page.getByRole("alert").allInnerTexts());
    const { checkins: [pulse] } = await connectCall(`${CHECKIN}/ListCheckins`, token, {});
    const answers = Object.fromEntries(pulse.answers.map((a) => [a.itemId, a.value ?? 0]));
    assert.deepEqual(answers, { energy: 2, stayed_with_me: 1, want_to_talk: 0 });
  } finally {
    await context.close();
  }
});

test("at 200 % zoom the pages reflow without scrolling sideways, and the tabs cover nothing",
     async () => {
  const { token } = await newVolunteer("Lou");
  // A 1280 × 800 screen at 200 %: 640 × 400 CSS pixels.
  const { context, page } = await signIn(browser, token, {
    viewport: { width: 640, height: 400, deviceScaleFactor: 2 }, path: "/volunteer/",
  });
  try {
    for (const [link, heading] of [["Home", /^Hello/], ["My data", "My data"],
                                   ["Supervision", "Supervision"], ["Peers", "Peers"]]) {
      await page.getByRole("link", { name: link, exact: true }).click();
      await page.getByRole("heading", { name: heading, level: 1 }).waitFor();
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= 640, `${link}: ${width} px wide in a 640 px window`);
    }
    const position = await page.locator("#nav").evaluate((nav) => getComputedStyle(nav).position);
    assert.equal(position, "static");
  } finally {
    await context.close();
  }
});

// "HH:MM" in UTC, `hours` from now.
function utcClock(hours) {
  return new Date(Date.now() + hours * 3600000).toISOString().slice(11, 16);
}

test("a message in a volunteer's quiet hours raises no badge; one outside them does", async () => {
  const author = await newVolunteer("Hal");
  const resting = await newVolunteer("Ida", { quietHours: { start: utcClock(-2), end: utcClock(2) } });
  const awake = await newVolunteer("Joy");
  const channels = [];
  for (const { person } of [resting, awake]) {
    const { channel } = await connectCall(`${NETWORK}/CreateChannel`, author.token, {
      channel: { kind: "CHANNEL_KIND_DIRECT", memberIds: [person.personId] },
      requestId: `direct-${person.personId}`,
    });
    channels.push(channel);
  }
  const pages = [];
  try {
    for (const { token } of [resting, awake]) {
      const opened = await signIn(browser, token, APP);
      pages.push(opened);
      await opened.page.getByRole("link", { name: "Peers" }).click();
      await opened.page.getByRole("region", { name: "My channels" }).getByRole("listitem")
        .filter({ hasText: "Conversation" }).waitFor();
    }
    for (const channel of channels) {
      await connectCall(`${NETWORK}/PostMessage`, author.token, {
        channelId: channel.channelId, body: "How did tonight go?",
        clientMessageId: `hello-${channel.channelId}`,
      });
    }
    const [restingPage, awakePage] = pages.map(({ page }) => page);
    // Both hear of the message (their lists count it), only the one outside quiet hours is
    // signalled.
    for (const page of [restingPage, awakePage]) {
      await page.getByRole("region", { name: "My channels" }).getByRole("listitem")
        .filter({ hasText: "Conversation" }).getByText("1 unread").waitFor();
    }
    await awakePage.getByRole("link", { name: "Peers 1 new" }).waitFor();
    assert.equal(await restingPage.getByRole("link", { name: /new/ }).count(), 0);
    assert.equal(await restingPage.getByRole("link", { name: "Peers", exact: true }).count(), 1);
  } finally {
    for (const { context } of pages) await context.close();
  }
});

test("a volunteer asks another to be buddies; she sees the invitation live and joins", async () => {
  const asking = await newVolunteer("Ola");
  const asked = await newVolunteer("Pia");
  const ola = await signIn(browser, asking.token, APP);
  const pia = await signIn(browser, asked.token, APP);
  try {
    await pia.page.getByRole("link", { name: "Peers" }).click();
    const piaChannels = pia.page.getByRole("region", { name: "My channels" });
    await piaChannels.getByRole("link").first().waitFor();

    await ola.page.getByRole("link", { name: "Peers" }).click();
    const start = ola.page.getByRole("region", { name: "Start a conversation" });
    await start.getByRole("combobox", { name: "With" }).selectOption({ label: asked.person.displayName });
    await start.getByRole("radio", { name: "Ask them to be my buddy" }).check();
    await expectAccessible(ola.page, "start a conversation");
    await start.getByRole("button", { name: "Start" }).click();
    // The service names a pair's channel after both, in an order of its own.
    const [a, b] = [asking.person.displayName, asked.person.displayName];
    const pair = new RegExp(`^(${a} and ${b}|${b} and ${a})$`);
    await ola.page.getByRole("heading", { name: pair }).waitFor();

    // The invitation reaches Pia's open list without a reload.
    const invitation = piaChannels.getByRole("listitem").filter({ hasText: "invited" });
    await invitation.getByRole("link", { name: pair }).click();
    await pia.page.getByText("You are invited to this conversation.").waitFor();
    await expectAccessible(pia.page, "an invitation");
    await pia.page.getByRole("button", { name: "Join" }).click();
    await pia.page.getByRole("textbox", { name: "Message" }).waitFor();

    // Ola's page opened before Pia joined: it posts once she has.
    await ola.page.reload();
    await ola.page.getByRole("textbox", { name: "Message" }).fill("Thanks for saying yes!");
    await ola.page.getByRole("button", { name: "Send" }).click();
    await pia.page.getByRole("log", { name: "Messages" }).getByText("Thanks for saying yes!")
      .waitFor();
  } finally {
    await ola.context.close();
    await pia.context.close();
  }
});

test("a volunteer sees their own data, and a dashboard link takes them to the app", async () => {
  // Signed in at the dashboard's address: the app opens instead, signed in.
  const { context, page } = await signIn(browser, tokenOf("volunteer", "Jonas Nielsen"),
                                         { viewport: PHONE, forAxe: true });
  try {
    await page.getByRole("heading", { name: "Hello, Jonas" }).waitFor();
    assert.equal(new URL(page.url()).pathname, "/volunteer/");
    await page.getByRole("link", { name: "My data" }).click();
    await page.getByRole("heading", { name: "My data" }).waitFor();
    await page.getByText(/Your burnout risk is/).waitFor();
    await page.getByRole("article", { name: /Burnout rising/ }).waitFor();
    await page.getByRole("figure").filter({ hasText: "Wellbeing (WHO-5)" }).first().waitFor();
    const monitoring = page.getByRole("switch", { name: "Risk monitoring" });
    assert.equal(await monitoring.isChecked(), true);
    // Nobody else, and nothing to act on: these are about them, for them to see.
    assert.equal(await page.getByText("Zofia Wiśniewska").count(), 0);
    assert.equal(await page.getByRole("button", { name: "Acknowledge" }).count(), 0);
    await expectAccessible(page, "my data");
  } finally {
    await context.close();
  }
});

test("consent switches change what the directory holds", async () => {
  const { token } = await newVolunteer("Gus");
  const { context, page } = await signIn(browser, token, APP);
  try {
    await page.getByRole("link", { name: "My data" }).click();
    const share = page.getByRole("switch", { name: "Share my scores with my supervisor" });
    await share.waitFor();
    assert.equal(await share.isChecked(), false);
    await share.check();
    await page.getByText("Share my scores with my supervisor: on.").waitFor();
    const { consent } = await connectCall(`${DIRECTORY}/GetConsent`, token, {});
    assert.equal(consent.shareScoresWithSupervisor, true);
    assert.equal(consent.riskMonitoring, true);
  } finally {
    await context.close();
  }
});

test("without a token the app asks to sign in, and a pasted token signs in", async () => {
  const context = await browser.newContext({ viewport: { width: PHONE.width, height: PHONE.height },
                                             bypassCSP: true });
  try {
    const page = await context.newPage();
    await page.goto(`${gatewayUrl()}/volunteer/`);
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    await expectAccessible(page, "sign in");
    await page.getByLabel("Access token").fill(tokenOf("volunteer", "Priya Natarajan"));
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Hello, Priya" }).waitFor();
  } finally {
    await context.close();
  }
});
