// fhirclient's browser build uses globalThis.crypto when there is one (every browser the portal
// supports) and would only then fall back to isomorphic-webcrypto. That polyfill's optional
// dependencies (expo-random and its tree) bring React Native and Metro into the lock file, which
// want Node >= 20.19.4 (this project supports 20.19) and add nothing to a web app.
exports.default = globalThis.crypto;
