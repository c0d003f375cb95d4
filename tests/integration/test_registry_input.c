/* test_registry_input.c — the registry's input table: bad inputs sent to the real
 * registry binary (with a private redis-server), each with the exact status it must
 * get and, for INVALID, the field path an error names and a part of its reason.
 * Most rows are entities written as JSON and sent with ls_client_put; raw rows are
 * frames JSON cannot express (invalid UTF-8, unknown enum numbers, oversized
 * frames, bad envelopes). After every row the registry must still answer a ping,
 * and it must exit cleanly at the end. */
#include "harness.h"

#include <czmq.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "ls_client.h"
#include "ls_codec.h"
#include "ls_json.h"
#include "ls_rpc.h"

#define S_MAX_MESSAGE 65536 /* LODESTONE_MAX_MESSAGE_BYTES for this test */
#define S_NO_REPLY (-1)     /* a row that must get no reply at all */

/* Valid entities of each kind; a row appends fields, and a repeated key replaces the
 * base's value (jansson keeps the last). */
#define SME(more)                                                                                  \
    "{\"sme\": {\"ref\": \"in-sme\", \"name\": \"Kemi Flotation Oy\", \"region\": \"FI1D7\", "     \
    "\"stages\": [\"beneficiation\"], \"materials\": [\"cobalt\"]" more "}}"
#define INV(more)                                                                                  \
    "{\"investor\": {\"ref\": \"in-inv\", \"name\": \"Arctic Growth Fund\", "                      \
    "\"type\": \"VENTURE_CAPITAL\", \"region\": \"FI1D7\"" more "}}"
#define OPP(more)                                                                                  \
    "{\"opportunity\": {\"ref\": \"in-opp\", \"kind\": \"SUPPLY_NEED\", "                          \
    "\"title\": \"Cobalt flotation pilot\", \"region\": \"FI1D7\", "                               \
    "\"stages\": [\"beneficiation\"]" more "}}"

static ls_test_proc_t *s_redis, *s_registry;
static char s_redis_url[128], s_endpoint[64]; /* the admin user's; the registry's */
static ls_test_env_t s_env;
static bool s_teardown_failed;

static int s_group_setup(void **state)
{
    (void)state;
    const char *path = getenv("LS_TEST_REGISTRY");
    s_redis = ls_test_redis_start(NULL, s_redis_url, sizeof s_redis_url);
    if (!s_redis || !path)
        return -1;
    char ignored[64], max[32];
    snprintf(max, sizeof max, "%d", S_MAX_MESSAGE);
    ls_test_env_redis(&s_env, s_redis_url, "registry");
    ls_test_env_set(&s_env, "LODESTONE_DATA_DIR", LS_TEST_DATA_DIR);
    ls_test_env_set(&s_env, "LODESTONE_MAX_MESSAGE_BYTES", max);
    ls_test_env_socket(&s_env, "REGISTRY", s_endpoint, sizeof s_endpoint);
    ls_test_env_socket(&s_env, "REGISTRY_PUB", ignored, sizeof ignored);
    s_registry = ls_test_spawn("registry", path, s_env.env);
    if (s_registry && ls_test_await_ping(s_endpoint) == 0)
        return 0;
    fprintf(stderr, "the registry did not come up\n");
    if (s_registry)
        ls_test_dump_log(s_registry);
    return -1;
}

/* A registry that does not exit 0 on SIGTERM (a crash, a sanitizer report) fails. */
static int s_group_teardown(void **state)
{
    (void)state;
    int status = s_registry ? ls_test_stop(&s_registry) : 0;
    ls_test_stop(&s_redis);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    fprintf(stderr, "the registry did not exit cleanly: status %d\n", status);
    s_teardown_failed = true;
    return -1;
}

/* ---------------------------------------------------------------------------
 * Entities */

static ls_entity_pb *s_entity(const char *text)
{
    return ls_test_entity(text, NULL, 0);
}

static void s_replace(char **field, const char *value)
{
    if (*field != protobuf_c_empty_string)
        free(*field);
    *field = strdup(value);
    assert_non_null(*field);
}

/* ---------------------------------------------------------------------------
 * Raw frames: each builder returns a heap buffer the caller frees. */

