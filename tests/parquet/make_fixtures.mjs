// make_fixtures.mjs — writes the Parquet fixtures of tests/unit/test_parquet.c
// with DuckDB, and next to each the values a reader must find.
//
//   node tests/parquet/make_fixtures.mjs NODE_DIR
//
// NODE_DIR is an npm prefix holding @duckdb/node-api (bench/run.sh installs
// one into bench/.work/node). Run from the repo top; it rewrites
// tests/parquet/fixtures/. The files are committed, so tests need neither
// node nor the network; this script is how they were made.
//
// One table `types` of 300 rows (row groups of 100) with a column of every
// kind the reader maps (see docs/concepts.md, "Parquet files"): booleans,
// signed and unsigned integers of 8..64 bits, FLOAT, DOUBLE, strings of low
// and high cardinality, BLOB, TIMESTAMP in us/ms/ns, TIMESTAMPTZ, DATE,
// DECIMAL on INT32 and INT64, LISTs of integers, strings and doubles (with
// null and empty lists), and nulls in every column but id and t0.
// It is written once per compression (uncompressed, snappy, gzip, zstd,
// lz4 = LZ4_RAW, brotli: not supported, an error) with data pages v1
// (PLAIN, dictionaries), and once with PARQUET_VERSION V2 (data pages v2,
// DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY, BYTE_STREAM_SPLIT,
// RLE_DICTIONARY). types.expect.jsonl holds, for each row, each column's
// value as moonfeast's text (null for null): integers in decimal, floats
// in the shortest text (the values are exact binary fractions, so
// JavaScript's Number text is that text), RFC 3339 UTC timestamps with no
// fraction or 6 digits, decimals with their scale, BLOBs in hex, lists as
// compact JSON. The values come back from DuckDB reading the written file,
// and the texts are made here, independently of moonfeast.
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { mkdirSync, writeFileSync, rmSync } from 'node:fs';

const nodeDir = process.argv[2];
if (!nodeDir) {
  console.error('usage: make_fixtures.mjs NODE_DIR');
  process.exit(2);
}
const require = createRequire(join(resolve(nodeDir), 'index.js'));
const { DuckDBInstance } = await import(pathToFileURL(require.resolve('@duckdb/node-api')).href);
const con = await (await DuckDBInstance.create(':memory:')).connect();
const rows = async (sql) => (await con.runAndReadAll(sql)).getRowsJS();
const dir = 'tests/parquet/fixtures';
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });

const nul = (k, expr) => `CASE WHEN i % 7 = ${k} THEN NULL ELSE ${expr} END`;
await rows(`CREATE TABLE types AS SELECT
  i::BIGINT AS id,
  TIMESTAMP '2025-01-01 00:00:00' + INTERVAL (i) MINUTE AS t0,
  ${nul(0, 'i % 3 = 0')} AS b,
  ${nul(1, '((i % 256) - 128)::TINYINT')} AS i8,
  ${nul(2, '(i * 100 - 15000)::SMALLINT')} AS i16,
  ${nul(3, '(i * 1000003 - 150000000)::INTEGER')} AS i32,
  ${nul(4, '(i * 30000000000001 - 4500000000000000)::BIGINT')} AS i64,
  ${nul(5, '(i % 256)::UTINYINT')} AS u8,
  ${nul(6, '(i * 200)::USMALLINT')} AS u16,
  ${nul(0, '(4294967295 - i)::UINTEGER')} AS u32,
  ${nul(1, '(9223372036854775808::UBIGINT + i::UBIGINT)')} AS u64,
  ${nul(2, '((i - 150) * 0.25)::FLOAT')} AS f,
  ${nul(3, '((i - 150) * 1.125 + 0.5)::DOUBLE')} AS d,
  ${nul(4, "'cat' || (i % 5)")} AS s,
  ${nul(5, "'value-' || i || '-é'")} AS s2,
  ${nul(6, "('b' || i)::BLOB")} AS bl,
  ${nul(0, "TIMESTAMP '2025-01-01 00:00:00' + INTERVAL (i * 3601) SECOND + INTERVAL (i * 7) MICROSECOND")} AS ts,
  ${nul(1, "(TIMESTAMP '2024-02-29 12:00:00' + INTERVAL (i * 1001) MILLISECOND)::TIMESTAMP_MS")} AS tms,
  ${nul(2, "make_timestamp_ns(1735689600000000000 + i * 1000001001)")} AS tns,
  ${nul(3, "TIMESTAMPTZ '2025-06-01 12:00:00+00' + INTERVAL (i) HOUR")} AS tz,
  ${nul(4, "DATE '1969-12-25' + i::INTEGER")} AS dt,
  ${nul(5, '((i - 150) * 1.25)::DECIMAL(9,2)')} AS dec9,
  ${nul(6, '(i * 1234.567)::DECIMAL(18,3)')} AS dec18,
  ${nul(0, 'CASE WHEN i % 11 = 0 THEN []::INTEGER[] ELSE [i::INTEGER, i + 1, -i] END')} AS li,
  ${nul(1, "['a' || i, 'b']")} AS ls,
  ${nul(2, '[i * 0.5, -1.25]::DOUBLE[]')} AS ld
FROM range(300) r(i)`);

