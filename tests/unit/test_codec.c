/* test_codec.c — unit test for ls_codec: an Envelope carrying an SME survives
 * pack and unpack field for field, the frame and the buffer forms hold the same
 * bytes, and everything a peer could send that is not a valid message (too large,
 * garbage, truncated, invalid UTF-8) is refused with a reason instead of unpacked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ls_codec.h"
#include "ls_proto.h"

#define S_MAX 1048576

/* --------------------------------------------------------------------------
 * A request as a client would send it: PUT of an SME with every kind of field
 * (strings with non-ASCII UTF-8, repeated strings, enums, nested messages). */

typedef struct {
    ls_envelope_pb envelope;
    Lodestone__V1__PutEntity put;
    ls_entity_pb entity;
    ls_sme_pb sme;
    ls_contact_pb contact;
    ls_money_range_pb funding;
    char *nace[2];
    char *stages[3];
    char *materials[1];
    Lodestone__V1__Instrument instruments[2];
} s_request_t;

static void s_request_init(s_request_t *r)
{
    memset(r, 0, sizeof *r);
    r->envelope = (ls_envelope_pb)LODESTONE__V1__ENVELOPE__INIT;
    r->put = (Lodestone__V1__PutEntity)LODESTONE__V1__PUT_ENTITY__INIT;
    r->entity = (ls_entity_pb)LODESTONE__V1__ENTITY__INIT;
    r->sme = (ls_sme_pb)LODESTONE__V1__SME__INIT;
    r->contact = (ls_contact_pb)LODESTONE__V1__CONTACT__INIT;
    r->funding = (ls_money_range_pb)LODESTONE__V1__MONEY_RANGE__INIT;

    r->contact.name = "Zoë Łukasiewicz";
    r->contact.email = "zoe@example.org";
    r->funding.min_eur = 250000;
    r->funding.max_eur = 2000000;
    r->nace[0] = "C24.4.5";
    r->nace[1] = "C25.6.1";
    r->stages[0] = "refining";
    r->stages[1] = "recycling";
    r->stages[2] = "";
    r->materials[0] = "cobalt";
    r->instruments[0] = LODESTONE__V1__INSTRUMENT__INSTRUMENT_EQUITY;
    r->instruments[1] = LODESTONE__V1__INSTRUMENT__INSTRUMENT_GRANT;

    r->sme.id = "sme-0001";
    r->sme.owner = "partner-a";
    r->sme.version = 7;
    r->sme.created_at = 1700000000123;
    r->sme.updated_at = -1;
    r->sme.state = LODESTONE__V1__ENTITY_STATE__ENTITY_STATE_WITHDRAWN;
    r->sme.ref = "crm/42";
    r->sme.name = "Métaux Recyclés Sàrl";
    r->sme.region = "FRK26";
    r->sme.n_nace = 2;
    r->sme.nace = r->nace;
    r->sme.n_stages = 3;
    r->sme.stages = r->stages;
    r->sme.n_materials = 1;
    r->sme.materials = r->materials;
    r->sme.trl = 6;
    r->sme.description = "Hydrometallurgical recovery of Co and Ni from black mass.";
    r->sme.contact = &r->contact;
    r->sme.consent_match = 1;
    r->sme.funding_sought = &r->funding;
    r->sme.n_instruments = 2;
    r->sme.instruments = r->instruments;

    r->entity.body_case = LODESTONE__V1__ENTITY__BODY_SME;
    r->entity.sme = &r->sme;
    r->put.entity = &r->entity;
    r->put.expected_version = 6;
    r->envelope.version = 1;
    r->envelope.request_id = "req-7f3a";
    r->envelope.body_case = LODESTONE__V1__ENVELOPE__BODY_PUT;
    r->envelope.put = &r->put;
}

static ls_envelope_pb *s_unpack(const void *data, size_t size, size_t max, const char **reason)
{
    return (ls_envelope_pb *)ls_codec_unpack(&lodestone__v1__envelope__descriptor, data, size, max,
                                             reason);
}

/* Asserts that size bytes are refused with some reason; what names the case. */
static void s_assert_refused(const char *what, const void *data, size_t size)
{
    const char *reason = NULL;
    ls_envelope_pb *got = s_unpack(data, size, S_MAX, &reason);
    if (got) {
        protobuf_c_message_free_unpacked(&got->base, NULL);
        fail_msg("%s (%zu bytes) was accepted", what, size);
    }
    if (!reason || !*reason)
        fail_msg("%s was refused without a reason", what);
}

static void s_assert_strings(size_t n, char **got, char **want)
{
    for (size_t i = 0; i < n; i++)
        assert_string_equal(got[i], want[i]);
}

/* --------------------------------------------------------------------------
 * Tests */

