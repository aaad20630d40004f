// The composer: channel tabs, live counters and previews, inserts, UTM tags, autosave.
// The page works as a plain form without this script; the server re-checks every limit.
(function () {
  "use strict";

  var form = document.querySelector("form[data-composer]");
  if (!form) return;

  var channels = JSON.parse(document.getElementById("composer-channels").textContent);
  var templates = JSON.parse(document.getElementById("composer-templates").textContent);
  var byId = {};
  channels.forEach(function (c) { byId[String(c.id)] = c; });
  var shared = form.querySelector("textarea[name=text]");
  var activeText = shared;
  var activeTab = null;

  // --- Counting: the same rules the connectors apply (content/composer.py NETWORK_RULES) ---
  var segmenter = window.Intl && Intl.Segmenter ? new Intl.Segmenter(undefined, { granularity: "grapheme" }) : null;
  var LINK = /https?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/g;

  function graphemes(text) {
    if (!segmenter) return Array.from(text).length;
    var n = 0;
    for (var _ of segmenter.segment(text)) n++; // eslint-disable-line no-unused-vars
    return n;
  }

  var REMOTE_MENTION = /(^|[^\/\w])@(([a-z0-9_]+)@[a-z0-9.\-]+[a-z0-9]+)/gi;

  // Where a link goes out as the workspace's short link, it counts as that link's length
  // (analytics' JSON block, when analytics is installed); a network that reserves a fixed
  // length for every link (rules.url) counts that instead.
  var shortBlock = document.getElementById("composer-short-links");
  var shortLinks = shortBlock ? JSON.parse(shortBlock.textContent) : {};

  function count(rules, text) {
    if (rules.local_mentions) text = text.replace(REMOTE_MENTION, "$1@$3");
    var url = rules.url || shortLinks[String(rules.id)] || 0;
    if (url) {
      text = text.replace(LINK, function () { return "x".repeat(url); });
    }
    return rules.unit === "graphemes" ? graphemes(text) : Array.from(text).length;
  }

  function chosen() {
    return Array.from(form.querySelectorAll("input[name=channels]:checked"))
      .map(function (box) { return byId[box.value]; })
      .filter(Boolean);
  }

  function field(name) { return form.querySelector("[name='" + name + "']"); }
  function versionOf(channel) {
    var own = field("override_" + channel.id);
    return own && own.value ? own.value : shared.value;
  }
  function threadParts() {
    return Array.from(form.querySelectorAll("textarea[data-part]"))
      .map(function (t) { return t.value; })
      .filter(function (v) { return v.trim(); });
  }

  function counterChip(channel, text) {
    var n = count(channel, text);
    var chip = document.createElement("span");
    chip.className = "counter" + (n > channel.max ? " is-over" : n > channel.max * 0.9 ? " is-near" : "");
    chip.dataset.network = channel.network;
    chip.innerHTML = '<span class="net net-' + channel.network + '" aria-hidden="true"></span>';
    chip.appendChild(document.createTextNode(
      channel.network_name + " " + n.toLocaleString() + " / " + channel.max.toLocaleString() +
      (n > channel.max ? " — " + (n - channel.max) + " too many" : "")
    ));
    return chip;
  }

  function renderCounters() {
    var list = chosen();
    var box = form.querySelector("[data-counters=text]");
    box.replaceChildren();
    list.forEach(function (c) {
      // The shared text's counter concerns the channels that publish it.
      if (!field("override_" + c.id) || !field("override_" + c.id).value) box.appendChild(counterChip(c, shared.value));
    });
    list.forEach(function (c) {
      var own = form.querySelector("[data-counters='" + c.id + "']");
      if (own) own.replaceChildren(counterChip(c, versionOf(c)));
    });
  }

  // --- Tabs: one per chosen channel; every panel shows without JavaScript ---
  var tablist = form.querySelector("[data-tablist]");
  function renderTabs() {
    if (!tablist) return;
    var list = chosen();
    var ids = list.map(function (c) { return String(c.id); });
    if (ids.indexOf(activeTab) < 0) activeTab = ids[0] || null;
    tablist.replaceChildren();
    tablist.hidden = list.length === 0;
    list.forEach(function (c) {
      var tab = document.createElement("button");
      tab.type = "button";
      tab.setAttribute("role", "tab");
      tab.id = "tab-" + c.id;
      tab.className = "channel-tab";
      tab.setAttribute("aria-controls", "panel-" + c.id);
      tab.setAttribute("aria-selected", String(String(c.id) === activeTab));
      tab.tabIndex = String(c.id) === activeTab ? 0 : -1;
      tab.innerHTML = '<span class="net net-' + c.network + '" aria-hidden="true"></span>';
      tab.appendChild(document.createTextNode(c.network_name + " · " + c.handle));
      tab.addEventListener("click", function () { activeTab = String(c.id); renderTabs(); });
      tab.addEventListener("keydown", function (event) {
        var step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
        if (!step) return;
        var next = ids[(ids.indexOf(String(c.id)) + step + ids.length) % ids.length];
        activeTab = next;
        renderTabs();
        document.getElementById("tab-" + next).focus();
      });
      tablist.appendChild(tab);
    });
    form.querySelectorAll("[data-panel]").forEach(function (panel) {
      var id = panel.dataset.panel;
      panel.hidden = id !== activeTab;
      if (id === activeTab) {
        panel.setAttribute("role", "tabpanel");
        panel.setAttribute("aria-labelledby", "tab-" + id);
      }
    });
  }

  // --- Previews: each network's post, simply styled ---
  // In the order they are published: stored images by their id (the engine sends a post's
  // media in upload order), then the new uploads.
  function images() {
    var found = [];
    form.querySelectorAll("[data-preview-image]").forEach(function (img) {
      var row = img.closest(".media-item");
      var box = row && row.querySelector("input[type=checkbox]");
      var removed = box && box.checked;
      var id = box ? parseInt(box.name.replace(/\D+/g, ""), 10) : 0;
      if (!removed) found.push({ src: img.src, alt: img.alt, order: id || 0 });
    });
    form.querySelectorAll("[data-library-image]").forEach(function (img) {
      var box = img.closest("label").querySelector("input");
      if (box.checked) found.push({ src: img.dataset.libraryImage, alt: img.dataset.alt, order: parseInt(box.value, 10) || 0 });
    });
    found.sort(function (a, b) { return a.order - b.order; });
    form.querySelectorAll("input[type=file]").forEach(function (input) {
      if (input.files && input.files[0]) {
        if (!input._previewUrl || input._previewFile !== input.files[0]) {
          input._previewFile = input.files[0];
          input._previewUrl = URL.createObjectURL(input.files[0]);
        }
        var alt = field(input.name.replace("image_", "alt_"));
        found.push({ src: input._previewUrl, alt: alt ? alt.value : "" });
      }
    });
    return found.slice(0, 4);
  }

  function textBlock(text, channel) {
    var p = document.createElement("p");
    p.className = "pv-text";
    var last = 0;
    text.replace(LINK, function (url, at) {
      p.appendChild(document.createTextNode(text.slice(last, at)));
      var a = document.createElement("span");
      a.className = "pv-link";
      // Mastodon shows links shortened; Bluesky and the page show them as typed.
      a.textContent = channel.network === "mastodon" && url.length > 33 ? url.replace(/^https?:\/\//, "").slice(0, 30) + "…" : url;
      p.appendChild(a);
      last = at + url.length;
      return url;
    });
    p.appendChild(document.createTextNode(text.slice(last)));
    return p;
  }

  function postCard(channel, text, media, label) {
    var card = document.createElement("article");
    card.className = "pv-post";
    var head = document.createElement("header");
    head.className = "pv-head";
    var avatar = document.createElement("span");
    avatar.className = "pv-avatar net-" + channel.network;
    avatar.setAttribute("aria-hidden", "true");
    avatar.textContent = (channel.display_name || channel.handle).charAt(0).toUpperCase();
    var who = document.createElement("span");
    who.className = "pv-who";
    var name = document.createElement("strong");
    name.textContent = channel.display_name;
    var handle = document.createElement("span");
    handle.className = "pv-handle";
    handle.textContent = (channel.network === "page" ? "" : "@") + channel.handle + (label ? " · " + label : "");
    who.append(name, handle);
    head.append(avatar, who);
    card.append(head, textBlock(text, channel));
    if (media.length) {
      var grid = document.createElement("div");
      grid.className = "pv-media pv-media-" + media.length;
      media.forEach(function (m) {
        var img = document.createElement("img");
        img.src = m.src;
        img.alt = m.alt || "";
        if (!m.alt) img.className = "pv-no-alt";
        grid.appendChild(img);
      });
      card.appendChild(grid);
    }
    return card;
  }

  // Instagram: the photo first (square, the carousel's dots under it), then the handle and
  // the caption, cut after two lines with "more" as the feed shows it, then the first comment.
  var IG_CAPTION_SHOWN = 125;
  var igShown = {}; // channel id → the photo shown, kept while the previews are redrawn
  function instagramCard(channel, text, media, comment) {
    var handle = channel.handle.replace(/^@/, "");
    var card = document.createElement("article");
    card.className = "pv-ig";
    var head = document.createElement("header");
    head.className = "pv-ig-head";
    var avatar = document.createElement("span");
    avatar.className = "pv-ig-avatar";
    avatar.setAttribute("aria-hidden", "true");
    avatar.textContent = (channel.display_name || handle).charAt(0).toUpperCase();
    var who = document.createElement("strong");
    who.textContent = handle;
    head.append(avatar, who);
    card.appendChild(head);

    var frame = document.createElement("div");
    frame.className = "pv-ig-frame";
    if (media.length) {
      var shown = document.createElement("img");
      var show = function (i) {
        igShown[channel.id] = i;
        shown.src = media[i].src;
        shown.alt = media[i].alt || "";
        shown.className = media[i].alt ? "" : "pv-no-alt";
        if (count) count.textContent = (i + 1) + "/" + media.length;
        dots.querySelectorAll("button").forEach(function (dot, j) {
          dot.setAttribute("aria-current", String(i === j));
        });
      };
      frame.appendChild(shown);
      var count = null;
      var dots = document.createElement("div");
      dots.className = "pv-ig-dots";
      if (media.length > 1) {
        count = document.createElement("span");
        count.className = "pv-ig-count";
        frame.appendChild(count);
        media.forEach(function (m, i) {
          var dot = document.createElement("button");
          dot.type = "button";
          dot.className = "pv-ig-dot";
          dot.setAttribute("aria-label", "Show photo " + (i + 1) + " of " + media.length);
          dot.addEventListener("click", function () { show(i); });
          dots.appendChild(dot);
        });
      }
      show(Math.min(igShown[channel.id] || 0, media.length - 1));
      card.appendChild(frame);
      if (media.length > 1) card.appendChild(dots);
    } else {
      frame.classList.add("is-empty");
      frame.textContent = "Instagram posts need a photo or a video.";
      card.appendChild(frame);
    }

    var actions = document.createElement("div");
    actions.className = "pv-ig-actions";
    actions.setAttribute("aria-hidden", "true");
    actions.textContent = "♡  ◯  ➤";
    card.appendChild(actions);

    var caption = document.createElement("p");
    caption.className = "pv-ig-caption";
    var name = document.createElement("strong");
    name.textContent = handle + " ";
    caption.appendChild(name);
    var chars = Array.from(text);
    if (chars.length > IG_CAPTION_SHOWN) {
      caption.appendChild(document.createTextNode(chars.slice(0, IG_CAPTION_SHOWN).join("").replace(/\s+$/, "") + "… "));
      var more = document.createElement("span");
      more.className = "pv-ig-more";
      more.textContent = "more";
      caption.appendChild(more);
    } else {
      caption.appendChild(document.createTextNode(text));
    }
    card.appendChild(caption);

    if (comment) {
      var first = document.createElement("p");
      first.className = "pv-ig-comment";
      var by = document.createElement("strong");
      by.textContent = handle + " ";
      first.append(by, document.createTextNode(comment));
      card.appendChild(first);
    }
    return card;
  }

  function renderPreviews() {
    var box = form.querySelector("[data-previews]");
    var list = chosen();
    box.replaceChildren();
    if (!list.length) {
      var hint = document.createElement("p");
      hint.className = "muted";
      hint.textContent = "Choose a channel to see how the post will look there.";
      box.appendChild(hint);
      return;
    }
    var media = images();
    var parts = threadParts();
    list.forEach(function (c) {
      var wrap = document.createElement("section");
      wrap.className = "cpv cpv-" + c.network;
      wrap.setAttribute("aria-label", "Preview on " + c.network_name + " " + c.handle);
      var title = document.createElement("h3");
      title.className = "cpv-title";
      title.innerHTML = '<span class="net net-' + c.network + '" aria-hidden="true"></span>';
      title.appendChild(document.createTextNode(c.network_name + " · " + c.handle));
      wrap.appendChild(title);
      if (c.network === "instagram") {
        var said = field("first_comment_" + c.id);
        wrap.appendChild(instagramCard(c, versionOf(c), media, said ? said.value.trim() : ""));
        box.appendChild(wrap);
        return;
      }
      wrap.appendChild(postCard(c, versionOf(c), media, ""));
      if (c.network !== "page") {
        parts.forEach(function (part, i) {
          var reply = postCard(c, part, [], "part " + (i + 2));
          reply.classList.add("pv-reply");
          wrap.appendChild(reply);
        });
        var comment = field("first_comment_" + c.id);
        if (comment && comment.value.trim()) {
          var first = postCard(c, comment.value, [], "first comment");
          first.classList.add("pv-reply");
          wrap.appendChild(first);
        }
      }
      box.appendChild(wrap);
    });
  }

  // --- Which zone reads the time: the channel's own when the post goes to one channel that
  // has one, else the workspace's (the same rule as PostForm.zone_for on the server) ---
  var zoneNote = form.querySelector("[data-zone-note]");
  var zonesEl = document.getElementById("composer-zones");
  var channelZones = zonesEl ? JSON.parse(zonesEl.textContent) : {};
  function renderZoneNote() {
    if (!zoneNote) return;
    var list = chosen();
    var own = list.length === 1 ? channelZones[String(list[0].id)] : "";
    zoneNote.textContent = own
      ? "Read in " + own + ", the time zone of " + list[0].handle + "."
      : "Read in " + zoneNote.dataset.workspaceZone + ", the workspace's time zone.";
  }

  function refresh() {
    renderTabs();
    renderCounters();
    renderPreviews();
    renderZoneNote();
  }

  // --- Inserting: hashtags, templates, signatures, UTM tags into the text being edited ---
  function insert(textarea, words) {
    var start = textarea.selectionStart, end = textarea.selectionEnd;
    var before = textarea.value.slice(0, start);
    var spacer = before && !/\s$/.test(before) ? " " : "";
    textarea.value = before + spacer + words + textarea.value.slice(end);
    var at = (before + spacer + words).length;
    textarea.focus();
    textarea.setSelectionRange(at, at);
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
  }

  form.addEventListener("focusin", function (event) {
    var t = event.target;
    if (t.matches("textarea[name=text], textarea[data-channel], textarea[data-part], textarea[data-comment]")) activeText = t;
  });

  form.querySelectorAll("[data-insert]").forEach(function (button) {
    button.addEventListener("click", function () {
      insert(activeText, button.dataset.insert);
      button.closest("details").removeAttribute("open");
    });
  });

  form.querySelectorAll("[data-copy-shared]").forEach(function (button) {
    button.addEventListener("click", function () {
      var own = field("override_" + button.dataset.copyShared);
      own.value = shared.value;
      own.focus();
      own.dispatchEvent(new Event("input", { bubbles: true }));
    });
  });

  form.querySelectorAll("[data-signature]").forEach(function (button) {
    button.addEventListener("click", function () {
      var channel = byId[button.dataset.signature];
      var own = field("override_" + channel.id);
      if (!own.value) own.value = shared.value;
      if (own.value.indexOf(channel.signature) < 0) own.value = own.value.replace(/\s+$/, "") + "\n\n" + channel.signature;
      own.focus();
      own.dispatchEvent(new Event("input", { bubbles: true }));
    });
  });

  var picker = form.querySelector("[data-template-picker]");
  if (picker) {
    var choice = picker.querySelector("[data-template-choice]");
    var fields = picker.querySelector("[data-template-fields]");
    var current = function () {
      return templates.filter(function (t) { return String(t.id) === choice.value; })[0];
    };
    var renderFields = function () {
      fields.replaceChildren();
      current().placeholders.forEach(function (name) {
        var id = "placeholder-" + name;
        var label = document.createElement("label");
        label.htmlFor = id;
        label.textContent = name.replace(/_/g, " ");
        var input = document.createElement("input");
        input.id = id;
        input.dataset.placeholder = name;
        fields.append(label, input);
      });
    };
    choice.addEventListener("change", renderFields);
    renderFields();
    picker.querySelector("[data-template-insert]").addEventListener("click", function () {
      var values = {};
      fields.querySelectorAll("[data-placeholder]").forEach(function (input) { values[input.dataset.placeholder] = input.value; });
      var text = current().text.replace(/\{([a-z][a-z0-9_]*)\}/gi, function (all, name) { return values[name] || all; });
      insert(activeText, text);
      picker.closest("details").removeAttribute("open");
    });
  }

  var utm = form.querySelector("[data-utm]");
  if (utm) {
    utm.addEventListener("click", function () {
      var target = activeText;
      var body = new FormData();
      body.append("text", target.value);
      body.append("campaign", (field("campaign") || {}).value || "");
      if (target.dataset.channel) body.append("channel", target.dataset.channel);
      post(form.dataset.utmUrl, body).then(function (answer) {
        if (answer.text !== undefined) {
          target.value = answer.text;
          target.dispatchEvent(new Event("input", { bubbles: true }));
          status("Links tagged with " + Object.keys(answer.tags).map(function (k) { return k + "=" + answer.tags[k]; }).join(", "));
        }
      }).catch(function () { status("Could not add UTM tags: the server did not answer."); });
    });
  }

  // --- Autosave: a draft per person per post on the server, and this browser's copy ---
  var statusBox = document.querySelector("[data-autosave-status]");
  var storageKey = "socialdesk-composer:" + form.dataset.autosaveUrl + ":" + (form.dataset.post || "new");
  var timer = null;
  var submitting = false;

  function status(text) { if (statusBox) statusBox.textContent = text; }

  function post(url, body) {
    var token = form.querySelector("input[name=csrfmiddlewaretoken]").value;
    return fetch(url, { method: "POST", body: body, headers: { "X-CSRFToken": token }, credentials: "same-origin" })
      .then(function (response) { return response.json(); });
  }

  function draftBody() {
    var body = new FormData(form);
    Array.from(body.keys()).forEach(function (key) {
      if (body.get(key) instanceof File) body.delete(key);
    });
    body.delete("csrfmiddlewaretoken");
    if (form.dataset.post) body.set("post", form.dataset.post);
    return body;
  }

  function keepLocally(pending) {
    try {
      var values = {};
      form.querySelectorAll("textarea, input[type=text]").forEach(function (el) { if (el.name) values[el.name] = el.value; });
      localStorage.setItem(storageKey, JSON.stringify({ pending: pending, values: values }));
    } catch (e) { /* private mode or full storage: the server copy still works */ }
  }

  // What the page held when it opened, when that is what is saved (no draft was restored):
  // typing back to it is "no unsaved changes", and the server's draft is dropped.
  function snapshot() {
    return new URLSearchParams(draftBody()).toString();
  }
  var baseline = document.querySelector(".composer-draft-notice") ? null : snapshot();
  var inflight = null;

  function forgetLocally() {
    try { localStorage.removeItem(storageKey); } catch (e) { /* ignore */ }
  }

  function save() {
    if (submitting) return;
    var unchanged = baseline !== null && snapshot() === baseline;
    var body = draftBody();
    if (unchanged) body.set("unchanged", "1"); else keepLocally(true);
    status(unchanged ? "" : "Saving…");
    inflight = post(form.dataset.autosaveUrl, body).then(function (answer) {
      if (answer.saved_label) {
        // The server has it now: this browser's copy is no longer needed.
        forgetLocally();
        status(unchanged ? "" : "Saved " + answer.saved_label);
      } else {
        status("Not saved: " + (answer.error || "the server refused it") + " — kept in this browser.");
      }
    }).catch(function () {
      status("Offline — kept in this browser; will save when you type again.");
    }).then(function () { inflight = null; });
  }

  // Panels other apps put in the page (the workflow's checks, review's comments) have forms of
  // their own: what happens in them is not the post's content.
  var OTHER_PANELS = "#wf-panel, #live-checks, #comments";

  function changed(event) {
    if (event && event.target && event.target.closest && event.target.closest(OTHER_PANELS)) return;
    refresh();
    if (timer) clearTimeout(timer);
    status(baseline !== null && snapshot() === baseline ? "" : "Unsaved changes…");
    timer = setTimeout(save, 800);
    // The workflow's live checks (htmx) listen for this and post the fields again.
    form.dispatchEvent(new CustomEvent("composer:changed"));
  }

  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
  form.addEventListener("submit", function (event) {
    if (event.target !== form) return; // a panel's own form (a tick, a comment)
    submitting = true;
    if (timer) clearTimeout(timer);
    forgetLocally();
    if (inflight && !form.dataset.flushed) {
      // An autosave still on its way would land after the save and bring back a draft of
      // what was just saved (the false "unsaved changes" banner): let it land first.
      event.preventDefault();
      var submitter = event.submitter;
      var go = function () {
        form.dataset.flushed = "1";
        if (form.requestSubmit) form.requestSubmit(submitter || undefined); else form.submit();
      };
      Promise.race([inflight, new Promise(function (done) { setTimeout(done, 3000); })]).then(go, go);
    }
  });

  // A copy the server never confirmed (the network was down) comes back from this browser.
  try {
    var kept = JSON.parse(localStorage.getItem(storageKey) || "null");
    if (kept && kept.pending && !document.querySelector(".composer-draft-notice")) {
      Object.keys(kept.values).forEach(function (name) {
        var el = field(name);
        if (el && !el.value) el.value = kept.values[name];
      });
      status("Restored unsaved text from this browser");
    }
  } catch (e) { /* ignore */ }

  refresh();
})();
