/*
 * check.h — the unit tests' tiny harness: CHECK records a failure with its
 * line and goes on; check_summary prints "N passed, N failed" and gives the
 * exit code.
 */
#ifndef COLLAB_TESTS_CHECK_H
#define COLLAB_TESTS_CHECK_H

#include <stdio.h>

static int check_passed;
static int check_failed;

#define CHECK(cond) \
	do \
	{ \
		if (cond) \
			check_passed++; \
		else \
		{ \
			check_failed++; \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
					#cond); \
		} \
	} while (0)

#define CHECK_MSG(cond, ...) \
	do \
	{ \
		if (cond) \
			check_passed++; \
		else \
		{ \
			check_failed++; \
			fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, \
					#cond); \
			fprintf(stderr, __VA_ARGS__); \
			fputc('\n', stderr); \
		} \
	} while (0)

static inline int
check_summary(const char *suite)
{
	printf("%s: %d passed, %d failed\n", suite, check_passed, check_failed);
	return check_failed == 0 ? 0 : 1;
}

#endif
