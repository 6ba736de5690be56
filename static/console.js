// Sesame console: live dashboard (server-sent events), copy buttons,
// confirmations and redirect-URI checks as they are typed. No framework;
// every page works without it (the server re-validates everything).
(function () {
  "use strict";

  // The page's words (static/i18n.js; the catalogue's js.console_* keys).
  function T(key, vars) { return window.SesameI18n ? window.SesameI18n.t(key, vars) : key; }

  // --- Live dashboard ---------------------------------------------------
  function liveDashboard() {
    var body = document.getElementById("feed-body");
    if (!body || !window.EventSource) { return; }
    var status = document.getElementById("live-status");
    var empty = document.getElementById("feed-empty");
    var refreshTimer = null, lastRefresh = 0;

    function setStatus(ok) {
      if (!status) { return; }
      status.textContent = ok ? T("console_live") : T("console_reconnecting");
      status.classList.toggle("off", !ok);
    }

    function cell(text, cls) {
      var td = document.createElement("td");
      if (cls) { td.className = cls; }
      td.textContent = text;
      return td;
    }

    function addRow(it) {
      var tr = document.createElement("tr");
      tr.className = "fresh" + (it.ok ? "" : " failed");
      tr.appendChild(cell(it.time, "num"));
      tr.appendChild(cell(it.user, "user"));
      var ev = cell(it.event);
      if (it.reason) {
        var r = document.createElement("span");
        r.className = "muted";
        r.textContent = " (" + it.reason + ")";
        ev.appendChild(r);
      }
      tr.appendChild(ev);
      tr.appendChild(cell(it.method, "hide-sm"));
      tr.appendChild(cell(it.client, "hide-sm"));
      body.insertBefore(tr, body.firstChild);
    }

    // Headline numbers and charts: fetch this page again and swap them
    // in, at most every 5 seconds.
    function refresh() {
      var wait = Math.max(0, 5000 - (Date.now() - lastRefresh));
      if (refreshTimer) { return; }
      refreshTimer = setTimeout(function () {
        refreshTimer = null;
        lastRefresh = Date.now();
        fetch(location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
          .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
          .then(function (html) {
            var doc = new DOMParser().parseFromString(html, "text/html");
            var next = doc.getElementById("live-region"), cur = document.getElementById("live-region");
            if (next && cur) { cur.replaceWith(document.importNode(next, true)); }
          })
          .catch(function () {});
      }, wait);
    }

    // Live only while someone uses the page: after 10 minutes without
    // input the stream closes (so an unattended dashboard does not keep
    // the console session alive past its idle timeout) and reopens on the
    // next key press, click, touch or scroll.
    var es = null, lastInput = Date.now(), idleAfter = 10 * 60 * 1000;
    function onSignin(e) {
      var items;
      try { items = JSON.parse(e.data); } catch (err) { return; }
      for (var i = items.length - 1; i >= 0; i--) { addRow(items[i]); }
      while (body.rows.length > 20) { body.deleteRow(body.rows.length - 1); }
      if (empty) { empty.hidden = true; }
      document.documentElement.dataset.liveEvents = String((+document.documentElement.dataset.liveEvents || 0) + items.length);
      refresh();
    }
    function connect() {
      es = new EventSource("/console/events");
      es.addEventListener("open", function () { setStatus(true); });
      es.addEventListener("error", function () { if (es && es.readyState !== EventSource.OPEN) { setStatus(false); } });
      es.addEventListener("signin", onSignin);
    }
    function pause() {
      if (!es) { return; }
      es.close();
      es = null;
      if (status) { status.textContent = T("console_paused"); status.classList.add("off"); }
    }
    ["keydown", "pointerdown", "scroll", "touchstart"].forEach(function (ev) {
      window.addEventListener(ev, function () {
        lastInput = Date.now();
        if (!es) { connect(); refresh(); }
      }, { passive: true });
    });
    setInterval(function () { if (Date.now() - lastInput > idleAfter) { pause(); } }, 30000);
    connect();
  }

  // --- Copy buttons -----------------------------------------------------
  function copyButtons() {
    document.querySelectorAll("button[data-copy]").forEach(function (b) {
      b.addEventListener("click", function () {
        var input = document.getElementById(b.dataset.copy);
        if (!input) { return; }
        input.select();
        var label = b.textContent;
        var done = function () { b.textContent = T("console_copied"); setTimeout(function () { b.textContent = label; }, 2000); };
        if (navigator.clipboard) {
          navigator.clipboard.writeText(input.value).then(done, function () { document.execCommand("copy"); done(); });
        } else {
          document.execCommand("copy");
          done();
        }
      });
    });
  }

  // --- Confirmations ----------------------------------------------------
  // <form data-confirm="What will be lost" data-confirm-title="Delete …?"
  // data-confirm-action="Delete">: a modal dialog (not the browser's
  // confirm()) that names what will be lost; Cancel has the focus, Escape
  // cancels, and focus returns to the button that asked. Resolves true
  // when confirmed.
  var dialogSeq = 0;
  function confirmDialog(f, opener) {
    return new Promise(function (resolve) {
      var n = ++dialogSeq;
      var d = document.createElement("dialog");
      d.className = "confirm-dialog";
      d.setAttribute("role", "alertdialog");
      d.setAttribute("aria-modal", "true");
      d.setAttribute("aria-labelledby", "confirm-title-" + n);
      d.setAttribute("aria-describedby", "confirm-text-" + n);
      var h = document.createElement("h2");
      h.id = "confirm-title-" + n;
      h.textContent = f.dataset.confirmTitle || T("console_are_you_sure");
      var p = document.createElement("p");
      p.id = "confirm-text-" + n;
      p.textContent = f.dataset.confirm;
      var actions = document.createElement("p");
      actions.className = "dialog-actions";
      var cancel = document.createElement("button");
      cancel.type = "button";
      cancel.className = "confirm-cancel";
      cancel.textContent = T("console_cancel");
      var ok = document.createElement("button");
      ok.type = "button";
      ok.className = "confirm-ok " + (f.dataset.confirmStyle || "danger");
      ok.textContent = f.dataset.confirmAction || (opener && opener.textContent.trim()) || T("console_confirm");
      actions.appendChild(cancel);
      actions.appendChild(ok);
      d.appendChild(h);
      d.appendChild(p);
      d.appendChild(actions);
      document.body.appendChild(d);
      var answered = false;
      function done(yes) {
        if (answered) { return; }
        answered = true;
        if (d.open) { d.close(); }
        d.remove();
        if (opener && opener.focus) { opener.focus(); }
        resolve(yes);
      }
      cancel.addEventListener("click", function () { done(false); });
      ok.addEventListener("click", function () { done(true); });
      d.addEventListener("cancel", function (e) { e.preventDefault(); done(false); });
      d.showModal();
      cancel.focus();
    });
  }

  function confirmations() {
    document.querySelectorAll("form[data-confirm]:not([data-api])").forEach(function (f) {
      f.addEventListener("submit", function (e) {
        if (f.dataset.confirmed === "1") { return; }
        e.preventDefault();
        var opener = e.submitter || f.querySelector("button[type=submit], button:not([type])");
        confirmDialog(f, opener).then(function (yes) {
          if (!yes) { return; }
          f.dataset.confirmed = "1";
          if (f.requestSubmit) { f.requestSubmit(opener || undefined); } else { f.submit(); }
        });
      });
    });
  }

  // --- Redirect URIs, checked as typed (the server checks again) -------
  function uriProblem(raw) {
    var u;
    if (/[*]/.test(raw)) { return T("console_uri_wildcard"); }
    try { u = new URL(raw); } catch (e) { return T("console_uri_absolute"); }
    var scheme = u.protocol.replace(":", "");
    if (scheme === "javascript" || scheme === "data" || scheme === "vbscript") { return T("console_uri_scheme", { scheme: scheme }); }
    if (u.hash || raw.indexOf("#") >= 0) { return T("console_uri_fragment"); }
    var loop = u.hostname === "localhost" || u.hostname === "127.0.0.1" || u.hostname === "[::1]";
    if (scheme === "http" && !loop) { return T("console_uri_https"); }
    return "";
  }

  function uriFields() {
    document.querySelectorAll("textarea[data-validate=uris]").forEach(function (ta) {
      var out = document.getElementById(ta.id + "-error");
      function check() {
        var problems = [];
        ta.value.split(/\s+/).forEach(function (line) {
          if (!line) { return; }
          var p = uriProblem(line);
          if (p) { problems.push(line + ": " + p); }
        });
        ta.setAttribute("aria-invalid", problems.length ? "true" : "false");
        if (out) { out.textContent = problems.join(" "); out.hidden = problems.length === 0; }
      }
      ta.addEventListener("input", check);
      ta.addEventListener("blur", check);
    });
  }

  // --- Step-up: confirm it's you before a destructive action ----------
  // The passkey (/console/stepup/*) or the password again and a security
  // key (/console/stepup/password/*), in a dialog; window.SesameConsole.stepUp
  // resolves once the server recorded it (five minutes). Uses the helpers
  // of webauthn.js (window.SesameWebAuthn), loaded before this file.
  function stepUpModule() {
    if (!window.SesameWebAuthn) { return; }
    var W = window.SesameWebAuthn;
    var requestOptions = W.requestOptions, credentialJSON = W.credentialJSON;

    function csrfToken() {
      var m = document.querySelector('meta[name="csrf-token"]');
      return m ? m.content : "";
    }
    // The console answers problems as RFC 9457 problem details.
    function problemText(data) { return data.detail || data.title; }
    function post(url, body) {
      return W.postJSON(url, body || {}, csrfToken(), problemText);
    }
    function message(err) {
      if (!err) { return T("console_error_generic"); }
      if (err.data) { return err.data.detail || err.data.title; }
      if (err.name === "NotAllowedError") { return T("console_no_passkey"); }
      if (err.name === "AbortError") { return ""; }
      return err.message || T("console_error_generic");
    }

    function get(prefix, extra) {
      return post(prefix + "/options", {}).then(function (opts) {
        return navigator.credentials.get({ publicKey: requestOptions(opts.publicKey) }).then(function (cred) {
          return post(prefix + "/verify", Object.assign({ ceremony: opts.ceremony, credential: credentialJSON(cred) }, extra || {}));
        });
      });
    }
    // Password + security key step-up: the password again, then the key.
    function passwordStepUp(pw) {
      return post("/console/stepup/password/options", { password: pw }).then(function (opts) {
        return navigator.credentials.get({ publicKey: requestOptions(opts.publicKey) }).then(function (cred) {
          return post("/console/stepup/password/verify", { ceremony: opts.ceremony, credential: credentialJSON(cred) });
        });
      });
    }

    // The confirmation dialog: a password field (password + security key)
    // and, when the admin also has a passkey, a button for it. Resolves once
    // the server recorded the step-up; rejects when cancelled.
    function stepUpDialog(methods) {
      return new Promise(function (resolve, reject) {
        var d = document.createElement("dialog");
        d.className = "stepup-dialog";
        d.setAttribute("aria-labelledby", "stepup-title");
        var h = document.createElement("h2");
        h.id = "stepup-title";
        h.textContent = T("console_stepup_title");
        var p = document.createElement("p");
        p.textContent = T("console_stepup_text");
        var form = document.createElement("form");
        form.method = "dialog";
        var label = document.createElement("label");
        label.htmlFor = "stepup-password";
        label.textContent = T("console_password");
        var input = document.createElement("input");
        input.type = "password";
        input.id = "stepup-password";
        input.autocomplete = "current-password";
        input.required = true;
        var err = document.createElement("p");
        err.className = "field-error";
        err.id = "stepup-error";
        err.setAttribute("role", "alert");
        err.hidden = true;
        input.setAttribute("aria-describedby", "stepup-error");
        var actions = document.createElement("p");
        var ok = document.createElement("button");
        ok.type = "submit";
        ok.id = "stepup-password-key";
        ok.className = "primary";
        ok.textContent = T("console_stepup_key");
        var cancel = document.createElement("button");
        cancel.type = "button";
        cancel.textContent = T("console_cancel");
        actions.appendChild(ok);
        actions.appendChild(document.createTextNode(" "));
        if (methods.passkey) {
          var pk = document.createElement("button");
          pk.type = "button";
          pk.id = "stepup-passkey";
          pk.textContent = T("console_stepup_passkey");
          pk.addEventListener("click", function () { finish(get("/console/stepup")); });
          actions.appendChild(pk);
          actions.appendChild(document.createTextNode(" "));
        }
        actions.appendChild(cancel);
        form.appendChild(label);
        form.appendChild(input);
        form.appendChild(err);
        form.appendChild(actions);
        d.appendChild(h);
        d.appendChild(p);
        d.appendChild(form);
        document.body.appendChild(d);
        var settled = false;
        function close() { if (d.open) { d.close(); } d.remove(); }
        function finish(promise) {
          err.hidden = true;
          ok.disabled = true;
          promise.then(function (res) { settled = true; close(); resolve(res); }, function (e) {
            ok.disabled = false;
            var msg = message(e);
            if (e && e.name === "NotAllowedError") { msg = T("console_no_key"); }
            err.textContent = msg || T("console_did_not_work");
            err.hidden = false;
            input.setAttribute("aria-invalid", "true");
            input.focus();
          });
        }
        form.addEventListener("submit", function (e) {
          e.preventDefault();
          if (!input.value) { input.focus(); return; }
          var pw = input.value;
          input.value = "";
          finish(passwordStepUp(pw));
        });
        function abort() {
          if (settled) { return; }
          settled = true;
          close();
          reject(new Error(T("console_not_confirmed")));
        }
        cancel.addEventListener("click", abort);
        d.addEventListener("cancel", function (e) { e.preventDefault(); abort(); });
        d.showModal();
        input.focus();
      });
    }

    // Confirm with whatever this admin has: a user-verified passkey
    // directly; a password + security key (or a choice of both) in a
    // dialog. Resolves when the server has recorded the step-up (valid for
    // five minutes).
    function stepUp() {
      return post("/console/stepup/methods", {}).then(function (m) {
        if (m.password_key) { return stepUpDialog(m); }
        return get("/console/stepup");
      });
    }
    window.SesameConsole = { stepUp: stepUp, csrfToken: csrfToken };
  }
  stepUpModule();

  // --- Destructive actions through the admin API, with step-up ----------
  // <form data-api="/api/admin/v1/…" data-method="DELETE" data-confirm="…"
  // data-done="/console/…">: confirm, call the API with the CSRF header;
  // when it asks for a fresh passkey confirmation, get one
  // (SesameConsole.stepUp, above) and try once more.
  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.content : "";
  }
  function callAPI(f) {
    return fetch(f.dataset.api, {
      method: f.dataset.method || "POST", credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf(), "Accept": "application/json" }
    }).then(function (r) {
      if (r.ok) { return { ok: true }; }
      return r.json().catch(function () { return {}; }).then(function (p) { return { ok: false, problem: p }; });
    });
  }
  // The admin API's problems are English; the ones an action here can meet
  // are said in the page's language, by their type.
  function problemWords(p) {
    var kind = (p.type || "").replace(/^.*\//, "");
    var known = { "last-admin": T("console_problem_last_admin"), "self": T("console_problem_self"),
      "not-found": T("console_problem_not_found"), "forbidden": T("console_problem_forbidden"),
      "internal": T("console_problem_internal"), "unavailable": T("console_problem_unavailable") };
    return Object.prototype.hasOwnProperty.call(known, kind) ? known[kind] : "";
  }
  function apiActions() {
    document.querySelectorAll("form[data-api]").forEach(function (f) {
      var out = f.querySelector(".form-status");
      var button = f.querySelector("button");
      f.addEventListener("submit", function (e) {
        e.preventDefault();
        if (f.dataset.confirm) {
          confirmDialog(f, button).then(function (yes) { if (yes) { send(); } });
          return;
        }
        send();
      });
      function send() {
        if (out) { out.hidden = true; }
        button.disabled = true;
        var fail = function (msg) {
          button.disabled = false;
          if (out) { out.textContent = msg; out.hidden = false; }
        };
        var done = function (res) {
          if (res.ok) { location.assign(f.dataset.done || location.href); return; }
          var p = res.problem || {};
          if (/step-up-required$/.test(p.type || "") && window.SesameConsole && !f.dataset.steppedUp) {
            f.dataset.steppedUp = "1";
            window.SesameConsole.stepUp().then(function () { return callAPI(f); }).then(done, function (err) {
              fail(err && err.name === "NotAllowedError" ? T("console_no_passkey_nothing") :
                ((err && err.message) || T("console_confirm_failed")));
            });
            return;
          }
          fail(problemWords(p) || p.detail || p.title || T("console_failed_nothing"));
        };
        callAPI(f).then(done, function () { fail(T("console_unreachable")); });
      }
    });
  }

  function init() {
    liveDashboard();
    copyButtons();
    confirmations();
    uriFields();
    apiActions();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
