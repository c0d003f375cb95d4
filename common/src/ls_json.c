/* ls_json.c — JSON <-> protobuf for any protobuf-c message, driven only by its
 * descriptor and following the proto3 JSON mapping (protobuf.dev/programming-guides/json).
 *
 * Printing: lowerCamelCase names in field-number order; proto3 defaults omitted, but a
 * set oneof member and a present sub-message are always printed; 64-bit integers as
 * decimal strings; NaN and infinities as "NaN", "Infinity", "-Infinity"; enums by name
 * (an unknown number as the number); bytes as padded standard base64; strings that are
 * not valid UTF-8 (protobuf-c 1.4.1 does not check) get U+FFFD for each bad byte.
 *
 * Parsing: the JSON is input from outside and is checked at the border: every name must
 * be a known field (lowerCamelCase or the proto name, not both), every integer is
 * range-checked, enum names must exist, one member per oneof, nesting is bounded. Errors
 * name the field path as written in the input, rooted at the message's snake_case name:
 * "sme.materials[2]: expected a string". The message is built in place with malloc so
 * that protobuf_c_message_free_unpacked (msg, NULL) frees it, also half-built on error. */

#include "ls_json.h"

#include <assert.h>
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Deepest message nesting accepted, counting the top-level message as 1. The schema has
 * no recursive types; this only stops hostile or broken input from eating the stack. */
#define LS_JSON_MAX_DEPTH 32

/* Longest error path kept; a longer one is cut short. */
#define LS_JSON_PATH_MAX 256

typedef struct {
    char path[LS_JSON_PATH_MAX]; /* "sme.materials[2]" while parsing that value */
    size_t path_len;
    int depth;
    char *err;
    size_t errlen;
} s_parser_t;

/* ---------------------------------------------------------------------------------------
 * Descriptor helpers */

static void *s_member(const ProtobufCMessage *msg, unsigned offset)
{
    return (char *)msg + offset;
}

/* Size of one value of field's type, as stored in a message or a repeated array. */
static size_t s_value_size(ProtobufCType type)
{
    switch (type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_ENUM:
        return sizeof(int32_t);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return sizeof(int64_t);
    case PROTOBUF_C_TYPE_FLOAT:
        return sizeof(float);
    case PROTOBUF_C_TYPE_DOUBLE:
        return sizeof(double);
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING:
        return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(ProtobufCMessage *);
    }
    assert(false);
    return 0;
}

static const char *s_type_name(ProtobufCType type)
{
    static const char *names[] = {"int32",  "sint32",  "sfixed32", "int64",   "sint64", "sfixed64",
                                  "uint32", "fixed32", "uint64",   "fixed64", "float",  "double",
                                  "bool",   "enum",    "string",   "bytes",   "message"};
    return (unsigned)type < sizeof names / sizeof names[0] ? names[type] : "value";
}

/* Writes the proto3 JSON name of a proto field name into out (strlen (name) + 1 bytes):
 * "consent_share_contact" -> "consentShareContact". */
static void s_camel_case(const char *name, char *out)
{
    bool upper = false;
    for (; *name; name++) {
        if (*name == '_')
            upper = true;
        else {
            *out++ = upper && *name >= 'a' && *name <= 'z' ? (char)(*name - 'a' + 'A') : *name;
            upper = false;
        }
    }
    *out = '\0';
}

/* True when key is the lowerCamelCase form of the proto field name. */
static bool s_camel_equals(const char *name, const char *key)
{
    bool upper = false;
    for (; *name; name++) {
        if (*name == '_') {
            upper = true;
            continue;
        }
        char want = upper && *name >= 'a' && *name <= 'z' ? (char)(*name - 'a' + 'A') : *name;
        if (*key++ != want)
            return false;
        upper = false;
    }
    return *key == '\0';
}

/* True when a proto3 field without presence holds its default and is left out of JSON.
 * Same test as protobuf-c's packer, so that JSON and wire agree on what is there. */
