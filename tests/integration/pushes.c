/* pushes.c - signed GitHub push webhooks (see pushes.h). */
#include "pushes.h"

#include "harness.h"

#include "actors/webhook/signature.h"
#include "runtime/core/mem.h"
#include "runtime/wire.h"

#include <check.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sending {
    sw_push *push;
    CURL *easy;
    struct curl_slist *headers;
    char *body;
    size_t len;
} sending;

static size_t on_answer(char *data, size_t size, size_t n, void *arg)
{
    sending *s = arg;
    size_t len = size * n, room = sizeof(s->push->answer) - 1 - s->len;
    memcpy(s->push->answer + s->len, data, len < room ? len : room);
    s->len += len < room ? len : room;
    s->push->answer[s->len] = '\0';
    return len;
}

static void sending_init(sending *s, sw_push *p, const char *url, const char *project,
                         const char *sha, int timeout_ms)
{
    char sig[72], line[160], request_id[96];
    memset(s, 0, sizeof(*s));
    s->push = p;
    p->status = 0;
    p->answer[0] = '\0';
    s->body = sw_asprintf(
        "{\"ref\":\"refs/heads/main\",\"before\":\"%040d\",\"after\":\"%s\","
        "\"created\":false,\"deleted\":false,"
        "\"repository\":{\"full_name\":\"demo/%s\"},\"pusher\":{\"name\":\"test\"},"
        "\"head_commit\":{\"id\":\"%s\",\"message\":\"test\",\"author\":{\"name\":\"T\"}},"
        "\"commits\":[]}",
        0, sha, project, sha);
    sw_signature_make(sig, SW_HARNESS_SECRET, s->body, strlen(s->body), 1);
    s->headers = curl_slist_append(s->headers, "Content-Type: application/json");
    s->headers = curl_slist_append(s->headers, "X-GitHub-Event: push");
    s->headers = curl_slist_append(s->headers, "Expect:");
    snprintf(line, sizeof(line), "X-Hub-Signature-256: %s", sig);
    s->headers = curl_slist_append(s->headers, line);
    snprintf(line, sizeof(line), "X-GitHub-Delivery: %s", p->delivery);
    s->headers = curl_slist_append(s->headers, line);
    snprintf(request_id, sizeof(request_id), "github:%s", p->delivery);
    sw_wire_build_id(p->build, "demo", request_id);
    s->easy = curl_easy_init();
    ck_assert_ptr_nonnull(s->easy);
    curl_easy_setopt(s->easy, CURLOPT_URL, url);
    curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, s->headers);
    curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, s->body);
    curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, on_answer);
    curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s);
    curl_easy_setopt(s->easy, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
}

static void sending_done(sending *s, CURLcode rc)
{
    if (rc == CURLE_OK) {
        curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &s->push->status);
    } else {
        snprintf(s->push->answer, sizeof(s->push->answer), "%s", curl_easy_strerror(rc));
    }
    curl_easy_cleanup(s->easy);
    curl_slist_free_all(s->headers);
    free(s->body);
}

void sw_push_send(sw_push *push, int n, const char *url, const char *project, const char *sha,
                  int connections, int timeout_ms)
{
    sending *s = sw_calloc((size_t)(n > 0 ? n : 1), sizeof(*s));
    CURLM *multi = curl_multi_init();
    ck_assert_ptr_nonnull(multi);
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)connections);
    for (int i = 0; i < n; i++) {
        sending_init(&s[i], &push[i], url, project, sha, timeout_ms);
        ck_assert_int_eq(curl_multi_add_handle(multi, s[i].easy), CURLM_OK);
    }
    int running = n > 0;
    while (running > 0) {
        ck_assert_int_eq(curl_multi_perform(multi, &running), CURLM_OK);
        if (running > 0) {
            ck_assert_int_eq(curl_multi_poll(multi, NULL, 0, 100, NULL), CURLM_OK);
        }
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(multi, &left)) != NULL) {
            sending *x;
            if (m->msg == CURLMSG_DONE) {
                curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
                curl_multi_remove_handle(multi, m->easy_handle);
                sending_done(x, m->data.result);
            }
        }
    }
    curl_multi_cleanup(multi);
    free(s);
}
