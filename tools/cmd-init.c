/*
 * cmd-init.c - cairn init: create a repository with its chunking,
 * compression and encryption settings, which are fixed for its life. It is
 * encrypted unless --no-encryption is given; the first password comes from
 * the usual sources (a prompt asks twice), and scrypt is tuned to about a
 * second on this machine unless --kdf-params fixes it.
 */
#include "cmd.h"
#include "base/log.h"
#include "base/parse.h"
#include "repo/password.h"

enum {
	OPT_NO_ENCRYPTION = OPT_FIRST_COMMAND_OPTION,
	OPT_CHUNK_SIZE,
	OPT_COMPRESSION,
	OPT_KDF_PARAMS,
};

int cmd_init(int argc, char **argv)
{
	static const struct option options[] = {
		{ "no-encryption", no_argument, NULL, OPT_NO_ENCRYPTION },
		{ "chunk-size", required_argument, NULL, OPT_CHUNK_SIZE },
		{ "compression", required_argument, NULL, OPT_COMPRESSION },
		{ "kdf-params", required_argument, NULL, OPT_KDF_PARAMS },
		COMMON_OPTIONS,
	};
	struct cmd_ctx ctx = {
		.prog = "cairn init",
		.usage = "cairn init -r REPO [--no-encryption] [--kdf-params N,r,p] "
			 "[--chunk-size AVG] [--compression zstd:LEVEL|none]",
	};
	struct repo_config cfg = repo_config_default();
	bool no_encryption = false, have_kdf = false;
	struct scrypt_params kdf;
	AUTOPASSWORD char *password = NULL;
	uint64_t avg;
	int opt, r;

	while ((opt = getopt_long(argc, argv, COMMON_SHORT, options, NULL)) != -1) {
		if (cmd_common_option(&ctx, opt, optarg))
			continue;
		switch (opt) {
		case OPT_NO_ENCRYPTION:
			no_encryption = true;
			break;
		case OPT_CHUNK_SIZE:
			if (parse_size(optarg, &avg) < 0 ||
			    chunker_params_from_avg(avg, &cfg.chunker) < 0)
				return cmd_usage_error(&ctx,
						       "invalid --chunk-size '%s' (a size from 16K to 4M, "
						       "such as 1M)",
						       optarg);
			break;
		case OPT_COMPRESSION:
			if (parse_compression(optarg, &cfg.zstd_level) < 0)
				return cmd_usage_error(&ctx,
						       "invalid --compression '%s' (zstd, zstd:1..19 "
						       "or none)",
						       optarg);
			break;
		case OPT_KDF_PARAMS:
			if (cmd_parse_kdf_params(optarg, &kdf) < 0)
				return cmd_usage_error(&ctx,
						       "invalid --kdf-params '%s' (N,r,p: N a power of "
						       "two from 16 to 2^20, r 1..32, p 1..16)",
						       optarg);
			have_kdf = true;
			break;
		default:
			return cmd_usage_error(&ctx, "unknown option");
		}
	}
	if (optind < argc)
		return cmd_usage_error(&ctx, "unexpected argument '%s'", argv[optind]);
	r = cmd_finish_options(&ctx);
	if (r != EXIT_OK)
		return r;
	if (!no_encryption) {
		cfg.encryption = REPO_ENCRYPTION_AES256GCM;
		if (password_read_confirm(ctx.password_file, &password) < 0)
			return EXIT_FAILURE_;
		if (!have_kdf)
			kdf = crypto_scrypt_tune(1000);
	}
	if (cfg.pack_size < cfg.chunker.max_size)
		cfg.pack_size = cfg.chunker.max_size;
	r = repo_init(ctx.repo, &ctx.bo, &cfg, password, no_encryption ? NULL : &kdf);
	if (r < 0)
		return EXIT_FAILURE_;
	log_info("created repository '%s' (chunks about %u KiB, %s, %s)", ctx.repo,
		 cfg.chunker.avg_size >> 10, cfg.zstd_level ? "zstd" : "uncompressed",
		 no_encryption ? "not encrypted" : "encrypted with AES-256-GCM");
	return EXIT_OK;
}
