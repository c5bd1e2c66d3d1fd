// Operator console: SLA countdowns, heartbeat while a conversation is open, polling for new messages and the queue.
// Light on purpose: forms do the work; this only keeps the page current.
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

    var poll = function () {
      getJSON("/console/escalations/" + id + "/messages?after=" + last).then(function (body) {
        body.messages.forEach(function (m) {
          var box = el("div", "msg " + m.role);
          box.setAttribute("data-id", m.id);
          box.appendChild(el("div", "who", m.role_label + (m.operator ? "（" + m.operator + "）" : "") + " " + m.at));
          box.appendChild(document.createTextNode(m.text));
          transcript.appendChild(box);
          last = Math.max(last, m.id);
        });
        document.getElementById("state").textContent = body.state_label;
        if (token && !body.mine) lost();
      }).catch(function () {});
    };
    setInterval(poll, 3000);

    document.querySelectorAll("button.canned").forEach(function (b) {
      b.addEventListener("click", function () {
        var area = document.getElementById("reply-text");
        area.value = b.getAttribute("data-text");
        area.focus();
      });
    });
  }

  // --- the queue ---
  var queue = document.getElementById("queue");
  if (queue) {
    var render = function (entries) {
      var body = queue.querySelector("tbody");
      body.textContent = "";
      if (!entries.length) {
        var row = el("tr"); var cell = el("td", null, "対応待ちの問い合わせはありません。");
        cell.colSpan = 7; row.appendChild(cell); body.appendChild(row); return;
      }
      entries.forEach(function (e) {
        var row = el("tr"); row.setAttribute("data-id", e.id);
        row.appendChild(el("td", null, String(e.priority)));
        row.appendChild(el("td", null, e.tenant));
        var reason = el("td", null, e.reason + " ");
        if (e.risk) reason.appendChild(el("span", "risk", e.risk));
        if (e.callback) reason.appendChild(document.createTextNode("（折り返し希望）"));
        if (e.undelivered) {
          var mark = document.createElement("strong");
          mark.className = "undelivered";
          mark.textContent = " 返信未達";
          reason.appendChild(mark);
        }
        row.appendChild(reason);
        row.appendChild(el("td", null, e.state_label + (e.claimed_by ? "（" + e.claimed_by + "）" : "")));
        row.appendChild(el("td", null, e.created_local));
        var due = el("td");
        if (e.answered) due.textContent = "応答済み";
        else if (e.first_response_due) { var c = el("span", "countdown"); c.setAttribute("data-due", e.first_response_due); due.appendChild(c); }
        row.appendChild(due);
        var actions = el("td");
        var link = el("a", null, "開く"); link.href = "/console/escalations/" + e.id; actions.appendChild(link);
        if (e.claimable) {
          var form = el("form", "inline"); form.method = "post"; form.action = "/console/escalations/" + e.id + "/claim";
          var hidden = el("input"); hidden.type = "hidden"; hidden.name = "csrf_token"; hidden.value = csrf;
          var button = el("button", null, "担当する"); button.type = "submit";
          form.appendChild(hidden); form.appendChild(button); actions.appendChild(document.createTextNode(" ")); actions.appendChild(form);
        }
        row.appendChild(actions);
        body.appendChild(row);
      });
      countdowns();
    };
    setInterval(function () { getJSON(queue.getAttribute("data-poll")).then(function (b) { render(b.entries); }).catch(function () {}); }, 10000);
  }

  countdowns();
  setInterval(countdowns, 1000);
})();
