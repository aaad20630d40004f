// A complete local Bluesky network for the tests: PLC directory, PDS, AppView, bsync and ozone
// from @atproto/dev-env, in one Node process. Start it through start.sh (which picks Node 22 and
// preloads loopback.mjs so nothing listens beyond 127.0.0.1).
//
// Environment:
//   BSKY_DEVNET_PDS_PORT  the PDS port (default 2683); PLC is the port below it, the AppView
//                         the port above it, ozone three above that.
//   DB_POSTGRES_URL       a PostgreSQL database this network owns (created when missing); its
//                         schemas named after the PDS port are dropped and rebuilt at each start,
//                         so every run begins empty (the PLC directory is in memory anyway).
//   REDIS_HOST            Redis for the AppView (default 127.0.0.1:6379).
//
// Prints one line `READY {json}` with the URLs when every server is up, then runs until SIGTERM
// or SIGINT, when it closes the servers and exits.
import pg from 'pg';
import { TestNetwork } from '@atproto/dev-env';

const started = Date.now();
const pdsPort = Number(process.env.BSKY_DEVNET_PDS_PORT || 2683);
const ports = { plc: pdsPort - 1, pds: pdsPort, bsky: pdsPort + 1, ozone: pdsPort + 4 };
const dbUrl = process.env.DB_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/bsky_devnet';
process.env.REDIS_HOST ||= '127.0.0.1:6379';
// Schema names may hold only letters and '_': spell the port's digits as letters (2683 -> cgid).
const schema = `devnet_${String(pdsPort).replace(/\d/g, (d) => 'abcdefghij'[d])}`;

async function prepareDatabase() {
  const url = new URL(dbUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  const admin = new URL(dbUrl);
  admin.pathname = '/postgres';
  const server = new pg.Client({ connectionString: admin.toString() });
  await server.connect();
  const found = await server.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  if (found.rowCount === 0) {
    try {
      await server.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`);
    } catch (err) {
      if (err.code !== '42P04') throw err; // created meanwhile by another start: fine
    }
  }
  await server.end();
  const db = new pg.Client({ connectionString: dbUrl });
  await db.connect();
  for (const prefix of ['appview', 'bsync', 'ozone']) {
    await db.query(`DROP SCHEMA IF EXISTS "${prefix}_${schema}" CASCADE`);
  }
  await db.end();
}

await prepareDatabase();
const network = await TestNetwork.create({
  dbPostgresUrl: dbUrl,
  dbPostgresSchema: schema,
  plc: { port: ports.plc },
  pds: { port: ports.pds, hostname: 'localhost', enableDidDocWithSession: true },
  bsky: { port: ports.bsky, publicUrl: `http://localhost:${ports.bsky}` },
  ozone: {
    port: ports.ozone,
    chatUrl: `http://localhost:${ports.ozone + 3}`,
    chatDid: 'did:example:chat',
  },
});

const urls = {
  plc: `http://localhost:${network.plc.port}`,
  pds: `http://localhost:${network.pds.port}`,
  appview: `http://localhost:${network.bsky.port}`,
  ozone: `http://localhost:${network.ozone.port}`,
  admin_password: 'admin-pass',
  started_ms: Date.now() - started,
};
console.log(`READY ${JSON.stringify(urls)}`);

let closing = false;
const stop = async () => {
  if (closing) return;
  closing = true;
  try {
    await network.close();
  } finally {
    process.exit(0);
  }
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
