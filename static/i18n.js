// The page scripts' words, in the page's language. The layout puts the
// catalogue's "js.*" messages in <script type="application/json"
// id="messages"> (data, not code, so CSP script-src 'self' holds);
// SesameI18n.t("key", {name: value}) reads one and fills its {name}
// placeholders. Loaded before the other scripts (all are deferred).
(function () {
  "use strict";
  var messages = null;
  function load() {
    if (messages) { return messages; }
    messages = {};
    var el = document.getElementById("messages");
    if (el) {
      try { messages = JSON.parse(el.textContent) || {}; } catch (e) { messages = {}; }
    }
    return messages;
  }
  function t(key, vars) {
    var s = load()[key];
    if (typeof s !== "string") { return key; }
    if (vars) {
      s = s.replace(/\{(\w+)\}/g, function (m, name) {
        return Object.prototype.hasOwnProperty.call(vars, name) ? String(vars[name]) : m;
      });
    }
    return s;
  }
  window.SesameI18n = { t: t };
})();
