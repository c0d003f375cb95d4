/* synth.c — the synthetic data generator behind lodestone-bench and the tests.
 * Every entity comes from its own splitmix64 stream seeded by (seed, kind, index),
 * so any entity can be built alone and always comes out the same. Weights are
 * integers, so no floating point decides anything. Names are unique by index: the
 * brand word spells the index in base 24 with a country's syllables (a prefix-free
 * set, so the spelling reads back one way only) and the legal form names the
 * country. Memory comes from malloc, as protobuf_c_message_free_unpacked expects. */
#include "synth.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define S_SYLLABLES 24
#define S_TAGS 150

typedef struct {
    const char *code;
    unsigned weight;
} s_weighted_t;

/* The flavour of a country: brand syllables, legal forms, people, phones. */
typedef struct {
    const char *country;
    const char *language; /* ISO 639-1 */
    const char *syllables[S_SYLLABLES];
    const char *forms[2]; /* legal forms, the first the more common */
    const char *first_names[8];
    const char *last_names[8];
    const char *phone; /* prefix; four digits follow */
} s_flavour_t;

static const s_flavour_t s_flavours[] = {
    {"FI",
     "fi",
     {"ka", "ri", "lo", "ve", "ta", "su", "mi", "ne", "ho", "ju", "pa", "le",
      "to", "ki", "sa", "va", "ro", "ni", "mu", "hi", "kä", "lö", "ty", "pi"},
     {"Oy", "Oy"},
     {"Aino", "Petteri", "Satu", "Ilkka", "Johanna", "Timo", "Kaisa", "Mikko"},
     {"Rautio", "Salmela", "Ylitalo", "Korhonen", "Heikkinen", "Vaara", "Alatalo", "Niskanen"},
     "+358 40 555"},
    {"SE",
     "sv",
     {"bo", "li", "de", "ska", "fo", "vä",  "sjö", "stö", "mo", "ru",  "ny",  "kri",
      "ho", "gå", "by", "lö",  "te", "bjö", "ha",  "skä", "vi", "stu", "dro", "fa"},
     {"AB", "AB"},
     {"Karin", "Erik", "Maja", "Lars", "Sofia", "Johan", "Elin", "Anders"},
     {"Åström", "Lindqvist", "Nilsson", "Berglund", "Holmgren", "Sandberg", "Öberg", "Lundin"},
     "+46 90 555"},
    {"ES",
     "es",
     {"ca", "ro", "mi",  "la", "ve",  "do", "sa", "ri", "to", "na", "be", "lu",
      "ce", "fe", "gra", "mo", "que", "ti", "bu", "pe", "so", "za", "li", "ja"},
     {"SL", "SA"},
     {"Lucía", "Javier", "María", "Pablo", "Carmen", "Diego", "Elena", "Álvaro"},
     {"Fernández", "García", "Álvarez", "Menéndez", "Rodríguez", "Suárez", "Prieto", "Llano"},
     "+34 987 55"},
    {"EL",
     "el",
     {"ka", "lo", "mi", "ni", "ta", "ro",  "pa", "the", "si",  "do",   "xa", "ne",
      "ri", "ko", "ly", "va", "ze", "pho", "ti", "me",  "ste", "chri", "ge", "dy"},
     {"IKE", "AE"},
     {"Eleni", "Giorgos", "Maria", "Nikos", "Katerina", "Dimitris", "Sofia", "Kostas"},
     {"Papadopoulos", "Georgiou", "Nikolaou", "Karali", "Vlachou", "Dimou", "Stavrou", "Lekka"},
     "+30 22 6205"},
};

/* A partnership region: its share of the entities, flavour, and typical materials. */
typedef struct {
    const char *code;
    unsigned weight;
    size_t flavour; /* index into s_flavours */
    s_weighted_t materials[9];
} s_region_t;

static const s_region_t s_regions[] = {
    {"FI1D7",
     19,
     0,
     {{"gold", 6},
      {"nickel", 4},
      {"chromium", 3},
      {"copper", 3},
      {"pgm", 2},
      {"iron", 2},
      {"cobalt", 1},
      {"palladium", 1},
      {"vanadium", 1}}},
    {"FI1D3",
     12,
     0,
     {{"talc", 4},
      {"nickel", 3},
      {"quartz", 2},
      {"dimension-stone", 2},
      {"cobalt", 2},
      {"copper", 2},
      {"zinc", 1},
      {"feldspar", 1},
      {"graphite", 1}}},
    {"FI1D8",
     6,
     0,
     {{"nickel", 5},
      {"zinc", 4},
      {"cobalt", 3},
      {"copper", 2},
      {"vanadium", 1},
      {"titanium", 1},
      {"iron", 1},
      {"manganese", 1},
      {"uranium", 1}}},
    {"SE331",
     18,
     1,
     {{"copper", 4},
      {"zinc", 4},
      {"gold", 4},
      {"lithium", 3},
      {"lead", 2},
      {"silver", 2},
      {"tantalum", 1},
      {"arsenic", 1},
      {"nickel", 1}}},
    {"ES41",
     20,
     2,
     {{"tungsten", 4},
      {"tin", 3},
      {"lithium", 3},
      {"slate", 3},
      {"fluorspar", 2},
      {"dimension-stone", 2},
      {"tantalum", 1},
      {"feldspar", 1},
      {"quartz", 1}}},
    {"ES12",
     15,
     2,
     {{"zinc", 4},
      {"fluorspar", 4},
      {"coking-coal", 3},
      {"baryte", 2},
      {"gold", 1},
      {"germanium", 1},
      {"lead", 1},
      {"silver", 1},
      {"iron", 1}}},
    {"EL64",
     10,
     3,
     {{"aluminium", 5},
      {"nickel", 4},
      {"magnesite", 3},
      {"gallium", 1},
      {"scandium", 1},
      {"iron", 1},
      {"cobalt", 1},
      {"magnesium", 1},
      {"limestone", 1}}},
};

