// Offline checks of PeerWell's deployment artefacts, driven by tests/deploy/validate.sh.
//
//   node validate-manifests.mjs binaries BINARIES_JSON BINARY...
//       runs each binary's --help and records its settings and default ports
//   node validate-manifests.mjs manifests BINARIES_JSON LABEL=RENDERED.yaml...
//       every object against the Kubernetes (and prometheus-operator) API schemas, unknown
//       fields included, then the suite's contract with the binaries (SPEC §8)
//   node validate-manifests.mjs selftest BINARIES_JSON LABEL=RENDERED.yaml...
//       broken copies of good renders must each be rejected, for the reason planted (LABEL
//       "helm ..." or "kustomize dev|prod" says which mutations apply)
//   node validate-manifests.mjs rules RENDERED.yaml OUT.yaml
//       the PrometheusRule's groups as a Prometheus rules file, for promtool
//   node validate-manifests.mjs dockerfile BINARIES_JSON REPO_ROOT
//       static checks of deploy/Dockerfile and its ignore file, then broken copies of it
//   node validate-manifests.mjs acl-files REPO_ROOT
//       the Redis ACL rules and the script that makes Redis's ACL file of them: the chart's
//       (helm/peerwell/files/) are links to deploy/base's, and the rules are well formed, with a
//       user for every service that uses Redis; then broken copies of them
//
// BINARIES_JSON describes the built binaries: [{name, env: [PEERWELL_*...], listenPort,
// metricsPort}], as their --help tells.
//
// The packages come from the cache tools/deploy-tools.sh fills: DEPLOY_NODE_MODULES names it.

import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

// What redis-acl-file.sh writes first: nobody may log in as the default user, yet it keeps every
// permission, because Redis 7.0 and 7.2 replay the append-only file's MULTI/EXEC blocks as the
// default user and re-check that user's permissions at EXEC: without them, every scripted write
// is dropped when Redis restarts.
const kDefaultUserLine = "user default off ~* &* +@all";

const nodeModules = process.env.DEPLOY_NODE_MODULES;
if (!nodeModules) {
  console.error("DEPLOY_NODE_MODULES is not set (run through tests/deploy/validate.sh)");
  process.exit(2);
}
const load = (rel) => import(pathToFileURL(path.join(nodeModules, rel)).href);
const YAML = await load("yaml/dist/index.js");

// SPEC §8: the gRPC port of each service (gateway: HTTP), and the webhooks service's, which
// came after it. Metrics ports come from --help.
const SPEC_PORTS = {
  directory: 50051, checkin: 50052, alerts: 50053, supervision: 50054, network: 50055,
  webhooks: 50056, gateway: 8080,
};
// The servers that speak HTTP, not gRPC, and their health path (200 while serving, 503 once
// draining). The rest have gRPC health.
const HTTP_HEALTH = { gateway: "/healthz" };
// SPEC §8: "only the gateway is reachable from outside".
const EXPOSED = new Set(["gateway"]);
// What each service cannot run without besides its listen and metrics addresses. Only a
// service that needs the master key (it seals data) may be given it; one that needs no key
// (the gateway passes callers' credentials on) may mount no Secret at all. Likewise the key of
// partners' pseudonyms: only the services that make them (check-ins' exports, webhooks'
// payloads).
const ADDRESSES = ["DIRECTORY", "CHECKIN", "ALERTS", "SUPERVISION", "NETWORK", "WEBHOOKS"]
  .map((s) => `PEERWELL_${s}_ADDR`);
const NEEDS = {
  // A person's export gathers every service's records.
  directory: ["redis", "jwt", "PEERWELL_CHECKIN_ADDR", "PEERWELL_ALERTS_ADDR",
              "PEERWELL_SUPERVISION_ADDR", "PEERWELL_NETWORK_ADDR"],
  checkin: ["redis", "jwt", "masterKey", "pseudonymKey", "PEERWELL_DIRECTORY_ADDR"],
  alerts: ["redis", "jwt", "masterKey", "PEERWELL_DIRECTORY_ADDR"],
  supervision: ["redis", "jwt", "PEERWELL_DIRECTORY_ADDR"],
  network: ["redis", "jwt", "masterKey", "PEERWELL_DIRECTORY_ADDR"],
  webhooks: ["redis", "jwt", "pseudonymKey", "PEERWELL_DIRECTORY_ADDR"],
  gateway: [...ADDRESSES],
};
// The one service that connects out to the internet (partners' webhook receivers) and its TCP
// ports. Nothing else may reach an address outside the cluster, and it only public ones: never
// the ranges below, where the cluster's pods, Services and nodes, loopback and a cloud's
// metadata service (169.254.169.254) are.
const INTERNET_EGRESS = { webhooks: [443] };
const NOT_INTERNET = [
  ["10.0.0.0/8", "private"], ["172.16.0.0/12", "private"], ["192.168.0.0/16", "private"],
  ["100.64.0.0/10", "shared, CGNAT"], ["127.0.0.0/8", "loopback"], ["169.254.0.0/16", "link-local"],
  ["fc00::/7", "unique local"], ["fe80::/10", "link-local"], ["::1/128", "loopback"],
];
// Public addresses (documentation ranges: public in form, routed nowhere).
const PUBLIC_ADDRESSES = ["198.51.100.20", "2001:db8::20"];

// ---------------------------------------------------------------------------------------------
// Parsing

function parseRender(file) {
  const text = fs.readFileSync(file, "utf8");
  // Kubernetes reads manifests as YAML 1.1 (`yes` is a boolean, 0440 is octal): so do we.
  const docs = YAML.parseAllDocuments(text, { version: "1.1", uniqueKeys: true });
  const objects = [];
  const errors = [];
  for (const doc of docs) {
    for (const e of doc.errors) errors.push(`YAML: ${e.message}`);
    for (const w of doc.warnings) errors.push(`YAML: ${w.message}`);
    const value = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) continue;
    objects.push(value);
  }
  return { objects, errors };
}

// ---------------------------------------------------------------------------------------------
// Schema validation with unknown fields
//
// kubernetes-models ships each type's JSON schema compiled into an ajv validator, and those
// schemas allow unknown properties (a misspelt `readinesProbe` passes, and the API server would
// drop it). The validators read every property their schema knows (`data.readinessProbe`) and
// enumerate the keys of maps (labels): so we validate a proxy that records which keys of each
// object were read, and report every key the schema never asked for.

const modelCache = new Map();

async function modelFor(apiVersion, kind) {
  if (typeof apiVersion !== "string" || typeof kind !== "string") return null;
  const key = `${apiVersion}/${kind}`;
  if (modelCache.has(key)) return modelCache.get(key);
  let model = null;
  const pkg = apiVersion.includes("monitoring.coreos.com")
    ? "@kubernetes-models/prometheus-operator"
    : "kubernetes-models";
  const file = path.join(nodeModules, pkg, apiVersion, "index.mjs");
  if (/^[a-z0-9.]*\/?v[0-9a-z]+$/.test(apiVersion) && fs.existsSync(file)) {
    const module = await import(pathToFileURL(file).href);
    for (const value of Object.values(module)) {
      if (typeof value === "function" && value.apiVersion === apiVersion && value.kind === kind) {
        model = value;
        break;
      }
    }
  }
  modelCache.set(key, model);
  return model;
}

function tracked(value, reads) {
  if (value === null || typeof value !== "object") return value;
  const keys = new Set();
  reads.set(value, keys);
  const children = new Map();
  return new Proxy(value, {
    get(target, key, receiver) {
      if (typeof key === "string") keys.add(key);
      const child = Reflect.get(target, key, receiver);
      if (child === null || typeof child !== "object") return child;
      if (!children.has(key)) children.set(key, tracked(child, reads));
      return children.get(key);
    },
  });
}

function unknownFields(value, reads, where, out) {
  if (value === null || typeof value !== "object") return;
  const keys = reads.get(value);
  for (const key of Object.keys(value)) {
    const here = `${where}.${key}`;
    if (!Array.isArray(value) && (!keys || !keys.has(key))) {
      out.push(`unknown field ${here}`);
      continue;
    }
    unknownFields(value[key], reads, here, out);
  }
}

async function validateObject(object) {
  const model = await modelFor(object?.apiVersion, object?.kind);
  if (!model) return [`unknown kind ${object?.apiVersion} ${object?.kind}`];
  const errors = [];
  const reads = new Map();
  try {
    model.prototype.validate.call(tracked(object, reads));
  } catch (e) {
    errors.push(`schema: ${e.message}`);
  }
  unknownFields(object, reads, "", errors);
  if (!object.metadata?.name) errors.push("metadata.name is missing");
  return errors;
}

// ---------------------------------------------------------------------------------------------
// Contract checks (SPEC §8 and the binaries)

function selects(selector, labels) {
  if (!selector) return false;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) {
    if (labels?.[k] !== v) return false;
  }
  for (const e of selector.matchExpressions ?? []) {
    const has = labels && Object.prototype.hasOwnProperty.call(labels, e.key);
    const value = labels?.[e.key];
    if (e.operator === "In" && !(has && e.values.includes(value))) return false;
    if (e.operator === "NotIn" && has && e.values.includes(value)) return false;
    if (e.operator === "Exists" && !has) return false;
    if (e.operator === "DoesNotExist" && has) return false;
  }
  return true;
}

// A plain map selector (Service.spec.selector): every pair must match; empty selects nothing.
function mapSelects(selector, labels) {
  const pairs = Object.entries(selector ?? {});
  return pairs.length > 0 && pairs.every(([k, v]) => labels?.[k] === v);
}

function index(objects) {
  const by = (kind) => objects.filter((o) => o.kind === kind);
  const named = (kind) => new Map(by(kind).map((o) => [o.metadata.name, o]));
  return {
    deployments: by("Deployment"),
    statefulSets: by("StatefulSet"),
    services: by("Service"),
    configMaps: named("ConfigMap"),
    secrets: named("Secret"),
    serviceAccounts: named("ServiceAccount"),
    networkPolicies: by("NetworkPolicy"),
    hpas: by("HorizontalPodAutoscaler"),
    ingresses: by("Ingress"),
    pdbs: by("PodDisruptionBudget"),
    serviceMonitors: by("ServiceMonitor"),
  };
}

function checkSecurity(podSpec, container, what, errors) {
  const pod = podSpec.securityContext ?? {};
  const c = container.securityContext ?? {};
  if (!(c.runAsNonRoot ?? pod.runAsNonRoot)) errors.push(`${what}: runAsNonRoot is not set`);
  for (const uid of [pod.runAsUser, c.runAsUser]) {
    if (uid === 0) errors.push(`${what}: runs as uid 0`);
  }
  if (c.readOnlyRootFilesystem !== true) errors.push(`${what}: readOnlyRootFilesystem is not true`);
  if (c.allowPrivilegeEscalation !== false) {
    errors.push(`${what}: allowPrivilegeEscalation is not false`);
  }
  if (c.privileged === true) errors.push(`${what}: privileged`);
  if (!(c.capabilities?.drop ?? []).includes("ALL")) errors.push(`${what}: capabilities do not drop ALL`);
  if (c.capabilities?.add?.length) errors.push(`${what}: adds capabilities`);
  const seccomp = c.seccompProfile?.type ?? pod.seccompProfile?.type;
  if (seccomp !== "RuntimeDefault") errors.push(`${what}: seccompProfile is not RuntimeDefault`);
}

function checkPodBasics(ix, podSpec, what, errors) {
  const account = ix.serviceAccounts.get(podSpec.serviceAccountName);
  if (!podSpec.serviceAccountName || !account) {
    errors.push(`${what}: serviceAccountName names no rendered ServiceAccount`);
  } else if (account.automountServiceAccountToken !== false) {
    errors.push(`${what}: ServiceAccount ${account.metadata.name} mounts a token`);
  }
  if (podSpec.automountServiceAccountToken !== false) {
    errors.push(`${what}: automountServiceAccountToken is not false`);
  }
  // Service links would add PEERWELL_<SERVICE>_PORT... variables next to the real settings.
  if (podSpec.enableServiceLinks !== false) errors.push(`${what}: enableServiceLinks is not false`);
  checkSecretNames(ix, podSpec, what, errors);
}

// A Secret that is not rendered is one the operator manages (Helm's existingSecret, kustomize
// prod). A render that generates its Secrets manages them all, so there a name it does not
// render is a mistake, and the pod would wait in ContainerCreating for a Secret nobody makes.
function checkSecretNames(ix, podSpec, what, errors) {
  if (ix.secrets.size === 0) return;
  const named = [
    ...(podSpec.volumes ?? []).filter((v) => v.secret)
      .map((v) => [`Secret volume ${v.name}`, v.secret.secretName]),
    ...(podSpec.volumes ?? []).flatMap((v) => (v.projected?.sources ?? []).filter((p) => p.secret)
      .map((p) => [`projected volume ${v.name}`, p.secret.name])),
    ...[...(podSpec.initContainers ?? []), ...podSpec.containers].flatMap((c) => [
      ...(c.env ?? []).filter((e) => e.valueFrom?.secretKeyRef)
        .map((e) => [`${e.name}`, e.valueFrom.secretKeyRef.name]),
      ...(c.envFrom ?? []).filter((f) => f.secretRef).map((f) => ["envFrom", f.secretRef.name]),
    ]),
  ];
  for (const [where, name] of named) {
    if (!ix.secrets.has(name)) {
      errors.push(`${what}: ${where} names Secret ${name}, which is not rendered, while the ` +
                  `render generates its Secrets (${[...ix.secrets.keys()].join(", ")})`);
    }
  }
}

