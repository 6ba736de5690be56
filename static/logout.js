// Front-Channel Logout 1.0: loads each app's logout page (data-src) in its
// hidden iframe, and once all have loaded (or after 5 seconds, for an app
// that never answers) returns to the app that asked, when one did. The
// listeners are attached before any src is set, so no load is missed.
// Without scripts the <noscript> copies of the iframes load instead and
// the Continue link stays for the person to press.
document.addEventListener("DOMContentLoaded", function () {
  var frames = Array.prototype.slice.call(document.querySelectorAll("iframe[data-src]"));
  var next = document.getElementById("logout-continue");
  var status = document.getElementById("logout-status");
  var left = frames.length;
  var done = false;
  function finish() {
    if (done) { return; }
    done = true;
    document.documentElement.dataset.frontchannel = "done";
    if (next) {
      window.location.replace(next.href);
    } else if (status) {
      status.textContent = status.dataset.done;
    }
  }
  frames.forEach(function (f) {
    f.addEventListener("load", function () {
      left -= 1;
      if (left <= 0) { finish(); }
    });
    f.src = f.dataset.src;
  });
  if (left === 0) { finish(); }
  setTimeout(finish, 5000);
});
