/* test_json.c — unit test of ls_json, the JSON <-> protobuf converter: a round trip for
 * every lodestone.v1 message filled generically from its descriptor, the proto3 JSON
 * printing rules, the lenient inputs parsing accepts, and the errors (with their exact
 * field paths) for what it refuses. Two test-only descriptors cover what the schema does
 * not use: every scalar type, bytes, proto2 presence, and a recursive type for the depth
 * limit. Run it under valgrind and the sanitizers: each error must free what was built. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ls_json.h"
#include "ls_proto.h"

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------
 * Test-only message types, hand-written the way protoc-c would generate them. */

/* Every scalar type, repeated and oneof members of several kinds, proto2 presence. */
typedef struct {
    ProtobufCMessage base;
    int32_t v_int32, v_sint32, v_sfixed32;
    uint32_t v_uint32, v_fixed32;
    int64_t v_int64, v_sint64, v_sfixed64;
    uint64_t v_uint64, v_fixed64;
    float v_float;
    double v_double;
    protobuf_c_boolean v_bool;
    int v_enum;
    char *v_string;
    ProtobufCBinaryData v_bytes;
    size_t n_r_bytes;
    ProtobufCBinaryData *r_bytes;
    size_t n_r_float;
    float *r_float;
    size_t n_r_sint64;
    int64_t *r_sint64;
    size_t n_r_bool;
    protobuf_c_boolean *r_bool;
    size_t n_r_enum;
    int *r_enum;
    uint32_t choice_case;
    union {
        char *o_string;
        ProtobufCBinaryData o_bytes;
        int32_t o_int32;
        ls_money_range_pb *o_range;
    };
    protobuf_c_boolean has_p_uint32;
    uint32_t p_uint32;
    char *p_string;
} s_scalars_t;

/* A recursive type, which lodestone.v1 forbids, to reach the depth limit. */
typedef struct s_node_t {
    ProtobufCMessage base;
    struct s_node_t *child;
    uint32_t level;
} s_node_t;

static const ProtobufCMessageDescriptor s_scalars_descriptor;
static const ProtobufCMessageDescriptor s_node_descriptor;

#define S_FIELD(name, id, label, type, quantifier, member, desc, def, flags)                       \
    {                                                                                              \
        name, id, PROTOBUF_C_LABEL_##label, PROTOBUF_C_TYPE_##type, quantifier,                    \
            offsetof(s_scalars_t, member), desc, def, flags, 0, NULL, NULL                         \
    }
#define S_PLAIN(name, id, type) S_FIELD(#name, id, NONE, type, 0, name, NULL, NULL, 0)
#define S_REPEATED(name, id, type, desc)                                                           \
    S_FIELD(#name, id, REPEATED, type, offsetof(s_scalars_t, n_##name), name, desc, NULL,          \
            PROTOBUF_C_FIELD_FLAG_PACKED)
#define S_ONEOF(name, id, type, desc, def)                                                         \
    S_FIELD(#name, id, NONE, type, offsetof(s_scalars_t, choice_case), name, desc, def,            \
            PROTOBUF_C_FIELD_FLAG_ONEOF)

static const ProtobufCFieldDescriptor s_scalars_fields[] = {
    S_PLAIN(v_int32, 1, INT32),
    S_PLAIN(v_sint32, 2, SINT32),
    S_PLAIN(v_sfixed32, 3, SFIXED32),
    S_PLAIN(v_uint32, 4, UINT32),
    S_PLAIN(v_fixed32, 5, FIXED32),
    S_PLAIN(v_int64, 6, INT64),
    S_PLAIN(v_sint64, 7, SINT64),
    S_PLAIN(v_sfixed64, 8, SFIXED64),
    S_PLAIN(v_uint64, 9, UINT64),
    S_PLAIN(v_fixed64, 10, FIXED64),
    S_PLAIN(v_float, 11, FLOAT),
    S_PLAIN(v_double, 12, DOUBLE),
    S_PLAIN(v_bool, 13, BOOL),
    S_FIELD("v_enum", 14, NONE, ENUM, 0, v_enum, &lodestone__v1__entity_state__descriptor, NULL, 0),
    S_FIELD("v_string", 15, NONE, STRING, 0, v_string, NULL, &protobuf_c_empty_string, 0),
    S_PLAIN(v_bytes, 16, BYTES),
    {"r_bytes", 17, PROTOBUF_C_LABEL_REPEATED, PROTOBUF_C_TYPE_BYTES,
     offsetof(s_scalars_t, n_r_bytes), offsetof(s_scalars_t, r_bytes), NULL, NULL, 0, 0, NULL,
     NULL},
    S_REPEATED(r_float, 18, FLOAT, NULL),
    S_REPEATED(r_sint64, 19, SINT64, NULL),
    S_REPEATED(r_bool, 20, BOOL, NULL),
    S_REPEATED(r_enum, 21, ENUM, &lodestone__v1__entity_state__descriptor),
    S_ONEOF(o_string, 22, STRING, NULL, &protobuf_c_empty_string),
    S_ONEOF(o_bytes, 23, BYTES, NULL, NULL),
    S_ONEOF(o_int32, 24, INT32, NULL, NULL),
    S_ONEOF(o_range, 25, MESSAGE, &lodestone__v1__money_range__descriptor, NULL),
    S_FIELD("p_uint32", 26, OPTIONAL, UINT32, offsetof(s_scalars_t, has_p_uint32), p_uint32, NULL,
            NULL, 0),
    S_FIELD("p_string", 27, OPTIONAL, STRING, 0, p_string, NULL, NULL, 0),
};
#define S_SCALARS_FIELDS (sizeof s_scalars_fields / sizeof s_scalars_fields[0])

static const unsigned s_scalars_by_name[S_SCALARS_FIELDS] = {22, 23, 24, 21, 26, 25, 19, 16, 20,
                                                             17, 18, 12, 15, 11, 13, 4,  9,  10,
                                                             0,  5,  2,  7,  1,  6,  14, 3,  8};
static const ProtobufCIntRange s_scalars_ranges[] = {{1, 0}, {0, S_SCALARS_FIELDS}};

static void s_scalars_init(ProtobufCMessage *msg)
{
    static const s_scalars_t init = {.base = PROTOBUF_C_MESSAGE_INIT(&s_scalars_descriptor),
                                     .v_string = (char *)protobuf_c_empty_string};
    *(s_scalars_t *)msg = init;
}

static const ProtobufCMessageDescriptor s_scalars_descriptor = {
    .magic = PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC,
    .name = "test.Scalars",
    .short_name = "Scalars",
    .c_name = "s_scalars_t",
    .package_name = "test",
    .sizeof_message = sizeof(s_scalars_t),
    .n_fields = S_SCALARS_FIELDS,
    .fields = s_scalars_fields,
    .fields_sorted_by_name = s_scalars_by_name,
    .n_field_ranges = 1,
    .field_ranges = s_scalars_ranges,
    .message_init = s_scalars_init,
};

static const ProtobufCFieldDescriptor s_node_fields[] = {
    {"child", 1, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_MESSAGE, 0, offsetof(s_node_t, child),
     &s_node_descriptor, NULL, 0, 0, NULL, NULL},
    {"level", 2, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_UINT32, 0, offsetof(s_node_t, level), NULL,
     NULL, 0, 0, NULL, NULL},
};
static const unsigned s_node_by_name[] = {0, 1};
static const ProtobufCIntRange s_node_ranges[] = {{1, 0}, {0, 2}};

static void s_node_init(ProtobufCMessage *msg)
{
    static const s_node_t init = {.base = PROTOBUF_C_MESSAGE_INIT(&s_node_descriptor)};
    *(s_node_t *)msg = init;
}

