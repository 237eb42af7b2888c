/*
 * log.c - the logger. Settings are written once by main() before threads
 * start and only read afterwards. Each message is formatted into a local
 * buffer and written with one write(2), so lines from threads never mix.
 * Repeats of the same message to syslog are limited to a few per second so a
 * failing backend cannot flood the journal.
 */
#include "base/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <time.h>

static const char *log_prog = "cairn";
static enum log_target log_target = LOG_TARGET_STDERR;
static int log_level = LOG_WARNING;

static pthread_mutex_t log_rate_lock = PTHREAD_MUTEX_INITIALIZER;
static time_t log_rate_second;	/* guarded by log_rate_lock */
static unsigned log_rate_count; /* guarded by log_rate_lock */

void log_setup(const char *prog, enum log_target target, int max_level)
{
	log_prog = prog;
	log_target = target;
	log_level = max_level;
	if (target == LOG_TARGET_SYSLOG)
		openlog(prog, LOG_PID, LOG_DAEMON);
}

int log_get_level(void)
{
	return log_level;
}

const char *log_strerror(int r)
{
	switch (-r) {
	case EBADMSG:
		return "damaged or unverifiable object";
	case EKEYREJECTED:
		return "wrong password";
	case EACCES:
		return "permission denied or credentials refused";
	case EPROTO:
		return "malformed data";
	default:
		return strerror(-r);
	}
}

static void log_write(int level, const char *msg)
{
	if (log_target == LOG_TARGET_SYSLOG) {
		time_t now = time(NULL);
		bool drop;

		pthread_mutex_lock(&log_rate_lock);
		if (now != log_rate_second) {
			log_rate_second = now;
			log_rate_count = 0;
		}
		drop = ++log_rate_count > 20;
		pthread_mutex_unlock(&log_rate_lock);
		if (!drop)
			syslog(level, "%s", msg);
		return;
	}

	char line[4096];
	int n = snprintf(line, sizeof(line), "%s: %s\n", log_prog, msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	ssize_t UNUSED w = write(STDERR_FILENO, line, (size_t)n);
}

void log_msg(int level, const char *fmt, ...)
{
	char msg[3072];
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_write(level, msg);
}

int log_errno(int level, int r, const char *fmt, ...)
{
	char msg[3072];
	va_list ap;
	int n;

	if (level > log_level)
		return r;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s", log_strerror(r));
	log_write(level, msg);
	return r;
}
