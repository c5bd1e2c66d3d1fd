// madoguchi web chat: plain JS, no build step. Talks to /api/v1; keeps only a random session token in localStorage.
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("chat-config").textContent);
  var storageKey = "madoguchi:" + config.tenant;
  var RETRY_DELAYS_MS = [800, 2000]; // network failures only; the same client_message_id makes a retry safe

  var els = {
    log: document.getElementById("log"),
    status: document.getElementById("status"),
    form: document.getElementById("chat-form"),
    input: document.getElementById("message-input"),
    send: document.getElementById("send-button"),
    person: document.getElementById("person-button"),
    reset: document.getElementById("reset-button"),
    erase: document.getElementById("erase-button"),
    count: document.getElementById("char-count"),
  };

  var state = {
    token: null,
    conversationId: null,
    lastId: 0,
    shown: {}, // message ids already on the page
    busy: false,
    ui: config.ui, // strings of the latest reply's language
    pollTimer: null,
    pollFailures: 0,
    restoring: false,
    lastChoices: [], // of the latest assistant message rendered from the transcript
    handover: null, // the latest hand-over's state, as last told
    chromeLanguage: "ja",
  };

  // ---- session (a random token, never personal data) ----

  function loadSession() {
    try {
      var saved = JSON.parse(window.localStorage.getItem(storageKey) || "null");
      if (saved && saved.token && saved.conversationId) {
        state.token = saved.token;
        state.conversationId = saved.conversationId;
      }
    } catch (e) { /* storage unavailable: the session lives in this page only */ }
  }

  function saveSession() {
    try {
      window.localStorage.setItem(storageKey, JSON.stringify({token: state.token, conversationId: state.conversationId}));
    } catch (e) { /* ignore */ }
  }

  function forgetConversation() {
    state.conversationId = null;
    state.lastId = 0;
    saveSession();
  }

  // ---- HTTP ----

  function ApiError(status, detail) {
    this.status = status;
    this.detail = detail;
  }

  function request(method, path, body) {
    var headers = {"Accept": "application/json"};
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (state.token) headers[config.token_header] = state.token;
    return fetch(config.api + path, {
      method: method, headers: headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (data) {
        if (!response.ok) throw new ApiError(response.status, data && data.detail);
        return data;
      });
    });
  }

  function wait(ms) {
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
  }

  function withRetry(attempt, delays) {
    return attempt().catch(function (error) {
      var network = !(error instanceof ApiError);
      if (!network || !delays.length) throw error;
      return wait(delays[0]).then(function () { return withRetry(attempt, delays.slice(1)); });
    });
  }

  function newMessageId() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  // ---- rendering (text only through textContent: nothing from the server is parsed as HTML) ----

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  // URLs become links; phone numbers (03-5320-7725, ０６－６４８９－６４０８, #7119, 119) become tel: links.
  var LINK_PATTERN = /(https?:\/\/[^\s（）()「」<>、。]+|[0０][0-9０-９]{1,4}[-－‐ー][0-9０-９]{1,4}[-－‐ー][0-9０-９]{3,4}|[#＃][0-9０-９]{4}|(?:^|(?<=[^0-9０-９-]))1[01][09](?![0-9０-９-]))/g;

  function telNumber(text) {
    return text.replace(/[０-９＃]/g, function (c) { return String.fromCharCode(c.charCodeAt(0) - 0xFEE0); })
      .replace(/[^0-9#]/g, "");
  }

  function linkified(text) {
    var fragment = document.createDocumentFragment();
    String(text).split(LINK_PATTERN).forEach(function (part, i) {
      if (i % 2 === 1) {
        var a = el("a", null, part);
        a.href = /^https?:/.test(part) ? part : "tel:" + telNumber(part).replace("#", "%23");
        a.rel = "noopener noreferrer";
        fragment.appendChild(a);
      } else if (part) {
        fragment.appendChild(document.createTextNode(part));
      }
    });
    return fragment;
  }

  // ---- the page's own controls follow the resident's language (ja, en, zh, ko; another language reads English) ----

  function chromeLanguage(language) {
    if (!language) return null;
    return config.chrome[language] ? language : "en";
  }

  function fill(template, values) {
    return String(template).replace(/\{(\w+)\}/g, function (all, key) { return key in values ? values[key] : all; });
  }

  function applyChrome(language) {
    var lang = chromeLanguage(language);
    if (!lang || lang === state.chromeLanguage) return;
    state.chromeLanguage = lang;
    config.page = config.chrome[lang];
    document.documentElement.lang = lang;
    document.querySelectorAll("[data-chrome]").forEach(function (node) {
      node.textContent = fill(config.page[node.getAttribute("data-chrome")], {max_chars: config.max_chars});
    });
    els.log.setAttribute("aria-label", config.page.log_label);
    updateCount();
  }

  // ---- the length limit: a live count, and a message instead of a silent cut ----

  function length(text) {
    return Array.from(text || "").length; // code points, as the server counts them
  }

  function tooLongText(count) {
    return fill(config.page.too_long_by, {over: count - config.max_chars, max_chars: config.max_chars});
  }

  function updateCount() {
    var count = length(els.input.value);
    var over = count > config.max_chars;
    els.count.textContent = fill(config.page.char_count, {count: count, max_chars: config.max_chars});
    els.count.classList.toggle("over", over);
    var wasOver = els.input.getAttribute("aria-invalid") === "true";
    els.input.setAttribute("aria-invalid", over ? "true" : "false");
    if (over && !wasOver) setStatus(tooLongText(count), true);
    if (!over && wasOver) setStatus("");
  }

  function uiFor(language, strings) {
    return strings && strings[language] ? strings[language] : state.ui;
  }

  function addMessage(article, id) {
    if (id) {
      article.dataset.id = id;
      state.shown[id] = true;
    }
    els.log.appendChild(article);
    if (!state.restoring) scrollTo(article, "smooth");
    return article;
  }

  // A long answer is shown from its first line (read from the top); a short one just comes into view.
  function scrollTo(article, behavior) {
    var reduce = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    var room = window.innerHeight - (els.form.classList.contains("unstuck") ? 0 : els.form.offsetHeight);
    var block = article.offsetHeight > room ? "start" : "nearest";
    article.scrollIntoView({block: block, behavior: reduce ? "auto" : behavior});
  }

  function bubble(role, who, text, language) {
    var article = el("article", "message " + role);
    if (language && language !== "other") article.lang = language;
    article.appendChild(el("p", "who", who));
    var body = el("div", "text");
    body.appendChild(linkified(text));
    article.appendChild(body);
    return article;
  }

  function asOfText(ui, asOf) {
    return ui.as_of.replace("{date}", asOf);
  }

  function sourcesBlock(sources, ui) {
    var section = el("section", "sources");
    section.appendChild(el("h3", null, ui.sources));
    var list = el("ul");
    sources.forEach(function (source) {
      var item = el("li");
      if (source.url) {
        var a = el("a", null, source.title);
        a.href = source.url;
        a.rel = "noopener noreferrer";
        item.appendChild(a);
      } else {
        item.appendChild(el("span", "title", source.title));
      }
      if (source.as_of) item.appendChild(el("span", "as-of", asOfText(ui, source.as_of)));
      if (source.source) item.appendChild(el("span", "origin", source.source));
      if (!source.url && source.citation) item.appendChild(el("span", "citation", source.citation));
      list.appendChild(item);
    });
    section.appendChild(list);
    return section;
  }

  function choicesBlock(choices, ui) {
    var group = el("div", "choices");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", ui.choices);
    group.appendChild(el("p", "choices-label", ui.choices));
    choices.forEach(function (choice) {
      var button = el("button", "choice", choice.n + ". " + choice.title);
      button.type = "button";
      button.addEventListener("click", function () {
        if (state.busy) return;
        group.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
        button.setAttribute("aria-pressed", "true");
        sendText(String(choice.n), choice.n + ". " + choice.title);
      });
      group.appendChild(button);
    });
    return group;
  }

  function feedbackBlock(turnId, ui) {
    var group = el("div", "feedback");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", ui.feedback_question);
    group.appendChild(el("span", "feedback-question", ui.feedback_question));
    [["helpful", ui.helpful], ["unhelpful", ui.not_helpful]].forEach(function (pair) {
      var button = el("button", "feedback-button " + pair[0], pair[1]);
      button.type = "button";
      button.setAttribute("aria-pressed", "false");
      button.addEventListener("click", function () { sendFeedback(group, button, turnId, pair[0], ui); });
      group.appendChild(button);
    });
    return group;
  }

  // The answer cites its first source; the other hits are candidates, not sources, and are not shown.
  function citedSources(message) {
    return message.outcome === "answered" && message.sources && message.sources.length ? [message.sources[0]] : [];
  }

  // Text channels carry the citation inside the answer ("出典: <title>", its url or citation, its as-of date); on
  // the page the linked source block says it, so those lines are left out of the text (anything after them, such
  // as a disclaimer, stays).
  function withoutCitationLines(text, sources) {
    if (!sources.length) return text;
    var source = sources[0];
    var lines = String(text).split("\n");
    for (var i = 0; i < lines.length; i++) {
      if (isCitationHeading(lines[i].trim(), source.title)) {
        var end = i + 1;
        while (end < lines.length && end <= i + 2 && isCitationDetail(lines[end].trim(), source)) end++;
        lines.splice(i, end - i);
        return lines.join("\n").replace(/\n{3,}/g, "\n\n").trim();
      }
    }
    return text;
  }

  function isCitationHeading(line, title) {
    if (!title || line.length <= title.length || line.slice(-title.length) !== title) return false;
    return /[:：]\s*$/.test(line.slice(0, -title.length));
  }

  function isCitationDetail(line, source) {
    if (line && (line === source.url || line === source.citation)) return true;
    var year = source.as_of ? String(source.as_of).slice(0, 4) : "";
    return !!year && line.length < 40 && line.indexOf(year) !== -1;
  }

  // The numbered choice lines of a clarification become buttons; the text keeps its other sentences.
  function withoutChoiceLines(text, choices) {
    if (!choices || !choices.length) return text;
    var listed = {};
    choices.forEach(function (choice) { listed[choice.n + ". " + choice.title] = true; });
    return String(text).split("\n").filter(function (line) { return !listed[line.trim()]; }).join("\n");
  }

  // One renderer for a fresh reply (POST) and a stored assistant message (GET transcript).
  function renderAssistant(message, ui) {
    var sources = citedSources(message);
    var text = message.answer !== undefined ? message.answer : message.text;
    text = withoutChoiceLines(withoutCitationLines(text, sources), message.choices);
    var article = bubble("assistant", ui.assistant, text, message.language);
    if (message.outcome) article.dataset.outcome = message.outcome;
    if (sources.length) article.appendChild(sourcesBlock(sources, ui));
    if (message.choices && message.choices.length) article.appendChild(choicesBlock(message.choices, ui));
    if (message.outcome === "answered" && message.turn_id) article.appendChild(feedbackBlock(message.turn_id, ui));
    if (message.turn_id) article.appendChild(aboutLink(message.turn_id, ui));
    return article;
  }

  // "How was this answered?": the transparency page explains this turn (outcome, confidence, sources, dates).
  function aboutLink(turnId, ui) {
    var link = el("a", "about-answer", ui.about_answer);
    link.href = "/t/" + encodeURIComponent(config.tenant) + "/transparency?turn=" + encodeURIComponent(turnId) +
      "#turn-" + encodeURIComponent(turnId);
    return link;
  }

  // A reply of just a number picked a choice of the message before: show it as the page showed it when sent.
  function choiceLabel(text, choices) {
    var picked = /^\s*(\d+)\s*$/.exec(text || "");
    var choice = picked && (choices || []).filter(function (c) { return String(c.n) === picked[1]; })[0];
    return choice ? choice.n + ". " + choice.title : text;
  }

  // After an operator resolved the enquiry: solved / not solved as two buttons (not "type 解決した").
  function satisfactionBlock(escalationId, ui) {
    var group = el("div", "satisfaction");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", ui.feedback_question);
    [["helpful", ui.satisfied], ["unhelpful", ui.not_satisfied]].forEach(function (pair) {
      var button = el("button", "satisfaction-button " + pair[0], pair[1]);
      button.type = "button";
      button.setAttribute("aria-pressed", "false");
      button.addEventListener("click", function () {
        sendRating(group, button, {escalation_id: escalationId, rating: pair[0]}, ui);
      });
      group.appendChild(button);
    });
    return group;
  }

  function renderTranscriptMessage(message, strings) {
    if (state.shown[message.id]) return;
    var ui = uiFor(message.language, strings);
    if (message.role === "assistant") {
      state.lastChoices = message.choices || [];
      var article = renderAssistant(message, ui);
      if (message.kind === "satisfaction" && message.escalation_id) {
        article.appendChild(satisfactionBlock(message.escalation_id, ui));
      }
      addMessage(article, message.id);
    } else if (message.role === "operator") {
      addMessage(bubble("operator", ui.operator, message.text, message.language), message.id);
      setStatus(config.page.operator_joined);
    } else if (message.role === "system") {
      addMessage(bubble("system", ui.system, message.text, message.language), message.id);
    } else {
      addMessage(bubble("resident", ui.you, choiceLabel(message.text, state.lastChoices)), message.id);
    }
  }

  function setStatus(text, isError) {
    els.status.textContent = text || "";
    els.status.classList.toggle("error", !!isError);
  }

  function setBusy(busy) {
    state.busy = busy;
    els.send.disabled = busy;
    els.person.disabled = busy;
    els.log.setAttribute("aria-busy", busy ? "true" : "false");
    if (busy) setStatus(config.page.sending);
  }

  // ---- actions ----

  function ensureConversation() {
    if (state.conversationId) return Promise.resolve();
    return withRetry(function () { return request("POST", "/conversations"); }, RETRY_DELAYS_MS)
      .then(function (data) {
        state.token = data.resident_token;
        state.conversationId = data.conversation_id;
        saveSession();
      });
  }

  function postMessage(text, clientMessageId) {
    return withRetry(function () {
      return request("POST", "/conversations/" + encodeURIComponent(state.conversationId) + "/messages",
                     {text: text, client_message_id: clientMessageId});
    }, RETRY_DELAYS_MS);
  }

  function errorText(error) {
    if (error instanceof ApiError) {
      if (error.status >= 500) return config.page.error_server;
      if (typeof error.detail === "string") return error.detail;
    }
    return config.page.error_send;
  }

  function showReply(reply, pending) {
    if (reply.conversation_id && reply.conversation_id !== state.conversationId) {
      state.conversationId = reply.conversation_id; // the previous one was closed: a new one began
      saveSession();
    }
    if (reply.resident_message_id) {
      pending.dataset.id = reply.resident_message_id;
      state.shown[reply.resident_message_id] = true;
    }
    state.ui = reply.ui || state.ui;
    if (reply.language) applyChrome(reply.language);
    if (reply.outcome === "with_operator") acknowledge(pending);
    if (reply.reply_message_id && !state.shown[reply.reply_message_id]) {
      addMessage(renderAssistant(reply, state.ui), reply.reply_message_id);
    }
    state.lastId = Math.max(state.lastId, reply.reply_message_id || 0, reply.resident_message_id || 0);
    if (reply.outcome === "escalated") state.handover = "queued";
    var waiting = reply.outcome === "escalated" || reply.outcome === "with_operator";
    setStatus(waiting ? handoverStatus(state.handover || "queued") : "");
  }

  // A message while an operator has the conversation: the assistant stays silent, so the page says it was passed
  // on (one short note under the latest such message, not one per message).
  function acknowledge(pending) {
    var old = els.log.querySelector(".message.ack");
    if (old) old.remove();
    var note = bubble("system ack", state.ui.system, state.ui.with_operator_ack);
    note.setAttribute("data-ack", "true");
    pending.after(note);
  }

  function handoverStatus(handover) {
    var key = {queued: "status_queued", claimed: "status_claimed", waiting_resident: "status_waiting",
               resolved: "status_resolved"}[handover];
    return key ? state.ui[key] : "";
  }

  function followHandover(handover) {
    if (!handover || handover === state.handover) return;
    state.handover = handover;
    if (!state.busy && !els.status.classList.contains("error")) setStatus(handoverStatus(handover));
  }

  function sendText(text, display) {
    text = (text || "").trim();
    if (!text) { setStatus(config.page.error_empty, true); els.input.focus(); return Promise.resolve(false); }
    if (length(text) > config.max_chars) {
      setStatus(tooLongText(length(text)), true); // the text stays in the box, whole, to be shortened
      els.input.focus();
      return Promise.resolve(false);
    }
    if (state.busy) return Promise.resolve(false);
    setBusy(true);
    var pending = addMessage(bubble("resident", state.ui.you, display || text));
    var clientMessageId = newMessageId();
    var attempt = function () {
      return ensureConversation().then(function () { return postMessage(text, clientMessageId); });
    };
    return attempt().catch(function (error) {
      // The stored conversation is gone (erased, or another browser profile): start afresh once.
      if (error instanceof ApiError && (error.status === 404 || error.status === 401)) {
        forgetConversation();
        if (error.status === 401) state.token = null;
        return attempt();
      }
      throw error;
    }).then(function (reply) {
      showReply(reply, pending);
      return true;
    }).catch(function (error) {
      pending.classList.add("failed");
      setStatus(errorText(error), true);
      return false;
    }).then(function (sent) {
      setBusy(false);
      if (els.status.textContent === config.page.sending) setStatus("");
      return sent;
    });
  }

  function sendFeedback(group, button, turnId, rating, ui) {
    sendRating(group, button, {turn_id: turnId, rating: rating}, ui);
  }

  function sendRating(group, button, body, ui) {
    var buttons = group.querySelectorAll("button");
    buttons.forEach(function (b) { b.disabled = true; });
    request("POST", "/conversations/" + encodeURIComponent(state.conversationId) + "/feedback", body)
      .then(function () {
        button.setAttribute("aria-pressed", "true");
        var thanks = el("span", "feedback-thanks", ui.feedback_thanks);
        thanks.setAttribute("role", "status");
        group.appendChild(thanks);
      })
      .catch(function (error) {
        buttons.forEach(function (b) { b.disabled = false; });
        setStatus(errorText(error), true);
      });
  }

  // ---- polling: operator replies (and anything else new) appear without a reload ----

  function poll() {
    if (!state.conversationId || state.busy || document.hidden) return Promise.resolve();
    var path = "/conversations/" + encodeURIComponent(state.conversationId) + "/messages?after=" + state.lastId;
    return request("GET", path).then(function (data) {
      state.pollFailures = 0;
      data.messages.forEach(function (message) { renderTranscriptMessage(message, data.ui); });
      state.lastId = Math.max(state.lastId, data.last_id);
      var latest = data.messages.filter(function (m) { return m.role !== "resident" && m.language; }).pop();
      if (latest) applyChrome(latest.language);
      if (data.handover === "returned") state.handover = null;
      else followHandover(data.handover);
    }).catch(function (error) {
      state.pollFailures += 1;
      if (error instanceof ApiError && error.status === 404) forgetConversation();
    });
  }

  function schedulePoll() {
    // Back off while the server is unreachable (up to 8 intervals), so a dead connection is not hammered.
    var factor = Math.min(1 + state.pollFailures, 8);
    state.pollTimer = setTimeout(function () { poll().then(schedulePoll); }, config.poll_ms * factor);
  }

  // ---- wiring ----

  function onSubmit(event) {
    event.preventDefault();
    var text = els.input.value;
    sendText(text).then(function (sent) {
      if (sent) { els.input.value = ""; updateCount(); }
      els.input.focus();
    });
  }

  function onKeyDown(event) {
    // Enter sends, Shift+Enter breaks the line; Enter that confirms an IME conversion (Japanese input) does neither.
    if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.keyCode === 229) return;
    event.preventDefault();
    els.form.requestSubmit ? els.form.requestSubmit() : onSubmit(event);
  }

  function onPerson() {
    sendText(state.ui.talk_to_person_text).then(function () { els.input.focus(); });
  }

  function onReset() {
    Array.prototype.slice.call(els.log.querySelectorAll(".message:not(.welcome)")).forEach(function (node) {
      node.remove();
    });
    state.shown = {};
    state.handover = null;
    state.token = null; // a new token, so the server starts a new conversation too
    forgetConversation();
    setStatus("");
    els.input.focus();
  }

  // The resident's own deletion request: the server erases the texts at once (governance owns what that means).
  function onErase() {
    if (!state.conversationId) { onReset(); return; }
    if (!window.confirm(config.page.erase_confirm)) return;
    request("DELETE", "/conversations/" + encodeURIComponent(state.conversationId))
      .then(function () {
        onReset();
        setStatus(config.page.erased);
      })
      .catch(function (error) { setStatus(errorText(error), true); });
  }

  // After a reload the transcript comes back at once, scrolled to its end without animation.
  function restore() {
    if (!state.conversationId) return Promise.resolve();
    state.restoring = true;
    return poll().then(function () {
      state.restoring = false;
      var last = els.log.lastElementChild;
      if (last && last.dataset.id) scrollTo(last, "auto");
    });
  }

  // New messages scroll into view above the sticky question box, not behind it.
  function trackComposerHeight() {
    var set = function () {
      // With large text the box would cover most of a phone's screen: then it scrolls with the page instead.
      els.form.classList.toggle("unstuck", els.form.offsetHeight > window.innerHeight * 0.3);
      var covered = els.form.classList.contains("unstuck") ? 0 : els.form.offsetHeight;
      document.documentElement.style.setProperty("--composer-height", covered + "px");
    };
    set();
    if (window.ResizeObserver) new ResizeObserver(set).observe(els.form);
    window.addEventListener("resize", set);
  }

  trackComposerHeight();
  updateCount();
  els.form.addEventListener("submit", onSubmit);
  els.input.addEventListener("keydown", onKeyDown);
  els.input.addEventListener("input", updateCount);
  els.person.addEventListener("click", onPerson);
  els.reset.addEventListener("click", onReset);
  els.erase.addEventListener("click", onErase);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) poll(); });

  loadSession();
  restore().then(schedulePoll);
})();
