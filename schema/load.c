#include "reconcile/compat.h"
#include "schema/load.h"
#include "reconcile/xmem.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>

#include <openssl/evp.h>
#include <yaml.h>

#define LOAD_MAX_DEPTH	     64	    /* nested collections in one file */
#define LOAD_MAX_NODES	     500000 /* nodes in one file, before alias expansion */
#define LOAD_MAX_ALIAS_NODES 100000 /* nodes reached through aliases in one file */
#define LOAD_MAX_ANCHORS     256    /* anchors defined in one file */
#define LOAD_MAX_FILE_ERRORS 50	    /* errors reported per file before CF118 */
#define LOAD_MSG_MAX	     1024
#define LOAD_ARENA_CHUNK     65536
#define LOAD_SMALL_MAP	     16 /* maps up to this size check duplicates pairwise */
#define LOAD_INT_DIGITS	     18 /* decimal digits accepted in an integer */
#define LOAD_MAX_FIELDS	     32 /* keys in one field table */

/* ---- arena: every node of one file, freed at once ---- */

struct arena_chunk {
	struct arena_chunk *next;
	size_t used, cap;
	max_align_t data[];
};

struct arena {
	struct arena_chunk *head;
};

static void *arena_alloc(struct arena *a, size_t n)
{
	n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
	struct arena_chunk *c = a->head;
	if (!c || c->cap - c->used < n) {
		size_t cap = n > LOAD_ARENA_CHUNK ? n : LOAD_ARENA_CHUNK;
		c = xmalloc(sizeof(*c) + cap);
		c->used = 0;
		c->cap = cap;
		c->next = a->head;
		a->head = c;
	}
	void *p = (char *)c->data + c->used;
	c->used += n;
	return p;
}

static void *arena_calloc(struct arena *a, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		return xcalloc(n, size); /* dies with the size asked for */
	void *p = arena_alloc(a, n * size);
	memset(p, 0, n * size);
	return p;
}

/* Frees every chunk but the newest, which is kept (emptied) for the next file. */
static void arena_reset(struct arena *a)
{
	struct arena_chunk *c = a->head;
	if (!c)
		return;
	while (c->next) {
		struct arena_chunk *n = c->next->next;
		free(c->next);
		c->next = n;
	}
	c->used = 0;
}

static void arena_release(struct arena *a)
{
	arena_reset(a);
	free(a->head);
	a->head = NULL;
}

/* ---- the node tree of one document ---- */

enum ynode_kind { YN_SCALAR, YN_SEQ, YN_MAP };

struct yitem {
	struct ynode *node;
	struct yitem *next;
};

struct ynode {
	enum ynode_kind kind;
	bool plain; /* plain untagged scalar: may mean null, a boolean or a number */
	bool open;  /* collection still being parsed: an alias to it would be recursive */
	unsigned line, col;
	const char *s; /* scalar text, NUL-terminated */
	size_t len;
	struct yitem *head, *tail; /* seq: items; map: key, value, key, value ... */
	size_t n;
	uint64_t weight; /* nodes in this subtree, counting aliased subtrees again */
};

struct yanchor {
	const char *name;
	struct ynode *node;
	struct yanchor *next;
};

/* ---- per-file state ---- */

struct lctx {
	struct config *c;
	struct diag_list *d;
	struct arena arena;
	const char *file; /* interned */
	const char *buf;
	size_t len;
	unsigned nerr;
	/* tree building */
	struct ynode *stack[LOAD_MAX_DEPTH];
	size_t depth;
	struct ynode *root;
	size_t nodes, nanchors;
	uint64_t alias_nodes;
	struct yanchor *anchors;
	int docs;
};

static struct pos load_pos(const struct lctx *x, unsigned line, unsigned col)
{
	struct pos p = {x->file, line, col};
	return p;
}

