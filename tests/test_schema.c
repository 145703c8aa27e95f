/* test_schema.c - the wire messages survive pack + unpack; build ids and subjects. */
#include "runtime/wire.h"
#include "slipway.pb-c.h"
#include "support.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

/* Packs msg with sw_wire_pack and unpacks it again as the same type (caller frees). */
static ProtobufCMessage *round_trip(const ProtobufCMessage *msg)
{
    size_t len = 0;
    void *buf = sw_wire_pack(msg, &len);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(len, protobuf_c_message_get_packed_size(msg));
    ProtobufCMessage *out = protobuf_c_message_unpack(msg->descriptor, NULL, len, buf);
    free(buf);
    ck_assert_ptr_nonnull(out);
    return out;
}

static void fill_request(Slipway__BuildRequest *r)
{
    r->request_id = "github:8f0c2d3e";
    r->tenant = "acme";
    r->project = "web";
    r->forge = "github";
    r->delivery_id = "8f0c2d3e";
    r->repository = "acme/web";
    r->clone_url = "https://example.com/acme/web.git";
    r->ref = "refs/pull/2/head";
    r->sha = "0123456789abcdef0123456789abcdef01234567";
    r->branch = "feature";
    r->tag = "v1.2.3";
    r->pr_number = 2;
    r->author = "Ada";
    r->message = "Fix the widget";
    r->requested_at_ms = 1700000000123;
}

static void assert_request_eq(const Slipway__BuildRequest *a, const Slipway__BuildRequest *b)
{
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_str_eq(a->request_id, b->request_id);
    ck_assert_str_eq(a->tenant, b->tenant);
    ck_assert_str_eq(a->project, b->project);
    ck_assert_str_eq(a->forge, b->forge);
    ck_assert_str_eq(a->delivery_id, b->delivery_id);
    ck_assert_str_eq(a->repository, b->repository);
    ck_assert_str_eq(a->clone_url, b->clone_url);
    ck_assert_str_eq(a->ref, b->ref);
    ck_assert_str_eq(a->sha, b->sha);
    ck_assert_str_eq(a->branch, b->branch);
    ck_assert_str_eq(a->tag, b->tag);
    ck_assert_uint_eq(a->pr_number, b->pr_number);
    ck_assert_str_eq(a->author, b->author);
    ck_assert_str_eq(a->message, b->message);
    ck_assert_int_eq(a->requested_at_ms, b->requested_at_ms);
}

static void fill_job(Slipway__Job *j, Slipway__Limits *limits)
{
    limits->memory_bytes = 3ull << 30; /* above 32 bits on purpose */
    limits->pids = 256;
    limits->cpu_millis = 1500;
    limits->timeout_s = 600;
    j->build_id = "abcdefgh2345";
    j->tenant = "acme";
    j->project = "web";
    j->tier = "free";
    j->region = "eu";
    j->cluster = "eu-free";
    j->clone_url = "https://example.com/acme/web.git";
    j->ref = "refs/heads/main";
    j->sha = "0123456789abcdef0123456789abcdef01234567";
    j->limits = limits;
    j->queued_at_ms = 1700000000456;
}

static void assert_job_eq(const Slipway__Job *a, const Slipway__Job *b)
{
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_str_eq(a->build_id, b->build_id);
    ck_assert_str_eq(a->tenant, b->tenant);
    ck_assert_str_eq(a->project, b->project);
    ck_assert_str_eq(a->tier, b->tier);
    ck_assert_str_eq(a->region, b->region);
    ck_assert_str_eq(a->cluster, b->cluster);
    ck_assert_str_eq(a->clone_url, b->clone_url);
    ck_assert_str_eq(a->ref, b->ref);
    ck_assert_str_eq(a->sha, b->sha);
    ck_assert_int_eq(a->queued_at_ms, b->queued_at_ms);
    ck_assert_ptr_nonnull(a->limits);
    ck_assert_ptr_nonnull(b->limits);
    ck_assert_uint_eq(a->limits->memory_bytes, b->limits->memory_bytes);
    ck_assert_uint_eq(a->limits->pids, b->limits->pids);
    ck_assert_uint_eq(a->limits->cpu_millis, b->limits->cpu_millis);
    ck_assert_uint_eq(a->limits->timeout_s, b->limits->timeout_s);
}

