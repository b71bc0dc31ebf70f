/* Wire codec: round trips, and every truncation / extension of valid messages is refused
 * with an error value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/wire.h"

static void test_cursor_bounds(void **state)
{
    (void)state;
    uint8_t buf[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    struct nr_cur c;
    uint64_t v64;
    uint32_t v32;
    uint16_t v16;
    uint8_t v8;

    nr_cur_init(&c, buf, 8);
    assert_int_equal(nr_cur_u64(&c, &v64), 0);
    assert_int_equal(v64, 0x0807060504030201ull);
    assert_int_equal(nr_cur_u8(&c, &v8), NR_ETRUNCATED);
    assert_int_equal(nr_cur_u16(&c, &v16), NR_ETRUNCATED); /* sticky */
    nr_cur_init(&c, buf, 3);
    assert_int_equal(nr_cur_u32(&c, &v32), NR_ETRUNCATED);
    nr_cur_init(&c, buf, 2);
    assert_int_equal(nr_cur_u16(&c, &v16), 0);
    assert_int_equal(v16, 0x0201);
}

static size_t make_peer(uint8_t *buf, uint16_t n, uint8_t type, const uint8_t *body, uint32_t len)
{
    struct nr_peer_hdr h;
    memset(&h, 0, sizeof(h));
    h.type = type;
    h.sender = 1;
    h.body_len = len;
    h.sender_inc = 0x100000007ull;
    h.dest_inc = 0x200000009ull;
    for (uint16_t i = 0; i < n; i++)
        h.view[i] = 0x1000u + i;
    uint8_t *p = nr_peer_hdr_put(buf, n, &h);
    memcpy(p, body, len);
    return (size_t)(p - buf) + len;
}

static void test_peer_header_round_trip(void **state)
{
    (void)state;
    uint8_t buf[512], body[40];
    struct nr_peer_hdr h;
    struct nr_cur b;
    for (uint16_t n = 2; n <= NR_MAX_MEMBERS; n++) {
        memset(body, 0x42, sizeof(body));
        size_t len = make_peer(buf, n, NR_MSG_ACK, body, 9);
        assert_int_equal(len, NR_PEER_HDR_BYTES(n) + 9);
        assert_int_equal(nr_peer_hdr_decode(&h, &b, buf, len, n), 0);
        assert_int_equal(h.type, NR_MSG_ACK);
        assert_int_equal(h.sender, 1);
        assert_int_equal(h.sender_inc, 0x100000007ull);
        assert_int_equal(h.dest_inc, 0x200000009ull);
        for (uint16_t i = 0; i < n; i++)
            assert_int_equal(h.view[i], 0x1000u + i);
        assert_int_equal(b.left, 9);
    }
}

static void test_peer_header_every_bad_length(void **state)
{
    (void)state;
    uint8_t buf[512], body[16] = {0};
    struct nr_peer_hdr h;
    struct nr_cur b;
    size_t len = make_peer(buf, 3, NR_MSG_ACK, body, 9);
    /* every truncation */
    for (size_t l = 0; l < len; l++)
        assert_true(nr_peer_hdr_decode(&h, &b, buf, l, 3) < 0);
    /* trailing garbage */
    assert_int_equal(nr_peer_hdr_decode(&h, &b, buf, len + 1, 3), NR_EMALFORMED);
    /* body_len lies */
    uint8_t bad[512];
    memcpy(bad, buf, len);
    nr_put_u32(bad + 4, 10);
    assert_int_equal(nr_peer_hdr_decode(&h, &b, bad, len, 3), NR_EMALFORMED);
    nr_put_u32(bad + 4, NR_MAX_BODY + 1u);
    assert_int_equal(nr_peer_hdr_decode(&h, &b, bad, len, 3), NR_ETOOBIG);
    /* version, type, sender, zero incarnation */
    memcpy(bad, buf, len);
    bad[0] = NR_WIRE_VERSION - 1u;
    assert_int_equal(nr_peer_hdr_decode(&h, &b, bad, len, 3), NR_EVERSION);
    memcpy(bad, buf, len);
    bad[1] = 0;
    assert_int_equal(nr_peer_hdr_decode(&h, &b, bad, len, 3), NR_EMALFORMED);
    bad[1] = NR_MSG_SIGN_REPLY + 1;
    assert_int_equal(nr_peer_hdr_decode(&h, &b, bad, len, 3), NR_EMALFORMED);
    memcpy(bad, buf, len);
    nr_put_u16(bad + 2, 3);
    assert_int_equal(nr_peer_hdr_decode(&h, &b, bad, len, 3), NR_EMALFORMED);
    memcpy(bad, buf, len);
    nr_put_u64(bad + 8, 0);
    assert_int_equal(nr_peer_hdr_decode(&h, &b, bad, len, 3), NR_EMALFORMED);
    /* a header built for n = 5 does not decode as n = 3 */
    len = make_peer(buf, 5, NR_MSG_ACK, body, 9);
    assert_true(nr_peer_hdr_decode(&h, &b, buf, len, 3) < 0);
}

