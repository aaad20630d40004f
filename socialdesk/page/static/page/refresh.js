// Keeps the first page of posts current while someone watches: every 30 s, while the tab is
// visible, ask for the list alone (/@<slug>/posts) with the last ETag; a 304 costs nothing.
// New posts are announced politely to screen readers. Without JavaScript the page is simply
// a page (reload to see new posts).
(function () {
  var box = document.getElementById("entries");
  var say = document.querySelector("[data-refresh-status]");
  if (!box || !box.dataset.refresh || !window.fetch) return;
  var EVERY = 30000;
  var etag = null;
  var timer = null;
  var calm = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  function ids() {
    return Array.from(box.querySelectorAll("[data-entry]")).map(function (el) { return el.dataset.entry; });
  }

  function refresh() {
    var headers = etag ? { "If-None-Match": etag } : {};
    fetch(box.dataset.refresh, { headers: headers, cache: "no-store", credentials: "omit" })
      .then(function (response) {
        if (response.status !== 200) return null;
        etag = response.headers.get("ETag");
        return response.text();
      })
      .then(function (html) {
        if (html === null || html === undefined) return;
        var before = ids();
        var next = document.createElement("div");
        next.innerHTML = html;
        var fresh = Array.from(next.querySelectorAll("[data-entry]")).filter(function (el) {
          return before.indexOf(el.dataset.entry) === -1;
        });
        if (next.innerHTML.trim() === box.innerHTML.trim()) return;
        box.replaceChildren.apply(box, Array.from(next.childNodes));
        if (fresh.length) {
          if (!calm) fresh.forEach(function (el) { el.classList.add("post-new"); });
          if (say) say.textContent = fresh.length === 1 ? "1 new post" : fresh.length + " new posts";
        }
      })
      .catch(function () { /* offline: try again at the next tick */ });
  }

  function start() { if (!timer) timer = setInterval(refresh, EVERY); }
  function stop() { if (timer) { clearInterval(timer); timer = null; } }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) { stop(); } else { refresh(); start(); }
  });
  if (!document.hidden) start();
  // For tests and the curious: run one refresh now.
  box.refreshNow = refresh;
})();
