/* validate.h — the registry's border check of entities: required fields, known
 * codes from the taxonomies, known enum values, ranges, sizes, UTF-8 text. It also
 * normalises in place (capability tags and certifications lower-cased, trimmed and
 * de-duplicated; languages de-duplicated; country derived from the region; SME size
 * band derived from the head count) so that what is stored is canonical. */
#ifndef REGISTRY_VALIDATE_H
#define REGISTRY_VALIDATE_H

#include "ls_proto.h"
#include "ls_rpc.h"
#include "ls_taxonomy.h"

#define VALIDATE_MAX_LIST 32              /* items in any repeated field */
#define VALIDATE_MAX_TAG 64               /* bytes in a capability tag or certification */
#define VALIDATE_MAX_NAME 200             /* bytes in a name or title */
#define VALIDATE_MAX_TEXT 4000            /* bytes in a description */
#define VALIDATE_MAX_SHORT 256            /* bytes in any other string */
#define VALIDATE_MAX_ID 64                /* bytes in an entity id */
#define VALIDATE_MAX_REF 128              /* bytes in a publisher's reference */
#define VALIDATE_MAX_EUR 1000000000000ULL /* any amount, in euros (10^12) */
#define VALIDATE_MAX_EMPLOYEES 1000000    /* head count */
#define VALIDATE_SME_EMPLOYEES 250        /* EU definition: an SME has fewer persons */

/* Checks entity, normalising it in place; adds one error per problem to errors,
 * each naming the field by its JSON path ("sme.region", "sme.materials[2]",
 * "investor.trlMin"). today is the date "YYYY-MM-DD" against which the deadline of an
 * open opportunity is checked; NULL skips that check. entity's strings are heap
 * strings as protobuf-c's unpack or ls_json_to_message make them: normalising may
 * free and replace them. */
void validate_entity(ls_entity_pb *entity, const ls_taxonomy_t *taxonomy, const char *today,
                     ls_errors_t *errors);

#endif
