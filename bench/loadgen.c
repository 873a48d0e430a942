/*
 * A small HTTP/1.1 load generator for the benchmarks, for what wrk does not
 * do: an exact number of requests (callgrind), and a fixed request rate
 * with latency measured from when each request was due (wrk2's way: a
 * server that stalls delays the requests behind the stall, and their wait
 * is counted, so the percentiles do not hide it).
 *
 *   loadgen count PORT POOL N
 *       N requests from POOL, one after another on one keep-alive
 *       connection to 127.0.0.1:PORT; fails on any status but 200
 *   loadgen rate PORT POOL RATE SECONDS CONNECTIONS
 *       RATE requests a second for SECONDS, over up to CONNECTIONS
 *       keep-alive connections, open loop: request k is due at
 *       start + k / RATE and is sent as soon as a connection is free; its
 *       latency runs from when it was due until its response is complete.
 *       Prints the count, the errors, the rate achieved and the latency
 *       percentiles in microseconds.
 *   loadgen slices PORT POOL_A POOL_B PID SLICE_MS SLICES CONNECTIONS
 *       SLICES slices of SLICE_MS milliseconds, closed loop over
 *       CONNECTIONS keep-alive connections, the requests of POOL_A and
 *       POOL_B's in turn, A B B A A B B A ... (each as often after the
 *       other as after itself, as the first of a pair as the second), each
 *       slice drained (no
 *       request sent after its time is up, every response waited for)
 *       before the next begins, so that the CPU time the process PID (the
 *       nginx worker) runs in a slice is all its requests' and no other's.
 *       One line a slice: its number, A or B, the responses, the ones not
 *       200, the worker's CPU time and the slice's wall time in
 *       nanoseconds, and when it began and ended (CLOCK_MONOTONIC, ns: perf
 *       record -k CLOCK_MONOTONIC's clock, to split a profile by slice).  The worker's CPU time is se.sum_exec_runtime of
 *       /proc/PID/task/TID/sched over its threads (to the nanosecond;
 *       kernels without CONFIG_SCHED_DEBUG lack it, and the mode fails).  Pairs of slices a
 *       tenth of a second apart see the same machine: the VM's speed moves
 *       by 10-20% from one second to the next, which pairs of whole runs
 *       seconds apart cannot tell from the cost of what they compare.
 *
 * POOL: one request a line, METHOD TAB URI TAB ACCESS_KEY TAB BODY
 * (bench/keys.pl sign).  Responses must carry a Content-Length (nginx's
 * static files and error pages do); "Connection: close" is followed by a
 * new connection.
 */

#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>


#define LG_BUF  16384


typedef struct {
    char    *data;
    size_t   len;
} lg_req_t;


typedef struct {
    int       fd;
    int       busy;
    int64_t   due;          /* when the request in flight was due, ns */
    size_t    sent;
    lg_req_t *req;
    char      buf[LG_BUF];
    size_t    have;
} lg_conn_t;


typedef struct {
    lg_req_t *req;
    size_t    n;
} lg_pool_t;


static lg_req_t  *pool;
static size_t     npool;
static int        port;


static int64_t
now_ns(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}


static void
die(const char *what)
{
    perror(what);
    exit(1);
}


static void
load_pool(const char *path)
{
    FILE    *f;
    char    *line, *method, *uri, *key, *body, *p;
    size_t   cap, n, blen;
    ssize_t  len;

    f = fopen(path, "r");
    if (f == NULL) {
        die(path);
    }

    line = NULL;
    cap = 0;
    n = 0;

    while ((len = getline(&line, &cap, f)) > 0) {
        if (line[len - 1] == '\n') {
            line[--len] = '\0';
        }

        method = line;
        uri = strchr(method, '\t');
        key = uri ? strchr(uri + 1, '\t') : NULL;
        body = key ? strchr(key + 1, '\t') : NULL;

        if (body == NULL) {
            fprintf(stderr, "loadgen: bad pool line: %s\n", line);
            exit(1);
        }

        *uri++ = '\0';
        *key++ = '\0';
        *body++ = '\0';
        blen = strlen(body);

        if (n % 1024 == 0) {
            pool = realloc(pool, (n + 1024) * sizeof(lg_req_t));
            if (pool == NULL) {
                die("realloc");
            }
        }

        p = malloc(strlen(uri) + strlen(key) + blen + 256);
        if (p == NULL) {
            die("malloc");
        }

        if (blen > 0) {
            pool[n].len = sprintf(p, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                                  "X-HK-APIKEY: %s\r\nContent-Type: "
                                  "application/x-www-form-urlencoded\r\n"
                                  "Content-Length: %zu\r\n\r\n%s",
                                  method, uri, port, key, blen, body);
        } else {
            pool[n].len = sprintf(p, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                                  "X-HK-APIKEY: %s\r\n\r\n", method, uri, port,
                                  key);
        }

        pool[n].data = p;
        n++;
    }

    free(line);
    fclose(f);

    if (n == 0) {
        fprintf(stderr, "loadgen: empty pool %s\n", path);
        exit(1);
    }

    npool = n;
}