static void fill_record(Slipway__BuildRecord *r, const char *id, int state)
{
    r->build_id = (char *)id;
    r->tenant = "acme";
    r->project = "web";
    r->state = state;
    r->attempt = 2;
    r->builder = "builder-1";
    r->cluster = "eu-free";
    r->ref = "refs/heads/main";
    r->sha = "0123456789abcdef0123456789abcdef01234567";
    r->exit_code = -9;
    r->reason = "step test exited 1";
    r->created_ms = 1700000000000;
    r->started_ms = 1700000001000;
    r->finished_ms = 1700000002000;
    r->step = "test";
    r->request_id = "cli:42";
    r->tier = "free";
    r->author = "Ada";
    r->message = "Fix the widget";
}

static void assert_record_eq(const Slipway__BuildRecord *a, const Slipway__BuildRecord *b)
{
    ck_assert_str_eq(a->build_id, b->build_id);
    ck_assert_str_eq(a->tenant, b->tenant);
    ck_assert_str_eq(a->project, b->project);
    ck_assert_int_eq(a->state, b->state);
    ck_assert_uint_eq(a->attempt, b->attempt);
    ck_assert_str_eq(a->builder, b->builder);
    ck_assert_str_eq(a->cluster, b->cluster);
    ck_assert_str_eq(a->ref, b->ref);
    ck_assert_str_eq(a->sha, b->sha);
    ck_assert_int_eq(a->exit_code, b->exit_code);
    ck_assert_str_eq(a->reason, b->reason);
    ck_assert_int_eq(a->created_ms, b->created_ms);
    ck_assert_int_eq(a->started_ms, b->started_ms);
    ck_assert_int_eq(a->finished_ms, b->finished_ms);
    ck_assert_str_eq(a->step, b->step);
    ck_assert_str_eq(a->request_id, b->request_id);
    ck_assert_str_eq(a->tier, b->tier);
    ck_assert_str_eq(a->author, b->author);
    ck_assert_str_eq(a->message, b->message);
}

START_TEST(test_build_request_round_trip)
{
    Slipway__BuildRequest req = SLIPWAY__BUILD_REQUEST__INIT;
    fill_request(&req);
    Slipway__BuildRequest *got = (Slipway__BuildRequest *)round_trip(&req.base);
    assert_request_eq(got, &req);
    slipway__build_request__free_unpacked(got, NULL);
}
END_TEST

START_TEST(test_empty_request_round_trips_to_empty_strings)
{
    /* proto3 leaves defaults off the wire; they come back as "" and 0, never NULL */
    Slipway__BuildRequest req = SLIPWAY__BUILD_REQUEST__INIT;
    size_t len = 1;
    void *buf = sw_wire_pack(&req.base, &len);
    ck_assert_uint_eq(len, 0);
    Slipway__BuildRequest *got = slipway__build_request__unpack(NULL, len, buf);
    free(buf);
    ck_assert_ptr_nonnull(got);
    ck_assert_str_eq(got->request_id, "");
    ck_assert_str_eq(got->sha, "");
    ck_assert_uint_eq(got->pr_number, 0);
    slipway__build_request__free_unpacked(got, NULL);
}
END_TEST

START_TEST(test_job_with_limits_round_trip)
{
    Slipway__Job job = SLIPWAY__JOB__INIT;
    Slipway__Limits limits = SLIPWAY__LIMITS__INIT;
    fill_job(&job, &limits);
    Slipway__Job *got = (Slipway__Job *)round_trip(&job.base);
    assert_job_eq(got, &job);
    slipway__job__free_unpacked(got, NULL);
}
END_TEST

