/*
 * lease.c - a lease on the LEASES stream (see lease.h).
 */
#include "actors/autoscaler/lease.h"

#include "runtime/core/clock.h"
#include "runtime/core/error.h"
#include "runtime/wire.h"
#include "slipway.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sw_lease_init(sw_lease *l, const char *subject, const char *holder, int64_t ttl_ms)
{
    memset(l, 0, sizeof(*l));
    snprintf(l->subject, sizeof(l->subject), "%s", subject);
    snprintf(l->holder, sizeof(l->holder), "%s", holder);
    l->ttl_ms = ttl_ms;
}

static int publish(sw_lease *l, sw_bus *bus, uint64_t expect, uint64_t *seq_out)
{
    Slipway__Lease lease = SLIPWAY__LEASE__INIT;
    size_t len;
    lease.holder = l->holder;
    lease.at_ms = sw_clock_wall_ms();
    void *buf = sw_wire_pack(&lease.base, &len);
    int error = sw_bus_js_publish_cas(bus, l->subject, buf, len, expect, seq_out);
    free(buf);
    return error;
}

/* Who holds it now according to the stream ("" when nobody). */
static void read_holder(sw_lease *l, sw_bus *bus)
{
    sw_msg *msg = NULL;
    l->other[0] = '\0';
    if (sw_bus_stream_last(bus, SW_STREAM_LEASES, l->subject, &msg) == 0) {
        Slipway__Lease *lease =
            slipway__lease__unpack(NULL, sw_msg_len(msg), sw_msg_data(msg));
        if (lease != NULL) {
            snprintf(l->other, sizeof(l->other), "%s", lease->holder);
            slipway__lease__free_unpacked(lease, NULL);
        }
        sw_msg_release(&msg);
    }
}

bool sw_lease_step(sw_lease *l, sw_bus *bus, int64_t now_ms, bool *changed_out)
{
    bool was = l->held;
    uint64_t seq = 0;
    int error;

    l->next_ms = now_ms + l->ttl_ms / 3;
    if (l->held) {
        error = publish(l, bus, l->seq, &seq);
        if (error < 0) {
            now_ms = sw_clock_mono_ms(); /* a publish may wait seconds for a lost server */
        }
        if (error == 0) {
            l->seq = seq;
            l->renewed_ms = now_ms;
        } else if (error == SW_ECONFLICT || now_ms - l->renewed_ms >= l->ttl_ms * 2 / 3) {
            l->held = false; /* another has it, or soon may */
        } else {
            l->next_ms = now_ms + 250; /* try again soon: the lease still holds */
        }
    } else if (publish(l, bus, 0, &seq) == 0) {
        l->held = true;
        l->seq = seq;
        l->renewed_ms = now_ms;
    }
    if (!l->held) {
        read_holder(l, bus);
    } else {
        l->other[0] = '\0';
    }
    if (changed_out != NULL) {
        *changed_out = was != l->held;
    }
    return l->held;
}

void sw_lease_release(sw_lease *l, sw_bus *bus)
{
    if (l->held && l->seq > 0) {
        (void)sw_bus_stream_delete(bus, SW_STREAM_LEASES, l->seq);
    }
    l->held = false;
}
