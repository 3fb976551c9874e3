// duckdb_parquet.mjs — the DuckDB side of the Parquet benchmark (bench/wl_parquet.sh).
//
//   node duckdb_parquet.mjs convert NODE_DIR IN.csv OUT.parquet
//     The feature CSV of gen_pit (driver_id, event_timestamp, conv_rate,
//     acc_rate, trips) as Parquet, typed BIGINT, TIMESTAMP, FLOAT, DOUBLE,
//     BIGINT, snappy, DuckDB's default row groups: the file both sides read.
//
//   node duckdb_parquet.mjs join NODE_DIR THREADS ENTITIES.csv TTL_SECONDS OUT.csv VIEW=FILE.parquet...
//     duckdb_pit.mjs's join with the feature rows from read_parquet: one
//     ASOF LEFT JOIN per view, features nulled past the ttl, COPY to CSV.
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [mode, nodeDir, ...rest] = process.argv.slice(2);
const require = createRequire(join(resolve(nodeDir), 'index.js'));
const { DuckDBInstance } = await import(pathToFileURL(require.resolve('@duckdb/node-api')).href);
const lit = (s) => "'" + String(s).replaceAll("'", "''") + "'";
const ident = (s) => '"' + String(s).replaceAll('"', '""') + '"';
const FEATURES = ['conv_rate', 'acc_rate', 'trips'];

if (mode === 'convert') {
  const [inp, out] = rest;
  const instance = await DuckDBInstance.create(':memory:');
  const con = await instance.connect();
  await con.run(`COPY (SELECT * FROM read_csv(${lit(inp)}, header = true, columns = {
      'driver_id': 'BIGINT', 'event_timestamp': 'TIMESTAMP', 'conv_rate': 'FLOAT',
      'acc_rate': 'DOUBLE', 'trips': 'BIGINT'}))
    TO ${lit(out)} (FORMAT parquet, COMPRESSION snappy)`);
  con.closeSync();
  instance.closeSync();
} else if (mode === 'join') {
  const [threads, entities, ttl, out, ...views] = rest;
  const instance = await DuckDBInstance.create(':memory:', { threads: String(threads) });
  const con = await instance.connect();
  const ttlSec = Number(ttl);
  const sel = ['e.driver_id', 'e.event_timestamp'];
  let from = `read_csv(${lit(entities)}, header = true, columns = {'driver_id': 'BIGINT', ` +
    `'event_timestamp': 'TIMESTAMP'}) AS e`;
  views.forEach((v, i) => {
    const eq = v.indexOf('=');
    const name = v.slice(0, eq), path = v.slice(eq + 1);
    const a = `f${i}`;
    from += `\n  ASOF LEFT JOIN read_parquet(${lit(path)}) AS ${a}` +
      ` ON e.driver_id = ${a}.driver_id AND e.event_timestamp >= ${a}.event_timestamp`;
    const fresh = ttlSec > 0
      ? `${a}.event_timestamp >= e.event_timestamp - INTERVAL ${ttlSec} SECOND`
      : `${a}.event_timestamp IS NOT NULL`;
    for (const f of FEATURES) sel.push(`CASE WHEN ${fresh} THEN ${a}.${f} END AS ${ident(name + '__' + f)}`);
  });
  const r = await con.runAndReadAll(`COPY (SELECT ${sel.join(', ')}\nFROM ${from})\nTO ${lit(out)} (FORMAT csv, HEADER true)`);
  console.log(`rows ${r.getRowsJS()[0][0]}`);
  con.closeSync();
  instance.closeSync();
} else {
  console.error('usage: duckdb_parquet.mjs convert|join NODE_DIR ...');
  process.exit(2);
}
