#!/usr/bin/env node
// Approves a device authorization request (RFC 8628) as the user would in a browser:
//
//   node device.mjs --verification-uri URI --user-code CODE --user alice --password PW --ca CA.pem
//
// Opens the verification URI, types the user code, confirms it, signs in and grants consent.
// Exit 0 when the IdP shows its success page; 3 when the login was refused; 2 for bad
// arguments; 1 for any other failure (wrong or expired user code included).

import {
  Browser, EXIT_USAGE, Stop, formValues, pageError, parseCommandLine, readCa, runMain, walk,
} from './webclient.mjs';

const USAGE = 'usage: node device.mjs --verification-uri URI --user-code CODE --user LOGIN --password PW --ca CA.pem';

runMain('device', async () => {
  const args = parseCommandLine('device', USAGE, ['verification-uri', 'user-code', 'user', 'password', 'ca']);
  let start;
  try {
    start = new URL(args['verification-uri']);
  } catch {
    throw new Stop(`--verification-uri ${args['verification-uri']} is not a URL; ${USAGE}`, EXIT_USAGE);
  }
  if (start.protocol !== 'https:') {
    throw new Stop(`--verification-uri ${args['verification-uri']} must be an https URL`, EXIT_USAGE);
  }
  const ca = readCa(args.ca);
  const userCode = args['user-code'];
  let codeSubmitted = false;

  const fill = (form, page) => {
    const input = form.fields.find((f) => f.name === 'user_code' && f.type !== 'hidden');
    if (!input) return undefined;
    if (codeSubmitted) {
      throw new Stop(`user code ${userCode} refused at ${start.origin}${start.pathname}: ${pageError(page.text) ?? 'the code form was shown again'}`);
    }
    codeSubmitted = true;
    return { values: formValues(form, { user_code: userCode }) };
  };

  const browser = new Browser(ca);
  const { exit } = await walk(browser, start, {
    user: args.user,
    password: args.password,
    fill,
    isExit: (u) => u.origin !== start.origin,
    isDone: (page) => /id="device-success"/.test(page.text),
  });
  if (exit) throw new Stop(`the IdP redirected away to ${exit.origin}${exit.pathname} instead of confirming the device`);
  process.stdout.write(`device: approved user code ${userCode} for ${args.user}\n`);
});
