/* SPDX-License-Identifier: Apache-2.0 */
/* nbmountd's shared state: the table of S3 mounts, each owned by one s3fs process and shared by
 * the containers that hold a reference to it. One mutex guards the table; mounting, probing and
 * stopping happen outside it, so requests for different buckets never wait on each other. */
#pragma once

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "error.h"
#include "mountproto.h"
#include "netpolicy.h"
#include "nodeconfig.h"

#define MOUNTD_NAME_LEN (MOUNTD_ID_LEN + 9) /* ID-XXXXXXXX: one s3fs instance of a shared mount */

/* SHARED_DEAD: its s3fs died or stopped answering; its containers keep their references while a
 * successor is made and swapped in for them (heal.c), at once and then with a growing delay. */
enum shared_state { SHARED_MOUNTING, SHARED_READY, SHARED_FAILED, SHARED_DEAD };

#define MOUNT_REF_TARGETS 8

struct mount_ref {
        char container[OCI_ID_MAX + 1];
        pid_t pid;           /* the container's init */
        uint64_t start_time; /* its start time (/proc/PID/stat): a reused pid is not the container */
        unsigned uses;       /* entries of the container on this mount (two targets may share it); a
                                failed late attach gives one back, a release all of them */
        nb_name notebook;    /* "" from a hook that did not say (before healing existed) */
        unsigned n_targets;  /* where the container shows it: a successor is swapped in there */
        char targets[MOUNT_REF_TARGETS][MOUNTD_TARGET_MAX];
};

/* A secret file as it was when a key was read from it: a rotation changes it (a new inode by rename,
 * new times by a write in place). Never anything of the key itself. */
struct secret_stamp {
        uint64_t ino, size;
        int64_t mtime_ns, ctime_ns;
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
        uid_t s3fs_uid;                  /* the uid (and gid) s3fs runs as: s3.uid_base + a slot; 0 none yet */
        size_t n_refs, cap_refs;
        struct mount_ref *refs;
        uint64_t mnt_id;                 /* the mount's id (STATX_MNT_ID, mountinfo) once ready; 0 unknown */
        unsigned waiters;                /* requests waiting for this mount to be ready (pending ones too):
                                            while there are, it is neither collected nor taken out as dead */
        bool cancel;                     /* nobody waits any more: its mounter stops s3fs (atomic reads) */
        char error[NB_ERROR_MAX];        /* SHARED_FAILED: why */
        uint64_t sweep_round;            /* registry_sweep(): this mount was judged in that round ... */
        size_t sweep_slot;               /* ... at this index of its snapshot */
        uint64_t dev;                    /* the FUSE file system's device once ready: the containers' clones show it */
        struct secret_stamp key_stamp;   /* the secret file as it was when this mount was asked for */
        struct secret_stamp refused_stamp; /* a rotation to this file was refused: not tried again until it changes */
        unsigned key_generation;         /* 1 for a mount's first key, one more at each rotation */
        unsigned restarts;               /* s3fs replaced under running containers after a death or a hang */
        char last_failure[NB_ERROR_MAX]; /* the latest death, hang or refused rotation, and its cause */
        int64_t last_failure_at;         /* its time, in seconds since the epoch */
        bool replacing;                  /* a successor is being made (heal or rotation): its mounter takes this one over */
        int64_t heal_at_ms;              /* SHARED_DEAD, not replacing: when the next successor is tried */
        unsigned heal_attempts;
};

struct mountd_paths {
        char run_dir[NODE_SOCKET_PATH_MAX + 1]; /* the socket's folder */
        char mounts_dir[NODE_SOCKET_PATH_MAX + 16]; /* RUN/mounts/NAME: the s3fs mount points */
        char keys_dir[NODE_SOCKET_PATH_MAX + 16];   /* RUN/keys/NAME: passwd files, while s3fs starts */
        char logs_dir[NODE_SOCKET_PATH_MAX + 16];   /* RUN/logs/NAME.log: what s3fs prints */
        char state_file[NB_PATH_MAX + 16]; /* RUN/mountd.json: the mounts end with the machine, so does it */
        char old_state_file[NB_PATH_MAX + 16]; /* STATE/mountd.json: an older nbmountd's, adopted once */
        char s3fs[PATH_MAX];
        char fusermount[PATH_MAX]; /* nbmount-fusermount: fusermount inside an s3fs's sandbox */
};

