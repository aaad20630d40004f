// The inbox page (inbox/views.py): keyboard shortcuts, the saved-reply picker and the
// "typing" flag of presence. Every action works without this script, as a plain form.
(function () {
  "use strict";

  function typingInField(event) {
    var el = event.target;
    return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }

  function links() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-conversation-link]"));
  }

  function move(step) {
    var all = links();
    if (!all.length) return;
    var current = all.findIndex(function (a) { return a.getAttribute("aria-current") === "true"; });
    var next = current === -1 ? 0 : current + step;
    if (next < 0 || next >= all.length) return;
    window.location.assign(all[next].href);
  }

  function submit(id) {
    var form = document.getElementById(id);
    if (form) form.requestSubmit();
  }

  function shortcuts() {
    var dialog = document.getElementById("inbox-shortcuts");
    if (dialog && !dialog.open) dialog.showModal();
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typingInField(event)) return;
    var dialog = document.getElementById("inbox-shortcuts");
    if (dialog && dialog.open) return;
    var reply = document.getElementById("reply-text");
    switch (event.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "r":
        if (!reply) return;
        reply.focus();
        break;
      case "e":
        if (!document.getElementById("resolve-button")) return;
        submit("status-form");
        break;
      case "a": submit("assign-me-form"); break;
      case "?": shortcuts(); break;
      default: return;
    }
    event.preventDefault();
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-shortcuts-open]")) shortcuts();
  });

  // The saved-reply picker puts the reply's text (variables already filled) in the box;
  // without this script the server uses the chosen reply when the box is empty.
  document.addEventListener("change", function (event) {
    var select = event.target.closest && event.target.closest("[data-saved-reply]");
    if (!select) return;
    var option = select.options[select.selectedIndex];
    var box = document.getElementById("reply-text");
    if (!box || !option || !option.dataset.text) return;
    box.value = option.dataset.text;
    box.focus();
    box.dispatchEvent(new Event("input", { bubbles: true }));
  });

  // Presence: say "typing" at once when someone starts, and stop saying it 4 s after the
  // last key. The presence box (htmx) sends the flag with its heartbeat.
  var idle = null;
  function setTyping(value) {
    var flag = document.getElementById("typing-flag");
    if (!flag || flag.value === value) return;
    flag.value = value;
    document.body.dispatchEvent(new CustomEvent("inbox-typing", { bubbles: true }));
  }
  document.addEventListener("input", function (event) {
    if (!event.target.matches || !event.target.matches("[data-typing]")) return;
    setTyping(event.target.value.trim() ? "1" : "0");
    clearTimeout(idle);
    idle = setTimeout(function () { setTyping("0"); }, 4000);
  });

  // The list refreshes itself (htmx, every 5 s); the open conversation does not, so that
  // nothing a person is typing is lost. When the list shows the open conversation in another
  // status (the contact wrote again, a teammate answered), say so here, with a link to it.
  document.addEventListener("htmx:afterSettle", function () {
    var row = document.querySelector("[data-conversation-link][aria-current='true'] .conv-status");
    var shown = document.querySelector(".conv-facts .conv-status");
    var notice = document.getElementById("conv-stale");
    if (!row || !shown || !notice || notice.firstChild) return;
    var now = row.textContent.trim();
    if (now === shown.textContent.trim()) return;
    var link = document.createElement("a");
    link.href = window.location.pathname + window.location.search;
    link.textContent = "Show the latest";
    notice.append("This conversation is now " + now + ". ", link);
  });

  document.addEventListener("DOMContentLoaded", function () {
    var button = document.querySelector("[data-shortcuts-open]");
    if (button) button.hidden = false;
    var open = document.querySelector("[data-conversation-link][aria-current='true']");
    if (open && open.scrollIntoView) open.scrollIntoView({ block: "nearest" });
  });
})();