static void test_round_trip(void **state)
{
    (void)state;
    s_request_t want;
    s_request_init(&want);
    zframe_t *frame = ls_codec_pack(&want.envelope.base);
    assert_non_null(frame);
    assert_int_equal(zframe_size(frame), protobuf_c_message_get_packed_size(&want.envelope.base));

    const char *reason = NULL;
    ls_envelope_pb *got = s_unpack(zframe_data(frame), zframe_size(frame), S_MAX, &reason);
    zframe_destroy(&frame);
    assert_non_null(got);

    assert_int_equal(got->version, 1);
    assert_string_equal(got->request_id, "req-7f3a");
    assert_int_equal(got->body_case, LODESTONE__V1__ENVELOPE__BODY_PUT);
    assert_non_null(got->put);
    assert_int_equal(got->put->expected_version, 6);
    assert_non_null(got->put->entity);
    assert_int_equal(got->put->entity->body_case, LODESTONE__V1__ENTITY__BODY_SME);
    const ls_sme_pb *sme = got->put->entity->sme;
    assert_non_null(sme);
    assert_string_equal(sme->id, "sme-0001");
    assert_string_equal(sme->owner, "partner-a");
    assert_int_equal(sme->version, 7);
    assert_int_equal(sme->created_at, 1700000000123);
    assert_int_equal(sme->updated_at, -1);
    assert_int_equal(sme->state, LODESTONE__V1__ENTITY_STATE__ENTITY_STATE_WITHDRAWN);
    assert_string_equal(sme->ref, "crm/42");
    assert_string_equal(sme->name, "Métaux Recyclés Sàrl");
    assert_string_equal(sme->region, "FRK26");
    assert_string_equal(sme->country, "");
    assert_int_equal(sme->n_nace, 2);
    s_assert_strings(2, sme->nace, want.nace);
    assert_int_equal(sme->n_stages, 3);
    s_assert_strings(3, sme->stages, want.stages);
    assert_int_equal(sme->n_materials, 1);
    s_assert_strings(1, sme->materials, want.materials);
    assert_int_equal(sme->n_capabilities, 0);
    assert_int_equal(sme->n_themes, 0);
    assert_int_equal(sme->trl, 6);
    assert_string_equal(sme->description, want.sme.description);
    assert_string_equal(sme->website, "");
    assert_non_null(sme->contact);
    assert_string_equal(sme->contact->name, "Zoë Łukasiewicz");
    assert_string_equal(sme->contact->email, "zoe@example.org");
    assert_string_equal(sme->contact->phone, "");
    assert_true(sme->consent_match);
    assert_false(sme->consent_share_contact);
    assert_non_null(sme->funding_sought);
    assert_int_equal(sme->funding_sought->min_eur, 250000);
    assert_int_equal(sme->funding_sought->max_eur, 2000000);
    assert_int_equal(sme->n_instruments, 2);
    assert_int_equal(sme->instruments[0], LODESTONE__V1__INSTRUMENT__INSTRUMENT_EQUITY);
    assert_int_equal(sme->instruments[1], LODESTONE__V1__INSTRUMENT__INSTRUMENT_GRANT);
    protobuf_c_message_free_unpacked(&got->base, NULL);
}

static void test_buffer_equals_frame(void **state)
{
    (void)state;
    s_request_t want;
    s_request_init(&want);
    zframe_t *frame = ls_codec_pack(&want.envelope.base);
    assert_non_null(frame);
    size_t len = 0;
    uint8_t *buffer = ls_codec_pack_buffer(&want.envelope.base, &len);
    assert_non_null(buffer);
    assert_true(len > 0);
    assert_int_equal(len, zframe_size(frame));
    assert_memory_equal(buffer, zframe_data(frame), len);

    const char *reason = NULL;
    ls_envelope_pb *got = s_unpack(buffer, len, S_MAX, &reason);
    assert_non_null(got);
    assert_string_equal(got->put->entity->sme->name, "Métaux Recyclés Sàrl");
    protobuf_c_message_free_unpacked(&got->base, NULL);
    free(buffer);
    zframe_destroy(&frame);
}

static void test_empty_message_packs_to_nothing(void **state)
{
    (void)state;
    ls_envelope_pb empty = LODESTONE__V1__ENVELOPE__INIT;
    zframe_t *frame = ls_codec_pack(&empty.base);
    assert_non_null(frame);
    assert_int_equal(zframe_size(frame), 0);
    size_t len = 99;
    uint8_t *buffer = ls_codec_pack_buffer(&empty.base, &len);
    assert_non_null(buffer);
    assert_int_equal(len, 0);
    free(buffer);
    zframe_destroy(&frame);
}

static void test_empty_buffer_is_default_envelope(void **state)
{
    (void)state;
    const uint8_t nothing[1] = {0};
    const char *reason = NULL;
    ls_envelope_pb *got = s_unpack(nothing, 0, S_MAX, &reason);
    assert_non_null(got);
    assert_int_equal(got->version, 0);
    assert_string_equal(got->request_id, "");
    assert_int_equal(got->body_case, LODESTONE__V1__ENVELOPE__BODY__NOT_SET);
    protobuf_c_message_free_unpacked(&got->base, NULL);
}

