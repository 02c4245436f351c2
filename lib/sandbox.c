/* SPDX-License-Identifier: Apache-2.0 */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "confine.h"
#include "filters.h"
#include "testmode.h"
#include "util.h"


/* valgrind (the memory checks of tests/cli-check.sh) cannot run a process under a seccomp filter, and
 * keeps fds of its own that RLIMIT_NOFILE 0 would cut off: under it, and only under it (the test is
 * a no-op instruction sequence on a real CPU), the child goes without both. */
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#endif

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

/* ---- the answer: what crosses the pipe ---------------------------------------------------------- */

#define ANSWER_MAGIC 0x6e62736bU

enum answer_kind { ANSWER_SETTINGS = 1, ANSWER_PARSE_ERROR, ANSWER_SANDBOX_ERROR };

struct answer_header {
        uint32_t magic;
        uint32_t kind;
        int32_t code; /* -errno of an error */
        uint32_t size; /* bytes that follow: the used part of struct settings, or a NUL-terminated message */
};

/* The most a child may send. */
#define ANSWER_MAX (sizeof(struct answer_header) + sizeof(struct settings))

/* ---- the child -------------------------------------------------------------------------------- */

static int write_all(int fd, const void *data, size_t size) {
        for (const char *p = data; size > 0;) {
                ssize_t n = write(fd, p, size);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return -EIO;
                p += n;
                size -= (size_t) n;
        }
        return 0;
}

static _Noreturn void answer_and_exit(int answer_fd, enum answer_kind kind, int code, const void *data, size_t size) {
        const struct answer_header header = { ANSWER_MAGIC, kind, code, (uint32_t) size };

        if (write_all(answer_fd, &header, sizeof(header)) < 0 || write_all(answer_fd, data, size) < 0)
                _exit(EXIT_FAILURE);
        _exit(EXIT_SUCCESS);
}

static _Noreturn void answer_error(int answer_fd, enum answer_kind kind, int code, const struct nb_error *err) {
        answer_and_exit(answer_fd, kind, code, err->msg, strnlen(err->msg, sizeof(err->msg) - 1) + 1);
}

/* Closes every fd but the sorted ones in keep[]: close_range(2), or one by one before Linux 5.9. */
static int close_all_but(const int *keep, size_t n) {
        struct rlimit nofile;
        unsigned first = 0;

        for (size_t i = 0; i <= n; i++) {
                unsigned last = i < n ? (unsigned) keep[i] - 1 : ~0U;

                if ((i == n || (unsigned) keep[i] > first) && syscall(SYS_close_range, first, last, 0U) < 0) {
                        if (errno != ENOSYS || getrlimit(RLIMIT_NOFILE, &nofile) < 0)
                                return -errno;
                        for (unsigned fd = first; fd <= last && fd < nofile.rlim_cur; fd++)
                                close((int) fd);
                }
                if (i < n)
                        first = (unsigned) keep[i] + 1;
        }
        return 0;
}

/* The input and the answer's pipe at the fds the filter names. Both are first copied above those,
 * so that neither dup2 closes the other's source. */
static int settle_fds(int input_fd, int answer_fd) {
        int high_input = fcntl(input_fd, F_DUPFD, SANDBOX_ANSWER_FD + 1);
        int high_answer = high_input < 0 ? -1 : fcntl(answer_fd, F_DUPFD, SANDBOX_ANSWER_FD + 1);

        if (high_answer < 0 || dup2(high_input, SANDBOX_INPUT_FD) < 0 || dup2(high_answer, SANDBOX_ANSWER_FD) < 0)
                return -errno;
        return 0;
}

static int close_inherited_fds(void) {
        static const int keep[] = { SANDBOX_INPUT_FD, SANDBOX_ANSWER_FD };
        static const int keep_stderr[] = { STDERR_FILENO, SANDBOX_INPUT_FD, SANDBOX_ANSWER_FD };

        return CONFINE_SANITIZER_BUILD ? close_all_but(keep_stderr, ARRAY_SIZE(keep_stderr))
                                       : close_all_but(keep, ARRAY_SIZE(keep));
}

