// Swagger UI over every service: the top bar's selector lists the documents the gateway
// rewrote (servers = the gateway, only routed paths), so "Try it out" goes through it.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("hub-config").textContent);
  window.ui = SwaggerUIBundle({
    urls: config.urls,
    "urls.primaryName": config.primaryName,
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: "StandaloneLayout",
  });
})();
