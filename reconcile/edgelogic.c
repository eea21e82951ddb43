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

/* ---- decoding a region: el_compile's inverse ---- */

/* One location of a region, read as el_compile writes it. */
struct dec_loc {
	enum rule_kind kind;
	bool root; /* location / (origin decides): no rule */
	char *item;
	int64_t ttl;
	bool icc, cookie, qs, cached;
	char *origin;
};

struct dec {
	struct dec_loc *v;
	size_t n, cap;
};

static void dec_release(struct dec *dc)
{
	for (size_t i = 0; i < dc->n; i++) {
		free(dc->v[i].item);
		free(dc->v[i].origin);
	}
	free(dc->v);
	memset(dc, 0, sizeof(*dc));
}

/*
 * A dir or suffix item from its PCRE pattern (item_regex's inverse), or NULL: a dir is
 * "^" ITEM with its trailing '/', a suffix "\." ITEM "$", and every metacharacter of the
 * item escaped.
 */
static char *dec_item(enum rule_kind k, const char *re)
{
	size_t n = strlen(re), from = k == RULE_SUFFIX ? 2 : 1, to = n - (k == RULE_SUFFIX);
	struct sb it;
	if (k == RULE_SUFFIX ? n < 4 || strncmp(re, "\\.", 2) != 0 || re[n - 1] != '$'
			     : n < 2 || re[0] != '^' || re[n - 1] != '/')
		return NULL;
	sb_init(&it, EL_TOKEN_MAX);
	for (size_t i = from; i < to; i++) {
		bool esc = re[i] == '\\';
		if (esc && i + 1 < to && strchr(re_meta, re[i + 1]))
			i++;
		else if (strchr(re_meta, re[i])) {
			sb_release(&it);
			return NULL; /* a metacharacter the compiler would have escaped */
		}
		sb_addc(&it, re[i]);
	}
	return sb_detach(&it);
}

/* location = P | ~ "^D/" | ~* "\.S$" | / : the location's rule kind and item. */
static int dec_location(const struct stmt *st, struct dec_loc *l)
{
	if (st->argc == 2 && strcmp(st->argv[1], "/") == 0) {
		l->root = true;
		return 0;
	}
	if (st->argc != 3)
		return -1;
	if (strcmp(st->argv[1], "=") == 0) {
		l->kind = RULE_PATH;
		l->item = xstrdup(st->argv[2]);
	} else if (strcmp(st->argv[1], "~") == 0 || strcmp(st->argv[1], "~*") == 0) {
		l->kind = st->argv[1][1] ? RULE_SUFFIX : RULE_DIR;
		l->item = dec_item(l->kind, st->argv[2]);
	}
	return l->item && l->item[0] ? 0 : -1;
}

/* What the directives el_compile writes say; any other directive is not its output. */
static int dec_directive(const struct stmt *st, struct dec_loc *l, unsigned *bypass)
{
	const char *d = st->argv[0];
	if ((strcmp(d, "proxy_no_cache") == 0 || strcmp(d, "proxy_cache_bypass") == 0) &&
	    st->argc == 2 && strcmp(st->argv[1], "1") == 0) {
		++*bypass;
	} else if (strcmp(d, "proxy_ignore_headers") == 0) {
		for (size_t i = 1; i < st->argc; i++) {
			bool cc = strcmp(st->argv[i], "X-Accel-Expires") == 0 ||
				  strcmp(st->argv[i], "Cache-Control") == 0;
			bool cookie = strcmp(st->argv[i], "Set-Cookie") == 0;
			if (!cc && !cookie)
				return -1;
			l->icc |= cc;
			l->cookie |= cookie;
		}
	} else if (strcmp(d, "proxy_cache_valid") == 0 && st->argc == 2 && !l->cached) {
		l->cached = el_time(st->argv[1], &l->ttl) == 0 && l->ttl > 0;
		return l->cached ? 0 : -1;
	} else if (strcmp(d, "set") == 0 && st->argc == 3 &&
		   strcmp(st->argv[1], "$cache_misc") == 0 &&
		   strcmp(st->argv[2], "?$sorted_querystring_args") == 0) {
		l->qs = true;
	} else if (strcmp(d, "origin_pass") == 0 && st->argc == 2 && !l->origin) {
		l->origin = xstrdup(st->argv[1]);
	} else {
		return -1;
	}
	return 0;
}

