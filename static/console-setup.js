// The first-admin setup link's page (templates/hosted/admin_setup.html): create
// a passkey through /console/setup/{token}/options and /verify, then go
// to the console. Served from 'self'; uses the helpers of webauthn.js
// (window.SesameWebAuthn), loaded before this file.
(function () {
  "use strict";

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
    if (!err) { return "Something went wrong. Please try again."; }
    if (err.data) { return err.data.detail || err.data.title; }
    if (err.name === "NotAllowedError") { return "No passkey was created. Try again when you're ready."; }
    if (err.name === "InvalidStateError") { return "This device already has a passkey for this account."; }
    if (err.name === "AbortError") { return ""; }
    return err.message || "Something went wrong. Please try again.";
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