CF_PRINTF(5, 6)
static void load_err(struct lctx *x, unsigned line, unsigned col, const char *code, const char *fmt,
		     ...)
{
	char msg[LOAD_MSG_MAX];
	struct pos p = load_pos(x, line, col);
	va_list ap;
	if (x->nerr > LOAD_MAX_FILE_ERRORS)
		return;
	if (x->nerr++ == LOAD_MAX_FILE_ERRORS) {
		diag_add(x->d, DIAG_ERROR, &p, "CF118",
			 "more than %d errors in this file; the rest are not reported",
			 LOAD_MAX_FILE_ERRORS);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	diag_add(x->d, DIAG_ERROR, &p, code, "%s", msg);
}

#define NERR(x, node, code, ...) load_err(x, (node)->line, (node)->col, code, __VA_ARGS__)

/* ---- byte-level checks, before libyaml sees the buffer ---- */

/* Returns the length of the UTF-8 sequence at p (at most n bytes), or 0 when it is invalid. */
static size_t load_utf8_len(const unsigned char *p, size_t n)
{
	uint32_t cp;
	size_t len;
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	/* Overlong forms, UTF-16 surrogates and code points past U+10FFFF. */
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static int load_check_bytes(struct lctx *x)
{
	const unsigned char *p = (const unsigned char *)x->buf;
	unsigned line = 1, col = 1;
	for (size_t i = 0; i < x->len;) {
		/* Fast path: printable ASCII other than newline needs no decoding. */
		if (p[i] > '\n' && p[i] < 0x80) {
			i++;
			col++;
			continue;
		}
		if (p[i] == 0) {
			load_err(x, line, col, "CF104", "NUL byte in file");
			return -1;
		}
		size_t n = load_utf8_len(p + i, x->len - i);
		if (n == 0) {
			load_err(x, line, col, "CF103", "invalid UTF-8 byte 0x%02x", p[i]);
			return -1;
		}
		if (p[i] == '\n')
			line++, col = 1;
		else
			col++;
		i += n;
	}
	return 0;
}

/* libyaml reports reader problems by byte offset; turn that into line and column. */
static void load_offset_pos(const struct lctx *x, size_t off, unsigned *line, unsigned *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && i < x->len; i++) {
		if (x->buf[i] == '\n')
			++*line, *col = 1;
		else if (((unsigned char)x->buf[i] & 0xc0) != 0x80)
			++*col;
	}
}

/* ---- building the tree from libyaml events, without recursion ---- */

static struct ynode *load_node_new(struct lctx *x, enum ynode_kind kind, const yaml_mark_t *m)
{
	struct ynode *n = arena_alloc(&x->arena, sizeof(*n));
	memset(n, 0, sizeof(*n));
	n->kind = kind;
	n->line = (unsigned)m->line + 1;
	n->col = (unsigned)m->column + 1;
	n->weight = 1;
	x->nodes++;
	return n;
}

static void load_attach(struct lctx *x, struct ynode *n)
{
	if (x->depth == 0) {
		x->root = n;
		return;
	}
	struct ynode *parent = x->stack[x->depth - 1];
	struct yitem *it = arena_alloc(&x->arena, sizeof(*it));
	it->node = n;
	it->next = NULL;
	if (parent->tail)
		parent->tail->next = it;
	else
		parent->head = it;
	parent->tail = it;
	parent->n++;
	if (n->kind == YN_SCALAR || !n->open)
		parent->weight += n->weight;
}

static int load_anchor(struct lctx *x, const yaml_char_t *name, struct ynode *n,
		       const yaml_mark_t *m)
{
	if (!name)
		return 0;
	if (x->nanchors++ == LOAD_MAX_ANCHORS) {
		load_err(x, (unsigned)m->line + 1, (unsigned)m->column + 1, "CF107",
			 "more than %d anchors in one file", LOAD_MAX_ANCHORS);
		return -1;
	}
	size_t len = strlen((const char *)name);
	char *s = arena_alloc(&x->arena, len + 1);
	memcpy(s, name, len + 1);
	struct yanchor *a = arena_alloc(&x->arena, sizeof(*a));
	a->name = s;
	a->node = n;
	a->next = x->anchors;
	x->anchors = a;
	return 0;
}

static int load_ev_scalar(struct lctx *x, const yaml_event_t *ev)
{
	struct ynode *n = load_node_new(x, YN_SCALAR, &ev->start_mark);
	char *s = arena_alloc(&x->arena, ev->data.scalar.length + 1);
	memcpy(s, ev->data.scalar.value, ev->data.scalar.length);
	s[ev->data.scalar.length] = '\0';
	n->s = s;
	n->len = ev->data.scalar.length;
	n->plain =
	    ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && ev->data.scalar.plain_implicit;
	load_attach(x, n);
	return load_anchor(x, ev->data.scalar.anchor, n, &ev->start_mark);
}

static int load_ev_start(struct lctx *x, const yaml_event_t *ev, enum ynode_kind kind)
{
	const yaml_char_t *anchor =
	    kind == YN_MAP ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
	if (x->depth == LOAD_MAX_DEPTH) {
		load_err(x, (unsigned)ev->start_mark.line + 1, (unsigned)ev->start_mark.column + 1,
			 "CF106", "nesting deeper than %d levels", LOAD_MAX_DEPTH);
		return -1;
	}
	struct ynode *n = load_node_new(x, kind, &ev->start_mark);
	n->open = true;
	load_attach(x, n);
	x->stack[x->depth++] = n;
	return load_anchor(x, anchor, n, &ev->start_mark);
}

static void load_ev_end(struct lctx *x)
{
	struct ynode *n = x->stack[--x->depth];
	n->open = false;
	if (x->depth)
		x->stack[x->depth - 1]->weight += n->weight;
}

static int load_ev_alias(struct lctx *x, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	unsigned line = (unsigned)ev->start_mark.line + 1,
		 col = (unsigned)ev->start_mark.column + 1;
	struct yanchor *a = x->anchors;
	while (a && strcmp(a->name, name) != 0)
		a = a->next;
	if (!a || a->node->open) {
		load_err(x, line, col, "CF108",
			 a ? "alias '*%s' refers to a node that contains it"
			   : "alias '*%s' has no anchor before it",
			 name);
		return -1;
	}
	x->alias_nodes += a->node->weight;
	if (x->alias_nodes > LOAD_MAX_ALIAS_NODES) {
		load_err(x, line, col, "CF107", "aliases expand to more than %d nodes",
			 LOAD_MAX_ALIAS_NODES);
		return -1;
	}
	load_attach(x, a->node);
	return 0;
}

static void load_parse_error(struct lctx *x, const yaml_parser_t *p)
{
	unsigned line = (unsigned)p->problem_mark.line + 1,
		 col = (unsigned)p->problem_mark.column + 1;
	if (p->error == YAML_READER_ERROR)
		load_offset_pos(x, p->problem_offset, &line, &col);
	load_err(x, line, col, "CF105", "YAML syntax error: %s%s%s",
		 p->problem ? p->problem : "unknown problem", p->context ? " " : "",
		 p->context ? p->context : "");
}

/* Handles one event; returns 1 at the end of the stream, 0 to go on, -1 on error. */
static int load_event(struct lctx *x, const yaml_event_t *ev)
{
	if (x->nodes >= LOAD_MAX_NODES) {
		load_err(x, (unsigned)ev->start_mark.line + 1, (unsigned)ev->start_mark.column + 1,
			 "CF107", "more than %d YAML nodes in one file", LOAD_MAX_NODES);
		return -1;
	}
	switch (ev->type) {
	case YAML_STREAM_END_EVENT:
		return 1;
	case YAML_DOCUMENT_START_EVENT:
		if (++x->docs > 1) {
			load_err(x, (unsigned)ev->start_mark.line + 1,
				 (unsigned)ev->start_mark.column + 1, "CF109",
				 "more than one YAML document in one file");
			return -1;
		}
		return 0;
	case YAML_SCALAR_EVENT:
		return load_ev_scalar(x, ev);
	case YAML_SEQUENCE_START_EVENT:
		return load_ev_start(x, ev, YN_SEQ);
	case YAML_MAPPING_START_EVENT:
		return load_ev_start(x, ev, YN_MAP);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		load_ev_end(x);
		return 0;
	case YAML_ALIAS_EVENT:
		return load_ev_alias(x, ev);
	default:
		return 0;
	}
}

/* Parses x->buf into x->root. Returns 0, or -1 after adding the error. */
static int load_tree(struct lctx *x)
{
	yaml_parser_t p;
	yaml_event_t ev;
	int r = 0;
	if (!yaml_parser_initialize(&p)) {
		load_err(x, 1, 1, "CF105", "cannot initialise the YAML parser");
		return -1;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)x->buf, x->len);
	yaml_parser_set_encoding(&p, YAML_UTF8_ENCODING);
	while (r == 0) {
		if (!yaml_parser_parse(&p, &ev)) {
			load_parse_error(x, &p);
			r = -1;
			break;
		}
		r = load_event(x, &ev);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	return r < 0 ? -1 : 0;
}

/* ---- typed readers: each adds its own error and returns -1 on a wrong value ---- */

static bool load_is_null(const struct ynode *n)
{
	return n->kind == YN_SCALAR && n->plain &&
	       (n->len == 0 || strcmp(n->s, "~") == 0 || strcmp(n->s, "null") == 0 ||
		strcmp(n->s, "Null") == 0 || strcmp(n->s, "NULL") == 0);
}

static const char *load_kind_name(const struct ynode *n)
{
	if (load_is_null(n))
		return "null";
	return n->kind == YN_MAP ? "a map" : n->kind == YN_SEQ ? "a list" : "a scalar";
}

static struct pos load_npos(const struct lctx *x, const struct ynode *n)
{
	return load_pos(x, n->line, n->col);
}

static int load_scalar(struct lctx *x, const struct ynode *n, const char *key)
{
	if (n->kind == YN_SCALAR && !load_is_null(n))
		return 0;
	NERR(x, n, "CF112", "'%s' must be a string, not %s", key, load_kind_name(n));
	return -1;
}

static void load_sval(struct lctx *x, const struct ynode *n, const char *key, struct sval *v)
{
	struct pos p = load_npos(x, n);
	if (load_scalar(x, n, key) == 0)
		sval_set(v, n->s, &p);
}

static void load_svec(struct lctx *x, const struct ynode *n, const char *key, struct svec *v)
{
	if (n->kind != YN_SEQ) {
		NERR(x, n, "CF112", "'%s' must be a list, not %s", key, load_kind_name(n));
		return;
	}
	v->pos = load_npos(x, n);
	/* Exact size: with 10^5 rules, doubling would double the model's memory. */
	if (!v->v && n->n) {
		v->v = xcalloc(n->n, sizeof(*v->v));
		v->cap = n->n;
	}
	for (struct yitem *it = n->head; it; it = it->next) {
		struct pos p = load_npos(x, it->node);
		if (load_scalar(x, it->node, key) == 0)
			svec_push(v, it->node->s, &p);
	}
}

static int load_bool(struct lctx *x, const struct ynode *n, const char *key, bool *out)
{
	static const char *const yes[] = {"true", "True", "TRUE"};
	static const char *const no[] = {"false", "False", "FALSE"};
	for (size_t i = 0; n->kind == YN_SCALAR && n->plain && i < CF_ARRAY_LEN(yes); i++) {
		if (strcmp(n->s, yes[i]) == 0 || strcmp(n->s, no[i]) == 0) {
			*out = n->s[0] == 't' || n->s[0] == 'T';
			return 0;
		}
	}
	if (n->kind == YN_SCALAR)
		NERR(x, n, "CF112", "'%s' must be true or false (unquoted), not %s'%s'", key,
		     n->plain ? "" : "quoted ", n->s);
	else
		NERR(x, n, "CF112", "'%s' must be true or false, not %s", key, load_kind_name(n));
	return -1;
}

static int load_int(struct lctx *x, const struct ynode *n, const char *key, int64_t lo, int64_t hi,
		    int64_t *out)
{
	int64_t v = 0;
	size_t i = n->kind == YN_SCALAR && n->s[0] == '-';
	if (n->kind != YN_SCALAR || !n->plain || n->len == i || n->len - i > LOAD_INT_DIGITS) {
		NERR(x, n, "CF115", "'%s' must be a whole number", key);
		return -1;
	}
	for (; i < n->len; i++) {
		if (n->s[i] < '0' || n->s[i] > '9') {
			NERR(x, n, "CF115", "'%s' must be a whole number, not '%s'", key, n->s);
			return -1;
		}
		v = v * 10 + (n->s[i] - '0');
	}
	v = n->s[0] == '-' ? -v : v;
	if (v < lo || v > hi) {
		NERR(x, n, "CF114", "'%s' must be between %lld and %lld, not %lld", key,
		     (long long)lo, (long long)hi, (long long)v);
		return -1;
	}
	*out = v;
	return 0;
}

static int load_duration(struct lctx *x, const struct ynode *n, const char *key, int64_t *out)
{
	const char *why = NULL;
	if (load_scalar(x, n, key) < 0)
		return -1;
	if (duration_parse(n->s, out, &why) < 0) {
		NERR(x, n, "CF115", "invalid %s '%s': %s", key, n->s, why);
		return -1;
	}
	return 0;
}

/* Returns the index of n's text in words, or -1 after adding an error. */
static int load_word(struct lctx *x, const struct ynode *n, const char *key,
		     const char *const *words, size_t nwords)
{
	if (load_scalar(x, n, key) < 0)
		return -1;
	for (size_t i = 0; i < nwords; i++)
		if (strcmp(n->s, words[i]) == 0)
			return (int)i;
	char list[LOAD_MSG_MAX];
	size_t off = 0;
	for (size_t i = 0; i < nwords && off < sizeof(list); i++) {
		int w = snprintf(list + off, sizeof(list) - off, "%s%s", i ? ", " : "", words[i]);
		off += w > 0 ? (size_t)w : 0;
	}
	NERR(x, n, "CF114", "'%s' must be one of %s, not '%s'", key, list, n->s);
	return -1;
}

static bool load_env_name_ok(const char *s)
{
	if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
		return false;
	for (s++; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_' ||
		      (*s >= '0' && *s <= '9')))
			return false;
	return true;
}

