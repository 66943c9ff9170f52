// Local stand-in for Azure AD B2C: an OpenID Connect provider on loopback HTTPS
// that MSAL Python accepts as a B2C authority, plus a stand-in for the Entra ID
// admin-consent endpoint. Its pages follow the customer guide's steps: sign in (local
// account password, or a work account known to Microsoft), sign up (e-mail, password,
// a verification code e-mailed to the local outbox), then the terms/consent page; and
// B2C's self-service password reset (a code e-mailed, then a new password).
// Every form answers with a redirect to a page (POST/redirect/GET), so Back and reload
// never resubmit; a page of a sign-in that has ended shows B2C's "start again" page.
// Configured only through environment variables (see readConfig); prints
// "IdP ready at <issuer>" once it accepts connections.

import { createHash, generateKeyPairSync, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import Provider, { interactionPolicy } from 'oidc-provider';

import { AccountStore, hashPassword, passwordProblem } from './accounts.mjs';
import { chooseLanguage, translator } from './i18n.mjs';
import { writeVerificationEmail } from './mail.mjs';
import { createEntraWork, entraWorkConfig } from './entra_work.mjs';
import { createHintGate, HINT_REFERENCE, hintConfig, hintText, invitedSignUpPage, refusalRedirect } from './hint.mjs';
import { platformShape } from './platforms.mjs';
import { createStaffTenant, staffConfig } from './staff.mjs';
import {
  adminConsentPage, codePage, consentPage, declinedPage, documentPage, errorPage, expiredPage, newPasswordPage, resetPage, signInPage,
  signUpPage,
} from './views.mjs';
import { tenantDiscovery } from './discovery.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const EMAIL_RE = /^[^\s@<>()[\]\\,;:"]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;
const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_BODY_BYTES = 64 * 1024;
// B2C's e-mail verification: a 6-digit code, a few tries per code, a few codes per sign-up.
const CODE_ATTEMPTS = 3;
const CODES_PER_SIGN_UP = 5;

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
  const shape = platformShape(env, tenant, deterministicGuid); // IDP_PLATFORM: tools/idp/platforms.mjs
  const { prefix, policy: userFlow } = shape;
  const codeTtlSeconds = Number(env.IDP_CODE_TTL_SECONDS || 600);
  if (!Number.isInteger(codeTtlSeconds) || codeTtlSeconds < 0) {
    throw new Error(`IDP_CODE_TTL_SECONDS must be a whole number of seconds, got ${env.IDP_CODE_TTL_SECONDS}`);
  }
  const outboxDir = path.resolve(env.IDP_OUTBOX_DIR || path.join(ROOT, '.local', 'outbox'));
  const relativeOutbox = path.relative(process.cwd(), outboxDir);
  return {
    port,
    tlsCert: readFileSync(env.IDP_TLS_CERT),
    tlsKey: readFileSync(env.IDP_TLS_KEY),
    tenant,
    shape,
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
    dataDir: path.resolve(env.IDP_DATA_DIR || path.join(ROOT, '.local', 'idp')),
    outboxDir,
    codeTtlMs: codeTtlSeconds * 1000,
    // What the code page tells the developer: ".local/outbox" under `make run`.
    outboxLabel: relativeOutbox && !relativeOutbox.startsWith('..') && !path.isAbsolute(relativeOutbox) ? relativeOutbox : outboxDir,
    // The product's name and brand on every page and on the code e-mail (B2C's company branding);
    // IDP_DEVELOPMENT_MARKER=0 drops the discreet "local stand-in" line (the customer guide's screenshots).
    brand: { app: env.IDP_APP_NAME || 'My rConnect', marker: env.IDP_DEVELOPMENT_MARKER !== '0' },
    mailSender: env.IDP_MAIL_SENDER || 'no-reply@accounts.rconnect.example',
    termsUrl: env.IDP_TERMS_URL || `https://localhost:${port}/terms-of-use`,
    privacyUrl: env.IDP_PRIVACY_URL || `https://localhost:${port}/privacy`,
    // The staff's Entra ID tenant (tools/idp/staff.mjs), for the staff API's bearer tokens.
    staff: staffConfig(env),
    // The invitation policy's id_token_hint (tools/idp/hint.mjs).
    hint: hintConfig(env, env.IDP_CLIENT_ID || 'rconnect-invitations-local'),
    entraWork: entraWorkConfig(env),
  };
}

