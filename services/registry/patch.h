/* patch.h — partial updates: moves the fields a patch names from the patch into the
 * current entity, generically over the protobuf-c descriptors, so every field of
 * every kind can be patched without code per field. */
#ifndef REGISTRY_PATCH_H
#define REGISTRY_PATCH_H

#include "ls_proto.h"
#include "ls_rpc.h"

/* For each path (a field of the entity's kind, JSON or proto name: "region",
 * "fundingSought", "required_capabilities"), moves that field's value from patch to
 * current; a path whose field patch leaves at its default clears it. A field derived
 * from a patched one (country from region, sizeBand from employees) is cleared too
 * unless it is patched itself, so that validation derives it again. The meta fields
 * (id, owner, version, times, state) cannot be patched. Problems are added to errors
 * with the path "patch.paths[i]"; current is changed only when there are none.
 * Returns the number of errors added. */
size_t patch_apply(ls_entity_pb *current, ls_entity_pb *patch, char **paths, size_t n_paths,
                   ls_errors_t *errors);

#endif
