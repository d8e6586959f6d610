/*-------------------------------------------------------------------------
 *
 * ps_libsvm.h
 *	  Parsing one line of LibSVM text: "label id:value id:value ...".
 *
 * Labels +1 / -1 or 1 / 0 (0 and -1 both mean the negative class); ids
 * are decimal integers up to 2^64 - 1 (1-based, or hashed 64-bit ids: an
 * id of 2^63 or more becomes a negative key, two's complement); values
 * are finite decimal numbers within float range.  Tokens are separated by
 * spaces or tabs; a "qid:N" token is skipped, and "#" starts a comment.
 * A carriage return at the end (CRLF files) is ignored.
 *
 * Layer 1 (pure code), in src/common: plain C99 for the server and for
 * client programs; no PostgreSQL header, no allocation.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PS_LIBSVM_H
#define PS_LIBSVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Why a line was refused: a fixed reason and the byte offset it refers to. */
typedef struct PsLibsvmError
{
	const char *reason;
	size_t		offset;
} PsLibsvmError;

/* The most features a line of len bytes can have ("i:v" and a blank each). */
#define PS_LIBSVM_MAX_FEATURES(len) ((len) / 4 + 1)

extern bool ps_libsvm_blank(const char *line, size_t len);
extern bool ps_libsvm_parse(const char *line, size_t len, float *label,
							int64_t *ids, float *vals, size_t cap,
							size_t *n, PsLibsvmError *err);

#endif							/* PS_LIBSVM_H */
