import { defineConfig } from 'vitest/config';

// Tests are named by their reach (see STYLE.md):
//   *.unit.spec.ts  pure logic, no I/O
//   *.int.spec.ts   a real store or broker (SQLite file, NATS JetStream, MQTT broker)
//   *.e2e.spec.ts   the running service over HTTP/MQTT
const exclude = ['**/node_modules/**', '**/dist/**'];
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['**/*.unit.spec.ts'], exclude } },
      { test: { name: 'int', include: ['**/*.int.spec.ts'], exclude, testTimeout: 60_000, hookTimeout: 60_000 } },
      { test: { name: 'e2e', include: ['**/*.e2e.spec.ts'], exclude, testTimeout: 120_000, hookTimeout: 120_000 } },
    ],
  },
});
