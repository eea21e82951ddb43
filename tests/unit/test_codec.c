/* Unit tests: the JSON layer (reconcile/codec.h) and the one string escaper (sb_add_json_str). */
#include "reconcile/base/compat.h"
#include <stdarg.h>
#include <setjmp.h>
#include <cmocka.h>

#include <json-c/json.h>

#include "reconcile/codec.h"
#include "reconcile/base/sb.h"
#include "reconcile/base/xmem.h"

/* ---- getters: error code and message, with the JSON path ---- */

enum getter { G_STR, G_INT, G_BOOL, G_ARR, G_OBJ };

struct get_case {
	const char *doc; /* the object looked in */
	enum getter g;
	const char *at, *key;
	unsigned flags;
	int rc;
	const char *msg; /* exact message, or NULL when rc is 0 */
};

static const struct get_case get_cases[] = {
    {"{\"a\":\"x\"}", G_STR, "", "a", 0, 0, NULL},
    {"{}", G_STR, "", "a", 0, CF_EAPI, "a: missing"},
    {"{}", G_STR, "eps[2]", "name", CODEC_FILE, CF_EINVAL, "eps[2].name: missing"},
    {"{}", G_STR, "", "a", CODEC_OPTIONAL, 0, NULL},
    {"{\"a\":null}", G_STR, "", "a", CODEC_OPTIONAL, 0, NULL},
    {"{\"a\":null}", G_STR, "r", "a", 0, CF_EAPI, "r.a: expected string, found null"},
    {"{\"a\":1}", G_STR, "r[0]", "a", 0, CF_EAPI, "r[0].a: expected string, found int"},
    {"{\"a\":\"x\\u0000y\"}", G_STR, "", "a", 0, CF_EAPI, "a: contains a NUL character"},
    {"{\"A\":\"x\"}", G_STR, "", "a", CODEC_CI, 0, NULL},
    {"{\"A\":\"x\",\"a\":\"y\"}", G_STR, "p", "a", CODEC_CI, CF_EAPI,
     "p.a: appears twice with different case"},
    {"{\"b\":1,\"aB\":\"x\",\"ab\":\"y\"}", G_STR, "p", "Ab", CODEC_CI, CF_EAPI,
     "p.Ab: appears twice with different case"},
    {"{\"b\":1,\"aBc\":\"x\",\"ab\":2}", G_STR, "", "AbC", CODEC_CI, 0, NULL},
    {"{\"b\":\"x\",\"ac\":\"y\"}", G_STR, "q", "ab", CODEC_CI, CF_EAPI, "q.ab: missing"},
    {"{\"n\":5}", G_INT, "", "n", 0, 0, NULL},
    {"{\"n\":1.5}", G_INT, "x", "n", CODEC_FILE, CF_EINVAL, "x.n: expected int, found double"},
    {"{\"n\":-1}", G_INT, "", "n", 0, CF_EAPI, "n: -1 is negative"},
    {"{\"n\":11}", G_INT, "", "n", 0, CF_EAPI, "n: 11 is out of range 0..10"},
    {"{\"n\":\"7\"}", G_INT, "", "n", 0, CF_EAPI, "n: expected int, found string"},
    {"{\"n\":\"7\"}", G_INT, "", "n", CODEC_LOOSE, 0, NULL},
    {"{\"n\":\"7x\"}", G_INT, "", "n", CODEC_LOOSE, CF_EAPI, "n: the string '7x', want an integer"},
    {"{\"n\":18446744073709551615}", G_INT, "", "n", 0, CF_EAPI, "n: out of range"},
    {"{\"b\":true}", G_BOOL, "", "b", 0, 0, NULL},
    {"{\"b\":\"yes\"}", G_BOOL, "", "b", CODEC_LOOSE, CF_EAPI,
     "b: the string 'yes', want true or false"},
    {"{\"b\":0}", G_BOOL, "s", "b", 0, CF_EAPI, "s.b: expected boolean, found int"},
    {"{\"l\":[1]}", G_ARR, "", "l", 0, 0, NULL},
    {"{\"l\":{}}", G_ARR, "", "l", 0, CF_EAPI, "l: expected array, found object"},
    {"{\"o\":[]}", G_OBJ, "", "o", CODEC_FILE, CF_EINVAL, "o: expected object, found array"},
    {"[]", G_OBJ, "rules[1]", "o", 0, CF_EAPI, "rules[1]: expected object, found array"},
    {"[]", G_OBJ, "", "o", 0, CF_EAPI, "document: expected object, found array"},
};

