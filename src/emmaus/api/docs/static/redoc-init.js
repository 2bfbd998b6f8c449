// ReDoc for Emmaus, from files this server serves (nothing from a CDN, no web fonts).
window.addEventListener("load", () => {
  Redoc.init("/openapi.json", { hideDownloadButton: false }, document.getElementById("redoc"));
});
