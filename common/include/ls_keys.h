/* ls_keys.h — every Redis key Lodestone uses, in one place. All keys start "ls:".
 *
 *   ls:entity:<id>            hash: kind, owner, version, created, updated, state,
 *                             ref, ord, d (the packed Entity without meta and
 *                             contact), name (lower case), nace (comma-separated);
 *                             an erased entity keeps only kind, owner, version,
 *                             created, updated, state (a tombstone)
 *   ls:contact:<id>           string: packed Contact (personal data; erasure = DEL)
 *   ls:entity:<id>:indexes    set: the index keys this entity is a member of
 *   ls:idx:<facet>:<value>    sorted set of entity ids scored by ordinal (facet: all,
 *                             kind, region, stage, material, theme, nace)
 *   ls:ref:<owner>:<ref>      string: the entity id a publisher's own reference names
 *   ls:next:<prefix>          counter for readable ids (sme-17, inv-3, opp-9)
 *   ls:next:ordinal           counter: an entity's creation order, its list position
 *   ls:idem:<publisher>:<rid> string: the result of a write request, for 24 h
 *   ls:journal:changes        stream: change journal, entry n has id n-0
 *   ls:seq:changes            counter: last change sequence number
 *   ls:journal:matches        stream: match journal
 *   ls:seq:matches            counter: last match sequence number
 *   ls:checkpoint:<consumer>  string: last journal sequence a consumer applied
 *   ls:matches:<id>           hash: candidate id -> packed Match (top matches)
 *   ls:model:<consumer>       string: the model fingerprint a matching instance's lists
 *                             were last re-matched with
 *   ls:inbox:<recipient>      stream: packed Notification per entry
 */
#ifndef LS_KEYS_H
#define LS_KEYS_H

#define LS_KEY_PREFIX "ls:"
#define LS_KEY_ENTITY "ls:entity:"
#define LS_KEY_CONTACT "ls:contact:"
#define LS_KEY_INDEXES_SUFFIX ":indexes"
#define LS_KEY_INDEX "ls:idx:"
#define LS_KEY_REF "ls:ref:"
#define LS_KEY_NEXT "ls:next:"
#define LS_KEY_JOURNAL_CHANGES "ls:journal:changes"
#define LS_KEY_SEQ_CHANGES "ls:seq:changes"
#define LS_KEY_JOURNAL_MATCHES "ls:journal:matches"
#define LS_KEY_SEQ_MATCHES "ls:seq:matches"
#define LS_KEY_CHECKPOINT "ls:checkpoint:"
#define LS_KEY_MATCHES "ls:matches:"
#define LS_KEY_INBOX "ls:inbox:"
#define LS_KEY_MODEL "ls:model:"

#endif