/* An Envelope of version with request id "raw" and a put of entity (none: NULL). */
static uint8_t *s_pack_put(ls_entity_pb *entity, uint32_t version, size_t *len)
{
    ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
    Lodestone__V1__PutEntity put = LODESTONE__V1__PUT_ENTITY__INIT;
    put.entity = entity;
    env.version = version;
    env.request_id = "raw";
    env.body_case = LODESTONE__V1__ENVELOPE__BODY_PUT;
    env.put = &put;
    uint8_t *frame = ls_codec_pack_buffer(&env.base, len);
    assert_non_null(frame);
    return frame;
}

static uint8_t *s_pack_entity(ls_entity_pb *entity, size_t *len)
{
    uint8_t *frame = s_pack_put(entity, 1, len);
    lodestone__v1__entity__free_unpacked(entity, NULL);
    return frame;
}

static uint8_t *s_copy(const void *bytes, size_t size, size_t *len)
{
    uint8_t *frame = malloc(size);
    assert_non_null(frame);
    memcpy(frame, bytes, size);
    *len = size;
    return frame;
}

static uint8_t *s_raw_invalid_utf8(size_t *len)
{
    ls_entity_pb *e = s_entity(SME(""));
    s_replace(&e->sme->name, "Kemi \xff\xfe Oy");
    return s_pack_entity(e, len);
}

static uint8_t *s_raw_invalid_utf8_code(size_t *len)
{
    ls_entity_pb *e = s_entity(SME(""));
    s_replace(&e->sme->materials[0], "cob\xc3");
    return s_pack_entity(e, len);
}

static uint8_t *s_raw_unknown_type(size_t *len)
{
    ls_entity_pb *e = s_entity(INV(""));
    e->investor->type = (Lodestone__V1__Investor__Type)42;
    return s_pack_entity(e, len);
}

static uint8_t *s_raw_unknown_kind(size_t *len)
{
    ls_entity_pb *e = s_entity(OPP(""));
    e->opportunity->kind = (Lodestone__V1__Opportunity__Kind)99;
    return s_pack_entity(e, len);
}

static uint8_t *s_raw_unknown_instrument(size_t *len)
{
    ls_entity_pb *e =
        s_entity(SME(", \"instruments\": [\"INSTRUMENT_LOAN\", \"INSTRUMENT_GRANT\"]"));
    e->sme->instruments[1] = (Lodestone__V1__Instrument)99;
    return s_pack_entity(e, len);
}

static uint8_t *s_raw_negative_enum(size_t *len)
{
    ls_entity_pb *e = s_entity(SME(""));
    e->sme->size_band = (Lodestone__V1__SizeBand)-1;
    return s_pack_entity(e, len);
}

/* A description that makes the frame bigger than LODESTONE_MAX_MESSAGE_BYTES. */
static uint8_t *s_raw_oversized(size_t *len)
{
    ls_entity_pb *e = s_entity(SME(""));
    char *text = ls_test_long_text(S_MAX_MESSAGE + 1000);
    s_replace(&e->sme->description, text);
    free(text);
    return s_pack_entity(e, len);
}

/* The same, but the frame stays within the limit: the field's own bound applies. */
static uint8_t *s_raw_big_within_limit(size_t *len)
{
    ls_entity_pb *e = s_entity(SME(""));
    char *text = ls_test_long_text(S_MAX_MESSAGE - 1000);
    s_replace(&e->sme->description, text);
    free(text);
    uint8_t *frame = s_pack_entity(e, len);
    assert_true(*len <= S_MAX_MESSAGE);
    return frame;
}

static uint8_t *s_raw_version_2(size_t *len)
{
    ls_entity_pb *e = s_entity(SME(""));
    uint8_t *frame = s_pack_put(e, 2, len);
    lodestone__v1__entity__free_unpacked(e, NULL);
    return frame;
}

static uint8_t *s_raw_no_entity(size_t *len)
{
    return s_pack_put(NULL, 1, len);
}

static uint8_t *s_raw_unknown_body(size_t *len)
{
    /* version 1, request id "u1", and field 99 (an empty message) that no service knows */
    const uint8_t bytes[] = {0x08, 0x01, 0x12, 0x02, 'u', '1', 0x9a, 0x06, 0x00};
    return s_copy(bytes, sizeof bytes, len);
}

static uint8_t *s_raw_garbage(size_t *len)
{
    const uint8_t bytes[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x12, 0x80};
    return s_copy(bytes, sizeof bytes, len);
}

static uint8_t *s_raw_truncated(size_t *len)
{
    ls_entity_pb *e = s_entity(SME(""));
    uint8_t *frame = s_pack_entity(e, len);
    *len /= 2;
    return frame;
}

