/* SPDX-License-Identifier: Apache-2.0 */
/* One s3fs process per shared mount, run in the foreground under nbmountd's supervision.
 * Debian's s3fs 1.90 exits 0 when its bucket check fails, and while the check runs every access
 * to the mount blocks: "ready" is decided here, from mountinfo and a probe with a deadline. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "checks.h"
#include "mountd.h"
#include "netaddr.h"
#include "safeopen.h"
#include "util.h"

#define S3FS_MAX_ARGS 40
#define S3FS_STOP_GRACE_MS 3000
#define S3FS_FAILED_GRACE_MS 1000
#define S3FS_EXIT_MS 1000
#define S3FS_CAUSE_TAIL 16384

/* Strings that s3fs's option parser (fuse_opt) would split or unescape. */
static bool option_value_safe(const char *value) {
        for (const char *p = value; *p; p++)
                if (*p == ',' || *p == '\\' || (unsigned char) *p <= ' ' || (unsigned char) *p >= 0x7f)
                        return false;
        return true;
}

static int64_t now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the secret -------------------------------------------------------------------------------- */

int secret_stamp_read(const struct mountd *d, const struct s3_spec *spec, struct secret_stamp *ret) {
        char path[NB_PATH_MAX + 2 * NB_NAME_MAX + 4];
        struct stat st;

        memset(ret, 0, sizeof(*ret));
        if (!spec->secret[0])
                return 0;
        snprintf(path, sizeof(path), "%s/%s/%s", d->config.secrets_dir, spec->team, spec->secret);
        if (fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        *ret = (struct secret_stamp) { .ino = st.st_ino, .size = (uint64_t) st.st_size,
                                       .mtime_ns = st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec,
                                       .ctime_ns = st.st_ctim.tv_sec * 1000000000LL + st.st_ctim.tv_nsec };
        return 0;
}

bool secret_stamp_equal(const struct secret_stamp *a, const struct secret_stamp *b) {
        return a->ino == b->ino && a->size == b->size && a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns;
}

int secret_read(const char *secrets_dir, const char *relative, char *buf, size_t size, struct nb_error *err) {
        char path[NB_PATH_MAX + 2 * NB_NAME_MAX + 4];
        _cleanup_close_ int fd = -1;
        bool too_long;
        ssize_t n;
        int r;

        snprintf(path, sizeof(path), "%s/%s", secrets_dir, relative);
        if ((fd = open_regular_beneath(secrets_dir, relative, err)) < 0)
                return fd;
        if ((r = check_secret_file(fd, path, err)) < 0)
                return r;
        if ((n = read(fd, buf, size - 1)) < 0)
                return nb_fail(err, errno, "%s: cannot read: %s", path, strerror(errno));
        too_long = (size_t) n == size - 1; /* the file may go on: it fills the buffer */
        buf[n] = '\0';
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
                buf[--n] = '\0';
        too_long = too_long || n > S3FS_SECRET_MAX;
        if (n == 0 || too_long || strchr(buf, ':') || !option_value_safe(buf)) {
                explicit_bzero(buf, size);
                return nb_fail(err, EINVAL, "%s: must hold the secret access key alone on one line (no spaces, no ':', at most %d characters)",
                               path, S3FS_SECRET_MAX);
        }
        return 0;
}

static int read_secret(const struct mountd *d, const struct s3_spec *spec, char *buf, size_t size,
                       struct nb_error *err) {
        char relative[2 * NB_NAME_MAX + 2];

        snprintf(relative, sizeof(relative), "%s/%s", spec->team, spec->secret);
        return secret_read(d->config.secrets_dir, relative, buf, size, err);
}

/* RUN/keys/NAME holds "KEY:SECRET" while s3fs starts; the caller unlinks it once s3fs has read it. */
static int write_key_file(const struct mountd *d, const struct shared_mount *m, char *path, size_t size,
                          struct nb_error *err) {
        char secret[S3FS_SECRET_MAX + 4], line[S3_KEY_ID_MAX + S3FS_SECRET_MAX + 6];
        _cleanup_close_ int fd = -1;
        int len, r;

        if ((r = read_secret(d, &m->spec, secret, sizeof(secret), err)) < 0)
                return r;
        len = snprintf(line, sizeof(line), "%s:%s\n", m->spec.access_key_id, secret);
        explicit_bzero(secret, sizeof(secret));
        snprintf(path, size, "%s/%s", d->paths.keys_dir, m->name);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0 || write(fd, line, (size_t) len) != len) {
                r = -errno;
                explicit_bzero(line, sizeof(line));
                if (fd >= 0)
                        unlink(path);
                return nb_fail(err, r, "%s: cannot write the passwd file for s3fs: %s", path, strerror(-r));
        }
        explicit_bzero(line, sizeof(line));
        return 0;
}

