/* Ahead-of-time compiled scan of fixed-width records (jobs/common/fixedwidth/native.py loads it
 * with ctypes; `make install` builds it, native.py rebuilds it when this source changes).
 *
 * The same work as the numba kernel (kernel.py scan/fill_utf8), field for field and fault for
 * fault; the numpy decoders in fields.py stay the reference and the tests compare all three.
 * Plain C, no Python API: the caller passes numpy buffers and a row range [lo, hi), so a file is
 * scanned by several threads (ctypes releases the GIL) with no shared writes.
 *
 * Outputs go straight into Arrow "string view" form (16 bytes per value: length, then the value
 * inline when it has at most 12 bytes, else a 4-byte prefix, a buffer index and an offset), which
 * Polars takes without a copy or a cast. */

#include <stdint.h>
#include <string.h>

enum { K_FILLER = 0, K_DIGITS = 1, K_NUMERIC = 2, K_SBCS = 3, K_DATE8 = 4, K_DATE6 = 5, K_SHIFT = 6 };
enum { F_NONDIGIT = 1, F_BLANK = 2, F_VALUE = 3, F_CHARSET = 4, F_DATE = 5, F_SHIFT = 7 };

#ifndef KB_SOURCE_HASH
#define KB_SOURCE_HASH "unknown"
#endif

const char *kb_source_hash(void) { return KB_SOURCE_HASH; }