static void client_round_trip(const struct nr_client_msg *m)
{
    uint8_t buf[NR_CLIENT_MAX_BYTES];
    struct nr_client_msg out;
    size_t len = nr_client_msg_encode(buf, sizeof(buf), m);
    assert_true(len >= NR_CLIENT_HDR_BYTES);
    assert_int_equal(nr_client_msg_decode(&out, buf, len), 0);
    assert_int_equal(out.type, m->type);
    assert_int_equal(out.req_id, m->req_id);
    assert_int_equal(out.record, m->record);
    assert_int_equal(out.name_len, m->name_len);
    assert_memory_equal(out.name, m->name, m->name_len);
    if (m->type == NR_C_UPDATE || m->type == NR_C_REPLY) {
        assert_int_equal(out.version, m->version);
        assert_memory_equal(out.digest, m->digest, NR_DIGEST_BYTES);
    }
    if (m->type == NR_C_REPLY)
        assert_int_equal(out.status, m->status);
    /* every truncation and every extension is refused */
    for (size_t l = 0; l < len; l++)
        assert_true(nr_client_msg_decode(&out, buf, l) < 0);
    uint8_t longer[NR_CLIENT_MAX_BYTES + 1];
    memcpy(longer, buf, len);
    longer[len] = 0;
    assert_true(nr_client_msg_decode(&out, longer, len + 1) < 0);
}

static void test_client_messages(void **state)
{
    (void)state;
    struct nr_client_msg m;
    memset(&m, 0, sizeof(m));
    m.type = NR_C_OPEN;
    m.req_id = 77;
    m.name_len = 5;
    memcpy(m.name, "pin-1", 5);
    client_round_trip(&m);
    m.name_len = NR_MAX_NAME;
    memset(m.name, 'x', NR_MAX_NAME);
    client_round_trip(&m);

    memset(&m, 0, sizeof(m));
    m.type = NR_C_UPDATE;
    m.req_id = 1;
    m.record = NR_CLIENT_MAX_RECORDS;
    m.version = 0x0102030405060708ull;
    memset(m.digest, 0xee, NR_DIGEST_BYTES);
    client_round_trip(&m);

    memset(&m, 0, sizeof(m));
    m.type = NR_C_READ;
    m.req_id = UINT64_MAX;
    m.record = 7;
    client_round_trip(&m);

    memset(&m, 0, sizeof(m));
    m.type = NR_C_REPLY;
    m.status = NR_EROLLBACK;
    m.version = 9;
    memset(m.digest, 0x11, NR_DIGEST_BYTES);
    client_round_trip(&m);
}