/* ---- the endpoint ------------------------------------------------------------------------------ */

static void add_vetted(struct netpolicy *policy, const struct sockaddr *address, socklen_t len, unsigned port) {
        struct sockaddr_storage *slot = &policy->vetted[policy->n_vetted];

        if (policy->n_vetted == NETPOLICY_VETTED_MAX || len > (socklen_t) sizeof(*slot))
                return;
        memset(slot, 0, sizeof(*slot));
        memcpy(slot, address, len);
        if (slot->ss_family == AF_INET)
                ((struct sockaddr_in *) (void *) slot)->sin_port = htons((uint16_t) port);
        else
                ((struct sockaddr_in6 *) (void *) slot)->sin6_port = htons((uint16_t) port);
        policy->n_vetted++;
}

/* The plan refused endpoints that are not globally reachable by their numeric host; a name is resolved
 * here, so that a name pointing at 169.254.169.254 or 10.0.0.1 is refused too. Where the node allows
 * private endpoints, the addresses found are those s3fs may reach besides globally reachable ones:
 * s3fs resolves the name again, and a different answer (DNS rebinding) or a redirect elsewhere meets
 * its supervisor's refusal (netpolicy.h). */
static int vet_endpoint(const struct mountd *d, const struct s3_spec *spec, struct netpolicy *ret, struct nb_error *err) {
        struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *list = NULL;
        struct s3_endpoint endpoint;
        unsigned port;
        int r;

        *ret = (struct netpolicy) {};
        if (!spec->endpoint[0])
                return 0;
        if (s3_endpoint_split(spec->endpoint, &endpoint) < 0)
                return nb_fail(err, EINVAL, "endpoint %s is not valid", spec->endpoint);
        port = endpoint.port ? endpoint.port : endpoint.https ? 443 : 80;
        if ((r = getaddrinfo(endpoint.host, NULL, &hints, &list)) != 0)
                return nb_fail(err, EHOSTUNREACH, "endpoint %s: the host name does not resolve: %s", spec->endpoint,
                               gai_strerror(r));
        r = 0;
        for (struct addrinfo *a = list; a && r == 0; a = a->ai_next) {
                char address[INET6_ADDRSTRLEN] = "", kind[NETADDR_KIND_MAX];

                if (!netaddr_sockaddr_kind(a->ai_addr, a->ai_addrlen, kind, sizeof(kind)))
                        continue;
                getnameinfo(a->ai_addr, a->ai_addrlen, address, sizeof(address), NULL, 0, NI_NUMERICHOST);
                if (!d->config.s3_allow_private_endpoints)
                        r = nb_fail(err, EPERM, "endpoint %s resolves to %s, %s; this node refuses endpoints that are not globally reachable (s3.allow_private_endpoints in node.yaml)",
                                    spec->endpoint, address, kind);
                else
                        add_vetted(ret, a->ai_addr, a->ai_addrlen, port);
        }
        freeaddrinfo(list);
        return r;
}

/* ---- the sandbox's uid and staging ----------------------------------------------------------------- */

static bool slot_used(const struct mountd *d, unsigned slot) {
        return d->uid_slots[slot / 8] & (1U << (slot % 8));
}