static bool s_is_default(const ProtobufCFieldDescriptor *field, const void *member)
{
    switch (field->type) {
    case PROTOBUF_C_TYPE_BOOL:
        return *(const protobuf_c_boolean *)member == 0;
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_ENUM:
        return *(const uint32_t *)member == 0;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return *(const uint64_t *)member == 0;
    case PROTOBUF_C_TYPE_FLOAT:
        return *(const float *)member == 0;
    case PROTOBUF_C_TYPE_DOUBLE:
        return *(const double *)member == 0;
    case PROTOBUF_C_TYPE_STRING: {
        const char *str = *(char *const *)member;
        return str == NULL || *str == '\0';
    }
    case PROTOBUF_C_TYPE_BYTES:
        return ((const ProtobufCBinaryData *)member)->len == 0;
    case PROTOBUF_C_TYPE_MESSAGE:
        return *(ProtobufCMessage *const *)member == NULL;
    }
    return true;
}

/* True when field is present in msg and so is printed. */
static bool s_is_present(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *field)
{
    const void *member = s_member(msg, field->offset);
    bool is_pointer =
        field->type == PROTOBUF_C_TYPE_STRING || field->type == PROTOBUF_C_TYPE_MESSAGE;
    const void *pointer = is_pointer ? *(void *const *)member : NULL;

    if (field->label == PROTOBUF_C_LABEL_REPEATED)
        return *(const size_t *)s_member(msg, field->quantifier_offset) > 0;
    if (field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        if (*(const uint32_t *)s_member(msg, field->quantifier_offset) != field->id)
            return false;
        return !is_pointer || (pointer != NULL && pointer != field->default_value);
    }
    if (field->label == PROTOBUF_C_LABEL_OPTIONAL) {
        if (is_pointer)
            return pointer != NULL && pointer != field->default_value;
        return *(const protobuf_c_boolean *)s_member(msg, field->quantifier_offset) != 0;
    }
    if (field->label == PROTOBUF_C_LABEL_REQUIRED)
        return !is_pointer || pointer != NULL;
    return !s_is_default(field, member);
}

/* ---------------------------------------------------------------------------------------
 * Base64 (RFC 4648): printed standard and padded; parsed standard or URL-safe, padded or
 * not. */

static const char s_base64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Returns a new NUL-terminated base64 text of data; the caller frees it. NULL when out of
 * memory. */
static char *s_base64_encode(const uint8_t *data, size_t len)
{
    char *text = malloc((len + 2) / 3 * 4 + 1);
    if (!text)
        return NULL;
    char *out = text;
    size_t i = 0;
    for (; i + 2 < len; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8 | data[i + 2];
        *out++ = s_base64_alphabet[v >> 18 & 63];
        *out++ = s_base64_alphabet[v >> 12 & 63];
        *out++ = s_base64_alphabet[v >> 6 & 63];
        *out++ = s_base64_alphabet[v & 63];
    }
    if (i < len) {
        uint32_t v = (uint32_t)data[i] << 16 | (i + 1 < len ? (uint32_t)data[i + 1] << 8 : 0);
        *out++ = s_base64_alphabet[v >> 18 & 63];
        *out++ = s_base64_alphabet[v >> 12 & 63];
        *out++ = i + 1 < len ? s_base64_alphabet[v >> 6 & 63] : '=';
        *out++ = '=';
    }
    *out = '\0';
    return text;
}

