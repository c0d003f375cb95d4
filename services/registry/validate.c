/* validate.c — field-by-field validation and normalisation of SMEs, investors and
 * opportunities. Every problem is reported, not just the first; each error names the
 * field by its JSON path and says what is wrong. Values echoed in a reason are cut at
 * a character boundary and cleaned, so a reply always stays valid UTF-8. */
#include "validate.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ls_entity.h"
#include "ls_util.h"

#define S_MAX_PATH 128
#define S_MAX_QUOTE 48  /* bytes of a bad value echoed in a reason */
#define S_MAX_EMAIL 254 /* RFC 5321 path limit */
#define S_MAX_PHONE 64

/* ISO 639-1 two-letter language codes, each followed by a space. */
static const char s_iso639[] =
    "aa ab ae af ak am an ar as av ay az ba be bg bi bm bn bo br bs ca ce ch co cr cs cu cv cy "
    "da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht "
    "hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky "
    "la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny "
    "oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss "
    "st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo "
    "za zh zu ";

/* What every check needs: where errors go, the vocabularies, the first step of every
 * path ("sme") and the date deadlines are held against. */
typedef struct {
    ls_errors_t *errors;
    const ls_taxonomy_t *taxonomy;
    const char *kind;
    const char *today;
} s_check_t;

enum { S_OPTIONAL = 0, S_REQUIRED = 1, S_MULTILINE = 2 };

typedef const void *(*s_lookup_fn)(const ls_taxonomy_t *taxonomy, const char *code);

/* ---------------------------------------------------------------------------
 * Errors and paths */

/* Adds an error on <kind>.<field>. */
static void s_fail(const s_check_t *c, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void s_fail(const s_check_t *c, const char *field, const char *fmt, ...)
{
    char path[S_MAX_PATH], reason[512];
    if (snprintf(path, sizeof path, "%s.%s", c->kind, field) >= (int)sizeof path)
        strcpy(path + sizeof path - 4, "...");
    va_list args;
    va_start(args, fmt);
    vsnprintf(reason, sizeof reason, fmt, args);
    va_end(args);
    ls_errors_add(c->errors, path, "%s", reason);
}

/* "materials" and 2 -> "materials[2]" in buf. Paths are the schema's, far shorter
 * than S_MAX_PATH; a cut one ends in "...". */
static const char *s_item(char *buf, size_t len, const char *field, size_t index)
{
    if (snprintf(buf, len, "%s[%zu]", field, index) >= (int)len)
        strcpy(buf + len - 4, "...");
    return buf;
}

/* "contact" and "email" -> "contact.email" in buf; an empty parent gives the child. */
static const char *s_child(char *buf, size_t len, const char *parent, const char *child)
{
    if (snprintf(buf, len, "%s%s%s", parent, *parent ? "." : "", child) >= (int)len)
        strcpy(buf + len - 4, "...");
    return buf;
}

/* Bytes in the UTF-8 character a lead byte starts (1 for a broken one). */
static size_t s_char_len(unsigned char lead)
{
    return lead < 0xc0 ? 1 : lead < 0xe0 ? 2 : lead < 0xf0 ? 3 : 4;
}

/* True for a C0 or C1 control character or DEL: the character at p of n bytes. */
static bool s_control(const unsigned char *p, size_t n)
{
    return (n == 1 && (*p < 0x20 || *p == 0x7f)) || (n == 2 && p[0] == 0xc2 && p[1] < 0xa0);
}

/* A value to echo in a reason: at most S_MAX_QUOTE bytes cut at a character
 * boundary, control characters and broken bytes shown as '?'. */
typedef struct {
    char text[S_MAX_QUOTE + 4];
} s_quote_t;

static s_quote_t s_q(const char *value)
{
    s_quote_t q;
    size_t out = 0;
    const unsigned char *p = (const unsigned char *)value;
    while (*p) {
        size_t n = s_char_len(*p);
        bool good = strnlen((const char *)p, n) == n && ls_utf8_valid((const char *)p, n) &&
                    !s_control(p, n);
        n = good ? n : 1;
        if (out + n > S_MAX_QUOTE) {
            memcpy(q.text + out, "...", 3);
            out += 3;
            break;
        }
        memcpy(q.text + out, good ? (const char *)p : "?", n);
        out += n;
        p += n;
    }
    q.text[out] = 0;
    return q;
}

static const char *s_enum_name(const ProtobufCEnumDescriptor *desc, int value)
{
    const ProtobufCEnumValue *known = protobuf_c_enum_descriptor_get_value(desc, value);
    return known ? known->name : NULL;
}

static void s_free_string(char *s)
{
    if (s != protobuf_c_empty_string)
        free(s);
}

/* ---------------------------------------------------------------------------
 * Text */

static bool s_blank(const char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    return *s == 0;
}

/* No control characters in valid UTF-8 s; tab and line breaks only when multiline. */
static bool s_clean(const char *s, bool multiline)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t n; *p; p += n) {
        n = s_char_len(*p);
        bool line = *p == '\t' || *p == '\n' || *p == '\r';
        if (s_control(p, n) && !(multiline && line))
            return false;
    }
    return true;
}