static void slot_set(struct mountd *d, unsigned slot, bool used) {
        if (used)
                d->uid_slots[slot / 8] |= (uint8_t) (1U << (slot % 8));
        else
                d->uid_slots[slot / 8] &= (uint8_t) ~(1U << (slot % 8));
}

/* A uid of its own for m's s3fs, if the node's staging allows one more s3fs. */
static int take_uid(struct mountd *d, struct shared_mount *m, struct nb_error *err) {
        uint64_t per_mount = d->config.s3_staging_per_mount, per_node = d->config.s3_staging_per_node;
        unsigned used = 0, free_slot = S3FS_UID_SLOTS;
        int r = 0;

        pthread_mutex_lock(&d->lock);
        for (unsigned slot = 0; slot < S3FS_UID_SLOTS; slot++) {
                if (slot_used(d, slot))
                        used++;
                else if (free_slot == S3FS_UID_SLOTS)
                        free_slot = slot;
        }
        if ((uint64_t) (used + 1) * per_mount > per_node)
                r = nb_fail(err, ENOSPC, "the node's staging space for S3 mounts is taken (%u mounts of s3.staging_per_mount %llu bytes, s3.staging_per_node %llu bytes in node.yaml): try again once a bucket is unmounted",
                            used, (unsigned long long) per_mount, (unsigned long long) per_node);
        else if (free_slot == S3FS_UID_SLOTS)
                r = nb_fail(err, ENOSPC, "all %u uids for s3fs processes are in use", S3FS_UID_SLOTS);
        else {
                slot_set(d, free_slot, true);
                m->s3fs_uid = d->config.s3_uid_base + free_slot;
        }
        pthread_mutex_unlock(&d->lock);
        return r;
}

static void give_back_uid(struct mountd *d, const struct shared_mount *m) {
        if (m->s3fs_uid < d->config.s3_uid_base || m->s3fs_uid - d->config.s3_uid_base >= S3FS_UID_SLOTS)
                return;
        pthread_mutex_lock(&d->lock);
        slot_set(d, m->s3fs_uid - d->config.s3_uid_base, false);
        pthread_mutex_unlock(&d->lock);
}

void s3fs_adopt_uid(struct mountd *d, struct shared_mount *m) {
        m->s3fs_uid = process_uid(m->s3fs_pid);
        if (m->s3fs_uid >= d->config.s3_uid_base && m->s3fs_uid - d->config.s3_uid_base < S3FS_UID_SLOTS)
                slot_set(d, m->s3fs_uid - d->config.s3_uid_base, true);
}

/* ---- the s3fs command line ------------------------------------------------------------------------ */

struct s3fs_args {
        char *argv[S3FS_MAX_ARGS];
        size_t n;
        char source[S3_BUCKET_MAX + S3_PREFIX_MAX + 4];
        char url[S3_ENDPOINT_MAX + 8], key[PATH_MAX + 16], region[S3_REGION_MAX + 16];
        char uid[32], gid[32], timeout[48], diskfree[48];
};

static void add(struct s3fs_args *a, const char *arg) {
        if (a->n + 1 < S3FS_MAX_ARGS)
                a->argv[a->n++] = (char *) arg;
        a->argv[a->n] = NULL;
}

static void add_option(struct s3fs_args *a, const char *option) {
        add(a, "-o");
        add(a, option);
}

static void set_source(struct s3fs_args *a, const struct s3_spec *spec) {
        size_t len = strlen(spec->prefix);

        while (len > 0 && spec->prefix[len - 1] == '/')
                len--;
        if (len == 0)
                snprintf(a->source, sizeof(a->source), "%s", spec->bucket);
        else
                snprintf(a->source, sizeof(a->source), "%s:/%.*s", spec->bucket, (int) len, spec->prefix);
}

