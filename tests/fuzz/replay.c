/*
 * replay: a main for the fuzz targets in builds without libFuzzer. It runs
 * the target once on each file named (a directory: on each file in it, in
 * name order) and exits 0 when every one returned; a crash, a sanitizer
 * report or an assertion ends the process, and a hang is caught by the
 * test's timeout. This is how gcc, clang and the sanitizer builds replay
 * the committed regression inputs (regress/<target>/).
 */
#include "tests/fuzz/fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Regression inputs are small; a larger file is a mistake, not an input. */
#define REPLAY_INPUT_BYTES_MAX (1 << 20)

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return 1;
    }
    unsigned char *data = malloc(REPLAY_INPUT_BYTES_MAX);
    size_t size = data ? fread(data, 1, REPLAY_INPUT_BYTES_MAX, f) : 0;
    int code = 0;
    if (!data || ferror(f) || !feof(f)) {
        fprintf(stderr, "%s: unreadable or larger than %d bytes\n", path, REPLAY_INPUT_BYTES_MAX);
        code = 1;
    } else {
        LLVMFuzzerTestOneInput(data, size);
    }
    fclose(f);
    free(data);
    return code;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int replay_dir(const char *dir, int *count)
{
    DIR *dh = opendir(dir);
    if (!dh) {
        perror(dir);
        return 1;
    }
    char *names[4096];
    int n = 0;
    struct dirent *e;
    int code = 0;
    while ((e = readdir(dh))) {
        if (e->d_name[0] == '.')
            continue;
        if (n == (int)(sizeof names / sizeof names[0])) {
            fprintf(stderr, "%s: more than %d inputs\n", dir, n);
            code = 1;
            break;
        }
        names[n++] = strdup(e->d_name);
    }
    closedir(dh);
    qsort(names, (size_t)n, sizeof names[0], compare_names);
    for (int i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        code |= replay_file(path);
        ++*count;
        free(names[i]);
    }
    return code;
}

int main(int argc, char **argv)
{
    LLVMFuzzerInitialize(&argc, &argv);
    int code = 0, count = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        bool exists = stat(argv[i], &st) == 0;
        if (!exists && errno == ENOENT && strstr(argv[i], "/regress/")) {
            printf("%s: no regression inputs yet\n", argv[i]);   /* a new target's directory */
        } else if (exists && S_ISDIR(st.st_mode)) {
            code |= replay_dir(argv[i], &count);
        } else {
            code |= replay_file(argv[i]);
            count++;
        }
    }
    printf("replayed %d input(s)\n", count);
    return code;
}