static void test_size_limit(void **state)
{
    (void)state;
    s_request_t want;
    s_request_init(&want);
    size_t len = 0;
    uint8_t *buffer = ls_codec_pack_buffer(&want.envelope.base, &len);
    assert_non_null(buffer);

    /* Exactly at the limit is accepted. */
    const char *reason = NULL;
    ls_envelope_pb *got = s_unpack(buffer, len, len, &reason);
    assert_non_null(got);
    protobuf_c_message_free_unpacked(&got->base, NULL);

    /* One byte over: refused for its size, not for its content. */
    reason = NULL;
    got = s_unpack(buffer, len, len - 1, &reason);
    assert_null(got);
    assert_non_null(reason);
    assert_string_equal(reason, "message too large");
    free(buffer);
}

static void test_oversized_garbage_is_never_unpacked(void **state)
{
    (void)state;
    /* Bytes that would fail to unpack: the reason shows the size check came first. */
    uint8_t garbage[64];
    memset(garbage, 0xff, sizeof garbage);
    const char *reason = NULL;
    ls_envelope_pb *got = s_unpack(garbage, sizeof garbage, 16, &reason);
    assert_null(got);
    assert_non_null(reason);
    assert_string_equal(reason, "message too large");
}

static void test_garbage_refused(void **state)
{
    (void)state;
    uint8_t ones[32];
    memset(ones, 0xff, sizeof ones);
    s_assert_refused("0xff x 32", ones, sizeof ones);
    s_assert_refused("0xff", ones, 1);

    /* request_id (field 2, length-delimited) says 5 bytes, 2 follow. */
    const uint8_t past_end[] = {0x12, 0x05, 'a', 'b'};
    s_assert_refused("length past the end", past_end, sizeof past_end);

    /* A tag and no length at all. */
    const uint8_t no_length[] = {0x12};
    s_assert_refused("tag without length", no_length, sizeof no_length);

    /* Wire type 7 does not exist. */
    const uint8_t bad_wire_type[] = {0x0f, 0x01};
    s_assert_refused("wire type 7", bad_wire_type, sizeof bad_wire_type);

    /* A varint that never ends. */
    const uint8_t endless_varint[] = {0x08, 0x80, 0x80, 0x80};
    s_assert_refused("unterminated varint", endless_varint, sizeof endless_varint);
}

static void test_truncated_refused(void **state)
{
    (void)state;
    s_request_t want;
    s_request_init(&want);
    size_t len = 0;
    uint8_t *buffer = ls_codec_pack_buffer(&want.envelope.base, &len);
    assert_non_null(buffer);

    /* The PUT body is packed last and spans to the end; every cut inside it leaves a
     * length that runs past the end. */
    ls_envelope_pb head = want.envelope;
    head.body_case = LODESTONE__V1__ENVELOPE__BODY__NOT_SET;
    head.put = NULL;
    size_t head_len = protobuf_c_message_get_packed_size(&head.base);
    assert_true(head_len + 2 < len);
    for (size_t cut = head_len + 1; cut < len; cut++) {
        /* A copy of exactly cut bytes, so a read past the end is caught by ASan. */
        uint8_t *part = malloc(cut);
        assert_non_null(part);
        memcpy(part, buffer, cut);
        s_assert_refused("truncated PUT", part, cut);
        free(part);
    }
    free(buffer);
}

static void test_invalid_utf8_refused(void **state)
{
    (void)state;
    /* request_id = "\xc3\x28": a two-byte lead followed by a non-continuation byte.
     * proto3 requires string fields to be valid UTF-8 and ls_codec.c promises the
     * check; protobuf_c_message_check (1.4.1) only checks required fields, so the
     * codec must validate the strings itself. */
    const uint8_t top[] = {0x12, 0x02, 0xc3, 0x28};
    s_assert_refused("request_id \\xc3\\x28", top, sizeof top);

    /* The same inside a nested message: sme.name of a PUT. */
    s_request_t bad;
    s_request_init(&bad);
    char name[] = {'O', 'K', (char)0xc3, 0x28, 0};
    bad.sme.name = name;
    size_t len = 0;
    uint8_t *buffer = ls_codec_pack_buffer(&bad.envelope.base, &len);
    assert_non_null(buffer);
    s_assert_refused("sme.name \\xc3\\x28", buffer, len);
    free(buffer);

    /* A lone continuation byte in a repeated string. */
    s_request_init(&bad);
    char stage[] = {(char)0x80, 0};
    bad.stages[1] = stage;
    buffer = ls_codec_pack_buffer(&bad.envelope.base, &len);
    assert_non_null(buffer);
    s_assert_refused("sme.stages[1] \\x80", buffer, len);
    free(buffer);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_buffer_equals_frame),
        cmocka_unit_test(test_empty_message_packs_to_nothing),
        cmocka_unit_test(test_empty_buffer_is_default_envelope),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_oversized_garbage_is_never_unpacked),
        cmocka_unit_test(test_garbage_refused),
        cmocka_unit_test(test_truncated_refused),
        cmocka_unit_test(test_invalid_utf8_refused),
    };
    return cmocka_run_group_tests_name("codec", tests, NULL, NULL);
}
