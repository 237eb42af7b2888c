/*
 * decode-limit.c - what this machine can decode and verify: the limit a
 * first read through cairnfs is measured against in `make bench`.
 *
 *   decode-limit [-j THREADS] [-p PASSES] FILE...
 *
 * Cuts each FILE into chunks as a backup with the default settings does
 * (chunker_default_params(), the default zstd level, envelope_encode() without keys:
 * an unencrypted repository), keeps the
 * envelopes in memory, then decodes all of them PASSES times (default 3)
 * on THREADS threads (default: every core), three ways:
 *
 *   decode   envelope_decode(): zstd decompression and the SHA-256 check,
 *            what the mount does for every chunk it reads first
 *   zstd     the decompression alone (ZSTD_decompress)
 *   sha256   the hash alone (crypto_sha256) over the raw bytes
 *
 * and prints, for each, GB/s of raw bytes (10^9) by the wall clock with
 * all threads, and per CPU second (user + system time of the process),
 * which a busy machine disturbs much less. One line per way:
 *
 *   decode  wall_GBps=1.23  cpu_GBps=0.65  threads=2  bytes=268435456
 *
 * A benchmark tool built by tests/bench/run.sh against libcairn.a.
 */
#include "base/crypto.h"
#include "format/chunker.h"
#include "format/envelope.h"
#include "repo/repo.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

enum way { WAY_DECODE, WAY_ZSTD, WAY_SHA, WAY_N };
static const char *const way_name[WAY_N] = { "decode", "zstd", "sha256" };

struct chunk {
	uint8_t *env; /* the envelope */
	size_t env_len;
	const uint8_t *raw; /* into the file's bytes */
	size_t raw_len;
};

static struct chunk *chunks;
static size_t n_chunks;
static uint64_t total_raw;
static int passes = 3;
static enum way way;
static size_t next_chunk; /* __atomic */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_now(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void load(const char *path)
{
	struct chunker_params p = chunker_default_params();
	struct stat st;
	uint8_t *data;
	size_t pos = 0;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st) < 0) {
		perror(path);
		exit(1);
	}
	data = xmalloc((size_t)st.st_size + 1);
	for (size_t got = 0; got < (size_t)st.st_size;) {
		ssize_t k = read(fd, data + got, (size_t)st.st_size - got);
		if (k <= 0) {
			perror(path);
			exit(1);
		}
		got += (size_t)k;
	}
	close(fd);
	while (pos < (size_t)st.st_size) {
		size_t n = chunker_cut(&p, data + pos, (size_t)st.st_size - pos, true);
		struct buf env = BUF_INIT;
		if (envelope_encode(NULL, OBJECT_CHUNK, data + pos, n,
				    repo_config_default().zstd_level, NULL, &env, NULL) < 0) {
			fprintf(stderr, "decode-limit: cannot encode a chunk of %s\n", path);
			exit(1);
		}
		chunks = xrealloc(chunks, (n_chunks + 1) * sizeof(*chunks));
		chunks[n_chunks++] = (struct chunk){ env.ptr, env.len, data + pos, n };
		total_raw += n;
		pos += n;
	}
}

static void *worker(void *arg)
{
	struct buf out = BUF_INIT;
	uint8_t hash[HASH_LEN];

	(void)arg;
	buf_reserve(&out, CHUNK_SIZE_MAX_LIMIT);
	for (;;) {
		size_t i = __atomic_fetch_add(&next_chunk, 1, __ATOMIC_RELAXED);
		if (i >= n_chunks * (size_t)passes)
			break;
		const struct chunk *c = &chunks[i % n_chunks];
		out.len = 0;
		switch (way) {
		case WAY_DECODE:
			if (envelope_decode(NULL, c->env, c->env_len, OBJECT_CHUNK, c->raw_len,
					    &out, hash) < 0) {
				fprintf(stderr, "decode-limit: a chunk does not decode\n");
				exit(1);
			}
			break;
		case WAY_ZSTD: {
			struct envelope_header h;
			if (envelope_parse_header(c->env, c->env_len, &h) < 0)
				exit(1);
			if (h.flags & ENVELOPE_ZSTD) {
				size_t k = ZSTD_decompress(out.ptr, out.cap,
							   c->env + ENVELOPE_HEADER_SIZE,
							   h.stored_len);
				if (ZSTD_isError(k) || k != c->raw_len)
					exit(1);
			} else {
				memcpy(out.ptr, c->env + ENVELOPE_HEADER_SIZE, c->raw_len);
			}
			break;
		}
		case WAY_SHA:
			crypto_sha256(c->raw, c->raw_len, hash);
			break;
		default:
			break;
		}
	}
	buf_release(&out);
	return NULL;
}

int main(int argc, char **argv)
{
	long threads = sysconf(_SC_NPROCESSORS_ONLN);
	int opt;

	while ((opt = getopt(argc, argv, "j:p:")) != -1) {
		switch (opt) {
		case 'j':
			threads = atol(optarg);
			break;
		case 'p':
			passes = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: decode-limit [-j THREADS] [-p PASSES] FILE...\n");
			return 2;
		}
	}
	if (optind >= argc || threads < 1 || threads > 256 || passes < 1) {
		fprintf(stderr, "usage: decode-limit [-j THREADS] [-p PASSES] FILE...\n");
		return 2;
	}
	for (int i = optind; i < argc; i++)
		load(argv[i]);
	for (way = 0; way < WAY_N; way++) {
		pthread_t t[256];
		double t0 = now(), c0 = cpu_now(), wall, cpu;
		uint64_t bytes = total_raw * (uint64_t)passes;

		next_chunk = 0;
		for (long i = 0; i < threads; i++)
			if (pthread_create(&t[i], NULL, worker, NULL) != 0)
				return 1;
		for (long i = 0; i < threads; i++)
			pthread_join(t[i], NULL);
		wall = now() - t0;
		cpu = cpu_now() - c0;
		printf("%-7s wall_GBps=%.3f  cpu_GBps=%.3f  threads=%ld  bytes=%" PRIu64
		       "  chunks=%zu\n",
		       way_name[way], (double)bytes / wall / 1e9, (double)bytes / cpu / 1e9,
		       threads, bytes, n_chunks);
	}
	return 0;
}