/* Everything the spawner needs to start one s3fs in its sandbox (jail.c) under its supervisor
 * (supervisor.c); sent as is over the spawner's socket. */
struct s3fs_jail {
        char name[MOUNTD_NAME_LEN + 1];
        char mountpoint[PATH_MAX];         /* RUN/mounts/NAME: the supervisor mounts FUSE there */
        char mounts_dir[PATH_MAX];         /* RUN/mounts, RUN/keys: hidden from s3fs by tmpfs mounts */
        char keys_dir[PATH_MAX];
        char key_file[PATH_MAX];           /* RUN/keys/NAME, or "" for a public bucket */
        uid_t uid;                         /* s3fs's own uid and gid, never 0 */
        gid_t gid;
        uint64_t staging_bytes;            /* the size of its /tmp (a tmpfs) */
        bool read_only;
        struct netpolicy policy;           /* the endpoint's vetted addresses (resolvers: the supervisor's) */
};

#define S3FS_UID_SLOTS 65536

/* spawner.c: the process that runs s3fs for nbmountd, which itself may not execve. */
struct spawner {
        int sock;
        pid_t pid;
        pthread_mutex_t lock;
};
int spawner_start(struct spawner *ret, const char *program, const char *fusermount, struct nb_error *err);
/* Runs argv (argv[0] the spawner's program) in the sandbox jail describes, under its supervisor, with
 * stdout and stderr to log_fd; the pid and a pidfd of s3fs. */
int spawner_run(struct spawner *s, const struct s3fs_jail *jail, char *const argv[], int log_fd, pid_t *ret_pid,
                int *ret_pidfd);
void spawner_stop(struct spawner *s);

/* A namespace, as stat(2) of /proc/PID/ns/NAME tells it. */
struct ns_id {
        dev_t dev;
        ino_t ino;
};

struct mountd_namespaces {
        struct ns_id mnt, user;
};

/* supervisor.c: in a child of the spawner, in its own session: mounts FUSE, starts s3fs in its
 * sandbox, reports s3fs's pid and a pidfd on report_fd, then judges s3fs's network calls until s3fs
 * exits. Returns the exit status. */
int supervisor_main(const struct s3fs_jail *jail, char *const argv[], const char *fusermount, int log_fd,
                    int report_fd);

/* jail.c: the sandbox s3fs runs in. */
struct jail_fds {
        int null_fd, log_fd, fuse_fd, key_fd, sync_fd;
};
/* In the child cloned into new PID, mount and IPC namespaces: builds the sandbox, becomes the
 * jail's uid, installs s3fs's filter, hands its listener to the supervisor on sync_fd, runs argv. */
__attribute__((noreturn)) void jail_child(const struct s3fs_jail *jail, const struct jail_fds *fds,
                                          char *const argv[], const char *fusermount);
/* jailroot.c: in the child, as root: the sandbox's root, pivot_root into it. -errno and what failed. */
int jailroot_enter(const struct s3fs_jail *jail, const char *fusermount, const char **ret_what);
/* Leaves root for uid and gid: no capability in any set, the bounding set included. */
int jail_become(uid_t uid, gid_t gid);

/* jailfilter.c: s3fs's seccomp filter; its listener fd, which s3fs must never hold. */
int jailfilter_load(int *ret_listener);

