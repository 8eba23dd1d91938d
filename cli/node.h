/*
 * node: the `syncsim node` command (cli/node.c).
 */
#ifndef CLI_NODE_H
#define CLI_NODE_H

int cmd_node(int argc, char **argv);

#endif
