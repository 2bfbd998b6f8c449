// Swagger UI for Emmaus, from files this server serves (nothing from a CDN). "Authorize" takes
// a client id and secret: the OAuth2 client-credentials flow against /oauth2/token.
window.addEventListener("load", () => {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    persistAuthorization: false,
    tryItOutEnabled: false,
    validatorUrl: null, // the default badge would call an outside validator
  });
});