static int
connect_to(void)
{
    int                 fd, one;
    struct sockaddr_in  sin;

    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd == -1) {
        die("socket");
    }

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    if (connect(fd, (struct sockaddr *) &sin, sizeof(sin)) == -1) {
        die("connect");
    }

    one = 1;
    (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

    return fd;
}


/*
 * Is buf[0..have) a complete response?  Returns its length (0: not yet),
 * with its status and whether the server closes the connection.
 */

static size_t
response_complete(const char *buf, size_t have, int *status, int *closing)
{
    const char  *end, *p, *line;
    size_t       head;
    long         clen;

    end = memmem(buf, have, "\r\n\r\n", 4);
    if (end == NULL) {
        return 0;
    }

    head = end - buf + 4;
    *status = (have > 12) ? atoi(buf + 9) : 0;
    *closing = 0;
    clen = -1;

    for (line = buf; line < end; line = p + 2) {
        p = memmem(line, end + 2 - line, "\r\n", 2);
        if (p == NULL) {
            break;
        }

        if (p - line > 15 && strncasecmp(line, "Content-Length:", 15) == 0) {
            clen = atol(line + 15);

        } else if (p - line >= 17
                   && strncasecmp(line, "Connection: close", 17) == 0)
        {
            *closing = 1;
        }
    }

    if (clen < 0) {
        fprintf(stderr, "loadgen: a response without Content-Length\n");
        exit(1);
    }

    return (have >= head + (size_t) clen) ? head + (size_t) clen : 0;
}


static int
count_mode(long n)
{
    int      fd, status, closing;
    long     i;
    size_t   have, len;
    ssize_t  r;
    char     buf[LG_BUF];

    fd = connect_to();

    for (i = 0; i < n; i++) {
        lg_req_t  *q = &pool[i % npool];

        if (write(fd, q->data, q->len) != (ssize_t) q->len) {
            die("write");
        }

        have = 0;

        for ( ;; ) {
            r = read(fd, buf + have, sizeof(buf) - have);
            if (r <= 0) {
                die("read");
            }

            have += r;
            len = response_complete(buf, have, &status, &closing);

            if (len > 0) {
                break;
            }

            if (have == sizeof(buf)) {
                fprintf(stderr, "loadgen: response too large\n");
                return 1;
            }
        }

        if (status != 200) {
            fprintf(stderr, "loadgen: status %d: %.*s\n", status,
                    (int) have, buf);
            return 1;
        }

        if (closing) {
            (void) shutdown(fd, SHUT_RDWR);
            (void) close(fd);
            fd = connect_to();
        }
    }

    (void) close(fd);
    printf("requests: %ld\n", n);
    return 0;
}


static int
cmp_i64(const void *a, const void *b)
{
    int64_t  x = *(const int64_t *) a, y = *(const int64_t *) b;

    return (x > y) - (x < y);
}


/* every connection opened, in a new epoll set (returned) */

static int
conns_open(lg_conn_t *conns, int nconns)
{
    int                 ep, i;
    struct epoll_event  ev;

    ep = epoll_create1(0);
    if (ep == -1) {
        die("epoll_create1");
    }

    for (i = 0; i < nconns; i++) {
        conns[i].fd = connect_to();
        ev.events = EPOLLIN;
        ev.data.ptr = &conns[i];
        if (epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev) == -1) {
            die("epoll_ctl");
        }
    }

    return ep;
}


/*
 * What c's socket has to read, after what it had: the response's length
 * once it is complete (its status and whether the server closes), or 0;
 * a response too large for the buffer ends the run
 */

static size_t
conn_read(lg_conn_t *c, int *status, int *closing)
{
    size_t   len;
    ssize_t  r;

    r = read(c->fd, c->buf + c->have, LG_BUF - c->have);
    if (r <= 0) {
        die("read");
    }

    c->have += r;
    len = response_complete(c->buf, c->have, status, closing);

    if (len == 0 && c->have == LG_BUF) {
        fprintf(stderr, "loadgen: response too large\n");
        exit(1);
    }

    return len;
}


/* c closed by the server ("Connection: close"): a new connection */

static void
conn_again(int ep, lg_conn_t *c)
{
    struct epoll_event  ev;

    (void) epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    (void) close(c->fd);
    c->fd = connect_to();
    ev.events = EPOLLIN;
    ev.data.ptr = c;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) == -1) {
        die("epoll_ctl");
    }
}