// The container's environment as name -> {value} | {secret} | {configMap} (envFrom included).
function environment(ix, container, what, errors) {
  const env = new Map();
  for (const from of container.envFrom ?? []) {
    if (from.configMapRef) {
      const cm = ix.configMaps.get(from.configMapRef.name);
      if (!cm) {
        errors.push(`${what}: envFrom ConfigMap ${from.configMapRef.name} is not rendered`);
        continue;
      }
      for (const [k, v] of Object.entries(cm.data ?? {})) env.set((from.prefix ?? "") + k, { value: v });
    } else {
      errors.push(`${what}: envFrom ${JSON.stringify(from)}: its names cannot be checked`);
    }
  }
  for (const e of container.env ?? []) {
    if (e.valueFrom?.secretKeyRef) env.set(e.name, { secret: e.valueFrom.secretKeyRef });
    else if (e.valueFrom?.configMapKeyRef) {
      const ref = e.valueFrom.configMapKeyRef;
      const value = ix.configMaps.get(ref.name)?.data?.[ref.key];
      if (value === undefined) errors.push(`${what}: ${e.name} refers to a missing ConfigMap key`);
      env.set(e.name, { value });
    } else if (e.valueFrom) env.set(e.name, { other: e.valueFrom });
    else env.set(e.name, { value: e.value ?? "" });
  }
  return env;
}

function podsOf(ix) {
  return [
    ...ix.deployments.map((o) => ({ object: o, kind: "Deployment" })),
    ...ix.statefulSets.map((o) => ({ object: o, kind: "StatefulSet" })),
  ];
}

// The Service a host name means (name, name.ns, name.ns.svc, name.ns.svc.<domain>).
function serviceByHost(ix, host, namespace) {
  const parts = host.split(".");
  if (parts.length > 1 && namespace && parts[1] !== namespace) return null;
  if (parts.length > 2 && parts[2] !== "svc") return null;
  return ix.services.find((s) => s.metadata.name === parts[0]) ?? null;
}

// The workload (and its container port) a Service port leads to.
function serviceTargets(ix, service, port) {
  const sp = (service.spec.ports ?? []).find((p) => p.port === port);
  if (!sp) return [];
  const hits = [];
  for (const { object } of podsOf(ix)) {
    const labels = object.spec.template.metadata?.labels;
    if (!mapSelects(service.spec.selector, labels)) continue;
    for (const c of object.spec.template.spec.containers) {
      for (const cp of c.ports ?? []) {
        const target = sp.targetPort ?? sp.port;
        if (cp.containerPort === target || cp.name === target) hits.push({ object, port: cp.containerPort });
      }
    }
  }
  return hits;
}

// The Secret and key a mounted file comes from: a Secret volume, or a projected volume's Secret
// source (kustomize's services: peerwell-secrets and peerwell-redis-passwords in one folder).
function secretFile(ix, podSpec, container, file, what, errors) {
  const mount = (container.volumeMounts ?? []).find(
    (m) => file.startsWith(m.mountPath.replace(/\/?$/, "/")));
  if (!mount) return errors.push(`${what}: ${file} is on no volume mount`);
  if (mount.readOnly !== true) errors.push(`${what}: secret mount ${mount.mountPath} is not readOnly`);
  const volume = (podSpec.volumes ?? []).find((v) => v.name === mount.name);
  const sources = volume?.secret
    ? [{ name: volume.secret.secretName, items: volume.secret.items }]
    : (volume?.projected?.sources ?? []).filter((p) => p.secret)
      .map((p) => ({ name: p.secret.name, items: p.secret.items }));
  if (sources.length === 0) return errors.push(`${what}: ${file} is not on a Secret volume`);
  const rel = file.slice(mount.mountPath.replace(/\/?$/, "/").length);
  const source = sources.find((x) => x.items?.some((i) => i.path === rel)) ??
    (sources.length === 1 && !sources[0].items ? sources[0] : null);
  if (!source) return errors.push(`${what}: Secret volume ${volume.name} has no item ${rel}`);
  const key = source.items ? source.items.find((i) => i.path === rel).key : rel;
  return { secretName: source.name, key };
}

function checkSecretValue(ix, ref, kind, what, errors) {
  const secret = ix.secrets.get(ref.secretName);
  if (!secret) return; // an existing Secret the operator manages
  const raw = secret.data?.[ref.key] !== undefined
    ? Buffer.from(secret.data[ref.key], "base64").toString("utf8")
    : secret.stringData?.[ref.key];
  if (raw === undefined) return errors.push(`${what}: Secret ${ref.secretName} has no key ${ref.key}`);
  const text = raw.replace(/[\r\n]+$/, "");
  // Redis's ACL file ends a password at the first space.
  if (kind === "redisPassword" && (/\s/.test(text) || Buffer.byteLength(text) < 32)) {
    errors.push(`${what}: the Redis password ${ref.key} in ${ref.secretName} is shorter than 32 ` +
                `bytes or has white space in it`);
  }
  if (kind === "jwt" && Buffer.byteLength(text) < 32) {
    errors.push(`${what}: the JWT secret in ${ref.secretName} is shorter than 32 bytes`);
  }
  if (kind === "key" && (!/^[A-Za-z0-9+/]+=*$/.test(text) ||
                         Buffer.from(text, "base64").length !== 32)) {
    errors.push(`${what}: ${ref.key} in ${ref.secretName} is not base64 of 32 bytes`);
  }
}

function checkSecretSetting(ix, podSpec, container, env, name, kind, what, errors) {
  const direct = env.get(`PEERWELL_${name}`);
  const file = env.get(`PEERWELL_${name}_FILE`);
  if (direct && file) errors.push(`${what}: both PEERWELL_${name} and PEERWELL_${name}_FILE`);
  if (direct) {
    if (!direct.secret) return errors.push(`${what}: PEERWELL_${name} is not taken from a Secret`);
    return checkSecretValue(ix, { secretName: direct.secret.name, key: direct.secret.key }, kind,
                            what, errors);
  }
  if (!file?.value) return errors.push(`${what}: PEERWELL_${name} (or _FILE) is not set`);
  const ref = secretFile(ix, podSpec, container, file.value, what, errors);
  if (ref?.secretName) checkSecretValue(ix, ref, kind, what, errors);
}

function checkAddress(ix, env, name, namespace, wantService, what, errors) {
  const value = env.get(name)?.value;
  if (!value) return errors.push(`${what}: ${name} is not set`);
  const m = /^dns:\/\/\/([a-z0-9.-]+):([0-9]+)$/.exec(value);
  if (!m) {
    return errors.push(`${what}: ${name}=${value} is not a dns:/// target (gRPC's DNS resolver ` +
                       `gives round_robin every replica)`);
  }
  const service = serviceByHost(ix, m[1], namespace);
  if (!service) return errors.push(`${what}: ${name}: no rendered Service ${m[1]}`);
  if (service.spec.clusterIP !== "None") {
    errors.push(`${what}: ${name}: ${service.metadata.name} is not headless (one ClusterIP ` +
                `address would pin every call to one connection)`);
  }
  const targets = serviceTargets(ix, service, Number(m[2]));
  const binary = (o) => path.basename(o.spec.template.spec.containers[0].command?.[0] ?? "");
  if (!targets.some((t) => binary(t.object) === `peerwell-${wantService}` &&
                           t.port === SPEC_PORTS[wantService])) {
    errors.push(`${what}: ${name}=${value} does not lead to peerwell-${wantService}'s gRPC port`);
  }
}

function checkRedisAddress(ix, env, namespace, what, errors) {
  const value = env.get("PEERWELL_REDIS_ADDR")?.value;
  if (!value) return errors.push(`${what}: PEERWELL_REDIS_ADDR is not set`);
  if (env.get("PEERWELL_REDIS_MODE")?.value === "cluster") {
    // A Redis Cluster's seed nodes: an external cluster, never the bundled single Redis.
    const nodes = value.split(",");
    if (!nodes.every((node) => /^[a-z0-9.-]+:[0-9]+$/.test(node))) {
      return errors.push(`${what}: PEERWELL_REDIS_ADDR=${value} is not host:port,host:port,...`);
    }
    if (ix.statefulSets.length > 0) {
      errors.push(`${what}: PEERWELL_REDIS_MODE=cluster, yet the single bundled Redis is rendered`);
    }
    return;
  }
  const m = /^([a-z0-9.-]+):([0-9]+)$/.exec(value);
  if (!m) {
    return errors.push(`${what}: PEERWELL_REDIS_ADDR=${value} is not host:port` +
                       (value.includes(",") ? " (a list of nodes needs PEERWELL_REDIS_MODE=cluster)" : ""));
  }
  const service = serviceByHost(ix, m[1], namespace);
  if (!service) {
    if (ix.statefulSets.length > 0) {
      errors.push(`${what}: PEERWELL_REDIS_ADDR=${value} names no rendered Service, yet Redis is rendered`);
    }
    return; // an external Redis
  }
  const targets = serviceTargets(ix, service, Number(m[2]));
  if (!targets.some((t) => t.object.kind === "StatefulSet")) {
    errors.push(`${what}: PEERWELL_REDIS_ADDR=${value} does not lead to the Redis StatefulSet`);
  }
}

// The suite's name for a workload's server: "directory" for peerwell-directory.
function serviceOf(workload) {
  const command = workload.spec.template.spec.containers[0]?.command?.[0] ?? "";
  return path.basename(command).replace(/^peerwell-/, "");
}

function protocolOf(service) {
  return HTTP_HEALTH[service] ? "http" : "grpc";
}

// Every Secret a container can read: mounted volumes (plain or projected) and env references.
function secretsOf(podSpec, container) {
  const found = [];
  for (const m of container.volumeMounts ?? []) {
    const v = (podSpec.volumes ?? []).find((x) => x.name === m.name);
    if (v?.secret) found.push([`volume ${v.name}`, v.secret.secretName]);
    for (const p of v?.projected?.sources ?? []) {
      if (p.secret) found.push([`volume ${v.name}`, p.secret.name]);
    }
  }
  for (const e of container.env ?? []) {
    if (e.valueFrom?.secretKeyRef) found.push([e.name, e.valueFrom.secretKeyRef.name]);
  }
  for (const f of container.envFrom ?? []) {
    if (f.secretRef) found.push(["envFrom", f.secretRef.name]);
  }
  return found;
}

// Ways in from outside the cluster besides NetworkPolicies: an Ingress, and Services of type
// NodePort or LoadBalancer or with external IPs. Each must lead to an exposed service's
// serving port, and to nothing else.
function checkExposure(ix, errors) {
  const check = (what, service, port) => {
    const targets = serviceTargets(ix, service, port);
    if (targets.length === 0) errors.push(`${what}: ${service.metadata.name}:${port} leads to no container port`);
    for (const t of targets) {
      const name = serviceOf(t.object);
      if (!EXPOSED.has(name)) {
        errors.push(`${what}: makes ${t.object.metadata.name} reachable from outside, which only ` +
                    `${[...EXPOSED].map((n) => `peerwell-${n}`).join(", ")} may be (SPEC §8)`);
      } else if (t.port !== SPEC_PORTS[name]) {
        errors.push(`${what}: makes ${t.object.metadata.name}'s port ${t.port} reachable from ` +
                    `outside, not its ${protocolOf(name)} port ${SPEC_PORTS[name]}`);
      }
    }
  };
  for (const s of ix.services) {
    const type = s.spec.type ?? "ClusterIP";
    if (type === "ClusterIP" && !(s.spec.externalIPs ?? []).length) continue;
    for (const p of s.spec.ports ?? []) {
      check(`Service ${s.metadata.name} (${type}${s.spec.externalIPs?.length ? ", externalIPs" : ""})`,
            s, p.port);
    }
  }
  for (const ing of ix.ingresses) {
    const what = `Ingress ${ing.metadata.name}`;
    const backends = [ing.spec.defaultBackend,
      ...(ing.spec.rules ?? []).flatMap((r) => (r.http?.paths ?? []).map((p) => p.backend))]
      .filter(Boolean);
    if (backends.length === 0) errors.push(`${what}: no backend`);
    for (const b of backends) {
      if (!b.service) {
        errors.push(`${what}: a backend that is not a Service`);
        continue;
      }
      const service = ix.services.find((s) => s.metadata.name === b.service.name);
      const sp = (service?.spec.ports ?? []).find((p) => b.service.port?.name !== undefined
        ? p.name === b.service.port.name : p.port === b.service.port?.number);
      if (!service || !sp) {
        errors.push(`${what}: backend ${b.service.name} ${JSON.stringify(b.service.port)} is no ` +
                    `port of a rendered Service`);
        continue;
      }
      check(what, service, sp.port);
    }
    for (const tls of ing.spec.tls ?? []) {
      if (!tls.secretName) errors.push(`${what}: a TLS entry without secretName`);
    }
  }
}

