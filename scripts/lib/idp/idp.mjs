#!/usr/bin/env node
// OpenID Connect identity provider for ZTNA demos and end-to-end tests.
// Built on the oidc-provider package (pinned in package.json); see README.md.
//
//   node idp.mjs --issuer https://HOST:PORT --listen HOST:PORT --cert CERT.pem --key KEY.pem
//                --users USERS.json [--keys-file JWKS_PRIVATE.json]
//
// stdout carries exactly one line, "idp ready ISSUER", once the server listens.
// Everything else (notices, request errors) goes to stderr.

import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CLIENT_ID = 'ztna-agent';
const SCOPES = ['openid', 'email', 'profile', 'groups', 'offline_access'];
const USAGE = 'usage: node idp.mjs --issuer https://HOST:PORT --listen HOST:PORT --cert CERT.pem '
  + '--key KEY.pem --users USERS.json [--keys-file JWKS_PRIVATE.json]';

// Keep stdout for the single "ready" line: oidc-provider prints its notices with console.info.
const toStderr = (...args) => process.stderr.write(`${args.map(String).join(' ')}\n`);
console.log = toStderr;
console.info = toStderr;

function fail(message) {
  process.stderr.write(`idp: ${message}\n`);
  process.exit(2);
}

// ---------------------------------------------------------------- arguments

function parseCommandLine() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        issuer: { type: 'string' },
        listen: { type: 'string' },
        cert: { type: 'string' },
        key: { type: 'string' },
        users: { type: 'string' },
        'keys-file': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    fail(`${err.message}; ${USAGE}`);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  for (const name of ['issuer', 'listen', 'cert', 'key', 'users']) {
    if (!values[name]) fail(`missing --${name}; ${USAGE}`);
  }
  return values;
}

function checkIssuer(value) {
  let url;
  try {
    url = new URL(value);
  } catch {
    fail(`--issuer ${value} is not a URL; give the public base URL, e.g. https://127.0.0.1:8443`);
  }
  if (url.protocol !== 'https:') {
    fail(`--issuer ${value} must use https (the IdP serves TLS only)`);
  }
  if (url.pathname !== '/' || url.search || url.hash || url.username || url.password) {
    fail(`--issuer ${value} must be a bare origin without path, query or credentials, e.g. https://127.0.0.1:8443`);
  }
  return url.origin;
}

function checkListen(value) {
  // HOST:PORT, with IPv6 hosts in brackets: [::1]:8443
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\[\]]+)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port < 1 || port > 65535) {
    fail(`--listen ${value} is not HOST:PORT (port 1-65535; IPv6 as [::1]:8443)`);
  }
  return { host: m[1] ?? m[2], port };
}

function readInput(option, file, hint) {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    return fail(`cannot read ${option} ${file}: ${err.message}; ${hint}`);
  }
}

// ---------------------------------------------------------------- users

function loadUsers(file) {
  const hint = 'fix the file (format: {"users":[{"login","password","sub","email","name","groups":[],"amr":[]}]}, see README.md)';
  const text = readInput('--users', file, 'pass a readable JSON users file');
  let doc;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    fail(`--users ${file} is not valid JSON: ${err.message}; ${hint}`);
  }
  if (!doc || !Array.isArray(doc.users) || doc.users.length === 0) {
    fail(`--users ${file} has no non-empty "users" array; ${hint}`);
  }
  const byLogin = new Map();
  const bySub = new Map();
  const isText = (v) => typeof v === 'string' && v.length > 0;
  const isTextList = (v) => Array.isArray(v) && v.every(isText);
  doc.users.forEach((u, i) => {
    const where = `--users ${file}: users[${i}]`;
    if (!u || typeof u !== 'object') fail(`${where} is not an object; ${hint}`);
    if (!isText(u.login)) fail(`${where}.login must be a non-empty string; ${hint}`);
    if (!isText(u.password)) fail(`${where}.password must be a non-empty string; ${hint}`);
    for (const field of ['sub', 'email', 'name']) {
      if (u[field] !== undefined && !isText(u[field])) fail(`${where}.${field} must be a non-empty string; ${hint}`);
    }
    for (const field of ['groups', 'amr']) {
      if (u[field] !== undefined && !isTextList(u[field])) fail(`${where}.${field} must be an array of strings; ${hint}`);
    }
    const user = {
      login: u.login,
      password: u.password,
      sub: u.sub ?? u.login,
      email: u.email,
      name: u.name,
      groups: u.groups ?? [],
      amr: u.amr ?? ['pwd'],
    };
    if (byLogin.has(user.login)) fail(`${where}: login "${user.login}" appears twice; ${hint}`);
    if (bySub.has(user.sub)) fail(`${where}: sub "${user.sub}" appears twice; ${hint}`);
    byLogin.set(user.login, user);
    bySub.set(user.sub, user);
  });
  return { byLogin, bySub };
}

