// Upload page: send the form with XMLHttpRequest to show a progress bar, then show the server's answer
// (the same page a plain form post gets). Without this script the form posts as usual.
(function () {
  "use strict";
  var form = document.querySelector("[data-upload-form]");
  if (!form || !window.FormData || !window.XMLHttpRequest || !window.DOMParser) return;
  var box = form.querySelector("[data-upload-progress]");
  var bar = box.querySelector("progress");
  var label = box.querySelector("[role=status]");
  var button = form.querySelector("button[type=submit]");
  var input = form.querySelector("input[type=file]");
  var limit = Number(form.dataset.limit || 0);

  function show(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var main = doc.querySelector("main");
    if (!main) throw new Error("no page");
    document.querySelector("main").replaceWith(main);
    document.title = doc.title;
    var again = document.querySelector("script[src$='upload.js']");
    if (again) {
      var s = document.createElement("script");
      s.src = again.src;
      document.body.appendChild(s); // the new form gets its progress bar too
      again.remove();
    }
    var focus = main.querySelector("[data-upload-result], [data-upload-error]") || main;
    if (!focus.hasAttribute("tabindex")) focus.setAttribute("tabindex", "-1");
    focus.focus();
  }

  function fail(message) {
    box.hidden = true;
    button.disabled = false;
    var old = form.parentNode.querySelector("[data-upload-error]");
    if (old) old.remove();
    var p = document.createElement("div");
    p.className = "notice notice--error";
    p.setAttribute("role", "alert");
    p.setAttribute("data-upload-error", "");
    p.textContent = message;
    form.parentNode.insertBefore(p, form);
  }

  form.addEventListener("submit", function (event) {
    var file = input.files && input.files[0];
    if (!file) return; // the browser says a file is required
    event.preventDefault();
    if (limit && file.size > limit) {
      fail(form.dataset.tooLarge);
      return;
    }
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    var token = form.querySelector("input[name=csrf_token]");
    if (token && token.value) xhr.setRequestHeader("X-CSRF-Token", token.value);
    box.hidden = false;
    bar.value = 0;
    label.textContent = form.dataset.sending.replace("{pct}", "0");
    button.disabled = true;
    xhr.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable) return;
      var pct = Math.round((e.loaded / e.total) * 100);
      bar.value = pct;
      label.textContent = form.dataset.sending.replace("{pct}", String(pct));
    });
    xhr.upload.addEventListener("load", function () {
      bar.removeAttribute("value"); // indeterminate while the server checks the rows
      label.textContent = form.dataset.checking;
    });
    xhr.addEventListener("load", function () {
      try {
        show(xhr.responseText);
      } catch (err) {
        fail(form.dataset.failed);
      }
    });
    xhr.addEventListener("error", function () { fail(form.dataset.failed); });
    xhr.send(new FormData(form));
  });
})();
