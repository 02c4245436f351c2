/* nbmountd's shared state: the table of S3 mounts, each owned by one s3fs process and shared by
 * the containers that hold a reference to it. One mutex guards the table; mounting, probing and
 * stopping happen outside it, so requests for different buckets never wait on each other. */
#pragma once

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "error.h"
#include "mountproto.h"
#include "nodeconfig.h"

#define MOUNTD_NAME_LEN (MOUNTD_ID_LEN + 9) /* ID-XXXXXXXX: one s3fs instance of a shared mount */

enum shared_state { SHARED_MOUNTING, SHARED_READY, SHARED_FAILED };

struct mount_ref {
        char container[OCI_ID_MAX + 1];
        pid_t pid;           /* the container's init */
        uint64_t start_time; /* its start time (/proc/PID/stat): a reused pid is not the container */
};

struct shared_mount {
        struct shared_mount *next;
        char id[MOUNTD_ID_LEN + 1];
        char name[MOUNTD_NAME_LEN + 1];
        struct s3_spec spec;
        enum shared_state state;
        char mountpoint[PATH_MAX];
        pid_t s3fs_pid;
        uint64_t s3fs_start_time;
        size_t n_refs, cap_refs;
        struct mount_ref *refs;
        uint64_t mnt_id;                 /* the mount's id (STATX_MNT_ID, mountinfo) once ready; 0 unknown */
        unsigned waiters;                /* requests waiting for this mount to be ready */
        char error[NB_ERROR_MAX];        /* SHARED_FAILED: why */
        uint64_t sweep_round;            /* registry_sweep(): this mount was judged in that round ... */
        size_t sweep_slot;               /* ... at this index of its snapshot */
};

struct mountd_paths {
        char run_dir[NODE_SOCKET_PATH_MAX + 1]; /* the socket's folder */
        char mounts_dir[NODE_SOCKET_PATH_MAX + 16]; /* RUN/mounts/NAME: the s3fs mount points */
        char keys_dir[NODE_SOCKET_PATH_MAX + 16];   /* RUN/keys/NAME: passwd files, while s3fs starts */
        char logs_dir[NODE_SOCKET_PATH_MAX + 16];   /* RUN/logs/NAME.log: what s3fs prints */
        char state_file[NB_PATH_MAX + 16]; /* STATE/mountd.json */
        char s3fs[PATH_MAX];
};

/* spawner.c: the process that runs s3fs for nbmountd, which itself may not execve. */
struct spawner {
        int sock;
        pid_t pid;
        pthread_mutex_t lock;
};
int spawner_start(struct spawner *ret, const char *program, struct nb_error *err);
/* Runs argv (argv[0] the spawner's program) with stdout and stderr to log_fd; the pid and a pidfd. */
int spawner_run(struct spawner *s, char *const argv[], int log_fd, pid_t *ret_pid, int *ret_pidfd);
void spawner_stop(struct spawner *s);

/* A namespace, as stat(2) of /proc/PID/ns/NAME tells it. */
struct ns_id {
        dev_t dev;
        ino_t ino;
};

struct mountd_namespaces {
        struct ns_id mnt, user;
};

struct mountd {
        struct node_config config;
        struct mountd_namespaces namespaces; /* nbmountd's own: a peer must share them */
        struct spawner spawner;
        struct mountd_paths paths;
        unsigned sweep_interval_s;
        bool debug;
        pthread_mutex_t lock;
        pthread_cond_t changed;
        struct shared_mount *mounts; /* guarded by lock */
        unsigned busy;               /* requests being served, guarded by lock */
        uint64_t sweep_round;        /* registry_sweep()'s, guarded by lock */
        bool stopping;               /* the sweep thread ends, guarded by lock */
        pthread_cond_t sweep_wakeup; /* (CLOCK_MONOTONIC) wakes the sweep thread to stop */
};

/* log.c: one line to stderr and to syslog. */
void mountd_log(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_debug(d, ...) ((d)->debug ? mountd_log(LOG_DEBUG, __VA_ARGS__) : (void) 0)

/* proc.c: a process's start time; 0 when it is gone or a zombie. */
uint64_t process_start_time(pid_t pid);
bool process_is(pid_t pid, uint64_t start_time);
void kill_s3fs_of(const char *mountpoint);

/* mounted.c: whether a shared mount is still in place. */
struct mount_entry {
        char name[MOUNTD_NAME_LEN + 1];
        uint64_t id;
};
/* The fuse.s3fs mounts under RUN/mounts, from one parse of /proc/self/mountinfo, sorted by name. */
struct mount_set {
        size_t n;
        struct mount_entry *entries;
};
/* The id of the mount at m's mount point (statx; one parse of mountinfo on kernels before 5.8), or
 * -ENOENT when no mount's root is there. */
int mount_id_of(const struct mountd *d, const struct shared_mount *m, uint64_t *ret_id);
/* The ready mount m is still attached at its mount point: the same mount, by its id (true when that
 * cannot be told: an error other than ENOENT). */
bool mount_in_place(const struct mountd *d, const struct shared_mount *m);
int mount_set_load(const char *mounts_dir, struct mount_set *ret);
uint64_t mount_set_find(const struct mount_set *set, const char *name, uint64_t expected_id);
void mount_set_free(struct mount_set *set);

/* s3fs.c */
int s3fs_mount(struct mountd *d, struct shared_mount *m, struct nb_error *err);
void s3fs_unmount(const struct mountd *d, const struct shared_mount *m);
/* A detached clone of the mount, for the hook to attach in a container. */
int s3fs_clone(const struct shared_mount *m);

/* registry.c */
int registry_acquire(struct mountd *d, const struct mountd_request *req, int *ret_tree_fd, char *ret_id,
                     struct nb_error *err);
size_t registry_release(struct mountd *d, const char *container);
void registry_sweep(struct mountd *d);
struct json_object *registry_list(struct mountd *d);
void shared_mount_free(struct shared_mount *m);

/* state.c: STATE/mountd.json, written atomically at every change; the caller holds the lock. */
struct json_object *shared_mount_to_json(const struct shared_mount *m);
int state_save(const struct mountd *d);
int state_load(struct mountd *d, struct nb_error *err);
/* After state_load(): adopts what still lives, stops what does not, removes leftovers. */
void state_recover(struct mountd *d);

/* confine.c: not dumpable (no core dump, no /proc/PID/mem or ptrace without CAP_SYS_PTRACE) from the
 * start, so its children inherit it; the capabilities and seccomp filter after start-up, before the
 * first request. */
int mountd_undumpable(struct nb_error *err);
int mountd_confine(struct nb_error *err);

/* peer.c: only root in nbmountd's own mount and user namespaces is served. */
int peer_own_namespaces(struct mountd_namespaces *ret, struct nb_error *err);
/* 0 when the peer of conn may use nbmountd, else -errno with the reason in err; peer holds what
 * SO_PEERCRED says (for the log), also on a refusal. */
int peer_check(const struct mountd *d, int conn, struct ucred *peer, struct nb_error *err);

/* server.c */
int server_open_socket(const struct mountd *d, struct nb_error *err);
void server_handle(struct mountd *d, int conn);
