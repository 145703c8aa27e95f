/*
 * slipway-webhook-bench - measures the webhook gateway: sends N signed GitHub
 * push deliveries (each a new delivery id) one after another and prints, as
 * percentiles, the gateway's own time from receiving a delivery to sending its
 * answer (its Server-Timing header) and the round trip seen by the sender.
 * With --big MIB it then sends one delivery of that size and prints the
 * gateway's resident memory (VmRSS, VmHWM of --pid) before and after.
 *
 * It prints figures and asserts nothing. Point it at a gateway whose project
 * has the given secret; to measure the gateway and JetStream alone, run
 * `slipwayd -c FILE webhook` (the requests then stay in REQUESTS unbuilt).
 */
#include "actors/webhook/signature.h"
#include "runtime/core/clock.h"
#include "runtime/core/mem.h"

#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct answer {
    long status;
    double server_ms; /* from Server-Timing, -1 when absent */
    char body[512];
    size_t len;
} answer;

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
    answer *a = arg;
    size_t len = size * n;
    static const char key[] = "server-timing:";
    if (len > sizeof(key) && strncasecmp(data, key, sizeof(key) - 1) == 0) {
        const char *dur = strstr(data, "dur=");
        if (dur != NULL) {
            a->server_ms = strtod(dur + 4, NULL);
        }
    }
    return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    answer *a = arg;
    size_t len = size * n, room = sizeof(a->body) - 1 - a->len;
    memcpy(a->body + a->len, data, len < room ? len : room);
    a->len += len < room ? len : room;
    a->body[a->len] = '\0';
    return len;
}

static answer deliver(CURL *c, const char *url, const char *secret, const char *id,
                      const char *body, size_t len)
{
    char sig[72];
    char h_sig[100], h_id[200];
    struct curl_slist *hs = NULL;
    answer a = {.server_ms = -1};

    sw_signature_make(sig, secret, body, len, 1);
    snprintf(h_sig, sizeof(h_sig), "X-Hub-Signature-256: %s", sig);
    snprintf(h_id, sizeof(h_id), "X-GitHub-Delivery: %s", id);
    hs = curl_slist_append(hs, "Content-Type: application/json");
    hs = curl_slist_append(hs, "X-GitHub-Event: push");
    hs = curl_slist_append(hs, "Expect:");
    hs = curl_slist_append(hs, h_sig);
    hs = curl_slist_append(hs, h_id);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &a);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &a);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
    if (curl_easy_perform(c) == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a.status);
    }
    curl_slist_free_all(hs);
    return a;
}

