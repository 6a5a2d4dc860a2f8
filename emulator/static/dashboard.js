// The local rollout page: polls /dashboard/state.json and redraws. No framework, no build step.
"use strict";

const STATE_URL = "/dashboard/state.json";
const POLL_MS = 1000;
const TREND_POINTS = 60;
const trends = new Map(); // version -> recent req/s readings, oldest first

const byField = (root, name) => root.querySelector(`[data-field="${name}"]`);
const number = (value, digits) => (value === null || value === undefined ? "-" : value.toFixed(digits));
const percent = (value) => (value === null || value === undefined ? "-" : `${(value * 100).toFixed(2)} %`);
const clock = (seconds) => new Date(seconds * 1000).toLocaleTimeString();

function setText(root, name, text) {
  byField(root, name).textContent = text;
}

// The routing as `canary status --json` shows it: live, previous, canary {version, percent, mode}.
function drawRouting(routing) {
  const card = document.getElementById("routing");
  const canary = routing.canary;
  setText(card, "live", routing.live);
  setText(card, "candidate", canary ? canary.version : "none");
  setText(card, "share", canary ? `${canary.percent} %` : "-");
  setText(card, "mode", canary ? canary.mode : "-");
  setText(card, "previous", routing.previous || "-");
}

function drawAnalysis(analysis) {
  const card = document.getElementById("analysis");
  const verdict = byField(card, "verdict");
  verdict.dataset.verdict = analysis ? analysis.verdict : "none";
  verdict.textContent = analysis ? analysis.verdict : "no candidate";
  setText(card, "window", analysis ? `last ${analysis.windowSeconds / 60} min` : "");
  byField(card, "reasons").replaceChildren(...(analysis ? analysis.reasons : []).map((reason) => {
    const item = document.createElement("li");
    item.textContent = reason;
    return item;
  }));
  byField(card, "checks").replaceChildren(...(analysis ? analysis.checks : []).map((check) => {
    const row = document.createElement("tr");
    row.dataset.metric = check.metric;
    row.dataset.failed = String(check.failed);
    for (const key of ["metric", "live", "candidate", "threshold", "evidence"]) {
      const cellElement = document.createElement("td");
      cellElement.dataset.field = key;
      cellElement.textContent = check[key];
      row.append(cellElement);
    }
    return row;
  }));
}

function drawRun(run) {
  const card = document.getElementById("run");
  card.hidden = !run;
  if (!run) return;
  setText(card, "summary", `${run.version}: step ${run.step}/${run.steps} at ${run.weight} %, ${run.phase}`);
  byField(card, "steps").replaceChildren(...run.weights.map((weight, index) => {
    const item = document.createElement("li");
    item.textContent = `${weight} %`;
    item.className = index + 1 < run.step ? "done" : index + 1 === run.step ? "current" : "";
    return item;
  }));
  const last = run.lastVerdict ? `last ${run.lastVerdict.kind} verdict: ${run.lastVerdict.verdict}; ` : "";
  const gone = run.processAlive ? "" : " (its process is gone: the run is not progressing)";
  setText(card, "detail", `${last}failures ${run.failures}/${run.failureLimit}${gone}`);
}

function trendLine(values) {
  // req/s over the polls so far, left to right, from zero at the bottom to 1.25x the highest
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("class", "trend");
  svg.setAttribute("viewBox", "0 0 100 24");
  svg.setAttribute("preserveAspectRatio", "none");
  const top = Math.max(...values, 1e-9) * 1.25;
  const step = 100 / Math.max(values.length - 1, 1);
  const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
  const points = values.length === 1 ? [values[0], values[0]] : values;
  line.setAttribute("points", points.map((v, i) => `${(i * step).toFixed(1)},${(23 - (v / top) * 22).toFixed(1)}`)
    .join(" "));
  svg.appendChild(line);
  return svg;
}

function cell(field, text, bad) {
  const td = document.createElement("td");
  td.dataset.field = field;
  if (typeof text === "string") td.textContent = text;
  else td.appendChild(text);
  if (bad) td.className = "bad";
  return td;
}

function versionRow(version, limits) {
  const history = trends.get(version.name) || [];
  if (version.recent.perSecond !== null) history.push(version.recent.perSecond);
  trends.set(version.name, history.slice(-TREND_POINTS));
  const row = document.createElement("tr");
  row.dataset.version = version.name;
  row.dataset.role = version.role;
  const latest = version.latestMinute || {};
  const tooMany5xx = (rate) => rate !== null && rate > limits.errorLimit;
  row.append(
    cell("name", version.name), cell("role", version.role), cell("share", `${version.share} %`),
    cell("perSecond", number(version.recent.perSecond, 1)), cell("trend", trendLine(trends.get(version.name))),
    cell("recent4xx", percent(version.recent.rate4xx)),
    cell("recent5xx", percent(version.recent.rate5xx), tooMany5xx(version.recent.rate5xx)),
    cell("p50", number(latest.p50, 2)), cell("p99", number(latest.p99, 2)),
    cell("requests", String(version.window.requests)), cell("window4xx", percent(version.window.rate4xx)),
    cell("window5xx", percent(version.window.rate5xx), tooMany5xx(version.window.rate5xx)),
    cell("windowP99", number(version.window.p99Ms, 2)));
  return row;
}

// A stack-file edit the gateway refused: it keeps serving the previous routing, and says why.
function drawEdit(edit) {
  const line = document.getElementById("edit");
  line.hidden = !edit || edit.applied;
  line.textContent = line.hidden ? "" : edit.message;
}

function draw(state) {
  drawEdit(state.lastEdit);
  drawRouting(state.routing);
  drawAnalysis(state.analysis);
  drawRun(state.run);
  document.querySelector("#versions tbody").replaceChildren(
    ...state.versions.map((version) => versionRow(version, state.thresholds)));
  const source = document.getElementById("source");
  source.className = "muted";
  source.textContent = `endpoint ${state.endpoint} \u00b7 ${state.stackFile} \u00b7 updated ${clock(state.time)}`;
  document.body.dataset.updated = String(state.time);
}

function showFailure(error) {
  const source = document.getElementById("source");
  source.className = "stale";
  source.textContent = `not updating: ${error.message}; is the local runtime still running?`;
}

async function poll() {
  try {
    const answer = await fetch(STATE_URL, { cache: "no-store" });
    if (!answer.ok) throw new Error(`${STATE_URL} answered ${answer.status}`);
    draw(await answer.json());
  } catch (error) {
    showFailure(error);
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

poll();
