/**
 * The static files the pages use, read once at start from src/views/assets (copied to
 * dist by scripts/copy-assets.sh) and served from memory, plus the browser session
 * client (src/client). A fixed list: no path from a request ever reaches the file system.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

export interface Asset {
  body: Buffer;
  type: string;
  etag: string;
  cacheControl: string;
}

const TYPES: Record<string, string> = {
  'style.css': 'text/css; charset=utf-8',
  'countdown.js': 'text/javascript; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
};

/**
 * Apps import the session client by this URL from their own pages and it must follow
 * the server's API as soon as the server is upgraded: revalidated on every use instead
 * of cached for minutes (a 304 is cheap).
 */
const MODULES: Record<string, { type: string; url: URL }> = {
  'session-client.js': { type: 'text/javascript; charset=utf-8', url: new URL('../client/session-client.js', import.meta.url) },
};

let cache: ReadonlyMap<string, Asset> | undefined;

export function loadAssets(): ReadonlyMap<string, Asset> {
  if (cache) return cache;
  const m = new Map<string, Asset>();
  const etag = (body: Buffer) => `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"`;
  for (const [name, type] of Object.entries(TYPES)) {
    const body = readFileSync(new URL(`./assets/${name}`, import.meta.url));
    m.set(name, { body, type, etag: etag(body), cacheControl: 'public, max-age=300' });
  }
  for (const [name, { type, url }] of Object.entries(MODULES)) {
    const body = readFileSync(url);
    m.set(name, { body, type, etag: etag(body), cacheControl: 'no-cache' });
  }
  cache = m;
  return m;
}
