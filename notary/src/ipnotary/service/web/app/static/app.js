// The web app's one script (no inline script: the Content-Security-Policy allows only this
// file). Every page works without it; with it, uploads show their progress and a record's page
// follows the record to its certificate without reloading.
"use strict";

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.getAttribute("content") : "";
}

// Uploads: send the form with XMLHttpRequest (the only browser API that reports upload progress),
// the CSRF token in a header, and go to the new record's page when the service answers.
function enhanceUpload(form) {
  const box = form.querySelector("[data-upload-progress]");
  const bar = box && box.querySelector("progress");
  const percent = box && box.querySelector("[data-upload-percent]");
  const error = form.querySelector("[data-upload-error]");
  const button = form.querySelector('button[type="submit"]');
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (error) { error.hidden = true; error.textContent = ""; }
    const request = new XMLHttpRequest();
    request.open("POST", form.action);
    request.setRequestHeader("Accept", "application/json");
    request.setRequestHeader("X-CSRF-Token", csrfToken());
    if (box) { box.hidden = false; bar.value = 0; percent.textContent = "0%"; }
    if (button) button.disabled = true;
    request.upload.addEventListener("progress", (e) => {
      if (!e.lengthComputable || !bar) return;
      const p = Math.floor((e.loaded / e.total) * 100);
      bar.value = p;
      percent.textContent = p + "%";
    });
    request.addEventListener("load", () => {
      let answer = {};
      try { answer = JSON.parse(request.responseText); } catch (_) { answer = {}; }
      if (request.status >= 200 && request.status < 300 && answer.location) {
        window.location.assign(answer.location);
        return;
      }
      if (button) button.disabled = false;
      if (error) {
        const message = document.createElement("p");
        message.textContent = answer.message || answer.title || String(request.status);
        error.appendChild(message);
        if (answer.detail) {
          const detail = document.createElement("p");
          detail.className = "detail";
          detail.lang = "en";
          detail.textContent = answer.detail;
          error.appendChild(detail);
        }
        error.hidden = false;
        error.focus();
      }
    });
    request.addEventListener("error", () => {
      if (button) button.disabled = false;
      if (error) { error.textContent = String(request.status || "network error"); error.hidden = false; }
    });
    request.send(new FormData(form));
  });
}

// A record's stages: ask the service every second (then less often) where the record stands,
// move the stages on, and show the certificate's links once it is ready.
function followProgress(list) {
  const url = list.getAttribute("data-progress-url");
  const summary = document.querySelector("[data-progress-summary]");
  const doneText = list.getAttribute("data-done-text");
  const waitingText = list.getAttribute("data-waiting-text");
  let delay = 1000;
  let lastSummary = summary ? summary.textContent : "";
  async function poll() {
    let answer;
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok) { delay = Math.min(delay * 2, 10000); window.setTimeout(poll, delay); return; }
      answer = await response.json();
    } catch (_) {
      delay = Math.min(delay * 2, 10000);
      window.setTimeout(poll, delay);
      return;
    }
    for (const [name, stage] of Object.entries(answer.stages)) {
      const item = list.querySelector('[data-stage="' + name + '"]');
      if (!item) continue;
      item.classList.toggle("done", stage.done);
      item.classList.toggle("waiting", !stage.done);
      item.querySelector(".stage-mark").textContent = stage.done ? "✓" : "…";
      item.querySelector(".stage-state").textContent = stage.done ? doneText : waitingText;
      item.querySelector(".stage-time").textContent = stage.at;
    }
    list.setAttribute("data-status", answer.status);
    if (summary && answer.summary !== lastSummary) {
      summary.textContent = answer.summary;
      lastSummary = answer.summary;
    }
    if (answer.certified) {
      for (const section of document.querySelectorAll("[data-when-certified]")) section.hidden = false;
      list.setAttribute("data-certified", "true");
      return;
    }
    delay = Math.min(delay + 250, 3000);
    window.setTimeout(poll, delay);
  }
  window.setTimeout(poll, delay);
}

function confirmForms() {
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
    });
  }
}

document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("form[data-upload]")) enhanceUpload(form);
  for (const list of document.querySelectorAll("[data-progress-url]")) followProgress(list);
  confirmForms();
  document.body.setAttribute("data-ready", "true");
});