// ---------------------------------------------------------------- signing keys

function newSigningKey() {
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = privateKey.export({ format: 'jwk' });
  // RFC 7638 thumbprint as key id: stable across restarts when the key is kept.
  const thumb = crypto.createHash('sha256')
    .update(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }))
    .digest('base64url');
  return { ...jwk, kid: thumb, alg: 'ES256', use: 'sig' };
}

function loadOrCreateKeys(file) {
  if (!file) return { keys: [newSigningKey()] };
  const hint = 'give a private JWKS written by this IdP, or a path that does not exist yet to create one';
  if (!fs.existsSync(file)) {
    const jwks = { keys: [newSigningKey()] };
    try {
      // 'wx': never overwrite; mode 0600: the file holds private keys.
      fs.writeFileSync(file, `${JSON.stringify(jwks, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    } catch (err) {
      fail(`cannot create --keys-file ${file}: ${err.message}; pick a writable path`);
    }
    return jwks;
  }
  const text = readInput('--keys-file', file, hint);
  let jwks;
  try {
    jwks = JSON.parse(text);
  } catch (err) {
    fail(`--keys-file ${file} is not valid JSON: ${err.message}; ${hint}`);
  }
  const ok = jwks && Array.isArray(jwks.keys) && jwks.keys.some((k) => k && k.kty === 'EC' && k.crv === 'P-256' && k.d);
  if (!ok) fail(`--keys-file ${file} has no private P-256 key (ES256 ID tokens need one); ${hint}`);
  return jwks;
}

// ---------------------------------------------------------------- HTML pages

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({
  '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
}[c]));

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>
body{font-family:sans-serif;max-width:26em;margin:3em auto;padding:0 1em}
input[type=text],input[type=password]{display:block;width:100%;box-sizing:border-box;margin:.3em 0 .8em;padding:.4em}
button{padding:.4em 1.2em;margin-right:.5em}
.error{color:#b00020}
</style>
</head>
<body>
<h1>${esc(title)}</h1>
${body}
</body>
</html>
`;
}

function sendHtml(res, status, html) {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.end(html);
}

function loginPage(uid, { login = '', error } = {}) {
  return page('Sign in', `${error ? `<p class="error">${esc(error)}</p>\n` : ''}<form method="post" action="/interaction/${esc(uid)}">
<input type="hidden" name="prompt" value="login">
<label>Login <input type="text" name="login" value="${esc(login)}" autocomplete="username" autofocus></label>
<label>Password <input type="password" name="password" autocomplete="current-password"></label>
<button type="submit">Sign in</button>
</form>`);
}

function consentPage(uid, clientId, scopes) {
  return page('Authorize', `<p>The application <b>${esc(clientId)}</b> asks for access to: <b>${esc(scopes.join(' '))}</b></p>
<form method="post" action="/interaction/${esc(uid)}">
<input type="hidden" name="prompt" value="consent">
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>`);
}

// ---------------------------------------------------------------- provider

function providerConfiguration({ jwks, users }) {
  const { bySub } = users;
  return {
    clients: [{
      client_id: CLIENT_ID,
      client_name: 'ZTNA agent',
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      // Native loopback client: oidc-provider ignores the port when comparing (RFC 8252 7.3).
      redirect_uris: ['http://127.0.0.1/callback'],
      response_types: ['code'],
      grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
      id_token_signed_response_alg: 'ES256',
    }],
    jwks,
    cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
    pkce: { required: () => true },
    scopes: ['openid', 'offline_access'],
    claims: {
      // amr is not a scope claim by default, so oidc-provider would leave it out of ID tokens
      // even though the login set it; listing it under openid puts it in every ID token.
      // Its value comes from the login session (interactionFinished), not from findAccount.
      openid: ['sub', 'amr'],
      email: ['email', 'email_verified'],
      profile: ['name'],
      groups: ['groups'],
    },
    // Claims of the granted scopes go into the ID token too (groups, email), not only userinfo.
    conformIdTokenClaims: false,
    async findAccount(_ctx, sub) {
      const user = bySub.get(sub);
      if (!user) return undefined;
      return {
        accountId: user.sub,
        async claims() {
          const claims = { sub: user.sub, groups: user.groups };
          if (user.email) Object.assign(claims, { email: user.email, email_verified: true });
          if (user.name) claims.name = user.name;
          return claims;
        },
      };
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      revocation: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
      },
      deviceFlow: {
        enabled: true,
        async userCodeInputSource(ctx, form, _out, err) {
          const known = {
            NoCodeError: 'No code was entered. Enter the code displayed on your device.',
            NotFoundError: 'The code you entered is incorrect. Try again.',
            ExpiredError: 'The code you entered has expired. Start again on your device.',
            // oidc-provider marks a code "in flight" once confirmed, even if the sign-in then fails.
            AlreadyUsedError: 'The code you entered was already used. Start again on your device.',
          };
          let msg = '<p>Enter the code displayed on your device.</p>';
          if (err && known[err.name]) {
            msg = `<p class="error">${known[err.name]}</p>`;
          } else if (err && err.name === 'AbortedError') {
            msg = '<p class="error">The sign-in request was aborted.</p>';
          } else if (err) {
            msg = `<p class="error">There was an error processing your request: ${esc(err.message || err.name)}</p>`;
          }
          ctx.type = 'html';
          ctx.body = page('Device sign-in', `${msg}\n${form}\n<button type="submit" form="op.deviceInputForm">Continue</button>`);
        },
        async userCodeConfirmSource(ctx, form, client, _deviceInfo, userCode) {
          ctx.type = 'html';
          ctx.body = page('Confirm device', `<p>Sign in <b>${esc(client.clientName || client.clientId)}</b> on the device showing the code <code>${esc(userCode)}</code>?</p>
${form}
<button type="submit" form="op.deviceConfirmForm">Continue</button>
<button type="submit" form="op.deviceConfirmForm" name="abort" value="yes">Abort</button>`);
        },
        async successSource(ctx) {
          ctx.type = 'html';
          ctx.body = page('Device signed in', '<p id="device-success">Sign-in successful: you can close this page and return to your device.</p>');
        },
      },
    },
    async renderError(ctx, out) {
      ctx.type = 'html';
      const text = out.error_description ? `${out.error}: ${out.error_description}` : out.error;
      ctx.body = page('Error', `<p class="error">${esc(text)}</p>`);
    },
    clientBasedCORS: () => false,
    ttl: {
      AccessToken: 60 * 60,
      AuthorizationCode: 60,
      DeviceCode: 10 * 60,
      IdToken: 60 * 60,
      RefreshToken: 24 * 60 * 60,
      Interaction: 60 * 60,
      Session: 24 * 60 * 60,
      Grant: 14 * 24 * 60 * 60,
    },
  };
}

// ---------------------------------------------------------------- interactions (login + consent)

function readForm(req, limit = 64 * 1024) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > limit) {
        reject(new Error('form too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}

function passwordMatches(user, given) {
  // Compare digests so the comparison time does not depend on where the strings differ.
  const a = crypto.createHash('sha256').update(String(user?.password ?? '')).digest();
  const b = crypto.createHash('sha256').update(String(given ?? '')).digest();
  return crypto.timingSafeEqual(a, b) && user !== undefined;
}

async function grantConsent(provider, details) {
  const { prompt, params, session, grantId } = details;
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  const missing = prompt.details;
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  return grant.save();
}

async function handleInteraction(provider, users, req, res, uid) {
  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch (err) {
    sendHtml(res, 400, page('Error', `<p class="error">sign-in session not found or expired (${esc(err.message)}): start the sign-in again from the application</p>`));
    return;
  }
  if (details.uid !== uid) {
    sendHtml(res, 400, page('Error', '<p class="error">sign-in session does not match this page: start the sign-in again</p>'));
    return;
  }
  const promptName = details.prompt.name;

  if (req.method === 'GET') {
    if (promptName === 'login') {
      sendHtml(res, 200, loginPage(uid, { login: details.params.login_hint ?? '' }));
    } else if (promptName === 'consent') {
      sendHtml(res, 200, consentPage(uid, details.params.client_id, String(details.params.scope ?? '').split(' ').filter(Boolean)));
    } else {
      sendHtml(res, 400, page('Error', `<p class="error">unsupported interaction prompt ${esc(promptName)}</p>`));
    }
    return;
  }
  if (req.method !== 'POST') {
    res.statusCode = 405;
    res.setHeader('Allow', 'GET, POST');
    res.end();
    return;
  }

  const form = await readForm(req);
  if (form.get('prompt') !== promptName) {
    sendHtml(res, 400, page('Error', `<p class="error">this page expected the ${esc(promptName)} step: start the sign-in again</p>`));
    return;
  }
  if (promptName === 'login') {
    const login = form.get('login') ?? '';
    const user = users.byLogin.get(login);
    if (!passwordMatches(user, form.get('password'))) {
      process.stderr.write(`idp: login refused for "${login}"\n`);
      sendHtml(res, 200, loginPage(uid, { login, error: 'Invalid login or password.' }));
      return;
    }
    await provider.interactionFinished(req, res, {
      login: { accountId: user.sub, amr: user.amr, remember: true },
    }, { mergeWithLastSubmission: false });
    return;
  }
  if (promptName === 'consent') {
    if (form.get('decision') === 'deny') {
      await provider.interactionFinished(req, res, {
        error: 'access_denied', error_description: 'End-User denied the authorization request',
      }, { mergeWithLastSubmission: false });
      return;
    }
    const grantId = await grantConsent(provider, details);
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    return;
  }
  sendHtml(res, 400, page('Error', `<p class="error">unsupported interaction prompt ${esc(promptName)}</p>`));
}

// ---------------------------------------------------------------- main

async function main() {
  const args = parseCommandLine();
  const issuer = checkIssuer(args.issuer);
  const listen = checkListen(args.listen);
  const cert = readInput('--cert', args.cert, 'pass a PEM certificate (make-cert.sh OUTDIR 127.0.0.1 creates one)');
  const key = readInput('--key', args.key, 'pass the PEM private key of --cert (make-cert.sh creates one)');
  const users = loadUsers(args.users);
  const jwks = loadOrCreateKeys(args['keys-file']);

  let Provider;
  try {
    ({ default: Provider } = await import('oidc-provider'));
  } catch (err) {
    fail(`cannot load oidc-provider (${err.code || err.message}); run "npm ci" in ${HERE}`);
  }

  let provider;
  try {
    provider = new Provider(issuer, providerConfiguration({ jwks, users }));
  } catch (err) {
    fail(`invalid provider configuration: ${err.message}`);
  }
  provider.on('server_error', (_ctx, err) => process.stderr.write(`idp: server error: ${err.stack || err}\n`));

  const providerCallback = provider.callback();
  const handler = (req, res) => {
    const { pathname } = new URL(req.url, issuer);
    const m = /^\/interaction\/([A-Za-z0-9_-]+)$/.exec(pathname);
    if (!m) {
      providerCallback(req, res);
      return;
    }
    handleInteraction(provider, users, req, res, m[1]).catch((err) => {
      process.stderr.write(`idp: interaction ${m[1]} failed: ${err.stack || err}\n`);
      if (!res.headersSent) sendHtml(res, 500, page('Error', '<p class="error">internal error during sign-in</p>'));
      else res.end();
    });
  };

  let server;
  try {
    server = https.createServer({ cert, key }, handler);
  } catch (err) {
    fail(`cannot use --cert ${args.cert} / --key ${args.key}: ${err.message}; pass a matching PEM certificate and key`);
  }
  server.on('error', (err) => {
    fail(`cannot listen on ${args.listen}: ${err.message}; pick a free port on a local address`);
  });
  server.listen(listen.port, listen.host, () => {
    process.stdout.write(`idp ready ${issuer}\n`);
  });

  const stop = (signal) => {
    process.stderr.write(`idp: ${signal}, stopping\n`);
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main();
