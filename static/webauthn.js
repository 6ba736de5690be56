// Sesame's passkey pages: sign in (button, username-first, autofill),
// sign up and account management. No dependencies; served from 'self'.
// Uses PublicKeyCredential.parse*OptionsFromJSON / toJSON where the browser
// has them and a small base64url fallback where it does not.
//
// window.SesameWebAuthn carries the WebAuthn and JSON helpers that
// password.js, passlink.js, console.js and console-setup.js (each loaded after this
// file) share; it is set on every page, with or without #page.
(function () {
  "use strict";
  // T is a message of the page's language (static/i18n.js).
  function T(key, vars) { return window.SesameI18n ? window.SesameI18n.t(key, vars) : key; }

  // --- base64url helpers (fallback path) ---
  function b64urlToBuf(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) { s += "="; }
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
    return out.buffer;
  }
  function bufToB64url(buf) {
    var bytes = new Uint8Array(buf), bin = "";
    for (var i = 0; i < bytes.length; i++) { bin += String.fromCharCode(bytes[i]); }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function creationOptions(json) {
    if (window.PublicKeyCredential && PublicKeyCredential.parseCreationOptionsFromJSON) {
      return PublicKeyCredential.parseCreationOptionsFromJSON(json);
    }
    var o = Object.assign({}, json);
    o.challenge = b64urlToBuf(json.challenge);
    o.user = Object.assign({}, json.user, { id: b64urlToBuf(json.user.id) });
    o.excludeCredentials = (json.excludeCredentials || []).map(function (c) {
      return Object.assign({}, c, { id: b64urlToBuf(c.id) });
    });
    return o;
  }
  function requestOptions(json) {
    if (window.PublicKeyCredential && PublicKeyCredential.parseRequestOptionsFromJSON) {
      return PublicKeyCredential.parseRequestOptionsFromJSON(json);
    }
    var o = Object.assign({}, json);
    o.challenge = b64urlToBuf(json.challenge);
    o.allowCredentials = (json.allowCredentials || []).map(function (c) {
      return Object.assign({}, c, { id: b64urlToBuf(c.id) });
    });
    return o;
  }
  function credentialJSON(cred) {
    if (typeof cred.toJSON === "function") {
      try { return cred.toJSON(); } catch (e) { /* fall through */ }
    }
    var r = cred.response, out = {
      id: cred.id, rawId: bufToB64url(cred.rawId), type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: { clientDataJSON: bufToB64url(r.clientDataJSON) }
    };
    if (r.attestationObject) {
      out.response.attestationObject = bufToB64url(r.attestationObject);
      if (r.getTransports) { out.response.transports = r.getTransports(); }
    } else {
      out.response.authenticatorData = bufToB64url(r.authenticatorData);
      out.response.signature = bufToB64url(r.signature);
      if (r.userHandle) { out.response.userHandle = bufToB64url(r.userHandle); }
    }
    return out;
  }

  function busy(button, on) {
    if (!button) { return; }
    button.disabled = on;
    button.setAttribute("aria-busy", on ? "true" : "false");
    var sp = button.querySelector(".spinner");
    if (sp) { sp.hidden = !on; }
  }

  function supported() {
    return !!(window.PublicKeyCredential && navigator.credentials && navigator.credentials.get);
  }

  // POSTs body as JSON with the CSRF token and resolves with the JSON
  // answer. An answer that is not 2xx rejects with an Error whose data is
  // the answer and whose message is messageOf(data) (default: data.message).
  function postJSON(url, body, token, messageOf) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": token || "" },
      body: JSON.stringify(body)
    }).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (data) {
        if (!resp.ok) {
          var err = new Error((messageOf ? messageOf(data) : data.message) || T("error_generic"));
          err.data = data;
          throw err;
        }
        return data;
      });
    });
  }

  var page = document.getElementById("page");
  var csrf = page ? page.dataset.csrf || "" : "";
  function post(url, body) { return postJSON(url, body, csrf); }

  window.SesameWebAuthn = {
    creationOptions: creationOptions, requestOptions: requestOptions, credentialJSON: credentialJSON,
    post: post, postJSON: postJSON, busy: busy, supported: supported
  };

  if (!page) { return; }
  var interaction = page.dataset.interaction || "";
  var rpId = page.dataset.rpId || location.hostname;

  // --- UI helpers ---
  var statusEl = document.getElementById("status");
  function showError(msg) {
    if (!statusEl) { alert(msg); return; }
    statusEl.textContent = msg;
    statusEl.hidden = false;
  }
  function clearError() { if (statusEl) { statusEl.hidden = true; statusEl.textContent = ""; } }

  // Words for what the browser says when a ceremony does not complete.
  function ceremonyMessage(err, creating) {
    if (!err) { return T("error_generic"); }
    if (err.data && err.data.message) { return err.data.message; }
    switch (err.name) {
      case "NotAllowedError":
        return creating ? T("passkey_not_created")
                        : T("passkey_not_used");
      case "InvalidStateError":
        return T("passkey_exists");
      case "SecurityError":
        return T("passkey_wrong_site");
      case "AbortError":
        return "";
      default:
        return err.message || T("error_generic");
    }
  }

  // Tell the passkey manager to forget a credential the server does not
  // know (deleted account or passkey), where the browser supports it.
  function signalUnknown(data) {
    if (data && data.unknownCredentialId && window.PublicKeyCredential &&
        PublicKeyCredential.signalUnknownCredential) {
      PublicKeyCredential.signalUnknownCredential({ rpId: data.rpId || rpId, credentialId: data.unknownCredentialId })
        .catch(function () {});
    }
  }


  // --- sign in ---
  var conditional = null; // AbortController of the autofill request

  // After a sign-in, tell the passkey manager which of this account's
  // credentials the server still accepts (a passkey deleted elsewhere
  // disappears from the list), where the browser supports it.
  function signalAccepted(s) {
    if (s && window.PublicKeyCredential && PublicKeyCredential.signalAllAcceptedCredentials) {
      PublicKeyCredential.signalAllAcceptedCredentials({ rpId: s.rpId || rpId, userId: s.userId, allAcceptedCredentialIds: s.allAcceptedCredentialIds || [] })
        .catch(function () {});
    }
  }

  function finishLogin(ceremony, cred) {
    return post("/webauthn/login/verify", { ceremony: ceremony, credential: credentialJSON(cred) })
      .then(function (data) { signalAccepted(data.signal); location.assign(data.redirect); });
  }

  function login(email, button, noAutofill) {
    clearError();
    if (conditional) { conditional.abort(); conditional = null; }
    busy(button, true);
    return post("/webauthn/login/options", { interaction: interaction, email: email || "" })
      .then(function (opts) {
        // Home-realm discovery: the address's domain signs in elsewhere.
        if (opts.redirect) { location.assign(opts.redirect); return null; }
        return navigator.credentials.get({ publicKey: requestOptions(opts.publicKey) })
          .then(function (cred) { return finishLogin(opts.ceremony, cred); });
      })
      .catch(function (err) {
        busy(button, false);
        if (err && err.data) { signalUnknown(err.data); }
        var msg = ceremonyMessage(err, false);
        if (msg) { showError(msg); }
        if (!noAutofill) { startConditional(); }
      });
  }

  // The page's own discoverable ceremony (data-ceremony) serves the first
  // autofill without a request; a later one (after the button, or a
  // refusal) asks for fresh options, as a ceremony is single use.
  var pageCeremony = null;
  if (page.dataset.ceremony) {
    try {
      pageCeremony = { ceremony: page.dataset.ceremony, publicKey: JSON.parse(page.dataset.ceremonyOptions) };
    } catch (e) { pageCeremony = null; }
  }
  function autofillOptions() {
    var own = pageCeremony;
    pageCeremony = null;
    if (own) { return Promise.resolve(own); }
    return post("/webauthn/login/options", { interaction: interaction });
  }

  // Autofill (conditional mediation): started on page load, it offers
  // passkeys in the email field's suggestions without a modal dialog.
  function startConditional() {
    if (!window.PublicKeyCredential || !PublicKeyCredential.isConditionalMediationAvailable) { return; }
    PublicKeyCredential.isConditionalMediationAvailable().then(function (ok) {
      if (!ok || conditional) { return; }
      var ctrl = new AbortController();
      conditional = ctrl;
      page.dataset.conditional = "pending";
      return autofillOptions()
        .then(function (opts) {
          if (ctrl.signal.aborted) { return; }
          page.dataset.conditional = "started";
          return navigator.credentials.get({
            publicKey: requestOptions(opts.publicKey), mediation: "conditional", signal: ctrl.signal
          }).then(function (cred) {
            conditional = null;
            page.dataset.conditional = "used";
            return finishLogin(opts.ceremony, cred);
          });
        })
        .catch(function (err) {
          if (conditional === ctrl) { conditional = null; }
          if (ctrl.signal.aborted || (err && err.name === "AbortError")) {
            page.dataset.conditional = "aborted";
            return;
          }
          page.dataset.conditional = "failed";
          // The person did not start this request, so a browser-side
          // refusal stays silent; only what the server said is shown.
          if (err && err.data) {
            signalUnknown(err.data);
            showError(ceremonyMessage(err, false));
          }
        });
    }).catch(function () {});
  }

  // Step-up (an app asks for a passkey level the signed-in account has
  // not reached): the button asks for the account's qualifying passkeys
  // (the server knows whose), or a new passkey is added and signs in.
  function initStepUp() {
    var button = document.getElementById("passkey-button");
    var enrol = document.getElementById("enrol-button");
    if (!supported()) {
      if (button) { button.disabled = true; }
      if (enrol) { enrol.disabled = true; }
      document.getElementById("no-webauthn").hidden = false;
      return;
    }
    if (button) { button.addEventListener("click", function () { login("", button, true); }); }
    if (enrol) { enrol.addEventListener("click", function () { register({ interaction: interaction }, enrol); }); }
  }

  function initLogin() {
    if (page.dataset.stepup) { initStepUp(); return; }
    var button = document.getElementById("passkey-button");
    var form = document.getElementById("email-form");
    if (!button) { return; }
    if (!supported()) {
      button.disabled = true;
      var nw = document.getElementById("no-webauthn");
      if (nw) { nw.hidden = false; }
      return;
    }
    button.addEventListener("click", function () { login("", button); });
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var input = document.getElementById("email");
      var errEl = document.getElementById("email-error");
      var email = input.value.trim();
      if (!email || email.indexOf("@") < 1) {
        errEl.textContent = T("email_or_passkey");
        errEl.hidden = false;
        input.setAttribute("aria-invalid", "true");
        input.focus();
        return;
      }
      errEl.hidden = true;
      input.removeAttribute("aria-invalid");
      login(email, document.getElementById("continue-button"));
    });
    startConditional();
  }

  // --- registration (sign-up and account) ---
  function register(body, button) {
    clearError();
    busy(button, true);
    return post("/webauthn/register/options", body)
      .then(function (opts) {
        return navigator.credentials.create({ publicKey: creationOptions(opts.publicKey) })
          .then(function (cred) {
            return post("/webauthn/register/verify", { ceremony: opts.ceremony, credential: credentialJSON(cred) });
          });
      })
      .then(function (data) { location.assign(data.redirect); })
      .catch(function (err) {
        busy(button, false);
        var msg = ceremonyMessage(err, true);
        if (msg) { showError(msg); }
      });
  }

  function initSignup() {
    var form = document.getElementById("signup-form");
    if (!form) { return; }
    var button = document.getElementById("signup-button");
    if (!supported()) {
      button.disabled = true;
      document.getElementById("no-webauthn").hidden = false;
      return;
    }
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var email = document.getElementById("email").value.trim();
      var name = document.getElementById("name").value.trim();
      if (!email || email.indexOf("@") < 1) { showError(T("email_invalid")); document.getElementById("email").focus(); return; }
      if (!name) { showError(T("name_missing")); document.getElementById("name").focus(); return; }
      register({ interaction: interaction, email: email, name: name }, button);
    });
  }

  function initAccount() {
    var add = document.getElementById("add-passkey");
    if (add) {
      if (!supported()) { add.disabled = true; }
      add.addEventListener("click", function () { register({}, add); });
    }
    var userId = page.dataset.userId, done = page.dataset.done;
    if (!window.PublicKeyCredential || !userId) { return; }
    // Keep the passkey manager in step with the server after changes.
    if (done === "passkey_deleted" && PublicKeyCredential.signalAllAcceptedCredentials) {
      var ids = [];
      try { ids = JSON.parse(page.dataset.accepted || "[]"); } catch (e) { ids = []; }
      PublicKeyCredential.signalAllAcceptedCredentials({ rpId: rpId, userId: userId, allAcceptedCredentialIds: ids })
        .catch(function () {});
    }
    if (done === "name" && PublicKeyCredential.signalCurrentUserDetails) {
      PublicKeyCredential.signalCurrentUserDetails({
        rpId: rpId, userId: userId, name: page.dataset.userName, displayName: page.dataset.displayName
      }).catch(function () {});
    }
  }

  switch (page.dataset.page) {
    case "login": initLogin(); break;
    case "signup": initSignup(); break;
    case "account": initAccount(); break;
  }
})();
