// Entra's OpenID discovery document by domain (GET /{domain}/v2.0/.well-known/openid-configuration),
// which the app asks before it e-mails an invitation (shared/adapters/tenant_discovery.py): every
// domain belongs to a work tenant here, as every work account signs in (its tenant id derived from the
// domain as server.mjs does), except the domains of IDP_NO_TENANT_DOMAINS, which Entra answers with 400.
import { createHash } from 'node:crypto';

const SUFFIX = /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/i;
const noTenant = new Set(
  (process.env.IDP_NO_TENANT_DOMAINS ?? 'personal.example').split(',').map((d) => d.trim().toLowerCase()).filter(Boolean),
);

const tenantId = (domain) => {
  const hex = createHash('sha256').update(`tenant:${domain}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
};

// True when it answered the request (a discovery document by domain), else false.
export function tenantDiscovery(req, res, url) {
  const match = req.method === 'GET' && url.pathname.match(SUFFIX);
  if (!match || !match[1].includes('.')) return false;
  const domain = decodeURIComponent(match[1]).toLowerCase();
  const [status, body] = noTenant.has(domain)
    ? [400, { error: 'invalid_tenant', error_description: `AADSTS90002: Tenant '${domain}' not found.` }]
    : [200, { issuer: `${url.origin}/${tenantId(domain)}/v2.0`, token_endpoint: `${url.origin}/${tenantId(domain)}/oauth2/v2.0/token` }];
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
  return true;
}
