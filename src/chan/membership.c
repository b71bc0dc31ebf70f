#include "chan/membership.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/hex.h"
#include "tee/file.h"

#define MAX_TOKENS 8u

struct tok {
    const char *p;
    size_t len;
};

__attribute__((format(printf, 5, 6))) static void set_err(char *err, size_t cap, const char *name,
                                                          unsigned line, const char *fmt, ...)
{
    if (!err || cap == 0)
        return;
    int n = line ? snprintf(err, cap, "%s:%u: ", name, line) : snprintf(err, cap, "%s: ", name);
    if (n < 0 || (size_t)n >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + n, cap - (size_t)n, fmt, ap);
    va_end(ap);
}

static int tok_is(const struct tok *t, const char *s)
{
    size_t l = strlen(s);
    return t->len == l && memcmp(t->p, s, l) == 0;
}

/* Decode exactly `outlen` bytes from a token of exactly 2*outlen hex digits. */
static int parse_hex(uint8_t *out, size_t outlen, const struct tok *t, const char *what,
                     const struct nr_membership *m, unsigned line, char *err, size_t cap)
{
    if (t->len != 2 * outlen) {
        set_err(err, cap, m->name, line, "%s: expected %zu hex digits, got %zu", what, 2 * outlen,
                t->len);
        return NR_EMALFORMED;
    }
    if (nr_hex_decode(out, outlen, t->p, t->len) != NR_OK) {
        set_err(err, cap, m->name, line, "bad hex in %s", what);
        return NR_EMALFORMED;
    }
    return NR_OK;
}

/* Decimal without sign or leading zeros, <= max. */
static int parse_dec(unsigned long *out, const struct tok *t, unsigned long max, const char *what,
                     const struct nr_membership *m, unsigned line, char *err, size_t cap)
{
    unsigned long v = 0;
    if (t->len == 0 || t->len > 10 || (t->len > 1 && t->p[0] == '0'))
        goto bad;
    for (size_t i = 0; i < t->len; i++) {
        if (t->p[i] < '0' || t->p[i] > '9')
            goto bad;
        v = v * 10u + (unsigned long)(t->p[i] - '0');
    }
    if (v > max) {
        set_err(err, cap, m->name, line, "%s %lu out of range (max %lu)", what, v, max);
        return NR_EMALFORMED;
    }
    *out = v;
    return NR_OK;
bad:
    set_err(err, cap, m->name, line, "bad number in %s", what);
    return NR_EMALFORMED;
}

static size_t tokenize(const char *p, size_t len, struct tok *toks, size_t max)
{
    size_t n = 0, i = 0;
    while (i < len) {
        while (i < len && (p[i] == ' ' || p[i] == '\t'))
            i++;
        if (i >= len)
            break;
        size_t start = i;
        while (i < len && p[i] != ' ' && p[i] != '\t')
            i++;
        if (n < max) {
            toks[n].p = p + start;
            toks[n].len = i - start;
        }
        n++; /* counts past max so callers can report the real count */
    }
    return n;
}

static int want_args(size_t ntok, size_t lo, size_t hi, const char *kw,
                     const struct nr_membership *m, unsigned line, char *err, size_t cap)
{
    size_t args = ntok - 1;
    if (args >= lo && args <= hi)
        return NR_OK;
    if (lo == hi)
        set_err(err, cap, m->name, line, "%s: expected %zu value%s, got %zu", kw, lo,
                lo == 1 ? "" : "s", args);
    else
        set_err(err, cap, m->name, line, "%s: expected %zu to %zu values, got %zu", kw, lo, hi,
                args);
    return NR_EMALFORMED;
}

static int once(unsigned *seen, unsigned line, const char *kw, const struct nr_membership *m,
                char *err, size_t cap)
{
    if (*seen) {
        set_err(err, cap, m->name, line, "duplicate %s (first on line %u)", kw, *seen);
        return NR_EMALFORMED;
    }
    *seen = line;
    return NR_OK;
}

