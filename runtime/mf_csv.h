/*
 * mf_csv.h — streaming CSV reading and field writing (csv.c).
 *
 * The reader follows RFC 4180: fields separated by one delimiter byte,
 * records ended by LF or CRLF, fields optionally enclosed in double quotes,
 * inside which the delimiter, CR, LF and doubled quotes ("") stand for
 * themselves. The first record is the header. Blank lines (empty or a lone
 * CRLF) outside quotes are skipped anywhere, as Python's csv module and
 * pandas do; so in a one-column file an empty value must be written as "".
 * An unquoted and a quoted empty field read the same (a zero-length slice).
 * Limits: a NUL byte anywhere is an error (quoted or not); so is a record
 * longer than max_line bytes (MF__CSV_MAX_LINE unless told) and a header
 * of more than MF__CSV_MAX_COLS columns.
 *
 * Fields come back as {ptr, len} slices into the file's memory (or into a
 * per-reader scratch buffer for quoted fields with doubled quotes): no
 * allocation per row.
 */
#ifndef MF_CSV_H
#define MF_CSV_H

#include "mf_internal.h"

typedef struct mf__csv mf__csv;

/* A piece of text, not NUL-terminated. */
typedef struct mf__slice {
    const char *ptr;
    size_t len;
} mf__slice;

/*---- Reading -------------------------------------------------------------*/

/* The longest record read unless a reader is told otherwise: 64 MiB. A
 * record's length counts its bytes from its first to the last before its
 * line break (quoted line breaks included; a BOM not). */
#define MF__CSV_MAX_LINE ((size_t)64 << 20)
/* The most columns a header may have. */
#define MF__CSV_MAX_COLS 16384

/* How to read a file. */
typedef struct mf__csv_opts {
    char delim;            /* ',', ';', '\t', '|', ...; not '"', CR, LF or NUL */
    size_t max_line;       /* longest record in bytes; 0: MF__CSV_MAX_LINE */
    const char *limit_key; /* the setting of max_line, named in errors; may be NULL */
    size_t split_min;      /* least rest mf__csv_split splits; 0: 1 MiB */
} mf__csv_opts;

/* Open the CSV file at `path` and read its header row; a UTF-8 byte
 * order mark before it is dropped. Regular files are memory-mapped; pipes
 * and FIFOs are read into memory whole (a FIFO without a writer reads as
 * empty rather than waiting for one); anything else (a directory, a
 * device) is refused.
 * Errors: MF_EIO when the file cannot be opened or read, or is not a file
 * or a pipe (message names the path and the system error or the kind);
 * MF_EDATA with err->file = path and err->line for an empty file (no
 * header row), a malformed header, a header of more than MF__CSV_MAX_COLS
 * columns, a line of a pipe longer than the limit; MF_EUSAGE for a bad
 * delimiter. On success *out is a new reader that the caller closes with
 * mf__csv_close; on failure *out is NULL. */
int mf__csv_open_opts(const char *path, const mf__csv_opts *o, mf__csv **out,
                      mf_error *err);
/* mf__csv_open_opts with delimiter `delim` and the default limits. */
int mf__csv_open(const char *path, char delim, mf__csv **out, mf_error *err);

/* Number of header columns; every record has exactly this many fields. */
size_t mf__csv_ncols(const mf__csv *c);
/* Name of column i (NUL-terminated, unescaped). Borrowed from the reader. */
const char *mf__csv_colname(const mf__csv *c, size_t i);
/* Index of the first column named `name`, or -1. */
long mf__csv_find(const mf__csv *c, const char *name);

/* Read the next record. Returns 1 and sets *fields to an array of exactly
 * ncols slices (borrowed: valid until the next mf__csv_next or close), 0 at
 * end of file, or MF_EDATA with err naming the file, the line and the
 * problem: a wrong number of fields (expected and found), an unterminated
 * quoted field, a quote inside an unquoted field, text after a closing
 * quote, a CR not followed by LF, a NUL byte, a record longer than the
 * limit (at the line where it starts). After a wrong field count the
 * reader has moved past the record and may go on; after the other errors
 * every later call fails. */
int mf__csv_next(mf__csv *c, const mf__slice **fields, mf_error *err);

/* 1-based line number at which the current record starts (the header's
 * line before the first mf__csv_next). Quoted line breaks count. */
long mf__csv_line(const mf__csv *c);

/* mf__csv_line as a mark that costs nothing to take (a split half's line
 * numbers are counted only when asked for), and the line of a mark. */
long mf__csv_line_mark(const mf__csv *c);
long mf__csv_mark_line(const mf__csv *c, long mark);

/* Path the reader was opened with. Borrowed. */
const char *mf__csv_path(const mf__csv *c);

/* Split the rest of the file in two at a line break near its middle, so
 * that two threads can read the halves: c keeps the first half and *tail
 * (a new reader sharing c's memory and limits; close it before c) reads
 * the second, with right line numbers. Only when the rest is at least
 * split_min (1 MiB) and no quote has been read yet; returns 1 when split,
 * else 0 (*tail NULL).
 * The line break is a record boundary when the first half holds no quote
 * character: a caller must check mf__csv_saw_quote(c) after reading c to
 * its end (or to an error) and, when it says true, read the file again
 * without splitting (the halves may have been cut inside a quoted field). */
int mf__csv_split(mf__csv *c, mf__csv **tail);
/* Whether the reader has met a quote character. */
bool mf__csv_saw_quote(const mf__csv *c);
/* Whether the current record's fields all point into the file's memory
 * (none was unescaped into the scratch buffer): then they stay valid after
 * the next mf__csv_next, until the reader is closed. */
bool mf__csv_record_stable(const mf__csv *c);
/* How far the reader is through its records: *done bytes read of *total
 * (the bytes after the header, or a split half's). For sizing arrays. */
void mf__csv_progress(const mf__csv *c, size_t *done, size_t *total);

/* Release the reader and its memory. NULL is a no-op. */
void mf__csv_close(mf__csv *c);

/*---- Writing -------------------------------------------------------------*/

/* Append s[0..len) to out as one CSV field for delimiter `delim`: as is, or
 * enclosed in quotes with inner quotes doubled when it holds the delimiter,
 * a quote, CR or LF, starts or ends with a space or tab, or starts with a
 * UTF-8 byte order mark (which a reader drops at the start of a file). An
 * empty s appends nothing. */
void mf__csv_write_field(mf__buf *out, const char *s, size_t len, char delim);

#endif /* MF_CSV_H */
