// Local stand-in for Azure AD B2C: an OpenID Connect provider on loopback HTTPS
// that MSAL Python accepts as a B2C authority, plus a stand-in for the Entra ID
// admin-consent endpoint. Configured only through environment variables (see
// readConfig); prints "IdP ready at <issuer>" once it accepts connections.

import { createHash, generateKeyPairSync, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';

import Provider, { interactionPolicy } from 'oidc-provider';

import { adminConsentPage, codePage, errorPage, loginPage } from './views.mjs';

const EMAIL_RE = /^[^\s@<>()[\]\\,;:"]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;
const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_BODY_BYTES = 64 * 1024;

function list(value, fallback = '') {
  return (value ?? fallback).split(',').map((item) => item.trim()).filter(Boolean);
}

function readConfig(env) {
  const missing = ['IDP_TLS_CERT', 'IDP_TLS_KEY', 'IDP_REDIRECT_URIS'].filter((name) => !env[name]);
  if (missing.length) {
    throw new Error(`missing required environment variable(s): ${missing.join(', ')}`);
  }
  const port = Number(env.IDP_PORT ?? 8443);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`IDP_PORT must be a TCP port, got ${env.IDP_PORT}`);
  }
  const tenant = env.IDP_TENANT || 'rconnectdev';
  const userFlow = env.IDP_USER_FLOW || 'B2C_1_signupsignin';
  const prefix = `/${tenant}.onmicrosoft.com/${userFlow}/v2.0`;
  return {
    port,
    tlsCert: readFileSync(env.IDP_TLS_CERT),
    tlsKey: readFileSync(env.IDP_TLS_KEY),
    tenant,
    userFlow,
    prefix,
    // MSAL fetches "{authority}/v2.0/.well-known/openid-configuration" keeping the
    // authority's case and requires the ID token "iss" to equal this string.
    issuer: `https://localhost:${port}${prefix}`,
    clientId: env.IDP_CLIENT_ID || 'rconnect-invitations-local',
    clientSecret: env.IDP_CLIENT_SECRET || 'local-development-client-secret',
    redirectUris: list(env.IDP_REDIRECT_URIS),
    entraClientId: env.IDP_ENTRA_CLIENT_ID || 'rconnect-entra-federation-local',
    adminConsentRedirectUris: new Set(list(env.IDP_ADMIN_CONSENT_REDIRECT_URIS)),
    consentRequiredDomains: new Set(
      list(env.IDP_CONSENT_REQUIRED_DOMAINS, 'needs-consent.example').map((d) => d.toLowerCase()),
    ),
  };
}

// Deterministic ids, so the same person or organisation always gets the same
// GUID across restarts: the first 128 bits of SHA-256("<kind>:<value>") as a GUID.
// Python: str(uuid.UUID(hashlib.sha256(f"user:{email.lower()}".encode()).hexdigest()[:32]))
function deterministicGuid(kind, value) {
  const hex = createHash('sha256').update(`${kind}:${value}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
const userId = (email) => deterministicGuid('user', email.toLowerCase());
const homeTenantId = (domain) => deterministicGuid('tenant', domain.toLowerCase());

function displayNameFromEmail(email) {
  return email.split('@')[0].split(/[._+-]+/).filter(Boolean)
    .map((part) => part[0].toUpperCase() + part.slice(1).toLowerCase())
    .join(' ');
}

function buildProfile(config, rawEmail, rawName, kind) {
  const email = rawEmail.trim();
  const name = rawName.trim() || displayNameFromEmail(email);
  const [givenName, ...rest] = name.split(/\s+/);
  const domain = email.split('@')[1].toLowerCase();
  return {
    sub: userId(email),
    email,
    name,
    givenName,
    familyName: rest.join(' '),
    // B2C adds "idp" only for federated (work account) sign-ins.
    idp: kind === 'work' ? `https://login.microsoftonline.com/${homeTenantId(domain)}/v2.0` : undefined,
  };
}

function sendHtml(res, status, html) {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'x-frame-options': 'DENY',
  });
  res.end(html);
}