/* Critical materials that firms anywhere work with (battery, magnet, alloy chains). */
static const s_weighted_t s_crm_anywhere[] = {{"lithium", 4},   {"cobalt", 3},    {"nickel", 3},
                                              {"graphite", 3},  {"copper", 3},    {"lree", 2},
                                              {"hree", 1},      {"manganese", 2}, {"gallium", 1},
                                              {"germanium", 1}, {"tungsten", 1},  {"vanadium", 1}};

/* Value-chain stages: METS suppliers are the most common kind of SME. */
static const s_weighted_t s_stages[] = {
    {"mets", 30},      {"beneficiation", 16}, {"exploration", 14}, {"extraction", 14},
    {"recycling", 12}, {"refining", 8},       {"manufacturing", 6}};

/* What a firm of each stage calls itself, and its usual NACE classes. */
typedef struct {
    const char *stage;
    const char *activities[4];
    const char *nace[6];
} s_stage_profile_t;

static const s_stage_profile_t s_profiles[] = {
    {"exploration",
     {"Geoscience", "Exploration", "Drilling", "Geophysics"},
     {"09.90", "43.13", "71.12", "74.90", "72.19", "71.20"}},
    {"extraction",
     {"Mining", "Mine Services", "Underground", "Quarrying"},
     {"07.29", "08.11", "07.10", "08.99", "09.90", "43.99"}},
    {"beneficiation",
     {"Minerals", "Mineral Processing", "Separation", "Process"},
     {"07.29", "71.12", "72.19", "08.91", "71.20", "28.92"}},
    {"refining",
     {"Metallurgy", "Metals", "Refining", "Smelting"},
     {"24.10", "24.42", "24.43", "24.44", "24.45", "20.13"}},
    {"manufacturing",
     {"Materials", "Advanced Materials", "Components", "Battery Materials"},
     {"27.20", "23.20", "23.70", "20.13", "25.62", "24.45"}},
    {"recycling",
     {"Recycling", "Circular", "Remediation", "Tailings"},
     {"38.32", "39.00", "37.00", "38.21", "38.12", "71.12"}},
    {"mets",
     {"Automation", "Engineering", "Mining Technology", "Analytics"},
     {"28.92", "71.12", "62.01", "33.12", "26.51", "85.59"}},
};

static const s_weighted_t s_themes[] = {{"crm-production", 30},
                                        {"sustainable-mining", 30},
                                        {"sme-gvc", 25},
                                        {"social-acceptance", 8},
                                        {"education", 7}};

static const s_weighted_t s_trl[] = {{"3", 4},  {"4", 7},  {"5", 11}, {"6", 15},
                                     {"7", 20}, {"8", 20}, {"9", 23}};

static const char *const s_certifications[] = {"iso 9001", "iso 14001", "iso 45001", "iso 50001"};

/* Capability tags, commonest first: tag r is drawn with weight 1/r (Zipf, s = 1). */
static const char *const s_tags[S_TAGS] = {"environmental monitoring",
                                           "process control",
                                           "water treatment",
                                           "metallurgical testing",
                                           "geological modelling",
                                           "laboratory analysis",
                                           "predictive maintenance",
                                           "hydrometallurgy",
                                           "digital twin",
                                           "flotation",
                                           "core drilling",
                                           "mine automation",
                                           "tailings management",
                                           "stakeholder engagement",
                                           "resource estimation",
                                           "comminution",
                                           "remote operation",
                                           "life cycle assessment",
                                           "mine planning",
                                           "geochemical analysis",
                                           "pyrometallurgy",
                                           "ore sorting",
                                           "drone surveying",
                                           "mine closure",
                                           "battery recycling",
                                           "solvent extraction",
                                           "underground positioning",
                                           "fleet electrification",
                                           "slag valorisation",
                                           "downhole geophysics",
                                           "airborne geophysics",
                                           "ventilation control",
                                           "dust control",
                                           "online analysers",
                                           "magnetic separation",
                                           "gravity separation",
                                           "bioleaching",
                                           "heap leaching",
                                           "black mass processing",
                                           "precursor cathode materials",
                                           "industrial minerals processing",
                                           "stone processing",
                                           "waste valorisation",
                                           "land remediation",
                                           "by-product recovery",
                                           "social impact assessment",
                                           "vocational training",
                                           "simulator training",
                                           "e-learning",
                                           "cold-climate engineering",
                                           "wear parts",
                                           "conveyor maintenance",
                                           "underground development",
                                           "red mud valorisation",
                                           "gallium recovery",
                                           "calcination",
                                           "sulphate removal",
                                           "mine-water geothermal",
                                           "geothermal heat pumps",
                                           "ferroalloy production",
                                           "reindeer herding coexistence",
                                           "rock mechanics",
                                           "blast optimisation",
                                           "explosives handling",
                                           "shotcrete",
                                           "rock bolting",
                                           "paste backfill",
                                           "dewatering",
                                           "hydrogeology",
                                           "seismic monitoring",
                                           "ground penetrating radar",
                                           "lidar scanning",
                                           "satellite remote sensing",
                                           "hyperspectral imaging",
                                           "machine learning",
                                           "data analytics",
                                           "iot sensors",
                                           "private lte networks",
                                           "cybersecurity",
                                           "fleet management",
                                           "autonomous haulage",
                                           "battery electric vehicles",
                                           "charging infrastructure",
                                           "hydrogen systems",
                                           "energy efficiency",
                                           "heat recovery",
                                           "emissions monitoring",
                                           "noise control",
                                           "biodiversity assessment",
                                           "environmental permitting",
                                           "environmental impact assessment",
                                           "acid mine drainage",
                                           "passive water treatment",
                                           "membrane filtration",
                                           "electrochemical recovery",
                                           "ion exchange",
                                           "precipitation",
                                           "crystallisation",
                                           "roasting",
                                           "smelting",
                                           "electrorefining",
                                           "electrowinning",
                                           "powder metallurgy",
                                           "alloy development",
                                           "magnet manufacturing",
                                           "rare earth separation",
                                           "cathode recycling",
                                           "anode materials",
                                           "graphite purification",
                                           "lithium refining",
                                           "spodumene processing",
                                           "brine processing",
                                           "thickening",
                                           "filtration",
                                           "dry stacking",
                                           "tailings reprocessing",
                                           "sampling",
                                           "assaying",
                                           "mineralogy",
                                           "xrf analysis",
                                           "metallurgical accounting",
                                           "process simulation",
                                           "plant design",
                                           "commissioning",
                                           "project management",
                                           "cost estimation",
                                           "feasibility studies",
                                           "due diligence",
                                           "regulatory compliance",
                                           "health and safety",
                                           "training design",
                                           "community relations",
                                           "indigenous rights",
                                           "land-use planning",
                                           "circular economy",
                                           "carbon accounting",
                                           "traceability",
                                           "supply chain auditing",
                                           "logistics",
                                           "port handling",
                                           "rail transport",
                                           "crushing equipment",
                                           "screening equipment",
                                           "pumps and valves",
                                           "hydraulics",
                                           "welding",
                                           "corrosion protection",
                                           "refractory linings",
                                           "dimension stone finishing",
                                           "quarry rehabilitation"};