static void set_endpoint(struct s3fs_args *a, const struct s3_spec *spec) {
        size_t len = strlen(spec->endpoint);

        while (len > 0 && spec->endpoint[len - 1] == '/')
                len--;
        if (len > 0) {
                snprintf(a->url, sizeof(a->url), "url=%.*s", (int) len, spec->endpoint);
                add_option(a, a->url);
                add_option(a, "use_path_request_style");
        }
        if (spec->region[0]) {
                snprintf(a->region, sizeof(a->region), "endpoint=%s", spec->region);
                add_option(a, a->region);
        }
}

static int build_args(const struct mountd *d, const struct shared_mount *m, const char *key_file,
                      struct s3fs_args *a, struct nb_error *err) {
        const struct s3_spec *s = &m->spec;

        *a = (struct s3fs_args) {};
        if (!option_value_safe(s->bucket) || !option_value_safe(s->prefix) || !option_value_safe(s->endpoint) ||
            !option_value_safe(s->region) || !option_value_safe(s->access_key_id))
                return nb_fail(err, EINVAL, "%s: a character that s3fs would read as an option separator", s->bucket);
        set_source(a, s);
        add(a, d->paths.s3fs);
        add(a, a->source);
        add(a, m->mountpoint);
        add(a, "-f");
        if (key_file) {
                snprintf(a->key, sizeof(a->key), "passwd_file=%s", key_file);
                add_option(a, a->key);
        } else {
                add_option(a, "public_bucket=1");
        }
        set_endpoint(a, s);
        add_option(a, "allow_other");
        /* s3fs run by another user than root refuses uid=0 and gid=0: root's access is all access anyway */
        if (s->uid != 0) {
                snprintf(a->uid, sizeof(a->uid), "uid=%u", s->uid);
                add_option(a, a->uid);
        }
        if (s->gid != 0) {
                snprintf(a->gid, sizeof(a->gid), "gid=%u", s->gid);
                add_option(a, a->gid);
        }
        add_option(a, "umask=0022");
        add_option(a, "mp_umask=0022");
        snprintf(a->timeout, sizeof(a->timeout), "connect_timeout=%u", MIN(d->config.s3_mount_timeout_s, 10U));
        add_option(a, a->timeout);
        if (s->read_only)
                add_option(a, "ro");
        /* the sandbox: libfuse asks fusermount for the descriptor its supervisor mounted (jail.c);
         * temporary files in the sandbox's own /tmp, of which s3fs keeps an eighth free */
        add_option(a, "auto_unmount");
        add_option(a, "tmpdir=/tmp");
        snprintf(a->diskfree, sizeof(a->diskfree), "ensure_diskfree=%llu",
                 (unsigned long long) (d->config.s3_staging_per_mount >> 20) / 8);
        add_option(a, a->diskfree);
        return 0;
}

/* ---- running it ----------------------------------------------------------------------------------- */

static int open_log(const struct mountd *d, const struct shared_mount *m, char *path, size_t size,
                    struct nb_error *err) {
        int fd;

        snprintf(path, size, "%s/%s.log", d->paths.logs_dir, m->name);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return nb_fail(err, errno, "%s: cannot create s3fs's log: %s", path, strerror(errno));
        return fd;
}

/* True once the process behind pidfd has exited. */
static bool has_exited(int pidfd) {
        struct pollfd pfd = { .fd = pidfd, .events = POLLIN };

        return poll(&pfd, 1, 0) > 0;
}

/* In the probe child (async-signal-safe calls only: nbmountd has threads): stat(2) of the root, which
 * an s3fs still checking its bucket blocks, then one read of the root folder, which needs the bucket
 * itself: s3fs answers stat from its own attributes and may still be about to give up. */
