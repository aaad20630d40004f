// The editorial calendar: FullCalendar fed by the server's JSON feed, drag to reschedule
// with an undo, a dialog per post (move, duplicate, boost spend), and the content-mix panel.
// A post moves as one: dragging one channel's copy moves every channel of the post (the
// server keeps their distances); "This channel only" (the checkbox, or Alt while dropping)
// moves the dragged copy alone. Undo puts every moved copy back.
// FullCalendar runs in "UTC" on purpose: the server sends and takes wall-clock times in the
// zone chosen on the page, so the browser's own zone never shifts a post.
(function () {
  "use strict";

  var mount = document.getElementById("calendar");
  if (!mount || !window.FullCalendar) return;

  var form = document.getElementById("cal-filters");
  var statusBox = document.getElementById("cal-status");
  var warningsBox = document.getElementById("cal-warnings");
  var dialog = document.getElementById("cal-dialog");
  var canSchedule = mount.dataset.canSchedule === "1";
  var onlyBox = document.getElementById("cal-only");
  // The person's language picks the date format, as the server's "when" filter does.
  var locale = mount.dataset.locale || "en-gb";
  var csrf = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"];

  function wallClock(date) {
    // A Date in FullCalendar's "UTC" is the wall clock in the chosen zone.
    return date.toISOString().slice(0, 19);
  }

  function filterParams() {
    var params = new URLSearchParams(new FormData(form));
    params.delete("view");
    return params;
  }

  function zone() {
    return form.elements.tz.value;
  }

  function say(message, kind, undo) {
    statusBox.replaceChildren();
    if (!message) return;
    var box = document.createElement("div");
    box.className = "notice notice-" + (kind || "success");
    var text = document.createElement("p");
    text.textContent = message;
    box.appendChild(text);
    if (undo) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "btn btn-secondary btn-sm push-end";
      button.textContent = "Undo";
      button.addEventListener("click", undo);
      box.appendChild(button);
    }
    statusBox.appendChild(box);
  }

  function showWarnings(list) {
    warningsBox.replaceChildren();
    (list || []).forEach(function (warning) {
      var p = document.createElement("p");
      p.className = "notice notice-warning";
      p.textContent = warning;
      warningsBox.appendChild(p);
    });
  }

  function post(url, data) {
    return fetch(url, {
      method: "POST",
      headers: { "X-CSRFToken": csrf, Accept: "application/json" },
      body: data,
      credentials: "same-origin",
    }).then(function (response) {
      return response.json().then(function (body) {
        body.ok = response.ok;
        return body;
      });
    });
  }

  function move(id, start, repeatedTime, only) {
    var data = new FormData();
    data.append("delivery", id);
    data.append("start", start);
    data.append("tz", zone());
    if (only) data.append("only", "1");
    if (repeatedTime) data.append("repeated_time", repeatedTime);
    return post(mount.dataset.move, data);
  }

  // A time the clocks skip or show twice comes back refused with its choices (wallclock's):
  // one button each, which moves the post to that reading.
  function offerChoices(id, body, only) {
    var box = statusBox.querySelector(".notice");
    if (!box || !body.choices || !body.choices.length) return;
    var group = document.createElement("div");
    group.className = "wall-clock-choices";
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", body.kind === "repeated" ? "Which reading?" : "Which time instead?");
    body.choices.forEach(function (choice) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "btn btn-secondary btn-sm";
      var which = choice.repeated_time ? "the " + choice.repeated_time + " " : "";
      button.textContent = "Move to " + which + choice.label;
      button.addEventListener("click", function () {
        var sent = choice.repeated_time
          ? move(id, choice.start, choice.repeated_time, only)
          : move(id, choice.instant, null, only);
        sent.then(function (answer) {
          if (!answer.ok) { say(answer.error, "error"); return; }
          say(answer.message, "success", undoMove(answer.undo));
          showWarnings(answer.warnings);
          calendar.refetchEvents();
        });
      });
      group.appendChild(button);
    });
    box.appendChild(group);
  }

  function undoMove(undo) {
    if (!undo) return null;
    return function () {
      // Every copy the move changed goes back to the exact instant it had.
      var data = new FormData();
      data.append("post", undo.post);
      data.append("restore", undo.restore);
      post(mount.dataset.move, data).then(function (body) {
        say(body.ok ? "Moved back." : body.error, body.ok ? "success" : "error");
        calendar.refetchEvents();
      });
    };
  }

  var channels = {};
  var postUrl = "";

  function hhmm(date) {
    return date.toISOString().slice(11, 16);
  }

  // The pop-up's "Mon 14 Dec, 08:19 CET", as the server's "when" filter writes it (the
  // year only when it is not this one).
  function dayAndTime(date) {
    var options = {
      weekday: "short", day: "numeric", month: "short",
      hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: "UTC",
    };
    if (date.getUTCFullYear() !== new Date().getFullYear()) options.year = "numeric";
    return new Intl.DateTimeFormat(locale, options).format(date);
  }

  function renderEvent(arg) {
    var props = arg.event.extendedProps;
    var channel = channels[props.ch] || { name: "", handle: "" };
    var wrap = document.createElement("div");
    wrap.className = "cal-event cal-event-" + props.kind;
    // A state the server flags (props.flag, e.g. "waiting") gets its own class to style.
    if (props.flag) wrap.classList.add("cal-event-" + props.flag);
    if (props.thumb) {
      var img = document.createElement("img");
      img.src = props.thumb;
      img.alt = "";
      img.className = "cal-thumb";
      img.loading = "lazy";
      wrap.appendChild(img);
    }
    if (props.kind === "more") {  // a full day in the month grid: the rest opens the day
      wrap.textContent = arg.event.title;
      wrap.title = props.all + " posts on this day: open the day to see them all";
      return { domNodes: [wrap] };
    }
    var text = document.createElement("span");
    text.className = "cal-event-text";
    var head = document.createElement("span");
    head.className = "cal-event-head";
    // The list view has its own time column.
    var time = arg.view.type.indexOf("list") === 0 ? "" : hhmm(arg.event.start) + " · ";
    head.textContent = time + channel.handle;
    text.appendChild(head);
    if (props.kind === "slot") {
      head.textContent = time + "free slot · " + channel.handle;
      wrap.appendChild(text);
      return { domNodes: [wrap] };
    }
    var body = document.createElement("span");
    body.className = "cal-event-body";
    body.textContent = arg.event.title;
    text.appendChild(body);
    if (props.kind === "delivery") {
      var stage = document.createElement("span");
      stage.className = "cal-event-stage";
      stage.textContent = props.stage + (props.pillar ? " · " + props.pillar : "");
      text.appendChild(stage);
    }
    wrap.appendChild(text);
    return { domNodes: [wrap] };
  }

  function openDialog(event) {
    var props = event.extendedProps;
    var channel = channels[props.ch] || { name: "" };
    document.getElementById("cal-dialog-title").textContent = channel.name + ", " +
      dayAndTime(event.start) + " " + (props.tz || zone());
    var others = (props.n || 1) - 1;
    document.getElementById("cal-dialog-meta").textContent = props.stage +
      (props.pillar ? " · " + props.pillar : "") + " · " + zone() +
      (others ? " · also on " + others + " other channel" + (others > 1 ? "s" : "") : "");
    document.getElementById("cal-dialog-text").textContent = event.title;
    document.getElementById("cal-dialog-edit").href = event.url;
    var thumb = document.getElementById("cal-dialog-thumb");
    thumb.hidden = !props.thumb;
    if (props.thumb) thumb.src = props.thumb;
    dialog.querySelectorAll("input[name=delivery]").forEach(function (input) {
      input.value = event.id;
    });
    var start = dialog.querySelector("#dup-start");
    if (start) start.value = wallClock(new Date(event.start.getTime() + 86400000)).slice(0, 16);
    var moveStart = dialog.querySelector("#move-start");
    if (moveStart) moveStart.value = wallClock(event.start).slice(0, 16);
    var moveOnly = dialog.querySelector("#move-only-field");
    if (moveOnly) moveOnly.hidden = !others;
    dialog.querySelectorAll("input[name=tz]").forEach(function (input) {
      input.value = zone();
    });
    dialog.showModal();
  }

  function loadSummary(view) {
    // The content mix counts what is actually visible: the view's current range.
    var params = filterParams();
    params.set("start", wallClock(view.currentStart));
    params.set("end", wallClock(view.currentEnd));
    if (window.htmx) {
      htmx.ajax("GET", mount.dataset.summary + "?" + params.toString(), {
        target: "#cal-summary",
        swap: "innerHTML",
      });
    }
  }

  function quietIcons() {
    // The arrow icons are decoration; their buttons carry the names.
    mount.querySelectorAll(".fc-icon").forEach(function (icon) {
      icon.removeAttribute("role");
      icon.setAttribute("aria-hidden", "true");
    });
  }

  var phone = window.matchMedia("(max-width: 700px)").matches;
  // Narrower than ~600 px a week of columns cannot be read: the list opens unless the
  // address asked for a view.
  var narrow = window.matchMedia("(max-width: 600px)").matches;
  var initialView = mount.dataset.view;
  if (narrow && !mount.dataset.viewChosen) initialView = "listWeek";
  else if (phone && initialView === "dayGridMonth" && !mount.dataset.viewChosen) initialView = "listWeek";
  // On a phone the calendar comes first; the filters fold away behind their summary.
  var filterToggle = document.getElementById("cal-filter-toggle");
  if (phone && filterToggle) filterToggle.open = false;
  // Month and list grow with their posts; a day's 24 hours get a scroller of their own, so
  // the week opens at scrollTime instead of midnight ("auto" would start the page at 00:00).
  function heightFor(view) {
    if (view.indexOf("timeGrid") !== 0) return "auto";
    return phone ? 640 : 760;
  }
  var calendar = null;
  calendar = new FullCalendar.Calendar(mount, {
    timeZone: "UTC",
    initialView: initialView,
    locale: locale,
    initialDate: mount.dataset.date || undefined,
    firstDay: 1,
    height: heightFor(initialView),
    nowIndicator: true,
    dayMaxEvents: 4,
    // Each view asks for its own events: the month grid's answer holds only part of a day.
    lazyFetching: false,
    eventTimeFormat: { hour: "2-digit", minute: "2-digit", hour12: false },
    slotLabelFormat: { hour: "2-digit", minute: "2-digit", hour12: false },
    // "Mon 14 Dec" (en-gb), never "12/14"; on a phone the weekday and the day on two lines.
    dayHeaderFormat: { weekday: "short", day: "numeric", month: "short" },
    dayHeaderContent: function (arg) {
      if (arg.view.type.indexOf("timeGrid") !== 0 || !narrow) return arg.text;
      var wrap = document.createElement("span");
      wrap.className = "cal-day-head";
      var weekday = document.createElement("span");
      weekday.textContent = new Intl.DateTimeFormat(locale, { weekday: "short", timeZone: "UTC" }).format(arg.date);
      var day = document.createElement("span");
      day.textContent = arg.date.getUTCDate();
      wrap.append(weekday, day);
      return { domNodes: [wrap] };
    },
    views: { dayGridMonth: { dayHeaderFormat: { weekday: "short" } } },
    listDayFormat: { weekday: "long", day: "numeric", month: "long" },
    listDaySideFormat: false,
    headerToolbar: phone
      ? { left: "prev,next", center: "title", right: "today" }
      : { left: "prev,next today", center: "title", right: "dayGridMonth,timeGridWeek,timeGridDay,listWeek" },
    footerToolbar: phone ? { center: "dayGridMonth,timeGridWeek,listWeek" } : false,
    buttonText: { today: "Today", month: "Month", week: "Week", day: "Day", list: "List" },
    eventDisplay: "block",
    defaultTimedEventDuration: "01:00",
    // The workspace's first queue slot, or 08:00: nobody plans at midnight.
    scrollTime: mount.dataset.scrollTime || "08:00:00",
    buttonHints: { prev: "Previous $0", next: "Next $0", today: "Go to today" },
    dayCellDidMount: function (arg) {
      // The cell's name would be the date alone while it shows posts too (axe's
      // label-content-name-mismatch); its content names it well enough.
      arg.el.removeAttribute("aria-labelledby");
    },
    editable: canSchedule,
    eventDurationEditable: false,
    eventContent: renderEvent,
    events: function (info, success, failure) {
      var params = filterParams();
      params.set("start", wallClock(info.start));
      params.set("end", wallClock(info.end));
      // The month grid shows 3 posts a day and "+N more" (dayMaxEvents below); the server
      // sends no more than that, and the day view loads the rest. The grid is the only view
      // that asks for more than a week (its six weeks); the calendar may not exist yet here
      // (FullCalendar fetches while it is being made), so the range tells.
      if (info.end - info.start > 8 * 86400000) params.set("per_day", "4");
      fetch(mount.dataset.feed + "?" + params.toString(), { credentials: "same-origin" })
        .then(function (response) {
          return response.json().then(function (body) {
            if (!response.ok) throw new Error(body.error || "The calendar could not load.");
            return body;
          });
        })
        .then(function (body) {
          channels = body.channels;
          postUrl = body.post_url;
          body.events.forEach(function (event) {
            // A link per post: focusable, and it opens the post where scripts do not run.
            if (event.extendedProps.kind === "delivery") {
              event.url = postUrl.replace("{}", event.extendedProps.post);
            }
          });
          showWarnings(body.warnings);
          success(body.events);
        })
        .catch(function (error) {
          say(error.message, "error");
          failure(error);
        });
    },
    datesSet: function (info) {
      form.elements.view.value = info.view.type;
      var height = heightFor(info.view.type);
      if (calendar && calendar.getOption("height") !== height) {
        calendar.setOption("height", height);
        if (height !== "auto") {
          // After the new height is laid out, or there is nothing to scroll yet.
          setTimeout(function () { calendar.scrollToTime(mount.dataset.scrollTime || "08:00:00"); }, 0);
        }
      }
      quietIcons();
      loadSummary(info.view);
    },
    eventDrop: function (info) {
      var id = info.event.id;
      var only = (onlyBox && onlyBox.checked) || (info.jsEvent && info.jsEvent.altKey);
      move(id, wallClock(info.event.start), null, only).then(function (body) {
        if (!body.ok) {
          info.revert();
          say(body.error, "error");
          offerChoices(id, body, only);
          return;
        }
        say(body.message, "success", undoMove(body.undo));
        showWarnings(body.warnings);
        calendar.refetchEvents();
      }, function () {
        info.revert();
        say("The move did not reach the server; nothing changed.", "error");
      });
    },
    eventClick: function (info) {
      info.jsEvent.preventDefault();
      var props = info.event.extendedProps;
      if (props.kind === "delivery") openDialog(info.event);
      if (props.kind === "more") calendar.changeView("timeGridDay", props.day);
    },
  });
  calendar.render();
  quietIcons();

  form.addEventListener("change", function (event) {
    if (event.target.name === "tz") {
      document.getElementById("cal-zone-name").textContent = zone();
    }
    var params = filterParams();
    params.set("view", calendar.view.type);
    history.replaceState(null, "", "?" + params.toString());
    calendar.refetchEvents();
    loadSummary(calendar.view);
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    form.dispatchEvent(new Event("change"));
  });

  dialog.querySelectorAll("form[method=post]").forEach(function (action) {
    action.addEventListener("submit", function (event) {
      event.preventDefault();
      post(action.action, new FormData(action)).then(function (body) {
        dialog.close();
        say(body.ok ? body.message : body.error, body.ok ? "success" : "error",
          body.ok ? undoMove(body.undo) : null);
        if (body.ok) showWarnings(body.warnings);
        calendar.refetchEvents();
        loadSummary(calendar.view);
      });
    });
  });
})();