START_TEST(test_created_event_carries_job_and_request)
{
    Slipway__BuildEvent ev = SLIPWAY__BUILD_EVENT__INIT;
    Slipway__Job job = SLIPWAY__JOB__INIT;
    Slipway__Limits limits = SLIPWAY__LIMITS__INIT;
    Slipway__BuildRequest req = SLIPWAY__BUILD_REQUEST__INIT;
    fill_job(&job, &limits);
    fill_request(&req);
    ev.build_id = "abcdefgh2345";
    ev.tenant = "acme";
    ev.kind = SLIPWAY__EVENT_KIND__CREATED;
    ev.attempt = 0;
    ev.builder = "builder-1";
    ev.cluster = "eu-free";
    ev.state = SLIPWAY__BUILD_STATE__QUEUED;
    ev.step = "build";
    ev.step_index = 3;
    ev.exit_code = -1;
    ev.duration_ms = 1234;
    ev.reason = "because";
    ev.at_ms = 1700000000789;
    ev.job = &job;
    ev.request = &req;
    ev.sha = "fedcba9876543210fedcba9876543210fedcba98";

    Slipway__BuildEvent *got = (Slipway__BuildEvent *)round_trip(&ev.base);
    ck_assert_str_eq(got->build_id, ev.build_id);
    ck_assert_str_eq(got->tenant, ev.tenant);
    ck_assert_int_eq(got->kind, SLIPWAY__EVENT_KIND__CREATED);
    ck_assert_uint_eq(got->attempt, 0);
    ck_assert_str_eq(got->builder, ev.builder);
    ck_assert_str_eq(got->cluster, ev.cluster);
    ck_assert_int_eq(got->state, SLIPWAY__BUILD_STATE__QUEUED);
    ck_assert_str_eq(got->step, ev.step);
    ck_assert_uint_eq(got->step_index, 3);
    ck_assert_int_eq(got->exit_code, -1);
    ck_assert_int_eq(got->duration_ms, 1234);
    ck_assert_str_eq(got->reason, ev.reason);
    ck_assert_int_eq(got->at_ms, ev.at_ms);
    ck_assert_str_eq(got->sha, ev.sha);
    assert_job_eq(got->job, &job);
    assert_request_eq(got->request, &req);
    slipway__build_event__free_unpacked(got, NULL);
}
END_TEST

START_TEST(test_log_chunk_lines_round_trip)
{
    enum { BIG = 16 * 1024 };
    char *big = malloc(BIG + 1);
    for (size_t i = 0; i < BIG; i++) {
        big[i] = (char)('a' + i % 26);
    }
    big[BIG] = '\0';
    Slipway__LogLine l0 = SLIPWAY__LOG_LINE__INIT, l1 = SLIPWAY__LOG_LINE__INIT,
                     l2 = SLIPWAY__LOG_LINE__INIT, l3 = SLIPWAY__LOG_LINE__INIT;
    l0.stream = SLIPWAY__LOG_STREAM__SYSTEM;
    l0.text = "==> step build";
    l0.at_ms = 1;
    l1.stream = SLIPWAY__LOG_STREAM__STDOUT;
    l1.text = "";
    l1.at_ms = 2;
    l2.stream = SLIPWAY__LOG_STREAM__STDERR;
    l2.text = big;
    l2.at_ms = 3;
    l3.stream = SLIPWAY__LOG_STREAM__STDOUT;
    l3.text = "tab\there, unicode \xc3\xa9";
    l3.at_ms = 4;
    Slipway__LogLine *lines[] = {&l0, &l1, &l2, &l3};
    Slipway__LogChunk chunk = SLIPWAY__LOG_CHUNK__INIT;
    chunk.build_id = "abcdefgh2345";
    chunk.tenant = "acme";
    chunk.attempt = 2;
    chunk.seq = 1ull << 40;
    chunk.lines = lines;
    chunk.n_lines = 4;
    chunk.eof = true;
    chunk.state = SLIPWAY__BUILD_STATE__FAILED;

    Slipway__LogChunk *got = (Slipway__LogChunk *)round_trip(&chunk.base);
    ck_assert_str_eq(got->build_id, chunk.build_id);
    ck_assert_str_eq(got->tenant, chunk.tenant);
    ck_assert_uint_eq(got->attempt, 2);
    ck_assert_uint_eq(got->seq, 1ull << 40);
    ck_assert(got->eof);
    ck_assert_int_eq(got->state, SLIPWAY__BUILD_STATE__FAILED);
    ck_assert_uint_eq(got->n_lines, 4);
    for (size_t i = 0; i < 4; i++) {
        ck_assert_int_eq(got->lines[i]->stream, lines[i]->stream);
        ck_assert_str_eq(got->lines[i]->text, lines[i]->text);
        ck_assert_int_eq(got->lines[i]->at_ms, lines[i]->at_ms);
    }
    ck_assert_uint_eq(strlen(got->lines[2]->text), BIG);
    slipway__log_chunk__free_unpacked(got, NULL);
    free(big);
}
END_TEST

