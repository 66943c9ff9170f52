// The identity platforms the stand-in plays (IDP_PLATFORM), each in the shape the app meets in Azure
// (docs/how-to/set-up-b2c.md, set-up-external-id.md, the claim tables in tests/unit/test_sign_in_claims.py):
//   b2c-user-flow      https://{tenant}.b2clogin.com/{tenant}.onmicrosoft.com/B2C_1_…/v2.0
//   b2c-custom-policy  the same path with a B2C_1A_… policy (infra/b2c): `idp: LocalAccount` on local accounts
//   external-id        https://{subdomain}.ciamlogin.com/{tenant id}/v2.0: v2.0 tokens, `tid` the
//                      external tenant; work accounts sign in at Entra ID itself (entra_work.mjs,
//                      docs/decisions/0019), so this shape only ever issues tokens to customers' accounts
// Each shape gives the OIDC mount path (the issuer is https://localhost:{port}{prefix}), the policy name
// B2C puts in `tfp`/`acr`, the ID token's claims and the error its Cancel answers.

export const PLATFORMS = ['b2c-user-flow', 'b2c-custom-policy', 'external-id'];
const DEFAULT_POLICY = { 'b2c-user-flow': 'B2C_1_signupsignin', 'b2c-custom-policy': 'B2C_1A_SIGNUP_SIGNIN' };

const b2cError = (code, message) => ({ error: 'access_denied', error_description: `${code}: ${message}` });
const entraIssuer = (tenantId) => `https://login.microsoftonline.com/${tenantId}/v2.0`;

function names(profile) {
  return {
    name: profile.name,
    ...(profile.givenName ? { given_name: profile.givenName } : {}),
    ...(profile.familyName ? { family_name: profile.familyName } : {}),
  };
}

function b2cShape(platform, env, tenant, tenantId) {
  const policy = env.IDP_USER_FLOW || DEFAULT_POLICY[platform];
  if (policy.toUpperCase().startsWith('B2C_1A_') !== (platform === 'b2c-custom-policy')) {
    throw new Error(`IDP_USER_FLOW ${policy} does not fit IDP_PLATFORM ${platform}`);
  }
  return {
    platform,
    policy,
    prefix: `/${tenant}.onmicrosoft.com/${policy}/v2.0`,
    federatesWork: true, // its sign-in page offers the work account (the custom policy's Entra ID federation)
    // B2C's v1.0 ID tokens: the policy in `tfp`; local accounts' address in `emails`; a work account
    // federated from Entra ID has its verified mailbox in `email` and its issuer in `idp`. A user flow
    // names no `idp` for local accounts, our custom policy says `LocalAccount`.
    claims(profile) {
      const common = { sub: profile.sub, oid: profile.sub, ...names(profile), tfp: policy, tid: tenantId, ver: '1.0' };
      if (profile.kind === 'work') return { ...common, email: profile.email, upn: profile.email, idp: entraIssuer(profile.homeTenant) };
      return { ...common, emails: [profile.email], ...(platform === 'b2c-custom-policy' ? { idp: 'LocalAccount' } : {}) };
    },
    cancelled: b2cError('AADB2C90091', 'The user has cancelled entering self-asserted information.'),
  };
}

function externalIdShape(tenantId) {
  return {
    platform: 'external-id',
    policy: undefined, // the user flow is bound to the app registration, not named in the URL
    prefix: `/${tenantId}/v2.0`,
    federatesWork: false,
    // v2.0 tokens of the external tenant: `tid` is the external tenant for every account, the address the
    // `email` optional claim (and `preferred_username`); e-mail + password and e-mail OTP accounts carry no `idp`.
    claims(profile) {
      return { sub: profile.sub, oid: profile.sub, ...names(profile), tid: tenantId, ver: '2.0', email: profile.email, preferred_username: profile.email };
    },
    // External ID's pages have no Cancel that returns to the app: the stand-in's answers a plain error
    // (the app's generic page).
    cancelled: { error: 'access_denied', error_description: 'The user cancelled the sign-in.' },
  };
}

// The shape IDP_PLATFORM names (default b2c-user-flow); `guid(kind, value)` derives the tenant's id.
export function platformShape(env, tenant, guid) {
  const platform = env.IDP_PLATFORM || 'b2c-user-flow';
  if (!PLATFORMS.includes(platform)) throw new Error(`IDP_PLATFORM must be one of ${PLATFORMS.join(', ')}, got ${platform}`);
  if (platform === 'external-id') return externalIdShape(env.IDP_TENANT_ID || guid('external-tenant', tenant.toLowerCase()));
  return b2cShape(platform, env, tenant, guid('b2c-tenant', tenant.toLowerCase()));
}
