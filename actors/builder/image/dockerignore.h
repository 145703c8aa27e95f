/*
 * dockerignore.h - the patterns of a .dockerignore file, read and matched as the
 * Docker CLI does (moby/patternmatcher and its ignorefile reader, used by Docker
 * 23 and later for both builders; checked against the docker 28 CLI).
 *
 * DESIGN
 * Reading: lines split on '\n' (a trailing '\r' dropped, a UTF-8 BOM dropped from
 * the first); a line whose first byte is '#' is a comment; the rest is trimmed of
 * white space, a leading '!' makes an exception (trimmed again), the pattern is
 * cleaned as Go's filepath.Clean does ("./a//b/" is "a/b", "a/../b" is "b") and one
 * leading '/' is dropped. Empty lines are skipped; a bare "!" is refused, and so is
 * a line filepath.Match calls malformed (an unterminated "[", a trailing '\').
 *
 * Matching: the glob of Go's filepath.Match plus "**": '*' is any run of
 * characters but '/', '?' one character but '/', "[...]" a class ('^' negates,
 * "a-z" ranges, '\' escapes), '\' escapes the next character, "**" (and "**" +
 * "/") any number of path elements, zero included; a trailing "**" anything. A
 * pattern excludes a path it matches and everything below it; the last pattern
 * that matches decides, so an exception ('!') re-includes what earlier lines
 * excluded. Like Docker, a pattern made of "**" and then plain characters is a
 * suffix test ("**.log" excludes "a/b.log", not only ".log"), and "**" never
 * crosses a '\n' in a pattern that needs a regexp.
 *
 * While walking a tree (sw_dockerignore_match with the parent's results), Docker
 * evaluates a pattern against a path only while it can change the outcome, and
 * uses the parent's results, not the parent's path, for what lies below: so an
 * exception that names a directory re-includes its contents only when it applied
 * to the directory itself (after the lines "**" + "/" + "*.log" and "!logs",
 * logs/a.log stays out).
 *
 * Known gaps: a '*' or '?' inside "[...]", "[[:alpha:]]" classes and a '^' outside
 * a class mean something else to Go's regexp, which Docker hands them to; here
 * they are plain characters. Docker 20.10's own CLI differed more (it passed
 * "+()|{}" to the regexp unescaped, so a pattern "x+y" did not exclude "x+y").
 */
#ifndef SW_DOCKERIGNORE_H
#define SW_DOCKERIGNORE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct sw_dockerignore sw_dockerignore;

/* Parses the text of a .dockerignore file (len bytes; NULL/0: no patterns) into
 * *out (caller destroys). SW_EINVALID with the line number when a line is not a
 * valid pattern (a bare "!", an unterminated "[", a trailing '\', a reversed or
 * empty class), as Docker refuses the build then. */
int sw_dockerignore_parse(sw_dockerignore **out, const char *text, size_t len);

/* Appends one more line (same syntax as a line of the file, "!x" for an exception). */
int sw_dockerignore_add(sw_dockerignore *di, const char *line);

void sw_dockerignore_destroy(sw_dockerignore **di_p);

/* Whether path (relative to the context, '/'-separated, clean: "a/b") is excluded:
 * the last pattern matching it or one of its parents is not an exception (moby's
 * MatchesOrParentMatches). */
bool sw_dockerignore_excludes(const sw_dockerignore *di, const char *path);

/* The same, in a walk (moby's MatchesUsingParentResults): parent is the info the
 * path's directory got (NULL for a path at the root), info (may be NULL) receives
 * this path's, for its children: both arrays of sw_dockerignore_count() entries. */
bool sw_dockerignore_match(const sw_dockerignore *di, const char *path, const bool *parent,
                           bool *info);

/* Whether the patterns have an exception ('!'). */
bool sw_dockerignore_has_exceptions(const sw_dockerignore *di);

/* Whether an exception pattern may re-include something under the excluded
 * directory dir: Docker's test, that "dir/" is a prefix of an exception's pattern
 * + "/" (so "!dir/keep.txt" keeps dir open, "!*" + "/keep.txt" does not). */
bool sw_dockerignore_may_reinclude(const sw_dockerignore *di, const char *dir);

/* The number of patterns (comments and blank lines not counted). */
size_t sw_dockerignore_count(const sw_dockerignore *di);

/* Go's filepath.Clean of path ('/'-separated) into a new string (caller frees). */
char *sw_dockerignore_clean(const char *path);

#endif