function checkDeployment(ix, binaries, deployment, namespace, acl, errors) {
  const what = `Deployment ${deployment.metadata.name}`;
  const podSpec = deployment.spec.template.spec;
  const labels = deployment.spec.template.metadata?.labels ?? {};
  if (!selects(deployment.spec.selector, labels)) errors.push(`${what}: selector misses its pods`);
  checkPodBasics(ix, podSpec, what, errors);
  const strategy = deployment.spec.strategy?.rollingUpdate;
  if (strategy?.maxUnavailable !== 0) errors.push(`${what}: rolling update maxUnavailable is not 0`);
  for (const container of podSpec.containers) {
    const cwhat = `${what} container ${container.name}`;
    checkSecurity(podSpec, container, cwhat, errors);
    const command = container.command ?? [];
    const binaryName = path.basename(command[0] ?? "");
    const binary = binaries.find((b) => b.name === binaryName);
    if (!binary) {
      errors.push(`${cwhat}: command ${JSON.stringify(command)} names no binary the build produced ` +
                  `(${binaries.map((b) => b.name).join(", ")})`);
      continue;
    }
    if (!command[0].startsWith("/usr/local/bin/")) {
      errors.push(`${cwhat}: ${command[0]} is not where the image has it (/usr/local/bin)`);
    }
    const service = binaryName.replace(/^peerwell-/, "");
    const protocol = protocolOf(service);
    const servePort = SPEC_PORTS[service];
    if (binary.listenPort !== servePort) {
      errors.push(`${cwhat}: the binary's default port ${binary.listenPort} is not SPEC §8's ${servePort}`);
    }
    const ports = (container.ports ?? []).map((p) => p.containerPort).sort();
    const want = [servePort, binary.metricsPort].sort();
    if (JSON.stringify(ports) !== JSON.stringify(want)) {
      errors.push(`${cwhat}: containerPorts ${ports} are not ${protocol} ${servePort} and metrics ${binary.metricsPort}`);
    }
    // The Services' targetPorts name the serving port by its protocol.
    const serving = (container.ports ?? []).find((p) => p.containerPort === servePort);
    if (serving && serving.name !== protocol) {
      errors.push(`${cwhat}: port ${servePort} is named ${serving.name ?? "(nothing)"}, not ${protocol}`);
    }
    const env = environment(ix, container, cwhat, errors);
    for (const name of env.keys()) {
      if (name.startsWith("PEERWELL_") && !binary.env.includes(name)) {
        errors.push(`${cwhat}: ${name} is not a setting of ${binaryName} (see its --help)`);
      }
    }
    const listen = env.get("PEERWELL_LISTEN_ADDR")?.value;
    if (listen !== `0.0.0.0:${servePort}` && listen !== `[::]:${servePort}`) {
      errors.push(`${cwhat}: PEERWELL_LISTEN_ADDR=${listen} is not 0.0.0.0:${servePort}`);
    }
    const metrics = env.get("PEERWELL_METRICS_ADDR")?.value;
    if (metrics !== `0.0.0.0:${binary.metricsPort}` && metrics !== `[::]:${binary.metricsPort}`) {
      errors.push(`${cwhat}: PEERWELL_METRICS_ADDR=${metrics} is not 0.0.0.0:${binary.metricsPort}`);
    }
    const needs = NEEDS[service] ?? [];
    if (needs.includes("redis")) checkRedisAddress(ix, env, namespace, cwhat, errors);
    // Its own Redis user and that user's password alone.
    if (needs.includes("redis") || env.has("PEERWELL_REDIS_ADDR")) {
      checkRedisCredentials(ix, podSpec, container, env, service, acl, cwhat, errors);
    } else {
      for (const n of ["PEERWELL_REDIS_USER", "PEERWELL_REDIS_PASSWORD",
                       "PEERWELL_REDIS_PASSWORD_FILE"]) {
        if (env.has(n)) errors.push(`${cwhat}: ${n} is set, but ${service} does not use Redis`);
      }
    }
    for (const [need, name, kind, who] of [["jwt", "JWT_SECRET", "jwt", "verify tokens"],
                                            ["masterKey", "MASTER_KEY", "key", "seal data"],
                                            ["pseudonymKey", "PSEUDONYM_KEY", "key",
                                             "make partners' pseudonyms"]]) {
      if (needs.includes(need)) {
        checkSecretSetting(ix, podSpec, container, env, name, kind, cwhat, errors);
        continue;
      }
      for (const n of [`PEERWELL_${name}`, `PEERWELL_${name}_FILE`]) {
        if (env.has(n)) errors.push(`${cwhat}: ${n} is set, but only services that ${who} get it`);
      }
    }
    // The gateway faces the outside: a key in its pod is one a break-in there could take.
    if (!needs.includes("jwt") && !needs.includes("masterKey") && !needs.includes("pseudonymKey")) {
      for (const [where, name] of secretsOf(podSpec, container)) {
        errors.push(`${cwhat}: ${where} gives it Secret ${name}, but ${service} holds no keys ` +
                    `(it passes callers' credentials to the services, which verify them)`);
      }
    }
    for (const [name, entry] of env) {
      const callee = /^PEERWELL_([A-Z]+)_ADDR$/.exec(name)?.[1]?.toLowerCase();
      if (callee && callee !== "redis" && callee !== "listen" && callee !== "metrics" &&
          (needs.includes(name) || entry.value?.startsWith("dns:"))) {
        checkAddress(ix, env, name, namespace, callee, cwhat, errors);
      }
    }
    for (const name of needs.filter((n) => n.startsWith("PEERWELL_") && !env.has(n))) {
      errors.push(`${cwhat}: ${name} is not set`);
    }
    if (protocol === "http") {
      // Both on the health path: it answers 503 once the server drains, and nothing it depends
      // on (no Redis) is a reason to keep a replica that does not answer it alive.
      const named = Object.fromEntries((container.ports ?? []).map((p) => [p.name, p.containerPort]));
      for (const kind of ["readinessProbe", "livenessProbe"]) {
        const get = container[kind]?.httpGet;
        const port = typeof get?.port === "string" ? named[get.port] : get?.port;
        if (!get || get.path !== HTTP_HEALTH[service] || port !== servePort ||
            (get.scheme ?? "HTTP") !== "HTTP") {
          errors.push(`${cwhat}: ${kind} is not an HTTP probe on ${HTTP_HEALTH[service]} at port ${servePort}`);
        }
      }
      continue;
    }
    // Readiness follows Redis (the empty health name); liveness asks for "liveness", which
    // stays SERVING while the process runs, so a Redis outage restarts no pod.
    for (const [kind, healthName] of [["readinessProbe", ""], ["livenessProbe", "liveness"]]) {
      const probe = container[kind];
      if (probe?.grpc?.port !== servePort) {
        errors.push(`${cwhat}: ${kind} is not a gRPC probe on port ${servePort}`);
      } else if ((probe.grpc.service ?? "") !== healthName) {
        errors.push(`${cwhat}: ${kind} asks for health service "${probe.grpc.service ?? ""}", ` +
                    `not "${healthName}"`);
      }
    }
  }
  // A ClusterIP Service with the serving port and metrics; for a gRPC service, a headless one
  // too, which the other services call it through.
  const container = podSpec.containers[0];
  const protocol = protocolOf(serviceOf(deployment));
  const ports = new Map((container.ports ?? []).map((p) => [p.name, p.containerPort]));
  const mine = ix.services.filter((s) => mapSelects(s.spec.selector, labels));
  const clusterIp = mine.find((s) => s.spec.clusterIP !== "None");
  const headless = mine.find((s) => s.spec.clusterIP === "None");
  const portNames = (s) => (s?.spec.ports ?? []).map((p) => p.name).sort().join(",");
  if (!clusterIp || portNames(clusterIp) !== `${protocol},metrics`) {
    errors.push(`${what}: no ClusterIP Service with ports ${protocol} and metrics selects it`);
  }
  if (protocol === "grpc" && (!headless || !(headless.spec.ports ?? []).some((p) => p.name === "grpc"))) {
    errors.push(`${what}: no headless Service with a grpc port selects it`);
  }
  for (const s of mine) {
    for (const p of s.spec.ports ?? []) {
      const target = typeof p.targetPort === "string" ? ports.get(p.targetPort) : (p.targetPort ?? p.port);
      if (![...ports.values()].includes(target)) {
        errors.push(`Service ${s.metadata.name}: port ${p.name} leads to no container port`);
      }
    }
  }
}

function checkRedis(ix, statefulSet, errors) {
  const what = `StatefulSet ${statefulSet.metadata.name}`;
  const podSpec = statefulSet.spec.template.spec;
  checkPodBasics(ix, podSpec, what, errors);
  const container = podSpec.containers[0];
  checkSecurity(podSpec, container, `${what} container ${container.name}`, errors);
  const argv = [...(container.command ?? []), ...(container.args ?? [])];
  const flag = (name) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  if (!argv.some((a) => a.includes("redis-server"))) errors.push(`${what}: does not run redis-server`);
  if (flag("appendonly") !== "yes") errors.push(`${what}: redis-server without --appendonly yes`);
  if (flag("appendfsync") !== "always") errors.push(`${what}: redis-server without --appendfsync always`);
  // noeviction refuses writes only at --maxmemory: without it Redis grows until the container's
  // limit OOM-kills it. Below the limit, room must stay for the fork of an append-only-file
  // rewrite (copy-on-write pages of what is written meanwhile) and for client buffers.
  if (flag("maxmemory-policy") === "noeviction") {
    const maxmemory = flag("maxmemory");
    const bytes = redisBytes(maxmemory);
    const limit = quantityBytes(container.resources?.limits?.memory);
    if (maxmemory === undefined) {
      errors.push(`${what}: --maxmemory-policy noeviction without --maxmemory (Redis would grow ` +
                  `until the memory limit kills it)`);
    } else if (!bytes) {
      errors.push(`${what}: --maxmemory ${maxmemory} is not a Redis size above 0 (0 is no limit)`);
    } else if (limit && bytes > 0.75 * limit) {
      errors.push(`${what}: --maxmemory ${maxmemory} is above 75 % of the memory limit ` +
                  `${container.resources.limits.memory} (no room left for the rewrite's fork)`);
    }
  }
  const claims = (statefulSet.spec.volumeClaimTemplates ?? []).map((c) => c.metadata.name);
  const dir = flag("dir");
  const mount = (container.volumeMounts ?? []).find((m) => m.mountPath === dir);
  if (!dir || !mount || !claims.includes(mount.name)) {
    errors.push(`${what}: Redis's --dir is not on a volumeClaimTemplates volume`);
  }
  if (!podSpec.securityContext?.fsGroup) errors.push(`${what}: no fsGroup for the data volume`);
}

// ---------------------------------------------------------------------------------------------
// Redis users
//
// Each service logs in to Redis as its own ACL user (deploy/base/redis-acl-rules.conf, linked
// into the chart as helm/peerwell/files/redis-acl-rules.conf) with a password from a Secret key
// that is its own, mounted as a file. The bundled Redis makes its ACL file at start from the
// rules and every user's password with redis-acl-file.sh, from the same ConfigMap: the default
// user off, each user "on" with its password, a nopass user (the readiness probe's) as it is.

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const ACL_RULES = "redis-acl-rules.conf";
const ACL_SCRIPT = "redis-acl-file.sh";
const ACL_HOMES = { helm: "helm/peerwell/files", kustomize: "deploy/base" };