// Deterministic ids, so the same person or organisation always gets the same
// GUID across restarts: the first 128 bits of SHA-256("<kind>:<value>") as a GUID.
// Python: str(uuid.UUID(hashlib.sha256(f"user:{email.lower()}".encode()).hexdigest()[:32]))
// (kinds: "user" for work accounts, "local-user" for local accounts, "tenant" for a domain).
function deterministicGuid(kind, value) {
  const hex = createHash('sha256').update(`${kind}:${value}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
// B2C keeps a local account and a federated (work) account with the same e-mail as two users.
const userId = (email, kind) => deterministicGuid(kind === 'local' ? 'local-user' : 'user', email.toLowerCase());
const homeTenantId = (domain) => deterministicGuid('tenant', domain.toLowerCase());

function displayNameFromEmail(email) {
  return email.split('@')[0].split(/[._+-]+/).filter(Boolean)
    .map((part) => part[0].toUpperCase() + part.slice(1).toLowerCase())
    .join(' ');
}

// A work account federated from Entra ID (CASE 1): its home tenant is derived from the domain.
function workProfile(email) {
  const name = displayNameFromEmail(email);
  const [givenName, ...rest] = name.split(/\s+/);
  return {
    kind: 'work',
    sub: userId(email, 'work'),
    email,
    name,
    givenName,
    familyName: rest.join(' '),
    homeTenant: homeTenantId(email.split('@')[1]),
  };
}

// A local account as the stand-in stores it; without names, they come from the address.
function newLocalAccount({ email, givenName, familyName, passwordHash, consented }) {
  const fallback = displayNameFromEmail(email);
  return {
    sub: userId(email, 'local'),
    email,
    name: [givenName, familyName].filter(Boolean).join(' ') || fallback,
    givenName: givenName || fallback.split(' ')[0],
    familyName: familyName || fallback.split(' ').slice(1).join(' '),
    passwordHash,
    consented,
    createdAt: new Date().toISOString(),
  };
}

function localProfile(account) {
  return {
    kind: 'local',
    sub: account.sub,
    email: account.email,
    name: account.name,
    givenName: account.givenName,
    familyName: account.familyName,
  };
}

// Why a new password (sign-up or reset) is refused: the catalog key, or undefined.
function newPasswordProblem(form) {
  const password = form.get('newPassword') ?? '';
  return passwordProblem(password) ?? (password !== (form.get('reenterPassword') ?? '') ? 'errPasswordMismatch' : undefined);
}

function sendHtml(res, status, html) {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'x-frame-options': 'DENY',
  });
  res.end(html);
}

function redirect(res, location, status = 302) {
  res.writeHead(status, { location, 'cache-control': 'no-store' });
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

function createProvider(config, sessions) {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const signingKey = { ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256', kid: randomBytes(8).toString('hex') };

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
    // B2C puts the policy name in `acr` as well as `tfp` (the "acr" claim setting).
    acrValues: config.userFlow ? [config.userFlow] : [],
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
    extraParams: [HINT_REFERENCE], // a validated id_token_hint's reference (tools/idp/hint.mjs)
    // B2C puts the profile claims into the ID token; oidc-provider would only put
    // them into userinfo unless this is off.
    conformIdTokenClaims: false,
    claims: {
      openid: ['sub', 'oid', 'emails', 'email', 'preferred_username', 'upn', 'name', 'given_name', 'family_name', 'tfp', 'acr', 'tid', 'ver', 'idp'],
      profile: ['name', 'given_name', 'family_name'],
      email: ['emails', 'email'],
    },
    async findAccount(ctx, sub, token) {
      // The profile is kept per grant because one e-mail may sign in as both a
      // work and a local account; fall back to the latest login for the session.
      const profile = sessions.byGrant.get(token?.grantId) ?? sessions.bySub.get(sub);
      if (!profile) return undefined;
      return { accountId: sub, async claims() { return config.shape.claims(profile); } };
    },
    interactions: {
      policy,
      url: (ctx, interaction) => `${config.prefix}/interaction/${interaction.uid}`,
    },
    async renderError(ctx, out) {
      const t = translator(chooseLanguage(ctx.oidc?.params?.ui_locales, ctx.get('accept-language')), config.brand);
      ctx.type = 'html';
      ctx.body = errorPage(t, t('signInFailed'), out);
    },
  });
  return provider;
}

function createApp(config) {
  const sessions = { byGrant: new Map(), bySub: new Map() };
  const accounts = new AccountStore(config.dataDir);
  // interaction uid -> the step in progress: { stage: 'code', purpose: 'signup' | 'reset', email,
  // passwordHash, givenName, familyName, code, expiresAt, attempts, codesSent }, { stage: 'new-password',
  // email }, { stage: 'consent', email } or { stage: 'declined', email }.
  const pending = new Map();
  // interaction uid -> what a refused form showed, for the page the POST redirects to: { step, status, values }.
  const flashes = new Map();
  // interaction uid -> { startUrl, lang }: where "Start again" goes once the interaction has ended.
  const started = new Map();
  const MAX_STARTED = 10_000;
  const consentedTenants = new Set();
  const provider = createProvider(config, sessions);
  const hints = createHintGate(config.hint);
  const oidcCallback = provider.callback();
  const prefixLower = config.prefix.toLowerCase();
  const interactionRe = /^\/interaction\/([\w-]+)(?:\/(login|signup|verify|consent|forgot-password|new-password|declined))?$/;
  const tr = (lang) => translator(lang, config.brand);

  const { cancelled } = config.shape;

  async function finishLogin(req, res, details, profile) {
    const grant = new provider.Grant({ accountId: profile.sub, clientId: details.params.client_id });
    grant.addOIDCScope(details.params.scope);
    const grantId = await grant.save();
    sessions.byGrant.set(grantId, profile);
    sessions.bySub.set(profile.sub, profile);
    await provider.interactionFinished(req, res, {
      login: { accountId: profile.sub, acr: config.userFlow },
      consent: { grantId },
    }, { mergeWithLastSubmission: false });
  }

  function newCode(state, t) {
    state.code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    state.expiresAt = Date.now() + config.codeTtlMs;
    state.attempts = 0;
    state.codesSent += 1;
    const file = writeVerificationEmail({ outboxDir: config.outboxDir, sender: config.mailSender, t, to: state.email, code: state.code });
    console.log(`Verification code for ${state.email} written to ${file}`);
  }

  // The page of a sign-in whose interaction has ended (finished, expired, or this browser lost its
  // cookie): B2C's error page, whose "Start again" asks the authorization again with the same request.
  function renderExpired(req, res, uid) {
    const known = started.get(uid);
    const t = tr(known?.lang ?? chooseLanguage(undefined, req.headers['accept-language']));
    sendHtml(res, 400, expiredPage({ t, startUrl: known?.startUrl }));
  }

  function remember(uid, details, lang) {
    if (started.has(uid)) return;
    if (started.size >= MAX_STARTED) started.delete(started.keys().next().value);
    const query = new URLSearchParams(Object.entries(details.params).filter(([, value]) => typeof value === 'string'));
    started.set(uid, { startUrl: `${config.prefix}/auth?${query}`, lang });
  }

  async function handleInteraction(req, res, uid, step) {
    let details;
    try {
      details = await provider.interactionDetails(req, res);
    } catch (err) {
      if (err?.name !== 'SessionNotFound') throw err;
      renderExpired(req, res, uid);
      return;
    }
    const lang = chooseLanguage(details.params.ui_locales, req.headers['accept-language']);
    const t = tr(lang);
    if (details.uid !== uid) {
      renderExpired(req, res, uid);
      return;
    }
    remember(uid, details, lang);
    const base = `${config.prefix}/interaction/${uid}`;
    const invited = hints.invitation(details.params[HINT_REFERENCE]); // the address is locked to it
    const hint = invited?.email ?? details.params.login_hint ?? '';
    const locked = invited ? { email: invited.email, locked: true } : {};
    const state = pending.get(uid);
    const abort = (result) => provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
    // POST/redirect/GET: a form's answer is always a redirect to the page to show next, with what a
    // refused form said kept for that one page view.
    const show = (next, values = {}, status = 400) => {
      if (Object.keys(values).length) flashes.set(uid, { step: next, status, values });
      redirect(res, next ? `${base}/${next}` : base, 303);
    };

    if (req.method === 'GET') {
      const flash = flashes.get(uid);
      const shown = flash && flash.step === (step ?? '') ? flash : { status: 200, values: {} };
      if (shown === flash) flashes.delete(uid);
      const { status, values } = shown;
      if (!step) {
        sendHtml(res, status, signInPage({
          t, action: `${base}/login`, signUpUrl: `${base}/signup`, forgotUrl: `${base}/forgot-password`, email: hint, ...values, ...locked,
        }));
      } else if (step === 'signup' && invited) {
        sendHtml(res, status, invitedSignUpPage({
          t, action: `${base}/signup`, signInUrl: base, email: invited.email, termsUrl: config.termsUrl, privacyUrl: config.privacyUrl, ...values,
        }));
      } else if (step === 'signup') {
        sendHtml(res, status, signUpPage({ t, action: `${base}/signup`, signInUrl: base, email: hint, givenName: '', surname: '', ...values }));
      } else if (step === 'forgot-password') {
        sendHtml(res, status, resetPage({ t, action: `${base}/forgot-password`, email: hint, ...values }));
      } else if (step === 'verify' && state?.stage === 'code') {
        sendHtml(res, status, codePage({ t, action: `${base}/verify`, email: state.email, folder: config.outboxLabel, ...values }));
      } else if (step === 'new-password' && state?.stage === 'new-password') {
        sendHtml(res, status, newPasswordPage({ t, action: `${base}/new-password`, email: state.email, ...values }));
      } else if (step === 'consent' && state?.stage === 'consent') {
        sendHtml(res, 200, consentPage({ t, action: `${base}/consent`, email: state.email, termsUrl: config.termsUrl, privacyUrl: config.privacyUrl }));
      } else if (step === 'declined' && state?.stage === 'declined') {
        sendHtml(res, 200, declinedPage({ t, action: `${base}/declined`, email: state.email }));
      } else if (state) {
        // Back to a page this sign-in has left: the page of the step it is at.
        redirect(res, `${base}/${state.stage === 'code' ? 'verify' : state.stage}`, 303);
      } else {
        // A step this sign-in never reached: its first page, saying so.
        sendHtml(res, 400, signInPage({
          t, action: `${base}/login`, signUpUrl: `${base}/signup`, forgotUrl: `${base}/forgot-password`, email: hint, error: t('errStartAgain'),
        }));
      }
      return;
    }
    if (req.method !== 'POST' || !step) {
      sendHtml(res, 405, errorPage(t, t('signInFailed'), { error: 'method_not_allowed' }));
      return;
    }

    const form = await readForm(req);
    const action = form.get('action');
    if (action === 'cancel') {
      pending.delete(uid);
      await abort(cancelled);
      return;
    }

    if (step === 'login') {
      const email = (form.get('email') ?? '').trim();
      if (!EMAIL_RE.test(email)) {
        show('', { email, error: t('errEmail') });
        return;
      }
      if (invited && email.toLowerCase() !== invited.email.toLowerCase()) {
        show('', { error: hintText(t, 'errInvited') });
        return;
      }
      if (action === 'work' && config.shape.federatesWork) {
        const domain = email.split('@')[1].toLowerCase();
        if (config.consentRequiredDomains.has(domain) && !consentedTenants.has(homeTenantId(domain))) {
          await abort({
            error: 'access_denied',
            error_description: `AADSTS65001: The user or administrator has not consented to use the application with ID '${config.entraClientId}'. Send an interactive authorization request for this user and resource.`,
          });
          return;
        }
        await finishLogin(req, res, details, workProfile(email));
        return;
      }
      if (action !== 'signin') {
        show('', { email, error: t('errChoose') });
        return;
      }
      const password = form.get('password') ?? '';
      if (!password) {
        show('', { email, error: t('errPasswordMissing') });
        return;
      }
      const { account, error } = await accounts.authenticate(email, password);
      if (error) {
        show('', { email, error: t(error) });
        return;
      }
      await signedIn(req, res, details, uid, account);
      return;
    }

    if (step === 'signup' && invited) {
      // The link proved the mailbox: no code; the address is the hint's, never the form's.
      if (accounts.find(invited.email)) {
        show('', { info: t('accountExists', { email: invited.email }) }, 200);
        return;
      }
      const problem = newPasswordProblem(form);
      if (problem || form.get('terms') !== 'accepted') {
        show('signup', { error: problem ? t(problem) : hintText(t, 'errTerms') });
        return;
      }
      accounts.add(newLocalAccount({ email: invited.email, passwordHash: await hashPassword(form.get('newPassword')), consented: true }));
      await finishLogin(req, res, details, localProfile(accounts.find(invited.email)));
      return;
    }

    if (step === 'signup') {
      const email = (form.get('email') ?? '').trim();
      const givenName = (form.get('givenName') ?? '').trim();
      const surname = (form.get('surname') ?? '').trim();
      const password = form.get('newPassword') ?? '';
      if (EMAIL_RE.test(email) && accounts.find(email)) {
        // Signing up again (after "No" on the terms, or forgetting): sign in instead, nothing to create.
        show('', { email, info: t('accountExists', { email }) }, 200);
        return;
      }
      const problem = !EMAIL_RE.test(email) ? 'errEmail' : newPasswordProblem(form);
      if (problem) {
        show('signup', { email, givenName, surname, error: t(problem), passwordError: problem !== 'errEmail' });
        return;
      }
      const fresh = {
        stage: 'code', purpose: 'signup', email, givenName, familyName: surname, passwordHash: await hashPassword(password), codesSent: 0,
      };
      newCode(fresh, t);
      pending.set(uid, fresh);
      show('verify');
      return;
    }

    if (step === 'forgot-password') {
      const email = (form.get('email') ?? '').trim();
      const problem = !EMAIL_RE.test(email) ? 'errEmail' : (accounts.find(email) ? undefined : 'errNoAccount');
      if (problem) {
        show('forgot-password', { email, error: t(problem) });
        return;
      }
      const fresh = { stage: 'code', purpose: 'reset', email: accounts.find(email).email, codesSent: 0 };
      newCode(fresh, t);
      pending.set(uid, fresh);
      show('verify');
      return;
    }

    if (step === 'verify') {
      if (state?.stage !== 'code') {
        show('signup', { error: t('errStartAgain') });
        return;
      }
      if (action === 'resend') {
        if (state.codesSent >= CODES_PER_SIGN_UP) {
          show('verify', { error: t('errTooManyCodes') }, 429);
          return;
        }
        newCode(state, t);
        show('verify', { info: t('newCodeSent') }, 200);
        return;
      }
      if (!state.code || state.attempts >= CODE_ATTEMPTS) {
        show('verify', { error: t('errCodeTooMany') });
        return;
      }
      if (Date.now() >= state.expiresAt) {
        show('verify', { error: t('errCodeExpired') });
        return;
      }
      const entered = Buffer.from((form.get('code') ?? '').trim());
      const expected = Buffer.from(state.code);
      if (entered.length !== expected.length || !timingSafeEqual(entered, expected)) {
        state.attempts += 1;
        if (state.attempts >= CODE_ATTEMPTS) state.code = undefined; // only a new code helps now
        show('verify', { error: t(state.code ? 'errCodeWrong' : 'errCodeTooMany') });
        return;
      }
      if (state.purpose === 'reset') {
        pending.set(uid, { stage: 'new-password', email: state.email });
        show('new-password');
        return;
      }
      if (accounts.find(state.email)) { // created meanwhile in another tab
        pending.delete(uid);
        show('', { email: state.email, info: t('accountExists', { email: state.email }) }, 200);
        return;
      }
      accounts.add(newLocalAccount({ ...state, consented: false }));
      pending.set(uid, { stage: 'consent', email: state.email });
      show('consent');
      return;
    }

    if (step === 'new-password') {
      if (state?.stage !== 'new-password') {
        show('forgot-password', { error: t('errStartAgain') });
        return;
      }
      const problem = newPasswordProblem(form);
      if (problem) {
        show('new-password', { error: t(problem), passwordError: true });
        return;
      }
      accounts.update(state.email, { passwordHash: await hashPassword(form.get('newPassword')) });
      // As B2C's reset: the customer is signed in with the new password at once.
      await signedIn(req, res, details, uid, accounts.find(state.email));
      return;
    }

    if (step === 'declined') {
      if (state?.stage !== 'declined') {
        show('', { error: t('errStartAgain') });
        return;
      }
      pending.set(uid, { stage: 'consent', email: state.email });
      show('consent');
      return;
    }

    // step === 'consent'
    if (state?.stage !== 'consent') {
      show('', { email: hint, error: t('errStartAgain') });
      return;
    }
    if (form.get('decision') !== 'yes') {
      // The account exists now: say so, and how to go on, rather than leave at once.
      pending.set(uid, { stage: 'declined', email: state.email });
      show('declined');
      return;
    }
    pending.delete(uid);
    accounts.update(state.email, { consented: true });
    await finishLogin(req, res, details, localProfile(accounts.find(state.email)));
  }

  // A local account proved (password, or a password reset): a token, or first the terms when they
  // were declined last time.
  async function signedIn(req, res, details, uid, account) {
    if (account.consented) {
      pending.delete(uid);
      await finishLogin(req, res, details, localProfile(account));
      return;
    }
    pending.set(uid, { stage: 'consent', email: account.email });
    redirect(res, `${config.prefix}/interaction/${uid}/consent`, 303);
  }

  async function handleAdminConsent(req, res, tenantSegment, url) {
    const t = tr(chooseLanguage(undefined, req.headers['accept-language']));
    const params = req.method === 'POST' ? await readForm(req) : url.searchParams;
    const clientId = params.get('client_id');
    const redirectUri = params.get('redirect_uri');
    const state = params.get('state') ?? undefined;
    if (clientId !== config.entraClientId) {
      sendHtml(res, 400, errorPage(t, t('signInFailed'), {
        error: 'unauthorized_client',
        error_description: `AADSTS700016: Application with identifier '${clientId ?? ''}' was not found in the directory.`,
      }));
      return;
    }
    if (!config.adminConsentRedirectUris.has(redirectUri)) {
      sendHtml(res, 400, errorPage(t, t('signInFailed'), {
        error: 'invalid_request',
        error_description: "AADSTS50011: The redirect URI specified in the request does not match the redirect URIs configured for the application.",
      }));
      return;
    }

    const tenant = tenantSegment.toLowerCase();
    const needsAdminEmail = tenant === 'organizations' || tenant === 'common';
    const adminEmail = (params.get('admin_email') ?? '').trim();
    const render = (status, error) => sendHtml(res, status, adminConsentPage({
      t,
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
      render(400, t('errAdminEmail'));
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

  const staffTenant = createStaffTenant(config.staff, `https://localhost:${config.port}`);
  // CASE 1 on External ID: the app signs work accounts in at Entra ID's multi-tenant endpoint itself.
  const entraWork = createEntraWork(config.entraWork, `https://localhost:${config.port}`, {
    clientId: config.entraClientId,
    redirectUris: config.redirectUris,
    workProfile,
    needsConsent: (domain) => config.consentRequiredDomains.has(domain) && !consentedTenants.has(homeTenantId(domain)),
  });

  return async function handle(req, res) {
    const language = () => tr(chooseLanguage(undefined, req.headers['accept-language']));
    try {
      const url = new URL(req.url, config.issuer);
      const { pathname } = url;
      if (pathname === '/health') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: 'ok', issuer: config.issuer }));
        return;
      }
      // The default targets of the consent page's links (real ones come from IDP_TERMS_URL / IDP_PRIVACY_URL).
      const documentKey = { '/terms-of-use': 'termsTitle', '/privacy': 'privacyTitle' }[pathname];
      if (documentKey && req.method === 'GET') {
        sendHtml(res, 200, documentPage({ t: language(), titleKey: documentKey }));
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
        if (rest === '/auth') {
          const admitted = await hints.admit(url); // the invitation policy's id_token_hint
          if (admitted.error) {
            const target = refusalRedirect(url, admitted.error, config);
            if (target) redirect(res, target);
            else sendHtml(res, 400, errorPage(language(), language()('signInFailed'), admitted.error));
            return;
          }
          req.url = `${url.pathname}${url.search}`;
        }
        // oidc-provider derives its mount path from originalUrl minus url.
        req.originalUrl = req.url;
        req.url = req.url.slice(config.prefix.length) || '/';
        await oidcCallback(req, res);
        return;
      }
      if (await staffTenant(req, res, url, readForm)) return;
      if (await entraWork(req, res, url, readForm)) return;
      if (tenantDiscovery(req, res, url)) return;
      const consent = pathname.match(/^\/([^/]+)\/adminconsent$/i);
      if (consent && (req.method === 'GET' || req.method === 'POST')) {
        await handleAdminConsent(req, res, decodeURIComponent(consent[1]), url);
        return;
      }
      const t = language();
      sendHtml(res, 404, errorPage(t, t('notFound'), { error: 'not_found', path: pathname }));
    } catch (err) {
      const expired = err?.name === 'SessionNotFound';
      if (!expired) console.error(err);
      if (!res.headersSent) {
        const t = language();
        if (expired) sendHtml(res, 400, expiredPage({ t }));
        else sendHtml(res, 500, errorPage(t, t('signInFailed'), { error: 'server_error', error_description: 'Unexpected error in the local IdP.' }));
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
