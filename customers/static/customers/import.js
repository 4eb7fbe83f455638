// The Databank import in the admin: progress of the upload, then of the import on the server.
// Progressive enhancement: without this file the form posts as usual and the status page
// refreshes itself.
(function () {
  "use strict";

  function formatted(text, done, total) {
    var number = function (n) { return Number(n).toLocaleString(document.documentElement.lang || undefined); };
    return text.replace("__DONE__", number(done)).replace("__TOTAL__", number(total));
  }

  // The upload: XMLHttpRequest, so that the bar follows the bytes sent.
  var form = document.querySelector("form[data-import-upload]");
  if (form && window.FormData) {
    form.addEventListener("submit", function (event) {
      var input = form.querySelector("input[type=file]");
      if (!input || !input.files || !input.files.length) return;
      event.preventDefault();
      var box = form.querySelector(".import-progress");
      var bar = box.querySelector("progress");
      var label = box.querySelector(".import-progress-label");
      var submit = form.querySelector("[type=submit]");
      box.hidden = false;
      submit.disabled = true;
      bar.value = 0;
      label.textContent = form.getAttribute("data-sending-text");
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action || window.location.href);
      xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
      xhr.upload.addEventListener("progress", function (e) {
        if (!e.lengthComputable) return;
        bar.value = Math.round((e.loaded / e.total) * 100);
        label.textContent = bar.value + " %";
      });
      xhr.upload.addEventListener("load", function () {
        bar.removeAttribute("value"); // indeterminate while the server takes the file in
        label.textContent = form.getAttribute("data-importing-text");
      });
      xhr.addEventListener("load", function () {
        var type = xhr.getResponseHeader("Content-Type") || "";
        if (type.indexOf("application/json") === 0) {
          window.location.assign(JSON.parse(xhr.responseText).redirect);
          return;
        }
        document.open();
        document.write(xhr.responseText); // the form again, with its errors
        document.close();
      });
      function failed() {
        submit.disabled = false;
        label.textContent = form.getAttribute("data-error-text");
      }
      xhr.addEventListener("error", failed);
      xhr.addEventListener("abort", failed);
      xhr.send(new FormData(form));
    });
  }

  // The import: ask the server how far it is, every second, until it is done.
  var box = document.querySelector("[data-import-progress]");
  if (box && window.fetch) {
    var bar = box.querySelector("progress");
    var label = box.querySelector(".import-progress-label");
    var poll = function () {
      fetch(box.getAttribute("data-import-progress"), { credentials: "same-origin", cache: "no-store" })
        .then(function (response) { return response.json(); })
        .then(function (progress) {
          if (progress.finished) { window.location.reload(); return; }
          if (progress.total) {
            bar.value = progress.percent;
            label.textContent = formatted(box.getAttribute("data-rows-text"), progress.done, progress.total);
          }
          window.setTimeout(poll, 1000);
        })
        .catch(function () { window.setTimeout(poll, 3000); });
    };
    window.setTimeout(poll, 1000);
  }
})();
