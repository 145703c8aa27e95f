/* buildstate.c - a build's life as a fold over its events (see buildstate.h). */
#include "runtime/buildstate.h"

#include "runtime/core/error.h"
#include "runtime/core/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const state_names[] = {
    [SLIPWAY__BUILD_STATE__UNKNOWN] = "unknown",
    [SLIPWAY__BUILD_STATE__RECEIVED] = "received",
    [SLIPWAY__BUILD_STATE__QUEUED] = "queued",
    [SLIPWAY__BUILD_STATE__DISPATCHED] = "dispatched",
    [SLIPWAY__BUILD_STATE__RUNNING] = "running",
    [SLIPWAY__BUILD_STATE__RESCHEDULING] = "rescheduling",
    [SLIPWAY__BUILD_STATE__SUCCEEDED] = "succeeded",
    [SLIPWAY__BUILD_STATE__FAILED] = "failed",
    [SLIPWAY__BUILD_STATE__ERRORED] = "errored",
    [SLIPWAY__BUILD_STATE__CANCELLED] = "cancelled",
    [SLIPWAY__BUILD_STATE__TIMED_OUT] = "timed_out",
};

#define NSTATES ((int)(sizeof(state_names) / sizeof(state_names[0])))

const char *sw_state_name(int state)
{
    if (state < 0 || state >= NSTATES) {
        return "unknown";
    }
    return state_names[state];
}

int sw_state_parse(const char *name)
{
    for (int i = 0; i < NSTATES; i++) {
        if (name != NULL && strcmp(state_names[i], name) == 0) {
            return i;
        }
    }
    return SLIPWAY__BUILD_STATE__UNKNOWN;
}

bool sw_state_is_final(int state)
{
    return state == SLIPWAY__BUILD_STATE__SUCCEEDED || state == SLIPWAY__BUILD_STATE__FAILED ||
           state == SLIPWAY__BUILD_STATE__ERRORED || state == SLIPWAY__BUILD_STATE__CANCELLED ||
           state == SLIPWAY__BUILD_STATE__TIMED_OUT;
}

int sw_state_exit_code(int state)
{
    switch (state) {
    case SLIPWAY__BUILD_STATE__SUCCEEDED:
        return 0;
    case SLIPWAY__BUILD_STATE__FAILED:
        return 1;
    case SLIPWAY__BUILD_STATE__TIMED_OUT:
        return 4;
    case SLIPWAY__BUILD_STATE__CANCELLED:
        return 5;
    default:
        return 3;
    }
}

const char *sw_build_lane(char *buf, size_t n, const Slipway__BuildRecord *rec)
{
    static const char heads[] = "refs/heads/";
    const char *ref = rec->ref ? rec->ref : "";

    if ((rec->tag && rec->tag[0]) || strncmp(ref, "refs/tags/", 10) == 0) {
        snprintf(buf, n, "%s", "");
    } else if (rec->pr_number > 0) {
        snprintf(buf, n, "pr:%u", rec->pr_number);
    } else if (rec->branch && rec->branch[0]) {
        snprintf(buf, n, "branch:%s", rec->branch);
    } else if (strncmp(ref, heads, sizeof(heads) - 1) == 0 && ref[sizeof(heads) - 1]) {
        snprintf(buf, n, "branch:%s", ref + sizeof(heads) - 1);
    } else {
        snprintf(buf, n, "%s", "");
    }
    return buf;
}

const char *sw_cancel_reason(char *buf, size_t n, const char *by, const char *why)
{
    bool has_by = by != NULL && by[0], has_why = why != NULL && why[0];
    if (has_by && has_why) {
        snprintf(buf, n, "cancelled by %s: %s", by, why);
    } else if (has_by) {
        snprintf(buf, n, "cancelled by %s", by);
    } else {
        snprintf(buf, n, "cancelled: %s", has_why ? why : "no reason given");
    }
    return buf;
}

/* Replaces an owned string field with a copy of value ("" stays the protobuf-c empty default). */
static void set_str(char **field, const char *value)
{
    if (*field != NULL && *field != protobuf_c_empty_string) {
        free(*field);
    }
    if (value == NULL || value[0] == '\0') {
        *field = (char *)protobuf_c_empty_string;
        return;
    }
    *field = sw_strdup(value);
}

