/*
 * json.c - `--json` of builds, show and builders: stable field names (README.md,
 * "The CLI"), every time both as ISO-8601 ("created") and in ms ("created_ms"),
 * null for what is not known (yet).
 */
#include "tools/cli/cli.h"

#include "runtime/buildstate.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *str_or_null(const char *s)
{
    return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

static json_t *ms_or_null(int64_t ms)
{
    return ms >= 0 ? json_integer(ms) : json_null();
}

static void put_time(json_t *o, const char *name, const char *name_ms, int64_t at_ms)
{
    char iso[40];
    json_object_set_new(o, name, at_ms > 0 ? json_string(cli_time_iso(iso, sizeof(iso), at_ms))
                                           : json_null());
    json_object_set_new(o, name_ms, at_ms > 0 ? json_integer(at_ms) : json_null());
}

static json_t *sources(const Slipway__SourceProfile *p)
{
    json_t *a = json_array();
    for (size_t i = 0; p != NULL && i < p->n_sources; i++) {
        const Slipway__Source *s = p->sources[i];
        json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s, s:I}", "host", s->host, "kind",
                                           s->kind, "what", s->what, "file", s->file, "line",
                                           (json_int_t)s->line));
    }
    return a;
}

static json_t *record(const Slipway__BuildRecord *r, bool with_sources)
{
    json_t *o = json_object();
    bool final = sw_state_is_final(r->state);
    cli_spans t = cli_record_spans(r);

    json_object_set_new(o, "id", json_string(r->build_id));
    json_object_set_new(o, "state", json_string(sw_state_name(r->state)));
    json_object_set_new(o, "final", json_boolean(final));
    json_object_set_new(o, "project", json_string(r->project));
    json_object_set_new(o, "tenant", json_string(r->tenant));
    json_object_set_new(o, "tier", json_string(r->tier));
    json_object_set_new(o, "trigger", json_string(sw_build_trigger(r)));
    json_object_set_new(o, "ref", json_string(sw_ref_display(r->ref)));
    json_object_set_new(o, "ref_full", json_string(r->ref));
    json_object_set_new(o, "sha", str_or_null(r->sha));
    json_object_set_new(o, "attempt", json_integer(r->attempt));
    json_object_set_new(o, "builder", str_or_null(r->builder));
    json_object_set_new(o, "cluster", str_or_null(r->cluster));
    json_object_set_new(o, "region", str_or_null(r->region));
    json_object_set_new(o, "placement", str_or_null(r->placement));
    json_object_set_new(o, "step", str_or_null(r->step));
    json_object_set_new(o, "exit_code", cli_has_exit_code(r) ? json_integer(r->exit_code)
                                                             : json_null());
    json_object_set_new(o, "reason", str_or_null(r->reason));
    put_time(o, "created", "created_ms", r->created_ms);
    put_time(o, "started", "started_ms", r->started_ms);
    put_time(o, "finished", "finished_ms", r->finished_ms);
    /* durations once they are over: a running build's grow */
    json_object_set_new(o, "queued_ms", ms_or_null(r->started_ms > 0 || final ? t.queued : -1));
    json_object_set_new(o, "run_ms", ms_or_null(final ? t.ran : -1));
    json_object_set_new(o, "total_ms", ms_or_null(final ? t.total : -1));
    json_object_set_new(o, "author", str_or_null(r->author));
    json_object_set_new(o, "message", str_or_null(r->message));
    json_object_set_new(o, "image", str_or_null(r->image));
    json_object_set_new(o, "digest", str_or_null(r->digest));
    json_object_set_new(o, "retry_of", str_or_null(r->retry_of));
    json_object_set_new(o, "request_id", str_or_null(r->request_id));
    if (with_sources) {
        json_object_set_new(o, "sources", sources(r->profile));
    }
    return o;
}

static void print(json_t *v)
{
    char *text = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
    if (text == NULL) { /* only out of memory */
        abort();
    }
    printf("%s\n", text);
    free(text);
    json_decref(v);
}

void cli_json_record(const Slipway__BuildRecord *r, bool with_sources)
{
    print(record(r, with_sources));
}

void cli_json_records(Slipway__BuildRecord *const *list, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(a, record(list[i], false));
    }
    print(a);
}

static json_t *figure(double v)
{
    return v >= 0 ? json_real(v) : json_null();
}

void cli_json_builders(Slipway__BuilderInfo *const *list, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        const Slipway__BuilderInfo *b = list[i];
        const Slipway__Pressure *p = b->pressure;
        json_t *o = json_object(), *builds = json_array();
        for (size_t j = 0; j < b->n_builds; j++) {
            json_array_append_new(builds, json_string(b->builds[j]));
        }
        json_object_set_new(o, "name", json_string(b->name));
        json_object_set_new(o, "cluster", json_string(b->cluster));
        json_object_set_new(o, "state", json_string(cli_builder_state(b)));
        json_object_set_new(o, "slots", json_integer(b->slots));
        json_object_set_new(o, "busy", json_integer(b->busy));
        json_object_set_new(o, "builds", builds);
        put_time(o, "last_seen", "last_seen_ms", b->last_seen_ms);
        json_object_set_new(o, "hold_reason", str_or_null(b->holding_back ? b->hold_reason : ""));
        if (p != NULL && p->source != NULL && p->source[0] != '\0' &&
            strcmp(p->source, "none") != 0) {
            json_object_set_new(o, "pressure",
                                json_pack("{s:s, s:o, s:o, s:o}", "source", p->source, "cpu",
                                          figure(p->cpu_some_avg10), "memory",
                                          figure(p->memory_some_avg10), "io",
                                          figure(p->io_some_avg10)));
        } else {
            json_object_set_new(o, "pressure", json_null());
        }
        json_array_append_new(a, o);
    }
    print(a);
}
