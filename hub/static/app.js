/* Returns Hub: behaviour every page shares. */
(function () {
  "use strict";
  document.addEventListener("htmx:responseError", (e) => {
    const xhr = e.detail.xhr;
    if (xhr && xhr.status >= 500) {
      const box = document.getElementById("toasts");
      if (!box) return;
      const el = document.createElement("div");
      el.className = "toast toast-error";
      el.setAttribute("role", "alert");
      el.textContent = "The server had a problem (" + xhr.status + "); nothing was changed. Try again.";
      box.appendChild(el);
    }
  });
  document.addEventListener("htmx:sendError", () => {
    const box = document.getElementById("toasts");
    if (!box) return;
    const el = document.createElement("div");
    el.className = "toast toast-error";
    el.setAttribute("role", "alert");
    el.textContent = "Cannot reach Returns Hub. Check your connection; nothing was changed.";
    box.appendChild(el);
  });
})();
