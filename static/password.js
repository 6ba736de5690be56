// Sesame's password + security key pages: the two-step sign-in (password,
// then a security key assertion, or the enrolment of a first key), adding
// a security key on the account page, and "show password" switches. No
// dependencies; served from 'self'. Uses the WebAuthn helpers of
// webauthn.js (window.SesameWebAuthn) where the page loads it.
(function () {
  "use strict";
  // T is a message of the page's language (static/i18n.js).
  function T(key, vars) { return window.SesameI18n ? window.SesameI18n.t(key, vars) : key; }

  var page = document.getElementById("page");
  if (!page) { return; }
  var W = window.SesameWebAuthn;
  function $(id) { return document.getElementById(id); }

  // "Show password": <input type="checkbox" data-show="FIELD-ID">.
  Array.prototype.forEach.call(document.querySelectorAll("input[data-show]"), function (box) {
    var field = $(box.dataset.show);
    if (!field) { return; }
    box.addEventListener("change", function () { field.type = box.checked ? "text" : "password"; });
  });

  var statusEl = $("status");
  function showError(msg) {
    if (!statusEl) { return; }
    statusEl.textContent = msg;
    statusEl.hidden = false;
  }
  function clearError() { if (statusEl) { statusEl.hidden = true; statusEl.textContent = ""; } }
  function fieldError(input, el, msg) {
    el.textContent = msg;
    el.hidden = false;
    input.setAttribute("aria-invalid", "true");
    input.focus();
  }
  function clearField(input, el) {
    el.hidden = true;
    el.textContent = "";
    input.removeAttribute("aria-invalid");
  }

  // Words for what the browser says when a key ceremony does not complete.
  function keyMessage(err, creating) {
    if (err && err.data && err.data.message) { return err.data.message; }
    switch (err && err.name) {
      case "NotAllowedError":
        return creating ? T("key_not_created")
                        : T("key_not_used");
      case "InvalidStateError":
        return T("key_exists");
      case "SecurityError":
        return T("key_wrong_site");
      default:
        return (err && err.message) || T("error_generic");
    }
  }

  function initLogin() {
    var form = $("password-form");
    if (!form || !W) { return; }
    var email = $("email"), pw = $("password"), button = $("password-continue");
    var emailErr = $("email-error"), pwErr = $("password-error");
    var keyStep = $("key-step"), keyText = $("key-text"), keyWait = $("key-wait");
    var keyButton = $("key-button"), startOver = $("start-over");
    var interaction = page.dataset.interaction || "";
    // "Forgot password?" takes the address typed so far along.
    var forgot = $("forgot-link");
    if (forgot) {
      var base = forgot.getAttribute("href");
      var carry = function () {
        var addr = email.value.trim();
        forgot.setAttribute("href", addr ? base + (base.indexOf("?") < 0 ? "?" : "&") + "email=" + encodeURIComponent(addr) : base);
      };
      email.addEventListener("input", carry);
      carry();
    }
    if (!W.supported()) {
      button.disabled = true;
      $("no-webauthn").hidden = false;
      return;
    }

    function label(b, text) {
      // Keep the spinner, replace the words.
      var sp = b.querySelector(".spinner");
      b.textContent = "";
      if (sp) { b.appendChild(sp); }
      b.appendChild(document.createTextNode(text));
    }

    function showStep(title, text) {
      form.hidden = true;
      keyStep.hidden = false;
      $("title").textContent = title;
      $("subtitle").hidden = true;
      keyText.textContent = text;
    }

    // A refusal from the server spent the ceremony: start over.
    function failed(err, creating) {
      keyWait.hidden = true;
      W.busy(keyButton, false);
      showError(keyMessage(err, creating));
      if (err && err.data) {
        keyButton.hidden = true;
        startOver.href = location.href;
        startOver.hidden = false;
      } else {
        // The browser gave up (cancelled, timed out, no matching key):
        // the ceremony is still good, the person may try again.
        keyButton.hidden = false;
        keyButton.focus();
      }
    }

    function useKey(opts) {
      clearError();
      keyButton.hidden = true;
      keyWait.hidden = false;
      navigator.credentials.get({ publicKey: W.requestOptions(opts.publicKey) })
        .then(function (cred) {
          return W.post("/login/password/key", { ceremony: opts.ceremony, credential: W.credentialJSON(cred) });
        })
        .then(function (data) { location.assign(data.redirect); })
        .catch(function (err) { failed(err, false); });
    }

    function enrolKey(opts) {
      clearError();
      W.busy(keyButton, true);
      navigator.credentials.create({ publicKey: W.creationOptions(opts.publicKey) })
        .then(function (cred) {
          return W.post("/login/password/enrol", { ceremony: opts.ceremony, credential: W.credentialJSON(cred) });
        })
        .then(function (data) { location.assign(data.redirect); })
        .catch(function (err) { failed(err, true); });
    }

    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      clearError();
      clearField(email, emailErr);
      clearField(pw, pwErr);
      var addr = email.value.trim();
      if (!addr || addr.indexOf("@") < 1) { fieldError(email, emailErr, T("email_missing")); return; }
      if (!pw.value) { fieldError(pw, pwErr, T("password_missing")); return; }
      W.busy(button, true);
      W.post("/login/password", { interaction: interaction, email: addr, password: pw.value })
        .then(function (data) {
          if (data.redirect) { location.assign(data.redirect); return; }
          pw.value = "";
          if (data.step === "key") {
            showStep(T("key_use_title"), T("key_use_text"));
            label(keyButton, T("try_again"));
            keyButton.onclick = function () { useKey(data); };
            useKey(data);
          } else if (data.step === "enrol") {
            showStep(T("key_setup_title"),
              T("key_setup_text"));
            keyWait.hidden = true;
            label(keyButton, T("key_setup_button"));
            keyButton.hidden = false;
            keyButton.onclick = function () { enrolKey(data); };
            keyButton.focus();
          }
        })
        .catch(function (err) {
          W.busy(button, false);
          var code = err && err.data && err.data.error;
          if (code === "wrong_password" || code === "password_missing" || code === "password_too_long") {
            fieldError(pw, pwErr, err.message);
            pw.select();
          } else if (code === "invalid_email") {
            fieldError(email, emailErr, err.message);
          } else {
            showError(err.message);
          }
        });
    });
  }

  function initAccount() {
    var add = $("add-security-key");
    if (!add || !W) { return; }
    if (!W.supported()) { add.disabled = true; return; }
    add.addEventListener("click", function () {
      clearError();
      W.busy(add, true);
      W.post("/account/security-keys/options", {})
        .then(function (opts) {
          return navigator.credentials.create({ publicKey: W.creationOptions(opts.publicKey) })
            .then(function (cred) {
              return W.post("/account/security-keys/verify", { ceremony: opts.ceremony, credential: W.credentialJSON(cred) });
            });
        })
        .then(function (data) { location.assign(data.redirect); })
        .catch(function (err) {
          W.busy(add, false);
          showError(keyMessage(err, true));
        });
    });
  }

  switch (page.dataset.page) {
    case "password-login": initLogin(); break;
    case "account": initAccount(); break;
  }
})();
