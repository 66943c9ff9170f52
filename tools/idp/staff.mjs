// Stand-in for the Entra ID tenant of rConnect's staff (not B2C): the v2.0 OpenID configuration,
// its signing keys and a token endpoint, so the staff API's bearer-token path is tested against
// tokens shaped like Entra's v2.0 access tokens for an API with app roles:
//   GET  /{tenant}/v2.0/.well-known/openid-configuration
//   GET  /{tenant}/discovery/v2.0/keys
//   POST /{tenant}/oauth2/v2.0/token   client_credentials (a daemon app) or password (a staff user, ROPC)
// Tokens carry iss https://<host>/{tenant}/v2.0, aud = the API (STAFF_API_AUDIENCE), tid, oid, azp,
// `roles` (the app roles assigned to the user or app), and for users preferred_username and name.
// A scope for another resource gets a token for that resource (aud), as Entra does.

import { createHash, createSign, generateKeyPairSync, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';

const ROLE = 'Invitations.Manage';

function guid(kind, value) {
  const hex = createHash('sha256').update(`${kind}:${value}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

const b64url = (data) => Buffer.from(data).toString('base64url');

function sameSecret(given, expected) {
  const a = Buffer.from(String(given ?? ''));
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function staffConfig(env) {
  return {
    tenantId: env.IDP_STAFF_TENANT_ID || guid('tenant', 'rconnect.example'),
    audience: env.IDP_STAFF_API_AUDIENCE || 'api://rconnect-invitations-local',
    // Daemon apps (client credentials). lifetimeSeconds stands for a token lifetime policy on the app.
    apps: [
      { clientId: 'rconnect-staff-tool-local', secret: 'local-staff-tool-secret', roles: [ROLE] },
      { clientId: 'rconnect-no-role-local', secret: 'local-no-role-secret', roles: [] },
      { clientId: 'rconnect-short-lived-local', secret: 'local-short-lived-secret', roles: [ROLE], lifetimeSeconds: 1 },
    ],
    // A public client staff use with their own account (ROPC here; device code or a browser in real life).
    publicClientId: 'rconnect-staff-cli-local',
    users: [
      { username: 'staff.admin@rconnect.example', password: 'Staff-local-password-1', name: 'Staff Admin', roles: [ROLE] },
      { username: 'staff.reader@rconnect.example', password: 'Staff-local-password-1', name: 'Staff Reader', roles: [] },
      // Numbered colleagues with the role, for tests where several staff members race.
      ...Array.from({ length: 8 }, (_, n) => (
        { username: `staff-${n}@rconnect.example`, password: 'Staff-local-password-1', name: `Staff ${n}`, roles: [ROLE] })),
    ],
  };
}

export function createStaffTenant(config, host) {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = randomBytes(8).toString('hex');
  const jwk = { ...publicKey.export({ format: 'jwk' }), kty: 'RSA', use: 'sig', alg: 'RS256', kid };
  const base = `${host}/${config.tenantId}`;
  const issuer = `${base}/v2.0`;

  function sign(claims) {
    const input = `${b64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', kid }))}.${b64url(JSON.stringify(claims))}`;
    const signature = createSign('RSA-SHA256').update(input).sign(privateKey);
    return `${input}.${b64url(signature)}`;
  }

  function send(res, status, body) {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  }

  function refuse(res, status, error, description) {
    send(res, status, { error, error_description: description });
  }

  function issue(res, params, principal, lifetimeSeconds = 3600) {
    const scope = params.get('scope') ?? '';
    const resource = scope.split(' ').find((item) => item.includes('/'))?.replace(/\/[^/]*$/, '');
    if (!resource) {
      refuse(res, 400, 'invalid_scope', 'AADSTS70011: The provided value for the input parameter \'scope\' is not valid.');
      return;
    }
    const now = Math.floor(Date.now() / 1000);
    const forApi = resource === config.audience;
    const token = sign({
      aud: resource,
      iss: issuer,
      iat: now,
      nbf: now,
      exp: now + lifetimeSeconds,
      tid: config.tenantId,
      azp: params.get('client_id'),
      azpacr: principal.username ? '0' : '1',
      ver: '2.0',
      uti: randomUUID(),
      ...principal.claims,
      ...(forApi && principal.roles.length ? { roles: principal.roles } : {}),
    });
    send(res, 200, { token_type: 'Bearer', expires_in: lifetimeSeconds, ext_expires_in: lifetimeSeconds, access_token: token });
  }

  function token(res, params) {
    const clientId = params.get('client_id');
    if (params.get('grant_type') === 'client_credentials') {
      const app = config.apps.find((candidate) => candidate.clientId === clientId);
      if (!app || !sameSecret(params.get('client_secret'), app.secret)) {
        refuse(res, 401, 'invalid_client', 'AADSTS7000215: Invalid client secret provided.');
        return;
      }
      const oid = guid('service-principal', app.clientId);
      issue(res, params, { roles: app.roles, claims: { oid, sub: oid, idtyp: 'app' } }, app.lifetimeSeconds);
      return;
    }
    if (params.get('grant_type') === 'password' && clientId === config.publicClientId) {
      const user = config.users.find((candidate) => candidate.username === params.get('username'));
      if (!user || !sameSecret(params.get('password'), user.password)) {
        refuse(res, 400, 'invalid_grant', 'AADSTS50126: Error validating credentials due to invalid username or password.');
        return;
      }
      const oid = guid('staff-user', user.username);
      issue(res, params, {
        username: user.username,
        roles: user.roles,
        claims: { oid, sub: oid, preferred_username: user.username, name: user.name, idtyp: 'user' },
      });
      return;
    }
    refuse(res, 400, 'unsupported_grant_type', 'AADSTS70003: The app requested an unsupported grant type.');
  }

  // Returns true when the request was for the staff tenant.
  return async function handle(req, res, url, readForm) {
    const path = url.pathname;
    if (req.method === 'GET' && path === `/${config.tenantId}/v2.0/.well-known/openid-configuration`) {
      send(res, 200, {
        issuer,
        token_endpoint: `${base}/oauth2/v2.0/token`,
        jwks_uri: `${base}/discovery/v2.0/keys`,
        id_token_signing_alg_values_supported: ['RS256'],
        token_endpoint_auth_methods_supported: ['client_secret_post'],
        tenant_region_scope: 'EU',
      });
      return true;
    }
    if (req.method === 'GET' && path === `/${config.tenantId}/discovery/v2.0/keys`) {
      send(res, 200, { keys: [jwk] });
      return true;
    }
    if (req.method === 'POST' && path === `/${config.tenantId}/oauth2/v2.0/token`) {
      token(res, await readForm(req));
      return true;
    }
    return false;
  };
}
