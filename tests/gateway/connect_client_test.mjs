// The gateway as published Connect clients meet it: connect-es's Node transport (nobody here
// wrote it), with the services' descriptors loaded at run time from the FileDescriptorSet the
// build writes, against the whole suite started by peerwell-suite-runner with the demo data.
import assert from "node:assert/strict";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { test } from "node:test";

const require = createRequire(path.join(process.env.DEPLOY_NODE_MODULES, "index.js"));
const { createFileRegistry, fromBinary } = require("@bufbuild/protobuf");
const { FileDescriptorSetSchema, timestampFromDate } = require("@bufbuild/protobuf/wkt");
const { Code, ConnectError, createClient } = require("@connectrpc/connect");
const { createConnectTransport } = require("@connectrpc/connect-node");

const registry = createFileRegistry(
  fromBinary(FileDescriptorSetSchema, fs.readFileSync(process.env.PEERWELL_DESCRIPTOR_SET)));
const transport = createConnectTransport({
  baseUrl: process.env.PEERWELL_GATEWAY_URL,
  httpVersion: "1.1",
  jsonOptions: { registry },
});
const client = (name) => createClient(registry.getService(name), transport);
const directory = client("peerwell.directory.v1.DirectoryService");
const checkins = client("peerwell.checkin.v1.CheckinService");
const alerts = client("peerwell.alerts.v1.AlertService");

const demo = JSON.parse(fs.readFileSync(process.env.PEERWELL_DEMO_JSON, "utf8"));
const as = (token, extra = {}) => ({ headers: { authorization: `Bearer ${token}` }, ...extra });
const subjectOf = (token) =>
  JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString()).sub;
const volunteerId = subjectOf(demo.tokens.volunteer);
const INCIDENT_TYPE_SUICIDE_DISCLOSURE = 2;

async function expectCode(promise, code) {
  await assert.rejects(promise, (error) => {
    assert.ok(error instanceof ConnectError, `not a ConnectError: ${error}`);
    assert.equal(Code[error.code], Code[code], error.message);
    return true;
  });
}

async function reportIncident() {
  const reported = await checkins.reportCriticalIncident(
    { incidentType: INCIDENT_TYPE_SUICIDE_DISCLOSURE,
      occurTime: timestampFromDate(new Date(Date.now() - 60_000)) },
    as(demo.tokens.volunteer));
  assert.ok(reported.incident.incidentId);
}

// Reads `iterator` until `matches` accepts an event or `ms` pass; the event, or a failure. The
// waits are long because under a full parallel test run the alerts service may still be working
// through the demo's imported check-ins when the test's incident arrives.
// `pending` is a read already asked for (a stream's request goes out with its first read).
async function nextMatching(iterator, matches, ms, pending = iterator.next()) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    let timer;
    let result;
    try {
      result = await Promise.race([
        pending,
        new Promise((resolve) => {
          timer = setTimeout(() => resolve({ timeout: true }), deadline - Date.now());
        }),
      ]);
    } finally {
      clearTimeout(timer);  // a failed read must not keep the process waiting
    }
    if (result.timeout || result.done) break;
    if (matches(result.value)) return result.value;
    pending = iterator.next();
  }
  assert.fail(`no matching event within ${ms} ms`);
}

// Drops a stream as a client that goes away does, with a read outstanding, so that the
// cancellation (and the socket's end that may follow it) reaches a reader instead of surfacing
// as an unhandled rejection after the test.
async function hangUp(iterator, controller) {
  const last = iterator.next();
  controller.abort();
  await last.then(() => {}, () => {});
}

test("unary calls return the services' answers in protobuf's JSON mapping", async () => {
  const listed = await directory.listPeople({}, as(demo.tokens.coordinator));
  const names = listed.people.map((person) => person.displayName);
  assert.ok(names.includes("Grace Okafor"), names.join(", "));
  assert.ok(names.length >= demo.people.length - 1);

  const me = await directory.getPerson({ personId: volunteerId }, as(demo.tokens.volunteer));
  assert.equal(me.person.personId, volunteerId);
});

test("errors arrive as the codes the services gave", async () => {
  await expectCode(directory.getPerson({ personId: "not an id" }, as(demo.tokens.supervisor)),
                   Code.InvalidArgument);
  await expectCode(
    directory.getPerson({ personId: "p0000000000000000000a" }, as(demo.tokens.supervisor)),
    Code.NotFound);
  await expectCode(directory.listPeople({}), Code.Unauthenticated);
  await expectCode(directory.listPeople({}, as("not-a-token")), Code.Unauthenticated);
  await expectCode(
    directory.assignSupervisor({ volunteerId, supervisorId: volunteerId },
                               as(demo.tokens.volunteer)),
    Code.PermissionDenied);
});

test("a deadline set by the client reaches the service", async () => {
  const started = Date.now();
  const stream = alerts.watchAlerts({}, as(demo.tokens.supervisor, { timeoutMs: 500 }));
  await assert.rejects(
    (async () => { for await (const _ of stream) { /* nothing arrives */ } })(),
    (error) => ConnectError.from(error).code === Code.DeadlineExceeded);
  assert.ok(Date.now() - started >= 450);
});

test("WatchAlerts streams live events and resumes after a dropped connection", async () => {
  let live;
  const isLive = new Promise((resolve) => { live = resolve; });
  const first = new AbortController();
  const stream = alerts.watchAlerts({}, as(demo.tokens.supervisor, {
    signal: first.signal,
    onHeader: () => live(),
  }))[Symbol.asyncIterator]();
  const firstRead = stream.next();  // sends the request
  await isLive;

  await reportIncident();
  const seen = await nextMatching(
    stream,
    (event) => event.alert?.ruleId === "critical_incident" && event.alert.volunteerId === volunteerId,
    60_000, firstRead);
  assert.ok(seen.resumeToken, "events carry a resume token");
  await hangUp(stream, first);  // the connection drops

  // While nobody watches, the volunteer reports again; the stream resumed from the last token
  // delivers what happened in between.
  await reportIncident();
  const second = new AbortController();
  const signal = AbortSignal.any([second.signal, AbortSignal.timeout(60_000)]);
  const resumed = alerts.watchAlerts({ resumeToken: seen.resumeToken },
                                     as(demo.tokens.supervisor, { signal }))[Symbol.asyncIterator]();
  const missed = await nextMatching(resumed,
    (event) => event.alert?.volunteerId === volunteerId && event.resumeToken !== seen.resumeToken,
    60_000);
  assert.ok(missed.alert.occurrenceCount >= 1);
  await hangUp(resumed, second);
});
