/* validate.c — field-by-field validation and normalisation of SMEs, investors and
 * opportunities. Every problem is reported, not just the first. */
#include "validate.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "ls_util.h"

typedef const void *(*s_lookup_fn)(const ls_taxonomy_t *taxonomy, const char *code);

static void s_text(ls_errors_t *errors, const char *path, const char *value, size_t max,
                   bool required)
{
    size_t len = strlen(value);
    if (required && len == 0)
        ls_errors_add(errors, path, "is required");
    else if (len > max)
        ls_errors_add(errors, path, "is %zu bytes long; at most %zu allowed", len, max);
    else if (!ls_text_valid(value, len))
        ls_errors_add(errors, path, "is not valid UTF-8 text");
}

/* Each code must be known; duplicates are errors too, as they hint at a mistake. */
static void s_codes(ls_errors_t *errors, const char *path, char **codes, size_t n,
                    const ls_taxonomy_t *taxonomy, s_lookup_fn lookup, const char *what)
{
    char item[96];
    if (n > VALIDATE_MAX_LIST) {
        ls_errors_add(errors, path, "has %zu items; at most %d allowed", n, VALIDATE_MAX_LIST);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        snprintf(item, sizeof item, "%s[%zu]", path, i);
        if (strlen(codes[i]) > VALIDATE_MAX_SHORT || !lookup(taxonomy, codes[i]))
            ls_errors_add(errors, item, "'%.64s' is not a known %s code", codes[i], what);
        for (size_t j = 0; j < i; j++)
            if (strcmp(codes[i], codes[j]) == 0)
                ls_errors_add(errors, item, "'%.64s' is listed twice", codes[i]);
    }
}

static const void *s_region(const ls_taxonomy_t *t, const char *c)
{
    return ls_taxonomy_region(t, c);
}
static const void *s_stage(const ls_taxonomy_t *t, const char *c)
{
    return ls_taxonomy_stage(t, c);
}
static const void *s_material(const ls_taxonomy_t *t, const char *c)
{
    return ls_taxonomy_material(t, c);
}
static const void *s_theme(const ls_taxonomy_t *t, const char *c)
{
    return ls_taxonomy_theme(t, c);
}
static const void *s_nace(const ls_taxonomy_t *t, const char *c)
{
    return ls_taxonomy_nace(t, c);
}

/* Lower-cases, trims and collapses inner whitespace of each tag; drops empty and
 * repeated tags. */
static void s_tags(ls_errors_t *errors, const char *path, char **tags, size_t *n)
{
    char item[96];
    size_t kept = 0;
    for (size_t i = 0; i < *n; i++) {
        char *tag = tags[i];
        size_t out = 0;
        bool space = false;
        for (const char *p = tag; *p; p++) {
            if (isspace((unsigned char)*p)) {
                space = out > 0;
                continue;
            }
            if (space)
                tag[out++] = ' ';
            space = false;
            tag[out++] = (char)tolower((unsigned char)*p);
        }
        tag[out] = 0;
        bool repeated = out == 0;
        for (size_t j = 0; j < kept && !repeated; j++)
            repeated = strcmp(tags[j], tag) == 0;
        if (repeated) {
            free(tag);
            continue;
        }
        snprintf(item, sizeof item, "%s[%zu]", path, i);
        if (out > VALIDATE_MAX_TAG)
            ls_errors_add(errors, item, "is %zu bytes long; at most %d allowed", out,
                          VALIDATE_MAX_TAG);
        else if (!ls_text_valid(tag, out))
            ls_errors_add(errors, item, "is not valid UTF-8 text");
        tags[kept++] = tag;
    }
    *n = kept;
    if (kept > VALIDATE_MAX_LIST)
        ls_errors_add(errors, path, "has %zu tags; at most %d allowed", kept, VALIDATE_MAX_LIST);
}

static void s_ref(ls_errors_t *errors, const char *path, const char *ref)
{
    size_t len = strlen(ref);
    if (len > 128) {
        ls_errors_add(errors, path, "is %zu bytes long; at most 128 allowed", len);
        return;
    }
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)ref[i]) && !strchr("._:-", ref[i])) {
            ls_errors_add(errors, path, "may hold only letters, digits and . _ : -");
            return;
        }
}

/* The region must be known; an empty country is derived from it, a given one must
 * agree with it. */
