/**
 * Readable strings for answers and targets, used in transitions, reasons
 * and logs. Target ids map to addresses through the record set's config;
 * an id that is no longer configured is shown as itself.
 */
import type { RecordSetConfig } from '../config/types.ts';
import type { Answer, TargetView } from './types.ts';

/** "name/type", e.g. "www.example.test/A". */
export function recordSetKey(cfg: Pick<RecordSetConfig, 'name' | 'type'>): string {
  return `${cfg.name}/${cfg.type}`;
}

export function targetAddress(cfg: RecordSetConfig, id: string): string {
  return cfg.targets.find((t) => t.id === id)?.address ?? id;
}

/** The addresses (or CNAME targets) an answer publishes, in answer order. */
export function answerAddresses(cfg: RecordSetConfig, answer: Answer): string[] {
  return answer.kind === 'targets' ? answer.targetIds.map((id) => targetAddress(cfg, id)) : [];
}

/** "primary", "secondary", then "target #3", ... by position in config order. */
export function targetRole(cfg: RecordSetConfig, id: string): string {
  const i = cfg.targets.findIndex((t) => t.id === id);
  if (i === 0) return 'primary';
  if (i === 1) return 'secondary';
  if (i < 0) return 'former target';
  return `target #${i + 1}`;
}

/** e.g. "primary www.example.test/A/127.0.0.1". */
export function targetLabel(cfg: RecordSetConfig, id: string): string {
  return `${targetRole(cfg, id)} ${id}`;
}

/** e.g. "DOWN (check web: refused)" or "UP". */
export function healthText(view: Pick<TargetView, 'health' | 'reason'> | undefined): string {
  if (!view) return 'UNKNOWN (not checked yet)';
  return view.reason ? `${view.health} (${view.reason})` : view.health;
}

/**
 * "127.0.0.1", "127.0.0.1,127.0.0.2", "weighted 127.0.0.1=3,127.0.0.2=1",
 * "NODATA" or "SERVFAIL".
 */
export function describeAnswer(cfg: RecordSetConfig, answer: Answer | undefined): string {
  if (!answer) return 'NONE';
  switch (answer.kind) {
    case 'nodata':
      return 'NODATA';
    case 'servfail':
      return 'SERVFAIL';
    case 'targets': {
      const addrs = answerAddresses(cfg, answer);
      if (!answer.weighted) return addrs.join(',');
      return 'weighted ' + addrs.map((a, i) => `${a}=${answer.weights?.[i] ?? '?'}`).join(',');
    }
  }
}

/** "60s", "1500ms". */
export function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
