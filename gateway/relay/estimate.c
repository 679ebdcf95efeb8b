/* The reference's heuristic token estimator (service/token_estimator.go,
 * Feb tree f4f144bc): each code point is classed — space, newline/tab, CJK,
 * emoji, start of a letter run, start of a digit run, math symbol, '@', URL
 * delimiter, other symbol — and adds its provider's weight; the total is
 * rounded up. The sum is a double accumulated in input order exactly as the
 * reference's float64, so results match it bit for bit wherever our
 * character classes do.
 *
 * Classes come from Go's unicode tables in the reference. We carry exact
 * tables for spaces, Han/kana/Hangul, emoji and the math list, and for
 * letters and numbers ASCII, Latin-1 and the common alphabetic scripts
 * (Latin, Greek, Cyrillic, Armenian, Hebrew, Arabic, Devanagari, Thai,
 * Georgian, Hangul Jamo, full-width forms); rarer scripts count as symbols. */
#include <string.h>

#include "gateway/relay/billing.h"

struct weights {
    double word, number, cjk, symbol, math, url_delim, at_sign, emoji, newline, space;
};

/* multipliersMap; BasePad is 0 for all three. */
static const struct weights w_gemini = { 1.15, 2.8, 0.68, 0.38, 1.05, 1.2, 2.5, 1.08, 1.15, 0.2 };
static const struct weights w_claude = { 1.13, 1.63, 1.21, 0.4, 4.52, 1.26, 2.82, 2.6, 0.89, 0.39 };
static const struct weights w_openai = { 1.02, 1.55, 0.85, 0.4, 2.68, 1.0, 2.0, 2.12, 0.5, 0.42 };

struct range {
    unsigned lo, hi;
};

static int in_ranges(unsigned c, const struct range *r, size_t n)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c < r[mid].lo)
            hi = mid;
        else if (c > r[mid].hi)
            lo = mid + 1;
        else
            return 1;
    }
    return 0;
}

#define IN(c, tab) in_ranges((c), (tab), sizeof(tab) / sizeof((tab)[0]))

/* unicode.IsSpace */
static const struct range spaces[] = {
    { 0x09, 0x0D }, { 0x20, 0x20 }, { 0x85, 0x85 }, { 0xA0, 0xA0 }, { 0x1680, 0x1680 },
    { 0x2000, 0x200A }, { 0x2028, 0x2029 }, { 0x202F, 0x202F }, { 0x205F, 0x205F },
    { 0x3000, 0x3000 },
};

/* unicode.Han (Unicode 15), plus kana 3040–30FF and Hangul AC00–D7A3. */
static const struct range cjk[] = {
    { 0x2E80, 0x2E99 }, { 0x2E9B, 0x2EF3 }, { 0x2F00, 0x2FD5 }, { 0x3005, 0x3005 },
    { 0x3007, 0x3007 }, { 0x3021, 0x3029 }, { 0x3038, 0x303B }, { 0x3040, 0x30FF },
    { 0x3400, 0x4DBF }, { 0x4E00, 0x9FFF }, { 0xAC00, 0xD7A3 }, { 0xF900, 0xFA6D },
    { 0xFA70, 0xFAD9 }, { 0x16FE2, 0x16FE3 }, { 0x16FF0, 0x16FF1 }, { 0x20000, 0x2A6DF },
    { 0x2A700, 0x2B739 }, { 0x2B740, 0x2B81D }, { 0x2B820, 0x2CEA1 }, { 0x2CEB0, 0x2EBE0 },
    { 0x2F800, 0x2FA1D }, { 0x30000, 0x3134A }, { 0x31350, 0x323AF },
};

/* isEmoji */
static const struct range emoji[] = {
    { 0x2600, 0x27BF }, { 0x1F300, 0x1F9FF }, { 0x1FA00, 0x1FAFF },
};

/* unicode.IsNumber (Nd, Nl, No), the common part. Checked after CJK and
 * emoji, as the reference does, so ranges inside those are moot. */
