/* ls_codec.c — protobuf messages to and from ZeroMQ frames, size-capped. */
#include "ls_codec.h"

#include <stdlib.h>

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
    /* Checks required fields and UTF-8 in string fields. */
    if (!protobuf_c_message_check(msg)) {
        protobuf_c_message_free_unpacked(msg, NULL);
        *reason = "message fails protobuf validation (UTF-8 or required fields)";
        return NULL;
    }
    return msg;
}
