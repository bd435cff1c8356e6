// Stands in for `isomorphic-webcrypto` in the portal's bundle (vite.config.ts aliases it here).
// fhirclient's browser build takes globalThis.crypto when there is one (every browser the portal
// supports, on https and on localhost) and only otherwise reaches for that polyfill, which would
// add a WebCrypto written in JavaScript to every download. (package.json's `overrides` installs
// @peculiar/webcrypto under that name: the polyfill's own optional dependencies brought React
// Native and Metro into the lock file, which require a newer Node than this project supports.)
export default globalThis.crypto;