static const ProtobufCMessageDescriptor s_node_descriptor = {
    .magic = PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC,
    .name = "test.Node",
    .short_name = "Node",
    .c_name = "s_node_t",
    .package_name = "test",
    .sizeof_message = sizeof(s_node_t),
    .n_fields = 2,
    .fields = s_node_fields,
    .fields_sorted_by_name = s_node_by_name,
    .n_field_ranges = 1,
    .field_ranges = s_node_ranges,
    .message_init = s_node_init,
};

/* Every message type of lodestone.v1 (test_schema_list_is_closed checks that none that a
 * field refers to is missing), then the test-only ones. */
static const ProtobufCMessageDescriptor *s_messages[] = {
    &lodestone__v1__field_error__descriptor,
    &lodestone__v1__status__descriptor,
    &lodestone__v1__contact__descriptor,
    &lodestone__v1__money_range__descriptor,
    &lodestone__v1__sme__descriptor,
    &lodestone__v1__investor__descriptor,
    &lodestone__v1__opportunity__descriptor,
    &lodestone__v1__entity__descriptor,
    &lodestone__v1__change_event__descriptor,
    &lodestone__v1__facet_score__descriptor,
    &lodestone__v1__match__descriptor,
    &lodestone__v1__match_party__descriptor,
    &lodestone__v1__match_event__descriptor,
    &lodestone__v1__channels__descriptor,
    &lodestone__v1__subscription_filter__descriptor,
    &lodestone__v1__subscription__descriptor,
    &lodestone__v1__digest_item__descriptor,
    &lodestone__v1__introduction__descriptor,
    &lodestone__v1__notification__descriptor,
    &lodestone__v1__interest__descriptor,
    &lodestone__v1__heartbeat__descriptor,
    &lodestone__v1__ping__descriptor,
    &lodestone__v1__pong__descriptor,
    &lodestone__v1__put_entity__descriptor,
    &lodestone__v1__put_result__descriptor,
    &lodestone__v1__get_entity__descriptor,
    &lodestone__v1__get_matches__descriptor,
    &lodestone__v1__match_list__descriptor,
    &lodestone__v1__patch_entity__descriptor,
    &lodestone__v1__withdraw_entity__descriptor,
    &lodestone__v1__erase_entity__descriptor,
    &lodestone__v1__list_entities__descriptor,
    &lodestone__v1__entity_list__descriptor,
    &lodestone__v1__get_taxonomy__descriptor,
    &lodestone__v1__term__descriptor,
    &lodestone__v1__term_list__descriptor,
    &lodestone__v1__explain_pair__descriptor,
    &lodestone__v1__explanation__descriptor,
    &lodestone__v1__rematch__descriptor,
    &lodestone__v1__rematch_started__descriptor,
    &lodestone__v1__get_stats__descriptor,
    &lodestone__v1__matching_stats__descriptor,
    &lodestone__v1__subscribe__descriptor,
    &lodestone__v1__list_subscriptions__descriptor,
    &lodestone__v1__subscription_list__descriptor,
    &lodestone__v1__unsubscribe__descriptor,
    &lodestone__v1__read_inbox__descriptor,
    &lodestone__v1__inbox__descriptor,
    &lodestone__v1__express_interest__descriptor,
    &lodestone__v1__get_interest__descriptor,
    &lodestone__v1__dead_letter__descriptor,
    &lodestone__v1__list_dead_letters__descriptor,
    &lodestone__v1__dead_letter_list__descriptor,
    &lodestone__v1__replay_dead_letters__descriptor,
    &lodestone__v1__replayed__descriptor,
    &lodestone__v1__get_report__descriptor,
    &lodestone__v1__map_cell__descriptor,
    &lodestone__v1__map_table__descriptor,
    &lodestone__v1__map_gap__descriptor,
    &lodestone__v1__region_name__descriptor,
    &lodestone__v1__capability_map__descriptor,
    &lodestone__v1__demo_stage__descriptor,
    &lodestone__v1__demo_investor__descriptor,
    &lodestone__v1__demo_suggestion__descriptor,
    &lodestone__v1__demo_list__descriptor,
    &lodestone__v1__report__descriptor,
    &lodestone__v1__envelope__descriptor,
    &lodestone__v1__reply__descriptor,
    &s_scalars_descriptor,
    &s_node_descriptor,
};
#define S_MESSAGES (sizeof s_messages / sizeof s_messages[0])
#define S_SCHEMA_MESSAGES (S_MESSAGES - 2)

/* ---------------------------------------------------------------------------------------
 * Helpers */

/* How deep the filler builds sub-messages; only the recursive Node reaches it. */
#define S_FILL_DEPTH 4
/* Elements in every filled repeated field; distinct seeds give distinct values. */
#define S_FILL_COUNT 3
/* More than the largest oneof, so that every member of every oneof gets its turn. */
#define S_CHOICES 4

static void *s_member(const ProtobufCMessage *msg, unsigned offset)
{
    return (char *)msg + offset;
}

/* A new message of type desc in its initial state; free it with free_unpacked. */
static ProtobufCMessage *s_new(const ProtobufCMessageDescriptor *desc)
{
    ProtobufCMessage *msg = malloc(desc->sizeof_message);
    assert_non_null(msg);
    protobuf_c_message_init(desc, msg);
    return msg;
}

/* Position of field among the members of its oneof, and how many members it has. */
static unsigned s_oneof_rank(const ProtobufCMessageDescriptor *desc,
                             const ProtobufCFieldDescriptor *field, unsigned *members)
{
    unsigned rank = 0;
    *members = 0;
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *other = &desc->fields[i];
        if (!(other->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) ||
            other->quantifier_offset != field->quantifier_offset)
            continue;
        if (other == field)
            rank = *members;
        (*members)++;
    }
    return rank;
}

/* True when the filler sets field for this choice of oneof members. */
static bool s_chosen(const ProtobufCMessageDescriptor *desc, const ProtobufCFieldDescriptor *field,
                     unsigned choice)
{
    if (!(field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
        return true;
    unsigned members;
    unsigned rank = s_oneof_rank(desc, field, &members);
    return rank == choice % members;
}

static size_t s_value_size(ProtobufCType type)
{
    switch (type) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_STRING:
        return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(ProtobufCMessage *);
    default:
        return 4;
    }
}

static void s_fill(ProtobufCMessage *msg, unsigned choice, unsigned depth);

/* Stores a deterministic value that is not the default, and that is awkward for JSON:
 * 64-bit integers beyond 2^53 and at both ends of their range, negative numbers, doubles
 * that need 17 digits, escapes and non-ASCII text, bytes of every padding length. */
static void s_fill_value(const ProtobufCFieldDescriptor *field, void *member, unsigned seed,
                         unsigned choice, unsigned depth)
{
    static const float floats[] = {3.14159274f, -FLT_MIN, FLT_MAX};
    static const double doubles[] = {1.0 / 3.0, -1e300, 4.9406564584124654e-324};
    switch (field->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        *(int32_t *)member = seed % 2 ? INT32_MIN + (int32_t)seed - 1 : -123456789 - (int32_t)seed;
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        *(uint32_t *)member = UINT32_MAX - seed;
        break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        *(int64_t *)member = seed % 3 == 0   ? -9007199254740993LL - seed
                             : seed % 3 == 1 ? INT64_MIN
                                             : INT64_MAX;
        break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        *(uint64_t *)member = seed % 3 == 0   ? 9007199254740993ULL + seed
                              : seed % 3 == 1 ? UINT64_MAX
                                              : (1ULL << 63) + 12345;
        break;
    case PROTOBUF_C_TYPE_FLOAT:
        *(float *)member = floats[seed % 3];
        break;
    case PROTOBUF_C_TYPE_DOUBLE:
        *(double *)member = doubles[seed % 3];
        break;
    case PROTOBUF_C_TYPE_BOOL:
        *(protobuf_c_boolean *)member = seed != 1;
        break;
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumDescriptor *desc = field->descriptor;
        assert_true(desc->n_values > 1);
        *(int *)member = desc->values[desc->n_values - 1 - seed % (desc->n_values - 1)].value;
        break;
    }
    case PROTOBUF_C_TYPE_STRING: {
        char text[128];
        snprintf(text, sizeof text, "%s-%u \"quoted\" \\ \t é ✓ 𝄞", field->name, seed);
        *(char **)member = strdup(text);
        assert_non_null(*(char **)member);
        break;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        ProtobufCBinaryData *bytes = member;
        bytes->len = 3 + seed;
        bytes->data = malloc(bytes->len);
        assert_non_null(bytes->data);
        for (size_t i = 0; i < bytes->len; i++)
            bytes->data[i] = (uint8_t)(0xfb ^ (i * 37 + seed * 11));
        break;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        ProtobufCMessage *sub = s_new(field->descriptor);
        if (depth + 1 < S_FILL_DEPTH)
            s_fill(sub, choice, depth + 1);
        *(ProtobufCMessage **)member = sub;
        break;
    }
    }
}

