/**
 * Control characters a terminal acts on: C0 (U+0000–U+001F), DEL, C1 (U+0080–U+009F; U+009B is a one-character
 * CSI to many terminals), and the bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069), which
 * reorder what is shown. An ESC sequence in a body or an error text could otherwise move the cursor, rewrite or
 * hide lines, or retitle the operator's terminal.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\t': '\\t', '\r': '\\r' };

export interface TerminalTextOptions {
  /** Keep line feeds and tabs as they are (a body): they only lay text out. @default false */
  readonly multiline?: boolean;
}

/**
 * `text` safe to print in a terminal: every control character written as a visible escape (`\x1b`, `\r`,
 * `\x9b`, `\u202e`), so it is seen, not obeyed. Line feeds and tabs are escaped too unless `multiline`, so a
 * one-line field cannot forge the lines below it. JSON output needs none of this: JSON.stringify escapes C0.
 */
export function terminalText(text: string, options: TerminalTextOptions = {}): string {
  return text.replace(CONTROL, (c) => {
    if (options.multiline && (c === '\n' || c === '\t')) return c;
    const named = NAMED[c];
    if (named !== undefined) return named;
    const code = c.charCodeAt(0);
    return code < 0x100
      ? `\\x${code.toString(16).padStart(2, '0')}`
      : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
