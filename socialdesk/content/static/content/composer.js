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

  // X weighs what it counts (networks/x.py text_length, twitter-text's configuration): a link
  // 23, an emoji 2, a code point in these ranges 1 and any other (CJK, most non-Latin
  // scripts) 2. Its link pattern also takes a bare domain with a common top-level domain.
  var X_LIGHT = [[0, 4351], [8192, 8205], [8208, 8223], [8242, 8247]];
  var X_URL = /(?<![\w@.])(?:https?:\/\/[^\s<>"]+|(?:www\.)?(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?:com|org|net|io|co|dev|app|shop|info|biz|me|uk|de|fr|es|it|nl|eu|us|ca|au|jp)\b(?:\/[^\s<>"]*)?)/gi;
  var X_TRAILING = /[.,!?;:'")\]}]+$/;
  var X_EMOJI = /\p{Extended_Pictographic}|\p{Regional_Indicator}|\u20e3/u;

  function xPieces(text) {
    if (!segmenter) return Array.from(text);
    return Array.from(segmenter.segment(text), function (s) { return s.segment; });
  }
  function xGraphemeWeight(g) {
    if (X_EMOJI.test(g)) return 2;
    var w = 0;
    for (var ch of g) {
      var p = ch.codePointAt(0);
      w += X_LIGHT.some(function (r) { return p >= r[0] && p <= r[1]; }) ? 1 : 2;
    }
    return w;
  }
  // The weight of ``text`` (NFC, as X reads it) and where, in that text, ``max`` is passed.
  function xWeigh(text, max) {
    text = text.normalize("NFC");
    var total = 0, cutAt = -1, at = 0;
    var add = function (w, end) {
      total += w;
      if (cutAt < 0 && max !== undefined && total > max) cutAt = end;
    };
    var plain = function (chunk) {
      xPieces(chunk).forEach(function (g) { add(xGraphemeWeight(g), at); at += g.length; });
    };
    var last = 0;
    text.replace(X_URL, function (link, start) {
      var kept = link.replace(X_TRAILING, "");
      plain(text.slice(last, start));
      at = start;
      add(23, start);
      at = start + kept.length;
      last = at;
      return link;
    });
    plain(text.slice(last));
    return { text: text, total: total, cutAt: cutAt < 0 ? text.length : cutAt };
  }

  function count(rules, text) {
    if (rules.unit === "weighted") return xWeigh(text).total; // links included, at 23
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

  // --- The networks of issue 16: each card shaped like the network's own post ---
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function avatarOf(channel, className) {
    var a = el("span", className + " net-" + channel.network, (channel.display_name || channel.handle).replace(/^@/, "").charAt(0).toUpperCase());
    a.setAttribute("aria-hidden", "true");
    return a;
  }
  function photo(m, className) {
    var img = document.createElement("img");
    img.src = m.src;
    img.alt = m.alt || "";
    img.className = (className || "") + (m.alt ? "" : " pv-no-alt");
    return img;
  }
  function grid(media, className) {
    var box = el("div", "pv-grid pv-grid-" + Math.min(media.length, 4) + (className ? " " + className : ""));
    media.forEach(function (m) { box.appendChild(photo(m)); });
    return box;
  }
  // Where a text passes the network's limit (code points unless the network weighs them),
  // the part beyond it: what the network would refuse, struck through as the counters say.
  function cutAt(text, max, weighted) {
    if (!max) return text.length;
    if (weighted) return xWeigh(text, max).cutAt;
    var chars = Array.from(text);
    return chars.length > max ? chars.slice(0, max).join("").length : text.length;
  }
  function limited(text, channel, max, options) {
    options = options || {};
    if (options.weighted) text = text.normalize("NFC");
    var at = cutAt(text, max, options.weighted);
    var p = textBlock(text.slice(0, at), channel);
    if (options.className) p.className += " " + options.className;
    if (at < text.length) {
      var over = el("span", "pv-over");
      over.appendChild(el("span", "visually-hidden", " Over " + max.toLocaleString() + ", not published: "));
      over.appendChild(document.createTextNode(text.slice(at)));
      p.appendChild(over);
    }
    return p;
  }
  // A text shown up to ``shown`` code points, then "…" and the network's own "more" word.
  function folded(text, channel, shown, more, className) {
    var chars = Array.from(text);
    if (chars.length <= shown) return textBlock(text, channel);
    var p = textBlock(chars.slice(0, shown).join("").replace(/\s+$/, "") + "…", channel);
    if (className) p.className += " " + className;
    p.appendChild(document.createTextNode(" "));
    p.appendChild(el("span", "pv-more", more));
    return p;
  }
  function refused(what) {
    return el("p", "pv-refused", what);
  }
  function firstLine(text) {
    var trimmed = text.trim();
    var at = trimmed.indexOf("\n");
    return at < 0 ? [trimmed, ""] : [trimmed.slice(0, at).trim(), trimmed.slice(at + 1).trim()];
  }
  function actions(className, words) {
    var row = el("div", "pv-actions " + className);
    row.setAttribute("aria-hidden", "true");
    words.forEach(function (w) { row.appendChild(el("span", "", w)); });
    return row;
  }
  function host(url) {
    return url.replace(/^https?:\/\//, "").replace(/[\/?#].*$/, "").replace(/^www\./, "");
  }

  // Facebook Page: page name, "Just now · 🌐", text, photos in Facebook's grid (one big
  // and the rest under it), a link card when there is no photo, the bar, then comments
  // (thread parts and the first comment are published as the Page's comments).
  function facebookCard(c, text, media, parts, comment) {
    var card = el("article", "pv-card pv-fb");
    var head = el("header", "pv-row");
    var who = el("span", "pv-who");
    who.append(el("strong", "", c.display_name), el("span", "pv-meta", "Just now · 🌐"));
    head.append(avatarOf(c, "pv-round"), who);
    card.append(head, textBlock(text, c));
    if (media.length) card.appendChild(grid(media, "pv-fb-photos"));
    else {
      var link = (text.match(LINK) || [])[0];
      if (link) {
        var box = el("div", "pv-fb-link");
        box.append(el("span", "pv-fb-link-img"), el("span", "pv-fb-link-host", host(link).toUpperCase()), el("span", "pv-fb-link-url", link));
        box.firstChild.setAttribute("aria-hidden", "true");
        card.appendChild(box);
      }
    }
    card.appendChild(actions("pv-fb-bar", ["👍 Like", "💬 Comment", "↗ Share"]));
    parts.concat(comment ? [comment] : []).forEach(function (said) {
      var row = el("div", "pv-fb-comment");
      var bubble = el("div", "pv-fb-bubble");
      bubble.append(el("strong", "", c.display_name), textBlock(said, c));
      row.append(avatarOf(c, "pv-round pv-small"), bubble);
      card.appendChild(row);
    });
    return card;
  }

  // Google Business Profile: an update with the business name, one photo, the text (1,500)
  // and the "Learn more" button Socialdesk adds for the text's first link.
  function googleCard(c, text, media, parts, comment) {
    var card = el("article", "pv-card pv-gbp");
    var head = el("header", "pv-row");
    var who = el("span", "pv-who");
    who.append(el("strong", "", c.display_name), el("span", "pv-meta", "Just now"));
    head.append(avatarOf(c, "pv-round"), who);
    card.appendChild(head);
    if (media.length) card.appendChild(photo(media[0], "pv-gbp-photo"));
    card.appendChild(limited(text, c, 1500));
    if (text.match(LINK)) card.appendChild(el("span", "pv-gbp-button", "Learn more"));
    else card.appendChild(el("p", "pv-note", "No button: a link in the text becomes “Learn more”."));
    if (media.length > 1) card.appendChild(el("p", "pv-note", "Google shows the first photo."));
    if (parts.length) card.appendChild(refused("A Google Business Profile update has no thread: the parts are refused."));
    if (comment) card.appendChild(refused("Google Business Profile updates have no comments: the first comment is refused."));
    return card;
  }

  // LinkedIn page: the organisation, its followers line, the text folded after about 210
  // characters with "…see more", the photos, the bar, then the first comment.
  function linkedinCard(c, text, media, parts, comment) {
    var card = el("article", "pv-card pv-li");
    var head = el("header", "pv-row");
    var who = el("span", "pv-who");
    who.append(el("strong", "", c.display_name), el("span", "pv-meta", "Page followers"), el("span", "pv-meta", "Just now · 🌐"));
    head.append(avatarOf(c, "pv-square"), who);
    card.append(head, folded(text, c, 210, "see more", "pv-li-text"));
    if (media.length) card.appendChild(grid(media));
    card.appendChild(actions("pv-li-bar", ["👍 Like", "💬 Comment", "⟲ Repost", "➤ Send"]));
    if (parts.length) card.appendChild(refused("LinkedIn has no threads: the parts are refused (use a first comment)."));
    if (comment) {
      var row = el("div", "pv-li-comment");
      var bubble = el("div", "pv-li-bubble");
      bubble.append(el("strong", "", c.display_name), textBlock(comment, c));
      row.append(avatarOf(c, "pv-square pv-small"), bubble);
      card.appendChild(row);
    }
    return card;
  }

  // X and Threads: posts one under the other, joined by a line from avatar to avatar (the
  // thread parts, then the first comment, each a reply to the one before).
  function threadCard(c, text, media, parts, comment, network) {
    var x = network === "x";
    var card = el("div", "pv-thread " + (x ? "pv-x" : "pv-th"));
    var said = [text].concat(parts, comment ? [comment] : []);
    said.forEach(function (words, i) {
      var post = el("article", "pv-tpost" + (i < said.length - 1 ? " has-next" : ""));
      var side = el("div", "pv-tside");
      side.appendChild(avatarOf(c, "pv-round"));
      var body = el("div", "pv-tbody");
      var head = el("div", "pv-thead");
      if (x) {
        head.append(el("strong", "", c.display_name), el("span", "pv-meta", "@" + c.handle.replace(/^@/, "") + " · now"));
      } else {
        head.append(el("strong", "", c.handle.replace(/^@/, "")), el("span", "pv-meta", "now"));
      }
      body.appendChild(head);
      if (i === said.length - 1 && comment && i > 0) body.appendChild(el("span", "pv-meta", "first comment"));
      body.appendChild(limited(words, c, x ? 280 : 500, { weighted: x }));
      if (i === 0 && media.length) {
        body.appendChild(x ? grid(media, "pv-x-media") : (function () {
          // A row that scrolls sideways, as Threads shows it: focusable so keys scroll it.
          var row = el("div", "pv-th-media");
          row.tabIndex = 0;
          row.setAttribute("role", "group");
          row.setAttribute("aria-label", "Photos, scroll sideways");
          media.forEach(function (m) { row.appendChild(photo(m)); });
          return row;
        })());
      }
      body.appendChild(x ? actions("pv-x-actions", ["💬", "⟲", "♡", "▥"]) : actions("pv-th-actions", ["♡", "💬", "⟲", "➤"]));
      post.append(side, body);
      card.appendChild(post);
    });
    return card;
  }

  // YouTube: the video's frame (16:9, or 9:16 for a Short when the picture is portrait), the
  // title (the first line, 100 characters), the channel, the description under it.
  var tallPhotos = {}; // src → portrait, kept so a redraw does not flick from 16:9 to 9:16
  function youtubeCard(c, text, media, parts, comment) {
    var card = el("article", "pv-card pv-yt");
    var frame = el("div", "pv-yt-frame");
    if (media.length) {
      var img = photo(media[0]);
      var badge = el("span", "pv-yt-short", "Shorts");
      var shape = function (tall) {
        frame.classList.toggle("is-short", tall);
        badge.hidden = !tall;
      };
      shape(tallPhotos[img.src] === true);
      img.addEventListener("load", function () {
        tallPhotos[img.src] = img.naturalHeight >= img.naturalWidth;
        shape(tallPhotos[img.src]);
      });
      frame.append(img, badge);
    } else {
      frame.classList.add("is-empty");
      frame.textContent = "A YouTube post is one video.";
    }
    var split = firstLine(text);
    card.append(frame, limited(split[0], c, 100, { className: "pv-yt-title" }));
    var row = el("div", "pv-row pv-yt-channel");
    row.append(avatarOf(c, "pv-round pv-small"), el("strong", "", c.display_name), el("span", "pv-meta", "0 views · now"));
    card.appendChild(row);
    if (split[1]) {
      var desc = textBlock(split[1], c);
      desc.classList.add("pv-yt-desc");
      card.appendChild(desc);
    }
    if (parts.length) card.appendChild(refused("A YouTube video has no thread: the parts are refused."));
    if (comment) {
      var said = el("div", "pv-row pv-yt-comment");
      var words = el("div", "pv-who");
      words.append(el("strong", "", "@" + c.handle.replace(/^@/, "")), textBlock(comment, c));
      said.append(avatarOf(c, "pv-round pv-small"), words);
      card.appendChild(said);
    }
    return card;
  }

  // TikTok: a 9:16 frame, the caption over its bottom, the side buttons.
  function tiktokCard(c, text, media, parts, comment) {
    var card = el("article", "pv-card pv-tt");
    if (media.length) card.appendChild(photo(media[0], "pv-tt-video"));
    var side = actions("pv-tt-side", ["♥", "💬", "↗"]);
    var over = el("div", "pv-tt-caption");
    over.append(el("strong", "", "@" + c.handle.replace(/^@/, "")), folded(text, c, 90, "more"));
    card.append(side, over);
    var notes = el("div", "pv-notes");
    if (!media.length) notes.appendChild(refused("A TikTok post is one video."));
    if (Array.from(text).length > 2200) notes.appendChild(refused("The caption is over 2,200 characters: TikTok refuses it."));
    if (parts.length) notes.appendChild(refused("TikTok has no threads: the parts are refused."));
    if (comment) notes.appendChild(refused("TikTok's API cannot comment: the first comment is refused."));
    var wrap = el("div", "pv-tt-wrap");
    wrap.append(card, notes);
    return wrap;
  }

  // Pinterest: the pin's image with its round corners, the board's name, the description
  // (500). Socialdesk's pins carry no title: Pinterest takes it from a link card only.
  function pinterestCard(c, text, media, parts, comment) {
    var card = el("article", "pv-pin");
    if (media.length) {
      card.appendChild(photo(media[0], "pv-pin-img"));
      if (media.length > 1) card.appendChild(el("span", "pv-pin-count", "1 of " + media.length));
    } else card.appendChild(el("div", "pv-pin-img is-empty", "A pin needs an image or a video."));
    card.appendChild(limited(text, c, 500, { className: "pv-pin-desc" }));
    card.appendChild(el("p", "pv-note", "No title: Pinterest takes a pin's title from a link card, which this post has not."));
    var who = el("div", "pv-row");
    who.append(avatarOf(c, "pv-round pv-small"), el("span", "pv-meta", c.display_name));
    card.appendChild(who);
    if (parts.length) card.appendChild(refused("Pinterest has no threads: the parts are refused."));
    if (comment) card.appendChild(refused("Pinterest's API cannot comment: the first comment is refused."));
    return card;
  }

  // Telegram channel: bubbles with the channel's name, the photos above the text (a caption
  // of 1,024 with a photo, else 4,096), each thread part one more message.
  function telegramCard(c, text, media, parts, comment) {
    var chat = el("div", "pv-tg");
    [text].concat(parts).forEach(function (words, i) {
      var bubble = el("article", "pv-tg-bubble");
      if (i === 0 && media.length) bubble.appendChild(grid(media, "pv-tg-album"));
      bubble.appendChild(el("strong", "pv-tg-name", c.display_name));
      bubble.appendChild(limited(words, c, i === 0 && media.length ? 1024 : 4096));
      bubble.appendChild(el("span", "pv-tg-time", "now"));
      chat.appendChild(bubble);
    });
    if (comment) chat.appendChild(refused("A Telegram channel's comments live in its discussion group: the first comment is refused."));
    return chat;
  }

  // Discord: the webhook's name with the app tag, the message, the attachments; thread
  // parts follow as further messages under the same name.
  function discordCard(c, text, media, parts, comment) {
    var chat = el("article", "pv-dc");
    var head = el("div", "pv-dc-head");
    head.append(el("strong", "", c.display_name), el("span", "pv-dc-tag", "APP"), el("span", "pv-dc-time", "Today at now"));
    chat.append(avatarOf(c, "pv-round"), head);
    var body = el("div", "pv-dc-body");
    body.appendChild(limited(text, c, 2000));
    if (media.length) body.appendChild(grid(media, "pv-dc-files"));
    parts.forEach(function (words) { body.appendChild(limited(words, c, 2000)); });
    chat.appendChild(body);
    if (comment) chat.appendChild(refused("A webhook message has no comments: the first comment is refused."));
    return chat;
  }

  // Matrix room: the sender's messages, each image its own event, the thread parts in the
  // announcement's thread, the first comment a reply.
  function matrixCard(c, text, media, parts, comment) {
    var room = el("article", "pv-mx");
    var head = el("div", "pv-row");
    head.append(avatarOf(c, "pv-round pv-small"), el("strong", "pv-mx-name", c.display_name), el("span", "pv-meta", c.handle));
    room.append(head, textBlock(text, c));
    media.forEach(function (m) { room.appendChild(photo(m, "pv-mx-img")); });
    if (parts.length) {
      var thread = el("div", "pv-mx-thread");
      thread.appendChild(el("span", "pv-meta", "Thread · " + parts.length + (parts.length === 1 ? " reply" : " replies")));
      parts.forEach(function (words) { thread.appendChild(textBlock(words, c)); });
      room.appendChild(thread);
    }
    if (comment) {
      var reply = el("div", "pv-mx-reply");
      var quote = el("blockquote", "pv-mx-quote", "In reply to " + c.display_name);
      reply.append(quote, textBlock(comment, c));
      room.appendChild(reply);
    }
    return room;
  }

  // Nostr: a note signed by the channel's key (shown short, as clients do), replies for the
  // thread parts and the first comment. Relays keep no files: images are refused.
  function nostrCard(c, text, media, parts, comment) {
    var key = c.handle.length > 20 ? c.handle.slice(0, 10) + "…" + c.handle.slice(-4) : c.handle;
    var card = el("div", "pv-thread pv-ns");
    var said = [text].concat(parts, comment ? [comment] : []);
    said.forEach(function (words, i) {
      var post = el("article", "pv-tpost" + (i < said.length - 1 ? " has-next" : ""));
      var side = el("div", "pv-tside");
      side.appendChild(avatarOf(c, "pv-round"));
      var body = el("div", "pv-tbody");
      var head = el("div", "pv-thead");
      head.append(el("strong", "", c.display_name), el("span", "pv-meta pv-ns-key", key));
      body.append(head, textBlock(words, c));
      post.append(side, body);
      card.appendChild(post);
    });
    if (media.length) card.appendChild(refused("Nostr notes carry no files here: link the image in the text instead."));
    return card;
  }

  // WordPress: the first line is the title, the first image the featured image, the rest
  // (and the thread parts, as more paragraphs) the post, shown as its excerpt of 55 words.
  function wordpressCard(c, text, media, parts, comment) {
    var card = el("article", "pv-wp");
    if (media.length) card.appendChild(photo(media[0], "pv-wp-featured"));
    var split = firstLine(text);
    card.appendChild(el("p", "pv-wp-title", split[0] || "(no title: WordPress needs a first line)"));
    card.appendChild(el("p", "pv-meta", "By " + c.display_name + " · Just now"));
    var words = [split[1]].concat(parts).join(" ").split(/\s+/).filter(Boolean);
    var excerpt = words.slice(0, 55).join(" ") + (words.length > 55 ? " […]" : "");
    card.appendChild(el("p", "pv-wp-excerpt", excerpt));
    if (comment) {
      var said = el("div", "pv-wp-comment");
      said.append(el("strong", "", c.display_name + " says:"), textBlock(comment, c));
      card.appendChild(said);
    }
    return card;
  }

  var CARDS = {
    facebook: facebookCard,
    google_business: googleCard,
    linkedin: linkedinCard,
    x: function (c, t, m, p, f) { return threadCard(c, t, m, p, f, "x"); },
    threads: function (c, t, m, p, f) { return threadCard(c, t, m, p, f, "threads"); },
    youtube: youtubeCard,
    tiktok: tiktokCard,
    pinterest: pinterestCard,
    telegram: telegramCard,
    discord: discordCard,
    matrix: matrixCard,
    nostr: nostrCard,
    wordpress: wordpressCard
  };

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
      if (CARDS[c.network]) {
        var own = field("first_comment_" + c.id);
        wrap.appendChild(CARDS[c.network](c, versionOf(c), media, parts, own ? own.value.trim() : ""));
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