static int probe_child(const char *mountpoint) {
        char buf[4096] __attribute__((aligned(8)));
        struct stat st;
        int fd;

        if (stat(mountpoint, &st) < 0 || (fd = open(mountpoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
                return 1;
        return syscall(SYS_getdents64, fd, buf, sizeof(buf)) < 0 ? 1 : 0;
}

static bool canceled(const struct shared_mount *m) {
        return __atomic_load_n(&m->cancel, __ATOMIC_RELAXED);
}

/* The probe, in a child with the deadline; -ECANCELED as soon as nobody waits for m any more. */
static int probe(const struct shared_mount *m, int64_t deadline_ms) {
        const char *mountpoint = m->mountpoint;
        _cleanup_close_ int pidfd = -1;
        struct pollfd pfd;
        siginfo_t info = {};
        pid_t pid = fork();
        int r;

        if (pid < 0)
                return -errno;
        if (pid == 0)
                _exit(probe_child(mountpoint));
        if ((pidfd = pidfd_open(pid, 0)) < 0) {
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
                return -errno;
        }
        pfd = (struct pollfd) { .fd = pidfd, .events = POLLIN };
        do
                r = poll(&pfd, 1, (int) MIN(MAX(deadline_ms - now_ms(), 0), 100));
        while (r == 0 && now_ms() < deadline_ms && !canceled(m));
        if (r <= 0)
                kill(pid, SIGKILL);
        waitid(P_PIDFD, (id_t) pidfd, &info, WEXITED);
        if (r <= 0)
                return canceled(m) ? -ECANCELED : -ETIMEDOUT;
        return info.si_code == CLD_EXITED && info.si_status == 0 ? 0 : -EIO;
}

/* -ETIMEDOUT, -ECHILD (s3fs exited) or 0 once a mount's root is at the mount point; its id goes to
 * m->mnt_id (mounted.c: statx, not a parse of mountinfo every 10 ms). */
static int wait_mounted(const struct mountd *d, struct shared_mount *m, int pidfd, int64_t deadline_ms) {
        for (;;) {
                struct pollfd pfd = { .fd = pidfd, .events = POLLIN };

                if (mount_id_of(d, m, &m->mnt_id) == 0)
                        return 0;
                if (canceled(m))
                        return -ECANCELED;
                if (now_ms() >= deadline_ms)
                        return -ETIMEDOUT;
                if (poll(&pfd, 1, 10) > 0)
                        return -ECHILD;
        }
}

static const struct {
        const char *s3fs_says, *meaning;
} causes[] = {
        { "invalid credentials", "the endpoint refused the access key or secret" },
        { "bucket or key not found", "the bucket does not exist (or the key may not see it)" },
        { "unable to connect", "cannot connect to the endpoint" },
        { "CURLE_COULDNT_CONNECT", "cannot connect to the endpoint" },
        { "CURLE_COULDNT_RESOLVE_HOST", "the endpoint's host name does not resolve" },
        { "CURLE_OPERATION_TIMEDOUT", "the endpoint did not answer in time" },
        { "CURLE_SSL", "TLS with the endpoint failed" },
        { "CURLE_PEER_FAILED_VERIFICATION", "the endpoint's TLS certificate is not trusted" },
        { "Could not determine", "the endpoint's region is wrong" },
        { "AccessDenied", "the key may not read this bucket" },
};

#define NET_REFUSAL "[NET] nbmountd refused "

/* The last critical or error line s3fs printed, told in words where it is a known one; a connection
 * its supervisor refused comes first when s3fs only says that it could not connect (or nothing). */
static void cause_from_log(const char *log_path, char *buf, size_t size) {
        _cleanup_free_ char *text = calloc(1, S3FS_CAUSE_TAIL + 1);
        _cleanup_close_ int fd = open(log_path, O_RDONLY | O_CLOEXEC);
        const char *last = NULL, *refused = NULL;
        char *save = NULL;
        off_t end;

        buf[0] = '\0';
        if (fd < 0 || !text || (end = lseek(fd, 0, SEEK_END)) < 0 ||
            pread(fd, text, S3FS_CAUSE_TAIL, MAX(end - S3FS_CAUSE_TAIL, 0)) <= 0)
                return;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                if (strstr(line, NET_REFUSAL))
                        refused = strstr(line, NET_REFUSAL) + strlen(NET_REFUSAL);
                else if (strstr(line, "[CRT]") || strstr(line, "[ERR]"))
                        if (!strstr(line, "retry to connect by signature version 2") && !strstr(line, "LowSetLogLevel"))
                                last = line;
        }
        if (refused && (!last || strstr(last, "CURLE_COULDNT_CONNECT") || strstr(last, "unable to connect"))) {
                snprintf(buf, size, "the node refused s3fs's %s", refused);
                return;
        }
        if (!last)
                return;
        for (size_t i = 0; i < ARRAY_SIZE(causes); i++)
                if (strstr(last, causes[i].s3fs_says)) {
                        snprintf(buf, size, "%s", causes[i].meaning);
                        return;
                }
        if (strstr(last, "] nbmountd: "))
                snprintf(buf, size, "%s", strstr(last, "] nbmountd: ") + strlen("] nbmountd: "));
        else
                snprintf(buf, size, "s3fs says: %s", strchr(last, ']') ? strchr(last, ']') + 2 : last);
}

static int explain(const struct mountd *d, const struct shared_mount *m, const char *log_path, int r,
                   struct nb_error *err) {
        char url[S3_BUCKET_MAX + S3_PREFIX_MAX + 8], cause[512];

        s3_spec_url(&m->spec, url, sizeof(url));
        cause_from_log(log_path, cause, sizeof(cause));
        if (r == -ECANCELED)
                return nb_fail(err, ECANCELED, "%s: stopped before it answered: nobody waits for it any more%s%s", url,
                               cause[0] ? "; " : "", cause);
        if (r == -ETIMEDOUT)
                return nb_fail(err, ETIMEDOUT, "%s: the bucket did not answer within %u s%s%s", url,
                               d->config.s3_mount_timeout_s, cause[0] ? ": " : "", cause);
        return nb_fail(err, r, "%s: cannot mount: %s", url, cause[0] ? cause : "s3fs stopped without saying why");
}

/* 0 once the mount answers; -ETIMEDOUT, or -ECHILD when s3fs gave up (it exits 0 even then). */
static int wait_ready(const struct mountd *d, struct shared_mount *m, int pidfd) {
        int64_t deadline = now_ms() + (int64_t) d->config.s3_mount_timeout_s * 1000;
        int r;

        if ((r = wait_mounted(d, m, pidfd, deadline)) < 0 || (r = probe(m, deadline)) < 0)
                return r == -EIO ? -ECHILD : r;
        return has_exited(pidfd) ? -ECHILD : 0;
}

static void describe_jail(const struct mountd *d, const struct shared_mount *m, const char *key_file,
                          struct s3fs_jail *ret) {
        memset(ret, 0, sizeof(*ret));
        snprintf(ret->name, sizeof(ret->name), "%s", m->name);
        snprintf(ret->mountpoint, sizeof(ret->mountpoint), "%s", m->mountpoint);
        snprintf(ret->mounts_dir, sizeof(ret->mounts_dir), "%s", d->paths.mounts_dir);
        snprintf(ret->keys_dir, sizeof(ret->keys_dir), "%s", d->paths.keys_dir);
        snprintf(ret->key_file, sizeof(ret->key_file), "%s", key_file ? key_file : "");
        ret->uid = m->s3fs_uid;
        ret->gid = m->s3fs_uid;
        ret->staging_bytes = d->config.s3_staging_per_mount;
        ret->read_only = m->spec.read_only;
}

static int start(struct mountd *d, struct shared_mount *m, const char *key_file, int log_fd,
                 struct nb_error *err) {
        _cleanup_close_ int pidfd = -1;
        struct s3fs_args args;
        struct s3fs_jail jail;
        struct netpolicy policy;
        pid_t pid = 0;
        int r;

        if ((r = vet_endpoint(d, &m->spec, &policy, err)) < 0 || (r = build_args(d, m, key_file, &args, err)) < 0 ||
            (r = take_uid(d, m, err)) < 0)
                return r;
        describe_jail(d, m, key_file, &jail);
        jail.policy = policy;
        if ((r = spawner_run(&d->spawner, &jail, args.argv, log_fd, &pid, &pidfd)) < 0)
                return r; /* the supervisor said why in the log */
        m->s3fs_pid = pid;
        m->s3fs_start_time = process_start_time(pid);
        log_debug(d, "%s: s3fs started (pid %d) on %s", m->name, (int) pid, m->mountpoint);
        return wait_ready(d, m, pidfd);
}

/* Gives s3fs exit_ms to exit on its own, then SIGTERM, then SIGKILL after grace_ms; reaps it. */
static void stop_process(const struct shared_mount *m, int exit_ms, int grace_ms) {
        _cleanup_close_ int pidfd = -1;
        struct pollfd pfd;

        if (!process_is(m->s3fs_pid, m->s3fs_start_time) || (pidfd = pidfd_open(m->s3fs_pid, 0)) < 0)
                return;
        pfd = (struct pollfd) { .fd = pidfd, .events = POLLIN };
        if (poll(&pfd, 1, exit_ms) <= 0) {
                pidfd_send_signal(pidfd, SIGTERM, NULL, 0);
                if (poll(&pfd, 1, grace_ms) <= 0)
                        pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
        }
        poll(&pfd, 1, S3FS_STOP_GRACE_MS); /* the spawner reaps it */
}

/* The device of the file system at path, without asking it (a FUSE file system may be dead). */
uint64_t device_of(const char *path) {
        struct statx stx;

        if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW | AT_STATX_DONT_SYNC, STATX_INO, &stx) < 0)
                return 0;
        return makedev(stx.stx_dev_major, stx.stx_dev_minor);
}