static int run_getter(struct json_object *o, const struct get_case *c, struct cf_err *e)
{
	const char *s;
	int64_t n;
	bool b;
	struct json_object *v;
	size_t len;
	switch (c->g) {
	case G_STR:
		return codec_str(o, c->at, c->key, c->flags, &s, e);
	case G_INT:
		return codec_int(o, c->at, c->key, c->flags, 0, 10, &n, NULL, e);
	case G_BOOL:
		return codec_bool(o, c->at, c->key, c->flags, &b, NULL, e);
	case G_ARR:
		return codec_arr(o, c->at, c->key, c->flags, &v, &len, e);
	case G_OBJ:
		return codec_obj(o, c->at, c->key, c->flags, &v, e);
	}
	return 0;
}

static void test_codec__getter_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(get_cases); i++) {
		const struct get_case *c = &get_cases[i];
		struct json_object *o;
		struct cf_err e;
		err_clear(&e);
		assert_int_equal(codec_parse(c->doc, strlen(c->doc), &o, NULL), 0);
		int rc = run_getter(o, c, &e);
		if (rc != c->rc || (c->msg && strcmp(e.msg, c->msg) != 0))
			fail_msg("case %zu (%s): rc %d '%s', want %d '%s'", i, c->doc, rc, e.msg,
				 c->rc, c->msg ? c->msg : "");
		codec_put(o);
	}
}

/* ---- getters: the values read (the fast paths build no path; the result must not differ) ---- */

struct val_case {
	const char *doc;
	enum getter g;
	unsigned flags;
	int64_t min, max; /* G_INT */
	int rc;
	const char *want_s; /* G_STR */
	int64_t want_n;	    /* G_INT, G_BOOL (0/1) */
};

static const struct val_case val_cases[] = {
    {"{\"k\":\"x\"}", G_STR, 0, 0, 0, 0, "x", 0},
    {"{\"k\":\"\"}", G_STR, 0, 0, 0, 0, "", 0},
    {"{\"k\":\"caf\\u00e9\"}", G_STR, 0, 0, 0, 0, "caf\xc3\xa9", 0},
    {"{\"K\":\"ci\"}", G_STR, CODEC_CI, 0, 0, 0, "ci", 0},
    {"{\"k\":\"a\\u0000\"}", G_STR, 0, 0, 0, CF_EAPI, NULL, 0},
    {"{\"k\":0}", G_INT, 0, 0, 10, 0, NULL, 0},
    {"{\"k\":10}", G_INT, 0, 0, 10, 0, NULL, 10},
    {"{\"k\":-5}", G_INT, 0, -5, 5, 0, NULL, -5},
    {"{\"k\":-6}", G_INT, 0, -5, 5, CF_EAPI, NULL, 0},
    {"{\"k\":9223372036854775807}", G_INT, 0, 0, INT64_MAX, 0, NULL, INT64_MAX},
    {"{\"k\":9223372036854775808}", G_INT, 0, 0, INT64_MAX, CF_EAPI, NULL, 0},
    {"{\"k\":-9223372036854775808}", G_INT, 0, INT64_MIN, 0, 0, NULL, INT64_MIN},
    {"{\"k\":\"12\"}", G_INT, CODEC_LOOSE, 0, 20, 0, NULL, 12},
    {"{\"k\":12}", G_INT, CODEC_LOOSE, 0, 20, 0, NULL, 12},
    {"{\"k\":true}", G_BOOL, 0, 0, 0, 0, NULL, 1},
    {"{\"k\":false}", G_BOOL, 0, 0, 0, 0, NULL, 0},
    {"{\"k\":false}", G_BOOL, CODEC_LOOSE, 0, 0, 0, NULL, 0},
    {"{\"k\":\"TRUE\"}", G_BOOL, CODEC_LOOSE, 0, 0, 0, NULL, 1},
    {"{\"k\":1}", G_BOOL, CODEC_LOOSE, 0, 0, CF_EAPI, NULL, 0},
};

