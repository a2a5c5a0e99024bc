#!/usr/bin/env python3
"""Writes host/model/unicode_tables.c: the Unicode data the BERT tokenizer needs.

    python3 scripts/gen-unicode-tables.py            # writes host/model/unicode_tables.c
    python3 scripts/gen-unicode-tables.py --check    # also compares with HF tokenizers

The reference is the Hugging Face fast tokenizer (Rust `tokenizers`), whose
BertNormalizer and BertPreTokenizer read Unicode through three sources of
three different Unicode versions:

  * the `unicode_categories` crate (0.1.1; its tables match Unicode 8.0):
    is_other (Cc | Cf | Co; its Cn table is empty, so unassigned code points
    are kept), is_mark_nonspacing (Mn, for strip_accents) and is_punctuation;
  * the `unicode-normalization-alignments` crate (0.1.12, Unicode 9.0): NFD
    and the canonical combining classes used for canonical ordering;
  * Rust's standard library (Unicode 16.0 in tokenizers 0.23):
    char::is_whitespace (the White_Space property) and char::to_lowercase
    (per character: no final-sigma rule, U+0130 becomes "i" U+0307).

Python 3.11's unicodedata is Unicode 14.0, so the tables start from it and
the lists below (CONTROL_NOT_IN_HF ... LOWER_NEWER_THAN_14) correct it to
what HF does. They were found by probing every code point with the PyPI
`tokenizers` package (0.23.3); `--check` repeats that probe against the
generated data and fails on any difference. It needs `tokenizers`, e.g.
.venv-fixtures/bin/python scripts/gen-unicode-tables.py --check.

Output layout (see host/model/unicode_tables.h):
  hr_uc_stage1 / hr_uc_stage2: a two-stage table, one uint16 per code point:
      bits 0-7 flags (DROP WS PUNCT MN CJK NFD LOWER), bits 8-15 the
      canonical combining class;
  NFD and lower-case maps: sorted code point keys, (offset << 4 | length)
  into a pool of code points. Hangul syllables are decomposed in code.
"""
import argparse
import os
import sys
import unicodedata as ud

BASE_VERSION = "14.0.0"
SHIFT = 7  # stage-2 blocks of 128 code points
MAP_MAX = 4  # longest NFD or lower-case expansion (checked below)

F_DROP, F_WS, F_PUNCT, F_MN, F_CJK, F_NFD, F_LOWER = 1, 2, 4, 8, 16, 32, 64

# Rust char::is_whitespace: the White_Space property (stable since 6.3).
# BertNormalizer also counts \t \n \r as whitespace; the other White_Space
# controls (VT, FF, U+0085) are Cc and dropped before whitespace is mapped.
WHITE_SPACE = [0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680,
               *range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F, 0x205F, 0x3000]