/* Replaces the record's profile with a copy of src (NULL: none). */
static void set_profile(Slipway__SourceProfile **field, const Slipway__SourceProfile *src)
{
    if (*field != NULL) {
        slipway__source_profile__free_unpacked(*field, NULL);
        *field = NULL;
    }
    if (src != NULL) {
        size_t len = slipway__source_profile__get_packed_size(src);
        uint8_t *data = sw_calloc(1, len ? len : 1);
        slipway__source_profile__pack(src, data);
        *field = slipway__source_profile__unpack(NULL, len, data);
        free(data);
        if (*field == NULL) { /* packed by us a moment ago */
            abort();
        }
    }
}

static void fill_created(Slipway__BuildRecord *rec, const Slipway__BuildEvent *ev)
{
    const Slipway__Job *job = ev->job;
    const Slipway__BuildRequest *req = ev->request;
    set_str(&rec->build_id, ev->build_id);
    set_str(&rec->tenant, ev->tenant);
    rec->state = SLIPWAY__BUILD_STATE__QUEUED;
    rec->created_ms = ev->at_ms;
    if (job != NULL) {
        set_str(&rec->project, job->project);
        set_str(&rec->ref, job->ref);
        set_str(&rec->sha, job->sha);
        set_str(&rec->tier, job->tier);
    }
    if (req != NULL) {
        set_str(&rec->request_id, req->request_id);
        set_str(&rec->author, req->author);
        set_str(&rec->message, req->message);
        set_str(&rec->retry_of, req->retry_of);
        set_str(&rec->branch, req->branch);
        set_str(&rec->tag, req->tag);
        set_str(&rec->forge, req->forge);
        rec->pr_number = req->pr_number;
    }
}

