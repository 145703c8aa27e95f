/* test_shlex.c - shell text into commands and words: quotes, variables, operators,
 * redirections and here-documents, and a Dockerfile's argument words. */
#include "actors/builder/profile/shlex.h"
#include "runtime/core/mem.h"

#include "support.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

/* Variables for the tests: MIRROR, EMPTY (set, ""), OPTS (with blanks). */
static const char *lookup(void *ud, const char *name, size_t len)
{
    static const struct {
        const char *name, *value;
    } vars[] = {{"MIRROR", "mirrors.example.cn"}, {"EMPTY", ""}, {"OPTS", "-i https://x.example"}};
    (void)ud;
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
        if (strlen(vars[i].name) == len && memcmp(vars[i].name, name, len) == 0) {
            return vars[i].value;
        }
    }
    return NULL;
}

/* The words of each command of text, joined by '|' and the commands by " ; ". */
static char *commands(const char *text)
{
    sw_shlex lx;
    sw_shlex_cmd cmd = {0};
    char *out = sw_strdup("");
    sw_shlex_init(&lx, text, 0, strlen(text), lookup, NULL);
    while (sw_shlex_next(&lx, &cmd)) {
        char *s = sw_asprintf("%s%s", out, out[0] ? " ; " : "");
        for (size_t i = 0; i < cmd.nwords; i++) {
            char *t = sw_asprintf("%s%s%s", s, i ? "|" : "", cmd.words[i].text);
            free(s);
            s = t;
        }
        for (size_t i = 0; i < cmd.nredirs; i++) {
            char *t = sw_asprintf("%s %s%s", s, cmd.redirs[i].op, cmd.redirs[i].target.text);
            free(s);
            s = t;
        }
        if (cmd.term == '|') {
            char *t = sw_asprintf("%s (pipe)", s);
            free(s);
            s = t;
        }
        free(out);
        out = s;
    }
    sw_shlex_cmd_clear(&cmd);
    return out;
}

static void check_commands(const char *text, const char *want)
{
    char *got = commands(text);
    ck_assert_msg(strcmp(got, want) == 0, "%s\n  got  %s\n  want %s", text, got, want);
    free(got);
}

START_TEST(test_quotes_and_variables)
{
    check_commands("echo 'a b' \"c $MIRROR\" d\\ e", "echo|a b|c mirrors.example.cn|d e");
    check_commands("curl https://$MIRROR/x ${MIRROR}/y $UNSET ${UNSET}",
                   "curl|https://mirrors.example.cn/x|mirrors.example.cn/y|$UNSET|${UNSET}");
    check_commands("a ${UNSET:-https://dflt.example} ${EMPTY:-e} ${EMPTY-e} ${MIRROR:+set}",
                   "a|https://dflt.example|e|set");
    check_commands("pip install $OPTS \"$OPTS\"", "pip|install|-i|https://x.example|-i https://x.example");
    check_commands("x $EMPTY y '$MIRROR' ${MIRROR#m} $(date) `id` $1",
                   "x|y|$MIRROR|${MIRROR#m}|$(date)|`id`|$1");
}
END_TEST

START_TEST(test_operators_and_comments)
{
    check_commands("a && b || c; d & e | f", "a ; b ; c ; d ; e (pipe) ; f");
    check_commands("a \\\n  b # a comment && c\nd", "a|b ; d");
    check_commands("(cd x && make) ; echo a#b", "cd|x ; make ; echo|a#b");
    check_commands("echo hi > /etc/x 2>/dev/null >> /y", "echo|hi >/etc/x >/dev/null >>/y");
    check_commands("", "");
    check_commands(" ;; && \n", "");
}
END_TEST

