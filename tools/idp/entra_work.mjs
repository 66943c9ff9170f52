// Stand-in for Microsoft Entra ID's multi-tenant endpoint, where the app signs work accounts in itself
// when the platform is External ID (CASE 1, docs/decisions/0019): External ID cannot federate Entra
// tenants, so a work account goes from the app straight to `login.microsoftonline.com/organizations`.
//   GET  /common/userrealm/{address}?api-version=2.1   home realm discovery: Managed or Unknown
//   GET  /organizations/v2.0/.well-known/openid-configuration, /organizations/discovery/v2.0/keys
//   GET  /organizations/oauth2/v2.0/authorize   Microsoft's sign-in page (the address from login_hint)
//   POST /organizations/oauth2/v2.0/authorize   signs in: a code, or AADSTS65001 when the home tenant
//                                               has not approved the app (the admin-consent stand-in)
//   POST /organizations/oauth2/v2.0/token       the code (PKCE S256, client secret) for a v2.0 ID token
// ID tokens as Entra's v2.0 ones: iss and tid the user's home tenant, oid, email with xms_edov, name.

import { createHash, createSign, generateKeyPairSync, randomBytes, timingSafeEqual } from 'node:crypto';

import { escapeHtml } from './views.mjs';

const CODE_TTL_MS = 5 * 60 * 1000;
const b64url = (data) => Buffer.from(data).toString('base64url');