static uint8_t *s_raw_long_request_id(size_t *len)
{
    ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
    Lodestone__V1__Ping ping = LODESTONE__V1__PING__INIT;
    char *id = ls_test_long_text(129);
    env.version = 1;
    env.request_id = id;
    env.body_case = LODESTONE__V1__ENVELOPE__BODY_PING;
    env.ping = &ping;
    uint8_t *frame = ls_codec_pack_buffer(&env.base, len);
    free(id);
    return frame;
}

/* ---------------------------------------------------------------------------
 * The table */

typedef uint8_t *(*s_raw_fn)(size_t *len);

typedef struct {
    const char *json;   /* an Entity as JSON (sent with ls_client_put) ... */
    const char *grow;   /* ... with this body field made big (s_grow), or NULL */
    size_t size;        /* ... to this size */
    s_raw_fn raw;       /* or a raw request frame */
    int code;           /* the expected status code, or S_NO_REPLY */
    const char *field;  /* INVALID: the path an error names */
    const char *reason; /* a part of that error's reason (or of the status message) */
} s_row_t;

#define S_OK LODESTONE__V1__STATUS__CODE__OK
#define S_MALFORMED LODESTONE__V1__STATUS__CODE__MALFORMED
#define S_INVALID LODESTONE__V1__STATUS__CODE__INVALID
#define S_UNSUPPORTED LODESTONE__V1__STATUS__CODE__UNSUPPORTED

