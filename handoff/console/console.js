// The agent console: speaks the desk protocol (handoff/protocol.py) over /agent.
// Everything from claimants or tickets is put in the page with textContent, never as HTML.
"use strict";

const RANK = { crisis: 0, urgent: 1, complex: 2, requested: 3, callback: 4 };
const $ = (id) => document.getElementById(id);
const state = { socket: null, me: null, waiting: new Map(), held: new Map(), current: null,
                canned: {}, refs: 0, lastTyping: 0, pending: new Map(), suggestion: null,
                outgoing: new Map(), attempt: 0, reconnectTimer: null };
const PROTOCOL = 3;
// Close codes after which logging in again cannot help: the token is refused, a frame too large.
const FINAL_CLOSE = new Set([4001, 1009]);

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function say(text) { $("status").textContent = text; }

function minutesSince(at) {
  const seconds = Math.max(0, Date.now() / 1000 - at);
  return seconds < 60 ? `${Math.round(seconds)} s` : `${Math.round(seconds / 60)} min`;
}

function connected() { return state.socket && state.socket.readyState === WebSocket.OPEN; }

function send(type, fields) {
  // Answered by the desk's ok or error; by a `disconnected` error if the socket is not open or
  // closes first (the request may or may not have been done: the next snapshot says).
  if (!connected()) return Promise.resolve({ type: "error", code: "disconnected", message: "not connected" });
  const ref = `c${++state.refs}`;
  state.socket.send(JSON.stringify({ v: PROTOCOL, type, ref, ...fields }));
  return new Promise((resolve) => state.pending.set(ref, resolve));
}

// ----- messages to claimants: kept until the desk says ok, sent again with the same id ------------
// A message whose ok never came (the desk died, the socket closed) is sent again after the next
// login with the same `id`; the desk writes it to the tracker and the claimant once whatever the
// earlier attempt did (handoff/agent_messages.py). An `unavailable` answer is retried too.

function newMessageId() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function sendMessage(ticketId, text) {
  const message = { id: newMessageId(), ticket_id: ticketId, text, retry: null };
  state.outgoing.set(message.id, message);
  const answered = new Promise((resolve) => { message.resolve = resolve; });
  transmitMessage(message);
  return answered;
}

function transmitMessage(message) {
  if (!connected() || !state.outgoing.has(message.id)) return;  // sent again after the next login
  if (state.pending.has(message.ref)) return;  // on its way on this socket already
  const ref = message.ref = `c${++state.refs}`;
  state.pending.set(ref, (frame) => {
    if (frame.code === "disconnected") return;  // kept: sent again after the next login
    if (frame.type === "error" && frame.code === "unavailable") {
      clearTimeout(message.retry);
      message.retry = setTimeout(() => transmitMessage(message), 2000);
      return;
    }
    state.outgoing.delete(message.id);
    message.resolve(frame);
  });
  state.socket.send(JSON.stringify({ v: PROTOCOL, type: "message", ref, id: message.id,
                                     ticket_id: message.ticket_id, text: message.text }));
}

function resendMessages() {
  state.outgoing.forEach((message) => transmitMessage(message));
}

// ----- login and connection ------------------------------------------------------------------

// The summary's language: the agent's last choice, else the browser's.
$("console-language").value = localStorage.getItem("renben.console.language")
  || ((navigator.language || "").toLowerCase().startsWith("zh") ? "zh" : "en");

$("login").addEventListener("submit", (event) => {
  event.preventDefault();
  state.token = $("token").value.trim();
  localStorage.setItem("renben.console.language", $("console-language").value);
  connect(state.token, $("console-language").value);
});

