/* loadgen.c: signed issue_comment webhook load generator for serve_bench.sh */
/*
 * loadgen --port P --secret-file F --template F --mode max|rate
 *         [--conns N] [--rate R] [--seconds S] [--requests N]
 *         [--first-id N] [--ok CODE]
 *
 * Every request is a POST /webhooks/github of the template with each "@ID@"
 * replaced by a unique number (comment id and delivery id both come from
 * it), signed with X-Hub-Signature-256 = HMAC-SHA256(secret, body). All
 * requests are built and signed before the clock starts, so signing costs
 * the generator nothing while it measures. HTTP/1.1 keep-alive connections
 * to 127.0.0.1 only.
 *
 * max:  --conns connections, each sends its next request as soon as the
 *       answer to the last one arrives (closed loop), until --requests are
 *       answered or --seconds pass.
 * rate: requests are due at first + i/R (open loop); a due request goes on
 *       an idle connection, a new one is opened (up to --conns) when none is
 *       idle, else it waits. Latency runs from the time a request was DUE,
 *       so waiting counts (no coordinated omission).
 *
 * Prints one line of key=value: sent, answered, ok (answers with --ok's
 * status), other statuses, errors, seconds, ok_per_s and p50/p90/p99/max
 * latency in ms. Exits 0 when it ran, 2 on bad usage.
 * Build: cc -O2 -std=gnu11 bench/loadgen.c -lcrypto -o loadgen
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct req {
	char *data;
	size_t len;
};

struct conn {
	int fd;
	int busy; /* a request is in flight */
	int connected;
	long req;   /* index of the request in flight */
	double due; /* when that request was due (rate) or sent (max) */
	size_t sent;
	char in[8192];
	size_t inlen;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *p;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	p = malloc(n + 1);
	if (p && fread(p, 1, n, f) != (size_t)n) {
		free(p);
		p = NULL;
	}
	fclose(f);
	if (p) {
		p[n] = '\0';
		*len = n;
	}
	return p;
}

/* the template with each @ID@ replaced by id, then headers, signed */
static int build(struct req *r, const char *tpl, long id, const char *secret,
		 int port)
{
	char body[65536], ids[32], sig[65], head[1024];
	unsigned char mac[32];
	unsigned int maclen = 32;
	size_t bl = 0, il;
	const char *p = tpl, *q;
	int hl;

	il = snprintf(ids, sizeof(ids), "%ld", id);
	while ((q = strstr(p, "@ID@"))) {
		if (bl + (q - p) + il >= sizeof(body))
			return -1;
		memcpy(body + bl, p, q - p);
		bl += q - p;
		memcpy(body + bl, ids, il);
		bl += il;
		p = q + 4;
	}
	if (bl + strlen(p) >= sizeof(body))
		return -1;
	memcpy(body + bl, p, strlen(p));
	bl += strlen(p);
	HMAC(EVP_sha256(), secret, strlen(secret), (unsigned char *)body, bl,
	     mac, &maclen);
	for (int i = 0; i < 32; i++)
		snprintf(sig + 2 * i, 3, "%02x", mac[i]);
	hl = snprintf(head, sizeof(head),
		      "POST /webhooks/github HTTP/1.1\r\n"
		      "Host: 127.0.0.1:%d\r\n"
		      "User-Agent: GitHub-Hookshot/bench\r\n"
		      "Content-Type: application/json\r\n"
		      "X-GitHub-Event: issue_comment\r\n"
		      "X-GitHub-Delivery: bench-%s\r\n"
		      "X-Hub-Signature-256: sha256=%s\r\n"
		      "Content-Length: %zu\r\n\r\n",
		      port, ids, sig, bl);
	r->data = malloc(hl + bl);
	if (!r->data)
		return -1;
	memcpy(r->data, head, hl);
	memcpy(r->data + hl, body, bl);
	r->len = hl + bl;
	return 0;
}

static int open_conn(struct conn *c, int ep, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port) };
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };
	int one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (c->fd < 0)
		return -1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&a, sizeof(a)) < 0 &&
	    errno != EINPROGRESS) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	c->connected = 0;
	c->busy = 0;
	c->inlen = 0;
	epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
	return 0;
}

