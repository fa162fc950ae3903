// Behaviour every page shares, kept out of the HTML so the Content-Security-Policy can forbid inline script:
// a <select data-autosubmit> submits its form when the choice changes (the <noscript> button does it without JS).
(function () {
  var selects = document.querySelectorAll("select[data-autosubmit]");
  for (var i = 0; i < selects.length; i++) {
    selects[i].addEventListener("change", function (e) { e.target.form.submit(); });
  }
})();
