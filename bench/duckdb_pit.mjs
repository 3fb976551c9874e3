// duckdb_pit.mjs — the DuckDB peer of the point-in-time join benchmark, and
// the check that moonfeast's output agrees with it.
//
//   node duckdb_pit.mjs join NODE_DIR THREADS ENTITIES.csv TTL_SECONDS OUT.csv VIEW=FEATURES.csv...
//     One ASOF LEFT JOIN per view over read_csv of the same files moonfeast
//     reads (the latest feature row with ts <= the entity's ts, per key),
//     features nulled when that row is older than ts - ttl, written with
//     COPY ... TO. Output columns: driver_id, event_timestamp, then
//     VIEW__conv_rate, VIEW__acc_rate, VIEW__trips per view (moonfeast's
//     --full-feature-names). Prints "rows N".
//
//   node duckdb_pit.mjs compare NODE_DIR THREADS A.csv B.csv VIEW...
//     Reads two such outputs with typed columns and compares them as
//     multisets of rows (EXCEPT ALL both ways; nulls compare equal).
//     Prints one JSON object: row counts, rows only in A / only in B, and
//     the non-null count of every feature column in A and in B.
//
// NODE_DIR is the npm prefix holding @duckdb/node-api (bench/.work/node).
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [mode, nodeDir, threads, ...rest] = process.argv.slice(2);
if (!mode || !nodeDir || !threads) {
  console.error('usage: duckdb_pit.mjs join|compare NODE_DIR THREADS ...');
  process.exit(2);
}
const require = createRequire(join(nodeDir, 'index.js'));
const { DuckDBInstance } = await import(pathToFileURL(require.resolve('@duckdb/node-api')).href);

const lit = (s) => "'" + String(s).replaceAll("'", "''") + "'";
const ident = (s) => '"' + String(s).replaceAll('"', '""') + '"';
const FEATURES = [['conv_rate', 'FLOAT'], ['acc_rate', 'DOUBLE'], ['trips', 'BIGINT']];
const structOf = (pairs) => '{' + pairs.map(([n, t]) => `${lit(n)}: ${lit(t)}`).join(', ') + '}';
const readCsv = (path, pairs) =>
  `read_csv(${lit(path)}, header = true, delim = ',', quote = '"', columns = ${structOf(pairs)})`;

const instance = await DuckDBInstance.create(':memory:', { threads: String(threads) });
const con = await instance.connect();

async function rows(sql) {
  const r = await con.runAndReadAll(sql);
  return r.getRowsJS();
}

if (mode === 'join') {
  const [entities, ttl, out, ...views] = rest;
  if (!views.length) throw new Error('no views');
  const ttlSec = Number(ttl);
  const sel = ['e.driver_id', 'e.event_timestamp'];
  let from = `${readCsv(entities, [['driver_id', 'BIGINT'], ['event_timestamp', 'TIMESTAMP']])} AS e`;
  views.forEach((v, i) => {
    const eq = v.indexOf('=');
    const name = v.slice(0, eq), path = v.slice(eq + 1);
    const a = `f${i}`;
    const pairs = [['driver_id', 'BIGINT'], ['event_timestamp', 'TIMESTAMP'], ...FEATURES];
    from += `\n  ASOF LEFT JOIN ${readCsv(path, pairs)} AS ${a}` +
      ` ON e.driver_id = ${a}.driver_id AND e.event_timestamp >= ${a}.event_timestamp`;
    const fresh = ttlSec > 0
      ? `${a}.event_timestamp >= e.event_timestamp - INTERVAL ${ttlSec} SECOND`
      : `${a}.event_timestamp IS NOT NULL`;
    for (const [f] of FEATURES)
      sel.push(`CASE WHEN ${fresh} THEN ${a}.${f} END AS ${ident(name + '__' + f)}`);
  });
  const sql = `COPY (SELECT ${sel.join(', ')}\nFROM ${from})\nTO ${lit(out)} (FORMAT csv, HEADER true)`;
  const r = await rows(sql);
  console.log(`rows ${r[0][0]}`);
} else if (mode === 'compare') {
  const [a, b, ...views] = rest;
  const pairs = [['driver_id', 'BIGINT'], ['event_timestamp', 'TIMESTAMP']];
  for (const v of views) for (const [f, t] of FEATURES) pairs.push([`${v}__${f}`, t]);
  await con.run(`CREATE TEMP TABLE a AS SELECT * FROM ${readCsv(a, pairs)}`);
  await con.run(`CREATE TEMP TABLE b AS SELECT * FROM ${readCsv(b, pairs)}`);
  const nonNull = (t) => pairs.slice(2).map(([c]) => `(SELECT count(${ident(c)}) FROM ${t})`);
  const r = (await rows(`SELECT (SELECT count(*) FROM a), (SELECT count(*) FROM b),
      (SELECT count(*) FROM (FROM a EXCEPT ALL FROM b)),
      (SELECT count(*) FROM (FROM b EXCEPT ALL FROM a)),
      ${nonNull('a').join(', ')}, ${nonNull('b').join(', ')}`))[0].map(Number);
  const k = pairs.length - 2;
  const cols = pairs.slice(2).map(([c]) => c);
  const obj = {
    rows_a: r[0], rows_b: r[1], only_a: r[2], only_b: r[3],
    nonnull_a: Object.fromEntries(cols.map((c, i) => [c, r[4 + i]])),
    nonnull_b: Object.fromEntries(cols.map((c, i) => [c, r[4 + k + i]])),
  };
  console.log(JSON.stringify(obj));
} else {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}
con.closeSync();
instance.closeSync();
