/* ls_codec.c — protobuf messages to and from ZeroMQ frames, size-capped. */
#include "ls_codec.h"

#include <stdlib.h>
#include <string.h>

#include "ls_util.h"

zframe_t *ls_codec_pack(const ProtobufCMessage *msg)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    zframe_t *frame = zframe_new(NULL, len);
    if (frame && len)
        protobuf_c_message_pack(msg, zframe_data(frame));
    return frame;
}

uint8_t *ls_codec_pack_buffer(const ProtobufCMessage *msg, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(msg);
    uint8_t *buffer = malloc(*len ? *len : 1);
    if (buffer)
        protobuf_c_message_pack(msg, buffer);
    return buffer;
}

static bool s_string_ok(const char *s)
{
    return !s || ls_utf8_valid(s, strlen(s));
}

/* protobuf-c 1.4.1 checks no UTF-8 (protobuf_c_message_check only looks at required
 * fields), so every string field, nested and repeated ones too, is checked here. The
 * schema has no recursive types, so the recursion is bounded by the schema. */
static bool s_utf8_fields(const ProtobufCMessage *msg)
{
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];
        if (f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        const char *base = (const char *)msg;
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            *(const uint32_t *)(const void *)(base + f->quantifier_offset) != f->id)
            continue;
        size_t count = 1;
        const void *const *items = (const void *const *)(const void *)(base + f->offset);
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            count = *(const size_t *)(const void *)(base + f->quantifier_offset);
            items = *(const void *const *const *)(const void *)(base + f->offset);
        }
        for (size_t k = 0; k < count; k++) {
            if (f->type == PROTOBUF_C_TYPE_STRING && !s_string_ok(items[k]))
                return false;
            if (f->type == PROTOBUF_C_TYPE_MESSAGE && items[k] && !s_utf8_fields(items[k]))
                return false;
        }
    }
    return true;
}

ProtobufCMessage *ls_codec_unpack(const ProtobufCMessageDescriptor *desc, const void *data,
                                  size_t size, size_t max, const char **reason)
{
    if (size > max) {
        *reason = "message too large";
        return NULL;
    }
    ProtobufCMessage *msg = protobuf_c_message_unpack(desc, NULL, size, data);
    if (!msg) {
        *reason = "not a valid protobuf message";
        return NULL;
    }
    if (!protobuf_c_message_check(msg)) {
        protobuf_c_message_free_unpacked(msg, NULL);
        *reason = "a required field is missing";
        return NULL;
    }
    if (!s_utf8_fields(msg)) {
        protobuf_c_message_free_unpacked(msg, NULL);
        *reason = "a string field is not valid UTF-8";
        return NULL;
    }
    return msg;
}
