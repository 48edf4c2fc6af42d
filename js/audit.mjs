// Runs graphql-http's server audits against a GraphQL endpoint and prints the results as JSON:
//   node js/audit.mjs http://127.0.0.1:8000/graphql
// Exit status 1 when any audit ends in an error or a warning.
import { auditServer } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: audit.mjs URL');
  process.exit(2);
}
const results = await auditServer({ url });
const report = await Promise.all(results.map(async (r) => ({
  id: r.id,
  name: r.name,
  status: r.status,
  reason: r.status === 'ok' ? undefined : r.reason,
  body: r.status === 'ok' || !r.response ? undefined : await r.response.text().catch(() => undefined),
})));
console.log(JSON.stringify(report, null, 1));
process.exit(report.some((r) => r.status === 'error' || r.status === 'warn') ? 1 : 0);
