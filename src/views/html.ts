/**
 * The only way markup is built: a tagged template that escapes every interpolation.
 * Trusted fragments (the output of another `html` template) pass through unchanged;
 * anything else — user names, user agents, IPs, query values — is text. `raw()` is the
 * explicit, greppable escape hatch for markup we wrote ourselves.
 */

/** Markup that is already safe to emit. */
export class SafeHtml {
  readonly value: string;
  constructor(value: string) {
    this.value = value;
  }
  toString(): string {
    return this.value;
  }
}

export type HtmlValue =
  | SafeHtml
  | string
  | number
  | boolean
  | null
  | undefined
  | readonly HtmlValue[];

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

/**
 * Escapes for element text and quoted attribute values alike (every template quotes its
 * attributes), so one function serves both contexts.
 */
const escapeHtml = (s: string): string => s.replace(/[&<>"'`]/g, (c) => ESCAPES[c]!);

/** Marks a string we wrote ourselves as markup. Never pass request data here. */
export const raw = (markup: string): SafeHtml => new SafeHtml(markup);

function render(v: HtmlValue): string {
  if (v instanceof SafeHtml) return v.value;
  // false/null/undefined render as nothing so `${cond && html`…`}` reads naturally.
  if (v === null || v === undefined || v === false) return '';
  if (Array.isArray(v)) return v.map(render).join('');
  return escapeHtml(String(v));
}

export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!;
  return new SafeHtml(out);
}
