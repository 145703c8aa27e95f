/*
 * slipway-logsink-bench - measures the logsink's archive rate: hosts the
 * logsink actor in this process against a real nats-server (its own, started
 * on a free port in a temporary directory, or --nats URL), publishes N log
 * chunks of one build into LOGS as fast as the stream takes them, and prints
 * the time from the first publish until the logsink's durable consumer has
 * acked every one of them (sw_bus_consumer_pending: nothing pending, nothing
 * awaiting an ack), as chunks/s and MB/s of packed chunks.
 *
 *     slipway-logsink-bench [-n CHUNKS] [-l LINES] [-b BYTES] [-r RUNS] [--serve]
 *
 * Each run is a new build (its own id), so runs do not deduplicate each other.
 * LOGS has its usual limits (1 GiB, 2048 chunks a build): when it is full the
 * publisher waits and tries again, as a builder does. With --serve the tool then
 * keeps the logsink (and its server) running and answers sw.api.build for any
 * build as "succeeded, attempt 1", so that `slipway --nats URL logs BUILD` can
 * be timed against the archive it filled; SIGINT/SIGTERM end it.
 *
 * It prints figures and asserts nothing.
 */
#include "actors/actors.h"
#include "runtime/core/clock.h"
#include "runtime/core/error.h"
#include "runtime/core/fs.h"
#include "runtime/core/log.h"
#include "runtime/core/mem.h"
#include "runtime/wire.h"
#include "slipway.pb-c.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WINDOW 512          /* publishes in flight */
#define FULL_WAIT_MS 2      /* LOGS full: wait this long before trying again */
#define NTEXTS 64           /* distinct line texts */
#define POLL_MS 5           /* how often the consumer's pending counts are asked */

static char root[] = "/tmp/sw-logsink-bench-XXXXXX";
static pid_t natsd_pid;

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void cleanup(void)
{
    if (natsd_pid > 0) {
        kill(natsd_pid, SIGTERM);
        waitpid(natsd_pid, NULL, 0);
        natsd_pid = 0;
    }
    sw_fs_rmtree(root);
}

static void die(const char *what)
{
    fprintf(stderr, "slipway-logsink-bench: %s: %s\n", what, sw_error_last());
    exit(1);
}

static int free_port(void)
{
    struct sockaddr_in addr = {.sin_family = AF_INET};
    socklen_t len = sizeof(addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0 &&
        getsockname(fd, (struct sockaddr *)&addr, &len) == 0) {
        port = ntohs(addr.sin_port);
    }
    if (fd >= 0) {
        close(fd);
    }
    return port;
}

/* Starts nats-server -js on a free port with its store under root; fills url. */
static void start_natsd(char *url, size_t n)
{
    char port[16], store[sizeof(root) + 8], logpath[sizeof(root) + 16];
    int p = free_port();
    if (p < 0) {
        fprintf(stderr, "slipway-logsink-bench: no free port\n");
        exit(1);
    }
    snprintf(port, sizeof(port), "%d", p);
    snprintf(store, sizeof(store), "%s/js", root);
    snprintf(logpath, sizeof(logpath), "%s/natsd.log", root);
    snprintf(url, n, "nats://127.0.0.1:%d", p);
    natsd_pid = fork();
    if (natsd_pid == 0) {
        int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0644);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
        }
        execlp("nats-server", "nats-server", "-js", "-a", "127.0.0.1", "-p", port, "-sd", store,
               (char *)NULL);
        _exit(127);
    }
    if (natsd_pid < 0) {
        fprintf(stderr, "slipway-logsink-bench: cannot fork\n");
        exit(1);
    }
}

/* --- publishing ---------------------------------------------------------- */

typedef struct run {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    size_t outstanding; /* sent, not answered */
    size_t stored;      /* answered: stored (or a duplicate) */
    size_t *retry;      /* answered: refused (LOGS full); chunk indexes to send again */
    size_t nretry;
    char failure[256];  /* another refusal: the run fails */
} run;

