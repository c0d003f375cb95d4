/* ctl_report.c — lodestonectl report: matching's regional capability map and
 * joint-demonstration suggestions, as a table for people, JSON or CSV for tools,
 * or (the map) an SVG heat map for a slide. Rendering lives in report_render.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "report_render.h"

typedef enum { S_TABLE, S_JSON, S_CSV, S_SVG } s_format_t;

typedef struct {
    Lodestone__V1__GetReport q;
    s_format_t format;
    const char *svg_path;
} s_options_t;

static int s_usage(void)
{
    fprintf(stderr,
            "usage: lodestonectl report map [--json | --csv | --svg FILE]\n"
            "       lodestonectl report demos [--material M] [--limit N] [--json | --csv]\n"
            "  map: the partnership's regions by value-chain stage, material, theme, investor\n"
            "       stage and opportunity kind, with strengths and gaps; --svg FILE writes a\n"
            "       heat map for a slide (- for stdout)\n"
            "  demos: joint demonstrations that need several regions, best first\n"
            "  without --json or --csv: a table for people\n");
    return 2;
}

static int s_set_format(s_options_t *o, s_format_t format)
{
    if (o->format != S_TABLE) {
        fprintf(stderr, "lodestonectl: report: choose one of --json, --csv and --svg\n");
        return -1;
    }
    o->format = format;
    return 0;
}

/* Returns 0, or the exit code of a usage error. */
static int s_parse(int argc, char **argv, s_options_t *o)
{
    if (argc < 1)
        return s_usage();
    bool map = strcmp(argv[0], "map") == 0, demos = strcmp(argv[0], "demos") == 0;
    if (!map && !demos)
        return s_usage();
    o->q.kind = map ? LODESTONE__V1__GET_REPORT__KIND__MAP : LODESTONE__V1__GET_REPORT__KIND__DEMOS;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        bool has_value = i + 1 < argc;
        if (strcmp(opt, "--json") == 0 || strcmp(opt, "--csv") == 0) {
            if (s_set_format(o, opt[2] == 'j' ? S_JSON : S_CSV))
                return 2;
        } else if (strcmp(opt, "--svg") == 0 && map && has_value) {
            if (s_set_format(o, S_SVG))
                return 2;
            o->svg_path = argv[++i];
        } else if (strcmp(opt, "--material") == 0 && demos && has_value) {
            o->q.material = argv[++i];
            if (!*o->q.material || strlen(o->q.material) > 64) {
                fprintf(stderr, "lodestonectl: --material: a material code, e.g. cobalt\n");
                return 2;
            }
        } else if (strcmp(opt, "--limit") == 0 && demos && has_value) {
            if (ctl_limit(argv[++i], &o->q.limit))
                return 2;
        } else {
            if (strcmp(opt, "--svg") == 0 && demos)
                fprintf(stderr, "lodestonectl: report: --svg draws the map only\n");
            else if ((strcmp(opt, "--material") == 0 || strcmp(opt, "--limit") == 0) && map)
                fprintf(stderr, "lodestonectl: report: %s is for demos only\n", opt);
            return s_usage();
        }
    }
    return 0;
}

/* Writes the SVG to path ("-": stdout). Returns the exit code. */
static int s_write_svg(const Lodestone__V1__CapabilityMap *map, const char *path)
{
    if (strcmp(path, "-") == 0)
        return report_map_svg(map, stdout) ? 1 : 0;
    FILE *file = fopen(path, "w");
    if (!file) {
        fprintf(stderr, "lodestonectl: %s: %s\n", path, strerror(errno));
        return 1;
    }
    int rc = report_map_svg(map, file);
    if (fclose(file) != 0)
        rc = -1;
    if (rc) {
        fprintf(stderr, "lodestonectl: %s: could not write the map\n", path);
        return 1;
    }
    fprintf(stderr, "lodestonectl: the map is in %s\n", path);
    return 0;
}

static int s_render(const Lodestone__V1__Report *report, const s_options_t *o)
{
    int rc = 0;
    if (report->body_case == LODESTONE__V1__REPORT__BODY_MAP) {
        const Lodestone__V1__CapabilityMap *map = report->map;
        if (o->format == S_JSON)
            ctl_print(&map->base, true);
        else if (o->format == S_CSV)
            rc = report_map_csv(map, stdout);
        else if (o->format == S_SVG)
            return s_write_svg(map, o->svg_path);
        else
            rc = report_map_table(map, stdout);
    } else {
        const Lodestone__V1__DemoList *demos = report->demos;
        if (o->format == S_JSON)
            ctl_print(&demos->base, true);
        else if (o->format == S_CSV)
            rc = report_demos_csv(demos, stdout);
        else
            rc = report_demos_table(demos, stdout);
    }
    if (rc)
        fprintf(stderr, "lodestonectl: report: could not write to stdout\n");
    return rc ? 1 : 0;
}

int ctl_report(int argc, char **argv)
{
    s_options_t o = {.q = LODESTONE__V1__GET_REPORT__INIT, .format = S_TABLE};
    int usage = s_parse(argc, argv, &o);
    if (usage)
        return usage;
    ls_envelope_pb env = LODESTONE__V1__ENVELOPE__INIT;
    env.body_case = LODESTONE__V1__ENVELOPE__BODY_REPORT;
    env.report = &o.q;
    ls_reply_pb *reply = ctl_call("matching", "report", &env, LODESTONE__V1__REPLY__BODY_REPORT);
    if (!reply)
        return 1;
    Lodestone__V1__Report__BodyCase want = o.q.kind == LODESTONE__V1__GET_REPORT__KIND__MAP
                                               ? LODESTONE__V1__REPORT__BODY_MAP
                                               : LODESTONE__V1__REPORT__BODY_DEMOS;
    int rc = 1;
    if (reply->report->body_case != want)
        fprintf(stderr, "lodestonectl: report: matching answered without the %s asked for\n",
                argv[0]);
    else
        rc = s_render(reply->report, &o);
    lodestone__v1__reply__free_unpacked(reply, NULL);
    return rc;
}
