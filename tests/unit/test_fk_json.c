/* Unit tests of fakecdn's JSON writer (fk_json_text, cmd/fakecdn/fk_util.c): every answer's
 * bytes must stay json-c's (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE), so each
 * case compares the two writers on the same tree: parsed documents, every byte value in a
 * string and a key, built nodes json-c prints its own way (doubles, ints past int64, NULL
 * members), and the example state file. */
#include "reconcile/base/compat.h"
#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include "cmd/fakecdn/fk_util.h"
#include "reconcile/base/xmem.h"

#define LONG_LEN 21
#define FLAGS	 (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

static void same_as_jsonc(struct json_object *o)
{
	char *mine = fk_json_text(o);
	const char *theirs = json_object_to_json_string_ext(o, FLAGS);

	assert_string_equal(mine, theirs);
	free(mine);
}

static const char *const docs[] = {
    "null",
    "true",
    "false",
    "0",
    "-1",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551615",
    "1.5",
    "1e3",
    "-0.0",
    "0.1000",
    "\"\"",
    "\"a/b\\\\c\\\"d\"",
    "\"tab\\there\\nnl\\r\\b\\f\\u0001\\u001f\\u007f\"",
    "\"caf\\u00e9 \\u4e2d \\ud83d\\ude00\"",
    "{}",
    "[]",
    "[null,1,\"x\",[],{}]",
    "{\"a\":{\"b\":[1,2,{\"c\":null}]},\"d\":\"e\",\"\":true}",
    "{\"k/\\n\\u0000y\":1}",
    "{\"properties\":{\"deliveryPolicy\":{\"rules\":[{\"name\":\"r1\",\"order\":1,"
    "\"conditions\":[{\"name\":\"UrlPath\",\"parameters\":{\"typeName\":\"x\","
    "\"matchValues\":[\"/static/\",\"/assets/\"],\"negateCondition\":false}}]}]},"
    "\"weight\":0.25,\"big\":1.7976931348623157e308}}",
};

static void test_parsed_docs(void **state)
{
	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(docs); i++) {
		struct json_object *o = json_tokener_parse(docs[i]);

		assert_true(o != NULL || strcmp(docs[i], "null") == 0);
		same_as_jsonc(o);
		json_object_put(o);
	}
}

static void test_every_byte(void **state)
{
	(void)state;
	for (int c = 0; c < 256; c++) {
		char s[4] = {'a', (char)c, 'z', 0};
		struct json_object *str = json_object_new_string_len(s, 3);
		struct json_object *obj = json_object_new_object();

		json_object_object_add(obj, c ? s : "nul", json_object_get(str));
		same_as_jsonc(str);
		same_as_jsonc(obj);
		json_object_put(str);
		json_object_put(obj);
	}
}

/* Long strings are checked 8 bytes at a time: each byte at each place of a word, and UTF-8. */
static void test_every_byte_everywhere(void **state)
{
	(void)state;
	for (int c = 0; c < 256; c++)
		for (size_t pos = 0; pos < LONG_LEN; pos++) {
			char s[LONG_LEN + 1];
			struct json_object *str;

			memset(s, c & 1 ? 'q' : '\xc3', LONG_LEN);
			s[pos] = (char)c;
			s[LONG_LEN] = '\0';
			str = json_object_new_string_len(s, (int)(LONG_LEN - pos % 3));
			same_as_jsonc(str);
			json_object_put(str);
		}
}

static void test_built_nodes(void **state)
{
	static const double doubles[] = {0.0, -0.0, 1.0, 0.1, 1e300, -2.5e-7, 123456789.125};
	struct json_object *o = json_object_new_object(), *a = json_object_new_array();

	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(doubles); i++)
		json_object_array_add(a, json_object_new_double(doubles[i]));
	json_object_array_add(a, json_object_new_uint64(UINT64_MAX));
	json_object_array_add(a, json_object_new_uint64(42));
	json_object_array_add(a, json_object_new_int64(INT64_MIN));
	json_object_array_add(a, json_object_new_int64(INT64_MAX));
	json_object_array_add(a, NULL);
	json_object_array_add(a, json_object_new_double_s(1.5, "1.50"));
	json_object_object_add(o, "values", a);
	json_object_object_add(o, "none", NULL);
	json_object_object_add(o, "string", json_object_new_string_len("a\0b", 3));
	same_as_jsonc(o);
	json_object_put(o);
}

/* The writer without a tree (fk_jw_*) gives the text of the tree json-c would have built. */
static void test_writer_without_tree(void **state)
{
	struct json_object *inner = json_tokener_parse("{\"a\":[1,\"x/y\"],\"b\":{}}");
	struct json_object *o = json_object_new_object();
	struct fk_jw w = {NULL, 0, 0, false};
	size_t len = 0;
	char *text;

	(void)state;
	json_object_object_add(o, "name", json_object_new_string("n\"1\x01"));
	json_object_object_add(o, "inner", json_object_get(inner));
	fk_jw_raw(&w, "{\"name\":");
	fk_jw_str(&w, "n\"1\x01");
	fk_jw_raw(&w, ",\"inner\":");
	fk_jw_json(&w, inner);
	fk_jw_raw(&w, "}");
	text = fk_jw_finish(&w, &len);
	assert_non_null(text);
	assert_string_equal(text, json_object_to_json_string_ext(o, FLAGS));
	assert_int_equal(len, strlen(text));
	assert_null(w.p);
	free(text);
	json_object_put(inner);
	json_object_put(o);
}

static void test_state_file(void **state)
{
	const char *top = getenv("TOP");
	char path[4096];
	struct json_object *o;

	(void)state;
	snprintf(path, sizeof(path), "%s/examples/fakecdn/state.json", top ? top : ".");
	o = json_object_from_file(path);
	assert_non_null(o);
	same_as_jsonc(o);
	json_object_put(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parsed_docs),		  cmocka_unit_test(test_every_byte),
	    cmocka_unit_test(test_every_byte_everywhere), cmocka_unit_test(test_built_nodes),
	    cmocka_unit_test(test_writer_without_tree),	  cmocka_unit_test(test_state_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
