#include "tee/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int nr_path_join(char *out, size_t cap, const char *dir, const char *name)
{
    if (!out || !dir || !name)
        return NR_EINVAL;
    int n = snprintf(out, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap)
        return NR_ETOOBIG;
    return NR_OK;
}

int nr_file_exists(const char *path)
{
    struct stat st;
    return path && stat(path, &st) == 0;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return NR_EIO;
        }
        p += (size_t)w;
        len -= (size_t)w;
    }
    return NR_OK;
}

static void fsync_parent(const char *path)
{
    char dir[4096];
    size_t n = strlen(path);
    if (n >= sizeof dir)
        return;
    memcpy(dir, path, n + 1);
    char *slash = strrchr(dir, '/');
    if (!slash)
        strcpy(dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

int nr_file_write_atomic(const char *path, const uint8_t *data, size_t len)
{
    if (!path || (!data && len))
        return NR_EINVAL;
    char tmp[4096];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return NR_ETOOBIG;
    int fd = mkstemp(tmp); /* mode 0600 */
    if (fd < 0)
        return NR_EIO;
    int rc = NR_EIO;
    if (fchmod(fd, 0600) != 0)
        goto fail;
    rc = write_all(fd, data, len);
    if (rc != NR_OK)
        goto fail;
    rc = NR_EIO;
    if (fsync(fd) != 0)
        goto fail;
    if (close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) != 0)
        goto fail;
    fsync_parent(path);
    return NR_OK;
fail:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return rc;
}

int nr_file_read(const char *path, uint8_t *out, size_t cap, size_t *out_len)
{
    if (!path || !out_len || (!out && cap))
        return NR_EINVAL;
    *out_len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? NR_ENOTFOUND : NR_EIO;
    size_t got = 0;
    int rc = NR_OK;
    for (;;) {
        uint8_t extra;
        uint8_t *dst = got < cap ? out + got : &extra;
        size_t want = got < cap ? cap - got : 1;
        ssize_t r = read(fd, dst, want);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            rc = NR_EIO;
            break;
        }
        if (r == 0)
            break;
        if (got >= cap) {
            rc = NR_ETOOBIG;
            break;
        }
        got += (size_t)r;
    }
    close(fd);
    if (rc == NR_OK)
        *out_len = got;
    return rc;
}

int nr_file_read_exact(const char *path, uint8_t *out, size_t len)
{
    size_t got = 0;
    int rc = nr_file_read(path, out, len, &got);
    if (rc == NR_ETOOBIG)
        return NR_EMALFORMED;
    if (rc != NR_OK)
        return rc;
    return got == len ? NR_OK : NR_EMALFORMED;
}
