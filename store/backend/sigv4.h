/*
 * sigv4.h - AWS Signature Version 4 (AWS4-HMAC-SHA256) for S3 requests,
 * computed with OpenSSL HMAC. libcurl's own signer is not used: 7.88 signs
 * query strings unsorted and unencoded and leaves out x-amz-content-sha256.
 */
#ifndef CAIRN_SIGV4_H
#define CAIRN_SIGV4_H

#include "base/buf.h"

#include <time.h>

#define SIGV4_DATE_LEN 16      /* "20150830T123600Z" */
#define SIGV4_SIGNATURE_LEN 64 /* lowercase hex */

/* How the request path becomes the canonical URI. */
enum sigv4_path {
	SIGV4_PATH_AS_SENT,	     /* S3: the path as sent, already percent-encoded once */
	SIGV4_PATH_ENCODE,	     /* a raw path, percent-encoded once, not normalised */
	SIGV4_PATH_NORMALIZE_ENCODE, /* most AWS services: drop "." and "..", collapse "//", encode */
};

struct sigv4_header {
	const char *name;  /* any case; lower-cased for signing */
	const char *value; /* trimmed, inner runs of spaces collapsed for signing */
};

struct sigv4_credentials {
	const char *access_key_id;
	const char *secret_access_key;
	const char *session_token; /* NULL or "" when there is none */
};

struct sigv4_request {
	const char *method; /* "GET", "PUT", ... */
	const char *path;   /* see path_mode; "" means "/" */
	enum sigv4_path path_mode;
	const char *query; /* without the '?'; NULL or "" for none; decoded and re-encoded */
	const struct sigv4_header *headers; /* every header to sign, including Host */
	size_t n_headers;
	const char *payload_hash; /* lowercase hex SHA-256 of the body, or "UNSIGNED-PAYLOAD" */
	const char *region;	  /* "us-east-1" */
	const char *service;	  /* "s3" */
	time_t time;		  /* the request time, UTC seconds */
	bool omit_session_token;  /* the token is sent but not signed (an STS quirk) */
};

/* What signing produced; the strings are owned, freed by sigv4_result_release(). */
struct sigv4_result {
	char *canonical_request;
	char *string_to_sign;
	char signature[SIGV4_SIGNATURE_LEN + 1];
	char amz_date[SIGV4_DATE_LEN + 1]; /* the X-Amz-Date value to send */
	char *signed_headers;		   /* "host;x-amz-date" */
	/* Header mode: the Authorization value to send, beside X-Amz-Date and,
	 * with a session token, X-Amz-Security-Token. */
	char *authorization;
	/* Query mode: the whole query string to send (the caller's parameters as
	 * given, then X-Amz-*, ending with X-Amz-Signature). It grants access:
	 * never log it. */
	char *query;
};

/* Signs req for the Authorization header. x-amz-date and, with a session
 * token, x-amz-security-token are added to the signed headers here; every
 * other header to sign (host, x-amz-content-sha256, range, ...) the caller
 * passes. Fills *ret (release it with sigv4_result_release()). Returns 0, or
 * -EINVAL for a request that cannot be signed (no method, a header name with
 * bytes a header cannot carry, a malformed percent escape). Thread-safe. */
int sigv4_sign_header(const struct sigv4_request *req, const struct sigv4_credentials *cred,
		      struct sigv4_result *ret) WARN_UNUSED;

/* Signs req in query-string mode (a presigned URL) valid for expires_s
 * seconds: X-Amz-Algorithm, -Credential, -Date, -Expires, -SignedHeaders and
 * -Security-Token are added to the query and signed, and ret->query is the
 * query to send. Errors and thread-safety as sigv4_sign_header(). */
int sigv4_presign(const struct sigv4_request *req, const struct sigv4_credentials *cred,
		  unsigned expires_s, struct sigv4_result *ret) WARN_UNUSED;

void sigv4_result_release(struct sigv4_result *r);

/* Appends len bytes of s to out, percent-encoding every byte but
 * A-Z a-z 0-9 - . _ ~ (and '/' when keep_slash), with upper-case hex: the
 * encoding SigV4 and S3 object keys use. */
void sigv4_uri_encode(struct buf *out, const char *s, size_t len, bool keep_slash);

#endif
