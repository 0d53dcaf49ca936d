/**
 * A small private network of Linux network namespaces for the cluster tests:
 * each failoverd instance (vantage point) in its own namespace, the backends
 * in another, all joined by a bridge that lives in a hub namespace, where
 * the etcd members run too (on the bridge's address). The root namespace
 * (where the test process runs) joins the bridge through one veth, so the
 * test reaches every instance's DNS and admin API, and etcd, directly.
 *
 *     root ns: <run>  10.213.X.1 ──┐
 *                                  │  <run>-hub: bridge br0 10.213.X.2 (etcd)
 *     <run>-i1: eth0 10.213.X.11 ──┤
 *     <run>-i2: eth0 10.213.X.12 ──┤
 *     <run>-i3: eth0 10.213.X.13 ──┤
 *     <run>-be: eth0 10.213.X.100 (primary), 10.213.X.101 (secondary)
 *
 * One /24 on one segment: no routing, no IP forwarding, no host sysctl, no
 * firewall rule; the only thing in the root namespace is one veth end with
 * one address, removed with the rest. Interface names inside the namespaces
 * are private to them; the root end is named after the run (`fot<pid><a-z>`,
 * 11 characters at most, under the 15 of IFNAMSIZ), and so are the
 * namespaces. Removal kills whatever still runs inside, then deletes the
 * namespaces (which deletes their veths); a run killed before it could do
 * that leaves namespaces (and the processes in them, etcd included) whose
 * pid is gone, and the next lab removes them.
 */
