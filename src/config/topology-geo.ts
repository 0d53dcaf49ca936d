/**
 * Policy topology: the location keys of a map (countries, continents), as
 * GeoIP databases and Route 53 geolocation records give them. Each location
 * is mapped once, as each network is.
 */
export function geoKeysMappedTwice(
  entries: ReadonlyArray<{ countries?: string[]; continents?: string[] }>,
  base: PropertyKey[],
  formatKey: (path: readonly PropertyKey[]) => string,
): Array<{ path: PropertyKey[]; message: string }> {
  const problems: Array<{ path: PropertyKey[]; message: string }> = [];
  for (const key of ['countries', 'continents'] as const) {
    const first = new Map<string, PropertyKey[]>();
    entries.forEach((e, i) =>
      (e[key] ?? []).forEach((code, j) => {
        const path = [...base, 'map', i, key, j];
        const twin = first.get(code);
        if (twin) problems.push({ path, message: `${key === 'countries' ? 'country' : 'continent'} ${code} is also ${formatKey(twin)}: each location is mapped once` });
        else first.set(code, path);
      }),
    );
  }
  return problems;
}
