/*
 * mask.c - secrets masked as *** in streamed output (see mask.h).
 *
 * DESIGN
 * The automaton is the classic Aho-Corasick one: a trie of the secrets' lines
 * whose edges are stored sorted per state (a flat array, binary-searched; the
 * root has a 256-entry table since most bytes of ordinary output leave it
 * there), with failure links, dictionary links (the next shorter secret that
 * ends where a state does) and growing links (the next shorter suffix that a
 * secret could still go on from).
 *
 * A stream keeps the text it has not handed over yet (`buf`, from the first byte
 * not yet decided) and, for each of its bytes, the longest secret found to start
 * there (`best`). Feeding a piece appends it and runs it through the automaton,
 * recording each match at its start. A byte is undecided while what follows it
 * is a proper prefix of a secret: those bytes are the suffixes of the state that
 * have edges, found by following `grows` and `chain` from the state. Every other
 * byte is decided (every match that starts there has been seen), so the greedy
 * pass walks from the start, writing *** and jumping over the longest match at a
 * byte, or copying the byte, until it reaches an undecided one. What is held back
 * is shorter than the longest secret line; a line's end decides everything. Each
 * byte is read once by the automaton (amortised O(1) by the failure links) and
 * once by the greedy pass, plus one visit per secret that ends at it.
 */
#include "actors/builder/mask.h"

#include "runtime/core/mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NO_STATE 0 /* the root is never the target of an edge */

struct sw_mask {
    size_t npatterns;
    uint32_t nstates;
    uint32_t root_next[256];  /* the root's edges; NO_STATE: stays at the root */
    uint32_t *edge_start;     /* state s's edges: [edge_start[s], edge_start[s + 1]) */
    unsigned char *edge_byte; /* sorted within a state */
    uint32_t *edge_to;
    uint32_t *fail;
    uint32_t *dict;      /* nearest proper suffix state that ends a secret; NO_STATE: none */
    uint32_t *depth;     /* length of what the state has read */
    uint32_t *grows;     /* the longest suffix state of s (s too) with edges, from which a
                          * secret could still go on; NO_STATE: none (the empty one does not
                          * count) */
    uint32_t *chain;     /* the same for s's proper suffixes: the next one after s */
    unsigned char *ends; /* a secret ends at this state (its length: depth) */
};

struct sw_mask_stream {
    const sw_mask *mask;
    uint32_t state;
    bool line_started; /* something of the current line was handed over */
    char *buf;         /* not yet handed over, from the first undecided byte */
    uint32_t *best;    /* per byte of buf: the longest secret found to start there */
    bool *open;        /* per byte of buf, set in decide: a secret may still start there */
    size_t len, cap;
    char *out;
    size_t out_cap;
};

/* ---- building ---------------------------------------------------------------- */

/* The trie while it is built: first-child / next-sibling lists. */
typedef struct build_node {
    uint32_t child, sibling;
    unsigned char byte;
    bool ends;
} build_node;

typedef struct builder {
    build_node *nodes;
    uint32_t n, cap;
} builder;

/* The child of parent on c, added when missing. */
static uint32_t build_child(builder *b, uint32_t parent, unsigned char c)
{
    if (b->n == b->cap) { /* before link points into nodes */
        b->cap *= 2;
        b->nodes = sw_realloc(b->nodes, b->cap * sizeof(*b->nodes));
    }
    uint32_t *link = &b->nodes[parent].child;
    while (*link != NO_STATE && b->nodes[*link].byte < c) {
        link = &b->nodes[*link].sibling;
    }
    if (*link != NO_STATE && b->nodes[*link].byte == c) {
        return *link;
    }
    uint32_t id = b->n++;
    b->nodes[id] = (build_node){.child = NO_STATE, .sibling = *link, .byte = c, .ends = false};
    *link = id; /* children stay sorted by byte */
    return id;
}

static void build_add(builder *b, const char *text, size_t len, size_t *npatterns)
{
    uint32_t s = 0;
    for (size_t i = 0; i < len; i++) {
        s = build_child(b, s, (unsigned char)text[i]);
    }
    if (!b->nodes[s].ends) {
        b->nodes[s].ends = true;
        (*npatterns)++;
    }
}

/* Adds each line of value that is long enough, without a trailing '\r'. */
static void build_add_value(builder *b, const char *value, size_t *npatterns)
{
    while (*value) {
        size_t n = strcspn(value, "\n");
        size_t len = n > 0 && value[n - 1] == '\r' ? n - 1 : n;
        if (len >= SW_MASK_MIN_LEN) {
            build_add(b, value, len, npatterns);
        }
        value += n;
        if (*value == '\n') {
            value++;
        }
    }
}

