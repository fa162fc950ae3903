// Swagger UI for /docs, started from a file (no inline script): the spec URL is the page's data attribute.
// validatorUrl null: never ask the public validator service about the spec.
(function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-openapi-url"),
    dom_id: "#swagger-ui",
    validatorUrl: null,
    deepLinking: true,
    layout: "BaseLayout",
    presets: [SwaggerUIBundle.presets.apis],
    showExtensions: true,
  });
})();
