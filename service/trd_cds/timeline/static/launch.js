/* SMART App Launch (EHR launch, public client, PKCE) of the trial timeline. The EHR opens this
 * page with `iss` and `launch`; after authorization its token response carries the card's
 * `appContext` ({"launchHandle": ...}), and the page opens the timeline with that handle.
 * The access token itself is never used: the page reads nothing from the EHR's FHIR server. */
(function () {
  "use strict";
  var KEY = "trd-timeline-smart";

  function show(message) {
    var status = document.getElementById("status");
    status.textContent = message;
    status.className = "status error";
    window.trdLaunchError = message;
  }

  function b64url(bytes) {
    var text = "";
    new Uint8Array(bytes).forEach(function (b) { text += String.fromCharCode(b); });
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function random(size) {
    var bytes = new Uint8Array(size);
    crypto.getRandomValues(bytes);
    return b64url(bytes);
  }

  function trusted(url, origins) {
    try { return origins.indexOf(new URL(url).origin) >= 0; } catch (e) { return false; }
  }

  function here() { return window.location.origin + window.location.pathname; }

  function json(response) {
    if (!response.ok) throw new Error("The EHR answered " + response.status + ".");
    return response.json();
  }

  function start(params, config) {
    var iss = params.get("iss"), launch = params.get("launch");
    if (!iss || !launch) throw new Error("Open the timeline from a card in the EHR: a SMART launch needs iss and launch.");
    if (!config.clientId) throw new Error("The SMART launch of the timeline is not set up on this service.");
    if (!trusted(iss, config.origins)) throw new Error("This EHR is not one the service is set up to be launched from.");
    return fetch(iss.replace(/\/$/, "") + "/.well-known/smart-configuration", { credentials: "omit" })
      .then(json)
      .then(function (smart) {
        if (!trusted(smart.authorization_endpoint, config.origins) || !trusted(smart.token_endpoint, config.origins)) {
          throw new Error("The EHR's authorization server is not one the service is set up for.");
        }
        var verifier = random(32), state = random(16);
        return crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)).then(function (hash) {
          sessionStorage.setItem(KEY, JSON.stringify({ state: state, verifier: verifier, token: smart.token_endpoint }));
          var query = new URLSearchParams({
            response_type: "code", client_id: config.clientId, redirect_uri: here(), launch: launch,
            scope: "launch", state: state, aud: iss, code_challenge: b64url(hash),
            code_challenge_method: "S256"
          });
          window.location.assign(smart.authorization_endpoint + "?" + query.toString());
        });
      });
  }

  function finish(params, config) {
    var saved = JSON.parse(sessionStorage.getItem(KEY) || "null");
    sessionStorage.removeItem(KEY);
    if (!saved || params.get("state") !== saved.state) throw new Error("The SMART launch could not be completed: open the timeline from the card again.");
    var body = new URLSearchParams({
      grant_type: "authorization_code", code: params.get("code"), redirect_uri: here(),
      client_id: config.clientId, code_verifier: saved.verifier
    });
    return fetch(saved.token, { method: "POST", credentials: "omit", body: body,
      headers: { "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json" } })
      .then(json)
      .then(function (token) {
        var context = token.appContext;
        var handle = null;
        try { handle = (typeof context === "string" ? JSON.parse(context) : context).launchHandle; } catch (e) { handle = null; }
        if (!handle) throw new Error("The EHR did not pass on the card's context: open the timeline from the card again.");
        window.location.replace("./#h=" + encodeURIComponent(handle));
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var params = new URLSearchParams(window.location.search);
    fetch("smart-config.json", { cache: "no-store", credentials: "omit" })
      .then(json)
      .then(function (config) {
        if (params.get("error")) throw new Error("The EHR refused the launch: " + params.get("error") + ".");
        return params.get("code") ? finish(params, config) : start(params, config);
      })
      .catch(function (error) { show(error.message); });
  });
})();
