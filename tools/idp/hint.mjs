// The invitation policy of the B2C stand-in (infra/b2c/SignUpInvitation.xml): an authorization
// request carrying the app's id_token_hint is validated as B2C's IdTokenHint technical profile
// does — RS256 signature by a key of the JWKS the app's OpenID metadata names, the metadata's
// `iss`, the policy's audience, `exp` and `nbf` — and, beyond B2C, a hint is taken once (its `jti`).
// A refused hint goes back to the app's redirect URI with B2C's error codes. A valid one is
// swapped for an opaque `invitation_hint` reference before oidc-provider sees the request (it
// would validate id_token_hint as one of its own ID tokens); the pages then show the invited
// address locked and sign up without an e-mail code (password + terms).
//
// Configured by IDP_HINT_METADATA_URL (the app's /api/hint/.well-known/openid-configuration;
// unset: hints are refused as unverifiable) and IDP_HINT_AUDIENCE (default: the app's client id).

import { createPublicKey, randomBytes, verify } from 'node:crypto';

import { escapeHtml, errorBox, page } from './views.mjs';

export const HINT_REFERENCE = 'invitation_hint';
const METADATA_TTL_MS = 5 * 60 * 1000;
const JOURNEY_MS = 60 * 60 * 1000; // B2C keeps the hint's claims for the journey: as long as an interaction lives

// B2C's codes for a refused id_token_hint (Microsoft's error code reference).
const REFUSALS = {
  signature: ['AADB2C90233', 'The provided id_token_hint parameter failed signature validation. Please provide another token and try again.'],
  expired: ['AADB2C90208', 'The provided id_token_hint parameter is expired. Please provide another token and try again.'],
  audience: ['AADB2C90209', "The provided id_token_hint parameter does not contain an accepted audience. Valid audience values: '{0}'. Please provide another token and try again."],
  invalid: ['AADB2C90210', 'The provided id_token_hint parameter could not be validated. Please provide another token and try again.'],
};

class Refused extends Error {
  constructor(kind, audience = '') {
    const [code, message] = REFUSALS[kind];
    super(`${code}: ${message.replace('{0}', audience)}`);
    this.kind = kind;
  }
}

export function hintConfig(env, clientId) {
  return { metadataUrl: env.IDP_HINT_METADATA_URL || undefined, audience: env.IDP_HINT_AUDIENCE || clientId };
}

