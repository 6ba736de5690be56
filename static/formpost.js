// Submits the OAuth form_post response automatically. The button in the
// form stays as the fallback when scripts are off.
document.addEventListener("DOMContentLoaded", function () {
  var f = document.getElementById("form_post");
  if (f) { f.submit(); }
});
