/* ls_codec.h — the one codec between protobuf messages and ZeroMQ frames. Every
 * inbound frame is size-checked before it is unpacked; nothing here asserts on
 * input. */
#ifndef LS_CODEC_H
#define LS_CODEC_H

#include <czmq.h>
#include <protobuf-c/protobuf-c.h>

/* Packs msg into a new frame; the caller owns it. */
zframe_t *ls_codec_pack(const ProtobufCMessage *msg);

/* Unpacks size bytes as a message of type desc. Returns NULL, with a static reason
 * in *reason, when size exceeds max or the bytes are not a valid message. The
 * caller frees the result with protobuf_c_message_free_unpacked (msg, NULL). */
ProtobufCMessage *ls_codec_unpack(const ProtobufCMessageDescriptor *desc, const void *data,
                                  size_t size, size_t max, const char **reason);

/* Packs msg into a new heap buffer (*len set); the caller frees it. */
uint8_t *ls_codec_pack_buffer(const ProtobufCMessage *msg, size_t *len);

#endif
