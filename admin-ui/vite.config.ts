/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The console is served by the gateway from admin-ui/dist (STATIC_DIR) with SPA
// fallback. In development, `npm run dev` proxies the API to a running gateway.
const gateway = process.env.GATEWAY_URL || 'http://127.0.0.1:3000';

export default defineConfig({
  plugins: [react()],
  server: {
    fs: { allow: ['..'] }, // the catalogues live in ../locales
    proxy: { '/api': gateway, '/pg': gateway, '/v1': gateway },
  },
  build: { outDir: 'dist', sourcemap: false, chunkSizeWarningLimit: 900 },
  test: {
    environment: 'jsdom',
    globals: true,
    setupFiles: ['src/test/setup.ts'],
    include: ['src/**/*.test.{ts,tsx}'],
    css: false,
    // Bounds, not timings: the machine may be loaded (2 cores shared by builds).
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
