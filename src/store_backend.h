/* store_backend.h: what each artifact store backend provides; store.c
 * picks the backend by the URL's scheme */
#ifndef PRBOT_STORE_BACKEND_H
#define PRBOT_STORE_BACKEND_H

#include <stdint.h>
#include <sys/stat.h>

#include "prbot/store.h"

/*
 * One backend. Keys reaching it were checked by store.c (relative, no
 * empty, "." or ".." segment); outputs were zeroed. Each backend's store
 * struct begins with a struct pb_store.
 */
struct pb_store_ops {
	const char *name; /* "file", "s3": for messages */
	int (*open)(struct pb_store **out, const struct pb_store_url *u,
		    const struct pb_store_config *c);
	void (*free)(struct pb_store *s);
	char *(*url)(const struct pb_store *s, const char *key);
	int (*put)(struct pb_put_result *out, struct pb_store *s,
		   const char *key, const char *src);
	int (*head)(struct pb_store_object *out, struct pb_store *s,
		    const char *key);
	int (*get)(struct pb_digest *out, struct pb_store *s, const char *key,
		   const char *dst);
};

struct pb_store {
	const struct pb_store_ops *ops;
};

/* Open src, a regular file, for reading; a message naming it if not. */
int pb_store_src_open(int *fd, struct stat *st, const char *src);

/*
 * 0 when src (open as fd, with before from fstat at open) was read whole
 * (read bytes) and kept its size; else PB_ECHANGED naming src.
 */
int pb_store_src_changed(int fd, const struct stat *before, uint64_t read,
			 const char *src);

extern const struct pb_store_ops pb_store_file_ops;
extern const struct pb_store_ops pb_store_s3_ops;

#endif
