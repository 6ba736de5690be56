// Sesame's recovery codes page: "Copy codes" puts the codes on the
// clipboard (the button shows only where the Clipboard API exists; the
// download link works without script). Served from 'self' (CSP: no
// inline script).
(function () {
  "use strict";
  var btn = document.getElementById("copy-codes");
  var status = document.getElementById("copy-status");
  if (!btn || !navigator.clipboard || !navigator.clipboard.writeText) { return; }
  btn.hidden = false;
  btn.addEventListener("click", function () {
    navigator.clipboard.writeText(btn.dataset.codes).then(function () {
      status.textContent = "Copied. Paste them somewhere safe.";
    }, function () {
      status.textContent = "Copying didn't work here. Use Download, or write the codes down.";
    });
  });
})();
