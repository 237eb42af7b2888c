/*
 * fuzz-tar-names.c - the path checks of tar ingest (format/tar-names.c) on
 * the names a hostile archive may hold. The input is a list of entries,
 * one a line: a kind byte ('d' directory, 's' symlink, 'h' a hardlink's
 * target lookup, anything else a file), then the path bytes (any but '\n').
 * Properties: an absolute path or one with a ".." component is never
 * accepted; an accepted path lands in a live directory under a valid name,
 * resolves the same way again without creating anything, and never passes
 * through a symlink or file entry; a refused path creates nothing; and at
 * the end every reachable entry hangs off a reachable directory and is the
 * one its name finds.
 */
#include <string.h>

#include "fuzz.h"

#include "format/tree.h"
#include "format/tar-names.h"

static bool has_dotdot(const char *p, size_t len)
{
	for (size_t i = 0; i < len;) {
		size_t j = i;
		while (j < len && p[j] != '/')
			j++;
		if (j - i == 2 && p[i] == '.' && p[i + 1] == '.')
			return true;
		i = j + 1;
	}
	return false;
}

static void one(struct tar_names *t, char kind, const char *path, size_t len)
{
	uint32_t parent = UINT32_MAX, parent2 = UINT32_MAX;
	const char *name = NULL, *name2 = NULL;
	size_t name_len = 0, name_len2 = 0, bad = 0;
	uint32_t before = t->n_nodes;
	bool lookup = kind == 'h';

	enum tar_path_verdict v =
		tar_names_resolve(t, path, len, !lookup, &parent, &name, &name_len, &bad);
	FUZZ_CHECK(bad <= len);
	FUZZ_CHECK((len > 0 && path[0] == '/') == (v == TAR_PATH_ABSOLUTE));
	if (v != TAR_PATH_OK) {
		FUZZ_CHECK(t->n_nodes == before);
		return;
	}
	FUZZ_CHECK(!has_dotdot(path, len) && !memchr(path, '\0', len));
	FUZZ_CHECK(parent < t->n_nodes && t->nodes[parent].kind == TAR_NODE_DIR &&
		   t->nodes[parent].live);
	FUZZ_CHECK(name >= path && name + name_len <= path + len);
	FUZZ_CHECK(name_len == 0 || name_is_valid_component(name, name_len));
	if (lookup)
		FUZZ_CHECK(t->n_nodes == before);
	/* again, now that the leading directories exist: same answer, nothing new */
	uint32_t after = t->n_nodes;
	FUZZ_CHECK(tar_names_resolve(t, path, len, false, &parent2, &name2, &name_len2, &bad) ==
		   TAR_PATH_OK);
	FUZZ_CHECK(parent2 == parent && name2 == name && name_len2 == name_len);
	FUZZ_CHECK(t->n_nodes == after);
	if (lookup || name_len == 0)
		return;
	enum tar_node_kind k = kind == 'd'   ? TAR_NODE_DIR
			       : kind == 's' ? TAR_NODE_SYMLINK
					     : TAR_NODE_OTHER;
	bool kept;
	uint32_t n = tar_names_enter(t, parent, name, name_len, k, t->n_nodes, &kept);
	FUZZ_CHECK(tar_names_child(t, parent, name, name_len) == n);
	FUZZ_CHECK(t->nodes[n].live && t->nodes[n].parent == parent);
	FUZZ_CHECK(!kept || k == TAR_NODE_DIR);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tar_names t;
	const char *p = (const char *)data, *end = p + size;

	tar_names_init(&t, 0);
	while (p < end && t.n_nodes < 100000) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *line_end = nl ? nl : end;
		if (line_end > p)
			one(&t, p[0], p + 1, (size_t)(line_end - p - 1));
		p = nl ? nl + 1 : end;
	}
	bool *reach = calloc(t.n_nodes, sizeof(bool));
	FUZZ_CHECK(reach != NULL);
	tar_names_reachable(&t, reach);
	FUZZ_CHECK(reach[0]);
	for (uint32_t i = 1; i < t.n_nodes; i++) {
		const struct tar_node *n = &t.nodes[i];
		if (!reach[i])
			continue;
		FUZZ_CHECK(n->parent < i && reach[n->parent]);
		FUZZ_CHECK(t.nodes[n->parent].kind == TAR_NODE_DIR);
		FUZZ_CHECK(name_is_valid_component(t.arena.ptr + n->name_off, n->name_len));
		FUZZ_CHECK(tar_names_child(&t, n->parent, t.arena.ptr + n->name_off, n->name_len) ==
			   i);
	}
	free(reach);
	tar_names_release(&t);
	return 0;
}