/* Gives every field of msg a non-default value by walking its descriptor: all of them
 * but the members of each oneof not picked by choice. */
static void s_fill(ProtobufCMessage *msg, unsigned choice, unsigned depth)
{
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *field = &desc->fields[i];
        void *member = s_member(msg, field->offset);
        if (!s_chosen(desc, field, choice))
            continue;
        if (field->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t size = s_value_size(field->type);
            char *values = calloc(S_FILL_COUNT, size);
            assert_non_null(values);
            for (unsigned k = 0; k < S_FILL_COUNT; k++)
                s_fill_value(field, values + k * size, k, choice, depth);
            *(void **)member = values;
            *(size_t *)s_member(msg, field->quantifier_offset) = S_FILL_COUNT;
            continue;
        }
        s_fill_value(field, member, 0, choice, depth);
        if (field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
            *(uint32_t *)s_member(msg, field->quantifier_offset) = field->id;
        else if (field->label == PROTOBUF_C_LABEL_OPTIONAL &&
                 field->type != PROTOBUF_C_TYPE_STRING && field->type != PROTOBUF_C_TYPE_MESSAGE)
            *(protobuf_c_boolean *)s_member(msg, field->quantifier_offset) = 1;
    }
}

static ProtobufCMessage *s_new_filled(const ProtobufCMessageDescriptor *desc, unsigned choice)
{
    ProtobufCMessage *msg = s_new(desc);
    s_fill(msg, choice, 0);
    assert_true(protobuf_c_message_check(msg));
    return msg;
}

/* The wire bytes of msg; the caller frees them. */
static uint8_t *s_pack(const ProtobufCMessage *msg, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(msg);
    uint8_t *data = malloc(*len + 1);
    assert_non_null(data);
    assert_int_equal(protobuf_c_message_pack(msg, data), *len);
    return data;
}

static void s_assert_same_wire(const ProtobufCMessage *a, const ProtobufCMessage *b)
{
    size_t alen, blen;
    uint8_t *adata = s_pack(a, &alen);
    uint8_t *bdata = s_pack(b, &blen);
    assert_int_equal(alen, blen);
    assert_memory_equal(adata, bdata, alen);
    free(adata);
    free(bdata);
}

static json_t *s_load(const char *text)
{
    json_error_t error;
    json_t *json = json_loads(text, JSON_DECODE_ANY, &error);
    if (!json)
        fail_msg("bad test JSON %s: %s", text, error.text);
    return json;
}

/* Parses text as desc, failing the test with the converter's reason when it is refused. */
static ProtobufCMessage *s_parse(const ProtobufCMessageDescriptor *desc, const char *text)
{
    char err[256];
    json_t *json = s_load(text);
    ProtobufCMessage *msg = ls_json_to_message(desc, json, err, sizeof err);
    json_decref(json);
    if (!msg)
        fail_msg("%s refused: %s", text, err);
    return msg;
}

/* Asserts that text is refused as desc with exactly the error expected. */
static void s_assert_refused(const ProtobufCMessageDescriptor *desc, const char *text,
                             const char *expected)
{
    char err[256] = "untouched";
    json_t *json = s_load(text);
    ProtobufCMessage *msg = ls_json_to_message(desc, json, err, sizeof err);
    json_decref(json);
    if (msg) {
        protobuf_c_message_free_unpacked(msg, NULL);
        fail_msg("%s accepted, expected \"%s\"", text, expected);
    }
    if (strcmp(err, expected) != 0)
        fail_msg("%s: got \"%s\", expected \"%s\"", text, err, expected);
}

/* Asserts the compact JSON text of msg. */
static void s_assert_prints(const ProtobufCMessage *msg, const char *expected)
{
    char *text = ls_json_dumps(msg);
    assert_non_null(text);
    if (strcmp(text, expected) != 0)
        fail_msg("printed %s, expected %s", text, expected);
    free(text);
}

/* Print expected text, parse it back, and check the wire bytes are unchanged. */
static void s_assert_round_trip_text(const ProtobufCMessage *msg, const char *expected)
{
    s_assert_prints(msg, expected);
    ProtobufCMessage *back = s_parse(msg->descriptor, expected);
    s_assert_same_wire(msg, back);
    protobuf_c_message_free_unpacked(back, NULL);
}

/* ---------------------------------------------------------------------------------------
 * Round trips */

/* lowerCamelCase of a proto field name, as the proto3 JSON mapping spells it. */
static void s_camel(const char *name, char *out, size_t size)
{
    size_t n = 0;
    for (const char *c = name; *c && n + 1 < size; c++) {
        if (*c != '_')
            out[n++] =
                c > name && c[-1] == '_' && *c >= 'a' && *c <= 'z' ? (char)(*c - 'a' + 'A') : *c;
    }
    out[n] = '\0';
}

static void test_schema_list_is_closed(void **state)
{
    (void)state;
    for (size_t i = 0; i < S_MESSAGES; i++) {
        const ProtobufCMessageDescriptor *desc = s_messages[i];
        for (unsigned f = 0; f < desc->n_fields; f++) {
            if (desc->fields[f].type != PROTOBUF_C_TYPE_MESSAGE)
                continue;
            bool listed = false;
            for (size_t k = 0; k < S_MESSAGES; k++)
                listed = listed || s_messages[k] == desc->fields[f].descriptor;
            if (!listed)
                fail_msg("%s.%s: type missing from s_messages", desc->name, desc->fields[f].name);
        }
    }
}

/* Message -> JSON -> text -> JSON -> message, for every type and every oneof member: the
 * wire bytes and the text are the same at both ends, every filled field was printed,
 * and the names come out in lowerCamelCase and field-number order. */
