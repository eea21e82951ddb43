/* YAML bytes -> node tree (see ytree.h). The only file that includes yaml.h. */
#include "reconcile/base/compat.h"
#include "schema/ytree.h"
#include "reconcile/base/xmem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <yaml.h>

#define YTREE_MSG_MAX	  1024
#define YTREE_ARENA_CHUNK 65536
#define YTREE_UTF8_BOM	  "\xef\xbb\xbf" /* skipped at the start of a file */

/* ---- arena: every node of one file, freed at once ---- */

struct ytree_chunk {
	struct ytree_chunk *next;
	size_t used, cap;
	max_align_t data[];
};

void *ytree_alloc(struct ytree *t, size_t n)
{
	n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
	struct ytree_chunk *c = t->chunks;
	if (!c || c->cap - c->used < n) {
		size_t cap = n > YTREE_ARENA_CHUNK ? n : YTREE_ARENA_CHUNK;
		c = xmalloc(sizeof(*c) + cap);
		c->used = 0;
		c->cap = cap;
		c->next = t->chunks;
		t->chunks = c;
	}
	void *p = (char *)c->data + c->used;
	c->used += n;
	return p;
}

void *ytree_calloc(struct ytree *t, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		return xcalloc(n, size); /* dies with the size asked for */
	void *p = ytree_alloc(t, n * size);
	memset(p, 0, n * size);
	return p;
}

/* Frees every chunk but the newest, which is kept (emptied) for the next file. */
static void ytree_arena_reset(struct ytree *t)
{
	struct ytree_chunk *c = t->chunks;
	if (!c)
		return;
	while (c->next) {
		struct ytree_chunk *n = c->next->next;
		free(c->next);
		c->next = n;
	}
	c->used = 0;
}

void ytree_init(struct ytree *t, struct diag_list *d)
{
	memset(t, 0, sizeof(*t));
	t->d = d;
}

void ytree_begin(struct ytree *t, const char *file, const char *buf, size_t len)
{
	ytree_arena_reset(t);
	t->file = file;
	t->buf = buf;
	t->len = len;
	t->nerr = 0;
	t->root = NULL;
}

void ytree_release(struct ytree *t)
{
	ytree_arena_reset(t);
	free(t->chunks);
	t->chunks = NULL;
}

