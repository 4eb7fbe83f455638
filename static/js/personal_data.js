// The personal-data page: follow the archive being prepared, then reload to offer its download.
// Without this script the page still works: it says so and offers a link to refresh it.
(function () {
  "use strict";
  var state = document.getElementById("export-state");
  if (!state || !window.fetch) return;
  var status = state.getAttribute("data-status");
  if (status !== "pending" && status !== "running") return;
  var url = state.getAttribute("data-status-url");
  var bar = state.querySelector("progress");
  var label = state.querySelector(".progress-label");
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) return;
        if (data.status === "pending" || data.status === "running") {
          if (bar) bar.value = data.percent;
          if (label) label.textContent = data.percent + "%";
          window.setTimeout(poll, 2000);
        } else {
          window.location.reload();
        }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1500);
})();