static void s_region_country(ls_errors_t *errors, const char *prefix, const char *region,
                             char **country, const ls_taxonomy_t *taxonomy, bool required)
{
    char path[64];
    snprintf(path, sizeof path, "%s.region", prefix);
    if (!*region) {
        if (required)
            ls_errors_add(errors, path, "is required");
        return;
    }
    const ls_region_t *r = ls_taxonomy_region(taxonomy, region);
    if (!r) {
        ls_errors_add(errors, path, "'%.16s' is not a known region code", region);
        return;
    }
    if (!country)
        return;
    if (!**country) {
        char *derived = strdup(r->country);
        if (derived) {
            if (*country != protobuf_c_empty_string)
                free(*country);
            *country = derived;
        }
    } else if (strcmp(*country, r->country) != 0) {
        snprintf(path, sizeof path, "%s.country", prefix);
        ls_errors_add(errors, path, "'%.8s' does not agree with region %s (in %s)", *country,
                      region, r->country);
    }
}

static void s_trl(ls_errors_t *errors, const char *path, uint32_t trl,
                  const ls_taxonomy_t *taxonomy)
{
    if (trl != 0 && !ls_taxonomy_trl_valid(taxonomy, trl))
        ls_errors_add(errors, path, "%u is not a TRL; use 1 to 9, or 0 for not stated", trl);
}

static void s_money(ls_errors_t *errors, const char *path, const ls_money_range_pb *range)
{
    if (range && range->max_eur && range->min_eur > range->max_eur)
        ls_errors_add(errors, path, "minEur %llu is above maxEur %llu",
                      (unsigned long long)range->min_eur, (unsigned long long)range->max_eur);
}

static void s_contact(ls_errors_t *errors, const char *prefix, const ls_contact_pb *contact)
{
    if (!contact)
        return;
    char path[64];
    const char *fields[] = {contact->name, contact->email, contact->phone, contact->role};
    const char *names[] = {"name", "email", "phone", "role"};
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s.contact.%s", prefix, names[i]);
        s_text(errors, path, fields[i], VALIDATE_MAX_SHORT, false);
    }
    if (*contact->email && !strchr(contact->email, '@')) {
        snprintf(path, sizeof path, "%s.contact.email", prefix);
        ls_errors_add(errors, path, "is not an e-mail address");
    }
}

static void s_instruments(ls_errors_t *errors, const char *path, size_t n,
                          const Lodestone__V1__Instrument *items)
{
    for (size_t i = 0; i < n; i++)
        if (items[i] <= LODESTONE__V1__INSTRUMENT__INSTRUMENT_UNSPECIFIED ||
            items[i] > LODESTONE__V1__INSTRUMENT__INSTRUMENT_GUARANTEE) {
            ls_errors_add(errors, path, "item %zu is not a known instrument", i);
            return;
        }
}

static void s_sme(ls_sme_pb *sme, const ls_taxonomy_t *t, ls_errors_t *e)
{
    s_ref(e, "sme.ref", sme->ref);
    s_text(e, "sme.name", sme->name, VALIDATE_MAX_NAME, true);
    s_region_country(e, "sme", sme->region, &sme->country, t, true);
    s_codes(e, "sme.nace", sme->nace, sme->n_nace, t, s_nace, "NACE Rev. 2");
    s_codes(e, "sme.stages", sme->stages, sme->n_stages, t, s_stage, "value-chain stage");
    s_codes(e, "sme.materials", sme->materials, sme->n_materials, t, s_material, "material");
    s_tags(e, "sme.capabilities", sme->capabilities, &sme->n_capabilities);
    s_codes(e, "sme.themes", sme->themes, sme->n_themes, t, s_theme, "theme");
    s_trl(e, "sme.trl", sme->trl, t);
    s_text(e, "sme.description", sme->description, VALIDATE_MAX_TEXT, false);
    s_text(e, "sme.website", sme->website, VALIDATE_MAX_SHORT, false);
    s_contact(e, "sme", sme->contact);
    s_money(e, "sme.fundingSought", sme->funding_sought);
    s_instruments(e, "sme.instruments", sme->n_instruments, sme->instruments);
    if (sme->n_stages == 0 && sme->n_materials == 0 && sme->n_capabilities == 0)
        ls_errors_add(e, "sme.stages",
                      "an SME needs at least one stage, material or capability "
                      "to be matched");
}

