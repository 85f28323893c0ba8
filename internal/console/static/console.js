// Switchyard console: small progressive enhancements. Every page works
// without this file; with it, the switcher submits on change, live
// fragments refresh themselves, and fetches carry the CSRF token.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // csrf is the session's CSRF token, read from any form on the page.
  function csrf() {
    var el = document.querySelector('input[name="csrf"]');
    return el ? el.value : "";
  }

  // Forms marked data-autosubmit submit when a select changes.
  document.addEventListener("change", function (ev) {
    var form = ev.target.form;
    if (form && form.hasAttribute("data-autosubmit") && ev.target.tagName === "SELECT") {
      form.submit();
    }
  });

  // Forms with data-confirm ask before submitting, naming the consequence.
  document.addEventListener("submit", function (ev) {
    var msg = ev.target.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) {
      ev.preventDefault();
    }
  });

  // Live fragments: an element with data-live="/fragments/…" is refreshed
  // every data-interval seconds (default 5) with If-None-Match, so an
  // unchanged fragment costs a 304; the page never reloads.
  function poll(el) {
    var url = el.getAttribute("data-live");
    var every = (parseFloat(el.getAttribute("data-interval")) || 5) * 1000;
    var etag = "";
    function tick() {
      if (document.hidden) { setTimeout(tick, every); return; }
      var headers = { "X-CSRF-Token": csrf() };
      if (etag) { headers["If-None-Match"] = etag; }
      fetch(url, { headers: headers, credentials: "same-origin" }).then(function (r) {
        if (r.status === 200) {
          etag = r.headers.get("ETag") || "";
          return r.text().then(function (html) { el.innerHTML = html; });
        }
      }).catch(function () {}).then(function () { setTimeout(tick, every); });
    }
    setTimeout(tick, every);
  }
  document.querySelectorAll("[data-live]").forEach(poll);

  // window.switchyard is what page scripts share.
  window.switchyard = { csrf: csrf };
})();
