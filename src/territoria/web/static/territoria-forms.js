// Small helps of the forms, which all work without them: copy buttons for secrets shown once (an
// invitation link, a token), and choosing a dataset in a list reloads its fields at once.
(function () {
  "use strict";
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) return;
    button.hidden = false;
    var label = button.textContent;
    button.addEventListener("click", function () {
      field.select();
      var done = function () {
        button.textContent = button.getAttribute("data-copied") || label;
        window.setTimeout(function () { button.textContent = label; }, 2500);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(done, function () { document.execCommand("copy"); done(); });
      } else {
        document.execCommand("copy");
        done();
      }
    });
  });
  document.querySelectorAll("input.secret-value").forEach(function (field) {
    field.addEventListener("focus", function () { field.select(); });
  });
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () {
      if (select.value && select.form) select.form.submit();
    });
  });
})();
