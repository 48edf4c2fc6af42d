// Runs the federation check's moving parts: the releases subgraph, the supergraph composed
// from it and the media graph, and @apollo/gateway inside @apollo/server.
//
//   node js/federation/gateway.mjs --mediagraph http://127.0.0.1:8000/graphql --promotions promotions.json
//
// Prints one JSON line {"gateway", "releases", "hints"} once everything listens, then serves
// until stdin closes or it is terminated.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { compose, fetchSdl } from './compose.mjs';
import { startReleases, typeDefs } from './releases.mjs';
import { print } from 'graphql';

const { values } = parseArgs({
  options: { mediagraph: { type: 'string' }, promotions: { type: 'string' }, port: { type: 'string', default: '0' } },
});
const promotions = values.promotions ? JSON.parse(readFileSync(values.promotions, 'utf8')) : [];

const releases = await startReleases(promotions);
const { supergraphSdl, hints } = compose([
  { name: 'mediagraph', url: values.mediagraph, sdl: await fetchSdl(values.mediagraph) },
  { name: 'releases', url: releases.url, sdl: print(typeDefs) },
]);
const gateway = new ApolloGateway({ supergraphSdl });
const server = new ApolloServer({ gateway });
const { url } = await startStandaloneServer(server, { listen: { host: '127.0.0.1', port: Number(values.port) } });
console.log(JSON.stringify({ gateway: url, releases: releases.url, hints }));

async function stop() {
  await server.stop();
  await releases.server.stop();
  process.exit(0);
}
process.stdin.on('end', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