START_TEST(test_heartbeat_repeated_builds_round_trip)
{
    char *builds[] = {"abcdefgh2345#1", "zzzzzzzzzzzz#3", "a2a2a2a2a2a2#12"};
    Slipway__Heartbeat hb = SLIPWAY__HEARTBEAT__INIT;
    hb.builder = "builder-1";
    hb.cluster = "eu-free";
    hb.slots = 4;
    hb.busy = 3;
    hb.builds = builds;
    hb.n_builds = 3;
    hb.draining = true;
    hb.at_ms = 1700000000000;
    hb.interval_ms = 1000;

    Slipway__Heartbeat *got = (Slipway__Heartbeat *)round_trip(&hb.base);
    ck_assert_str_eq(got->builder, "builder-1");
    ck_assert_str_eq(got->cluster, "eu-free");
    ck_assert_uint_eq(got->slots, 4);
    ck_assert_uint_eq(got->busy, 3);
    ck_assert_uint_eq(got->n_builds, 3);
    for (size_t i = 0; i < 3; i++) {
        ck_assert_str_eq(got->builds[i], builds[i]);
    }
    ck_assert(got->draining);
    ck_assert_int_eq(got->at_ms, hb.at_ms);
    ck_assert_uint_eq(got->interval_ms, 1000);
    slipway__heartbeat__free_unpacked(got, NULL);
}
END_TEST

START_TEST(test_api_reply_with_builds_round_trip)
{
    Slipway__BuildRecord r0 = SLIPWAY__BUILD_RECORD__INIT, r1 = SLIPWAY__BUILD_RECORD__INIT;
    fill_record(&r0, "aaaaaaaaaaaa", SLIPWAY__BUILD_STATE__FAILED);
    fill_record(&r1, "bbbbbbbbbbbb", SLIPWAY__BUILD_STATE__RUNNING);
    r1.exit_code = 0;
    r1.reason = "";
    Slipway__BuildRecord *records[] = {&r0, &r1};
    Slipway__ApiReply reply = SLIPWAY__API_REPLY__INIT;
    reply.code = 0;
    reply.builds = records;
    reply.n_builds = 2;
    reply.more = true;

    Slipway__ApiReply *got = (Slipway__ApiReply *)round_trip(&reply.base);
    ck_assert_str_eq(got->error, "");
    ck_assert_int_eq(got->code, 0);
    ck_assert(got->more);
    ck_assert_ptr_null(got->project);
    ck_assert_uint_eq(got->n_builders, 0);
    ck_assert_uint_eq(got->n_chunks, 0);
    ck_assert_uint_eq(got->n_builds, 2);
    assert_record_eq(got->builds[0], &r0);
    assert_record_eq(got->builds[1], &r1);
    slipway__api_reply__free_unpacked(got, NULL);
}
END_TEST

START_TEST(test_api_reply_error_round_trip)
{
    Slipway__ApiReply reply = SLIPWAY__API_REPLY__INIT;
    reply.error = "no build zzzz";
    reply.code = -2;
    Slipway__ApiReply *got = (Slipway__ApiReply *)round_trip(&reply.base);
    ck_assert_str_eq(got->error, "no build zzzz");
    ck_assert_int_eq(got->code, -2);
    ck_assert_uint_eq(got->n_builds, 0);
    slipway__api_reply__free_unpacked(got, NULL);
}
END_TEST

START_TEST(test_garbage_does_not_unpack)
{
    /* a varint tag that never ends */
    static const uint8_t endless[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                      0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    /* field 1 (build_id), length 50, but only 3 bytes follow */
    static const uint8_t truncated[] = {0x0a, 50, 'a', 'b', 'c'};
    /* wire type 7 does not exist */
    static const uint8_t bad_wire_type[] = {0x0f, 0x01};

    ck_assert_ptr_null(slipway__build_event__unpack(NULL, sizeof(endless), endless));
    ck_assert_ptr_null(slipway__build_event__unpack(NULL, sizeof(truncated), truncated));
    ck_assert_ptr_null(slipway__build_event__unpack(NULL, sizeof(bad_wire_type), bad_wire_type));
    ck_assert_ptr_null(slipway__log_chunk__unpack(NULL, sizeof(truncated), truncated));
}
END_TEST

START_TEST(test_truncated_message_does_not_unpack)
{
    Slipway__Job job = SLIPWAY__JOB__INIT;
    Slipway__Limits limits = SLIPWAY__LIMITS__INIT;
    fill_job(&job, &limits);
    size_t len = 0;
    uint8_t *buf = sw_wire_pack(&job.base, &len);
    ck_assert_uint_gt(len, 10);
    /* cut inside the last field (queued_at_ms, a varint): never a valid Job */
    ck_assert_ptr_null(slipway__job__unpack(NULL, len - 1, buf));
    free(buf);
}
END_TEST

static bool is_base32(const char *s)
{
    for (; *s; s++) {
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '2' && *s <= '7'))) {
            return false;
        }
    }
    return true;
}