static void close_conn(struct conn *c, int ep)
{
	if (c->fd >= 0) {
		epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	c->busy = 0;
	c->connected = 0;
}

/* status of a complete answer in c->in, 0 when incomplete; *used its size */
static int parse(struct conn *c, size_t *used, int *close_after)
{
	char *end, *p;
	long clen = 0;
	int status;

	c->in[c->inlen < sizeof(c->in) ? c->inlen : sizeof(c->in) - 1] = '\0';
	end = strstr(c->in, "\r\n\r\n");
	if (!end)
		return 0;
	if (sscanf(c->in, "HTTP/1.%*d %d", &status) != 1)
		return -1;
	*close_after = 0;
	for (p = strstr(c->in, "\r\n"); p && p < end;
	     p = strstr(p + 2, "\r\n")) {
		if (!strncasecmp(p + 2, "content-length:", 15))
			clen = strtol(p + 17, NULL, 10);
		if (!strncasecmp(p + 2, "connection: close", 17))
			*close_after = 1;
	}
	if ((size_t)(end + 4 - c->in) + clen > c->inlen)
		return 0;
	*used = (end + 4 - c->in) + clen;
	return status;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(double *v, long n, double p)
{
	long i;

	if (n == 0)
		return 0;
	i = (long)(p * (n - 1) + 0.5);
	return v[i] * 1000;
}

int main(int argc, char **argv)
{
	const char *tplpath = NULL, *secpath = NULL, *mode = "max";
	int port = 0, nconns = 8, okcode = 202;
	double rate = 1000, seconds = 10;
	long nreq = 10000, first = 1;
	char *tpl, *secret;
	size_t tl, sl;
	struct req *reqs;
	struct conn *conns;
	double *lat, t0, deadline;
	long next = 0, answered = 0, ok = 0, other = 0, errs = 0, sent = 0;
	long codes[600] = { 0 };
	int ep, ratemode, open_n = 0;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--port"))
			port = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--secret-file"))
			secpath = argv[i + 1];
		else if (!strcmp(argv[i], "--template"))
			tplpath = argv[i + 1];
		else if (!strcmp(argv[i], "--mode"))
			mode = argv[i + 1];
		else if (!strcmp(argv[i], "--conns"))
			nconns = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--rate"))
			rate = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--seconds"))
			seconds = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--requests"))
			nreq = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--first-id"))
			first = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--ok"))
			okcode = atoi(argv[i + 1]);
		else {
			fprintf(stderr, "loadgen: unknown option '%s'\n",
				argv[i]);
			return 2;
		}
	}
	ratemode = !strcmp(mode, "rate");
	if (!port || !tplpath || !secpath || nconns < 1 || nconns > 1000 ||
	    nreq < 1 || nreq > 1000000 || seconds <= 0 || seconds > 600 ||
	    rate <= 0 || (!ratemode && strcmp(mode, "max"))) {
		fprintf(stderr, "loadgen: usage: see the comment at the top of "
				"bench/loadgen.c\n");
		return 2;
	}
	tpl = slurp(tplpath, &tl);
	secret = slurp(secpath, &sl);
	if (!tpl || !secret) {
		fprintf(stderr, "loadgen: cannot read '%s' or '%s'\n", tplpath,
			secpath);
		return 2;
	}
	while (sl && (secret[sl - 1] == '\n' || secret[sl - 1] == '\r'))
		secret[--sl] = '\0';
	reqs = calloc(nreq, sizeof(*reqs));
	lat = calloc(nreq, sizeof(*lat));
	conns = calloc(nconns, sizeof(*conns));
	if (!reqs || !lat || !conns)
		return 2;
	for (long i = 0; i < nreq; i++)
		if (build(&reqs[i], tpl, first + i, secret, port) < 0) {
			fprintf(stderr, "loadgen: cannot build request %ld\n",
				i);
			return 2;
		}
	ep = epoll_create1(0);
	for (int i = 0; i < nconns; i++)
		conns[i].fd = -1;
	/* max mode opens every connection now; rate mode opens on demand,
	 * starting with two */
	for (int i = 0; i < (ratemode ? 2 : nconns) && i < nconns; i++)
		if (open_conn(&conns[open_n], ep, port) == 0)
			open_n++;
	t0 = now();
	deadline = t0 + seconds;
	for (;;) {
		struct epoll_event evs[64];
		double t = now();
		int timeout = 10, n;
		int inflight = 0;

		/* hand out requests: due ones (rate) or any (max) */
		for (int i = 0; i < open_n && next < nreq && t < deadline;
		     i++) {
			struct conn *c = &conns[i];
			double due = ratemode ? t0 + next / rate : t;

			if (c->fd < 0 && open_conn(c, ep, port) < 0)
				continue;
			if (c->busy || due > t)
				continue;
			c->busy = 1;
			c->req = next++;
			c->due = due;
			c->sent = 0;
			c->inlen = 0;
			sent++;
			if (c->connected) {
				struct epoll_event ev = { .events = EPOLLIN |
								    EPOLLOUT,
							  .data.ptr = c };
				epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
			}
		}
		/* rate mode: a due request and no idle connection: open one */
		if (ratemode && next < nreq && t0 + next / rate <= t &&
		    open_n < nconns && t < deadline) {
			if (open_conn(&conns[open_n], ep, port) == 0)
				open_n++;
		}
		for (int i = 0; i < open_n; i++)
			inflight += conns[i].busy;
		if ((next >= nreq || t >= deadline) && inflight == 0)
			break;
		if (t >= deadline + 5) /* answers still missing 5 s later */
			break;
		if (ratemode && next < nreq) {
			double wait = (t0 + next / rate - t) * 1000;

			timeout = wait < 0 ? 0 : (int)wait;
			if (timeout > 10)
				timeout = 10;
		}
		n = epoll_wait(ep, evs, 64, timeout);
		for (int k = 0; k < n; k++) {
			struct conn *c = evs[k].data.ptr;
			struct epoll_event ev = { .events = EPOLLIN,
						  .data.ptr = c };
			ssize_t got;

			if (c->fd < 0)
				continue;
			if (evs[k].events & (EPOLLERR | EPOLLHUP) &&
			    !(evs[k].events & EPOLLIN)) {
				errs += c->busy;
				close_conn(c, ep);
				continue;
			}
			if (evs[k].events & EPOLLOUT) {
				c->connected = 1;
				if (!c->busy) {
					epoll_ctl(ep, EPOLL_CTL_MOD, c->fd,
						  &ev);
				} else {
					struct req *r = &reqs[c->req];
					ssize_t w = send(c->fd,
							 r->data + c->sent,
							 r->len - c->sent,
							 MSG_NOSIGNAL);
					if (w < 0 && errno != EAGAIN) {
						errs++;
						close_conn(c, ep);
						continue;
					}
					if (w > 0)
						c->sent += w;
					if (c->sent == r->len)
						epoll_ctl(ep, EPOLL_CTL_MOD,
							  c->fd, &ev);
				}
			}
			if (!(evs[k].events & EPOLLIN))
				continue;
			got = recv(c->fd, c->in + c->inlen,
				   sizeof(c->in) - 1 - c->inlen, 0);
			if (got <= 0) {
				if (got < 0 && errno == EAGAIN)
					continue;
				errs += c->busy;
				close_conn(c, ep);
				continue;
			}
			c->inlen += got;
			if (c->busy) {
				size_t used = 0;
				int cl = 0, st = parse(c, &used, &cl);

				if (st < 0 || (st == 0 &&
					       c->inlen >= sizeof(c->in) - 1)) {
					errs++;
					close_conn(c, ep);
					continue;
				}
				if (st == 0)
					continue;
				lat[answered++] = now() - c->due;
				if (st == okcode)
					ok++;
				else
					other++;
				if (st > 0 && st < 600)
					codes[st]++;
				c->busy = 0;
				c->inlen = 0;
				if (cl)
					close_conn(c, ep);
			}
		}
	}
	{
		double el = now() - t0;
		long done = answered;

		qsort(lat, done, sizeof(*lat), cmp);
		printf("mode=%s conns=%d sent=%ld answered=%ld ok=%ld "
		       "other=%ld errors=%ld seconds=%.3f ok_per_s=%.1f "
		       "p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f",
		       mode, open_n, sent, answered, ok, other, errs, el,
		       ok / el, pct(lat, done, 0.5), pct(lat, done, 0.9),
		       pct(lat, done, 0.99), done ? lat[done - 1] * 1000 : 0);
		for (int s = 100; s < 600; s++)
			if (codes[s])
				printf(" code_%d=%ld", s, codes[s]);
		printf("\n");
	}
	for (int i = 0; i < open_n; i++)
		close_conn(&conns[i], ep);
	close(ep);
	return 0;
}