/* The address space the child inherits (the parent's, and under ASan its shadow), in bytes. */
static int address_space_size(uint64_t *ret) {
        _cleanup_close_ int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
        char text[128], *end;
        unsigned long long pages;
        ssize_t n;

        if (fd < 0)
                return -errno;
        n = read(fd, text, sizeof(text) - 1);
        if (n <= 0)
                return n < 0 ? -errno : -EIO;
        text[n] = '\0';
        errno = 0;
        pages = strtoull(text, &end, 10);
        if (errno != 0 || end == text || *end != ' ')
                return -EIO;
        *ret = pages * (uint64_t) sysconf(_SC_PAGESIZE);
        return 0;
}

static int limit_resources(struct nb_error *err) {
        struct {
                int resource;
                const char *name;
                struct rlimit limit;
        } limits[] = {
                { RLIMIT_CPU, "RLIMIT_CPU", { SANDBOX_CPU_SECONDS, SANDBOX_CPU_SECONDS + 1 } },
                { RLIMIT_AS, "RLIMIT_AS", {} },
                { RLIMIT_FSIZE, "RLIMIT_FSIZE", { 0, 0 } },
                { RLIMIT_NOFILE, "RLIMIT_NOFILE", { 0, 0 } },
                { RLIMIT_CORE, "RLIMIT_CORE", { 0, 0 } },
                { RLIMIT_NPROC, "RLIMIT_NPROC", { 0, 0 } },
                { RLIMIT_MEMLOCK, "RLIMIT_MEMLOCK", { 0, 0 } },
                { RLIMIT_MSGQUEUE, "RLIMIT_MSGQUEUE", { 0, 0 } },
        };
        uint64_t inherited = 0;
        int r;

        if ((r = address_space_size(&inherited)) < 0)
                return nb_fail(err, r, "cannot read /proc/self/statm: %s", strerror(-r));
        limits[1].limit.rlim_cur = limits[1].limit.rlim_max = inherited + SANDBOX_MEMORY_BYTES;
        for (size_t i = 0; i < ARRAY_SIZE(limits); i++)
                if ((limits[i].resource != RLIMIT_NOFILE || !RUNNING_ON_VALGRIND) &&
                    setrlimit(limits[i].resource, &limits[i].limit) < 0)
                        return nb_fail(err, errno, "setrlimit %s: %s", limits[i].name, strerror(errno));
        return 0;
}

static bool have_setpcap(void) {
        _cleanup_(cap_freep) cap_t caps = cap_get_proc();
        cap_flag_value_t value = CAP_CLEAR;

        return caps && cap_get_flag(caps, CAP_SETPCAP, CAP_EFFECTIVE, &value) == 0 && value == CAP_SET;
}

