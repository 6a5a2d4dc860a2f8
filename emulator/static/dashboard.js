// The local rollout page: polls /dashboard/state.json and redraws. No framework, no build step;
// the time series are drawn with the vendored uPlot (vendor/README.md).
"use strict";

const STATE_URL = "/dashboard/state.json";
const POLL_MS = 1000;
const COLOURS = ["#1a7f37", "#bf8700", "#0969da", "#8250df", "#cf222e", "#57606a"];
const CHARTS = { perSecond: (v) => v.toFixed(1), rate5xx: (v) => `${(v * 100).toFixed(1)} %`, p99Ms: (v) => v.toFixed(1) };
const charts = new Map(); // chart name -> uPlot, rebuilt when the versions change
let chartedVersions = "";
let marks = []; // the recorded run's steps: [{time, label}], drawn on every chart
let span = [0, 1]; // the charts' x range: the first minute's start to now (a step just taken shows)

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
  // req/s per minute over the last ten, left to right, from zero at the bottom to 1.25x the highest
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

function versionRow(version, limits, chart) {
  const row = document.createElement("tr");
  row.dataset.version = version.name;
  row.dataset.role = version.role;
  const latest = version.latestMinute || {};
  const tooMany5xx = (rate) => rate !== null && rate > limits.errorLimit;
  row.append(
    cell("name", version.name), cell("role", version.role), cell("share", `${version.share} %`),
    cell("perSecond", number(version.recent.perSecond, 1)), cell("trend", trendLine(chart.versions[version.name].perSecond)),
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
    ...state.versions.map((version) => versionRow(version, state.thresholds, state.chart)));
  drawCharts(state.chart, state.versions.map((version) => version.name), state.time);
  drawMarks(state.marks);
  const source = document.getElementById("source");
  source.className = "muted";
  source.textContent = `endpoint ${state.endpoint} \u00b7 ${state.stackFile} \u00b7 updated ${clock(state.time)}`;
  document.body.dataset.updated = String(state.time);
}

// A dashed vertical line and its label at each of the run's moves, inside the plotting area.
function markHook(u) {
  const ctx = u.ctx;
  const { left, top, width, height } = u.bbox;
  ctx.save();
  ctx.strokeStyle = "#8250df";
  ctx.fillStyle = "#8250df";
  ctx.setLineDash([4 * devicePixelRatio, 4 * devicePixelRatio]);
  ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
  for (const mark of marks) {
    const x = u.valToPos(mark.time, "x", true);
    if (x < left || x > left + width) continue;
    ctx.beginPath();
    ctx.moveTo(x, top);
    ctx.lineTo(x, top + height);
    ctx.stroke();
    ctx.fillText(mark.label, x + 3 * devicePixelRatio, top + 12 * devicePixelRatio);
  }
  ctx.restore();
}

function chartOptions(name, versions, width) {
  const format = CHARTS[name];
  return {
    width, height: 180, legend: { show: true }, cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true, range: () => span }, y: { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] } },
    axes: [{}, { size: 56, values: (u, ticks) => ticks.map(format) }],
    series: [{}, ...versions.map((version, index) => ({
      label: version, stroke: COLOURS[index % COLOURS.length], width: 2, spanGaps: false,
      points: { size: 4 }, value: (u, v) => (v === null || v === undefined ? "-" : format(v)),
    }))],
    hooks: { draw: [markHook] },
  };
}

// One uPlot per metric, a series per version; data replaced at every poll, charts rebuilt only
// when a version comes or goes. Without uPlot (the script failed to load) the table still works.
function drawCharts(chart, versions, now) {
  if (typeof uPlot === "undefined") return;
  span = [chart.minutes[0], now];
  const key = versions.join(",");
  for (const name of Object.keys(CHARTS)) {
    const data = [chart.minutes, ...versions.map((version) => chart.versions[version][name])];
    const figure = document.querySelector(`[data-chart="${name}"]`);
    if (key !== chartedVersions || !charts.has(name)) {
      if (charts.has(name)) charts.get(name).destroy();
      const width = Math.max(300, Math.floor(figure.clientWidth || 400));
      charts.set(name, new uPlot(chartOptions(name, versions, width), data, figure));
    } else {
      charts.get(name).setData(data);
    }
  }
  chartedVersions = key;
}

function drawMarks(newMarks) {
  marks = newMarks;
  document.querySelector('[data-field="marks"]').replaceChildren(...marks.map((mark) => {
    const item = document.createElement("li");
    item.textContent = `${mark.label} at ${clock(mark.time)}`;
    return item;
  }));
  for (const chart of charts.values()) chart.redraw(false, false);
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
