// HTML for the local Azure AD B2C stand-in. Element ids are a contract with the tests
// (tests/test_invitee_pages.py, tests/test_journey_browser.py); every interpolated value
// goes through escapeHtml. `t` is a translator from i18n.mjs.

export function escapeHtml(value) {
  return String(value ?? '')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

// A translated text as HTML: the text escaped, then {name} replaced by the given HTML snippets.
function textHtml(t, key, snippets = {}) {
  return escapeHtml(t(key)).replace(/\{(\w+)\}/g, (whole, name) => snippets[name] ?? whole);
}

const STYLE = `
  * { box-sizing: border-box; }
  body { margin: 0; min-height: 100vh; display: flex; align-items: center; justify-content: center;
         background: linear-gradient(135deg, #e8eef6, #f6f8fb); color: #1b1b1b;
         font: 15px/1.45 "Segoe UI", system-ui, -apple-system, Helvetica, Arial, sans-serif; }
  main { width: 100%; max-width: 460px; background: #fff; padding: 40px 44px 32px;
         box-shadow: 0 2px 6px rgba(0,0,0,.2); }
  .brand { font-weight: 600; color: #505050; letter-spacing: .02em; margin-bottom: 20px; }
  .brand small { display: block; font-weight: 400; font-size: 12px; color: #7a5f00; }
  h1 { font-size: 24px; font-weight: 600; margin: 0 0 16px; }
  h2 { font-size: 16px; font-weight: 600; margin: 24px 0 6px; }
  p { margin: 0 0 14px; }
  label { display: block; font-size: 13px; margin: 14px 0 4px; color: #404040; }
  input[type=email], input[type=text], input[type=password] { width: 100%; padding: 8px 2px; font: inherit;
         border: 0; border-bottom: 1px solid #666; }
  input:focus { border-bottom-color: #0067b8; outline: 2px solid #0067b8; outline-offset: 2px; }
  button { display: block; width: 100%; margin-top: 14px; padding: 9px 12px; font: inherit;
           border: 1px solid #0067b8; background: #0067b8; color: #fff; cursor: pointer; }
  button.secondary { background: #fff; color: #0067b8; }
  button.link { border: 0; background: none; color: #0067b8; padding: 0; width: auto; margin-top: 18px; text-decoration: underline; }
  a { color: #0067b8; }
  .row { display: flex; justify-content: space-between; align-items: baseline; gap: 12px; }
  .buttons { display: flex; gap: 12px; } .buttons button { flex: 1; }
  .hint { font-size: 13px; color: #505050; margin: 6px 0 0; }
  .error { background: #fde7e9; border-left: 4px solid #c50f1f; padding: 8px 10px; margin-bottom: 14px; }
  .info { background: #e6f2fb; border-left: 4px solid #0067b8; padding: 8px 10px; margin-bottom: 14px; }
  .divider { border-top: 1px solid #ddd; margin-top: 24px; }
  code { background: #f3f2f1; padding: 1px 4px; word-break: break-all; }
  ul { padding-left: 20px; }
`;

function page(t, title, body) {
  return `<!DOCTYPE html>
<html lang="${escapeHtml(t.lang)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<div class="brand">rconnect<small>${escapeHtml(t('brandNote'))}</small></div>
${body}
</main>
</body>
</html>`;
}

function errorBox(error) {
  return error ? `<div id="error" class="error" role="alert">${escapeHtml(error)}</div>` : '';
}

function infoBox(info) {
  return info ? `<div id="info" class="info" role="status">${escapeHtml(info)}</div>` : '';
}

// novalidate on every form: the server validates, so that tests see its messages.

export function signInPage({ t, action, signUpUrl, forgotUrl, email, error }) {
  return page(t, t('signInTitle'), `
<h1>${escapeHtml(t('signInTitle'))}</h1>
${errorBox(error)}
<form method="post" action="${escapeHtml(action)}" novalidate>
  <p id="signin-intro">${escapeHtml(t('signInIntro'))}</p>
  <label for="email">${escapeHtml(t('emailLabel'))}</label>
  <input id="email" name="email" type="email" autocomplete="username" value="${escapeHtml(email)}">
  <div class="row">
    <label for="password">${escapeHtml(t('passwordLabel'))}</label>
    <a id="forgot-password" href="${escapeHtml(forgotUrl)}">${escapeHtml(t('forgotPassword'))}</a>
  </div>
  <input id="password" name="password" type="password" autocomplete="current-password">
  <button id="next" name="action" value="signin">${escapeHtml(t('signInButton'))}</button>
  <p class="hint">${escapeHtml(t('noAccount'))} <a id="createAccount" href="${escapeHtml(signUpUrl)}">${escapeHtml(t('signUpNow'))}</a></p>
  <div class="divider"></div>
  <h2>${escapeHtml(t('workHeading'))}</h2>
  <p class="hint">${escapeHtml(t('workHint'))}</p>
  <button id="work-account" class="secondary" name="action" value="work">${escapeHtml(t('workButton'))}</button>
  <button id="cancel" class="link" name="action" value="cancel">${escapeHtml(t('cancel'))}</button>
</form>`);
}

export function signUpPage({ t, action, signInUrl, email, givenName, surname, error }) {
  return page(t, t('signUpTitle'), `
<h1>${escapeHtml(t('signUpTitle'))}</h1>
${errorBox(error)}
<p>${escapeHtml(t('signUpIntro'))}</p>
<form method="post" action="${escapeHtml(action)}" novalidate>
  <label for="email">${escapeHtml(t('emailLabel'))}</label>
  <input id="email" name="email" type="email" autocomplete="username" value="${escapeHtml(email)}">
  <label for="newPassword">${escapeHtml(t('newPasswordLabel'))}</label>
  <input id="newPassword" name="newPassword" type="password" autocomplete="new-password" aria-describedby="password-rules">
  <p id="password-rules" class="hint">${escapeHtml(t('passwordRules'))}</p>
  <label for="reenterPassword">${escapeHtml(t('confirmPasswordLabel'))}</label>
  <input id="reenterPassword" name="reenterPassword" type="password" autocomplete="new-password">
  <label for="givenName">${escapeHtml(t('givenNameLabel'))} ${escapeHtml(t('optional'))}</label>
  <input id="givenName" name="givenName" type="text" autocomplete="given-name" value="${escapeHtml(givenName)}">
  <label for="surname">${escapeHtml(t('surnameLabel'))} ${escapeHtml(t('optional'))}</label>
  <input id="surname" name="surname" type="text" autocomplete="family-name" value="${escapeHtml(surname)}">
  <button id="send-code" name="action" value="send-code">${escapeHtml(t('sendCode'))}</button>
  <div class="row">
    <p class="hint">${escapeHtml(t('haveAccount'))} <a id="signin-link" href="${escapeHtml(signInUrl)}">${escapeHtml(t('signInButton'))}</a></p>
    <button id="cancel" class="link" name="action" value="cancel">${escapeHtml(t('cancel'))}</button>
  </div>
</form>`);
}

export function codePage({ t, action, email, folder, info, error }) {
  return page(t, t('codeTitle'), `
<h1>${escapeHtml(t('codeTitle'))}</h1>
${errorBox(error)}${infoBox(info)}
<p id="code-sent">${textHtml(t, 'codeSent', { email: `<strong id="code-email">${escapeHtml(email)}</strong>` })}</p>
<p id="outbox-hint" class="hint">${textHtml(t, 'codeLocal', { folder: `<code id="outbox-folder">${escapeHtml(folder)}</code>` })}</p>
<form method="post" action="${escapeHtml(action)}" novalidate>
  <label for="code">${escapeHtml(t('codeLabel'))}</label>
  <input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" maxlength="6">
  <button id="verify" name="action" value="verify">${escapeHtml(t('verifyCode'))}</button>
  <button id="resend" class="secondary" name="action" value="resend">${escapeHtml(t('sendNewCode'))}</button>
  <button id="cancel" class="link" name="action" value="cancel">${escapeHtml(t('cancel'))}</button>
</form>`);
}

export function consentPage({ t, action, appName, email, termsUrl, privacyUrl }) {
  const link = (id, href, key) => `<a id="${id}" href="${escapeHtml(href)}" target="_blank" rel="noopener">${escapeHtml(t(key))}</a>`;
  return page(t, t('consentTitle'), `
<h1>${escapeHtml(t('consentTitle'))}</h1>
<p><strong id="consent-app">${escapeHtml(appName)}</strong><br><span id="consent-account">${escapeHtml(email)}</span></p>
<p>${textHtml(t, 'consentApp', { app: escapeHtml(appName) })}</p>
<ul id="consent-scopes"><li>${escapeHtml(t('consentSignIn'))}</li><li>${escapeHtml(t('consentProfile'))}</li></ul>
<p>${escapeHtml(t('consentTerms'))}</p>
<p>${link('terms-link', termsUrl, 'termsLink')} · ${link('privacy-link', privacyUrl, 'privacyLink')}</p>
<form method="post" action="${escapeHtml(action)}" novalidate>
  <p>${escapeHtml(t('consentQuestion'))}</p>
  <div class="buttons">
    <button id="accept" name="decision" value="yes">${escapeHtml(t('yes'))}</button>
    <button id="decline" class="secondary" name="decision" value="no">${escapeHtml(t('no'))}</button>
  </div>
</form>`);
}

export function documentPage({ t, titleKey }) {
  return page(t, t(titleKey), `<h1>${escapeHtml(t(titleKey))}</h1>\n<p>${escapeHtml(t('placeholderText'))}</p>`);
}

export function adminConsentPage({ t, action, hidden, tenantLabel, needsAdminEmail, adminEmail, entraClientId, error }) {
  const fields = Object.entries(hidden)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `<input type="hidden" name="${escapeHtml(key)}" value="${escapeHtml(value)}">`)
    .join('\n  ');
  return page(t, t('consentTitle'), `
<h1>${escapeHtml(t('consentTitle'))}</h1>
${errorBox(error)}
<p>${escapeHtml(t('adminAcceptFor'))}${tenantLabel ? ` (<strong id="tenant">${escapeHtml(tenantLabel)}</strong>)` : ''}</p>
<p>${textHtml(t, 'adminNeeds', { app: '<strong>rconnect</strong>', id: `<code>${escapeHtml(entraClientId)}</code>` })}</p>
<ul><li>${escapeHtml(t('adminSignIn'))}</li><li>${escapeHtml(t('adminProfile'))}</li></ul>
<form method="post" action="${escapeHtml(action)}" novalidate>
  ${fields}
  <label for="admin-email">${escapeHtml(t('adminEmail'))}${needsAdminEmail ? '' : ` ${escapeHtml(t('optional'))}`}</label>
  <input id="admin-email" name="admin_email" type="email" value="${escapeHtml(adminEmail)}">
  <button id="accept" name="decision" value="accept">${escapeHtml(t('accept'))}</button>
  <button id="decline" class="secondary" name="decision" value="decline">${escapeHtml(t('cancel'))}</button>
</form>`);
}

export function errorPage(t, title, details) {
  const rows = Object.entries(details)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `<p><strong>${escapeHtml(key)}</strong>: <span id="${escapeHtml(key)}">${escapeHtml(value)}</span></p>`)
    .join('\n');
  return page(t, title, `<h1>${escapeHtml(title)}</h1>\n${rows}`);
}