/* How each kind of investor invests. */
typedef struct {
    Lodestone__V1__Investor__Type type;
    unsigned weight;
    const char *words[2];                     /* in the name */
    uint64_t min_eur[3];                      /* smallest ticket, one of these */
    unsigned max_factor[3];                   /* largest ticket = smallest × one of these */
    Lodestone__V1__Instrument instruments[3]; /* 0 ends the list */
    unsigned trl_min[2];                      /* lowest TRL from this range */
} s_investor_profile_t;

static const s_investor_profile_t s_investor_profiles[] = {
    {LODESTONE__V1__INVESTOR__TYPE__VENTURE_CAPITAL,
     25,
     {"Ventures", "Capital"},
     {250000, 500000, 1000000},
     {5, 10, 20},
     {LODESTONE__V1__INSTRUMENT__INSTRUMENT_EQUITY},
     {4, 6}},
    {LODESTONE__V1__INVESTOR__TYPE__BANK,
     20,
     {"Bank", "Savings Bank"},
     {50000, 100000, 200000},
     {10, 20, 40},
     {LODESTONE__V1__INSTRUMENT__INSTRUMENT_LOAN, LODESTONE__V1__INSTRUMENT__INSTRUMENT_GUARANTEE},
     {6, 8}},
    {LODESTONE__V1__INVESTOR__TYPE__PUBLIC_FUND,
     20,
     {"Regional Fund", "Development Fund"},
     {25000, 50000, 100000},
     {10, 20, 30},
     {LODESTONE__V1__INSTRUMENT__INSTRUMENT_GRANT, LODESTONE__V1__INSTRUMENT__INSTRUMENT_LOAN,
      LODESTONE__V1__INSTRUMENT__INSTRUMENT_EQUITY},
     {3, 5}},
    {LODESTONE__V1__INVESTOR__TYPE__CORPORATE,
     15,
     {"Mining Group", "Metals Group"},
     {250000, 500000, 1000000},
     {4, 6, 10},
     {LODESTONE__V1__INSTRUMENT__INSTRUMENT_EQUITY, LODESTONE__V1__INSTRUMENT__INSTRUMENT_LOAN},
     {5, 7}},
    {LODESTONE__V1__INVESTOR__TYPE__BUSINESS_ANGEL,
     12,
     {"Angels", "Angel Network"},
     {25000, 50000, 100000},
     {4, 5, 10},
     {LODESTONE__V1__INSTRUMENT__INSTRUMENT_EQUITY},
     {3, 5}},
    {LODESTONE__V1__INVESTOR__TYPE__EU_INSTRUMENT,
     8,
     {"Transition Facility", "Raw Materials Facility"},
     {500000, 1000000, 2000000},
     {5, 10, 15},
     {LODESTONE__V1__INSTRUMENT__INSTRUMENT_GUARANTEE, LODESTONE__V1__INSTRUMENT__INSTRUMENT_LOAN,
      LODESTONE__V1__INSTRUMENT__INSTRUMENT_GRANT},
     {4, 6}},
};

/* Opportunity kinds, their partnership step and how their titles read. */
typedef struct {
    Lodestone__V1__Opportunity__Kind kind;
    unsigned weight;
    Lodestone__V1__Opportunity__Step steps[2];
    const char *title[3]; /* around the capability, the material and the region */
    const char *theme;    /* a theme this kind always carries, or NULL */
    uint64_t budget_min;
} s_opportunity_profile_t;

static const s_opportunity_profile_t s_opportunity_profiles[] = {
    {LODESTONE__V1__OPPORTUNITY__KIND__SUPPLY_NEED,
     35,
     {LODESTONE__V1__OPPORTUNITY__STEP__COMMERCIALISE, LODESTONE__V1__OPPORTUNITY__STEP__SCALE_UP},
     {"Supplier of ", " for a ", " operation in "},
     NULL,
     100000},
    {LODESTONE__V1__OPPORTUNITY__KIND__INVESTMENT_CASE,
     15,
     {LODESTONE__V1__OPPORTUNITY__STEP__COMMERCIALISE, LODESTONE__V1__OPPORTUNITY__STEP__SCALE_UP},
     {"Investment in ", " for ", " production in "},
     "crm-production",
     500000},
    {LODESTONE__V1__OPPORTUNITY__KIND__JOINT_DEMONSTRATION,
     20,
     {LODESTONE__V1__OPPORTUNITY__STEP__DEMONSTRATE, LODESTONE__V1__OPPORTUNITY__STEP__DEMONSTRATE},
     {"Joint demonstration of ", " on ", " ore in "},
     "sustainable-mining",
     200000},
    {LODESTONE__V1__OPPORTUNITY__KIND__TRAINING,
     15,
     {LODESTONE__V1__OPPORTUNITY__STEP__LEARN, LODESTONE__V1__OPPORTUNITY__STEP__LEARN},
     {"Training in ", " for ", " operations in "},
     "education",
     20000},
    {LODESTONE__V1__OPPORTUNITY__KIND__CONSULTATION,
     15,
     {LODESTONE__V1__OPPORTUNITY__STEP__CONNECT, LODESTONE__V1__OPPORTUNITY__STEP__CONNECT},
     {"Consultation on ", " at a ", " project in "},
     "social-acceptance",
     10000},
};

