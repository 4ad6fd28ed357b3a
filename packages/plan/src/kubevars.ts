/**
 * Kubernetes' own `$(VAR_NAME)` references in a container's command, args
 * and env values. The kubelet expands them when it starts a container; in a
 * pipod pod the step's real command lives in the plan, where the kubelet
 * never looks, so the wrapper expands it, and podman (which does not expand
 * env values at all) gets its env expanded by the CLI.
 */

/**
 * Expands `$(NAME)` with `lookup(NAME)` the way the kubelet does: `$$` is an
 * escaped `$`; a reference whose name is unknown stays as written; an
 * unterminated `$(` and a `$` before anything else are kept.
 */
export function expandKubeVars(input: string, lookup: (name: string) => string | undefined): string {
  if (!input.includes('$')) return input;
  let out = '';
  let i = 0;
  while (i < input.length) {
    const c = input[i];
    if (c !== '$' || i + 1 >= input.length) {
      out += c;
      i++;
      continue;
    }
    const next = input[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
    } else if (next === '(') {
      const close = input.indexOf(')', i + 2);
      if (close < 0) {
        // Kept as written; scanning goes on after the `$(`, as the kubelet's does.
        out += '$(';
        i += 2;
        continue;
      }
      const name = input.slice(i + 2, close);
      out += lookup(name) ?? `$(${name})`;
      i = close + 1;
    } else {
      out += `$${next}`;
      i += 2;
    }
  }
  return out;
}

/** Escapes every `$` so that `expandKubeVars` gives the text back unchanged (for values the kubelet would not expand). */
export function escapeKubeVars(text: string): string {
  return text.replaceAll('$', '$$$$');
}

/**
 * Expands a container's env list in order, each value seeing the entries
 * before it (and `base`), as the kubelet builds a container's environment.
 * Entries without a literal value (valueFrom) are passed through untouched.
 */
export function expandEnvList<T extends { readonly name: string; readonly value?: string }>(env: readonly T[], base: Readonly<Record<string, string>> = {}): T[] {
  const seen = new Map<string, string>(Object.entries(base));
  return env.map((e) => {
    if (e.value === undefined) return e;
    const value = expandKubeVars(e.value, (n) => seen.get(n));
    seen.set(e.name, value);
    return value === e.value ? e : { ...e, value };
  });
}