function redirect(res, location) {
  res.writeHead(302, { location, 'cache-control': 'no-store' });
  res.end();
}

async function readForm(req) {
  let size = 0;
  const chunks = [];
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new Error('request body too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function createProvider(config, accounts) {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const signingKey = { ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256', kid: randomBytes(8).toString('hex') };
  const b2cTenantId = deterministicGuid('b2c-tenant', config.tenant.toLowerCase());

  // Every authorization request shows the sign-in page (no silent SSO), so tests
  // with several users in one browser stay deterministic.
  const policy = interactionPolicy.base();
  policy.get('login').checks.add(new interactionPolicy.Check(
    'stand_in_always_login',
    'the local B2C stand-in asks for credentials on every request',
    (ctx) => (ctx.oidc.result?.login ? interactionPolicy.Check.NO_NEED_TO_PROMPT : interactionPolicy.Check.REQUEST_PROMPT),
  ));

  const provider = new Provider(config.issuer, {
    clients: [{
      client_id: config.clientId,
      client_secret: config.clientSecret,
      redirect_uris: config.redirectUris,
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_post',
      require_auth_time: true,
    }],
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    pkce: { required: () => true },
    // Explicit lifetimes (B2C-like one hour tokens); the defaults print notices on stdout.
    ttl: {
      AccessToken: 3600,
      AuthorizationCode: 600,
      IdToken: 3600,
      Interaction: 3600,
      Session: 24 * 3600,
      Grant: 24 * 3600,
    },
    features: { devInteractions: { enabled: false } },
    // B2C puts the profile claims into the ID token; oidc-provider would only put
    // them into userinfo unless this is off.
    conformIdTokenClaims: false,
    claims: {
      openid: ['sub', 'oid', 'emails', 'name', 'given_name', 'family_name', 'tfp', 'tid', 'ver', 'idp'],
      profile: ['name', 'given_name', 'family_name'],
      email: ['emails'],
    },
    async findAccount(ctx, sub, token) {
      // The profile is kept per grant because one e-mail may sign in as both a
      // work and a local account; fall back to the latest login for the session.
      const profile = accounts.byGrant.get(token?.grantId) ?? accounts.bySub.get(sub);
      if (!profile) return undefined;
      return {
        accountId: sub,
        async claims() {
          return {
            sub,
            oid: sub,
            emails: [profile.email],
            name: profile.name,
            given_name: profile.givenName,
            ...(profile.familyName ? { family_name: profile.familyName } : {}),
            tfp: config.userFlow,
            tid: b2cTenantId,
            ver: '1.0',
            ...(profile.idp ? { idp: profile.idp } : {}),
          };
        },
      };
    },
    interactions: {
      policy,
      url: (ctx, interaction) => `${config.prefix}/interaction/${interaction.uid}`,
    },
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = errorPage('Sign in failed', out);
    },
  });
  return provider;
}