int sw_build_apply(Slipway__BuildRecord *rec, const Slipway__BuildEvent *ev)
{
    const bool final = sw_state_is_final(rec->state);

    if (ev->build_id == NULL || ev->build_id[0] == '\0') {
        return sw_error_set(SW_EINVALID, "event without a build id");
    }
    if (rec->state != SLIPWAY__BUILD_STATE__UNKNOWN && strcmp(rec->build_id, ev->build_id) != 0) {
        return sw_error_set(SW_EINVALID, "event for build %s applied to build %s", ev->build_id,
                            rec->build_id);
    }
    if (ev->kind == SLIPWAY__EVENT_KIND__CREATED) {
        if (rec->state != SLIPWAY__BUILD_STATE__UNKNOWN) {
            return SW_APPLY_IGNORED;
        }
        fill_created(rec, ev);
        return SW_APPLY_CHANGED;
    }
    if (rec->state == SLIPWAY__BUILD_STATE__UNKNOWN) {
        return sw_error_set(SW_EINVALID, "event %d for build %s before it was created", ev->kind,
                            ev->build_id);
    }
    if (ev->kind == SLIPWAY__EVENT_KIND__FINISHED && !sw_state_is_final(ev->state)) {
        return sw_error_set(SW_EINVALID, "build %s finished with non-final state %s",
                            ev->build_id, sw_state_name(ev->state));
    }
    if (final) {
        return SW_APPLY_IGNORED; /* the first result is the one that counts */
    }
    /* attempt 0 is the scheduler speaking for the build as a whole */
    if (ev->attempt != 0 && ev->attempt < rec->attempt) {
        return SW_APPLY_IGNORED; /* a superseded attempt */
    }

    switch (ev->kind) {
    case SLIPWAY__EVENT_KIND__PLACED:
        if (rec->state != SLIPWAY__BUILD_STATE__QUEUED) {
            /* the builder's start overtook it (the job is in JOBS before PLACED
             * is told): the state stays, where and why it was placed are kept */
            if ((rec->region != NULL && rec->region[0] != '\0') || ev->region == NULL ||
                ev->region[0] == '\0') {
                return SW_APPLY_IGNORED;
            }
            set_str(&rec->region, ev->region);
            set_str(&rec->placement, ev->reason);
            return SW_APPLY_CHANGED;
        }
        rec->state = SLIPWAY__BUILD_STATE__DISPATCHED;
        set_str(&rec->cluster, ev->cluster);
        set_str(&rec->region, ev->region);
        set_str(&rec->placement, ev->reason);
        return SW_APPLY_CHANGED;

    case SLIPWAY__EVENT_KIND__STARTED:
        if (ev->attempt == 0) {
            return sw_error_set(SW_EINVALID, "build %s started without an attempt", ev->build_id);
        }
        if (ev->attempt <= rec->attempt) {
            return SW_APPLY_IGNORED; /* a duplicate, or an attempt already lost */
        }
        rec->attempt = ev->attempt;
        rec->state = SLIPWAY__BUILD_STATE__RUNNING;
        set_str(&rec->builder, ev->builder);
        if (ev->cluster && ev->cluster[0]) {
            set_str(&rec->cluster, ev->cluster);
        }
        set_str(&rec->step, NULL);
        set_str(&rec->incarnation, ev->incarnation);
        rec->job_seq = ev->job_seq;
        rec->started_ms = ev->at_ms;
        if (ev->sha && ev->sha[0]) {
            set_str(&rec->sha, ev->sha);
        }
        return SW_APPLY_CHANGED;

    case SLIPWAY__EVENT_KIND__CHECKED_OUT:
        /* the commit a branch or tag resolved to, known before anything runs */
        if (ev->attempt != rec->attempt || rec->state != SLIPWAY__BUILD_STATE__RUNNING ||
            ev->sha == NULL || ev->sha[0] == '\0' || strcmp(rec->sha, ev->sha) == 0) {
            return SW_APPLY_IGNORED;
        }
        set_str(&rec->sha, ev->sha);
        return SW_APPLY_CHANGED;

    case SLIPWAY__EVENT_KIND__STEP_STARTED:
    case SLIPWAY__EVENT_KIND__STEP_FINISHED:
        if (ev->attempt != rec->attempt || rec->state != SLIPWAY__BUILD_STATE__RUNNING) {
            return SW_APPLY_IGNORED;
        }
        if (strcmp(rec->step, ev->step) == 0 && ev->kind == SLIPWAY__EVENT_KIND__STEP_STARTED) {
            return SW_APPLY_IGNORED;
        }
        set_str(&rec->step, ev->step);
        return SW_APPLY_CHANGED;

    case SLIPWAY__EVENT_KIND__LOST:
        if (ev->attempt != rec->attempt || rec->state != SLIPWAY__BUILD_STATE__RUNNING) {
            return SW_APPLY_IGNORED;
        }
        rec->state = SLIPWAY__BUILD_STATE__RESCHEDULING;
        set_str(&rec->reason, ev->reason);
        return SW_APPLY_CHANGED;

    case SLIPWAY__EVENT_KIND__FINISHED:
        if (ev->attempt != 0 && ev->attempt > rec->attempt) {
            rec->attempt = ev->attempt;
            set_str(&rec->builder, ev->builder);
        }
        rec->state = ev->state;
        rec->exit_code = ev->exit_code;
        set_str(&rec->reason, ev->reason);
        if (ev->step && ev->step[0]) {
            set_str(&rec->step, ev->step);
        }
        if (ev->sha && ev->sha[0]) {
            set_str(&rec->sha, ev->sha);
        }
        if (ev->digest && ev->digest[0]) {
            set_str(&rec->image, ev->image);
            set_str(&rec->digest, ev->digest);
        }
        if (ev->profile != NULL) {
            set_profile(&rec->profile, ev->profile);
        }
        rec->finished_ms = ev->at_ms;
        return SW_APPLY_CHANGED;

    default:
        return sw_error_set(SW_EINVALID, "unknown event kind %d for build %s", ev->kind,
                            ev->build_id);
    }
}

void sw_build_record_clear(Slipway__BuildRecord *rec)
{
    set_str(&rec->build_id, NULL);
    set_str(&rec->tenant, NULL);
    set_str(&rec->project, NULL);
    set_str(&rec->builder, NULL);
    set_str(&rec->cluster, NULL);
    set_str(&rec->ref, NULL);
    set_str(&rec->sha, NULL);
    set_str(&rec->reason, NULL);
    set_str(&rec->step, NULL);
    set_str(&rec->request_id, NULL);
    set_str(&rec->tier, NULL);
    set_str(&rec->author, NULL);
    set_str(&rec->message, NULL);
    set_str(&rec->image, NULL);
    set_str(&rec->digest, NULL);
    set_str(&rec->incarnation, NULL);
    set_str(&rec->retry_of, NULL);
    set_str(&rec->branch, NULL);
    set_str(&rec->tag, NULL);
    set_str(&rec->forge, NULL);
    set_str(&rec->region, NULL);
    set_str(&rec->placement, NULL);
    set_profile(&rec->profile, NULL);
    slipway__build_record__init(rec);
}

