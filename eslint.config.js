import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', 'data/**', 'loadtest/results/**', '**/*.js', '!eslint.config.js', '!infra/node-red/*.js', '!infra/node-red/lib/*.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['engine/src/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'error' },
  },
  {
    // Node-RED loads its nodes as plain CommonJS (type-checked through JSDoc by infra/node-red/tsconfig.json).
    files: ['infra/node-red/*.js', 'infra/node-red/lib/*.js'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: Object.fromEntries(
        ['require', 'module', 'exports', '__dirname', 'process', 'Buffer', 'URL', 'fetch', 'AbortSignal', 'console', 'setTimeout', 'clearTimeout', 'setImmediate'].map((g) => [g, 'readonly']),
      ),
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
