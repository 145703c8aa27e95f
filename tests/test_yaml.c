/* test_yaml.c - the YAML tree: positions, typed readers, and errors that name file:line:col. */
#include "runtime/core/error.h"
#include "runtime/core/yaml.h"
#include "support.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static sw_yaml_doc *parse(const char *text)
{
    sw_yaml_doc *doc = NULL;
    ck_assert_msg(sw_yaml_parse(&doc, text, strlen(text), "t.yaml") == 0, "%s", sw_error_last());
    return doc;
}

START_TEST(test_tree_positions)
{
    sw_yaml_doc *doc = parse("a: 1\nlist:\n  - x\n  - y: 2\n");
    const sw_yaml_node *list = sw_yaml_get(doc->root, "list");
    ck_assert_ptr_nonnull(list);
    ck_assert_int_eq(list->type, SW_YAML_SEQ);
    ck_assert_uint_eq(list->nitems, 2);
    ck_assert_str_eq(list->items[0]->value, "x");
    ck_assert_int_eq(list->items[0]->line, 3);
    ck_assert_int_eq(list->items[0]->col, 5);
    ck_assert_ptr_null(sw_yaml_get(doc->root, "missing"));
    sw_yaml_destroy(&doc);
    ck_assert_ptr_null(doc);
    sw_yaml_destroy(&doc);
}
END_TEST

START_TEST(test_syntax_error_names_file_line_col)
{
    sw_yaml_doc *doc = NULL;
    const char *bad = "a: 1\nb: [unclosed\nc: 2\n";
    ck_assert_int_eq(sw_yaml_parse(&doc, bad, strlen(bad), "bad.yaml"), SW_EINVALID);
    ck_assert_ptr_null(doc);
    ck_assert_msg(strncmp(sw_error_last(), "bad.yaml:", 9) == 0, "%s", sw_error_last());
}
END_TEST

START_TEST(test_duplicate_key_refused)
{
    sw_yaml_doc *doc = NULL;
    const char *bad = "a: 1\na: 2\n";
    ck_assert_int_eq(sw_yaml_parse(&doc, bad, strlen(bad), "d.yaml"), SW_EINVALID);
    ck_assert_str_eq(sw_error_last(), "d.yaml:2:1: duplicate key 'a'");
}
END_TEST

START_TEST(test_alias_refused)
{
    sw_yaml_doc *doc = NULL;
    const char *bad = "a: &x 1\nb: *x\n";
    ck_assert_int_eq(sw_yaml_parse(&doc, bad, strlen(bad), "a.yaml"), SW_EINVALID);
}
END_TEST

START_TEST(test_typed_readers)
{
    sw_yaml_doc *doc = parse("mem: 256M\nbig: 2G\nt1: 90s\nt2: 10m\nt3: 500ms\nt4: 30\n"
                             "n: 42\nneg: -1\nb: true\nbad: 12x\n");
    uint64_t v = 0;
    int b = 0;
    ck_assert_int_eq(sw_yaml_size(doc, sw_yaml_get(doc->root, "mem"), &v), 0);
    ck_assert_uint_eq(v, 256ull << 20);
    ck_assert_int_eq(sw_yaml_size(doc, sw_yaml_get(doc->root, "big"), &v), 0);
    ck_assert_uint_eq(v, 2ull << 30);
    ck_assert_int_eq(sw_yaml_duration_ms(doc, sw_yaml_get(doc->root, "t1"), &v), 0);
    ck_assert_uint_eq(v, 90000);
    ck_assert_int_eq(sw_yaml_duration_ms(doc, sw_yaml_get(doc->root, "t2"), &v), 0);
    ck_assert_uint_eq(v, 600000);
    ck_assert_int_eq(sw_yaml_duration_ms(doc, sw_yaml_get(doc->root, "t3"), &v), 0);
    ck_assert_uint_eq(v, 500);
    ck_assert_int_eq(sw_yaml_duration_ms(doc, sw_yaml_get(doc->root, "t4"), &v), 0);
    ck_assert_uint_eq(v, 30000);
    ck_assert_int_eq(sw_yaml_uint(doc, sw_yaml_get(doc->root, "n"), 100, &v), 0);
    ck_assert_uint_eq(v, 42);
    ck_assert_int_eq(sw_yaml_uint(doc, sw_yaml_get(doc->root, "n"), 10, &v), SW_EINVALID);
    ck_assert_int_eq(sw_yaml_uint(doc, sw_yaml_get(doc->root, "neg"), 10, &v), SW_EINVALID);
    ck_assert_int_eq(sw_yaml_bool(doc, sw_yaml_get(doc->root, "b"), &b), 0);
    ck_assert_int_eq(b, 1);
    ck_assert_int_eq(sw_yaml_size(doc, sw_yaml_get(doc->root, "bad"), &v), SW_EINVALID);
    ck_assert_msg(strstr(sw_error_last(), "t.yaml:10:6:") != NULL, "%s", sw_error_last());
    sw_yaml_destroy(&doc);
}
END_TEST

START_TEST(test_unknown_key)
{
    static const char *const allowed[] = {"a", "b", NULL};
    sw_yaml_doc *doc = parse("a: 1\nzz: 2\n");
    ck_assert_int_eq(sw_yaml_check_keys(doc, doc->root, allowed), SW_EINVALID);
    ck_assert_msg(strncmp(sw_error_last(), "t.yaml:2:1: unknown key 'zz'", 28) == 0, "%s",
                  sw_error_last());
    sw_yaml_destroy(&doc);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("yaml");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_tree_positions);
    tcase_add_test(tc, test_syntax_error_names_file_line_col);
    tcase_add_test(tc, test_duplicate_key_refused);
    tcase_add_test(tc, test_alias_refused);
    tcase_add_test(tc, test_typed_readers);
    tcase_add_test(tc, test_unknown_key);
    suite_add_tcase(s, tc);
    return sw_test_run(s);
}