static int parse_member(struct nr_membership *m, const struct tok *t, size_t ntok, unsigned line,
                        char *err, size_t cap)
{
    int rc = want_args(ntok, 4, 5, "member", m, line, err, cap);
    if (rc != NR_OK)
        return rc;
    if (m->n_members >= NR_MAX_MEMBERS) {
        set_err(err, cap, m->name, line, "too many members (max %u)", NR_MAX_MEMBERS);
        return NR_EMALFORMED;
    }
    struct nr_member *mb = &m->members[m->n_members];
    memset(mb, 0, sizeof *mb);
    unsigned long idx = 0;
    if ((rc = parse_dec(&idx, &t[1], NR_MAX_MEMBERS - 1u, "member index", m, line, err, cap)) !=
        NR_OK)
        return rc;
    mb->index = (uint16_t)idx;
    if ((rc = parse_hex(mb->identity_pub, sizeof mb->identity_pub, &t[2], "identity_pub", m, line,
                        err, cap)) != NR_OK ||
        (rc = parse_hex(mb->platform_id, sizeof mb->platform_id, &t[3], "platform_id", m, line, err,
                        cap)) != NR_OK)
        return rc;
    if (t[4].len == 0 || t[4].len % 2 != 0 || t[4].len > 2u * NR_EVIDENCE_MAX_BYTES) {
        set_err(err, cap, m->name, line,
                "evidence: expected an even number of hex digits, 2 to %u, got %zu",
                2u * NR_EVIDENCE_MAX_BYTES, t[4].len);
        return NR_EMALFORMED;
    }
    if ((rc = parse_hex(mb->evidence, t[4].len / 2, &t[4], "evidence", m, line, err, cap)) != NR_OK)
        return rc;
    mb->ev_len = t[4].len / 2;
    if (ntok == 6) {
        if ((rc = parse_hex(mb->eth_addr, sizeof mb->eth_addr, &t[5], "eth_address", m, line, err,
                            cap)) != NR_OK)
            return rc;
        mb->has_eth = 1;
    }
    mb->line = line;
    m->n_members++;
    return NR_OK;
}

static int parse_line(struct nr_membership *m, const char *p, size_t len, unsigned line,
                      int *have_header, char *err, size_t cap)
{
    struct tok t[MAX_TOKENS];
    size_t ntok = tokenize(p, len, t, MAX_TOKENS);
    unsigned long v = 0;
    int rc;
    if (ntok == 0 || t[0].p[0] == '#')
        return NR_OK; /* blank or comment */
    if (ntok > MAX_TOKENS) {
        set_err(err, cap, m->name, line, "too many fields (%zu)", ntok);
        return NR_EMALFORMED;
    }
    if (!*have_header) {
        if (!tok_is(&t[0], "narrator-membership") || ntok != 2) {
            set_err(err, cap, m->name, line, "expected header 'narrator-membership %u'",
                    NR_MEMBERSHIP_VERSION);
            return NR_EMALFORMED;
        }
        if (!tok_is(&t[1], "1")) {
            set_err(err, cap, m->name, line, "unsupported membership format version '%.*s'",
                    (int)(t[1].len > 16 ? 16 : t[1].len), t[1].p);
            return NR_EVERSION;
        }
        *have_header = 1;
        return NR_OK;
    }
    if (tok_is(&t[0], "system_id")) {
        if ((rc = want_args(ntok, 1, 1, "system_id", m, line, err, cap)) != NR_OK ||
            (rc = once(&m->line_system_id, line, "system_id", m, err, cap)) != NR_OK)
            return rc;
        return parse_hex(m->system_id, sizeof m->system_id, &t[1], "system_id", m, line, err, cap);
    }
    if (tok_is(&t[0], "n") || tok_is(&t[0], "f")) {
        int is_n = t[0].p[0] == 'n';
        const char *kw = is_n ? "n" : "f";
        if ((rc = want_args(ntok, 1, 1, kw, m, line, err, cap)) != NR_OK ||
            (rc = once(is_n ? &m->line_n : &m->line_f, line, kw, m, err, cap)) != NR_OK)
            return rc;
        if ((rc = parse_dec(&v, &t[1], is_n ? NR_MAX_MEMBERS : (NR_MAX_MEMBERS - 1u) / 2u, kw, m,
                            line, err, cap)) != NR_OK)
            return rc;
        if (is_n)
            m->n = (uint16_t)v;
        else
            m->f = (uint16_t)v;
        return NR_OK;
    }
    if (tok_is(&t[0], "measurement")) {
        uint8_t meas[NR_MEASUREMENT_BYTES];
        if ((rc = want_args(ntok, 1, 1, "measurement", m, line, err, cap)) != NR_OK ||
            (rc = parse_hex(meas, sizeof meas, &t[1], "measurement", m, line, err, cap)) != NR_OK)
            return rc;
        for (unsigned i = 0; i < m->n_measurements; i++) {
            if (memcmp(m->measurements[i], meas, sizeof meas) == 0) {
                set_err(err, cap, m->name, line, "duplicate measurement");
                return NR_EMALFORMED;
            }
        }
        if (m->n_measurements >= NR_MAX_ALLOWED_MEASUREMENTS) {
            set_err(err, cap, m->name, line, "too many measurements (max %u)",
                    NR_MAX_ALLOWED_MEASUREMENTS);
            return NR_EMALFORMED;
        }
        memcpy(m->measurements[m->n_measurements++], meas, sizeof meas);
        return NR_OK;
    }
    if (tok_is(&t[0], "attestation_root")) {
        if ((rc = want_args(ntok, 1, 1, "attestation_root", m, line, err, cap)) != NR_OK ||
            (rc = once(&m->line_root, line, "attestation_root", m, err, cap)) != NR_OK)
            return rc;
        return parse_hex(m->attestation_root, sizeof m->attestation_root, &t[1], "attestation_root",
                         m, line, err, cap);
    }
    if (tok_is(&t[0], "member"))
        return parse_member(m, t, ntok, line, err, cap);
    set_err(err, cap, m->name, line, "unknown field '%.*s'", (int)(t[0].len > 32 ? 32 : t[0].len),
            t[0].p);
    return NR_EMALFORMED;
}