function sameSecret(given, expected) {
  const a = Buffer.from(String(given ?? ''));
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function entraWorkConfig(env) {
  return {
    clientSecret: env.IDP_ENTRA_CLIENT_SECRET || 'local-development-entra-secret',
    // Domains whose mailboxes are Entra work accounts (home realm discovery says Managed); any other is Unknown.
    workDomains: new Set((env.IDP_WORK_DOMAINS || 'contoso.example,fabrikam.example,needs-consent.example,approval-pending.example')
      .split(',').map((d) => d.trim().toLowerCase()).filter(Boolean)),
  };
}

// `accounts`: { clientId, redirectUris, workProfile(email), needsConsent(domain) } from server.mjs.
export function createEntraWork(config, host, accounts) {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = randomBytes(8).toString('hex');
  const jwk = { ...publicKey.export({ format: 'jwk' }), kty: 'RSA', use: 'sig', alg: 'RS256', kid };
  const base = `${host}/organizations`;
  const codes = new Map();

  function sign(claims) {
    const input = `${b64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', kid }))}.${b64url(JSON.stringify(claims))}`;
    return `${input}.${b64url(createSign('RSA-SHA256').update(input).sign(privateKey))}`;
  }

  function json(res, status, body) {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  }

  function back(res, redirectUri, params) {
    const target = new URL(redirectUri);
    for (const [name, value] of Object.entries(params)) if (value !== undefined) target.searchParams.append(name, value);
    res.writeHead(302, { location: target.href, 'cache-control': 'no-store' });
    res.end();
  }

  function signInPage(params) {
    const hidden = Object.entries(params).map(([n, v]) => `<input type="hidden" name="${escapeHtml(n)}" value="${escapeHtml(v)}">`).join('');
    return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in to your account</title></head>
<body><main><h1>Sign in</h1><p id="signin-intro">Sign in with your work account.</p>
<form method="post">${hidden}<label for="email">Work e-mail</label>
<input id="email" name="email" type="email" value="${escapeHtml(params.login_hint ?? '')}" readonly>
<button id="work-account" name="action" value="work">Sign in</button></form></main></body></html>`;
  }

  async function authorize(req, res, url, readForm) {
    const params = req.method === 'POST' ? Object.fromEntries(await readForm(req)) : Object.fromEntries(url.searchParams);
    if (params.client_id !== accounts.clientId || !accounts.redirectUris.includes(params.redirect_uri)) {
      json(res, 400, { error: 'unauthorized_client', error_description: 'AADSTS700016: Application not found, or the redirect URI does not match.' });
      return;
    }
    if (params.code_challenge_method !== 'S256' || !params.code_challenge) {
      back(res, params.redirect_uri, { error: 'invalid_request', error_description: 'AADSTS9002325: PKCE is required.', state: params.state });
      return;
    }
    if (req.method === 'GET') {
      const { action, email, ...rest } = params;
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(signInPage(rest));
      return;
    }
    const email = (params.login_hint ?? params.email ?? '').trim();
    const domain = email.split('@')[1]?.toLowerCase() ?? '';
    if (!config.workDomains.has(domain)) {
      back(res, params.redirect_uri, { error: 'invalid_request', error_description: `AADSTS50034: The user account ${email} does not exist.`, state: params.state });
      return;
    }
    if (accounts.needsConsent(domain)) {
      back(res, params.redirect_uri, {
        error: 'access_denied',
        error_description: `AADSTS65001: The user or administrator has not consented to use the application with ID '${accounts.clientId}'.`,
        state: params.state,
      });
      return;
    }
    const code = randomBytes(24).toString('base64url');
    codes.set(code, { profile: accounts.workProfile(email), params, expiresAt: Date.now() + CODE_TTL_MS });
    back(res, params.redirect_uri, { code, state: params.state });
  }

  async function token(req, res, readForm) {
    const form = await readForm(req);
    const entry = codes.get(form.get('code') ?? '');
    codes.delete(form.get('code') ?? ''); // single use
    const invalid = (description) => json(res, 400, { error: 'invalid_grant', error_description: description });
    if (form.get('grant_type') !== 'authorization_code' || !entry || Date.now() > entry.expiresAt) {
      invalid('AADSTS70008: The provided authorization code or refresh token has expired or was already used.');
      return;
    }
    const { profile, params } = entry;
    const verifier = createHash('sha256').update(form.get('code_verifier') ?? '').digest('base64url');
    if (form.get('client_id') !== params.client_id || !sameSecret(form.get('client_secret'), config.clientSecret)) {
      json(res, 401, { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.' });
      return;
    }
    if (verifier !== params.code_challenge || form.get('redirect_uri') !== params.redirect_uri) {
      invalid('AADSTS501481: The code verifier does not match the code challenge, or the redirect URI differs.');
      return;
    }
    const now = Math.floor(Date.now() / 1000);
    const idToken = sign({
      aud: params.client_id,
      iss: `${host}/${profile.homeTenant}/v2.0`,
      iat: now,
      nbf: now,
      exp: now + 3600,
      ...(params.nonce ? { nonce: params.nonce } : {}),
      sub: profile.sub,
      oid: profile.sub,
      tid: profile.homeTenant,
      name: profile.name,
      preferred_username: profile.email,
      email: profile.email,
      xms_edov: true, // the domain owner verified the address (decision 0011's rule holds here too)
      ver: '2.0',
    });
    json(res, 200, { token_type: 'Bearer', scope: 'openid profile email', expires_in: 3600, access_token: randomBytes(24).toString('base64url'), id_token: idToken });
  }

  return async function handle(req, res, url, readForm) {
    const path = url.pathname.toLowerCase();
    const realm = url.pathname.match(/^\/common\/userrealm\/([^/]+)$/i);
    if (realm && req.method === 'GET') {
      const domain = decodeURIComponent(realm[1]).split('@').pop().toLowerCase();
      json(res, 200, { NameSpaceType: config.workDomains.has(domain) ? 'Managed' : 'Unknown', DomainName: domain });
      return true;
    }
    if (path === '/organizations/v2.0/.well-known/openid-configuration') {
      json(res, 200, {
        issuer: `${host}/{tenantid}/v2.0`,
        authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
        token_endpoint: `${base}/oauth2/v2.0/token`,
        jwks_uri: `${base}/discovery/v2.0/keys`,
        response_types_supported: ['code'],
        subject_types_supported: ['pairwise'],
        id_token_signing_alg_values_supported: ['RS256'],
        scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      });
      return true;
    }
    if (path === '/organizations/discovery/v2.0/keys') {
      json(res, 200, { keys: [jwk] });
      return true;
    }
    if (path === '/organizations/oauth2/v2.0/authorize' && (req.method === 'GET' || req.method === 'POST')) {
      await authorize(req, res, url, readForm);
      return true;
    }
    if (path === '/organizations/oauth2/v2.0/token' && req.method === 'POST') {
      await token(req, res, readForm);
      return true;
    }
    return false;
  };
}
