/*
 * tests/backend_reference.h: the call counts of the test-only "reference"
 * scorer backend (tests/backend_reference.c).
 */
#ifndef HYPORANK_BACKEND_REFERENCE_H
#define HYPORANK_BACKEND_REFERENCE_H

typedef struct backend_reference_calls {
    int create, destroy, score;
} backend_reference_calls;

extern backend_reference_calls backend_reference_counts;

#endif
