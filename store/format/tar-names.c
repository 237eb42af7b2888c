/*
 * tar-names.c - the namespace a tar stream builds, and the checks that keep
 * its entries inside the snapshot (see tar-names.h).
 *
 * An entry is refused when its path is absolute, has a ".." component, or
 * has a leading component that an earlier entry made a symlink (or a file,
 * device...): extracting it would write outside the tree or through a link
 * the archive planted, which is how hostile archives escape. The last
 * component may itself be an earlier symlink: like `tar -x`, the new entry
 * replaces the symlink rather than following it.
 *
 * A directory's children are found through one hash map keyed by the
 * SHA-256 of (parent number, name), so lookups cost the same for a million
 * entries in one directory as for ten; names of any length fit the map's
 * 32-byte keys.
 */
#include "format/tar-names.h"
#include "format/tree.h"
#include "base/crypto.h"

#include <assert.h>

static void child_key(uint32_t parent, const void *name, size_t len, uint8_t key[HMAP_KEY_LEN])
{
	uint8_t head[4];
	struct sha256_ctx *c = sha256_new();

	put_le32(head, parent);
	sha256_update(c, head, sizeof(head));
	sha256_update(c, name, len);
	sha256_final(c, key);
	sha256_free(c);
}

static uint32_t add_node(struct tar_names *t, uint32_t parent, const void *name, size_t len,
			 enum tar_node_kind kind, uint32_t value)
{
	XGROW_ARRAY(t->nodes, t->cap_nodes, (size_t)t->n_nodes + 1);
	struct tar_node *n = &t->nodes[t->n_nodes];
	*n = (struct tar_node){
		.parent = parent,
		.name_off = t->arena.len,
		.name_len = (uint32_t)len,
		.kind = kind,
		.live = true,
		.value = value,
	};
	buf_append(&t->arena, name, len);
	return t->n_nodes++;
}

void tar_names_init(struct tar_names *t, uint32_t root_value)
{
	*t = (struct tar_names){ 0 };
	hmap_init(&t->children);
	buf_init(&t->arena);
	add_node(t, 0, "", 0, TAR_NODE_DIR, root_value);
}

void tar_names_release(struct tar_names *t)
{
	free(t->nodes);
	hmap_release(&t->children);
	buf_release(&t->arena);
	*t = (struct tar_names){ 0 };
}

const char *tar_path_verdict_str(enum tar_path_verdict v)
{
	switch (v) {
	case TAR_PATH_OK:
		return "is safe";
	case TAR_PATH_ABSOLUTE:
		return "is an absolute path";
	case TAR_PATH_DOTDOT:
		return "has a '..' component";
	case TAR_PATH_THROUGH_SYMLINK:
		return "leads through a symlink of the archive";
	case TAR_PATH_NOT_DIR:
		return "leads through an entry of the archive that is not a directory";
	case TAR_PATH_BAD_NAME:
		return "has a component longer than 255 bytes";
	case TAR_PATH_NOT_FOUND:
		return "names no earlier entry";
	}
	return "is invalid";
}

uint32_t tar_names_child(const struct tar_names *t, uint32_t parent, const void *name, size_t len)
{
	uint8_t key[HMAP_KEY_LEN];

	child_key(parent, name, len, key);
	uint64_t *v = hmap_get(&t->children, key);
	return v ? (uint32_t)*v : UINT32_MAX;
}

/* The next component of path[*pos .. len), skipping empty and "."
 * components; false at the end. */
static bool next_component(const char *path, size_t len, size_t *pos, size_t *ret_start,
			   size_t *ret_len)
{
	while (*pos < len) {
		size_t start = *pos, end = start;
		while (end < len && path[end] != '/')
			end++;
		*pos = end < len ? end + 1 : end;
		if (end == start || (end - start == 1 && path[start] == '.'))
			continue;
		*ret_start = start;
		*ret_len = end - start;
		return true;
	}
	return false;
}

enum tar_path_verdict tar_names_resolve(struct tar_names *t, const char *path, size_t len,
					bool create, uint32_t *ret_parent, const char **ret_name,
					size_t *ret_name_len, size_t *ret_bad_len)
{
	size_t pos = 0, start = 0, clen = 0;

	*ret_bad_len = 0;
	if (len > 0 && path[0] == '/')
		return TAR_PATH_ABSOLUTE;
	if (memchr(path, '\0', len))
		return TAR_PATH_BAD_NAME;
	/* Every component is checked before anything is created, so a
	 * refused path leaves no implicit directories behind. */
	for (size_t p = 0, s, l; next_component(path, len, &p, &s, &l);) {
		if (l == 2 && path[s] == '.' && path[s + 1] == '.')
			return TAR_PATH_DOTDOT;
		if (l > NAME_LEN_MAX)
			return TAR_PATH_BAD_NAME;
	}
	uint32_t dir = 0;
	bool have = next_component(path, len, &pos, &start, &clen);
	while (have) {
		size_t nstart = 0, nlen = 0;
		bool more = next_component(path, len, &pos, &nstart, &nlen);
		if (!more)
			break; /* path[start .. start + clen) is the last component */
		uint32_t child = tar_names_child(t, dir, path + start, clen);
		if (child == UINT32_MAX) {
			if (!create)
				return TAR_PATH_NOT_FOUND;
			bool kept;
			child = tar_names_enter(t, dir, path + start, clen, TAR_NODE_DIR,
						TAR_NODE_IMPLICIT, &kept);
		} else if (t->nodes[child].kind != TAR_NODE_DIR) {
			*ret_bad_len = start + clen;
			return t->nodes[child].kind == TAR_NODE_SYMLINK ? TAR_PATH_THROUGH_SYMLINK
									: TAR_PATH_NOT_DIR;
		}
		dir = child;
		start = nstart;
		clen = nlen;
	}
	*ret_parent = dir;
	*ret_name = have ? path + start : path + len;
	*ret_name_len = have ? clen : 0;
	return TAR_PATH_OK;
}

uint32_t tar_names_enter(struct tar_names *t, uint32_t parent, const void *name, size_t len,
			 enum tar_node_kind kind, uint32_t value, bool *ret_kept)
{
	uint8_t key[HMAP_KEY_LEN];

	assert(name_is_valid_component(name, len));
	*ret_kept = false;
	child_key(parent, name, len, key);
	uint64_t *v = hmap_get(&t->children, key);
	if (v) {
		uint32_t old = (uint32_t)*v;
		if (kind == TAR_NODE_DIR && t->nodes[old].kind == TAR_NODE_DIR) {
			*ret_kept = true;
			return old;
		}
		t->nodes[old].live = false;
	}
	uint32_t n = add_node(t, parent, name, len, kind, value);
	hmap_put(&t->children, key, n);
	return n;
}

void tar_names_reachable(const struct tar_names *t, bool *reachable)
{
	for (uint32_t i = 0; i < t->n_nodes; i++)
		reachable[i] = t->nodes[i].live && (i == 0 || reachable[t->nodes[i].parent]);
}
