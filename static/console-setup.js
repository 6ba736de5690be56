// The first-admin setup link's page (templates/hosted/admin_setup.html): create
// a passkey through /console/setup/{token}/options and /verify, then go
// to the console. Served from 'self'; uses the helpers of webauthn.js
// (window.SesameWebAuthn), loaded before this file.
(function () {
  "use strict";
  function T(key) { return window.SesameI18n ? window.SesameI18n.t(key) : key; }

  var W = window.SesameWebAuthn;
  var page = document.getElementById("page");
  var button = document.getElementById("console-action");
  var status = document.getElementById("status");
  if (!W || !page || !button) { return; }
  if (!window.PublicKeyCredential || !navigator.credentials) {
    button.disabled = true;
    document.getElementById("no-webauthn").hidden = false;
    return;
  }
  // The console answers problems as RFC 9457 problem details.
  function post(url, body) {
    return W.postJSON(url, body, page.dataset.csrf || "", function (data) { return data.detail || data.title; });
  }
  function message(err) {
    if (!err) { return T("error_generic"); }
    if (err.data) { return err.data.detail || err.data.title; }
    if (err.name === "NotAllowedError") { return T("passkey_not_created"); }
    if (err.name === "InvalidStateError") { return T("passkey_exists_this"); }
    if (err.name === "AbortError") { return ""; }
    return err.message || T("error_generic");
  }
  function create(prefix) {
    return post(prefix + "/options", {}).then(function (opts) {
      return navigator.credentials.create({ publicKey: W.creationOptions(opts.publicKey) }).then(function (cred) {
        return post(prefix + "/verify", { ceremony: opts.ceremony, credential: W.credentialJSON(cred) });
      });
    });
  }
  button.addEventListener("click", function () {
    status.hidden = true;
    button.disabled = true;
    var sp = button.querySelector(".spinner");
    if (sp) { sp.hidden = false; }
    create("/console/setup/" + encodeURIComponent(page.dataset.token))
      .then(function (data) { location.assign(data.redirect || "/console"); })
      .catch(function (err) {
        button.disabled = false;
        if (sp) { sp.hidden = true; }
        var msg = message(err);
        if (msg) { status.textContent = msg; status.hidden = false; }
      });
  });
})();
