/*
 * Renben claimant chat widget. Plain JavaScript, no build step, no outside resources.
 *
 *   <script src="https://YOUR-RASA-HOST/webhooks/web/widget.js" defer
 *           data-lang="zh" data-target="#chat"></script>
 *
 * data-lang     first interface language, "zh" or "en" (default: the browser's)
 * data-target   CSS selector of an element to show the chat in; without it a
 *               "chat" button opens the chat in a panel at the bottom right
 * data-server   WebSocket URL (default: "ws" next to this script)
 * data-css      "none" to leave styling to the page (default: widget.css next to this script)
 *
 * Wire protocol: docs/widget-protocol.md. Everything anyone writes is shown with
 * textContent, never parsed as HTML.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script || window.__renbenWidget) { return; }
  window.__renbenWidget = true;

  var base = script.src.replace(/[^/]*([?#].*)?$/, "");
  var options = {
    server: script.getAttribute("data-server") || base.replace(/^http/, "ws") + "ws",
    target: script.getAttribute("data-target"),
    css: script.getAttribute("data-css"),
    lang: script.getAttribute("data-lang"),
    retentionDays: parseInt(script.getAttribute("data-retention-days") || "90", 10) || 90
  };
  var MAX_TEXT = 2000;
  var HUMAN = "/request_human";
  var STORE = "renben.";

  var STRINGS = {
    zh: {
      title: "社保咨询助手",
      open: "在线咨询",
      close: "关闭对话",
      region: "社保咨询对话",
      log: "对话记录",
      inputLabel: "输入您的问题",
      placeholder: "请输入您的问题,按回车发送",
      send: "发送",
      human: "转人工",
      humanLong: "找工作人员",
      switchTo: "English",
      switchLabel: "Switch to English",
      large: "大字",
      largeLabel: "大字模式",
      privacy: "隐私说明",
      privacyOk: "知道了",
      download: "下载对话记录(JSON 文件)",
      privacyText: function (days) {
        return "隐私说明:我们会保存这段对话的文字,用于回答您的问题,以及在您需要时交给工作人员继续处理;" +
          "保存" + days + "天后删除。请不要在这里输入身份证号、银行卡号或密码。" +
          "想知道保存了什么,请说“你保存了我的什么信息”;想删除,请说“删除我的数据”。";
      },
      you: "您",
      bot: "助手",
      agent: "工作人员",
      system: "系统消息",
      sending: "发送中…",
      failed: "未能发送",
      typing: "对方正在输入…",
      connecting: "正在连接…",
      reconnecting: "连接中断,正在重新连接…",
      connected: "",
      queue: function (position, seconds) {
        var text = "您前面还有" + Math.max(0, position - 1) + "位在等候";
        if (seconds) { text += ",预计约" + Math.max(1, Math.round(seconds / 60)) + "分钟"; }
        return text + "。";
      },
      joined: function (name) { return (name ? "工作人员" + name : "工作人员") + "已接入对话。"; },
      left: function (name) { return (name ? "工作人员" + name : "工作人员") + "已离开对话。"; },
      tooLong: "消息太长,请分几次发送(每次最多" + MAX_TEXT + "字)。"
    },
    en: {
      title: "Social security assistant",
      open: "Chat with us",
      close: "Close chat",
      region: "Social security chat",
      log: "Conversation",
      inputLabel: "Type your question",
      placeholder: "Type your question and press Enter",
      send: "Send",
      human: "Talk to a person",
      humanLong: "Talk to a person",
      switchTo: "中文",
      switchLabel: "切换到中文",
      large: "Large text",
      largeLabel: "Large text",
      privacy: "Privacy",
      privacyOk: "OK",
      download: "Download your conversation (JSON file)",
      privacyText: function (days) {
        return "Privacy: we keep the text of this conversation to answer you and, if you ask, " +
          "to pass it to a member of staff. It is deleted after " + days + " days. Please do not type " +
          "your ID card number, bank card number or passwords here. To see what we keep, say " +
          "\u201cwhat do you keep about me\u201d; to erase it, say \u201cdelete my data\u201d.";
      },
      you: "You",
      bot: "Assistant",
      agent: "Staff",
      system: "Notice",
      sending: "Sending\u2026",
      failed: "Not sent",
      typing: "Typing\u2026",
      connecting: "Connecting\u2026",
      reconnecting: "Connection lost. Reconnecting\u2026",
      connected: "",
      queue: function (position, seconds) {
        var ahead = Math.max(0, position - 1);
        var text = ahead === 0 ? "You are next in the queue" :
          ahead + (ahead === 1 ? " person is" : " people are") + " ahead of you";
        if (seconds) { text += " (about " + Math.max(1, Math.round(seconds / 60)) + " min)"; }
        return text + ".";
      },
      joined: function (name) { return (name ? name + ", a member of staff," : "A member of staff") + " has joined."; },
      left: function (name) { return (name ? name : "The member of staff") + " has left the conversation."; },
      tooLong: "This message is too long. Please send it in parts (at most " + MAX_TEXT + " characters each)."
    }
  };

  // --- storage -------------------------------------------------------------------------------

  function load(name, fallback) {
    try {
      var value = window.localStorage.getItem(STORE + name);
      return value === null ? fallback : JSON.parse(value);
    } catch (e) { return fallback; }
  }
  function save(name, value) {
    try { window.localStorage.setItem(STORE + name, JSON.stringify(value)); } catch (e) { /* private mode */ }
  }

  var browserLang = (navigator.language || "zh").toLowerCase().indexOf("en") === 0 ? "en" : "zh";
  var state = {
    lang: load("lang", null) || (options.lang === "en" || options.lang === "zh" ? options.lang : browserLang),
    large: load("large", false),
    token: load("token", null),
    pending: load("pending", []),   // [{id, text, shown}] not yet acknowledged, oldest first
    lastSeq: null,                  // newest server seq shown on this page (null: ask for history)
    botTurn: false,                 // the latest message shown is the bot's: its buttons add to the rows
    retentionDays: options.retentionDays,
    socket: null,
    ready: false,
    attempt: 0,
    reconnectTimer: null,
    ackTimer: null,
    typingTimer: null,
    retryTimer: null
  };
  function t(key) { return STRINGS[state.lang][key]; }

  // --- DOM -----------------------------------------------------------------------------------

  function el(tag, className, attrs) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    return node;
  }

  if (options.css !== "none") {
    var link = el("link", null, { rel: "stylesheet", href: base + "widget.css" });
    document.head.appendChild(link);
  }

  var uid = "rb" + Math.random().toString(36).slice(2, 8);
  var root = el("section", "rb-widget", { "aria-labelledby": uid + "-title" });
  var header = el("header", "rb-header");
  var title = el("h2", "rb-title", { id: uid + "-title" });
  var tools = el("div", "rb-tools");
  var langButton = el("button", "rb-tool rb-lang", { type: "button" });
  var largeButton = el("button", "rb-tool rb-large-toggle", { type: "button", "aria-pressed": "false" });
  var privacyButton = el("button", "rb-tool rb-privacy-toggle", { type: "button", "aria-expanded": "true",
                                                                  "aria-controls": uid + "-privacy" });
  var closeButton = el("button", "rb-tool rb-close", { type: "button" });
  tools.appendChild(langButton);
  tools.appendChild(largeButton);
  tools.appendChild(privacyButton);
  header.appendChild(title);
  header.appendChild(tools);

  var privacy = el("div", "rb-privacy", { id: uid + "-privacy", role: "note" });
  var privacyText = el("p", "rb-privacy-text");
  var privacyOk = el("button", "rb-button rb-privacy-ok", { type: "button" });
  privacy.appendChild(privacyText);
  privacy.appendChild(privacyOk);

  var log = el("ol", "rb-log", { role: "log", "aria-live": "polite", "aria-relevant": "additions",
                                 tabindex: "0", id: uid + "-log" });
  var status = el("p", "rb-status", { role: "status", "aria-live": "polite" });
  var typing = el("p", "rb-typing", { "aria-hidden": "true" });
  typing.hidden = true;
  var quick = el("div", "rb-quick", { role: "group" });

  var form = el("form", "rb-compose");
  var label = el("label", "rb-label", { "for": uid + "-input" });
  var input = el("textarea", "rb-input", { id: uid + "-input", rows: "2", maxlength: String(MAX_TEXT),
                                          autocomplete: "off" });
  var sendButton = el("button", "rb-button rb-send", { type: "submit" });
  var humanButton = el("button", "rb-button rb-human", { type: "button" });
  form.appendChild(label);
  var row = el("div", "rb-row");
  row.appendChild(input);
  row.appendChild(sendButton);
  form.appendChild(row);
  form.appendChild(humanButton);

  root.appendChild(header);
  root.appendChild(privacy);
  root.appendChild(log);
  root.appendChild(typing);
  root.appendChild(status);
  root.appendChild(quick);
  root.appendChild(form);

  var launcher = null;
  function mount() {
    var target = options.target ? document.querySelector(options.target) : null;
    if (target) {
      root.classList.add("rb-inline");
      target.appendChild(root);
      return;
    }
    root.classList.add("rb-floating");
    root.hidden = true;
    tools.appendChild(closeButton);
    launcher = el("button", "rb-launcher", { type: "button", "aria-expanded": "false" });
    document.body.appendChild(launcher);
    document.body.appendChild(root);
    launcher.addEventListener("click", function () { setOpen(true); });
    closeButton.addEventListener("click", function () { setOpen(false); });
    root.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { setOpen(false); }
    });
  }
  function setOpen(open) {
    root.hidden = !open;
    launcher.hidden = open;
    launcher.setAttribute("aria-expanded", String(open));
    (open ? input : launcher).focus();
  }

  // --- rendering -----------------------------------------------------------------------------

  function displayText(text) {
    if (text === HUMAN) { return t("human"); }
    if (/^\/[a-z_]+(\{.*\})?$/.test(text)) { return text.slice(1).split("{")[0].replace(/_/g, " "); }
    return text;
  }

  function addItem(role, text, extra) {
    extra = extra || {};
    var item = el("li", "rb-msg rb-" + role);
    var who = el("span", "rb-who");
    var name = role === "user" ? t("you") : role === "bot" ? t("bot") :
      role === "agent" ? t("agent") + (extra.agentName ? " " + extra.agentName : "") : t("system");
    who.textContent = name + ": ";
    var body = el("span", "rb-text");
    body.textContent = text;
    item.appendChild(who);
    item.appendChild(body);
    if (extra.id) { item.setAttribute("data-id", extra.id); }
    if (extra.pending) {
      var note = el("span", "rb-state");
      note.textContent = t("sending");
      item.appendChild(note);
      item.classList.add("rb-pending");
    }
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
    return item;
  }

  function addDownload(frame) {
    // The data-rights copy as a file the claimant keeps; built locally, never parsed as HTML.
    var item = el("li", "rb-msg rb-system");
    var link = el("a", "rb-download");
    link.textContent = t("download");
    link.setAttribute("download", frame.filename || "conversation.json");
    link.href = URL.createObjectURL(new Blob([String(frame.data || "")], { type: "application/json" }));
    item.appendChild(link);
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
  }

  // The quick replies are those of the bot's latest turn: each of its messages that offers buttons
  // adds a row (a brief answer's parts, then the pre-check's yes and no); `keep` adds to the rows
  // shown, otherwise they are replaced. The claimant's next message clears them.
  function showButtons(buttons, keep) {
    if (!keep) {
      while (quick.firstChild) { quick.removeChild(quick.firstChild); }
    }
    if (!buttons || !buttons.length) { return; }
    var row = el("div", "rb-quick-row");
    buttons.forEach(function (button) {
      var b = el("button", "rb-button rb-quick-reply", { type: "button" });
      b.textContent = button.title;
      b.addEventListener("click", function () { send(button.payload, button.title); });
      row.appendChild(b);
    });
    quick.appendChild(row);
  }

  function setStatus(text) { status.textContent = text || ""; }

  function showTyping(on) {
    typing.hidden = !on;
    clearTimeout(state.typingTimer);
    if (on) { state.typingTimer = setTimeout(function () { typing.hidden = true; }, 8000); }
  }

  function applyLanguage() {
    root.setAttribute("lang", state.lang === "zh" ? "zh-CN" : "en");
    title.textContent = t("title");
    log.setAttribute("aria-label", t("log"));
    label.textContent = t("inputLabel");
    input.setAttribute("placeholder", t("placeholder"));
    sendButton.textContent = t("send");
    humanButton.textContent = t("humanLong");
    langButton.textContent = t("switchTo");
    langButton.setAttribute("aria-label", t("switchLabel"));
    langButton.setAttribute("lang", state.lang === "zh" ? "en" : "zh-CN");
    largeButton.textContent = t("large");
    largeButton.setAttribute("aria-label", t("largeLabel"));
    privacyButton.textContent = t("privacy");
    privacyOk.textContent = t("privacyOk");
    privacyText.textContent = t("privacyText")(state.retentionDays);
    closeButton.textContent = "\u00d7";
    closeButton.setAttribute("aria-label", t("close"));
    quick.setAttribute("aria-label", state.lang === "zh" ? "快捷回复" : "Quick replies");
    typing.textContent = t("typing");
    if (launcher) { launcher.textContent = t("open"); }
    log.querySelectorAll(".rb-pending .rb-state").forEach(function (n) { n.textContent = t("sending"); });
    if (!state.ready) { setStatus(state.attempt ? t("reconnecting") : t("connecting")); }
  }

  function applyLarge() {
    root.classList.toggle("rb-large", !!state.large);
    largeButton.setAttribute("aria-pressed", String(!!state.large));
    if (launcher) { launcher.classList.toggle("rb-large", !!state.large); }
  }

  function setPrivacy(open) {
    privacy.hidden = !open;
    privacyButton.setAttribute("aria-expanded", String(open));
    save("privacySeen", !open);
  }

  // --- protocol ------------------------------------------------------------------------------

  function newId() {
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 12);
  }

  function seqAfter(a, b) {  // is stream id a after b?
    if (!b) { return true; }
    var x = a.split("-"), y = b.split("-");
    var ms = Number(x[0]) - Number(y[0]);
    return ms !== 0 ? ms > 0 : Number(x[1]) > Number(y[1]);
  }

  function transmit(frame) {
    if (state.socket && state.socket.readyState === 1 && state.ready) {
      state.socket.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  function send(text, shown) {
    text = text.trim();
    if (!text) { return; }
    if (text.length > MAX_TEXT) { setStatus(t("tooLong")); return; }
    var message = { id: newId(), text: text, shown: shown || null, resend: false };
    state.pending.push(message);
    save("pending", state.pending);
    addItem("user", shown || displayText(text), { id: message.id, pending: true });
    showButtons([]);
    state.botTurn = false;
    transmit({ type: "message", id: message.id, text: text, language: state.lang });
    message.resend = true;  // anything sent again from now on is a resend
  }

  function resendPending() {
    state.pending.forEach(function (message) {
      transmit({ type: "message", id: message.id, text: message.text, language: state.lang, resend: true });
    });
  }

  function acknowledged(id, failed) {
    state.pending = state.pending.filter(function (m) { return m.id !== id; });
    save("pending", state.pending);
    var item = log.querySelector('[data-id="' + CSS.escape(id) + '"]');
    if (item) {
      item.classList.remove("rb-pending");
      var note = item.querySelector(".rb-state");
      if (note && !failed) { item.removeChild(note); }
      if (note && failed) { note.textContent = t("failed"); item.classList.add("rb-failed"); }
    }
  }

  function scheduleAck() {
    clearTimeout(state.ackTimer);
    state.ackTimer = setTimeout(function () {
      if (state.lastSeq) { transmit({ type: "ack", seq: state.lastSeq }); }
    }, 300);
  }

  function onSession(frame) {
    state.token = frame.token;
    save("token", frame.token);
    if (frame.retention_days) { state.retentionDays = frame.retention_days; applyLanguage(); }
    if (state.lastSeq === null) {  // page (re)load: the history replaces what is shown
      while (log.firstChild) { log.removeChild(log.firstChild); }
      var committed = {};
      var turn = [];  // the buttons of the bot's messages since anyone else spoke
      var titles = {};  // a button's payload -> its title: a pressed button reads as it did
      (frame.history || []).forEach(function (item) {
        if (item.id) { committed[item.id] = true; }
        addItem(item.role, item.role === "user" ? titles[item.text] || displayText(item.text) : item.text,
                { agentName: item.agent_name });
        turn = item.role === "bot" ? turn.concat([item.buttons || []]) : [];
        (item.buttons || []).forEach(function (button) { titles[button.payload] = button.title; });
      });
      showButtons([]);
      turn.forEach(function (buttons) { showButtons(buttons, true); });
      state.botTurn = turn.length > 0;
      state.pending = state.pending.filter(function (m) { return !committed[m.id]; });
      save("pending", state.pending);
      state.pending.forEach(function (m) {
        addItem("user", m.shown || displayText(m.text), { id: m.id, pending: true });
      });
      state.lastSeq = frame.last_seq || "0-0";
    }
    state.ready = true;
    state.attempt = 0;
    setStatus(t("connected"));
    resendPending();
  }

  function onFrame(frame) {
    if (frame.seq) {
      if (!seqAfter(frame.seq, state.lastSeq)) { return; }  // already shown
      state.lastSeq = frame.seq;
      scheduleAck();
    }
    switch (frame.type) {
      case "session": onSession(frame); break;
      case "ack": acknowledged(frame.id, false); break;
      case "bot":
        showTyping(false);
        addItem("bot", frame.text);
        showButtons(frame.buttons, state.botTurn);
        state.botTurn = true;
        break;
      case "agent_message":
        showTyping(false);
        addItem("agent", frame.text, { agentName: frame.agent_name });
        state.botTurn = false;
        break;
      case "agent_joined":
        addItem("system", frame.text || t("joined")(frame.agent_name));
        setStatus("");
        state.botTurn = false;
        break;
      case "agent_left":
        addItem("system", frame.text || t("left")(frame.agent_name));
        state.botTurn = false;
        break;
      case "bot_resumed": addItem("bot", frame.text); state.botTurn = false; break;
      case "typing": showTyping(true); break;
      case "queue_position":
        setStatus(frame.text || t("queue")(frame.position, frame.estimate_seconds));
        break;
      case "notice": addItem("system", frame.text); break;
      case "export": addDownload(frame); break;
      case "error": onError(frame); break;
      default: break;
    }
  }

  function onError(frame) {
    if (frame.code === "rate_limited" || frame.code === "unavailable") {
      clearTimeout(state.retryTimer);
      state.retryTimer = setTimeout(resendPending, Math.max(1000, (frame.retry_after || 2) * 1000));
    } else if (frame.id && (frame.code === "invalid_message" || frame.code === "not_answered")) {
      acknowledged(frame.id, true);  // not_answered: the notice asks the claimant to send it again
    }
  }

  function connect() {
    clearTimeout(state.reconnectTimer);
    state.ready = false;
    var socket;
    try { socket = new WebSocket(options.server); } catch (e) { reconnect(); return; }
    state.socket = socket;
    socket.onopen = function () {
      socket.send(JSON.stringify({ type: "hello", token: state.token, language: state.lang,
                                   last_seq: state.lastSeq }));
    };
    socket.onmessage = function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      if (frame && typeof frame.type === "string") { onFrame(frame); }
    };
    socket.onclose = function () {
      if (state.socket === socket) { reconnect(); }
    };
  }

  function reconnect() {
    state.ready = false;
    state.attempt += 1;
    setStatus(t("reconnecting"));
    var delay = Math.min(30000, 500 * Math.pow(2, Math.min(state.attempt - 1, 6)));
    state.reconnectTimer = setTimeout(connect, delay / 2 + Math.random() * delay / 2);
  }

  // --- events --------------------------------------------------------------------------------

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value;
    if (!text.trim()) { return; }
    send(text);
    input.value = "";
    input.focus();
  });
  input.addEventListener("keydown", function (event) {
    // Enter while an input method is composing picks the candidate; it must not send.
    if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.keyCode === 229) { return; }
    event.preventDefault();
    form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit", { cancelable: true }));
  });
  humanButton.addEventListener("click", function () { send(HUMAN, t("human")); });
  langButton.addEventListener("click", function () {
    state.lang = state.lang === "zh" ? "en" : "zh";
    save("lang", state.lang);
    applyLanguage();
  });
  largeButton.addEventListener("click", function () {
    state.large = !state.large;
    save("large", state.large);
    applyLarge();
  });
  privacyButton.addEventListener("click", function () { setPrivacy(privacy.hidden); });
  privacyOk.addEventListener("click", function () { setPrivacy(false); input.focus(); });

  function start() {
    mount();
    applyLanguage();
    applyLarge();
    setPrivacy(!load("privacySeen", false));
    connect();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
