// telsec console: upload progress and analysis progress. No framework.
(function () {
  "use strict";
  var form = document.getElementById("upload");
  if (form) {
    var input = document.getElementById("file");
    var drop = document.getElementById("drop");
    var bar = document.getElementById("sent");
    ["dragenter", "dragover"].forEach(function (name) {
      drop.addEventListener(name, function (e) { e.preventDefault(); drop.classList.add("over"); });
    });
    ["dragleave", "drop"].forEach(function (name) {
      drop.addEventListener(name, function (e) { e.preventDefault(); drop.classList.remove("over"); });
    });
    drop.addEventListener("drop", function (e) {
      if (e.dataTransfer && e.dataTransfer.files.length) {
        input.files = e.dataTransfer.files;
        drop.textContent = e.dataTransfer.files[0].name;
      }
    });
    input.addEventListener("change", function () {
      if (input.files.length) { drop.textContent = input.files[0].name; }
    });
    form.addEventListener("submit", function (e) {
      if (!window.XMLHttpRequest || !window.FormData) { return; }
      e.preventDefault();
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("Accept", "application/json");
      bar.hidden = false;
      xhr.upload.addEventListener("progress", function (ev) {
        if (ev.lengthComputable) { bar.value = Math.round(100 * ev.loaded / ev.total); }
      });
      xhr.addEventListener("load", function () {
        if (xhr.status === 200) {
          window.location = JSON.parse(xhr.responseText).url;
        } else {
          document.open(); document.write(xhr.responseText); document.close();
        }
      });
      xhr.send(new FormData(form));
    });
  }
  var job = document.getElementById("job");
  if (job && (job.dataset.state === "queued" || job.dataset.state === "running")) {
    var poll = function () {
      fetch(job.dataset.status, { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (s) {
          var bar = document.getElementById("job-progress");
          if (bar) { bar.value = s.progress; }
          document.getElementById("job-state").textContent = s.state;
          if (s.state === "queued" || s.state === "running") {
            setTimeout(poll, 500);
          } else {
            window.location.reload();
          }
        })
        .catch(function () { setTimeout(poll, 2000); });
    };
    setTimeout(poll, 300);
  }
})();