static void load_mval(struct lctx *x, const struct ynode *n, const char *key, struct mval *m)
{
	mval_release(m);
	m->pos = load_npos(x, n);
	if (n->kind == YN_SCALAR && !load_is_null(n)) {
		m->kind = MVAL_LITERAL;
		m->text = xstrdup(n->s);
		return;
	}
	const struct ynode *k = n->kind == YN_MAP && n->n == 2 ? n->head->node : NULL;
	const struct ynode *v = k ? n->head->next->node : NULL;
	bool env = k && k->kind == YN_SCALAR && strcmp(k->s, "env") == 0;
	bool file = k && k->kind == YN_SCALAR && strcmp(k->s, "file") == 0;
	if (!(env || file) || v->kind != YN_SCALAR || load_is_null(v) || v->len == 0 ||
	    (env && !load_env_name_ok(v->s))) {
		NERR(x, n, "CF117",
		     "'%s' must be a string, {env: NAME} (NAME made of letters, digits and _) or "
		     "{file: PATH}",
		     key);
		return;
	}
	m->kind = env ? MVAL_ENV : MVAL_FILE;
	m->text = xstrdup(v->s);
	m->pos = load_npos(x, v);
}

/* ---- maps: duplicate keys, unknown keys, required keys ---- */

struct field;
typedef void (*field_fn)(struct lctx *x, const struct ynode *v, const struct field *f, void *obj);

