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
 *   ls:journal-readers:<name> set: the checkpoint keys of a journal's readers;
 *                             trimming keeps every entry after the slowest one
 *   ls:matches:<id>           hash: candidate id -> packed Match (top matches)
 *   ls:model:<consumer>       string: the model fingerprint a matching instance's lists
 *                             were last re-matched with
 *   ls:matching:layout        string: N, the number of partitions the live matching
 *                             instances were started with (a claim under another N
 *                             is refused while one of their leases lives)
 *   ls:lease:matching:<i>     string: the token of the matching process holding
 *                             partition i; expires unless renewed (PX
 *                             LODESTONE_MATCHING_LEASE_MS); every write of the
 *                             partition checks it in the same Lua step (fencing)
 *   ls:inbox:<recipient>      stream: packed Notification per entry, field "n"; at
 *                             most LODESTONE_INBOX_MAX entries
 *   ls:inbox-ack:<recipient>  string: the acknowledged cursor (a stream id)
 *   ls:inbox-dropped:<recipient>  counter: unacknowledged entries the bound removed
 *   ls:sub:<id>               string: packed Subscription (webhook secret left out)
 *   ls:sub-secret:<id>        string: the subscription's webhook secret
 *   ls:subs                   set: every subscription id
 *   ls:subs:<owner>           set: the subscription ids a publisher owns
 *   ls:wh:d:<delivery-id>     hash: one webhook delivery: url, sub, nid, body (JSON),
 *                             attempts, first (ms), error (the last failure), origin
 *   ls:wh:due:<origin>        sorted set: the delivery ids of one origin
 *                             (scheme://host:port, or "invalid") by next attempt time
 *                             (ms); a delivery in flight is leased: scored at its
 *                             lease end
 *   ls:wh:next                sorted set: origin -> the lowest score in its
 *                             ls:wh:due:<origin>; an origin without deliveries is absent
 *   ls:wh:due                 sorted set: the single due set of earlier versions,
 *                             moved to the per-origin sets when webhook delivery starts
 *   ls:wh:dead                sorted set: dead letters (delivery ids) by time of death
 *   ls:digest:<sub>           list: packed DigestItem of the current period
 *   ls:digest-due             sorted set: subscription ids by their period's end (ms)
 *   ls:digest-overflow        hash: subscription id -> items beyond a digest's 1,000
 *   ls:idem-notification:<publisher>:<rid>  string: the subscription a Subscribe with
 *                             this request id created, for 24 h
 *   ls:eoi:<a>|<b>            hash: v (version), d (packed Interest) of the pair, a < b
 *   ls:eoi-declined           set: the pairs in state DECLINED
 *   ls:eoi-remind             sorted set: pair keys by reminder time (ms)
 *   ls:eoi-expire             sorted set: pair keys by expiry time (ms)
 *   ls:journal:interest       stream: interest journal (packed Interest per entry)
 *   ls:seq:interest           counter: last interest sequence number
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
#define LS_KEY_JOURNAL_READERS "ls:journal-readers:"
#define LS_KEY_MATCHES "ls:matches:"
#define LS_KEY_INBOX "ls:inbox:"
#define LS_KEY_MODEL "ls:model:"
#define LS_KEY_MATCHING_LAYOUT "ls:matching:layout"
#define LS_KEY_LEASE_MATCHING "ls:lease:matching:"
#define LS_KEY_INBOX_ACK "ls:inbox-ack:"
#define LS_KEY_INBOX_DROPPED "ls:inbox-dropped:"
#define LS_KEY_SUB "ls:sub:"
#define LS_KEY_SUB_SECRET "ls:sub-secret:"
#define LS_KEY_SUBS "ls:subs"
#define LS_KEY_SUBS_OWNER "ls:subs:"
#define LS_KEY_WEBHOOK "ls:wh:d:"
#define LS_KEY_WEBHOOK_DUE "ls:wh:due:"
#define LS_KEY_WEBHOOK_NEXT "ls:wh:next"
#define LS_KEY_WEBHOOK_DUE_LEGACY "ls:wh:due"
#define LS_KEY_WEBHOOK_DEAD "ls:wh:dead"
#define LS_KEY_DIGEST "ls:digest:"
#define LS_KEY_DIGEST_DUE "ls:digest-due"
#define LS_KEY_DIGEST_OVERFLOW "ls:digest-overflow"
#define LS_KEY_IDEM_NOTIFICATION "ls:idem-notification:"
#define LS_KEY_EOI "ls:eoi:"
#define LS_KEY_EOI_REMIND "ls:eoi-remind"
#define LS_KEY_EOI_DECLINED "ls:eoi-declined"
#define LS_KEY_EOI_EXPIRE "ls:eoi-expire"
#define LS_KEY_JOURNAL_INTEREST "ls:journal:interest"
#define LS_KEY_SEQ_INTEREST "ls:seq:interest"

#endif