static int s_base64_digit(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

/* Decodes text into a new buffer in *out (NULL when empty; the caller frees it).
 * Returns 0, -1 when text is not base64, -2 when out of memory. */
static int s_base64_decode(const char *text, size_t len, ProtobufCBinaryData *out)
{
    size_t pad = 0;
    while (pad < 2 && len > pad && text[len - pad - 1] == '=')
        pad++;
    if (pad > 0 && len % 4 != 0)
        return -1;
    size_t digits = len - pad;
    if (digits % 4 == 1)
        return -1;
    size_t size = digits / 4 * 3 + (digits % 4 ? digits % 4 - 1 : 0);
    for (size_t i = 0; i < digits; i++)
        if (s_base64_digit(text[i]) < 0)
            return -1;

    out->len = 0;
    out->data = NULL;
    if (size == 0)
        return 0;
    uint8_t *data = malloc(size);
    if (!data)
        return -2;
    uint32_t bits = 0;
    int nbits = 0;
    size_t n = 0;
    for (size_t i = 0; i < digits; i++) {
        bits = bits << 6 | (uint32_t)s_base64_digit(text[i]);
        nbits += 6;
        if (nbits >= 8) {
            nbits -= 8;
            data[n++] = (uint8_t)(bits >> nbits);
            bits &= (1u << nbits) - 1;
        }
    }
    assert(n == size);
    out->len = size;
    out->data = data;
    return 0;
}

/* ---------------------------------------------------------------------------------------
 * Printing */

static json_t *s_message_to_json(const ProtobufCMessage *msg, int depth);

/* Length of the well-formed UTF-8 sequence at s, or 0 when it is not one. */
static size_t s_utf8_sequence(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    size_t len = s[0] >= 0xc2 && s[0] <= 0xdf   ? 2
                 : s[0] >= 0xe0 && s[0] <= 0xef ? 3
                 : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4
                                                : 0;
    if (len == 0)
        return 0;
    unsigned char lo = 0x80, hi = 0xbf; /* bounds of the second byte (RFC 3629) */
    if (s[0] == 0xe0)
        lo = 0xa0;
    else if (s[0] == 0xed)
        hi = 0x9f;
    else if (s[0] == 0xf0)
        lo = 0x90;
    else if (s[0] == 0xf4)
        hi = 0x8f;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return len;
}

/* A JSON string of str, with U+FFFD for each byte that is not part of valid UTF-8. */
static json_t *s_string_to_json(const char *str)
{
    json_t *json = json_string(str);
    if (json)
        return json;
    size_t len = strlen(str);
    char *clean = malloc(len * 3 + 1);
    if (!clean)
        return NULL;
    const unsigned char *in = (const unsigned char *)str;
    char *out = clean;
    bool repaired = false;
    while (*in) {
        size_t n = s_utf8_sequence(in);
        if (n) {
            memcpy(out, in, n);
            out += n;
            in += n;
        } else {
            memcpy(out, "\xef\xbf\xbd", 3);
            out += 3;
            in++;
            repaired = true;
        }
    }
    *out = '\0';
    /* Nothing to repair means json_string failed for want of memory. */
    json = repaired ? json_string(clean) : NULL;
    free(clean);
    return json;
}

static json_t *s_double_to_json(double value)
{
    if (isnan(value))
        return json_string("NaN");
    if (isinf(value))
        return json_string(value > 0 ? "Infinity" : "-Infinity");
    return json_real(value);
}

static json_t *s_enum_to_json(const ProtobufCEnumDescriptor *desc, int value)
{
    const ProtobufCEnumValue *known = protobuf_c_enum_descriptor_get_value(desc, value);
    return known ? json_string(known->name) : json_integer(value);
}

/* One value of field's type at member. */
static json_t *s_value_to_json(const ProtobufCFieldDescriptor *field, const void *member, int depth)
{
    char text[24];
    switch (field->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        return json_integer(*(const int32_t *)member);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return json_integer(*(const uint32_t *)member);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        snprintf(text, sizeof text, "%" PRId64, *(const int64_t *)member);
        return json_string(text);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        snprintf(text, sizeof text, "%" PRIu64, *(const uint64_t *)member);
        return json_string(text);
    case PROTOBUF_C_TYPE_FLOAT:
        return s_double_to_json(*(const float *)member);
    case PROTOBUF_C_TYPE_DOUBLE:
        return s_double_to_json(*(const double *)member);
    case PROTOBUF_C_TYPE_BOOL:
        return json_boolean(*(const protobuf_c_boolean *)member);
    case PROTOBUF_C_TYPE_ENUM:
        return s_enum_to_json(field->descriptor, *(const int *)member);
    case PROTOBUF_C_TYPE_STRING: {
        const char *str = *(char *const *)member;
        return s_string_to_json(str ? str : "");
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *bytes = member;
        char *base64 = s_base64_encode(bytes->data, bytes->len);
        json_t *json = base64 ? json_string(base64) : NULL;
        free(base64);
        return json;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)member;
        /* A NULL element of a repeated field cannot be packed either; print it empty. */
        return sub ? s_message_to_json(sub, depth + 1) : json_object();
    }
    }
    return NULL;
}

static json_t *s_repeated_to_json(const ProtobufCMessage *msg,
                                  const ProtobufCFieldDescriptor *field, int depth)
{
    size_t count = *(const size_t *)s_member(msg, field->quantifier_offset);
    const char *values = *(char *const *)s_member(msg, field->offset);
    size_t size = s_value_size(field->type);
    json_t *array = json_array();
    for (size_t i = 0; array && i < count; i++) {
        /* json_array_append_new takes the value, NULL included, and fails on NULL. */
        if (json_array_append_new(array, s_value_to_json(field, values + i * size, depth)) != 0) {
            json_decref(array);
            array = NULL;
        }
    }
    return array;
}

