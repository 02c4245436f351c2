/* SPDX-License-Identifier: Apache-2.0 */
#include "confine.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util.h"

static bool in_set(const cap_value_t *set, size_t n, cap_value_t cap) {
        for (size_t i = 0; i < n; i++)
                if (set[i] == cap)
                        return true;
        return false;
}

int confine_capabilities(const cap_value_t *keep, size_t n_keep, struct nb_error *err) {
        _cleanup_(cap_freep) cap_t current = cap_get_proc(), wanted = cap_init();
        cap_flag_value_t have;

        if (!current || !wanted)
                return nb_fail(err, errno, "cannot read the capabilities: %s", strerror(errno));
        for (cap_value_t cap = 0; cap < (cap_value_t) cap_max_bits(); cap++)
                if (!in_set(keep, n_keep, cap) && cap_get_bound(cap) > 0 && cap_drop_bound(cap) < 0)
                        return nb_fail(err, errno, "cannot drop capability %d from the bounding set: %s", cap,
                                       strerror(errno));
        for (size_t i = 0; i < n_keep; i++)
                if (cap_get_flag(current, keep[i], CAP_PERMITTED, &have) == 0 && have == CAP_SET &&
                    (cap_set_flag(wanted, CAP_PERMITTED, 1, &keep[i], CAP_SET) < 0 ||
                     cap_set_flag(wanted, CAP_EFFECTIVE, 1, &keep[i], CAP_SET) < 0))
                        return nb_fail(err, errno, "cap_set_flag: %s", strerror(errno));
        if (cap_set_proc(wanted) < 0 || prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
                return nb_fail(err, errno, "cannot drop capabilities: %s", strerror(errno));
        return 0;
}

int confine_load_filter(const struct sock_filter *insns, size_t n, struct nb_error *err) {
        const struct sock_fprog program = { .len = (unsigned short) n, .filter = (struct sock_filter *) insns };

        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return nb_fail(err, errno, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0U, &program) < 0)
                return nb_fail(err, errno, "cannot install the seccomp filter: %s", strerror(errno));
        return 0;
}
