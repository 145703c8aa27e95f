/* docker_frames.c - the engine's multiplexed output stream into lines (see docker_frames.h). */
#include "actors/builder/exec/docker_frames.h"

#include "runtime/core/error.h"
#include "slipway.pb-c.h"

#include <string.h>

static const int stream_of[2] = {SLIPWAY__LOG_STREAM__STDOUT, SLIPWAY__LOG_STREAM__STDERR};

void sw_docker_demux_init(sw_docker_demux *m, sw_docker_line_fn line, void *ud)
{
    memset(m, 0, sizeof(*m));
    m->line = line;
    m->ud = ud;
    m->last_kind = -1;
}

static void emit(sw_docker_demux *m, int out, bool line_ends)
{
    sw_docker_partial *p = &m->partial[out];
    p->buf[p->len] = '\0';
    if (m->line != NULL) {
        m->line(m->ud, stream_of[out], p->buf, p->len, line_ends);
    }
    p->len = 0;
}

/* Payload bytes of one stream: complete lines go out, and a partial line that
 * reaches SW_SANDBOX_MAX_LINE goes out as a piece. */
static void add_payload(sw_docker_demux *m, int out, const char *data, size_t len)
{
    sw_docker_partial *p = &m->partial[out];
    while (len > 0) {
        size_t room = SW_SANDBOX_MAX_LINE - p->len;
        size_t take = len < room ? len : room;
        const char *nl = memchr(data, '\n', take);
        if (nl != NULL) {
            size_t n = (size_t)(nl - data);
            memcpy(p->buf + p->len, data, n);
            p->len += n;
            emit(m, out, true);
            data += n + 1;
            len -= n + 1;
            continue;
        }
        memcpy(p->buf + p->len, data, take);
        p->len += take;
        data += take;
        len -= take;
        if (p->len == SW_SANDBOX_MAX_LINE) {
            emit(m, out, false);
        }
    }
}

int sw_docker_demux_feed(sw_docker_demux *m, const void *data, size_t len)
{
    const unsigned char *p = data;

    if (m->broken) {
        return SW_EINVALID;
    }
    while (len > 0) {
        if (m->left > 0) {
            size_t take = len < m->left ? len : m->left;
            if (m->last_len < SW_DOCKER_LAST_FRAME) {
                size_t keep = SW_DOCKER_LAST_FRAME - m->last_len;
                memcpy(m->last + m->last_len, p, take < keep ? take : keep);
            }
            m->last_len += take;
            add_payload(m, m->out, (const char *)p, take);
            m->left -= (uint32_t)take;
            p += take;
            len -= take;
            continue;
        }
        size_t take = sizeof(m->head) - m->head_len;
        take = len < take ? len : take;
        memcpy(m->head + m->head_len, p, take);
        m->head_len += take;
        p += take;
        len -= take;
        if (m->head_len < sizeof(m->head)) {
            break;
        }
        m->head_len = 0;
        if (m->head[0] > 3 || m->head[1] != 0 || m->head[2] != 0 || m->head[3] != 0) {
            m->broken = 1;
            return sw_error_set(SW_EINVALID,
                                "the engine's output is not a multiplexed stream "
                                "(header %02x %02x %02x %02x)",
                                m->head[0], m->head[1], m->head[2], m->head[3]);
        }
        m->out = m->head[0] == 2 || m->head[0] == 3 ? 1 : 0;
        m->last_kind = m->head[0];
        m->last_len = 0;
        m->left = (uint32_t)m->head[4] << 24 | (uint32_t)m->head[5] << 16 |
                  (uint32_t)m->head[6] << 8 | (uint32_t)m->head[7];
    }
    return 0;
}

bool sw_docker_demux_last_frame(const sw_docker_demux *m, int *kind, const char **data,
                                size_t *len)
{
    if (m->broken || m->last_kind < 0 || m->left > 0 || m->head_len > 0 ||
        m->last_len > SW_DOCKER_LAST_FRAME) {
        return false;
    }
    *kind = m->last_kind;
    *data = m->last;
    *len = m->last_len;
    return true;
}

bool sw_docker_frame_next(const void *buf, size_t len, size_t *offset, int *kind,
                          const char **data, size_t *data_len)
{
    const unsigned char *h = (const unsigned char *)buf + *offset;
    if (*offset + 8 > len || h[0] > 3 || h[1] != 0 || h[2] != 0 || h[3] != 0) {
        return false;
    }
    size_t n = (size_t)h[4] << 24 | (size_t)h[5] << 16 | (size_t)h[6] << 8 | (size_t)h[7];
    if (n > len - *offset - 8) {
        return false;
    }
    *kind = h[0];
    *data = (const char *)h + 8;
    *data_len = n;
    *offset += 8 + n;
    return true;
}

int sw_docker_demux_finish(sw_docker_demux *m)
{
    int cut = m->left > 0 || m->head_len > 0;
    for (int out = 0; out < 2; out++) {
        if (m->partial[out].len > 0) {
            emit(m, out, true); /* the end of the output ends the line */
        }
    }
    m->left = 0;
    m->head_len = 0;
    return cut;
}
