/*
 * cmd-key.c - cairn key list|add|remove ID|passwd: the passwords that open
 * an encrypted repository. Every key wraps the same master key, so adding
 * or removing one rewrites only the "keys" object. The current password
 * (the usual sources) unlocks the repository first; a new one comes from
 * --new-password-file, $CAIRN_NEW_PASSWORD or a prompt asked twice.
 */
#include "cmd.h"
#include "base/log.h"
#include "repo/keys.h"
#include "repo/password.h"

#include <time.h>

enum {
	OPT_NEW_PASSWORD_FILE = OPT_FIRST_COMMAND_OPTION,
	OPT_KDF_PARAMS,
	OPT_FORCE,
};

static int list_keys(struct repo *repo)
{
	CLEANUP(key_set_releasep) struct key_set ks = { 0 };
	int r = keys_read(repo_backend(repo), &ks);

	if (r < 0) {
		log_error_errno(r, "cannot read the keys of '%s'", backend_url(repo_backend(repo)));
		return EXIT_FAILURE_;
	}
	printf("%-16s  %-20s  %-8s  %s\n", "ID", "CREATED", "IN USE", "HOST");
	for (size_t i = 0; i < ks.n; i++) {
		const struct key_entry *e = &ks.v[i];
		char id[KEY_ID_HEX_LEN + 1], when[32];
		struct tm tm;
		time_t t = (time_t)e->created;
		key_id_hex(e->id, id);
		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		printf("%-16s  %-20s  %-8s  %s\n", id, when,
		       e->id == repo_key_in_use(repo) ? "yes" : "", e->host);
	}
	return EXIT_OK;
}

struct key_opts {
	const char *new_file;
	struct scrypt_params kdf;
	bool have_kdf, force;
	const char *action;
	uint64_t id; /* remove */
};

static int key_option(struct cmd_ctx *ctx, int opt, const char *arg)
{
	struct key_opts *o = ctx->opts;

	switch (opt) {
	case OPT_NEW_PASSWORD_FILE:
		o->new_file = arg;
		return EXIT_OK;
	case OPT_KDF_PARAMS:
		if (cmd_parse_kdf_params(arg, &o->kdf) < 0)
			return cmd_usage_error(ctx,
					       "invalid --kdf-params '%s' (N,r,p: N a power of "
					       "two from 16 to 2^20, r 1..32, p 1..16)",
					       arg);
		o->have_kdf = true;
		return EXIT_OK;
	case OPT_FORCE:
		o->force = true;
		return EXIT_OK;
	}
	return cmd_usage_error(ctx, "unknown option");
}

static int key_operands(struct cmd_ctx *ctx)
{
	struct key_opts *o = ctx->opts;

	if (ctx->n_args < 1)
		return cmd_usage_error(ctx, "no action given (list, add, remove ID or passwd)");
	o->action = ctx->args[0];
	bool is_remove = strcmp(o->action, "remove") == 0;
	if (strcmp(o->action, "list") && strcmp(o->action, "add") && !is_remove &&
	    strcmp(o->action, "passwd"))
		return cmd_usage_error(ctx, "unknown action '%s'", o->action);
	int want = is_remove ? 2 : 1;
	if (is_remove && ctx->n_args < 2)
		return cmd_usage_error(ctx, "remove needs the ID of a key");
	if (is_remove && key_id_parse(ctx->args[1], &o->id) < 0)
		return cmd_usage_error(ctx, "invalid key ID '%s' (16 hex digits)", ctx->args[1]);
	if (ctx->n_args > want)
		return cmd_usage_error(ctx, "unexpected argument '%s'", ctx->args[want]);
	return EXIT_OK;
}

static int key_run(struct cmd_ctx *ctx)
{
	struct key_opts *o = ctx->opts;
	struct repo *repo = ctx->repo;
	char hex[KEY_ID_HEX_LEN + 1];
	uint64_t id = 0;
	int r;

	if (!repo_is_encrypted(repo)) {
		log_error("repository '%s' is not encrypted: it has no keys", ctx->repo_name);
		return EXIT_FAILURE_;
	}
	if (strcmp(o->action, "list") == 0)
		return list_keys(repo);
	if (strcmp(o->action, "remove") == 0) {
		r = keys_remove(repo, o->id, o->force);
		if (r < 0)
			return EXIT_FAILURE_;
		key_id_hex(o->id, hex);
		log_info("removed key %s", hex);
		return EXIT_OK;
	}
	AUTOPASSWORD char *pw = NULL;
	if (password_read_new(o->new_file, &pw) < 0)
		return EXIT_FAILURE_;
	if (!o->have_kdf)
		o->kdf = crypto_scrypt_tune(1000);
	bool add = strcmp(o->action, "add") == 0;
	r = add ? keys_add(repo, pw, &o->kdf, &id) : keys_passwd(repo, pw, &o->kdf, &id);
	if (r < 0)
		return EXIT_FAILURE_;
	key_id_hex(id, hex);
	log_info("%s key %s", add ? "added" : "changed the password: new", hex);
	return EXIT_OK;
}

const struct cmd_def cmd_key = {
	.usage = "cairn key list|add|remove ID|passwd -r REPO [--password-file F] "
		 "[--new-password-file F] [--kdf-params N,r,p] [--force]",
	.options =
		(const struct option[]){
			{ "new-password-file", required_argument, NULL, OPT_NEW_PASSWORD_FILE },
			{ "kdf-params", required_argument, NULL, OPT_KDF_PARAMS },
			{ "force", no_argument, NULL, OPT_FORCE },
			{ NULL, 0, NULL, 0 },
		},
	.opts_size = sizeof(struct key_opts),
	.option = key_option,
	.operands = key_operands,
	.run = key_run,
};
