// Swagger UI over every service: the top bar's selector lists the merged document first,
// then the documents the gateway rewrote (servers = the gateway, only routed paths), so
// "Try it out" goes through it.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("hub-config").textContent);

  // Optional auth is `security: [{}, {jwtAuth: []}]`. Swagger UI counts the `{}` as
  // always met, so such an operation's padlock is closed before any Authorize, as if it
  // needed (and had) a token. Here the padlock is closed only once a token will be sent,
  // and the operation is marked optional (hub.css).
  function isOptional(security) {
    return (
      !!security && security.size > 1 && security.some(function (r) { return r.isEmpty(); })
    );
  }

  function OptionalAuthPlugin() {
    return {
      statePlugins: {
        auth: {
          wrapSelectors: {
            // The original comes bound to the state: it takes the selector's arguments.
            isAuthorized: function (original) {
              return function (state, security) {
                if (!isOptional(security)) {
                  return original(security);
                }
                return original(security.filter(function (r) { return !r.isEmpty(); }));
              };
            },
          },
        },
      },
      wrapComponents: {
        OperationSummary: function (Original, system) {
          return function (props) {
            var React = system.React;
            var operation = props.operationProps;
            var original = React.createElement(Original, props);
            if (!isOptional(operation && operation.get("security"))) {
              return original;
            }
            return React.createElement(
              "div",
              {
                className: "hub-auth-optional",
                title: "Open to anyone; a token (Authorize) is sent when given.",
              },
              original
            );
          };
        },
      },
    };
  }

  window.ui = SwaggerUIBundle({
    urls: config.urls,
    "urls.primaryName": config.primaryName,
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl, OptionalAuthPlugin],
    layout: "StandaloneLayout",
  });
})();
