/**
 * Debian's Chromium, headless, for the browser tests. The background-networking flags
 * matter here: without them Chromium reaches for Google's hosts at start, and this
 * sandbox's closed network refuses them many at a time.
 */
import { type Browser, chromium } from 'playwright-core';

export const launchChromium = (): Promise<Browser> =>
  chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
      '--no-first-run', '--disable-component-update', '--disable-sync',
    ],
  });

/**
 * The same Chromium with Device Bound Session Credentials on (software keys: Linux has
 * no TPM provider) and the CDP events `Network.deviceBoundSessionEventOccurred`. DBSC
 * works only over HTTPS with a certificate Chromium accepts: `spki`
 * (test/helpers/tls-cert.ts) pins the test certificate; `ignoreHTTPSErrors` on a context
 * switches DBSC off. All features go in one `--enable-features` switch (the last one
 * wins; Playwright passes its own before). New contexts of this browser register and
 * refresh like a persistent profile (checked on Chromium 156).
 */
export const launchDbscChromium = (spki: string): Promise<Browser> =>
  chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
      '--no-first-run', '--disable-component-update', '--disable-sync',
      '--enable-features=DeviceBoundSessions,EnableBoundSessionCredentialsSoftwareKeysForManualTesting,DeviceBoundSessionsDevTools',
      `--ignore-certificate-errors-spki-list=${spki}`,
    ],
  });
