/*
 * natsd.h - a real nats-server (with JetStream) for tests, on a free
 * 127.0.0.1 port with its own store directory.
 *
 *     sw_natsd *n = NULL;
 *     ck_assert_int_eq(sw_natsd_start(&n), 0);
 *     ... connect to sw_natsd_url(n) ...
 *     sw_natsd_stop(n);      // SIGTERM + wait; data is kept
 *     sw_natsd_restart(n);   // same port, same store: clients reconnect
 *     sw_natsd_destroy(&n);  // stop if running, remove the directory
 *
 * The server runs as `nats-server -js -a 127.0.0.1 -p PORT -sd DIR/js`, its
 * output goes to DIR/nats-server.log (sw_natsd_log). It is asked to die with
 * the process that started it (PR_SET_PDEATHSIG), so a crashed test leaves no
 * server behind. Start and restart return when the server accepts TCP
 * connections (at most 10 s); they return -1 and set sw_error_last() (with the
 * end of the log) when it does not come up. Not thread-safe: use from the test.
 */
#ifndef SW_TEST_NATSD_H
#define SW_TEST_NATSD_H

typedef struct sw_natsd sw_natsd;

/* Starts a server; *out is owned by the caller (sw_natsd_destroy). */
int sw_natsd_start(sw_natsd **out);

/* The same, running `nats-server -c conf` (e.g. slipway-admin's accounts and
 * users, its jetstream block with the store); the address still comes from here. */
int sw_natsd_start_conf(sw_natsd **out, const char *conf);

/* "nats://127.0.0.1:PORT"; borrowed, valid until destroy. */
const char *sw_natsd_url(const sw_natsd *n);

/* The TCP port. */
int sw_natsd_port(const sw_natsd *n);

/* Path of the server's log file; borrowed. */
const char *sw_natsd_log(const sw_natsd *n);

/* Stops the server (SIGTERM, then SIGKILL after 5 s) and waits for it; keeps its data. */
void sw_natsd_stop(sw_natsd *n);

/* Kills the server at once (SIGKILL, as a crash) and waits for it; keeps its data. */
void sw_natsd_kill(sw_natsd *n);

/* GET path (e.g. "/jsz") on the monitoring port 127.0.0.1:http_port (a
 * server started with `http:` in its conf). *body_out, the reply's body, is
 * the caller's (free). -1 with sw_error_last() when it does not answer 200. */
int sw_natsd_monitor(int http_port, const char *path, char **body_out);

/* Starts a stopped server again on the same port and store directory. */
int sw_natsd_restart(sw_natsd *n);

/* Stops it if running, removes its directory, frees; accepts NULL, nulls the pointer. */
void sw_natsd_destroy(sw_natsd **n_p);

#endif