enum field_kind { F_SVAL, F_SVEC, F_MVAL, F_BOOL, F_FN };

struct field {
	const char *key;
	enum field_kind kind;
	size_t off; /* where the value goes in obj (F_SVAL, F_SVEC, F_MVAL, F_BOOL) */
	field_fn fn;
	bool required;
};

#define FSV(T, k, m)                                                                               \
	{                                                                                          \
#k, F_SVAL, offsetof(T, m), NULL, false                                            \
	}
#define FREQ(T, k, m)                                                                              \
	{                                                                                          \
#k, F_SVAL, offsetof(T, m), NULL, true                                             \
	}
#define FVEC(T, k, m)                                                                              \
	{                                                                                          \
#k, F_SVEC, offsetof(T, m), NULL, false                                            \
	}
#define FMV(T, k)                                                                                  \
	{                                                                                          \
#k, F_MVAL, offsetof(T, k), NULL, false                                            \
	}
#define FBOOL(T, k)                                                                                \
	{                                                                                          \
#k, F_BOOL, offsetof(T, k), NULL, false                                            \
	}
#define FFN(k, fn)                                                                                 \
	{                                                                                          \
		k, F_FN, 0, fn, false                                                              \
	}

static int load_keycmp(const void *a, const void *b)
{
	const struct ynode *x = *(const struct ynode *const *)a,
			   *y = *(const struct ynode *const *)b;
	int c = strcmp(x->s, y->s);
	if (c)
		return c;
	return x->line != y->line ? (x->line < y->line ? -1 : 1)
				  : (x->col > y->col) - (x->col < y->col);
}

/*
 * Marks dup[i] for every key that repeats an earlier one and reports it. Large maps are
 * sorted so that a hostile file with many keys costs n log n, not n^2.
 */
static void load_dups(struct lctx *x, struct ynode **keys, size_t n, bool *dup)
{
	if (n <= LOAD_SMALL_MAP) {
		for (size_t i = 1; i < n; i++)
			for (size_t j = 0; j < i && !dup[i]; j++)
				if (strcmp(keys[i]->s, keys[j]->s) == 0) {
					dup[i] = true;
					NERR(x, keys[i], "CF110",
					     "duplicate key '%s' (first at line %u)", keys[i]->s,
					     keys[j]->line);
				}
		return;
	}
	struct ynode **sorted = arena_calloc(&x->arena, n, sizeof(*sorted));
	memcpy(sorted, keys, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), load_keycmp);
	for (size_t i = 1; i < n; i++) {
		if (strcmp(sorted[i]->s, sorted[i - 1]->s) != 0)
			continue;
		for (size_t j = 0; j < n; j++)
			if (keys[j] == sorted[i])
				dup[j] = true;
		NERR(x, sorted[i], "CF110", "duplicate key '%s'", sorted[i]->s);
	}
}