/* Length, UTF-8 and control characters; true when value is fine. */
static bool s_text(const s_check_t *c, const char *field, const char *value, size_t max, int flags)
{
    size_t len = strlen(value);
    if ((flags & S_REQUIRED) && s_blank(value))
        s_fail(c, field, "is required");
    else if (len > max)
        s_fail(c, field, "is %zu bytes long; at most %zu allowed", len, max);
    else if (!ls_utf8_valid(value, len))
        s_fail(c, field, "is not valid UTF-8");
    else if (!s_clean(value, flags & S_MULTILINE))
        s_fail(c, field, "holds a control character");
    else
        return true;
    return false;
}

/* An identifier such as an id or a publisher's reference. */
static void s_token(const s_check_t *c, const char *field, const char *value, size_t max)
{
    size_t len = strlen(value);
    if (len > max) {
        s_fail(c, field, "is %zu bytes long; at most %zu allowed", len, max);
        return;
    }
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)value[i]) && !strchr("._:-", value[i])) {
            s_fail(c, field, "may hold only letters, digits and . _ : -");
            return;
        }
}

static bool s_has_space(const char *s)
{
    for (; *s; s++)
        if (isspace((unsigned char)*s))
            return true;
    return false;
}

static void s_website(const s_check_t *c, const char *field, const char *url)
{
    if (!s_text(c, field, url, VALIDATE_MAX_SHORT, S_OPTIONAL) || !*url)
        return;
    size_t scheme = strncasecmp(url, "https://", 8) == 0  ? 8
                    : strncasecmp(url, "http://", 7) == 0 ? 7
                                                          : 0;
    if (!scheme || !url[scheme] || s_has_space(url))
        s_fail(c, field, "'%s' is not a web address starting with http:// or https://",
               s_q(url).text);
}

static void s_email(const s_check_t *c, const char *field, const char *email)
{
    if (!s_text(c, field, email, S_MAX_EMAIL, S_OPTIONAL) || !*email)
        return;
    const char *at = strchr(email, '@');
    if (!at || at == email || !at[1] || strchr(at + 1, '@') || s_has_space(email))
        s_fail(c, field, "'%s' is not an e-mail address (name@domain)", s_q(email).text);
}

static void s_contact(const s_check_t *c, const ls_contact_pb *contact)
{
    if (!contact)
        return;
    s_text(c, "contact.name", contact->name, VALIDATE_MAX_NAME, S_OPTIONAL);
    s_email(c, "contact.email", contact->email);
    s_text(c, "contact.phone", contact->phone, S_MAX_PHONE, S_OPTIONAL);
    s_text(c, "contact.role", contact->role, VALIDATE_MAX_NAME, S_OPTIONAL);
}

/* What every kind has: id, owner, ref, contact. */
static void s_meta(const s_check_t *c, const ls_entity_meta_t *meta)
{
    s_token(c, "id", *meta->id, VALIDATE_MAX_ID);
    s_text(c, "owner", *meta->owner, VALIDATE_MAX_SHORT, S_OPTIONAL);
    s_token(c, "ref", *meta->ref, VALIDATE_MAX_REF);
    s_contact(c, *meta->contact);
}

/* ---------------------------------------------------------------------------
 * Lists */

