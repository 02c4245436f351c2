/* SPDX-License-Identifier: Apache-2.0 */
/* The plan and card of every team of the grants folder in one file, STATE/quota-grants.cache
 * (docs/FORMATS.md §7), so that `nbmount quota` over 10,000 teams reads one file, not 10,000.
 *
 * The cache says which grants folder it was made from and how that folder stood: its device, inode,
 * mtime and ctime (nanoseconds). It is used only while the folder still stands so; otherwise every
 * TEAM.json is read again and the cache written anew. Why a grants change is seen at once:
 *  - A grants file is replaced, never rewritten in place (docs/FORMATS.md §2): a new file renamed
 *    over TEAM.json, as a reader must never see half a file. Creating, renaming over and removing
 *    a file of the folder each set the folder's ctime to the kernel's clock at that moment.
 *  - The folder's stamp is taken before its files are read, and the cache is written only when
 *    the folder's ctime is older than the clock read before that (by GRANTS_CACHE_SETTLE_NS, more
 *    than a timestamp's granularity) and the folder stands the same after the reading. So every
 *    change after the reading began stamps the folder later than the cache's ctime: the cache no
 *    longer matches. A change before it is in the files read.
 *  - A grants folder on a network filesystem (whose timestamps are the server's clock, cached by the
 *    client) is never cached: its files are read at every report.
 * The cache is only ever a copy: a missing, unreadable or malformed one is made again. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "grants.h"
#include "nodeconfig.h"

#define GRANTS_CACHE_NAME "quota-grants.cache"
#define GRANTS_CACHE_MAX_BYTES ((size_t) 64 * 1024 * 1024)
#define GRANTS_CACHE_SETTLE_NS 1000000000LL

struct grants_cache_entry {
        const char *team, *plan; /* plan NULL: the team's grants file does not load */
        bool card_on_file;
};

struct grants_cache {
        char *text; /* the cache's lines, their separators made NULs */
        struct grants_cache_entry *entries; /* sorted by team (strcmp) */
        size_t n_entries;
        bool from_cache; /* read from STATE (the folder as it was), else made from the files now */
        bool saved;      /* made now and written to STATE */
};

/* The teams of config->grants_dir: from STATE/quota-grants.cache when it matches the folder, else
 * read from every TEAM.json (and written there when the folder has settled). A grants folder that
 * cannot be opened has no teams. Fails only for want of memory. */
int grants_cache_open(const struct node_config *config, struct grants_cache *ret, struct nb_error *err);

/* The plan and card of team into *ret (only team, plan and card_on_file are set); false when the
 * team has no grants file that loads. */
bool grants_cache_find(const struct grants_cache *cache, const char *team, struct team_grants *ret);

void grants_cache_done(struct grants_cache *cache);