static void set_name(struct nr_membership *m, const char *name)
{
    snprintf(m->name, sizeof m->name, "%s", name && *name ? name : "membership");
}

int nr_membership_parse(struct nr_membership *m, const char *name, const char *text, size_t len,
                        char *err, size_t errcap)
{
    if (!m || (!text && len))
        return NR_EINVAL;
    if (err && errcap)
        err[0] = '\0';
    memset(m, 0, sizeof *m);
    set_name(m, name);
    if (len > NR_MEMBERSHIP_MAX_BYTES) {
        set_err(err, errcap, m->name, 0, "file too large (%zu bytes, max %u)", len,
                NR_MEMBERSHIP_MAX_BYTES);
        return NR_ETOOBIG;
    }
    int have_header = 0, rc;
    unsigned line = 0;
    size_t pos = 0;
    while (pos < len) {
        line++;
        const char *start = text + pos;
        const char *nl = memchr(start, '\n', len - pos);
        size_t l = nl ? (size_t)(nl - start) : len - pos;
        pos += l + (nl ? 1u : 0u);
        if (l > NR_MEMBERSHIP_MAX_LINE) {
            set_err(err, errcap, m->name, line, "line too long (max %u bytes)",
                    NR_MEMBERSHIP_MAX_LINE);
            return NR_EMALFORMED;
        }
        for (size_t i = 0; i < l; i++) {
            unsigned char c = (unsigned char)start[i];
            if (c == '\t' || (c >= 0x20 && c < 0x7f))
                continue;
            set_err(err, errcap, m->name, line, "%s",
                    c == '\r'   ? "carriage return (use Unix line endings)"
                    : c == '\0' ? "NUL byte"
                                : "non-printable character");
            return NR_EMALFORMED;
        }
        if ((rc = parse_line(m, start, l, line, &have_header, err, errcap)) != NR_OK)
            return rc;
    }
    const char *missing = !have_header         ? "header 'narrator-membership 1'"
                          : !m->line_system_id ? "system_id"
                          : !m->line_n         ? "n"
                          : !m->line_f         ? "f"
                          : !m->n_measurements ? "measurement"
                          : !m->line_root      ? "attestation_root"
                          : !m->n_members      ? "member"
                                               : NULL;
    if (missing) {
        set_err(err, errcap, m->name, 0, "missing %s", missing);
        return NR_EMALFORMED;
    }
    return NR_OK;
}