import { execFile, execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { hasTool } from './tools.ts';

const run = promisify(execFile);
const RUN_PREFIX = 'fot';
const RUN_NAME = /^fot(\d+)[a-z](?:-[a-z0-9]+)?$/;

/** Why network namespaces cannot be made here, or undefined when they can. */
export function netnsMissing(): string | undefined {
  if (!hasTool('ip')) return 'ip not installed (Debian package iproute2)';
  if (process.getuid?.() !== 0) return 'network namespaces and veth pairs need root (CAP_SYS_ADMIN and CAP_NET_ADMIN)';
  // Root without those capabilities (an unprivileged container): try one.
  const probe = `${RUN_PREFIX}${process.pid}z-probe`;
  try {
    execFileSync('ip', ['netns', 'add', probe], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    return `cannot create a network namespace here (ip netns add: ${String((err as { stderr?: Buffer }).stderr ?? '').trim() || 'failed'})`;
  }
  execFileSync('ip', ['netns', 'delete', probe], { stdio: 'ignore' });
  return undefined;
}

/** Returns true when namespaces can be made here; otherwise skips the test (or fails it under CI=true). */
export function needNetns(t: TestContext): boolean {
  if (process.env.FAILOVERD_TEST_NETNS === '0') {
    // An explicit opt-out (a developer's machine where the suite must not add namespaces, veths and a bridge), CI=true or not.
    const why = 'FAILOVERD_TEST_NETNS=0: the network-namespace tests are skipped';
    process.stdout.write(`# SKIP: ${why}\n`);
    t.skip(why);
    return false;
  }
  const reason = netnsMissing();
  if (reason === undefined) return true;
  if (process.env.CI === 'true') throw new Error(`${reason}: required when CI=true`);
  process.stdout.write(`# SKIP: ${reason}\n`);
  t.skip(reason);
  return false;
}

export interface Namespace {
  /** The namespace's name for `ip netns exec`. */
  name: string;
  /** Its address on the lab's segment. */
  address: string;
}

export interface NetnsLab {
  /** The run's name: prefix of every namespace, and the root end's interface name. */
  readonly run: string;
  /** The root namespace's address on the segment (the test process). */
  readonly hostAddress: string;
  /** The hub namespace and the bridge's address: where etcd members run (startEtcd's host and wrap). */
  readonly hub: Namespace;
  /** One namespace per failoverd instance. */
  readonly instances: Namespace[];
  /** The backends' namespace; `address` is the primary's. */
  readonly backends: Namespace;
  readonly primary: string;
  readonly secondary: string;
  /** Starts `command args` inside namespace `ns` (`ip netns exec` execs it: the child's pid is the command's). */
  spawn(ns: Namespace, command: string, args: string[], opts?: SpawnOptions): ChildProcess;
  /** Adds a blackhole route to `address` in `ns`: packets from there to it are dropped. */
  blackhole(ns: Namespace, address: string): Promise<void>;
  /** Removes that route again. */
  unblackhole(ns: Namespace, address: string): Promise<void>;
  /** Kills every process left in the lab's namespaces and deletes them. Safe to call twice. */
  remove(): Promise<void>;
}

async function ip(...args: string[]): Promise<string> {
  try {
    return (await run('ip', args, { timeout: 10_000 })).stdout;
  } catch (err) {
    throw new Error(`ip ${args.join(' ')} failed: ${(err as { stderr?: string }).stderr?.trim() ?? ''}`, { cause: err });
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function namespaceNames(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n !== '');
}

/** Kills the processes inside `ns` (SIGKILL) and deletes it; synchronous so it also runs from an exit hook. */
function deleteNamespaceSync(ns: string): void {
  try {
    const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split('\n').filter((p) => /^\d+$/.test(p));
    for (const p of pids) {
      try {
        process.kill(Number(p), 'SIGKILL');
      } catch {
        // already gone
      }
    }
  } catch {
    // no such namespace any more
  }
  try {
    execFileSync('ip', ['netns', 'delete', ns], { stdio: 'ignore' });
  } catch {
    // already deleted
  }
}

/** Removes what runs whose process is gone left behind: their namespaces and root-namespace veth ends. */
function removeStale(): void {
  for (const ns of namespaceNames()) {
    const m = RUN_NAME.exec(ns);
    if (m && !pidAlive(Number(m[1]))) deleteNamespaceSync(ns);
  }
  const links = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' });
  for (const line of links.split('\n')) {
    const name = /^\d+: ([^:@]+)[:@]/.exec(line)?.[1];
    const m = name === undefined ? null : RUN_NAME.exec(name);
    if (m && !pidAlive(Number(m[1]))) {
      try {
        execFileSync('ip', ['link', 'delete', name!], { stdio: 'ignore' });
      } catch {
        // went with its peer's namespace
      }
    }
  }
}

/** A third octet for 10.213.X.0/24 that no address or route of the root namespace uses yet. */
async function freeSubnet(seed: number): Promise<number> {
  const used = (await ip('-4', '-o', 'addr', 'show')) + (await ip('-4', 'route', 'show', 'table', 'all'));
  for (let i = 0; i < 220; i++) {
    const x = 20 + ((seed + i) % 220);
    if (!used.includes(`10.213.${x}.`)) return x;
  }
  throw new Error('no free 10.213.X.0/24 subnet');
}

let runs = 0;

/** Makes the namespaces and veths of one lab; `t.after` should call remove(). */
export async function createNetnsLab(opts: { instances: number }): Promise<NetnsLab> {
  if (runs >= 25) throw new Error('too many labs in one process'); // a..y; z is needNetns's probe
  const run = `${RUN_PREFIX}${process.pid}${String.fromCharCode(97 + runs++)}`;
  removeStale();
  const x = await freeSubnet(process.pid * 7 + runs);
  const net = `10.213.${x}`;
  const hub = `${run}-hub`;
  const instances = Array.from({ length: opts.instances }, (_, i) => ({ name: `${run}-i${i + 1}`, address: `${net}.${11 + i}` }));
  const backends = { name: `${run}-be`, address: `${net}.100` };
  const names = [hub, ...instances.map((n) => n.name), backends.name];
  let removed = false;
  const removeSync = (): void => {
    if (removed) return;
    removed = true;
    for (const ns of names) deleteNamespaceSync(ns);
    try {
      execFileSync('ip', ['link', 'delete', run], { stdio: 'ignore' });
    } catch {
      // went with the hub namespace
    }
  };
  // A test process that ends without calling remove() (an uncaught error) still leaves nothing behind.
  process.once('exit', removeSync);

  const join = async (ns: Namespace, port: string, addresses: string[]): Promise<void> => {
    await ip('netns', 'add', ns.name);
    await ip('-n', hub, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.name);
    await ip('-n', hub, 'link', 'set', port, 'master', 'br0', 'up');
    for (const a of addresses) await ip('-n', ns.name, 'addr', 'add', `${a}/24`, 'dev', 'eth0');
    await ip('-n', ns.name, 'link', 'set', 'lo', 'up');
    await ip('-n', ns.name, 'link', 'set', 'eth0', 'up');
  };
  try {
    await ip('netns', 'add', hub);
    await ip('-n', hub, 'link', 'add', 'br0', 'type', 'bridge');
    await ip('-n', hub, 'addr', 'add', `${net}.2/24`, 'dev', 'br0');
    await ip('-n', hub, 'link', 'set', 'br0', 'up');
    await ip('-n', hub, 'link', 'set', 'lo', 'up');
    // The root end: created in the root namespace, its peer moved into the hub.
    await ip('link', 'add', run, 'type', 'veth', 'peer', 'name', 'root', 'netns', hub);
    await ip('-n', hub, 'link', 'set', 'root', 'master', 'br0', 'up');
    await ip('addr', 'add', `${net}.1/24`, 'dev', run);
    await ip('link', 'set', run, 'up');
    for (const [i, ns] of instances.entries()) await join(ns, `i${i + 1}`, [ns.address]);
    await join(backends, 'be', [`${net}.100`, `${net}.101`]);
  } catch (err) {
    removeSync();
    process.off('exit', removeSync);
    throw err;
  }

  return {
    run,
    hostAddress: `${net}.1`,
    hub: { name: hub, address: `${net}.2` },
    instances,
    backends,
    primary: `${net}.100`,
    secondary: `${net}.101`,
    spawn: (ns, command, args, o = {}) => spawn('ip', ['netns', 'exec', ns.name, command, ...args], o),
    blackhole: async (ns, address) => void (await ip('-n', ns.name, 'route', 'add', 'blackhole', `${address}/32`)),
    unblackhole: async (ns, address) => void (await ip('-n', ns.name, 'route', 'del', 'blackhole', `${address}/32`)),
    remove: async () => {
      removeSync();
      process.off('exit', removeSync);
    },
  };
}

const BACKEND_SCRIPT = fileURLToPath(new URL('./backend-process.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** An HTTP backend process in the lab's backends namespace. */
export interface NamespacedBackend {
  address: string;
  port: number;
  /** SIGKILL: the backend process dies (its connections reset, its port closed). */
  kill(): Promise<void>;
  /** Starts it again on the same address and port. */
  revive(): Promise<void>;
}

export async function startBackend(lab: NetnsLab, address: string, port: number): Promise<NamespacedBackend> {
  let child: ChildProcess | undefined;
  const start = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const c = lab.spawn(lab.backends, process.execPath, ['--import', 'tsx', BACKEND_SCRIPT, address, String(port)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      child = c;
      let out = '';
      const timer = setTimeout(() => {
        c.kill('SIGKILL');
        reject(new Error(`backend ${address}:${port} did not start within 20 s: ${out}`));
      }, 20_000);
      c.stdout!.on('data', (d) => {
        out += d;
        if (out.includes('"listening"')) {
          clearTimeout(timer);
          resolve();
        }
      });
      c.stderr!.on('data', (d) => (out += d));
      c.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`backend ${address}:${port} exited (${code ?? signal}): ${out}`));
      });
    });
  const b: NamespacedBackend = {
    address,
    port,
    async kill() {
      const c = child;
      child = undefined;
      if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGKILL');
      await exited;
    },
    async revive() {
      if (child === undefined) await start();
    },
  };
  await start();
  return b;
}

/** Where a failoverd started with AdminDaemon runs when it runs in `ns`. */
export function inNamespace(ns: Namespace): { wrap: string[]; host: string } {
  return { wrap: ['ip', 'netns', 'exec', ns.name], host: ns.address };
}