static const struct range numbers[] = {
    { '0', '9' }, { 0xB2, 0xB3 }, { 0xB9, 0xB9 }, { 0xBC, 0xBE }, { 0x660, 0x669 },
    { 0x6F0, 0x6F9 }, { 0x966, 0x96F }, { 0xE50, 0xE59 }, { 0x2070, 0x2070 },
    { 0x2074, 0x2079 }, { 0x2080, 0x2089 }, { 0x2150, 0x2182 }, { 0x2185, 0x2189 },
    { 0x2460, 0x249B }, { 0x24EA, 0x24FF }, { 0x3192, 0x3195 }, { 0x3220, 0x3229 },
    { 0x3248, 0x324F }, { 0x3251, 0x325F }, { 0x3280, 0x3289 }, { 0x32B1, 0x32BF },
    { 0xFF10, 0xFF19 }, { 0x1D7CE, 0x1D7FF },
};

/* unicode.IsLetter, the common scripts. */
static const struct range letters[] = {
    { 'A', 'Z' }, { 'a', 'z' }, { 0xAA, 0xAA }, { 0xB5, 0xB5 }, { 0xBA, 0xBA },
    { 0xC0, 0xD6 }, { 0xD8, 0xF6 }, { 0xF8, 0x2C1 }, { 0x2C6, 0x2D1 }, { 0x2E0, 0x2E4 },
    { 0x2EC, 0x2EC }, { 0x2EE, 0x2EE }, { 0x370, 0x374 }, { 0x376, 0x377 },
    { 0x37A, 0x37D }, { 0x37F, 0x37F }, { 0x386, 0x386 }, { 0x388, 0x38A },
    { 0x38C, 0x38C }, { 0x38E, 0x3A1 }, { 0x3A3, 0x3F5 }, { 0x3F7, 0x481 },
    { 0x48A, 0x52F }, { 0x531, 0x556 }, { 0x559, 0x559 }, { 0x560, 0x588 },
    { 0x5D0, 0x5EA }, { 0x5EF, 0x5F2 }, { 0x620, 0x64A }, { 0x66E, 0x66F },
    { 0x671, 0x6D3 }, { 0x6D5, 0x6D5 }, { 0x6E5, 0x6E6 }, { 0x6EE, 0x6EF },
    { 0x6FA, 0x6FC }, { 0x6FF, 0x6FF }, { 0x904, 0x939 }, { 0x93D, 0x93D },
    { 0x950, 0x950 }, { 0x958, 0x961 }, { 0x971, 0x980 }, { 0xE01, 0xE30 },
    { 0xE32, 0xE33 }, { 0xE40, 0xE46 }, { 0x10A0, 0x10C5 }, { 0x10D0, 0x10FA },
    { 0x10FC, 0x11FF }, { 0x1E00, 0x1F15 }, { 0x1F18, 0x1F1D }, { 0x1F20, 0x1F45 },
    { 0x1F48, 0x1F4D }, { 0x1F50, 0x1F57 }, { 0x1F59, 0x1F7D }, { 0x1F80, 0x1FB4 },
    { 0x1FB6, 0x1FBC }, { 0x2071, 0x2071 }, { 0x207F, 0x207F }, { 0x2090, 0x209C },
    { 0x3131, 0x318E }, { 0xA000, 0xA48C }, { 0xFF21, 0xFF3A }, { 0xFF41, 0xFF5A },
    { 0xFF66, 0xFFBE }, { 0x1D400, 0x1D7CB },
};

/* isMathSymbol: the reference's list outside the blocks below, then
 * U+2200–22FF, U+2A00–2AFF and U+1D400–1D7FF (those last are letters and
 * digits, which are classed first). Superscript and subscript digits in
 * the list are numbers first too. */
static const struct range math[] = {
    { 0xAC, 0xAC }, { 0xB0, 0xB1 }, { 0xD7, 0xD7 }, { 0xF7, 0xF7 }, { 0x2032, 0x2034 },
    { 0x207A, 0x207E }, { 0x208A, 0x208E }, { 0x2200, 0x22FF }, { 0x2A00, 0x2AFF },
    { 0x1D400, 0x1D7FF },
};

enum { W_NONE = 0, W_LATIN = 1, W_NUMBER = 2 };

