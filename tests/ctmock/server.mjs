// @labdigital/commercetools-mock on loopback, for tests/ctmock (started by conftest.py).
//
//   node server.mjs [port]        port from argv, else CT_MOCK_PORT, else 0 (= any free port)
//
// One base URL serves /oauth/token and /{projectKey}/...; any project key and any client
// id/secret work. Authentication is on: API calls need a Bearer token issued by /oauth/token.
// Prints exactly one line "ready <port>" on stdout once listening on 127.0.0.1 (never 0.0.0.0),
// so the caller learns the real port. Exits when stdin closes (the parent died or closed the
// pipe) and on SIGTERM/SIGINT, so a crashed test run never leaves an orphan server behind.
import { CommercetoolsMock } from "@labdigital/commercetools-mock";

const HOST = "127.0.0.1";
const raw = process.argv[2] ?? process.env.CT_MOCK_PORT ?? "0";
const port = Number(raw);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`server.mjs: invalid port ${JSON.stringify(raw)} (use 0..65535; 0 = any free port)`);
  process.exit(2);
}

const mock = new CommercetoolsMock({
  enableAuthentication: true, // API calls need "Authorization: Bearer <token>"
  validateCredentials: true, // ...and the token must come from this server's /oauth/token
  strict: false, // commercetools-like leniency; strict adds zod validation of some drafts
  silent: true,
});

let stopping = false;
async function stop(code) {
  if (stopping) return;
  stopping = true;
  // Never hang on a keep-alive connection: force the exit if closing takes too long.
  setTimeout(() => process.exit(code), 2000).unref();
  try {
    await mock.app.close();
  } finally {
    process.exit(code);
  }
}

process.on("SIGTERM", () => stop(0));
process.on("SIGINT", () => stop(0));
// The parent holds our stdin pipe; EOF means it closed it or died.
process.stdin.on("end", () => stop(0));
process.stdin.on("close", () => stop(0));
process.stdin.on("error", () => stop(0));
process.stdin.resume();

try {
  await mock.app.listen({ port, host: HOST });
} catch (error) {
  console.error(`server.mjs: cannot listen on ${HOST}:${port}: ${error.message}`);
  process.exit(1);
}
const address = mock.app.server.address();
process.stdout.write(`ready ${address.port}\n`);
