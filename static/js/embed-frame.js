/* Inside the embedded form (loaded only in embed mode, see webapp/embed):
   tells the host page how tall the content is and what happened, through
   postMessage to the host page's origin only. The server puts that origin in
   data-embed-host after checking it against the tenant's allowed sites; with
   no checked origin nothing is posted and the frame keeps its own height. */
(function () {
  "use strict";
  var body = document.body;
  var host = body && body.dataset.embedHost;
  if (!host || window.parent === window) return;

  function post(message) {
    message.source = "savitarna";
    window.parent.postMessage(message, host);
  }

  var last = 0;
  function sendHeight() {
    var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (height !== last) {
      last = height;
      post({ type: "resize", height: height });
    }
  }
  if (window.ResizeObserver) {
    new ResizeObserver(sendHeight).observe(document.documentElement);
  }
  window.addEventListener("load", sendHeight);
  sendHeight();

  var event = body.dataset.embedEvent;
  if (event) {
    post({ type: "event", name: event, detail: { tenant: body.dataset.embedTenant, path: location.pathname } });
  }
})();
