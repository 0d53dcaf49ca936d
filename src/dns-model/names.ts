/** Helpers for the absolute, lower-case, dot-less owner names of dns-model/records.ts. */

export function canonicalName(name: string): string {
  let n = name.toLowerCase();
  if (n.endsWith('.')) n = n.slice(0, -1);
  return n;
}

/** True when `name` is `zone` or below it. */
export function isInZone(name: string, zone: string): boolean {
  if (zone === '') return true;
  const cut = name.length - zone.length - 1;
  return name === zone || (cut >= 0 && name.charCodeAt(cut) === 46 && name.endsWith(zone));
}

/** The parent of a name ("a.b" → "b", "b" → ""). */
export function parentName(name: string): string {
  const i = name.indexOf('.');
  return i < 0 ? '' : name.slice(i + 1);
}
