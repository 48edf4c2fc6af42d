// The one way the explorer talks to the server: GraphQL over HTTP at /graphql, with the bearer token the
// user typed once (kept in sessionStorage, so it goes with the tab). Media comes from the signed URLs
// GraphQL hands out (Asset.mediaUrl), which a <video> or <img> can load without a header.

const TOKEN_KEY = "mediagraph.token";
const endpoint = new URL("../graphql", window.location.href.split("#")[0]).toString();

export class GraphQLError extends Error {
  constructor(message: string, readonly code: string) {
    super(message);
  }
}

export function token(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value: string | null): void {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

type Body = { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] };

export async function gql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  for (;;) {
    const headers: Record<string, string> = { "Content-Type": "application/json", Accept: "application/json" };
    const bearer = token();
    if (bearer) headers.Authorization = `Bearer ${bearer}`;
    const response = await fetch(endpoint, { method: "POST", headers, body: JSON.stringify({ query, variables }) });
    if (response.status === 401) {
      // auth is on and we have no (valid) token: ask once, then try again
      setToken(null);
      await askForToken(bearer ? "That token was not accepted." : "");
      continue;
    }
    const body = (await response.json()) as Body;
    if (body.errors?.length) {
      const first = body.errors[0];
      throw new GraphQLError(first.message, first.extensions?.code ?? "ERROR");
    }
    return body.data as T;
  }
}

let asking: Promise<void> | null = null;

function askForToken(why: string): Promise<void> {
  if (asking) return asking;
  asking = new Promise<void>((resolve) => {
    const dialog = document.createElement("dialog");
    dialog.id = "token-dialog";
    dialog.innerHTML = `<form method="dialog">
      <h2>This server needs a token</h2>
      <p>${why} Paste a token made with <code>mediagraph token create --scopes read,write</code>.
      It is kept in this tab only (sessionStorage).</p>
      <input name="token" type="password" placeholder="mgt_…" required autocomplete="off" />
      <button type="submit">Use token</button></form>`;
    document.body.append(dialog);
    dialog.addEventListener("close", () => {
      const input = dialog.querySelector("input") as HTMLInputElement;
      setToken(input.value.trim());
      dialog.remove();
      asking = null;
      resolve();
    });
    dialog.showModal();
  });
  return asking;
}

export type Edges<T> = { edges: { node: T }[] };

export function nodes<T>(connection: Edges<T> | null | undefined): T[] {
  return connection ? connection.edges.map((e) => e.node) : [];
}