/*
 * Checks that n is a map with string keys and no duplicates. Returns the key count and sets
 * *keys, *vals (caller frees both) and *dup, or returns -1 after an error.
 */
static long load_pairs(struct lctx *x, const struct ynode *n, const char *what,
		       struct ynode ***keys, struct ynode ***vals, bool **dup)
{
	if (n->kind != YN_MAP) {
		NERR(x, n, "CF112", "%s must be a map, not %s", what, load_kind_name(n));
		return -1;
	}
	/* Scratch arrays live in the file's arena: maps are many and small. */
	size_t np = n->n / 2, i = 0, ns = 0;
	struct ynode **sk = arena_calloc(&x->arena, np + 1, sizeof(*sk));
	size_t *idx = arena_calloc(&x->arena, np + 1, sizeof(*idx));
	bool *sd = arena_calloc(&x->arena, np + 1, sizeof(*sd));
	*keys = arena_calloc(&x->arena, np + 1, sizeof(**keys));
	*vals = arena_calloc(&x->arena, np + 1, sizeof(**vals));
	*dup = arena_calloc(&x->arena, np + 1, sizeof(**dup));
	for (struct yitem *it = n->head; it && it->next; it = it->next->next, i++) {
		(*keys)[i] = it->node;
		(*vals)[i] = it->next->node;
		if (it->node->kind != YN_SCALAR) {
			NERR(x, it->node, "CF112", "keys in %s must be strings", what);
			(*dup)[i] = true;
		} else {
			idx[ns] = i;
			sk[ns++] = it->node;
		}
	}
	load_dups(x, sk, ns, sd);
	for (i = 0; i < ns; i++)
		(*dup)[idx[i]] |= sd[i];
	return (long)np;
}

static void load_unknown(struct lctx *x, const struct ynode *k, const char *what,
			 const struct field *fields, size_t nf)
{
	char list[LOAD_MSG_MAX];
	size_t off = 0;
	for (size_t i = 0; i < nf && off < sizeof(list); i++) {
		int w =
		    snprintf(list + off, sizeof(list) - off, "%s%s", i ? ", " : "", fields[i].key);
		off += w > 0 ? (size_t)w : 0;
	}
	NERR(x, k, "CF111", "unknown key '%s' in %s (expected %s)", k->s, what, list);
}

static void load_field(struct lctx *x, const struct ynode *v, const struct field *f, void *obj)
{
	char *p = (char *)obj + f->off;
	switch (f->kind) {
	case F_SVAL:
		load_sval(x, v, f->key, (struct sval *)(void *)p);
		break;
	case F_SVEC:
		load_svec(x, v, f->key, (struct svec *)(void *)p);
		break;
	case F_MVAL:
		load_mval(x, v, f->key, (struct mval *)(void *)p);
		break;
	case F_BOOL:
		(void)load_bool(x, v, f->key, (bool *)(void *)p);
		break;
	case F_FN:
		f->fn(x, v, f, obj);
		break;
	}
}

/*
 * Reads map n into obj through the field table. Returns 0, or -1 when n is not a map or a
 * required key is missing (both reported); other errors are reported and skipped.
 */
static int load_map(struct lctx *x, const struct ynode *n, const char *what,
		    const struct field *fields, size_t nf, void *obj)
{
	struct ynode **keys, **vals;
	bool *dup, seen[LOAD_MAX_FIELDS] = {0};
	long np = load_pairs(x, n, what, &keys, &vals, &dup);
	int ret = 0;
	if (np < 0)
		return -1;
	for (long i = 0; i < np; i++) {
		size_t f = 0;
		if (dup[i])
			continue;
		while (f < nf && strcmp(fields[f].key, keys[i]->s) != 0)
			f++;
		if (f == nf) {
			load_unknown(x, keys[i], what, fields, nf);
			continue;
		}
		seen[f] = true;
		load_field(x, vals[i], &fields[f], obj);
	}
	for (size_t f = 0; f < nf; f++) {
		if (fields[f].required && !seen[f]) {
			NERR(x, n, "CF113", "%s has no '%s'", what, fields[f].key);
			ret = -1;
		}
	}
	return ret;
}

/* ---- cacheform.yaml ---- */

static void load_provider(struct lctx *x, const struct ynode *v, const struct field *f, void *obj)
{
	static const char *const names[] = {"azure-china", "azure", "cdnpro"};
	int i = load_word(x, v, f->key, names, CF_ARRAY_LEN(names));
	if (i >= 0)
		(void)provider_parse(names[i], &((struct account *)obj)->provider);
}

static void load_rate_limit(struct lctx *x, const struct ynode *v, const struct field *f,
			    void *obj);
static void load_timeout(struct lctx *x, const struct ynode *v, const struct field *f, void *obj)
{
	int64_t s;
	((struct account *)obj)->timeout_pos = load_npos(x, v);
	if (load_duration(x, v, f->key, &s) == 0)
		((struct account *)obj)->timeout_s = s;
}