function connect(token, language) {
  clearTimeout(state.reconnectTimer);
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/agent`);
  state.socket = socket;
  socket.addEventListener("open", () => socket.send(JSON.stringify({ v: PROTOCOL, type: "auth", token, language })));
  socket.addEventListener("message", (event) => receive(JSON.parse(event.data)));
  socket.addEventListener("close", (event) => {
    if (state.socket !== socket) return;
    // Requests in flight are answered `disconnected`; messages stay in state.outgoing.
    const waiting = [...state.pending.values()];
    state.pending.clear();
    waiting.forEach((resolve) => resolve({ type: "error", code: "disconnected", message: "disconnected" }));
    // 1013: the desk could not reach its store at login; it asks to be tried again.
    if (FINAL_CLOSE.has(event.code) || (!state.me && event.code !== 1013)) {
      if (event.code === 4001) say("Login failed: the token is not known.");
      else if (event.code === 1009) say("A message was too large; the connection was closed. Log in again.");
      else say(`Disconnected (${event.code}). Log in again to continue.`);
      showLogin();
      return;
    }
    // The desk went away or restarted: log in again with the same token; tickets are kept for a
    // while, and unanswered messages are sent again once logged in (resendMessages).
    const unsent = state.outgoing.size ? ` ${state.outgoing.size} message(s) will be sent when it is back.` : "";
    say(`Connection to the desk lost (${event.code}); reconnecting…${unsent}`);
    const delay = Math.min(8000, 500 * 2 ** state.attempt++);
    state.reconnectTimer = setTimeout(() => connect(token, language), delay / 2 + Math.random() * delay / 2);
  });
}

function showLogin() {
  // Logging in again may be as someone else: nothing is sent on this login's behalf any more.
  state.outgoing.forEach((message) => { clearTimeout(message.retry); message.resolve({ type: "error", code: "logged_out" }); });
  state.outgoing.clear();
  state.me = null;
  $("desk").hidden = true;
  $("supervisor").hidden = true;
  $("view-toggle").hidden = true;
  $("login").hidden = false;
}

function receive(frame) {
  switch (frame.type) {
    case "hello":
      state.me = frame;
      state.attempt = 0;
      $("me").textContent = `${frame.name || frame.agent_id} (${frame.role}; ${frame.languages.join(", ")})`;
      $("login").hidden = true;
      $("desk").hidden = false;
      $("presence-box").hidden = false;
      $("alerts-box").hidden = frame.role !== "supervisor";
      $("view-toggle").hidden = frame.role !== "supervisor";
      say("Logged in.");
      loadCanned();
      break;
    case "snapshot":
      state.waiting = new Map(frame.tickets.map((t) => [t.id, t]));
      state.held = new Map(frame.held.map((t) => [t.id, t]));
      state.me.capacity = frame.capacity;
      (frame.alerts || []).forEach(showAlert);
      renderQueues();
      resendMessages();  // after a reconnect: what the last desk never answered
      break;
    case "ticket": updateTicket(frame.ticket); break;
    case "claimed": case "brief": openTicket(frame.ticket); break;
    case "claimant_message":
      if (state.current && state.current.id === frame.ticket_id) {
        addTurn({ speaker: "claimant", text: frame.text, at: frame.at }, frame.evidence || []);
        if (frame.suggestion) showSuggestion(frame.suggestion);  // a new question: its answer
      } else say("A claimant you hold wrote a new message.");
      break;
    case "alert": showAlert(frame.alert); break;
    case "supervision": renderLive(frame.live); break;
    case "report": renderReport(frame.report); break;
    case "ok": case "error": {
      const resolve = state.pending.get(frame.ref);
      state.pending.delete(frame.ref);
      if (frame.type === "error") say(`Not done: ${frame.message}`);
      if (resolve) resolve(frame);
      break;
    }
  }
}

async function loadCanned() {
  try {
    state.canned = await (await fetch("/canned.json")).json();
  } catch (error) { state.canned = {}; }
}

// ----- queues --------------------------------------------------------------------------------

function updateTicket(ticket) {
  state.waiting.delete(ticket.id);
  state.held.delete(ticket.id);
  if (ticket.state === "waiting") state.waiting.set(ticket.id, ticket);
  else if (ticket.state === "assigned" && ticket.agent === state.me.agent_id) state.held.set(ticket.id, ticket);
  if (state.current && state.current.id === ticket.id && !state.held.has(ticket.id)) {
    say(`Ticket ${ticket.id.slice(0, 8)} is now ${ticket.state}${ticket.agent ? " with " + ticket.agent : ""}.`);
    if (ticket.state !== "assigned" || ticket.agent !== state.me.agent_id) closeConversation();
  }
  renderQueues();
}

function byPriority(a, b) {
  return (RANK[a.priority] - RANK[b.priority]) || (a.seq - b.seq);
}

function ticketItem(ticket, action, label) {
  const item = el("li");
  item.dataset.ticket = ticket.id;
  item.append(el("span", ticket.priority, `badge ${ticket.priority}`), " ");
  item.append(el("span", `${ticket.language} · ${ticket.channel || "?"} · `));
  item.append(el("span", minutesSince(ticket.waiting_since), "wait"));
  if (ticket.highest_distress && ticket.highest_distress !== "none") {
    item.append(" ", el("span", `distress: ${ticket.highest_distress}`, "badge crisis"));
  }
  item.append(el("div", ticket.reason));
  const button = el("button", label);
  button.type = "button";
  button.addEventListener("click", () => action(ticket));
  item.append(button);
  return item;
}

function renderQueues() {
  const queue = $("queue");
  queue.replaceChildren(...[...state.waiting.values()].sort(byPriority).map(
    (t) => ticketItem(t, (x) => send("claim", { ticket_id: x.id }), "Claim")));
  $("held-title").textContent = `Mine (${state.held.size} of at most ${state.me.capacity})`;
  $("held").replaceChildren(...[...state.held.values()].map(
    (t) => ticketItem(t, (x) => send("brief", { ticket_id: x.id }), "Open")));
}

setInterval(() => { if (state.me) renderQueues(); }, 15000);

function showAlert(alert) {
  const text = `${alert.priority} ticket ${alert.ticket_id.slice(0, 8)} (${alert.language}) has waited ${Math.round(alert.waited_seconds)} s`;
  $("alerts").prepend(el("li", text));
}

$("claim-next").addEventListener("click", () => send("claim_next", {}));
$("presence").addEventListener("change", (e) => send("presence", { status: e.target.value }));

// ----- the conversation ----------------------------------------------------------------------

function openTicket(ticket) {
  state.current = ticket;
  if (ticket.state === "assigned" && ticket.agent === state.me.agent_id) state.held.set(ticket.id, ticket);
  renderQueues();
  $("conversation").hidden = false;
  $("conversation-title").textContent = `Conversation ${ticket.conversation_id}`;
  renderBrief(ticket);
  $("transcript").replaceChildren();
  const brief = ticket.brief || {};
  const evidenceByTurn = new Map();
  (brief.signals || []).forEach((s) => evidenceByTurn.set(s.turn, (evidenceByTurn.get(s.turn) || []).concat(s.evidence)));
  (brief.transcript || []).forEach((turn, index) => addTurn(turn, evidenceByTurn.get(index) || [], index));
  const canned = $("canned");
  showSuggestion(ticket.suggestion);
  canned.replaceChildren(el("option", "—"));
  canned.firstChild.value = "";
  (state.canned[ticket.language] || []).forEach((line) => { const o = el("option", line); o.value = line; canned.append(o); });
  $("text").focus();
}

function closeConversation() {
  state.current = null;
  showSuggestion(null);
  $("conversation").hidden = true;
}

function section(title, lines) {
  const box = el("div");
  box.append(el("h3", title));
  const list = el("ul");
  lines.forEach((line) => list.append(line instanceof Node ? line : el("li", line)));
  box.append(list);
  return box;
}

function summaryLines(summary) {
  // What the bot already knows, in the console's language (handoff/assist.py); evidence marked.
  const facts = Object.values(summary.facts || {});
  return (summary.lines || []).map((line) => {
    const item = el("li", null, line.kind);
    item.append(...highlighted(line.text, (line.marks || []).map((text) => ({ text }))));
    if (line.kind === "situation") {
      item.title = facts.filter((f) => f.quote).map((f) => `${f.name}: “${f.quote}”`).join("\n");
    }
    return item;
  });
}

function renderBrief(ticket) {
  const brief = ticket.brief || {};
  const parts = [
    section("Why", [`${ticket.priority}: ${ticket.reason}`, `waiting since ${new Date(ticket.waiting_since * 1000).toLocaleTimeString()}`]),
    section("Claimant", [`language ${ticket.language}`, `channel ${ticket.channel || "?"}`]),
    section("Topics", (brief.topics || []).map((t) => `${t.intent} (${Math.round((t.confidence || 0) * 100)}%)`)),
    // A long message's story touched these besides its question (handoff/brief.py secondary_topics).
    ...((brief.secondary_topics || []).length ? [section("Also mentioned", brief.secondary_topics.map((t) => `${t.intent} (${Math.round((t.confidence || 0) * 100)}%)`))] : []),
    section("Signals", (brief.signals || []).map((s) => {
      const item = el("li", `${s.kind} ${s.level}: `);
      s.evidence.forEach((e) => item.append(el("mark", e.text), ` (${e.rule}) `));
      if (s.needs && s.needs.length) item.append(`needs: ${s.needs.join(", ")}`);
      return item;
    })),
    section("Slots", Object.entries(brief.slots || {}).map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`)),
    section("Bot already answered", (brief.answered || []).map((a) => `${a.action || "bot"}: ${a.summary}`)),
  ];
  if (ticket.summary) {
    const summary = section("Summary", summaryLines(ticket.summary));
    summary.id = "summary";
    summary.querySelector("ul").id = "summary-lines";
    parts.unshift(summary);
  }
  parts.push(section("Notes (staff only)", (ticket.notes || []).map(noteLine)));
  if (ticket.callback) parts.push(section("Callback", [`${ticket.callback.contact_kind} ${ticket.callback.contact}`, ticket.callback.preferred_time]));
  $("brief").replaceChildren(...parts);
}