/* The count bound, checked before anything looks at the items. */
static bool s_count_ok(const s_check_t *c, const char *field, size_t n)
{
    if (n <= VALIDATE_MAX_LIST)
        return true;
    s_fail(c, field, "has %zu items; at most %d allowed", n, VALIDATE_MAX_LIST);
    return false;
}

/* True when value is among the first n items. */
static bool s_among(char *const *items, size_t n, const char *value)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(items[i], value) == 0)
            return true;
    return false;
}

/* Each code must be known; a repeated one is an error too, as it hints at a mistake. */
static void s_codes(const s_check_t *c, const char *field, char **codes, size_t n,
                    s_lookup_fn lookup, const char *what)
{
    if (!s_count_ok(c, field, n))
        return;
    char item[S_MAX_PATH];
    for (size_t i = 0; i < n; i++) {
        s_item(item, sizeof item, field, i);
        if (!lookup(c->taxonomy, codes[i]))
            s_fail(c, item, "'%s' is not a known %s code", s_q(codes[i]).text, what);
        else if (s_among(codes, i, codes[i]))
            s_fail(c, item, "'%s' is listed twice", s_q(codes[i]).text);
    }
}

static const void *s_region(const ls_taxonomy_t *t, const char *code)
{
    return ls_taxonomy_region(t, code);
}
static const void *s_stage(const ls_taxonomy_t *t, const char *code)
{
    return ls_taxonomy_stage(t, code);
}
/* Group codes such as "hree" are materials too; they are kept as given and the
 * matcher expands them. */
static const void *s_material(const ls_taxonomy_t *t, const char *code)
{
    return ls_taxonomy_material(t, code);
}
static const void *s_theme(const ls_taxonomy_t *t, const char *code)
{
    return ls_taxonomy_theme(t, code);
}
static const void *s_nace(const ls_taxonomy_t *t, const char *code)
{
    return ls_taxonomy_nace(t, code);
}

/* Lower-cases s, trims it and collapses inner whitespace, in place; returns its new
 * length. */
static size_t s_squeeze(char *s)
{
    if (!*s)
        return 0; /* may be the read-only protobuf_c_empty_string */
    size_t out = 0;
    bool space = false;
    for (const char *p = s; *p; p++) {
        if (isspace((unsigned char)*p)) {
            space = out > 0;
            continue;
        }
        if (space)
            s[out++] = ' ';
        space = false;
        s[out++] = (char)tolower((unsigned char)*p);
    }
    s[out] = 0;
    return out;
}

/* Free-text labels (capability tags, certifications): normalised, empty and repeated
 * ones dropped, each bounded. */
static void s_labels(const s_check_t *c, const char *field, char **labels, size_t *n)
{
    if (!s_count_ok(c, field, *n))
        return;
    char item[S_MAX_PATH];
    size_t kept = 0;
    for (size_t i = 0; i < *n; i++) {
        char *label = labels[i];
        if (s_squeeze(label) == 0 || s_among(labels, kept, label)) {
            s_free_string(label);
            continue;
        }
        s_text(c, s_item(item, sizeof item, field, i), label, VALIDATE_MAX_TAG, S_OPTIONAL);
        labels[kept++] = label;
    }
    *n = kept;
}

static bool s_iso639_code(const char *code)
{
    if (strlen(code) != 2 || code[0] < 'a' || code[0] > 'z' || code[1] < 'a' || code[1] > 'z')
        return false;
    for (const char *p = s_iso639; *p; p += 3)
        if (p[0] == code[0] && p[1] == code[1])
            return true;
    return false;
}

/* ISO 639-1 codes, lower case as the standard writes them; repeats dropped. */
static void s_languages(const s_check_t *c, const char *field, char **codes, size_t *n)
{
    if (!s_count_ok(c, field, *n))
        return;
    char item[S_MAX_PATH];
    size_t kept = 0;
    for (size_t i = 0; i < *n; i++) {
        char *code = codes[i];
        bool known = s_iso639_code(code);
        if (known && s_among(codes, kept, code)) {
            s_free_string(code);
            continue;
        }
        if (!known)
            s_fail(c, s_item(item, sizeof item, field, i), "'%s' is not an ISO 639-1 code",
                   s_q(code).text);
        codes[kept++] = code;
    }
    *n = kept;
}

