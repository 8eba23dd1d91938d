/*
 * test-path: the directory of a path, and the relative path from a
 * directory to a file that shrink writes into the files it makes.
 */
#include "base/path.h"
#include "tests/testlib.h"

int main(void)
{
    arena a;
    arena_init(&a, 4096);
    EXPECT_STR(path_dir(&a, "x.yaml"), ".");
    EXPECT_STR(path_dir(&a, "/x.yaml"), "/");
    EXPECT_STR(path_dir(&a, "a/b/x.yaml"), "a/b");
    static const char *const CASES[][3] = {
        { "/a/b", "/a/b/x.yaml", "x.yaml" },
        { "/a/b/c", "/a/b/x.yaml", "../x.yaml" },
        { "/a/b", "/a/bb/x.yaml", "../bb/x.yaml" },   /* a common prefix is not a common directory */
        { "/", "/x/y.yaml", "x/y.yaml" },
        { "/a", "/a", "." },
        { "/a/b/c", "/a", "../.." },
        { "/q/r/a", "/s/t/p.yaml", "../../../s/t/p.yaml" },
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++)
        EXPECT_STR(path_relative(&a, CASES[i][0], CASES[i][1]), CASES[i][2]);
    arena_release(&a);
    return test_exit("test-path");
}
