/*
 * test_autoscale_decide.c - the autoscaler's decision (actors/autoscaler/decide.h)
 * on tables: a pool, its backlog and the time in, the plan out.
 *
 * Every expected number is worked out from the rule in decide.h, with the
 * policy defaults of runtime/config_autoscale.c (target 0.8, dead band 0.1,
 * min_idle 0, scale_in_after 5 min, slots 1) unless a row says otherwise.
 * Demand D = queued + running; P = D / ready slots; the pool needs D / 0.8
 * slots, so P/target = 1.0 is the aim and 0.9 .. 1.1 asks for no move.
 */
#include "actors/autoscaler/decide.h"
#include "runtime/config.h"

#include "support.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

#define T0 INT64_C(1700000000000) /* "now" of every row that does not say */
#define SEC INT64_C(1000)
#define WINDOW (300 * SEC)       /* scale_in_after's default */
#define SERVED (T0 - WINDOW)     /* a low_since whose window has just passed at T0 */

/* Pool members, one slot each unless a macro takes slots. */
#define READY(nm, b, idle)                                                                         \
    {.name = nm, .slots = 1, .busy = b, .heartbeat = true, .managed = true, .idle_since_ms = idle}
#define READY_SLOTS(nm, s, b)                                                                      \
    {.name = nm, .slots = s, .busy = b, .heartbeat = true, .managed = true, .idle_since_ms = T0}
#define LISTED(nm, b, idle) /* under builders:, not the provider's */                              \
    {.name = nm, .slots = 1, .busy = b, .heartbeat = true, .idle_since_ms = idle}
#define LISTED_SLOTS(nm, s, b)                                                                     \
    {.name = nm, .slots = s, .busy = b, .heartbeat = true, .idle_since_ms = T0}
#define STARTING(nm) {.name = nm, .slots = 1, .starting = true, .managed = true}
#define SILENT(nm, b, idle) /* no heartbeat within the lapse, not starting */                      \
    {.name = nm, .slots = 1, .busy = b, .managed = true, .idle_since_ms = idle}
#define DRAINING(nm, b, us, mg)                                                                    \
    {.name = nm,                                                                                   \
     .slots = 1,                                                                                   \
     .busy = b,                                                                                    \
     .heartbeat = true,                                                                            \
     .draining = true,                                                                             \
     .by_us = us,                                                                                  \
     .managed = mg,                                                                                \
     .idle_since_ms = T0}

#define MAX_MEMBERS 64

/* One decision: the pool, the backlog and the time in; the plan expected. */
typedef struct row {
    const char *what;
    uint32_t min, max, min_idle, slots; /* policy (slots 0: the default 1) */
    sw_pool_member m[8];                /* first these (name NULL ends them), */
    uint32_t busy, idle;                /* then busy0.. (one job each), then idle0.. managed
                                           ready builders, idle0 the longest idle */
    bool no_figures;                    /* backlog.known false */
    uint64_t pending, ack_pending;
    int64_t low_since;                  /* memory before the call */
    int64_t now;                        /* 0: T0 */
    /* expected */
    sw_scale_action action;
    uint32_t desired, create;
    const char *undrain[4];             /* names, in order; NULL ends */
    const char *drain;                  /* name; NULL: none */
    int64_t low_after;                  /* memory after the call */
} row;

static char generated[MAX_MEMBERS][16];

static sw_autoscale policy(uint32_t min, uint32_t max, uint32_t min_idle, uint32_t slots)
{
    return (sw_autoscale){.provider = SW_PROVIDER_PROCESS,
                          .min = min,
                          .max = max,
                          .target = 0.8,
                          .dead_band = 0.1,
                          .min_idle = min_idle,
                          .scale_in_after_ms = 5 * 60 * 1000,
                          .slots = slots ? slots : 1};
}