/* netcalls.c: the supervisor's side of the network calls s3fs's filter hands it. */
#define NETCALL_DATA_MAX ((size_t) 256 * 1024) /* bytes of one send copied (a stream socket sends less) */
#define NETCALL_IOV_MAX 64
#define NETCALL_CONTROL_MAX 1024
#define NETCALL_MMSG_MAX 16
#define NETCALL_FDS_MAX 16
struct seccomp_notif;
struct netcalls {
        int listener;
        struct netpolicy policy;  /* vetted by nbmountd; resolvers from /etc/resolv.conf, read again on change */
        struct stat resolv_conf;  /* /etc/resolv.conf as last read */
        char *data;               /* NETCALL_DATA_MAX bytes */
        /* called for every refused destination ("127.0.0.1:8080"); ip: an IPv4 or IPv6 one */
        void (*refused)(struct netcalls *c, const char *call, const char *dest, const char *why, bool ip);
        void *owner;
};
int netcalls_init(struct netcalls *c, int listener, const struct netpolicy *vetted);
void netcalls_free(struct netcalls *c);
/* Judges and makes one notified call; what s3fs's call returns: >= 0, or -errno. */
int64_t netcalls_serve(struct netcalls *c, const struct seccomp_notif *req);

/* A request that stopped waiting at its start_wait: its bucket is attached into the running container
 * once it answers (docs/FORMATS.md §6). Owned by its connection's thread, listed in d->pending under
 * the lock; the mount's mounter resolves it (a reference and a clone, or the failure) under the lock
 * too, so that a mount that turns ready is never collected before the reference is taken. */
enum pending_state { PENDING_WAITING, PENDING_READY, PENDING_FAILED };

struct pending {
        struct pending *next;
        struct mountd_request req;
        uint64_t start_time;          /* the container's init (pid + start time) */
        int64_t deadline_ms;          /* CLOCK_MONOTONIC: the request's time + s3.mount_timeout */
        int rootfs_fd;                /* the container's root as the hook saw it, opened at the request */
        struct shared_mount *mount;   /* PENDING_WAITING: the mount, counted in its waiters */
        enum pending_state state;
        bool canceled;                /* the container was released (poststop) meanwhile */
        bool ref_taken;               /* PENDING_READY: this request holds one use of the reference */
        int tree_fd;                  /* PENDING_READY: the clone to attach */
        char name[MOUNTD_NAME_LEN + 1];
        char error[NB_ERROR_MAX];     /* PENDING_FAILED: why */
};

/* pool.c: the threads that accept and serve connections (leader and followers). */
struct pool {
        pthread_mutex_t lock;
        pthread_cond_t wakeup;   /* (CLOCK_MONOTONIC) a follower may lead; a worker ended; stop */
        int listen_fd;
        int stop_fd;             /* an eventfd: the leader's poll ends once it is readable */
        unsigned workers, idle;  /* alive; followers waiting to lead */
        bool has_leader, stopping;
};

/* offline.c: the queue and its thread. */
struct offline_job {
        struct offline_job *next;
        nb_name team, notebook;
        int64_t due_ms;   /* CLOCK_MONOTONIC: not before */
        unsigned failures;
};
struct offline_queue {
        pthread_mutex_t lock;
        pthread_cond_t wakeup; /* CLOCK_MONOTONIC */
        struct offline_job *jobs;
        nb_name running_team, running_notebook; /* the copy being made, "" none */
        bool again;           /* asked again while it runs: queued once it ends */
        volatile bool stopping;
        bool started;
        pthread_t thread;
};

