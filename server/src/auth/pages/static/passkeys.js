// Passkey buttons of the sign-in and security pages (the only script of these pages; everything
// else works without it). Uses @simplewebauthn/browser, served as webauthn.js.
(function () {
  'use strict';
  var lib = window.SimpleWebAuthnBrowser;
  if (!lib || !lib.browserSupportsWebAuthn()) return;
  document.documentElement.classList.add('has-js');

  function csrf() {
    var input = document.querySelector('input[name="_csrf"]');
    return input ? input.value : '';
  }
  function say(id, text) {
    var el = document.getElementById(id);
    if (el) el.textContent = text;
  }
  async function post(url, body) {
    var res = await fetch(url, { method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    var out = await res.json().catch(function () { return { error: 'Something went wrong. Try again.' }; });
    return { ok: res.ok, out: out };
  }

  var signIn = document.getElementById('passkey-sign-in');
  if (signIn) {
    signIn.addEventListener('click', async function () {
      say('passkey-status', 'Follow the steps your device shows…');
      try {
        var options = await (await fetch(signIn.dataset.options, { credentials: 'same-origin' })).json();
        var response = await lib.startAuthentication({ optionsJSON: options });
        var result = await post(signIn.dataset.verify, { _csrf: csrf(), response: response });
        if (result.ok) window.location.assign(result.out.next);
        else say('passkey-status', result.out.error);
      } catch (e) {
        say('passkey-status', 'Signing in with a passkey was cancelled or is not available here. Sign in with your password instead.');
      }
    });
  }

  var add = document.getElementById('passkey-add');
  if (add) {
    add.addEventListener('click', async function () {
      say('passkey-add-status', 'Follow the steps your device shows…');
      try {
        var options = await (await fetch(add.dataset.options, { credentials: 'same-origin' })).json();
        if (options.error) { say('passkey-add-status', options.error); return; }
        var response = await lib.startRegistration({ optionsJSON: options });
        var name = document.getElementById('f-passkey-name');
        var result = await post(add.dataset.verify, { _csrf: csrf(), response: response, name: name ? name.value : '' });
        if (result.ok) window.location.assign(result.out.next);
        else say('passkey-add-status', result.out.error);
      } catch (e) {
        say('passkey-add-status', 'Adding a passkey was cancelled or is not available on this device.');
      }
    });
  }
})();