START_TEST(test_build_id_is_deterministic)
{
    char a[13], b[13];
    sw_wire_build_id(a, "acme", "github:1234");
    sw_wire_build_id(b, "acme", "github:1234");
    ck_assert_str_eq(a, b);
}
END_TEST

START_TEST(test_build_id_shape)
{
    static const char *const requests[] = {"github:1", "cli:3b1f", "", "x:y:z", "gitea:99999"};
    for (size_t i = 0; i < sizeof(requests) / sizeof(requests[0]); i++) {
        char id[13];
        memset(id, '#', sizeof(id));
        sw_wire_build_id(id, "acme", requests[i]);
        ck_assert_uint_eq(strlen(id), 12);
        ck_assert_msg(is_base32(id), "'%s' is not [a-z2-7]", id);
    }
}
END_TEST

START_TEST(test_build_id_differs_by_request_and_tenant)
{
    char base[13], other_request[13], other_tenant[13], shifted[13];
    sw_wire_build_id(base, "acme", "github:1234");
    sw_wire_build_id(other_request, "acme", "github:1235");
    sw_wire_build_id(other_tenant, "umbrella", "github:1234");
    /* tenant and request are kept apart: "ab"+"c" is not "a"+"bc" */
    sw_wire_build_id(shifted, "acmeg", "ithub:1234");
    ck_assert_str_ne(base, other_request);
    ck_assert_str_ne(base, other_tenant);
    ck_assert_str_ne(base, shifted);
}
END_TEST

START_TEST(test_subject_builder)
{
    char buf[64];
    ck_assert_str_eq(sw_subject(buf, sizeof(buf), "sw.events", "acme", "abcdefgh2345"),
                     "sw.events.acme.abcdefgh2345");
    ck_assert_str_eq(buf, "sw.events.acme.abcdefgh2345");
    ck_assert_str_eq(sw_subject(buf, sizeof(buf), "sw.events", "t", "b"), "sw.events.t.b");
    ck_assert_str_eq(sw_subject(buf, sizeof(buf), "sw.sched", "free", NULL), "sw.sched.free");
}
END_TEST

START_TEST(test_subject_builder_truncates_to_buffer)
{
    char buf[8];
    const char *s = sw_subject(buf, sizeof(buf), "sw.events", "t", "b");
    ck_assert_ptr_eq(s, buf);
    ck_assert_uint_eq(strlen(s), sizeof(buf) - 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("schema");
    TCase *tc = tcase_create("round_trip");
    tcase_add_test(tc, test_build_request_round_trip);
    tcase_add_test(tc, test_empty_request_round_trips_to_empty_strings);
    tcase_add_test(tc, test_job_with_limits_round_trip);
    tcase_add_test(tc, test_created_event_carries_job_and_request);
    tcase_add_test(tc, test_log_chunk_lines_round_trip);
    tcase_add_test(tc, test_heartbeat_repeated_builds_round_trip);
    tcase_add_test(tc, test_api_reply_with_builds_round_trip);
    tcase_add_test(tc, test_api_reply_error_round_trip);
    tcase_add_test(tc, test_garbage_does_not_unpack);
    tcase_add_test(tc, test_truncated_message_does_not_unpack);
    suite_add_tcase(s, tc);
    TCase *ids = tcase_create("ids");
    tcase_add_test(ids, test_build_id_is_deterministic);
    tcase_add_test(ids, test_build_id_shape);
    tcase_add_test(ids, test_build_id_differs_by_request_and_tenant);
    tcase_add_test(ids, test_subject_builder);
    tcase_add_test(ids, test_subject_builder_truncates_to_buffer);
    suite_add_tcase(s, ids);
    return sw_test_run(s);
}
