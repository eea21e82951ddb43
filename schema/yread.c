/* Node tree -> plain structs: typed readers and field tables (see yread.h). */
#include "reconcile/base/compat.h"
#include "schema/yread.h"
#include "reconcile/base/xmem.h"

#define YREAD_MSG_MAX	 1024
#define YREAD_SMALL_MAP	 16 /* maps up to this size check duplicates pairwise */
#define YREAD_INT_DIGITS 18 /* decimal digits accepted in an integer */
#define YREAD_MAX_FIELDS 32 /* keys in one field table */

/* ---- typed readers: each adds its own error and returns -1 on a wrong value ---- */

const char *yread_kind_name(const struct ynode *n)
{
	if (ytree_is_null(n))
		return "null";
	return n->kind == YN_MAP ? "a map" : n->kind == YN_SEQ ? "a list" : "a scalar";
}

struct pos yread_npos(const struct yread *x, const struct ynode *n)
{
	return pos_make(x->file, n->line, n->col);
}

static int yread_scalar(struct yread *x, const struct ynode *n, const char *key)
{
	if (n->kind == YN_SCALAR && !ytree_is_null(n))
		return 0;
	YREAD_ERR(x, n, "CF112", "'%s' must be a string, not %s", key, yread_kind_name(n));
	return -1;
}

static void yread_sval(struct yread *x, const struct ynode *n, const char *key, struct sval *v)
{
	struct pos p = yread_npos(x, n);
	if (yread_scalar(x, n, key) == 0)
		sval_set(v, n->s, &p);
}

/* As yread_sval, the string in the config's arena; a repeated key's earlier value stays there. */
static void yread_asval(struct yread *x, const struct ynode *n, const char *key, struct sval *v)
{
	if (yread_scalar(x, n, key) != 0)
		return;
	v->s = config_strndup(x->c, n->s, strlen(n->s));
	v->pos = yread_npos(x, n);
}

void yread_svec(struct yread *x, const struct ynode *n, const char *key, struct svec *v)
{
	if (n->kind != YN_SEQ) {
		YREAD_ERR(x, n, "CF112", "'%s' must be a list, not %s", key, yread_kind_name(n));
		return;
	}
	v->pos = yread_npos(x, n);
	if (v->v || n->n == 0) { /* only a repeated key reaches here with a list already set */
		for (struct yitem *it = n->head; it; it = it->next) {
			struct pos p = yread_npos(x, it->node);
			if (yread_scalar(x, it->node, key) == 0)
				svec_push(v, it->node->s, &p);
		}
		return;
	}
	/*
	 * Lists are most of a large config (10^5 rules): the array, at its exact size, and the
	 * strings go into the config's arena, not one heap block each (a borrowed svec).
	 */
	v->v = config_alloc(x->c, n->n, sizeof(*v->v));
	v->cap = 0;
	for (struct yitem *it = n->head; it; it = it->next) {
		if (yread_scalar(x, it->node, key) < 0)
			continue;
		v->v[v->n].s = config_strndup(x->c, it->node->s, it->node->len);
		v->v[v->n++].pos = yread_npos(x, it->node);
	}
	if (v->n == 0)
		v->v = NULL;
}

int yread_bool(struct yread *x, const struct ynode *n, const char *key, bool *out)
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
		YREAD_ERR(x, n, "CF112", "'%s' must be true or false (unquoted), not %s'%s'", key,
			  n->plain ? "" : "quoted ", n->s);
	else
		YREAD_ERR(x, n, "CF112", "'%s' must be true or false, not %s", key,
			  yread_kind_name(n));
	return -1;
}