int nr_membership_load(struct nr_membership *m, const char *path, char *err, size_t errcap)
{
    size_t len = 0;
    if (!m || !path)
        return NR_EINVAL;
    char *buf = malloc(NR_MEMBERSHIP_MAX_BYTES);
    if (!buf)
        return NR_ENOMEM;
    int rc = nr_file_read(path, (uint8_t *)buf, NR_MEMBERSHIP_MAX_BYTES, &len);
    if (rc != NR_OK) {
        memset(m, 0, sizeof *m);
        set_name(m, path);
        set_err(err, errcap, m->name, 0, "%s", nr_strerror(rc));
    } else {
        rc = nr_membership_parse(m, path, buf, len, err, errcap);
    }
    free(buf);
    return rc;
}

/* ---- building, verification, lookup ---- */

void nr_membership_init(struct nr_membership *m, const uint8_t system_id[NR_SYSTEM_ID_BYTES],
                        uint16_t n, uint16_t f,
                        const uint8_t attestation_root[NR_ATTEST_ROOT_PUB_BYTES])
{
    memset(m, 0, sizeof *m);
    set_name(m, "membership");
    memcpy(m->system_id, system_id, NR_SYSTEM_ID_BYTES);
    m->n = n;
    m->f = f;
    memcpy(m->attestation_root, attestation_root, NR_ATTEST_ROOT_PUB_BYTES);
}

int nr_membership_add_measurement(struct nr_membership *m,
                                  const uint8_t measurement[NR_MEASUREMENT_BYTES])
{
    if (!m || !measurement)
        return NR_EINVAL;
    for (unsigned i = 0; i < m->n_measurements; i++) {
        if (memcmp(m->measurements[i], measurement, NR_MEASUREMENT_BYTES) == 0)
            return NR_EEXIST;
    }
    if (m->n_measurements >= NR_MAX_ALLOWED_MEASUREMENTS)
        return NR_EFULL;
    memcpy(m->measurements[m->n_measurements++], measurement, NR_MEASUREMENT_BYTES);
    return NR_OK;
}

int nr_membership_add_member(struct nr_membership *m, uint16_t index,
                             const uint8_t identity_pub[NR_IDENTITY_PUB_BYTES],
                             const uint8_t platform_id[NR_PLATFORM_ID_BYTES],
                             const uint8_t *evidence, size_t ev_len, const uint8_t *eth_addr)
{
    if (!m || !identity_pub || !platform_id || !evidence || ev_len == 0 ||
        ev_len > NR_EVIDENCE_MAX_BYTES)
        return NR_EINVAL;
    if (m->n_members >= NR_MAX_MEMBERS)
        return NR_EFULL;
    struct nr_member *mb = &m->members[m->n_members++];
    memset(mb, 0, sizeof *mb);
    mb->index = index;
    memcpy(mb->identity_pub, identity_pub, NR_IDENTITY_PUB_BYTES);
    memcpy(mb->platform_id, platform_id, NR_PLATFORM_ID_BYTES);
    memcpy(mb->evidence, evidence, ev_len);
    mb->ev_len = ev_len;
    if (eth_addr) {
        mb->has_eth = 1;
        memcpy(mb->eth_addr, eth_addr, NR_IDENTITY_ETH_ADDR_BYTES);
    }
    return NR_OK;
}

void nr_membership_policy(const struct nr_membership *m, struct nr_attest_policy *policy)
{
    memset(policy, 0, sizeof *policy);
    memcpy(policy->root_pub, m->attestation_root, sizeof policy->root_pub);
    unsigned k = m->n_measurements < NR_MAX_ALLOWED_MEASUREMENTS ? m->n_measurements
                                                                 : NR_MAX_ALLOWED_MEASUREMENTS;
    for (unsigned i = 0; i < k; i++)
        memcpy(policy->allowed[i], m->measurements[i], NR_MEASUREMENT_BYTES);
    policy->n_allowed = k;
}

