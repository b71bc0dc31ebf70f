/* narrator status [--dir DIR]: each node's process, state and counters, from the node's
 * HTTP status endpoint (`Metrics` address in its se.ini, path /status). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/cli.h"
#include "host/config.h"

#define STATUS_TIMEOUT_MS 2000u
#define STATUS_MAX_BYTES (64u * 1024u)

static int wait_fd(int fd, short ev, uint64_t deadline)
{
    uint64_t now = nr_cli_now_ms();
    if (now >= deadline) {
        return NR_ETIMEDOUT;
    }
    struct pollfd p = {.fd = fd, .events = ev, .revents = 0};
    int r = poll(&p, 1, (int)(deadline - now));
    if (r < 0 && errno != EINTR) {
        return NR_EIO;
    }
    return r == 0 ? NR_ETIMEDOUT : NR_OK;
}

/* GET `path` from addr; body (NUL-terminated, capped) into out. */
static int http_get(const struct nr_host_addr *addr, const char *path, char *out, size_t cap)
{
    uint64_t deadline = nr_cli_now_ms() + STATUS_TIMEOUT_MS;
    int fd = socket(addr->sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        return NR_EIO;
    }
    int rc = NR_OK;
    if (connect(fd, (const struct sockaddr *)&addr->sa, addr->len) != 0) {
        if (errno != EINPROGRESS) {
            rc = NR_EUNREACHABLE;
            goto out;
        }
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        rc = wait_fd(fd, POLLOUT, deadline);
        if (rc == NR_OK && (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) || soerr)) {
            rc = NR_EUNREACHABLE;
        }
        if (rc) {
            goto out;
        }
    }
    char req[256];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n",
                     path, addr->text);
    if (n < 0 || (size_t)n >= sizeof req || send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
        rc = NR_EIO;
        goto out;
    }
    static char buf[STATUS_MAX_BYTES + 1];
    size_t used = 0;
    for (;;) {
        rc = wait_fd(fd, POLLIN, deadline);
        if (rc) {
            goto out;
        }
        ssize_t r = recv(fd, buf + used, STATUS_MAX_BYTES - used, 0);
        if (r == 0) {
            break;
        }
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                continue;
            }
            rc = NR_EIO;
            goto out;
        }
        used += (size_t)r;
        if (used == STATUS_MAX_BYTES) {
            break;
        }
    }
    buf[used] = '\0';
    if (strncmp(buf, "HTTP/1.", 7) != 0 || strlen(buf) < 12 || strncmp(buf + 9, "200", 3) != 0) {
        rc = NR_EMALFORMED;
        goto out;
    }
    const char *body = strstr(buf, "\r\n\r\n");
    body = body ? body + 4 : "";
    snprintf(out, cap, "%s", body);
out:
    close(fd);
    return rc;
}

/* The scalar value of "key" in a flat JSON object (quotes stripped). Untrusted text: bounded,
 * a missing or odd field is NR_ENOTFOUND. */
static int json_field(const char *body, const char *key, char *out, size_t cap)
{
    char pat[64];
    int n = snprintf(pat, sizeof pat, "\"%s\":", key);
    if (n < 0 || (size_t)n >= sizeof pat) {
        return NR_EINVAL;
    }
    const char *p = strstr(body, pat);
    if (!p) {
        return NR_ENOTFOUND;
    }
    p += n;
    if (*p == '"') {
        p++;
    }
    size_t k = 0;
    while (p[k] && p[k] != '"' && p[k] != ',' && p[k] != '}' && p[k] != '[' && k + 1 < cap) {
        out[k] = p[k];
        k++;
    }
    out[k] = '\0';
    return k > 0 ? NR_OK : NR_ENOTFOUND;
}

