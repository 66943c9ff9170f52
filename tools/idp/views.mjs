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
  .marker { margin: 28px 0 0; font-size: 11px; color: #767676; text-align: right; }
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
  a.button { display: block; margin-top: 14px; padding: 9px 12px; text-align: center; background: #0067b8; color: #fff; text-decoration: none; }
  .row { display: flex; justify-content: space-between; align-items: baseline; gap: 12px; }
  .buttons { display: flex; gap: 12px; } .buttons button { flex: 1; }
  .hint { font-size: 13px; color: #505050; margin: 6px 0 0; }
  .error { background: #fde7e9; border-left: 4px solid #c50f1f; padding: 8px 10px; margin-bottom: 14px; }
  .info { background: #e6f2fb; border-left: 4px solid #0067b8; padding: 8px 10px; margin-bottom: 14px; }
  .divider { border-top: 1px solid #ddd; margin-top: 24px; }
  code { background: #f3f2f1; padding: 1px 4px; word-break: break-all; }
  ul { padding-left: 20px; }
`;

export function page(t, title, body) {
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
<div class="brand" id="brand">${escapeHtml(t.app)}</div>
${body}
${t.marker ? `<p class="marker" id="stand-in-marker">${escapeHtml(t('brandNote'))}</p>` : ''}
</main>
</body>
</html>`;
}

export function errorBox(error) {
  return error ? `<div id="error" class="error" role="alert">${escapeHtml(error)}</div>` : '';
}

function infoBox(info) {
  return info ? `<div id="info" class="info" role="status">${escapeHtml(info)}</div>` : '';
}

// novalidate on every form: the server validates, so that tests see its messages. The new-password
// forms also check the rules in the browser first, as B2C's pages do, so that a weak password keeps
// what was typed and the focus in the field, with the reason next to it.
const PASSWORD_CHECK = `<script>
(() => {
  const form = document.getElementById('password-form');
  const field = document.getElementById('newPassword');
  const again = document.getElementById('reenterPassword');
  form.addEventListener('submit', (event) => {
    if (event.submitter && event.submitter.value === 'cancel') return;
    const value = field.value;
    const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((re) => re.test(value)).length;
    const problem = value.length < 8 || value.length > 64 ? form.dataset.errLength
      : classes < 3 ? form.dataset.errClasses
      : value !== again.value ? form.dataset.errMismatch : '';
    if (!problem) return;
    event.preventDefault();
    let box = document.getElementById('error');
    if (!box) {
      box = document.createElement('div');
      box.id = 'error'; box.className = 'error'; box.setAttribute('role', 'alert');
      form.parentNode.insertBefore(box, form);
    }
    box.textContent = problem;
    const wrong = problem === form.dataset.errMismatch ? again : field;
    wrong.setAttribute('aria-invalid', 'true');
    wrong.focus();
    wrong.select();
  });
})();
</script>`;

function passwordFormAttributes(t) {
  return `id="password-form" data-err-length="${escapeHtml(t('errPasswordLength'))}" data-err-classes="${escapeHtml(t('errPasswordClasses'))}" data-err-mismatch="${escapeHtml(t('errPasswordMismatch'))}"`;
}

// The new-password fields; after a refused password the first one has the focus and names the reason.
function newPasswordFields(t, passwordError) {
  const invalid = passwordError ? ' aria-invalid="true" autofocus' : '';
  return `<label for="newPassword">${escapeHtml(t('newPasswordLabel'))}</label>
  <input id="newPassword" name="newPassword" type="password" autocomplete="new-password" aria-describedby="${passwordError ? 'error ' : ''}password-rules"${invalid}>
  <p id="password-rules" class="hint">${escapeHtml(t('passwordRules'))}</p>
  <label for="reenterPassword">${escapeHtml(t('confirmPasswordLabel'))}</label>
  <input id="reenterPassword" name="reenterPassword" type="password" autocomplete="new-password">`;
}

export function signInPage({ t, action, signUpUrl, forgotUrl, email, locked = false, error, info }) {
  return page(t, t('signInTitle'), `
<h1>${escapeHtml(t('signInTitle'))}</h1>
${errorBox(error)}${infoBox(info)}
<form method="post" action="${escapeHtml(action)}" novalidate>
  <p id="signin-intro">${escapeHtml(t('signInIntro'))}</p>
  <label for="email">${escapeHtml(t('emailLabel'))}</label>
  <input id="email" name="email" type="email" autocomplete="username" value="${escapeHtml(email)}"${locked ? ' readonly aria-readonly="true"' : ''}>
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

export function signUpPage({ t, action, signInUrl, email, givenName, surname, error, passwordError }) {
  return page(t, t('signUpTitle'), `
<h1>${escapeHtml(t('signUpTitle'))}</h1>
${errorBox(error)}
<p>${escapeHtml(t('signUpIntro'))}</p>
<form method="post" action="${escapeHtml(action)}" novalidate ${passwordFormAttributes(t)}>
  <label for="email">${escapeHtml(t('emailLabel'))}</label>
  <input id="email" name="email" type="email" autocomplete="username" value="${escapeHtml(email)}">
  ${newPasswordFields(t, passwordError)}
  <label for="givenName">${escapeHtml(t('givenNameLabel'))} ${escapeHtml(t('optional'))}</label>
  <input id="givenName" name="givenName" type="text" autocomplete="given-name" value="${escapeHtml(givenName)}">
  <label for="surname">${escapeHtml(t('surnameLabel'))} ${escapeHtml(t('optional'))}</label>
  <input id="surname" name="surname" type="text" autocomplete="family-name" value="${escapeHtml(surname)}">
  <button id="send-code" name="action" value="send-code">${escapeHtml(t('sendCode'))}</button>
  <div class="row">
    <p class="hint">${escapeHtml(t('haveAccount'))} <a id="signin-link" href="${escapeHtml(signInUrl)}">${escapeHtml(t('signInButton'))}</a></p>
    <button id="cancel" class="link" name="action" value="cancel">${escapeHtml(t('cancel'))}</button>
  </div>
</form>
${PASSWORD_CHECK}`);
}

// "Forgot your password?": the account's address, to which a code is sent (then codePage, newPasswordPage).
export function resetPage({ t, action, email, error }) {
  return page(t, t('resetTitle'), `
<h1>${escapeHtml(t('resetTitle'))}</h1>
${errorBox(error)}
<p id="reset-intro">${escapeHtml(t('resetIntro'))}</p>
<form method="post" action="${escapeHtml(action)}" novalidate>
  <label for="email">${escapeHtml(t('emailLabel'))}</label>
  <input id="email" name="email" type="email" autocomplete="username" value="${escapeHtml(email)}">
  <button id="send-code" name="action" value="send-code">${escapeHtml(t('sendCode'))}</button>
  <button id="cancel" class="link" name="action" value="cancel">${escapeHtml(t('cancel'))}</button>
</form>`);
}

export function newPasswordPage({ t, action, email, error, passwordError }) {
  return page(t, t('newPasswordTitle'), `
<h1>${escapeHtml(t('newPasswordTitle'))}</h1>
${errorBox(error)}
<p>${textHtml(t, 'newPasswordIntro', { email: `<strong id="reset-email">${escapeHtml(email)}</strong>` })}</p>
<form method="post" action="${escapeHtml(action)}" novalidate ${passwordFormAttributes(t)}>
  ${newPasswordFields(t, passwordError)}
  <button id="continue" name="action" value="continue">${escapeHtml(t('continue'))}</button>
  <button id="cancel" class="link" name="action" value="cancel">${escapeHtml(t('cancel'))}</button>
</form>
${PASSWORD_CHECK}`);
}

// "No" on the terms: the account exists, and how to go on.
export function declinedPage({ t, action, email }) {
  return page(t, t('declinedTitle'), `
<h1>${escapeHtml(t('declinedTitle'))}</h1>
<p id="declined-account">${textHtml(t, 'declinedAccount', { email: `<strong>${escapeHtml(email)}</strong>` })}</p>
<p id="declined-next">${escapeHtml(t('declinedNext'))}</p>
<form method="post" action="${escapeHtml(action)}" novalidate>
  <button id="review-terms" name="action" value="review">${escapeHtml(t('reviewTerms'))}</button>
  <button id="cancel" class="link" name="action" value="cancel">${escapeHtml(t('cancel'))}</button>
</form>`);
}

// A page of a sign-in that has ended (Back, reload, a timeout): B2C's own error page, with a way on.
export function expiredPage({ t, startUrl }) {
  return page(t, t('expiredTitle'), `
<h1>${escapeHtml(t('expiredTitle'))}</h1>
<p id="expired-text">${escapeHtml(t('expiredText'))}</p>
${startUrl
    ? `<p><a id="start-again" class="button" href="${escapeHtml(startUrl)}">${escapeHtml(t('startAgain'))}</a></p>`
    : `<p id="expired-no-link">${escapeHtml(t('expiredNoLink'))}</p>`}`);
}

export function codePage({ t, action, email, folder, info, error }) {
  return page(t, t('codeTitle'), `
<h1>${escapeHtml(t('codeTitle'))}</h1>
${errorBox(error)}${infoBox(info)}
<p id="code-sent">${textHtml(t, 'codeSent', { email: `<strong id="code-email">${escapeHtml(email)}</strong>` })}</p>
${t.marker ? `<p id="outbox-hint" class="hint">${textHtml(t, 'codeLocal', { folder: `<code id="outbox-folder">${escapeHtml(folder)}</code>` })}</p>` : ''}
<form method="post" action="${escapeHtml(action)}" novalidate>
  <label for="code">${escapeHtml(t('codeLabel'))}</label>
  <input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" maxlength="6">
  <button id="verify" name="action" value="verify">${escapeHtml(t('verifyCode'))}</button>
  <button id="resend" class="secondary" name="action" value="resend">${escapeHtml(t('sendNewCode'))}</button>
  <button id="cancel" class="link" name="action" value="cancel">${escapeHtml(t('cancel'))}</button>
</form>`);
}

export function consentPage({ t, action, email, termsUrl, privacyUrl }) {
  const appName = t.app;
  const link = (id, href, key) => `<a id="${id}" href="${escapeHtml(href)}" target="_blank" rel="noopener">${escapeHtml(t(key))}</a>`;
  return page(t, t('consentTitle'), `
<h1>${escapeHtml(t('consentTitle'))}</h1>
<p><strong id="consent-app">${escapeHtml(appName)}</strong><br><span id="consent-account">${escapeHtml(email)}</span></p>
<p>${escapeHtml(t('consentApp'))}</p>
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
<p>${textHtml(t, 'adminNeeds', { id: `<code>${escapeHtml(entraClientId)}</code>` })}</p>
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