/* Lays out r's pool in m; returns how many members. */
static size_t pool(const row *r, sw_pool_member *m)
{
    size_t n = 0;
    for (size_t i = 0; i < 8 && r->m[i].name != NULL; i++) {
        m[n++] = r->m[i];
    }
    for (uint32_t i = 0; i < r->busy; i++, n++) {
        ck_assert_uint_lt(n, MAX_MEMBERS);
        snprintf(generated[n], sizeof(generated[n]), "busy%u", i);
        m[n] = (sw_pool_member)READY(generated[n], 1, T0 - 3600 * SEC);
    }
    for (uint32_t i = 0; i < r->idle; i++, n++) {
        ck_assert_uint_lt(n, MAX_MEMBERS);
        snprintf(generated[n], sizeof(generated[n]), "idle%u", i);
        m[n] = (sw_pool_member)READY(generated[n], 0, T0 - 600 * SEC + (int64_t)i * SEC);
    }
    return n;
}

static const char *member_name(const sw_pool_member *m, size_t n, long i)
{
    return i >= 0 && (size_t)i < n ? m[i].name : "(out of range)";
}

/* Decides r and checks the plan against it; the plan is left in *plan. */
static void check_row(const row *r, sw_scale_plan *plan)
{
    sw_autoscale as = policy(r->min, r->max, r->min_idle, r->slots);
    sw_pool_member m[MAX_MEMBERS];
    size_t n = pool(r, m), nundrain = 0;
    sw_backlog backlog = {.known = !r->no_figures, .pending = r->pending,
                          .ack_pending = r->ack_pending};
    sw_scale_memory memory = {.low_since_ms = r->low_since};

    sw_scale_decide(&as, m, n, &backlog, r->now ? r->now : T0, &memory, plan);
    ck_assert_msg(plan->action == r->action, "%s: action %s, expected %s (%s)", r->what,
                  sw_scale_action_name(plan->action), sw_scale_action_name(r->action),
                  plan->reason);
    ck_assert_msg(plan->desired == r->desired, "%s: desired %u, expected %u (%s)", r->what,
                  plan->desired, r->desired, plan->reason);
    ck_assert_msg(plan->create == r->create, "%s: create %u, expected %u (%s)", r->what,
                  plan->create, r->create, plan->reason);
    while (nundrain < 4 && r->undrain[nundrain] != NULL) {
        nundrain++;
    }
    ck_assert_msg(plan->nundrain == nundrain, "%s: %zu to undrain, expected %zu", r->what,
                  plan->nundrain, nundrain);
    for (size_t i = 0; i < nundrain; i++) {
        ck_assert_msg(strcmp(member_name(m, n, (long)plan->undrain[i]), r->undrain[i]) == 0,
                      "%s: undrain[%zu] is %s, expected %s", r->what, i,
                      member_name(m, n, (long)plan->undrain[i]), r->undrain[i]);
    }
    if (r->drain == NULL) {
        ck_assert_msg(plan->drain == -1, "%s: drains %s, expected none (%s)", r->what,
                      member_name(m, n, plan->drain), plan->reason);
    } else {
        ck_assert_msg(plan->drain >= 0 && strcmp(member_name(m, n, plan->drain), r->drain) == 0,
                      "%s: drains %s, expected %s (%s)", r->what,
                      plan->drain < 0 ? "none" : member_name(m, n, plan->drain), r->drain,
                      plan->reason);
    }
    ck_assert_msg(memory.low_since_ms == r->low_after, "%s: low_since %lld, expected %lld",
                  r->what, (long long)memory.low_since_ms, (long long)r->low_after);
    ck_assert_msg(plan->reason[0] != '\0', "%s: no reason", r->what);
}

static void check_rows(const row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        sw_scale_plan plan;
        check_row(&rows[i], &plan);
    }
}

#define CHECK_ROWS(rows) check_rows(rows, sizeof(rows) / sizeof(rows[0]))