static void test_codec__getter_values(void **state)
{
	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(val_cases); i++) {
		const struct val_case *c = &val_cases[i];
		struct json_object *o;
		struct cf_err e;
		const char *s = NULL;
		int64_t n = -42;
		bool b = false;
		int rc = 0;
		err_clear(&e);
		assert_int_equal(codec_parse(c->doc, strlen(c->doc), &o, NULL), 0);
		if (c->g == G_STR)
			rc = codec_str(o, "", "k", c->flags, &s, &e);
		else if (c->g == G_INT)
			rc = codec_int(o, "", "k", c->flags, c->min, c->max, &n, NULL, &e);
		else
			rc = codec_bool(o, "", "k", c->flags, &b, NULL, &e);
		if (rc != c->rc)
			fail_msg("case %zu (%s): rc %d '%s', want %d", i, c->doc, rc, e.msg, c->rc);
		if (rc != 0)
			assert_true(strncmp(e.msg, "k: ", 3) == 0); /* the path names the error */
		else if (c->g == G_STR)
			assert_string_equal(s, c->want_s);
		else if (c->g == G_INT)
			assert_true(n == c->want_n);
		else
			assert_int_equal(b, c->want_n);
		codec_put(o);
	}
}

static void test_codec__path(void **state)
{
	(void)state;
	struct codec_path p, q;
	assert_string_equal(codec_path_key(&p, "", "a"), "a");
	assert_string_equal(codec_path_idx(&q, codec_path_key(&p, "x", "rules"), 3), "x.rules[3]");
	char long_key[CODEC_PATH_MAX * 2];
	memset(long_key, 'k', sizeof(long_key) - 1);
	long_key[sizeof(long_key) - 1] = 0;
	const char *s = codec_path_key(&p, "root", long_key);
	assert_int_equal(strlen(s), CODEC_PATH_MAX - 1);
	assert_string_equal(s + strlen(s) - 3, "...");
}

/* ---- the escaper ---- */

struct esc_case {
	const char *in;
	size_t n; /* bytes of in (a NUL may be among them) */
	const char *out;
};

#define E(s, o)                                                                                    \
	{                                                                                          \
		s, sizeof(s) - 1, o                                                                \
	}