int s3fs_mount(struct mountd *d, struct shared_mount *m, struct nb_error *err) {
        char key_file[PATH_MAX] = "", log_path[PATH_MAX];
        _cleanup_close_ int log_fd = -1;
        int r;

        if (mkdir(m->mountpoint, 0755) < 0 && errno != EEXIST)
                return nb_fail(err, errno, "%s: cannot create the mount point: %s", m->mountpoint, strerror(errno));
        if ((log_fd = open_log(d, m, log_path, sizeof(log_path), err)) < 0) {
                rmdir(m->mountpoint);
                return log_fd;
        }
        err->msg[0] = '\0';
        r = m->spec.secret[0] ? write_key_file(d, m, key_file, sizeof(key_file), err) : 0;
        if (r >= 0)
                r = start(d, m, key_file[0] ? key_file : NULL, log_fd, err);
        if (key_file[0])
                unlink(key_file);
        if (r == 0)
                m->dev = device_of(m->mountpoint);
        if (r < 0) {
                /* s3fs writes its log through stdio: it is complete once s3fs is gone */
                stop_process(m, r == -ECHILD ? S3FS_EXIT_MS : 0, S3FS_FAILED_GRACE_MS);
                if (!err->msg[0])
                        explain(d, m, log_path, r, err);
                s3fs_unmount(d, m);
        }
        return r;
}

/* Detaches the mount (containers that still hold a clone see ENOTCONN once s3fs is gone), stops
 * s3fs (its sandbox and staging go with it), gives its uid back, and removes the mount point and the
 * log. */
void s3fs_unmount(struct mountd *d, const struct shared_mount *m) {
        char log_path[PATH_MAX];

        if (umount2(m->mountpoint, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != ENOENT)
                mountd_log(LOG_WARNING, "%s: cannot unmount: %s", m->mountpoint, strerror(errno));
        if (m->s3fs_pid > 0)
                stop_process(m, S3FS_EXIT_MS, S3FS_STOP_GRACE_MS);
        give_back_uid(d, m);
        if (rmdir(m->mountpoint) < 0 && errno != ENOENT)
                mountd_log(LOG_WARNING, "%s: cannot remove the mount point: %s", m->mountpoint, strerror(errno));
        snprintf(log_path, sizeof(log_path), "%s/%s.log", d->paths.logs_dir, m->name);
        unlink(log_path);
}

int s3fs_clone(const struct shared_mount *m) {
        int fd = open_tree(AT_FDCWD, m->mountpoint, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_SYMLINK_NOFOLLOW);

        return fd < 0 ? -errno : fd;
}