START_TEST(test_scale_from_zero_and_back_to_zero)
{
    static const row rows[] = {
        /* D 5 needs 5 / 0.8 = 6.25 slots: 7 builders */
        {"no builders, backlog 5", .max = 8, .pending = 5, .action = SW_SCALE_OUT, .desired = 7,
         .create = 7},
        {"capped at max", .max = 4, .pending = 5, .action = SW_SCALE_OUT, .desired = 4,
         .create = 4},
        /* 6.25 slots of builders with 2 each: ceil(3.125) */
        {"builders of 2 slots", .max = 8, .slots = 2, .pending = 5, .action = SW_SCALE_OUT,
         .desired = 4, .create = 4},
        {"nothing queued, nothing running, no builders", .max = 8, .action = SW_SCALE_HOLD},
        /* one idle builder and no demand: low at once, drained after the window */
        {"the last idle builder, first low", .max = 8, .m = {READY("a", 0, T0 - 900 * SEC)},
         .action = SW_SCALE_HOLD, .desired = 0, .low_after = T0},
        {"the last idle builder, window served", .max = 8, .m = {READY("a", 0, T0 - 900 * SEC)},
         .low_since = SERVED, .action = SW_SCALE_IN, .desired = 0, .drain = "a",
         .low_after = SERVED},
    };
    CHECK_ROWS(rows);
}
END_TEST

START_TEST(test_dead_band)
{
    /* 20 ready builders, D of them... running one job each (no queue) */
    static const row rows[] = {
        {"P 0.80: on target", .max = 30, .busy = 16, .idle = 4, .ack_pending = 16,
         .action = SW_SCALE_HOLD, .desired = 20},
        /* P/target 1.0625: 21.25 slots wanted, but within the band */
        {"P 0.85: within the band above", .max = 30, .busy = 17, .idle = 3, .ack_pending = 17,
         .action = SW_SCALE_HOLD, .desired = 20},
        /* P/target 1.125: 18 / 0.8 = 22.5 slots, 3 more builders */
        {"P 0.90: just above the band", .max = 30, .busy = 18, .idle = 2, .ack_pending = 18,
         .action = SW_SCALE_OUT, .desired = 23, .create = 3},
        /* P/target 0.9375: not low, the window does not start */
        {"P 0.75: within the band below", .max = 30, .busy = 15, .idle = 5, .ack_pending = 15,
         .low_since = T0 - 10 * SEC, .action = SW_SCALE_HOLD, .desired = 20},
        /* P/target 0.875: low; 14 / 0.8 = 17.5 slots, so 18 builders would do */
        {"P 0.70: just below the band, first low", .max = 30, .busy = 14, .idle = 6,
         .ack_pending = 14, .action = SW_SCALE_HOLD, .desired = 18, .low_after = T0},
        {"P 0.70: just below the band, window served", .max = 30, .busy = 14, .idle = 6,
         .ack_pending = 14, .low_since = SERVED, .action = SW_SCALE_IN, .desired = 19,
         .drain = "idle0", .low_after = SERVED},
    };
    CHECK_ROWS(rows);
}
END_TEST

START_TEST(test_scale_in_waits_for_the_window)
{
    /* One pool of 10 (2 busy, 8 idle) called again and again with the same memory;
     * D 2 is low (P 0.2), D 8 is on target. */
    static const struct step {
        bool fresh;       /* memory zeroed first */
        int64_t at;       /* ms after T0 */
        uint64_t demand;
        sw_scale_action action;
        const char *drain;
        int64_t low_after;
    } steps[] = {
        {true, 0, 2, SW_SCALE_HOLD, NULL, T0},
        {false, 60 * SEC, 2, SW_SCALE_HOLD, NULL, T0},
        {false, WINDOW - 1, 2, SW_SCALE_HOLD, NULL, T0},
        {false, WINDOW, 2, SW_SCALE_IN, "idle0", T0},
        /* P goes up in between: the window starts again when it is low again */
        {true, 0, 2, SW_SCALE_HOLD, NULL, T0},
        {false, 200 * SEC, 8, SW_SCALE_HOLD, NULL, 0},
        {false, 250 * SEC, 2, SW_SCALE_HOLD, NULL, T0 + 250 * SEC},
        {false, WINDOW, 2, SW_SCALE_HOLD, NULL, T0 + 250 * SEC},
        {false, 250 * SEC + WINDOW - 1, 2, SW_SCALE_HOLD, NULL, T0 + 250 * SEC},
        {false, 250 * SEC + WINDOW, 2, SW_SCALE_IN, "idle0", T0 + 250 * SEC},
    };
    sw_autoscale as = policy(0, 10, 0, 1);
    sw_scale_memory memory = {0};
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        const struct step *s = &steps[i];
        row r = {.busy = (uint32_t)s->demand, .idle = 10 - (uint32_t)s->demand};
        sw_pool_member m[MAX_MEMBERS];
        size_t n = pool(&r, m);
        sw_backlog backlog = {.known = true, .ack_pending = s->demand};
        sw_scale_plan plan;
        if (s->fresh) {
            memory.low_since_ms = 0;
        }
        sw_scale_decide(&as, m, n, &backlog, T0 + s->at, &memory, &plan);
        ck_assert_msg(plan.action == s->action, "step %zu: %s (%s)", i,
                      sw_scale_action_name(plan.action), plan.reason);
        ck_assert_msg(memory.low_since_ms == s->low_after, "step %zu: low_since %lld", i,
                      (long long)memory.low_since_ms);
        if (s->drain != NULL) {
            ck_assert_int_ge(plan.drain, 0);
            ck_assert_str_eq(m[plan.drain].name, s->drain);
            ck_assert_uint_eq(plan.desired, 9); /* exactly one */
        } else {
            ck_assert_int_eq(plan.drain, -1);
        }
    }
}
END_TEST

