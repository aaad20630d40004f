// Workflow board: drag a card to another stage's column (SortableJS). The drop posts to the
// same move endpoint as the card's select+button form, which stays for keyboard users and
// for pages without JS. The server answers with the whole board: on success the card sits in
// its new column; on a refusal it is back where it was, with the failing checklist items
// (and a manager's override form) above the board.
(function () {
  "use strict";

  function announce(text) {
    var status = document.getElementById("wf-board-status");
    if (!status) return;
    // Clear first so the same message twice is announced twice.
    status.textContent = "";
    window.setTimeout(function () { status.textContent = text; }, 50);
  }

  function csrfToken(card) {
    var input = card.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function putBack(event) {
    var item = event.item;
    var reference = event.from.children[event.oldIndex] || null;
    event.from.insertBefore(item, reference);
  }

  function swapBoard(html) {
    var board = document.getElementById("wf-board");
    var holder = document.createElement("div");
    holder.innerHTML = html.trim();
    var fresh = holder.querySelector("#wf-board");
    if (!board || !fresh) return null;
    board.replaceWith(fresh);
    if (window.htmx) window.htmx.process(fresh);
    init(fresh);
    return fresh;
  }

  function move(event) {
    var card = event.item;
    var target = event.to;
    var title = card.dataset.title || "The post";
    var stageName = target.dataset.stageName || "that stage";
    var board = document.getElementById("wf-board");
    var body = new FormData();
    body.append("stage", target.dataset.stage);
    body.append("csrfmiddlewaretoken", csrfToken(card));
    if (board) board.setAttribute("aria-busy", "true");
    fetch(card.dataset.moveUrl, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "HX-Request": "true", "X-CSRFToken": csrfToken(card) },
    })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (html) {
        var fresh = swapBoard(html);
        if (!fresh) throw new Error("no board in the answer");
        var refused = fresh.querySelector(".wf-refused");
        if (refused) {
          announce("“" + title + "” cannot move to " + stageName + ". " +
                   refused.querySelector(".wf-failing").textContent.trim());
          refused.scrollIntoView({ block: "nearest" });
        } else {
          announce("“" + title + "” moved to " + stageName + ".");
        }
      })
      .catch(function () {
        if (board && board.isConnected) {
          putBack(event);
          board.removeAttribute("aria-busy");
        }
        announce("“" + title + "” could not be moved. Try again, or use its Move menu.");
      });
  }

  function init(root) {
    if (!window.Sortable || !root) return;
    root.querySelectorAll(".wf-cards[data-stage]").forEach(function (list) {
      if (list.dataset.sortable) return;
      list.dataset.sortable = "1";
      window.Sortable.create(list, {
        group: {
          name: "wf-board",
          // Only the stages on the card's own path accept it (same list as its select).
          put: function (to, from, dragged) {
            var targets = (dragged.dataset.targets || "").split(" ");
            return targets.indexOf(to.el.dataset.stage) !== -1;
          },
        },
        sort: false, // order within a stage comes from due dates, not from dragging
        draggable: ".wf-card[data-move-url]",
        filter: "select, button, input, textarea, label",
        preventOnFilter: false,
        forceFallback: true, // the same pointer-driven drag on mouse, touch and pen
        fallbackOnBody: true,
        delay: 150,
        delayOnTouchOnly: true, // a touch must rest briefly, so swiping still scrolls
        animation: 150,
        ghostClass: "is-ghost",
        chosenClass: "is-chosen",
        dragClass: "is-dragging",
        onStart: function (event) {
          // Outline the columns that accept this card, so the user sees where it can go.
          var targets = (event.item.dataset.targets || "").split(" ");
          root.querySelectorAll(".wf-cards[data-stage]").forEach(function (other) {
            other.classList.toggle("is-drop-target", targets.indexOf(other.dataset.stage) !== -1);
          });
        },
        onEnd: function (event) {
          root.querySelectorAll(".is-drop-target").forEach(function (other) {
            other.classList.remove("is-drop-target");
          });
          if (event.from !== event.to) move(event);
        },
      });
    });
    var hint = document.querySelector("[data-wf-drag-hint]");
    if (hint) hint.hidden = false;
  }

  document.addEventListener("DOMContentLoaded", function () {
    init(document.getElementById("wf-board"));
  });
  // The select+button form swaps the board through htmx: make the new one draggable too.
  document.addEventListener("htmx:afterSettle", function () {
    init(document.getElementById("wf-board"));
  });
})();
