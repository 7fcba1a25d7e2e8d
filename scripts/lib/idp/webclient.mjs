// A very small scripted "web browser" for the demo IdP: cookie jar, redirects, HTML forms.
// Shared by browser.mjs (authorization code flow) and device.mjs (device flow).
// Node built-ins only; trusts exactly one CA for https.

import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { parseArgs } from 'node:util';

export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
export const EXIT_LOGIN_REFUSED = 3;

/** An error that ends the run with a given exit code and one-line message. */
export class Stop extends Error {
  constructor(message, code = EXIT_FAILURE) {
    super(message);
    this.exitCode = code;
  }
}

export function parseCommandLine(prog, usage, names) {
  const options = {};
  for (const n of names) options[n] = { type: 'string' };
  let values;
  try {
    ({ values } = parseArgs({ options, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new Stop(`${err.message}; ${usage}`, EXIT_USAGE);
  }
  for (const n of names) {
    if (!values[n]) throw new Stop(`missing --${n}; ${usage}`, EXIT_USAGE);
  }
  return values;
}

export function readCa(file) {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new Stop(`cannot read --ca ${file}: ${err.message}; pass the PEM CA that signed the IdP certificate`, EXIT_USAGE);
  }
}

export async function runMain(prog, fn) {
  try {
    await fn();
    process.exit(0);
  } catch (err) {
    if (err instanceof Stop) {
      process.stderr.write(`${prog}: ${err.message}\n`);
      process.exit(err.exitCode);
    }
    process.stderr.write(`${prog}: unexpected failure: ${err.stack || err}\n`);
    process.exit(EXIT_FAILURE);
  }
}

// ---------------------------------------------------------------- cookies

class CookieJar {
  #cookies = []; // { host, name, value, path, secure, expires }

  store(url, setCookieHeaders) {
    for (const line of setCookieHeaders ?? []) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const cookie = {
        host: url.hostname,
        name: pair.slice(0, eq).trim(),
        value: pair.slice(eq + 1).trim(),
        path: url.pathname.replace(/\/[^/]*$/, '') || '/',
        secure: false,
        expires: Infinity,
      };
      for (const attr of attrs) {
        const i = attr.indexOf('=');
        const k = (i < 0 ? attr : attr.slice(0, i)).trim().toLowerCase();
        const v = i < 0 ? '' : attr.slice(i + 1).trim();
        if (k === 'path' && v.startsWith('/')) cookie.path = v;
        else if (k === 'secure') cookie.secure = true;
        else if (k === 'max-age') cookie.expires = Date.now() + Number(v) * 1000;
        else if (k === 'expires' && cookie.expires === Infinity) {
          const t = Date.parse(v);
          if (!Number.isNaN(t)) cookie.expires = t;
        }
      }
      this.#cookies = this.#cookies.filter(
        (c) => !(c.host === cookie.host && c.name === cookie.name && c.path === cookie.path),
      );
      if (cookie.expires > Date.now()) this.#cookies.push(cookie);
    }
  }

  header(url) {
    const now = Date.now();
    const pathMatches = (p) => url.pathname === p || url.pathname.startsWith(p.endsWith('/') ? p : `${p}/`);
    return this.#cookies
      .filter((c) => c.host === url.hostname && c.expires > now && pathMatches(c.path)
        && (!c.secure || url.protocol === 'https:'))
      .sort((a, b) => b.path.length - a.path.length)
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }
}

// ---------------------------------------------------------------- HTML forms