/* Root becomes nobody; whoever it is ends with no capability in any set, bounding included. */
static int drop_privileges(struct nb_error *err) {
        _cleanup_(cap_freep) cap_t none = cap_init();

        if (!none)
                return nb_fail(err, ENOMEM, "cap_init: out of memory");
        if (have_setpcap())
                for (cap_value_t cap = 0; cap < (cap_value_t) cap_max_bits(); cap++)
                        if (cap_drop_bound(cap) < 0)
                                return nb_fail(err, errno, "dropping capability %d from the bounding set: %s", cap,
                                               strerror(errno));
        if (geteuid() == 0) {
                if (setgroups(0, NULL) < 0 || setresgid(SANDBOX_GID, SANDBOX_GID, SANDBOX_GID) < 0 ||
                    setresuid(SANDBOX_UID, SANDBOX_UID, SANDBOX_UID) < 0)
                        return nb_fail(err, errno, "cannot switch to uid %d and gid %d: %s", SANDBOX_UID, SANDBOX_GID,
                                       strerror(errno));
        }
        if (cap_set_proc(none) < 0 || prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
                return nb_fail(err, errno, "cannot clear the capabilities: %s", strerror(errno));
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
                return nb_fail(err, errno, "prctl: %s", strerror(errno));
        return 0;
}

/* The allowlist of hookfilters.c, compiled at build time for this build's variant. */
static int install_filter(struct nb_error *err) {
        if (CONFINE_SANITIZER_BUILD)
                return confine_load_filter(filter_sandbox_sanitizer, ARRAY_SIZE(filter_sandbox_sanitizer), err);
        return confine_load_filter(filter_sandbox, ARRAY_SIZE(filter_sandbox), err);
}

static int enter_sandbox(struct nb_error *err) {
        int r;

        if ((r = close_inherited_fds()) < 0)
                return nb_fail(err, r, "close_range: %s", strerror(-r));
        testmode_sandbox_prepare(SANDBOX_INPUT_FD);
        if ((r = limit_resources(err)) < 0 || (r = drop_privileges(err)) < 0 ||
            (!RUNNING_ON_VALGRIND && (r = install_filter(err)) < 0))
                return r;
        return 0;
}

/* Parses into its own copy of *settings (fork's) and answers. Never returns. */
static _Noreturn void child_main(int input_fd, int answer_fd, const char *file, struct settings *settings) {
        struct nb_error err = {};
        int r;

        if ((r = settle_fds(input_fd, answer_fd)) < 0) {
                nb_fail(&err, r, "dup2: %s", strerror(-r));
                answer_error(answer_fd, ANSWER_SANDBOX_ERROR, r, &err);
        }
        if ((r = enter_sandbox(&err)) < 0)
                answer_error(SANDBOX_ANSWER_FD, ANSWER_SANDBOX_ERROR, r, &err);
        if ((r = testmode_sandbox_act(SANDBOX_INPUT_FD, &err)) < 0 ||
            (r = settings_load_fd(SANDBOX_INPUT_FD, file, settings, &err)) < 0)
                answer_error(SANDBOX_ANSWER_FD, ANSWER_PARSE_ERROR, r, &err);
        testmode_sandbox_answer(settings);
        answer_and_exit(SANDBOX_ANSWER_FD, ANSWER_SETTINGS, 0, settings,
                        offsetof(struct settings, mounts) + settings->n_mounts * sizeof(settings->mounts[0]));
}

/* ---- checking what the child answered ------------------------------------------------------ */

enum { FOR_DATASET = 1 << SETTINGS_DATASET, FOR_S3 = 1 << SETTINGS_S3, FOR_ALL = FOR_DATASET | FOR_S3 };

/* A string field of struct settings_mount: where it is, the rule its value follows, and for which
 * types it may hold one ("" everywhere else). */
struct field_rule {
        const char *label;
        size_t offset, size;
        unsigned types;
        bool required;
        const char *(*problem)(const char *);
};

#define FIELD(name, label, types, required, problem)                                                              \
        { label, offsetof(struct settings_mount, name), sizeof(((struct settings_mount *) 0)->name), types,       \
          required, problem }

static const struct field_rule field_rules[] = {
        FIELD(name, "mount name", FOR_ALL, true, name_problem),
        FIELD(dataset_id, "id", FOR_DATASET, true, name_problem),
        FIELD(version, "version", FOR_DATASET, false, name_problem),
        FIELD(bucket, "bucket", FOR_S3, true, s3_bucket_problem),
        FIELD(prefix, "prefix", FOR_S3, false, s3_prefix_problem),
        FIELD(access_key_id, "accessKeyId", FOR_S3, false, s3_key_id_problem),
        FIELD(secret_name, "secretAccessKey", FOR_S3, false, name_problem),
        FIELD(region, "region", FOR_S3, false, s3_region_problem),
        FIELD(endpoint, "endpoint", FOR_S3, false, s3_endpoint_problem),
};

static const char *field_problem(const struct settings_mount *m, const struct field_rule *rule) {
        const char *value = (const char *) m + rule->offset;

        if (!memchr(value, '\0', rule->size))
                return "does not end within its field";
        if (!(rule->types & (1U << m->type)))
                return value[0] ? "is set for a mount of another type" : NULL;
        if (!value[0])
                return rule->required ? "is missing" : NULL;
        return rule->problem(value);
}

/* An entry at fault holds its raw name (any text), its fault, and nothing else. */
static int check_fault(const struct settings_mount *m, size_t index, const char *file, struct nb_error *err) {
        unsigned char writable;

        if (!memchr(m->fault, '\0', sizeof(m->fault)) || !memchr(m->name, '\0', sizeof(m->name)))
                return nb_fail(err, EINVAL, "%s: mount %zu: its fault or name does not end within its field", file,
                               index + 1);
        memcpy(&writable, &m->writable, 1);
        if (m->type != SETTINGS_DATASET || writable)
                return nb_fail(err, EINVAL, "%s: mount %zu is at fault and has a type or writable", file, index + 1);
        for (size_t i = 1; i < ARRAY_SIZE(field_rules); i++) /* [0] is the name */
                if (*((const char *) m + field_rules[i].offset))
                        return nb_fail(err, EINVAL, "%s: mount %zu is at fault and has %s", file, index + 1,
                                       field_rules[i].label);
        return 0;
}

static int check_mount(const struct settings_mount *m, size_t index, const char *file, struct nb_error *err) {
        const char *name = memchr(m->name, '\0', sizeof(m->name)) ? m->name : "?";
        unsigned char writable;

        if (m->fault[0])
                return check_fault(m, index, file, err);

        if (m->type != SETTINGS_DATASET && m->type != SETTINGS_S3)
                return nb_fail(err, EINVAL, "%s: mount %zu has type %d, which is neither dataset nor s3", file,
                               index + 1, (int) m->type);
        for (size_t i = 0; i < ARRAY_SIZE(field_rules); i++) {
                const char *why = field_problem(m, &field_rules[i]);

                if (why)
                        return nb_fail(err, EINVAL, "%s: mount %zu (\"%.64s\"): %s %s", file, index + 1, name,
                                       field_rules[i].label, why);
        }
        memcpy(&writable, &m->writable, 1); /* a bool holding anything but 0 or 1 is undefined behaviour */
        if (writable > (m->type == SETTINGS_S3))
                return nb_fail(err, EINVAL, "%s: mount \"%s\" has writable %u (0 or 1, and 1 only for s3)", file, name,
                               writable);
        if (!m->access_key_id[0] != !m->secret_name[0])
                return nb_fail(err, EINVAL, "%s: mount \"%s\" has one of accessKeyId and secretAccessKey", file, name);
        if (m->region[0] && m->endpoint[0])
                return nb_fail(err, EINVAL, "%s: mount \"%s\" has both region and endpoint", file, name);
        return 0;
}

int sandbox_check_settings(const struct settings *s, const char *file, struct nb_error *err) {
        int r;

        if (s->n_mounts > SETTINGS_MAX_MOUNTS)
                return nb_fail(err, EINVAL, "%s: %zu mounts, more than %d", file, s->n_mounts, SETTINGS_MAX_MOUNTS);
        for (size_t i = 0; i < s->n_mounts; i++)
                if ((r = check_mount(&s->mounts[i], i, file, err)) < 0)
                        return r;
        /* an entry at fault holds its raw name, cut: it may equal another's */
        for (size_t i = 0; i < s->n_mounts; i++)
                for (size_t k = i + 1; k < s->n_mounts && !s->mounts[i].fault[0]; k++)
                        if (!s->mounts[k].fault[0] && streq(s->mounts[i].name, s->mounts[k].name))
                                return nb_fail(err, EINVAL, "%s: mount \"%s\" appears twice", file, s->mounts[i].name);
        return 0;
}

/* ---- the parent ------------------------------------------------------------------------------- */

struct child_run {
        pid_t pid;
        int answer_fd; /* the read end of the answer's pipe */
        int pidfd;     /* -1 before Linux 5.3: then the answer's end is the child's end */
        char *answer;  /* ANSWER_MAX + 1 bytes */
        size_t answer_len;
        bool timed_out, too_long;
        int read_error; /* -errno of poll or read */
        int status;     /* from waitpid */
};

static int64_t now_ms(void) {
        struct timespec now;

        clock_gettime(CLOCK_MONOTONIC, &now);
        return (int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* 1 when fd is readable, 0 at the deadline, -errno. */
static int wait_readable(int fd, int64_t deadline) {
        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                int64_t left = deadline - now_ms();
                int n;

                if (left <= 0)
                        return 0;
                n = poll(&p, 1, (int) left);
                if (n < 0 && errno == EINTR)
                        continue;
                return n < 0 ? -errno : n > 0;
        }
}

static void child_run_done(struct child_run *run) {
        closep(&run->answer_fd);
        closep(&run->pidfd);
        free(run->answer);
}

/* Reads the whole answer, then waits for the child to end, both by the deadline. */
static int read_answer(struct child_run *run) {
        int64_t deadline = now_ms() + SANDBOX_TIMEOUT_MS;
        int r;

        for (;;) {
                ssize_t n;

                if ((r = wait_readable(run->answer_fd, deadline)) <= 0)
                        return r < 0 ? r : (run->timed_out = true, 0);
                n = read(run->answer_fd, run->answer + run->answer_len, ANSWER_MAX + 1 - run->answer_len);
                if (n < 0 && (errno == EINTR || errno == EAGAIN))
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                run->answer_len += (size_t) n;
                if (run->answer_len > ANSWER_MAX)
                        return run->too_long = true, 0;
        }
        if (run->pidfd >= 0 && (r = wait_readable(run->pidfd, deadline)) <= 0)
                return r < 0 ? r : (run->timed_out = true, 0);
        return 0;
}

static void reap(struct child_run *run) {
        if (run->timed_out || run->too_long || run->read_error)
                kill(run->pid, SIGKILL);
        while (waitpid(run->pid, &run->status, 0) < 0 && errno == EINTR)
                ;
}

static const char *signal_reason(int sig) {
        switch (sig) {
        case SIGSYS:
                return "SIGSYS: it tried a system call the sandbox forbids";
        case SIGXCPU:
                return "SIGXCPU: it used more than " STRINGIFY(SANDBOX_CPU_SECONDS) " s of CPU time";
        case SIGXFSZ:
                return "SIGXFSZ: it tried to write to a file";
        case SIGKILL:
                return "SIGKILL: past its CPU time limit, or by the kernel's OOM killer";
        case SIGSEGV:
        case SIGBUS:
        case SIGABRT:
        case SIGILL:
        case SIGFPE:
                return "it crashed";
        default:
                return "";
        }
}

/* The error of a child that answered one, its text checked: NUL-terminated, at most NB_ERROR_MAX. */
static int answered_error(const struct answer_header *h, const char *text, const char *file, struct nb_error *err) {
        int code = h->code < 0 && h->code >= -4095 ? -h->code : EINVAL;

        if (h->size == 0 || h->size > NB_ERROR_MAX || text[h->size - 1] != '\0')
                return nb_fail(err, EBADMSG, "%s: the settings parser answered a malformed error; the file was not used",
                               file);
        if (h->kind == ANSWER_SANDBOX_ERROR)
                return nb_fail(err, code, "%s: the settings parser could not enter its sandbox (%s); the file was not used",
                               file, text);
        if (code == ENOMEM)
                return nb_fail(err, code,
                               "%s: the settings parser ran out of memory (the sandbox allows it %lu MiB); the file was not used",
                               file, SANDBOX_MEMORY_BYTES >> 20);
        return nb_fail(err, code, "%s", text); /* the parser's own FILE:LINE:COLUMN: message, escaped again */
}

/* The settings the child answered, in place: the answer buffer comes from malloc, so the payload,
 * 16 bytes in, is aligned for struct settings. */
static int answered_settings(const struct answer_header *h, const char *data, const char *file, struct settings *ret,
                             struct nb_error *err) {
        const struct settings *settings = (const struct settings *) (const void *) data;
        const size_t head = offsetof(struct settings, mounts);
        struct nb_error why = {};

        if (h->size < head)
                return nb_fail(err, EBADMSG, "%s: the settings parser's answer is too short; the file was not used", file);
        if (settings->n_mounts > SETTINGS_MAX_MOUNTS || h->size != head + settings->n_mounts * sizeof(settings->mounts[0]))
                return nb_fail(err, EBADMSG, "%s: the settings parser answered %u bytes for %zu mounts; the file was not used",
                               file, h->size, settings->n_mounts);
        if (sandbox_check_settings(settings, file, &why) < 0)
                return nb_fail(err, EBADMSG, "%s (in the settings parser's answer); the file was not used", why.msg);
        memcpy(ret, settings, h->size);
        return 0;
}

static int decode_answer(const struct child_run *run, const char *file, struct settings *ret, struct nb_error *err) {
        struct answer_header h;
        const char *payload = run->answer + sizeof(h);

        if (run->answer_len < sizeof(h))
                return nb_fail(err, EBADMSG, "%s: the settings parser ended without an answer; the file was not used", file);
        memcpy(&h, run->answer, sizeof(h));
        if (h.magic != ANSWER_MAGIC || h.size != run->answer_len - sizeof(h))
                return nb_fail(err, EBADMSG, "%s: the settings parser answered garbage; the file was not used", file);
        if (h.kind == ANSWER_SETTINGS)
                return answered_settings(&h, payload, file, ret, err);
        if (h.kind == ANSWER_PARSE_ERROR || h.kind == ANSWER_SANDBOX_ERROR)
                return answered_error(&h, payload, file, err);
        return nb_fail(err, EBADMSG, "%s: the settings parser answered garbage; the file was not used", file);
}

static int judge(const struct child_run *run, const char *file, struct settings *ret, struct nb_error *err) {
        if (run->timed_out)
                return nb_fail(err, ETIME, "%s: the settings parser did not finish within %d s and was killed; the file was not used",
                               file, SANDBOX_TIMEOUT_MS / 1000);
        if (run->read_error)
                return nb_fail(err, run->read_error, "%s: cannot read the settings parser's answer: %s; the file was not used",
                               file, strerror(-run->read_error));
        if (run->too_long)
                return nb_fail(err, EBADMSG, "%s: the settings parser answered more than %zu bytes and was killed; the file was not used",
                               file, ANSWER_MAX);
        if (WIFSIGNALED(run->status))
                return nb_fail(err, EIO, "%s: the settings parser was killed by signal %d (%s); the file was not used",
                               file, WTERMSIG(run->status),
                               signal_reason(WTERMSIG(run->status))[0] ? signal_reason(WTERMSIG(run->status))
                                                                        : sigabbrev_np(WTERMSIG(run->status)) ?: "?");
        if (!WIFEXITED(run->status) || (WEXITSTATUS(run->status) != 0 && run->answer_len == 0))
                return nb_fail(err, EIO, "%s: the settings parser failed (status 0x%x) without an answer; the file was not used",
                               file, (unsigned) run->status);
        return decode_answer(run, file, ret, err);
}

/* fork, with SIGCHLD at its default: a runtime that ignores it would have the child reaped unseen. */
static pid_t fork_child(void) {
        struct sigaction dfl = { .sa_handler = SIG_DFL }, old;
        pid_t pid;

        sigaction(SIGCHLD, &dfl, &old);
        pid = fork();
        if (pid != 0)
                sigaction(SIGCHLD, &old, NULL);
        return pid;
}

/* The pipe and the child; the child never comes back from here. */
static int start_child(struct child_run *run, int input_fd, const char *file, struct settings *settings,
                       struct nb_error *err) {
        _cleanup_close_ int answer_write = -1;
        int pipe_fds[2];

        if (pipe2(pipe_fds, O_CLOEXEC) < 0)
                return nb_fail(err, errno, "%s: cannot start the settings parser: pipe: %s", file, strerror(errno));
        run->answer_fd = pipe_fds[0];
        answer_write = pipe_fds[1];
        run->pid = fork_child();
        if (run->pid < 0)
                return nb_fail(err, errno, "%s: cannot start the settings parser: fork: %s", file, strerror(errno));
        if (run->pid == 0)
                child_main(input_fd, answer_write, file, settings);
        run->pidfd = (int) syscall(SYS_pidfd_open, run->pid, 0U);
        return 0;
}

int sandbox_parse_settings(int fd, const char *file, struct settings *ret, struct nb_error *err) {
        _cleanup_(child_run_done) struct child_run run = { .answer_fd = -1, .pidfd = -1, .answer = malloc(ANSWER_MAX + 1) };
        int r;

        if (!run.answer)
                return nb_fail(err, ENOMEM, "%s: out of memory", file);
        if ((r = start_child(&run, fd, file, ret, err)) < 0)
                return r;
        run.read_error = read_answer(&run);
        reap(&run);
        return judge(&run, file, ret, err);
}