static const struct field account_fields[] = {
    {"provider", F_FN, 0, load_provider, true},
    FMV(struct account, subscription),
    FMV(struct account, key_id),
    FMV(struct account, key_value),
    FMV(struct account, tenant),
    FMV(struct account, client_id),
    FMV(struct account, client_secret),
    FMV(struct account, user),
    FMV(struct account, api_key),
    FMV(struct account, base_url),
    FMV(struct account, login_url),
    FMV(struct account, api_version),
    FMV(struct account, ca_file),
    FFN("rate_limit", load_rate_limit),
    FFN("timeout", load_timeout),
};

static void load_per_minute(struct lctx *x, const struct ynode *v, const struct field *f, void *obj)
{
	int64_t n;
	/* Ranges are schema/check.c's; here only what fits the field. */
	if (load_int(x, v, f->key, 0, UINT32_MAX, &n) == 0)
		((struct rate_limit *)obj)->per_minute = (unsigned)n;
}

static void load_burst(struct lctx *x, const struct ynode *v, const struct field *f, void *obj)
{
	int64_t n;
	if (load_int(x, v, f->key, 0, UINT32_MAX, &n) == 0)
		((struct rate_limit *)obj)->burst = (unsigned)n;
}

static const struct field rate_fields[] = {
    FFN("per_minute", load_per_minute),
    FFN("burst", load_burst),
};

static void load_rate_limit(struct lctx *x, const struct ynode *v, const struct field *f, void *obj)
{
	struct rate_limit *rl = &((struct account *)obj)->rate_limit;
	CF_UNUSED(f);
	rl->pos = load_npos(x, v);
	if (load_map(x, v, "rate_limit", rate_fields, CF_ARRAY_LEN(rate_fields), rl) == 0)
		rl->set = true;
}

static void load_accounts(struct lctx *x, const struct ynode *v, const struct field *f, void *obj)
{
	struct config *c = obj;
	struct ynode **keys, **vals;
	bool *dup;
	long np = load_pairs(x, v, "accounts", &keys, &vals, &dup);
	CF_UNUSED(f);
	for (long i = 0; i < np; i++) {
		struct account a;
		struct pos kp = load_npos(x, keys[i]);
		char what[LOAD_MSG_MAX];
		if (dup[i])
			continue;
		memset(&a, 0, sizeof(a));
		snprintf(what, sizeof(what), "account '%s'", keys[i]->s);
		sval_set(&a.name, keys[i]->s, &kp);
		a.pos = load_npos(x, vals[i]);
		a.provider = PROV__COUNT; /* set by load_provider when the value is valid */
		(void)load_map(x, vals[i], what, account_fields, CF_ARRAY_LEN(account_fields), &a);
		struct config *dst = c;
		/* An account without a valid provider cannot be checked or used: leave it out. */
		if (a.provider == PROV__COUNT)
			dst = config_new();
		xgrow(&dst->accounts, &dst->acap, dst->naccounts + 1, sizeof(*dst->accounts));
		dst->accounts[dst->naccounts++] = a;
		if (dst != c)
			config_free(dst);
	}
}

static void load_version(struct lctx *x, const struct ynode *v, const struct field *f, void *obj)
{
	int64_t n;
	/* Only the type is checked here; schema/check.c says which versions exist. */
	((struct config *)obj)->version_pos = load_npos(x, v);
	if (load_int(x, v, f->key, 0, INT32_MAX, &n) == 0)
		((struct config *)obj)->version = n;
}

static void load_max_change(struct lctx *x, const struct ynode *v, const struct field *f, void *obj)
{
	(void)load_int(x, v, f->key, 0, 100, &((struct safety *)obj)->max_change_pct);
}

#define LOAD_MIN_RULES_MAX 100000

static void load_min_rules(struct lctx *x, const struct ynode *v, const struct field *f, void *obj)
{
	(void)load_int(x, v, f->key, 0, LOAD_MIN_RULES_MAX, &((struct safety *)obj)->min_rules);
}

static const struct field safety_fields[] = {
    FFN("max_change_pct", load_max_change),
    FFN("min_rules", load_min_rules),
};

static void load_safety(struct lctx *x, const struct ynode *v, const struct field *f, void *obj)
{
	CF_UNUSED(f);
	(void)load_map(x, v, "safety", safety_fields, CF_ARRAY_LEN(safety_fields),
		       &((struct config *)obj)->safety);
}

static const struct field settings_fields[] = {
    {"version", F_FN, 0, load_version, true},
    FFN("accounts", load_accounts),
    FFN("safety", load_safety),
};

/* ---- endpoints/NAME.yaml ---- */

struct rule_ctx {
	struct rule r;
	int nkinds;
};

static void load_rule_items(struct lctx *x, const struct ynode *v, const struct field *f, void *obj)
{
	struct rule_ctx *rc = obj;
	if (rc->nkinds++) {
		NERR(x, v, "CF116", "a rule has exactly one of dir, suffix or path ('%s' is extra)",
		     f->key);
		return;
	}
	rc->r.kind = f->key[0] == 'd' ? RULE_DIR : f->key[0] == 's' ? RULE_SUFFIX : RULE_PATH;
	load_svec(x, v, f->key, &rc->r.items);
}

static void load_rule_ttl(struct lctx *x, const struct ynode *v, const struct field *f, void *obj)
{
	struct rule_ctx *rc = obj;
	rc->r.ttl_pos = load_npos(x, v);
	(void)load_duration(x, v, f->key, &rc->r.ttl);
}

static const struct field rule_fields[] = {
    FFN("dir", load_rule_items),	FFN("suffix", load_rule_items),
    FFN("path", load_rule_items),	{"ttl", F_FN, 0, load_rule_ttl, true},
    FSV(struct rule_ctx, name, r.name),
};

