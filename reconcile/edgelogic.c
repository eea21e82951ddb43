/*
 * Edge Logic subset: tokenizer and parser (nginx's ngx_conf_read_token rules: '#' starts a
 * comment only at a token boundary, quotes with backslash escapes, "${var}" inside a word),
 * the region markers, the compiler from a rule list, the region replacement.
 */
#include "reconcile/base/compat.h"
#include "reconcile/edgelogic.h"

#include <strings.h>
#include <openssl/evp.h>

#include "reconcile/base/xmem.h"

#define EL_SB_MAX     ((size_t)EL_TEXT_MAX * 4) /* compiled region + foreign text */
#define EL_TOKEN_MAX  4096			/* one token's bytes */
#define EL_TTL_MAX    INT64_C(3153600000)	/* 100 years, as the model's bound */
#define EL_INDENT     "  "
#define EL_QS_KEY_DIR "set $cache_misc \"?$sorted_querystring_args\";"
/* characters a rule item may hold that a PCRE pattern must escape */
static const char re_meta[] = "\\.+*?()[]{}|^$";

enum tok_kind { T_WORD, T_SEMI, T_OPEN, T_CLOSE, T_EOF };

struct tok {
	enum tok_kind kind;
	char *val; /* owned: the unescaped word (T_WORD) */
	bool quoted;
	unsigned line;
};

struct lexer {
	const char *s;
	size_t n, i;
	unsigned line;
	int depth;
	struct el_doc *doc;
	struct cf_err *e;
	bool have_begin, have_end;
	size_t hash_at; /* offset of the recorded hex hash */
};

/* What one block says about caching; unset fields inherit from the server level. */
struct cache_ctx {
	bool valid_set, ign_set, nocache_set;
	int64_t ttl;
	bool ign_cc, nocache, uncertain;
};