static void s_instruments(const s_check_t *c, const char *field, size_t n,
                          const Lodestone__V1__Instrument *items)
{
    if (!s_count_ok(c, field, n))
        return;
    char item[S_MAX_PATH];
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++)
            if (items[i] == items[j]) {
                const char *name =
                    s_enum_name(&lodestone__v1__instrument__descriptor, (int)items[i]);
                s_fail(c, s_item(item, sizeof item, field, i), "%s is listed twice",
                       name ? name : "the value");
                break;
            }
}

/* ---------------------------------------------------------------------------
 * Enums: protobuf-c keeps an unknown number as it came, so every enum field,
 * repeated ones too, is held against its descriptor. */

/* "size_band" -> "sizeBand" in buf, as the JSON mapping names fields. */
static void s_json_name(char *buf, size_t len, const char *name)
{
    size_t out = 0;
    for (bool up = false; *name && out + 1 < len; name++) {
        if (*name == '_') {
            up = true;
            continue;
        }
        buf[out++] = up ? (char)toupper((unsigned char)*name) : *name;
        up = false;
    }
    buf[out] = 0;
}

/* Where field f's values lie in msg, and how many there are. */
static const void *s_values(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f,
                            size_t *n)
{
    const char *base = (const char *)msg;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        *n = *(const size_t *)(const void *)(base + f->quantifier_offset);
        return *(const void *const *)(const void *)(base + f->offset);
    }
    bool other_oneof = (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
                       *(const uint32_t *)(const void *)(base + f->quantifier_offset) != f->id;
    *n = other_oneof ? 0 : 1;
    return base + f->offset;
}

static void s_enums(const s_check_t *c, const char *parent, const ProtobufCMessage *msg)
{
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    char name[64], field[S_MAX_PATH], item[S_MAX_PATH];
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &desc->fields[i];
        if (f->type != PROTOBUF_C_TYPE_ENUM && f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        s_json_name(name, sizeof name, f->name);
        s_child(field, sizeof field, parent, name);
        bool repeated = f->label == PROTOBUF_C_LABEL_REPEATED;
        size_t n;
        const void *values = s_values(msg, f, &n);
        for (size_t k = 0; k < n; k++) {
            const char *path = repeated ? s_item(item, sizeof item, field, k) : field;
            if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
                const ProtobufCMessage *sub = ((const ProtobufCMessage *const *)values)[k];
                if (sub)
                    s_enums(c, path, sub);
            } else if (!s_enum_name(f->descriptor, ((const int *)values)[k]))
                s_fail(c, path, "%d is not a known value", ((const int *)values)[k]);
        }
    }
}

/* ---------------------------------------------------------------------------
 * Numbers and dates */

static void s_trl(const s_check_t *c, const char *field, uint32_t trl)
{
    if (trl != 0 && !ls_taxonomy_trl_valid(c->taxonomy, trl))
        s_fail(c, field, "%u is not a TRL; use 1 to 9, or 0 for not stated", trl);
}

static void s_money(const s_check_t *c, const char *field, const ls_money_range_pb *range)
{
    if (!range)
        return;
    char path[S_MAX_PATH];
    if (range->min_eur > VALIDATE_MAX_EUR)
        s_fail(c, s_child(path, sizeof path, field, "minEur"), "%llu is more than 10^12 EUR",
               (unsigned long long)range->min_eur);
    if (range->max_eur > VALIDATE_MAX_EUR)
        s_fail(c, s_child(path, sizeof path, field, "maxEur"), "%llu is more than 10^12 EUR",
               (unsigned long long)range->max_eur);
    if (range->max_eur && range->min_eur > range->max_eur)
        s_fail(c, field, "minEur %llu is above maxEur %llu", (unsigned long long)range->min_eur,
               (unsigned long long)range->max_eur);
}

/* EU definition: micro < 10 persons, small < 50, medium < 250. A stated band must
 * agree with a stated head count; a missing one is derived from it. */
