/**
 * The static files the pages use, read once at start from src/views/assets (copied to
 * dist by scripts/copy-assets.sh) and served from memory. A fixed list: no path from a
 * request ever reaches the file system.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

export interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

const TYPES: Record<string, string> = {
  'style.css': 'text/css; charset=utf-8',
  'countdown.js': 'text/javascript; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
};

let cache: ReadonlyMap<string, Asset> | undefined;

export function loadAssets(): ReadonlyMap<string, Asset> {
  if (cache) return cache;
  const m = new Map<string, Asset>();
  for (const [name, type] of Object.entries(TYPES)) {
    const body = readFileSync(new URL(`./assets/${name}`, import.meta.url));
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"`;
    m.set(name, { body, type, etag });
  }
  cache = m;
  return m;
}