/* estimateRune */
static void estimate_rune(struct gw_estimator *e, unsigned c)
{
    const struct weights *w = e->w;
    int type;

    if (IN(c, spaces)) {
        e->word = W_NONE;
        e->count += c == '\n' || c == '\t' ? w->newline : w->space;
        return;
    }
    if (c >= 0x2E80 && IN(c, cjk)) {
        e->word = W_NONE;
        e->count += w->cjk;
        return;
    }
    if (c >= 0x2600 && IN(c, emoji)) {
        e->word = W_NONE;
        e->count += w->emoji;
        return;
    }
    type = IN(c, numbers) ? W_NUMBER : IN(c, letters) ? W_LATIN : W_NONE;
    if (type != W_NONE) {
        if (e->word != type)
            e->count += type == W_NUMBER ? w->number : w->word;
        e->word = type;
        return;
    }
    e->word = W_NONE;
    if (IN(c, math))
        e->count += w->math;
    else if (c == '@')
        e->count += w->at_sign;
    else if (c < 0x80 && strchr("/:?&=;#%", (int)c))
        e->count += w->url_delim;
    else
        e->count += w->symbol;
}

#define RUNE_ERROR 0xFFFDu

/* Go's utf8.DecodeRune on s[0..n): the code point and its width; an
 * invalid byte decodes as U+FFFD of width 1. Returns width 0 when s is a
 * valid but incomplete prefix (utf8.FullRune false). */
static size_t decode(const unsigned char *s, size_t n, unsigned *cp)
{
    unsigned b = s[0], lo = 0x80, hi = 0xBF, c;
    size_t len, i;

    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    if (b >= 0xC2 && b <= 0xDF) {
        len = 2;
        c = b & 0x1F;
    } else if (b >= 0xE0 && b <= 0xEF) {
        len = 3;
        c = b & 0x0F;
        if (b == 0xE0)
            lo = 0xA0;
        else if (b == 0xED)
            hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
        len = 4;
        c = b & 0x07;
        if (b == 0xF0)
            lo = 0x90;
        else if (b == 0xF4)
            hi = 0x8F;
    } else {
        *cp = RUNE_ERROR;
        return 1;
    }
    for (i = 1; i < len; i++) {
        if (i >= n)
            return 0;
        if (s[i] < lo || s[i] > hi) {
            *cp = RUNE_ERROR;
            return 1;
        }
        lo = 0x80;
        hi = 0xBF;
        c = c << 6 | (s[i] & 0x3F);
    }
    *cp = c;
    return len;
}

static const struct weights *weights_for(const char *model)
{
    if (model && strcasestr(model, "gemini"))
        return &w_gemini;
    if (model && strcasestr(model, "claude"))
        return &w_claude;
    return &w_openai;
}

void gw_estimator_init(struct gw_estimator *e, const char *model)
{
    memset(e, 0, sizeof *e);
    e->w = weights_for(model);
}

static void scan(struct gw_estimator *e, const unsigned char *s, size_t n)
{
    size_t i = 0, w;
    unsigned cp;

    while (i < n) {
        w = decode(s + i, n - i, &cp);
        if (!w) { /* n - i ≤ 3 here */
            memcpy(e->pending, s + i, n - i);
            e->npending = (unsigned)(n - i);
            return;
        }
        estimate_rune(e, cp);
        i += w;
    }
}

void gw_estimator_feed(struct gw_estimator *e, const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    unsigned char rest[4];
    size_t i = 0, w, nrest;
    unsigned cp;

    /* Finish a sequence split at the previous chunk's end. One more byte
     * either completes it or shows it invalid: then its lead byte is one
     * U+FFFD and the bytes after it are scanned afresh, as Go would. */
    while (e->npending && i < len) {
        e->pending[e->npending++] = s[i++];
        w = decode(e->pending, e->npending, &cp);
        if (!w)
            continue;
        estimate_rune(e, cp);
        nrest = e->npending - w;
        memcpy(rest, e->pending + w, nrest);
        e->npending = 0;
        scan(e, rest, nrest);
    }
    if (i < len)
        scan(e, s + i, len - i);
}

long long gw_estimator_result(struct gw_estimator *e)
{
    /* Bytes of a sequence the text ended inside: one U+FFFD each, as Go's
     * range over a string does. */
    while (e->npending) {
        estimate_rune(e, RUNE_ERROR);
        e->npending--;
    }
    long long n = (long long)e->count;
    return (double)n < e->count ? n + 1 : n; /* math.Ceil */
}

long long gw_estimate_text_tokens(const char *model, const char *text, size_t len)
{
    struct gw_estimator e;

    if (!text || !len)
        return 0;
    gw_estimator_init(&e, model);
    gw_estimator_feed(&e, text, len);
    return gw_estimator_result(&e);
}
