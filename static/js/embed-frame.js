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

  // The messages' contract (README, "Embedded frame events"): its version
  // changes only when a message or field is removed or changes meaning.
  var CONTRACT_VERSION = 1;

  function post(message) {
    message.source = "savitarna";
    message.version = CONTRACT_VERSION;
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

  function announce(name) {
    post({ type: "event", name: name, detail: { tenant: body.dataset.embedTenant, path: location.pathname } });
  }
  if (body.dataset.embedEvent) announce(body.dataset.embedEvent);

  // "Check your email": ask now and then whether the address has been
  // confirmed (in another tab, from the email). The ticket came in the URL
  // fragment, which no server sees. 200 = confirmed, 204 = not yet.
  var poll = body.dataset.embedPoll;
  var ticket = location.hash.slice(1);
  if (poll && ticket && window.fetch) {
    var asked = 0;
    var timer = setInterval(function () {
      if (++asked > 360) return clearInterval(timer); // an hour at most
      var form = new URLSearchParams({ csrf_token: body.dataset.embedToken, ticket: ticket });
      fetch(poll, { method: "POST", body: form, credentials: "omit" }).then(function (response) {
        if (response.status === 200) {
          clearInterval(timer);
          announce("savitarna:confirmed");
        } else if (response.status !== 204) {
          clearInterval(timer);
        }
      });
    }, Number(body.dataset.embedPollEvery || 10000));
  }
})();
