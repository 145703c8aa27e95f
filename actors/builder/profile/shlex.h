/*
 * shlex.h - shell text split into commands and words, without running any of
 * it: what the source profile reads RUN lines (and a Dockerfile's instruction
 * arguments) with.
 *
 * A command is its words (leading NAME=value assignments included) and its
 * redirections; commands end at newlines, ';', '&', "&&", "||", '|', '(' and
 * ')', and the one before a '|' says so (term). Quotes are removed, variables
 * the lookup knows are expanded ($X, ${X}, ${X:-default}, ${X-default},
 * ${X:+alt}, ${X+alt}) and unquoted expansions split at blanks; a variable it
 * does not know is left as written ("$X"), as are $(...), backquotes and other
 * forms of ${...}. '#' at the start of a word starts a comment. A here-document
 * (<<EOF, <<-EOF, <<'EOF') is found in the lines after its command, as a shell
 * finds it, and given with the command (its body is not read as commands).
 *
 * Every word keeps the offset in the text where it starts, so that a caller
 * can tell the line it is on.
 */
#ifndef SW_SHLEX_H
#define SW_SHLEX_H

#include <stdbool.h>
#include <stddef.h>

/* The value of the variable name[0..len), or NULL when it is not set. */
typedef const char *(*sw_shlex_lookup_fn)(void *ud, const char *name, size_t len);

typedef struct sw_shlex_word {
    char *text;
    size_t off;  /* where it starts in the text */
    bool quoted; /* it had a quote or an escaped character in it */
} sw_shlex_word;

typedef struct sw_shlex_redir {
    char op[4];           /* ">", ">>", "<", "<<<", "<<" (a here-document), ">&", ... */
    sw_shlex_word target; /* the file; for "<<" the delimiter */
    size_t body, body_end; /* "<<": the body's text (from a line's start to the
                            * delimiter line's start) */
    bool strip_tabs;       /* "<<-" */
    bool unterminated;     /* "<<": no delimiter line; the body runs to the end */
} sw_shlex_redir;

typedef struct sw_shlex_cmd {
    sw_shlex_word *words;
    size_t nwords;
    sw_shlex_redir *redirs;
    size_t nredirs;
    char term; /* '|' when its output goes to the next command, else 0 */
} sw_shlex_cmd;

typedef struct sw_shlex {
    const char *text;
    size_t pos, end;
    sw_shlex_lookup_fn lookup;
    void *ud;
    bool shell;     /* commands (RUN) rather than words (an instruction's arguments) */
    char escape;    /* words: the Dockerfile's escape character; commands: '\\' */
    size_t hd_eol;  /* the newline after which pending here-documents start, or SIZE_MAX */
    size_t hd_next; /* where the next here-document's body starts */
} sw_shlex;

/* Reads text[begin..end) as shell commands; lookup may be NULL (nothing is set). */
void sw_shlex_init(sw_shlex *lx, const char *text, size_t begin, size_t end,
                   sw_shlex_lookup_fn lookup, void *ud);

/* The next command into *cmd (cleared first); false when there is none left. */
bool sw_shlex_next(sw_shlex *lx, sw_shlex_cmd *cmd);

void sw_shlex_cmd_clear(sw_shlex_cmd *cmd);

/* Splits text[begin..end) into words as Docker splits an instruction's
 * arguments: at blanks, quotes removed, escape (the Dockerfile's escape
 * character) escaping the next one, variables expanded and never split.
 * *nwords_out gets their count; the caller frees them (sw_shlex_words_free). */
sw_shlex_word *sw_shlex_words(const char *text, size_t begin, size_t end, char escape,
                              sw_shlex_lookup_fn lookup, void *ud, size_t *nwords_out);

void sw_shlex_words_free(sw_shlex_word *words, size_t n);

/* text[0..n) with its variables expanded as in an unquoted here-document:
 * '\' escapes '$', '`' and '\', nothing else is special. Caller frees. */
char *sw_shlex_expand(const char *text, size_t n, sw_shlex_lookup_fn lookup, void *ud);

#endif
