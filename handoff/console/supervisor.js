// The supervisor view of the console (supervisors only): the live queue, a period's figures per
// language and channel, two charts drawn here as SVG, and the CSV export. It asks the desk with
// the `supervision` and `report` frames (docs/agent-protocol.md); every number comes from
// handoff/reports.py. Uses console.js's $, el, send, say and state. Text is set as text only.
"use strict";

const PRIORITIES = ["crisis", "urgent", "complex", "requested", "callback"];
const COLOURS = { crisis: "#a00", urgent: "#c60", complex: "#56a", requested: "#476", callback: "#666" };
const LINE_COLOURS = ["#1f5fa8", "#c2410c", "#0f766e", "#7c3aed", "#a16207"];
const SVG = "http://www.w3.org/2000/svg";
const COLUMNS = [
  ["conversations", "Conversations", "count"], ["handed_off", "Handed off", "count"],
  ["handoff_rate", "Handoff rate", "share"], ["bot_resolved", "Resolved by the bot", "count"],
  ["bot_resolved_share", "Bot share", "share"], ["tickets", "Tickets", "count"],
  ["first_reply_p50_s", "First reply p50", "time"], ["first_reply_p90_s", "First reply p90", "time"],
  ["handling_p50_s", "Handling p50", "time"], ["handling_p90_s", "Handling p90", "time"],
  ["abandoned", "Left the queue", "count"], ["abandonment_rate", "Abandonment", "share"],
  ["callbacks_asked", "Callbacks asked", "count"], ["callbacks_done", "Callbacks done", "count"],
  ["csat_mean", "CSAT", "score"], ["csat_count", "Ratings", "count"],
];
const supervision = { timer: null };

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  const minutes = Math.round(seconds / 60);
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

function shown(value, kind) {
  if (value === null || value === undefined) return "—";
  if (kind === "share") return `${(value * 100).toFixed(1)}%`;
  if (kind === "time") return duration(value);
  if (kind === "score") return value.toFixed(2);
  return String(value);
}

function withValue(node, value) {
  node.dataset.value = value === null || value === undefined ? "" : String(value);
  return node;
}

// ----- switching between the desk and this view ------------------------------------------------

$("view-toggle").addEventListener("click", () => {
  const opening = $("supervisor").hidden;
  $("supervisor").hidden = !opening;
  $("desk").hidden = opening;
  $("view-toggle").textContent = opening ? "Desk" : "Supervisor view";
  clearInterval(supervision.timer);
  if (!opening) return;
  if (!$("period-from").value) defaultPeriod();
  send("supervision", {});
  askReport();
  supervision.timer = setInterval(() => {
    if (state.socket && state.socket.readyState === WebSocket.OPEN && !$("supervisor").hidden) send("supervision", {});
  }, 5000);
});

function localInput(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

function defaultPeriod() {
  const today = new Date();
  today.setHours(0, 0, 0, 0);
  const tomorrow = new Date(today);
  tomorrow.setDate(today.getDate() + 1);
  $("period-from").value = localInput(today);
  $("period-to").value = localInput(tomorrow);
}

function chosenPeriod() {
  return { from: new Date($("period-from").value).getTime() / 1000, to: new Date($("period-to").value).getTime() / 1000 };
}

function askReport() {
  const period = chosenPeriod();
  if (!Number.isFinite(period.from) || !Number.isFinite(period.to)) { say("Choose the start and end of the period."); return; }
  send("report", period);
}

$("period").addEventListener("submit", (event) => { event.preventDefault(); askReport(); });

$("export-csv").addEventListener("click", async () => {
  const period = chosenPeriod();
  const reply = await fetch(`/reports/desk.csv?from=${period.from}&to=${period.to}`,
                            { headers: { Authorization: `Bearer ${state.token}` } });
  if (!reply.ok) {
    const problem = await reply.json().catch(() => ({}));
    say(`Not exported: ${problem.message || reply.status}`);
    return;
  }
  const name = /filename="([^"]+)"/.exec(reply.headers.get("Content-Disposition") || "");
  const link = el("a");
  link.href = URL.createObjectURL(await reply.blob());
  link.download = name ? name[1] : "renben-desk.csv";
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  say("CSV exported.");
});

// ----- now -----------------------------------------------------------------------------------

