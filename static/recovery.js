// Sesame's recovery codes page: "Copy codes" puts the codes on the
// clipboard (the button shows only where the Clipboard API exists; the
// download link works without script). Served from 'self' (CSP: no
// inline script).
(function () {
  "use strict";
  function T(key) { return window.SesameI18n ? window.SesameI18n.t(key) : key; }
  var btn = document.getElementById("copy-codes");
  var status = document.getElementById("copy-status");
  if (!btn || !navigator.clipboard || !navigator.clipboard.writeText) { return; }
  btn.hidden = false;
  btn.addEventListener("click", function () {
    navigator.clipboard.writeText(btn.dataset.codes).then(function () {
      status.textContent = T("codes_copied");
    }, function () {
      status.textContent = T("codes_copy_failed");
    });
  });
})();
