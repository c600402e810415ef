import { fileURLToPath, URL } from 'node:url';
import { defineConfig } from 'vitest/config';

const backend = process.env.CASCADE_DEV_BACKEND ?? 'http://127.0.0.1:8010';

export default defineConfig({
  resolve: {
    alias: { '~': fileURLToPath(new URL('./src', import.meta.url)) },
  },
  // JSX through Vite's built-in transform, using Preact's automatic runtime.
  oxc: {
    jsx: { runtime: 'automatic', importSource: 'preact' },
  },
  server: {
    proxy: {
      '/api': { target: backend, changeOrigin: false },
      '/change_hook': { target: backend, changeOrigin: false },
    },
  },
  build: {
    outDir: 'dist',
    target: 'es2022',
    sourcemap: false,
  },
  test: {
    environment: 'happy-dom',
    include: ['src/**/*.test.{ts,tsx}'],
  },
});
