// Composes subgraphs into a supergraph with @apollo/composition (what `rover supergraph compose`
// does, without its binary download).
//
//   node js/federation/compose.mjs mediagraph=http://127.0.0.1:8000/graphql other=./other.graphql > supergraph.graphql
//
// A subgraph given as a URL is asked for its SDL (`{ _service { sdl } }`); a path is read as SDL.
// The routing URL of a file subgraph is taken from `name=path@url` (default: the path).
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';

export async function fetchSdl(url) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ query: '{ _service { sdl } }' }),
  });
  const body = await res.json();
  if (!res.ok || body.errors) throw new Error(`${url}: ${JSON.stringify(body.errors ?? res.status)}`);
  return body.data._service.sdl;
}

/** subgraphs: [{ name, url, sdl }] -> supergraph SDL; throws with every composition error. */
export function compose(subgraphs) {
  const result = composeServices(subgraphs.map(({ name, url, sdl }) => ({ name, url, typeDefs: parse(sdl) })));
  if (result.errors && result.errors.length) {
    throw new Error('composition failed:\n' + result.errors.map((e) => `- ${e.message}`).join('\n'));
  }
  return { supergraphSdl: result.supergraphSdl, hints: (result.hints ?? []).map((h) => h.toString()) };
}

async function main(args) {
  if (!args.length) {
    console.error('usage: compose.mjs NAME=URL|NAME=PATH[@URL] ...');
    process.exit(2);
  }
  const subgraphs = [];
  for (const arg of args) {
    const [name, where] = arg.split(/=(.*)/s);
    if (/^https?:\/\//.test(where)) {
      subgraphs.push({ name, url: where, sdl: await fetchSdl(where) });
    } else {
      const [path, url] = where.split('@');
      subgraphs.push({ name, url: url ?? path, sdl: readFileSync(path, 'utf8') });
    }
  }
  const { supergraphSdl, hints } = compose(subgraphs);
  for (const hint of hints) console.error(`hint: ${hint}`);
  process.stdout.write(supergraphSdl + '\n');
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((err) => {
    console.error(err.message);
    process.exit(1);
  });
}
