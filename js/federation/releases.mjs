// A tiny second subgraph, standing in for another studio service: it adds release windows to
// the media graph's Title, and returns Title and Asset references from a root field of its own.
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import gql from 'graphql-tag';

export const typeDefs = gql`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])

  type Title @key(fields: "id") {
    id: ID!
    releaseWindows: [ReleaseWindow!]!
  }

  type Asset @key(fields: "id", resolvable: false) {
    id: ID!
  }

  type ReleaseWindow {
    territory: String!
    opens: String!
    closes: String
  }

  type Promotion {
    headline: String!
    title: Title!
    trailer: Asset
  }

  type Query {
    promotions: [Promotion!]!
  }
`;

const TERRITORIES = ['DE', 'FR', 'JP', 'US'];

function windowsFor(titleId) {
  // deterministic per title, so a test can predict them
  return TERRITORIES.map((territory, i) => ({ territory, opens: `2025-0${i + 1}-01`, closes: null }));
}

/** promotions: [{ headline, titleId, assetId }] */
export function resolvers(promotions) {
  return {
    Query: {
      promotions: () => promotions.map((p) => ({
        headline: p.headline,
        title: { id: p.titleId },
        trailer: p.assetId ? { id: p.assetId } : null,
      })),
    },
    Title: {
      __resolveReference: (ref) => ({ id: ref.id }),
      releaseWindows: (title) => windowsFor(title.id),
    },
  };
}

export async function startReleases(promotions, port = 0) {
  const server = new ApolloServer({
    schema: buildSubgraphSchema({ typeDefs, resolvers: resolvers(promotions) }),
    plugins: [ApolloServerPluginInlineTraceDisabled()],
  });
  const { url } = await startStandaloneServer(server, { listen: { host: '127.0.0.1', port } });
  return { server, url };
}