static const s_row_t s_rows[] = {
    /* SME: names and text */
    {SME(", \"name\": \"\""), NULL, 0, NULL, S_INVALID, "sme.name", "is required"},
    {SME(""), "name", 201, NULL, S_INVALID, "sme.name", "at most 200"},
    {SME(", \"name\": \"Kemi\\u0007Oy\""), NULL, 0, NULL, S_INVALID, "sme.name",
     "control character"},
    {SME(""), "description", 4001, NULL, S_INVALID, "sme.description", "at most 4000"},
    {SME(", \"website\": \"www.kemi.example\""), NULL, 0, NULL, S_INVALID, "sme.website",
     "http:// or https://"},
    {SME(", \"contact\": {\"email\": \"kemi.example\"}"), NULL, 0, NULL, S_INVALID,
     "sme.contact.email", "not an e-mail address"},
    {SME(", \"contact\": {\"email\": \"a@b@kemi.example\"}"), NULL, 0, NULL, S_INVALID,
     "sme.contact.email", "not an e-mail address"},
    {SME(", \"ref\": \"kemi flotation\""), NULL, 0, NULL, S_INVALID, "sme.ref", "may hold only"},
    /* SME: codes */
    {SME(", \"region\": \"XX99\""), NULL, 0, NULL, S_INVALID, "sme.region",
     "'XX99' is not a known region code"},
    {SME(", \"country\": \"SE\""), NULL, 0, NULL, S_INVALID, "sme.country",
     "does not agree with region FI1D7"},
    {SME(", \"stages\": [\"smelting\"]"), NULL, 0, NULL, S_INVALID, "sme.stages[0]",
     "not a known value-chain stage code"},
    {SME(", \"materials\": [\"cobalt\", \"unobtainium\"]"), NULL, 0, NULL, S_INVALID,
     "sme.materials[1]", "'unobtainium' is not a known material code"},
    {SME(", \"materials\": [\"cobalt\", \"cobalt\"]"), NULL, 0, NULL, S_INVALID, "sme.materials[1]",
     "listed twice"},
    {SME(", \"themes\": [\"space-mining\"]"), NULL, 0, NULL, S_INVALID, "sme.themes[0]",
     "not a known theme code"},
    {SME(", \"nace\": [\"99.99\"]"), NULL, 0, NULL, S_INVALID, "sme.nace[0]",
     "not a known NACE Rev. 2 code"},
    {SME(""), "materials", 33, NULL, S_INVALID, "sme.materials", "33 items; at most 32"},
    {SME(""), "capabilities[0]", 65, NULL, S_INVALID, "sme.capabilities[0]", "at most 64"},
    {SME(", \"capabilities\": []"), "capabilities", 40, NULL, S_INVALID, "sme.capabilities",
     "at most 32"},
    {SME(", \"stages\": [], \"materials\": []"), NULL, 0, NULL, S_INVALID, "sme.stages",
     "at least one stage, material or capability"},
    {SME(", \"languages\": [\"English\"]"), NULL, 0, NULL, S_INVALID, "sme.languages[0]",
     "'English' is not an ISO 639-1 code"},
    {SME(""), "certifications[0]", 65, NULL, S_INVALID, "sme.certifications[0]", "at most 64"},
    /* SME: numbers and enums */
    {SME(", \"trl\": 10"), NULL, 0, NULL, S_INVALID, "sme.trl", "10 is not a TRL"},
    {SME(", \"fundingSought\": {\"minEur\": \"500000\", \"maxEur\": \"100000\"}"), NULL, 0, NULL,
     S_INVALID, "sme.fundingSought", "minEur 500000 is above maxEur 100000"},
    {SME(", \"fundingSought\": {\"maxEur\": \"1000000000001\"}"), NULL, 0, NULL, S_INVALID,
     "sme.fundingSought.maxEur", "more than 10^12 EUR"},
    {SME(", \"employees\": 250"), NULL, 0, NULL, S_INVALID, "sme.employees",
     "250 or more persons is not an SME (EU definition)"},
    {SME(", \"employees\": 5, \"sizeBand\": \"SIZE_BAND_MEDIUM\""), NULL, 0, NULL, S_INVALID,
     "sme.sizeBand", "does not agree with 5 employees"},
    {SME(", \"instruments\": [\"INSTRUMENT_LOAN\", 99]"), NULL, 0, NULL, S_INVALID,
     "sme.instruments[1]", "99 is not a known value"},
    /* investor */
    {INV(", \"name\": \"\""), NULL, 0, NULL, S_INVALID, "investor.name", "is required"},
    {INV(", \"type\": \"TYPE_UNSPECIFIED\""), NULL, 0, NULL, S_INVALID, "investor.type",
     "is required"},
    {INV(", \"trlMin\": 7, \"trlMax\": 3"), NULL, 0, NULL, S_INVALID, "investor.trlMin",
     "7 is above trlMax 3"},
    {INV(", \"trlMax\": 10"), NULL, 0, NULL, S_INVALID, "investor.trlMax", "10 is not a TRL"},
    {INV(", \"ticket\": {\"minEur\": \"2000000\", \"maxEur\": \"500000\"}"), NULL, 0, NULL,
     S_INVALID, "investor.ticket", "is above maxEur"},
    {INV(", \"targetRegions\": [\"FI1D7\", \"ZZ9\"]"), NULL, 0, NULL, S_INVALID,
     "investor.targetRegions[1]", "'ZZ9' is not a known region code"},
    {INV(", \"website\": \"ftp://fund.example\""), NULL, 0, NULL, S_INVALID, "investor.website",
     "http:// or https://"},
    /* opportunity */
    {OPP(", \"title\": \"\""), NULL, 0, NULL, S_INVALID, "opportunity.title", "is required"},
    {OPP(""), "title", 201, NULL, S_INVALID, "opportunity.title", "at most 200"},
    {OPP(", \"kind\": \"KIND_UNSPECIFIED\""), NULL, 0, NULL, S_INVALID, "opportunity.kind",
     "is required"},
    {OPP(", \"deadline\": \"2020-01-01\""), NULL, 0, NULL, S_INVALID, "opportunity.deadline",
     "2020-01-01 is in the past"},
    {OPP(", \"deadline\": \"next spring\""), NULL, 0, NULL, S_INVALID, "opportunity.deadline",
     "not a date YYYY-MM-DD"},
    {OPP(", \"deadline\": \"2027-02-30\""), NULL, 0, NULL, S_INVALID, "opportunity.deadline",
     "not a day of the calendar"},
    {OPP(", \"budget\": {\"minEur\": \"9\", \"maxEur\": \"1\"}"), NULL, 0, NULL, S_INVALID,
     "opportunity.budget", "minEur 9 is above maxEur 1"},
    {OPP(", \"trlMin\": 10"), NULL, 0, NULL, S_INVALID, "opportunity.trlMin", "10 is not a TRL"},
    {OPP(""), "requiredCapabilities[0]", 65, NULL, S_INVALID, "opportunity.requiredCapabilities[0]",
     "at most 64"},
    {OPP(", \"materials\": [\"vibranium\"]"), NULL, 0, NULL, S_INVALID, "opportunity.materials[0]",
     "not a known material code"},
    {OPP(", \"step\": 9"), NULL, 0, NULL, S_INVALID, "opportunity.step", "9 is not a known value"},
    /* no kind at all */
    {"{}", NULL, 0, NULL, S_INVALID, "entity", "must hold one of sme, investor, opportunity"},
    /* good ones among the bad: the registry takes them */
    {SME(", \"ref\": \"in-ok-groups\", \"materials\": [\"hree\", \"cobalt\"]"), NULL, 0, NULL, S_OK,
     NULL, NULL},
    {OPP(", \"ref\": \"in-ok-closed\", \"deadline\": \"2020-01-01\", \"status\": \"CLOSED\""), NULL,
     0, NULL, S_OK, NULL, NULL},
    {OPP(", \"ref\": \"in-ok-leap\", \"deadline\": \"2028-02-29\""), NULL, 0, NULL, S_OK, NULL,
     NULL},
    {SME(", \"ref\": \"in-ok-trl9\", \"trl\": 9"), NULL, 0, NULL, S_OK, NULL, NULL},
    {SME(", \"ref\": \"in-ok-trl0\", \"trl\": 0"), NULL, 0, NULL, S_OK, NULL, NULL},
    {INV(", \"ref\": \"in-ok-trl\", \"trlMin\": 1, \"trlMax\": 9"), NULL, 0, NULL, S_OK, NULL,
     NULL},
    /* raw frames */
    {NULL, NULL, 0, s_raw_invalid_utf8, S_MALFORMED, NULL, "not valid UTF-8"},
    {NULL, NULL, 0, s_raw_invalid_utf8_code, S_MALFORMED, NULL, "not valid UTF-8"},
    {NULL, NULL, 0, s_raw_unknown_type, S_INVALID, "investor.type", "42 is not a known value"},
    {NULL, NULL, 0, s_raw_unknown_kind, S_INVALID, "opportunity.kind", "99 is not a known value"},
    {NULL, NULL, 0, s_raw_unknown_instrument, S_INVALID, "sme.instruments[1]",
     "99 is not a known value"},
    {NULL, NULL, 0, s_raw_negative_enum, S_INVALID, "sme.sizeBand", "-1 is not a known value"},
    {NULL, NULL, 0, s_raw_oversized, S_NO_REPLY, NULL, NULL},
    {NULL, NULL, 0, s_raw_big_within_limit, S_INVALID, "sme.description", "at most 4000"},
    {NULL, NULL, 0, s_raw_version_2, S_INVALID, "version", "protocol version 1"},
    {NULL, NULL, 0, s_raw_no_entity, S_INVALID, "put.entity", "is required"},
    {NULL, NULL, 0, s_raw_unknown_body, S_UNSUPPORTED, NULL, "no body this service knows"},
    {NULL, NULL, 0, s_raw_garbage, S_MALFORMED, NULL, "not a valid protobuf message"},
    {NULL, NULL, 0, s_raw_truncated, S_MALFORMED, NULL, "not a valid protobuf message"},
    {NULL, NULL, 0, s_raw_long_request_id, S_INVALID, "request_id", "longer than 128 bytes"},
};