/* A location's block up to its '}': a rule's TTL (0 = bypass) or the root's nothing. */
static int dec_body(struct lexer *lx, struct dec_loc *l)
{
	unsigned bypass = 0;
	struct stmt st;
	for (;;) {
		int rc = read_stmt(lx, &st);
		if (rc == 0 && st.argc == 0 && st.end == T_CLOSE)
			break;
		if (rc == 0)
			rc = st.argc > 0 && st.end == T_SEMI ? dec_directive(&st, l, &bypass) : -1;
		stmt_release(&st);
		if (rc != 0)
			return -1;
	}
	if (!l->origin)
		return -1;
	if (l->root)
		return bypass || l->cached || l->icc || l->cookie ? -1 : 0;
	if (bypass)
		return bypass == 2 && !l->cached && !l->icc && !l->cookie ? 0 : -1;
	return l->cached ? 0 : -1;
}

/* The region's locations in order; -1 at the first thing el_compile does not write. */
static int dec_read(const char *text, const struct el_doc *d, struct dec *dc)
{
	struct el_doc scratch;
	struct cf_err e;
	memset(&scratch, 0, sizeof(scratch));
	struct lexer lx = {.s = text + d->body_begin,
			   .n = d->body_end - d->body_begin,
			   .line = 1,
			   .depth = 1,
			   .doc = &scratch,
			   .e = &e};
	struct stmt st;
	for (;;) {
		int rc = read_stmt(&lx, &st);
		if (rc == 0 && st.argc == 0 && st.end == T_EOF)
			return 0;
		/* nothing follows the root location */
		if (rc == 0 && (st.argc < 2 || st.end != T_OPEN || strcmp(st.argv[0], "location") ||
				(dc->n && dc->v[dc->n - 1].root)))
			rc = -1;
		if (rc == 0) {
			xgrow(&dc->v, &dc->cap, dc->n + 1, sizeof(*dc->v));
			struct dec_loc *l = &dc->v[dc->n++];
			memset(l, 0, sizeof(*l));
			rc = dec_location(&st, l);
			if (rc == 0)
				rc = dec_body(&lx, l);
		}
		stmt_release(&st);
		if (rc != 0)
			return -1;
	}
}

/* Two dir items name the same directory ("/pic" = "/pic/"). */
static bool same_dir(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	na -= na && a[na - 1] == '/';
	nb -= nb && b[nb - 1] == '/';
	return na == nb && strncmp(a, b, na) == 0;
}

/* Rule r's first spelling of item (a dir as a directory: "/pic" = "/pic/") that is not in
 * taken (rule r's items compile in order); NULL when r has none. */
static const char *hint_item(const struct rule *r, const struct dec_loc *l,
			     const struct svec *taken)
{
	for (size_t i = 0; r->kind == l->kind && i < r->items.n; i++) {
		const char *h = r->items.v[i].s;
		if ((strcmp(h, l->item) == 0 || (l->kind == RULE_DIR && same_dir(h, l->item))) &&
		    !(taken && svec_contains(taken, h)))
			return h;
	}
	return NULL;
}

/*
 * The rule of hint that holds l's item, with hint's spelling of it: the previous
 * location's rule (prev) first when l may join the rule it began (taken: the items that
 * rule took), then the next one of l's TTL, then any; -1 when none.
 */
