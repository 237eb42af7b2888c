/*
 * curl-load.c - libcurl, loaded with dlopen() when the first HTTP client is
 * made rather than by the dynamic linker at every start.
 *
 * libcurl brings 28 more shared libraries with it on Debian (TLS, Kerberos,
 * LDAP, SSH, IDN, ...). Mapping them costs a program started from a cold
 * page cache about 20 ms, most of what it takes cairnfs to mount a local
 * repository, for a library that only http:// and s3:// repositories use.
 * So nothing links against libcurl: the functions http.c calls are defined
 * here under libcurl's own names (their declarations, and the type checks
 * curl.h wraps around curl_easy_setopt() and curl_easy_getinfo(), stay in
 * force) and forward to the library's, found with dlsym() on the first
 * curl_global_init(). If libcurl cannot be loaded, curl_global_init() fails
 * and says why; http_new() then refuses, so no other function here is
 * called without the library.
 */
#include "base/log.h"
#include "base/util.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>

#define CURL_SONAME "libcurl.so.4"

static struct {
	CURLcode (*global_init)(long flags);
	CURL *(*easy_init)(void);
	void (*easy_cleanup)(CURL *c);
	CURLcode (*easy_setopt)(CURL *c, CURLoption opt, ...);
	CURLcode (*easy_getinfo)(CURL *c, CURLINFO info, ...);
	const char *(*easy_strerror)(CURLcode rc);
	CURLM *(*multi_init)(void);
	CURLMcode (*multi_add_handle)(CURLM *m, CURL *c);
	CURLMcode (*multi_remove_handle)(CURLM *m, CURL *c);
	CURLMcode (*multi_perform)(CURLM *m, int *running);
	CURLMcode (*multi_poll)(CURLM *m, struct curl_waitfd extra[], unsigned n, int timeout_ms,
				int *ret);
	CURLMsg *(*multi_info_read)(CURLM *m, int *left);
	CURLMcode (*multi_cleanup)(CURLM *m);
	struct curl_slist *(*slist_append)(struct curl_slist *list, const char *s);
	void (*slist_free_all)(struct curl_slist *list);
} api;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static bool loaded; /* written once under load_once */

static void load(void)
{
	void *lib = dlopen(CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		log_error("cannot load libcurl, which http:// and s3:// repositories need: %s",
			  dlerror());
		log_error("hint: install it (Debian and Ubuntu: apt-get install libcurl4)");
		return;
	}
	const struct {
		const char *name;
		void **slot;
	} syms[] = {
#define SYM(field, name) { name, (void **)&api.field }
		SYM(global_init, "curl_global_init"),
		SYM(easy_init, "curl_easy_init"),
		SYM(easy_cleanup, "curl_easy_cleanup"),
		SYM(easy_setopt, "curl_easy_setopt"),
		SYM(easy_getinfo, "curl_easy_getinfo"),
		SYM(easy_strerror, "curl_easy_strerror"),
		SYM(multi_init, "curl_multi_init"),
		SYM(multi_add_handle, "curl_multi_add_handle"),
		SYM(multi_remove_handle, "curl_multi_remove_handle"),
		SYM(multi_perform, "curl_multi_perform"),
		SYM(multi_poll, "curl_multi_poll"),
		SYM(multi_info_read, "curl_multi_info_read"),
		SYM(multi_cleanup, "curl_multi_cleanup"),
		SYM(slist_append, "curl_slist_append"),
		SYM(slist_free_all, "curl_slist_free_all"),
#undef SYM
	};
	for (size_t i = 0; i < ARRAY_SIZE(syms); i++) {
		*syms[i].slot = dlsym(lib, syms[i].name);
		if (!*syms[i].slot) {
			/* curl_multi_poll() is the newest: libcurl 7.66. */
			log_error("the libcurl found (%s) has no %s(): it is older than 7.66",
				  CURL_SONAME, syms[i].name);
			log_error("hint: install a newer libcurl4");
			dlclose(lib);
			return;
		}
	}
	/* Kept loaded for the life of the process. */
	loaded = true;
}

/* The names are in parentheses so that curl.h's checking macros of the same
 * names do not expand here. */

CURLcode(curl_global_init)(long flags)
{
	pthread_once(&load_once, load);
	return loaded ? api.global_init(flags) : CURLE_FAILED_INIT;
}

const char *(curl_easy_strerror)(CURLcode rc)
{
	return loaded ? api.easy_strerror(rc) : "libcurl is not loaded";
}

CURL *(curl_easy_init)(void)
{
	return api.easy_init();
}

void(curl_easy_cleanup)(CURL *c)
{
	api.easy_cleanup(c);
}

/* Every option takes one argument, whose type its number says (curl.h's
 * CURLOPTTYPE_* bases), as libcurl's own curl_easy_setopt() reads it. */
CURLcode(curl_easy_setopt)(CURL *c, CURLoption opt, ...)
{
	va_list ap;
	CURLcode rc;

	va_start(ap, opt);
	if (opt < CURLOPTTYPE_OBJECTPOINT)
		rc = api.easy_setopt(c, opt, va_arg(ap, long));
	else if (opt < CURLOPTTYPE_FUNCTIONPOINT)
		rc = api.easy_setopt(c, opt, va_arg(ap, void *));
	else if (opt < CURLOPTTYPE_OFF_T)
		rc = api.easy_setopt(c, opt, va_arg(ap, void (*)(void)));
	else if (opt < CURLOPTTYPE_BLOB)
		rc = api.easy_setopt(c, opt, va_arg(ap, curl_off_t));
	else
		rc = api.easy_setopt(c, opt, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

/* Every CURLINFO takes a pointer to where the answer goes. */
CURLcode(curl_easy_getinfo)(CURL *c, CURLINFO info, ...)
{
	va_list ap;
	CURLcode rc;

	va_start(ap, info);
	rc = api.easy_getinfo(c, info, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

CURLM *(curl_multi_init)(void)
{
	return api.multi_init();
}

CURLMcode(curl_multi_add_handle)(CURLM *m, CURL *c)
{
	return api.multi_add_handle(m, c);
}

CURLMcode(curl_multi_remove_handle)(CURLM *m, CURL *c)
{
	return api.multi_remove_handle(m, c);
}

CURLMcode(curl_multi_perform)(CURLM *m, int *running)
{
	return api.multi_perform(m, running);
}

CURLMcode(curl_multi_poll)(CURLM *m, struct curl_waitfd extra[], unsigned n, int timeout_ms,
			   int *ret)
{
	return api.multi_poll(m, extra, n, timeout_ms, ret);
}

CURLMsg *(curl_multi_info_read)(CURLM *m, int *left)
{
	return api.multi_info_read(m, left);
}

CURLMcode(curl_multi_cleanup)(CURLM *m)
{
	return api.multi_cleanup(m);
}

struct curl_slist *(curl_slist_append)(struct curl_slist *list, const char *s)
{
	return api.slist_append(list, s);
}

void(curl_slist_free_all)(struct curl_slist *list)
{
	api.slist_free_all(list);
}
