/* store_url.c: read a store URL (file://DIR, s3://BUCKET/PREFIX) */
#include <stdlib.h>
#include <string.h>

#include "prbot/err.h"
#include "prbot/store.h"
#include "banned.h"

#define FILE_SCHEME "file://"
#define S3_SCHEME   "s3://"

void pb_store_url_release(struct pb_store_url *u)
{
	free(u->dir);
	free(u->bucket);
	free(u->prefix);
	memset(u, 0, sizeof(*u));
}

static int is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* Four dot-separated numbers: S3 refuses bucket names shaped like IPs. */
static int looks_like_ip(const char *b, size_t n)
{
	size_t i, dots = 0;

	for (i = 0; i < n; i++) {
		if (b[i] == '.')
			dots++;
		else if (b[i] < '0' || b[i] > '9')
			return 0;
	}
	return dots == 3;
}

/* Why bucket b (n bytes) breaks S3's naming rules, or NULL. */
static const char *bucket_problem(const char *b, size_t n)
{
	size_t i;

	if (n < 3 || n > 63)
		return "a bucket name has 3 to 63 characters";
	for (i = 0; i < n; i++)
		if (!is_lower_alnum(b[i]) && b[i] != '.' && b[i] != '-')
			return "a bucket name has only lowercase letters, "
			       "digits, '.' and '-'";
	if (!is_lower_alnum(b[0]) || !is_lower_alnum(b[n - 1]))
		return "a bucket name starts and ends with a letter or digit";
	for (i = 0; i + 1 < n; i++)
		if (b[i] == '.' && (b[i + 1] == '.' || b[i + 1] == '-' ||
				    (i && b[i - 1] == '-')))
			return "a bucket name has no '..', '.-' or '-.'";
	if (looks_like_ip(b, n))
		return "a bucket name is not an IP address";
	return NULL;
}

/* Why prefix p breaks the key rules, or NULL. */
static const char *prefix_problem(const char *p)
{
	size_t n;

	while (*p) {
		n = strcspn(p, "/");
		if (n == 0)
			return "the prefix has an empty segment ('//')";
		if ((n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return "the prefix has a '.' or '..' segment";
		p += n;
		if (*p == '/')
			p++;
	}
	return NULL;
}

static int parse_s3(struct pb_store_url *out, const char *url)
{
	const char *b = url + strlen(S3_SCHEME), *slash, *why, *p;
	size_t n, plen;

	slash = strchr(b, '/');
	n = slash ? (size_t)(slash - b) : strlen(b);
	if (n == 0)
		return pb_err_setc(PB_EINVAL,
				   "store url '%s': no bucket: write "
				   "s3://BUCKET or s3://BUCKET/PREFIX",
				   url);
	if ((why = bucket_problem(b, n)))
		return pb_err_setc(PB_EINVAL,
				   "store url '%s': bucket '%.*s': %s", url,
				   (int)n, b, why);
	p = slash ? slash + 1 : "";
	plen = strlen(p);
	while (plen && p[plen - 1] == '/')
		plen--;
	out->kind = PB_STORE_S3;
	if (!(out->bucket = strndup(b, n)) || !(out->prefix = strndup(p, plen)))
		return pb_err_set("out of memory");
	if ((why = prefix_problem(out->prefix)))
		return pb_err_setc(PB_EINVAL, "store url '%s': %s", url, why);
	if (strpbrk(out->prefix, "?#\\") || strspn(out->prefix, "\t\r\n ") != 0)
		return pb_err_setc(PB_EINVAL,
				   "store url '%s': the prefix may not hold "
				   "'?', '#', '\\' or start with a space",
				   url);
	return 0;
}

int pb_store_url_parse(struct pb_store_url *out, const char *url)
{
	memset(out, 0, sizeof(*out));
	if (strncmp(url, S3_SCHEME, strlen(S3_SCHEME)) == 0)
		return parse_s3(out, url);
	if (strncmp(url, FILE_SCHEME, strlen(FILE_SCHEME)) != 0)
		return pb_err_setc(PB_EINVAL,
				   "store url '%s': unsupported scheme: write "
				   "file://DIR or s3://BUCKET/PREFIX",
				   url);
	if (!url[strlen(FILE_SCHEME)])
		return pb_err_setc(PB_EINVAL,
				   "store url '%s': no folder: write "
				   "file://DIR",
				   url);
	out->kind = PB_STORE_FILE;
	if (!(out->dir = strdup(url + strlen(FILE_SCHEME))))
		return pb_err_set("out of memory");
	return 0;
}