static int
rate_mode(double rate, double seconds, int nconns)
{
    int                 ep, i, k, status, closing, nready, timeout;
    long                next, total, done, errors, inflight;
    int64_t             start, now, end, due, *lat, *queue;
    long                qhead, qtail;
    lg_conn_t          *conns, *c;
    struct epoll_event  evs[256];

    total = (long) (rate * seconds);
    lat = calloc(total + 1, sizeof(int64_t));
    queue = calloc(total + 1, sizeof(int64_t));
    conns = calloc(nconns, sizeof(lg_conn_t));

    if (lat == NULL || queue == NULL || conns == NULL) {
        die("calloc");
    }

    ep = conns_open(conns, nconns);

    start = now_ns();
    end = start + (int64_t) (seconds * 1e9);
    next = 0;
    done = 0;
    errors = 0;
    inflight = 0;
    qhead = 0;
    qtail = 0;

    while (done < total) {
        now = now_ns();

        /* every request due by now joins the queue */

        while (next < total
               && start + (int64_t) (next * 1e9 / rate) <= now)
        {
            queue[qtail++] = start + (int64_t) (next * 1e9 / rate);
            next++;
        }

        /* free connections take the oldest due requests */

        for (i = 0; i < nconns && qhead < qtail; i++) {
            c = &conns[i];

            if (c->busy) {
                continue;
            }

            c->busy = 1;
            c->due = queue[qhead++];
            c->req = &pool[(qhead - 1) % npool];
            c->have = 0;

            if (write(c->fd, c->req->data, c->req->len)
                != (ssize_t) c->req->len)
            {
                die("write");
            }

            inflight++;
        }

        if (now > end + 10 * (int64_t) 1000000000) {
            fprintf(stderr, "loadgen: %ld requests still waiting 10 s after "
                    "the end\n", total - done);
            break;
        }

        /* wait until the next request is due, or a response comes */

        timeout = 0;

        if (qhead == qtail && next < total) {
            due = start + (int64_t) (next * 1e9 / rate);
            timeout = (int) ((due - now) / 1000000);
        } else if (next >= total) {
            timeout = 10;
        }

        nready = epoll_wait(ep, evs, 256, timeout);
        if (nready == -1 && errno != EINTR) {
            die("epoll_wait");
        }

        for (k = 0; k < nready; k++) {
            c = evs[k].data.ptr;

            if (conn_read(c, &status, &closing) == 0) {
                continue;
            }

            now = now_ns();
            lat[done++] = now - c->due;
            errors += (status != 200);
            c->busy = 0;
            inflight--;

            if (closing) {
                conn_again(ep, c);
            }
        }
    }

    now = now_ns();
    qsort(lat, done, sizeof(int64_t), cmp_i64);

#define LG_PCT(p)  (done ? lat[(long) ((double) (done - 1) * (p))] / 1000 : 0)

    printf("requests: %ld\nerrors: %ld\nrate: %.0f\n", done, errors,
           done / ((double) (now - start) / 1e9));
    printf("p50_us: %ld\np90_us: %ld\np99_us: %ld\np99.9_us: %ld\n"
           "max_us: %ld\n", (long) LG_PCT(0.50), (long) LG_PCT(0.90),
           (long) LG_PCT(0.99), (long) LG_PCT(0.999),
           (long) (done ? lat[done - 1] / 1000 : 0));

    return (done == total) ? 0 : 1;
}


/* se.sum_exec_runtime of a sched file of /proc, ns */

static int64_t
task_ns(int fd)
{
    char     buf[8192], *p, *e;
    ssize_t  n;
    double   ms;

    n = read(fd, buf, sizeof(buf) - 1);
    if (n <= 0) {
        die("read /proc/PID/task/TID/sched");
    }

    buf[n] = '\0';
    p = strstr(buf, "se.sum_exec_runtime");
    if (p == NULL || (p = strchr(p, ':')) == NULL) {
        fprintf(stderr, "loadgen: no se.sum_exec_runtime in /proc/PID/sched\n");
        exit(1);
    }

    ms = strtod(p + 1, &e);
    if (e == p + 1) {
        fprintf(stderr, "loadgen: bad se.sum_exec_runtime\n");
        exit(1);
    }

    return (int64_t) (ms * 1e6 + 0.5);
}


/*
 * The CPU time process pid has run, ns: se.sum_exec_runtime of
 * /proc/PID/task/TID/sched summed over its threads (the worker's own and
 * its thread pool's, which flushes the last-use stamps on the same CPU)
 */