void sw_build_record_copy(Slipway__BuildRecord *dst, const Slipway__BuildRecord *src)
{
    slipway__build_record__init(dst);
    *dst = *src;
    dst->build_id = NULL;
    dst->tenant = NULL;
    dst->project = NULL;
    dst->builder = NULL;
    dst->cluster = NULL;
    dst->ref = NULL;
    dst->sha = NULL;
    dst->reason = NULL;
    dst->step = NULL;
    dst->request_id = NULL;
    dst->tier = NULL;
    dst->author = NULL;
    dst->message = NULL;
    dst->image = NULL;
    dst->digest = NULL;
    dst->incarnation = NULL;
    dst->retry_of = NULL;
    dst->branch = NULL;
    dst->tag = NULL;
    dst->forge = NULL;
    dst->region = NULL;
    dst->placement = NULL;
    dst->profile = NULL;
    set_str(&dst->build_id, src->build_id);
    set_str(&dst->tenant, src->tenant);
    set_str(&dst->project, src->project);
    set_str(&dst->builder, src->builder);
    set_str(&dst->cluster, src->cluster);
    set_str(&dst->ref, src->ref);
    set_str(&dst->sha, src->sha);
    set_str(&dst->reason, src->reason);
    set_str(&dst->step, src->step);
    set_str(&dst->request_id, src->request_id);
    set_str(&dst->tier, src->tier);
    set_str(&dst->author, src->author);
    set_str(&dst->message, src->message);
    set_str(&dst->image, src->image);
    set_str(&dst->digest, src->digest);
    set_str(&dst->incarnation, src->incarnation);
    set_str(&dst->retry_of, src->retry_of);
    set_str(&dst->branch, src->branch);
    set_str(&dst->tag, src->tag);
    set_str(&dst->forge, src->forge);
    set_str(&dst->region, src->region);
    set_str(&dst->placement, src->placement);
    set_profile(&dst->profile, src->profile);
}

const char *sw_build_trigger(const Slipway__BuildRecord *rec)
{
    if (rec->retry_of && rec->retry_of[0]) {
        return "retry";
    }
    if (rec->pr_number != 0 || (rec->ref && strncmp(rec->ref, "refs/pull/", 10) == 0) ||
        (rec->ref && strncmp(rec->ref, "refs/merge-requests/", 20) == 0)) {
        return "pr";
    }
    if ((rec->tag && rec->tag[0]) || (rec->ref && strncmp(rec->ref, "refs/tags/", 10) == 0)) {
        return "tag";
    }
    if (rec->forge && strcmp(rec->forge, "cli") == 0) {
        return "cli";
    }
    if (rec->forge == NULL || rec->forge[0] == '\0') {
        /* records made before the forge was kept: the CLI's request ids are bare uuids */
        return rec->request_id && strchr(rec->request_id, ':') ? "push" : "cli";
    }
    return "push";
}

const char *sw_ref_display(const char *ref)
{
    static const char *const prefixes[] = {"refs/heads/", "refs/tags/"};
    if (ref == NULL) {
        return "";
    }
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        size_t n = strlen(prefixes[i]);
        if (strncmp(ref, prefixes[i], n) == 0 && ref[n] != '\0') {
            return ref + n;
        }
    }
    return ref;
}

bool sw_build_id_valid(const char *id)
{
    size_t n = id != NULL ? strlen(id) : 0;
    if (n == 0 || n > 64) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= '0' && id[i] <= '9'))) {
            return false;
        }
    }
    return true;
}

void sw_build_retry_request(Slipway__BuildRequest *br, const Slipway__BuildRecord *rec)
{
    br->tenant = rec->tenant;
    br->project = rec->project;
    br->ref = rec->ref;
    br->sha = rec->sha;
    br->branch = rec->branch;
    br->tag = rec->tag;
    br->pr_number = rec->pr_number;
    br->message = rec->message;
    br->retry_of = rec->build_id;
}