int nr_cli_node_status(const char *netdir, unsigned i, struct nr_cli_node_status *st)
{
    struct nr_cli_node p;
    static struct nr_host_config cfg;
    char err[NR_CFG_ERR_MAX];
    static char body[STATUS_MAX_BYTES];
    pid_t pid = 0;
    memset(st, 0, sizeof *st);
    snprintf(st->state, sizeof st->state, "DOWN");
    int rc = nr_cli_node_paths(&p, netdir, i);
    if (rc) {
        return rc;
    }
    st->running = nr_cli_read_pid(p.pidfile, &pid) == NR_OK && nr_cli_pid_is_narratord(pid);
    rc = nr_host_config_load(&cfg, p.config, err, sizeof err);
    if (rc) {
        snprintf(st->detail, sizeof st->detail, "%s", err);
        return rc;
    }
    if (!cfg.has_metrics) {
        snprintf(st->detail, sizeof st->detail, "no Metrics endpoint configured");
        return NR_ECONFIG;
    }
    rc = http_get(&cfg.metrics, "/status", body, sizeof body);
    if (rc) {
        snprintf(st->detail, sizeof st->detail, "status endpoint %s: %s", cfg.metrics.text,
                 nr_strerror(rc));
        return rc;
    }
    st->reachable = 1;
    char v[2 * NR_SYSTEM_ID_BYTES + 8], want[2 * NR_SYSTEM_ID_BYTES + 8], path[NR_CLI_PATH_MAX + 16];
    /* The address may be served by a daemon of another network (ports reused): only a daemon
     * of this network's system id, with this node's index, reports for this node. */
    snprintf(path, sizeof path, "%s/system_id", netdir);
    if (nr_cli_read_text(path, want, sizeof want) == NR_OK &&
        json_field(body, "system_id", v, sizeof v) == NR_OK && strcmp(v, want) != 0) {
        st->foreign = 1;
        snprintf(st->state, sizeof st->state, "FOREIGN");
        snprintf(st->detail, sizeof st->detail,
                 "status address %s is served by a daemon of another network (system %.16s...), "
                 "not by this node",
                 cfg.metrics.text, v);
        return NR_EEXIST;
    }
    snprintf(st->state, sizeof st->state, "?");
    if (json_field(body, "state", v, sizeof v) == NR_OK) {
        size_t k = 0;
        for (; v[k] && k + 1 < sizeof st->state; k++) {
            st->state[k] = (char)toupper((unsigned char)v[k]);
        }
        st->state[k] = '\0';
    }
    /* a one-line summary of the counters */
    static const char *const keys[] = {"anchor",       "incarnation",     "records",
                                       "writes_committed", "reads_served", "peers_connected",
                                       "clients",      "total_failure"};
    size_t j = 0;
    st->detail[0] = '\0';
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        if (json_field(body, keys[k], v, sizeof v) == NR_OK && j < sizeof st->detail) {
            int w = snprintf(st->detail + j, sizeof st->detail - j, "%s%s=%s", j ? " " : "",
                             keys[k], v);
            if (w > 0) {
                j += (size_t)w;
            }
        }
    }
    return NR_OK;
}

int nr_cmd_status(int argc, char **argv)
{
    const char *dir = NR_CLI_DEFAULT_DIR;
    static const struct option longopts[] = {{"dir", required_argument, NULL, 'd'},
                                             {NULL, 0, NULL, 0}};
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "d:", longopts, NULL)) != -1) {
        switch (ch) {
        case 'd':
            dir = optarg;
            break;
        default:
            return nr_cli_usage("status");
        }
    }
    if (optind != argc) {
        return nr_cli_usage("status");
    }
    unsigned n = 0;
    int rc = nr_cli_net_nodes(dir, &n);
    if (rc) {
        fprintf(stderr, "narrator: no network under %s (run 'narrator up')\n", dir);
        return NR_CLI_EXIT_FAIL;
    }
    int all_active = 1;
    for (unsigned i = 0; i < n; i++) {
        struct nr_cli_node_status st;
        (void)nr_cli_node_status(dir, i, &st);
        printf("node %u: %-7s %-8s %s\n", i, st.running ? "running" : "stopped", st.state,
               st.detail);
        all_active = all_active && strcmp(st.state, "ACTIVE") == 0;
    }
    return all_active ? NR_CLI_EXIT_OK : NR_CLI_EXIT_FAIL;
}