/* Adds field to object under its JSON name when it is present. Returns 0 or -1 when out
 * of memory or nested too deeply. */
static int s_field_to_json(json_t *object, const ProtobufCMessage *msg,
                           const ProtobufCFieldDescriptor *field, int depth)
{
    if (!s_is_present(msg, field))
        return 0;
    json_t *value = field->label == PROTOBUF_C_LABEL_REPEATED
                        ? s_repeated_to_json(msg, field, depth)
                        : s_value_to_json(field, s_member(msg, field->offset), depth);
    if (!value)
        return -1;

    char buffer[64];
    size_t need = strlen(field->name) + 1;
    char *name = need <= sizeof buffer ? buffer : malloc(need);
    if (!name) {
        json_decref(value);
        return -1;
    }
    s_camel_case(field->name, name);
    int rc = json_object_set_new(object, name, value); /* takes value even on failure */
    if (name != buffer)
        free(name);
    return rc == 0 ? 0 : -1;
}

static json_t *s_message_to_json(const ProtobufCMessage *msg, int depth)
{
    if (depth > LS_JSON_MAX_DEPTH)
        return NULL;
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    json_t *object = json_object();
    for (unsigned i = 0; object && i < desc->n_fields; i++) {
        if (s_field_to_json(object, msg, &desc->fields[i], depth) != 0) {
            json_decref(object);
            object = NULL;
        }
    }
    return object;
}

json_t *ls_json_from_message(const ProtobufCMessage *msg)
{
    assert(msg && msg->descriptor);
    assert(msg->descriptor->magic == PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC);
    return s_message_to_json(msg, 1);
}