START_TEST(test_one_drain_at_a_time)
{
    /* "d" and 9 ready builders (2 busy, 7 idle), D 2: low, window served. With d
     * left out of the pool the rows that drain would drain idle0, leaving 8. */
    static const row rows[] = {
        /* 2 / 0.8 = 2.5 slots: 3 of the 9 builders would do */
        {"ours is draining", .max = 10, .m = {DRAINING("d", 0, true, true)}, .busy = 2,
         .idle = 7, .ack_pending = 2, .low_since = SERVED, .action = SW_SCALE_HOLD,
         .desired = 3, .low_after = SERVED},
        {"an operator's drain does not hold ours back", .max = 10,
         .m = {DRAINING("d", 0, false, true)}, .busy = 2, .idle = 7, .ack_pending = 2,
         .low_since = SERVED, .action = SW_SCALE_IN, .desired = 8, .drain = "idle0",
         .low_after = SERVED},
        {"a listed builder draining is not ours", .max = 10,
         .m = {DRAINING("d", 0, true, false)}, .busy = 2, .idle = 7, .ack_pending = 2,
         .low_since = SERVED, .action = SW_SCALE_IN, .desired = 8, .drain = "idle0",
         .low_after = SERVED},
        {"ours has drained and gone silent", .max = 10, .m = {SILENT("d", 0, T0)}, .busy = 2,
         .idle = 7, .ack_pending = 2, .low_since = SERVED, .action = SW_SCALE_IN, .desired = 8,
         .drain = "idle0", .low_after = SERVED},
    };
    sw_scale_plan plan;
    CHECK_ROWS(rows);
    check_row(&rows[0], &plan);
    ck_assert_msg(strstr(plan.reason, "waiting for d") != NULL, "%s", plan.reason);
    ck_assert_uint_eq(plan.draining, 1);
    ck_assert_uint_eq(plan.current, 9);
}
END_TEST

START_TEST(test_which_builder_a_scale_in_drains)
{
    static const row rows[] = {
        /* the listed one is idle the longest; the busy one is not a candidate while
         * some are idle; of those idle, i2 since the longest */
        {"longest-idle managed", .max = 8,
         .m = {LISTED("l", 0, T0 - 900 * SEC), READY("b", 1, T0 - 3600 * SEC),
               READY("i1", 0, T0 - 100 * SEC), READY("i2", 0, T0 - 500 * SEC),
               READY("i3", 0, T0 - 300 * SEC)},
         .ack_pending = 1, .low_since = SERVED, .action = SW_SCALE_IN, .desired = 4,
         .drain = "i2", .low_after = SERVED},
        /* none idle but the listed one: the least busy (D 6 over 16 slots, P 0.375) */
        {"least busy when none is idle", .max = 8,
         .m = {READY_SLOTS("x", 4, 3), READY_SLOTS("y", 4, 1), READY_SLOTS("z", 4, 2),
               LISTED_SLOTS("l", 4, 0)},
         .ack_pending = 6, .low_since = SERVED, .action = SW_SCALE_IN, .desired = 3,
         .drain = "y", .low_after = SERVED},
        {"only listed builders: nothing to drain", .max = 8,
         .m = {LISTED("l1", 0, T0 - 900 * SEC), LISTED("l2", 0, T0 - 900 * SEC)},
         .low_since = SERVED, .action = SW_SCALE_HOLD, .desired = 2},
    };
    CHECK_ROWS(rows);
}
END_TEST

