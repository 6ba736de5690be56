// The console's sign-in, setup link and step-up ceremonies. Served from
// 'self'; talks JSON to /console/login/*, /console/setup/{token}/* and
// /console/stepup/*. Other console pages can call
// window.SesameConsole.stepUp() before a destructive request. Uses the
// helpers of webauthn.js (window.SesameWebAuthn), loaded before this file.
(function () {
  "use strict";

  var W = window.SesameWebAuthn;
  var requestOptions = W.requestOptions, creationOptions = W.creationOptions, credentialJSON = W.credentialJSON;

  function csrfToken() {
    var page = document.getElementById("page");
    if (page && page.dataset.csrf) { return page.dataset.csrf; }
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.content : "";
  }
  // The console answers problems as RFC 9457 problem details.
  function problemText(data) { return data.detail || data.title; }
  function post(url, body) {
    return W.postJSON(url, body || {}, csrfToken(), problemText);
  }
  function message(err, creating) {
    if (!err) { return "Something went wrong. Please try again."; }
    if (err.data) { return err.data.detail || err.data.title; }
    if (err.name === "NotAllowedError") {
      return creating ? "No passkey was created. Try again when you're ready." : "No passkey was used. Try again.";
    }
    if (err.name === "InvalidStateError") { return "This device already has a passkey for this account."; }
    if (err.name === "AbortError") { return ""; }
    return err.message || "Something went wrong. Please try again.";
  }

  function get(prefix, extra) {
    return post(prefix + "/options", {}).then(function (opts) {
      return navigator.credentials.get({ publicKey: requestOptions(opts.publicKey) }).then(function (cred) {
        return post(prefix + "/verify", Object.assign({ ceremony: opts.ceremony, credential: credentialJSON(cred) }, extra || {}));
      });
    });
  }
  function create(prefix) {
    return post(prefix + "/options", {}).then(function (opts) {
      return navigator.credentials.create({ publicKey: creationOptions(opts.publicKey) }).then(function (cred) {
        return post(prefix + "/verify", { ceremony: opts.ceremony, credential: credentialJSON(cred) });
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
      h.textContent = "Confirm it's you";
      var p = document.createElement("p");
      p.textContent = "Type your password, then use your security key.";
      var form = document.createElement("form");
      form.method = "dialog";
      var label = document.createElement("label");
      label.htmlFor = "stepup-password";
      label.textContent = "Password";
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
      ok.textContent = "Confirm with security key";
      var cancel = document.createElement("button");
      cancel.type = "button";
      cancel.textContent = "Cancel";
      actions.appendChild(ok);
      actions.appendChild(document.createTextNode(" "));
      if (methods.passkey) {
        var pk = document.createElement("button");
        pk.type = "button";
        pk.id = "stepup-passkey";
        pk.textContent = "Use my passkey instead";
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
          var msg = message(e, false);
          if (e && e.name === "NotAllowedError") { msg = "No security key or passkey was used. Try again."; }
          err.textContent = msg || "That did not work. Try again.";
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
        reject(new Error("Not confirmed, so nothing was changed."));
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

  var page = document.getElementById("page");
  if (!page) { return; }
  var button = document.getElementById("console-action");
  var status = document.getElementById("status");
  if (!button) { return; }
  if (!window.PublicKeyCredential || !navigator.credentials) {
    button.disabled = true;
    document.getElementById("no-webauthn").hidden = false;
    return;
  }
  function run(p, creating) {
    status.hidden = true;
    button.disabled = true;
    var sp = button.querySelector(".spinner");
    if (sp) { sp.hidden = false; }
    p.then(function (data) { location.assign(data.redirect || "/console"); })
      .catch(function (err) {
        button.disabled = false;
        if (sp) { sp.hidden = true; }
        var msg = message(err, creating);
        if (msg) { status.textContent = msg; status.hidden = false; }
      });
  }
  button.addEventListener("click", function () {
    switch (page.dataset.page) {
      case "console-login":
        run(get("/console/login", { "return": page.dataset["return"] || "/console" }), false);
        break;
      case "console-setup":
        run(create("/console/setup/" + encodeURIComponent(page.dataset.token)), true);
        break;
    }
  });
})();
