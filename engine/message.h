/*
 * message: what replicas send each other through the world.
 *
 * Every message stands for one JSON value: its compact text is what a trace
 * prints and an external node reads, its hash and length are what the trace
 * and the metrics count. A message is held in one of two forms:
 *
 *   JSON    a cJSON tree: what an external node sent, what the seed designs'
 *           dialects build, the gateway's answers;
 *   native  the built-in protocol's structs (wire_syncsim.c) with a kind
 *           that writes the JSON they stand for into a json_out. The hash
 *           and length come from that writer without building a tree; the
 *           tree is built only when something asks for it (a trace file, an
 *           external node, the gateway) and then kept.
 *
 * A reader that knows the native kind reads the structs; any other asks for
 * the tree. The two readings agree: a native body holds exactly what
 * parsing its JSON gives (its builder refuses anything JSON would not carry
 * unchanged, and the JSON form is sent instead), which tests/test-wire.c
 * checks for every message of the built-in protocol.
 *
 * A message is immutable once sent. The network's duplicate of a message is
 * a second reference to it; the last release frees it.
 */
#ifndef ENGINE_MESSAGE_H
#define ENGINE_MESSAGE_H

#include "base/json_out.h"

#include <cjson/cJSON.h>
#include <stdint.h>

typedef struct message_kind {
    const char *name;
    /* The JSON value the body stands for. */
    void (*write)(const void *body, json_out *out);
    void (*free_body)(void *body);
} message_kind;

typedef struct message {
    int refs;
    const message_kind *kind;   /* NULL: a JSON message */
    void *body;                 /* the kind's; NULL for a JSON message */
    cJSON *json;                /* the tree: always for a JSON message, else once asked for */
} message;

/* A JSON message; takes json. */
message *message_of_json(cJSON *json);
/* A native message; takes body (freed with kind->free_body). */
message *message_native(const message_kind *kind, void *body);
/* The tree the message stands for, built on first asking for a native one; the message keeps it. */
const cJSON *message_json(message *m);
/* The message's hash (json_out's, from 0) and, when bytes is given, its compact length. */
uint64_t message_hash(const message *m, uint64_t *bytes);
/* Another reference (the network's duplicate). */
message *message_ref(message *m);
/* Releases a reference; the last frees the message. NULL is ignored. */
void message_release(message *m);

#endif