static void load_rules(struct lctx *x, const struct ynode *v, const struct field *f, void *obj)
{
	struct cache *c = obj;
	if (v->kind != YN_SEQ) {
		NERR(x, v, "CF112", "'%s' must be a list, not %s", f->key, load_kind_name(v));
		return;
	}
	if (!c->rules && v->n) {
		c->rules = xcalloc(v->n, sizeof(*c->rules));
		c->cap = v->n;
	}
	for (struct yitem *it = v->head; it; it = it->next) {
		struct rule_ctx rc;
		memset(&rc, 0, sizeof(rc));
		rc.r.pos = load_npos(x, it->node);
		int r = load_map(x, it->node, "rule", rule_fields, CF_ARRAY_LEN(rule_fields), &rc);
		if (r == 0 && rc.nkinds == 0)
			NERR(x, it->node, "CF116", "a rule needs one of dir, suffix or path");
		if (r < 0 || rc.nkinds == 0) {
			svec_release(&rc.r.items);
			free(rc.r.name.s);
			continue;
		}
		*cache_add_rule(c) = rc.r;
	}
}

static void load_ignore_cookie(struct lctx *x, const struct ynode *v, const struct field *f,
			       void *obj)
{
	struct cache *c = obj;
	c->ignore_cookie_pos = load_npos(x, v);
	(void)load_bool(x, v, f->key, &c->ignore_cookie);
}

static const struct field cache_fields[] = {
    FBOOL(struct cache, ignore_cache_control),
    FFN("ignore_cookie", load_ignore_cookie),
    FBOOL(struct cache, ignore_query_string),
    FFN("rules", load_rules),
};

static void load_cache(struct lctx *x, const struct ynode *v, const struct field *f, void *obj)
{
	struct endpoint *ep = obj;
	CF_UNUSED(f);
	ep->has_cache = true;
	ep->cache.pos = load_npos(x, v);
	(void)load_map(x, v, "cache", cache_fields, CF_ARRAY_LEN(cache_fields), &ep->cache);
}

static const struct field remote_fields[] = {
    FSV(struct remote, endpoint_id, endpoint_id),
    FSV(struct remote, resource_group, resource_group),
    FSV(struct remote, profile, profile),
    FSV(struct remote, endpoint, endpoint),
    FSV(struct remote, target, target),
};

static void load_remote(struct lctx *x, const struct ynode *v, const struct field *f, void *obj)
{
	CF_UNUSED(f);
	(void)load_map(x, v, "remote", remote_fields, CF_ARRAY_LEN(remote_fields),
		       &((struct endpoint *)obj)->remote);
}

static void load_mode(struct lctx *x, const struct ynode *v, const struct field *f, void *obj)
{
	static const char *const names[] = {"manage", "observe", "purge-only"};
	int i = load_word(x, v, f->key, names, CF_ARRAY_LEN(names));
	((struct endpoint *)obj)->mode_pos = load_npos(x, v);
	if (i >= 0)
		((struct endpoint *)obj)->mode = i == 0	  ? MODE_MANAGE
						 : i == 1 ? MODE_OBSERVE
							  : MODE_PURGE_ONLY;
}

static const struct field endpoint_fields[] = {
    FREQ(struct endpoint, endpoint, name),
    FREQ(struct endpoint, account, account_name),
    FFN("remote", load_remote),
    FVEC(struct endpoint, hosts, hosts),
    FSV(struct endpoint, scheme, scheme),
    FFN("mode", load_mode),
    FFN("cache", load_cache),
};

/* ---- purges/NAME.yaml ---- */

static void load_action(struct lctx *x, const struct ynode *v, const struct field *f, void *obj)
{
	static const char *const names[] = {"invalidate", "delete"};
	int i = load_word(x, v, f->key, names, CF_ARRAY_LEN(names));
	((struct purge *)obj)->action_pos = load_npos(x, v);
	if (i >= 0)
		((struct purge *)obj)->action = i == 0 ? PURGE_INVALIDATE : PURGE_DELETE;
}

static const struct field purge_fields[] = {
    FREQ(struct purge, purge, id),
    {"endpoints", F_SVEC, offsetof(struct purge, endpoints), NULL, true},
    FVEC(struct purge, files, files),
    FVEC(struct purge, dirs, dirs),
    FVEC(struct purge, patterns, patterns),
    FVEC(struct purge, regex, regex),
    FFN("action", load_action),
    FVEC(struct purge, preload, preload),
};

/* ---- files ---- */

