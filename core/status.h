/*
 * status.h — how the core reports failure: a status code, and a message in
 * a caller-owned struct.  The core never prints and never aborts.
 */
#ifndef COLLAB_CORE_STATUS_H
#define COLLAB_CORE_STATUS_H

typedef enum delta_status {
	DELTA_OK = 0,
	DELTA_EINVAL,	 /* malformed input: not a delta, bad JSON, bad count */
	DELTA_EMISMATCH, /* well-formed, but does not fit: a change longer than
					  * its document, a boundary inside a surrogate pair,
					  * a document that contains retains or deletes */
	DELTA_ELIMIT,	 /* too large or too deeply nested */
	DELTA_ENOMEM	 /* the allocator failed */
} delta_status;

#define DELTA_MESSAGE_MAX 256

typedef struct delta_error {
	delta_status status;
	char message[DELTA_MESSAGE_MAX]; /* lower case, no trailing period */
} delta_error;

/* Fills err (which may be NULL) and returns status. */
delta_status delta_fail(delta_error *err, delta_status status, const char *fmt,
						...) __attribute__((format(printf, 3, 4)));

#endif