/* "name:line: member 2: " prefix for member errors (line may be 0 for in-memory). */
#define MERR(mb, ...) set_err(err, errcap, m->name, (mb)->line, __VA_ARGS__)

int nr_membership_verify(const struct nr_membership *m, const char *backend,
                         const struct nr_attest_policy *policy, char *err, size_t errcap)
{
    struct nr_attest_policy pol;
    if (!m || !backend)
        return NR_EINVAL;
    if (err && errcap)
        err[0] = '\0';
    if (m->n < 1 || m->n > NR_MAX_MEMBERS || m->n != 2u * m->f + 1u) {
        set_err(err, errcap, m->name, m->line_n, "n must be 2f+1 and at most %u (n %u, f %u)",
                NR_MAX_MEMBERS, m->n, m->f);
        return NR_ECONFIG;
    }
    if (m->n_members != m->n) {
        set_err(err, errcap, m->name, m->line_n, "n is %u but %u member%s listed", m->n,
                m->n_members, m->n_members == 1 ? " is" : "s are");
        return NR_ECONFIG;
    }
    if (m->n_measurements == 0 || m->n_measurements > NR_MAX_ALLOWED_MEASUREMENTS) {
        set_err(err, errcap, m->name, 0, "between 1 and %u measurements required",
                NR_MAX_ALLOWED_MEASUREMENTS);
        return NR_ECONFIG;
    }
    if (policy) {
        if (sodium_memcmp(policy->root_pub, m->attestation_root, sizeof pol.root_pub) != 0) {
            set_err(err, errcap, m->name, m->line_root,
                    "attestation_root differs from the configured attestation root");
            return NR_ECONFIG;
        }
        pol = *policy;
    } else {
        nr_membership_policy(m, &pol);
    }
    for (unsigned i = 0; i < m->n_members; i++) {
        const struct nr_member *a = &m->members[i];
        if (a->index >= m->n) {
            MERR(a, "member index %u out of range (n %u)", a->index, m->n);
            return NR_ECONFIG;
        }
        if (a->ev_len == 0 || a->ev_len > NR_EVIDENCE_MAX_BYTES) {
            MERR(a, "member %u: bad evidence length", a->index);
            return NR_ECONFIG;
        }
        for (unsigned j = 0; j < i; j++) {
            const struct nr_member *b = &m->members[j];
            if (a->index == b->index) {
                MERR(a, "duplicate member index %u (first on line %u)", a->index, b->line);
                return NR_ECONFIG;
            }
            if (memcmp(a->identity_pub, b->identity_pub, NR_IDENTITY_PUB_BYTES) == 0) {
                MERR(a, "member %u: identity key already used by member %u (line %u)", a->index,
                     b->index, b->line);
                return NR_ECONFIG;
            }
            if (memcmp(a->platform_id, b->platform_id, NR_PLATFORM_ID_BYTES) == 0) {
                MERR(a,
                     "member %u: platform already holds member %u (line %u); one slot per "
                     "platform",
                     a->index, b->index, b->line);
                return NR_ECONFIG;
            }
        }
    }
    for (unsigned i = 0; i < m->n_members; i++) {
        const struct nr_member *a = &m->members[i];
        uint8_t rd[NR_REPORT_DATA_BYTES], pid[NR_PLATFORM_ID_BYTES];
        nr_identity_report_data(rd, m->system_id, a->identity_pub, a->has_eth ? a->eth_addr : NULL);
        int rc = nr_tee_verify_evidence(backend, &pol, a->evidence, a->ev_len, rd, NULL, pid);
        if (rc != NR_OK) {
            MERR(a,
                 "member %u: evidence rejected: %s (it must bind this identity key, eth "
                 "address and system id)",
                 a->index, nr_strerror(rc));
            return rc;
        }
        if (sodium_memcmp(pid, a->platform_id, NR_PLATFORM_ID_BYTES) != 0) {
            MERR(a, "member %u: evidence comes from another platform than platform_id", a->index);
            return NR_ECONFIG;
        }
    }
    return NR_OK;
}

const struct nr_member *nr_membership_member(const struct nr_membership *m, uint16_t index)
{
    if (!m)
        return NULL;
    for (unsigned i = 0; i < m->n_members; i++) {
        if (m->members[i].index == index)
            return &m->members[i];
    }
    return NULL;
}

