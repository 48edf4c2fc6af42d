// Copies the GraphiQL bundle and the React it runs on from node_modules into
// graph_api/static/, where the Python package serves them: the page must work without a CDN.
// Run after `npm ci`: `npm run vendor-graphiql`. Refuses files over 2 MiB (they are committed).
import { copyFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const out = join(here, '..', 'graph_api', 'static');
const MAX = 2 * 1024 * 1024;

const files = [
  ['graphiql', 'graphiql.min.js', 'graphiql.min.js'],
  ['graphiql', 'graphiql.min.css', 'graphiql.min.css'],
  ['react', 'umd/react.production.min.js', 'react.production.min.js'],
  ['react-dom', 'umd/react-dom.production.min.js', 'react-dom.production.min.js'],
];

mkdirSync(out, { recursive: true });
const notices = [];
for (const [pkg, from, to] of files) {
  const root = dirname(require.resolve(`${pkg}/package.json`));
  const src = join(root, from);
  const size = statSync(src).size;
  if (size > MAX) throw new Error(`${pkg}/${from} is ${size} bytes, over 2 MiB: fetch it at install time instead`);
  copyFileSync(src, join(out, to));
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  if (!notices.some((n) => n.startsWith(`${pkg}@`))) {
    notices.push(`${pkg}@${version}\n\n${readFileSync(join(root, 'LICENSE'), 'utf8').trim()}\n`);
  }
  console.log(`${to}: ${pkg}@${version}, ${size} bytes`);
}
writeFileSync(join(out, 'THIRD_PARTY_LICENSES.txt'),
  'Vendored from npm by js/vendor-graphiql.mjs.\n\n' + notices.join('\n----------------------------------------\n\n'));
