/*
 * log.h - leveled logging with one process-wide sink, installed by main()
 * before any thread starts.
 *
 * Error convention of the whole library: functions return >= 0 on success
 * and -errno on failure. Domain failures map to errno values thus:
 *
 *   -EBADMSG       damaged or unverifiable repository object
 *   -EKEYREJECTED  wrong password
 *   -EACCES        credentials refused by the backend
 *   -ENOENT        no such member, snapshot, object or path
 *   -EPROTO        malformed stream or server reply
 *   -ETIMEDOUT, -ECONNREFUSED, -EHOSTUNREACH   backend unreachable
 *   -ENOSPC        disk full
 *   -EROFS         the backend or mount is read-only
 *   -EEXIST        the object or repository already exists
 *
 * The function that knows which object failed logs it, once, with
 * log_error_errno(), which returns its error argument.
 */
#ifndef CAIRN_LOG_H
#define CAIRN_LOG_H

#include "base/util.h"

#include <syslog.h>

enum log_target {
	LOG_TARGET_STDERR,
	LOG_TARGET_SYSLOG,
};

/* Sets the program name used as prefix, the sink and the highest level
 * shown (LOG_ERR .. LOG_DEBUG). Not thread-safe: call before threads. */
void log_setup(const char *prog, enum log_target target, int max_level);
int log_get_level(void);

void log_msg(int level, const char *fmt, ...) PRINTF_LIKE(2, 3);
/* Logs "<message>: <strerror(-r)>" at LOG_ERR and returns r (negative). */
int log_errno(int level, int r, const char *fmt, ...) PRINTF_LIKE(3, 4);

#define log_error(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)                                   \
	do {                                             \
		if (log_get_level() >= LOG_DEBUG)        \
			log_msg(LOG_DEBUG, __VA_ARGS__); \
	} while (0)
#define log_error_errno(r, ...) log_errno(LOG_ERR, (r), __VA_ARGS__)
#define log_warning_errno(r, ...) log_errno(LOG_WARNING, (r), __VA_ARGS__)

/* A short message for r: strerror(-r), with the domain meanings above
 * spelled out ("damaged object" for -EBADMSG, ...). */
const char *log_strerror(int r);

#endif