function noteLine(note) {
  return el("li", `${note.by} ${new Date(note.at * 1000).toLocaleTimeString()}: ${note.text}`);
}

function highlighted(text, evidence) {
  // Text nodes and <mark> elements only: the claimant's words are never parsed as HTML.
  const nodes = [];
  let rest = String(text);
  const words = evidence.map((e) => e.text).filter((w) => w && rest.includes(w));
  while (words.length) {
    let first = -1, word = null;
    for (const w of words) { const at = rest.indexOf(w); if (at >= 0 && (first < 0 || at < first)) { first = at; word = w; } }
    if (word === null) break;
    nodes.push(document.createTextNode(rest.slice(0, first)), el("mark", word));
    rest = rest.slice(first + word.length);
  }
  nodes.push(document.createTextNode(rest));
  return nodes;
}

// A masked identifier in the brief, e.g. 4401**********1234 or 138****5678.
const MASKED = /[0-9A-Za-z+]*\*{2,}[0-9A-Za-z]*/g;

function addTurn(turn, evidence, index) {
  const speaker = turn.speaker || "claimant";
  const kind = speaker.startsWith("agent") ? "agent" : speaker;
  const item = el("li", null, kind);
  const when = turn.at ? new Date(turn.at * 1000).toLocaleTimeString() : "";
  item.append(el("span", `${speaker} ${when}`, "who"), ...highlighted(turn.text, evidence));
  if (index !== undefined && speaker === "claimant") {
    (String(turn.text).match(MASKED) || []).forEach((masked, n) => item.append(revealButton(index, n, masked)));
  }
  $("transcript").append(item);
  item.scrollIntoView({ block: "nearest" });
  return item;
}

