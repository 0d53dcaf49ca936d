/**
 * The RFC 2136 plan (src/rfc2136/plan.ts) on a ServerView: who owns what
 * (marker and digest), the UPDATE's prerequisites and updates, refusals,
 * the guard, and the view after the UPDATE.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CLASS_ANY, CLASS_IN, CLASS_NONE } from '../src/dns/wire/constants.ts';
import { markerText, ServerView, txt, valuesSum, type DesiredRecordSet } from '../src/rfc2136/model.ts';
import { applyToView, computePlan } from '../src/rfc2136/plan.ts';

const GUARD = { maxChangeRatio: 0.3, minOwned: 10 };
const www = (values: string[], ttl = 30): DesiredRecordSet => ({ name: 'www.example.test', type: 'A', ttl, values, targets: ['192.0.2.1', '192.0.2.2'] });
const plan = (view: ServerView, desired: DesiredRecordSet[], more: { adopt?: string[]; force?: boolean } = {}) =>
  computePlan({ zone: 'example.test', server: '127.0.0.1:53', ownerId: 'me', desired, view, markerTtl: 300, guard: GUARD, ...more });

function owned(view: ServerView, name: string, values: string[], ttl = 30): void {
  for (const v of values) view.add(name, ttl, { type: 'A', address: v });
  view.add(`_failoverd.${name}`, 300, txt(markerText('me', 'A', valuesSum('A', values))));
}

test('a new record set: RRset and marker must be absent; both are added in one UPDATE', () => {
  const view = new ServerView(new Set(['www.example.test']));
  const p = plan(view, [www(['192.0.2.1'])]);
  assert.deepEqual(p.changes.map((c) => [c.action, c.to]), [['create', ['192.0.2.1']]]);
  assert.deepEqual(p.prerequisites.map((r) => [r.name, r.type, r.class]), [
    ['www.example.test', 'A', CLASS_NONE],
    ['_failoverd.www.example.test', 'TXT', CLASS_NONE],
  ]);
  assert.deepEqual(p.updates.map((r) => [r.name, r.type, r.class, r.ttl]), [
    ['www.example.test', 'A', CLASS_IN, 30],
    ['_failoverd.www.example.test', 'TXT', CLASS_IN, 300],
  ]);
  applyToView(p, view);
  assert.equal(plan(view, [www(['192.0.2.1'])]).updates.length, 0, 'nothing left to change once applied');
});

test('an owned record set: the prerequisites are what failoverd wrote; the RRset and its marker entry are replaced', () => {
  const view = new ServerView(new Set(['www.example.test']));
  owned(view, 'www.example.test', ['192.0.2.1']);
  const p = plan(view, [www(['192.0.2.2'])]);
  assert.deepEqual(p.prerequisites.map((r) => [r.name, r.class, r.data && 'address' in r.data ? r.data.address : r.data?.type]), [
    ['www.example.test', CLASS_IN, '192.0.2.1'],
    ['_failoverd.www.example.test', CLASS_IN, 'TXT'],
  ]);
  assert.deepEqual(p.updates.map((r) => [r.name, r.class]), [
    ['www.example.test', CLASS_ANY],
    ['www.example.test', CLASS_IN],
    ['_failoverd.www.example.test', CLASS_NONE],
    ['_failoverd.www.example.test', CLASS_IN],
  ]);
  assert.equal(p.changes[0]!.counted, false, 'a failover among the targets is not counted by the guard');
  applyToView(p, view);
  assert.deepEqual(view.get('www.example.test', 'A')!.data, [{ type: 'A', address: '192.0.2.2' }]);
  assert.equal(plan(view, [www(['192.0.2.2'])]).updates.length, 0);
});

test('edited by hand, unmarked, or another owner\'s: refused, nothing sent; adopt takes an unmarked one', () => {
  const view = new ServerView(new Set(['www.example.test', 'api.example.test', 'other.example.test']));
  owned(view, 'www.example.test', ['192.0.2.1']);
  view.remove('www.example.test', { type: 'A', address: '192.0.2.1' });
  view.add('www.example.test', 60, { type: 'A', address: '198.51.100.9' });
  view.add('api.example.test', 60, { type: 'A', address: '198.51.100.1' });
  view.add('other.example.test', 60, { type: 'A', address: '198.51.100.2' });
  view.add('_failoverd.other.example.test', 60, txt(markerText('someone', 'A', 'x')));
  const desired = [www(['192.0.2.2']), { ...www(['192.0.2.1']), name: 'api.example.test' }, { ...www(['192.0.2.1']), name: 'other.example.test' }];
  const p = plan(view, desired);
  assert.deepEqual(p.refused.map((r) => [r.name, r.kind]).sort(), [['api.example.test', 'unmarked'], ['other.example.test', 'foreign'], ['www.example.test', 'edited']]);
  assert.equal(p.updates.length, 0);
  const adopted = plan(view, desired, { adopt: ['api.example.test'] });
  assert.deepEqual(adopted.changes.map((c) => [c.name, c.action]), [['api.example.test', 'update']]);
  assert.ok(adopted.prerequisites.some((r) => r.name === 'api.example.test' && r.class === CLASS_IN), 'the adopted RRset must still hold what was read');
});

test('the guard: changes no failover explains, over 30% of 10 or more owned, are refused unless forced; a mass failover is not', () => {
  const names = Array.from({ length: 20 }, (_, i) => `n${i}.example.test`);
  const view = new ServerView(new Set(names));
  for (const n of names) owned(view, n, ['192.0.2.1']);
  const failover = plan(view, names.map((n) => ({ ...www(['192.0.2.2']), name: n })));
  assert.equal(failover.guard.blocked, false);
  assert.equal(failover.changes.length, 20);
  const elsewhere = names.map((n) => ({ ...www(['203.0.113.7']), name: n, targets: ['203.0.113.7'] }));
  const blocked = plan(view, elsewhere);
  assert.equal(blocked.guard.blocked, true);
  assert.match(blocked.guard.reason!, /20 of 20 owned/);
  assert.equal(plan(view, elsewhere, { force: true }).guard.blocked, false);
});

test('a record set failoverd wrote at a name no longer published: deleted with its marker entry, guarded; edited since, refused; others untouched', () => {
  const view = new ServerView(new Set(['www.example.test']));
  owned(view, 'www.example.test', ['192.0.2.1']);
  for (const n of ['old.example.test', 'edited.example.test', 'theirs.example.test']) view.track(n);
  owned(view, 'old.example.test', ['192.0.2.7']);
  view.add('_failoverd.old.example.test', 300, txt(markerText('someone', 'AAAA', 'x')));
  owned(view, 'edited.example.test', ['192.0.2.8']);
  view.add('edited.example.test', 30, { type: 'A', address: '198.51.100.8' });
  view.add('theirs.example.test', 30, { type: 'A', address: '192.0.2.9' });
  view.add('_failoverd.theirs.example.test', 300, txt(markerText('someone', 'A', valuesSum('A', ['192.0.2.9']))));
  const p = plan(view, [www(['192.0.2.1'])]);
  assert.deepEqual(p.changes.map((c) => [c.name, c.type, c.action, c.from, c.counted]), [['old.example.test', 'A', 'delete', ['192.0.2.7'], true]]);
  assert.deepEqual(p.refused.map((r) => [r.name, r.kind]), [['edited.example.test', 'edited']]);
  assert.match(p.refused[0]!.reason, /no longer published by failoverd, but edited/);
  // The RRset and the marker must be as read; the RRset goes, and only this owner's marker entry.
  assert.deepEqual(p.prerequisites.map((r) => [r.name, r.type, r.class]), [
    ['old.example.test', 'A', CLASS_IN],
    ['_failoverd.old.example.test', 'TXT', CLASS_IN],
    ['_failoverd.old.example.test', 'TXT', CLASS_IN],
  ]);
  assert.deepEqual(p.updates.map((r) => [r.name, r.type, r.class]), [
    ['old.example.test', 'A', CLASS_ANY],
    ['_failoverd.old.example.test', 'TXT', CLASS_NONE],
  ]);
  assert.equal(p.guard.owned, 3, 'www, and the two this owner wrote at names that left');
  applyToView(p, view);
  assert.equal(view.get('old.example.test', 'A'), undefined);
  assert.deepEqual(view.markers('old.example.test').map((m) => m.entry?.owner), ['someone']);
  assert.equal(plan(view, [www(['192.0.2.1'])]).updates.length, 0, 'nothing left to delete');

  // Many at once: the guard refuses unless forced.
  const many = new ServerView(new Set(['www.example.test']));
  owned(many, 'www.example.test', ['192.0.2.1']);
  for (let i = 0; i < 12; i++) {
    many.track(`n${i}.example.test`);
    owned(many, `n${i}.example.test`, ['192.0.2.1']);
  }
  const blocked = plan(many, [www(['192.0.2.1'])]);
  assert.equal(blocked.guard.blocked, true);
  assert.match(blocked.guard.reason!, /12 of 13 owned/);
  assert.equal(plan(many, [www(['192.0.2.1'])], { force: true }).guard.blocked, false);
});

test('deleteGone: false leaves record sets at names no longer published alone (what the daemon sends while the guard holds their deletion back)', () => {
  const view = new ServerView(new Set(['www.example.test']));
  owned(view, 'www.example.test', ['192.0.2.1']);
  for (let i = 0; i < 12; i++) {
    view.track(`n${i}.example.test`);
    owned(view, `n${i}.example.test`, ['192.0.2.1']);
  }
  const all = plan(view, [www(['192.0.2.2'])]);
  assert.equal(all.guard.blocked, true);
  const rest = computePlan({ zone: 'example.test', server: '127.0.0.1:53', ownerId: 'me', desired: [www(['192.0.2.2'])], view, markerTtl: 300, guard: GUARD, deleteGone: false });
  assert.equal(rest.guard.blocked, false);
  assert.deepEqual(rest.changes.map((c) => [c.name, c.action, c.to]), [['www.example.test', 'update', ['192.0.2.2']]]);
});
