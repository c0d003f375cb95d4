/* ls_json.h — JSON <-> protobuf for every lodestone.v1 message, driven by the
 * protobuf-c descriptors and following the proto3 JSON mapping: lowerCamelCase
 * names (the original names are accepted too), 64-bit integers as strings, enums
 * by name, bytes as base64, default values omitted when printing. */
#ifndef LS_JSON_H
#define LS_JSON_H

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

/* Returns a new JSON object (the caller owns the reference), or NULL when out of
 * memory. */
json_t *ls_json_from_message(const ProtobufCMessage *msg);

/* Builds a message of type desc from json. Returns NULL and a message naming the
 * field path ("sme.trl: expected an integer") in err on failure. The caller frees
 * the result with protobuf_c_message_free_unpacked (msg, NULL). */
ProtobufCMessage *ls_json_to_message(const ProtobufCMessageDescriptor *desc, const json_t *json,
                                     char *err, size_t errlen);

/* Convenience: compact JSON text of msg; the caller frees it with free(). */
char *ls_json_dumps(const ProtobufCMessage *msg);

#endif