static void s_size_band(const s_check_t *c, ls_sme_pb *sme)
{
    uint32_t employees = sme->employees;
    if (employees > VALIDATE_MAX_EMPLOYEES) {
        s_fail(c, "employees", "%u is more than %d", employees, VALIDATE_MAX_EMPLOYEES);
        return;
    }
    if (employees >= VALIDATE_SME_EMPLOYEES) {
        s_fail(c, "employees", "250 or more persons is not an SME (EU definition)");
        return;
    }
    if (employees == 0)
        return;
    Lodestone__V1__SizeBand band = employees < 10   ? LODESTONE__V1__SIZE_BAND__SIZE_BAND_MICRO
                                   : employees < 50 ? LODESTONE__V1__SIZE_BAND__SIZE_BAND_SMALL
                                                    : LODESTONE__V1__SIZE_BAND__SIZE_BAND_MEDIUM;
    const ProtobufCEnumDescriptor *desc = &lodestone__v1__size_band__descriptor;
    const char *given = s_enum_name(desc, (int)sme->size_band);
    if (sme->size_band == LODESTONE__V1__SIZE_BAND__SIZE_BAND_UNSPECIFIED)
        sme->size_band = band;
    else if (sme->size_band != band && given) /* an unknown band is reported as such */
        s_fail(c, "sizeBand", "%s does not agree with %u employees (%s)", given, employees,
               s_enum_name(desc, (int)band));
}

static int s_days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

/* 0 for a date of the calendar, 1 when text is not shaped YYYY-MM-DD, 2 when it is
 * but there is no such day. */
static int s_date(const char *text)
{
    if (strlen(text) != 10 || text[4] != '-' || text[7] != '-')
        return 1;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !isdigit((unsigned char)text[i]))
            return 1;
    int year = atoi(text), month = atoi(text + 5), day = atoi(text + 8);
    if (year < 1 || month < 1 || month > 12 || day < 1 || day > s_days_in_month(year, month))
        return 2;
    return 0;
}

/* A real date; for an open opportunity, not before today. */
static void s_deadline(const s_check_t *c, const ls_opportunity_pb *opp)
{
    const char *deadline = opp->deadline;
    if (!*deadline)
        return;
    int problem = s_date(deadline);
    if (problem == 1)
        s_fail(c, "deadline", "'%s' is not a date YYYY-MM-DD", s_q(deadline).text);
    else if (problem == 2)
        s_fail(c, "deadline", "%s is not a day of the calendar", deadline);
    else if (c->today && opp->status == LODESTONE__V1__OPPORTUNITY__STATUS__OPEN &&
             strcmp(deadline, c->today) < 0)
        s_fail(c, "deadline", "%s is in the past", deadline);
}

/* ---------------------------------------------------------------------------
 * Regions */

/* The region must be known; an empty country is derived from it, a given one must
 * agree with it. */
static void s_region_country(const s_check_t *c, const char *region, char **country, bool required)
{
    if (!*region) {
        if (required)
            s_fail(c, "region", "is required");
        return;
    }
    const ls_region_t *r = ls_taxonomy_region(c->taxonomy, region);
    if (!r) {
        s_fail(c, "region", "'%s' is not a known region code", s_q(region).text);
        return;
    }
    if (!country)
        return;
    if (!**country) {
        if (ls_entity_set_string(country, r->country))
            s_fail(c, "country", "could not be derived from the region (out of memory)");
    } else if (strcmp(*country, r->country) != 0)
        s_fail(c, "country", "'%s' does not agree with region %s (in %s)", s_q(*country).text,
               region, r->country);
}

/* ---------------------------------------------------------------------------
 * Kinds */

static void s_sme_lists(const s_check_t *c, ls_sme_pb *sme)
{
    s_codes(c, "nace", sme->nace, sme->n_nace, s_nace, "NACE Rev. 2");
    s_codes(c, "stages", sme->stages, sme->n_stages, s_stage, "value-chain stage");
    s_codes(c, "materials", sme->materials, sme->n_materials, s_material, "material");
    s_labels(c, "capabilities", sme->capabilities, &sme->n_capabilities);
    s_codes(c, "themes", sme->themes, sme->n_themes, s_theme, "theme");
    s_instruments(c, "instruments", sme->n_instruments, sme->instruments);
    s_labels(c, "certifications", sme->certifications, &sme->n_certifications);
    s_languages(c, "languages", sme->languages, &sme->n_languages);
    if (sme->n_stages == 0 && sme->n_materials == 0 && sme->n_capabilities == 0)
        s_fail(c, "stages",
               "an SME needs at least one stage, material or capability to be matched");
}

