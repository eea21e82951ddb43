#include "reconcile/base/compat.h"
#include "cmd/fakecdn/fk_elcheck.h"
#include "reconcile/edgelogic.h"
#include "reconcile/base/xmem.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>

#define TOK_MAX	      512 /* bytes of one token kept for checks; longer ones are cut */
#define ARGS_MAX      64  /* arguments of one statement looked at */
#define DEPTH_MAX     16
#define LOCS_MAX      1024 /* top-level prefix/exact locations checked for duplicates */
#define STATUS_DIGITS 3

/* GET /cdn/systemConfigs baseDirectives and advancedDirectives, as the vendor's example lists
 * them (reference §2.6). */
static const char *const base_directives[] = {
    "location",
    "set",
    "if",
    "elseif",
    "else",
    "return",
    "break",
    "rewrite",
    "eval_func",
    "origin_pass",
    "origin_set_header",
    "origin_header_modify",
    "add_header",
    "expires",
    "proxy_cache_valid",
    "proxy_cache_min_age",
    "proxy_cache_bypass",
    "proxy_no_cache",
    "proxy_ignore_cache_control",
    "proxy_ignore_headers",
    "proxy_cache_methods",
    "proxy_cache_use_stale",
    "proxy_cache_background_update",
    "proxy_cache_max_stale",
    "proxy_cache_lock_timeout",
    "proxy_cache_convert_head",
    "proxy_hide_header",
    "proxy_pass_header",
    "proxy_set",
    "sorted_querystring_filter_parameter",
};
static const char *const advanced_directives[] = {
    "proxy_cache_vary", "proxy_request_body_in_cache_key",
    "error_page",	"origin_fast_route",
    "enable_websocket", "gzip",
    "brotli",		"sub_filter",
    "secure_link",	"include",
};

/* Argument counts nginx checks (min, max; max -1 = unbounded) for the directives with a
 * fixed shape. */
struct shape {
	const char *name;
	int min, max;
};
static const struct shape shapes[] = {
    {"origin_pass", 1, 1},
    {"proxy_cache_valid", 1, -1},
    {"proxy_cache_min_age", 1, 1},
    {"proxy_no_cache", 1, -1},
    {"proxy_cache_bypass", 1, -1},
    {"proxy_ignore_headers", 1, -1},
    {"proxy_ignore_cache_control", 1, -1},
    {"expires", 1, 2},
    {"set", 2, 2},
    {"return", 1, 2},
    {"rewrite", 2, 3},
    {"break", 0, 0},
    {"add_header", 2, -1},
    {"location", 1, 2},
    {"proxy_cache_lock_timeout", 1, 1},
};

enum blk { BLK_SERVER, BLK_LOCATION, BLK_IF, BLK_OTHER };

struct frame {
	enum blk kind;
	bool exact; /* location = */
	bool origin_pass, ret, brk;
	bool top_if;
	unsigned line;
	char pattern[TOK_MAX];
};

struct tok {
	char s[TOK_MAX]; /* unquoted, cut at TOK_MAX - 1 */
	bool special;	 /* one of ; { } (unquoted) */
	unsigned line;
};

struct chk {
	const char *text;
	size_t len, pos;
	unsigned line;
	const char *const *origins, *const *allowed;
	size_t norigins, nallowed;
	struct fk_el_report *out;
	struct frame st[DEPTH_MAX + 1];
	int depth;
	bool has_root;
	char (*locs)[TOK_MAX + 2];
	size_t nlocs;
};

static bool in_list(const char *const *l, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (l[i] && strcmp(l[i], name) == 0)
			return true;
	return false;
}

bool fk_el_base_directive(const char *name)
{
	return in_list(base_directives, CF_ARRAY_LEN(base_directives), name);
}

bool fk_el_advanced_directive(const char *name)
{
	return in_list(advanced_directives, CF_ARRAY_LEN(advanced_directives), name);
}

const char *const *fk_el_directives(bool advanced, size_t *n)
{
	*n = advanced ? CF_ARRAY_LEN(advanced_directives) : CF_ARRAY_LEN(base_directives);
	return advanced ? advanced_directives : base_directives;
}