function revealButton(turn, n, masked) {
  // Each reveal is written to the audit log (who, when, which conversation, which field).
  const button = el("button", `Show ${masked}`, "reveal");
  button.type = "button";
  button.setAttribute("aria-label", `Show the full number ${masked} (recorded in the audit log)`);
  button.addEventListener("click", async () => {
    if (!state.current) return;
    const answer = await send("reveal", { ticket_id: state.current.id, turn, index: n });
    if (answer.type === "ok") button.replaceWith(el("code", answer.value, "revealed"));
  });
  return button;
}

// ----- the suggested answer (the knowledge base, in the claimant's language) ----------------------

function showSuggestion(suggestion) {
  state.suggestion = suggestion || null;
  $("suggestion").hidden = !suggestion;
  if (!suggestion) return;
  $("suggestion-title").textContent = `Suggested answer: ${suggestion.title}`;
  $("suggestion-meta").textContent = `Knowledge base, in the claimant's language (${suggestion.language}); checked ${suggestion.last_reviewed}. Edit before sending.`;
  $("suggestion-text").textContent = suggestion.text;
  $("suggestion-sources-title").textContent = `Sources (${(suggestion.sources || []).length}), with their addresses`;
  $("suggestion-sources").replaceChildren(...(suggestion.sources || []).map((source) => {
    const item = el("li", source.title);
    if (/^https?:\/\//.test(source.url)) {
      const link = el("a", source.url);
      link.href = source.url;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      item.append(" ", link);
    }
    return item;
  }));
}