// "user <name> <rules>" lines (comments and blank lines dropped) -> name -> {nopass, rules}.
function parseAclRules(text) {
  const users = new Map();
  const errors = [];
  for (const [i, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const [word, name, ...rules] = line.split(/\s+/);
    if (word !== "user" || !name) {
      errors.push(`line ${i + 1} is not "user <name> <rules>"`);
      continue;
    }
    if (users.has(name)) errors.push(`line ${i + 1}: user ${name} a second time`);
    users.set(name, { nopass: rules.includes("nopass"), rules: rules.join(" ") });
  }
  return { users, errors };
}

// What a Redis StatefulSet makes its users of: the ConfigMap it mounts with the rules, and the
// password files of Secret volumes, each named after its user (item path = user name).
function redisAclOf(ix, statefulSet) {
  const podSpec = statefulSet.spec.template.spec;
  const container = podSpec.containers[0];
  const passwords = new Map();
  let rules = null;
  for (const m of container.volumeMounts ?? []) {
    const v = (podSpec.volumes ?? []).find((x) => x.name === m.name);
    for (const item of v?.secret?.items ?? []) {
      passwords.set(item.path, { secretName: v.secret.secretName, key: item.key,
                                 readOnly: m.readOnly === true });
    }
    const data = v?.configMap ? ix.configMaps.get(v.configMap.name)?.data : undefined;
    if (data?.[ACL_RULES] !== undefined) rules = data[ACL_RULES];
  }
  return { passwords, rules };
}

// The rules a render's services are held to: those the rendered Redis mounts, else (an external
// Redis, created by hand from them) the file beside the render's manifests.
function aclContext(ix, label) {
  const redis = ix.statefulSets.length ? redisAclOf(ix, ix.statefulSets[0]) : null;
  let text = redis?.rules;
  let where = "the ConfigMap Redis mounts";
  if (text == null) {
    const home = ACL_HOMES[/^helm/.test(label ?? "") ? "helm" : "kustomize"];
    where = `${home}/${ACL_RULES}`;
    const file = path.join(REPO, where);
    text = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
  }
  const { users, errors } = parseAclRules(text);
  return { redis, users, where, errors: errors.map((e) => `Redis ACL rules (${where}): ${e}`) };
}

// A Secret key is a user's when it is the user's name, or ends with it after a separator
// (Helm's redis-password-<service>, kustomize's <service> in peerwell-redis-passwords).
function keyOwnedBy(key, user) {
  const escaped = user.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return key === user || new RegExp(`[-_.]${escaped}$`).test(key);
}

function checkRedisCredentials(ix, podSpec, container, env, service, acl, what, errors) {
  if (env.has("PEERWELL_REDIS_PASSWORD")) {
    errors.push(`${what}: PEERWELL_REDIS_PASSWORD is set: the password belongs in a mounted file ` +
                `(PEERWELL_REDIS_PASSWORD_FILE), not in the environment`);
  }
  const user = env.get("PEERWELL_REDIS_USER")?.value ?? service;
  if (user !== service) {
    errors.push(`${what}: PEERWELL_REDIS_USER=${user}: it must log in as its own Redis user, ${service}`);
  }
  const rule = acl.users.get(service);
  if (!rule) {
    errors.push(`${what}: the Redis ACL rules (${acl.where}) have no user ${service}, so it could ` +
                `not log in`);
  } else if (rule.nopass) {
    errors.push(`${what}: Redis user ${service} is nopass in ${acl.where}: anyone could log in as it`);
  }
  const file = env.get("PEERWELL_REDIS_PASSWORD_FILE")?.value;
  if (!file) {
    return errors.push(`${what}: PEERWELL_REDIS_PASSWORD_FILE is not set (without a password it ` +
                       `would not log in, and Redis's default user is off)`);
  }
  const ref = secretFile(ix, podSpec, container, file, what, errors);
  if (!ref?.secretName) return;
  const source = `Secret ${ref.secretName} key ${ref.key}`;
  if (!keyOwnedBy(ref.key, service)) {
    const users = new Set([...acl.users.keys(), ...Object.keys(SPEC_PORTS)]);
    const other = [...users].find((u) => u !== service && keyOwnedBy(ref.key, u));
    errors.push(`${what}: its Redis password (${source}) is ` +
                (other ? `the one of user ${other}, not its own` : `not named after its user ${service}`));
  }
  if (acl.redis) {
    const redisRef = acl.redis.passwords.get(service);
    if (!redisRef) {
      errors.push(`${what}: Redis mounts no password for user ${service}`);
    } else if (redisRef.secretName !== ref.secretName || redisRef.key !== ref.key) {
      errors.push(`${what}: reads its Redis password from ${source}, but Redis sets the password of ` +
                  `user ${service} from Secret ${redisRef.secretName} key ${redisRef.key}`);
    }
  }
  checkSecretValue(ix, ref, "redisPassword", what, errors);
}

// The bundled Redis: its ACL file, made at start from the rules and every user's password, and a
// readiness probe that logs in as the probe user (the default user is off).
function checkRedisAcl(ix, statefulSet, acl, errors) {
  const what = `StatefulSet ${statefulSet.metadata.name}`;
  const podSpec = statefulSet.spec.template.spec;
  const container = podSpec.containers[0];
  const argv = [...(container.command ?? []), ...(container.args ?? [])];
  const i = argv.indexOf("--aclfile");
  const aclfile = i >= 0 ? argv[i + 1]
    : /\bexec\s+redis-server\s+--aclfile\s+(\S+)\s+"\$@"/.exec(argv.join("\n"))?.[1];
  if (!aclfile) {
    errors.push(`${what}: redis-server without --aclfile (every client would be the default ` +
                `user, without a password)`);
  } else {
    // The file holds every password: in memory, not on the data volume or the image.
    const mount = (container.volumeMounts ?? []).find((m) => aclfile.startsWith(`${m.mountPath}/`));
    const volume = (podSpec.volumes ?? []).find((v) => v.name === mount?.name);
    if (volume?.emptyDir?.medium !== "Memory") {
      errors.push(`${what}: its ACL file ${aclfile} is not on an in-memory emptyDir`);
    }
  }
  if (acl.redis.rules == null) errors.push(`${what}: mounts no ConfigMap with ${ACL_RULES}`);
  for (const [user, rule] of acl.users) {
    if (!rule.nopass && !acl.redis.passwords.has(user)) {
      errors.push(`${what}: no password for Redis user ${user} (the start would fail)`);
    }
  }
  for (const [user, ref] of acl.redis.passwords) {
    if (!ref.readOnly) errors.push(`${what}: the password of ${user} is on a mount that is not readOnly`);
  }
  // redis-cli exits 0 on an error reply (NOAUTH) too: the probe must look for PONG.
  const probe = (container.readinessProbe?.exec?.command ?? []).join(" ");
  if (!/\bredis-cli\b.*--user\s+probe\b/.test(probe)) {
    errors.push(`${what}: readinessProbe does not log in as the probe user (the default user is off)`);
  } else if (!/\bPONG\b/.test(probe)) {
    errors.push(`${what}: readinessProbe does not check for PONG (redis-cli exits 0 on NOAUTH too)`);
  }
  if (acl.users.size && !acl.users.get("probe")?.nopass) {
    errors.push(`${what}: the Redis ACL rules (${acl.where}) have no nopass probe user for the ` +
                `readiness probe`);
  }
  if (aclfile && container.command?.[0] === "sh" && container.command?.[1] === "-c") {
    runRedisStart(ix, statefulSet, acl, aclfile, what, errors);
  }
}

// Runs the container's start (sh -c ...) on this machine, its mounts made under a temporary
// folder from the rendered ConfigMaps and Secrets (made-up passwords for a Secret the render
// does not make) and a stand-in redis-server that records its arguments. It must write the ACL
// file the rules and passwords make, for its owner alone, print no password, and pass the
// container's args on; without a user's password, or with an empty one, it must fail before
// starting Redis.
const redisStarts = new Map(); // the self-test breaks most renders elsewhere: run each start once

function runRedisStart(ix, statefulSet, acl, aclfile, what, errors) {
  const podSpec = statefulSet.spec.template.spec;
  const container = podSpec.containers[0];
  const inputs = JSON.stringify([what, aclfile, container, podSpec.volumes, [...acl.users],
    (podSpec.volumes ?? []).map((v) => [ix.configMaps.get(v.configMap?.name)?.data,
                                        ix.secrets.get(v.secret?.secretName)?.data])]);
  if (!redisStarts.has(inputs)) {
    const found = [];
    runRedisStartOnce(ix, podSpec, container, acl, aclfile, what, found);
    redisStarts.set(inputs, found);
  }
  errors.push(...redisStarts.get(inputs));
}

function runRedisStartOnce(ix, podSpec, container, acl, aclfile, what, errors) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "peerwell-redis-start-"));
  try {
    const passwords = new Map();
    for (const m of container.volumeMounts ?? []) {
      const dir = path.join(tmp, m.mountPath);
      fs.mkdirSync(dir, { recursive: true });
      const v = (podSpec.volumes ?? []).find((x) => x.name === m.name);
      const files = [];
      if (v?.configMap) {
        const data = ix.configMaps.get(v.configMap.name)?.data ?? {};
        const items = v.configMap.items ?? Object.keys(data).map((k) => ({ key: k, path: k }));
        for (const item of items) {
          files.push([item.path, data[item.key] ?? ""]);
        }
      }
      if (v?.secret) {
        const secret = ix.secrets.get(v.secret.secretName);
        const items = v.secret.items ??
          Object.keys(secret?.data ?? {}).map((k) => ({ key: k, path: k }));
        for (const item of items) {
          const value = secret?.data?.[item.key] !== undefined
            ? Buffer.from(secret.data[item.key], "base64").toString("utf8")
            : `made-up-${item.path}-${Math.random().toString(16).slice(2)}${Date.now()}`;
          passwords.set(item.path, { file: path.join(dir, item.path), value });
          files.push([item.path, value]);
        }
      }
      for (const [rel, text] of files) {
        fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
        fs.writeFileSync(path.join(dir, rel), text);
      }
    }
    const bin = path.join(tmp, ".bin");
    fs.mkdirSync(bin);
    const argsFile = path.join(tmp, ".redis-server-args");
    fs.writeFileSync(path.join(bin, "redis-server"),
                     `#!/bin/sh\nprintf '%s\\n' "$@" > '${argsFile}'\n`, { mode: 0o755 });
    // The container's paths, moved under tmp (one pass, longest first).
    const mounts = (container.volumeMounts ?? []).map((m) => m.mountPath)
      .sort((a, b) => b.length - a.length).map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
    const moved = (text) => mounts.length === 0 ? text : text.replace(
      new RegExp(`(?<=^|[\\s'"=<>:])(${mounts.join("|")})(?=/|[\\s'";]|$)`, "gm"), (p) => tmp + p);
    const [, , script, ...rest] = container.command;
    const run = () => {
      fs.rmSync(argsFile, { force: true });
      const r = spawnSync("sh", ["-c", moved(script), ...rest, ...(container.args ?? [])], {
        encoding: "utf8", timeout: 20000,
        env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
      });
      return { status: r.status, output: `${r.stdout ?? ""}${r.stderr ?? ""}`.trim(),
               started: fs.existsSync(argsFile) };
    };
    const hide = (text) => [...passwords.values()].reduce(
      (t, p) => (p.value ? t.split(p.value).join("<password>") : t), text);
    const leaks = (output) => [...passwords.values()].some((p) => p.value && output.includes(p.value));

    const ok = run();
    if (leaks(ok.output)) errors.push(`${what}: its start prints a password`);
    if (ok.status !== 0 || !ok.started) {
      return errors.push(`${what}: its start failed with every password in place (status ` +
                         `${ok.status}): ${hide(ok.output).replaceAll(tmp, "").slice(0, 300)}`);
    }
    const argv = fs.readFileSync(argsFile, "utf8").replace(/\n$/, "").split("\n");
    const want = ["--aclfile", tmp + aclfile, ...(container.args ?? [])];
    if (JSON.stringify(argv) !== JSON.stringify(want)) {
      errors.push(`${what}: its start runs redis-server ${hide(argv.join(" ")).replaceAll(tmp, "")}, ` +
                  `not --aclfile ${aclfile} and the container's args`);
    }
    const file = tmp + aclfile;
    if (!fs.existsSync(file)) return errors.push(`${what}: its start wrote no ${aclfile}`);
    const mode = fs.statSync(file).mode & 0o777;
    if (mode & 0o077) {
      errors.push(`${what}: its ACL file is readable by others than its owner (mode ` +
                  `${mode.toString(8)}: umask 077 is missing)`);
    }
    const lines = fs.readFileSync(file, "utf8").replace(/\n$/, "").split("\n");
    const expected = [kDefaultUserLine, ...[...acl.users].map(([user, rule]) => rule.nopass
      ? `user ${user} on ${rule.rules}`
      : `user ${user} on >${passwords.get(user)?.value ?? "?"} ${rule.rules}`)];
    if (lines[0] !== kDefaultUserLine) {
      errors.push(`${what}: its ACL file does not begin with "${kDefaultUserLine}": ${hide(lines[0])}`);
    } else if (JSON.stringify(lines) !== JSON.stringify(expected)) {
      const n = lines.findIndex((l, k) => l !== expected[k]);
      errors.push(`${what}: line ${n + 1} of its ACL file is ${hide(lines[n] ?? "missing")}, not ` +
                  `${hide(expected[n] ?? "absent")}`);
    }
    // Without a user's password, or with an empty one, Redis must not start.
    const victim = [...acl.users].find(([user, rule]) => !rule.nopass && passwords.has(user))?.[0];
    if (victim) {
      const { file: pw, value } = passwords.get(victim);
      for (const [how, act] of [["without", () => fs.rmSync(pw)],
                                ["with an empty", () => fs.writeFileSync(pw, "")]]) {
        act();
        const r = run();
        if (r.status === 0 || r.started) {
          errors.push(`${what}: its start did not fail ${how} password for ${victim}`);
        }
        if (leaks(r.output)) errors.push(`${what}: its start prints a password`);
        fs.writeFileSync(pw, value);
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

// Redis's sizes (config.c memtoll): k, m, g are powers of 1000, kb, mb, gb of 1024.
function redisBytes(text) {
  const m = /^([0-9]+)(b|k|kb|m|mb|g|gb)?$/i.exec(text ?? "");
  if (!m) return null;
  const unit = { b: 1, k: 1e3, kb: 1024, m: 1e6, mb: 1024 ** 2, g: 1e9, gb: 1024 ** 3 };
  return Number(m[1]) * unit[(m[2] ?? "b").toLowerCase()];
}

// A Kubernetes memory quantity in bytes (null when absent or not understood).
function quantityBytes(value) {
  if (typeof value === "number") return value;
  const m = /^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/.exec(value ?? "");
  if (!m) return null;
  const unit = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
                 k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
  return Number(m[1]) * (m[2] ? unit[m[2]] : 1);
}

// ---------------------------------------------------------------------------------------------
// NetworkPolicy reachability: who may talk to whom, evaluated like the API defines it.

function policyTypes(policy) {
  return policy.spec.policyTypes ?? ["Ingress", ...(policy.spec.egress ? ["Egress"] : [])];
}

// An address as {bits: 32 | 128, value: BigInt}; null when it is neither IPv4 nor IPv6 text.
function parseIp(text) {
  const v4 = (t) => {
    const parts = t.split(".");
    if (parts.length !== 4 || parts.some((x) => !/^[0-9]{1,3}$/.test(x) || Number(x) > 255)) return null;
    return parts.reduce((n, x) => n * 256n + BigInt(x), 0n);
  };
  if (!text.includes(":")) {
    const value = v4(text);
    return value === null ? null : { bits: 32, value };
  }
  let groups = [];
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const parse = (half) => {
    if (half === "") return [];
    const out = [];
    for (const g of half.split(":")) {
      if (g.includes(".")) { // an embedded IPv4 address: two groups
        const value = v4(g);
        if (value === null) return null;
        out.push(Number(value >> 16n), Number(value & 0xffffn));
      } else if (/^[0-9a-f]{1,4}$/i.test(g)) out.push(parseInt(g, 16));
      else return null;
    }
    return out;
  };
  const head = parse(halves[0]);
  const tail = halves.length === 2 ? parse(halves[1]) : [];
  if (!head || !tail) return null;
  if (halves.length === 2) {
    if (head.length + tail.length > 7) return null;
    groups = [...head, ...Array(8 - head.length - tail.length).fill(0), ...tail];
  } else groups = head;
  if (groups.length !== 8) return null;
  return { bits: 128, value: groups.reduce((n, g) => n * 65536n + BigInt(g), 0n) };
}

function formatIp({ bits, value }) {
  if (bits === 32) return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 255n)).join(".");
  const groups = [];
  for (let s = 112n; s >= 0n; s -= 16n) groups.push(((value >> s) & 0xffffn).toString(16));
  // The longest run of two or more zero groups becomes "::" (RFC 5952).
  const run = groups.join(":").match(/(^|:)0(:0)+(:|$)/g)?.sort((a, b) => b.length - a.length)[0];
  return run ? groups.join(":").replace(run, "::") : groups.join(":");
}

// The first, a middle and the last address of a CIDR block, as text: a block's exception that
// is narrower than the block leaves one of them out.
function blockSamples(cidr) {
  const [base, prefix] = cidr.split("/");
  const ip = parseIp(base);
  const host = BigInt(ip.bits - Number(prefix ?? ip.bits));
  const first = (ip.value >> host) << host;
  const size = 1n << host;
  return [...new Set([first, first + size / 2n, first + size - 1n])]
    .map((value) => formatIp({ bits: ip.bits, value }));
}

// An IPv4 or IPv6 address in a CIDR block (and not in one of its exceptions).
function inBlock(block, ip) {
  const address = parseIp(ip);
  const within = (cidr) => {
    const [base, prefix] = cidr.split("/");
    const net = parseIp(base);
    if (!address || !net || net.bits !== address.bits) return false; // the other family
    const host = BigInt(net.bits - Number(prefix ?? net.bits));
    return address.value >> host === net.value >> host;
  };
  return within(block.cidr) && !(block.except ?? []).some(within);
}

function peerMatches(peer, pod, namespace) {
  // A client outside the cluster is in no namespace: only an address block admits it.
  if (pod.external) return Boolean(peer.ipBlock) && inBlock(peer.ipBlock, pod.ip);
  if (peer.ipBlock) return false;
  const nsOk = peer.namespaceSelector
    ? selects(peer.namespaceSelector, pod.namespaceLabels)
    : pod.namespace === namespace;
  return nsOk && (peer.podSelector ? selects(peer.podSelector, pod.labels) : true);
}

function portMatches(rulePorts, port, protocol, dst) {
  if (!rulePorts?.length) return true;
  return rulePorts.some((p) => (p.protocol ?? "TCP") === protocol &&
    (p.port === undefined || p.port === port || dst.namedPorts?.[p.port] === port ||
     (p.endPort !== undefined && port >= p.port && port <= p.endPort)));
}

function reachable(policies, namespace, src, dst, port, protocol = "TCP") {
  const side = (pod, type, rulesKey, peersKey, other) => {
    if (pod.namespace !== namespace) return true; // only the release's namespace is policed
    if (pod.policedElsewhere) return true; // its own policy is not in this render
    const applying = policies.filter((p) => selects(p.spec.podSelector, pod.labels) &&
                                            policyTypes(p).includes(type));
    return applying.length === 0 || applying.some((p) => (p.spec[rulesKey] ?? []).some((rule) =>
      (!rule[peersKey]?.length || rule[peersKey].some((peer) => peerMatches(peer, other, namespace))) &&
      portMatches(rule.ports, port, protocol, dst)));
  };
  return side(dst, "Ingress", "ingress", "from", src) && side(src, "Egress", "egress", "to", dst);
}

function checkNetworkPolicies(ix, namespace, errors) {
  if (ix.networkPolicies.length === 0) return "no NetworkPolicies rendered";
  const policies = ix.networkPolicies;
  const nsLabels = (ns) => ({ "kubernetes.io/metadata.name": ns });
  const pod = (o) => {
    const c = o.spec.template.spec.containers[0];
    return {
      name: o.metadata.name, labels: o.spec.template.metadata.labels, namespace,
      namespaceLabels: nsLabels(namespace), container: c, service: serviceOf(o),
      namedPorts: Object.fromEntries((c.ports ?? []).map((p) => [p.name, p.containerPort])),
    };
  };
  const services = ix.deployments.map(pod);
  const redis = ix.statefulSets.map(pod);
  const stranger = { name: "a stranger pod", labels: { app: "stranger" }, namespace,
                     namespaceLabels: nsLabels(namespace) };
  const prometheus = { name: "Prometheus", labels: { "app.kubernetes.io/name": "prometheus" },
                       namespace: "monitoring", namespaceLabels: nsLabels("monitoring") };
  // From outside: a client on the internet, and an ingress controller in its own namespace
  // (the one helm/peerwell/ci/prod-values.yaml admits instead of everyone).
  const outsider = { name: "a client outside the cluster", labels: {}, namespace: null,
                     external: true, ip: "203.0.113.7" };
  const ingressController = { name: "an ingress controller",
                              labels: { "app.kubernetes.io/name": "ingress-nginx" },
                              namespace: "ingress-nginx", namespaceLabels: nsLabels("ingress-nginx") };
  // The release's gateway carries the labels every pod of the release has (Helm: name and
  // instance; kustomize: part-of); another chart's gateway only the component label. Without a
  // rendered gateway (not built), a stand-in whose own egress is not policed here.
  const releaseLabels = Object.fromEntries(Object.entries(services[0]?.labels ?? {}).filter(
    ([k, v]) => k !== "app.kubernetes.io/component" &&
                [...services, ...redis].every((p) => p.labels?.[k] === v)));
  const gateway = services.find((p) => p.service === "gateway") ??
    { name: "the gateway", labels: { ...releaseLabels, "app.kubernetes.io/component": "gateway" },
      namespace, namespaceLabels: nsLabels(namespace), policedElsewhere: true };
  const foreignGateway = { name: "another release's gateway",
                           labels: { app: "stranger", "app.kubernetes.io/component": "gateway" },
                           namespace, namespaceLabels: nsLabels(namespace) };
  const dns = { name: "DNS", labels: { "k8s-app": "kube-dns" }, namespace: "kube-system",
                namespaceLabels: nsLabels("kube-system") };
  // Outside the cluster, as a destination: the internet, and the ranges that are not it.
  const address = (ip, name) => ({ name, labels: {}, namespace: null, external: true, ip });
  const internet = PUBLIC_ADDRESSES.map((ip) => address(ip, `the internet (${ip})`));
  const inside = NOT_INTERNET.flatMap(([cidr, what]) => blockSamples(cidr).map(
    (ip) => address(ip, `${ip} (${what}, ${cidr})`)));
  const portOf = (p, name) => p.namedPorts[name];
  const expect = (ok, src, dst, port, protocol = "TCP") => {
    if (reachable(policies, namespace, src, dst, port, protocol) !== ok) {
      errors.push(`NetworkPolicy: ${src.name} ${ok ? "cannot" : "can"} reach ${dst.name}:${port}/${protocol}`);
    }
  };
  // The serving port under the name the Deployment gives it (grpc, or http for the gateway).
  const servicePort = (p) => portOf(p, "grpc") ?? portOf(p, "http");
  for (const s of services) {
    const { service } = s;
    const port = servicePort(s);
    expect(true, s, dns, 53, "UDP");
    // Only what uses Redis reaches it: the gateway holds no data.
    for (const r of redis) expect((NEEDS[service] ?? []).includes("redis"), s, r, 6379);
    expect(true, prometheus, s, portOf(s, "metrics"));
    expect(false, outsider, s, portOf(s, "metrics"));
    expect(false, s, stranger, 443);
    // The internet: only the webhooks service, only on its ports, and only public addresses.
    const out = INTERNET_EGRESS[service] ?? [];
    for (const host of internet) {
      for (const p of [...new Set([...out, 443, 80])]) expect(out.includes(p), s, host, p);
    }
    for (const host of out.length ? inside : []) {
      for (const p of out) expect(false, s, host, p);
    }
    if (EXPOSED.has(service)) {
      // The one way in: from outside, directly or through the ingress controller.
      if (![outsider, ingressController].some((o) => reachable(policies, namespace, o, s, port))) {
        errors.push(`NetworkPolicy: neither ${outsider.name} nor ${ingressController.name} can ` +
                    `reach ${s.name}:${port}/TCP, the way in`);
      }
    } else {
      expect(true, gateway, s, port);
      expect(false, prometheus, s, port);
      expect(false, foreignGateway, s, port);
      expect(false, stranger, s, port);
      expect(false, outsider, s, port);
      expect(false, ingressController, s, port);
    }
    // Every address a service is given must be open from it to the callee's gRPC port, also
    // when it comes from a ConfigMap (kustomize's envFrom). Problems with the environment
    // itself are checkDeployment's to report.
    for (const name of environment(ix, s.container, s.name, []).keys()) {
      const callee = /^PEERWELL_([A-Z]+)_ADDR$/.exec(name)?.[1]?.toLowerCase();
      const target = services.find((t) => t.labels["app.kubernetes.io/component"] === callee);
      if (target && callee !== s.labels["app.kubernetes.io/component"]) {
        expect(true, s, target, servicePort(target));
      }
    }
  }
  for (const r of redis) {
    expect(false, stranger, r, 6379);
    expect(false, prometheus, r, 6379);
    expect(false, outsider, r, 6379);
    for (const host of internet) expect(false, r, host, 443);
  }
  return null;
}

// ---------------------------------------------------------------------------------------------

async function checkRender(binaries, objects, label) {
  const errors = [];
  for (const object of objects) {
    for (const e of await validateObject(object)) {
      errors.push(`${object?.kind ?? "?"} ${object?.metadata?.name ?? "?"}: ${e}`);
    }
  }
  if (errors.length) return { errors, notes: [] }; // contract checks assume valid objects
  const ix = index(objects);
  const namespaces = new Set(objects.map((o) => o.metadata.namespace).filter(Boolean));
  const namespace = namespaces.size === 1 ? [...namespaces][0] : "default";
  const notes = [];
  const acl = aclContext(ix, label);
  errors.push(...acl.errors);
  if (ix.deployments.length === 0) errors.push("no Deployments rendered");
  for (const d of ix.deployments) checkDeployment(ix, binaries, d, namespace, acl, errors);
  // Every server the build produced runs: a built service left out of a render is a mistake.
  const run = new Set(ix.deployments.map(
    (d) => path.basename(d.spec.template.spec.containers[0]?.command?.[0] ?? "")));
  for (const b of binaries.filter((x) => x.listenPort !== null && !run.has(x.name))) {
    errors.push(`no Deployment runs ${b.name}, which the build produced`);
  }
  for (const s of ix.statefulSets) {
    checkRedis(ix, s, errors);
    checkRedisAcl(ix, s, { ...acl, redis: redisAclOf(ix, s) }, errors);
  }
  checkExposure(ix, errors);
  for (const h of ix.hpas) {
    if (!ix.deployments.some((d) => d.metadata.name === h.spec.scaleTargetRef.name)) {
      errors.push(`HorizontalPodAutoscaler ${h.metadata.name}: targets no rendered Deployment`);
    }
    const d = ix.deployments.find((x) => x.metadata.name === h.spec.scaleTargetRef.name);
    if (d?.spec.replicas !== undefined) {
      errors.push(`Deployment ${d.metadata.name}: sets replicas while an HPA scales it (every ` +
                  `upgrade would reset the HPA's count)`);
    }
  }
  for (const p of ix.pdbs) {
    if (!podsOf(ix).some(({ object }) => selects(p.spec.selector, object.spec.template.metadata.labels))) {
      errors.push(`PodDisruptionBudget ${p.metadata.name}: selects no pods`);
    }
  }
  for (const m of ix.serviceMonitors) {
    const what = `ServiceMonitor ${m.metadata.name}`;
    const scraped = ix.services.filter((s) => selects(m.spec.selector, s.metadata.labels));
    if (scraped.some((s) => s.spec.clusterIP === "None")) {
      errors.push(`${what}: selects a headless Service (pods scraped twice)`);
    }
    // An endpoint names a Service port; Prometheus finds no target behind a name the Service
    // does not have, so nothing would be scraped and every "up" alert would fire.
    const ports = (m.spec.endpoints ?? []).map((e) => e.port);
    if (ports.length === 0 || ports.some((p) => typeof p !== "string")) {
      errors.push(`${what}: every endpoint must name a Service port (port: metrics)`);
    }
    for (const port of ports.filter((p) => typeof p === "string")) {
      for (const s of scraped.filter((x) => !(x.spec.ports ?? []).some((p) => p.name === port))) {
        errors.push(`${what}: endpoint port "${port}" is not a port of Service ${s.metadata.name} ` +
                    `(${(s.spec.ports ?? []).map((p) => p.name).join(", ")})`);
      }
    }
    const withMetrics = scraped.filter(
      (s) => (s.spec.ports ?? []).some((p) => ports.includes(p.name)));
    if (withMetrics.length !== ix.deployments.length) {
      errors.push(`${what}: scrapes ${withMetrics.length} Services for ${ix.deployments.length} ` +
                  `Deployments`);
    }
  }
  const np = checkNetworkPolicies(ix, namespace, errors);
  if (np) notes.push(np);
  return { errors, notes };
}

async function commandManifests(binariesFile, renders) {
  const binaries = JSON.parse(fs.readFileSync(binariesFile, "utf8"));
  let failed = 0;
  for (const spec of renders) {
    const [label, file] = spec.split("=");
    const { objects, errors: parseErrors } = parseRender(file);
    const { errors, notes } = await checkRender(binaries, objects, label);
    const all = [...parseErrors, ...errors];
    const kinds = {};
    for (const o of objects) kinds[o.kind] = (kinds[o.kind] ?? 0) + 1;
    const summary = Object.entries(kinds).map(([k, n]) => `${n} ${k}`).join(", ");
    if (all.length) {
      failed++;
      console.log(`FAIL ${label}: ${all.length} problem(s) in ${objects.length} objects`);
      for (const e of all) console.log(`  - ${e}`);
    } else {
      console.log(`ok   ${label}: ${objects.length} objects valid (${summary})` +
                  (notes.length ? `; ${notes.join("; ")}` : ""));
    }
  }
  return failed ? 1 : 0;
}

// Each mutation breaks a good render in one way; the checks must notice, for that reason.
// [what, expected error, mutate, where]: `where` matches the labels of the renders the mutation
// must apply to (all when absent); on those, a mutate that returns false found nothing to break,
// which fails the self-test rather than passing it unnoticed.
const HELM = /^helm/;
const GENERATED_SECRETS = /^helm|^kustomize dev/;
const MUTATIONS = [
  ["a misspelt field (readinesProbe)", /unknown field .*readinesProbe/, (objs) => {
    const c = objs.find((o) => o.kind === "Deployment").spec.template.spec.containers[0];
    c.readinesProbe = c.readinessProbe;
    delete c.readinessProbe;
  }],
  ["an unknown field in a PrometheusRule", /unknown field .*severty/, (objs) => {
    objs.find((o) => o.kind === "PrometheusRule").spec.groups[0].rules[0].severty = "page";
  }, HELM],
  ["replicas as a string", /replicas must be integer/, (objs) => {
    objs.find((o) => o.kind === "Deployment").spec.replicas = "two";
  }],
  ["an unknown kind", /unknown kind/, (objs) => {
    objs.push({ apiVersion: "apps/v1", kind: "Deploymnet", metadata: { name: "x" } });
  }],
  ["a binary the build did not produce", /names no binary/, (objs) => {
    objs.find((o) => o.kind === "Deployment").spec.template.spec.containers[0].command =
      ["/usr/local/bin/peerwell-directroy"];
  }],
  ["a setting the binary does not have", /PEERWELL_LISTEN_ADRESS is not a setting/, (objs) => {
    objs.find((o) => o.kind === "Deployment").spec.template.spec.containers[0].env
      .push({ name: "PEERWELL_LISTEN_ADRESS", value: "0.0.0.0:1" });
  }],
  ["a wrong metrics port", /containerPorts/, (objs) => {
    const c = objs.find((o) => o.kind === "Deployment").spec.template.spec.containers[0];
    c.ports.find((p) => p.name === "metrics").containerPort = 9999;
  }],
  ["no master key for check-ins", /MASTER_KEY \(or _FILE\) is not set/, (objs) => {
    const c = deploymentOf(objs, "peerwell-checkin").spec.template.spec.containers[0];
    c.env = c.env.filter((e) => !e.name.startsWith("PEERWELL_MASTER_KEY"));
  }],
  ["no pseudonym key for check-ins", /checkin.*PSEUDONYM_KEY \(or _FILE\) is not set/, (objs) => {
    const c = deploymentOf(objs, "peerwell-checkin").spec.template.spec.containers[0];
    c.env = c.env.filter((e) => !e.name.startsWith("PEERWELL_PSEUDONYM_KEY"));
  }],
  ["no pseudonym key for webhooks", /webhooks.*PSEUDONYM_KEY \(or _FILE\) is not set/, (objs) => {
    const c = deploymentOf(objs, "peerwell-webhooks").spec.template.spec.containers[0];
    const before = c.env.length;
    c.env = c.env.filter((e) => !e.name.startsWith("PEERWELL_PSEUDONYM_KEY"));
    if (c.env.length === before) return false;
  }],
  ["no master key for the network", /network.*MASTER_KEY \(or _FILE\) is not set/, (objs) => {
    const c = deploymentOf(objs, "peerwell-network").spec.template.spec.containers[0];
    c.env = c.env.filter((e) => !e.name.startsWith("PEERWELL_MASTER_KEY"));
  }],
  ["a built service left out", /no Deployment runs peerwell-supervision/, (objs) => {
    const i = objs.indexOf(deploymentOf(objs, "peerwell-supervision"));
    if (i < 0) return false;
    objs.splice(i, 1);
  }],
  ["the master key given to supervision", /supervision.*PEERWELL_MASTER_KEY_FILE is set, but only/,
   (objs) => {
    deploymentOf(objs, "peerwell-supervision").spec.template.spec.containers[0].env
      .push({ name: "PEERWELL_MASTER_KEY_FILE", value: "/var/run/secrets/peerwell/master-key" });
  }],
  ["the directory through a ClusterIP Service", /is not headless/, (objs) =>
    editSetting(objs, "peerwell-alerts", "PEERWELL_DIRECTORY_ADDR",
                (v) => v.replace("-headless", ""))],
  ["an HTTP readiness probe", /readinessProbe is not a gRPC probe/, (objs) => {
    const c = objs.find((o) => o.kind === "Deployment").spec.template.spec.containers[0];
    c.readinessProbe = { tcpSocket: { port: c.ports[0].containerPort } };
  }],
  ["a liveness probe that follows Redis", /livenessProbe asks for health service ""/, (objs) => {
    delete objs.find((o) => o.kind === "Deployment").spec.template.spec.containers[0]
      .livenessProbe.grpc.service;
  }],
  ["a writable root file system", /readOnlyRootFilesystem/, (objs) => {
    objs.find((o) => o.kind === "Deployment").spec.template.spec.containers[0]
      .securityContext.readOnlyRootFilesystem = false;
  }],
  ["Redis without appendfsync always", /appendfsync always/, (objs) => {
    const c = objs.find((o) => o.kind === "StatefulSet").spec.template.spec.containers[0];
    c.args[c.args.indexOf("always")] = "everysec";
  }],
  ["Redis without a volume claim", /volumeClaimTemplates/, (objs) => {
    delete objs.find((o) => o.kind === "StatefulSet").spec.volumeClaimTemplates;
  }],
  ["Redis with noeviction but no --maxmemory", /noeviction without --maxmemory/, (objs) => {
    const c = objs.find((o) => o.kind === "StatefulSet").spec.template.spec.containers[0];
    const i = c.args.indexOf("--maxmemory");
    if (i < 0) return false;
    c.args.splice(i, 2);
  }],
  ["Redis's --maxmemory at its memory limit", /--maxmemory .* is above 75 % of the memory/,
   (objs) => {
    const c = objs.find((o) => o.kind === "StatefulSet").spec.template.spec.containers[0];
    const limit = quantityBytes(c.resources?.limits?.memory);
    const i = c.args.indexOf("--maxmemory");
    if (!limit || i < 0) return false;
    c.args[i + 1] = `${Math.floor(limit / 2 ** 20)}mb`;
  }],
  ["a short generated JWT secret", /shorter than 32 bytes/, (objs) => {
    const s = objs.find((o) => o.kind === "Secret" &&
                               Object.keys(o.data ?? {}).some((k) => k.includes("jwt")));
    if (!s) return false;
    s.data[Object.keys(s.data).find((k) => k.includes("jwt"))] = Buffer.from("short").toString("base64");
  }, GENERATED_SECRETS],
  ["a Secret volume naming a Secret the render does not make", /names Secret .* not rendered/,
   (objs) => {
    if (!objs.some((o) => o.kind === "Secret")) return false;
    const v = deploymentOf(objs, "peerwell-alerts").spec.template.spec.volumes
      .find((x) => x.secret || x.projected);
    const ref = v.secret ?? v.projected.sources.find((p) => p.secret).secret;
    if (ref.secretName) ref.secretName = ref.secretName.replace("secrets", "secret");
    else ref.name = ref.name.replace("secrets", "secret");
  }, GENERATED_SECRETS],
  ["a ServiceMonitor endpoint on a port the Services do not have",
   /endpoint port "http-metrics" is not a port of Service/, (objs) => {
    objs.find((o) => o.kind === "ServiceMonitor").spec.endpoints[0].port = "http-metrics";
  }, HELM],
  ["Redis open to every pod", /stranger pod can reach .*redis/, (objs) => {
    objs.find((o) => o.kind === "NetworkPolicy" && o.metadata.name.endsWith("-redis"))
      .spec.ingress[0].from = [{ podSelector: {} }];
  }],
  // Helm gives each service its own egress rule per callee; kustomize one rule for all services
  // (peerwell-services-egress), and the addresses reach the pods through envFrom.
  ["a service that may not call the directory", /cannot reach .*directory/, (objs) => {
    const alerts = deploymentOf(objs, "peerwell-alerts").spec.template.metadata.labels;
    const port = SPEC_PORTS.directory;
    let dropped = 0;
    const policies = objs.filter((o) => o.kind === "NetworkPolicy" &&
                                         selects(o.spec.podSelector, alerts));
    for (const p of policies) {
      const before = p.spec.egress?.length ?? 0;
      p.spec.egress = p.spec.egress?.filter((r) => !(r.ports ?? []).some((x) => x.port === port));
      dropped += before - (p.spec.egress?.length ?? 0);
    }
    if (dropped === 0) return false;
  }],
  ["a gateway peer that is not the release's", /another release's gateway can reach/, (objs) => {
    let widened = 0;
    for (const p of objs.filter((o) => o.kind === "NetworkPolicy")) {
      for (const peer of (p.spec.ingress ?? []).flatMap((r) => r.from ?? [])) {
        const labels = peer.podSelector?.matchLabels;
        if (labels?.["app.kubernetes.io/component"] === "gateway") {
          peer.podSelector.matchLabels = { "app.kubernetes.io/component": "gateway" };
          widened++;
        }
      }
    }
    if (widened === 0) return false;
  }],
  // SPEC §8: only the gateway is reachable from outside, and it must be.
  ["the gateway without its way in", /neither .* can reach .*gateway.*the way in/, (objs) => {
    const port = SPEC_PORTS.gateway;
    let dropped = 0;
    for (const p of policiesOf(objs, "peerwell-gateway", "Ingress")) {
      const before = p.spec.ingress?.length ?? 0;
      p.spec.ingress = (p.spec.ingress ?? []).filter((r) => r.ports?.length &&
        !r.ports.some((x) => x.port === port || x.port === "http"));
      dropped += before - p.spec.ingress.length;
    }
    if (dropped === 0) return false;
  }],
  ["a gRPC service open to the outside", /a client outside the cluster can reach .*directory/,
   (objs) => {
    const [p] = policiesOf(objs, "peerwell-directory", "Ingress");
    if (!p) return false;
    p.spec.ingress = [...(p.spec.ingress ?? []),
                      { ports: [{ port: SPEC_PORTS.directory, protocol: "TCP" }] }];
  }],
  ["an Ingress to a gRPC service", /Ingress grpc: makes .*directory reachable from outside/,
   (objs) => {
    const service = clusterIpServiceOf(objs, "peerwell-directory");
    const metadata = { name: "grpc" };
    if (service.metadata.namespace) metadata.namespace = service.metadata.namespace;
    objs.push({ apiVersion: "networking.k8s.io/v1", kind: "Ingress", metadata, spec: {
      rules: [{ http: { paths: [{ path: "/", pathType: "Prefix", backend: {
        service: { name: service.metadata.name, port: { name: "grpc" } } } }] } }] } });
  }],
  ["a gRPC service behind a LoadBalancer", /LoadBalancer\): makes .*directory reachable/,
   (objs) => {
    clusterIpServiceOf(objs, "peerwell-directory").spec.type = "LoadBalancer";
  }],
  // Only the webhooks service reaches the internet, and only its public addresses.
  ["the internet open to another service", /directory can reach the internet/, (objs) => {
    const policies = policiesOf(objs, "peerwell-directory", "Egress");
    if (policies.length === 0) return false;
    const p = policies[policies.length - 1];
    p.spec.egress = [...(p.spec.egress ?? []),
                     { to: [{ ipBlock: { cidr: "0.0.0.0/0" } }], ports: [{ port: 443, protocol: "TCP" }] }];
  }],
  ["webhooks' internet egress without its exceptions", /webhooks can reach 10\.0\.0\.0 \(private/,
   (objs) => {
    let opened = 0;
    for (const p of policiesOf(objs, "peerwell-webhooks", "Egress")) {
      for (const peer of (p.spec.egress ?? []).flatMap((r) => r.to ?? [])) {
        if (peer.ipBlock?.except) {
          delete peer.ipBlock.except;
          opened++;
        }
      }
    }
    if (opened === 0) return false;
  }],
  ["webhooks able to reach the cloud's metadata service", /webhooks can reach 169\.254\.[0-9.]+ \(link-local/,
   (objs) => {
    let opened = 0;
    for (const p of policiesOf(objs, "peerwell-webhooks", "Egress")) {
      for (const peer of (p.spec.egress ?? []).flatMap((r) => r.to ?? [])) {
        const except = peer.ipBlock?.except ?? [];
        if (except.includes("169.254.0.0/16")) {
          // Narrower, as a mistake would be: the metadata address itself stays excluded.
          peer.ipBlock.except = [...except.filter((c) => c !== "169.254.0.0/16"), "169.254.169.0/24"];
          opened++;
        }
      }
    }
    if (opened === 0) return false;
  }],
  ["webhooks without the internet", /webhooks cannot reach the internet/, (objs) => {
    let dropped = 0;
    for (const p of policiesOf(objs, "peerwell-webhooks", "Egress")) {
      const before = p.spec.egress?.length ?? 0;
      p.spec.egress = p.spec.egress?.filter((r) => !(r.to ?? []).some((peer) => peer.ipBlock));
      dropped += before - (p.spec.egress?.length ?? 0);
    }
    if (dropped === 0) return false;
  }],
  // The gateway keeps no data and holds no keys.
  ["Redis open to the gateway", /peerwell-gateway can reach .*redis:6379/, (objs) => {
    const gateway = deploymentOf(objs, "peerwell-gateway").spec.template.metadata.labels;
    const redis = objs.find((o) => o.kind === "NetworkPolicy" && o.metadata.name.endsWith("-redis"));
    const [egress] = policiesOf(objs, "peerwell-gateway", "Egress");
    if (!redis || !egress) return false;
    redis.spec.ingress[0].from.push({ podSelector: { matchLabels: gateway } });
    egress.spec.egress = [...(egress.spec.egress ?? []), { ports: [{ port: 6379, protocol: "TCP" }] }];
  }],
  ["the JWT secret mounted in the gateway", /gateway.*gives it Secret .* holds no keys/, (objs) => {
    const volume = structuredClone(deploymentOf(objs, "peerwell-alerts").spec.template.spec.volumes
      .find((v) => v.secret || v.projected));
    const pod = deploymentOf(objs, "peerwell-gateway").spec.template.spec;
    pod.volumes.push(volume);
    pod.containers[0].volumeMounts.push(
      { name: volume.name, mountPath: "/var/run/secrets/peerwell", readOnly: true });
  }],
  ["a gRPC probe on the gateway", /gateway.*readinessProbe is not an HTTP probe on \/healthz/,
   (objs) => {
    const c = deploymentOf(objs, "peerwell-gateway").spec.template.spec.containers[0];
    c.readinessProbe = { grpc: { port: SPEC_PORTS.gateway }, periodSeconds: 5 };
  }],
  ["the gateway without the network's address", /gateway.*PEERWELL_NETWORK_ADDR is not set/,
   (objs) => {
    const c = deploymentOf(objs, "peerwell-gateway").spec.template.spec.containers[0];
    const before = c.env?.length ?? 0;
    c.env = (c.env ?? []).filter((e) => e.name !== "PEERWELL_NETWORK_ADDR");
    if (c.env.length === before) return false;
  }],
  // Each service logs in to Redis as its own user, with its own password; Redis makes the users.
  ["a service without its Redis password", /checkin.*PEERWELL_REDIS_PASSWORD_FILE is not set/,
   (objs) => removeSetting(objs, "peerwell-checkin", "PEERWELL_REDIS_PASSWORD_FILE")],
  ["a service given another service's Redis password",
   /checkin.*its Redis password \(.*\) is the one of user alerts/, (objs) => {
    const item = secretItemOf(objs, "peerwell-checkin", "redis-password");
    if (!item) return false;
    item.key = item.key.replace(/checkin$/, "alerts");
  }],
  ["a list of Redis nodes without cluster mode", /checkin.*needs PEERWELL_REDIS_MODE=cluster/,
   (objs) => {
    const c = deploymentOf(objs, "peerwell-checkin").spec.template.spec.containers[0];
    c.env = [...(c.env ?? []).filter((e) => e.name !== "PEERWELL_REDIS_ADDR"),
             { name: "PEERWELL_REDIS_ADDR", value: "redis-0.data:6379,redis-1.data:6379" }];
  }],
  ["cluster mode with the bundled Redis", /checkin.*yet the single bundled Redis is rendered/,
   (objs) => {
    if (!objs.some((o) => o.kind === "StatefulSet")) return false;
    const c = deploymentOf(objs, "peerwell-checkin").spec.template.spec.containers[0];
    c.env = [...(c.env ?? []).filter((e) => e.name !== "PEERWELL_REDIS_MODE"),
             { name: "PEERWELL_REDIS_MODE", value: "cluster" }];
  }],
  ["a service logging in as another Redis user", /checkin.*PEERWELL_REDIS_USER=alerts/, (objs) => {
    const c = deploymentOf(objs, "peerwell-checkin").spec.template.spec.containers[0];
    c.env = [...(c.env ?? []).filter((e) => e.name !== "PEERWELL_REDIS_USER"),
             { name: "PEERWELL_REDIS_USER", value: "alerts" }];
  }],
  ["a service the Redis ACL rules do not know", /webhooks.*have no user webhooks/, (objs) => {
    const cm = aclConfigMapOf(objs);
    if (!cm) return false;
    cm.data[ACL_RULES] = cm.data[ACL_RULES].replace(/^user webhooks .*\n/m, "");
  }],
  ["Redis without --aclfile", /redis-server without --aclfile/, (objs) => {
    const c = redisContainerOf(objs);
    c.command = ["redis-server"];
  }],
  ["Redis without a service's password", /no password for Redis user supervision/, (objs) => {
    const v = redisPasswordVolumeOf(objs);
    if (!v) return false;
    v.secret.items = v.secret.items.filter((i) => i.path !== "supervision");
  }],
  ["Redis's readiness probe as the default user", /readinessProbe does not log in as the probe user/,
   (objs) => {
    redisContainerOf(objs).readinessProbe.exec.command = ["redis-cli", "-p", "6379", "ping"];
  }],
  ["Redis's readiness probe trusting redis-cli's exit status", /readinessProbe does not check for PONG/,
   (objs) => {
    redisContainerOf(objs).readinessProbe.exec.command =
      ["redis-cli", "--no-auth-warning", "--user", "probe", "--pass", "probe", "-p", "6379", "ping"];
  }],
  ["Redis's ACL file on the data volume", /ACL file \/data\/users\.acl is not on an in-memory emptyDir/,
   (objs) => editRedisStart(objs, (t) => t.replaceAll("/tmp/users.acl", "/data/users.acl"))],
  ["Redis's ACL file readable by others", /ACL file is readable by others/,
   (objs) => editRedisStart(objs, (t) => t.replace(/^\s*umask 077\s*$/m, ""))],
  ["a Redis start that prints the passwords", /its start prints a password/,
   (objs) => editRedisStart(objs, (t) => t.replace(/\bsh (\S*redis-acl-file\.sh)/, "sh -x $1"))],
  ["a Redis start that goes on without a password", /its start did not fail without password/,
   (objs) => editAclScript(objs, (t) => t.replaceAll("exit 1", "continue"))],
  ["Redis's default user left on", /does not begin with "user default off/,
   (objs) => editAclScript(objs,
                           (t) => t.replace(kDefaultUserLine, "user default on nopass ~* &* +@all"))],
];

// Removes a container's setting where the render keeps it: its env (Helm) or the ConfigMap its
// envFrom reads (kustomize; every service reads that one). False when it is set nowhere.
function removeSetting(objs, suffix, name) {
  const c = deploymentOf(objs, suffix).spec.template.spec.containers[0];
  const before = c.env?.length ?? 0;
  c.env = (c.env ?? []).filter((e) => e.name !== name);
  if (c.env.length !== before) return true;
  for (const from of c.envFrom ?? []) {
    const cm = objs.find((o) => o.kind === "ConfigMap" && o.metadata.name === from.configMapRef?.name);
    if (cm?.data?.[name] !== undefined) {
      delete cm.data[name];
      return true;
    }
  }
  return false;
}

// The Secret item a Deployment mounts at `rel` (a Secret volume or a projected one's source).
function secretItemOf(objs, suffix, rel) {
  for (const v of deploymentOf(objs, suffix).spec.template.spec.volumes ?? []) {
    const sources = v.secret ? [v.secret] : (v.projected?.sources ?? []).map((p) => p.secret);
    for (const item of sources.filter(Boolean).flatMap((x) => x.items ?? [])) {
      if (item.path === rel) return item;
    }
  }
  return null;
}

function redisContainerOf(objs) {
  return objs.find((o) => o.kind === "StatefulSet").spec.template.spec.containers[0];
}

function redisPasswordVolumeOf(objs) {
  const pod = objs.find((o) => o.kind === "StatefulSet").spec.template.spec;
  return (pod.volumes ?? []).find((v) => v.secret?.items?.length);
}

function aclConfigMapOf(objs) {
  return objs.find((o) => o.kind === "ConfigMap" && o.data?.[ACL_RULES] !== undefined);
}

// Changes the Redis container's start script (sh -c SCRIPT); false when it has none.
function editRedisStart(objs, edit) {
  const c = redisContainerOf(objs);
  if (c.command?.[0] !== "sh" || c.command?.[1] !== "-c") return false;
  const before = c.command[2];
  c.command[2] = edit(before);
  return c.command[2] !== before;
}

// Changes the ACL file script in the ConfigMap Redis mounts; false when it has none.
function editAclScript(objs, edit) {
  const cm = aclConfigMapOf(objs);
  if (cm?.data?.[ACL_SCRIPT] === undefined) return false;
  const before = cm.data[ACL_SCRIPT];
  cm.data[ACL_SCRIPT] = edit(before);
  return cm.data[ACL_SCRIPT] !== before;
}

// The NetworkPolicies of one direction that apply to a Deployment's pods.
function policiesOf(objs, suffix, type) {
  const labels = deploymentOf(objs, suffix).spec.template.metadata.labels;
  return objs.filter((o) => o.kind === "NetworkPolicy" && selects(o.spec.podSelector, labels) &&
                            policyTypes(o).includes(type));
}

function clusterIpServiceOf(objs, suffix) {
  const labels = deploymentOf(objs, suffix).spec.template.metadata.labels;
  return objs.find((o) => o.kind === "Service" && o.spec.clusterIP !== "None" &&
                          mapSelects(o.spec.selector, labels));
}

function deploymentOf(objs, suffix) {
  return objs.find((o) => o.kind === "Deployment" && o.metadata.name.endsWith(suffix.replace(/^peerwell/, "")));
}

// Changes a container's setting where the render keeps it: the container's env (Helm) or the
// ConfigMap its envFrom reads (kustomize). False when it is set nowhere.
function editSetting(objs, suffix, name, edit) {
  const c = deploymentOf(objs, suffix).spec.template.spec.containers[0];
  const e = (c.env ?? []).find((x) => x.name === name);
  if (e) {
    e.value = edit(e.value);
    return true;
  }
  for (const from of c.envFrom ?? []) {
    const cm = objs.find((o) => o.kind === "ConfigMap" &&
                                o.metadata.name === from.configMapRef?.name);
    if (cm?.data?.[name] !== undefined) {
      cm.data[name] = edit(cm.data[name]);
      return true;
    }
  }
  return false;
}

async function commandSelftest(binariesFile, renders) {
  const binaries = JSON.parse(fs.readFileSync(binariesFile, "utf8"));
  let failed = 0;
  for (const spec of renders) {
    const [label, file] = spec.split("=");
    const { objects } = parseRender(file);
    const base = await checkRender(binaries, objects, label);
    if (base.errors.length) {
      console.log(`FAIL [${label}] the unbroken render has problems:\n  ${base.errors.join("\n  ")}`);
      failed++;
      continue;
    }
    for (const [what, expected, mutate, where] of MUTATIONS) {
      if (where && !where.test(label)) continue;
      const copy = structuredClone(objects);
      if (mutate(copy) === false) {
        failed++;
        console.log(`FAIL [${label}] ${what}: nothing in the render to break`);
        continue;
      }
      const { errors } = await checkRender(binaries, copy, label);
      const hit = errors.find((e) => expected.test(e));
      if (hit) {
        console.log(`ok   [${label}] rejects ${what}: ${hit}`);
      } else {
        failed++;
        const instead = errors.length ? ` (reported instead: ${errors[0]})` : "";
        console.log(`FAIL [${label}] accepted ${what}${instead}`);
      }
    }
  }
  return failed ? 1 : 0;
}

function commandRules(file, out) {
  const { objects, errors } = parseRender(file);
  if (errors.length) throw new Error(errors.join("; "));
  const rules = objects.filter((o) => o.kind === "PrometheusRule");
  if (rules.length !== 1) {
    console.log(`FAIL expected one PrometheusRule, found ${rules.length}`);
    return 1;
  }
  fs.writeFileSync(out, YAML.stringify({ groups: rules[0].spec.groups }));
  const count = rules[0].spec.groups.reduce((n, g) => n + g.rules.length, 0);
  console.log(`ok   extracted ${count} rules in ${rules[0].spec.groups.length} groups`);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Dockerfile

function ignoreMatcher(text) {
  const rules = text.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"))
    .map((l) => {
      const negate = l.startsWith("!");
      const pattern = path.posix.normalize((negate ? l.slice(1) : l).replace(/^\/+/, ""));
      const re = pattern.split("/").map((part) => part === "**" ? ".*" :
        part.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]"))
        .join("/");
      return { negate, re: new RegExp(`^${re}$`) };
    });
  // Like Docker: the last rule matching the path or one of its parent folders decides.
  return (file) => {
    const parts = path.posix.normalize(file).split("/");
    let excluded = false;
    for (const rule of rules) {
      for (let i = 1; i <= parts.length; i++) {
        if (rule.re.test(parts.slice(0, i).join("/"))) {
          excluded = !rule.negate;
          break;
        }
      }
    }
    return excluded;
  };
}

function parseDockerfile(text) {
  const instructions = [];
  let current = "";
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\r$/, "");
    if (!current && /^\s*#/.test(line)) continue;
    if (/^\s*#/.test(line)) continue; // comments inside a continued instruction
    if (/\\\s*$/.test(line)) {
      current += line.replace(/\\\s*$/, " ");
      continue;
    }
    current += line;
    if (current.trim()) {
      const m = /^\s*(\w+)\s*(.*)$/.exec(current);
      instructions.push({ op: m[1].toUpperCase(), args: m[2].trim() });
    }
    current = "";
  }
  return instructions;
}

function words(args) {
  if (args.startsWith("[")) return JSON.parse(args);
  return args.split(/\s+/).filter(Boolean);
}

function checkDockerfile(text, ignoreText, root, binaries) {
  const errors = [];
  const ignored = ignoreMatcher(ignoreText);
  const inContext = (p) => {
    const rel = path.posix.normalize(p.replace(/^\.\//, ""));
    if (rel === ".") return true;
    if (ignored(rel)) return `${p} is excluded by deploy/Dockerfile.dockerignore`;
    if (!fs.existsSync(path.join(root, rel))) return `${p} does not exist in the build context`;
    return true;
  };
  const stages = [];
  for (const ins of parseDockerfile(text)) {
    if (ins.op === "FROM") {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      stages.push({ image: m?.[1], name: m?.[2]?.toLowerCase(), runs: [], copies: [], user: null,
                    env: {} });
      continue;
    }
    const stage = stages[stages.length - 1];
    if (!stage) {
      if (ins.op !== "ARG") errors.push(`${ins.op} before the first FROM`);
      continue;
    }
    if (ins.op === "RUN") {
      const args = ins.args.replace(/^(--\S+\s+)+/, "");
      stage.runs.push(args);
      for (const word of words(args).map((w) => w.replace(/[;&|]+$/, ""))) {
        if (!/^(\.\/)?[\w.-]+\/[\w./-]+\.sh$/.test(word)) continue;
        const rel = word.replace(/^\.\//, "");
        const found = inContext(rel);
        if (found !== true) errors.push(`RUN ${word}: ${found}`);
        else if (!(fs.statSync(path.join(root, rel)).mode & 0o111)) {
          errors.push(`RUN ${word}: not executable`);
        }
      }
    } else if (ins.op === "COPY" || ins.op === "ADD") {
      const all = words(ins.args);
      const flags = all.filter((w) => w.startsWith("--"));
      const rest = all.filter((w) => !w.startsWith("--"));
      const from = flags.find((f) => f.startsWith("--from="))?.slice(7);
      const sources = rest.slice(0, -1);
      if (rest.length < 2) errors.push(`${ins.op} ${ins.args}: needs a source and a destination`);
      stage.copies.push({ from, sources, dest: rest[rest.length - 1] });
      for (const src of sources) {
        if (ins.op === "ADD" && /^(https?|git|ssh):|^git@/.test(src)) {
          errors.push(`ADD ${src}: fetches from the network at build time (not reproducible)`);
          continue;
        }
        if (from !== undefined) continue;
        const found = inContext(src);
        if (found !== true) errors.push(`${ins.op} ${src}: ${found}`);
      }
      if (from !== undefined) {
        const earlier = stages.slice(0, -1);
        const ok = /^\d+$/.test(from) ? Number(from) < earlier.length
          : earlier.some((s) => s.name === from.toLowerCase());
        if (!ok) errors.push(`${ins.op} --from=${from}: names no earlier stage`);
      }
    } else if (ins.op === "USER") {
      stage.user = ins.args;
    } else if (ins.op === "ENV") {
      // ENV NAME=value [NAME=value...], or the old form ENV NAME value.
      const all = words(ins.args);
      if (all[0]?.includes("=")) {
        for (const w of all) {
          const i = w.indexOf("=");
          if (i > 0) stage.env[w.slice(0, i)] = w.slice(i + 1).replace(/^"(.*)"$/, "$1");
        }
      } else if (all.length >= 2) stage.env[all[0]] = all.slice(1).join(" ");
    }
  }
  if (stages.length < 2) errors.push("expected a build stage and a runtime stage");
  const build = stages[0];
  const final = stages[stages.length - 1];
  if (build && !/^debian:(12|bookworm)([.-][\w.-]+)?$/.test(build.image ?? "")) {
    errors.push(`build stage: FROM ${build.image} is not Debian 12 (the platform the scripts support)`);
  }
  const buildRuns = build?.runs.join("\n") ?? "";
  if (!/(^|\s)(\.\/)?tools\/install-deps\.sh(\s|$|&)/m.test(buildRuns)) {
    errors.push("build stage does not run tools/install-deps.sh");
  }
  const buildCommand = build?.runs.find((r) => /tools\/build\.sh/.test(r));
  const collect = build?.runs.find((r) => /deploy\/collect-runtime\.sh/.test(r));
  if (!buildCommand) errors.push("build stage does not run tools/build.sh");
  if (!collect) errors.push("build stage does not run deploy/collect-runtime.sh");
  for (const name of binaries) {
    if (buildCommand && !new RegExp(`--target\\b.*\\b${name}\\b`).test(buildCommand)) {
      errors.push(`tools/build.sh does not build target ${name}`);
    }
    if (collect && !new RegExp(`/${name}\\b`).test(collect)) {
      errors.push(`deploy/collect-runtime.sh does not collect ${name}`);
    }
  }
  if (final) {
    const m = /^(\d+)(?::(\d+))?$/.exec(final.user ?? "");
    if (!m) errors.push(`final stage: USER ${final.user ?? "(none)"} is not numeric`);
    else if (Number(m[1]) === 0) errors.push("final stage: USER is root (uid 0)");
    if (!final.copies.some((c) => c.from !== undefined && c.sources.some((s) => /zoneinfo/.test(s)))) {
      errors.push("final stage: no /usr/share/zoneinfo (Abseil's LoadTimeZone needs it)");
    }
    // The webhooks service verifies its receivers' certificates against the system's trust
    // store. FROM scratch has none, and OpenSSL would look for one under /usr/lib/ssl: the bundle
    // must be copied in and SSL_CERT_FILE must name it.
    const bundle = final.copies.find((c) => c.from !== undefined &&
                                            c.sources.some((s) => /ca-certificates\.crt$/.test(s)));
    const bundlePath = bundle &&
      (bundle.dest.endsWith("/") ? `${bundle.dest}ca-certificates.crt` : bundle.dest);
    if (!bundle) {
      errors.push("final stage: no CA bundle (ca-certificates.crt): TLS to partners' webhook " +
                  "receivers could verify no certificate");
    } else if (final.env.SSL_CERT_FILE !== bundlePath) {
      errors.push(`final stage: SSL_CERT_FILE is ${final.env.SSL_CERT_FILE ?? "not set"}, not the ` +
                  `CA bundle ${bundlePath} (OpenSSL would look under /usr/lib/ssl, which it lacks)`);
    }
    const deps = fs.existsSync(path.join(root, "tools/install-deps.sh"))
      ? fs.readFileSync(path.join(root, "tools/install-deps.sh"), "utf8") : "";
    if (bundle && !/\bca-certificates\b/.test(buildRuns) && !/\bca-certificates\b/.test(deps)) {
      errors.push("build stage: nothing installs ca-certificates, whose bundle the final stage copies");
    }
  }
  if (!ignored("build/services/x") || !ignored(".git/config")) {
    errors.push("deploy/Dockerfile.dockerignore lets the host's build/ or .git/ into the context");
  }
  return errors;
}

function commandDockerfile(binariesFile, root) {
  const binaries = JSON.parse(fs.readFileSync(binariesFile, "utf8")).map((b) => b.name);
  const text = fs.readFileSync(path.join(root, "deploy/Dockerfile"), "utf8");
  const ignore = fs.readFileSync(path.join(root, "deploy/Dockerfile.dockerignore"), "utf8");
  const errors = checkDockerfile(text, ignore, root, binaries);
  if (errors.length) {
    console.log(`FAIL deploy/Dockerfile:\n  - ${errors.join("\n  - ")}`);
    return 1;
  }
  console.log(`ok   deploy/Dockerfile: stages, scripts, COPY sources, USER, context`);
  const broken = [
    ["a root user", /USER is root/, (t) => t.replace(/^USER .*$/m, "USER 0")],
    ["a user name", /not numeric/, (t) => t.replace(/^USER .*$/m, "USER nonroot")],
    ["ADD from a URL", /fetches from the network/, (t) => `${t}\nADD https://example.invalid/x /x\n`],
    ["a missing script", /tools\/nope\.sh: .*does not exist/, (t) => t.replace("RUN tools/build.sh", "RUN tools/nope.sh && tools/build.sh")],
    ["a COPY from no stage", /names no earlier stage/, (t) => t.replace("--from=build /runtime/", "--from=builder /runtime/")],
    ["a binary not built", /does not build target peerwell-alerts/, (t) => t.replace(/--target (.*)peerwell-alerts/, "--target $1")],
    ["the gateway not collected", /does not collect peerwell-gateway/, (t) => t.replace(/^\s*build\/services\/gateway\/peerwell-gateway \\\n/m, "")],
    ["no CA bundle", /no CA bundle/, (t) => t.replace(/^COPY --from=\S+ \S*ca-certificates\.crt .*\n/m, "")],
    ["no SSL_CERT_FILE", /SSL_CERT_FILE is not set/, (t) => t.replace(/^ENV SSL_CERT_FILE=.*\n/m, "")],
    ["no ca-certificates installed", /nothing installs ca-certificates/, (t) => t.replace(/ca-certificates \\\n/, "\\\n")],
  ];
  let failed = 0;
  for (const [what, expected, mutate] of broken) {
    const hit = checkDockerfile(mutate(text), ignore, root, binaries).find((e) => expected.test(e));
    if (hit) console.log(`ok   rejects a Dockerfile with ${what}: ${hit}`);
    else {
      failed++;
      console.log(`FAIL accepted a Dockerfile with ${what}`);
    }
  }
  const leaky = checkDockerfile(text, ignore.replace(/^build$/m, ""), root, binaries)
    .find((e) => /lets the host's build/.test(e));
  if (leaky) console.log(`ok   rejects an ignore file without build/: ${leaky}`);
  else {
    failed++;
    console.log("FAIL accepted an ignore file without build/");
  }
  return failed ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// The Redis ACL rules and the script that makes Redis's ACL file of them: written once in
// deploy/base; the chart has symbolic links to them (Helm reads no file outside the chart but
// follows links, and a packaged chart holds their contents), so there is nothing to copy again.

// `resolve(home, name)`: the file a path ends at, links followed (null: no such file).
function checkAclLinks(resolve) {
  const errors = [];
  for (const name of [ACL_RULES, ACL_SCRIPT]) {
    const base = resolve(ACL_HOMES.kustomize, name);
    const chart = resolve(ACL_HOMES.helm, name);
    if (base === null) errors.push(`${ACL_HOMES.kustomize}/${name} is missing`);
    else if (chart !== base) {
      errors.push(`${ACL_HOMES.helm}/${name} is not a link to ${ACL_HOMES.kustomize}/${name}`);
    }
  }
  return errors;
}

function checkAclFiles(files) {
  const errors = [];
  if (files[ACL_RULES] === undefined) errors.push(`${ACL_HOMES.kustomize}/${ACL_RULES} is missing`);
  const where = `${ACL_HOMES.kustomize}/${ACL_RULES}`;
  const { users, errors: parse } = parseAclRules(files[ACL_RULES] ?? "");
  errors.push(...parse.map((e) => `${where}: ${e}`));
  for (const [user, rule] of users) {
    if (user === "default") errors.push(`${where}: user default: every deployment turns it off`);
    // "on" and the password are each deployment's to add, from its own secrets.
    for (const word of rule.rules.split(" ")) {
      const kind = /^[>#]/.test(word) ? "a password" : /^[<!]/.test(word) ? "a password removal"
        : ["on", "off", "reset", "resetpass"].includes(word) ? `"${word}"` : null;
      if (kind) {
        errors.push(`${where}: user ${user} has ${kind} in its rules: the deployment adds "on" ` +
                    `and the password`);
      }
    }
  }
  for (const [service, needs] of Object.entries(NEEDS)) {
    if (needs.includes("redis") && !(users.has(service) && !users.get(service).nopass)) {
      errors.push(`${where}: no user ${service} with a password, which the ${service} service logs in as`);
    }
  }
  // The readiness probe's user: no password (the probe's command line holds none) and PING alone.
  const probe = users.get("probe");
  if (!probe?.nopass) {
    errors.push(`${where}: no nopass user probe, which Redis's readiness probe logs in as`);
  } else {
    const words = probe.rules.split(" ");
    const grants = words.filter((w) => /^[+~%&]/.test(w) || /^all(keys|channels|commands)$/.test(w));
    if (!words.includes("-@all") || JSON.stringify(grants) !== JSON.stringify(["+ping"])) {
      errors.push(`${where}: the probe user may do more than PING: ${probe.rules}`);
    }
  }
  return errors;
}

function commandAclFiles(root) {
  const resolve = (home, name) => {
    const file = path.join(root, home, name);
    return fs.existsSync(file) ? fs.realpathSync(file) : null;
  };
  const file = path.join(root, ACL_HOMES.kustomize, ACL_RULES);
  const files = { [ACL_RULES]: fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined };
  const errors = [...checkAclLinks(resolve), ...checkAclFiles(files)];
  if (errors.length) {
    console.log(`FAIL Redis ACL files:\n  - ${errors.join("\n  - ")}`);
    return 1;
  }
  const { users } = parseAclRules(files[ACL_RULES]);
  console.log(`ok   ${ACL_HOMES.helm}/{${ACL_RULES},${ACL_SCRIPT}} link to ${ACL_HOMES.kustomize}'s; ` +
              `${users.size} Redis users (${[...users.keys()].join(", ")})`);
  let failed = 0;
  // A chart with a copy of its own (a file, not the link) must be refused.
  const copied = checkAclLinks((home, name) =>
    home === ACL_HOMES.helm && name === ACL_SCRIPT ? "/elsewhere" : resolve(home, name));
  const copyHit = copied.find((e) => /files\/redis-acl-file\.sh is not a link/.test(e));
  if (copyHit) console.log(`ok   rejects a copy in the chart: ${copyHit}`);
  else {
    failed++;
    console.log("FAIL accepted a copy in the chart");
  }
  // Broken rules, each of which must be refused.
  const withRules = (edit) => (f) => ({ [ACL_RULES]: edit(f[ACL_RULES]) });
  const broken = [
    ["a password in a rule", /user directory has a password in its rules/,
     withRules((t) => t.replace(/^user directory /m, "user directory >not-here "))],
    ["a rule for the default user", /user default: every deployment turns it off/,
     withRules((t) => `${t}user default nopass ~* +@all\n`)],
    ["no user for a service", /no user webhooks with a password/,
     withRules((t) => t.replace(/^user webhooks .*\n/m, ""))],
    ["a probe user with a password", /no nopass user probe/,
     withRules((t) => t.replace(/^user probe nopass /m, "user probe "))],
    ["a probe user that may read keys", /the probe user may do more than PING/,
     withRules((t) => t.replace(/^(user probe .*)$/m, "$1 +get ~*"))],
  ];
  for (const [what, expected, mutate] of broken) {
    const hit = checkAclFiles(mutate(files)).find((e) => expected.test(e));
    if (hit) console.log(`ok   rejects ${what}: ${hit}`);
    else {
      failed++;
      console.log(`FAIL accepted ${what}`);
    }
  }
  return failed ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------

// A server's --help lists "--listen_addr (PEERWELL_LISTEN_ADDR) default 127.0.0.1:50051"; the
// CLI's lists the PEERWELL_* variables it reads. Either way every PEERWELL_* name it mentions.
function commandBinaries(out, binaries) {
  const described = binaries.map((file) => {
    const help = execFileSync(file, ["--help"], { encoding: "utf8" });
    const port = (env) => {
      const m = new RegExp(`\\(${env}\\) default [^\\s]*:([0-9]+)`).exec(help);
      return m ? Number(m[1]) : null;
    };
    return {
      name: path.basename(file),
      env: [...new Set(help.match(/PEERWELL_[A-Z0-9_]+/g) ?? [])].sort(),
      listenPort: port("PEERWELL_LISTEN_ADDR"),
      metricsPort: port("PEERWELL_METRICS_ADDR"),
    };
  });
  fs.writeFileSync(out, JSON.stringify(described, null, 2));
  for (const b of described) {
    console.log(`ok   ${b.name} --help: ${b.env.length} PEERWELL_* settings` +
                (b.listenPort ? `, listens on ${b.listenPort}, metrics ${b.metricsPort}` : ""));
  }
  return 0;
}

const [command, ...args] = process.argv.slice(2);
let status;
try {
  if (command === "binaries") status = commandBinaries(args[0], args.slice(1));
  else if (command === "manifests") status = await commandManifests(args[0], args.slice(1));
  else if (command === "selftest") status = await commandSelftest(args[0], args.slice(1));
  else if (command === "rules") status = commandRules(args[0], args[1]);
  else if (command === "dockerfile") status = commandDockerfile(args[0], args[1]);
  else if (command === "acl-files") status = commandAclFiles(args[0]);
  else {
    console.error("usage: validate-manifests.mjs binaries|manifests|selftest|rules|dockerfile|acl-files ...");
    status = 2;
  }
} catch (e) {
  console.error(`FAIL ${command}: ${e.stack ?? e}`);
  status = 1;
}
process.exit(status);
