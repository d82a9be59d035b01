// Vite builds the UI into hashed assets under /assets/; build.rs embeds the output.
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    target: 'es2020',
    sourcemap: false,
    chunkSizeWarningLimit: 800,
  },
  server: {
    // `npm run dev` proxies the API to a daemon on the default port.
    proxy: { '/api': 'http://127.0.0.1:6991', '/auth': 'http://127.0.0.1:6991' },
  },
});