int yread_int(struct yread *x, const struct ynode *n, const char *key, int64_t lo, int64_t hi,
	      int64_t *out)
{
	int64_t v = 0;
	size_t i = n->kind == YN_SCALAR && n->s[0] == '-';
	if (n->kind != YN_SCALAR || !n->plain || n->len == i || n->len - i > YREAD_INT_DIGITS) {
		YREAD_ERR(x, n, "CF115", "'%s' must be a whole number", key);
		return -1;
	}
	for (; i < n->len; i++) {
		if (n->s[i] < '0' || n->s[i] > '9') {
			YREAD_ERR(x, n, "CF115", "'%s' must be a whole number, not '%s'", key,
				  n->s);
			return -1;
		}
		v = v * 10 + (n->s[i] - '0');
	}
	v = n->s[0] == '-' ? -v : v;
	if (v < lo || v > hi) {
		YREAD_ERR(x, n, "CF114", "'%s' must be between %lld and %lld, not %lld", key,
			  (long long)lo, (long long)hi, (long long)v);
		return -1;
	}
	*out = v;
	return 0;
}

int yread_duration(struct yread *x, const struct ynode *n, const char *key, int64_t *out)
{
	const char *why = NULL;
	if (yread_scalar(x, n, key) < 0)
		return -1;
	if (duration_parse(n->s, out, &why) < 0) {
		YREAD_ERR(x, n, "CF115", "invalid %s '%s': %s", key, n->s, why);
		return -1;
	}
	return 0;
}

/* Returns the index of n's text in words, or -1 after adding an error. */
int yread_word(struct yread *x, const struct ynode *n, const char *key, const char *const *words,
	       size_t nwords)
{
	if (yread_scalar(x, n, key) < 0)
		return -1;
	for (size_t i = 0; i < nwords; i++)
		if (strcmp(n->s, words[i]) == 0)
			return (int)i;
	char list[YREAD_MSG_MAX];
	size_t off = 0;
	for (size_t i = 0; i < nwords && off < sizeof(list); i++) {
		int w = snprintf(list + off, sizeof(list) - off, "%s%s", i ? ", " : "", words[i]);
		off += w > 0 ? (size_t)w : 0;
	}
	YREAD_ERR(x, n, "CF114", "'%s' must be one of %s, not '%s'", key, list, n->s);
	return -1;
}

static bool yread_env_name_ok(const char *s)
{
	if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
		return false;
	for (s++; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_' ||
		      (*s >= '0' && *s <= '9')))
			return false;
	return true;
}

static void yread_mval(struct yread *x, const struct ynode *n, const char *key, struct mval *m)
{
	mval_release(m);
	m->pos = yread_npos(x, n);
	if (n->kind == YN_SCALAR && !ytree_is_null(n)) {
		m->kind = MVAL_LITERAL;
		m->text = xstrdup(n->s);
		return;
	}
	const struct ynode *k = n->kind == YN_MAP && n->n == 2 ? n->head->node : NULL;
	const struct ynode *v = k ? n->head->next->node : NULL;
	bool env = k && k->kind == YN_SCALAR && strcmp(k->s, "env") == 0;
	bool file = k && k->kind == YN_SCALAR && strcmp(k->s, "file") == 0;
	if (!(env || file) || v->kind != YN_SCALAR || ytree_is_null(v) || v->len == 0 ||
	    (env && !yread_env_name_ok(v->s))) {
		YREAD_ERR(
		    x, n, "CF117",
		    "'%s' must be a string, {env: NAME} (NAME made of letters, digits and _) or "
		    "{file: PATH}",
		    key);
		return;
	}
	m->kind = env ? MVAL_ENV : MVAL_FILE;
	m->text = xstrdup(v->s);
	m->pos = yread_npos(x, v);
}

/* ---- maps: duplicate keys, unknown keys, required keys ---- */

static int yread_keycmp(const void *a, const void *b)
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
static void yread_dups(struct yread *x, struct ynode **keys, size_t n, bool *dup)
{
	if (n <= YREAD_SMALL_MAP) {
		for (size_t i = 1; i < n; i++)
			for (size_t j = 0; j < i && !dup[i]; j++)
				if (strcmp(keys[i]->s, keys[j]->s) == 0) {
					dup[i] = true;
					YREAD_ERR(x, keys[i], "CF110",
						  "duplicate key '%s' (first at line %u)",
						  keys[i]->s, keys[j]->line);
				}
		return;
	}
	struct ynode **sorted = ytree_calloc(&x->t, n, sizeof(*sorted));
	memcpy(sorted, keys, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), yread_keycmp);
	for (size_t i = 1; i < n; i++) {
		if (strcmp(sorted[i]->s, sorted[i - 1]->s) != 0)
			continue;
		for (size_t j = 0; j < n; j++)
			if (keys[j] == sorted[i])
				dup[j] = true;
		YREAD_ERR(x, sorted[i], "CF110", "duplicate key '%s'", sorted[i]->s);
	}
}

