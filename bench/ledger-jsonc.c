/* SPDX-License-Identifier: Apache-2.0 */
/* bench/meter.sh: what reading a ledger line by line with json-c would cost (the reason for the
 * hand parser of lib/ledger.c): json_tokener_parse_ex on each of the first N lines of FILE, and
 * the time it would take for 7.44 million (744 hours x 10,000 projects). Usage: ledger-jsonc FILE N */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv) {
        FILE *f = argc == 3 ? fopen(argv[1], "r") : NULL;
        long limit = argc == 3 ? atol(argv[2]) : 0, n = 0;
        json_tokener *tok = json_tokener_new();
        unsigned long long sum = 0;
        struct timespec a, b;
        char line[1024];
        double s;

        if (!f || limit <= 0 || !tok)
                return fputs("usage: ledger-jsonc FILE N\n", stderr), 2;
        clock_gettime(CLOCK_MONOTONIC, &a);
        while (n < limit && fgets(line, sizeof(line), f)) {
                struct json_object *o, *v;

                json_tokener_reset(tok);
                o = json_tokener_parse_ex(tok, line, (int) strlen(line));
                if (o && json_object_object_get_ex(o, "used_bytes", &v))
                        sum += json_object_get_uint64(v);
                json_object_put(o);
                n++;
        }
        clock_gettime(CLOCK_MONOTONIC, &b);
        s = (double) (b.tv_sec - a.tv_sec) + (double) (b.tv_nsec - a.tv_nsec) / 1e9;
        printf("json-c: %ld lines in %.2f s, %.2f us a line: 7.44 million lines would take %.1f s (checksum %llu)\n", n, s,
               s / (double) n * 1e6, s / (double) n * 7.44e6, sum);
        json_tokener_free(tok);
        fclose(f);
        return 0;
}