$("insert-suggestion").addEventListener("click", () => {
  if (!state.suggestion) return;
  const box = $("text");
  box.value = box.value.trim() ? `${box.value.replace(/\s+$/, "")}\n${state.suggestion.text}` : state.suggestion.text;
  box.focus();
  box.setSelectionRange(box.value.length, box.value.length);
});

// ----- replying and the controls ---------------------------------------------------------------

$("canned").addEventListener("change", (e) => { if (e.target.value) { $("text").value = e.target.value; $("text").focus(); } });

$("text").addEventListener("keydown", (event) => {
  // Enter while an input method is composing (Chinese pinyin) picks a candidate: never send then.
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
    event.preventDefault();
    $("reply").requestSubmit();
  }
});

$("text").addEventListener("input", () => {
  if (!state.current || Date.now() - state.lastTyping < 3000) return;
  state.lastTyping = Date.now();
  send("typing", { ticket_id: state.current.id, active: true });
});

$("reply").addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = $("text").value.trim();
  if (!text || !state.current) return;
  // Shown at once as sending; the desk's ok marks it sent (after a reconnect too).
  const turn = addTurn({ speaker: `agent:${state.me.agent_id}`, text }, []);
  turn.classList.add("sending");
  $("text").value = "";
  const answer = await sendMessage(state.current.id, text);
  turn.classList.remove("sending");
  if (answer.type === "ok") {
    turn.querySelector(".who").textContent = `agent:${state.me.agent_id} ${new Date(answer.at * 1000).toLocaleTimeString()}`;
  } else {
    turn.classList.add("failed");
    turn.querySelector(".who").textContent = `not sent (${answer.code}):`;
  }
});

function onCurrent(id, type, fields, done) {
  $(id).addEventListener("click", async () => {
    if (!state.current) return;
    const answer = await send(type, { ticket_id: state.current.id, ...(fields ? fields() : {}) });
    if (answer.type === "ok") { say(done); closeConversation(); }
  });
}

onCurrent("return", "return", null, "Returned to the bot.");
onCurrent("release", "release", null, "Released to the queue.");
onCurrent("close", "close", () => ({ reason_code: $("close-reason").value, note: $("close-note").value }), "Closed.");
onCurrent("transfer", "transfer", () => {
  const to = $("transfer-to").value.trim();
  return /^[a-z]{2,3}$/.test(to) ? { to_language: to } : { to_agent: to };
}, "Transferred.");

$("add-note").addEventListener("click", async () => {
  const text = $("private-note").value.trim();
  if (!state.current || !text) return;
  const answer = await send("note", { ticket_id: state.current.id, text });
  if (answer.type === "ok") {
    state.current.notes = (state.current.notes || []).concat([answer.note]);
    renderBrief(state.current);
    $("private-note").value = "";
    say("Note added.");
  }
});

$("flag").addEventListener("click", async () => {
  if (!state.current) return;
  const answer = await send("flag", { ticket_id: state.current.id, suggested_intent: $("flag-intent").value.trim() || null });
  if (answer.type === "ok") say("Flagged for the trainers' review.");
});