const variants = [
  ['types_uncompressed', "COMPRESSION uncompressed"],
  ['types_snappy', "COMPRESSION snappy"],
  ['types_gzip', "COMPRESSION gzip"],
  ['types_zstd', "COMPRESSION zstd"],
  ['types_lz4', "COMPRESSION lz4"],
  ['types_v2_zstd', "COMPRESSION zstd, PARQUET_VERSION V2"],
  ['types_v2_snappy', "COMPRESSION snappy, PARQUET_VERSION V2"],
  ['types_brotli', "COMPRESSION brotli"],
];
for (const [name, opts] of variants)
  await rows(`COPY types TO '${dir}/${name}.parquet' (FORMAT parquet, ${opts}, ROW_GROUP_SIZE 100)`);

// The expected texts, from DuckDB reading one of the files back.
const cols = (await rows(`DESCRIBE SELECT * FROM '${dir}/types_snappy.parquet'`)).map((r) => r[0]);
const sel = cols.map((c) => {
  if (['t0', 'ts', 'tms', 'tz'].includes(c)) return `epoch_us(${c})::VARCHAR`;
  if (c === 'tns') return `(epoch_ns(${c}) // 1000)::VARCHAR`;
  if (c === 'dt') return `epoch_us(${c}::TIMESTAMP)::VARCHAR`;
  if (c === 'bl') return `hex(${c})`;
  if (['li', 'ls', 'ld', 'f', 'd', 'b'].includes(c)) return c;
  return `${c}::VARCHAR`;
}).join(', ');
const pad = (n, w) => String(n).padStart(w, '0');
function tsText(usText) {
  const us = BigInt(usText);
  let ms = us / 1000n, rem = us % 1000n;
  if (rem < 0n) { rem += 1000n; ms -= 1n; }
  const d = new Date(Number(ms));
  const base = d.toISOString().slice(0, 19);
  const frac = BigInt(d.getUTCMilliseconds()) * 1000n + rem;
  return base + (frac === 0n ? '' : '.' + pad(frac, 6)) + 'Z';
}
const out = [];
for (const r of await rows(`SELECT ${sel} FROM '${dir}/types_snappy.parquet' ORDER BY id`)) {
  const o = {};
  cols.forEach((c, k) => {
    const v = r[k];
    if (v === null) o[c] = null;
    else if (['t0', 'ts', 'tms', 'tns', 'tz', 'dt'].includes(c)) o[c] = tsText(v);
    else if (['li', 'ls', 'ld'].includes(c)) o[c] = JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? Number(x) : x));
    else if (c === 'b') o[c] = v ? 'true' : 'false';
    else if (c === 'f' || c === 'd') o[c] = String(v);
    else o[c] = String(v);
  });
  out.push(JSON.stringify(o));
}
writeFileSync(`${dir}/types.expect.jsonl`, out.join('\n') + '\n');

// What each file holds, for the record (encodings and codecs per column).
const meta = [];
for (const [name] of variants) {
  const m = await rows(`SELECT DISTINCT path_in_schema, type, encodings, compression
    FROM parquet_metadata('${dir}/${name}.parquet') ORDER BY ALL`);
  meta.push(`${name}: ` + [...new Set(m.map((x) => x[2]))].sort().join(' ') + ` (${m[0][3]})`);
}
writeFileSync(`${dir}/README`, 'Made by tests/parquet/make_fixtures.mjs (DuckDB ' +
  (await rows('SELECT version()'))[0][0] + '). Encodings per file:\n' + meta.join('\n') + '\n');
console.log(meta.join('\n'));
