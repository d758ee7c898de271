// The OrleansShards status page: one EventSource on /v1/status/stream, the DOM rebuilt from each snapshot.
// No build step and no library: this file is served as it is written.
"use strict";

const TOKEN_KEY = "orleans-shards.token";
const HISTORY = 120; // samples kept per job for the throughput chart (a minute at the default 500 ms)
const samplesByJob = new Map(); // job id -> [{ t: ms, delivered }]
let source = null;

function takeToken() {
  const url = new URL(location.href);
  const fromUrl = url.searchParams.get("token");
  if (fromUrl) {
    localStorage.setItem(TOKEN_KEY, fromUrl);
    // Keep the token out of the address bar, bookmarks and the history.
    url.searchParams.delete("token");
    window.history.replaceState(null, "", url.pathname + url.search + url.hash);
  }
  return localStorage.getItem(TOKEN_KEY);
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null) continue;
    if (name === "style") node.style.cssText = value; else node.setAttribute(name, value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function svg(tag, attrs, ...children) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

const number = n => (n === undefined || n === null) ? "—" : Number(n).toLocaleString("en-US");
const percent = (part, total) => total > 0 ? Math.max(0, Math.min(100, 100 * part / total)) : 0;

function setConnection(state, text) {
  const node = document.getElementById("connection");
  node.dataset.state = state;
  node.textContent = text;
}

function connect() {
  if (source) source.close();
  const token = localStorage.getItem(TOKEN_KEY);
  // EventSource cannot send headers: the stream takes the token as access_token (never logged by the server).
  const url = "/v1/status/stream" + (token ? "?access_token=" + encodeURIComponent(token) : "");
  source = new EventSource(url);
  source.addEventListener("open", () => setConnection("live", "live"));
  source.addEventListener("status", event => {
    setConnection("live", "live");
    render(JSON.parse(event.data));
  });
  source.addEventListener("error", async () => {
    setConnection("error", "reconnecting…");
    // EventSource hides the status code: ask once whether the token is the problem.
    try {
      const headers = token ? { Authorization: "Bearer " + token } : {};
      const answer = await fetch("/v1/status", { headers });
      if (answer.status === 401 || answer.status === 403) {
        source.close();
        const problem = await answer.json().catch(() => ({}));
        setConnection("error", answer.status === 401 ? "token needed" : "token not allowed");
        showTokenForm(problem.detail || answer.statusText);
      }
    } catch (e) {
      // The server is away; EventSource retries by itself.
    }
  });
}

function showTokenForm(reason) {
  const form = document.getElementById("token-form");
  form.hidden = false;
  document.getElementById("token-error").textContent = reason || "";
}

document.getElementById("token-form").addEventListener("submit", event => {
  event.preventDefault();
  const value = document.getElementById("token-input").value.trim();
  if (value) localStorage.setItem(TOKEN_KEY, value); else localStorage.removeItem(TOKEN_KEY);
  document.getElementById("token-form").hidden = true;
  connect();
});

function rateOf(id, at, delivered) {
  const samples = samplesByJob.get(id) || [];
  const t = Date.parse(at);
  if (!samples.length || samples[samples.length - 1].t < t) samples.push({ t, delivered });
  while (samples.length > HISTORY + 1) samples.shift();
  samplesByJob.set(id, samples);
  const rates = [];
  for (let i = 1; i < samples.length; i++) {
    const seconds = (samples[i].t - samples[i - 1].t) / 1000;
    rates.push(seconds > 0 ? Math.max(0, samples[i].delivered - samples[i - 1].delivered) / seconds : 0);
  }
  return rates;
}

function chart(rates) {
  const width = 600, height = 70, peak = Math.max(0, ...rates), max = Math.max(1, peak);
  const step = width / Math.max(1, HISTORY - 1);
  const offset = width - (rates.length - 1) * step;
  const points = rates.map((r, i) => `${(offset + i * step).toFixed(1)},${(height - 4 - (height - 16) * r / max).toFixed(1)}`).join(" ");
  const now = rates.length ? rates[rates.length - 1] : 0;
  return svg("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: "none", role: "img", "aria-label": "records per second" },
    svg("polyline", { points }),
    svg("text", { x: 4, y: 11 }, `peak ${number(Math.round(peak))} records/s · now ${number(Math.round(now))} records/s`));
}

function bar(shards, testId) {
  const { total, done, doing, failed } = shards;
  return el("div", { class: "bar", "data-testid": testId, title: `${done} done, ${doing} doing, ${failed} failed of ${total}` },
    el("span", { class: "done", style: `width:${percent(done, total)}%` }),
    el("span", { class: "doing", style: `width:${percent(doing, total)}%` }),
    el("span", { class: "failed", style: `width:${percent(failed, total)}%` }));
}

function epochRows(status) {
  const rows = [];
  const shards = status.shards;
  for (let epoch = 0; epoch < status.epochs; epoch++) {
    let view;
    if (epoch < status.epoch || status.state === "completed" || status.state === "failed") {
      const past = (status.epochHistory || []).find(e => e.epoch === epoch);
      const done = epoch === status.epoch ? shards.done : (past ? past.shardsDone : shards.total);
      view = { total: shards.total, done: Math.min(done, shards.total), doing: 0, failed: epoch === status.epoch ? shards.failed : 0 };
    } else if (epoch === status.epoch) {
      view = shards;
    } else {
      view = { total: shards.total, done: 0, doing: 0, failed: 0 };
    }
    rows.push(el("span", {}, `epoch ${epoch + 1}`), bar(view, `epoch-${status.id}-${epoch}`), el("span", { class: "muted" }, `${Math.round(percent(view.done, view.total))}%`));
  }
  return el("div", { class: "epochs" }, rows);
}

function lagOf(p) {
  if (p.lag !== undefined && p.lag !== null) return p.lag;
  if (p.highWatermark !== undefined && p.committedOffset !== undefined) return p.highWatermark - p.committedOffset;
  return null;
}

function partitions(status) {
  const list = status.partitions || [];
  if (!list.length) return null;
  const live = list.some(p => lagOf(p) !== null);
  return [el("h3", {}, live ? "Partitions (lag: records not yet done)" : "Partitions"),
    el("table", { "data-testid": `partitions-${status.id}` },
      el("tr", {}, el("th", {}, "#"), el("th", {}, "path"), el("th", {}, "records"), el("th", {}, "shards"), live ? el("th", {}, "lag") : null),
      list.map(p => el("tr", {}, el("td", {}, p.partition), el("td", {}, p.path), el("td", {}, number(p.records)),
        el("td", {}, p.acknowledged ? number(p.shards) : "describing…"), live ? el("td", {}, number(lagOf(p))) : null)))];
}

function workers(job, at) {
  const byWorker = new Map();
  for (const lease of job.leases || []) {
    if (!byWorker.has(lease.workerId)) byWorker.set(lease.workerId, []);
    byWorker.get(lease.workerId).push(lease);
  }
  const now = Date.parse(at);
  const rows = [...byWorker.entries()].map(([worker, leases]) => el("tr", {},
    el("td", {}, worker), el("td", {}, leases.length),
    el("td", {}, leases.map(l => `${l.taskId} (attempt ${l.attempt}, ${Math.max(0, Math.round((Date.parse(l.expiresAt) - now) / 1000))} s left)`).join(", "))));
  // A snapshot lists the first leases of a job only (Shards:Limits:StatusLeasesPerJob); the rest are counted.
  const more = job.leasesNotListed ? el("p", { class: "muted" }, `and ${number(job.leasesNotListed)} more leases not listed`) : null;
  return [el("h3", {}, `Workers (${byWorker.size}${job.leasesNotListed ? "+" : ""})`),
    more,
    rows.length ? el("table", { "data-testid": `workers-${job.status.id}` }, el("tr", {}, el("th", {}, "worker"), el("th", {}, "leases"), el("th", {}, "tasks")), rows)
      : el("p", { class: "muted", "data-testid": `workers-${job.status.id}` }, "No lease in flight.")];
}

function runs(job) {
  const list = job.runs || [];
  if (!list.length) return null;
  const step = p => p ? `epoch ${p.epoch} step ${p.step}` : "none";
  return [el("h3", {}, `Training runs (${list.length})`),
    el("table", { "data-testid": `runs-${job.status.id}` },
      el("tr", {}, el("th", {}, "run"), el("th", {}, "committed"), el("th", {}, "resume at"), el("th", {}, "steps/s")),
      list.map(r => el("tr", {}, el("td", {}, r.live ? `${r.run} (live)` : r.run),
        el("td", {}, r.committed ? step(r.committed) + (r.committed.checkpoint ? ` (${r.committed.checkpoint})` : "") : "none"),
        el("td", {}, step(r.resumeAt)), el("td", {}, r.stepsPerSecond == null ? "–" : r.stepsPerSecond.toFixed(2)))))];
}

function duration(seconds) {
  if (seconds == null || !isFinite(seconds)) return "?";
  const s = Math.max(0, Math.round(seconds));
  const hms = [Math.floor(s / 3600) % 24, Math.floor(s / 60) % 60, s % 60].map(n => String(n).padStart(2, "0")).join(":");
  return s >= 86400 ? `${Math.floor(s / 86400)}d ${hms}` : hms;
}

// Elapsed since creation; for a running job with a known total, the time left at the recent rate (else the average).
function timing(s, at, rates) {
  const elapsed = (Date.parse(at) - Date.parse(s.createdAt)) / 1000;
  const parts = [`elapsed ${duration(elapsed)}`];
  if (s.state === "running" && s.records.total) {
    const recent = rates.slice(-10).filter(r => r > 0);
    const rate = recent.length ? recent.reduce((a, b) => a + b, 0) / recent.length : (elapsed > 0 ? s.records.delivered / elapsed : 0);
    const left = s.records.total - s.records.delivered;
    parts.push(`ETA ${rate > 0 ? duration(left / rate) : "?"}`);
  }
  return el("span", { class: "muted", "data-testid": `timing-${s.id}` }, parts.join(" · "));
}

// Many shards usually die of one cause: one line per distinct error, with how many and which.
function deadLetters(job) {
  const list = job.status.deadLetters || [];
  if (!list.length) return null;
  const groups = new Map();
  for (const d of list) {
    if (!groups.has(d.lastError)) groups.set(d.lastError, []);
    groups.get(d.lastError).push(d.taskId);
  }
  const hidden = (job.deadLettersNotListed || 0);
  return el("details", { "data-testid": `dead-${job.status.id}`, open: groups.size <= 3 ? "" : null },
    el("summary", {}, `Dead letters (${number(list.length + hidden)}, ${groups.size} distinct error${groups.size === 1 ? "" : "s"})`),
    el("ul", {}, [...groups.entries()].sort((a, b) => b[1].length - a[1].length).map(([error, tasks]) =>
      el("li", {}, el("b", {}, `${tasks.length} × `), error, el("span", { class: "muted" }, ` (${tasks.slice(0, 3).join(", ")}${tasks.length > 3 ? ", …" : ""})`)))),
    hidden ? el("p", { class: "muted" }, `and ${number(hidden)} more not listed (GET /v1/jobs/${job.status.id})`) : null);
}

function card(job, at) {
  const s = job.status;
  const rates = rateOf(s.id, at, s.records.delivered);
  const attemptsFailed = (s.epochHistory || []).reduce((n, e) => n + (e.attemptsFailed || 0), 0);
  return el("article", { class: "job", "data-job": s.id },
    el("h2", {}, s.id, el("span", { class: `state ${s.state}`, "data-testid": `state-${s.id}` }, s.state),
      el("span", { class: "muted" }, `${s.spec && s.spec.source ? s.spec.source.kind : ""} · epoch ${Math.min(s.epoch + 1, s.epochs)} of ${s.epochs}`)),
    el("div", { "data-testid": `progress-${s.id}` }, `${number(s.shards.done)} / ${number(s.shards.total)} shards done`),
    bar(s.shards, `bar-${s.id}`),
    el("div", { class: "counts" },
      el("span", {}, el("span", { class: "dot", style: "background:var(--todo)" }), "todo ", el("b", { "data-testid": `todo-${s.id}` }, number(s.shards.todo))),
      el("span", {}, el("span", { class: "dot", style: "background:var(--doing)" }), "doing ", el("b", { "data-testid": `doing-${s.id}` }, number(s.shards.doing))),
      el("span", {}, el("span", { class: "dot", style: "background:var(--done)" }), "done ", el("b", { "data-testid": `done-${s.id}` }, number(s.shards.done))),
      el("span", {}, el("span", { class: "dot", style: "background:var(--failed)" }), "dead-lettered ", el("b", { "data-testid": `failed-${s.id}` }, number(s.shards.failed))),
      el("span", {}, "attempts failed ", el("b", { "data-testid": `attempts-failed-${s.id}`, class: attemptsFailed ? "error" : "" }, number(attemptsFailed))),
      el("span", {}, "records delivered ", el("b", {}, number(s.records.delivered)), s.records.total ? ` of ${number(s.records.total)}` : ""),
      timing(s, at, rates)),
    epochRows(s),
    el("h3", {}, "Throughput (records reported done per second)"),
    chart(rates),
    workers(job, at),
    runs(job),
    partitions(s),
    deadLetters(job));
}

function render(snapshot) {
  const main = document.getElementById("jobs");
  // Running jobs first, then paused, then the ended ones; the newest first within each.
  const order = { running: 0, paused: 1, failed: 2, completed: 3, cancelled: 4 };
  const jobs = [...(snapshot.jobs || [])].sort((a, b) =>
    ((order[a.status.state] ?? 5) - (order[b.status.state] ?? 5)) || (Date.parse(b.status.createdAt) - Date.parse(a.status.createdAt)));
  main.replaceChildren(...(jobs.length ? jobs.map(job => card(job, snapshot.at)) : [el("p", { class: "muted", id: "empty" }, "No job yet.")]));
  const running = jobs.filter(j => j.status.state === "running").length;
  const leases = jobs.reduce((n, j) => n + (j.leases || []).length + (j.leasesNotListed || 0), 0);
  document.getElementById("summary").replaceChildren(
    el("span", {}, `${jobs.length} jobs`), el("span", {}, `${running} running`), el("span", {}, `${leases} leases in flight`));
  document.getElementById("updated").textContent = "updated " + new Date(snapshot.at).toLocaleTimeString();
}

takeToken();
connect();