static uint32_t child_of(const sw_mask *m, uint32_t s, unsigned char c)
{
    uint32_t lo = m->edge_start[s], hi = m->edge_start[s + 1];
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (m->edge_byte[mid] < c) {
            lo = mid + 1;
        } else if (m->edge_byte[mid] > c) {
            hi = mid;
        } else {
            return m->edge_to[mid];
        }
    }
    return NO_STATE;
}

/* The state after reading c in state s. */
static inline uint32_t next_state(const sw_mask *m, uint32_t s, unsigned char c)
{
    while (s != 0) {
        uint32_t t = child_of(m, s, c);
        if (t != NO_STATE) {
            return t;
        }
        s = m->fail[s];
    }
    return m->root_next[c];
}

sw_mask *sw_mask_create(const char *const *values, size_t n)
{
    sw_mask *m = sw_calloc(1, sizeof(*m));
    builder b = {0};
    uint32_t *queue;
    uint32_t head = 0, tail = 0, e = 0;

    b.cap = 64;
    b.nodes = sw_calloc(b.cap, sizeof(*b.nodes)); /* [0]: the root */
    b.n = 1;
    for (size_t i = 0; i < n; i++) {
        build_add_value(&b, values[i], &m->npatterns);
    }

    m->nstates = b.n;
    m->edge_start = sw_calloc(b.n + 1, sizeof(*m->edge_start));
    m->edge_byte = sw_calloc(b.n, sizeof(*m->edge_byte));
    m->edge_to = sw_calloc(b.n, sizeof(*m->edge_to));
    m->fail = sw_calloc(b.n, sizeof(*m->fail));
    m->dict = sw_calloc(b.n, sizeof(*m->dict));
    m->depth = sw_calloc(b.n, sizeof(*m->depth));
    m->grows = sw_calloc(b.n, sizeof(*m->grows));
    m->chain = sw_calloc(b.n, sizeof(*m->chain));
    m->ends = sw_calloc(b.n, sizeof(*m->ends));
    queue = sw_calloc(b.n, sizeof(*queue));

    /* Flattens the edges and sets depth, in state order. */
    for (uint32_t s = 0; s < b.n; s++) {
        m->edge_start[s] = e;
        m->ends[s] = b.nodes[s].ends;
        for (uint32_t c = b.nodes[s].child; c != NO_STATE; c = b.nodes[c].sibling) {
            m->edge_byte[e] = b.nodes[c].byte;
            m->edge_to[e++] = c;
            m->depth[c] = m->depth[s] + 1;
        }
    }
    m->edge_start[b.n] = e;
    for (uint32_t i = m->edge_start[0]; i < m->edge_start[1]; i++) {
        m->root_next[m->edge_byte[i]] = m->edge_to[i];
    }

    /* Failure, dictionary and growing links, breadth first: each needs its shorter
     * suffixes'. The root (the empty suffix) ends every chain. */
    queue[tail++] = 0;
    while (head < tail) {
        uint32_t s = queue[head++];
        if (s != 0) {
            uint32_t f = m->fail[s];
            m->dict[s] = m->ends[f] ? f : m->dict[f];
            m->chain[s] = m->grows[f];
            m->grows[s] = m->edge_start[s + 1] > m->edge_start[s] ? s : m->chain[s];
        }
        for (uint32_t i = m->edge_start[s]; i < m->edge_start[s + 1]; i++) {
            uint32_t t = m->edge_to[i];
            m->fail[t] = s == 0 ? 0 : next_state(m, m->fail[s], m->edge_byte[i]);
            queue[tail++] = t;
        }
    }
    free(queue);
    free(b.nodes);
    return m;
}

void sw_mask_destroy(sw_mask **mask_p)
{
    sw_mask *m;
    if (mask_p == NULL || (m = *mask_p) == NULL) {
        return;
    }
    free(m->edge_start);
    free(m->edge_byte);
    free(m->edge_to);
    free(m->fail);
    free(m->dict);
    free(m->depth);
    free(m->grows);
    free(m->chain);
    free(m->ends);
    free(m);
    *mask_p = NULL;
}

size_t sw_mask_count(const sw_mask *mask)
{
    return mask->npatterns;
}

/* ---- streams ----------------------------------------------------------------- */

static void reserve(sw_mask_stream *s, size_t len)
{
    if (len > s->cap) {
        s->cap = len > 2 * s->cap ? len : 2 * s->cap;
        s->buf = sw_realloc(s->buf, s->cap);
        s->best = sw_realloc(s->best, s->cap * sizeof(*s->best));
        s->open = sw_realloc(s->open, s->cap * sizeof(*s->open));
    }
    if (len + 1 > s->out_cap) {
        s->out_cap = len + 1 > 2 * s->out_cap ? len + 1 : 2 * s->out_cap;
        s->out = sw_realloc(s->out, s->out_cap);
    }
}

