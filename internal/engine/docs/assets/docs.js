// The docs page's own script (the page's Content-Security-Policy allows no inline script):
// fetches the contract the gateway serves and starts Swagger UI on it, with "Try it out"
// aimed at the origin that served this page.
'use strict';
(function () {
  var root = document.getElementById('swagger-ui');
  var specURL = root.dataset.specUrl;

  function fail(message) {
    var p = document.createElement('p');
    p.className = 'cg-error';
    p.textContent = message;
    root.replaceChildren(p);
  }

  if (typeof window.SwaggerUIBundle !== 'function') {
    fail('Swagger UI did not load; the contract itself is at ' + specURL + '.');
    return;
  }
  fetch(specURL, { headers: { Accept: 'application/json' } })
    .then(function (res) {
      if (!res.ok) throw new Error('HTTP ' + res.status);
      return res.json();
    })
    .then(function (spec) {
      // The contract names the address `make run` listens on. A reader tries the gateway
      // that served this page, wherever it runs (and the CSP allows no other origin).
      spec.servers = [{ url: window.location.origin, description: 'This gateway' }];
      if (spec.info && spec.info.title) document.title = spec.info.title + ' · API reference';
      window.ui = window.SwaggerUIBundle({
        spec: spec,
        domNode: root,
        layout: 'BaseLayout',
        presets: [window.SwaggerUIBundle.presets.apis],
        deepLinking: true,
        docExpansion: 'list',
        filter: true,
        displayRequestDuration: true,
        showExtensions: true,
        showCommonExtensions: true,
        persistAuthorization: true, // the Authorize dialog's token survives a reload (localStorage)
        tryItOutEnabled: false,
        queryConfigEnabled: false, // ?url=... must not point the page at another document
        validatorUrl: null // no badge fetched from a third-party validator
      });
    })
    .catch(function (err) {
      fail('Could not load the API contract from ' + specURL + ': ' + err.message);
    });
})();
