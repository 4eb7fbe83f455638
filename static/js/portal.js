// Progressive enhancement only: every form works without this file.
(function () {
  "use strict";

  document.addEventListener("change", function (event) {
    if (event.target.matches("select[data-autosubmit]")) event.target.form.submit();
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.getAttribute("data-confirm"))) event.preventDefault();
  });

  // Upload progress: send forms that carry files with XMLHttpRequest so the bar can move.
  function hasFiles(form) {
    return Array.prototype.some.call(form.querySelectorAll("input[type=file]"), function (input) {
      return input.files && input.files.length > 0;
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("form[data-upload-progress]") || !hasFiles(form) || !window.FormData) return;
    event.preventDefault();
    var box = form.querySelector(".progress");
    var bar = box.querySelector("progress");
    var label = box.querySelector(".progress-label");
    var submit = form.querySelector("button[type=submit]");
    box.hidden = false;
    submit.disabled = true;
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action || window.location.href);
    xhr.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable) return;
      var percent = Math.round((e.loaded / e.total) * 100);
      bar.value = percent;
      label.textContent = percent + " %";
    });
    xhr.addEventListener("load", function () {
      if (xhr.responseURL && xhr.responseURL.split("#")[0] !== (form.action || window.location.href).split("#")[0]) {
        window.location.assign(xhr.responseURL);
        return;
      }
      document.open();
      document.write(xhr.responseText);
      document.close();
    });
    xhr.addEventListener("error", function () {
      submit.disabled = false;
      label.textContent = form.getAttribute("data-error-text") || "Upload failed";
    });
    xhr.send(new FormData(form));
  });
})();