static void s_investor(ls_investor_pb *inv, const ls_taxonomy_t *t, ls_errors_t *e)
{
    s_ref(e, "investor.ref", inv->ref);
    s_text(e, "investor.name", inv->name, VALIDATE_MAX_NAME, true);
    if (inv->type == LODESTONE__V1__INVESTOR__TYPE__TYPE_UNSPECIFIED)
        ls_errors_add(e, "investor.type", "is required");
    s_region_country(e, "investor", inv->region, NULL, t, false);
    s_codes(e, "investor.targetRegions", inv->target_regions, inv->n_target_regions, t, s_region,
            "region");
    s_codes(e, "investor.stages", inv->stages, inv->n_stages, t, s_stage, "value-chain stage");
    s_codes(e, "investor.materials", inv->materials, inv->n_materials, t, s_material, "material");
    s_codes(e, "investor.themes", inv->themes, inv->n_themes, t, s_theme, "theme");
    s_money(e, "investor.ticket", inv->ticket);
    s_instruments(e, "investor.instruments", inv->n_instruments, inv->instruments);
    s_trl(e, "investor.trlMin", inv->trl_min, t);
    s_trl(e, "investor.trlMax", inv->trl_max, t);
    if (inv->trl_min && inv->trl_max && inv->trl_min > inv->trl_max)
        ls_errors_add(e, "investor.trlMin", "%u is above trlMax %u", inv->trl_min, inv->trl_max);
    s_text(e, "investor.description", inv->description, VALIDATE_MAX_TEXT, false);
    s_text(e, "investor.website", inv->website, VALIDATE_MAX_SHORT, false);
    s_contact(e, "investor", inv->contact);
}

static bool s_date(const char *text)
{
    if (strlen(text) != 10 || text[4] != '-' || text[7] != '-')
        return false;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !isdigit((unsigned char)text[i]))
            return false;
    int month = atoi(text + 5), day = atoi(text + 8);
    return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

static void s_opportunity(ls_opportunity_pb *opp, const ls_taxonomy_t *t, ls_errors_t *e)
{
    s_ref(e, "opportunity.ref", opp->ref);
    if (opp->kind == LODESTONE__V1__OPPORTUNITY__KIND__KIND_UNSPECIFIED)
        ls_errors_add(e, "opportunity.kind", "is required");
    s_text(e, "opportunity.title", opp->title, VALIDATE_MAX_NAME, true);
    s_text(e, "opportunity.organisation", opp->organisation, VALIDATE_MAX_NAME, false);
    s_text(e, "opportunity.description", opp->description, VALIDATE_MAX_TEXT, false);
    s_region_country(e, "opportunity", opp->region, NULL, t, true);
    s_codes(e, "opportunity.stages", opp->stages, opp->n_stages, t, s_stage, "value-chain stage");
    s_codes(e, "opportunity.materials", opp->materials, opp->n_materials, t, s_material,
            "material");
    s_tags(e, "opportunity.requiredCapabilities", opp->required_capabilities,
           &opp->n_required_capabilities);
    s_tags(e, "opportunity.niceCapabilities", opp->nice_capabilities, &opp->n_nice_capabilities);
    s_codes(e, "opportunity.nace", opp->nace, opp->n_nace, t, s_nace, "NACE Rev. 2");
    s_codes(e, "opportunity.themes", opp->themes, opp->n_themes, t, s_theme, "theme");
    s_trl(e, "opportunity.trlMin", opp->trl_min, t);
    s_money(e, "opportunity.budget", opp->budget);
    if (*opp->deadline && !s_date(opp->deadline))
        ls_errors_add(e, "opportunity.deadline", "'%.16s' is not a date YYYY-MM-DD", opp->deadline);
    s_contact(e, "opportunity", opp->contact);
}

void validate_entity(ls_entity_pb *entity, const ls_taxonomy_t *taxonomy, ls_errors_t *errors)
{
    switch (entity->body_case) {
    case LODESTONE__V1__ENTITY__BODY_SME:
        s_sme(entity->sme, taxonomy, errors);
        break;
    case LODESTONE__V1__ENTITY__BODY_INVESTOR:
        s_investor(entity->investor, taxonomy, errors);
        break;
    case LODESTONE__V1__ENTITY__BODY_OPPORTUNITY:
        s_opportunity(entity->opportunity, taxonomy, errors);
        break;
    default:
        ls_errors_add(errors, "entity", "must hold one of sme, investor, opportunity");
    }
}
