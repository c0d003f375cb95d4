/* patch.c — field-mask updates over protobuf-c descriptors. Fields are moved, not
 * copied: the patch gives up the memory, so both messages stay freeable with
 * protobuf_c_message_free_unpacked. */
#include "patch.h"

#include <stdlib.h>
#include <string.h>

#define S_MAX_PATHS 64

static const char *const s_meta[] = {"id", "owner", "version", "created_at", "updated_at", "state"};

/* Fields validation derives from another when left empty: patching the source
 * without the derived field clears the derived one, so that it is derived again. */
static const struct {
    const char *source, *derived;
} s_derived[] = {{"region", "country"}, {"employees", "size_band"}};

static ProtobufCMessage *s_body(ls_entity_pb *entity)
{
    switch (entity->body_case) {
    case LODESTONE__V1__ENTITY__BODY_SME:
        return &entity->sme->base;
    case LODESTONE__V1__ENTITY__BODY_INVESTOR:
        return &entity->investor->base;
    case LODESTONE__V1__ENTITY__BODY_OPPORTUNITY:
        return &entity->opportunity->base;
    default:
        return NULL;
    }
}

/* True when path names the field: its proto name or its lowerCamelCase JSON name. */
static bool s_names(const char *proto_name, const char *path)
{
    if (strcmp(proto_name, path) == 0)
        return true;
    const char *p = proto_name;
    for (; *p && *path; p++) {
        if (*p == '_' && p[1]) {
            p++;
            if (*path != (*p >= 'a' && *p <= 'z' ? *p - 32 : *p))
                return false;
        } else if (*p != *path)
            return false;
        path++;
    }
    return !*p && !*path;
}

static const ProtobufCFieldDescriptor *s_field(const ProtobufCMessageDescriptor *d,
                                               const char *path)
{
    for (unsigned i = 0; i < d->n_fields; i++)
        if (s_names(d->fields[i].name, path))
            return &d->fields[i];
    return NULL;
}

static size_t s_scalar_size(ProtobufCType type)
{
    switch (type) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    default:
        return 4; /* 32-bit integers, float, enum, protobuf_c_boolean */
    }
}

/* Frees one value of a string, bytes or message field. */
static void s_free_value(const ProtobufCFieldDescriptor *f, void *value_p)
{
    if (f->type == PROTOBUF_C_TYPE_STRING) {
        char *text = *(char **)value_p;
        if (text && text != protobuf_c_empty_string && text != f->default_value)
            free(text);
    } else if (f->type == PROTOBUF_C_TYPE_BYTES) {
        ProtobufCBinaryData *data = value_p;
        const ProtobufCBinaryData *def = f->default_value;
        if (data->data && (!def || data->data != def->data))
            free(data->data);
    } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
        ProtobufCMessage *msg = *(ProtobufCMessage **)value_p;
        if (msg)
            protobuf_c_message_free_unpacked(msg, NULL);
    }
}

static size_t s_value_size(const ProtobufCFieldDescriptor *f)
{
    if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE)
        return sizeof(void *);
    if (f->type == PROTOBUF_C_TYPE_BYTES)
        return sizeof(ProtobufCBinaryData);
    return s_scalar_size(f->type);
}

static void s_move(ProtobufCMessage *to, ProtobufCMessage *from, const ProtobufCFieldDescriptor *f)
{
    char *dst = (char *)to + f->offset, *src = (char *)from + f->offset;
    size_t size = s_value_size(f);
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        size_t *dst_n = (size_t *)(void *)((char *)to + f->quantifier_offset);
        size_t *src_n = (size_t *)(void *)((char *)from + f->quantifier_offset);
        char *items = *(char **)(void *)dst;
        for (size_t i = 0; i < *dst_n; i++)
            s_free_value(f, items + i * size);
        free(items);
        memcpy(dst, src, sizeof(void *));
        *dst_n = *src_n;
        *(void **)(void *)src = NULL;
        *src_n = 0;
        return;
    }
    s_free_value(f, dst);
    memcpy(dst, src, size);
    if (f->type == PROTOBUF_C_TYPE_STRING)
        *(const char **)(void *)src = protobuf_c_empty_string;
    else if (f->type == PROTOBUF_C_TYPE_MESSAGE)
        *(void **)(void *)src = NULL;
    else if (f->type == PROTOBUF_C_TYPE_BYTES)
        memset(src, 0, size);
}

static bool s_is_meta(const ProtobufCFieldDescriptor *f)
{
    for (size_t i = 0; i < sizeof s_meta / sizeof s_meta[0]; i++)
        if (strcmp(f->name, s_meta[i]) == 0)
            return true;
    return false;
}

static bool s_named(const ProtobufCFieldDescriptor **fields, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(fields[i]->name, name) == 0)
            return true;
    return false;
}

static void s_clear_derived(ProtobufCMessage *to, ProtobufCMessage *from,
                            const ProtobufCFieldDescriptor **fields, size_t n)
{
    for (size_t i = 0; i < sizeof s_derived / sizeof s_derived[0]; i++) {
        const ProtobufCFieldDescriptor *derived =
            protobuf_c_message_descriptor_get_field_by_name(to->descriptor, s_derived[i].derived);
        if (derived && s_named(fields, n, s_derived[i].source) &&
            !s_named(fields, n, s_derived[i].derived))
            s_move(to, from, derived); /* from still holds the default: a clear */
    }
}

size_t patch_apply(ls_entity_pb *current, ls_entity_pb *patch, char **paths, size_t n_paths,
                   ls_errors_t *errors)
{
    size_t before = ls_errors_count(errors);
    ProtobufCMessage *to = s_body(current), *from = s_body(patch);
    if (!from || current->body_case != patch->body_case) {
        ls_errors_add(errors, "patch.entity", "must be of the same kind as the entity");
        return 1;
    }
    if (n_paths == 0 || n_paths > S_MAX_PATHS)
        ls_errors_add(errors, "patch.paths", "must name 1 to %d fields", S_MAX_PATHS);
    const ProtobufCFieldDescriptor *fields[S_MAX_PATHS];
    char where[64];
    for (size_t i = 0; i < n_paths && i < S_MAX_PATHS; i++) {
        snprintf(where, sizeof where, "patch.paths[%zu]", i);
        fields[i] = s_field(from->descriptor, paths[i]);
        if (!fields[i])
            ls_errors_add(errors, where, "'%.64s' is not a field of %s", paths[i],
                          from->descriptor->short_name);
        else if (s_is_meta(fields[i]))
            ls_errors_add(errors, where, "'%.64s' is set by the registry", paths[i]);
        for (size_t j = 0; fields[i] && j < i; j++)
            if (fields[j] == fields[i])
                ls_errors_add(errors, where, "'%.64s' is named twice", paths[i]);
    }
    if (ls_errors_count(errors) > before)
        return ls_errors_count(errors) - before;
    for (size_t i = 0; i < n_paths; i++)
        s_move(to, from, fields[i]);
    s_clear_derived(to, from, fields, n_paths);
    return 0;
}