/* Known answer: a C_UPDATE's bytes (client wire version 2, 20-byte header with record). */
/* C_REPLY with the genesis id and the lineage of earlier epochs (docs/protocol.md §10.5). */
static void test_client_reply_lineage(void **state)
{
    (void)state;
    struct nr_client_msg m, d;
    uint8_t buf[NR_CLIENT_MAX_BYTES];
    memset(&m, 0, sizeof(m));
    m.type = NR_C_REPLY;
    m.req_id = 9;
    m.record = 3;
    m.has_genesis = 1;
    memset(m.genesis, 0x61, NR_GENESIS_ID_BYTES);
    client_round_trip(&m); /* genesis, no lineage: body 76 */
    assert_int_equal(nr_client_msg_encode(buf, sizeof buf, &m), NR_CLIENT_REPLY_BYTES + 32u);
    for (uint8_t k = 1; k <= NR_CLIENT_MAX_LINEAGE; k++) {
        m.npred = k;
        memset(m.pred[k - 1], 0x70 + k, NR_GENESIS_ID_BYTES);
        size_t len = nr_client_msg_encode(buf, sizeof buf, &m);
        assert_int_equal(len, NR_CLIENT_REPLY_BYTES + 32u + 1u + 32u * k);
        assert_int_equal(nr_client_msg_decode(&d, buf, len), 0);
        assert_int_equal(d.npred, k);
        assert_memory_equal(d.pred, m.pred, (size_t)k * NR_GENESIS_ID_BYTES);
        assert_memory_equal(d.genesis, m.genesis, NR_GENESIS_ID_BYTES);
    }
    /* encoder refuses a lineage that is too long or has no genesis */
    m.npred = NR_CLIENT_MAX_LINEAGE + 1u;
    assert_int_equal(nr_client_msg_encode(buf, sizeof buf, &m), 0);
    m.npred = 1;
    m.has_genesis = 0;
    assert_int_equal(nr_client_msg_encode(buf, sizeof buf, &m), 0);
    /* decoder refuses npred 0, a count that does not match the bytes, and too many */
    m.has_genesis = 1;
    m.npred = 2;
    size_t len = nr_client_msg_encode(buf, sizeof buf, &m);
    size_t at = NR_CLIENT_REPLY_BYTES + 32u; /* the npred byte */
    uint8_t bad[NR_CLIENT_MAX_BYTES];
    memcpy(bad, buf, len);
    bad[at] = 0;
    assert_int_equal(nr_client_msg_decode(&d, bad, len), NR_EMALFORMED);
    bad[at] = 3;
    assert_int_equal(nr_client_msg_decode(&d, bad, len), NR_EMALFORMED);
    bad[at] = NR_CLIENT_MAX_LINEAGE + 1u;
    assert_int_equal(nr_client_msg_decode(&d, bad, len), NR_EMALFORMED);
    memcpy(bad, buf, len); /* one byte short: body_len and content agree, count does not */
    nr_put_u32(bad + 4, (uint32_t)(len - NR_CLIENT_HDR_BYTES - 1u));
    assert_int_equal(nr_client_msg_decode(&d, bad, len - 1u), NR_EMALFORMED);
}

static void test_client_known_answer(void **state)
{
    (void)state;
    struct nr_client_msg m;
    uint8_t buf[NR_CLIENT_MAX_BYTES];
    static const uint8_t want_hdr[NR_CLIENT_HDR_BYTES] = {
        0x02, 0x02, 0x00, 0x00,                         /* version 2, C_UPDATE, reserved */
        0x28, 0x00, 0x00, 0x00,                         /* body_len 40 */
        0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, /* req_id */
        0x34, 0x12, 0x00, 0x00,                         /* record 0x1234 */
    };
    memset(&m, 0, sizeof(m));
    m.type = NR_C_UPDATE;
    m.req_id = 0x0102030405060708ull;
    m.record = 0x1234;
    m.version = 5;
    memset(m.digest, 0xab, NR_DIGEST_BYTES);
    size_t len = nr_client_msg_encode(buf, sizeof(buf), &m);
    assert_int_equal(len, NR_CLIENT_UPDATE_BYTES);
    assert_memory_equal(buf, want_hdr, sizeof(want_hdr));
    assert_int_equal(buf[NR_CLIENT_HDR_BYTES], 5);
    m.type = NR_C_REPLY;
    assert_int_equal(nr_client_msg_encode(buf, sizeof(buf), &m), NR_CLIENT_REPLY_BYTES);
}

/* Several messages in one record: decoded one after another until the record is consumed;
 * any cut inside a message is an error, never a partial success past the cut. */
