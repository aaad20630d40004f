// The composer's "Use this time" buttons: fill "Publish at" with the suggested instant on the
// wall clock that reads the field (the single chosen channel's own zone, else the workspace's:
// the rule of PostForm.zone_for and composer.js).
(function () {
  "use strict";
  var hint = document.querySelector("[data-best-time-hint]");
  if (!hint) return;
  var form = hint.closest("form");
  var field = form && form.querySelector("input[name=scheduled_at]");
  if (!field) return;
  var zonesEl = document.getElementById("composer-zones");
  var zones = zonesEl ? JSON.parse(zonesEl.textContent) : {};
  var note = form.querySelector("[data-zone-note]");
  var status = hint.querySelector("[data-best-time-status]");

  function fieldZone() {
    var ticked = form.querySelectorAll("input[name=channels]:checked");
    var own = ticked.length === 1 ? zones[String(ticked[0].value)] : "";
    return own || (note && note.dataset.workspaceZone) || "UTC";
  }

  function wallClock(instant, zone) {
    var parts = {};
    new Intl.DateTimeFormat("en-GB", {
      timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", hourCycle: "h23"
    }).formatToParts(instant).forEach(function (p) { parts[p.type] = p.value; });
    return parts.year + "-" + parts.month + "-" + parts.day + "T" + parts.hour + ":" + parts.minute;
  }

  hint.addEventListener("click", function (event) {
    var button = event.target.closest("[data-best-time]");
    if (!button) return;
    var zone = fieldZone();
    field.value = wallClock(new Date(button.dataset.bestTime), zone);
    field.dispatchEvent(new Event("input", { bubbles: true }));
    field.dispatchEvent(new Event("change", { bubbles: true }));
    if (status) status.textContent = "Publish at set to " + field.value.replace("T", " ") + " (" + zone + ").";
    field.focus();
  });
})();
