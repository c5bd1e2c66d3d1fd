// Operator console: SLA countdowns, heartbeat while a conversation is open, polling for new messages and the queue,
// replies sent without reloading the page, and keyboard shortcuts. Every form also works without this script.
(function () {
  "use strict";
  var main = document.querySelector("main");
  var csrf = main ? main.getAttribute("data-csrf") : null;

  function countdowns() {
    document.querySelectorAll(".countdown").forEach(function (el) {
      var left = Math.round((Date.parse(el.getAttribute("data-due")) - Date.now()) / 1000);
      var late = left < 0, s = Math.abs(left);
      var text = Math.floor(s / 60) + "分" + String(s % 60).padStart(2, "0") + "秒";
      el.textContent = late ? "超過 " + text : "残り " + text;
      el.classList.toggle("late", late);
    });
  }

  function getJSON(url) {
    return fetch(url, {credentials: "same-origin"}).then(function (r) {
      if (r.status === 401) { window.location = "/console/login"; throw new Error("signed out"); }
      return r.json();
    });
  }

  function typing(event) {
    var t = event.target;
    return event.ctrlKey || event.metaKey || event.altKey ||
      (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName)));
  }

  // Text goes in where the cursor is (or replaces only the selection): what the operator wrote stays.
  function insertAtCursor(area, text) {
    var start = area.selectionStart, end = area.selectionEnd, value = area.value;
    if (typeof start !== "number") { start = end = value.length; }
    area.value = value.slice(0, start) + text + value.slice(end);
    var caret = start + text.length;
    area.focus();
    area.setSelectionRange(caret, caret);
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // --- one conversation ---
  var convo = document.getElementById("conversation");
  if (convo) {
    var id = convo.getAttribute("data-escalation");
    var token = convo.getAttribute("data-token");
    var last = parseInt(convo.getAttribute("data-last") || "0", 10);
    var transcript = document.getElementById("transcript");

    var lost = function () {
      document.getElementById("lost").hidden = false;
      document.querySelectorAll("form input[name=claim_token]").forEach(function (i) {
        var b = i.form.querySelector("button"); if (b) b.disabled = true;
      });
    };

    if (token) {
      var beat = function () {
        fetch("/console/escalations/" + id + "/heartbeat", {
          method: "POST", credentials: "same-origin",
          headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
          body: JSON.stringify({token: token})
        }).then(function (r) { return r.json(); }).then(function (body) { if (!body.ok) lost(); })
          .catch(function () {});
      };
      beat();
      setInterval(beat, 10000);
    }

    var resolved = false;
    var poll = function () {
      return getJSON("/console/escalations/" + id + "/messages?after=" + last).then(function (body) {
        body.messages.forEach(function (m) {
          if (transcript.querySelector(".msg[data-id='" + m.id + "']")) return;
          var box = el("div", "msg " + m.role);
          box.setAttribute("data-id", m.id);
          box.appendChild(el("div", "who", m.role_label + (m.operator ? "（" + m.operator + "）" : "") + " " + m.at));
          box.appendChild(document.createTextNode(m.text));
          transcript.appendChild(box);
          last = Math.max(last, m.id);
        });
        document.getElementById("state").textContent = body.state_label;
        if (token && !body.mine && !resolved) lost();
      }).catch(function () {});
    };
    setInterval(poll, 3000);

    var area = document.getElementById("reply-text");
    document.querySelectorAll("button.canned").forEach(function (b) {
      b.addEventListener("click", function () { insertAtCursor(area, b.getAttribute("data-text")); });
    });
    var useDraft = document.getElementById("use-draft");
    if (useDraft) {
      useDraft.addEventListener("click", function () {
        insertAtCursor(area, document.getElementById("draft-text").textContent);
      });
    }

    // The reply goes with fetch: the page stays, the transcript shows it, the box empties for the next one.
    var form = document.getElementById("reply-form");
    var replyStatus = document.getElementById("reply-status");
    var sendReply = function (then) {
      var data = new FormData(form);
      if (then) data.set("then", then); else data.delete("then");
      var buttons = form.querySelectorAll("button");
      buttons.forEach(function (b) { b.disabled = true; });
      return fetch(form.action, {method: "POST", body: data, credentials: "same-origin",
                                 headers: {"Accept": "application/json"}})
        .then(function (r) { return r.json(); })
        .then(function (body) {
          replyStatus.textContent = body.notice;
          if (body.outcome === "stale") { lost(); return; }
          if (!body.ok) return;
          area.value = "";
          if (body.outcome === "resolved") {
            resolved = true;
            document.getElementById("reply-panel").hidden = true;
            document.querySelectorAll("form input[name=claim_token]").forEach(function (i) {
              var b = i.form.querySelector("button"); if (b) b.disabled = true;
            });
            var after = document.getElementById("after-resolve");
            after.hidden = false;
            after.querySelector("button").focus();
          }
          return poll();
        })
        .catch(function () { replyStatus.textContent = "送信できませんでした。もう一度お試しください。"; })
        .then(function () { if (!resolved) buttons.forEach(function (b) { b.disabled = false; }); });
    };
    if (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        if (!area.value.trim()) { replyStatus.textContent = "返信を入力してください。"; area.focus(); return; }
        var submitter = event.submitter;
        sendReply(submitter && submitter.value === "resolve" ? "resolve" : null);
      });
      area.addEventListener("keydown", function (event) {
        if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey) || event.isComposing) return;
        event.preventDefault();
        form.requestSubmit(document.getElementById(event.shiftKey ? "send-resolve" : "send-reply"));
      });
    }
    document.addEventListener("keydown", function (event) {
      if (typing(event)) return;
      var next = document.getElementById("claim-next");
      if (event.key === "n" && next && !next.closest("[hidden]")) { event.preventDefault(); next.click(); }
    });
  }

  // --- the queue ---
  var queue = document.getElementById("queue");
  if (queue) {
    var render = function (entries) {
      var body = queue.querySelector("tbody");
      var selected = body.querySelector("tr.selected");
      var selectedId = selected ? selected.getAttribute("data-id") : null;
      body.textContent = "";
      if (!entries.length) {
        var row = el("tr"); var cell = el("td", null, "対応待ちの問い合わせはありません。");
        cell.colSpan = 8; row.appendChild(cell); body.appendChild(row); return;
      }
      entries.forEach(function (e) {
        var row = el("tr", e.urgent ? "urgent" : null); row.setAttribute("data-id", e.id);
        if (e.id === selectedId) row.classList.add("selected");
        row.appendChild(el("td", null, String(e.priority)));
        var risk = el("td");
        if (e.risk) risk.appendChild(el("span", e.urgent ? "badge urgent" : "badge", e.risk_label));
        else risk.appendChild(el("span", "muted", "なし"));
        row.appendChild(risk);
        var reason = el("td");
        reason.appendChild(el("span", "preview", e.preview || "（本文なし）"));
        reason.appendChild(el("span", "why", "理由: " + e.reason_words));
        if (e.callback) reason.appendChild(document.createTextNode("（折り返し希望）"));
        if (e.undelivered) {
          var mark = document.createElement("strong");
          mark.className = "undelivered";
          mark.textContent = " 返信未達";
          reason.appendChild(mark);
        }
        row.appendChild(reason);
        row.appendChild(el("td", null, e.tenant));
        row.appendChild(el("td", null, e.state_label + (e.claimed_by ? "（" + e.claimed_by + "）" : "")));
        row.appendChild(el("td", null, e.created_local));
        var due = el("td");
        if (e.answered) due.textContent = "応答済み";
        else if (e.first_response_due) { var c = el("span", "countdown"); c.setAttribute("data-due", e.first_response_due); due.appendChild(c); }
        row.appendChild(due);
        var actions = el("td");
        var link = el("a", "open", "開く"); link.href = "/console/escalations/" + e.id; actions.appendChild(link);
        if (e.claimable) {
          var form = el("form", "inline"); form.method = "post"; form.action = "/console/escalations/" + e.id + "/claim";
          var hidden = el("input"); hidden.type = "hidden"; hidden.name = "csrf_token"; hidden.value = csrf;
          var button = el("button", "claim", "担当する"); button.type = "submit";
          form.appendChild(hidden); form.appendChild(button); actions.appendChild(document.createTextNode(" ")); actions.appendChild(form);
        }
        row.appendChild(actions);
        body.appendChild(row);
      });
      countdowns();
    };
    setInterval(function () { getJSON(queue.getAttribute("data-poll")).then(function (b) { render(b.entries); }).catch(function () {}); }, 10000);

    // j / k move the selection, c claims the selected row, o opens it, n claims the most urgent one.
    var rows = function () { return Array.prototype.slice.call(queue.querySelectorAll("tbody tr[data-id]")); };
    var move = function (step) {
      var all = rows(); if (!all.length) return;
      var at = all.findIndex(function (r) { return r.classList.contains("selected"); });
      var to = Math.max(0, Math.min(all.length - 1, at < 0 ? 0 : at + step));
      all.forEach(function (r) { r.classList.remove("selected"); r.removeAttribute("aria-selected"); });
      all[to].classList.add("selected"); all[to].setAttribute("aria-selected", "true");
      all[to].querySelector("a.open").focus();
    };
    document.addEventListener("keydown", function (event) {
      if (typing(event)) return;
      var selected = queue.querySelector("tbody tr.selected");
      var act = {
        j: function () { move(1); }, k: function () { move(-1); },
        c: function () { var b = selected && selected.querySelector("button.claim"); if (b) b.click(); },
        o: function () { var a = selected && selected.querySelector("a.open"); if (a) a.click(); },
        n: function () { document.getElementById("claim-next").click(); },
      }[event.key];
      if (act) { event.preventDefault(); act(); }
    });
  }

  countdowns();
  setInterval(countdowns, 1000);
})();
