import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// Built into dist/ and served by `berth server` at / (no second process). The workspace packages
// are read from their TypeScript sources (the `source` export condition), as the tests do.
export default defineConfig({
  plugins: [react()],
  resolve: { conditions: ['source'] },
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, target: 'es2022', chunkSizeWarningLimit: 600 },
});
