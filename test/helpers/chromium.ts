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