function createApp(config) {
  const accounts = { byGrant: new Map(), bySub: new Map() };
  const emailCodes = new Map(); // interaction uid -> { email, name, code }
  const consentedTenants = new Set();
  const provider = createProvider(config, accounts);
  const oidcCallback = provider.callback();
  const prefixLower = config.prefix.toLowerCase();
  const interactionRe = /^\/interaction\/([\w-]+)(?:\/(login|verify|cancel|forgot-password))?$/;

  const b2cError = (code, message) => ({ error: 'access_denied', error_description: `${code}: ${message}` });

  async function finishLogin(req, res, details, profile) {
    const grant = new provider.Grant({ accountId: profile.sub, clientId: details.params.client_id });
    grant.addOIDCScope(details.params.scope);
    const grantId = await grant.save();
    accounts.byGrant.set(grantId, profile);
    accounts.bySub.set(profile.sub, profile);
    await provider.interactionFinished(req, res, {
      login: { accountId: profile.sub },
      consent: { grantId },
    }, { mergeWithLastSubmission: false });
  }

  async function handleInteraction(req, res, uid, step) {
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid) {
      sendHtml(res, 400, errorPage('Sign in failed', { error: 'invalid_request', error_description: 'interaction mismatch' }));
      return;
    }
    const base = `${config.prefix}/interaction/${uid}`;
    const renderLogin = (status, values) => sendHtml(res, status, loginPage({
      action: `${base}/login`, forgotUrl: `${base}/forgot-password`, ...values,
    }));
    const renderCode = (status, pending, error) => sendHtml(res, status, codePage({
      action: `${base}/verify`, cancelAction: `${base}/cancel`, email: pending.email, code: pending.code, error,
    }));
    const abort = (result) => provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });

    if (req.method === 'GET' && !step) {
      renderLogin(200, { email: details.params.login_hint ?? '', name: '' });
      return;
    }
    if (req.method === 'GET' && step === 'forgot-password') {
      await abort(b2cError('AADB2C90118', 'The user has forgotten their password.'));
      return;
    }
    if (req.method !== 'POST' || !step || step === 'forgot-password') {
      sendHtml(res, 405, errorPage('Method not allowed', { error: 'method_not_allowed' }));
      return;
    }

    const form = await readForm(req);
    const action = form.get('action');
    if (step === 'cancel' || action === 'cancel') {
      emailCodes.delete(uid);
      await abort(b2cError('AADB2C90091', 'The user has cancelled entering self-asserted information.'));
      return;
    }

    if (step === 'login') {
      const email = (form.get('email') ?? '').trim();
      const name = (form.get('name') ?? '').trim();
      if (!EMAIL_RE.test(email)) {
        renderLogin(400, { email, name, error: 'Please enter a valid email address.' });
        return;
      }
      if (action === 'work') {
        const domain = email.split('@')[1].toLowerCase();
        if (config.consentRequiredDomains.has(domain) && !consentedTenants.has(homeTenantId(domain))) {
          await abort({
            error: 'access_denied',
            error_description: `AADSTS65001: The user or administrator has not consented to use the application with ID '${config.entraClientId}'. Send an interactive authorization request for this user and resource.`,
          });
          return;
        }
        await finishLogin(req, res, details, buildProfile(config, email, name, 'work'));
        return;
      }
      if (action === 'local') {
        const pending = { email, name, code: String(randomInt(0, 1_000_000)).padStart(6, '0') };
        emailCodes.set(uid, pending);
        renderCode(200, pending);
        return;
      }
      renderLogin(400, { email, name, error: 'Please choose how to sign in.' });
      return;
    }

    // step === 'verify'
    const pending = emailCodes.get(uid);
    if (!pending) {
      renderLogin(400, { email: details.params.login_hint ?? '', name: '', error: 'The verification code has expired. Please start again.' });
      return;
    }
    const entered = Buffer.from((form.get('code') ?? '').trim());
    const expected = Buffer.from(pending.code);
    if (entered.length !== expected.length || !timingSafeEqual(entered, expected)) {
      renderCode(400, pending, 'That code is wrong. Please try again.');
      return;
    }
    emailCodes.delete(uid);
    await finishLogin(req, res, details, buildProfile(config, pending.email, pending.name, 'local'));
  }

  async function handleAdminConsent(req, res, tenantSegment, url) {
    const params = req.method === 'POST' ? await readForm(req) : url.searchParams;
    const clientId = params.get('client_id');
    const redirectUri = params.get('redirect_uri');
    const state = params.get('state') ?? undefined;
    if (clientId !== config.entraClientId) {
      sendHtml(res, 400, errorPage('Sign in failed', {
        error: 'unauthorized_client',
        error_description: `AADSTS700016: Application with identifier '${clientId ?? ''}' was not found in the directory.`,
      }));
      return;
    }
    if (!config.adminConsentRedirectUris.has(redirectUri)) {
      sendHtml(res, 400, errorPage('Sign in failed', {
        error: 'invalid_request',
        error_description: "AADSTS50011: The redirect URI specified in the request does not match the redirect URIs configured for the application.",
      }));
      return;
    }

    const tenant = tenantSegment.toLowerCase();
    const needsAdminEmail = tenant === 'organizations' || tenant === 'common';
    const adminEmail = (params.get('admin_email') ?? '').trim();
    const render = (status, error) => sendHtml(res, status, adminConsentPage({
      action: url.pathname,
      hidden: { client_id: clientId, redirect_uri: redirectUri, state },
      tenantLabel: needsAdminEmail ? undefined : tenantSegment,
      needsAdminEmail,
      adminEmail,
      entraClientId: config.entraClientId,
      error,
    }));
    if (req.method === 'GET') {
      render(200);
      return;
    }

    if ((needsAdminEmail || adminEmail) && !EMAIL_RE.test(adminEmail)) {
      render(400, 'Please enter a valid administrator email address.');
      return;
    }
    let tenantGuid;
    if (needsAdminEmail) tenantGuid = homeTenantId(adminEmail.split('@')[1]);
    else if (GUID_RE.test(tenant)) tenantGuid = tenant;
    else tenantGuid = homeTenantId(tenant);

    const target = new URL(redirectUri);
    if (params.get('decision') === 'accept') {
      consentedTenants.add(tenantGuid);
      target.searchParams.append('admin_consent', 'True');
    } else {
      target.searchParams.append('error', 'access_denied');
      target.searchParams.append('error_description', 'AADSTS65004: User declined to consent to access the app.');
    }
    target.searchParams.append('tenant', tenantGuid);
    if (state !== undefined) target.searchParams.append('state', state);
    redirect(res, target.href);
  }

  return async function handle(req, res) {
    try {
      const url = new URL(req.url, config.issuer);
      const { pathname } = url;
      if (pathname === '/health') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: 'ok', issuer: config.issuer }));
        return;
      }
      // Like B2C, the tenant/user-flow path is matched case-insensitively.
      if (pathname.toLowerCase() === prefixLower || pathname.toLowerCase().startsWith(`${prefixLower}/`)) {
        const rest = pathname.slice(config.prefix.length) || '/';
        const interaction = rest.match(interactionRe);
        if (interaction) {
          await handleInteraction(req, res, interaction[1], interaction[2]);
          return;
        }
        // oidc-provider derives its mount path from originalUrl minus url.
        req.originalUrl = req.url;
        req.url = req.url.slice(config.prefix.length) || '/';
        await oidcCallback(req, res);
        return;
      }
      const consent = pathname.match(/^\/([^/]+)\/adminconsent$/i);
      if (consent && (req.method === 'GET' || req.method === 'POST')) {
        await handleAdminConsent(req, res, decodeURIComponent(consent[1]), url);
        return;
      }
      sendHtml(res, 404, errorPage('Not found', { error: 'not_found', path: pathname }));
    } catch (err) {
      const expired = err?.name === 'SessionNotFound';
      if (!expired) console.error(err);
      if (!res.headersSent) {
        sendHtml(res, expired ? 400 : 500, errorPage('Sign in failed', {
          error: expired ? 'session_not_found' : 'server_error',
          error_description: expired ? 'The sign-in session has expired. Please start again.' : 'Unexpected error in the local IdP.',
        }));
      } else {
        res.end();
      }
    }
  };
}

function listen(server, port, host) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

async function main() {
  const config = readConfig(process.env);
  const handler = createApp(config);
  const tls = { cert: config.tlsCert, key: config.tlsKey };
  // Loopback only; "localhost" may resolve to either address family.
  const servers = [await listen(https.createServer(tls, handler), config.port, '127.0.0.1')];
  try {
    servers.push(await listen(https.createServer(tls, handler), config.port, '::1'));
  } catch (err) {
    if (!['EADDRNOTAVAIL', 'EAFNOSUPPORT'].includes(err.code)) throw err; // no IPv6 loopback
  }

  const shutdown = async () => {
    await Promise.all(servers.map((server) => {
      const closed = new Promise((resolve) => { server.close(resolve); });
      server.closeAllConnections();
      return closed;
    }));
    // oidc-provider's in-memory stores keep timers alive; nothing else to flush.
    process.exit(0);
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  console.log(`IdP ready at ${config.issuer}`);
}

main().catch((err) => {
  console.error(`IdP failed to start: ${err.message}`);
  process.exit(1);
});
