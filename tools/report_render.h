/* report_render.h — the regional capability map and the joint-demonstration
 * suggestions (matching's Report) rendered for people (text tables), for
 * spreadsheets (RFC 4180 CSV) and for slides (an SVG heat map). Pure functions over
 * the messages: they read nothing but their arguments and print no time, so the
 * same report gives the same bytes. JSON needs nothing here: ls_json converts the
 * messages both ways.
 *
 * Each function writes to out and returns 0, or -1 when writing failed. */
#ifndef REPORT_RENDER_H
#define REPORT_RENDER_H

#include <stdio.h>

#include "ls_proto.h"

/* The SVG's material panel shows at most this many materials, those with the most
 * SMEs; it says how many it left out. */
#define REPORT_SVG_MAX_MATERIALS 25

/* One block per table (a row per value, a column per region, '*' on strengths,
 * the partnership's total), then the gaps, the totals and the strength rule; at
 * most 100 columns wide for the partnership's seven regions. */
int report_map_table(const Lodestone__V1__CapabilityMap *map, FILE *out);

/* The ranked suggestions: material, regions, the strongest SME per stage, the
 * investors and why the demonstration is new; then the ranking rule and the cover
 * method. */
int report_demos_table(const Lodestone__V1__DemoList *demos, FILE *out);

/* facet,region,region_name,value,count,share,strength: one row for every region
 * and value of every table, zero counts included, so a spreadsheet gets the full
 * grid. Lines end in CRLF (RFC 4180). */
int report_map_csv(const Lodestone__V1__CapabilityMap *map, FILE *out);

/* rank,material,regions,stage,region,sme_id,sme_name,score,investors,why_new: one
 * row per suggestion and stage with its strongest SME, then one per missing stage
 * (region, SME and score empty). Regions (codes) and investors (names) are joined
 * by ';'. */
int report_demos_csv(const Lodestone__V1__DemoList *demos, FILE *out);

/* A heat map for a slide: regions x value-chain stages and regions x materials
 * (the REPORT_SVG_MAX_MATERIALS with most SMEs), counts on a colour-blind-safe
 * blue scale, strengths outlined, the materials' chain gaps hatched, a legend.
 * Every region x value of a panel is one <rect class="cell" data-region
 * data-value data-count> inside <g class="panel" data-facet="...">. */
int report_map_svg(const Lodestone__V1__CapabilityMap *map, FILE *out);

#endif
