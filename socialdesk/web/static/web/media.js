// Media library upload: drop or choose several files; each is sent on its own request with
// its own progress bar and its own error. Without JavaScript the form posts every file at once.
(function () {
  "use strict";

  var form = document.querySelector("[data-media-upload]");
  if (!form) return;
  var zone = form.querySelector("[data-dropzone]");
  var input = form.querySelector("input[type=file]");
  var list = form.querySelector("[data-upload-list]");
  var pending = 0;
  var uploaded = 0; // since the grid was last reloaded

  function row(file) {
    var item = document.createElement("li");
    item.className = "upload-item";
    var name = document.createElement("span");
    name.className = "upload-name";
    name.textContent = file.name;
    var bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", "Uploading " + file.name);
    var status = document.createElement("span");
    status.className = "upload-status";
    status.textContent = "Waiting…";
    item.append(name, bar, status);
    list.prepend(item);
    return { item: item, bar: bar, status: status };
  }

  function finish(view, ok, message) {
    view.item.classList.add(ok ? "is-done" : "is-failed");
    view.bar.value = ok ? 100 : view.bar.value;
    view.status.textContent = message;
    if (!ok) view.status.setAttribute("role", "alert");
    pending -= 1;
    if (ok) uploaded += 1;
    if (pending === 0 && uploaded > 0 && window.htmx) {
      // Show the new files once the batch is done: reload the grid with the current search.
      // Only when something was added, so a refused file never resets cards being edited.
      uploaded = 0;
      window.htmx.ajax("GET", window.location.href, { target: "#media-results", swap: "outerHTML" });
    }
  }

  function send(file) {
    var view = row(file);
    var data = new FormData();
    data.append("file", file);
    ["csrfmiddlewaretoken", "folder", "tags"].forEach(function (field) {
      var element = form.elements[field];
      if (element) data.append(field, element.value);
    });
    var request = new XMLHttpRequest();
    request.open("POST", form.action);
    request.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    request.upload.addEventListener("progress", function (event) {
      if (!event.lengthComputable) return;
      var percent = Math.round((event.loaded / event.total) * 100);
      view.bar.value = percent;
      view.status.textContent = percent + " %";
    });
    request.addEventListener("load", function () {
      var body = {};
      try { body = JSON.parse(request.responseText); } catch (error) { /* not JSON */ }
      if (request.status === 201) {
        finish(view, true, "Uploaded");
      } else {
        var errors = body.errors || ["The server answered " + request.status + "."];
        finish(view, false, errors.join(" "));
      }
    });
    request.addEventListener("error", function () {
      finish(view, false, "The connection failed; try again.");
    });
    pending += 1;
    view.status.textContent = "0 %";
    request.send(data);
  }

  function sendAll(files) {
    Array.prototype.forEach.call(files, send);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (input.files.length) sendAll(input.files);
    input.value = "";
  });
  input.addEventListener("change", function () {
    if (!input.files.length) return;
    sendAll(input.files);
    input.value = "";
  });

  ["dragenter", "dragover"].forEach(function (type) {
    zone.addEventListener(type, function (event) {
      event.preventDefault();
      zone.classList.add("is-over");
    });
  });
  ["dragleave", "drop"].forEach(function (type) {
    zone.addEventListener(type, function (event) {
      event.preventDefault();
      zone.classList.remove("is-over");
    });
  });
  zone.addEventListener("drop", function (event) {
    if (event.dataTransfer && event.dataTransfer.files.length) sendAll(event.dataTransfer.files);
  });
})();