static const char *const s_owner_words[] = {"Mining", "Minerals", "Metals", "Resources"};

struct _synth_t {
    uint64_t seed;
    const ls_taxonomy_t *taxonomy;
    uint32_t tag_cumulative[S_TAGS]; /* running sum of the Zipf weights */
};

/* --------------------------------------------------------------------------
 * Randomness: splitmix64, one stream per entity. */

typedef struct {
    uint64_t state;
} s_rng_t;

static uint64_t s_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint64_t s_next(s_rng_t *rng)
{
    rng->state += 0x9E3779B97F4A7C15ULL;
    return s_mix(rng->state);
}

/* Uniform in [0, n). */
static uint32_t s_below(s_rng_t *rng, uint32_t n)
{
    return (uint32_t)(((s_next(rng) >> 32) * n) >> 32);
}

/* True with probability percent / 100. */
static bool s_chance(s_rng_t *rng, unsigned percent)
{
    return s_below(rng, 100) < percent;
}

static s_rng_t s_stream(const synth_t *self, uint64_t kind, uint64_t index)
{
    s_rng_t rng = {s_mix(self->seed ^ s_mix(kind * 0x100000001B3ULL + index))};
    return rng;
}

/* Index of an entry drawn by weight from n structs of stride bytes whose unsigned
 * weight sits at weight_at. */
static size_t s_pick_by(s_rng_t *rng, const void *items, size_t n, size_t stride, size_t weight_at)
{
    const char *base = items;
    unsigned total = 0;
    for (size_t i = 0; i < n; i++)
        total += *(const unsigned *)(base + i * stride + weight_at);
    unsigned at = s_below(rng, total);
    for (size_t i = 0; i < n; i++) {
        unsigned weight = *(const unsigned *)(base + i * stride + weight_at);
        if (at < weight)
            return i;
        at -= weight;
    }
    return n - 1;
}

#define S_PICK(rng, array)                                                                         \
    (&(array)[s_pick_by((rng), (array), S_COUNT(array), sizeof(array)[0],                          \
                        offsetof(__typeof__((array)[0]), weight))])

static size_t s_pick(s_rng_t *rng, const s_weighted_t *items, size_t n)
{
    return s_pick_by(rng, items, n, sizeof *items, offsetof(s_weighted_t, weight));
}

/* --------------------------------------------------------------------------
 * Building messages; on running out of memory `failed` is set and the entity is
 * dropped at the end, so each step only has to leave the message freeable. */

typedef struct {
    const synth_t *synth;
    s_rng_t rng;
    bool failed;
} s_build_t;

static void *s_alloc(s_build_t *b, size_t size)
{
    void *p = calloc(1, size);
    if (!p)
        b->failed = true;
    return p;
}

static char *s_dup(s_build_t *b, const char *text)
{
    char *copy = strdup(text);
    if (!copy)
        b->failed = true;
    return copy;
}

static char *s_format(s_build_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *s_format(s_build_t *b, const char *fmt, ...)
{
    char text[1024];
    va_list args;
    va_start(args, fmt);
    vsnprintf(text, sizeof text, fmt, args);
    va_end(args);
    return s_dup(b, text);
}

/* Fills *list with up to max distinct codes drawn by weight; *n counts them. */
static void s_codes(s_build_t *b, char ***list, size_t *n, const s_weighted_t *items, size_t count,
                    size_t max)
{
    *list = s_alloc(b, max * sizeof **list);
    if (!*list)
        return;
    for (int tries = 0; *n < max && tries < 16 * (int)max; tries++) {
        const char *code = items[s_pick(&b->rng, items, count)].code;
        bool seen = false;
        for (size_t i = 0; i < *n && !seen; i++)
            seen = strcmp((*list)[i], code) == 0;
        if (!seen && ((*list)[*n] = s_dup(b, code)) != NULL)
            (*n)++;
    }
}

/* Appends code to a list made by s_codes with room left, unless it is there. */
static void s_add_code(s_build_t *b, char **list, size_t *n, const char *code)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(list[i], code) == 0)
            return;
    if ((list[*n] = s_dup(b, code)) != NULL)
        (*n)++;
}

