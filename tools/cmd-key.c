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

int cmd_key(int argc, char **argv)
{
	static const struct option options[] = {
		{ "new-password-file", required_argument, NULL, OPT_NEW_PASSWORD_FILE },
		{ "kdf-params", required_argument, NULL, OPT_KDF_PARAMS },
		{ "force", no_argument, NULL, OPT_FORCE },
		COMMON_OPTIONS,
	};
	struct cmd_ctx ctx = {
		.prog = "cairn key",
		.usage = "cairn key list|add|remove ID|passwd -r REPO [--password-file F] "
			 "[--new-password-file F] [--kdf-params N,r,p] [--force]",
	};
	const char *new_file = NULL;
	struct scrypt_params kdf;
	bool have_kdf = false, force = false;
	struct repo *repo = NULL;
	uint64_t id = 0;
	int opt, r;

	while ((opt = getopt_long(argc, argv, COMMON_SHORT, options, NULL)) != -1) {
		if (cmd_common_option(&ctx, opt, optarg))
			continue;
		switch (opt) {
		case OPT_NEW_PASSWORD_FILE:
			new_file = optarg;
			break;
		case OPT_KDF_PARAMS:
			if (cmd_parse_kdf_params(optarg, &kdf) < 0)
				return cmd_usage_error(&ctx,
						       "invalid --kdf-params '%s' (N,r,p: N a power of "
						       "two from 16 to 2^20, r 1..32, p 1..16)",
						       optarg);
			have_kdf = true;
			break;
		case OPT_FORCE:
			force = true;
			break;
		default:
			return cmd_usage_error(&ctx, "unknown option");
		}
	}
	r = cmd_finish_options(&ctx);
	if (r != EXIT_OK)
		return r;
	if (optind >= argc)
		return cmd_usage_error(&ctx, "no action given (list, add, remove ID or passwd)");
	const char *action = argv[optind++];
	bool is_remove = strcmp(action, "remove") == 0;
	if (strcmp(action, "list") && strcmp(action, "add") && !is_remove &&
	    strcmp(action, "passwd"))
		return cmd_usage_error(&ctx, "unknown action '%s'", action);
	if (is_remove) {
		if (optind >= argc)
			return cmd_usage_error(&ctx, "remove needs the ID of a key");
		if (key_id_parse(argv[optind], &id) < 0)
			return cmd_usage_error(&ctx, "invalid key ID '%s' (16 hex digits)",
					       argv[optind]);
		optind++;
	}
	if (optind < argc)
		return cmd_usage_error(&ctx, "unexpected argument '%s'", argv[optind]);

	r = repo_open(ctx.repo, &ctx.bo, &repo);
	if (r < 0)
		return EXIT_FAILURE_;
	if (!repo_is_encrypted(repo)) {
		log_error("repository '%s' is not encrypted: it has no keys", ctx.repo);
		repo_close(repo);
		return EXIT_FAILURE_;
	}
	r = repo_unlock_with(repo, ctx.password_file);
	if (r < 0) {
		repo_close(repo);
		return EXIT_FAILURE_;
	}
	int status = EXIT_OK;
	char hex[KEY_ID_HEX_LEN + 1];
	if (strcmp(action, "list") == 0) {
		status = list_keys(repo);
	} else if (is_remove) {
		r = keys_remove(repo, id, force);
		if (r == 0) {
			key_id_hex(id, hex);
			log_info("removed key %s", hex);
		}
		status = r < 0 ? EXIT_FAILURE_ : EXIT_OK;
	} else {
		AUTOPASSWORD char *pw = NULL;
		if (password_read_new(new_file, &pw) < 0) {
			repo_close(repo);
			return EXIT_FAILURE_;
		}
		if (!have_kdf)
			kdf = crypto_scrypt_tune(1000);
		r = action[0] == 'a' ? keys_add(repo, pw, &kdf, &id)
				     : keys_passwd(repo, pw, &kdf, &id);
		if (r == 0) {
			key_id_hex(id, hex);
			log_info("%s key %s",
				 action[0] == 'a' ? "added" : "changed the password: new", hex);
		}
		status = r < 0 ? EXIT_FAILURE_ : EXIT_OK;
	}
	repo_close(repo);
	return status;
}