static int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
    /* Howard Hinnant's algorithm: days since 1970-01-01 (y >= 1 here, so C division floors) */
    int64_t y2 = m <= 2 ? y - 1 : y;
    int64_t era = (y2 >= 0 ? y2 : y2 - 399) / 400;
    int64_t yoe = y2 - era * 400;
    int64_t mp = m > 2 ? m - 3 : m + 9;
    int64_t doy = (153 * mp + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int64_t month_days(int64_t y, int64_t m) {
    if (m == 2) {
        int leap = (y % 4 == 0 && y % 100 != 0) || (y % 400 == 0);
        return leap ? 29 : 28;
    }
    if (m == 4 || m == 6 || m == 9 || m == 11) return 30;
    return 31;
}

static inline void put_u32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

/* Finish an Arrow string view of `len` bytes: `tmp` (16+ bytes, zeroed) holds the value inline from
 * tmp + 4 when len <= 12; a longer value is at `dst` = buffer 0 + off, and the view keeps its first
 * 4 bytes as the prefix. */
static inline void put_view(uint8_t *view, uint8_t *tmp, const uint8_t *dst, int64_t len, int64_t off) {
    put_u32(tmp, (uint32_t)len);
    if (len > 12) {
        memcpy(tmp + 4, dst, 4);
        put_u32(tmp + 12, (uint32_t)off);  /* buffer 0 */
    }
    memcpy(view, tmp, 16);
}

/* Scan rows [lo, hi) of `n` records (row i at recs + i * rstride, or at recs + rowidx[i] * rstride
 * when rowidx is not NULL: the records of one type picked out of the whole file without a copy),
 * nf kernel fields.
 * Per field j: kind, off, length, blank_ok, cs_id (row of cs_ok, 256 bytes each), slot (row of
 * ints / tlen, or -1), pad, shift_bytes (row of shift_w bytes), pivot, val_ok (row of val_w bytes:
 * [2 if checked, ok(0), ok(1), ...]), vslot (digits: row of dviews, else -1), dbase (digits longer
 * than 12 bytes: start of its bytes in dig_data, else -1) and drows (rows per data buffer).
 * Outputs (column-major, n per column): ints int64, valid u8 (nf x n), tlen int32, fault u8,
 * ffield int16 (kernel field number), filler_bad u8, dviews (16 bytes per value). */
void kb_scan(const uint8_t *recs, int64_t rstride, const int64_t *rowidx, int64_t n, int64_t lo, int64_t hi, int64_t nf,
             const int8_t *kind, const int64_t *off, const int64_t *length, const uint8_t *blank_ok,
             const int64_t *cs_id, const int64_t *slot, const uint8_t *cs_ok, const uint8_t *pad,
             const uint8_t *shift_bytes, int64_t shift_w, const int64_t *pivot, const uint8_t *val_ok,
             int64_t val_w, const int64_t *vslot, const int64_t *dbase, const int64_t *drows,
             int64_t *ints, uint8_t *valid, int32_t *tlen, uint8_t *fault, int16_t *ffield,
             uint8_t *filler_bad, uint8_t *dviews, uint8_t *dig_data) {
    for (int64_t i = lo; i < hi; i++) {
        const uint8_t *r = recs + (rowidx ? rowidx[i] : i) * rstride;
        uint8_t fcode = 0;
        int16_t ff = -1;
        uint8_t fbad = 0;
        for (int64_t j = 0; j < nf; j++) {
            int k = kind[j];
            int64_t o = off[j], ln = length[j];
            const uint8_t *p = r + o;
            int code = 0;
            if (k == K_FILLER) {
                for (int64_t q = 0; q < ln; q++) {
                    if (p[q] != 32) { fbad = 1; break; }
                }
                continue;
            }
            if (k == K_SHIFT) {
                const uint8_t *want = shift_bytes + j * shift_w;
                for (int64_t q = 0; q < ln; q++) {
                    if (p[q] != want[q]) { code = F_SHIFT; break; }
                }
            } else if (k == K_SBCS) {
                const uint8_t *ok = cs_ok + cs_id[j] * 256;
                uint8_t pd = pad[j];
                int64_t last = -1, ulen = 0;
                for (int64_t q = 0; q < ln; q++) {
                    uint8_t b = p[q];
                    if (!ok[b]) code = F_CHARSET;
                    if (b != pd) last = q;
                }
                for (int64_t q = 0; q <= last; q++) ulen += p[q] >= 0x80 ? 3 : 1;
                int64_t s = slot[j];
                if (code != 0 || last < 0) {
                    valid[j * n + i] = 0;
                    tlen[s * n + i] = 0;
                    if (code == 0 && !blank_ok[j]) code = F_BLANK;
                } else {
                    valid[j * n + i] = 1;
                    tlen[s * n + i] = (int32_t)ulen;
                }
            } else { /* digits, numeric, dates */
                int allblank = 1, alldigit = 1;
                uint64_t v = 0; /* wraps like the int64 of the numba kernel */
                for (int64_t q = 0; q < ln; q++) {
                    uint8_t b = p[q];
                    if (b != 32) allblank = 0;
                    if (b < 48 || b > 57) alldigit = 0;
                    else v = v * 10 + (uint64_t)(b - 48);
                }
                uint8_t *view = 0;
                if (vslot[j] >= 0) { /* digits fields become string columns */
                    uint8_t tv[16] = {0};
                    put_u32(tv, (uint32_t)ln);
                    view = dviews + (vslot[j] * n + i) * 16;
                    if (ln <= 12) {
                        for (int64_t q = 0; q < ln; q++) tv[4 + q] = p[q];
                    } else {
                        int64_t rows = drows[j];
                        memcpy(dig_data + dbase[j] + i * ln, p, (size_t)ln);
                        memcpy(tv + 4, p, 4);
                        put_u32(tv + 8, (uint32_t)(i / rows));
                        put_u32(tv + 12, (uint32_t)((i % rows) * ln));
                    }
                    memcpy(view, tv, 16);
                }
                int ok = alldigit;
                int64_t sv = (int64_t)v;
                if (allblank) {
                    ok = 0;
                    if (!blank_ok[j]) code = F_BLANK;
                } else if (!alldigit) {
                    code = F_NONDIGIT;
                } else if (val_w > 1 && ln <= 4 && k == K_DIGITS && val_ok[j * val_w] == 2 && !val_ok[j * val_w + sv + 1]) {
                    code = F_VALUE;
                } else if (k == K_DATE8 || k == K_DATE6) {
                    if (sv == 0 && blank_ok[j]) {
                        ok = 0;
                    } else {
                        int64_t y;
                        if (k == K_DATE8) {
                            y = sv / 10000;
                        } else {
                            int64_t yy = sv / 10000;
                            y = yy < pivot[j] ? 2000 + yy : 1900 + yy;
                        }
                        int64_t m = (sv / 100) % 100, d = sv % 100;
                        if (y < 1 || m < 1 || m > 12 || d < 1 || d > month_days(y, m)) {
                            ok = 0;
                            code = F_DATE;
                        } else {
                            sv = days_from_civil(y, m, d);
                        }
                    }
                }
                valid[j * n + i] = (uint8_t)ok;
                if (!ok && view) memset(view, 0, 16); /* null: an empty view */
                if (slot[j] >= 0) ints[slot[j] * n + i] = ok ? sv : 0;
            }
            if (code != 0 && fcode == 0) {
                fcode = (uint8_t)code;
                ff = (int16_t)j;
            }
        }
        fault[i] = fcode;
        ffield[i] = ff;
        filler_bad[i] = fbad;
    }
}

/* One half-width text field (offset o, ln bytes) of rows [lo, hi) (rowidx as in kb_scan) as UTF-8 string views: tlen[i]
 * is the value's UTF-8 length (0 = null), offs[i] where a value longer than 12 bytes goes in
 * `out` (buffer 0). Half-width katakana 0xA1-0xDF become U+FF61-U+FF9F. */
void kb_fill_text(const uint8_t *recs, int64_t rstride, const int64_t *rowidx, int64_t lo, int64_t hi, int64_t o, int64_t ln,
                  const int32_t *tlen, const int64_t *offs, uint8_t *views, uint8_t *out) {
    for (int64_t i = lo; i < hi; i++) {
        const uint8_t *p = recs + (rowidx ? rowidx[i] : i) * rstride + o;
        uint8_t *view = views + i * 16;
        int64_t len = tlen[i];
        uint8_t tmp[16] = {0};
        if (len == 0) {
            memcpy(view, tmp, 16);
            continue;
        }
        uint8_t *dst = len <= 12 ? tmp + 4 : out + offs[i];
        int64_t q = 0;
        for (int64_t c = 0; c < ln && q < len; c++) {
            uint8_t b = p[c];
            if (b < 0x80) {
                dst[q++] = b;
            } else if (b < 0xC0) {
                dst[q++] = 0xEF; dst[q++] = 0xBD; dst[q++] = b;
            } else {
                dst[q++] = 0xEF; dst[q++] = 0xBE; dst[q++] = (uint8_t)(b - 0x40);
            }
        }
        put_view(view, tmp, dst, len, offs[i]);
    }
}

/* The writer's record assembly (writer._assemble; the numba kernel in assemble.py is the fallback
 * and does the same): rows [lo, hi) of `out` (row i at out + i * width) start as `template` (the
 * fields that are the same in every record, and the line end); then block j: the bwid[j] bytes of
 * row i at bsrc[j] + i * bwid[j] go to column boff[j]; number j: vsrc[j][i] right-justified,
 * zero-filled in nwid[j] digits at noff[j], or spaces where zsrc[j] is not NULL and zsrc[j][i].
 * The columns are read where they are (no copy into one buffer first). `pairs` holds "00".."99".
 * The caller has checked that every value is non-negative and fits its width. Rows are done 64 at
 * a time, field by field, so the lines of a block stay in cache while each column is read in order. */
void kb_assemble(uint8_t *out, int64_t width, int64_t lo, int64_t hi, const uint8_t *template,
                 int64_t m, const uint8_t *const *bsrc, const int64_t *boff, const int64_t *bwid,
                 int64_t k, const int64_t *const *vsrc, const uint8_t *const *zsrc, const int64_t *noff,
                 const int64_t *nwid, const uint8_t *pairs) {
    const int64_t rows = 64;
    for (int64_t b0 = lo; b0 < hi; b0 += rows) {
        int64_t b1 = b0 + rows < hi ? b0 + rows : hi;
        for (int64_t i = b0; i < b1; i++) memcpy(out + i * width, template, (size_t)width);
        for (int64_t j = 0; j < m; j++) {
            int64_t o = boff[j], w = bwid[j];
            const uint8_t *src = bsrc[j] + b0 * w;
            uint8_t *dst = out + b0 * width + o;
            for (int64_t i = b0; i < b1; i++, src += w, dst += width) memcpy(dst, src, (size_t)w);
        }
        for (int64_t j = 0; j < k; j++) {
            int64_t o = noff[j], w = nwid[j];
            const int64_t *vj = vsrc[j];
            const uint8_t *zj = zsrc[j];
            for (int64_t i = b0; i < b1; i++) {
                uint8_t *line = out + i * width;
                if (zj && zj[i]) {
                    memset(line + o, 32, (size_t)w);
                    continue;
                }
                uint64_t v = (uint64_t)vj[i];
                int64_t p = o + w - 1;
                while (v >= 10 && p > o) {
                    uint64_t q = v / 100;
                    uint64_t r = 2 * (v - q * 100);
                    line[p] = pairs[r + 1];
                    line[p - 1] = pairs[r];
                    v = q;
                    p -= 2;
                }
                if (p >= o && v > 0) {
                    line[p] = (uint8_t)(48 + v);
                    p -= 1;
                }
                while (p >= o) line[p--] = 48;
            }
        }
    }
}

/* GS1-128 コンビニ収納 barcodes (reports/print_data.py barcode_series; its numpy path does the same):
 * rows [lo, hi) of `out` (44 bytes a row) start as `template` (the constant digits); field j puts
 * vals[j][i] zero-filled in wid[j] digits at pos[j] (the caller has checked that each value
 * is non-negative and fits); the 44th byte is the modulus-10 check digit of the 43 data digits,
 * weight 3 on even indexes (the rightmost data digit, index 42, is even). With `views` (16 bytes a row;
 * n * 44 < 2**31), row i is also described there as an Arrow string view of its 44 bytes (length, first
 * 4 bytes, buffer 0, offset i * 44), or an empty view where `valid` is given and valid[i] is 0. */
void kb_gs1(uint8_t *out, int64_t n, int64_t lo, int64_t hi, const uint8_t *template, int64_t k,
            const int64_t *const *vals, const int64_t *pos, const int64_t *wid, uint8_t *views, const uint8_t *valid) {
    /* two digits per division ("00".."99"); the weighted sum over the 43 bytes has fixed weights */
    static const uint8_t pairs[201] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
                                      "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
                                      "8081828384858687888990919293949596979899";
    for (int64_t i = lo; i < hi; i++) {
        uint8_t *row = out + i * 44;
        memcpy(row, template, 44);
        for (int64_t j = 0; j < k; j++) {
            uint64_t v = (uint64_t)vals[j][i];
            int64_t p = pos[j] + wid[j] - 1, p0 = pos[j];
            while (p > p0) {
                uint64_t q = v / 100;
                uint32_t r = (uint32_t)(v - q * 100) * 2;
                row[p] = pairs[r + 1];
                row[p - 1] = pairs[r];
                v = q;
                p -= 2;
            }
            if (p == p0) row[p] = (uint8_t)(48 + v % 10);
        }
        int32_t even = 0, odd = 0;
        for (int q = 0; q < 42; q += 2) {
            even += row[q];
            odd += row[q + 1];
        }
        even += row[42];
        int32_t sum = 3 * (even - 22 * 48) + (odd - 21 * 48);
        row[43] = (uint8_t)(48 + (10 - sum % 10) % 10);
        if (views) { /* the row as an Arrow string view over `out` (buffer 0), empty where not valid */
            uint8_t *v = views + i * 16;
            memset(v, 0, 16);
            if (!valid || valid[i]) {
                put_u32(v, 44);
                memcpy(v + 4, row, 4);
                put_u32(v + 12, (uint32_t)(i * 44));
            }
        }
    }
}

/* ---- cp932 text fields (charset kind cp932: Shift_JIS with the Microsoft extensions) ----------------
 * The same value and fault as the reference decoder (fields.decode_text): a control byte (< 0x20 or
 * 0x7F) anywhere in the field -> fault 8 and null; bytes Python's strict cp932 codec refuses -> fault 9
 * and null; else the decoded text with the trailing pad characters removed (null when nothing is left).
 * The codec is not re-implemented by hand: `single` (256 entries: the code point of a byte that decodes
 * alone, else -1) and `pair` (lead * 256 + trail: the code point, else -1) are tables native.py fills
 * from Python's own cp932 codec, and the walk below is that codec's (a byte that does not decode alone
 * takes the next byte with it, and the pair decodes or the field is refused). */

static inline int32_t cp932_next(const uint8_t *p, int64_t ln, int64_t *q, const int32_t *single,
                                 const int32_t *pair) {
    uint8_t b = p[*q];
    int32_t c = single[b];
    if (c >= 0) {
        *q += 1;
        return c;
    }
    if (*q + 1 >= ln) return -1; /* a lead byte cut at the end of the field */
    c = pair[b * 256 + p[*q + 1]];
    if (c < 0) return -1;
    *q += 2;
    return c;
}

static inline int64_t utf8_size(int32_t c) { return c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4; }

static inline int64_t utf8_put(uint8_t *d, int32_t c) {
    if (c < 0x80) { d[0] = (uint8_t)c; return 1; }
    if (c < 0x800) { d[0] = (uint8_t)(0xC0 | (c >> 6)); d[1] = (uint8_t)(0x80 | (c & 0x3F)); return 2; }
    if (c < 0x10000) {
        d[0] = (uint8_t)(0xE0 | (c >> 12)); d[1] = (uint8_t)(0x80 | ((c >> 6) & 0x3F));
        d[2] = (uint8_t)(0x80 | (c & 0x3F));
        return 3;
    }
    d[0] = (uint8_t)(0xF0 | (c >> 18)); d[1] = (uint8_t)(0x80 | ((c >> 12) & 0x3F));
    d[2] = (uint8_t)(0x80 | ((c >> 6) & 0x3F)); d[3] = (uint8_t)(0x80 | (c & 0x3F));
    return 4;
}

/* Where a strict UTF-8 decoder (Python's) stops: the end of the longest prefix of complete, valid
 * UTF-8 characters (ln when all of it is valid). */
static int64_t utf8_valid_prefix(const uint8_t *p, int64_t ln) {
    int64_t q = 0;
    while (q < ln) {
        uint8_t b = p[q], lo = 0x80, hi = 0xBF;
        int64_t k;
        if (b < 0x80) { q++; continue; }
        if (b >= 0xC2 && b <= 0xDF) k = 1;
        else if (b == 0xE0) { k = 2; lo = 0xA0; }
        else if (b == 0xED) { k = 2; hi = 0x9F; }
        else if (b >= 0xE1 && b <= 0xEF) k = 2;
        else if (b == 0xF0) { k = 3; lo = 0x90; }
        else if (b == 0xF4) { k = 3; hi = 0x8F; }
        else if (b >= 0xF1 && b <= 0xF3) k = 3;
        else return q;
        if (q + k >= ln) return q;
        if (p[q + 1] < lo || p[q + 1] > hi) return q;
        for (int64_t t = 2; t <= k; t++)
            if (p[q + t] < 0x80 || p[q + t] > 0xBF) return q;
        q += k + 1;
    }
    return ln;
}

/* One cp932 field (offset o, ln bytes) of rows [lo, hi): fault[i] 0 / 8 / 9, tlen[i] the UTF-8 length of
 * the value after the trailing `pad` code points are removed (0 = null), utf8_cand[i] 1 when a fault-free
 * row may be UTF-8 text (the mojibake rule, fields.utf8_text, which the caller applies to these rows
 * only): it holds a 3-byte UTF-8 pattern (lead E3-EF, two bytes 80-BF; fields.utf8_rows) and a strict
 * UTF-8 decoder would not stop more than 3 bytes before its end. */
void kb_cp932_scan(const uint8_t *recs, int64_t rstride, int64_t lo, int64_t hi, int64_t o, int64_t ln,
                   const int32_t *single, const int32_t *pair, int32_t pad, uint8_t *fault, int32_t *tlen,
                   uint8_t *utf8_cand) {
    for (int64_t i = lo; i < hi; i++) {
        const uint8_t *p = recs + i * rstride + o;
        uint8_t code = 0, cand = 0;
        int64_t keep = 0;
        for (int64_t q = 0; q < ln; q++) {
            if (p[q] < 0x20 || p[q] == 0x7F) { code = 8; break; }
        }
        if (!code) {
            int64_t q = 0, ulen = 0;
            while (q < ln) {
                int32_t c = cp932_next(p, ln, &q, single, pair);
                if (c < 0) { code = 9; break; }
                ulen += utf8_size(c);
                if (c != pad) keep = ulen;
            }
        }
        if (code) {
            keep = 0;
        } else {
            for (int64_t q = 0; q + 2 < ln; q++) {
                if (p[q] >= 0xE3 && p[q] <= 0xEF && p[q + 1] >= 0x80 && p[q + 1] <= 0xBF && p[q + 2] >= 0x80 &&
                    p[q + 2] <= 0xBF) {
                    cand = utf8_valid_prefix(p, ln) >= ln - 3;
                    break;
                }
            }
        }
        fault[i] = code;
        tlen[i] = (int32_t)keep;
        utf8_cand[i] = cand;
    }
}

/* The values of kb_cp932_scan as UTF-8 string views (as kb_fill_text): tlen[i] bytes of the decoded
 * field, inline when at most 12, else at offs[i] in `out` (buffer 0). */
void kb_cp932_fill(const uint8_t *recs, int64_t rstride, int64_t lo, int64_t hi, int64_t o, int64_t ln,
                   const int32_t *single, const int32_t *pair, const int32_t *tlen, const int64_t *offs,
                   uint8_t *views, uint8_t *out) {
    for (int64_t i = lo; i < hi; i++) {
        const uint8_t *p = recs + i * rstride + o;
        uint8_t *view = views + i * 16;
        int64_t len = tlen[i];
        uint8_t tmp[20] = {0};
        if (len == 0) {
            memcpy(view, tmp, 16);
            continue;
        }
        uint8_t *dst = len <= 12 ? tmp + 4 : out + offs[i];
        int64_t q = 0, w = 0;
        while (w < len) {
            int32_t c = cp932_next(p, ln, &q, single, pair);
            if (c < 0) break; /* not reached: the scan decoded this row */
            w += utf8_put(dst + w, c);
        }
        put_view(view, tmp, dst, len, offs[i]);
    }
}

/* ---- zoned decimals, ASCII overpunch (fields.decode_zoned for a cp932 layout) --------------------------
 * Digits, then a last byte that is a digit (positive) or an overpunch ({A-I +0..+9, }J-R -0..-9): zdigit
 * and zsign are the reference's tables (_ZONED_ASCII_DIGIT, _ZONED_ASCII_SIGN). fault 1 (a non-digit
 * before the last byte), 6 (a last byte that is no sign), 0; a field of spaces is null without a fault
 * when blank_ok. vals[i] is the value (0 when null), valid[i] 1 when not null. */
void kb_zoned(const uint8_t *recs, int64_t rstride, int64_t lo, int64_t hi, int64_t o, int64_t ln, int64_t blank_ok,
              const uint8_t *zdigit, const int8_t *zsign, int64_t *vals, uint8_t *valid, uint8_t *fault) {
    for (int64_t i = lo; i < hi; i++) {
        const uint8_t *p = recs + i * rstride + o;
        int ok = 1, allblank = 1;
        uint64_t body = 0; /* wraps like the reference's int64 */
        for (int64_t q = 0; q + 1 < ln; q++) {
            uint8_t b = p[q];
            if (b != 32) allblank = 0;
            uint8_t d = (uint8_t)(b - 48);
            if (d > 9) ok = 0;
            else body = body * 10 + d;
        }
        uint8_t last = p[ln - 1];
        if (last != 32) allblank = 0;
        uint8_t ld = zdigit[last];
        int8_t sg = zsign[last];
        int bad_sign = sg == 0 || ld > 9;
        uint8_t code = !ok ? 1 : bad_sign ? 6 : 0;
        int v = code == 0;
        if (blank_ok && allblank) {
            code = 0;
            v = 0;
        }
        fault[i] = code;
        valid[i] = (uint8_t)v;
        vals[i] = v ? (int64_t)((body * 10 + ld) * (uint64_t)(int64_t)sg) : 0;
    }
}

/* ---- the writer's cp932 text fields (writer._cp932_spaced; fields.encode_field stays the reference) ----
 * Rows [lo, hi) of a String column given as Arrow large_string buffers (offsets int64, UTF-8 data), with
 * nulls[i] != 0 (nulls may be NULL) for a null row: each value encoded to cp932 by `enc` (per BMP code
 * point: the single byte, or lead * 256 + trail, or -1 where Python's cp932 codec refuses the character
 * or the writer does: control characters), left-justified in `w` bytes of `out` (row i at out + i * w),
 * padded with spaces; a null row is all spaces. Returns -1, or the first row of [lo, hi) that cannot be
 * written this way (a character -1 in enc or beyond the BMP, more than w bytes): the caller then lets
 * the reference encoder name the error. The data is valid UTF-8 (Polars strings). */
int64_t kb_cp932_encode(const int64_t *offsets, const uint8_t *data, const uint8_t *nulls, int64_t lo, int64_t hi,
                        int64_t w, const int32_t *enc, uint8_t *out) {
    for (int64_t i = lo; i < hi; i++) {
        uint8_t *dst = out + i * w;
        int64_t q = 0;
        if (!(nulls && nulls[i])) {
            const uint8_t *p = data + offsets[i], *end = data + offsets[i + 1];
            while (p < end) {
                uint32_t c = p[0];
                if (c < 0x80) {
                    p += 1;
                } else if (c < 0xE0) {
                    if (end - p < 2) return i;
                    c = ((c & 0x1F) << 6) | (p[1] & 0x3F);
                    p += 2;
                } else if (c < 0xF0) {
                    if (end - p < 3) return i;
                    c = ((c & 0x0F) << 12) | ((uint32_t)(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
                    p += 3;
                } else {
                    return i; /* beyond the BMP: no cp932 code */
                }
                int32_t e = enc[c];
                if (e < 0) return i;
                if (e < 0x100) {
                    if (q >= w) return i;
                    dst[q++] = (uint8_t)e;
                } else {
                    if (q + 1 >= w) return i;
                    dst[q++] = (uint8_t)(e >> 8);
                    dst[q++] = (uint8_t)(e & 0xFF);
                }
            }
        }
        if (q < w) memset(dst + q, 32, (size_t)(w - q));
    }
    return -1;
}

/* ---- the writer's digits fields (writer._encode_digits; its Polars way stays the fallback) ----------------
 * Rows [lo, hi) of a String column given as Arrow string views (16 bytes per value from `views`: the
 * length, then the value inline when it has at most 12 bytes, else a 4-byte prefix, the index of its data
 * buffer in `bufs` and its offset there), with nulls[i] != 0 (nulls may be NULL) for a null row: each value
 * zero-filled on the left to `w` bytes of `out` (row i at out + i * w), what str.zfill(w) gives for digits;
 * a null row is all spaces. Returns -1, or the first row of [lo, hi) that is not written so (a byte that
 * is not an ASCII digit, longer than w): the caller then lets the Polars way name the error. */
int64_t kb_digits_view(const uint8_t *views, const uint8_t *const *bufs, const uint8_t *nulls, int64_t lo,
                       int64_t hi, int64_t w, uint8_t *out) {
    for (int64_t i = lo; i < hi; i++) {
        uint8_t *dst = out + i * w;
        if (nulls && nulls[i]) {
            memset(dst, 32, (size_t)w);
            continue;
        }
        const uint8_t *v = views + i * 16;
        uint32_t len, bi, off;
        memcpy(&len, v, 4);
        if ((int64_t)len > w) return i;
        const uint8_t *src;
        if (len <= 12) {
            src = v + 4;
        } else {
            memcpy(&bi, v + 8, 4);
            memcpy(&off, v + 12, 4);
            src = bufs[bi] + off;
        }
        int64_t pad = w - (int64_t)len;
        uint8_t bad = 0;
        for (uint32_t q = 0; q < len; q++) bad |= (uint8_t)(src[q] - 48) > 9;
        if (bad) return i;
        memset(dst, 48, (size_t)pad);
        memcpy(dst + pad, src, len);
    }
    return -1;
}
