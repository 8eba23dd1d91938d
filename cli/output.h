/*
 * output: the files commands write for machines and CI jobs -- JSON, JUnit
 * XML, Markdown -- and the check that a file can be written at all, made
 * before a long run rather than after it.
 */
#ifndef CLI_OUTPUT_H
#define CLI_OUTPUT_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>

/* Pretty JSON, with integers exact beyond 2^53 (base/json.h). Prints why on stderr when it fails. */
bool output_write_json(const char *path, const cJSON *json);
/* Text for an XML attribute or element: escaped, and control characters XML 1.0 forbids made spaces. */
void output_xml_escape(FILE *f, const char *s);
/*
 * Whether path can be written: an existing regular file we may write, or a
 * new name in a directory we may write to. Prints "syncsim: cannot write
 * PATH: why" on stderr when not.
 */
bool output_writable(const char *path);
/* fclose, and report a failed write (a full disk) of path on stderr; false then. */
bool output_close(FILE *f, const char *path);

#endif
