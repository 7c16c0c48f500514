// Progressive enhancement only: every form works without this file. For an upload form marked data-progress, send it
// with XMLHttpRequest so the browser can show upload progress, then show the server's answer page. Loaded from
// /static (the Content-Security-Policy allows no inline script).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("form[data-progress]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      var bar = document.getElementById(form.getAttribute("data-progress"));
      var text = document.getElementById(form.getAttribute("data-progress") + "-text");
      if (!bar || !window.XMLHttpRequest || !window.FormData) { return; }
      event.preventDefault();
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      bar.hidden = false;
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) {
          var pct = Math.round((e.loaded / e.total) * 100);
          bar.value = pct;
          if (text) { text.textContent = "上传 uploading " + pct + "%"; }
        }
      });
      xhr.upload.addEventListener("load", function () {
        bar.removeAttribute("value");
        if (text) { text.textContent = "导入中 importing…"; }
      });
      xhr.addEventListener("load", function () {
        document.open();
        document.write(xhr.responseText);
        document.close();
      });
      xhr.addEventListener("error", function () { form.submit(); });
      xhr.send(new FormData(form));
    });
  });
});