START_TEST(test_min_idle_min_and_max)
{
    static const row rows[] = {
        /* D 3 needs 3.75 slots (1 more) but D + 2 idle needs 5 (2 more) */
        {"min_idle 2, all 3 busy", .max = 8, .min_idle = 2, .busy = 3, .ack_pending = 3,
         .action = SW_SCALE_OUT, .desired = 5, .create = 2},
        {"min_idle 2, 2 idle of 5", .max = 8, .min_idle = 2, .busy = 3, .idle = 2,
         .ack_pending = 3, .low_since = SERVED, .action = SW_SCALE_HOLD, .desired = 5},
        {"min_idle 2, 3 idle of 6", .max = 8, .min_idle = 2, .busy = 3, .idle = 3,
         .ack_pending = 3, .low_since = SERVED, .action = SW_SCALE_IN, .desired = 5,
         .drain = "idle0", .low_after = SERVED},
        {"min_idle 1 from zero", .max = 8, .min_idle = 1, .action = SW_SCALE_OUT, .desired = 1,
         .create = 1},
        {"below min, no demand", .min = 2, .max = 8, .action = SW_SCALE_OUT, .desired = 2,
         .create = 2},
        {"at min, idle", .min = 2, .max = 8, .idle = 2, .low_since = SERVED,
         .action = SW_SCALE_HOLD, .desired = 2},
        {"one above min, idle", .min = 2, .max = 8, .idle = 3, .low_since = SERVED,
         .action = SW_SCALE_IN, .desired = 2, .drain = "idle0", .low_after = SERVED},
        /* D 10 + 1 wants 14 builders; 1 ready and 2 starting leave room for 1 */
        {"max counts starting builders", .max = 4,
         .m = {READY("r", 1, T0), STARTING("s1"), STARTING("s2")}, .pending = 10,
         .ack_pending = 1, .action = SW_SCALE_OUT, .desired = 4, .create = 1},
        {"max reached with starting builders", .max = 4,
         .m = {READY("r", 1, T0), STARTING("s1"), STARTING("s2"), STARTING("s3")},
         .pending = 10, .ack_pending = 1, .action = SW_SCALE_HOLD, .desired = 4},
        {"max reached", .max = 4, .busy = 4, .pending = 10, .ack_pending = 4,
         .action = SW_SCALE_HOLD, .desired = 4},
    };
    sw_scale_plan plan;
    CHECK_ROWS(rows);
    check_row(&rows[0], &plan);
    ck_assert_msg(strstr(plan.reason, "min_idle") != NULL, "%s", plan.reason);
    check_row(&rows[4], &plan);
    ck_assert_msg(strstr(plan.reason, "below min") != NULL, "%s", plan.reason);
}
END_TEST

