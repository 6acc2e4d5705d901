/**
 * A minimal HTTP/1.1 client over a raw socket, for input Node's own client refuses to
 * write (control characters, CR/LF inside values, bytes outside Latin-1, duplicate
 * Content-Length, thousands of headers). One request per connection.
 */
import { connect } from 'node:net';

export interface RawResponse {
  status: number;
  headers: Array<[string, string]>;
  body: string;
  /** The server closed (or reset) the connection without an HTTP response. */
  noResponse: boolean;
}

export function rawRequest(port: number, request: string | Buffer, timeoutMs = 10_000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    // No half-close: Node's server drops a half-closed request without answering.
    sock.on('connect', () => sock.write(request));
    sock.on('data', (c: Buffer) => chunks.push(c));
    // A reset after a complete response (the server closing a bad request) is normal.
    sock.on('error', () => {});
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(parse(Buffer.concat(chunks).toString('latin1')));
    });
  });
}

function parse(text: string): RawResponse {
  const m = /^HTTP\/1\.[01] (\d{3})[^\r\n]*\r\n/.exec(text);
  if (!m) return { status: 0, headers: [], body: '', noResponse: true };
  const end = text.indexOf('\r\n\r\n');
  const head = text.slice(m[0].length, end < 0 ? undefined : end);
  const headers = head
    .split('\r\n')
    .filter(Boolean)
    .map((line): [string, string] => {
      const i = line.indexOf(':');
      return [line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim()];
    });
  let body = end < 0 ? '' : text.slice(end + 4);
  if (headers.some(([k, v]) => k === 'transfer-encoding' && /chunked/i.test(v))) body = dechunk(body);
  return { status: Number(m[1]), headers, body, noResponse: false };
}

function dechunk(s: string): string {
  let out = '';
  let i = 0;
  for (;;) {
    const eol = s.indexOf('\r\n', i);
    if (eol < 0) return out;
    const size = Number.parseInt(s.slice(i, eol), 16);
    if (!(size > 0)) return out;
    out += s.slice(eol + 2, eol + 2 + size);
    i = eol + 2 + size + 2;
  }
}

/** Builds a request; `headers` are written verbatim (no validation at all). */
export function buildRequest(
  method: string,
  path: string,
  headers: Array<[string, string]>,
  body?: string | Buffer,
): Buffer {
  const bodyBuf = body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close'];
  for (const [k, v] of headers) lines.push(`${k}: ${v}`);
  const framed = headers.some(([k]) => /^(content-length|transfer-encoding)$/i.test(k));
  if (body !== undefined && !framed) {
    lines.push(`Content-Length: ${bodyBuf.length}`);
  }
  return Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'utf8'), bodyBuf]);
}

export const header = (r: RawResponse, name: string): string[] =>
  r.headers.filter(([k]) => k === name.toLowerCase()).map(([, v]) => v);