static void s_sme(const s_check_t *c, ls_sme_pb *sme)
{
    s_text(c, "name", sme->name, VALIDATE_MAX_NAME, S_REQUIRED);
    s_region_country(c, sme->region, &sme->country, true);
    s_sme_lists(c, sme);
    s_trl(c, "trl", sme->trl);
    s_text(c, "description", sme->description, VALIDATE_MAX_TEXT, S_MULTILINE);
    s_website(c, "website", sme->website);
    s_money(c, "fundingSought", sme->funding_sought);
    s_size_band(c, sme);
}

static void s_investor(const s_check_t *c, ls_investor_pb *inv)
{
    s_text(c, "name", inv->name, VALIDATE_MAX_NAME, S_REQUIRED);
    if (inv->type == LODESTONE__V1__INVESTOR__TYPE__TYPE_UNSPECIFIED)
        s_fail(c, "type", "is required");
    s_region_country(c, inv->region, NULL, false);
    s_codes(c, "targetRegions", inv->target_regions, inv->n_target_regions, s_region, "region");
    s_codes(c, "stages", inv->stages, inv->n_stages, s_stage, "value-chain stage");
    s_codes(c, "materials", inv->materials, inv->n_materials, s_material, "material");
    s_codes(c, "themes", inv->themes, inv->n_themes, s_theme, "theme");
    s_money(c, "ticket", inv->ticket);
    s_instruments(c, "instruments", inv->n_instruments, inv->instruments);
    s_trl(c, "trlMin", inv->trl_min);
    s_trl(c, "trlMax", inv->trl_max);
    if (inv->trl_min && inv->trl_max && inv->trl_min > inv->trl_max)
        s_fail(c, "trlMin", "%u is above trlMax %u", inv->trl_min, inv->trl_max);
    s_text(c, "description", inv->description, VALIDATE_MAX_TEXT, S_MULTILINE);
    s_website(c, "website", inv->website);
}

static void s_opportunity_lists(const s_check_t *c, ls_opportunity_pb *opp)
{
    s_codes(c, "stages", opp->stages, opp->n_stages, s_stage, "value-chain stage");
    s_codes(c, "materials", opp->materials, opp->n_materials, s_material, "material");
    s_labels(c, "requiredCapabilities", opp->required_capabilities, &opp->n_required_capabilities);
    s_labels(c, "niceCapabilities", opp->nice_capabilities, &opp->n_nice_capabilities);
    s_codes(c, "nace", opp->nace, opp->n_nace, s_nace, "NACE Rev. 2");
    s_codes(c, "themes", opp->themes, opp->n_themes, s_theme, "theme");
}

static void s_opportunity(const s_check_t *c, ls_opportunity_pb *opp)
{
    if (opp->kind == LODESTONE__V1__OPPORTUNITY__KIND__KIND_UNSPECIFIED)
        s_fail(c, "kind", "is required");
    s_text(c, "title", opp->title, VALIDATE_MAX_NAME, S_REQUIRED);
    s_text(c, "organisation", opp->organisation, VALIDATE_MAX_NAME, S_OPTIONAL);
    s_text(c, "description", opp->description, VALIDATE_MAX_TEXT, S_MULTILINE);
    s_region_country(c, opp->region, NULL, true);
    s_opportunity_lists(c, opp);
    s_trl(c, "trlMin", opp->trl_min);
    s_money(c, "budget", opp->budget);
    s_deadline(c, opp);
}

void validate_entity(ls_entity_pb *entity, const ls_taxonomy_t *taxonomy, const char *today,
                     ls_errors_t *errors)
{
    ls_entity_meta_t meta;
    if (ls_entity_meta(entity, &meta)) {
        ls_errors_add(errors, "entity", "must hold one of sme, investor, opportunity");
        return;
    }
    s_check_t check = {errors, taxonomy, meta.kind_name, today};
    s_meta(&check, &meta);
    switch (entity->body_case) {
    case LODESTONE__V1__ENTITY__BODY_SME:
        s_enums(&check, "", &entity->sme->base);
        s_sme(&check, entity->sme);
        break;
    case LODESTONE__V1__ENTITY__BODY_INVESTOR:
        s_enums(&check, "", &entity->investor->base);
        s_investor(&check, entity->investor);
        break;
    default:
        s_enums(&check, "", &entity->opportunity->base);
        s_opportunity(&check, entity->opportunity);
    }
}