START_TEST(test_starting_builders)
{
    static const row rows[] = {
        /* the 7 that backlog 5 asked for, still starting: 7 >= 6.25 slots */
        {"no double creation while they start", .max = 20,
         .m = {STARTING("s1"), STARTING("s2"), STARTING("s3"), STARTING("s4"), STARTING("s5"),
               STARTING("s6"), STARTING("s7")},
         .pending = 5, .action = SW_SCALE_HOLD, .desired = 7},
        /* backlog 10 needs 12.5 slots: 6 more than the 7 on their way */
        {"more backlog than they will hold", .max = 20,
         .m = {STARTING("s1"), STARTING("s2"), STARTING("s3"), STARTING("s4"), STARTING("s5"),
               STARTING("s6"), STARTING("s7")},
         .pending = 10, .action = SW_SCALE_OUT, .desired = 13, .create = 6},
        /* D 2 over 2 ready slots would ask for one more; the one starting holds 2.5 */
        {"one starting covers the need", .max = 8, .m = {STARTING("s1")}, .busy = 2,
         .ack_pending = 2, .action = SW_SCALE_HOLD, .desired = 3},
        /* D 1 over 8 slots: were the 6 starting empty, 7 would hold the 1.25 needed
         * (P/target 0.16, low); as full, demand 7 needs 8.75 > 7 */
        {"no scale-in against capacity not yet there", .max = 8,
         .m = {STARTING("s1"), STARTING("s2"), STARTING("s3"), STARTING("s4"), STARTING("s5"),
               STARTING("s6")},
         .busy = 1, .idle = 1, .ack_pending = 1, .low_since = SERVED,
         .action = SW_SCALE_HOLD, .desired = 8},
        /* D 5 over 7 slots with 5 of them starting: full, they make demand 10 */
        {"starting and queued", .max = 8,
         .m = {STARTING("s1"), STARTING("s2"), STARTING("s3"), STARTING("s4"), STARTING("s5")},
         .busy = 2, .pending = 3, .ack_pending = 2, .low_since = SERVED,
         .action = SW_SCALE_HOLD, .desired = 7},
    };
    sw_scale_plan plan;
    CHECK_ROWS(rows);
    check_row(&rows[0], &plan);
    ck_assert_uint_eq(plan.ready, 0);
    ck_assert_uint_eq(plan.starting, 7);
    ck_assert_uint_eq(plan.current, 7);
}
END_TEST

START_TEST(test_silent_builders_are_no_capacity)
{
    static const row rows[] = {
        /* D 2 (acked-pending 2: the silent one's job is still out) over 1 ready
         * slot: 2.5 slots wanted, 2 more builders */
        {"one of two went silent", .max = 8,
         .m = {READY("a", 1, T0), SILENT("s", 1, T0 - 3600 * SEC)}, .ack_pending = 2,
         .action = SW_SCALE_OUT, .desired = 3, .create = 2},
        {"all silent", .max = 8, .m = {SILENT("s1", 0, T0), SILENT("s2", 0, T0)}, .pending = 1,
         .action = SW_SCALE_OUT, .desired = 2, .create = 2},
        /* the silent one is idle the longest, but is not drained: it is not there */
        {"a silent builder is not drained", .max = 8,
         .m = {SILENT("s", 0, T0 - 3600 * SEC), READY("a", 0, T0 - 60 * SEC)},
         .low_since = SERVED, .action = SW_SCALE_IN, .desired = 0, .drain = "a",
         .low_after = SERVED},
    };
    sw_scale_plan plan;
    CHECK_ROWS(rows);
    check_row(&rows[0], &plan);
    ck_assert_uint_eq(plan.ready, 1);
    ck_assert_uint_eq(plan.current, 1);
}
END_TEST

START_TEST(test_missing_backlog_figures)
{
    static const row rows[] = {
        /* the figures' 100 queued are not read: D is the 3 the builders run */
        {"scale-out from busy counts", .max = 8, .busy = 3, .no_figures = true, .pending = 100,
         .ack_pending = 100, .action = SW_SCALE_OUT, .desired = 4, .create = 1},
        {"no scale-in, however long idle", .max = 8, .idle = 5, .no_figures = true,
         .low_since = SERVED, .action = SW_SCALE_HOLD, .desired = 5},
        {"no scale from zero", .max = 8, .no_figures = true, .pending = 5,
         .action = SW_SCALE_HOLD, .desired = 0},
        {"no scale-in even above max", .max = 2, .idle = 4, .no_figures = true,
         .action = SW_SCALE_HOLD, .desired = 2},
    };
    sw_scale_plan plan;
    CHECK_ROWS(rows);
    check_row(&rows[0], &plan);
    ck_assert_uint_eq(plan.queued, 0);
    ck_assert_uint_eq(plan.running, 3);
}
END_TEST

