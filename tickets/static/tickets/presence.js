// The ticket page: keep "Also open by" up to date while the tab is visible, say goodbye on
// leaving, and bring a refused post's list of changes into view. Progressive enhancement:
// without this file the box shows who was there when the page was rendered, and every form
// still posts (and is guarded) as usual.
(function () {
  "use strict";

  var changes = document.querySelector(".ticket-changes");
  if (changes) {
    changes.focus();
  }

  var box = document.getElementById("ticket-presence");
  if (!box || !window.fetch || !window.FormData || !window.DOMParser) return;
  var url = box.getAttribute("data-presence-url");
  var visit = box.getAttribute("data-visit") || "";
  var every = (parseInt(box.getAttribute("data-interval"), 10) || 25) * 1000;
  var csrf = document.querySelector("input[name=csrfmiddlewaretoken]");
  if (!url || !csrf) return;
  var timer = null;

  function payload(leave) {
    var data = new FormData();
    data.append("csrfmiddlewaretoken", csrf.value);
    data.append("visit", visit);
    if (leave) data.append("leave", "1");
    return data;
  }

  function ping() {
    fetch(url, {
      method: "POST",
      body: payload(false),
      credentials: "same-origin",
      headers: { "X-Requested-With": "XMLHttpRequest" }
    }).then(function (response) {
      return response.ok ? response.text() : null;
    }).then(function (html) {
      if (html === null) return;
      // The answer is the box's text (escaped HTML): compared as text, and only a change is
      // written, since a live region reads out whatever is written into it.
      var text = new DOMParser().parseFromString(html, "text/html").body.textContent.trim();
      if (box.textContent.trim() !== text) box.textContent = text;
    }).catch(function () { /* offline for a moment: the next ping will tell */ });
  }

  function start() {
    if (timer === null) timer = window.setInterval(ping, every);
  }

  function stop() {
    if (timer !== null) {
      window.clearInterval(timer);
      timer = null;
    }
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) {
      stop();
    } else {
      ping();
      start();
    }
  });
  window.addEventListener("pagehide", function () {
    stop();
    if (navigator.sendBeacon) navigator.sendBeacon(url, payload(true));
  });
  window.addEventListener("pageshow", function (event) {
    // Back from the browser's cache after a goodbye: say hello again.
    if (event.persisted && !document.hidden) {
      ping();
      start();
    }
  });
  if (!document.hidden) start();
})();
