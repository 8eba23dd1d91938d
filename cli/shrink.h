/*
 * shrink: syncsim shrink FILE --seed N -o minimal.yaml [--class CLASS] [--max-runs N]
 */
#ifndef CLI_SHRINK_H
#define CLI_SHRINK_H

int cmd_shrink(int argc, char **argv);

#endif