START_TEST(test_scale_out_undrains_ours_first)
{
    static const row rows[] = {
        /* D 4 + 2 over 2 ready slots: 7.5 wanted, 6 more */
        {"ours undrained, then created", .max = 10,
         .m = {READY("r1", 1, T0), READY("r2", 1, T0), DRAINING("d1", 0, true, true),
               DRAINING("d2", 0, false, true), DRAINING("d3", 0, true, true),
               DRAINING("d4", 0, true, false)},
         .pending = 4, .ack_pending = 2, .action = SW_SCALE_OUT, .desired = 8, .create = 4,
         .undrain = {"d1", "d3"}},
        /* D 2: 2.5 wanted, 1 more: one undrained, none created */
        {"no more undrained than needed", .max = 10,
         .m = {READY("r1", 1, T0), READY("r2", 1, T0), DRAINING("d1", 0, true, true),
               DRAINING("d3", 0, true, true)},
         .ack_pending = 2, .action = SW_SCALE_OUT, .desired = 3, .create = 0,
         .undrain = {"d1"}},
        {"an operator's drain stays", .max = 10,
         .m = {READY("r1", 1, T0), DRAINING("d2", 0, false, true)}, .pending = 1,
         .ack_pending = 1, .action = SW_SCALE_OUT, .desired = 3, .create = 2},
    };
    CHECK_ROWS(rows);
}
END_TEST

START_TEST(test_above_max_drains_at_once)
{
    static const row rows[] = {
        /* max lowered to 2 under 4 busy builders: no window, and P (1.0) is not
         * low, so none starts: the pool back at max waits its full window */
        {"above max, all busy", .max = 2, .busy = 4, .ack_pending = 4, .action = SW_SCALE_IN,
         .desired = 2, .drain = "busy0"},
        {"above max with backlog", .max = 2, .busy = 4, .pending = 10, .ack_pending = 4,
         .action = SW_SCALE_IN, .desired = 2, .drain = "busy0"},
        /* idle: P is low as well, so its window starts */
        {"one above max, idle", .max = 2, .idle = 3, .action = SW_SCALE_IN, .desired = 2,
         .drain = "idle0", .low_after = T0},
        {"above max, ours still draining", .max = 2, .m = {DRAINING("d", 1, true, true)},
         .busy = 4, .ack_pending = 5, .action = SW_SCALE_HOLD, .desired = 2},
        {"above max, only listed builders", .max = 2,
         .m = {LISTED("l1", 0, T0), LISTED("l2", 0, T0), LISTED("l3", 0, T0)},
         .action = SW_SCALE_HOLD, .desired = 2},
    };
    CHECK_ROWS(rows);
}
END_TEST

START_TEST(test_back_at_max_waits_the_window)
{
    /* max lowered to 2 under 3 busy builders: one drained at once, P never low;
     * 10 minutes on the 2 left fall idle: P low only now, so a full window */
    sw_autoscale as = policy(0, 2, 0, 1);
    sw_scale_memory memory = {0};
    sw_pool_member busy[] = {READY("a", 1, T0), READY("b", 1, T0), READY("c", 1, T0)};
    sw_pool_member idle[] = {READY("b", 0, T0 + 500 * SEC), READY("c", 0, T0 + 550 * SEC)};
    sw_backlog three = {.known = true, .ack_pending = 3}, none = {.known = true};
    sw_scale_plan plan;

    sw_scale_decide(&as, busy, 3, &three, T0, &memory, &plan);
    ck_assert_int_eq(plan.action, SW_SCALE_IN);
    ck_assert_int_eq(plan.drain, 0);
    ck_assert_int_eq(memory.low_since_ms, 0);

    sw_scale_decide(&as, idle, 2, &none, T0 + 600 * SEC, &memory, &plan);
    ck_assert_msg(plan.action == SW_SCALE_HOLD, "%s", plan.reason);
    ck_assert_int_eq(memory.low_since_ms, T0 + 600 * SEC);
    sw_scale_decide(&as, idle, 2, &none, T0 + 600 * SEC + WINDOW - 1, &memory, &plan);
    ck_assert_msg(plan.action == SW_SCALE_HOLD, "%s", plan.reason);
    sw_scale_decide(&as, idle, 2, &none, T0 + 600 * SEC + WINDOW, &memory, &plan);
    ck_assert_msg(plan.action == SW_SCALE_IN, "%s", plan.reason);
    ck_assert_int_eq(plan.drain, 0); /* b, idle the longer */
    ck_assert_uint_eq(plan.desired, 1);
}
END_TEST