#define S_ROWS (sizeof s_rows / sizeof s_rows[0])

/* ---------------------------------------------------------------------------
 * Running a row */

static ls_reply_pb *s_send(const s_row_t *row)
{
    /* A row with no reply waits less; a fresh client per row keeps replies apart. */
    ls_client_t *client = ls_client_new(s_endpoint, row->code == S_NO_REPLY ? 1000 : 5000);
    assert_non_null(client);
    ls_reply_pb *reply;
    if (row->json) {
        ls_entity_pb *entity = ls_test_entity(row->json, row->grow, row->size);
        reply = ls_client_put(client, entity, 0);
        lodestone__v1__entity__free_unpacked(entity, NULL);
    } else {
        size_t len = 0;
        uint8_t *frame = row->raw(&len);
        reply = ls_client_call_raw(client, frame, len);
        free(frame);
    }
    ls_client_destroy(&client);
    return reply;
}

/* True when status names field (an error on it, or, for a status with no field
 * errors, a message "field: ...") with reason in what it says. */
static bool s_names(const ls_status_pb *status, const char *field, const char *reason)
{
    for (size_t i = 0; i < status->n_errors; i++)
        if (strcmp(status->errors[i]->field, field) == 0 &&
            strstr(status->errors[i]->reason, reason))
            return true;
    size_t len = strlen(field);
    return status->n_errors == 0 && strncmp(status->message, field, len) == 0 &&
           status->message[len] == ':' && strstr(status->message + len, reason);
}

static const char *s_code_name(int code)
{
    return code == S_NO_REPLY ? "no reply" : ls_status_name((Lodestone__V1__Status__Code)code);
}