struct mountd {
        struct node_config config;
        struct mountd_namespaces namespaces; /* nbmountd's own: a peer must share them */
        struct spawner spawner;
        struct mountd_paths paths;
        unsigned sweep_interval_s;
        bool debug;
        pthread_mutex_t lock;
        pthread_cond_t changed;      /* CLOCK_MONOTONIC */
        struct shared_mount *mounts; /* guarded by lock */
        struct pending *pending;     /* guarded by lock */
        unsigned busy;               /* requests being served and mounter threads, guarded by lock */
        uint64_t sweep_round;        /* registry_sweep()'s, guarded by lock */
        bool stopping;               /* the sweep thread ends, guarded by lock */
        pthread_cond_t sweep_wakeup; /* (CLOCK_MONOTONIC) wakes the sweep thread to stop */
        uint8_t uid_slots[S3FS_UID_SLOTS / 8]; /* s3fs uids in use (s3.uid_base + slot), guarded by lock */
        /* one status-file rewrite at a time: two pending buckets of one notebook read, change and
         * replace the same file, and one would undo the other (a file, never held with d->lock) */
        pthread_mutex_t status_lock;
        struct pool pool;
        struct offline_queue offline; /* offline.c: the notebooks' offline copies */
};

/* offline.c: off unless node.yaml has bucket_storage.bucket. Before the threads and confinement:
 * libcurl's and libgit2's global state; copies left pending (a kill, a restart) are queued again. */
int offline_init(struct mountd *d, struct nb_error *err);
int offline_start(struct mountd *d);
/* The copy of TEAM/NOTEBOOK is due (its manifest says pending from now on, so a restart redoes it). */
int offline_request(struct mountd *d, const char *team, const char *notebook, struct nb_error *err);
void offline_stop(struct mountd *d);

