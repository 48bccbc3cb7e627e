/* Savitarna embed helper for host pages (a utility's own website).

   <iframe data-savitarna title="Registration" loading="lazy" width="100%" height="900"
           src="https://APP/TENANT/embed/register"></iframe>
   <script src="https://APP/static/embed.js" defer></script>

   It sizes each such iframe to its content and re-dispatches what happens in
   it as DOM events on the iframe (they bubble): "savitarna:form-shown",
   "savitarna:registered", "savitarna:confirmed", with event.detail =
   { tenant, path, version }: README, "Embedded frame events". Messages are accepted only from the app's origin (the
   origin this script was loaded from) and only from the window of the iframe
   they claim to size. Without this script the iframe keeps its own height. */
(function () {
  "use strict";
  var script = document.currentScript;
  var appOrigin = script ? new URL(script.src).origin : null;
  var EVENTS = ["savitarna:form-shown", "savitarna:registered", "savitarna:confirmed"];
  if (!appOrigin) return;

  function frames() {
    return Array.prototype.filter.call(
      document.querySelectorAll("iframe[data-savitarna]"),
      function (frame) {
        try { return new URL(frame.src, location.href).origin === appOrigin; }
        catch (e) { return false; }
      }
    );
  }

  window.addEventListener("message", function (event) {
    if (event.origin !== appOrigin) return;
    var data = event.data;
    if (!data || data.source !== "savitarna") return;
    var frame = frames().filter(function (f) { return f.contentWindow === event.source; })[0];
    if (!frame) return;
    if (data.type === "resize" && typeof data.height === "number" && data.height > 0) {
      frame.style.height = Math.min(Math.ceil(data.height), 20000) + "px";
    } else if (data.type === "event" && EVENTS.indexOf(data.name) !== -1) {
      var detail = data.detail && typeof data.detail === "object" ? data.detail : {};
      frame.dispatchEvent(new CustomEvent(data.name, {
        bubbles: true,
        detail: {
          tenant: String(detail.tenant || ""),
          path: String(detail.path || ""),
          version: typeof data.version === "number" ? data.version : 1
        }
      }));
    }
  });
})();