static char *push(const char *repo, const char *sha, size_t pad)
{
    char *padding = sw_calloc(1, pad + 1);
    memset(padding, 'x', pad);
    char *body = sw_asprintf(
        "{\"ref\":\"refs/heads/main\",\"before\":\"%040d\",\"after\":\"%s\",\"created\":false,"
        "\"deleted\":false,\"repository\":{\"full_name\":\"%s\"},\"pusher\":{\"name\":\"bench\"},"
        "\"head_commit\":{\"id\":\"%s\",\"message\":\"bench\",\"author\":{\"name\":\"Bench\"}},"
        "\"padding\":\"%s\"}",
        0, sha, repo, sha, padding);
    free(padding);
    return body;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void print_percentiles(const char *what, double *v, int n)
{
    if (n == 0) {
        printf("%-34s no samples\n", what);
        return;
    }
    qsort(v, (size_t)n, sizeof(*v), cmp);
    printf("%-34s p50 %7.3f  p90 %7.3f  p99 %7.3f  max %7.3f ms  (n=%d)\n", what,
           v[n / 2], v[n * 90 / 100], v[n * 99 / 100], v[n - 1], n);
}

/* VmRSS and VmHWM of pid in KiB. */
static void memory_of(int pid, long *rss, long *hwm)
{
    char path[64], line[256];
    *rss = *hwm = -1;
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        sscanf(line, "VmRSS: %ld", rss);
        sscanf(line, "VmHWM: %ld", hwm);
    }
    fclose(f);
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: slipway-webhook-bench --url URL --secret SECRET [options]\n"
            "\n"
            "Sends signed GitHub push deliveries to URL (e.g.\n"
            "http://127.0.0.1:8080/hooks/github/demo) and prints latency figures.\n"
            "\n"
            "options:\n"
            "  -u, --url URL        the project's hook URL\n"
            "  -s, --secret SECRET  the project's webhook secret\n"
            "  -n, --count N        deliveries to send (default 1000)\n"
            "  -r, --repo NAME      repository full name in the payload (default demo/demo)\n"
            "      --sha SHA        commit in the payload (default 40 'a's)\n"
            "  -b, --big MIB        then send one delivery of exactly MIB MiB (0: none, the default)\n"
            "  -p, --pid PID        the gateway's process, for its memory figures\n"
            "  -h, --help           this text\n");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"url", required_argument, NULL, 'u'},  {"secret", required_argument, NULL, 's'},
        {"count", required_argument, NULL, 'n'}, {"repo", required_argument, NULL, 'r'},
        {"sha", required_argument, NULL, 'S'},   {"big", required_argument, NULL, 'b'},
        {"pid", required_argument, NULL, 'p'},   {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *url = NULL, *secret = NULL, *repo = "demo/demo";
    const char *sha = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    int n = 1000, big = 0, pid = 0, opt;

    while ((opt = getopt_long(argc, argv, "u:s:n:r:b:p:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'u': url = optarg; break;
        case 's': secret = optarg; break;
        case 'n': n = atoi(optarg); break;
        case 'r': repo = optarg; break;
        case 'S': sha = optarg; break;
        case 'b': big = atoi(optarg); break;
        case 'p': pid = atoi(optarg); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (url == NULL || secret == NULL || n < 0 || big < 0) {
        usage(stderr);
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *c = curl_easy_init();
    double *server = sw_calloc((size_t)n + 1, sizeof(double));
    double *round = sw_calloc((size_t)n + 1, sizeof(double));
    int nserver = 0, ok = 0, failed = 0;
    char id[128];
    char *body = push(repo, sha, 0);
    long long run = (long long)sw_clock_wall_ms();

    for (int i = 0; i < n; i++) {
        snprintf(id, sizeof(id), "bench-%lld-%d", run, i);
        int64_t t0 = sw_clock_mono_us();
        answer a = deliver(c, url, secret, id, body, strlen(body));
        round[i] = (double)(sw_clock_mono_us() - t0) / 1000.0;
        if (a.status == 202) {
            ok++;
        } else if (failed++ < 3) {
            fprintf(stderr, "delivery %d: HTTP %ld %s\n", i, a.status, a.body);
        }
        if (a.server_ms >= 0) {
            server[nserver++] = a.server_ms;
        }
    }
    free(body);
    printf("%d deliveries to %s: %d answered 202, %d not\n", n, url, ok, failed);
    print_percentiles("gateway: received -> answer sent", server, nserver);
    print_percentiles("sender: request -> answer", round, n);

    if (big > 0) {
        long rss0, hwm0, rss1, hwm1;
        /* a body of exactly MIB MiB: the padding makes up what the envelope does not */
        char *envelope = push(repo, sha, 0);
        size_t total = (size_t)big << 20, env = strlen(envelope);
        free(envelope);
        body = push(repo, sha, total > env ? total - env : 0);
        if (pid > 0) {
            memory_of(pid, &rss0, &hwm0);
            printf("gateway memory before: VmRSS %ld KiB, VmHWM %ld KiB\n", rss0, hwm0);
        }
        snprintf(id, sizeof(id), "bench-%lld-big", run);
        int64_t t0 = sw_clock_mono_us();
        answer a = deliver(c, url, secret, id, body, strlen(body));
        printf("one delivery of %zu bytes: HTTP %ld in %.1f ms (%s)\n", strlen(body), a.status,
               (double)(sw_clock_mono_us() - t0) / 1000.0, a.body);
        if (pid > 0) {
            memory_of(pid, &rss1, &hwm1);
            printf("gateway memory after:  VmRSS %ld KiB, VmHWM %ld KiB (peak grew by %ld KiB)\n",
                   rss1, hwm1, hwm1 - hwm0);
        }
        free(body);
    }
    free(server);
    free(round);
    curl_easy_cleanup(c);
    curl_global_cleanup();
    return 0;
}