char *ls_json_dumps(const ProtobufCMessage *msg)
{
    json_t *json = ls_json_from_message(msg);
    if (!json)
        return NULL;
    char *text = json_dumps(json, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(json);
    return text;
}

/* ---------------------------------------------------------------------------------------
 * Parsing */

static int s_parse_message(s_parser_t *self, const ProtobufCMessageDescriptor *desc,
                           const json_t *json, ProtobufCMessage **msg_p);

/* Records "path: reason" as the error; always returns -1. */
__attribute__((format(printf, 2, 3))) static int s_fail(s_parser_t *self, const char *format, ...)
{
    if (self->err && self->errlen > 0) {
        char reason[160];
        va_list args;
        va_start(args, format);
        vsnprintf(reason, sizeof reason, format, args);
        va_end(args);
        snprintf(self->err, self->errlen, "%s: %s", self->path, reason);
    }
    return -1;
}

/* Appends text to the path, cut short when full; returns the length to restore. */
static size_t s_path_push(s_parser_t *self, const char *prefix, const char *text)
{
    size_t saved = self->path_len;
    int n = snprintf(self->path + saved, sizeof self->path - saved, "%s%s", prefix, text);
    if (n > 0)
        self->path_len +=
            (size_t)n < sizeof self->path - saved ? (size_t)n : sizeof self->path - saved - 1;
    return saved;
}

static size_t s_path_push_index(s_parser_t *self, size_t index)
{
    char text[32];
    snprintf(text, sizeof text, "[%zu]", index);
    return s_path_push(self, "", text);
}

static void s_path_pop(s_parser_t *self, size_t saved)
{
    self->path_len = saved;
    self->path[saved] = '\0';
}

/* Starts the path with the snake_case short name of the message: "ChangeEvent" ->
 * "change_event". */
static void s_path_root(s_parser_t *self, const char *short_name)
{
    size_t n = 0;
    for (const char *c = short_name; *c && n + 2 < sizeof self->path; c++) {
        bool upper = *c >= 'A' && *c <= 'Z';
        if (upper && c > short_name &&
            ((c[-1] >= 'a' && c[-1] <= 'z') || (c[-1] >= '0' && c[-1] <= '9')))
            self->path[n++] = '_';
        self->path[n++] = upper ? (char)(*c - 'A' + 'a') : *c;
    }
    self->path[n] = '\0';
    self->path_len = n;
}

/* Reads a JSON integer, an integral real or a decimal string as sign and magnitude.
 * Returns 0, -1 when it is not an integer, -2 when it does not fit in 64 bits. */
static int s_read_integer(const json_t *json, bool *negative, uint64_t *magnitude)
{
    if (json_is_integer(json)) {
        json_int_t v = json_integer_value(json);
        *negative = v < 0;
        *magnitude = v < 0 ? (uint64_t)(-(v + 1)) + 1 : (uint64_t)v;
        return 0;
    }
    if (json_is_real(json)) {
        double v = json_real_value(json);
        if (isnan(v) || isinf(v))
            return -1;
        *negative = v < 0;
        double a = v < 0 ? -v : v;
        if (a >= 18446744073709551616.0) /* 2^64 */
            return -2;
        *magnitude = (uint64_t)a;
        return (double)*magnitude == a ? 0 : -1;
    }
    if (json_is_string(json)) {
        const char *s = json_string_value(json);
        *negative = *s == '-';
        s += *negative;
        if (*s == '\0')
            return -1;
        uint64_t v = 0;
        bool overflow = false;
        for (; *s; s++) {
            if (*s < '0' || *s > '9')
                return -1;
            unsigned digit = (unsigned)(*s - '0');
            if (v > (UINT64_MAX - digit) / 10)
                overflow = true;
            v = v * 10 + digit;
        }
        *magnitude = v;
        return overflow ? -2 : 0;
    }
    return -1;
}

static int s_parse_signed(s_parser_t *self, const json_t *json, int64_t max, ProtobufCType type,
                          int64_t *value)
{
    bool negative;
    uint64_t magnitude;
    int rc = s_read_integer(json, &negative, &magnitude);
    if (rc == -1)
        return s_fail(self, "expected an integer");
    /* The range is [-max - 1, max]. */
    if (rc == -2 || magnitude > (uint64_t)max + (negative ? 1 : 0))
        return s_fail(self, "out of range for %s", s_type_name(type));
    *value = !negative || magnitude == 0 ? (int64_t)magnitude : -(int64_t)(magnitude - 1) - 1;
    return 0;
}

static int s_parse_unsigned(s_parser_t *self, const json_t *json, uint64_t max, ProtobufCType type,
                            uint64_t *value)
{
    bool negative;
    uint64_t magnitude;
    int rc = s_read_integer(json, &negative, &magnitude);
    if (rc == -1)
        return s_fail(self, "expected an integer");
    if (rc == -2 || (negative && magnitude > 0) || magnitude > max)
        return s_fail(self, "out of range for %s", s_type_name(type));
    *value = magnitude;
    return 0;
}

/* True when s is a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool s_is_number_text(const char *s)
{
    s += *s == '-';
    if (*s == '0')
        s++;
    else if (*s >= '1' && *s <= '9')
        while (*s >= '0' && *s <= '9')
            s++;
    else
        return false;
    if (*s == '.') {
        if (*++s < '0' || *s > '9')
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        s += *s == '+' || *s == '-';
        if (*s < '0' || *s > '9')
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    return *s == '\0';
}

static int s_parse_double(s_parser_t *self, const json_t *json, ProtobufCType type, double *value)
{
    if (json_is_number(json)) {
        *value = json_number_value(json);
        return 0;
    }
    if (!json_is_string(json))
        return s_fail(self, "expected a number");
    const char *s = json_string_value(json);
    if (strcmp(s, "NaN") == 0)
        *value = NAN;
    else if (strcmp(s, "Infinity") == 0)
        *value = INFINITY;
    else if (strcmp(s, "-Infinity") == 0)
        *value = -INFINITY;
    else if (s_is_number_text(s)) {
        errno = 0;
        *value = strtod(s, NULL);
        if (errno == ERANGE && isinf(*value))
            return s_fail(self, "out of range for %s", s_type_name(type));
    } else
        return s_fail(self, "expected a number");
    return 0;
}

static int s_parse_enum(s_parser_t *self, const ProtobufCEnumDescriptor *desc, const json_t *json,
                        int *value)
{
    if (json_is_string(json)) {
        const char *name = json_string_value(json);
        const ProtobufCEnumValue *known = protobuf_c_enum_descriptor_get_value_by_name(desc, name);
        if (!known)
            return s_fail(self, "unknown enum name \"%s\" for %s", name, desc->name);
        *value = known->value;
        return 0;
    }
    if (!json_is_number(json))
        return s_fail(self, "expected an enum name or integer");
    /* proto3 enums are open: any int32 is kept and printed back as a number. */
    int64_t number;
    if (s_parse_signed(self, json, INT32_MAX, PROTOBUF_C_TYPE_ENUM, &number) != 0)
        return -1;
    *value = (int)number;
    return 0;
}

