/*
 * pushes.h - signed GitHub push webhooks, as a forge sends them, for the tests
 * and benches that load the gateway: one at a time or many at once over a
 * bounded number of HTTP connections (curl multi). Each push has its own
 * X-GitHub-Delivery; its build id is the one the scheduler derives from it.
 */
#ifndef SW_TEST_PUSHES_H
#define SW_TEST_PUSHES_H

typedef struct sw_push {
    char delivery[64]; /* set by the caller before sending */
    char build[16];    /* the build it makes (tenant "demo"), set when sent */
    long status;       /* the HTTP answer; 0: none (answer holds curl's reason) */
    char answer[256];  /* the start of the answer's body, or curl's error */
} sw_push;

/* POSTs a signed push of sha to repository demo/<project> at url for every
 * push[0..n), at most connections at once, each answer bounded by timeout_ms;
 * returns when every one was answered or gave up (status 0). */
void sw_push_send(sw_push *push, int n, const char *url, const char *project, const char *sha,
                  int connections, int timeout_ms);

#endif