const decodeEntities = (s) => s
  .replace(/&#(\d+);/g, (_, d) => String.fromCodePoint(Number(d)))
  .replace(/&#x([0-9a-f]+);/gi, (_, h) => String.fromCodePoint(parseInt(h, 16)))
  .replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<')
  .replace(/&gt;/g, '>').replace(/&amp;/g, '&');

function attributes(tag) {
  const out = {};
  const re = /([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
  // Skip the tag name itself.
  const body = tag.replace(/^<\s*[a-zA-Z]+/, '').replace(/\/?>$/, '');
  for (const m of body.matchAll(re)) {
    out[m[1].toLowerCase()] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return out;
}

/** Forms of a page: { id, action, method, fields: [{tag, type, name, value}], buttons: [...] }.
 *  Buttons placed outside a form but naming it with form="ID" belong to it, as in HTML5. */
export function parseForms(html) {
  const forms = [];
  for (const m of html.matchAll(/<form\b[^>]*>([\s\S]*?)<\/form>/gi)) {
    const attrs = attributes(m[0].slice(0, m[0].indexOf('>') + 1));
    forms.push({
      id: attrs.id,
      action: attrs.action ?? '',
      method: (attrs.method ?? 'get').toUpperCase(),
      fields: [...m[1].matchAll(/<input\b[^>]*>/gi)].map((t) => {
        const a = attributes(t[0]);
        return { type: (a.type ?? 'text').toLowerCase(), name: a.name, value: a.value ?? '' };
      }).filter((f) => f.name),
      buttons: [...m[1].matchAll(/<button\b[^>]*>/gi)].map((t) => attributes(t[0])),
    });
  }
  for (const t of html.matchAll(/<button\b[^>]*>/gi)) {
    const a = attributes(t[0]);
    const owner = a.form && forms.find((f) => f.id === a.form);
    if (owner) owner.buttons.push(a);
  }
  for (const f of forms) {
    f.buttons = f.buttons.filter((b) => (b.type ?? 'submit').toLowerCase() === 'submit');
  }
  return forms;
}

/** Text of the page's error paragraph (class="error"), if any. */
export function pageError(html) {
  const m = /<p\b[^>]*class="[^"]*\berror\b[^"]*"[^>]*>([\s\S]*?)<\/p>/i.exec(html);
  return m ? decodeEntities(m[1].replace(/<[^>]*>/g, '')).replace(/\s+/g, ' ').trim() : undefined;
}

/** The values a browser sends when the user clicks `button` (default: the first submit button). */
export function formValues(form, overrides = {}, button = form.buttons[0]) {
  const body = new URLSearchParams();
  for (const f of form.fields) {
    if (['submit', 'button', 'reset', 'image', 'file'].includes(f.type)) continue;
    if ((f.type === 'checkbox' || f.type === 'radio')) continue;
    body.append(f.name, f.name in overrides ? overrides[f.name] : f.value);
  }
  if (button?.name) body.append(button.name, button.value ?? '');
  return body;
}

// ---------------------------------------------------------------- the browser

export class Browser {
  #jar = new CookieJar();
  #ca;

  constructor(ca) {
    this.#ca = ca;
  }

  /** One HTTP exchange, no redirect following. Returns { url, status, headers, text }. */
  request(method, url, body) {
    const target = new URL(url);
    if (target.protocol !== 'https:' && target.protocol !== 'http:') {
      throw new Stop(`cannot open ${target.href}: only http and https URLs are supported`);
    }
    const headers = {
      'user-agent': 'ztna-demo-browser/1 (node)',
      accept: 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8',
    };
    const cookie = this.#jar.header(target);
    if (cookie) headers.cookie = cookie;
    let payload;
    if (body !== undefined) {
      payload = Buffer.from(body.toString());
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers['content-length'] = String(payload.length);
    }
    const mod = target.protocol === 'https:' ? https : http;
    const options = { method, headers, agent: false, timeout: 10000 };
    if (target.protocol === 'https:') options.ca = this.#ca;
    return new Promise((resolve, reject) => {
      const req = mod.request(target, options, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          this.#jar.store(target, res.headers['set-cookie']);
          resolve({
            url: target, status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString('utf8'),
          });
        });
        res.on('error', (err) => reject(new Stop(`${method} ${target.href} failed while reading the answer: ${err.message}`)));
      });
      req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
      req.on('error', (err) => {
        const code = err.code && !err.message.includes(err.code) ? `${err.code}: ` : '';
        reject(new Stop(`${method} ${describe(target)} failed: ${code}${err.message}`));
      });
      req.end(payload);
    });
  }
}

/** URL without query and fragment (they may carry codes or secrets). */
export function describe(url) {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`;
}

/**
 * Walks the IdP's pages like a user: follows redirects, signs in, grants consent,
 * submits auto-posting forms. Stops when a redirect leaves for `isExit(url)` (returns
 * { exit: URL }) or when a page satisfies `isDone(page)` (returns { page }).
 * `fill(form, page)` may return { values, button } to submit a page's form specially
 * (e.g. the device user code); otherwise login and single-purpose forms are handled here.
 */
export async function walk(browser, startUrl, {
  user, password, isExit, isDone, fill = () => undefined, maxSteps = 25,
}) {
  let method = 'GET';
  let url = new URL(startUrl);
  let body;
  let loginSubmitted = false;

  for (let step = 0; step < maxSteps; step += 1) {
    const res = await browser.request(method, url, body);
    const wasLogin = loginSubmitted;
    loginSubmitted = false;

    if (res.status >= 300 && res.status < 400 && res.headers.location) {
      const next = new URL(res.headers.location, res.url);
      if ([301, 302, 303].includes(res.status)) {
        method = 'GET';
        body = undefined;
      }
      if (isExit(next)) return { exit: next };
      url = next;
      continue;
    }

    const html = res.text;
    const error = pageError(html);
    if (res.status !== 200) {
      throw new Stop(`${method} ${describe(res.url)} answered HTTP ${res.status}${error ? `: ${error}` : ''}`);
    }
    if (isDone(res)) return { page: res };

    const forms = parseForms(html);
    const login = forms.find((f) => f.fields.some((x) => x.type === 'password'));
    if (login && wasLogin) {
      throw new Stop(`login refused for ${user}: ${error ?? 'the sign-in form was shown again'}`, EXIT_LOGIN_REFUSED);
    }

    let form;
    let values;
    const special = forms.map((f) => [f, fill(f, res)]).find(([, r]) => r);
    if (special) {
      [form, { values }] = [special[0], special[1]];
    } else if (login) {
      form = login;
      const userField = login.fields.find((x) => x.type === 'text' || x.type === 'email');
      values = formValues(login, { [userField?.name ?? 'login']: user, [login.fields.find((x) => x.type === 'password').name]: password });
      loginSubmitted = true;
    } else if (forms.length === 1 && forms[0].fields.every((x) => x.type === 'hidden')) {
      // Consent page, device confirmation, or an auto-submitting (form_post) page: click the first button.
      [form] = forms;
      values = formValues(form);
    } else {
      throw new Stop(`${describe(res.url)} showed a page this script does not understand${error ? `: ${error}` : ''}`);
    }
    const action = new URL(form.action || res.url.href, res.url);
    if (form.method === 'POST') {
      method = 'POST';
      body = values;
      url = action;
    } else {
      method = 'GET';
      body = undefined;
      action.search = values.toString();
      url = action;
    }
  }
  throw new Stop(`gave up after ${maxSteps} pages without reaching the end (last: ${describe(url)})`);
}
