// Small enhancements; every page works without them.
(function () {
  "use strict";

  function updateCount(textarea) {
    var target = document.getElementById(textarea.dataset.count);
    if (!target) return;
    var value = target.querySelector("[data-count-value]");
    // Count code points, as networks do, not UTF-16 units ("🍞" is one character).
    value.textContent = Array.from(textarea.value).length.toLocaleString();
  }

  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("textarea[data-count]")) {
      updateCount(event.target);
    }
  });

  // Text typed (or restored by the browser) before this script ran has missed its input events.
  document.querySelectorAll("textarea[data-count]").forEach(updateCount);

  document.addEventListener("focusin", function (event) {
    if (event.target.matches && event.target.matches("[data-select-on-focus]")) {
      event.target.select();
    }
  });

  // Close the workspace switcher when clicking elsewhere or pressing Escape.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.switcher[open], details.nav-menu[open]").forEach(function (details) {
      if (!details.contains(event.target)) details.removeAttribute("open");
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details.switcher[open], details.nav-menu[open]").forEach(function (details) {
      details.removeAttribute("open");
      details.querySelector("summary").focus();
    });
  });
})();

// Calendar feed (web/ical.py): a "Copy" button next to a read-only address.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy-target]");
    if (!button) return;
    var input = document.getElementById(button.dataset.copyTarget);
    if (!input) return;
    input.select();
    var done = function () { button.textContent = "Copied"; };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, function () {});
    } else if (document.execCommand && document.execCommand("copy")) {
      done();
    }
  });
})();

// Submit, input and change events inside [data-own-events] stay there: the comments panel sits
// inside the composer's form, and a comment typed there is no edit of the post. A listener on
// the element itself (not on document, which is too late), bound on each piece htmx loads.
(function () {
  "use strict";
  if (!window.htmx) return;
  function stop(event) { event.stopPropagation(); }
  htmx.onLoad(function (root) {
    if (!root.querySelectorAll) return;
    var boxes = Array.from(root.querySelectorAll("[data-own-events]"));
    if (root.matches("[data-own-events]")) boxes.push(root);
    boxes.forEach(function (box) {
      if (box.dataset.ownEventsBound) return;
      box.dataset.ownEventsBound = "1";
      ["submit", "input", "change"].forEach(function (type) { box.addEventListener(type, stop); });
    });
  });
})();

// A select that submits its form when changed (data-autosubmit), for filters without a button.
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var field = event.target.closest && event.target.closest("[data-autosubmit]");
    if (field && field.form) field.form.requestSubmit();
  });
})();
