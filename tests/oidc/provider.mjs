// A real OpenID Connect provider (the `oidc-provider` package) on 127.0.0.1, for the relying-party
// tests: discovery, JWKS, authorization code with PKCE, state and nonce, a signed ID token.
//
//   node tests/oidc/provider.mjs            # settings from OIDC_PROVIDER_CONFIG (JSON), all optional:
//   {"port": 0,                              # 0: any free port; the issuer is http://127.0.0.1:PORT
//    "clients": [{"client_id": "...", "client_secret": "...", "redirect_uris": ["http://.../callback"]}],
//    "accounts": {"<login>": {claims}},      # default: accounts.json beside this file
//    "id_token_ttl": 60}                     # seconds
//
// Once it listens it prints one line of JSON to stdout: {"issuer": "http://127.0.0.1:PORT"}.
//
// The sign-in needs no person: the interaction page logs in the account named by the
// authorization request's `login_hint` and grants what the client asked for. Each account's
// claims go into the ID token (scope "identity": id_number, uscc, org_name, role, verified), and
// its "amr", when it has one, as the ID token's amr (how it logged in).
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import Provider from 'oidc-provider';

const here = dirname(fileURLToPath(import.meta.url));
const settings = JSON.parse(process.env.OIDC_PROVIDER_CONFIG || '{}');
const accounts = settings.accounts
  || JSON.parse(readFileSync(join(here, 'accounts.json'), 'utf8'));
const clients = (settings.clients || [{
  client_id: 'casedesk',
  client_secret: 'casedesk-test-secret',
  redirect_uris: ['http://127.0.0.1:5000/auth/oidc/callback'],
}]).map((client) => ({
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
  ...client,
}));

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-key', use: 'sig', alg: 'RS256' };

function configuration() {
  return {
    clients,
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    claims: {
      openid: ['sub', 'amr'], // amr: how the account logged in (RFC 8176), when the login gave it
      profile: ['name'],
      identity: ['id_number', 'uscc', 'org_name', 'role', 'verified'],
    },
    conformIdTokenClaims: false, // the claims of the granted scopes go into the ID token itself
    features: { devInteractions: { enabled: false } },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    pkce: { required: () => true },
    ttl: { IdToken: Number(settings.id_token_ttl || 60), AccessToken: 60, Session: 600, Interaction: 600, Grant: 600 },
    async findAccount(ctx, id) {
      if (!Object.hasOwn(accounts, id)) return undefined;
      const { amr, ...claims } = accounts[id]; // amr: how the account logged in, not a claim of its own
      return { accountId: id, claims: async () => ({ sub: id, ...claims }) };
    },
  };
}

let provider;
let handle;

async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const { prompt, params, session } = details;
  if (prompt.name === 'login') {
    const login = String(params.login_hint || '');
    if (!Object.hasOwn(accounts, login)) {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end(`no test account named "${login}": pass login_hint=<one of ${Object.keys(accounts).join(', ')}>`);
      return;
    }
    // An account's "amr" (RFC 8176, e.g. ["pwd", "otp"]) is how it logged in: the ID token says so.
    const { amr } = accounts[login];
    await provider.interactionFinished(req, res, { login: { accountId: login, ...(amr ? { amr } : {}) } },
      { mergeWithLastSubmission: false });
    return;
  }
  // consent: grant whatever the client asked for
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
  if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

const server = createServer((req, res) => {
  if (!provider) {
    res.writeHead(503);
    res.end();
    return;
  }
  if (req.method === 'GET' && /^\/interaction\/[^/]+$/.test(req.url.split('?')[0])) {
    interaction(req, res).catch((error) => {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end(String(error));
    });
    return;
  }
  handle(req, res);
});

server.listen(Number(settings.port || 0), '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  provider = new Provider(issuer, configuration());
  provider.on('server_error', (ctx, error) => console.error('server_error', error));
  handle = provider.callback();
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections(); // kept-alive connections of the tests' HTTP clients
  });
}
