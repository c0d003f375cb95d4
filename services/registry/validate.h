/* validate.h — the registry's border check of entities: required fields, known
 * codes from the taxonomies, ranges, sizes, UTF-8. It also normalises in place
 * (capability tags lower-cased, trimmed and de-duplicated; country derived from
 * the region) so that what is stored is canonical. */
#ifndef REGISTRY_VALIDATE_H
#define REGISTRY_VALIDATE_H

#include "ls_proto.h"
#include "ls_rpc.h"
#include "ls_taxonomy.h"

#define VALIDATE_MAX_LIST 32   /* items in any repeated field */
#define VALIDATE_MAX_TAG 64    /* bytes in a capability tag */
#define VALIDATE_MAX_NAME 200  /* bytes in a name or title */
#define VALIDATE_MAX_TEXT 4000 /* bytes in a description */
#define VALIDATE_MAX_SHORT 256 /* bytes in any other string */

/* Checks entity, normalising it in place; adds one error per problem to errors
 * with the field's JSON path ("sme.region"). */
void validate_entity(ls_entity_pb *entity, const ls_taxonomy_t *taxonomy, ls_errors_t *errors);

#endif