static void on_done(void *closure, const char *msg_id, int error, const char *why,
                    bool duplicate)
{
    run *r = closure;
    const char *colon = strrchr(msg_id, ':');
    size_t index = colon ? strtoull(colon + 1, NULL, 10) : 0;
    (void)duplicate;
    pthread_mutex_lock(&r->lock);
    r->outstanding--;
    if (error == 0) {
        r->stored++;
    } else if (error == SW_EFULL || (why != NULL && strstr(why, "maximum") != NULL)) {
        /* LOGS full (the async path does not map every such refusal to SW_EFULL) */
        r->retry[r->nretry++] = index;
    } else if (r->failure[0] == '\0') {
        snprintf(r->failure, sizeof(r->failure), "publish refused: %s", why ? why : "?");
    }
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

typedef struct shape {
    size_t chunks, lines, line_bytes;
} shape;

/* Packs chunk index (seq index + 1) of build; the caller frees. */
static void *pack_chunk(const shape *s, const char *build, size_t index, char *const *texts,
                        size_t *len_out)
{
    Slipway__LogLine *lines = sw_calloc(s->lines, sizeof(*lines));
    Slipway__LogLine **ptrs = sw_calloc(s->lines, sizeof(*ptrs));
    Slipway__LogChunk chunk = SLIPWAY__LOG_CHUNK__INIT;
    int64_t now = sw_clock_wall_ms();
    for (size_t i = 0; i < s->lines; i++) {
        slipway__log_line__init(&lines[i]);
        lines[i].stream = SLIPWAY__LOG_STREAM__STDOUT;
        lines[i].text = texts[(index * s->lines + i) % NTEXTS];
        lines[i].at_ms = now;
        ptrs[i] = &lines[i];
    }
    chunk.build_id = (char *)build;
    chunk.tenant = "bench";
    chunk.attempt = 1;
    chunk.seq = index + 1;
    chunk.lines = ptrs;
    chunk.n_lines = s->lines;
    chunk.eof = index + 1 == s->chunks;
    chunk.state = chunk.eof ? SLIPWAY__BUILD_STATE__SUCCEEDED : 0;
    void *packed = sw_wire_pack(&chunk.base, len_out);
    free(ptrs);
    free(lines);
    return packed;
}

/* One run: publishes every chunk of a new build, waits until the logsink acked
 * them all; prints and returns the rate in chunks/s. */
static double one_run(sw_bus *pub_bus, sw_bus *admin, const shape *s, int number)
{
    char build[13], request[64], subject[128], msg_id[64];
    char *texts[NTEXTS];
    run r = {.retry = sw_calloc(s->chunks, sizeof(size_t))};
    sw_publisher *pub = NULL;
    size_t next = 0, bytes = 0;
    int64_t t0, t_published = 0, t_done;
    uint64_t pending = 1, ack_pending = 1;

    for (size_t t = 0; t < NTEXTS; t++) { /* lines of exactly line_bytes, of varied content */
        texts[t] = sw_calloc(s->line_bytes + 1, 1);
        for (size_t i = 0; i < s->line_bytes; i++) {
            texts[t][i] = (char)(' ' + (i * 7 + t * 31 + i / 13) % 94);
        }
    }
    snprintf(request, sizeof(request), "bench-%d-%lld-%d", (int)getpid(),
             (long long)sw_clock_wall_ms(), number);
    sw_wire_build_id(build, "bench", request);
    sw_subject(subject, sizeof(subject), "sw.logs", "bench", build);
    pthread_mutex_init(&r.lock, NULL);
    pthread_cond_init(&r.cond, NULL);
    if (sw_publisher_create(&pub, pub_bus, on_done, &r) < 0) {
        die("publisher");
    }

    t0 = sw_clock_mono_us();
    for (;;) {
        size_t index;
        bool retrying = false;
        pthread_mutex_lock(&r.lock);
        while (r.failure[0] == '\0' && r.outstanding >= WINDOW) {
            pthread_cond_wait(&r.cond, &r.lock);
        }
        if (r.failure[0] != '\0') {
            fprintf(stderr, "slipway-logsink-bench: %s\n", r.failure);
            exit(1);
        }
        if (r.nretry > 0) {
            index = r.retry[--r.nretry];
            retrying = true;
        } else if (next < s->chunks) {
            index = next++;
        } else if (r.outstanding > 0) {
            pthread_cond_wait(&r.cond, &r.lock);
            pthread_mutex_unlock(&r.lock);
            continue;
        } else {
            pthread_mutex_unlock(&r.lock);
            break;
        }
        r.outstanding++;
        pthread_mutex_unlock(&r.lock);
        if (retrying) {
            sleep_ms(FULL_WAIT_MS);
        }
        size_t len;
        void *packed = pack_chunk(s, build, index, texts, &len);
        snprintf(msg_id, sizeof(msg_id), "%s:%zu", build, index);
        while (sw_publisher_send(pub, subject, packed, len, msg_id) < 0) {
            sleep_ms(10); /* not connected */
        }
        if (!retrying) {
            bytes += len;
        }
        free(packed);
    }
    t_published = sw_clock_mono_us();
    while (pending > 0 || ack_pending > 0) {
        if (sw_bus_consumer_pending(admin, SW_STREAM_LOGS, SW_DURABLE_LOGSINK, &pending,
                                    &ack_pending) < 0) {
            die("consumer info");
        }
        if (pending > 0 || ack_pending > 0) {
            sleep_ms(POLL_MS);
        }
    }
    t_done = sw_clock_mono_us();

    double secs = (double)(t_done - t0) / 1e6;
    double rate = (double)s->chunks / secs;
    printf("run %d: build %s: %zu chunks (%.1f MB) archived in %.3f s: %.0f chunks/s, "
           "%.1f MB/s (all published after %.3f s)\n",
           number, build, s->chunks, (double)bytes / 1e6, secs, rate, (double)bytes / 1e6 / secs,
           (double)(t_published - t0) / 1e6);
    fflush(stdout);
    sw_publisher_destroy(&pub);
    pthread_cond_destroy(&r.cond);
    pthread_mutex_destroy(&r.lock);
    free(r.retry);
    for (size_t t = 0; t < NTEXTS; t++) {
        free(texts[t]);
    }
    return rate;
}

/* --serve: every build is "succeeded, attempt 1", for `slipway logs`. */
static void on_build_request(sw_msg *msg, void *closure)
{
    sw_bus *bus = closure;
    Slipway__ApiRequest *req = slipway__api_request__unpack(NULL, sw_msg_len(msg), sw_msg_data(msg));
    Slipway__ApiReply reply = SLIPWAY__API_REPLY__INIT;
    Slipway__BuildRecord rec = SLIPWAY__BUILD_RECORD__INIT;
    Slipway__BuildRecord *recs[] = {&rec};
    if (req != NULL) {
        rec.build_id = req->build_id;
        rec.tenant = "bench";
        rec.project = "bench";
        rec.attempt = 1;
        rec.state = SLIPWAY__BUILD_STATE__SUCCEEDED;
        reply.builds = recs;
        reply.n_builds = 1;
        sw_wire_respond(bus, msg, &reply.base);
        slipway__api_request__free_unpacked(req, NULL);
    }
    sw_msg_release(&msg);
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: slipway-logsink-bench [options]\n"
            "\n"
            "Hosts the logsink, publishes CHUNKS log chunks of one build into LOGS and prints\n"
            "how fast the logsink archived them (first publish until all acked), per run.\n"
            "\n"
            "options:\n"
            "  -n, --chunks N       chunks a run (default 2000)\n"
            "  -l, --lines N        lines a chunk (default 32)\n"
            "  -b, --line-bytes N   bytes a line (default 1000)\n"
            "  -r, --runs N         runs, each a new build (default 3)\n"
            "      --nats URL       use this nats-server (default: start one, on a free port)\n"
            "      --data DIR       the logsink's data directory (default: a temporary one)\n"
            "      --serve          afterwards keep serving the archive (and answer sw.api.build)\n"
            "                       until SIGINT/SIGTERM, for `slipway --nats URL logs BUILD`\n"
            "  -h, --help           this text\n");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"chunks", required_argument, NULL, 'n'},
        {"lines", required_argument, NULL, 'l'},
        {"line-bytes", required_argument, NULL, 'b'},
        {"runs", required_argument, NULL, 'r'},
        {"nats", required_argument, NULL, 'N'},
        {"data", required_argument, NULL, 'D'},
        {"serve", no_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    shape s = {.chunks = 2000, .lines = 32, .line_bytes = 1000};
    int runs = 3, opt;
    bool serve = false;
    const char *nats_url = NULL, *data = NULL;
    char url[64], datadir[sizeof(root) + 8];

    while ((opt = getopt_long(argc, argv, "n:l:b:r:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'n':
            s.chunks = strtoull(optarg, NULL, 10);
            break;
        case 'l':
            s.lines = strtoull(optarg, NULL, 10);
            break;
        case 'b':
            s.line_bytes = strtoull(optarg, NULL, 10);
            break;
        case 'r':
            runs = atoi(optarg);
            break;
        case 'N':
            nats_url = optarg;
            break;
        case 'D':
            data = optarg;
            break;
        case 'S':
            serve = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc || s.chunks == 0 || s.lines == 0 || runs < 0) {
        usage(stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    if (serve) { /* taken by sigwait below; the bus threads inherit the mask */
        pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    }
    if (getenv("SLIPWAY_LOG") == NULL) {
        sw_log_set_level(SW_LOG_WARN);
    }
    if (mkdtemp(root) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    atexit(cleanup);
    if (nats_url == NULL) {
        start_natsd(url, sizeof(url));
        nats_url = url;
    }
    if (data == NULL) {
        snprintf(datadir, sizeof(datadir), "%s/data", root);
        data = datadir;
    }

    sw_config cfg = {
        .nats_url = (char *)nats_url,
        .data_dir = (char *)data,
        .heartbeat_lapse_ms = 10000,
        .max_deliveries = 3,
        .logs_max_age_ms = 7ull * 24 * 3600 * 1000,
        .logs_max_bytes = 1ull << 30,
        .logs_build_max_chunks = 2048,
        .events_max_age_ms = 30ull * 24 * 3600 * 1000,
        .queue_max_bytes = 1ull << 30,
    };
    sw_actor_ctx ctx = {.cfg = &cfg};
    sw_bus_options sink_opts = {.url = nats_url, .name = "bench-logsink", .connect_wait_ms = 10000};
    sw_bus_options pub_opts = {.url = nats_url, .name = "bench-publisher", .connect_wait_ms = 10000};
    sw_bus *sink_bus = NULL, *pub_bus = NULL;
    sw_actor *logsink = NULL;
    sw_sub *builds = NULL;

    if (sw_bus_connect(&sink_bus, &sink_opts) < 0 || sw_bus_connect(&pub_bus, &pub_opts) < 0) {
        die("connect");
    }
    if (sw_wire_setup_streams(sink_bus, &cfg) < 0) {
        die("streams");
    }
    if (sw_actor_start(&logsink, &sw_logsink_impl, "logsink", sink_bus, &ctx) < 0) {
        die("logsink");
    }
    printf("nats %s, archive %s/logs; chunks of %zu lines of %zu bytes\n", nats_url, data,
           s.lines, s.line_bytes);
    double sum = 0;
    for (int i = 1; i <= runs; i++) {
        sum += one_run(pub_bus, pub_bus, &s, i);
    }
    if (runs > 0) {
        printf("mean: %.0f chunks/s\n", sum / runs);
    }
    fflush(stdout);

    if (serve) {
        int sig;
        if (sw_bus_subscribe(&builds, pub_bus, SW_API_BUILD, NULL, on_build_request, pub_bus) < 0) {
            die("subscribe");
        }
        printf("serving: slipway --nats %s logs BUILD (SIGINT to end)\n", nats_url);
        fflush(stdout);
        sigwait(&sigs, &sig);
        sw_sub_destroy(&builds);
    }
    sw_actor_destroy(&logsink);
    sw_bus_destroy(&pub_bus);
    sw_bus_destroy(&sink_bus);
    return 0;
}
