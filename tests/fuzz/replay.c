/*
 * replay.c - runs a fuzz target's LLVMFuzzerTestOneInput() over stored
 * inputs, without libFuzzer, so `make test` (and `make asan`) replay every
 * corpus with any compiler:
 *
 *   build/tests/fuzz-tree-replay tests/fuzz/corpus/tree/ [MORE FILES OR DIRS]...
 *
 * Directories are read recursively, in name order; hidden files are skipped.
 * Each input is copied into a heap block of exactly its size, so ASan catches
 * a read one byte past the end. Prints how many inputs ran; exits 1 when an
 * argument cannot be read or nothing was found, and a crash names the input
 * being run.
 *
 * To fuzz for real, build the library with clang's coverage hooks and link a
 * target with libFuzzer instead of this file (tests/fuzz/run-libfuzzer.sh
 * does this for every target, with the options make asan uses):
 *
 *   make BUILD=build-fuzz CC=clang CFLAGS='-O1 -g' \
 *        SAN='-fsanitize=fuzzer-no-link,address,undefined' build-fuzz/libcairn.a
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -std=gnu11 -D_GNU_SOURCE \
 *        -D_FILE_OFFSET_BITS=64 -pthread -Istore tests/fuzz/fuzz-tree.c build-fuzz/libcairn.a \
 *        $(pkg-config --libs fuse3 sqlite3 libzstd libcrypto libarchive) -ldl \
 *        -o build-fuzz/fuzz-tree
 *   mkdir -p build-fuzz/new/tree
 *   build-fuzz/fuzz-tree -max_total_time=120 build-fuzz/new/tree tests/fuzz/corpus/tree
 *
 * New inputs land in the first directory; tests/fuzz/keep-new-inputs.py
 * copies the few that add the most coverage into the stored corpus.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

static const char *current; /* the input being run, for the crash message */
static unsigned long n_run;

static void on_crash(int sig)
{
	static const char msg[] = "replay: crashed on input ";
	ssize_t w;

	if (current) {
		w = write(STDERR_FILENO, msg, sizeof(msg) - 1);
		w = write(STDERR_FILENO, current, strlen(current));
		w = write(STDERR_FILENO, "\n", 1);
		(void)w;
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Names the input on a crash, unless a sanitizer already handles the signal
 * (and will abort, which is caught here, after its report). */
static void install_crash_handlers(void)
{
	static const int sigs[] = { SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL };

	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct sigaction old, sa = { 0 };
		if (sigaction(sigs[i], NULL, &old) < 0 || old.sa_handler != SIG_DFL ||
		    (old.sa_flags & SA_SIGINFO))
			continue;
		sa.sa_handler = on_crash;
		sigemptyset(&sa.sa_mask);
		sigaction(sigs[i], &sa, NULL);
	}
}

static int run_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	uint8_t *data;
	size_t len = 0;

	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "replay: cannot read '%s': %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	/* exactly the input's size (at least 1 byte, so malloc never returns NULL
	 * for an empty input), so any read past its end is caught */
	data = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
	if (!data) {
		close(fd);
		return -1;
	}
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, data + len, (size_t)st.st_size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "replay: cannot read '%s': %s\n", path,
				n < 0 ? strerror(errno) : "it shrank");
			free(data);
			close(fd);
			return -1;
		}
		len += (size_t)n;
	}
	close(fd);

	current = path;
	LLVMFuzzerTestOneInput(data, len);
	current = NULL;
	free(data);
	n_run++;
	return 0;
}

static int filter_visible(const struct dirent *de)
{
	return de->d_name[0] != '.';
}

static int run_path(const char *path)
{
	struct stat st;
	struct dirent **list;
	int n, r = 0;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "replay: cannot read '%s': %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(path);
	n = scandir(path, &list, filter_visible, alphasort);
	if (n < 0) {
		fprintf(stderr, "replay: cannot list '%s': %s\n", path, strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		size_t len = strlen(path) + strlen(list[i]->d_name) + 2;
		char *child = malloc(len);
		if (!child) {
			r = -1;
		} else {
			snprintf(child, len, "%s%s%s", path,
				 path[strlen(path) - 1] == '/' ? "" : "/", list[i]->d_name);
			if (run_path(child) < 0)
				r = -1;
			free(child);
		}
		free(list[i]);
	}
	free(list);
	return r;
}

int main(int argc, char **argv)
{
	int r = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
		return 2;
	}
	install_crash_handlers();
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] == '-') {
			fprintf(stderr, "replay: '%s': no options (this is not libFuzzer)\n",
				argv[i]);
			return 2;
		}
		if (run_path(argv[i]) < 0)
			r = 1;
	}
	printf("%s: %lu inputs ran\n", argv[0], n_run);
	if (n_run == 0) {
		fprintf(stderr, "replay: no inputs found in the arguments\n");
		return 1;
	}
	return r;
}
