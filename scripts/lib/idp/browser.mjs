#!/usr/bin/env node
// Automated stand-in for the user's browser in the authorization code flow:
//
//   node browser.mjs --url AUTHORIZATION_URL --user alice --password PW --ca CA.pem
//
// Opens the authorization URL, signs in, grants consent and finally performs the GET to
// the client's redirect URI (e.g. http://127.0.0.1:PORT/callback?code=...&state=...), as a
// browser would. Exit 0 when that GET answered 200; 3 when the login was refused;
// 2 for bad arguments; 1 for any other failure.

import {
  Browser, EXIT_USAGE, Stop, describe, parseCommandLine, readCa, runMain, walk,
} from './webclient.mjs';

const USAGE = 'usage: node browser.mjs --url AUTHORIZATION_URL --user LOGIN --password PW --ca CA.pem';

runMain('browser', async () => {
  const args = parseCommandLine('browser', USAGE, ['url', 'user', 'password', 'ca']);
  let start;
  try {
    start = new URL(args.url);
  } catch {
    throw new Stop(`--url ${args.url} is not a URL; ${USAGE}`, EXIT_USAGE);
  }
  if (start.protocol !== 'https:') throw new Stop(`--url ${args.url} must be an https authorization URL`, EXIT_USAGE);
  const ca = readCa(args.ca);

  // The client's redirect URI, if the request names it; otherwise any redirect off the IdP ends the walk.
  const redirectUri = start.searchParams.get('redirect_uri');
  const exitPrefix = redirectUri ? describe(redirectUri) : undefined;
  const isExit = (u) => (exitPrefix ? describe(u) === exitPrefix : u.origin !== start.origin);

  const browser = new Browser(ca);
  const { exit } = await walk(browser, start, {
    user: args.user,
    password: args.password,
    isExit,
    isDone: () => false,
  });

  // The last hop: the GET to the client's loopback listener, also when the IdP reports an error.
  const error = exit.searchParams.get('error');
  const desc = exit.searchParams.get('error_description');
  const idpError = error ? `the IdP sent an error to the client: ${error}${desc ? `: ${desc}` : ''}` : undefined;
  let res;
  try {
    res = await browser.request('GET', exit);
  } catch (err) {
    if (err instanceof Stop && idpError) throw new Stop(`${idpError} (and ${err.message})`);
    throw err;
  }
  process.stdout.write(`browser: redirected to ${describe(exit)} (HTTP ${res.status})\n`);
  if (idpError) throw new Stop(idpError);
  if (res.status !== 200) {
    throw new Stop(`GET ${describe(exit)} answered HTTP ${res.status}, expected 200`);
  }
});
