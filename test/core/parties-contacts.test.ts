/** Parties (GLN with GS1 check digit) and the CPR contact register (GT-10): own contacts only. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { count, eq } from 'drizzle-orm';
import { auditLog, contactPersons, DOUBT_CONTACT_GROUP, parties } from '../../db/schema/index.js';
import { doubtContacts } from '../../db/repositories/contacts.js';
import { badCheckDigit, call, coreContext, makeKey, makeParty, newGln, type CoreContext } from './fixtures.js';

let ctx: CoreContext;
let adminKey: string;
beforeAll(async () => {
  ctx = await coreContext('parties');
  adminKey = await makeKey(ctx.db, 'admin');
});
afterAll(async () => ctx?.close());

const partyCount = async () => (await ctx.db.select({ n: count() }).from(parties))[0]!.n;

describe('parties', () => {
  it('admin registers, reads and changes a party; market roles read', async () => {
    const gln = newGln();
    const res = await call(ctx.app, adminKey, 'POST', '/parties', {
      gln,
      name: 'Polder Energie B.V.',
      roles: ['supplier', 'balance_responsible_party'],
    });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ gln, admitted: true, roles: ['supplier', 'balance_responsible_party'] });
    const p4 = await makeKey(ctx.db, 'p4-client', { partyId: res.json().id });
    expect((await call(ctx.app, p4, 'GET', `/parties/${gln}`)).json().name).toBe('Polder Energie B.V.');
    expect(
      (await call(ctx.app, p4, 'GET', '/parties?role=supplier'))
        .json()
        .items.some((p: { gln: string }) => p.gln === gln),
    ).toBe(true);
    const patched = await call(ctx.app, adminKey, 'PATCH', `/parties/${gln}`, { name: 'Polder Energie' });
    expect(patched.json()).toMatchObject({ party: { name: 'Polder Energie' }, mandatesEnded: 0 });
    const audit = await ctx.db
      .select({ action: auditLog.action })
      .from(auditLog)
      .where(eq(auditLog.entityId, res.json().id));
    expect(audit.map((a) => a.action)).toEqual(['party.created', 'party.updated']);
  });

  it.each([
    [
      'invalid GLN check digit',
      400,
      'invalid_gln',
      () => ({ gln: badCheckDigit(newGln()), name: 'X', roles: ['supplier'] }),
    ],
    ['GLN of 12 digits', 400, 'invalid_request', () => ({ gln: newGln().slice(1), name: 'X', roles: ['supplier'] })],
    ['no roles', 400, 'invalid_request', () => ({ gln: newGln(), name: 'X', roles: [] })],
    ['unknown role', 400, 'invalid_request', () => ({ gln: newGln(), name: 'X', roles: ['trader'] })],
    [
      'unknown field',
      400,
      'invalid_request',
      () => ({ gln: newGln(), name: 'X', roles: ['supplier'], admitted: false }),
    ],
  ])('%s → %i %s, nothing written', async (_n, status, code, body) => {
    const before = await partyCount();
    const res = await call(ctx.app, adminKey, 'POST', '/parties', body());
    expect(res.statusCode, res.body).toBe(status);
    expect(res.json().code).toBe(code);
    expect(await partyCount()).toBe(before);
  });

  it('duplicate GLN → 409; unknown GLN → 404; non-admin write → 403', async () => {
    const p = await makeParty(ctx.db, ['supplier']);
    expect(
      (await call(ctx.app, adminKey, 'POST', '/parties', { gln: p.gln, name: 'Dup', roles: ['supplier'] })).json().code,
    ).toBe('party_exists');
    expect((await call(ctx.app, adminKey, 'GET', `/parties/${newGln()}`)).statusCode).toBe(404);
    const supplierKey = await makeKey(ctx.db, 'supplier', { partyId: p.id });
    expect(
      (await call(ctx.app, supplierKey, 'POST', '/parties', { gln: newGln(), name: 'X', roles: ['supplier'] }))
        .statusCode,
    ).toBe(403);
    expect((await call(ctx.app, supplierKey, 'PATCH', `/parties/${p.gln}`, { admitted: true })).statusCode).toBe(403);
    const gridUser = await makeKey(ctx.db, 'grid-user');
    expect((await call(ctx.app, gridUser, 'GET', '/parties')).statusCode).toBe(403);
  });
});

describe('CPR contacts (GT-10)', () => {
  it('a supplier maintains its own doubt contact group; the workflow reads it with doubtContacts()', async () => {
    const p = await makeParty(ctx.db, ['supplier']);
    const key = await makeKey(ctx.db, 'supplier', { partyId: p.id });
    const add = await call(ctx.app, key, 'POST', `/parties/${p.gln}/contacts`, {
      contactGroup: DOUBT_CONTACT_GROUP,
      name: 'Anna de Vries',
      email: 'gt@supplier.example',
    });
    expect(add.statusCode, add.body).toBe(201);
    await call(ctx.app, key, 'POST', `/parties/${p.gln}/contacts`, {
      contactGroup: 'billing',
      name: 'Bram',
      email: 'billing@supplier.example',
    });
    const second = (
      await call(ctx.app, key, 'POST', `/parties/${p.gln}/contacts`, {
        contactGroup: DOUBT_CONTACT_GROUP,
        name: 'Bram Jansen',
        email: 'privacy@supplier.example',
        phone: '+31 20 000 0000',
      })
    ).json();
    expect((await doubtContacts(ctx.db, p.id)).map((c) => c.name)).toEqual(['Anna de Vries', 'Bram Jansen']);

    const dup = await call(ctx.app, key, 'POST', `/parties/${p.gln}/contacts`, {
      contactGroup: DOUBT_CONTACT_GROUP,
      name: 'Anna again',
      email: 'GT@supplier.example',
    });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().code).toBe('contact_exists');

    const patched = await call(ctx.app, key, 'PATCH', `/parties/${p.gln}/contacts/${second.id}`, {
      email: 'privacy2@supplier.example',
    });
    expect(patched.json().email).toBe('privacy2@supplier.example');
    const removed = await call(ctx.app, key, 'DELETE', `/parties/${p.gln}/contacts/${add.json().id}`);
    expect(removed.json().removedAt).toBeTruthy();
    expect((await doubtContacts(ctx.db, p.id)).map((c) => c.name)).toEqual(['Bram Jansen']);
    const listed = (
      await call(ctx.app, key, 'GET', `/parties/${p.gln}/contacts?group=${DOUBT_CONTACT_GROUP}&includeRemoved=true`)
    ).json();
    expect(listed.items).toHaveLength(2);
  });

  it('only its own: another supplier 403 to change, 404 to read; a case handler for its operator only, admin any', async () => {
    const p = await makeParty(ctx.db, ['service_provider']);
    const other = await makeParty(ctx.db, ['supplier']);
    const op = await makeParty(ctx.db, ['grid_operator']);
    const otherKey = await makeKey(ctx.db, 'supplier', { partyId: other.id });
    const handler = await makeKey(ctx.db, 'case-handler', { partyId: op.id });
    const before = (await ctx.db.select({ n: count() }).from(contactPersons))[0]!.n;
    const body = { contactGroup: DOUBT_CONTACT_GROUP, name: 'Intruder', email: 'x@y.example' };
    for (const key of [otherKey, handler]) {
      const res = await call(ctx.app, key, 'POST', `/parties/${p.gln}/contacts`, body);
      expect(res.statusCode).toBe(403);
      expect(res.json().code).toBe('not_your_party');
      // Reading another party's contacts answers as absent (domain/visibility.ts), never 403 (issue 10).
      const read = await call(ctx.app, key, 'GET', `/parties/${p.gln}/contacts`);
      expect(read.statusCode).toBe(404);
      expect(read.json()).toMatchObject({ code: 'contacts_not_found', field: 'params.gln' });
    }
    expect((await ctx.db.select({ n: count() }).from(contactPersons))[0]!.n).toBe(before);
    expect(
      (await call(ctx.app, handler, 'POST', `/parties/${op.gln}/contacts`, { ...body, name: 'Team GT' })).statusCode,
    ).toBe(201);
    expect(
      (await call(ctx.app, adminKey, 'POST', `/parties/${p.gln}/contacts`, { ...body, name: 'Set by admin' }))
        .statusCode,
    ).toBe(201);
    const p4 = await makeKey(ctx.db, 'p4-client', { partyId: p.id });
    expect((await call(ctx.app, p4, 'GET', `/parties/${p.gln}/contacts`)).statusCode).toBe(403);
  });

  it('bad input: invalid email, unknown field, bad group name → 400; contact of another party → 404', async () => {
    const p = await makeParty(ctx.db, ['supplier']);
    const key = await makeKey(ctx.db, 'supplier', { partyId: p.id });
    for (const body of [
      { contactGroup: DOUBT_CONTACT_GROUP, name: 'A', email: 'not-an-email' },
      { contactGroup: DOUBT_CONTACT_GROUP, name: 'A', email: 'a@b.example', role: 'boss' },
      { contactGroup: 'Gerede Twijfel!', name: 'A', email: 'a@b.example' },
    ]) {
      const res = await call(ctx.app, key, 'POST', `/parties/${p.gln}/contacts`, body);
      expect(res.statusCode).toBe(400);
      expect(res.json().code).toBe('invalid_request');
    }
    const other = await makeParty(ctx.db, ['supplier']);
    const [c] = await ctx.db
      .insert(contactPersons)
      .values({ partyId: other.id, contactGroup: DOUBT_CONTACT_GROUP, name: 'O', email: 'o@o.example' })
      .returning();
    expect(
      (await call(ctx.app, key, 'PATCH', `/parties/${p.gln}/contacts/${c!.id}`, { name: 'Hijack' })).statusCode,
    ).toBe(404);
  });
});
