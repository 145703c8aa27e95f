/*
 * docker_api.h - the Docker Engine API over its unix socket, with libcurl
 * (CURLOPT_UNIX_SOCKET_PATH). The lowest layer: one HTTP request, its answer
 * streamed or collected. The executor (docker.h) and image builds sit on it.
 *
 * DESIGN
 * An sw_docker is only where the engine is and which API version is spoken
 * (SW_DOCKER_API, Engine 20.10 and later); every call makes its own curl
 * handle, so any thread may call at once. Paths are given without the version
 * ("/containers/create?name=x"); bodies are JSON (jansson) or a file (a build
 * context tar). Nothing here knows containers.
 */
#ifndef SW_DOCKER_API_H
#define SW_DOCKER_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SW_DOCKER_API "v1.41"
#define SW_DOCKER_DEFAULT_SOCKET "/var/run/docker.sock"
/* How often a call polls its should_stop while it waits or streams (ms). */
#define SW_DOCKER_POLL_MS 25

typedef struct sw_docker sw_docker;

/* Where the engine listens (NULL: $SLIPWAY_DOCKER_SOCKET, else
 * /var/run/docker.sock) and checks that it answers /_ping within 5 s:
 * SW_EIO with "is dockerd running?" otherwise. */
int sw_docker_open(sw_docker **out, const char *socket_path);
void sw_docker_close(sw_docker **d_p);
const char *sw_docker_socket(const sw_docker *d);

typedef struct sw_docker_req {
    const char *method;           /* "GET", "POST", "DELETE" */
    const char *path;             /* without the version: "/containers/abc/wait" */
    const char *content_type;     /* of the body; NULL: application/json when there is one */
    const void *body;             /* may be NULL */
    size_t body_len;
    FILE *body_file;              /* instead of body: read to its end (a tar) */
    const char *const *headers;   /* extra "Name: value", NULL-terminated; may be NULL */
    /* Streamed answer: called with each piece as it arrives; return false to
     * stop (the call then returns SW_ESTOPPED). NULL: the answer is collected. */
    bool (*on_data)(void *ud, const char *data, size_t len);
    /* With on_data: stream only a 2xx answer; the body of any other (the engine's
     * {"message": ...}) is collected into *body_out instead. false: every answer
     * is streamed, as before. */
    bool success_only;
    /* Polled every SW_DOCKER_POLL_MS (25 ms, so well within 100 ms of each other)
     * while the call waits or streams, on the calling thread; true stops the
     * call (SW_ESTOPPED). A call that ends sooner may not poll it at all. */
    bool (*should_stop)(void *ud);
    void *ud;
    uint64_t timeout_ms;          /* the whole call; 0: none */
} sw_docker_req;

/* Sends req and returns the HTTP status (> 0), or a negative SW_E* code when
 * the engine could not be talked to (SW_EIO), the call timed out
 * (SW_ETIMEDOUT) or was stopped (SW_ESTOPPED). When req->on_data is NULL the
 * answer's body (at most 1 MiB kept) is put in *body_out (NUL-terminated,
 * caller frees; may be NULL); so is an error answer's with success_only. */
int sw_docker_call(sw_docker *d, const sw_docker_req *req, char **body_out);

/* s percent-encoded for a query string or a path segment (RFC 3986
 * unreserved characters stay). Caller frees. */
char *sw_docker_escape(const char *s);

/* The "message" of an engine error answer ({"message": "..."}), or the body
 * itself; into buf. For error texts. */
const char *sw_docker_error_text(char *buf, size_t n, const char *body);

#endif
