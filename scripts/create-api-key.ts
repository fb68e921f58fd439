/**
 * Creates an API key and prints it once (only its hash is stored).
 *
 *   npm run key:create -- --role case-handler --party 8710000000019 --label "Liander desk 1"
 *   npm run key:create -- --role grid-user --grid-user <uuid> --label "..."
 *   npm run key:create -- --role compliance --party 8710000000019 --label "Compliance Liander" --holder "C. de Jong"
 *   npm run key:create -- --role branch-analyst --label "Netbeheer Nederland"
 *   npm run key:create -- --role privacy-officer --party 8710000000019 --label "FG Liander" --holder "J. de Vries"
 *
 * --holder names the person the key is issued to: audit entries name them (else the label), and signed acts
 * (GT-5 votes and decisions, GT-11 decisions, rejections of evidence) need it. A compliance key belongs to a
 * grid operator (--party); the branch-wide view (aggregates only) is role branch-analyst.
 *
 * Uses DATABASE_URL (required: against the embedded development database, start the system first
 * and use the URL it prints).
 */
import { parseArgs } from 'node:util';
import { eq } from 'drizzle-orm';
import { createDb } from '../db/client.js';
import { apiKeys, gridUsers, parties, ROLES, type Role } from '../db/schema/index.js';
import { GRID_OPERATOR_ROLES } from '../domain/visibility.js';
import { generateApiKey } from '../lib/api-keys.js';
import { recordAudit } from '../db/repositories/audit.js';

const fail = (msg: string): never => {
  process.stderr.write(`${msg}\n`);
  process.exit(2);
};

const { values } = parseArgs({
  options: {
    role: { type: 'string' },
    party: { type: 'string' },
    'grid-user': { type: 'string' },
    label: { type: 'string' },
    holder: { type: 'string' },
  },
});
const role = values.role as Role | undefined;
if (!role || !ROLES.includes(role)) fail(`--role must be one of ${ROLES.join(', ')}`);
if (!values.label) fail('--label is required (who or what uses the key)');
const needsParty =
  role === 'case-handler' ||
  role === 'privacy-officer' ||
  role === 'compliance' ||
  role === 'supplier' ||
  role === 'p4-client' ||
  role === 'brp';
if (needsParty && !values.party) fail(`--party <GLN> is required for role ${role}`);
if (role === 'grid-user' && !values['grid-user']) fail('--grid-user <uuid> is required for role grid-user');
const url = process.env.DATABASE_URL ?? fail('DATABASE_URL is required');

const { db, close } = createDb(url, { max: 1 });
try {
  let partyId: string | null = null;
  let gridUserId: string | null = null;
  if (values.party) {
    const [p] = await db
      .select({ id: parties.id, roles: parties.roles })
      .from(parties)
      .where(eq(parties.gln, values.party));
    if (!p) fail(`no party with GLN ${values.party}`);
    if (GRID_OPERATOR_ROLES.includes(role!) && !p!.roles.includes('grid_operator'))
      fail(`a ${role} key belongs to a grid operator: ${values.party} is none`);
    partyId = p!.id;
  }
  if (values['grid-user']) {
    const [u] = await db.select({ id: gridUsers.id }).from(gridUsers).where(eq(gridUsers.id, values['grid-user']));
    gridUserId = u?.id ?? fail(`no grid user ${values['grid-user']}`);
  }
  const k = generateApiKey();
  await db.transaction(async (tx) => {
    const [row] = await tx
      .insert(apiKeys)
      .values({
        keyHash: k.hash,
        prefix: k.prefix,
        label: values.label!,
        holderName: values.holder ?? null,
        role: role!,
        partyId,
        gridUserId,
      })
      .returning({ id: apiKeys.id });
    await recordAudit(tx, {
      actor: 'cli',
      action: 'api_key_created',
      entityType: 'api_key',
      entityId: row!.id,
      data: { role, label: values.label, partyId, gridUserId, prefix: k.prefix },
    });
  });
  process.stdout.write(`${k.key}\n`);
} finally {
  await close();
}
