/* fairshare.c - round robin across tenants (see fairshare.h). */
#include "actors/dispatcher/fairshare.h"

static int can_go(const sw_fair_lane *lane)
{
    return lane->ready > 0 && (lane->max_running == 0 || lane->running < lane->max_running);
}

int sw_fair_next(const sw_fair_lane *lanes, size_t n, size_t *cursor)
{
    if (n == 0) {
        return -1;
    }
    size_t start = *cursor % n;
    for (size_t k = 0; k < n; k++) {
        size_t i = (start + k) % n;
        if (can_go(&lanes[i])) {
            *cursor = i + 1;
            return (int)i;
        }
    }
    return -1;
}