sw_mask_stream *sw_mask_stream_create(const sw_mask *mask)
{
    sw_mask_stream *s = sw_calloc(1, sizeof(*s));
    s->mask = mask;
    reserve(s, 256);
    return s;
}

void sw_mask_stream_destroy(sw_mask_stream **stream_p)
{
    sw_mask_stream *s;
    if (stream_p == NULL || (s = *stream_p) == NULL) {
        return;
    }
    free(s->buf);
    free(s->best);
    free(s->open);
    free(s->out);
    free(s);
    *stream_p = NULL;
}

/* Runs buf[from, len) through the automaton, recording each match at its start. */
static void scan(sw_mask_stream *s, size_t from)
{
    const sw_mask *m = s->mask;
    uint32_t state = s->state;
    for (size_t i = from; i < s->len; i++) {
        unsigned char c = (unsigned char)s->buf[i];
        state = state == 0 ? m->root_next[c] : next_state(m, state, c);
        if (state == 0) {
            continue;
        }
        for (uint32_t t = m->ends[state] ? state : m->dict[state]; t != NO_STATE; t = m->dict[t]) {
            uint32_t n = m->depth[t];
            /* a match that starts before buf was decided on already (covered by ***) */
            if (n <= i + 1 && s->best[i + 1 - n] < n) {
                s->best[i + 1 - n] = n;
            }
        }
    }
    s->state = state;
}

/* Hands over the decided start of buf masked into out (all of it when the line
 * ends), keeps the rest. Returns out's length. */
static size_t decide(sw_mask_stream *s, bool line_ends)
{
    const sw_mask *m = s->mask;
    size_t p = 0, o = 0, upto = s->len;

    if (!line_ends) {
        /* The bytes a secret may still start at, from the first (depth decreases
         * along the chain). One before buf is under a *** already: skipped. */
        uint32_t t = m->grows[s->state];
        while (t != 0 && m->depth[t] > s->len) {
            t = m->chain[t];
        }
        if (t != 0) {
            upto = s->len - m->depth[t];
            memset(s->open + upto, 0, (s->len - upto) * sizeof(*s->open));
            for (; t != 0; t = m->chain[t]) {
                s->open[s->len - m->depth[t]] = true;
            }
        }
    }
    while (p < s->len) {
        if (p >= upto && s->open[p]) {
            break;
        }
        if (s->best[p] > 0) {
            memcpy(s->out + o, SW_MASK_REPLACEMENT, sizeof(SW_MASK_REPLACEMENT) - 1);
            o += sizeof(SW_MASK_REPLACEMENT) - 1;
            p += s->best[p]; /* ended within buf: it was found */
            continue;
        }
        size_t q = p + 1;
        while (q < s->len && s->best[q] == 0 && (q < upto || !s->open[q])) {
            q++;
        }
        memcpy(s->out + o, s->buf + p, q - p);
        o += q - p;
        p = q;
    }
    s->out[o] = '\0';
    memmove(s->buf, s->buf + p, s->len - p);
    memmove(s->best, s->best + p, (s->len - p) * sizeof(*s->best));
    s->len -= p;
    return o;
}

bool sw_mask_stream_feed(sw_mask_stream *s, const char *text, size_t len, bool line_ends,
                         const char **out, size_t *out_len)
{
    size_t from = s->len, n;
    bool give;

    if (s->mask->npatterns == 0) {
        /* nothing to look for: nothing held back */
        reserve(s, len);
        if (len > 0) {
            memcpy(s->out, text, len);
        }
        s->out[len] = '\0';
        n = len;
    } else {
        reserve(s, s->len + len);
        if (len > 0) {
            memcpy(s->buf + s->len, text, len);
        }
        memset(s->best + s->len, 0, len * sizeof(*s->best));
        s->len += len;
        scan(s, from);
        n = decide(s, line_ends);
    }
    give = n > 0 || (line_ends && !s->line_started);
    s->line_started = line_ends ? false : s->line_started || n > 0;
    if (line_ends) {
        s->state = 0;
        s->len = 0;
    }
    *out = s->out;
    *out_len = n;
    return give;
}

bool sw_mask_stream_flush(sw_mask_stream *s, const char **out, size_t *out_len)
{
    bool held = s->len > 0;
    sw_mask_stream_feed(s, NULL, 0, true, out, out_len);
    return held && *out_len > 0;
}

char *sw_mask_text(const sw_mask *mask, char *text)
{
    sw_mask_stream *s;
    const char *out;
    size_t n;

    if (mask->npatterns == 0) {
        return text;
    }
    /* no secret holds a '\n': the whole text may go as one line */
    s = sw_mask_stream_create(mask);
    sw_mask_stream_feed(s, text, strlen(text), true, &out, &n);
    memcpy(text, out, n + 1);
    sw_mask_stream_destroy(&s);
    return text;
}
