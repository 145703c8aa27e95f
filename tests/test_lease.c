/*
 * test_lease.c - the autoscaler's lease (actors/autoscaler/lease.h) against a
 * real nats-server: of two contenders one holds it; renewing keeps it; a
 * holder that stops renewing loses it to the other once the server expired
 * it, and its own next renewal fails; releasing hands it over at once.
 */
#include "natsd.h"
#include "support.h"

#include "actors/autoscaler/lease.h"
#include "bus/bus.h"
#include "runtime/core/clock.h"
#include "runtime/core/error.h"
#include "runtime/wire.h"

#include <check.h>
#include <unistd.h>

#define TTL_MS 1500
#define SUBJECT "sw.lease.autoscaler.test"

static sw_natsd *srv;
static sw_bus *bus;

static void setup(void)
{
    static const char *const subjects[] = {"sw.lease.>"};
    sw_stream_config leases = {.name = SW_STREAM_LEASES, .subjects = subjects, .nsubjects = 1,
                               .retention = SW_RETAIN_LIMITS, .max_age_ms = TTL_MS,
                               .max_msgs_per_subject = 1};
    sw_bus_options opts = {.name = "test_lease", .connect_wait_ms = 5000};
    ck_assert_msg(sw_natsd_start(&srv) == 0, "%s", sw_error_last());
    opts.url = sw_natsd_url(srv);
    ck_assert_msg(sw_bus_connect(&bus, &opts) == 0, "%s", sw_error_last());
    ck_assert_msg(sw_bus_stream_ensure(bus, &leases) == 0, "%s", sw_error_last());
}

static void teardown(void)
{
    sw_bus_destroy(&bus);
    sw_natsd_destroy(&srv);
}

START_TEST(one_of_two_holds_it_and_renewing_keeps_it)
{
    sw_lease a, b;
    bool changed = false;
    sw_lease_init(&a, SUBJECT, "a", TTL_MS);
    sw_lease_init(&b, SUBJECT, "b", TTL_MS);
    ck_assert(sw_lease_step(&a, bus, sw_clock_mono_ms(), &changed));
    ck_assert(changed);
    ck_assert(!sw_lease_step(&b, bus, sw_clock_mono_ms(), &changed));
    ck_assert(!changed);
    ck_assert_str_eq(b.other, "a");
    /* a renews every third of the lease for three leases: b never gets it */
    for (int i = 0; i < 9; i++) {
        usleep(TTL_MS / 3 * 1000);
        ck_assert_msg(sw_lease_step(&a, bus, sw_clock_mono_ms(), &changed), "a lost it at %d",
                      i);
        ck_assert(!changed);
        ck_assert(!sw_lease_step(&b, bus, sw_clock_mono_ms(), NULL));
    }
}
END_TEST

START_TEST(a_silent_holder_loses_it_to_the_other)
{
    sw_lease a, b;
    bool changed = false;
    int64_t t0;
    sw_lease_init(&a, SUBJECT, "a", TTL_MS);
    sw_lease_init(&b, SUBJECT, "b", TTL_MS);
    ck_assert(sw_lease_step(&a, bus, sw_clock_mono_ms(), NULL));
    t0 = sw_clock_mono_ms();
    /* a freezes; b keeps trying and wins once the server expired a's lease */
    while (!sw_lease_step(&b, bus, sw_clock_mono_ms(), &changed)) {
        ck_assert_msg(sw_clock_mono_ms() - t0 < 5 * TTL_MS, "b never got the lease");
        usleep(100 * 1000);
    }
    ck_assert(changed);
    ck_assert_int_ge(sw_clock_mono_ms() - t0, TTL_MS - 200); /* not before it lapsed */
    /* a wakes up: its renewal is refused (b's message is the last now) */
    ck_assert(!sw_lease_step(&a, bus, sw_clock_mono_ms(), &changed));
    ck_assert(changed);
    ck_assert_str_eq(a.other, "b");
}
END_TEST

START_TEST(released_lease_is_taken_at_once)
{
    sw_lease a, b;
    sw_lease_init(&a, SUBJECT, "a", TTL_MS);
    sw_lease_init(&b, SUBJECT, "b", TTL_MS);
    ck_assert(sw_lease_step(&a, bus, sw_clock_mono_ms(), NULL));
    sw_lease_release(&a, bus);
    ck_assert(!a.held);
    ck_assert(sw_lease_step(&b, bus, sw_clock_mono_ms(), NULL));
}
END_TEST

START_TEST(a_holder_cut_off_stops_acting_before_the_lease_lapses)
{
    sw_lease a;
    int64_t t0;
    sw_lease_init(&a, SUBJECT, "a", TTL_MS);
    ck_assert(sw_lease_step(&a, bus, sw_clock_mono_ms(), NULL));
    t0 = a.renewed_ms;
    sw_natsd_stop(srv);
    /* renewals fail (each may wait for the lost server); no step answers
     * "held" once the lease could have lapsed on the server */
    for (;;) {
        bool held = sw_lease_step(&a, bus, sw_clock_mono_ms(), NULL);
        if (!held) {
            break;
        }
        ck_assert_int_lt(sw_clock_mono_ms() - t0, TTL_MS);
        usleep(50 * 1000);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("lease");
    TCase *tc = tcase_create("lease");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, one_of_two_holds_it_and_renewing_keeps_it);
    tcase_add_test(tc, a_silent_holder_loses_it_to_the_other);
    tcase_add_test(tc, released_lease_is_taken_at_once);
    tcase_add_test(tc, a_holder_cut_off_stops_acting_before_the_lease_lapses);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return sw_test_run(suite());
}
