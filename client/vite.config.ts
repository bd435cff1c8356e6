// Vite builds the portal into client/dist (the server serves it at `/`); `npm run dev` serves it with
// hot reload and forwards the server's own paths to a running server (PORTAL_DEV_SERVER, default
// http://localhost:8080). Start that server with BASE_URL=http://localhost:5173 so the SMART
// redirect URI it registers for the portal ($BASE_URL/callback) is the dev server's.
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import path from 'node:path';

const target = process.env.PORTAL_DEV_SERVER ?? 'http://localhost:8080';
const forwarded = { target, changeOrigin: false, xfwd: true };

export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  // The browser's own WebCrypto for fhirclient instead of a polyfill (see src/smart/browser-webcrypto.ts).
  resolve: { alias: { 'isomorphic-webcrypto': path.join(import.meta.dirname, 'src', 'smart', 'browser-webcrypto.ts') } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 700,
  },
  server: {
    port: 5173,
    strictPort: true,
    proxy: { '/fhir': forwarded, '/auth': forwarded, '/account': forwarded, '/healthz': forwarded },
  },
});