static long hint_rule(const struct cache *hint, const struct dec_loc *l, long prev,
		      const struct svec *taken, const char **spelling)
{
	*spelling = l->item;
	if (!hint)
		return -1;
	if (prev >= 0 && taken && (*spelling = hint_item(&hint->rules[prev], l, taken)))
		return prev;
	/* pass 0: a later rule of l's TTL (hint's rules are met in order), 1: any rule */
	for (int pass = 0; pass < 2; pass++)
		for (size_t r = pass ? 0 : (size_t)(prev + 1); r < hint->nrules; r++)
			if ((pass || hint->rules[r].ttl == l->ttl) &&
			    (*spelling = hint_item(&hint->rules[r], l, NULL)))
				return (long)r;
	*spelling = l->item;
	return -1;
}

/* A rule's own ignore_cache_control in c: set only where a cached rule differs from c's. */
static enum rule_cc own_cc(const struct cache *c, bool cached, bool icc)
{
	if (!cached || icc == c->ignore_cache_control)
		return RULE_CC_INHERIT;
	return icc ? RULE_CC_IGNORE : RULE_CC_HONOUR;
}

static enum rule_cc dec_cc(const struct cache *c, const struct dec_loc *l)
{
	return own_cc(c, l->cached, l->icc);
}

/*
 * Locations into rules: consecutive locations of one kind, TTL and Cache-Control handling
 * are one rule unless hint has their items in different rules (two such rules compile
 * alike, and the diff should show the rules the YAML has). from[r]: the rule of hint that
 * rule r comes from, -1 when none.
 */
static void dec_rules(const struct dec *dc, const struct cache *hint, struct cache *out, long *from)
{
	long prev = -1;
	for (size_t i = 0; i < dc->n; i++) {
		const struct dec_loc *l = &dc->v[i];
		const char *sp;
		if (l->root)
			continue;
		struct rule *cur = out->nrules ? &out->rules[out->nrules - 1] : NULL;
		bool fits =
		    cur && cur->kind == l->kind && cur->ttl == l->ttl && cur->cc == dec_cc(out, l);
		long h = hint_rule(hint, l, prev, fits ? &cur->items : NULL, &sp);
		if (!fits || (h >= 0 && prev >= 0 && h != prev) || svec_contains(&cur->items, sp)) {
			from[out->nrules] = h;
			cur = cache_add_rule(out);
			cur->kind = l->kind;
			cur->ttl = l->ttl;
			cur->cc = dec_cc(out, l);
		}
		if (from[out->nrules - 1] < 0)
			from[out->nrules - 1] = h;
		svec_push(&cur->items, sp, NULL);
		prev = h;
	}
}

/* Whether want's items, less those an earlier rule of c decides, are exactly r's. */
static bool shadowed_form(const struct cache *c, size_t r, const struct rule *want)
{
	const struct svec *have = &c->rules[r].items;
	size_t k = 0;
	for (size_t i = 0; i < want->items.n; i++) {
		const char *it = want->items.v[i].s;
		if (decided_before(c, r, it))
			continue;
		if (k == have->n || strcmp(have->v[k].s, it) != 0)
			return false;
		k++;
	}
	return k == have->n;
}

/* A path rule whose items an earlier rule partly decides compiles without those: take the
 * items of the rule of hint it comes from when that rule compiles alike. */
static void dec_shadowed(struct cache *out, const struct cache *hint, const long *from)
{
	for (size_t r = 0; hint && r < out->nrules; r++) {
		struct rule *ru = &out->rules[r];
		const struct rule *w = from[r] >= 0 ? &hint->rules[from[r]] : NULL;
		if (ru->kind != RULE_PATH || !w || w->kind != RULE_PATH || w->ttl != ru->ttl ||
		    w->items.n <= ru->items.n ||
		    (ru->ttl > 0 && rule_ignores_cc(hint, w) != rule_ignores_cc(out, ru)) ||
		    !shadowed_form(out, r, w))
			continue;
		svec_release(&ru->items);
		for (size_t i = 0; i < w->items.n; i++)
			svec_push(&ru->items, w->items.v[i].s, NULL);
	}
}

