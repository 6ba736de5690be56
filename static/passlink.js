// Sesame's passlink pages: the login page's "Email me a sign-in link"
// carries the typed address along; the requesting tab waits for the link
// to be used (polling /passlink/status) and takes an approval given on
// another device; the link's forms refuse a second submit; the passkey
// offer after a passlink sign-in registers a passkey and continues.
// Uses the helpers of webauthn.js (window.SesameWebAuthn), which the
// pages load first; served from 'self' (CSP: no inline script).
(function () {
  "use strict";
  // T is a message of the page's language (static/i18n.js).
  function T(key, vars) { return window.SesameI18n ? window.SesameI18n.t(key, vars) : key; }

  var page = document.getElementById("page");
  if (!page) { return; }

  // The JSON and WebAuthn helpers of webauthn.js, loaded before this file.
  var W = window.SesameWebAuthn;
  var post = W.postJSON, busy = W.busy;

  // --- login page: take the typed address along ---
  function initLoginLink() {
    var link = document.getElementById("passlink-link");
    var email = document.getElementById("email");
    if (!link || !email) { return; }
    link.addEventListener("click", function () {
      var v = email.value.trim();
      if (!v || v.length > 254) { return; }
      var u = new URL(link.getAttribute("href"), location.href);
      u.searchParams.set("email", v);
      link.setAttribute("href", u.pathname + u.search);
    });
  }

  // --- forms that use the link: one submit only (double clicks) ---
  function guardForms() {
    var forms = document.querySelectorAll("form.passlink-form");
    Array.prototype.forEach.call(forms, function (form) {
      form.addEventListener("submit", function (ev) {
        if (form.dataset.sent) { ev.preventDefault(); return; }
        form.dataset.sent = "1";
        var btn = ev.submitter;
        if (btn) {
          btn.setAttribute("aria-busy", "true");
          var sp = btn.querySelector(".spinner");
          if (sp) { sp.hidden = false; }
        }
        // Disabled only after the browser has built the form data: a
        // disabled submit button would not send its name and value.
        setTimeout(function () {
          Array.prototype.forEach.call(form.querySelectorAll("button"), function (b) { b.disabled = true; });
        }, 0);
      });
    });
    // Back from the next page (bfcache): make the form usable again.
    window.addEventListener("pageshow", function (ev) {
      if (!ev.persisted) { return; }
      Array.prototype.forEach.call(forms, function (form) {
        delete form.dataset.sent;
        Array.prototype.forEach.call(form.querySelectorAll("button"), function (b) {
          b.disabled = false;
          b.removeAttribute("aria-busy");
          var sp = b.querySelector(".spinner");
          if (sp) { sp.hidden = true; }
        });
      });
    });
  }

  // --- "check your inbox": wait for the link ---
  var POLL_MS = 2000;

  function initSent() {
    var id = page.dataset.request, csrf = page.dataset.csrf;
    var expires = parseInt(page.dataset.expires, 10) || 0;
    var status = document.getElementById("passlink-status");
    var text = document.getElementById("passlink-status-text");
    var errEl = document.getElementById("passlink-error");
    var again = document.getElementById("passlink-again");
    var timer = null, stopped = false;

    function finish(state, msg, problem) {
      stopped = true;
      clearTimeout(timer);
      page.dataset.state = state;
      var sp = status.querySelector(".spinner");
      if (sp) { sp.hidden = true; }
      if (problem) {
        status.hidden = true;
        errEl.textContent = msg;
        errEl.hidden = false;
        again.hidden = false;
      } else {
        text.textContent = msg;
      }
    }
    function schedule() {
      if (!stopped) { timer = setTimeout(poll, POLL_MS); }
    }
    function complete() {
      text.textContent = T("passlink_approved");
      post("/passlink/complete", { request: id }, csrf)
        .then(function (data) {
          stopped = true;
          page.dataset.state = "completing";
          location.assign(data.redirect);
        })
        .catch(function (err) { finish("failed", err.message, true); });
    }
    function poll() {
      if (stopped) { return; }
      if (expires && Date.now() > expires + 5000) {
        finish("expired", T("passlink_expired"), true);
        return;
      }
      fetch("/passlink/status/" + encodeURIComponent(id), { credentials: "same-origin", cache: "no-store" })
        .then(function (resp) { return resp.ok ? resp.json() : { state: "pending" }; })
        .then(function (data) {
          switch (data.state) {
            case "approved":
              stopped = true;
              complete();
              return;
            case "signed_in":
              finish(data.state, T("passlink_used_here"), false);
              return;
            case "completed":
              finish(data.state, T("passlink_done_elsewhere"), false);
              return;
            case "denied":
              finish(data.state, T("passlink_denied"), true);
              return;
            case "locked":
              finish(data.state, T("passlink_locked"), true);
              return;
            case "expired":
              finish(data.state, T("passlink_expired"), true);
              return;
          }
          page.dataset.state = "pending";
          schedule();
        })
        .catch(schedule); // offline for a moment: keep waiting
    }
    page.dataset.state = "pending";
    schedule();
  }

  // --- the passkey offer after a passlink sign-in ---
  function initPasskeyOffer() {
    var add = document.getElementById("add-passkey");
    var statusEl = document.getElementById("status");
    var next = page.dataset.next || "/account", csrf = page.dataset.csrf;
    if (!add) { return; }
    if (!(window.PublicKeyCredential && navigator.credentials && navigator.credentials.create)) {
      add.disabled = true;
      document.getElementById("no-webauthn").hidden = false;
      return;
    }
    add.addEventListener("click", function () {
      statusEl.hidden = true;
      busy(add, true);
      post("/webauthn/register/options", {}, csrf)
        .then(function (opts) {
          return navigator.credentials.create({ publicKey: W.creationOptions(opts.publicKey) })
            .then(function (cred) {
              return post("/webauthn/register/verify", { ceremony: opts.ceremony, credential: W.credentialJSON(cred) }, csrf);
            });
        })
        .then(function () {
          page.dataset.state = "added";
          location.assign(next);
        })
        .catch(function (err) {
          busy(add, false);
          var msg = err && err.data && err.data.message;
          if (!msg && err && err.name === "NotAllowedError") { msg = T("passkey_not_created_later"); }
          if (!msg && err && err.name === "InvalidStateError") { msg = T("passkey_exists_account"); }
          if (!msg && err && err.name === "AbortError") { return; }
          statusEl.textContent = msg || T("error_generic_later");
          statusEl.hidden = false;
        });
    });
  }

  switch (page.dataset.page) {
    case "login": initLoginLink(); break;
    case "passlink-request": guardForms(); break;
    case "passlink-sent": initSent(); break;
    case "passlink-confirm": guardForms(); break;
    case "passlink-passkey": initPasskeyOffer(); break;
  }
})();