/* Checks reply against row; prints what differs. */
static bool s_row_passes(size_t index, const s_row_t *row, const ls_reply_pb *reply)
{
    int code = reply ? (int)reply->status->code : S_NO_REPLY;
    bool ok = code == row->code;
    if (ok && reply && row->field)
        ok = s_names(reply->status, row->field, row->reason);
    else if (ok && reply && row->reason)
        ok = strstr(reply->status->message, row->reason) != NULL;
    if (ok)
        return true;
    fprintf(stderr, "row %zu: expected %s %s: ...%s...; got %s", index, s_code_name(row->code),
            row->field ? row->field : "", row->reason ? row->reason : "", s_code_name(code));
    if (reply) {
        fprintf(stderr, " \"%s\"", reply->status->message);
        for (size_t i = 0; i < reply->status->n_errors; i++)
            fprintf(stderr, "\n    %s: %s", reply->status->errors[i]->field,
                    reply->status->errors[i]->reason);
    }
    fputc('\n', stderr);
    return false;
}

/* ---------------------------------------------------------------------------
 * Tests */

static void test_each_bad_input_gets_its_status(void **state)
{
    (void)state;
    int failed = 0;
    for (size_t i = 0; i < S_ROWS; i++) {
        ls_reply_pb *reply = s_send(&s_rows[i]);
        failed += !s_row_passes(i, &s_rows[i], reply);
        if (reply)
            lodestone__v1__reply__free_unpacked(reply, NULL);
        if (!ls_test_alive(s_registry) || ls_test_await_ping(s_endpoint)) {
            ls_test_dump_log(s_registry);
            fail_msg("the registry stopped serving after row %zu", i);
        }
    }
    assert_int_equal(failed, 0);
}

/* What validation normalised is what the registry stores. */
static void test_stored_entity_is_normalised(void **state)
{
    (void)state;
    ls_entity_pb *e =
        s_entity(SME(", \"ref\": \"in-normal\", \"employees\": 12, "
                     "\"languages\": [\"fi\", \"sv\", \"fi\"], "
                     "\"capabilities\": [\" Froth  FLOTATION\", \"froth flotation\"], "
                     "\"certifications\": [\"ISO 14001 \", \"iso 14001\"]"));
    ls_client_t *client = ls_client_new(s_endpoint, 5000);
    ls_reply_pb *put = ls_client_put(client, e, 0);
    lodestone__v1__entity__free_unpacked(e, NULL);
    assert_non_null(put);
    assert_int_equal(put->status->code, S_OK);
    ls_reply_pb *got = ls_client_get(client, put->put->id);
    assert_non_null(got);
    assert_int_equal(got->status->code, S_OK);
    const ls_sme_pb *sme = got->entity->sme;
    assert_string_equal(sme->country, "FI");
    assert_int_equal(sme->size_band, LODESTONE__V1__SIZE_BAND__SIZE_BAND_SMALL);
    assert_int_equal(sme->n_languages, 2);
    assert_string_equal(sme->languages[1], "sv");
    assert_int_equal(sme->n_capabilities, 1);
    assert_string_equal(sme->capabilities[0], "froth flotation");
    assert_int_equal(sme->n_certifications, 1);
    assert_string_equal(sme->certifications[0], "iso 14001");
    lodestone__v1__reply__free_unpacked(got, NULL);
    lodestone__v1__reply__free_unpacked(put, NULL);
    ls_client_destroy(&client);
}

static void test_registry_still_serves(void **state)
{
    (void)state;
    assert_true(ls_test_alive(s_registry));
    ls_client_t *client = ls_client_new(s_endpoint, 5000);
    ls_reply_pb *reply = ls_client_ping(client);
    assert_non_null(reply);
    assert_int_equal(reply->status->code, S_OK);
    assert_int_equal(reply->body_case, LODESTONE__V1__REPLY__BODY_PONG);
    assert_string_equal(reply->pong->service, "registry");
    lodestone__v1__reply__free_unpacked(reply, NULL);
    ls_client_destroy(&client);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_bad_input_gets_its_status),
        cmocka_unit_test(test_stored_entity_is_normalised),
        cmocka_unit_test(test_registry_still_serves),
    };
    int failed = cmocka_run_group_tests(tests, s_group_setup, s_group_teardown);
    /* cmocka reports a failed group teardown but does not count it. */
    return failed || s_teardown_failed ? 1 : 0;
}
