/** Edit distance (Levenshtein), for "did you mean" on a mistyped name. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] ?? 0;
      row[j] = Math.min(above + 1, (row[j - 1] ?? 0) + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length] ?? 0;
}

/**
 * The candidate a mistyped `word` most likely meant, or undefined when none is close: within 2 edits, or a third
 * of the word's length for long words. A candidate that contains the word, or is contained in it, also counts
 * (`GENESYS_REGION` → `GENESYS_CLOUD_REGION`), when it is the only one that does.
 */
export function closestName(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  if (bestDistance <= Math.max(2, Math.floor(word.length / 3))) return best;
  const words = (s: string) => s.toLowerCase().split(/[_-]+/).filter(Boolean);
  const mine = words(word);
  const covering = candidates.filter((c) => mine.length > 1 && mine.every((w) => words(c).includes(w)));
  return covering.length === 1 ? covering[0] : undefined;
}
