/*
 * shlex.c - shell text into commands and words (see shlex.h).
 *
 * A POSIX shell's token rules, cut down to what a reader of build scripts
 * needs: nothing is evaluated but the variables it is told, and whatever is not
 * understood is kept as written, so that it can never pass for a host.
 */
#include "actors/builder/profile/shlex.h"

#include "runtime/core/mem.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct sbuf {
    char *s;
    size_t n, cap;
} sbuf;

static void sb_putn(sbuf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->s = sw_realloc(b->s, b->cap);
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
}

static void sb_putc(sbuf *b, char c)
{
    sb_putn(b, &c, 1);
}

static char *sb_take(sbuf *b)
{
    char *s = b->s ? b->s : sw_strdup("");
    *b = (sbuf){0};
    return s;
}

/* The word being read: where it started, and the words it split into. */
typedef struct word_acc {
    sbuf cur;
    bool started, quoted;
    size_t off;
    sw_shlex_word *out;
    size_t nout;
} word_acc;

static void acc_push(word_acc *a)
{
    if (!a->started) {
        return;
    }
    if ((a->nout & (a->nout - 1)) == 0) { /* 0, 1, 2, 4, ...: room for as many again */
        a->out = sw_realloc(a->out, (a->nout ? 2 * a->nout : 1) * sizeof(*a->out));
    }
    a->out[a->nout++] = (sw_shlex_word){.text = sb_take(&a->cur), .off = a->off,
                                        .quoted = a->quoted};
    a->started = false;
    a->quoted = false;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static bool is_name_start(char c)
{
    return isalpha((unsigned char)c) || c == '_';
}

static bool is_name(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

/* The end of a $( or ${ that opens at text[open] (its '(' or '{'), past its
 * closing character; SIZE_MAX when it never closes. Quotes inside are skipped. */
static size_t matching(const char *t, size_t open, size_t end)
{
    char o = t[open], c = o == '(' ? ')' : '}';
    int depth = 0;
    for (size_t i = open; i < end; i++) {
        if (t[i] == '\\' && i + 1 < end) {
            i++;
        } else if (t[i] == '\'' && o == '(') {
            const char *q = memchr(t + i + 1, '\'', end - i - 1);
            i = q ? (size_t)(q - t) : end - 1;
        } else if (t[i] == o) {
            depth++;
        } else if (t[i] == c && --depth == 0) {
            return i + 1;
        }
    }
    return SIZE_MAX;
}

static void expand_into(sbuf *out, const char *t, size_t n, sw_shlex_lookup_fn lookup,
                        void *ud);

/* The value of the expansion at t[pos] ('$'), appended to *val (set when there
 * is one; else the text as written is). Returns where it ends. */
static size_t expansion(const char *t, size_t pos, size_t end, bool commands,
                        sw_shlex_lookup_fn lookup, void *ud, sbuf *val, bool *known)
{
    const char *v;
    size_t i = pos + 1;

    *known = false;
    if (i < end && t[i] == '{') {
        size_t close = matching(t, i, end);
        size_t name = i + 1, name_end = name;
        if (close == SIZE_MAX) {
            sb_putn(val, t + pos, end - pos);
            return end;
        }
        if (name_end < close && is_name_start(t[name_end])) {
            while (name_end < close && is_name(t[name_end])) {
                name_end++;
            }
        }
        size_t op = name_end, inner_end = close - 1;
        bool colon = op < inner_end && t[op] == ':';
        char kind = op + colon < inner_end ? t[op + colon] : '}';
        if (name_end == name || (op + colon < inner_end && !strchr("-+=?", kind))) {
            sb_putn(val, t + pos, close - pos); /* ${#X}, ${X%y}, ${1}...: as written */
            return close;
        }
        v = lookup ? lookup(ud, t + name, name_end - name) : NULL;
        bool set = v != NULL && (!colon || v[0] != '\0');
        size_t word = op + colon + 1;
        if (kind == '}') {
            if (v != NULL) {
                sb_putn(val, v, strlen(v));
                *known = true;
            } else {
                sb_putn(val, t + pos, close - pos);
            }
        } else if (kind == '+') {
            if (set) {
                expand_into(val, t + word, inner_end - word, lookup, ud);
            }
            *known = true;
        } else if (set) {
            sb_putn(val, v, strlen(v));
            *known = true;
        } else if (kind == '-' || kind == '=') {
            expand_into(val, t + word, inner_end - word, lookup, ud);
            *known = true;
        } else {
            sb_putn(val, t + pos, close - pos); /* ${X:?message} unset */
        }
        return close;
    }
    if (commands && i < end && t[i] == '(') {
        size_t close = matching(t, i, end);
        close = close == SIZE_MAX ? end : close;
        sb_putn(val, t + pos, close - pos);
        return close;
    }
    if (i < end && is_name_start(t[i])) {
        while (i < end && is_name(t[i])) {
            i++;
        }
        v = lookup ? lookup(ud, t + pos + 1, i - pos - 1) : NULL;
        if (v != NULL) {
            sb_putn(val, v, strlen(v));
            *known = true;
        } else {
            sb_putn(val, t + pos, i - pos);
        }
        return i;
    }
    if (i < end && strchr("@*#?$!-0123456789", t[i])) {
        sb_putn(val, t + pos, 2);
        return i + 1;
    }
    sb_putc(val, '$');
    return i;
}

/* text with its variables expanded (here-document rules, and ${X:-default}'s default). */
static void expand_into(sbuf *out, const char *t, size_t n, sw_shlex_lookup_fn lookup, void *ud)
{
    for (size_t i = 0; i < n;) {
        if (t[i] == '\\' && i + 1 < n && strchr("$`\\", t[i + 1])) {
            sb_putc(out, t[i + 1]);
            i += 2;
        } else if (t[i] == '$') {
            bool known;
            i = expansion(t, i, n, true, lookup, ud, out, &known);
        } else {
            sb_putc(out, t[i++]);
        }
    }
}

char *sw_shlex_expand(const char *text, size_t n, sw_shlex_lookup_fn lookup, void *ud)
{
    sbuf b = {0};
    expand_into(&b, text, n, lookup, ud);
    return sb_take(&b);
}

/* Appends an unquoted expansion's value: in commands it is split at blanks. */
static void put_unquoted(sw_shlex *lx, word_acc *a, const char *v, size_t n, bool known)
{
    for (size_t i = 0; i < n; i++) {
        if (lx->shell && known && (is_blank(v[i]) || v[i] == '\n')) {
            acc_push(a);
            continue;
        }
        a->started = true;
        sb_putc(&a->cur, v[i]);
    }
}

/* Reads one word (it may split into several) at lx->pos into a. */
static void read_word(sw_shlex *lx, word_acc *a)
{
    const char *t = lx->text;
    size_t end = lx->end;

    a->off = lx->pos;
    while (lx->pos < end) {
        char c = t[lx->pos];
        if (is_blank(c) || c == '\n' || c == '\r' || (lx->shell && strchr(";&|<>()", c))) {
            break;
        }
        if (c != '$') {
            a->started = true; /* an unquoted expansion starts a word only if not empty */
        }
        if (c == lx->escape) {
            if (lx->pos + 1 < end && t[lx->pos + 1] == '\n') {
                lx->pos += 2;
                continue;
            }
            if (lx->pos + 1 < end) {
                sb_putc(&a->cur, t[lx->pos + 1]);
                a->quoted = true;
            }
            lx->pos += 2;
        } else if (c == '\'') {
            const char *q = memchr(t + lx->pos + 1, '\'', end - lx->pos - 1);
            size_t stop = q ? (size_t)(q - t) : end;
            sb_putn(&a->cur, t + lx->pos + 1, stop - lx->pos - 1);
            a->quoted = true;
            lx->pos = q ? stop + 1 : end;
        } else if (c == '"') {
            a->quoted = true;
            lx->pos++;
            while (lx->pos < end && t[lx->pos] != '"') {
                char d = t[lx->pos];
                if (d == lx->escape && lx->pos + 1 < end &&
                    (lx->shell ? strchr("$`\"\\\n", t[lx->pos + 1]) != NULL
                               : t[lx->pos + 1] == '"' || t[lx->pos + 1] == '$' ||
                                     t[lx->pos + 1] == lx->escape)) {
                    if (t[lx->pos + 1] != '\n') {
                        sb_putc(&a->cur, t[lx->pos + 1]);
                    }
                    lx->pos += 2;
                } else if (d == '$') {
                    bool known;
                    lx->pos = expansion(t, lx->pos, end, lx->shell, lx->lookup, lx->ud, &a->cur,
                                        &known);
                } else {
                    sb_putc(&a->cur, d);
                    lx->pos++;
                }
            }
            lx->pos += lx->pos < end; /* the closing quote */
        } else if (c == '$') {
            sbuf v = {0};
            bool known;
            lx->pos = expansion(t, lx->pos, end, lx->shell, lx->lookup, lx->ud, &v, &known);
            put_unquoted(lx, a, v.s ? v.s : "", v.n, known);
            free(v.s);
        } else if (c == '`' && lx->shell) {
            const char *q = memchr(t + lx->pos + 1, '`', end - lx->pos - 1);
            size_t stop = q ? (size_t)(q - t) + 1 : end;
            sb_putn(&a->cur, t + lx->pos, stop - lx->pos);
            lx->pos = stop;
        } else {
            sb_putc(&a->cur, c);
            lx->pos++;
        }
    }
    acc_push(a);
}

void sw_shlex_init(sw_shlex *lx, const char *text, size_t begin, size_t end,
                   sw_shlex_lookup_fn lookup, void *ud)
{
    *lx = (sw_shlex){.text = text, .pos = begin, .end = end, .lookup = lookup, .ud = ud,
                     .shell = true, .escape = '\\', .hd_eol = SIZE_MAX};
}

void sw_shlex_words_free(sw_shlex_word *words, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(words[i].text);
    }
    free(words);
}

void sw_shlex_cmd_clear(sw_shlex_cmd *cmd)
{
    sw_shlex_words_free(cmd->words, cmd->nwords);
    for (size_t i = 0; i < cmd->nredirs; i++) {
        free(cmd->redirs[i].target.text);
    }
    free(cmd->redirs);
    *cmd = (sw_shlex_cmd){0};
}

/* Skips blanks and escaped newlines. */
static void skip_blanks(sw_shlex *lx)
{
    while (lx->pos < lx->end) {
        char c = lx->text[lx->pos];
        if (is_blank(c) || c == '\r') {
            lx->pos++;
        } else if (c == '\\' && lx->pos + 1 < lx->end && lx->text[lx->pos + 1] == '\n') {
            lx->pos += 2;
        } else {
            break;
        }
    }
}

/* Finds the body of the here-document r in the lines after the current one. */
static void heredoc_body(sw_shlex *lx, sw_shlex_redir *r)
{
    const char *t = lx->text, *delim = r->target.text;
    size_t dlen = strlen(delim);

    if (lx->hd_eol == SIZE_MAX) {
        const char *nl = memchr(t + lx->pos, '\n', lx->end - lx->pos);
        lx->hd_eol = nl ? (size_t)(nl - t) : lx->end;
        lx->hd_next = nl ? lx->hd_eol + 1 : lx->end;
    }
    r->body = lx->hd_next;
    for (size_t ls = lx->hd_next; ls < lx->end;) {
        const char *nl = memchr(t + ls, '\n', lx->end - ls);
        size_t le = nl ? (size_t)(nl - t) : lx->end, s = ls, e = le;
        while (r->strip_tabs && s < e && t[s] == '\t') {
            s++;
        }
        if (e > s && t[e - 1] == '\r') {
            e--;
        }
        if (e - s == dlen && memcmp(t + s, delim, dlen) == 0) {
            r->body_end = ls;
            lx->hd_next = nl ? le + 1 : lx->end;
            return;
        }
        ls = nl ? le + 1 : lx->end;
    }
    r->body_end = lx->end;
    r->unterminated = true;
    lx->hd_next = lx->end;
}

/* A redirection at lx->pos (its fd digits already passed). */
static void read_redir(sw_shlex *lx, sw_shlex_cmd *cmd)
{
    static const char *const ops[] = {"<<<", "<<-", "&>>", "<<", ">>", ">&", "<&", ">|",
                                      "<>",  "&>",  "<",   ">",  NULL};
    sw_shlex_redir r = {0};
    word_acc a = {0};

    for (size_t i = 0; ops[i] != NULL; i++) {
        size_t n = strlen(ops[i]);
        if (lx->pos + n <= lx->end && memcmp(lx->text + lx->pos, ops[i], n) == 0) {
            memcpy(r.op, ops[i], n);
            lx->pos += n;
            break;
        }
    }
    r.strip_tabs = strcmp(r.op, "<<-") == 0;
    if (r.strip_tabs) {
        r.op[2] = '\0';
    }
    skip_blanks(lx);
    if (strcmp(r.op, "<<") == 0) {
        sw_shlex_lookup_fn lookup = lx->lookup;
        lx->lookup = NULL; /* a delimiter is never expanded */
        read_word(lx, &a);
        lx->lookup = lookup;
    } else {
        read_word(lx, &a);
    }
    if (a.nout > 0) {
        r.target = a.out[0];
        for (size_t i = 1; i < a.nout; i++) {
            free(a.out[i].text);
        }
    } else {
        r.target = (sw_shlex_word){.text = sw_strdup(""), .off = lx->pos};
    }
    free(a.out);
    if (strcmp(r.op, "<<") == 0) {
        heredoc_body(lx, &r);
    }
    cmd->redirs = sw_realloc(cmd->redirs, (cmd->nredirs + 1) * sizeof(*cmd->redirs));
    cmd->redirs[cmd->nredirs++] = r;
}

bool sw_shlex_next(sw_shlex *lx, sw_shlex_cmd *cmd)
{
    const char *t = lx->text;

    sw_shlex_cmd_clear(cmd);
    for (;;) {
        skip_blanks(lx);
        bool empty = cmd->nwords == 0 && cmd->nredirs == 0;
        if (lx->pos >= lx->end) {
            return !empty;
        }
        char c = t[lx->pos];
        if (c == '#') {
            const char *nl = memchr(t + lx->pos, '\n', lx->end - lx->pos);
            lx->pos = nl ? (size_t)(nl - t) : lx->end;
            continue;
        }
        if (c == '\n') {
            if (lx->hd_eol == lx->pos) {
                lx->pos = lx->hd_next;
                lx->hd_eol = SIZE_MAX;
            } else {
                lx->pos++;
            }
            if (!empty) {
                return true;
            }
            continue;
        }
        size_t digits = lx->pos;
        while (digits < lx->end && isdigit((unsigned char)t[digits])) {
            digits++;
        }
        if (c == '<' || c == '>' || (c == '&' && lx->pos + 1 < lx->end && t[lx->pos + 1] == '>') ||
            (digits > lx->pos && digits < lx->end && (t[digits] == '<' || t[digits] == '>'))) {
            lx->pos = digits;
            read_redir(lx, cmd);
            continue;
        }
        if (strchr(";&|()", c)) {
            bool pipe = c == '|' && !(lx->pos + 1 < lx->end && t[lx->pos + 1] == '|');
            lx->pos += (lx->pos + 1 < lx->end && (t[lx->pos + 1] == c ||
                                                   (c == '|' && t[lx->pos + 1] == '&')))
                           ? 2
                           : 1;
            if (!empty) {
                cmd->term = pipe ? '|' : 0;
                return true;
            }
            continue;
        }
        word_acc a = {0};
        read_word(lx, &a);
        if (a.nout > 0) {
            cmd->words = sw_realloc(cmd->words, (cmd->nwords + a.nout) * sizeof(*cmd->words));
            memcpy(cmd->words + cmd->nwords, a.out, a.nout * sizeof(*a.out));
            cmd->nwords += a.nout;
        }
        free(a.out);
        free(a.cur.s);
        if (lx->pos < lx->end && t[lx->pos] == '\r') {
            lx->pos++;
        }
    }
}

sw_shlex_word *sw_shlex_words(const char *text, size_t begin, size_t end, char escape,
                              sw_shlex_lookup_fn lookup, void *ud, size_t *nwords_out)
{
    sw_shlex lx;
    word_acc a = {0};

    sw_shlex_init(&lx, text, begin, end, lookup, ud);
    lx.shell = false;
    lx.escape = escape;
    for (;;) {
        while (lx.pos < end && (is_blank(text[lx.pos]) || text[lx.pos] == '\n' ||
                                text[lx.pos] == '\r')) {
            lx.pos++;
        }
        if (lx.pos >= end) {
            break;
        }
        read_word(&lx, &a);
    }
    free(a.cur.s);
    *nwords_out = a.nout;
    return a.out;
}