static int s_parse_string(s_parser_t *self, const json_t *json, char **value)
{
    if (!json_is_string(json))
        return s_fail(self, "expected a string");
    const char *s = json_string_value(json);
    size_t len = json_string_length(json);
    if (strlen(s) != len)
        return s_fail(self, "string contains a NUL character");
    char *copy = malloc(len + 1);
    if (!copy)
        return s_fail(self, "out of memory");
    memcpy(copy, s, len + 1);
    *value = copy;
    return 0;
}

static int s_parse_bytes(s_parser_t *self, const json_t *json, ProtobufCBinaryData *value)
{
    if (!json_is_string(json))
        return s_fail(self, "expected a base64 string");
    int rc = s_base64_decode(json_string_value(json), json_string_length(json), value);
    if (rc == -1)
        return s_fail(self, "invalid base64");
    if (rc == -2)
        return s_fail(self, "out of memory");
    return 0;
}

/* Parses one value of field's type into member, which holds that type's zero value.
 * Whatever it allocates is reachable from member at once, also on failure. */
static int s_parse_value(s_parser_t *self, const ProtobufCFieldDescriptor *field,
                         const json_t *json, void *member)
{
    int64_t i;
    uint64_t u;
    double d;
    switch (field->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        if (s_parse_signed(self, json, INT32_MAX, field->type, &i) != 0)
            return -1;
        *(int32_t *)member = (int32_t)i;
        return 0;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        return s_parse_signed(self, json, INT64_MAX, field->type, member);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        if (s_parse_unsigned(self, json, UINT32_MAX, field->type, &u) != 0)
            return -1;
        *(uint32_t *)member = (uint32_t)u;
        return 0;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return s_parse_unsigned(self, json, UINT64_MAX, field->type, member);
    case PROTOBUF_C_TYPE_FLOAT:
        if (s_parse_double(self, json, field->type, &d) != 0)
            return -1;
        if (!isinf(d) && (d > FLT_MAX || d < -FLT_MAX))
            return s_fail(self, "out of range for float");
        *(float *)member = (float)d;
        return 0;
    case PROTOBUF_C_TYPE_DOUBLE:
        return s_parse_double(self, json, field->type, member);
    case PROTOBUF_C_TYPE_BOOL:
        if (!json_is_boolean(json))
            return s_fail(self, "expected a boolean");
        *(protobuf_c_boolean *)member = json_is_true(json);
        return 0;
    case PROTOBUF_C_TYPE_ENUM:
        return s_parse_enum(self, field->descriptor, json, member);
    case PROTOBUF_C_TYPE_STRING:
        return s_parse_string(self, json, member);
    case PROTOBUF_C_TYPE_BYTES:
        return s_parse_bytes(self, json, member);
    case PROTOBUF_C_TYPE_MESSAGE:
        return s_parse_message(self, field->descriptor, json, member);
    }
    return s_fail(self, "unsupported field type");
}

static int s_parse_repeated(s_parser_t *self, ProtobufCMessage *msg,
                            const ProtobufCFieldDescriptor *field, const json_t *json)
{
    if (!json_is_array(json))
        return s_fail(self, "expected an array");
    size_t count = json_array_size(json);
    if (count == 0)
        return 0;
    size_t size = s_value_size(field->type);
    /* Zeroed elements are valid for free_unpacked: NULL strings, messages and data. */
    char *values = calloc(count, size);
    if (!values)
        return s_fail(self, "out of memory");
    *(void **)s_member(msg, field->offset) = values;
    *(size_t *)s_member(msg, field->quantifier_offset) = count;
    for (size_t i = 0; i < count; i++) {
        size_t saved = s_path_push_index(self, i);
        if (s_parse_value(self, field, json_array_get(json, i), values + i * size) != 0)
            return -1;
        s_path_pop(self, saved);
    }
    return 0;
}