void ytree_err(struct ytree *t, unsigned line, unsigned col, const char *code, const char *fmt, ...)
{
	char msg[YTREE_MSG_MAX];
	struct loc p = {t->file, line, col};
	va_list ap;
	if (t->nerr > YTREE_MAX_FILE_ERRORS)
		return;
	if (t->nerr++ == YTREE_MAX_FILE_ERRORS) {
		diag_add(t->d, DIAG_ERROR, &p, "CF118",
			 "more than %d errors in this file; the rest are not reported",
			 YTREE_MAX_FILE_ERRORS);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	diag_add(t->d, DIAG_ERROR, &p, code, "%s", msg);
}

bool ytree_is_null(const struct ynode *n)
{
	return n->kind == YN_SCALAR && n->plain &&
	       (n->len == 0 || strcmp(n->s, "~") == 0 || strcmp(n->s, "null") == 0 ||
		strcmp(n->s, "Null") == 0 || strcmp(n->s, "NULL") == 0);
}

/* ---- byte-level checks, before libyaml sees the buffer ---- */

/* Returns the length of the UTF-8 sequence at p (at most n bytes), or 0 when it is invalid. */
static size_t ytree_utf8_len(const unsigned char *p, size_t n)
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

static int ytree_check_bytes(struct ytree *t)
{
	const unsigned char *p = (const unsigned char *)t->buf;
	unsigned line = 1, col = 1;
	for (size_t i = 0; i < t->len;) {
		/* Fast path: printable ASCII other than newline needs no decoding. */
		if (p[i] > '\n' && p[i] < 0x80) {
			i++;
			col++;
			continue;
		}
		if (p[i] == 0) {
			ytree_err(t, line, col, "CF104", "NUL byte in file");
			return -1;
		}
		size_t n = ytree_utf8_len(p + i, t->len - i);
		if (n == 0) {
			ytree_err(t, line, col, "CF103", "invalid UTF-8 byte 0x%02x", p[i]);
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
static void ytree_offset_pos(const struct ytree *t, size_t off, unsigned *line, unsigned *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && i < t->len; i++) {
		if (t->buf[i] == '\n')
			++*line, *col = 1;
		else if (((unsigned char)t->buf[i] & 0xc0) != 0x80)
			++*col;
	}
}

/* ---- building the tree from libyaml events, without recursion ---- */

struct yanchor {
	const char *name;
	struct ynode *node;
	struct yanchor *next;
};

/* State of one parse. */
struct ybuild {
	struct ytree *t;
	struct ynode *stack[YTREE_MAX_DEPTH];
	size_t depth;
	size_t nodes, nanchors;
	uint64_t alias_nodes;
	struct yanchor *anchors;
	int docs;
};

#define MARK_ERR(b, m, code, ...)                                                                  \
	ytree_err((b)->t, (unsigned)(m)->line + 1, (unsigned)(m)->column + 1, code, __VA_ARGS__)

static struct ynode *ytree_node_new(struct ybuild *b, enum ynode_kind kind, const yaml_mark_t *m)
{
	struct ynode *n = ytree_alloc(b->t, sizeof(*n));
	memset(n, 0, sizeof(*n));
	n->kind = kind;
	n->line = (unsigned)m->line + 1;
	n->col = (unsigned)m->column + 1;
	n->weight = 1;
	b->nodes++;
	return n;
}

static void ytree_attach(struct ybuild *b, struct ynode *n)
{
	if (b->depth == 0) {
		b->t->root = n;
		return;
	}
	struct ynode *parent = b->stack[b->depth - 1];
	struct yitem *it = ytree_alloc(b->t, sizeof(*it));
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

static int ytree_anchor(struct ybuild *b, const yaml_char_t *name, struct ynode *n,
			const yaml_mark_t *m)
{
	if (!name)
		return 0;
	if (b->nanchors++ == YTREE_MAX_ANCHORS) {
		MARK_ERR(b, m, "CF107", "more than %d anchors in one file", YTREE_MAX_ANCHORS);
		return -1;
	}
	size_t len = strlen((const char *)name);
	char *s = ytree_alloc(b->t, len + 1);
	memcpy(s, name, len + 1);
	struct yanchor *a = ytree_alloc(b->t, sizeof(*a));
	a->name = s;
	a->node = n;
	a->next = b->anchors;
	b->anchors = a;
	return 0;
}

/* A tag (!!str, !foo) would change a value's type or meaning in other YAML tools; ignoring it
 * silently would let the same file mean two things, so it is refused where it stands. */
static int ytree_no_tag(struct ybuild *b, const yaml_char_t *tag, const yaml_mark_t *m)
{
	if (!tag)
		return 0;
	MARK_ERR(b, m, "CF119", "YAML tag '%.40s' is not supported (write the value plainly)",
		 (const char *)tag);
	return -1;
}

static enum yscalar_style ytree_style(yaml_scalar_style_t s)
{
	switch (s) {
	case YAML_SINGLE_QUOTED_SCALAR_STYLE:
		return YS_SINGLE;
	case YAML_DOUBLE_QUOTED_SCALAR_STYLE:
		return YS_DOUBLE;
	case YAML_LITERAL_SCALAR_STYLE:
	case YAML_FOLDED_SCALAR_STYLE:
		return YS_BLOCK;
	default:
		return YS_PLAIN;
	}
}

static int ytree_ev_scalar(struct ybuild *b, const yaml_event_t *ev)
{
	if (ytree_no_tag(b, ev->data.scalar.tag, &ev->start_mark) < 0)
		return -1;
	/* "w\0w" decodes to a NUL: as a C string it would silently read as "w" */
	if (memchr(ev->data.scalar.value, 0, ev->data.scalar.length)) {
		MARK_ERR(b, &ev->start_mark, "CF104", "NUL character (\\0) in a value");
		return -1;
	}
	struct ynode *n = ytree_node_new(b, YN_SCALAR, &ev->start_mark);
	char *s = ytree_alloc(b->t, ev->data.scalar.length + 1);
	memcpy(s, ev->data.scalar.value, ev->data.scalar.length);
	s[ev->data.scalar.length] = '\0';
	n->s = s;
	n->len = ev->data.scalar.length;
	n->plain =
	    ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && ev->data.scalar.plain_implicit;
	n->end_line = (unsigned)ev->end_mark.line + 1;
	n->end_col = (unsigned)ev->end_mark.column + 1;
	n->style = ytree_style(ev->data.scalar.style);
	ytree_attach(b, n);
	return ytree_anchor(b, ev->data.scalar.anchor, n, &ev->start_mark);
}

static int ytree_ev_start(struct ybuild *b, const yaml_event_t *ev, enum ynode_kind kind)
{
	const yaml_char_t *anchor =
	    kind == YN_MAP ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
	const yaml_char_t *tag =
	    kind == YN_MAP ? ev->data.mapping_start.tag : ev->data.sequence_start.tag;
	if (ytree_no_tag(b, tag, &ev->start_mark) < 0)
		return -1;
	if (b->depth == YTREE_MAX_DEPTH) {
		MARK_ERR(b, &ev->start_mark, "CF106", "nesting deeper than %d levels",
			 YTREE_MAX_DEPTH);
		return -1;
	}
	struct ynode *n = ytree_node_new(b, kind, &ev->start_mark);
	n->open = true;
	n->flow = kind == YN_MAP ? ev->data.mapping_start.style == YAML_FLOW_MAPPING_STYLE
				 : ev->data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE;
	ytree_attach(b, n);
	b->stack[b->depth++] = n;
	return ytree_anchor(b, anchor, n, &ev->start_mark);
}

static void ytree_ev_end(struct ybuild *b)
{
	struct ynode *n = b->stack[--b->depth];
	n->open = false;
	if (b->depth)
		b->stack[b->depth - 1]->weight += n->weight;
}

static int ytree_ev_alias(struct ybuild *b, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	struct yanchor *a = b->anchors;
	while (a && strcmp(a->name, name) != 0)
		a = a->next;
	if (!a || a->node->open) {
		MARK_ERR(b, &ev->start_mark, "CF108",
			 a ? "alias '*%s' refers to a node that contains it"
			   : "alias '*%s' has no anchor before it",
			 name);
		return -1;
	}
	b->alias_nodes += a->node->weight;
	if (b->alias_nodes > YTREE_MAX_ALIAS_NODES) {
		MARK_ERR(b, &ev->start_mark, "CF107", "aliases expand to more than %d nodes",
			 YTREE_MAX_ALIAS_NODES);
		return -1;
	}
	ytree_attach(b, a->node);
	return 0;
}

static void ytree_parse_error(struct ytree *t, const yaml_parser_t *p, size_t skip)
{
	unsigned line = (unsigned)p->problem_mark.line + 1,
		 col = (unsigned)p->problem_mark.column + 1;
	if (p->error == YAML_MEMORY_ERROR)
		xmem_oom("the YAML parser");
	if (p->error == YAML_READER_ERROR)
		ytree_offset_pos(t, p->problem_offset + skip, &line, &col);
	ytree_err(t, line, col, "CF105", "YAML syntax error: %s%s%s",
		  p->problem ? p->problem : "unknown problem", p->context ? " " : "",
		  p->context ? p->context : "");
}

/* Handles one event; returns 1 at the end of the stream, 0 to go on, -1 on error. */
static int ytree_event(struct ybuild *b, const yaml_event_t *ev)
{
	if (b->nodes >= YTREE_MAX_NODES) {
		MARK_ERR(b, &ev->start_mark, "CF107", "more than %d YAML nodes in one file",
			 YTREE_MAX_NODES);
		return -1;
	}
	switch (ev->type) {
	case YAML_STREAM_END_EVENT:
		return 1;
	case YAML_DOCUMENT_START_EVENT:
		if (++b->docs > 1) {
			MARK_ERR(b, &ev->start_mark, "CF109",
				 "more than one YAML document in one file");
			return -1;
		}
		return 0;
	case YAML_SCALAR_EVENT:
		return ytree_ev_scalar(b, ev);
	case YAML_SEQUENCE_START_EVENT:
		return ytree_ev_start(b, ev, YN_SEQ);
	case YAML_MAPPING_START_EVENT:
		return ytree_ev_start(b, ev, YN_MAP);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		ytree_ev_end(b);
		return 0;
	case YAML_ALIAS_EVENT:
		return ytree_ev_alias(b, ev);
	default:
		return 0;
	}
}

/* Runs libyaml over t->buf into t->root. Returns 0, or -1 after adding the error. */
static int ytree_events(struct ytree *t)
{
	yaml_parser_t p;
	yaml_event_t ev;
	struct ybuild b;
	int r = 0;
	memset(&b, 0, sizeof(b));
	b.t = t;
	/* Initialisation only allocates buffers: failing means memory ran out. */
	if (!yaml_parser_initialize(&p))
		xmem_oom("the YAML parser");
	/* a UTF-8 byte order mark (editors on Windows write one) is not part of the text */
	size_t skip = t->len >= 3 && memcmp(t->buf, YTREE_UTF8_BOM, 3) == 0 ? 3 : 0;
	yaml_parser_set_input_string(&p, (const unsigned char *)t->buf + skip, t->len - skip);
	yaml_parser_set_encoding(&p, YAML_UTF8_ENCODING);
	while (r == 0) {
		if (!yaml_parser_parse(&p, &ev)) {
			ytree_parse_error(t, &p, skip);
			r = -1;
			break;
		}
		r = ytree_event(&b, &ev);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	return r < 0 ? -1 : 0;
}

int ytree_parse(struct ytree *t)
{
	t->root = NULL;
	if (ytree_check_bytes(t) < 0)
		return -1;
	return ytree_events(t);
}

const char *ytree_lib_version(void)
{
	return yaml_get_version_string();
}