START_TEST(test_demand_and_reason)
{
    static const row rows[] = {
        /* D 3 + 10 over 10 slots, P 1.3: 16.25 wanted, 7 more */
        {"backlog on a busy pool", .max = 20, .busy = 10, .pending = 3, .ack_pending = 10,
         .action = SW_SCALE_OUT, .desired = 17, .create = 7},
        /* acked-pending 5 less the 2 the draining one runs: 3, as the ready ones say */
        {"what draining builders run is leaving", .max = 8,
         .m = {DRAINING("d", 2, false, false)}, .busy = 3, .ack_pending = 5,
         .action = SW_SCALE_OUT, .desired = 4, .create = 1},
        /* figures behind the heartbeats: never less than the ready ones run */
        {"stale figures", .max = 8, .busy = 3, .ack_pending = 1, .action = SW_SCALE_OUT,
         .desired = 4, .create = 1},
    };
    sw_scale_plan plan;
    CHECK_ROWS(rows);

    check_row(&rows[0], &plan);
    ck_assert_uint_eq(plan.queued, 3);
    ck_assert_uint_eq(plan.running, 10);
    ck_assert_uint_eq(plan.ready_slots, 10);
    ck_assert_double_eq_tol(plan.pressure, 1.3, 1e-9);
    ck_assert_msg(strstr(plan.reason, "backlog 3") != NULL, "%s", plan.reason);
    ck_assert_msg(strstr(plan.reason, "P=1.30") != NULL, "%s", plan.reason);
    check_row(&rows[1], &plan);
    ck_assert_uint_eq(plan.running, 3);
    ck_assert_uint_eq(plan.draining, 1);
    check_row(&rows[2], &plan);
    ck_assert_uint_eq(plan.running, 3);

    /* a hold names them too */
    row hold = {"idle pool", .max = 8, .busy = 1, .idle = 1, .pending = 0, .ack_pending = 1,
                .action = SW_SCALE_HOLD, .desired = 2};
    check_row(&hold, &plan);
    ck_assert_msg(strstr(plan.reason, "backlog 0") != NULL, "%s", plan.reason);
    ck_assert_msg(strstr(plan.reason, "P=0.50") != NULL, "%s", plan.reason);

    ck_assert_str_eq(sw_scale_action_name(SW_SCALE_OUT), "scale_out");
    ck_assert_str_eq(sw_scale_action_name(SW_SCALE_IN), "scale_in");
    ck_assert_str_eq(sw_scale_action_name(SW_SCALE_HOLD), "hold");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("autoscale_decide");
    TCase *tc = tcase_create("decide");
    tcase_add_test(tc, test_scale_from_zero_and_back_to_zero);
    tcase_add_test(tc, test_dead_band);
    tcase_add_test(tc, test_scale_in_waits_for_the_window);
    tcase_add_test(tc, test_one_drain_at_a_time);
    tcase_add_test(tc, test_which_builder_a_scale_in_drains);
    tcase_add_test(tc, test_min_idle_min_and_max);
    tcase_add_test(tc, test_starting_builders);
    tcase_add_test(tc, test_silent_builders_are_no_capacity);
    tcase_add_test(tc, test_missing_backlog_figures);
    tcase_add_test(tc, test_scale_out_undrains_ours_first);
    tcase_add_test(tc, test_above_max_drains_at_once);
    tcase_add_test(tc, test_back_at_max_waits_the_window);
    tcase_add_test(tc, test_demand_and_reason);
    suite_add_tcase(s, tc);
    return sw_test_run(s);
}