static int s_parse_oneof(s_parser_t *self, ProtobufCMessage *msg,
                         const ProtobufCFieldDescriptor *field, const json_t *json)
{
    uint32_t *oneof_case = s_member(msg, field->quantifier_offset);
    if (*oneof_case != 0) {
        const ProtobufCFieldDescriptor *other =
            protobuf_c_message_descriptor_get_field(msg->descriptor, *oneof_case);
        return s_fail(self, "only one member of a oneof may be set (%s is already set)",
                      other ? other->name : "another");
    }
    /* The union may hold stale bytes of a wider member: clear ours before free_unpacked
     * can see the case. */
    void *member = s_member(msg, field->offset);
    memset(member, 0, s_value_size(field->type));
    *oneof_case = field->id;
    return s_parse_value(self, field, json, member);
}

static int s_parse_field(s_parser_t *self, ProtobufCMessage *msg,
                         const ProtobufCFieldDescriptor *field, const json_t *json)
{
    if (field->label == PROTOBUF_C_LABEL_REPEATED)
        return s_parse_repeated(self, msg, field, json);
    if (field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        return s_parse_oneof(self, msg, field, json);
    if (s_parse_value(self, field, json, s_member(msg, field->offset)) != 0)
        return -1;
    bool has_flag = field->type != PROTOBUF_C_TYPE_STRING && field->type != PROTOBUF_C_TYPE_MESSAGE;
    if (field->label == PROTOBUF_C_LABEL_OPTIONAL && has_flag)
        *(protobuf_c_boolean *)s_member(msg, field->quantifier_offset) = 1;
    return 0;
}

static const ProtobufCFieldDescriptor *s_find_field(const ProtobufCMessageDescriptor *desc,
                                                    const char *key)
{
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const char *name = desc->fields[i].name;
        if (strcmp(name, key) == 0 || s_camel_equals(name, key))
            return &desc->fields[i];
    }
    return NULL;
}

/* Fills msg from the members of object; seen marks the fields already given. */
static int s_parse_fields(s_parser_t *self, ProtobufCMessage *msg, const json_t *object, bool *seen)
{
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    /* jansson's iteration API takes a non-const object; it does not modify it. */
    json_t *members = (json_t *)object;
    for (void *iter = json_object_iter(members); iter;
         iter = json_object_iter_next(members, iter)) {
        const char *key = json_object_iter_key(iter);
        const json_t *value = json_object_iter_value(iter);
        size_t saved = s_path_push(self, ".", key);
        const ProtobufCFieldDescriptor *field =
            strlen(key) == json_object_iter_key_len(iter) ? s_find_field(desc, key) : NULL;
        if (!field)
            return s_fail(self, "unknown field");
        if (seen[field - desc->fields])
            return s_fail(self, "field given twice");
        seen[field - desc->fields] = true;
        /* null is the default: leave the field as initialised. */
        if (!json_is_null(value) && s_parse_field(self, msg, field, value) != 0)
            return -1;
        s_path_pop(self, saved);
    }
    return 0;
}

/* Builds a message of type desc from json into *msg_p, which owns it as soon as it is
 * allocated, so that on failure the caller's free_unpacked frees it too. */
static int s_parse_message(s_parser_t *self, const ProtobufCMessageDescriptor *desc,
                           const json_t *json, ProtobufCMessage **msg_p)
{
    if (!json_is_object(json))
        return s_fail(self, "expected an object");
    if (self->depth >= LS_JSON_MAX_DEPTH)
        return s_fail(self, "nested deeper than %d messages", LS_JSON_MAX_DEPTH);
    ProtobufCMessage *msg = malloc(desc->sizeof_message);
    bool *seen = calloc(desc->n_fields + 1, sizeof(bool));
    if (!msg || !seen) {
        free(msg);
        free(seen);
        return s_fail(self, "out of memory");
    }
    protobuf_c_message_init(desc, msg);
    *msg_p = msg;
    self->depth++;
    int rc = s_parse_fields(self, msg, json, seen);
    self->depth--;
    free(seen);
    return rc;
}

ProtobufCMessage *ls_json_to_message(const ProtobufCMessageDescriptor *desc, const json_t *json,
                                     char *err, size_t errlen)
{
    assert(desc && desc->magic == PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC);
    s_parser_t self = {.err = err, .errlen = errlen};
    s_path_root(&self, desc->short_name);
    if (err && errlen > 0)
        err[0] = '\0';

    ProtobufCMessage *msg = NULL;
    if (s_parse_message(&self, desc, json, &msg) != 0) {
        protobuf_c_message_free_unpacked(msg, NULL);
        return NULL;
    }
    return msg;
}