static int64_t
cpu_ns(int pid)
{
    int             fd;
    char            path[64];
    DIR            *dir;
    int64_t         sum;
    struct dirent  *d;

    snprintf(path, sizeof(path), "/proc/%d/task", pid);
    dir = opendir(path);
    if (dir == NULL) {
        die(path);
    }

    sum = 0;

    while ((d = readdir(dir)) != NULL) {
        if (d->d_name[0] < '0' || d->d_name[0] > '9') {
            continue;
        }

        snprintf(path, sizeof(path), "/proc/%d/task/%.16s/sched", pid,
                 d->d_name);
        fd = open(path, O_RDONLY);
        if (fd == -1) {
            continue;       /* a thread gone since readdir */
        }

        sum += task_ns(fd);
        (void) close(fd);
    }

    (void) closedir(dir);

    return sum;
}


static int
slices_mode(lg_pool_t *pools, int pid, long slice_ms, long nslices,
    int nconns)
{
    int                 ep, i, k, ab, status, closing, nready, sending;
    long                s, done, errors, inflight;
    size_t              next[2];
    int64_t             start, end, c0, c1;
    lg_conn_t          *conns, *c;
    lg_pool_t          *pl;
    struct epoll_event  evs[256];

    (void) cpu_ns(pid);

    conns = calloc(nconns, sizeof(lg_conn_t));
    if (conns == NULL) {
        die("calloc");
    }

    ep = conns_open(conns, nconns);

    next[0] = 0;
    next[1] = 0;

    for (s = 0; s < nslices; s++) {
        ab = ((s + 1) / 2) % 2;
        pl = &pools[ab];
        done = 0;
        errors = 0;
        inflight = 0;
        sending = 1;

        c0 = cpu_ns(pid);
        start = now_ns();
        end = start + slice_ms * 1000000;

        for (i = 0; i < nconns; i++) {
            c = &conns[i];
            c->req = &pl->req[next[ab]++ % pl->n];
            c->have = 0;
            c->busy = 1;

            if (write(c->fd, c->req->data, c->req->len)
                != (ssize_t) c->req->len)
            {
                die("write");
            }

            inflight++;
        }

        while (inflight > 0) {
            nready = epoll_wait(ep, evs, 256, 1000);
            if (nready == -1 && errno != EINTR) {
                die("epoll_wait");
            }

            if (nready == 0) {
                fprintf(stderr, "loadgen: no response for a second\n");
                return 1;
            }

            if (sending && now_ns() >= end) {
                sending = 0;
            }

            for (k = 0; k < nready; k++) {
                c = evs[k].data.ptr;

                if (conn_read(c, &status, &closing) == 0) {
                    continue;
                }

                done++;
                errors += (status != 200);
                c->busy = 0;
                c->have = 0;
                inflight--;

                if (closing) {
                    conn_again(ep, c);
                }

                if (!sending) {
                    continue;
                }

                c->req = &pl->req[next[ab]++ % pl->n];
                c->busy = 1;

                if (write(c->fd, c->req->data, c->req->len)
                    != (ssize_t) c->req->len)
                {
                    die("write");
                }

                inflight++;
            }
        }

        c1 = cpu_ns(pid);
        end = now_ns();

        printf("%ld\t%c\t%ld\t%ld\t%lld\t%lld\t%lld\t%lld\n", s, "AB"[ab],
               done, errors, (long long) (c1 - c0), (long long) (end - start),
               (long long) start, (long long) end);
    }

    return 0;
}


int
main(int argc, char **argv)
{
    if (argc == 9 && strcmp(argv[1], "slices") == 0) {
        lg_pool_t  pools[2];

        port = atoi(argv[2]);
        load_pool(argv[3]);
        pools[0].req = pool;
        pools[0].n = npool;
        pool = NULL;
        npool = 0;
        load_pool(argv[4]);
        pools[1].req = pool;
        pools[1].n = npool;

        return slices_mode(pools, atoi(argv[5]), atol(argv[6]),
                           atol(argv[7]), atoi(argv[8]));
    }

    if (argc == 5 && strcmp(argv[1], "count") == 0) {
        port = atoi(argv[2]);
        load_pool(argv[3]);
        return count_mode(atol(argv[4]));
    }

    if (argc == 7 && strcmp(argv[1], "rate") == 0) {
        port = atoi(argv[2]);
        load_pool(argv[3]);
        return rate_mode(atof(argv[4]), atof(argv[5]), atoi(argv[6]));
    }

    fprintf(stderr, "usage: loadgen count PORT POOL N\n"
                    "       loadgen rate PORT POOL RATE SECONDS CONNECTIONS\n"
                    "       loadgen slices PORT POOL_A POOL_B PID SLICE_MS "
                    "SLICES CONNECTIONS\n");
    return 2;
}