/*
 * A path rule whose every item an earlier rule decides compiles to nothing: put hint's such
 * rules back where hint has them (after the rules from hint's earlier rules), when the
 * rules before that place decide every item there too.
 */
static void dec_vanished(struct cache *out, const struct cache *hint, long *from)
{
	for (size_t j = 0; hint && j < hint->nrules; j++) {
		const struct rule *w = &hint->rules[j];
		bool gone = w->kind == RULE_PATH;
		size_t at = 0;
		for (size_t i = 0; gone && i < w->items.n; i++)
			gone = decided_before(hint, j, w->items.v[i].s);
		for (size_t r = 0; gone && r < out->nrules; r++)
			if (from[r] >= 0 && from[r] < (long)j)
				at = r + 1;
		for (size_t i = 0; gone && i < w->items.n; i++)
			gone = decided_before(out, at, w->items.v[i].s);
		if (!gone)
			continue;
		(void)cache_add_rule(out);
		memmove(&out->rules[at + 1], &out->rules[at],
			(out->nrules - 1 - at) * sizeof(*out->rules));
		memmove(&from[at + 1], &from[at], (out->nrules - 1 - at) * sizeof(*from));
		struct rule *ru = &out->rules[at];
		memset(ru, 0, sizeof(*ru));
		ru->kind = RULE_PATH;
		ru->ttl = w->ttl;
		ru->cc = own_cc(out, w->ttl > 0, rule_ignores_cc(hint, w));
		for (size_t i = 0; i < w->items.n; i++)
			svec_push(&ru->items, w->items.v[i].s, NULL);
		from[at] = (long)j;
	}
}

/* The flags: from the region where a location says them, else hint's. */
static void dec_flags(const struct dec *dc, const struct cache *hint, struct cache *out)
{
	const struct dec_loc *first = dc->n ? &dc->v[0] : NULL, *cached = NULL;
	for (size_t i = 0; i < dc->n && !cached; i++)
		if (dc->v[i].cached)
			cached = &dc->v[i];
	out->ignore_query_string = first ? !first->qs : hint && hint->ignore_query_string;
	out->ignore_cookie = cached ? cached->cookie : hint && hint->ignore_cookie;
	/* Edge Logic says Cache-Control per location: the block's value is hint's, and rules
	 * that differ say so themselves */
	out->ignore_cache_control = hint ? hint->ignore_cache_control : cached && cached->icc;
}

int el_decode(const char *text, const struct el_doc *d, const struct cache *hint, struct cache *out,
	      char **origin, bool *with_root)
{
	struct dec dc = {0};
	struct sb again;
	memset(out, 0, sizeof(*out));
	*origin = NULL;
	*with_root = false;
	if (!d->has_region || dec_read(text, d, &dc) != 0) {
		dec_release(&dc);
		return -1;
	}
	/* one rule per location at most, and hint's vanished ones */
	long *from = xcalloc(dc.n + (hint ? hint->nrules : 0) + 1, sizeof(*from));
	dec_flags(&dc, hint, out);
	dec_rules(&dc, hint, out, from);
	dec_shadowed(out, hint, from);
	dec_vanished(out, hint, from);
	free(from);
	const char *o = dc.n ? dc.v[0].origin : "";
	bool root = dc.n && dc.v[dc.n - 1].root;
	/* exact only when compiling the rules gives the region back, byte for byte */
	size_t rn = d->region_end - d->region_begin;
	sb_init(&again, EL_SB_MAX);
	el_compile(out, o, root, &again);
	bool exact = !again.overflow && again.len == rn &&
		     memcmp(again.buf ? again.buf : "", text + d->region_begin, rn) == 0;
	sb_release(&again);
	if (exact) {
		*origin = dc.n ? xstrdup(o) : NULL;
		*with_root = root;
	} else {
		cache_release(out);
	}
	dec_release(&dc);
	return exact ? 0 : -1;
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
