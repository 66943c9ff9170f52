// HTML for the local Azure AD B2C stand-in. Element ids are a contract with the
// Playwright tests; every interpolated value goes through escapeHtml.

export function escapeHtml(value) {
  return String(value ?? '')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

const STYLE = `
  * { box-sizing: border-box; }
  body { margin: 0; min-height: 100vh; display: flex; align-items: center; justify-content: center;
         background: linear-gradient(135deg, #e8eef6, #f6f8fb); color: #1b1b1b;
         font: 15px/1.45 "Segoe UI", system-ui, -apple-system, Helvetica, Arial, sans-serif; }
  main { width: 100%; max-width: 440px; background: #fff; padding: 40px 44px 32px;
         box-shadow: 0 2px 6px rgba(0,0,0,.2); }
  .brand { font-weight: 600; color: #505050; letter-spacing: .02em; margin-bottom: 20px; }
  .brand small { display: block; font-weight: 400; font-size: 12px; color: #8a6d00; }
  h1 { font-size: 24px; font-weight: 600; margin: 0 0 16px; }
  p { margin: 0 0 14px; }
  label { display: block; font-size: 13px; margin: 14px 0 4px; color: #404040; }
  input[type=email], input[type=text] { width: 100%; padding: 8px 2px; font: inherit;
         border: 0; border-bottom: 1px solid #666; outline: none; }
  input:focus { border-bottom-color: #0067b8; }
  button { display: block; width: 100%; margin-top: 14px; padding: 9px 12px; font: inherit;
           border: 1px solid #0067b8; background: #0067b8; color: #fff; cursor: pointer; }
  button.secondary { background: #fff; color: #0067b8; }
  button.link { border: 0; background: none; color: #0067b8; padding: 0; width: auto; margin-top: 18px; }
  a { color: #0067b8; }
  .row { display: flex; justify-content: space-between; align-items: baseline; gap: 12px; }
  .error { background: #fde7e9; border-left: 4px solid #c50f1f; padding: 8px 10px; margin-bottom: 14px; }
  .code { font: 600 26px/1.2 ui-monospace, Consolas, monospace; letter-spacing: .2em;
          background: #f3f2f1; padding: 8px 12px; display: inline-block; }
  ul { padding-left: 20px; }
`;

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<div class="brand">rconnect<small>Local Azure AD B2C stand-in &mdash; development only</small></div>
${body}
</main>
</body>
</html>`;
}

function errorBox(error) {
  return error ? `<div id="error" class="error" role="alert">${escapeHtml(error)}</div>` : '';
}

export function loginPage({ action, forgotUrl, email, name, error }) {
  // novalidate: the server validates the e-mail so that tests see its error message.
  return page('Sign in', `
<h1>Sign in</h1>
${errorBox(error)}
<form method="post" action="${escapeHtml(action)}" novalidate>
  <label for="email">Email address</label>
  <input id="email" name="email" type="email" autocomplete="username" value="${escapeHtml(email)}">
  <label for="name">Display name (optional)</label>
  <input id="name" name="name" type="text" autocomplete="name" value="${escapeHtml(name)}">
  <button id="work-account" name="action" value="work">Sign in with your work account (Microsoft Entra ID)</button>
  <button id="local-account" class="secondary" name="action" value="local">Sign up / sign in with an e-mail code</button>
  <div class="row">
    <a id="forgot-password" href="${escapeHtml(forgotUrl)}">Forgot your password?</a>
    <button id="cancel" class="link" name="action" value="cancel">Cancel</button>
  </div>
</form>`);
}

export function codePage({ action, cancelAction, email, code, error }) {
  return page('Sign in - verify your e-mail', `
<h1>Verify your e-mail address</h1>
${errorBox(error)}
<p>A verification code was sent to <strong id="code-email">${escapeHtml(email)}</strong>.</p>
<p>This is a local stand-in, so no e-mail was sent. Your code is:
  <span id="dev-code" class="code">${escapeHtml(code)}</span></p>
<form method="post" action="${escapeHtml(action)}" novalidate>
  <label for="code">Verification code</label>
  <input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" maxlength="6">
  <button id="verify">Verify code</button>
</form>
<form method="post" action="${escapeHtml(cancelAction)}">
  <button id="cancel" class="link" name="action" value="cancel">Cancel</button>
</form>`);
}

export function adminConsentPage({ action, hidden, tenantLabel, needsAdminEmail, adminEmail, entraClientId, error }) {
  const fields = Object.entries(hidden)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `<input type="hidden" name="${escapeHtml(key)}" value="${escapeHtml(value)}">`)
    .join('\n  ');
  return page('Permissions requested', `
<h1>Permissions requested</h1>
${errorBox(error)}
<p>Accept for your organization${tenantLabel ? ` (<strong id="tenant">${escapeHtml(tenantLabel)}</strong>)` : ''}</p>
<p>The application <strong>rconnect</strong> (client ID <code>${escapeHtml(entraClientId)}</code>) needs permission to:</p>
<ul><li>Sign users in</li><li>Read users' basic profile</li></ul>
<form method="post" action="${escapeHtml(action)}" novalidate>
  ${fields}
  <label for="admin-email">Administrator e-mail${needsAdminEmail ? '' : ' (optional)'}</label>
  <input id="admin-email" name="admin_email" type="email" value="${escapeHtml(adminEmail)}">
  <button id="accept" name="decision" value="accept">Accept</button>
  <button id="decline" class="secondary" name="decision" value="decline">Cancel</button>
</form>`);
}

export function errorPage(title, details) {
  const rows = Object.entries(details)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `<p><strong>${escapeHtml(key)}</strong>: <span id="${escapeHtml(key)}">${escapeHtml(value)}</span></p>`)
    .join('\n');
  return page(title, `<h1>${escapeHtml(title)}</h1>\n${rows}`);
}