static size_t s_zipf_tag(s_build_t *b)
{
    const uint32_t *cumulative = b->synth->tag_cumulative;
    uint32_t at = s_below(&b->rng, cumulative[S_TAGS - 1]);
    size_t lo = 0, hi = S_TAGS - 1;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (at < cumulative[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* Draws up to want distinct tags that are not in avoid[0..n_avoid). */
static void s_tags_into(s_build_t *b, char ***list, size_t *n, size_t want, char **avoid,
                        size_t n_avoid)
{
    *list = s_alloc(b, (want ? want : 1) * sizeof **list);
    if (!*list)
        return;
    for (int tries = 0; *n < want && tries < 32 * (int)want; tries++) {
        const char *tag = s_tags[s_zipf_tag(b)];
        bool seen = false;
        for (size_t i = 0; i < *n && !seen; i++)
            seen = strcmp((*list)[i], tag) == 0;
        for (size_t i = 0; i < n_avoid && !seen; i++)
            seen = strcmp(avoid[i], tag) == 0;
        if (!seen && ((*list)[*n] = s_dup(b, tag)) != NULL)
            (*n)++;
    }
}

/* The brand word. Indexes below 24^3 get three syllables, the next 24^4 four, and
 * so on; within a length the index is scrambled by an affine bijection modulo 24^k
 * (so neighbours do not look alike) and spelled in base 24 with the flavour's
 * syllables. The syllables are a prefix-free set, so distinct indexes give distinct
 * words. */
static void s_brand(const s_flavour_t *flavour, uint64_t index, char *out, size_t size)
{
    uint64_t span = S_SYLLABLES * S_SYLLABLES * S_SYLLABLES;
    int digits = 3;
    while (index >= span && digits < 12) {
        index -= span;
        span *= S_SYLLABLES;
        digits++;
    }
    /* The multiplier is odd and not a multiple of 3: coprime to 24^k. */
    uint64_t x = (index % span * 2654435761ULL + 4099) % span;
    size_t len = 0;
    out[0] = 0;
    for (int i = 0; i < digits && len < size; i++) {
        len += (size_t)snprintf(out + len, size - len, "%s", flavour->syllables[x % S_SYLLABLES]);
        x /= S_SYLLABLES;
    }
    out[0] = (char)toupper((unsigned char)out[0]);
}

/* Lower-case ASCII of a name for e-mail and web addresses: letters and digits kept,
 * Nordic and Spanish accented letters folded, anything else dropped. */
static void s_slug(const char *text, char *out, size_t size)
{
    static const char *const folds[][2] = {{"ä", "a"}, {"ö", "o"}, {"å", "a"}, {"Å", "a"},
                                           {"Ö", "o"}, {"á", "a"}, {"é", "e"}, {"í", "i"},
                                           {"ó", "o"}, {"ú", "u"}, {"ñ", "n"}, {"Á", "a"}};
    size_t len = 0;
    while (*text && len + 1 < size) {
        bool folded = false;
        for (size_t i = 0; i < S_COUNT(folds) && !folded; i++) {
            size_t n = strlen(folds[i][0]);
            if (strncmp(text, folds[i][0], n) == 0) {
                out[len++] = folds[i][1][0];
                text += n;
                folded = true;
            }
        }
        if (folded)
            continue;
        if (isalnum((unsigned char)*text))
            out[len++] = (char)tolower((unsigned char)*text);
        text++;
    }
    out[len] = 0;
}

/* A copy of text with its first letter (ASCII) in lower case, for mid-sentence use. */
static void s_lower_first(const char *text, char *out, size_t size)
{
    snprintf(out, size, "%s", text);
    out[0] = (char)tolower((unsigned char)out[0]);
}

static const char *s_region_name(s_build_t *b, const char *code)
{
    const ls_region_t *region = ls_taxonomy_region(b->synth->taxonomy, code);
    return region ? region->name : code;
}

static const char *s_material_name(s_build_t *b, const char *code)
{
    const ls_material_t *material = ls_taxonomy_material(b->synth->taxonomy, code);
    return material ? material->name : code;
}

static const s_stage_profile_t *s_profile(const char *stage)
{
    for (size_t i = 0; i < S_COUNT(s_profiles); i++)
        if (strcmp(s_profiles[i].stage, stage) == 0)
            return &s_profiles[i];
    return &s_profiles[S_COUNT(s_profiles) - 1];
}

static ls_contact_pb *s_contact(s_build_t *b, const s_flavour_t *flavour, const char *domain,
                                const char *role)
{
    ls_contact_pb *contact = s_alloc(b, sizeof *contact);
    if (!contact)
        return NULL;
    lodestone__v1__contact__init(contact);
    const char *first = flavour->first_names[s_below(&b->rng, 8)];
    const char *last = flavour->last_names[s_below(&b->rng, 8)];
    char first_slug[64], last_slug[64];
    s_slug(first, first_slug, sizeof first_slug);
    s_slug(last, last_slug, sizeof last_slug);
    contact->name = s_format(b, "%s %s", first, last);
    contact->email = s_format(b, "%s.%s@%s.example", first_slug, last_slug, domain);
    contact->phone = s_format(b, "%s %04u", flavour->phone, s_below(&b->rng, 10000));
    contact->role = s_dup(b, role);
    return contact;
}

static ls_money_range_pb *s_money(s_build_t *b, uint64_t min_eur, uint64_t max_eur)
{
    ls_money_range_pb *range = s_alloc(b, sizeof *range);
    if (range) {
        lodestone__v1__money_range__init(range);
        range->min_eur = min_eur;
        range->max_eur = max_eur;
    }
    return range;
}

/* 1..max distinct stages, 1 most often. */
static void s_stage_list(s_build_t *b, char ***list, size_t *n, size_t max)
{
    unsigned roll = s_below(&b->rng, 100);
    size_t want = roll < 50 ? 1 : roll < 85 ? 2 : 3;
    s_codes(b, list, n, s_stages, S_COUNT(s_stages), want < max ? want : max);
}

/* NACE classes of the first stage, sometimes one more of another stage's. */
static void s_nace_list(s_build_t *b, char ***list, size_t *n, char **stages, size_t n_stages)
{
    *list = s_alloc(b, 3 * sizeof **list);
    if (!*list)
        return;
    const s_stage_profile_t *first = s_profile(n_stages ? stages[0] : "mets");
    s_add_code(b, *list, n, first->nace[s_below(&b->rng, 6)]);
    if (s_chance(&b->rng, 60))
        s_add_code(b, *list, n, first->nace[s_below(&b->rng, 6)]);
    if (n_stages > 1 && s_chance(&b->rng, 50))
        s_add_code(b, *list, n, s_profile(stages[1])->nace[s_below(&b->rng, 6)]);
}

/* Materials typical of the region, now and then one critical material from
 * elsewhere in the chain. */
static void s_material_list(s_build_t *b, char ***list, size_t *n, const s_region_t *region,
                            size_t want)
{
    s_codes(b, list, n, region->materials, S_COUNT(region->materials), want + 1);
    if (*list && *n > want) {
        free((*list)[--*n]); /* s_codes sized the list with one spare slot */
        (*list)[*n] = NULL;
    }
    if (*list && want > 0 && s_chance(&b->rng, 12))
        s_add_code(b, *list, n,
                   s_crm_anywhere[s_pick(&b->rng, s_crm_anywhere, S_COUNT(s_crm_anywhere))].code);
}

static void s_theme_list(s_build_t *b, char ***list, size_t *n, const char *always)
{
    s_codes(b, list, n, s_themes, S_COUNT(s_themes), 1 + s_chance(&b->rng, 55) + (always != 0));
    if (*list && always && *n > 0 && strcmp((*list)[0], always) != 0) {
        free((*list)[--*n]);
        (*list)[*n] = NULL;
        s_add_code(b, *list, n, always);
    }
}

static unsigned s_trl_pick(s_build_t *b)
{
    return (unsigned)atoi(s_trl[s_pick(&b->rng, s_trl, S_COUNT(s_trl))].code);
}

static void s_instrument_list(s_build_t *b, Lodestone__V1__Instrument **list, size_t *n,
                              const Lodestone__V1__Instrument *from, size_t count, size_t want)
{
    *list = s_alloc(b, (want ? want : 1) * sizeof **list);
    if (!*list)
        return;
    size_t start = s_below(&b->rng, (uint32_t)count);
    for (size_t i = 0; i < want && i < count; i++)
        (*list)[(*n)++] = from[(start + i) % count];
}

/* --------------------------------------------------------------------------
 * Entities */

static ls_entity_pb *s_entity_new(s_build_t *b)
{
    ls_entity_pb *entity = s_alloc(b, sizeof *entity);
    if (entity)
        lodestone__v1__entity__init(entity);
    return entity;
}

/* Frees the entity when building it ran out of memory. */
static ls_entity_pb *s_finish(s_build_t *b, ls_entity_pb *entity)
{
    if (entity && b->failed) {
        lodestone__v1__entity__free_unpacked(entity, NULL);
        return NULL;
    }
    return entity;
}

/* Head count skewed to micro firms: 68 % micro, 24 % small, 8 % medium; within a
 * band, skewed to its low end (quadratically). */
static void s_size(s_build_t *b, ls_sme_pb *sme)
{
    static const unsigned bands[][2] = {{1, 9}, {10, 49}, {50, 249}};
    unsigned roll = s_below(&b->rng, 100);
    size_t band = roll < 68 ? 0 : roll < 92 ? 1 : 2;
    uint64_t lo = bands[band][0], hi = bands[band][1], v = s_below(&b->rng, 1000);
    sme->employees = (uint32_t)(lo + (hi - lo) * v * v / 999999);
    sme->size_band = (Lodestone__V1__SizeBand)(LODESTONE__V1__SIZE_BAND__SIZE_BAND_MICRO + band);
}

static void s_sme_funding(s_build_t *b, ls_sme_pb *sme)
{
    static const uint64_t ladder[] = {25000,  50000,  100000,  200000,  300000,
                                      500000, 750000, 1000000, 2000000, 3000000};
    static const Lodestone__V1__Instrument all[] = {
        LODESTONE__V1__INSTRUMENT__INSTRUMENT_EQUITY, LODESTONE__V1__INSTRUMENT__INSTRUMENT_LOAN,
        LODESTONE__V1__INSTRUMENT__INSTRUMENT_GRANT,
        LODESTONE__V1__INSTRUMENT__INSTRUMENT_GUARANTEE};
    if (!s_chance(&b->rng, 40))
        return;
    /* Bigger firms ask for more. */
    size_t top = 5 + 2 * (size_t)(sme->size_band - LODESTONE__V1__SIZE_BAND__SIZE_BAND_MICRO);
    uint64_t min_eur = ladder[s_below(&b->rng, (uint32_t)top)];
    sme->funding_sought = s_money(b, min_eur, min_eur * (2 + s_below(&b->rng, 3)));
    s_instrument_list(b, &sme->instruments, &sme->n_instruments, all, S_COUNT(all),
                      1 + s_chance(&b->rng, 40));
}

static void s_sme_extras(s_build_t *b, ls_sme_pb *sme, const s_flavour_t *flavour)
{
    if (s_chance(&b->rng, 50)) {
        size_t count = 1 + s_chance(&b->rng, 40);
        sme->certifications = s_alloc(b, count * sizeof *sme->certifications);
        size_t start = s_below(&b->rng, S_COUNT(s_certifications));
        for (size_t i = 0; sme->certifications && i < count; i++)
            sme->certifications[sme->n_certifications++] =
                s_dup(b, s_certifications[(start + i) % S_COUNT(s_certifications)]);
    }
    sme->languages = s_alloc(b, 2 * sizeof *sme->languages);
    if (sme->languages) {
        sme->languages[sme->n_languages++] = s_dup(b, flavour->language);
        if (s_chance(&b->rng, 70))
            sme->languages[sme->n_languages++] = s_dup(b, "en");
    }
}

static void s_sme_text(s_build_t *b, ls_sme_pb *sme, const s_region_t *region, uint64_t index)
{
    const s_flavour_t *flavour = &s_flavours[region->flavour];
    const s_stage_profile_t *profile = s_profile(sme->stages[0]);
    char brand[64], slug[64];
    s_brand(flavour, index, brand, sizeof brand);
    s_slug(brand, slug, sizeof slug);
    sme->name = s_format(b, "%s %s %s", brand, profile->activities[s_below(&b->rng, 4)],
                         flavour->forms[s_below(&b->rng, 2)]);
    const ls_term_t *stage = ls_taxonomy_stage(b->synth->taxonomy, sme->stages[0]);
    char stage_name[128], material_name[128];
    s_lower_first(stage ? stage->name : sme->stages[0], stage_name, sizeof stage_name);
    s_lower_first(sme->n_materials ? s_material_name(b, sme->materials[0]) : "", material_name,
                  sizeof material_name);
    sme->description =
        s_format(b, "%s works in %s in %s%s%s, with %s as its main strength.", brand, stage_name,
                 s_region_name(b, region->code), sme->n_materials ? ", mostly on " : "",
                 material_name, sme->n_capabilities ? sme->capabilities[0] : "its staff");
    if (s_chance(&b->rng, 90))
        sme->website = s_format(b, "https://www.%s.example", slug);
    if (s_chance(&b->rng, 95))
        sme->contact = s_contact(b, flavour, slug, sme->employees < 10 ? "CEO" : "Sales Director");
}

ls_entity_pb *synth_sme(synth_t *self, uint64_t index)
{
    s_build_t b = {self, s_stream(self, 1, index), false};
    ls_entity_pb *entity = s_entity_new(&b);
    ls_sme_pb *sme = entity ? s_alloc(&b, sizeof *sme) : NULL;
    if (!sme)
        return s_finish(&b, entity);
    lodestone__v1__sme__init(sme);
    entity->body_case = LODESTONE__V1__ENTITY__BODY_SME;
    entity->sme = sme;
    const s_region_t *region = S_PICK(&b.rng, s_regions);
    sme->ref = s_format(&b, "synth-sme-%llu", (unsigned long long)index);
    sme->region = s_dup(&b, region->code);
    sme->country = s_dup(&b, s_flavours[region->flavour].country);
    s_stage_list(&b, &sme->stages, &sme->n_stages, 3);
    s_nace_list(&b, &sme->nace, &sme->n_nace, sme->stages, sme->n_stages);
    s_material_list(&b, &sme->materials, &sme->n_materials, region,
                    s_chance(&b.rng, 10) ? 0 : 1 + s_below(&b.rng, 3));
    s_tags_into(&b, &sme->capabilities, &sme->n_capabilities, 2 + s_below(&b.rng, 5), NULL, 0);
    s_theme_list(&b, &sme->themes, &sme->n_themes, NULL);
    sme->trl = s_trl_pick(&b);
    s_size(&b, sme);
    if (!b.failed)
        s_sme_text(&b, sme, region, index);
    sme->consent_match = s_chance(&b.rng, 95);
    sme->consent_share_contact = sme->contact && s_chance(&b.rng, 80);
    s_sme_funding(&b, sme);
    s_sme_extras(&b, sme, &s_flavours[region->flavour]);
    return s_finish(&b, entity);
}

/* Empty (any region) for three in ten; otherwise the home region and up to three more. */
static void s_target_regions(s_build_t *b, ls_investor_pb *inv)
{
    if (s_chance(&b->rng, 30))
        return;
    s_weighted_t regions[S_COUNT(s_regions)];
    for (size_t i = 0; i < S_COUNT(s_regions); i++)
        regions[i] = (s_weighted_t){s_regions[i].code, s_regions[i].weight};
    s_codes(b, &inv->target_regions, &inv->n_target_regions, regions, S_COUNT(regions),
            1 + s_below(&b->rng, 4));
    if (inv->target_regions && inv->n_target_regions > 0) {
        free(inv->target_regions[--inv->n_target_regions]);
        inv->target_regions[inv->n_target_regions] = NULL;
        s_add_code(b, inv->target_regions, &inv->n_target_regions, inv->region);
    }
}

static void s_investor_money(s_build_t *b, ls_investor_pb *inv, const s_investor_profile_t *p)
{
    uint64_t min_eur = p->min_eur[s_below(&b->rng, 3)];
    inv->ticket = s_money(b, min_eur, min_eur * p->max_factor[s_below(&b->rng, 3)]);
    size_t count = 0;
    while (count < S_COUNT(p->instruments) && p->instruments[count])
        count++;
    s_instrument_list(b, &inv->instruments, &inv->n_instruments, p->instruments, count,
                      1 + s_below(&b->rng, (uint32_t)count));
    inv->trl_min = p->trl_min[0] + s_below(&b->rng, p->trl_min[1] - p->trl_min[0] + 1);
    inv->trl_max = inv->trl_min + 2 + s_below(&b->rng, 10 - inv->trl_min - 1);
    if (inv->trl_max > 9)
        inv->trl_max = 9;
}

ls_entity_pb *synth_investor(synth_t *self, uint64_t index)
{
    s_build_t b = {self, s_stream(self, 2, index), false};
    ls_entity_pb *entity = s_entity_new(&b);
    ls_investor_pb *inv = entity ? s_alloc(&b, sizeof *inv) : NULL;
    if (!inv)
        return s_finish(&b, entity);
    lodestone__v1__investor__init(inv);
    entity->body_case = LODESTONE__V1__ENTITY__BODY_INVESTOR;
    entity->investor = inv;
    const s_region_t *region = S_PICK(&b.rng, s_regions);
    const s_flavour_t *flavour = &s_flavours[region->flavour];
    const s_investor_profile_t *profile = S_PICK(&b.rng, s_investor_profiles);
    char brand[64], slug[64];
    s_brand(flavour, index, brand, sizeof brand);
    s_slug(brand, slug, sizeof slug);
    inv->ref = s_format(&b, "synth-inv-%llu", (unsigned long long)index);
    inv->type = profile->type;
    inv->name =
        s_format(&b, "%s %s %s", brand, profile->words[s_below(&b.rng, 2)], flavour->forms[0]);
    inv->region = s_dup(&b, region->code);
    if (!b.failed)
        s_target_regions(&b, inv);
    s_stage_list(&b, &inv->stages, &inv->n_stages, 3);
    s_material_list(&b, &inv->materials, &inv->n_materials, region, 2 + s_below(&b.rng, 3));
    s_theme_list(&b, &inv->themes, &inv->n_themes, NULL);
    s_investor_money(&b, inv, profile);
    inv->description = s_format(&b, "%s invests in mining value-chain companies from %s.", brand,
                                s_region_name(&b, region->code));
    inv->website = s_format(&b, "https://www.%s.example", slug);
    inv->contact = s_contact(&b, flavour, slug, "Investment Manager");
    inv->consent_match = s_chance(&b.rng, 98);
    inv->consent_share_contact = s_chance(&b.rng, 90);
    return s_finish(&b, entity);
}

/* A date in 2031 or 2032, YYYY-MM-DD. */
static char *s_deadline(s_build_t *b)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    /* Fixed years keep the generator deterministic; far enough ahead that the
     * registry's "deadline in the past" check does not refuse them for years. */
    int day = (int)s_below(&b->rng, 365 + 366);
    int year = 2031;
    if (day >= 365) {
        year = 2032;
        day -= 365;
    }
    int month = 0;
    for (; month < 12; month++) {
        int length = days[month] + (month == 1 && year == 2032);
        if (day < length)
            break;
        day -= length;
    }
    return s_format(b, "%04d-%02d-%02d", year, month + 1, day + 1);
}

static void s_opportunity_text(s_build_t *b, ls_opportunity_pb *opp, const s_region_t *region,
                               const s_opportunity_profile_t *profile, uint64_t index)
{
    const s_flavour_t *flavour = &s_flavours[region->flavour];
    char brand[64], slug[64];
    s_brand(flavour, index, brand, sizeof brand);
    s_slug(brand, slug, sizeof slug);
    opp->organisation =
        s_format(b, "%s %s %s", brand, s_owner_words[s_below(&b->rng, 4)], flavour->forms[0]);
    opp->title = s_format(b, "%s%s%s%s%s%s", profile->title[0], opp->required_capabilities[0],
                          profile->title[1], opp->n_materials ? opp->materials[0] : "metal",
                          profile->title[2], s_region_name(b, region->code));
    opp->description = s_format(
        b, "%s looks for partners with %s%s%s. Replies by %s.", opp->organisation,
        opp->required_capabilities[0], opp->n_required_capabilities > 1 ? " and " : "",
        opp->n_required_capabilities > 1 ? opp->required_capabilities[1] : "", opp->deadline);
    opp->contact = s_contact(b, flavour, slug, "Development Manager");
}

ls_entity_pb *synth_opportunity(synth_t *self, uint64_t index)
{
    s_build_t b = {self, s_stream(self, 3, index), false};
    ls_entity_pb *entity = s_entity_new(&b);
    ls_opportunity_pb *opp = entity ? s_alloc(&b, sizeof *opp) : NULL;
    if (!opp)
        return s_finish(&b, entity);
    lodestone__v1__opportunity__init(opp);
    entity->body_case = LODESTONE__V1__ENTITY__BODY_OPPORTUNITY;
    entity->opportunity = opp;
    const s_region_t *region = S_PICK(&b.rng, s_regions);
    const s_opportunity_profile_t *profile = S_PICK(&b.rng, s_opportunity_profiles);
    opp->ref = s_format(&b, "synth-opp-%llu", (unsigned long long)index);
    opp->kind = profile->kind;
    opp->step = profile->steps[s_below(&b.rng, 2)];
    opp->region = s_dup(&b, region->code);
    s_stage_list(&b, &opp->stages, &opp->n_stages, 2);
    s_material_list(&b, &opp->materials, &opp->n_materials, region, 1 + s_below(&b.rng, 2));
    s_tags_into(&b, &opp->required_capabilities, &opp->n_required_capabilities,
                1 + s_below(&b.rng, 3), NULL, 0);
    s_tags_into(&b, &opp->nice_capabilities, &opp->n_nice_capabilities, s_below(&b.rng, 4),
                opp->required_capabilities, opp->n_required_capabilities);
    s_nace_list(&b, &opp->nace, &opp->n_nace, opp->stages, opp->n_stages);
    s_theme_list(&b, &opp->themes, &opp->n_themes, profile->theme);
    if (profile->kind != LODESTONE__V1__OPPORTUNITY__KIND__TRAINING &&
        profile->kind != LODESTONE__V1__OPPORTUNITY__KIND__CONSULTATION)
        opp->trl_min = 3 + s_below(&b.rng, 6);
    uint64_t budget = profile->budget_min * (1 + s_below(&b.rng, 5));
    opp->budget = s_money(&b, budget, budget * (2 + s_below(&b.rng, 4)));
    opp->deadline = s_deadline(&b);
    opp->status = LODESTONE__V1__OPPORTUNITY__STATUS__OPEN;
    if (!b.failed && opp->n_required_capabilities > 0)
        s_opportunity_text(&b, opp, region, profile, index);
    return s_finish(&b, entity);
}

/* --------------------------------------------------------------------------
 * Construction: every code used must be in the reference data. */

static int s_check(const char *what, const char *code, bool ok)
{
    if (ok)
        return 0;
    fprintf(stderr, "synth: %s '%s' is not in the reference data\n", what, code);
    return -1;
}

static int s_check_tables(const ls_taxonomy_t *t)
{
    int rc = 0;
    for (size_t i = 0; i < S_COUNT(s_regions); i++) {
        const ls_region_t *region = ls_taxonomy_region(t, s_regions[i].code);
        rc |= s_check("region", s_regions[i].code,
                      region &&
                          strcmp(region->country, s_flavours[s_regions[i].flavour].country) == 0);
        for (size_t m = 0; m < S_COUNT(s_regions[i].materials); m++)
            rc |= s_check("material", s_regions[i].materials[m].code,
                          ls_taxonomy_material(t, s_regions[i].materials[m].code) != NULL);
    }
    for (size_t i = 0; i < S_COUNT(s_crm_anywhere); i++)
        rc |= s_check("material", s_crm_anywhere[i].code,
                      ls_taxonomy_material(t, s_crm_anywhere[i].code) != NULL);
    for (size_t i = 0; i < S_COUNT(s_profiles); i++) {
        rc |= s_check("stage", s_profiles[i].stage,
                      ls_taxonomy_stage(t, s_profiles[i].stage) != NULL);
        for (size_t n = 0; n < S_COUNT(s_profiles[i].nace); n++)
            rc |= s_check("NACE class", s_profiles[i].nace[n],
                          ls_taxonomy_nace(t, s_profiles[i].nace[n]) != NULL);
    }
    for (size_t i = 0; i < S_COUNT(s_themes); i++)
        rc |= s_check("theme", s_themes[i].code, ls_taxonomy_theme(t, s_themes[i].code) != NULL);
    return rc;
}

synth_t *synth_new(uint64_t seed, const ls_taxonomy_t *taxonomy)
{
    if (!taxonomy || s_check_tables(taxonomy))
        return NULL;
    synth_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->seed = seed;
    self->taxonomy = taxonomy;
    uint32_t sum = 0;
    for (size_t r = 0; r < S_TAGS; r++) {
        sum += 1000000u / (uint32_t)(r + 1);
        self->tag_cumulative[r] = sum;
    }
    return self;
}

void synth_destroy(synth_t **self_p)
{
    if (self_p && *self_p) {
        free(*self_p);
        *self_p = NULL;
    }
}

size_t synth_tag_count(void)
{
    return S_TAGS;
}