static void s_round_trip(const ProtobufCMessageDescriptor *desc, unsigned choice)
{
    ProtobufCMessage *msg = s_new_filled(desc, choice);
    json_t *json = ls_json_from_message(msg);
    assert_non_null(json);

    size_t expected_keys = 0;
    uint32_t last_id = 0;
    for (unsigned i = 0; i < desc->n_fields; i++)
        expected_keys += s_chosen(desc, &desc->fields[i], choice);
    assert_int_equal(json_object_size(json), expected_keys);
    const char *key;
    json_t *value;
    json_object_foreach(json, key, value)
    {
        const ProtobufCFieldDescriptor *field = NULL;
        for (unsigned i = 0; i < desc->n_fields; i++) {
            char camel[64];
            s_camel(desc->fields[i].name, camel, sizeof camel);
            if (strcmp(camel, key) == 0)
                field = &desc->fields[i];
        }
        if (!field)
            fail_msg("%s: printed key %s is no field's lowerCamelCase name", desc->name, key);
        assert_true(field->id > last_id);
        last_id = field->id;
    }

    char *text = json_dumps(json, JSON_COMPACT);
    assert_non_null(text);
    ProtobufCMessage *back = s_parse(desc, text);
    s_assert_same_wire(msg, back);
    char *again = ls_json_dumps(back);
    assert_non_null(again);
    assert_string_equal(text, again);

    free(again);
    free(text);
    json_decref(json);
    protobuf_c_message_free_unpacked(back, NULL);
    protobuf_c_message_free_unpacked(msg, NULL);
}

static void test_round_trip_every_message(void **state)
{
    (void)state;
    for (size_t i = 0; i < S_MESSAGES; i++)
        for (unsigned choice = 0; choice < S_CHOICES; choice++)
            s_round_trip(s_messages[i], choice);
}

/* The values of the filler, spelled out once, so that a bug shared by printer and parser
 * cannot hide behind the round trip. */
static void test_filled_values_print_as_specified(void **state)
{
    (void)state;
    ProtobufCMessage *msg = s_new_filled(&lodestone__v1__money_range__descriptor, 0);
    s_assert_prints(msg, "{\"minEur\":\"9007199254740993\",\"maxEur\":\"9007199254740993\"}");
    protobuf_c_message_free_unpacked(msg, NULL);

    msg = s_new_filled(&s_scalars_descriptor, 3);
    s_assert_prints(msg, "{\"vInt32\":-123456789,\"vSint32\":-123456789,\"vSfixed32\":-123456789,"
                         "\"vUint32\":4294967295,\"vFixed32\":4294967295,"
                         "\"vInt64\":\"-9007199254740993\",\"vSint64\":\"-9007199254740993\","
                         "\"vSfixed64\":\"-9007199254740993\",\"vUint64\":\"9007199254740993\","
                         "\"vFixed64\":\"9007199254740993\",\"vFloat\":3.1415927410125732,"
                         "\"vDouble\":0.33333333333333331,\"vBool\":true,"
                         "\"vEnum\":\"ENTITY_STATE_ERASED\","
                         "\"vString\":\"v_string-0 \\\"quoted\\\" \\\\ \\t é ✓ 𝄞\","
                         "\"vBytes\":\"+96x\",\"rBytes\":[\"+96x\",\"8MuugQ==\",\"7cCbflE=\"],"
                         "\"rFloat\":[3.1415927410125732,-1.1754943508222875e-38,"
                         "3.4028234663852886e38],"
                         "\"rSint64\":[\"-9007199254740993\",\"-9223372036854775808\","
                         "\"9223372036854775807\"],"
                         "\"rBool\":[true,false,true],"
                         "\"rEnum\":[\"ENTITY_STATE_ERASED\",\"ENTITY_STATE_WITHDRAWN\","
                         "\"ENTITY_STATE_ERASED\"],"
                         "\"oRange\":{\"minEur\":\"9007199254740993\","
                         "\"maxEur\":\"9007199254740993\"},"
                         "\"pUint32\":4294967295,"
                         "\"pString\":\"p_string-0 \\\"quoted\\\" \\\\ \\t é ✓ 𝄞\"}");
    protobuf_c_message_free_unpacked(msg, NULL);
}

/* ---------------------------------------------------------------------------------------
 * Printing */

static void test_print_omits_defaults(void **state)
{
    (void)state;
    ls_sme_pb sme = LODESTONE__V1__SME__INIT;
    s_assert_prints(&sme.base, "{}");

    ls_money_range_pb funding = LODESTONE__V1__MONEY_RANGE__INIT;
    ls_contact_pb contact = LODESTONE__V1__CONTACT__INIT;
    Lodestone__V1__Instrument instruments[] = {LODESTONE__V1__INSTRUMENT__INSTRUMENT_LOAN,
                                               (Lodestone__V1__Instrument)42};
    char *nace[] = {"C25.1", ""};
    funding.max_eur = 5;
    sme.version = UINT64_MAX;
    sme.created_at = -5;
    sme.state = LODESTONE__V1__ENTITY_STATE__ENTITY_STATE_WITHDRAWN;
    sme.consent_share_contact = 1;
    sme.funding_sought = &funding;
    sme.contact = &contact;
    sme.n_instruments = 2;
    sme.instruments = instruments;
    sme.n_nace = 2;
    sme.nace = nace;
    /* Present sub-messages print even when empty; repeated elements print even when 0 or
     * empty; an unknown enum number prints as the number. */
    s_assert_round_trip_text(&sme.base,
                             "{\"version\":\"18446744073709551615\",\"createdAt\":\"-5\","
                             "\"state\":\"ENTITY_STATE_WITHDRAWN\",\"nace\":[\"C25.1\",\"\"],"
                             "\"contact\":{},\"consentShareContact\":true,"
                             "\"fundingSought\":{\"maxEur\":\"5\"},"
                             "\"instruments\":[\"INSTRUMENT_LOAN\",42]}");

    ls_sme_pb unknown_state = LODESTONE__V1__SME__INIT;
    unknown_state.state = (Lodestone__V1__EntityState)-7;
    s_assert_round_trip_text(&unknown_state.base, "{\"state\":-7}");
}

static void test_print_special_doubles(void **state)
{
    (void)state;
    ls_facet_score_pb facet = LODESTONE__V1__FACET_SCORE__INIT;
    facet.weight = NAN;
    facet.similarity = INFINITY;
    facet.contribution = -INFINITY;
    s_assert_prints(
        &facet.base,
        "{\"weight\":\"NaN\",\"similarity\":\"Infinity\",\"contribution\":\"-Infinity\"}");
    ls_facet_score_pb *back = (ls_facet_score_pb *)s_parse(
        &lodestone__v1__facet_score__descriptor,
        "{\"weight\":\"NaN\",\"similarity\":\"Infinity\",\"contribution\":\"-Infinity\"}");
    assert_true(isnan(back->weight));
    assert_true(isinf(back->similarity) && back->similarity > 0);
    assert_true(isinf(back->contribution) && back->contribution < 0);
    protobuf_c_message_free_unpacked(&back->base, NULL);

    ls_match_pb match = LODESTONE__V1__MATCH__INIT;
    match.score = 0.5;
    match.at = 1700000000000;
    s_assert_round_trip_text(&match.base, "{\"score\":0.5,\"at\":\"1700000000000\"}");
    /* -0.0 is a default on the wire (protobuf-c packs it as absent), so it is left out. */
    match.score = -0.0;
    match.at = 0;
    s_assert_prints(&match.base, "{}");
}

