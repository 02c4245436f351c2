/* SPDX-License-Identifier: Apache-2.0 */
#include "harden.h"

#include <errno.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "confine.h"
#include "filters.h"
#include "testmode.h"
#include "util.h"


/* valgrind (tests/valgrind-check.sh runs the hook under it) cannot run a process under a seccomp
 * filter: its own calls would be refused. Under it, and only under it (the test is a no-op
 * instruction sequence on a real CPU), the hook goes without the filter. */
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#endif

/* The capabilities the hook keeps, each one needed (tests/sandbox-check.sh starts containers
 * without each, in test mode, and sees the start fail):
 * CAP_SYS_ADMIN      open_tree, move_mount, mount_setattr, umount2, setns, quotactl
 * CAP_SYS_CHROOT     setns into a mount namespace
 * CAP_CHOWN          the notebook and team folders it creates belong to the container's user
 * CAP_FOWNER         fchmod of those once chowned, project ids on files of other owners
 * CAP_DAC_OVERRIDE   mountpoints in image folders of other owners, folders of the container's user
 * CAP_SYS_RESOURCE   on ext4, a tree walk (quotatree.c): folders moved into the walk's own id, over
 *                    its limit by design, and files put back into a project over its limit (XFS lets
 *                    CAP_FOWNER do both)
 * CAP_DAC_READ_SEARCH is not needed (CAP_DAC_OVERRIDE covers searching folders), nor CAP_SYS_PTRACE:
 * the container's /proc/PID (its namespaces and id maps, of a process that is not dumpable or of
 * another uid) is opened and held before the hook hardens (container.h). */
static const cap_value_t kept_caps[] = {
        CAP_SYS_ADMIN, CAP_SYS_CHROOT, CAP_CHOWN, CAP_FOWNER, CAP_DAC_OVERRIDE, CAP_SYS_RESOURCE,
};

/* The kept capabilities, less those a test build is told to drop as well. */
static int drop_capabilities(struct nb_error *err) {
        cap_value_t keep[ARRAY_SIZE(kept_caps)];
        size_t n = 0;

        for (size_t i = 0; i < ARRAY_SIZE(kept_caps); i++)
                if (!testmode_harden_without(kept_caps[i]))
                        keep[n++] = kept_caps[i];
        return confine_capabilities(keep, n, err);
}

/* The allowlist of hookfilters.c, compiled at build time for this build's variant. */
static int install_filter(struct nb_error *err) {
#if CONFINE_SANITIZER_BUILD && defined(NBMOUNT_SECCOMP_LOG)
        return confine_load_filter(filter_hook_sanitizer_log, ARRAY_SIZE(filter_hook_sanitizer_log), err);
#elif CONFINE_SANITIZER_BUILD
        return confine_load_filter(filter_hook_sanitizer, ARRAY_SIZE(filter_hook_sanitizer), err);
#elif defined(NBMOUNT_SECCOMP_LOG)
        return confine_load_filter(filter_hook_log, ARRAY_SIZE(filter_hook_log), err);
#else
        return confine_load_filter(filter_hook, ARRAY_SIZE(filter_hook), err);
#endif
}

static int set_process_flags(struct nb_error *err) {
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
                return nb_fail(err, errno, "prctl: %s", strerror(errno));
        return 0;
}

int harden_hook(struct nb_error *err) {
        int r;

        testmode_harden_prepare();
        if ((r = drop_capabilities(err)) < 0 || (r = set_process_flags(err)) < 0 ||
            (!RUNNING_ON_VALGRIND && (r = install_filter(err)) < 0))
                return nb_wrap(err, r, "cannot harden the hook: ");
        return testmode_harden_act(err);
}
