import { PGlite } from '@electric-sql/pglite';
import { mkdtempSync } from 'node:fs';
const rss = () => Math.round(process.memoryUsage().rss / 1048576);
const ext = () => Math.round(process.memoryUsage().external / 1048576);
const extra = JSON.parse(process.argv[2] ?? '{}');
const reopen = process.argv[3] === 'reopen';
const dir = mkdtempSync('/tmp/pgm-');
let db = await PGlite.create(dir, extra);
await db.exec('create table if not exists t(a int); insert into t select generate_series(1,1000); select count(*) from t');
if (reopen) { await db.close(); db = await PGlite.create(dir, extra); await db.query('select 1'); }
await new Promise(r => setTimeout(r, 2000)); global.gc(); await new Promise(r => setTimeout(r, 2000)); global.gc();
console.log(process.argv.slice(2).join(' ').slice(0,60), 'rss', rss(), 'external', ext());