/* The first asynchronous failure wins: nginx stops at the first error. */
static void fail(struct chk *c, unsigned line, const char *fmt, ...) CF_PRINTF(3, 4);
static void fail(struct chk *c, unsigned line, const char *fmt, ...)
{
	char msg[FK_EL_MSG_MAX / 2];
	va_list ap;

	if (c->out->failed)
		return;
	c->out->failed = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(c->out->details, sizeof(c->out->details), "%s in %s:%u", msg, FK_EL_CONF_FILE,
		 line + FK_EL_CONF_LINE_OFFSET);
}

static void sync_err(struct chk *c, const char *code, const char *msg)
{
	if (c->out->code)
		return;
	c->out->code = code;
	snprintf(c->out->message, sizeof(c->out->message), "%s", msg);
}

static void rules_err(struct chk *c, unsigned line, const char *what)
{
	char msg[FK_EL_MSG_MAX];

	snprintf(msg, sizeof(msg),
		 "Invalid Edge Logic: (a) every location must contain origin_pass or return "
		 "directly, (c) a top-level if must contain return and no origin_pass, (d) a "
		 "default location (location /) is required. Line %u: %s.",
		 line, what);
	sync_err(c, "InvalidEdgeLogic", msg);
}

/* Reads one token: 1, 0 at the end, -1 on an unterminated quote (failure recorded). */
static int next_tok(struct chk *c, struct tok *t)
{
	const char *s = c->text;
	size_t n = 0;

	for (;;) {
		while (c->pos < c->len && isspace((unsigned char)s[c->pos])) {
			c->line += s[c->pos] == '\n';
			c->pos++;
		}
		if (c->pos >= c->len)
			return 0;
		if (s[c->pos] != '#')
			break;
		while (c->pos < c->len && s[c->pos] != '\n')
			c->pos++;
	}
	t->line = c->line;
	t->special = strchr(";{}", s[c->pos]) != NULL;
	if (t->special) {
		t->s[0] = s[c->pos++];
		t->s[1] = '\0';
		return 1;
	}
	if (s[c->pos] == '"' || s[c->pos] == '\'') {
		char q = s[c->pos++];

		while (c->pos < c->len && s[c->pos] != q) {
			if (s[c->pos] == '\\' && c->pos + 1 < c->len)
				c->pos++;
			c->line += s[c->pos] == '\n';
			if (n < TOK_MAX - 1)
				t->s[n++] = s[c->pos];
			c->pos++;
		}
		t->s[n] = '\0';
		if (c->pos >= c->len) {
			fail(c, t->line, "unexpected end of file, expecting a closing quote");
			return -1;
		}
		c->pos++;
		return 1;
	}
	while (c->pos < c->len && !isspace((unsigned char)s[c->pos]) && !strchr(";{}", s[c->pos])) {
		if (s[c->pos] == '\\' && c->pos + 1 < c->len)
			c->pos++;
		if (n < TOK_MAX - 1)
			t->s[n++] = s[c->pos];
		c->pos++;
	}
	t->s[n] = '\0';
	return 1;
}

