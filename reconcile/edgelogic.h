/*
 * CDN Pro Edge Logic, the subset cacheform reads and writes (reference
 * CDN Pro "Edge Logic" docs, docs.cdnetworks.com): the nginx tokenizer (comments, quotes, blocks),
 * the top-level `location` blocks with their modifiers (=, ^~, ~, ~*, plain prefix) and the cache
 * directives that decide a TTL, and the one region cacheform owns:
 *
 *   # cacheform:begin v1 sha256=<hex of the bytes between the two marker lines>
 *   location ... { ... }
 *   # cacheform:end
 *
 * Every byte outside the region is foreign: kept exactly and never rewritten. Pure
 * computation: no I/O, no library type in this header.
 */
#ifndef CF_EDGELOGIC_H
#define CF_EDGELOGIC_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "reconcile/base/diag.h"
#include "reconcile/base/model.h"
#include "reconcile/base/sb.h"

#define EL_TEXT_MAX  65530 /* edgeLogic maxLength in the vendor's OpenAPI spec */
#define EL_DEPTH_MAX 16	   /* block nesting we parse */
#define EL_ARGS_MAX  64	   /* arguments of one directive */
#define EL_BEGIN     "# cacheform:begin v1 sha256="
#define EL_END	     "# cacheform:end"
#define EL_HASH_HEX  64

enum el_match {
	EL_EXACT,	/* location = /x */
	EL_PREFIX,	/* location /x */
	EL_PREFIX_STOP, /* location ^~ /x: a longest match skips the regexes */
	EL_REGEX,	/* location ~ re */
	EL_REGEX_CI,	/* location ~* re */
	EL_NAMED,	/* location @name: never chosen by a request path */
};

/* What a location does to the edge TTL (§3.3-3.4), in the terms of cacheform's meaning. */
enum el_cache {
	EL_ORIGIN,    /* no cache directive: origin headers decide */
	EL_BYPASS,    /* proxy_no_cache + proxy_cache_bypass, or proxy_cache_valid 0 */
	EL_OVERRIDE,  /* proxy_ignore_headers Cache-Control (or Expires) + proxy_cache_valid T */
	EL_IF_MISSING /* proxy_cache_valid T alone: applies when the origin says nothing */
};

struct el_location {
	enum el_match match;
	char *pattern; /* owned, unquoted */
	bool owned;    /* inside cacheform's region */
	enum el_cache cache;
	int64_t ttl; /* seconds, for OVERRIDE / IF_MISSING */
	/* decided by something this model does not evaluate from the path alone (variables,
	 * `if` blocks with cache directives, nested locations, status-code lists) */
	bool uncertain;
	unsigned line; /* 1-based, in the whole text */
};

struct el_doc {
	struct el_location *locs; /* top-level locations in file order */
	size_t n, cap;
	bool has_region;
	size_t region_begin, region_end; /* byte range of the region incl. both marker lines */
	size_t body_begin, body_end;	 /* the bytes the hash covers */
	bool hash_ok;			 /* the recorded hash matches the body */
	bool has_root;			 /* a `location /` (plain prefix) exists */
	bool root_foreign;		 /* ... and it is outside the region */
};

/*
 * Parses text (len bytes; need not be NUL-terminated). Returns 0 and fills *out (release with
 * el_doc_release), or CF_EINVAL with e naming the line: unbalanced braces or quotes, a
 * location without a pattern, nesting deeper than EL_DEPTH_MAX, a second region, a marker
 * inside a block, text over EL_TEXT_MAX.
 */
int el_parse(const char *text, size_t len, struct el_doc *out, struct cf_err *e);
void el_doc_release(struct el_doc *d);

/*
 * Appends to out the region (both marker lines, each ending in '\n') that makes CDN Pro
 * cache c's rule list with cacheform's meaning (SPEC §2.2): rules become regex locations in
 * YAML order (nginx tries regexes first-match in file order), an exact `path` item not
 * decided by an earlier rule becomes `location =`. with_root adds `location /` (origin
 * decides), needed unless foreign Edge Logic has one. origin is the `origin_pass` name.
 */
void el_compile(const struct cache *c, const char *origin, bool with_root, struct sb *out);

/*
 * el_compile's inverse: the rule list *out whose compilation, with *origin (caller frees;
 * NULL when the region holds no location) and *with_root, is d's region byte for byte (text
 * is d's text). hint (the desired list, may be NULL) chooses among lists that compile alike:
 * the flags a region cannot say (no location says them), a dir item's spelling ("/pic" or
 * "/pic/"), where adjacent rules of one kind and TTL split, the path items an earlier rule
 * decides (the compiler leaves them out). Returns 0, or -1 (nothing to release) when d has
 * no region or it is not exactly what el_compile writes: edited, spelled otherwise.
 */
int el_decode(const char *text, const struct el_doc *d, const struct cache *hint, struct cache *out,
	      char **origin, bool *with_root);

/*
 * Returns the new Edge Logic (caller frees): text with its region replaced by region, or
 * region put first when text has none (before any foreign regex location, §4.1).
 */
char *el_replace_region(const char *text, size_t len, const struct el_doc *d, const char *region);

/*
 * The cache-key flags of d's region (text is d's text), as el_compile writes them: the query
 * string is in the key unless ignore_query_string, Set-Cookie is ignored when ignore_cookie.
 * Leaves both as they are when d has no region or the region holds no location.
 */
void el_region_flags(const char *text, const struct el_doc *d, bool *ignore_qs,
		     bool *ignore_cookie);

/* Writes the hex SHA-256 of body into hex (EL_HASH_HEX + 1 bytes). */
void el_hash(const char *body, size_t len, char hex[EL_HASH_HEX + 1]);

/* The modifier a location of kind m is written with, with its trailing space ("= ", "^~ ",
 * "~ ", "~* "); "" for a plain prefix and a named location. */
const char *el_match_mod(enum el_match m);

/* Parses an nginx time ("30d", "1h30m", "90", "0"); returns 0 or -1. */
int el_time(const char *s, int64_t *out);

#endif
