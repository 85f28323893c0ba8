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

  // A serve shows the variant select or the rollout shares, as chosen.
  document.addEventListener("change", function (ev) {
    var serve = ev.target.closest && ev.target.closest(".serve");
    if (serve && ev.target.type === "radio") {
      serve.setAttribute("data-kind", ev.target.value);
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

// Key-list uploads (forms with data-upload) show their progress and the
// server's answer; without the script the form posts as usual.
(function () {
  "use strict";
  document.querySelectorAll("form[data-upload]").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var box = form.querySelector(".progress"), bar = form.querySelector("progress");
      var pct = form.querySelector(".pct"), out = form.querySelector(".upload-result");
      var button = form.querySelector("button[type=submit]");
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
      xhr.upload.onprogress = function (e) {
        if (e.lengthComputable) {
          var p = Math.round(e.loaded * 100 / e.total);
          bar.value = p; pct.textContent = p + " %";
        }
      };
      xhr.onload = function () {
        button.disabled = false;
        bar.value = 100; pct.textContent = "100 %";
        out.className = "upload-result banner " + (xhr.status === 200 ? "ok" : "error");
        out.textContent = (xhr.status === 200 ? "✓ " : "⚠ ") + xhr.responseText;
        if (xhr.status === 200) {
          out.appendChild(document.createTextNode(" "));
          var a = document.createElement("a");
          a.href = location.pathname; a.textContent = "Show the updated lists";
          out.appendChild(a);
        }
      };
      xhr.onerror = function () {
        button.disabled = false;
        out.className = "upload-result banner error";
        out.textContent = "⚠ The upload failed: the server could not be reached.";
      };
      box.hidden = false; button.disabled = true; out.textContent = "";
      xhr.send(new FormData(form));
    });
  });
})();
