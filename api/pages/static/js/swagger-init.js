// Starts Swagger UI on /docs (api/pages/docs.py): a file, since the pages' Content-Security-Policy refuses the inline
// script of Swagger UI's usual page. The OpenAPI document's URL comes from the page, which knows the API's root path.

const root = document.getElementById("swagger-ui");
window.ui = window.SwaggerUIBundle({
  url: root.dataset.openapiUrl,
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  // No badge from the public validator: nothing leaves the API's origin.
  validatorUrl: null,
  presets: [window.SwaggerUIBundle.presets.apis, window.SwaggerUIBundle.SwaggerUIStandalonePreset],
});
