export function newestMtime(dir: string): number;
export function buildIsCurrent(outDir: string, srcDir: string): boolean;