static void test_client_batch(void **state)
{
    (void)state;
    uint8_t batch[4 * NR_CLIENT_MAX_BYTES];
    size_t len = 0, ends[4];
    struct nr_client_msg m, out;
    struct nr_cur c;

    for (int i = 0; i < 4; i++) {
        memset(&m, 0, sizeof(m));
        m.type = i == 0 ? NR_C_OPEN : (i == 2 ? NR_C_READ : NR_C_UPDATE);
        m.req_id = 100u + (unsigned)i;
        m.record = i == 0 ? 0u : (uint32_t)i;
        m.name_len = 2;
        memcpy(m.name, "ab", 2);
        m.version = (uint64_t)i;
        len += nr_client_msg_encode(batch + len, sizeof(batch) - len, &m);
        ends[i] = len;
    }
    nr_cur_init(&c, batch, len);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(nr_client_msg_next(&out, &c), 0);
        assert_int_equal(out.req_id, 100u + (unsigned)i);
        assert_int_equal(c.left, len - ends[i]);
    }
    assert_int_equal(c.left, 0);
    /* whole batch is not one message */
    assert_int_equal(nr_client_msg_decode(&out, batch, len), NR_EMALFORMED);
    /* every truncation: the messages before the cut decode, the cut one fails */
    for (size_t l = 1; l < len; l++) {
        int k = 0, rc = 0;
        nr_cur_init(&c, batch, l);
        while (c.left > 0 && (rc = nr_client_msg_next(&out, &c)) == 0)
            k++;
        int whole = 0, at_end = 0;
        for (int i = 0; i < 4; i++) {
            whole += ends[i] <= l;
            at_end |= ends[i] == l;
        }
        assert_int_equal(k, whole);
        if (!at_end)
            assert_true(rc < 0);
    }
    /* a body_len that claims more than is left */
    uint8_t bad[sizeof(batch)];
    memcpy(bad, batch, len);
    nr_put_u32(bad + ends[0] + 4, 1000);
    nr_cur_init(&c, bad, len);
    assert_int_equal(nr_client_msg_next(&out, &c), 0);
    assert_int_equal(nr_client_msg_next(&out, &c), NR_ETRUNCATED);
    /* a C_READ with a body is malformed even inside a batch */
    memcpy(bad, batch, len);
    nr_put_u32(bad + ends[1] + 4, 4);
    nr_cur_init(&c, bad, len);
    assert_int_equal(nr_client_msg_next(&out, &c), 0);
    assert_int_equal(nr_client_msg_next(&out, &c), 0);
    assert_int_equal(nr_client_msg_next(&out, &c), NR_EMALFORMED);
}

static void test_client_bad_inputs(void **state)
{
    (void)state;
    uint8_t buf[NR_CLIENT_MAX_BYTES];
    struct nr_client_msg m, out;
    memset(&m, 0, sizeof(m));
    /* encoder refuses bad names and unknown types */
    m.type = NR_C_OPEN;
    m.name_len = 0;
    assert_int_equal(nr_client_msg_encode(buf, sizeof(buf), &m), 0);
    m.name_len = NR_MAX_NAME + 1;
    assert_int_equal(nr_client_msg_encode(buf, sizeof(buf), &m), 0);
    m.type = 99;
    assert_int_equal(nr_client_msg_encode(buf, sizeof(buf), &m), 0);
    /* decoder: oversized name length, unknown type, reserved bits, version */
    m.type = NR_C_OPEN;
    m.name_len = 3;
    memcpy(m.name, "abc", 3);
    size_t len = nr_client_msg_encode(buf, sizeof(buf), &m);
    uint8_t bad[NR_CLIENT_MAX_BYTES];
    memcpy(bad, buf, len);
    nr_put_u16(bad + NR_CLIENT_HDR_BYTES, NR_MAX_NAME + 1);
    assert_true(nr_client_msg_decode(&out, bad, len) < 0);
    memcpy(bad, buf, len);
    bad[1] = 42;
    assert_int_equal(nr_client_msg_decode(&out, bad, len), NR_EMALFORMED);
    memcpy(bad, buf, len);
    bad[2] = 1;
    assert_int_equal(nr_client_msg_decode(&out, bad, len), NR_EMALFORMED);
    memcpy(bad, buf, len);
    bad[0] = 0;
    assert_int_equal(nr_client_msg_decode(&out, bad, len), NR_EVERSION);
    /* random bytes never crash */
    srand(7);
    for (int i = 0; i < 20000; i++) {
        size_t l = (size_t)rand() % sizeof(bad);
        for (size_t k = 0; k < l; k++)
            bad[k] = (uint8_t)rand();
        int rc = nr_client_msg_decode(&out, bad, l);
        assert_true(rc <= 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cursor_bounds),
        cmocka_unit_test(test_peer_header_round_trip),
        cmocka_unit_test(test_peer_header_every_bad_length),
        cmocka_unit_test(test_client_messages),
        cmocka_unit_test(test_client_bad_inputs),
        cmocka_unit_test(test_client_known_answer),
        cmocka_unit_test(test_client_reply_lineage),
        cmocka_unit_test(test_client_batch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