/* log.c: one line to stderr and to syslog. */
void mountd_log(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_debug(d, ...) ((d)->debug ? mountd_log(LOG_DEBUG, __VA_ARGS__) : (void) 0)

/* proc.c: a process's start time; 0 when it is gone or a zombie. */
uint64_t process_start_time(pid_t pid);
bool process_is(pid_t pid, uint64_t start_time);
/* The real uid of a process (/proc/PID/status); 0 when it cannot be read. */
uid_t process_uid(pid_t pid);
void kill_s3fs_of(const char *mountpoint);
/* What a forked child wrote on the pipe fd until it closed it (NUL-terminated, final newlines cut). */
void child_report_read(int fd, char *buf, size_t size);

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
#define S3FS_SECRET_MAX 254 /* characters of a secret key */
/* The secret key in SECRETS/relative (one line, checked as check_secret_file() says) into buf, which
 * holds S3FS_SECRET_MAX + 4 bytes; the caller wipes it (explicit_bzero) after use. */
int secret_read(const char *secrets_dir, const char *relative, char *buf, size_t size, struct nb_error *err);
/* The secret file of spec as it is now (all zero for a public bucket); -errno when it is missing. */
int secret_stamp_read(const struct mountd *d, const struct s3_spec *spec, struct secret_stamp *ret);
bool secret_stamp_equal(const struct secret_stamp *a, const struct secret_stamp *b);
uint64_t device_of(const char *path);
int s3fs_mount(struct mountd *d, struct shared_mount *m, struct nb_error *err);
void s3fs_unmount(struct mountd *d, const struct shared_mount *m);
/* After a restart: m's s3fs keeps its uid, which no new s3fs may take. */
void s3fs_adopt_uid(struct mountd *d, struct shared_mount *m);
/* A detached clone of the mount, for the hook to attach in a container. */
int s3fs_clone(const struct shared_mount *m);

/* registry.c */
int64_t monotonic_ms(void);
/* The mount of req->spec, a reference for req->container and a clone in *ret_tree_fd; a new mount is
 * made by a mounter thread of its own. Waits up to s3.mount_timeout. */
int registry_acquire(struct mountd *d, const struct mountd_request *req, int *ret_tree_fd, char *ret_id,
                     struct nb_error *err);
/* The same, but waits only req->start_wait_ms (when above 0) for a mount being made: then returns 1
 * with *ret_pending (listed, its name in ret_id); end it with registry_pending_end(). */
int registry_acquire_or_pend(struct mountd *d, const struct mountd_request *req, int *ret_tree_fd, char *ret_id,
                             struct pending **ret_pending, struct nb_error *err);
/* After the hook's commit: waits until p's mount is ready (0: a reference taken, its clone in
 * *ret_tree_fd), failed or past p's deadline (-errno, why in err), or p's container was released
 * (-ECANCELED). */
int registry_pending_wait(struct mountd *d, struct pending *p, int *ret_tree_fd, struct nb_error *err);
/* Unlists and frees p. Unless attached, the reference p took is dropped (only that one) and a mount
 * that nobody holds or waits for any more is stopped (at once, or while it still mounts). */
void registry_pending_end(struct mountd *d, struct pending *p, bool attached);
size_t registry_release(struct mountd *d, const char *container);
void registry_sweep(struct mountd *d);
/* heal.c's view of a ready mount: whose s3fs to watch and whose root to probe. */
struct watched_mount {
        char name[MOUNTD_NAME_LEN + 1];
        nb_name team;                  /* "" for a public bucket: no secret to watch */
        char mountpoint[PATH_MAX];
        pid_t s3fs_pid;
        uint64_t s3fs_start_time;
};
size_t registry_watch_list(struct mountd *d, struct watched_mount **ret);
/* w's s3fs died, or its root did not answer in time (hung: it is killed); its containers get a successor. */
void registry_s3fs_failed(struct mountd *d, const struct watched_mount *w, const char *why, bool hung);
/* Successors for dead mounts (when due) and for mounts whose secret file changed; a ready successor
 * is swapped in for them in their running containers. */
void registry_heal(struct mountd *d);
struct json_object *registry_list(struct mountd *d);
void shared_mount_free(struct shared_mount *m);

/* state.c: RUN/mountd.json, written atomically at every change; the caller holds the lock. */
struct json_object *shared_mount_to_json(const struct shared_mount *m);
int state_save(const struct mountd *d);
/* The table from path (nothing when it does not exist). */
int state_load(struct mountd *d, const char *path, struct nb_error *err);
/* After state_load(): adopts what still lives, stops what does not, removes leftovers. */
void state_recover(struct mountd *d);

/* attach.c: attaches tree_fd at p->req.target in p's running container, in a child that joins its
 * mount namespace (lib/mount.c's rules: the target resolved in its root without symlinks, nosuid,
 * nodev, ro as asked; rolled back on failure). -errno and why in err. */
int attach_late(const struct mountd *d, const struct pending *p, int tree_fd, struct nb_error *err);

/* swap.c: a successor of a dead or rotated mount, swapped in for it in one running container. */
struct swap_job {
        struct swap_job *next;
        char container[OCI_ID_MAX + 1];
        pid_t pid;
        uint64_t start_time;
        unsigned n_targets;
        char targets[MOUNT_REF_TARGETS][MOUNTD_TARGET_MAX];
        uint64_t old_dev;  /* the mount to replace shows this device */
        bool read_only;
};
/* 0 when every target of job now shows a clone of the mount at new_mountpoint (what happened per
 * target, one line each, in details); -errno and why in err (the container stopped, a target left
 * alone). */
int swap_in_container(const struct swap_job *job, const char *new_mountpoint, char *details, size_t size,
                      struct nb_error *err);

/* heal.c: the healer's thread (stops with d->stopping). */
int heal_start(struct mountd *d, pthread_t *ret);
/* A line of a notebook's status file rewritten by nbmountd (a bucket still mounted, with a reason). */
struct status_note {
        struct status_note *next;
        char container[OCI_ID_MAX + 1];
        nb_name team, notebook;
        char target[MOUNTD_TARGET_MAX];
        uid_t uid;
        gid_t gid;
        char reason[NB_ERROR_MAX];
};
void mountd_status_note(struct mountd *d, const struct status_note *note);

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

int pool_init(struct pool *p, int listen_fd, struct nb_error *err);
/* Its first workers: they accept and serve connections from now on. -errno. */
int pool_start(struct mountd *d);
/* No connection is accepted any more; the workers serving one finish it (pending requests give up at
 * once, once d->stopping is set), within deadline_s. False when some still serve then. */
bool pool_stop(struct mountd *d, unsigned deadline_s);