function decodePart(part) {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

async function fetchJson(url) {
  const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  return response.json();
}

export function createHintGate(config, now = () => Date.now()) {
  let cached; // { issuer, keys: Map kid -> KeyObject, at }
  const seen = new Map(); // jti -> exp (ms): a hint is taken once
  const taken = new Map(); // reference -> { email, invitationId, until }

  async function keysAndIssuer(refresh) {
    if (!config.metadataUrl) throw new Refused('invalid');
    if (!cached || refresh || now() - cached.at > METADATA_TTL_MS) {
      const metadata = await fetchJson(config.metadataUrl);
      const jwks = await fetchJson(metadata.jwks_uri);
      const keys = new Map(jwks.keys.filter((k) => k.kty === 'RSA').map((k) => [k.kid, createPublicKey({ key: k, format: 'jwk' })]));
      cached = { issuer: metadata.issuer, keys, at: now() };
    }
    return cached;
  }

  // The hint's claims, or Refused with B2C's code.
  async function validate(token) {
    const parts = token.split('.');
    if (parts.length !== 3) throw new Refused('signature');
    let header;
    let claims;
    try {
      [header, claims] = [decodePart(parts[0]), decodePart(parts[1])];
    } catch {
      throw new Refused('signature');
    }
    if (header.alg !== 'RS256') throw new Refused('signature');
    let known = await keysAndIssuer(false);
    if (!known.keys.has(header.kid)) known = await keysAndIssuer(true); // a key rotated in since the last read
    const key = known.keys.get(header.kid);
    const signed = Buffer.from(`${parts[0]}.${parts[1]}`);
    if (!key || !verify('RSA-SHA256', signed, key, Buffer.from(parts[2], 'base64url'))) throw new Refused('signature');
    const seconds = now() / 1000;
    if (typeof claims.exp !== 'number' || seconds >= claims.exp) throw new Refused('expired');
    const audiences = [claims.aud].flat();
    if (!audiences.includes(config.audience)) throw new Refused('audience', config.audience);
    if (claims.iss !== known.issuer || typeof claims.nbf !== 'number' || seconds < claims.nbf) throw new Refused('invalid');
    if (typeof claims.email !== 'string' || !claims.email || typeof claims.jti !== 'string') throw new Refused('invalid');
    for (const [jti, exp] of seen) if (exp <= now()) seen.delete(jti);
    if (seen.has(claims.jti)) throw new Refused('invalid'); // replayed
    seen.set(claims.jti, claims.exp * 1000);
    return claims;
  }

  return {
    // For an authorization request (URL): undefined when it is not the policy's concern, else
    // { url } to hand to oidc-provider (the hint swapped for its reference) or { error } (B2C's refusal).
    async admit(url) {
      const hint = url.searchParams.get('id_token_hint');
      url.searchParams.delete(HINT_REFERENCE); // only a hint validated here names an invitation
      if (hint === null) return { url };
      url.searchParams.delete('id_token_hint');
      try {
        const claims = await validate(hint);
        const reference = randomBytes(16).toString('hex');
        for (const [old, journey] of taken) if (journey.until <= now()) taken.delete(old);
        taken.set(reference, { email: claims.email, invitationId: claims.invitation_id, until: now() + JOURNEY_MS });
        url.searchParams.set(HINT_REFERENCE, reference);
        return { url };
      } catch (err) {
        if (!(err instanceof Refused)) console.error(`id_token_hint not validated: ${err.message}`);
        return { error: { error: 'invalid_request', error_description: err instanceof Refused ? err.message : new Refused('invalid').message } };
      }
    },
    // The invitation a validated hint named, for the pages of that authorization request.
    invitation(reference) {
      return reference ? taken.get(reference) : undefined;
    },
  };
}

// The invitation's own texts; the wrong-address message is the policy's (infra/b2c/TrustFrameworkLocalization.xml).
const TEXT = {
  en: {
    intro: 'Your invitation confirmed this address. Choose a password and accept the terms to create your account.',
    terms: 'I accept the {terms} and the {privacy}.', termsLink: 'terms of use', privacyLink: 'privacy statement',
    create: 'Create account', errTerms: 'Please accept the terms of use and the privacy statement.',
    errInvited: 'Please sign in with the address you were invited with.',
  },
  fr: {
    intro: 'Votre invitation a confirmé cette adresse. Choisissez un mot de passe et acceptez les conditions pour créer votre compte.',
    terms: 'J’accepte les {terms} et la {privacy}.', termsLink: 'conditions d’utilisation', privacyLink: 'déclaration de confidentialité',
    create: 'Créer le compte', errTerms: 'Veuillez accepter les conditions d’utilisation et la déclaration de confidentialité.',
    errInvited: 'Veuillez vous connecter avec l’adresse à laquelle vous avez été invité.',
  },
  de: {
    intro: 'Ihre Einladung hat diese Adresse bestätigt. Wählen Sie ein Kennwort und akzeptieren Sie die Bedingungen, um Ihr Konto zu erstellen.',
    terms: 'Ich akzeptiere die {terms} und die {privacy}.', termsLink: 'Nutzungsbedingungen', privacyLink: 'Datenschutzerklärung',
    create: 'Konto erstellen', errTerms: 'Bitte akzeptieren Sie die Nutzungsbedingungen und die Datenschutzerklärung.',
    errInvited: 'Melden Sie sich mit der Adresse an, an die Ihre Einladung gesendet wurde.',
  },
  it: {
    intro: 'Il tuo invito ha confermato questo indirizzo. Scegli una password e accetta le condizioni per creare il tuo account.',
    terms: 'Accetto le {terms} e l’{privacy}.', termsLink: 'condizioni d’uso', privacyLink: 'informativa sulla privacy',
    create: 'Crea account', errTerms: 'Accetta le condizioni d’uso e l’informativa sulla privacy.',
    errInvited: 'Accedi con l’indirizzo a cui è stato inviato il tuo invito.',
  },
  es: {
    intro: 'Su invitación ha confirmado esta dirección. Elija una contraseña y acepte las condiciones para crear su cuenta.',
    terms: 'Acepto las {terms} y la {privacy}.', termsLink: 'condiciones de uso', privacyLink: 'declaración de privacidad',
    create: 'Crear cuenta', errTerms: 'Acepte las condiciones de uso y la declaración de privacidad.',
    errInvited: 'Inicie sesión con la dirección a la que se envió su invitación.',
  },
};

export function hintText(t, key) {
  return (TEXT[t.lang] ?? TEXT.en)[key];
}

// Sign-up under an invitation: the address read-only (never read back from the form), a password, the terms.
export function invitedSignUpPage({ t, action, signInUrl, email, termsUrl, privacyUrl, error }) {
  const link = (id, href, key) => `<a id="${id}" href="${escapeHtml(href)}" target="_blank" rel="noopener">${escapeHtml(hintText(t, key))}</a>`;
  const terms = escapeHtml(hintText(t, 'terms'))
    .replace('{terms}', link('terms-link', termsUrl, 'termsLink'))
    .replace('{privacy}', link('privacy-link', privacyUrl, 'privacyLink'));
  return page(t, t('signUpTitle'), `
<h1>${escapeHtml(t('signUpTitle'))}</h1>
${errorBox(error)}
<p id="invited-intro">${escapeHtml(hintText(t, 'intro'))}</p>
<form method="post" action="${escapeHtml(action)}" novalidate>
  <label for="email">${escapeHtml(t('emailLabel'))}</label>
  <input id="email" type="email" value="${escapeHtml(email)}" readonly aria-readonly="true">
  <label for="newPassword">${escapeHtml(t('newPasswordLabel'))}</label>
  <input id="newPassword" name="newPassword" type="password" autocomplete="new-password" aria-describedby="password-rules">
  <p id="password-rules" class="hint">${escapeHtml(t('passwordRules'))}</p>
  <label for="reenterPassword">${escapeHtml(t('confirmPasswordLabel'))}</label>
  <input id="reenterPassword" name="reenterPassword" type="password" autocomplete="new-password">
  <p><input id="terms" name="terms" type="checkbox" value="accepted"> <label for="terms" style="display:inline">${terms}</label></p>
  <button id="create" name="action" value="create">${escapeHtml(hintText(t, 'create'))}</button>
  <div class="row">
    <p class="hint">${escapeHtml(t('haveAccount'))} <a id="signin-link" href="${escapeHtml(signInUrl)}">${escapeHtml(t('signInButton'))}</a></p>
    <button id="cancel" class="link" name="action" value="cancel">${escapeHtml(t('cancel'))}</button>
  </div>
</form>`);
}

// Where B2C sends a refused hint: back to the app (error, description, state) when the request's
// client and redirect URI are registered; undefined otherwise (B2C then shows its own error page).
export function refusalRedirect(url, error, client) {
  const redirectUri = url.searchParams.get('redirect_uri');
  if (url.searchParams.get('client_id') !== client.clientId || !client.redirectUris.includes(redirectUri)) return undefined;
  const target = new URL(redirectUri);
  target.searchParams.append('error', error.error);
  target.searchParams.append('error_description', error.error_description);
  const state = url.searchParams.get('state');
  if (state !== null) target.searchParams.append('state', state);
  return target.href;
}