/* A set oneof member is printed even when it holds its type's default. */
static void test_print_set_oneof_members(void **state)
{
    (void)state;
    ls_envelope_pb envelope = LODESTONE__V1__ENVELOPE__INIT;
    Lodestone__V1__Ping ping = LODESTONE__V1__PING__INIT;
    envelope.body_case = LODESTONE__V1__ENVELOPE__BODY_PING;
    envelope.ping = &ping;
    s_assert_round_trip_text(&envelope.base, "{\"ping\":{}}");

    ls_reply_pb reply = LODESTONE__V1__REPLY__INIT;
    Lodestone__V1__Pong pong = LODESTONE__V1__PONG__INIT;
    reply.body_case = LODESTONE__V1__REPLY__BODY_PONG;
    reply.pong = &pong;
    s_assert_round_trip_text(&reply.base, "{\"pong\":{}}");

    ls_entity_pb entity = LODESTONE__V1__ENTITY__INIT;
    ls_sme_pb sme = LODESTONE__V1__SME__INIT;
    entity.body_case = LODESTONE__V1__ENTITY__BODY_SME;
    entity.sme = &sme;
    s_assert_round_trip_text(&entity.base, "{\"sme\":{}}");
    ls_entity_pb *parsed =
        (ls_entity_pb *)s_parse(&lodestone__v1__entity__descriptor, "{\"investor\":{}}");
    assert_int_equal(parsed->body_case, LODESTONE__V1__ENTITY__BODY_INVESTOR);
    assert_non_null(parsed->investor);
    protobuf_c_message_free_unpacked(&parsed->base, NULL);

    /* A oneof case without its message is not set: protobuf-c does not pack it either. */
    entity.sme = NULL;
    s_assert_prints(&entity.base, "{}");

    s_scalars_t scalars;
    s_scalars_init(&scalars.base);
    scalars.choice_case = 24;
    scalars.o_int32 = 0;
    s_assert_round_trip_text(&scalars.base, "{\"oInt32\":0}");
    scalars.choice_case = 23;
    scalars.o_bytes.len = 0;
    scalars.o_bytes.data = NULL;
    s_assert_round_trip_text(&scalars.base, "{\"oBytes\":\"\"}");
    scalars.choice_case = 22;
    scalars.o_string = "";
    s_assert_round_trip_text(&scalars.base, "{\"oString\":\"\"}");
}

static void test_print_bytes_base64(void **state)
{
    (void)state;
    uint8_t three[] = {0xfb, 0xff, 0xbf};
    uint8_t two[] = {0xfb, 0xff};
    uint8_t one[] = {0xfb};
    ProtobufCBinaryData list[] = {{2, two}, {1, one}, {0, NULL}};
    s_scalars_t scalars;
    s_scalars_init(&scalars.base);
    scalars.v_bytes.len = 3;
    scalars.v_bytes.data = three;
    scalars.n_r_bytes = 3;
    scalars.r_bytes = list;
    s_assert_round_trip_text(&scalars.base,
                             "{\"vBytes\":\"+/+/\",\"rBytes\":[\"+/8=\",\"+w==\",\"\"]}");
}

/* protobuf-c 1.4.1 unpacks strings without checking UTF-8; the printer must still make
 * valid JSON. */
static void test_print_repairs_invalid_utf8(void **state)
{
    (void)state;
    ls_contact_pb contact = LODESTONE__V1__CONTACT__INIT;
    contact.name = "a\xff\xc0"
                   "b\xe2\x82";
    contact.email = "\xed\xa0\x80@\xf4\x90\x80\x80.eu"; /* a surrogate and beyond U+10FFFF */
    s_assert_prints(&contact.base, "{\"name\":\"a\xef\xbf\xbd\xef\xbf\xbd"
                                   "b\xef\xbf\xbd\xef\xbf\xbd\","
                                   "\"email\":\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd@"
                                   "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd.eu\"}");
}

/* jansson allocations that fail at every possible point: NULL, and nothing leaks. */
static long s_allocations_left;

static void *s_failing_malloc(size_t size)
{
    if (s_allocations_left == 0)
        return NULL;
    s_allocations_left--;
    return malloc(size);
}

static void test_print_out_of_memory(void **state)
{
    (void)state;
    ProtobufCMessage *msg = s_new_filled(&lodestone__v1__reply__descriptor, 2);
    long failures = 0;
    for (long budget = 0;; budget++) {
        json_set_alloc_funcs(s_failing_malloc, free);
        s_allocations_left = budget;
        json_t *json = ls_json_from_message(msg);
        s_allocations_left = budget;
        char *text = ls_json_dumps(msg);
        json_set_alloc_funcs(malloc, free);
        if (json && text) {
            json_decref(json);
            free(text);
            break;
        }
        json_decref(json);
        free(text);
        failures++;
        assert_true(budget < 100000);
    }
    assert_true(failures > 100);
    protobuf_c_message_free_unpacked(msg, NULL);
}

/* ---------------------------------------------------------------------------------------
 * Parsing */

static void test_parse_lenient_values(void **state)
{
    (void)state;
    ls_sme_pb *sme = (ls_sme_pb *)s_parse(
        &lodestone__v1__sme__descriptor,
        "{\"version\":9007199254740993,\"created_at\":\"-9223372036854775808\","
        "\"updatedAt\":-5,\"trl\":\"9\",\"state\":2,"
        "\"instruments\":[\"INSTRUMENT_GRANT\",1,42],"
        "\"consent_share_contact\":true,\"consentMatch\":false,"
        "\"fundingSought\":{\"min_eur\":\"7\",\"maxEur\":8.0},"
        "\"contact\":null,\"name\":null,\"materials\":[],\"region\":\"FI1B\",\"stages\":null}");
    assert_int_equal(sme->version, 9007199254740993ULL);
    assert_true(sme->created_at == INT64_MIN);
    assert_int_equal(sme->updated_at, -5);
    assert_int_equal(sme->trl, 9);
    assert_int_equal(sme->state, LODESTONE__V1__ENTITY_STATE__ENTITY_STATE_ERASED);
    assert_int_equal(sme->n_instruments, 3);
    assert_int_equal(sme->instruments[0], LODESTONE__V1__INSTRUMENT__INSTRUMENT_GRANT);
    assert_int_equal(sme->instruments[1], LODESTONE__V1__INSTRUMENT__INSTRUMENT_EQUITY);
    assert_int_equal(sme->instruments[2], 42);
    assert_true(sme->consent_share_contact);
    assert_false(sme->consent_match);
    assert_int_equal(sme->funding_sought->min_eur, 7);
    assert_int_equal(sme->funding_sought->max_eur, 8);
    assert_null(sme->contact);
    assert_string_equal(sme->name, "");
    assert_int_equal(sme->n_materials, 0);
    assert_string_equal(sme->region, "FI1B");
    s_assert_prints(&sme->base,
                    "{\"version\":\"9007199254740993\",\"createdAt\":\"-9223372036854775808\","
                    "\"updatedAt\":\"-5\",\"state\":\"ENTITY_STATE_ERASED\",\"region\":\"FI1B\","
                    "\"trl\":9,\"consentShareContact\":true,"
                    "\"fundingSought\":{\"minEur\":\"7\",\"maxEur\":\"8\"},"
                    "\"instruments\":[\"INSTRUMENT_GRANT\",\"INSTRUMENT_EQUITY\",42]}");
    protobuf_c_message_free_unpacked(&sme->base, NULL);

    s_scalars_t *scalars = (s_scalars_t *)s_parse(
        &s_scalars_descriptor,
        "{\"vInt32\":\"-2147483648\",\"v_sint32\":2147483647,\"vSfixed32\":-0,"
        "\"vUint32\":\"4294967295\",\"vFixed32\":1e3,\"vInt64\":-9223372036854775808,"
        "\"vUint64\":\"18446744073709551615\",\"vFixed64\":\"007\",\"vFloat\":\"Infinity\","
        "\"vDouble\":\"-2.5e-3\",\"vEnum\":\"ENTITY_STATE_WITHDRAWN\",\"vBytes\":\"-_8\","
        "\"rBytes\":[\"+/8\",\"-_8=\",\"+/+/\",\"\",\"QUJD\",\"-_-_\"],\"rFloat\":[1,\"NaN\",2.5],"
        "\"rEnum\":[0,\"ENTITY_STATE_ERASED\"],\"o_range\":{\"maxEur\":\"1\"},"
        "\"pUint32\":0,\"p_string\":\"\"}");
    assert_int_equal(scalars->v_int32, INT32_MIN);
    assert_int_equal(scalars->v_sint32, INT32_MAX);
    assert_int_equal(scalars->v_sfixed32, 0);
    assert_int_equal(scalars->v_uint32, UINT32_MAX);
    assert_int_equal(scalars->v_fixed32, 1000);
    assert_true(scalars->v_int64 == INT64_MIN);
    assert_true(scalars->v_uint64 == UINT64_MAX);
    assert_int_equal(scalars->v_fixed64, 7);
    assert_true(isinf(scalars->v_float) && scalars->v_float > 0);
    assert_true(scalars->v_double == -2.5e-3);
    assert_int_equal(scalars->v_enum, 1);
    assert_int_equal(scalars->v_bytes.len, 2);
    assert_memory_equal(scalars->v_bytes.data, "\xfb\xff", 2);
    assert_int_equal(scalars->n_r_bytes, 6);
    assert_int_equal(scalars->r_bytes[0].len, 2);
    assert_memory_equal(scalars->r_bytes[0].data, "\xfb\xff", 2);
    assert_int_equal(scalars->r_bytes[1].len, 2);
    assert_memory_equal(scalars->r_bytes[1].data, "\xfb\xff", 2);
    assert_memory_equal(scalars->r_bytes[2].data, "\xfb\xff\xbf", 3);
    assert_int_equal(scalars->r_bytes[3].len, 0);
    assert_memory_equal(scalars->r_bytes[4].data, "ABC", 3);
    assert_memory_equal(scalars->r_bytes[5].data, "\xfb\xff\xbf", 3);
    assert_int_equal(scalars->n_r_float, 3);
    assert_true(isnan(scalars->r_float[1]));
    assert_int_equal(scalars->n_r_enum, 2);
    assert_int_equal(scalars->r_enum[1], 2);
    assert_int_equal(scalars->choice_case, 25);
    assert_int_equal(scalars->o_range->max_eur, 1);
    /* proto2 presence: a given default is still present. */
    assert_true(scalars->has_p_uint32);
    assert_string_equal(scalars->p_string, "");
    protobuf_c_message_free_unpacked(&scalars->base, NULL);

    /* null is the default, also for a oneof member, which then does not count as set. */
    ls_envelope_pb *envelope = (ls_envelope_pb *)s_parse(&lodestone__v1__envelope__descriptor,
                                                         "{\"ping\":null,\"get\":{\"id\":\"x\"}}");
    assert_int_equal(envelope->body_case, LODESTONE__V1__ENVELOPE__BODY_GET);
    assert_string_equal(envelope->get->id, "x");
    protobuf_c_message_free_unpacked(&envelope->base, NULL);
}