int nr_membership_lookup(void *arg, const uint8_t identity_pub[NR_IDENTITY_PUB_BYTES],
                         uint16_t *member, uint8_t platform_id[NR_PLATFORM_ID_BYTES])
{
    const struct nr_membership *m = arg;
    if (!m || !identity_pub)
        return NR_ENOTMEMBER;
    for (unsigned i = 0; i < m->n_members; i++) {
        const struct nr_member *mb = &m->members[i];
        if (memcmp(mb->identity_pub, identity_pub, NR_IDENTITY_PUB_BYTES) == 0) {
            if (member)
                *member = mb->index;
            if (platform_id)
                memcpy(platform_id, mb->platform_id, NR_PLATFORM_ID_BYTES);
            return NR_OK;
        }
    }
    return NR_ENOTMEMBER;
}

/* ---- writer ---- */

struct wbuf {
    char *p;
    size_t len, cap;
    int err;
};

__attribute__((format(printf, 2, 3))) static void wprintf(struct wbuf *w, const char *fmt, ...)
{
    if (w->err)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(w->p + w->len, w->cap - w->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= w->cap - w->len) {
        w->err = NR_EFULL;
        return;
    }
    w->len += (size_t)n;
}

static void whex(struct wbuf *w, const uint8_t *b, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    if (w->err)
        return;
    if (w->cap - w->len <= 2 * len) {
        w->err = NR_EFULL;
        return;
    }
    for (size_t i = 0; i < len; i++) {
        w->p[w->len++] = digits[b[i] >> 4];
        w->p[w->len++] = digits[b[i] & 15];
    }
    w->p[w->len] = '\0';
}

int nr_membership_write(const struct nr_membership *m, char *out, size_t cap, size_t *out_len)
{
    if (!m || !out || !out_len || cap == 0)
        return NR_EINVAL;
    struct wbuf w = {out, 0, cap, 0};
    *out_len = 0;
    wprintf(&w, "narrator-membership %u\nsystem_id ", NR_MEMBERSHIP_VERSION);
    whex(&w, m->system_id, sizeof m->system_id);
    wprintf(&w, "\nn %u\nf %u\n", m->n, m->f);
    for (unsigned i = 0; i < m->n_measurements && i < NR_MAX_ALLOWED_MEASUREMENTS; i++) {
        wprintf(&w, "measurement ");
        whex(&w, m->measurements[i], NR_MEASUREMENT_BYTES);
        wprintf(&w, "\n");
    }
    wprintf(&w, "attestation_root ");
    whex(&w, m->attestation_root, sizeof m->attestation_root);
    wprintf(&w, "\n");
    for (unsigned i = 0; i < m->n_members && i < NR_MAX_MEMBERS; i++) {
        const struct nr_member *mb = &m->members[i];
        if (mb->ev_len == 0 || mb->ev_len > NR_EVIDENCE_MAX_BYTES)
            return NR_EINVAL;
        wprintf(&w, "member %u ", mb->index);
        whex(&w, mb->identity_pub, sizeof mb->identity_pub);
        wprintf(&w, " ");
        whex(&w, mb->platform_id, sizeof mb->platform_id);
        wprintf(&w, " ");
        whex(&w, mb->evidence, mb->ev_len);
        if (mb->has_eth) {
            wprintf(&w, " ");
            whex(&w, mb->eth_addr, sizeof mb->eth_addr);
        }
        wprintf(&w, "\n");
    }
    if (w.err)
        return w.err;
    *out_len = w.len;
    return NR_OK;
}

int nr_membership_save(const struct nr_membership *m, const char *path)
{
    size_t len = 0;
    if (!m || !path)
        return NR_EINVAL;
    char *buf = malloc(NR_MEMBERSHIP_MAX_BYTES);
    if (!buf)
        return NR_ENOMEM;
    int rc = nr_membership_write(m, buf, NR_MEMBERSHIP_MAX_BYTES, &len);
    if (rc == NR_OK)
        rc = nr_file_write_atomic(path, (const uint8_t *)buf, len);
    free(buf);
    return rc;
}
