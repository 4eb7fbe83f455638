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

  // A form shown again with errors: move the focus to the summary, which links to each field.
  var summary = document.getElementById("form-errors");
  if (summary) summary.focus();

  // The ticket form: the diagnostic fields only apply to a technical problem.
  function toggleProblemFields(select) {
    var form = select.form;
    var loss = select.value === select.getAttribute("data-loss-value");
    Array.prototype.forEach.call(form.querySelectorAll("[data-problem-only]"), function (box) {
      box.hidden = loss;
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches("select[data-loss-value]")) toggleProblemFields(event.target);
  });

  // What the page offers for browsers without this script (a button that asks the server).
  Array.prototype.forEach.call(document.querySelectorAll("[data-without-script]"), function (el) {
    el.hidden = true;
  });

  // The ticket form: the open tickets of the unit chosen, shown as soon as it is chosen. The page
  // carries every unit's list; the confirmation given for one unit does not carry to another.
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (!select.matches("select[name=target]")) return;
    var box = select.form.querySelector("[data-open-tickets]");
    if (!box) return;
    var shown = false;
    Array.prototype.forEach.call(box.querySelectorAll("[data-unit-tickets]"), function (list) {
      list.hidden = list.getAttribute("data-unit-tickets") !== select.value;
      shown = shown || !list.hidden;
    });
    box.hidden = !shown;
    var confirm = box.querySelector("input[type=checkbox]");
    if (confirm) confirm.checked = false;
  });

  // Upload progress: send forms that carry files with XMLHttpRequest so the bar can move.
  function hasFiles(form) {
    return Array.prototype.some.call(form.querySelectorAll("input[type=file]"), function (input) {
      return input.files && input.files.length > 0;
    });
  }

  function go(address) {
    var url = new URL(address, window.location.href);
    if (url.pathname + url.search === window.location.pathname + window.location.search) {
      // Same page, new anchor (a reply lands on #latest): assigning would only scroll.
      window.history.replaceState(null, "", url.href);
      window.location.reload();
    } else {
      window.location.assign(url.href);
    }
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("form[data-upload-progress]") || !hasFiles(form) || !window.FormData) return;
    event.preventDefault();
    var box = form.querySelector(".progress");
    var bar = box.querySelector("progress");
    var label = box.querySelector(".progress-label");
    var submit = event.submitter || form.querySelector(".actions button[type=submit]");
    box.hidden = false;
    submit.disabled = true;
    bar.value = 0;
    label.textContent = form.getAttribute("data-sending-text") || "";
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action || window.location.href);
    // The server answers a successful post with {"redirect": address} instead of a redirect,
    // so the confirmation message is still there for the page we go to.
    xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    xhr.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable) return;
      var percent = Math.round((e.loaded / e.total) * 100);
      bar.value = percent;
      label.textContent = percent + " %";
    });
    xhr.addEventListener("load", function () {
      var type = xhr.getResponseHeader("Content-Type") || "";
      if (type.indexOf("application/json") === 0) {
        go(JSON.parse(xhr.responseText).redirect);
        return;
      }
      // The form again, with its errors (or the service-closed notice): show that page.
      document.open();
      document.write(xhr.responseText);
      document.close();
    });
    function failed() {
      submit.disabled = false;
      label.textContent = form.getAttribute("data-error-text") || "";
    }
    xhr.addEventListener("error", failed);
    xhr.addEventListener("abort", failed);
    xhr.send(new FormData(form));
  });
})();