function renderLive(live) {
  $("live-at").textContent = `at ${new Date(live.at * 1000).toLocaleTimeString()}`;
  withValue($("live-total"), live.waiting.total).textContent = String(live.waiting.total);
  const longest = live.longest_wait;
  withValue($("live-longest"), longest ? longest.seconds : null).textContent =
    longest ? `${duration(longest.seconds)} (${longest.priority}, ${longest.language})` : "—";
  withValue($("live-overdue-count"), live.overdue.length).textContent = String(live.overdue.length);
  const counts = live.agent_counts;
  $("live-agents-count").textContent = `${counts.available} / ${counts.away} / ${counts.busy}`;

  const head = el("tr");
  head.append(el("th", "Language"), ...PRIORITIES.map((p) => el("th", p)), el("th", "All"));
  const rows = Object.entries(live.waiting.grid).map(([language, byPriority]) => {
    const row = el("tr");
    row.dataset.language = language;
    row.append(el("td", language), ...PRIORITIES.map((p) => {
      const cell = withValue(el("td", byPriority[p]), byPriority[p]);
      cell.dataset.priority = p;
      return cell;
    }), withValue(el("td", live.waiting.by_language[language]), live.waiting.by_language[language]));
    return row;
  });
  const total = el("tr", null, "total");
  total.dataset.language = "all";
  total.append(el("td", "All"), ...PRIORITIES.map((p) => {
    const cell = withValue(el("td", live.waiting.by_priority[p]), live.waiting.by_priority[p]);
    cell.dataset.priority = p;
    return cell;
  }), withValue(el("td", live.waiting.total), live.waiting.total));
  $("live-grid").replaceChildren(head, ...rows, total);

  $("live-overdue").replaceChildren(...live.overdue.map((late) => {
    const item = el("li");
    item.dataset.ticket = late.ticket_id;
    item.append(el("span", late.priority, `badge ${late.priority}`),
                ` ${late.language} · ticket ${late.ticket_id.slice(0, 8)} · waited ${duration(late.waited_seconds)} (threshold ${duration(late.threshold_seconds)})`);
    return item;
  }));
  if (!live.overdue.length) $("live-overdue").append(el("li", "None."));

  $("live-agents").replaceChildren(...live.agents.map((agent) => {
    const item = el("li");
    item.dataset.agent = agent.agent_id;
    item.dataset.status = agent.status;
    item.append(el("span", agent.status, `status ${agent.status}`),
                ` ${agent.name} (${agent.agent_id}; ${agent.role}; ${agent.languages.join(", ")})`);
    if (agent.holding.length) {
      const held = el("ul");
      agent.holding.forEach((x) => {
        const line = el("li");
        line.dataset.ticket = x.ticket_id;
        line.append(el("span", x.priority, `badge ${x.priority}`),
                    ` ${x.language} · ${x.channel || "?"} · ticket ${x.ticket_id.slice(0, 8)} · for ${duration(x.held_seconds)}`);
        held.append(line);
      });
      item.append(held);
    }
    return item;
  }));
}

// ----- a period --------------------------------------------------------------------------------

function renderReport(report) {
  const coverage = report.coverage;
  $("coverage").textContent = coverage.partial
    ? (coverage.events_from
      ? `Conversation figures count from ${new Date(coverage.events_from * 1000).toLocaleString()}: the event stream no longer holds the start of this period. Ticket figures are whole.`
      : "The event stream holds no conversations: conversation figures count handed-off conversations only.")
    : `Figures for ${new Date(report.period.from * 1000).toLocaleString()} – ${new Date(report.period.to * 1000).toLocaleString()}.`;
  const head = el("tr");
  head.append(el("th", "Language"), el("th", "Channel"), ...COLUMNS.map(([, label]) => el("th", label)));
  const line = (row, className) => {
    const tr = el("tr", null, className);
    tr.dataset.group = `${row.language}/${row.channel}`;
    tr.append(el("td", row.language), el("td", row.channel), ...COLUMNS.map(([key, , kind]) => {
      const cell = withValue(el("td", shown(row[key], kind)), row[key]);
      cell.dataset.col = key;
      return cell;
    }));
    return tr;
  };
  $("report-table").replaceChildren(head, ...report.rows.map((row) => line(row)), line(report.total, "total"));
  drawQueue($("chart-queue"), report.queue_length, report.period);
  drawWaits($("chart-waits"), report.waits_by_priority);
}

function svg(tag, attributes, text) {
  const node = document.createElementNS(SVG, tag);
  Object.entries(attributes || {}).forEach(([name, value]) => node.setAttribute(name, String(value)));
  if (text !== undefined) node.textContent = String(text);
  return node;
}

