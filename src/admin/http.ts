/** The small HTTP toolkit of the admin API: JSON replies, JSON errors, bounded JSON bodies. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import { SliceBudget } from './slices.ts';

/** Largest request body accepted, in bytes. */
export const MAX_BODY_BYTES = 64 * 1024;

/** An error the API answers as {error: {code, message}} with `status`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body, null, 2) + '\n';
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/**
 * A JSON object written in slices: `head`'s keys, then each list (made
 * lazily, item by item), then `tail`'s keys; the event loop turns whenever a
 * slice has used its time budget (slices.ts), so a document of tens of MB
 * never holds DNS answers for its whole length. Compact JSON, one list item
 * per line.
 */
export async function sendJsonSlices(res: ServerResponse, head: Record<string, unknown>, lists: Array<[string, () => Iterable<unknown>]>, tail: Record<string, unknown>): Promise<void> {
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  const budget = new SliceBudget();
  const write = async (text: string): Promise<void> => {
    if (!res.write(text)) await new Promise<void>((r) => (res.once('drain', r), res.once('close', r)));
  };
  const fields = (o: Record<string, unknown>) => Object.entries(o).filter(([, v]) => v !== undefined).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
  await write(`{${fields(head).join(',\n')}`);
  let first = Object.keys(head).length === 0;
  for (const [key, list] of lists) {
    await write(`${first ? '' : ',\n'}${JSON.stringify(key)}:[`);
    first = false;
    let n = 0;
    let chunk: string[] = [];
    for (const item of list()) {
      chunk.push(JSON.stringify(item));
      n++;
      if (budget.spent()) {
        await write((n > chunk.length ? ',\n' : '\n') + chunk.join(',\n'));
        chunk = [];
        await budget.turn();
        if (res.destroyed) return;
      }
    }
    if (chunk.length) await write((n > chunk.length ? ',\n' : '\n') + chunk.join(',\n'));
    await write(']');
  }
  const rest = fields(tail);
  res.end(`${rest.length ? `,\n${rest.join(',\n')}` : ''}}\n`);
}

export function sendError(res: ServerResponse, err: ApiError, headers: Record<string, string> = {}): void {
  sendJson(res, err.status, { error: { code: err.code, message: err.message, ...(err.details !== undefined ? { details: err.details } : {}) } }, headers);
}

/** Reads the body (at most MAX_BODY_BYTES); an empty body is `undefined`. */
export function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (declared > MAX_BODY_BYTES) {
      reject(new ApiError(413, 'BODY_TOO_LARGE', `request body over ${MAX_BODY_BYTES} bytes`));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        done = true;
        reject(new ApiError(413, 'BODY_TOO_LARGE', `request body over ${MAX_BODY_BYTES} bytes`));
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      const text = Buffer.concat(chunks).toString('utf8');
      resolve(text.trim() === '' ? undefined : text);
    });
    req.on('error', (err) => {
      if (done) return;
      done = true;
      reject(new ApiError(400, 'BAD_REQUEST', `cannot read the request body: ${err.message}`));
    });
  });
}

/** Parses a JSON body (the server has checked it is sent as application/json) and validates it; 400 with every problem when it does not fit. */
export async function readJson<S extends z.ZodType>(req: IncomingMessage, schema: S): Promise<z.output<S>> {
  const text = await readBody(req);
  let value: unknown;
  try {
    value = text === undefined ? undefined : JSON.parse(text);
  } catch (err) {
    throw new ApiError(400, 'BAD_JSON', `the body is not JSON: ${(err as Error).message}`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.length ? i.path.join('.') : 'body'}: ${i.message}`);
    throw new ApiError(400, 'BAD_REQUEST', problems.join('; '), problems);
  }
  return parsed.data;
}

/**
 * An operator action whose state write failed (read-only or full disk): 503
 * with the errno. The README promises such actions are on disk before the
 * API answers: an override is undone in memory (`outcome` says how); a
 * failback, which cannot be taken back, says that it is served but not kept.
 */
export function stateWriteFailed(err: NodeJS.ErrnoException, outcome: string, undone = true): ApiError {
  const errno = err.code ?? 'UNKNOWN';
  return new ApiError(503, 'STATE_WRITE_FAILED', `cannot write the state file (${err.message}): ${outcome}. Make the state file's folder writable (disk space, read-only mount) and try again`, {
    errno,
    ...(err.syscall ? { syscall: err.syscall } : {}),
    ...(err.path ? { path: err.path } : {}),
    undone,
  });
}
