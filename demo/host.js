/* What a utility's analytics would do: count the events embed.js dispatches. */
(function () {
  "use strict";
  var log = document.getElementById("events");
  ["savitarna:form-shown", "savitarna:registered", "savitarna:confirmed"].forEach(function (name) {
    document.addEventListener(name, function (event) {
      var item = document.createElement("li");
      item.textContent = name + " " + event.detail.tenant + " " + event.detail.path;
      item.dataset.event = name;
      item.dataset.tenant = event.detail.tenant;
      log.appendChild(item);
    });
  });
})();