/* Each refused input, with the exact error; every refusal frees what it had built, which
 * valgrind and ASan check (several fail late, after strings, arrays and sub-messages). */
static void test_parse_errors(void **state)
{
    (void)state;
    static const struct {
        const ProtobufCMessageDescriptor *desc;
        const char *json;
        const char *error;
    } cases[] = {
        /* The top level. */
        {&lodestone__v1__sme__descriptor, "[]", "sme: expected an object"},
        {&lodestone__v1__sme__descriptor, "\"sme\"", "sme: expected an object"},
        {&lodestone__v1__sme__descriptor, "null", "sme: expected an object"},
        {&lodestone__v1__change_event__descriptor, "7", "change_event: expected an object"},
        /* Names. */
        {&lodestone__v1__sme__descriptor, "{\"id\":\"x\",\"name\":\"n\",\"foo\":1}",
         "sme.foo: unknown field"},
        {&lodestone__v1__sme__descriptor, "{\"consentmatch\":true}",
         "sme.consentmatch: unknown field"},
        {&lodestone__v1__sme__descriptor, "{\"ConsentMatch\":true}",
         "sme.ConsentMatch: unknown field"},
        {&lodestone__v1__sme__descriptor, "{\"consentMatch\":true,\"consent_match\":false}",
         "sme.consent_match: field given twice"},
        {&lodestone__v1__sme__descriptor, "{\"contact\":{\"name\":\"a\",\"naem\":\"b\"}}",
         "sme.contact.naem: unknown field"},
        /* Types. */
        {&lodestone__v1__sme__descriptor, "{\"name\":\"a\",\"materials\":[\"a\",\"b\",3]}",
         "sme.materials[2]: expected a string"},
        {&lodestone__v1__sme__descriptor, "{\"materials\":\"steel\"}",
         "sme.materials: expected an array"},
        {&lodestone__v1__sme__descriptor, "{\"materials\":[\"a\",null]}",
         "sme.materials[1]: expected a string"},
        {&lodestone__v1__sme__descriptor, "{\"trl\":\"nine\"}", "sme.trl: expected an integer"},
        {&lodestone__v1__sme__descriptor, "{\"trl\":true}", "sme.trl: expected an integer"},
        {&lodestone__v1__sme__descriptor, "{\"consentMatch\":\"yes\"}",
         "sme.consentMatch: expected a boolean"},
        {&lodestone__v1__sme__descriptor, "{\"consentMatch\":1}",
         "sme.consentMatch: expected a boolean"},
        {&lodestone__v1__sme__descriptor, "{\"contact\":\"x\"}", "sme.contact: expected an object"},
        {&lodestone__v1__sme__descriptor,
         "{\"name\":\"n\",\"contact\":{\"name\":\"a\",\"email\":5}}",
         "sme.contact.email: expected a string"},
        {&lodestone__v1__status__descriptor, "{\"errors\":[{\"field\":\"a\"},null]}",
         "status.errors[1]: expected an object"},
        {&lodestone__v1__facet_score__descriptor, "{\"weight\":true}",
         "facet_score.weight: expected a number"},
        {&lodestone__v1__facet_score__descriptor, "{\"weight\":\"heavy\"}",
         "facet_score.weight: expected a number"},
        {&lodestone__v1__facet_score__descriptor, "{\"weight\":\"nan\"}",
         "facet_score.weight: expected a number"},
        {&lodestone__v1__facet_score__descriptor, "{\"weight\":\"0x10\"}",
         "facet_score.weight: expected a number"},
        {&lodestone__v1__facet_score__descriptor, "{\"weight\":\" 1\"}",
         "facet_score.weight: expected a number"},
        {&lodestone__v1__facet_score__descriptor, "{\"weight\":\"1e999\"}",
         "facet_score.weight: out of range for double"},
        /* Integer ranges and fractions. */
        {&lodestone__v1__sme__descriptor, "{\"trl\":4294967296}",
         "sme.trl: out of range for uint32"},
        {&lodestone__v1__sme__descriptor, "{\"trl\":\"4294967296\"}",
         "sme.trl: out of range for uint32"},
        {&lodestone__v1__sme__descriptor, "{\"trl\":-1}", "sme.trl: out of range for uint32"},
        {&lodestone__v1__sme__descriptor, "{\"trl\":1.5}", "sme.trl: expected an integer"},
        {&lodestone__v1__sme__descriptor, "{\"trl\":\"1.0\"}", "sme.trl: expected an integer"},
        {&lodestone__v1__sme__descriptor, "{\"version\":-1}",
         "sme.version: out of range for uint64"},
        {&lodestone__v1__sme__descriptor, "{\"version\":\"-1\"}",
         "sme.version: out of range for uint64"},
        {&lodestone__v1__sme__descriptor, "{\"version\":\"18446744073709551616\"}",
         "sme.version: out of range for uint64"},
        {&lodestone__v1__sme__descriptor, "{\"version\":1e20}",
         "sme.version: out of range for uint64"},
        {&lodestone__v1__sme__descriptor, "{\"version\":\"1.5\"}",
         "sme.version: expected an integer"},
        {&lodestone__v1__sme__descriptor, "{\"version\":\"\"}", "sme.version: expected an integer"},
        {&lodestone__v1__sme__descriptor, "{\"version\":\"-\"}",
         "sme.version: expected an integer"},
        {&lodestone__v1__sme__descriptor, "{\"version\":\"+1\"}",
         "sme.version: expected an integer"},
        {&lodestone__v1__sme__descriptor, "{\"version\":\" 1\"}",
         "sme.version: expected an integer"},
        {&lodestone__v1__sme__descriptor, "{\"createdAt\":\"9223372036854775808\"}",
         "sme.createdAt: out of range for int64"},
        {&lodestone__v1__sme__descriptor, "{\"created_at\":\"-9223372036854775809\"}",
         "sme.created_at: out of range for int64"},
        {&lodestone__v1__sme__descriptor, "{\"createdAt\":0.5}",
         "sme.createdAt: expected an integer"},
        {&s_scalars_descriptor, "{\"vInt32\":2147483648}",
         "scalars.vInt32: out of range for int32"},
        {&s_scalars_descriptor, "{\"vSint32\":\"-2147483649\"}",
         "scalars.vSint32: out of range for sint32"},
        {&s_scalars_descriptor, "{\"vFixed64\":-1}", "scalars.vFixed64: out of range for fixed64"},
        {&s_scalars_descriptor, "{\"vFloat\":1e39}", "scalars.vFloat: out of range for float"},
        {&s_scalars_descriptor, "{\"rFloat\":[1,\"-1e39\"]}",
         "scalars.rFloat[1]: out of range for float"},
        /* Enums. */
        {&lodestone__v1__sme__descriptor, "{\"state\":\"ENTITY_STATE_GONE\"}",
         "sme.state: unknown enum name \"ENTITY_STATE_GONE\" for lodestone.v1.EntityState"},
        {&lodestone__v1__sme__descriptor,
         "{\"materials\":[\"x\"],\"instruments\":[\"INSTRUMENT_LOAN\",\"INSTRUMENT_NOPE\"]}",
         "sme.instruments[1]: unknown enum name \"INSTRUMENT_NOPE\" for lodestone.v1.Instrument"},
        {&lodestone__v1__sme__descriptor, "{\"state\":\"entity_state_active\"}",
         "sme.state: unknown enum name \"entity_state_active\" for lodestone.v1.EntityState"},
        {&lodestone__v1__sme__descriptor, "{\"state\":true}",
         "sme.state: expected an enum name or integer"},
        {&lodestone__v1__sme__descriptor, "{\"state\":2147483648}",
         "sme.state: out of range for enum"},
        {&lodestone__v1__sme__descriptor, "{\"state\":1.5}", "sme.state: expected an integer"},
        /* Oneofs. */
        {&lodestone__v1__envelope__descriptor, "{\"ping\":{},\"get\":{\"id\":\"x\"}}",
         "envelope.get: only one member of a oneof may be set (ping is already set)"},
        {&lodestone__v1__entity__descriptor, "{\"sme\":{\"name\":\"a\"},\"investor\":{}}",
         "entity.investor: only one member of a oneof may be set (sme is already set)"},
        {&lodestone__v1__reply__descriptor,
         "{\"requestId\":\"r\",\"status\":{\"code\":\"INVALID\"},"
         "\"entity\":{\"sme\":{\"name\":\"n\"}},\"matches\":{}}",
         "reply.matches: only one member of a oneof may be set (entity is already set)"},
        {&s_scalars_descriptor, "{\"oRange\":{\"minEur\":\"1\"},\"o_bytes\":\"QQ==\"}",
         "scalars.o_bytes: only one member of a oneof may be set (o_range is already set)"},
        {&s_scalars_descriptor, "{\"oString\":\"\",\"oInt32\":0}",
         "scalars.oInt32: only one member of a oneof may be set (o_string is already set)"},
        {&s_scalars_descriptor, "{\"oBytes\":\"!!\"}", "scalars.oBytes: invalid base64"},
        {&s_scalars_descriptor, "{\"oRange\":{\"minEur\":\"x\"}}",
         "scalars.oRange.minEur: expected an integer"},
        /* Bytes. */
        {&s_scalars_descriptor, "{\"vBytes\":5}", "scalars.vBytes: expected a base64 string"},
        {&s_scalars_descriptor, "{\"vBytes\":\"+/8=x\"}", "scalars.vBytes: invalid base64"},
        {&s_scalars_descriptor, "{\"vBytes\":\"A\"}", "scalars.vBytes: invalid base64"},
        {&s_scalars_descriptor, "{\"vBytes\":\"QUJDR\"}", "scalars.vBytes: invalid base64"},
        {&s_scalars_descriptor, "{\"vBytes\":\"QQ=\"}", "scalars.vBytes: invalid base64"},
        {&s_scalars_descriptor, "{\"vBytes\":\"Q===\"}", "scalars.vBytes: invalid base64"},
        {&s_scalars_descriptor, "{\"vBytes\":\"QQ==QQ==\"}", "scalars.vBytes: invalid base64"},
        {&s_scalars_descriptor, "{\"vBytes\":\"QU JD\"}", "scalars.vBytes: invalid base64"},
        {&s_scalars_descriptor, "{\"vBytes\":\"@@@@\"}", "scalars.vBytes: invalid base64"},
        {&s_scalars_descriptor, "{\"vString\":\"s\",\"rBytes\":[\"QQ==\",\"%%\"]}",
         "scalars.rBytes[1]: invalid base64"},
        /* Deep paths. */
        {&lodestone__v1__entity__descriptor, "{\"sme\":{\"fundingSought\":{\"minEur\":true}}}",
         "entity.sme.fundingSought.minEur: expected an integer"},
        {&lodestone__v1__envelope__descriptor,
         "{\"version\":1,\"requestId\":\"r\",\"put\":{\"entity\":{\"opportunity\":"
         "{\"title\":\"t\",\"stages\":[\"a\"],\"trlMin\":\"x\"}}}}",
         "envelope.put.entity.opportunity.trlMin: expected an integer"},
        {&lodestone__v1__change_event__descriptor,
         "{\"entity\":{\"sme\":{\"contact\":{\"phone\":[]}}}}",
         "change_event.entity.sme.contact.phone: expected a string"},
        {&lodestone__v1__match_list__descriptor,
         "{\"matches\":[{\"score\":0.5},{\"facets\":[{\"weight\":\"heavy\"}]}]}",
         "match_list.matches[1].facets[0].weight: expected a number"},
        {&lodestone__v1__notification__descriptor,
         "{\"event\":{\"match\":{\"facets\":[{},{},{\"reason\":\"r\",\"bogus\":1}]}}}",
         "notification.event.match.facets[2].bogus: unknown field"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        s_assert_refused(cases[i].desc, cases[i].json, cases[i].error);
}

static void test_parse_error_buffer(void **state)
{
    (void)state;
    json_t *json = s_load("{\"foo\":1}");
    assert_null(ls_json_to_message(&lodestone__v1__sme__descriptor, json, NULL, 0));
    char err[8];
    memset(err, 'x', sizeof err);
    assert_null(ls_json_to_message(&lodestone__v1__sme__descriptor, json, err, sizeof err));
    assert_string_equal(err, "sme.foo");
    json_decref(json);

    /* A very long key is cut short in the error, not overflowed. */
    char key[1000];
    memset(key, 'k', sizeof key - 1);
    key[sizeof key - 1] = '\0';
    json = json_object();
    json_object_set_new(json, key, json_true());
    char long_err[2048];
    assert_null(
        ls_json_to_message(&lodestone__v1__sme__descriptor, json, long_err, sizeof long_err));
    assert_true(strncmp(long_err, "sme.kkkk", 8) == 0);
    assert_true(strlen(long_err) < 300);
    json_decref(json);

    /* JSON text cannot carry NUL into a C string, nor into a field name. */
    json = json_object();
    json_object_set_new(json, "name", json_stringn("a\0b", 3));
    assert_null(
        ls_json_to_message(&lodestone__v1__sme__descriptor, json, long_err, sizeof long_err));
    assert_string_equal(long_err, "sme.name: string contains a NUL character");
    json_decref(json);
    json = json_object();
    json_object_setn_new(json, "name\0x", 6, json_string("n"));
    assert_null(
        ls_json_to_message(&lodestone__v1__sme__descriptor, json, long_err, sizeof long_err));
    assert_string_equal(long_err, "sme.name: unknown field");
    json_decref(json);
    json = NULL;
    assert_null(
        ls_json_to_message(&lodestone__v1__sme__descriptor, json, long_err, sizeof long_err));
    assert_string_equal(long_err, "sme: expected an object");
}

/* Puts a wrong value at every position of the JSON of every filled message in turn (and
 * an unknown name into every object) and checks the error names that exact path; each
 * failure happens with a different part of the message already built. */
typedef struct {
    const ProtobufCMessageDescriptor *desc;
    json_t *root;
    char path[512];
    size_t refusals;
} s_mutation_t;

static void s_expect_refusal(s_mutation_t *self, const char *reason)
{
    char err[512];
    ProtobufCMessage *msg = ls_json_to_message(self->desc, self->root, err, sizeof err);
    if (msg) {
        protobuf_c_message_free_unpacked(msg, NULL);
        fail_msg("%s: accepted a wrong value at %s", self->desc->name, self->path);
    }
    size_t len = strlen(self->path);
    if (strncmp(err, self->path, len) != 0 || strncmp(err + len, ": ", 2) != 0)
        fail_msg("%s: error \"%s\" does not name %s", self->desc->name, err, self->path);
    if (reason && strcmp(err + len + 2, reason) != 0)
        fail_msg("%s: error \"%s\", expected reason \"%s\"", self->desc->name, err, reason);
    self->refusals++;
}

static void s_mutate(s_mutation_t *self, json_t *node)
{
    size_t len = strlen(self->path);
    if (json_is_object(node)) {
        snprintf(self->path + len, sizeof self->path - len, ".notAField");
        json_object_set_new(node, "notAField", json_true());
        s_expect_refusal(self, "unknown field");
        json_object_del(node, "notAField");

        const char *key;
        json_t *value;
        json_object_foreach(node, key, value)
        {
            snprintf(self->path + len, sizeof self->path - len, ".%s", key);
            json_incref(value);
            json_object_set_new(node, key, json_is_object(value) ? json_array() : json_object());
            s_expect_refusal(self, NULL);
            json_object_set_new(node, key, value);
            s_mutate(self, value);
        }
    } else if (json_is_array(node)) {
        for (size_t i = 0; i < json_array_size(node); i++) {
            snprintf(self->path + len, sizeof self->path - len, "[%zu]", i);
            json_t *value = json_incref(json_array_get(node, i));
            json_array_set_new(node, i, json_is_object(value) ? json_array() : json_object());
            s_expect_refusal(self, NULL);
            json_array_set_new(node, i, value);
            s_mutate(self, value);
        }
    }
    self->path[len] = '\0';
}

static void test_parse_refuses_wrong_value_anywhere(void **state)
{
    (void)state;
    size_t refusals = 0;
    for (size_t i = 0; i < S_MESSAGES; i++) {
        s_mutation_t self = {.desc = s_messages[i]};
        /* The root of every error path is what a non-object at the top is reported as. */
        json_t *array = json_array();
        assert_null(ls_json_to_message(self.desc, array, self.path, sizeof self.path));
        json_decref(array);
        char *colon = strstr(self.path, ": expected an object");
        assert_non_null(colon);
        *colon = '\0';

        ProtobufCMessage *msg = s_new_filled(self.desc, 1);
        self.root = ls_json_from_message(msg);
        assert_non_null(self.root);
        s_mutate(&self, self.root);
        json_decref(self.root);
        protobuf_c_message_free_unpacked(msg, NULL);
        refusals += self.refusals;
    }
    assert_true(refusals > 500);
}

static void test_root_names(void **state)
{
    (void)state;
    s_assert_refused(&lodestone__v1__field_error__descriptor, "1",
                     "field_error: expected an object");
    s_assert_refused(&lodestone__v1__put_entity__descriptor, "1", "put_entity: expected an object");
    s_assert_refused(&lodestone__v1__envelope__descriptor, "1", "envelope: expected an object");
}

/* ---------------------------------------------------------------------------------------
 * Depth */

static char *s_nested_nodes(int levels)
{
    size_t size = (size_t)levels * 16 + 32;
    char *text = malloc(size);
    assert_non_null(text);
    text[0] = '\0';
    for (int i = 1; i < levels; i++)
        strcat(text, "{\"child\":");
    strcat(text, "{\"level\":1}");
    for (int i = 1; i < levels; i++)
        strcat(text, "}");
    return text;
}

static s_node_t *s_node_chain(int levels)
{
    s_node_t *top = (s_node_t *)s_new(&s_node_descriptor);
    s_node_t *node = top;
    for (int i = 1; i < levels; i++) {
        node->child = (s_node_t *)s_new(&s_node_descriptor);
        node = node->child;
    }
    node->level = 1;
    return top;
}

static void test_depth_limit(void **state)
{
    (void)state;
    char *text = s_nested_nodes(32);
    s_node_t *node = (s_node_t *)s_parse(&s_node_descriptor, text);
    int levels = 1;
    for (s_node_t *n = node; n->child; n = n->child)
        levels++;
    assert_int_equal(levels, 32);
    protobuf_c_message_free_unpacked(&node->base, NULL);
    free(text);

    char expected[512] = "node";
    for (int i = 0; i < 32; i++)
        strcat(expected, ".child");
    strcat(expected, ": nested deeper than 32 messages");
    text = s_nested_nodes(33);
    s_assert_refused(&s_node_descriptor, text, expected);
    free(text);

    node = s_node_chain(32);
    json_t *json = ls_json_from_message(&node->base);
    assert_non_null(json);
    json_decref(json);
    protobuf_c_message_free_unpacked(&node->base, NULL);
    node = s_node_chain(33);
    assert_null(ls_json_from_message(&node->base));
    assert_null(ls_json_dumps(&node->base));
    protobuf_c_message_free_unpacked(&node->base, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schema_list_is_closed),
        cmocka_unit_test(test_round_trip_every_message),
        cmocka_unit_test(test_filled_values_print_as_specified),
        cmocka_unit_test(test_print_omits_defaults),
        cmocka_unit_test(test_print_special_doubles),
        cmocka_unit_test(test_print_set_oneof_members),
        cmocka_unit_test(test_print_bytes_base64),
        cmocka_unit_test(test_print_repairs_invalid_utf8),
        cmocka_unit_test(test_print_out_of_memory),
        cmocka_unit_test(test_parse_lenient_values),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_error_buffer),
        cmocka_unit_test(test_parse_refuses_wrong_value_anywhere),
        cmocka_unit_test(test_root_names),
        cmocka_unit_test(test_depth_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