# HF is_chinese_char (tokenizers/src/normalizers/bert.rs).
CJK = [(0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
       (0x2B740, 0x2B81F), (0x2B920, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F)]

# Cf in Unicode 14 but unassigned in Unicode 8.0: HF keeps them.
CONTROL_NOT_IN_HF = [(0x0890, 0x0891), (0x08E2, 0x08E2), (0x110CD, 0x110CD),
                     (0x13430, 0x13438)]

# Mn in Unicode 14 but not in Unicode 8.0 (unassigned then, or Lo/Mc then):
# HF keeps them when stripping accents.
MN_NOT_IN_HF = [
    (0x07FD, 0x07FD), (0x0898, 0x089F), (0x08CA, 0x08E1), (0x09FE, 0x09FE),
    (0x0AFA, 0x0AFF), (0x0B55, 0x0B55), (0x0C04, 0x0C04), (0x0C3C, 0x0C3C),
    (0x0D00, 0x0D00), (0x0D3B, 0x0D3C), (0x0D81, 0x0D81), (0x0EBA, 0x0EBA),
    (0x180F, 0x180F), (0x1885, 0x1886), (0x1ABF, 0x1ACE), (0x1DF6, 0x1DFB),
    (0xA82C, 0xA82C), (0xA8C5, 0xA8C5), (0xA8FF, 0xA8FF), (0xA9BD, 0xA9BD),
    (0x10D24, 0x10D27), (0x10EAB, 0x10EAC), (0x10F46, 0x10F50), (0x10F82, 0x10F85),
    (0x11070, 0x11070), (0x11073, 0x11074), (0x110C2, 0x110C2), (0x111C9, 0x111C9),
    (0x111CF, 0x111CF), (0x1123E, 0x1123E), (0x1133B, 0x1133B), (0x11438, 0x1143F),
    (0x11442, 0x11444), (0x11446, 0x11446), (0x1145E, 0x1145E), (0x1182F, 0x11837),
    (0x11839, 0x1183A), (0x1193B, 0x1193C), (0x1193E, 0x1193E), (0x11943, 0x11943),
    (0x119D4, 0x119D7), (0x119DA, 0x119DB), (0x119E0, 0x119E0), (0x11A01, 0x11A0A),
    (0x11A33, 0x11A38), (0x11A3B, 0x11A3E), (0x11A47, 0x11A47), (0x11A51, 0x11A56),
    (0x11A59, 0x11A5B), (0x11A8A, 0x11A96), (0x11A98, 0x11A99), (0x11C30, 0x11C36),
    (0x11C38, 0x11C3D), (0x11C3F, 0x11C3F), (0x11C92, 0x11CA7), (0x11CAA, 0x11CB0),
    (0x11CB2, 0x11CB3), (0x11CB5, 0x11CB6), (0x11D31, 0x11D36), (0x11D3A, 0x11D3A),
    (0x11D3C, 0x11D3D), (0x11D3F, 0x11D45), (0x11D47, 0x11D47), (0x11D90, 0x11D91),
    (0x11D95, 0x11D95), (0x11D97, 0x11D97), (0x11EF3, 0x11EF4), (0x16F4F, 0x16F4F),
    (0x16FE4, 0x16FE4), (0x1CF00, 0x1CF2D), (0x1CF30, 0x1CF46), (0x1E000, 0x1E006),
    (0x1E008, 0x1E018), (0x1E01B, 0x1E021), (0x1E023, 0x1E024), (0x1E026, 0x1E02A),
    (0x1E130, 0x1E136), (0x1E2AE, 0x1E2AE), (0x1E2EC, 0x1E2EF), (0x1E944, 0x1E94A),
]
# Mn in Unicode 8.0, Mc since Unicode 14 (HANUNOO SIGN PAMUDPOD): HF drops it.
MN_ONLY_IN_HF = [(0x1734, 0x1734)]

# P* in Unicode 14 but not in Unicode 8.0: HF does not split on them.
PUNCT_NOT_IN_HF = [
    (0x061D, 0x061D), (0x09FD, 0x09FD), (0x0A76, 0x0A76), (0x0C77, 0x0C77),
    (0x0C84, 0x0C84), (0x1B7D, 0x1B7E), (0x2E43, 0x2E4F), (0x2E52, 0x2E5D),
    (0x10EAD, 0x10EAD), (0x10F55, 0x10F59), (0x10F86, 0x10F89), (0x1144B, 0x1144F),
    (0x1145A, 0x1145B), (0x1145D, 0x1145D), (0x11660, 0x1166C), (0x116B9, 0x116B9),
    (0x1183B, 0x1183B), (0x11944, 0x11946), (0x119E2, 0x119E2), (0x11A3F, 0x11A46),
    (0x11A9A, 0x11A9C), (0x11A9E, 0x11AA2), (0x11C41, 0x11C45), (0x11C70, 0x11C71),
    (0x11EF7, 0x11EF8), (0x11FFF, 0x11FFF), (0x12FF1, 0x12FF2), (0x16E97, 0x16E9A),
    (0x16FE2, 0x16FE2), (0x1E95E, 0x1E95F),
]
# Po in Unicode 8.0, So or Mn since: HF still splits on them.
PUNCT_ONLY_IN_HF = [(0x166D, 0x166D), (0x111C9, 0x111C9)]

# Combining class > 0 in Unicode 14 but unknown to the Unicode 9.0 NFD tables:
# HF treats them as starters (class 0) when it reorders marks.
CCC_NOT_IN_HF = [
    (0x07FD, 0x07FD), (0x0898, 0x089F), (0x08CA, 0x08D3), (0x09FE, 0x09FE),
    (0x0C3C, 0x0C3C), (0x0D3B, 0x0D3C), (0x0EBA, 0x0EBA), (0x1715, 0x1715),
    (0x1ABF, 0x1ACE), (0x1DF6, 0x1DFA), (0xA82C, 0xA82C), (0x10D24, 0x10D27),
    (0x10EAB, 0x10EAC), (0x10F46, 0x10F50), (0x10F82, 0x10F85), (0x11070, 0x11070),
    (0x1133B, 0x1133B), (0x1145E, 0x1145E), (0x11839, 0x1183A), (0x1193D, 0x1193E),
    (0x11943, 0x11943), (0x119E0, 0x119E0), (0x11A34, 0x11A34), (0x11A47, 0x11A47),
    (0x11A99, 0x11A99), (0x11D42, 0x11D42), (0x11D44, 0x11D45), (0x11D97, 0x11D97),
    (0x16FF0, 0x16FF1), (0x1E130, 0x1E136), (0x1E2AE, 0x1E2AE), (0x1E2EC, 0x1E2EF),
]
# Canonical decompositions newer than Unicode 9.0: HF leaves these alone.
NFD_NOT_IN_HF = [0x11938]

# Lower-case mappings added in Unicode 15 and 16 (Rust std knows them).
LOWER_NEWER_THAN_14 = {
    0x1C89: 0x1C8A, 0xA7CB: 0x0264, 0xA7CC: 0xA7CD, 0xA7CE: 0xA7CF,
    0xA7D2: 0xA7D3, 0xA7D4: 0xA7D5, 0xA7DA: 0xA7DB, 0xA7DC: 0x019B,
    **{cp: cp + 0x20 for cp in range(0x10D50, 0x10D66)},
    **{cp: cp + 0x1B for cp in range(0x16EA0, 0x16EB9)},
}


def in_ranges(cp, ranges):
    return any(lo <= cp <= hi for lo, hi in ranges)


def expand(ranges):
    return {cp for lo, hi in ranges for cp in range(lo, hi + 1)}


def code_points():
    """Every Unicode scalar value (no surrogates)."""
    return (cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF)


class Model:
    """HF's view of each code point, as the generated tables hold it."""

    def __init__(self):
        self.control_not = expand(CONTROL_NOT_IN_HF)
        self.mn_not, self.mn_only = expand(MN_NOT_IN_HF), expand(MN_ONLY_IN_HF)
        self.p_not, self.p_only = expand(PUNCT_NOT_IN_HF), expand(PUNCT_ONLY_IN_HF)
        self.ccc_not = expand(CCC_NOT_IN_HF)
        self.ws = set(WHITE_SPACE)

    def drop(self, cp):
        """clean_text removes it: NUL, U+FFFD, or is_other except \\t \\n \\r."""
        if cp in (0, 0xFFFD):
            return True
        if cp in (0x09, 0x0A, 0x0D) or cp in self.control_not:
            return False
        return ud.category(chr(cp)) in ("Cc", "Cf", "Co")

    def white(self, cp):
        return cp in self.ws and not self.drop(cp)

    def punct(self, cp):
        if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
            return True
        if cp in self.p_only:
            return True
        return ud.category(chr(cp)).startswith("P") and cp not in self.p_not

    def mn(self, cp):
        if cp in self.mn_only:
            return True
        return ud.category(chr(cp)) == "Mn" and cp not in self.mn_not

    def ccc(self, cp):
        return 0 if cp in self.ccc_not else ud.combining(chr(cp))

    def nfd(self, cp):
        """Full canonical decomposition, or None when the character is stable."""
        if cp in NFD_NOT_IN_HF:
            return None
        d = ud.normalize("NFD", chr(cp))
        return None if d == chr(cp) else [ord(c) for c in d]

    def lower(self, cp):
        if cp in LOWER_NEWER_THAN_14:
            return [LOWER_NEWER_THAN_14[cp]]
        low = chr(cp).lower()
        return None if low == chr(cp) else [ord(c) for c in low]

    def props(self, cp):
        f = 0
        f |= F_DROP if self.drop(cp) else 0
        f |= F_WS if self.white(cp) else 0
        f |= F_PUNCT if self.punct(cp) else 0
        f |= F_MN if self.mn(cp) else 0
        f |= F_CJK if in_ranges(cp, CJK) else 0
        f |= F_NFD if self.nfd(cp) else 0
        f |= F_LOWER if self.lower(cp) else 0
        return f | (self.ccc(cp) << 8)


LOOKUP_C = r"""
/* Index of cp in keys[0..n), or -1. */
static long find(const uint32_t *keys, size_t n, uint32_t cp)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (keys[mid] < cp)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && keys[lo] == cp ? (long)lo : -1;
}

static size_t copy_entry(const uint32_t *info, const uint32_t *pool, long i, uint32_t *out)
{
    if (i < 0)
        return 0;
    size_t off = info[i] >> 4, len = info[i] & 15u;
    for (size_t k = 0; k < len; k++)
        out[k] = pool[off + k];
    return len;
}

size_t hr_uc_nfd(uint32_t cp, uint32_t out[HR_UC_MAP_MAX])
{
    /* Hangul syllables: L V (T), as in the Unicode standard, section 3.12. */
    if (cp >= 0xAC00 && cp <= 0xD7A3) {
        uint32_t s = cp - 0xAC00, t = s % 28;
        out[0] = 0x1100 + s / (21 * 28);
        out[1] = 0x1161 + (s % (21 * 28)) / 28;
        if (t == 0)
            return 2;
        out[2] = 0x11A7 + t;
        return 3;
    }
    return copy_entry(hr_uc_nfd_info, hr_uc_nfd_pool,
                      find(hr_uc_nfd_keys, hr_uc_nfd_count, cp), out);
}

size_t hr_uc_lower(uint32_t cp, uint32_t out[HR_UC_MAP_MAX])
{
    return copy_entry(hr_uc_lower_info, hr_uc_lower_pool,
                      find(hr_uc_lower_keys, hr_uc_lower_count, cp), out);
}
"""


def c_array(ctype, name, values, per_line, fmt, static=True):
    storage = "static const" if static else "const"
    lines = [f"{storage} {ctype} {name}[{len(values)}] = {{"]
    for i in range(0, len(values), per_line):
        lines.append("    " + ", ".join(fmt % v for v in values[i:i + per_line]) + ",")
    lines.append("};")
    return "\n".join(lines)


def build_map(model, fn, skip=lambda cp: False):
    keys, info, pool = [], [], []
    for cp in code_points():
        if skip(cp):
            continue
        m = fn(cp)
        if m is None:
            continue
        assert len(m) <= MAP_MAX, (hex(cp), m)
        keys.append(cp)
        info.append(len(pool) << 4 | len(m))
        pool.extend(m)
    return keys, info, pool


def generate(path):
    model = Model()
    props = [0] * 0x110000
    for cp in code_points():
        props[cp] = model.props(cp)
    # The code relies on these for its ASCII fast path.
    for cp in range(0x80):
        assert props[cp] & (F_MN | F_CJK | F_NFD) == 0 and props[cp] >> 8 == 0
    # Two-stage table: stage1[cp >> SHIFT] names a unique block of stage2.
    size = 1 << SHIFT
    blocks, index, stage1 = [], {}, []
    for start in range(0, 0x110000, size):
        block = tuple(props[start:start + size])
        if block not in index:
            index[block] = len(blocks)
            blocks.append(block)
        stage1.append(index[block])
    stage2 = [v for b in blocks for v in b]
    assert len(blocks) < 65536

    hangul = lambda cp: 0xAC00 <= cp <= 0xD7A3  # decomposed in code
    nfd_keys, nfd_info, nfd_pool = build_map(model, model.nfd, hangul)
    low_keys, low_info, low_pool = build_map(model, model.lower)

    out = [
        "/*",
        " * host/model/unicode_tables.c: GENERATED by scripts/gen-unicode-tables.py; do not edit.",
        f" * Python unicodedata {ud.unidata_version}, corrected to what Hugging Face tokenizers",
        " * 0.23 does (unicode_categories: Unicode 8.0; NFD: Unicode 9.0; lower case and",
        " * White_Space: Rust std, Unicode 16.0). See the script's docstring.",
        f" * Sizes: {len(blocks)} blocks of {size}, {len(nfd_keys)} NFD entries,"
        f" {len(low_keys)} lower-case entries.",
        " */",
        '#include "model/unicode_tables.h"',
        "",
        f"_Static_assert(HR_UC_SHIFT == {SHIFT}, \"regenerate host/model/unicode_tables.c\");",
        f"_Static_assert(HR_UC_MAP_MAX >= {MAP_MAX}, \"HR_UC_MAP_MAX too small\");",
        "",
        "/* (0x110000 >> HR_UC_SHIFT) block numbers */",
        c_array("uint16_t", "hr_uc_stage1", stage1, 16, "%d", static=False),
        "",
        "/* (blocks, 1 << HR_UC_SHIFT): flags | ccc << 8 */",
        c_array("uint16_t", "hr_uc_stage2", stage2, 16, "0x%x", static=False),
        "",
        "/* NFD: sorted keys; info = pool offset << 4 | length; pool of code points */",
        c_array("uint32_t", "hr_uc_nfd_keys", nfd_keys, 10, "0x%x"),
        c_array("uint32_t", "hr_uc_nfd_info", nfd_info, 10, "0x%x"),
        c_array("uint32_t", "hr_uc_nfd_pool", nfd_pool, 10, "0x%x"),
        f"static const size_t hr_uc_nfd_count = {len(nfd_keys)};",
        "",
        "/* Lower case (Rust char::to_lowercase): same layout as NFD */",
        c_array("uint32_t", "hr_uc_lower_keys", low_keys, 10, "0x%x"),
        c_array("uint32_t", "hr_uc_lower_info", low_info, 10, "0x%x"),
        c_array("uint32_t", "hr_uc_lower_pool", low_pool, 10, "0x%x"),
        f"static const size_t hr_uc_lower_count = {len(low_keys)};",
        LOOKUP_C,
    ]
    with open(path, "w", encoding="ascii") as f:
        f.write("\n".join(out))
    print(f"wrote {path}: {len(blocks)} blocks, {len(nfd_keys)} NFD, {len(low_keys)} lower",
          file=sys.stderr)
    return model


def check(model):
    """Compares the model with HF tokenizers, code point by code point."""
    from tokenizers import normalizers, pre_tokenizers

    def bert(clean=False, cjk=False, strip=False, lower=False):
        return normalizers.BertNormalizer(clean_text=clean, handle_chinese_chars=cjk,
                                          strip_accents=strip, lowercase=lower)

    clean, strip, lower, cjk = bert(clean=True), bert(strip=True), bert(lower=True), bert(cjk=True)
    nfd = normalizers.NFD()
    pre = pre_tokenizers.BertPreTokenizer()
    bad = []

    def expect(cp, what, hf, ours):
        if hf != ours:
            bad.append(f"U+{cp:04X} {what}: hf={hf!r} tables={ours!r}")

    # One old mark for each combining class, to test canonical ordering.
    marks = {}
    for cp in code_points():
        k = model.ccc(cp)
        if k and k not in marks and model.nfd(cp) is None:
            marks[k] = cp
    for cp in code_points():
        c = chr(cp)
        out = clean.normalize_str("a" + c + "b")
        ours = "ab" if model.drop(cp) else "a b" if model.white(cp) else "a" + c + "b"
        if cp == 0x20:
            ours = "a b"
        expect(cp, "clean_text", out, ours)
        expect(cp, "chinese", cjk.normalize_str(c),
               " " + c + " " if in_ranges(cp, CJK) else c)
        d = model.nfd(cp)
        expect(cp, "nfd", nfd.normalize_str(c), "".join(map(chr, d)) if d else c)
        if d is None:
            expect(cp, "mn", strip.normalize_str("a" + c + "b") == "ab", model.mn(cp))
        low = model.lower(cp)
        expect(cp, "lower", lower.normalize_str(c), "".join(map(chr, low)) if low else c)
        pieces = [p for p, _ in pre.pre_tokenize_str("a" + c + "b")]
        kind = "ws" if pieces == ["a", "b"] else "punct" if pieces == ["a", c, "b"] else "word"
        ours = "ws" if cp in model.ws else "punct" if model.punct(cp) else "word"
        expect(cp, "pretokenize", kind, ours)
        k = model.ccc(cp)
        if (k or ud.combining(c)) and d is None:
            for mk, m in marks.items():
                for s in ("a" + chr(m) + c, "a" + c + chr(m)):
                    seq = [ord(x) for x in s]
                    # stable sort of the marks after the starter, by our classes
                    ours = "".join(map(chr, seq[:1] + sorted(seq[1:], key=model.ccc)))
                    if model.ccc(seq[1]) == 0 or model.ccc(seq[2]) == 0:
                        ours = s
                    expect(cp, f"order with U+{m:04X}", nfd.normalize_str(s), ours)
    for line in bad[:50]:
        print(line, file=sys.stderr)
    print(f"check: {len(bad)} differences from HF tokenizers", file=sys.stderr)
    return not bad


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(here, "..", "host", "unicode_tables.c"))
    ap.add_argument("--check", action="store_true",
                    help="compare with the `tokenizers` package (exhaustive, ~1 min)")
    args = ap.parse_args()
    if ud.unidata_version != BASE_VERSION:
        sys.exit(f"gen-unicode-tables: needs Python's unicodedata {BASE_VERSION} "
                 f"(Python 3.11), this one is {ud.unidata_version}: the correction "
                 "lists are relative to it")
    model = generate(os.path.normpath(args.out))
    if args.check and not check(model):
        sys.exit(1)


if __name__ == "__main__":
    main()