static int lex_err(struct lexer *lx, const char *what)
{
	return err_set(lx->e, CF_EINVAL, "edgeLogic line %u: %s", lx->line, what);
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool at_line_start(const struct lexer *lx, size_t at)
{
	while (at > 0 && (lx->s[at - 1] == ' ' || lx->s[at - 1] == '\t'))
		at--;
	return at == 0 || lx->s[at - 1] == '\n';
}

static size_t line_start(const struct lexer *lx, size_t at)
{
	while (at > 0 && lx->s[at - 1] != '\n')
		at--;
	return at;
}

static bool is_hex_run(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* A comment from lx->i (at '#') to the end of its line; markers are checked here. */
static int lex_comment(struct lexer *lx)
{
	size_t start = lx->i, end = start;
	while (end < lx->n && lx->s[end] != '\n')
		end++;
	const char *c = lx->s + start;
	size_t cn = end - start, bl = strlen(EL_BEGIN), el = strlen(EL_END);
	bool begin = cn >= strlen("# cacheform:begin") && strncmp(c, "# cacheform:begin", 17) == 0;
	bool endm = cn >= el && strncmp(c, EL_END, el) == 0;
	lx->i = end;
	if (!begin && !endm)
		return 0;
	if (lx->depth != 1 || !at_line_start(lx, start))
		return lex_err(lx, "a cacheform marker must be a line of its own at top level");
	if (begin) {
		if (lx->have_begin)
			return lex_err(lx, "a second cacheform region");
		if (cn < bl + EL_HASH_HEX || strncmp(c, EL_BEGIN, bl) != 0 ||
		    !is_hex_run(c + bl, EL_HASH_HEX))
			return lex_err(lx, "malformed '# cacheform:begin v1 sha256=<hex>' marker");
		lx->have_begin = true;
		lx->doc->region_begin = line_start(lx, start);
		lx->doc->body_begin = end < lx->n ? end + 1 : end;
		lx->hash_at = start + bl;
		return 0;
	}
	if (!lx->have_begin || lx->have_end)
		return lex_err(lx, "'# cacheform:end' without a region to end");
	lx->have_end = true;
	lx->doc->body_end = line_start(lx, start);
	lx->doc->region_end = end < lx->n ? end + 1 : end;
	return 0;
}

/* Unescapes what nginx unescapes inside quotes: \" \' \\ \t \r \n; keeps other pairs. */
static void add_escaped(struct sb *w, char c)
{
	switch (c) {
	case 't':
		sb_addc(w, '\t');
		break;
	case 'r':
		sb_addc(w, '\r');
		break;
	case 'n':
		sb_addc(w, '\n');
		break;
	case '"':
	case '\'':
	case '\\':
		sb_addc(w, c);
		break;
	default:
		sb_addc(w, '\\');
		sb_addc(w, c);
	}
}

static int lex_quoted(struct lexer *lx, struct tok *t, struct sb *w)
{
	char q = lx->s[lx->i++];
	t->quoted = true;
	while (lx->i < lx->n && lx->s[lx->i] != q) {
		char c = lx->s[lx->i++];
		if (c == '\n')
			lx->line++;
		if (c == '\\' && lx->i < lx->n)
			add_escaped(w, lx->s[lx->i++]);
		else
			sb_addc(w, c);
	}
	if (lx->i >= lx->n)
		return lex_err(lx, "unterminated quoted string");
	lx->i++;
	if (lx->i < lx->n && !is_space(lx->s[lx->i]) && !strchr(";{})", lx->s[lx->i]))
		return lex_err(lx, "unexpected character after a quoted string");
	return 0;
}

static void lex_word(struct lexer *lx, struct sb *w)
{
	while (lx->i < lx->n) {
		char c = lx->s[lx->i];
		bool var_brace = c == '{' && lx->i > 0 && lx->s[lx->i - 1] == '$';
		if (is_space(c) || c == ';' || c == '}' || (c == '{' && !var_brace))
			break;
		if (c == '\\' && lx->i + 1 < lx->n) {
			add_escaped(w, lx->s[lx->i + 1]);
			lx->i += 2;
			continue;
		}
		if (var_brace) {
			while (lx->i < lx->n && lx->s[lx->i] != '}')
				sb_addc(w, lx->s[lx->i++]);
			if (lx->i >= lx->n)
				break;
		}
		sb_addc(w, lx->s[lx->i++]);
	}
}

/* The next token; comments and whitespace are skipped. */
static int lex_next(struct lexer *lx, struct tok *t)
{
	memset(t, 0, sizeof(*t));
	for (;;) {
		while (lx->i < lx->n && is_space(lx->s[lx->i]))
			lx->line += lx->s[lx->i++] == '\n';
		if (lx->i >= lx->n || lx->s[lx->i] != '#')
			break;
		int rc = lex_comment(lx);
		if (rc != 0)
			return rc;
	}
	t->line = lx->line;
	if (lx->i >= lx->n) {
		t->kind = T_EOF;
		return 0;
	}
	char c = lx->s[lx->i];
	if (c == ';' || c == '{' || c == '}') {
		lx->i++;
		t->kind = c == ';' ? T_SEMI : c == '{' ? T_OPEN : T_CLOSE;
		return 0;
	}
	struct sb w;
	sb_init(&w, EL_TOKEN_MAX);
	int rc = (c == '"' || c == '\'') ? lex_quoted(lx, t, &w) : (lex_word(lx, &w), 0);
	if (rc == 0 && w.len >= EL_TOKEN_MAX - 1)
		rc = lex_err(lx, "token too long");
	t->kind = T_WORD;
	t->val = sb_detach(&w);
	if (!t->val)
		t->val = xstrdup("");
	if (rc != 0) {
		free(t->val);
		t->val = NULL;
	}
	return rc;
}

/* ---- statements ---- */

struct stmt {
	char *argv[EL_ARGS_MAX];
	size_t argc;
	enum tok_kind end; /* T_SEMI, T_OPEN, T_CLOSE (argc 0) or T_EOF (argc 0) */
	unsigned line;
	size_t start; /* byte offset of the first token's line */
};

static void stmt_release(struct stmt *st)
{
	for (size_t i = 0; i < st->argc; i++)
		free(st->argv[i]);
	st->argc = 0;
}

static int read_stmt(struct lexer *lx, struct stmt *st)
{
	struct tok t;
	memset(st, 0, sizeof(*st));
	for (;;) {
		size_t before = lx->i;
		int rc = lex_next(lx, &t);
		if (rc != 0)
			return rc;
		if (st->argc == 0) {
			st->line = t.line;
			while (before < lx->n && is_space(lx->s[before]))
				before++;
			st->start = line_start(lx, before);
		}
		if (t.kind != T_WORD) {
			st->end = t.kind;
			if (st->argc && (t.kind == T_CLOSE || t.kind == T_EOF))
				return lex_err(lx, "directive without ';'");
			return 0;
		}
		if (st->argc == EL_ARGS_MAX) {
			free(t.val);
			return lex_err(lx, "too many arguments");
		}
		st->argv[st->argc++] = t.val;
	}
}

/* ---- cache directives ---- */

int el_time(const char *s, int64_t *out)
{
	static const struct {
		char u;
		int64_t mul;
	} units[] = {{'s', 1},	    {'m', 60},	    {'h', 3600},    {'d', 86400},
		     {'w', 604800}, {'M', 2592000}, {'y', 31536000}};
	int64_t total = 0;
	if (!*s)
		return -1;
	while (*s) {
		int64_t v = 0;
		if (*s < '0' || *s > '9')
			return -1;
		while (*s >= '0' && *s <= '9') {
			v = v * 10 + (*s++ - '0');
			if (v > EL_TTL_MAX)
				return -1;
		}
		int64_t mul = 1;
		if (*s) {
			size_t k = 0;
			while (k < CF_ARRAY_LEN(units) && units[k].u != *s)
				k++;
			if (k == CF_ARRAY_LEN(units))
				return -1;
			mul = units[k].mul;
			s++;
		}
		total += v * mul;
		if (total > EL_TTL_MAX)
			return -1;
	}
	*out = total;
	return 0;
}

static bool has_var(const char *s)
{
	return strchr(s, '$') != NULL;
}

/* proxy_cache_valid [code ...] time: no codes = 200 301 302 (the 200 is what we model) */
static void on_valid(const struct stmt *st, struct cache_ctx *cc)
{
	int64_t t;
	bool covers = st->argc == 2;
	for (size_t i = 1; i + 1 < st->argc; i++)
		covers |= strcmp(st->argv[i], "200") == 0 || strcmp(st->argv[i], "any") == 0;
	if (st->argc > 2)
		cc->uncertain = true;
	if (!covers)
		return;
	if (st->argc < 2 || el_time(st->argv[st->argc - 1], &t) != 0) {
		cc->uncertain = true;
		return;
	}
	cc->valid_set = true;
	cc->ttl = t;
}

static void on_directive(const struct stmt *st, struct cache_ctx *cc)
{
	const char *d = st->argv[0];
	if (strcmp(d, "proxy_cache_valid") == 0) {
		on_valid(st, cc);
	} else if (strcmp(d, "proxy_ignore_headers") == 0) {
		cc->ign_set = true;
		for (size_t i = 1; i < st->argc; i++)
			cc->ign_cc |= strcasecmp(st->argv[i], "Cache-Control") == 0 ||
				      strcasecmp(st->argv[i], "Expires") == 0;
	} else if (strcmp(d, "proxy_no_cache") == 0) {
		cc->nocache_set = true;
		for (size_t i = 1; i < st->argc; i++) {
			cc->uncertain |= has_var(st->argv[i]);
			cc->nocache |= !has_var(st->argv[i]) && st->argv[i][0] &&
				       strcmp(st->argv[i], "0") != 0;
		}
	} else if (strcmp(d, "proxy_cache_min_age") == 0 ||
		   strcmp(d, "proxy_ignore_cache_control") == 0 ||
		   strcmp(d, "origin_header_modify") == 0 || strcmp(d, "proxy_set") == 0) {
		/* TTL sources this model does not follow */
		cc->uncertain = true;
	}
}

static void resolve_cache(const struct cache_ctx *srv, const struct cache_ctx *loc,
			  struct el_location *l)
{
	struct cache_ctx c = *loc;
	if (!c.valid_set && srv->valid_set)
		c.valid_set = true, c.ttl = srv->ttl;
	if (!c.ign_set)
		c.ign_cc = srv->ign_cc;
	if (!c.nocache_set)
		c.nocache = srv->nocache;
	l->uncertain |= c.uncertain || srv->uncertain;
	l->ttl = 0;
	if (c.nocache || (c.valid_set && c.ttl == 0)) {
		l->cache = EL_BYPASS;
	} else if (c.valid_set) {
		l->cache = c.ign_cc ? EL_OVERRIDE : EL_IF_MISSING;
		l->ttl = c.ttl;
	} else {
		/* ignoring Cache-Control with no proxy_cache_valid: not cached, per §3.3 */
		l->cache = c.ign_cc ? EL_BYPASS : EL_ORIGIN;
		l->uncertain |= c.ign_cc;
	}
}

/* ---- blocks ---- */

/* The cache context of each top-level location, by index (resolved at the end). */
struct loc_ctxs {
	struct cache_ctx *v;
	size_t n, cap;
};

static int parse_block(struct lexer *lx, struct cache_ctx *cc, bool in_location);

/* Skips or reads a nested block; returns whether it held a cache directive. */
static int nested_block(struct lexer *lx, bool *has_cache)
{
	struct cache_ctx inner = {0};
	int rc = parse_block(lx, &inner, true);
	*has_cache = inner.valid_set || inner.ign_set || inner.nocache_set || inner.uncertain;
	return rc;
}

/* Length of a modifier glued to the start of a ("~*" before "~"), 0 when none. */
static size_t glued_modifier(const char *a, enum el_match *m)
{
	static const struct {
		const char *mod;
		enum el_match m;
	} glued[] = {{"^~", EL_PREFIX_STOP}, {"~*", EL_REGEX_CI}, {"=", EL_EXACT}, {"~", EL_REGEX}};
	for (size_t k = 0; k < CF_ARRAY_LEN(glued); k++) {
		size_t n = strlen(glued[k].mod);
		if (strncmp(a, glued[k].mod, n) == 0) {
			*m = glued[k].m;
			return n;
		}
	}
	return 0;
}

static int location_args(struct lexer *lx, const struct stmt *st, struct el_location *l)
{
	static const struct {
		const char *mod;
		enum el_match m;
	} mods[] = {{"=", EL_EXACT}, {"^~", EL_PREFIX_STOP}, {"~", EL_REGEX}, {"~*", EL_REGEX_CI}};
	memset(l, 0, sizeof(*l));
	l->line = st->line;
	if (st->argc == 2) {
		/* nginx also takes the modifier glued to the pattern: "=/x", "^~/x", "~*re" */
		const char *a = st->argv[1];
		size_t skip = glued_modifier(a, &l->match);
		if (!a[skip])
			return lex_err(lx, "location needs [= | ^~ | ~ | ~*] and one pattern");
		if (skip == 0)
			l->match = a[0] == '@' ? EL_NAMED : EL_PREFIX;
		l->pattern = xstrdup(a + skip);
		return 0;
	}
	for (size_t k = 0; st->argc == 3 && k < CF_ARRAY_LEN(mods); k++)
		if (strcmp(st->argv[1], mods[k].mod) == 0) {
			l->match = mods[k].m;
			l->pattern = xstrdup(st->argv[2]);
			return 0;
		}
	return lex_err(lx, "location needs [= | ^~ | ~ | ~*] and one pattern");
}

static void add_location(struct el_doc *d, const struct el_location *l)
{
	xgrow(&d->locs, &d->cap, d->n + 1, sizeof(*d->locs));
	d->locs[d->n++] = *l;
}

static int statement(struct lexer *lx, struct stmt *st, struct cache_ctx *cc, bool in_location,
		     struct loc_ctxs *lcs)
{
	bool nested_cache = false;
	int rc = 0;
	if (st->argc == 0)
		return st->end == T_OPEN ? lex_err(lx, "block without a name") : 0;
	if (strcmp(st->argv[0], "location") == 0 && !in_location) {
		size_t before = lx->doc->n;
		struct cache_ctx lc = {0};
		struct el_location l;
		if (st->end != T_OPEN)
			return lex_err(lx, "location without a block");
		rc = location_args(lx, st, &l);
		if (rc == 0)
			rc = parse_block(lx, &lc, true);
		if (rc != 0) {
			free(l.pattern);
			return rc;
		}
		l.owned = lx->have_begin && !lx->have_end && st->start >= lx->doc->region_begin;
		add_location(lx->doc, &l);
		xgrow(&lcs->v, &lcs->cap, before + 1, sizeof(*lcs->v));
		lcs->v[before] = lc;
		lcs->n = before + 1;
		return 0;
	}
	if (st->end == T_OPEN) {
		/* nested location, if, or another block: its cache directives are conditional */
		rc = nested_block(lx, &nested_cache);
		if (cc && (nested_cache || strcmp(st->argv[0], "location") == 0))
			cc->uncertain = true;
		return rc;
	}
	if (cc)
		on_directive(st, cc);
	return 0;
}

static int parse_block_into(struct lexer *lx, struct cache_ctx *cc, bool in_location,
			    struct loc_ctxs *lcs)
{
	struct stmt st;
	if (++lx->depth > EL_DEPTH_MAX)
		return lex_err(lx, "blocks nested too deep");
	for (;;) {
		int rc = read_stmt(lx, &st);
		if (rc == 0 && st.argc == 0 && st.end == T_CLOSE) {
			if (lx->depth == 1)
				return lex_err(lx, "unexpected '}'");
			lx->depth--;
			return 0;
		}
		if (rc == 0 && st.argc == 0 && st.end == T_EOF) {
			if (lx->depth > 1)
				return lex_err(lx, "missing '}'");
			lx->depth--;
			return 0;
		}
		if (rc == 0)
			rc = statement(lx, &st, cc, in_location, lcs);
		stmt_release(&st);
		if (rc != 0)
			return rc;
	}
}

static int parse_block(struct lexer *lx, struct cache_ctx *cc, bool in_location)
{
	struct loc_ctxs none = {0};
	int rc = parse_block_into(lx, cc, in_location, &none);
	free(none.v);
	return rc;
}

void el_hash(const char *body, size_t len, char hex[EL_HASH_HEX + 1])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	if (!EVP_Digest(body, len, md, &n, EVP_sha256(), NULL) || n != 32)
		xmem_oom("hashing Edge Logic");
	for (unsigned i = 0; i < n; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[EL_HASH_HEX] = '\0';
}

static void finish(struct lexer *lx, const struct cache_ctx *srv, const struct loc_ctxs *lcs)
{
	struct el_doc *d = lx->doc;
	for (size_t i = 0; i < d->n; i++) {
		resolve_cache(srv, &lcs->v[i], &d->locs[i]);
		if (d->locs[i].match == EL_PREFIX && strcmp(d->locs[i].pattern, "/") == 0) {
			d->has_root = true;
			d->root_foreign |= !d->locs[i].owned;
		}
	}
	d->has_region = lx->have_begin;
	if (d->has_region) {
		char hex[EL_HASH_HEX + 1];
		el_hash(lx->s + d->body_begin, d->body_end - d->body_begin, hex);
		d->hash_ok = memcmp(hex, lx->s + lx->hash_at, EL_HASH_HEX) == 0;
	}
}

int el_parse(const char *text, size_t len, struct el_doc *out, struct cf_err *e)
{
	struct lexer lx = {.s = text, .n = len, .line = 1, .doc = out, .e = e};
	struct cache_ctx srv = {0};
	struct loc_ctxs lcs = {0};
	memset(out, 0, sizeof(*out));
	int rc = len > EL_TEXT_MAX
		     ? err_set(e, CF_EINVAL, "edgeLogic is %zu bytes, over the limit of %d", len,
			       EL_TEXT_MAX)
		     : 0;
	if (rc == 0 && memchr(text, '\0', len))
		rc = err_set(e, CF_EINVAL, "edgeLogic contains a NUL byte");
	if (rc == 0)
		rc = parse_block_into(&lx, &srv, false, &lcs);
	if (rc == 0 && lx.have_begin && !lx.have_end)
		rc = err_set(e, CF_EINVAL,
			     "edgeLogic: '# cacheform:begin' without '# cacheform:end'");
	if (rc == 0)
		finish(&lx, &srv, &lcs);
	free(lcs.v);
	if (rc != 0)
		el_doc_release(out);
	return rc;
}

void el_doc_release(struct el_doc *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->locs[i].pattern);
	free(d->locs);
	memset(d, 0, sizeof(*d));
}

/* ---- compiling a rule list ---- */

/* cacheform's meaning of one item (SPEC §2.2) */
static bool item_matches(enum rule_kind k, const char *item, const char *path)
{
	size_t n = strlen(item);
	if (k == RULE_PATH)
		return strcmp(item, path) == 0;
	if (k == RULE_DIR) {
		if (strncmp(path, item, n) != 0)
			return false;
		return item[n - 1] == '/' || path[n] == '/';
	}
	const char *seg = strrchr(path, '/');
	seg = seg ? seg + 1 : path;
	size_t sl = strlen(seg);
	return sl > n && seg[sl - n - 1] == '.' && strcasecmp(seg + sl - n, item) == 0;
}

static bool decided_before(const struct cache *c, size_t upto, const char *path)
{
	for (size_t r = 0; r < upto; r++)
		for (size_t i = 0; i < c->rules[r].items.n; i++)
			if (item_matches(c->rules[r].kind, c->rules[r].items.v[i].s, path))
				return true;
	return false;
}

/* A double-quoted nginx string. nginx unescapes only \" \' \\ \t \r \n there, so a
 * backslash before anything else (a regex's "\.") is written as it is. */
static void add_quoted(struct sb *out, const char *s)
{
	sb_addc(out, '"');
	for (; *s; s++) {
		if (*s == '"' || (*s == '\\' && (!s[1] || strchr("\"'\\trn", s[1]))))
			sb_addc(out, '\\');
		sb_addc(out, *s);
	}
	sb_addc(out, '"');
}

/* The PCRE pattern (before nginx quoting) of one dir or suffix item. */
static void item_regex(enum rule_kind k, const char *item, struct sb *re)
{
	size_t n = strlen(item);
	if (k == RULE_SUFFIX)
		sb_adds(re, "\\.");
	else
		sb_addc(re, '^');
	for (size_t i = 0; i < n; i++) {
		if (strchr(re_meta, item[i]))
			sb_addc(re, '\\');
		sb_addc(re, item[i]);
	}
	if (k == RULE_SUFFIX)
		sb_addc(re, '$');
	else if (item[n - 1] != '/')
		sb_addc(re, '/');
}

static void add_time(struct sb *out, int64_t s)
{
	if (s % 86400 == 0)
		sb_addf(out, "%lldd", (long long)(s / 86400));
	else if (s % 3600 == 0)
		sb_addf(out, "%lldh", (long long)(s / 3600));
	else if (s % 60 == 0)
		sb_addf(out, "%lldm", (long long)(s / 60));
	else
		sb_addf(out, "%llds", (long long)s);
}

/* The body of a managed location: the cache directives for ttl, then origin_pass. */
static void add_body(struct sb *out, const struct cache *c, const struct rule *ru,
		     const char *origin)
{
	sb_adds(out, " {\n");
	if (ru && ru->ttl == 0) {
		sb_adds(out, EL_INDENT "proxy_no_cache 1;\n" EL_INDENT "proxy_cache_bypass 1;\n");
	} else if (ru) {
		bool icc = rule_ignores_cc(c, ru);
		if (icc || c->ignore_cookie)
			sb_addf(out, EL_INDENT "proxy_ignore_headers%s%s;\n",
				icc ? " X-Accel-Expires Cache-Control" : "",
				c->ignore_cookie ? " Set-Cookie" : "");
		sb_adds(out, EL_INDENT "proxy_cache_valid ");
		add_time(out, ru->ttl);
		sb_adds(out, ";\n");
	}
	if (!c->ignore_query_string)
		sb_adds(out, EL_INDENT EL_QS_KEY_DIR "\n");
	sb_adds(out, EL_INDENT "origin_pass ");
	add_quoted(out, origin);
	sb_adds(out, ";\n}\n");
}

static void compile_rule(const struct cache *c, size_t r, const char *origin, struct sb *out)
{
	const struct rule *ru = &c->rules[r];
	for (size_t i = 0; i < ru->items.n; i++) {
		const char *item = ru->items.v[i].s;
		if (ru->kind == RULE_PATH) {
			/* exact beats everything in nginx: right only if no earlier rule decides */
			if (decided_before(c, r, item))
				continue;
			sb_adds(out, "location = ");
			add_quoted(out, item);
		} else {
			struct sb re;
			sb_init(&re, EL_TOKEN_MAX);
			item_regex(ru->kind, item, &re);
			sb_adds(out, ru->kind == RULE_SUFFIX ? "location ~* " : "location ~ ");
			add_quoted(out, re.buf ? re.buf : "");
			sb_release(&re);
		}
		add_body(out, c, ru, origin);
	}
}

void el_compile(const struct cache *c, const char *origin, bool with_root, struct sb *out)
{
	struct sb body;
	char hex[EL_HASH_HEX + 1];
	sb_init(&body, EL_SB_MAX);
	for (size_t r = 0; r < c->nrules; r++)
		compile_rule(c, r, origin, &body);
	if (with_root) {
		sb_adds(&body, "location /");
		add_body(&body, c, NULL, origin);
	}
	el_hash(body.buf ? body.buf : "", body.len, hex);
	sb_addf(out, "%s%s\n", EL_BEGIN, hex);
	sb_add(out, body.buf ? body.buf : "", body.len);
	sb_adds(out, EL_END "\n");
	sb_release(&body);
}

char *el_replace_region(const char *text, size_t len, const struct el_doc *d, const char *region)
{
	struct sb out;
	sb_init(&out, EL_SB_MAX);
	if (d->has_region) {
		sb_add(&out, text, d->region_begin);
		sb_adds(&out, region);
		sb_add(&out, text + d->region_end, len - d->region_end);
	} else {
		sb_adds(&out, region);
		sb_add(&out, text, len);
	}
	char *s = sb_detach(&out);
	return s ? s : xstrdup("");
}

void el_region_flags(const char *text, const struct el_doc *d, bool *ignore_qs, bool *ignore_cookie)
{
	size_t owned = 0;
	for (size_t i = 0; i < d->n; i++)
		owned += d->locs[i].owned;
	if (!d->has_region || owned == 0)
		return; /* nothing of cacheform's says how the key is built */
	size_t n = d->region_end - d->region_begin;
	char *r = xmalloc(n + 1);
	memcpy(r, text + d->region_begin, n);
	r[n] = '\0';
	*ignore_qs = strstr(r, EL_QS_KEY_DIR) == NULL;
	if (strstr(r, "proxy_cache_valid")) /* only cached locations say it */
		*ignore_cookie = strstr(r, " Set-Cookie;") != NULL;
	free(r);
}

const char *el_match_mod(enum el_match m)
{
	static const char *const mod[] = {"= ", "", "^~ ", "~ ", "~* ", ""};
	return (unsigned)m < CF_ARRAY_LEN(mod) ? mod[m] : "";
}