/*
 * Checks that n is a map with string keys and no duplicates. Returns the key count and sets
 * *keys, *vals and *dup (scratch in the tree's arena), or returns -1 after an error.
 */
long yread_pairs(struct yread *x, const struct ynode *n, const char *what, struct ynode ***keys,
		 struct ynode ***vals, bool **dup)
{
	if (n->kind != YN_MAP) {
		YREAD_ERR(x, n, "CF112", "%s must be a map, not %s", what, yread_kind_name(n));
		return -1;
	}
	/* Scratch arrays live in the file's arena: maps are many and small. */
	size_t np = n->n / 2, i = 0, ns = 0;
	struct ynode **sk = ytree_calloc(&x->t, np + 1, sizeof(*sk));
	size_t *idx = ytree_calloc(&x->t, np + 1, sizeof(*idx));
	bool *sd = ytree_calloc(&x->t, np + 1, sizeof(*sd));
	*keys = ytree_calloc(&x->t, np + 1, sizeof(**keys));
	*vals = ytree_calloc(&x->t, np + 1, sizeof(**vals));
	*dup = ytree_calloc(&x->t, np + 1, sizeof(**dup));
	for (struct yitem *it = n->head; it && it->next; it = it->next->next, i++) {
		(*keys)[i] = it->node;
		(*vals)[i] = it->next->node;
		if (it->node->kind != YN_SCALAR) {
			YREAD_ERR(x, it->node, "CF112", "keys in %s must be strings", what);
			(*dup)[i] = true;
		} else {
			idx[ns] = i;
			sk[ns++] = it->node;
		}
	}
	yread_dups(x, sk, ns, sd);
	for (i = 0; i < ns; i++)
		(*dup)[idx[i]] |= sd[i];
	return (long)np;
}

static void yread_unknown(struct yread *x, const struct ynode *k, const char *what,
			  const struct yread_field *fields, size_t nf)
{
	char list[YREAD_MSG_MAX];
	size_t off = 0;
	for (size_t i = 0; i < nf && off < sizeof(list); i++) {
		int w =
		    snprintf(list + off, sizeof(list) - off, "%s%s", i ? ", " : "", fields[i].key);
		off += w > 0 ? (size_t)w : 0;
	}
	YREAD_ERR(x, k, "CF111", "unknown key '%s' in %s (expected %s)", k->s, what, list);
}

static void yread_field(struct yread *x, const struct ynode *v, const struct yread_field *f,
			void *obj)
{
	char *p = (char *)obj + f->off;
	switch (f->kind) {
	case F_SVAL:
		yread_sval(x, v, f->key, (struct sval *)(void *)p);
		break;
	case F_ASVAL:
		yread_asval(x, v, f->key, (struct sval *)(void *)p);
		break;
	case F_SVEC:
		yread_svec(x, v, f->key, (struct svec *)(void *)p);
		break;
	case F_MVAL:
		yread_mval(x, v, f->key, (struct mval *)(void *)p);
		break;
	case F_BOOL:
		(void)yread_bool(x, v, f->key, (bool *)(void *)p);
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
int yread_map(struct yread *x, const struct ynode *n, const char *what,
	      const struct yread_field *fields, size_t nf, void *obj)
{
	struct ynode **keys, **vals;
	bool *dup, seen[YREAD_MAX_FIELDS] = {0};
	long np = yread_pairs(x, n, what, &keys, &vals, &dup);
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
			yread_unknown(x, keys[i], what, fields, nf);
			continue;
		}
		seen[f] = true;
		yread_field(x, vals[i], &fields[f], obj);
	}
	for (size_t f = 0; f < nf; f++) {
		if (fields[f].required && !seen[f]) {
			YREAD_ERR(x, n, "CF113", "%s has no '%s'", what, fields[f].key);
			ret = -1;
		}
	}
	return ret;
}
