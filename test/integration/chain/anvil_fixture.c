/* Test fixture for the chain integration tests: see anvil_fixture.h. */
#include "anvil_fixture.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "eth/rpc.h"

uint64_t nr_test_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

unsigned nr_test_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    unsigned port = 0;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

static void wait_or_kill(pid_t pid, unsigned timeout_ms)
{
    uint64_t deadline = nr_test_now_ms() + timeout_ms;
    for (;;) {
        pid_t r = waitpid(pid, NULL, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR))
            return;
        if (nr_test_now_ms() >= deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            return;
        }
        usleep(20000);
    }
}

int nr_anvil_start(struct nr_anvil *a, const char *const *extra_args)
{
    memset(a, 0, sizeof *a);
    for (int attempt = 0; attempt < 3; attempt++) {
        a->port = nr_test_free_port();
        if (a->port == 0)
            continue;
        char port[16], chain[16];
        snprintf(port, sizeof port, "%u", a->port);
        snprintf(chain, sizeof chain, "%u", NR_ANVIL_CHAIN_ID);
        const char *argv[32] = {NR_ANVIL_PATH, "--host", "127.0.0.1", "--port", port,
                                "--chain-id", chain};
        size_t n = 7;
        for (size_t i = 0; extra_args && extra_args[i] && n < 31; i++)
            argv[n++] = extra_args[i];
        argv[n] = NULL;
        pid_t parent = getpid();
        pid_t pid = fork();
        if (pid < 0)
            return -1;
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != parent)
                _exit(127);
            int devnull = open("/dev/null", O_RDWR);
            if (devnull >= 0) {
                dup2(devnull, 0);
                dup2(devnull, 1);
                dup2(devnull, 2);
            }
            execv(argv[0], (char *const *)argv);
            _exit(127);
        }
        a->pid = pid;
        snprintf(a->url, sizeof a->url, "http://127.0.0.1:%u", a->port);
        struct nr_rpc_config cfg = {.url = a->url, .timeout_ms = 2000, .retries = NR_RPC_NO_RETRY};
        uint64_t deadline = nr_test_now_ms() + 30000;
        while (nr_test_now_ms() < deadline) {
            if (waitpid(pid, NULL, WNOHANG) == pid) {
                a->pid = 0;
                break; /* exited: port taken? try another */
            }
            struct nr_rpc *rpc = NULL;
            int rc = nr_rpc_open(&rpc, &cfg);
            uint64_t id = 0;
            if (rc == NR_OK)
                rc = nr_rpc_chain_id(rpc, &id);
            nr_rpc_close(rpc);
            if (rc == NR_OK && id == NR_ANVIL_CHAIN_ID)
                return 0;
            usleep(100000);
        }
        if (a->pid) {
            fprintf(stderr, "anvil on port %u did not answer within 30 s\n", a->port);
            nr_anvil_stop(a);
            return -1;
        }
    }
    fprintf(stderr, "could not start %s\n", NR_ANVIL_PATH);
    return -1;
}

void nr_anvil_stop(struct nr_anvil *a)
{
    if (a->pid > 0) {
        kill(a->pid, SIGTERM);
        wait_or_kill(a->pid, 5000);
    }
    a->pid = 0;
}

int nr_test_run(const char *const *argv, char *out, size_t cap, unsigned timeout_ms)
{
    int p[2];
    if (pipe(p) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(p[1]);
    size_t len = 0;
    uint64_t deadline = nr_test_now_ms() + timeout_ms;
    int timed_out = 0;
    for (;;) {
        uint64_t now = nr_test_now_ms();
        if (now >= deadline) {
            timed_out = 1;
            break;
        }
        struct pollfd pfd = {.fd = p[0], .events = POLLIN};
        int r = poll(&pfd, 1, (int)(deadline - now));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            timed_out = r == 0;
            break;
        }
        char buf[4096];
        ssize_t n = read(p[0], buf, sizeof buf);
        if (n <= 0)
            break;
        size_t take = (size_t)n;
        if (len + take >= cap)
            take = cap - 1 - len;
        memcpy(out + len, buf, take);
        len += take;
    }
    close(p[0]);
    out[len] = '\0';
    while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == '\r'))
        out[--len] = '\0';
    if (timed_out)
        kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (timed_out || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

char *nr_test_read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    while (buf != NULL) {
        size_t r = fread(buf + n, 1, cap - n, fp);
        n += r;
        if (n < cap)
            break;
        cap *= 2;
        char *b = realloc(buf, cap + 1);
        if (b == NULL) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = b;
    }
    fclose(fp);
    if (buf) {
        buf[n] = '\0';
        if (len)
            *len = n;
    }
    return buf;
}