static void load_sha256_hex(const char *buf, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	static const char hex[] = "0123456789abcdef";
	if (!EVP_Digest(buf, len, md, &n, EVP_sha256(), NULL) || n != 32) {
		out[0] = '\0';
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
}

static void load_endpoint_doc(struct lctx *x, const struct ynode *root)
{
	struct endpoint ep;
	memset(&ep, 0, sizeof(ep));
	ep.file = x->file;
	ep.pos = load_npos(x, root);
	if (load_map(x, root, "endpoint file", endpoint_fields, CF_ARRAY_LEN(endpoint_fields),
		     &ep) < 0 ||
	    !ep.name.s || !ep.account_name.s) {
		/* Unnamed endpoints would only cause follow-on errors in the cross-file checks. */
		struct config *tmp = config_new();
		xgrow(&tmp->endpoints, &tmp->ecap, 1, sizeof(ep));
		tmp->endpoints[tmp->nendpoints++] = ep;
		config_free(tmp);
		return;
	}
	if (!ep.scheme.s)
		sval_set(&ep.scheme, "https", &ep.pos);
	struct config *c = x->c;
	xgrow(&c->endpoints, &c->ecap, c->nendpoints + 1, sizeof(*c->endpoints));
	c->endpoints[c->nendpoints++] = ep;
}

static void load_purge_doc(struct lctx *x, const struct ynode *root)
{
	struct purge pg;
	memset(&pg, 0, sizeof(pg));
	pg.file = x->file;
	pg.pos = load_npos(x, root);
	load_sha256_hex(x->buf, x->len, pg.content_hash);
	if (load_map(x, root, "purge file", purge_fields, CF_ARRAY_LEN(purge_fields), &pg) < 0 ||
	    !pg.id.s) {
		struct config *tmp = config_new();
		xgrow(&tmp->purges, &tmp->pcap, 1, sizeof(pg));
		tmp->purges[tmp->npurges++] = pg;
		config_free(tmp);
		return;
	}
	struct config *c = x->c;
	xgrow(&c->purges, &c->pcap, c->npurges + 1, sizeof(*c->purges));
	c->purges[c->npurges++] = pg;
}

static void load_doc(struct lctx *x, enum load_kind kind)
{
	const struct ynode *root = x->root;
	if (!root || load_is_null(root)) {
		load_err(x, 1, 1, "CF109", "file is empty");
		return;
	}
	switch (kind) {
	case LOAD_SETTINGS:
		(void)load_map(x, root, "cacheform.yaml", settings_fields,
			       CF_ARRAY_LEN(settings_fields), x->c);
		break;
	case LOAD_ENDPOINT:
		load_endpoint_doc(x, root);
		break;
	case LOAD_PURGE:
		load_purge_doc(x, root);
		break;
	}
}

/* Adds name to c's file table. Each file is loaded once, so no lookup is needed. */
static const char *load_intern(struct config *c, const char *name)
{
	xgrow(&c->files, &c->fcap, c->nfiles + 1, sizeof(*c->files));
	c->files[c->nfiles] = xstrdup(name);
	return c->files[c->nfiles++];
}

static int load_one(struct lctx *x, enum load_kind kind, const char *file, const char *buf,
		    size_t len)
{
	x->file = file;
	x->buf = buf;
	x->len = len;
	x->nerr = 0;
	x->depth = 0;
	x->root = NULL;
	x->nodes = x->nanchors = 0;
	x->alias_nodes = 0;
	x->anchors = NULL;
	x->docs = 0;
	if (len > LOAD_MAX_FILE_BYTES)
		load_err(x, 1, 1, "CF101", "file is %zu bytes, more than the limit of %zu bytes",
			 len, LOAD_MAX_FILE_BYTES);
	else if (load_check_bytes(x) == 0 && load_tree(x) == 0)
		load_doc(x, kind);
	arena_reset(&x->arena);
	return x->nerr ? CF_EINVAL : 0;
}

int load_buffer(struct config *c, enum load_kind kind, const char *file, const char *buf,
		size_t len, struct diag_list *d)
{
	struct lctx x;
	memset(&x, 0, sizeof(x));
	x.c = c;
	x.d = d;
	int ret = load_one(&x, kind, load_intern(c, file), buf, len);
	arena_release(&x.arena);
	return ret;
}

static int load_path(struct lctx *x, struct repo_src *src, enum load_kind kind, const char *path)
{
	struct cf_err e;
	char *buf = NULL;
	size_t len = 0;
	const char *file = load_intern(x->c, path);
	err_clear(&e);
	if (repo_src_read(src, file, LOAD_MAX_FILE_BYTES, &buf, &len, &e) < 0) {
		/* Whole-file problems point at the file's first character. */
		e.pos.file = file;
		e.pos.line = e.pos.col = 1;
		diag_add_err(x->d, &e);
		return CF_EINVAL;
	}
	int ret = load_one(x, kind, file, buf, len);
	free(buf);
	return ret;
}

static int load_dir(struct lctx *x, struct repo_src *src, const char *dir, enum load_kind kind)
{
	struct svec names = {0};
	struct cf_err e;
	int ret = 0;
	err_clear(&e);
	if (repo_src_list(src, dir, &names, &e) < 0) {
		if (!e.code[0])
			snprintf(e.code, sizeof(e.code), "%s", REPO_CODE_IO);
		diag_add_err(x->d, &e);
		ret = CF_EIO;
	}
	for (size_t i = 0; i < names.n; i++)
		if (load_path(x, src, kind, names.v[i].s) < 0 && ret == 0)
			ret = CF_EINVAL;
	svec_release(&names);
	return ret;
}

int load_repo(struct repo_src *src, struct config **out, struct diag_list *d)
{
	struct lctx x;
	int ret, r;
	memset(&x, 0, sizeof(x));
	x.c = config_new();
	x.d = d;
	snprintf(x.c->commit, sizeof(x.c->commit), "%s", repo_src_commit(src));
	ret = load_path(&x, src, LOAD_SETTINGS, "cacheform.yaml");
	r = load_dir(&x, src, "endpoints", LOAD_ENDPOINT);
	ret = ret == CF_EIO || r == CF_EIO ? CF_EIO : ret ? ret : r;
	r = load_dir(&x, src, "purges", LOAD_PURGE);
	ret = ret == CF_EIO || r == CF_EIO ? CF_EIO : ret ? ret : r;
	arena_release(&x.arena);
	*out = x.c;
	return ret;
}
