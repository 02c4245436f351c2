/* SPDX-License-Identifier: Apache-2.0 */
/* mountinfo.c: /proc/self/mountinfo lines (proc(5)) and the lookups quota.c makes. */
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "testutil.h"

#include "mountinfo.h"

static void parses_proc5s_example(void **state) {
        char line[] = "36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue";
        struct mountinfo_entry e;

        (void) state;
        assert_int_equal(mountinfo_parse_line(line, &e), 0);
        assert_int_equal(e.id, 36);
        assert_true(e.devno == makedev(98, 0));
        assert_string_equal(e.root, "/mnt1");
        assert_string_equal(e.target, "/mnt/parent");
        assert_string_equal(e.fstype, "ext3");
        assert_string_equal(e.source, "/dev/root");
}

static void no_optional_fields_and_escapes(void **state) {
        char line[] = "1042 27 259:3 / /srv/a\\040b\\134c rw,relatime shared:7 master:2 - xfs /dev/nvme0n1p3 rw,prjquota";
        char bare[] = "7 1 0:21 /x\\011y /proc rw - proc proc rw";
        struct mountinfo_entry e;

        (void) state;
        assert_int_equal(mountinfo_parse_line(line, &e), 0);
        assert_int_equal(e.id, 1042);
        assert_true(e.devno == makedev(259, 3));
        assert_string_equal(e.root, "/");
        assert_string_equal(e.target, "/srv/a b\\c");
        assert_string_equal(e.source, "/dev/nvme0n1p3");
        assert_int_equal(mountinfo_parse_line(bare, &e), 0);
        assert_string_equal(e.root, "/x\ty");
        assert_string_equal(e.source, "proc");
}

static void refuses_short_lines(void **state) {
        char no_separator[] = "36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 ext3 /dev/root rw";
        char no_source[] = "36 35 98:0 /mnt1 /mnt/parent rw,noatime - ext3";
        char bad_id[] = "x6 35 98:0 / / rw - ext3 /dev/root rw";
        char bad_devno[] = "36 35 98 / / rw - ext3 /dev/root rw";
        char empty[] = "";
        struct mountinfo_entry e;

        (void) state;
        assert_int_equal(mountinfo_parse_line(no_separator, &e), -EINVAL);
        assert_int_equal(mountinfo_parse_line(no_source, &e), -EINVAL);
        assert_int_equal(mountinfo_parse_line(bad_id, &e), -EINVAL);
        assert_int_equal(mountinfo_parse_line(bad_devno, &e), -EINVAL);
        assert_int_equal(mountinfo_parse_line(empty, &e), -EINVAL);
}

/* The root folder's own mount, found by its id and as its filesystem's whole mount. */
static void finds_the_root_mount(void **state) {
        struct mountinfo_mount m, whole;
        struct statx st;

        (void) state;
        assert_int_equal(statx(AT_FDCWD, "/", 0, STATX_MNT_ID | STATX_INO, &st), 0);
        assert_true(st.stx_mask & STATX_MNT_ID);
        assert_int_equal(mountinfo_by_id(st.stx_mnt_id, &m), 0);
        assert_string_equal(m.target, "/");
        assert_true(m.devno == makedev(st.stx_dev_major, st.stx_dev_minor));
        if (m.whole) {
                assert_int_equal(mountinfo_whole_fs(m.devno, &whole), 0);
                assert_true(whole.devno == m.devno);
        }
        assert_int_equal(mountinfo_by_id(UINT64_MAX, &m), -ENOENT);
}

/* The covering mount by name: /proc is proc, a file below /proc/self is still proc (the longest
 * target wins over "/"), and a name that only starts like a mount point is not under it. */
static void finds_a_paths_filesystem_type(void **state) {
        char type[64];

        (void) state;
        assert_int_equal(mountinfo_fstype_of("/proc", type, sizeof(type)), 0);
        assert_string_equal(type, "proc");
        assert_int_equal(mountinfo_fstype_of("/proc/self/mountinfo", type, sizeof(type)), 0);
        assert_string_equal(type, "proc");
        assert_int_equal(mountinfo_fstype_of("/procx", type, sizeof(type)), 0);
        assert_string_not_equal(type, "proc");
        assert_int_equal(mountinfo_fstype_of("/proc", type, 2), -ENAMETOOLONG);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(parses_proc5s_example),
                cmocka_unit_test(no_optional_fields_and_escapes),
                cmocka_unit_test(refuses_short_lines),
                cmocka_unit_test(finds_the_root_mount),
                cmocka_unit_test(finds_a_paths_filesystem_type),
        };

        setvbuf(stdout, NULL, _IONBF, 0); /* keep cmocka's stdout and stderr lines in order in one log */
        return cmocka_run_group_tests(tests, NULL, NULL);
}