START_TEST(test_heredocs)
{
    static const char text[] = "cat > /etc/apk/repositories <<'EOF' && apk add x\n"
                               "https://mirror.example/alpine/v3.19/main\n"
                               "EOF\n"
                               "tee a <<-X\n"
                               "\tbody\n"
                               "\tX\n"
                               "echo done\n";
    sw_shlex lx;
    sw_shlex_cmd cmd = {0};
    sw_shlex_init(&lx, text, 0, strlen(text), NULL, NULL);

    ck_assert(sw_shlex_next(&lx, &cmd));
    ck_assert_uint_eq(cmd.nredirs, 2);
    ck_assert_str_eq(cmd.redirs[1].op, "<<");
    ck_assert_str_eq(cmd.redirs[1].target.text, "EOF");
    ck_assert(cmd.redirs[1].target.quoted);
    ck_assert_int_eq((int)(cmd.redirs[1].body_end - cmd.redirs[1].body), 41);
    ck_assert(strncmp(text + cmd.redirs[1].body, "https://mirror.example/", 23) == 0);
    ck_assert(sw_shlex_next(&lx, &cmd));
    ck_assert_str_eq(cmd.words[0].text, "apk"); /* the same line, before its body */
    ck_assert(sw_shlex_next(&lx, &cmd));
    ck_assert_str_eq(cmd.words[0].text, "tee");
    ck_assert(cmd.redirs[0].strip_tabs);
    ck_assert(!cmd.redirs[0].unterminated);
    ck_assert(sw_shlex_next(&lx, &cmd));
    ck_assert_str_eq(cmd.words[0].text, "echo");
    ck_assert(!sw_shlex_next(&lx, &cmd));
    sw_shlex_cmd_clear(&cmd);

    static const char open[] = "cat <<EOF\nno end\n";
    sw_shlex_init(&lx, open, 0, strlen(open), NULL, NULL);
    ck_assert(sw_shlex_next(&lx, &cmd));
    ck_assert(cmd.redirs[0].unterminated);
    ck_assert_uint_eq(cmd.redirs[0].body_end, strlen(open));
    ck_assert(!sw_shlex_next(&lx, &cmd));
    sw_shlex_cmd_clear(&cmd);
}
END_TEST

START_TEST(test_offsets)
{
    static const char text[] = "apt-get update \\\n && pip install x";
    sw_shlex lx;
    sw_shlex_cmd cmd = {0};
    sw_shlex_init(&lx, text, 0, strlen(text), NULL, NULL);
    ck_assert(sw_shlex_next(&lx, &cmd));
    ck_assert_uint_eq(cmd.words[1].off, 8);
    ck_assert(sw_shlex_next(&lx, &cmd));
    ck_assert_uint_eq(cmd.words[0].off, 21);
    sw_shlex_cmd_clear(&cmd);
}
END_TEST

START_TEST(test_words)
{
    /* a Dockerfile's arguments: split at blanks only, its own escape character */
    static const char text[] = "--from=$MIRROR/x \"a b\" c|d;e `\" ${UNSET:-v}";
    size_t n;
    sw_shlex_word *w = sw_shlex_words(text, 0, strlen(text), '`', lookup, NULL, &n);
    ck_assert_uint_eq(n, 5);
    ck_assert_str_eq(w[0].text, "--from=mirrors.example.cn/x");
    ck_assert_str_eq(w[1].text, "a b");
    ck_assert_str_eq(w[2].text, "c|d;e");
    ck_assert_str_eq(w[3].text, "\"");
    ck_assert_str_eq(w[4].text, "v");
    sw_shlex_words_free(w, n);

    static const char doc[] = "url=https://$MIRROR/\\$HOME ${UNSET}";
    char *e = sw_shlex_expand(doc, strlen(doc), lookup, NULL);
    ck_assert_str_eq(e, "url=https://mirrors.example.cn/$HOME ${UNSET}");
    free(e);
}
END_TEST

static Suite *shlex_suite(void)
{
    Suite *s = suite_create("shlex");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_quotes_and_variables);
    tcase_add_test(tc, test_operators_and_comments);
    tcase_add_test(tc, test_heredocs);
    tcase_add_test(tc, test_offsets);
    tcase_add_test(tc, test_words);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return sw_test_run(shlex_suite());
}