function clock(at, long) {
  const date = new Date(at * 1000);
  const time = date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false });
  return long ? `${date.getMonth() + 1}/${date.getDate()} ${time}` : time;
}

function drawQueue(chart, queue, period) {
  const [width, height, left, right, top, bottom] = [640, 220, 34, 90, 10, 26];
  const series = Object.entries(queue.series);
  const peak = Math.max(1, ...series.flatMap(([, values]) => values));
  chart.dataset.peak = String(Math.max(0, ...(queue.series.all || [0])));
  const n = queue.buckets.length;
  const x = (i) => left + (i / n) * (width - left - right);
  const y = (v) => top + (1 - v / peak) * (height - top - bottom);
  const parts = [svg("rect", { x: 0, y: 0, width, height, fill: "#fff" })];
  const ticks = Math.min(peak, 5);
  for (let t = 0; t <= ticks; t++) {
    const value = Math.round((t / ticks) * peak);
    parts.push(svg("line", { x1: left, x2: width - right, y1: y(value), y2: y(value), stroke: "#e5e5e5" }),
               svg("text", { x: left - 6, y: y(value) + 4, "text-anchor": "end", "font-size": 11, fill: "#333" }, value));
  }
  const long = period.to - period.from > 86400;
  const every = Math.max(1, Math.ceil(n / 8));
  for (let i = 0; i < n; i += every) {
    parts.push(svg("text", { x: x(i), y: height - 8, "text-anchor": "middle", "font-size": 11, fill: "#333" },
                   clock(queue.buckets[i], long)));
  }
  series.sort(([a], [b]) => (b === "all") - (a === "all"));
  series.forEach(([name, values], index) => {
    // every language together as a shaded area, each language as a line over it
    const all = name === "all";
    const colour = all ? "#9aa5b1" : LINE_COLOURS[index % LINE_COLOURS.length];
    let d = `M ${x(0)} ${y(all ? 0 : values[0] || 0)}`;
    values.forEach((v, i) => { d += ` H ${x(i)} V ${y(v)} H ${x(i + 1)}`; });
    if (all) d += ` V ${y(0)} Z`;
    const path = svg("path", { d, fill: all ? "#d5dbe1" : "none", stroke: colour, "stroke-width": all ? 1 : 2 });
    path.dataset.series = name;
    path.append(svg("title", {}, `${name}: longest ${Math.max(0, ...values)}`));
    parts.push(path,
               svg("line", { x1: width - right + 8, x2: width - right + 24, y1: top + 8 + index * 16, y2: top + 8 + index * 16,
                             stroke: colour, "stroke-width": 2.5 }),
               svg("text", { x: width - right + 28, y: top + 12 + index * 16, "font-size": 11, fill: "#222" }, name));
  });
  parts.push(svg("line", { x1: left, x2: width - right, y1: y(0), y2: y(0), stroke: "#333" }));
  chart.replaceChildren(svg("title", {}, `Queue length; the longest was ${chart.dataset.peak}`), ...parts);
}

function drawWaits(chart, waits) {
  const [width, left, right, row] = [640, 110, 110, 40];
  const longest = Math.max(1, ...PRIORITIES.map((p) => (waits[p] && waits[p].p90) || 0));
  const scale = (v) => (v / longest) * (width - left - right);
  const parts = [svg("rect", { x: 0, y: 0, width, height: 220, fill: "#fff" })];
  PRIORITIES.forEach((priority, index) => {
    const figures = waits[priority] || { count: 0, p50: null, p90: null };
    const top = 10 + index * row;
    parts.push(svg("text", { x: 4, y: top + 16, "font-size": 12, fill: "#222" }, `${priority} (${figures.count})`));
    [["p50", 0, 0.55], ["p90", 15, 1]].forEach(([stat, offset, opacity]) => {
      const value = figures[stat];
      const bar = svg("rect", { x: left, y: top + offset, height: 13, width: value ? Math.max(1, scale(value)) : 0,
                                fill: COLOURS[priority], "fill-opacity": opacity });
      bar.dataset.priority = priority;
      bar.dataset.stat = stat;
      withValue(bar, value);
      bar.append(svg("title", {}, `${priority} ${stat}: ${duration(value)}`));
      parts.push(bar, svg("text", { x: left + (value ? scale(value) : 0) + 4, y: top + offset + 11, "font-size": 11, fill: "#333" },
                            `${stat} ${duration(value)}`));
    });
  });
  chart.replaceChildren(svg("title", {}, "Waits by priority: p50 and p90"), ...parts);
}