static const struct esc_case esc_cases[] = {
    E("plain", "\"plain\""),
    E("q\"b\\s/", "\"q\\\"b\\\\s/\""),
    E("\n\r\t", "\"\\n\\r\\t\""),
    E("\x01\x08\x0c\x1f", "\"\\u0001\\u0008\\u000c\\u001f\""),
    E("a\0b", "\"a\\u0000b\""),
    E("\x7f", "\"\x7f\""),
    E("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""),
    E("\xff", "\"\\ufffd\""),
    E("a\x80z", "\"a\\ufffdz\""),
    E("\xc3", "\"\\ufffd\""),				       /* truncated at the end */
    E("\xe2\x82x", "\"\\ufffd\\ufffdx\""),		       /* truncated inside */
    E("\xc0\x80", "\"\\ufffd\\ufffd\""),		       /* overlong NUL */
    E("\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\""),	       /* overlong '/' */
    E("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""),	       /* surrogate */
    E("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""), /* above U+10FFFF */
};
#undef E

static void test_codec__escape(void **state)
{
	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(esc_cases); i++) {
		struct sb sb;
		sb_init(&sb, 0);
		assert_int_equal(sb_add_json_strn(&sb, esc_cases[i].in, esc_cases[i].n), 0);
		if (strcmp(sb.buf, esc_cases[i].out) != 0)
			fail_msg("case %zu: got %s, want %s", i, sb.buf, esc_cases[i].out);
		/* what it writes is JSON that reads back as a string */
		struct json_object *o;
		assert_int_equal(codec_parse(sb.buf, sb.len, &o, NULL), 0);
		assert_int_equal(codec_type_of(o), CODEC_STRING);
		codec_put(o);
		sb_release(&sb);
	}
	struct sb sb;
	sb_init(&sb, 4);
	assert_int_equal(sb_add_json_str(&sb, "abcdef"), -1); /* the cap */
	sb_release(&sb);
}

/* ---- caps ---- */

static char *nested(size_t depth)
{
	char *s = xmalloc(2 * depth + 1);
	memset(s, '[', depth);
	memset(s + depth, ']', depth);
	s[2 * depth] = 0;
	return s;
}

static void test_codec__caps(void **state)
{
	(void)state;
	struct json_object *o = NULL;
	struct cf_err e;
	char *ok = nested(CODEC_MAX_DEPTH), *deep = nested(CODEC_MAX_DEPTH + 1);
	assert_int_equal(codec_parse(ok, strlen(ok), &o, &e), 0);
	codec_put(o);
	assert_int_equal(codec_parse(deep, strlen(deep), &o, &e), CF_EAPI);
	assert_null(o);
	assert_non_null(strstr(e.msg, "too deep"));

	const char *why;
	size_t at;
	o = codec_parse_doc(ok, strlen(ok), CODEC_MAX_DEPTH, &why, &at);
	assert_non_null(o);
	codec_put(o);
	assert_null(codec_parse_doc(deep, strlen(deep), CODEC_MAX_DEPTH, &why, &at));
	assert_non_null(why);
	free(ok);
	free(deep);

	size_t big = CODEC_MAX_BODY + 1;
	char *body = xmalloc(big);
	memset(body, ' ', big);
	body[0] = '1';
	assert_int_equal(codec_parse(body, big, &o, &e), CF_ELIMIT);
	free(body);

	static const struct {
		const char *doc, *why;
	} docs[] = {{"{\"a\":", "unexpected end of input"},
		    {"  ", "empty document"},
		    {"{} x", "unexpected data after the document"},
		    {"[\"\xff\"]", "invalid utf-8 string"},
		    {"12", NULL}};
	for (size_t i = 0; i < CF_ARRAY_LEN(docs); i++) {
		o = codec_parse_doc(docs[i].doc, strlen(docs[i].doc), CODEC_MAX_DEPTH, &why, &at);
		if (docs[i].why)
			assert_string_equal(why, docs[i].why);
		else
			assert_int_equal(codec_i(o), 12);
		codec_put(o);
	}
}

/*
 * Provider answers in a row, as a plan parses them: one tokener serves them all, so a parse
 * must not see what the one before it left (a failure half-way, a deeper document), and the
 * UTF-8 check skipped for an answer of ASCII bytes must still refuse the next one's bad byte.
 */
static void test_codec__parse_in_sequence(void **state)
{
	(void)state;
	static const struct {
		const char *body;
		int rc;
		const char *msg; /* exact message, or the member "a" when rc is 0 */
	} seq[] = {
	    {"{\"a\":\"x\"}", 0, "x"},
	    {"{\"a\":[1,{\"b\":", CF_EAPI, "truncated JSON in response body"},
	    {"{\"a\":\"y\"}", 0, "y"},
	    {"{\"a\":\"\xff\"}", CF_EAPI,
	     "invalid JSON in response body at byte 6: invalid utf-8 string"},
	    {"{\"a\":\"\xc3\xa9\"}", 0, "\xc3\xa9"},
	    {"{\"a\":[[[{\"b\":1]]]}", CF_EAPI,
	     "invalid JSON in response body at byte 14: object value separator ',' expected"},
	    {"{\"a\" \"x\"}", CF_EAPI,
	     "invalid JSON in response body at byte 5: object property name separator ':' expected"},
	    {"{\"a\":\"z\"}  \n", 0, "z"},
	    {"{\"a\":\"w\"} x", CF_EAPI,
	     "invalid JSON in response body at byte 10: unexpected character"},
	    {"{\"a\":\"\\u00e9\"}", 0, "\xc3\xa9"},
	};
	for (size_t i = 0; i < CF_ARRAY_LEN(seq); i++) {
		struct json_object *o = NULL;
		struct cf_err e;
		const char *a = NULL;
		err_clear(&e);
		int rc = codec_parse_obj(seq[i].body, strlen(seq[i].body), &o, &e);
		assert_int_equal(rc, seq[i].rc);
		if (rc != 0) {
			assert_null(o);
			assert_string_equal(e.msg, seq[i].msg);
			continue;
		}
		assert_int_equal(codec_str(o, "", "a", 0, &a, &e), 0);
		assert_string_equal(a, seq[i].msg);
		codec_put(o);
	}
}

/* ---- the tree writer: json-c's layout, strings through the escaper ---- */

/* Scalars the writer prints itself (booleans, integers) are json-c's bytes, the clamped
 * int64 ends and uint64 included; indents deeper than one copy of spaces stay whole. */
static const char *const write_scalar_cases[] = {
    "[0,-1,7,-0,true,false,1.50,null]",
    "[9223372036854775807,-9223372036854775808,9223372036854775806]",
    "[18446744073709551615,-9223372036854775807]",
    "{\"a\":{\"b\":[1,{\"c\":false}]}}",
};

static void test_codec__write_scalars_and_depth(void **state)
{
	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(write_scalar_cases); i++) {
		const char *txt = write_scalar_cases[i];
		const char *why = NULL;
		size_t at = 0;
		struct json_object *v = codec_parse_doc(txt, strlen(txt), 16, &why, &at);
		assert_non_null(v);
		struct sb sb;
		sb_init(&sb, 0);
		assert_int_equal(codec_write(&sb, v, CODEC_COMPACT), 0);
		assert_string_equal(sb.buf, json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
		sb_release(&sb);
		codec_put(v);
	}
	/* 20 nested arrays: the innermost line is indented by 40 spaces */
	struct json_object *root = codec_new_arr(), *cur = root;
	for (int d = 1; d < 20; d++) {
		struct json_object *n = codec_new_arr();
		codec_push(cur, n);
		cur = n;
	}
	codec_push(cur, codec_new_int(5));
	struct sb got, want;
	sb_init(&got, 0);
	sb_init(&want, 0);
	for (int d = 0; d < 20; d++) {
		for (int k = 0; k < 2 * d; k++)
			sb_addc(&want, ' ');
		sb_adds(&want, "[\n");
	}
	for (int k = 0; k < 40; k++)
		sb_addc(&want, ' ');
	sb_adds(&want, "5");
	for (int d = 19; d >= 0; d--) {
		sb_addc(&want, '\n');
		for (int k = 0; k < 2 * d; k++)
			sb_addc(&want, ' ');
		sb_addc(&want, ']');
	}
	assert_int_equal(codec_write(&got, root, CODEC_PRETTY), 0);
	assert_string_equal(got.buf, want.buf);
	sb_release(&got);
	sb_release(&want);
	codec_put(root);
}

static void test_codec__write(void **state)
{
	(void)state;
	struct json_object *root = codec_new_obj(), *arr = codec_new_arr(), *in = codec_new_obj();
	codec_add(root, "s", codec_new_str("a\"\xff"));
	codec_add(root, "n", codec_new_int(-3));
	codec_add(root, "b", codec_new_bool(true));
	codec_add(root, "z", codec_new_str(NULL));
	codec_add(root, "eo", codec_new_obj());
	codec_add(root, "ea", codec_new_arr());
	codec_add(in, "k", codec_new_int(1));
	codec_push(arr, in);
	codec_push(arr, NULL);
	codec_add(root, "a", arr);
	struct sb sb;
	sb_init(&sb, 0);
	assert_int_equal(codec_write(&sb, root, CODEC_COMPACT), 0);
	assert_string_equal(sb.buf,
			    "{\"s\":\"a\\\"\\ufffd\",\"n\":-3,\"b\":true,\"z\":null,\"eo\":{},"
			    "\"ea\":[],\"a\":[{\"k\":1},null]}");
	sb_reset(&sb);
	assert_int_equal(codec_write(&sb, root, CODEC_PRETTY), 0);
	assert_string_equal(sb.buf, "{\n"
				    "  \"s\": \"a\\\"\\ufffd\",\n"
				    "  \"n\": -3,\n"
				    "  \"b\": true,\n"
				    "  \"z\": null,\n"
				    "  \"eo\": {\n"
				    "  },\n"
				    "  \"ea\": [\n"
				    "  ],\n"
				    "  \"a\": [\n"
				    "    {\n"
				    "      \"k\": 1\n"
				    "    },\n"
				    "    null\n"
				    "  ]\n"
				    "}");
	sb_release(&sb);
	codec_put(root);

	/* a parsed number keeps its text; codec_set_int replaces one member */
	char *t = codec_set_int("{\"x\":1.50,\"order\":2}", "order", 7);
	assert_string_equal(t, "{\"x\":1.50,\"order\":7}");
	free(t);
	assert_null(codec_set_int("[1]", "order", 7));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_codec__getter_errors), cmocka_unit_test(test_codec__path),
	    cmocka_unit_test(test_codec__escape),	 cmocka_unit_test(test_codec__caps),
	    cmocka_unit_test(test_codec__write),
	    cmocka_unit_test(test_codec__write_scalars_and_depth),
	    cmocka_unit_test(test_codec__parse_in_sequence),
	    cmocka_unit_test(test_codec__getter_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
