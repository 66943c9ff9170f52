// B2C's e-mail verification code message (sign-up and password reset), branded with the product's
// name as B2C's custom e-mail verification sends it, delivered like the app's local e-mails: an
// .eml file in the outbox folder (IDP_OUTBOX_DIR), which any mail client opens.

import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { escapeHtml } from './views.mjs';

// RFC 2047 encoded-word for non-ASCII header text (names, subjects in fr/de/it/es).
function headerText(text) {
  return /^[\x20-\x7e]*$/.test(text) ? text : `=?utf-8?B?${Buffer.from(text, 'utf8').toString('base64')}?=`;
}

function base64Lines(text) {
  return Buffer.from(text, 'utf8').toString('base64').replace(/.{76}/g, '$&\r\n');
}

export function writeVerificationEmail({ outboxDir, sender, t, to, code }) {
  const lines = [
    t('mailHeading'), '', t('mailThanks', { email: to }), '', t('mailCode', { code }), '', t('mailIgnore'), '', t('mailSincerely'), t.app,
  ];
  const html = `<!DOCTYPE html><html lang="${t.lang}"><body style="font-family:Segoe UI,Arial,sans-serif">
<h1 style="font-size:20px">${escapeHtml(t('mailHeading'))}</h1>
<p>${escapeHtml(t('mailThanks', { email: to }))}</p>
<p>${escapeHtml(t('mailCode', { code: '' }))}<strong id="code" style="font-size:22px;letter-spacing:.15em">${escapeHtml(code)}</strong></p>
<p>${escapeHtml(t('mailIgnore'))}</p>
<p>${escapeHtml(t('mailSincerely'))}<br>${escapeHtml(t.app)}</p>
</body></html>`;
  const now = new Date();
  const boundary = `=_${randomBytes(12).toString('hex')}`;
  const message = [
    `From: "${headerText(t.app)}" <${sender}>`,
    `To: ${to}`,
    `Subject: ${headerText(t('mailSubject'))}`,
    `Date: ${now.toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <${randomBytes(16).toString('hex')}@${sender.split('@')[1]}>`,
    `Content-Language: ${t.lang}`,
    'MIME-Version: 1.0',
    `Content-Type: multipart/alternative; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: base64',
    '',
    base64Lines(`${lines.join('\n')}\n`),
    `--${boundary}`,
    'Content-Type: text/html; charset=utf-8',
    'Content-Transfer-Encoding: base64',
    '',
    base64Lines(html),
    `--${boundary}--`,
    '',
  ].join('\r\n');
  // Named like the app's outbox files (time first) so the folder lists in sending order.
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.(\d{3})Z$/, '$1000Z');
  const file = path.join(outboxDir, `${stamp}-${randomBytes(4).toString('hex')}.eml`);
  mkdirSync(outboxDir, { recursive: true });
  writeFileSync(file, message, { flag: 'wx' });
  return file;
}