static bool is_status(const char *s)
{
	if (strcmp(s, "any") == 0)
		return true;
	if (strlen(s) != STATUS_DIGITS)
		return false;
	for (int i = 0; i < STATUS_DIGITS; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return s[0] >= '1' && s[0] <= '5';
}

static bool is_time(const char *s)
{
	int64_t v;

	return s[0] == '$' || el_time(s, &v) == 0;
}

static void check_names(struct chk *c, const char *name)
{
	char msg[FK_EL_MSG_MAX];

	if (fk_el_base_directive(name))
		return;
	if (fk_el_advanced_directive(name)) {
		if (in_list(c->allowed, c->nallowed, name))
			return;
		snprintf(msg, sizeof(msg),
			 "The directive '%.200s' is not enabled for your account. Please contact "
			 "our support team if you require it.",
			 name);
		sync_err(c, "UnauthorizedDirective", msg);
		return;
	}
	snprintf(msg, sizeof(msg),
		 "An invalid directive '%.200s' was found in your Edge Logic. Please refer to the "
		 "API documentation for a list of supported directives.",
		 name);
	sync_err(c, "InvalidDirective", msg);
}

static void check_shape(struct chk *c, struct tok *args, int nargs, unsigned line)
{
	const char *name = args[0].s;

	for (size_t i = 0; i < CF_ARRAY_LEN(shapes); i++) {
		if (strcmp(shapes[i].name, name) != 0)
			continue;
		if (nargs - 1 < shapes[i].min || (shapes[i].max >= 0 && nargs - 1 > shapes[i].max))
			fail(c, line, "invalid number of arguments in \"%s\" directive", name);
	}
	if (strcmp(name, "proxy_cache_valid") == 0 && nargs > 1) {
		for (int i = 1; i < nargs - 1; i++)
			if (!is_status(args[i].s))
				fail(c, line, "invalid status \"%s\"", args[i].s);
		if (!is_time(args[nargs - 1].s))
			fail(c, line, "invalid time value \"%s\"", args[nargs - 1].s);
	}
	if ((strcmp(name, "proxy_cache_min_age") == 0 ||
	     strcmp(name, "proxy_cache_lock_timeout") == 0) &&
	    nargs == 2 && !is_time(args[1].s))
		fail(c, line, "invalid time value \"%s\"", args[1].s);
	if (strcmp(name, "origin_pass") == 0 && nargs == 2 && args[1].s[0] != '$' &&
	    !in_list(c->origins, c->norigins, args[1].s))
		fail(c, line, "origin \"%s\" is not defined in the property's origins", args[1].s);
}

/* A statement ending in ';' inside the current block. */
static void simple(struct chk *c, struct tok *args, int nargs)
{
	struct frame *f = &c->st[c->depth];
	const char *name = args[0].s;

	check_names(c, name);
	check_shape(c, args, nargs, args[0].line);
	if (strcmp(name, "origin_pass") == 0)
		f->origin_pass = true;
	else if (strcmp(name, "return") == 0)
		f->ret = true;
	else if (strcmp(name, "break") == 0)
		f->brk = true;
	if (f->kind == BLK_IF && strcmp(name, "proxy_cache_valid") == 0)
		fail(c, args[0].line, "\"%s\" directive is not allowed here", name);
	if (strcmp(name, "location") == 0)
		fail(c, args[0].line, "directive \"%s\" has no opening \"{\"", name);
}

/* The key under which two top-level locations are "duplicate location" (nginx: the same
 * exact name twice, or the same prefix with or without ^~); "" for regexes and names. */
static void loc_key(const struct tok *args, int nargs, char out[TOK_MAX + 2])
{
	const char *mod = nargs == 3 ? args[1].s : "", *pat = args[nargs - 1].s;

	out[0] = '\0';
	if (strcmp(mod, "=") == 0)
		snprintf(out, TOK_MAX + 2, "=%s", pat);
	else if ((!*mod || strcmp(mod, "^~") == 0) && pat[0] != '@')
		snprintf(out, TOK_MAX + 2, "/%s", pat);
}

static void open_location(struct chk *c, struct tok *args, int nargs, struct frame *nf)
{
	struct frame *parent = &c->st[c->depth];
	const char *mod = nargs == 3 ? args[1].s : "";
	char key[TOK_MAX + 2];

	nf->kind = BLK_LOCATION;
	if (nargs < 2 || nargs > 3) {
		fail(c, args[0].line, "invalid number of arguments in \"%s\" directive",
		     "location");
		return;
	}
	if (*mod && strcmp(mod, "=") && strcmp(mod, "~") && strcmp(mod, "~*") && strcmp(mod, "^~"))
		fail(c, args[0].line, "invalid location modifier \"%s\"", mod);
	nf->exact = strcmp(mod, "=") == 0;
	snprintf(nf->pattern, sizeof(nf->pattern), "%s", args[nargs - 1].s);
	if (parent->kind == BLK_LOCATION && parent->exact)
		fail(c, args[0].line, "location \"%s\" cannot be inside the exact location \"%s\"",
		     nf->pattern, parent->pattern);
	if (parent->kind == BLK_IF)
		fail(c, args[0].line, "\"%s\" directive is not allowed here", "location");
	if (c->depth != 0)
		return;
	if (!*mod && strcmp(nf->pattern, "/") == 0)
		c->has_root = true;
	loc_key(args, nargs, key);
	if (!*key)
		return;
	for (size_t i = 0; i < c->nlocs; i++)
		if (strcmp(c->locs[i], key) == 0) {
			fail(c, args[0].line, "duplicate location \"%s\"", nf->pattern);
			return;
		}
	if (c->nlocs < LOCS_MAX)
		memcpy(c->locs[c->nlocs++], key, sizeof(key));
}

/* A statement ending in '{': pushes its block. */
static bool open_block(struct chk *c, struct tok *args, int nargs)
{
	const char *name = args[0].s;
	struct frame nf;

	check_names(c, name);
	memset(&nf, 0, sizeof(nf));
	nf.line = args[0].line;
	nf.kind = BLK_OTHER;
	if (strcmp(name, "location") == 0) {
		open_location(c, args, nargs, &nf);
	} else if (strcmp(name, "if") == 0 || strcmp(name, "elseif") == 0 ||
		   strcmp(name, "else") == 0) {
		nf.kind = BLK_IF;
		nf.top_if = c->depth == 0;
	}
	if (c->depth >= DEPTH_MAX) {
		fail(c, args[0].line, "too deeply nested blocks");
		return false;
	}
	c->st[++c->depth] = nf;
	return true;
}

static void close_block(struct chk *c)
{
	struct frame *f = &c->st[c->depth];

	if (f->kind == BLK_LOCATION && !f->origin_pass && !f->ret)
		rules_err(c, f->line, "a location without origin_pass or return");
	if (f->kind == BLK_LOCATION && f->brk && !f->origin_pass)
		rules_err(c, f->line, "a location with break but without origin_pass");
	if (f->kind == BLK_IF && f->top_if && (f->origin_pass || !f->ret))
		rules_err(c, f->line, "a top-level if needs return and no origin_pass");
	c->depth--;
}

void fk_el_check(const char *text, size_t len, const char *const *origins, size_t norigins,
		 const char *const *allowed, size_t nallowed, struct fk_el_report *out)
{
	/* On the heap: a token is TOK_MAX bytes and a statement has up to ARGS_MAX of them. */
	char(*locs)[TOK_MAX + 2] = xcalloc(LOCS_MAX, sizeof(*locs));
	struct tok *args = xcalloc(ARGS_MAX + 1, sizeof(*args)), t;
	struct chk *c = xcalloc(1, sizeof(*c));
	int nargs = 0, rc;

	memset(out, 0, sizeof(*out));
	*c = (struct chk){.text = text,
			  .len = len,
			  .line = 1,
			  .origins = origins,
			  .allowed = allowed,
			  .norigins = norigins,
			  .nallowed = nallowed,
			  .out = out,
			  .locs = locs};
	while ((rc = next_tok(c, &t)) > 0) {
		if (!t.special) {
			if (nargs <= ARGS_MAX)
				args[nargs++] = t;
			continue;
		}
		if (t.s[0] == ';' || t.s[0] == '{') {
			if (nargs == 0) {
				fail(c, t.line, "unexpected \"%s\"", t.s);
				break;
			}
			out->directives++;
			if (t.s[0] == ';')
				simple(c, args, nargs);
			else if (!open_block(c, args, nargs))
				break;
			nargs = 0;
			continue;
		}
		if (nargs > 0 || c->depth == 0) {
			fail(c, t.line, "unexpected \"%s\"", "}");
			break;
		}
		close_block(c);
	}
	if (rc == 0 && nargs > 0)
		fail(c, c->line, "unexpected end of file, expecting \";\" or \"}\"");
	else if (rc == 0 && c->depth > 0)
		fail(c, c->line, "unexpected end of file, expecting \"}\"");
	if (rc == 0 && !c->out->failed && !c->has_root)
		rules_err(c, c->line, "no location /");
	if (len > EL_TEXT_MAX)
		sync_err(c, "InvalidEdgeLogic", "The edgeLogic is longer than 65530 characters.");
	free(locs);
	free(args);
	free(c);
}
