const UNKNOWN_OPTION = "error: unknown option '";

/**
 * Removes the value from Commander's message about an unknown option. Commander quotes the
 * option as it was typed, so a mistyped `--password=VALUE` or `-pVALUE` would print VALUE.
 */
export function withoutOptionValue(text: string): string {
  if (!text.startsWith(UNKNOWN_OPTION)) return text;
  // The message is the prefix, the option, a closing quote, and maybe a line with a
  // suggestion. The option itself may contain quotes and new lines.
  const body = text.slice(UNKNOWN_OPTION.length).replace(/\n(\(Did you mean [^\n]*\?\))?\n?$/, '');
  const typed = body.endsWith("'") ? body.slice(0, -1) : body;
  const name = typed.startsWith('--') ? typed.split('=')[0] : typed.slice(0, 2);
  if (name === typed) return text;
  return `${UNKNOWN_OPTION}${name}' (its value is not shown)\n`;
}
